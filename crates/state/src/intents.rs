//! Write intents and their outcomes: the store's half of crash safety.
//!
//! Before each write request the engine records a [`NewIntent`] (which object, which
//! operation, a hash of the body); after the response it records the [`Outcome`]. A run
//! killed between the two leaves intents without an outcome; the next run of that sync reads
//! them with [`Store::unresolved_intents`], reconciles each against what Optimizely holds
//! (re-list, adopt what was created) and resolves it. Outcomes can also be committed together
//! with snapshot changes through [`Store::apply_batch`], so bookkeeping and state advance
//! atomically.
//!
//! An [`Outcome::Unknown`] (timeout, connection lost after sending) is not final: such an
//! intent stays unresolved until a later outcome replaces it. The final outcomes
//! ([`Outcome::Acknowledged`], [`Outcome::Rejected`], [`Outcome::NotApplied`]) cannot be
//! replaced, so a write is never recorded as both rejected and delivered.

use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};

use crate::clock;
use crate::error::{Error, Result};
use crate::store::Store;

/// The id of a recorded write intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntentId(pub i64);

impl fmt::Display for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The kind of write request an intent announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A POST creating an object.
    Create,
    /// A PATCH updating an object's fields.
    Update,
    /// The whole-list PATCH of a list attribute.
    ListPatch,
}

impl Operation {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::ListPatch => "list_patch",
        }
    }

    fn parse(text: &str) -> Result<Operation> {
        Ok(match text {
            "create" => Operation::Create,
            "update" => Operation::Update,
            "list_patch" => Operation::ListPatch,
            other => {
                return Err(Error::Corrupt(format!(
                    "unknown intent operation {other:?}"
                )));
            }
        })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the engine is about to send. The sync is the run's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    /// The run sending the request.
    pub run_id: String,
    /// The row's primary key; `None` for a list PATCH.
    pub primary_key: Option<String>,
    /// The kind of request.
    pub operation: Operation,
    /// A hash of the request body, to recognise the same write later.
    pub body_hash: String,
}

/// What became of a write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Optimizely applied it; `remote_id` is the object's id when the response named one.
    Acknowledged {
        /// The id of the object created or changed.
        remote_id: Option<i64>,
    },
    /// Optimizely refused it.
    Rejected {
        /// The API's message.
        reason: String,
        /// Optimizely's `uuid` / `x-request-id`, for support.
        request_id: Option<String>,
    },
    /// The request may or may not have been applied (sent, then the answer was lost). Not
    /// final: the intent stays unresolved until reconciled.
    Unknown {
        /// What happened, e.g. `timeout after 30 s`.
        reason: String,
    },
    /// Reconciliation found that the write did not take effect.
    NotApplied,
}

impl Outcome {
    /// Whether this outcome closes the intent for good.
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Unknown { .. })
    }

    fn kind(&self) -> &'static str {
        match self {
            Outcome::Acknowledged { .. } => "acknowledged",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Unknown { .. } => "unknown",
            Outcome::NotApplied => "not_applied",
        }
    }
}

/// A recorded intent, with its outcome if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRecord {
    /// The intent's id.
    pub id: IntentId,
    /// The run that recorded it.
    pub run_id: String,
    /// The run's sync.
    pub sync: String,
    /// The row's primary key; `None` for a list PATCH.
    pub primary_key: Option<String>,
    /// The kind of request.
    pub operation: Operation,
    /// The hash of the request body.
    pub body_hash: String,
    /// When the intent was recorded.
    pub created_at: DateTime<Utc>,
    /// The outcome, once known.
    pub outcome: Option<Outcome>,
    /// When the outcome was recorded.
    pub resolved_at: Option<DateTime<Utc>>,
}

const SELECT_INTENT: &str = "SELECT id, run_id, sync, primary_key, operation, body_hash, \
     created_at, outcome, remote_id, reason, request_id, resolved_at FROM write_intents";

fn read_intent(row: &Row<'_>) -> rusqlite::Result<Result<IntentRecord>> {
    let operation: String = row.get(4)?;
    let created_at: i64 = row.get(6)?;
    let outcome: Option<String> = row.get(7)?;
    let remote_id: Option<i64> = row.get(8)?;
    let reason: Option<String> = row.get(9)?;
    let request_id: Option<String> = row.get(10)?;
    let resolved_at: Option<i64> = row.get(11)?;
    let id = IntentId(row.get(0)?);
    let run_id = row.get(1)?;
    let sync = row.get(2)?;
    let primary_key = row.get(3)?;
    let body_hash = row.get(5)?;
    Ok((|| {
        let outcome = match outcome.as_deref() {
            None => None,
            Some("acknowledged") => Some(Outcome::Acknowledged { remote_id }),
            Some("rejected") => Some(Outcome::Rejected {
                reason: reason.unwrap_or_default(),
                request_id,
            }),
            Some("unknown") => Some(Outcome::Unknown {
                reason: reason.unwrap_or_default(),
            }),
            Some("not_applied") => Some(Outcome::NotApplied),
            Some(other) => return Err(Error::Corrupt(format!("unknown outcome {other:?}"))),
        };
        Ok(IntentRecord {
            id,
            run_id,
            sync,
            primary_key,
            operation: Operation::parse(&operation)?,
            body_hash,
            created_at: clock::from_millis(created_at)?,
            outcome,
            resolved_at: clock::from_millis_opt(resolved_at)?,
        })
    })())
}

/// Records `outcome` for intent `id` inside `tx`.
pub(crate) fn resolve(tx: &Transaction<'_>, id: IntentId, outcome: &Outcome) -> Result<()> {
    let (remote_id, reason, request_id) = match outcome {
        Outcome::Acknowledged { remote_id } => (*remote_id, None, None),
        Outcome::Rejected { reason, request_id } => {
            (None, Some(reason.as_str()), request_id.as_deref())
        }
        Outcome::Unknown { reason } => (None, Some(reason.as_str()), None),
        Outcome::NotApplied => (None, None, None),
    };
    let changed = tx
        .prepare_cached(
            "UPDATE write_intents SET outcome = ?2, remote_id = ?3, reason = ?4, \
             request_id = ?5, resolved_at = ?6 \
             WHERE id = ?1 AND (outcome IS NULL OR outcome = 'unknown')",
        )?
        .execute(params![
            id.0,
            outcome.kind(),
            remote_id,
            reason,
            request_id,
            clock::to_millis(clock::now()),
        ])?;
    if changed == 1 {
        return Ok(());
    }
    let exists = tx
        .prepare_cached("SELECT 1 FROM write_intents WHERE id = ?1")?
        .query_row(params![id.0], |_| Ok(()))
        .optional()?
        .is_some();
    Err(if exists {
        Error::IntentAlreadyResolved(id)
    } else {
        Error::IntentNotFound(id)
    })
}

impl Store {
    /// Records what the engine is about to send, before sending it, and returns its id.
    ///
    /// # Errors
    /// [`Error::RunNotFound`] when the run does not exist, [`Error::Sqlite`] otherwise.
    pub fn record_intent(&mut self, intent: &NewIntent) -> Result<IntentId> {
        let tx = self.write()?;
        let sync: Option<String> = tx
            .prepare_cached("SELECT sync FROM runs WHERE id = ?1")?
            .query_row(params![intent.run_id], |row| row.get(0))
            .optional()?;
        let Some(sync) = sync else {
            return Err(Error::RunNotFound(intent.run_id.clone()));
        };
        let id: i64 = tx
            .prepare_cached(
                "INSERT INTO write_intents \
                 (run_id, sync, primary_key, operation, body_hash, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            )?
            .query_row(
                params![
                    intent.run_id,
                    sync,
                    intent.primary_key,
                    intent.operation.as_str(),
                    intent.body_hash,
                    clock::to_millis(clock::now()),
                ],
                |row| row.get(0),
            )?;
        tx.commit()?;
        Ok(IntentId(id))
    }

    /// Records the outcome of one intent on its own. To advance state in the same
    /// transaction, pass outcomes to [`Store::apply_batch`] or
    /// [`Store::replace_delivered_list`] instead.
    ///
    /// # Errors
    /// [`Error::IntentNotFound`], [`Error::IntentAlreadyResolved`] when a final outcome is
    /// already recorded, [`Error::Sqlite`] otherwise.
    pub fn record_outcome(&mut self, id: IntentId, outcome: &Outcome) -> Result<()> {
        let tx = self.write()?;
        resolve(&tx, id, outcome)?;
        tx.commit()?;
        Ok(())
    }

    /// The sync's intents without a final outcome (none, or [`Outcome::Unknown`]), oldest
    /// first: the writes a killed or confused run may or may not have made.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a stored value does not decode, [`Error::Sqlite`] otherwise.
    pub fn unresolved_intents(&self, sync: &str) -> Result<Vec<IntentRecord>> {
        self.query_intents(
            &format!(
                "{SELECT_INTENT} WHERE sync = ?1 AND (outcome IS NULL OR outcome = 'unknown') \
                 ORDER BY id"
            ),
            sync,
        )
    }

    /// All intents a run recorded, oldest first.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a stored value does not decode, [`Error::Sqlite`] otherwise.
    pub fn run_intents(&self, run_id: &str) -> Result<Vec<IntentRecord>> {
        self.query_intents(
            &format!("{SELECT_INTENT} WHERE run_id = ?1 ORDER BY id"),
            run_id,
        )
    }

    fn query_intents(&self, sql: &str, param: &str) -> Result<Vec<IntentRecord>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![param], read_intent)?;
        let mut intents = Vec::new();
        for row in rows {
            intents.push(row??);
        }
        Ok(intents)
    }
}
