//! Run history and rejected rows.
//!
//! A run is started ([`Store::start_run`]) before anything else happens and finished
//! ([`Store::finish_run`]) exactly once with its status, counts and error. Run ids are text,
//! `<UTC start, basic ISO 8601>-<sync>-<4 random hex digits>` such as
//! `20261129T023000Z-segments-3fa9`: readable in `runs`, unique (the store re-draws on the
//! rare collision) and sortable by start time. Listings are ordered by an internal insertion
//! sequence, newest first, which stays right even when the wall clock steps back.
//!
//! A run that never finished (its process was killed) stays `running` until the next run of
//! its sync calls [`Store::mark_interrupted_runs`].

use std::fmt;

use chrono::{DateTime, Utc};
use optisync_core::{Drift, RejectedRow, RunDetails, RunStats};
use rusqlite::{OptionalExtension, Row, params};

use crate::clock;
use crate::error::{Error, Result, to_i64, to_u64};
use crate::store::Store;
use crate::sync_state;

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Started and not finished: in progress, or killed before it could finish.
    Running,
    /// Everything planned was delivered.
    Succeeded,
    /// The run stopped on an error.
    Failed,
    /// The run finished, but some rows were rejected.
    RejectedRows,
    /// A guardrail blocked the run before it sent anything.
    Blocked,
    /// Another run held the sync's lock.
    Locked,
    /// The run's process died; found and marked by a later run.
    Interrupted,
}

impl RunStatus {
    /// The stored (and displayed) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::RejectedRows => "rejected_rows",
            RunStatus::Blocked => "blocked",
            RunStatus::Locked => "locked",
            RunStatus::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> Result<RunStatus> {
        Ok(match text {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "rejected_rows" => RunStatus::RejectedRows,
            "blocked" => RunStatus::Blocked,
            "locked" => RunStatus::Locked,
            "interrupted" => RunStatus::Interrupted,
            other => return Err(Error::Corrupt(format!("unknown run status {other:?}"))),
        })
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run counted: core's [`RunStats`], stored with the run.
pub type RunCounts = RunStats;

/// How a run ended, as given to [`Store::finish_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFinish {
    /// The final status; [`RunStatus::Running`] is refused.
    pub status: RunStatus,
    /// The run's counts.
    pub counts: RunCounts,
    /// The error that ended or blocked the run, if any (already free of secrets).
    pub error: Option<String>,
}

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id.
    pub id: String,
    /// The sync it ran.
    pub sync: String,
    /// Its status.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished, if it did.
    pub finished_at: Option<DateTime<Utc>>,
    /// `finished_at - started_at` in milliseconds.
    pub duration_ms: Option<u64>,
    /// Its counts (zero until finished).
    pub counts: RunCounts,
    /// The error that ended or blocked it.
    pub error: Option<String>,
    /// Whether the sync was reset after this run: it is history, no longer state.
    pub before_reset: bool,
}

/// Which runs [`Store::runs`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only this sync's runs; all syncs when `None`.
    pub sync: Option<String>,
    /// At most this many, newest first; all when `None`.
    pub limit: Option<usize>,
    /// Only runs that started before this run (by id): the next page after it.
    pub before: Option<String>,
}

/// The longest plan text kept with a run; `optisync plan` summarises long sections, so only
/// a plan of very many fields reaches it.
pub const MAX_PLAN_TEXT: usize = 256 * 1024;

/// Cuts `text` to at most `max` bytes on a character boundary, saying so at the end.
fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str("\n… (cut: the plan text is longer than optisync keeps with a run)\n");
}

/// The stored form of `details`: JSON, the plan text cut at [`MAX_PLAN_TEXT`].
fn details_json(details: &RunDetails) -> Result<String> {
    let mut details = details.clone();
    if let Some(text) = &mut details.plan_text {
        cut(text, MAX_PLAN_TEXT);
    }
    serde_json::to_string(&details)
        .map_err(|e| Error::Corrupt(format!("run details do not encode: {e}")))
}

/// Statuses of runs that went through planning and sending, whose results stand.
const APPLIED: &str = "('succeeded', 'rejected_rows')";

const SELECT_RUN: &str = "SELECT id, sync, status, started_at, finished_at, duration_ms, \
     rows_read, planned_creates, planned_updates, planned_removes, list_added, list_removed, \
     requests_sent, rejected, error, before_reset, creates, updates, reads, throttled FROM runs";

fn read_run(row: &Row<'_>) -> Result<RunRecord> {
    let count = |index: usize, what: &'static str| -> Result<u64> {
        let value: i64 = row.get(index)?;
        to_u64(value, what)
    };
    let status: String = row.get(2)?;
    let duration: Option<i64> = row.get(5)?;
    Ok(RunRecord {
        id: row.get(0)?,
        sync: row.get(1)?,
        status: RunStatus::parse(&status)?,
        started_at: clock::from_millis(row.get(3)?)?,
        finished_at: clock::from_millis_opt(row.get(4)?)?,
        duration_ms: duration.map(|ms| to_u64(ms, "duration")).transpose()?,
        counts: RunCounts {
            rows_read: count(6, "rows read")?,
            planned_creates: count(7, "planned creates")?,
            planned_updates: count(8, "planned updates")?,
            planned_removes: count(9, "planned removes")?,
            list_added: count(10, "list added")?,
            list_removed: count(11, "list removed")?,
            requests_sent: count(12, "requests sent")?,
            rejected: count(13, "rejected")?,
            creates: count(16, "creates")?,
            updates: count(17, "updates")?,
            reads: count(18, "reads")?,
            throttled: count(19, "throttled")?,
        },
        error: row.get(14)?,
        before_reset: row.get(15)?,
    })
}

fn read_rejected(row: &Row<'_>) -> rusqlite::Result<RejectedRow> {
    Ok(RejectedRow {
        primary_key: row.get(0)?,
        field: row.get(1)?,
        reason: row.get(2)?,
        request_id: row.get(3)?,
    })
}

/// Draws a run id for `sync` starting at `at`.
fn new_run_id(sync: &str, at: DateTime<Utc>) -> String {
    format!(
        "{}-{sync}-{:04x}",
        at.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

impl Store {
    /// Records the start of a run of `sync` and returns its id.
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn start_run(&mut self, sync: &str) -> Result<String> {
        let started = clock::now();
        let tx = self.write()?;
        sync_state::ensure_sync(&tx, sync)?;
        // A collision needs the same sync, second and 16 random bits; redraw a few times.
        let mut attempts = 0;
        let id = loop {
            let id = new_run_id(sync, started);
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO runs (id, sync, status, started_at) \
                     VALUES (?1, ?2, 'running', ?3) ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![id, sync, clock::to_millis(started)])?;
            if inserted == 1 {
                break id;
            }
            attempts += 1;
            if attempts >= 16 {
                return Err(Error::InvalidArgument(format!(
                    "could not draw a unique run id for sync '{sync}'"
                )));
            }
        };
        tx.commit()?;
        Ok(id)
    }

    /// Records how a run ended and returns the finished record.
    ///
    /// # Errors
    /// [`Error::RunNotFound`], [`Error::RunAlreadyFinished`], [`Error::InvalidArgument`] for a
    /// [`RunStatus::Running`] finish or a count above `i64::MAX`, [`Error::Sqlite`] otherwise.
    pub fn finish_run(&mut self, run_id: &str, finish: &RunFinish) -> Result<RunRecord> {
        self.finish_run_with(run_id, finish, None)
    }

    /// [`Store::finish_run`], keeping `details` with the run in the same transaction (one
    /// commit, not two, at the end of every run).
    ///
    /// # Errors
    /// As [`Store::finish_run`].
    pub fn finish_run_with(
        &mut self,
        run_id: &str,
        finish: &RunFinish,
        details: Option<&RunDetails>,
    ) -> Result<RunRecord> {
        let details = details.map(details_json).transpose()?;
        if finish.status == RunStatus::Running {
            return Err(Error::InvalidArgument(format!(
                "run '{run_id}' cannot finish with status 'running'"
            )));
        }
        let c = &finish.counts;
        let counts = [
            to_i64(c.rows_read, "rows read")?,
            to_i64(c.planned_creates, "planned creates")?,
            to_i64(c.planned_updates, "planned updates")?,
            to_i64(c.planned_removes, "planned removes")?,
            to_i64(c.list_added, "list added")?,
            to_i64(c.list_removed, "list removed")?,
            to_i64(c.requests_sent, "requests sent")?,
            to_i64(c.rejected, "rejected")?,
            to_i64(c.creates, "creates")?,
            to_i64(c.updates, "updates")?,
            to_i64(c.reads, "reads")?,
            to_i64(c.throttled, "throttled")?,
        ];
        let finished = clock::to_millis(clock::now());
        let tx = self.write()?;
        let current: Option<String> = tx
            .prepare_cached("SELECT status FROM runs WHERE id = ?1")?
            .query_row(params![run_id], |row| row.get(0))
            .optional()?;
        match current.as_deref() {
            None => return Err(Error::RunNotFound(run_id.to_owned())),
            Some("running") => {}
            Some(_) => return Err(Error::RunAlreadyFinished(run_id.to_owned())),
        }
        tx.prepare_cached(
            "UPDATE runs SET status = ?2, finished_at = ?3, \
             duration_ms = max(0, ?3 - started_at), rows_read = ?4, planned_creates = ?5, \
             planned_updates = ?6, planned_removes = ?7, list_added = ?8, list_removed = ?9, \
             requests_sent = ?10, rejected = ?11, error = ?12, creates = ?13, updates = ?14, \
             reads = ?15, throttled = ?16, details = coalesce(?17, details) WHERE id = ?1",
        )?
        .execute(params![
            run_id,
            finish.status.as_str(),
            finished,
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            counts[4],
            counts[5],
            counts[6],
            counts[7],
            finish.error,
            counts[8],
            counts[9],
            counts[10],
            counts[11],
            details,
        ])?;
        tx.commit()?;
        self.run(run_id)?
            .ok_or_else(|| Error::RunNotFound(run_id.to_owned()))
    }

    /// Marks the sync's runs still `running` as [`RunStatus::Interrupted`] and returns how
    /// many there were. Call it after acquiring the sync's lock and before
    /// [`Store::start_run`]: with the lock held, no other run of the sync can be alive.
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn mark_interrupted_runs(&mut self, sync: &str) -> Result<usize> {
        let now = clock::to_millis(clock::now());
        let tx = self.write()?;
        let marked = tx.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ?2, \
             duration_ms = max(0, ?2 - started_at), \
             error = 'the run ended without recording a result (its process was killed?)' \
             WHERE sync = ?1 AND status = 'running'",
            params![sync, now],
        )?;
        tx.commit()?;
        Ok(marked)
    }

    /// One run by id.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a stored value does not decode, [`Error::Sqlite`] otherwise.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        self.query_runs(&format!("{SELECT_RUN} WHERE id = ?1"), params![run_id])
            .map(|mut runs| runs.pop())
    }

    /// Runs matching `filter`, newest first.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when a stored value does not decode, [`Error::Sqlite`] otherwise.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        // SQLite reads a negative LIMIT as "no limit".
        let limit = match filter.limit {
            Some(limit) => i64::try_from(limit).unwrap_or(i64::MAX),
            None => -1,
        };
        let before = match &filter.before {
            Some(id) => self
                .conn
                .prepare_cached("SELECT seq FROM runs WHERE id = ?1")?
                .query_row(params![id], |row| row.get::<_, i64>(0))
                .optional()?
                .ok_or_else(|| Error::RunNotFound(id.clone()))?,
            None => i64::MAX,
        };
        match &filter.sync {
            Some(sync) => self.query_runs(
                &format!("{SELECT_RUN} WHERE sync = ?1 AND seq < ?3 ORDER BY seq DESC LIMIT ?2"),
                params![sync, limit, before],
            ),
            None => self.query_runs(
                &format!("{SELECT_RUN} WHERE seq < ?2 ORDER BY seq DESC LIMIT ?1"),
                params![limit, before],
            ),
        }
    }

    /// The sync's newest run, whatever its status.
    ///
    /// # Errors
    /// As [`Store::runs`].
    pub fn last_run(&self, sync: &str) -> Result<Option<RunRecord>> {
        self.query_runs(
            &format!("{SELECT_RUN} WHERE sync = ?1 ORDER BY seq DESC LIMIT 1"),
            params![sync],
        )
        .map(|mut runs| runs.pop())
    }

    /// The sync's newest run whose results stand (succeeded or finished with rejected rows)
    /// since its last reset. Its `rows_read` is what the empty-model guardrail compares with:
    /// blocked, locked, failed and interrupted runs are skipped so that a blocked empty run
    /// does not make the next empty run look normal.
    ///
    /// # Errors
    /// As [`Store::runs`].
    pub fn last_applied_run(&self, sync: &str) -> Result<Option<RunRecord>> {
        self.query_runs(
            &format!(
                "{SELECT_RUN} WHERE sync = ?1 AND before_reset = 0 AND status IN {APPLIED} \
                 ORDER BY seq DESC LIMIT 1"
            ),
            params![sync],
        )
        .map(|mut runs| runs.pop())
    }

    fn query_runs(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<RunRecord>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        let mut runs = Vec::new();
        while let Some(row) = rows.next()? {
            runs.push(read_run(row)?);
        }
        Ok(runs)
    }

    /// Stores rows a run rejected, in one transaction.
    ///
    /// # Errors
    /// [`Error::RunNotFound`] when the run does not exist, [`Error::Sqlite`] otherwise.
    pub fn add_rejected_rows(&mut self, run_id: &str, rows: &[RejectedRow]) -> Result<()> {
        let tx = self.write()?;
        let exists = tx
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?
            .query_row(params![run_id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Err(Error::RunNotFound(run_id.to_owned()));
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO rejected_rows (run_id, primary_key, field, reason, request_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for row in rows {
                insert.execute(params![
                    run_id,
                    row.primary_key,
                    row.field,
                    row.reason,
                    row.request_id
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The rows a run rejected, in the order they were stored.
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn rejected_rows(&self, run_id: &str) -> Result<Vec<RejectedRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT primary_key, field, reason, request_id FROM rejected_rows \
             WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![run_id], read_rejected)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// How many [`Store::pending_rejected_rows`] the sync has, counted without reading them.
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn pending_rejected_count(&self, sync: &str) -> Result<u64> {
        let count: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM rejected_rows \
                 WHERE run_id = (SELECT id FROM runs WHERE sync = ?1 AND before_reset = 0 \
                     AND status IN ('succeeded', 'rejected_rows', 'failed') \
                     ORDER BY seq DESC LIMIT 1)",
            )?
            .query_row(params![sync], |row| row.get(0))?;
        to_u64(count, "rejected rows")
    }

    /// The drift kept with the run `run_id` (see [`Store::finish_run_with`]), read alone:
    /// without the plan text beside it, which may be long. `None` for an unknown run, one
    /// without details, or one whose plan found no drift.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the stored drift does not decode, [`Error::Sqlite`] otherwise.
    pub fn run_drift(&self, run_id: &str) -> Result<Option<Drift>> {
        let json: Option<Option<String>> = self
            .conn
            .prepare_cached(
                "SELECT json_extract(details, '$.drift') FROM runs \
                 WHERE id = ?1 AND json_valid(details)",
            )?
            .query_row(params![run_id], |row| row.get(0))
            .optional()?;
        json.flatten()
            .map(|json| {
                serde_json::from_str(&json)
                    .map_err(|e| Error::Corrupt(format!("run {run_id}: drift: {e}")))
            })
            .transpose()
    }

    /// What was kept with the run `run_id` by [`Store::finish_run_with`]: `None` for an
    /// unknown run or one without details.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the stored details do not decode, [`Error::Sqlite`] otherwise.
    pub fn run_details(&self, run_id: &str) -> Result<Option<RunDetails>> {
        let json: Option<Option<String>> = self
            .conn
            .prepare_cached("SELECT details FROM runs WHERE id = ?1")?
            .query_row(params![run_id], |row| row.get(0))
            .optional()?;
        json.flatten()
            .map(|json| {
                serde_json::from_str(&json)
                    .map_err(|e| Error::Corrupt(format!("run {run_id}: details: {e}")))
            })
            .transpose()
    }

    /// The sync's pending rejected rows: those of its newest finished run that processed
    /// rows (succeeded, rejected rows or failed; not blocked, locked or interrupted) since its
    /// last reset. They are retried by the next run, since their state was not advanced.
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn pending_rejected_rows(&self, sync: &str) -> Result<Vec<RejectedRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT primary_key, field, reason, request_id FROM rejected_rows \
             WHERE run_id = (SELECT id FROM runs WHERE sync = ?1 AND before_reset = 0 \
                 AND status IN ('succeeded', 'rejected_rows', 'failed') \
                 ORDER BY seq DESC LIMIT 1) \
             ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![sync], read_rejected)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_name_the_start_and_sync() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T02:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = new_run_id("segments", at);
        assert!(id.starts_with("20261129T023000Z-segments-"), "{id}");
        let suffix = id.rsplit('-').next().unwrap();
        assert_eq!(suffix.len(), 4);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }

    #[test]
    fn statuses_round_trip() {
        for status in [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::RejectedRows,
            RunStatus::Blocked,
            RunStatus::Locked,
            RunStatus::Interrupted,
        ] {
            assert_eq!(RunStatus::parse(status.as_str()).unwrap(), status);
        }
        assert!(RunStatus::parse("exploded").is_err());
    }

    #[test]
    fn details_are_kept_with_the_run_and_long_plan_text_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let finish = RunFinish {
            status: RunStatus::Succeeded,
            counts: RunCounts::default(),
            error: None,
        };
        let id = store.start_run("s").unwrap();
        assert_eq!(store.run_details(&id).unwrap(), None);
        let mut details = RunDetails {
            plan_text: Some("sync s: 3 read\n".to_owned()),
            ..RunDetails::default()
        };
        details.step("read", std::time::Duration::from_millis(12));
        details.step("plan", std::time::Duration::from_millis(3));
        store.finish_run_with(&id, &finish, Some(&details)).unwrap();
        assert_eq!(store.run_details(&id).unwrap(), Some(details.clone()));
        assert_eq!(store.run_drift(&id).unwrap(), None);

        let id = store.start_run("s").unwrap();
        details.plan_text = Some("é".repeat(MAX_PLAN_TEXT));
        let drift = Drift {
            delivered_count: 2,
            remote_count: 1,
            missing_count: 1,
            unexpected_count: 0,
            missing_sample: vec!["u2".to_owned()],
            unexpected_sample: Vec::new(),
        };
        details.drift = Some(drift.clone());
        store.finish_run_with(&id, &finish, Some(&details)).unwrap();
        let kept = store.run_details(&id).unwrap().unwrap().plan_text.unwrap();
        assert!(kept.len() < MAX_PLAN_TEXT + 100, "{}", kept.len());
        assert!(
            kept.ends_with("with a run)\n"),
            "{}",
            &kept[kept.len() - 80..]
        );
        assert_eq!(store.run_drift(&id).unwrap(), Some(drift));

        assert!(matches!(
            store.finish_run_with("no-such-run", &finish, Some(&details)),
            Err(Error::RunNotFound(_))
        ));
        assert_eq!(store.run_drift("no-such-run").unwrap(), None);
        assert_eq!(store.run_details("no-such-run").unwrap(), None);
    }

    #[test]
    fn pending_rejected_rows_are_counted_like_they_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.pending_rejected_count("s").unwrap(), 0);
        let id = store.start_run("s").unwrap();
        let row = |key: &str| RejectedRow {
            primary_key: Some(key.to_owned()),
            field: None,
            reason: "bad".to_owned(),
            request_id: None,
        };
        store.add_rejected_rows(&id, &[row("a"), row("b")]).unwrap();
        let finish = |status| RunFinish {
            status,
            counts: RunCounts::default(),
            error: None,
        };
        store
            .finish_run(&id, &finish(RunStatus::RejectedRows))
            .unwrap();
        assert_eq!(store.pending_rejected_count("s").unwrap(), 2);
        assert_eq!(store.pending_rejected_rows("s").unwrap().len(), 2);
        // A blocked run does not process rows: the earlier rows stay pending.
        let blocked = store.start_run("s").unwrap();
        store
            .finish_run(&blocked, &finish(RunStatus::Blocked))
            .unwrap();
        assert_eq!(store.pending_rejected_count("s").unwrap(), 2);
        let clean = store.start_run("s").unwrap();
        store
            .finish_run(&clean, &finish(RunStatus::Succeeded))
            .unwrap();
        assert_eq!(store.pending_rejected_count("s").unwrap(), 0);
        assert_eq!(store.pending_rejected_rows("s").unwrap().len(), 0);
    }
}
