//! A rate limit shared by every process that uses one state directory: each request first
//! reserves a time slot in the `request_slots` table. Slots are handed out in order inside a
//! `BEGIN IMMEDIATE` transaction, so two processes syncing with the same token never reserve
//! the same capacity, and together they stay under the quota.
//!
//! The rule is a sliding window: at most `per_second` slots in any second and `per_minute`
//! in any minute. A new slot goes no earlier than now and no earlier than the last slot
//! handed out, so no slot lies after it; the window ending at the new slot then holds
//! fewer than N slots exactly when the N-th most recent slot is a full window older.
//!
//! The ledger does not trust the clock blindly. A slot in the future is normal (a process
//! waits for it), but one left there by a clock that was set back, or by a host whose clock
//! runs ahead of this one's, would hold every later request back for as long as the skew.
//! So before choosing, a slot in the future is dropped (and a warning says so) when
//! - its owner, a process on this host (each slot records pid, start time and host), is
//!   gone: it will never send that request; or
//! - it lies further ahead than the queue of slots before it could ever need: more than
//!   (live slots ahead, itself included) × the quota's spacing + [`AHEAD_MARGIN_MS`].
//!
//! A wait longer than [`LONG_WAIT`] is logged as a warning with its cause (which quota, how
//! many slots are ahead, how long).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::clock;
use crate::error::Result;
use crate::process;
use crate::store::{self, Store, StoreOptions};

/// Extra spacing past each window's edge, so that clocks read a moment apart on either
/// side (here and at the server) never see one request too many.
const GUARD_MS: i64 = 25;

/// How much further ahead than its queue needs a slot may lie and still count: one full
/// minute window (the longest any quota uses, so processes configured with different quotas
/// do not drop each other's slots) plus a second or two.
pub const AHEAD_MARGIN_MS: i64 = 62_000;

/// A wait for a slot longer than this is logged as a warning.
pub const LONG_WAIT: Duration = Duration::from_secs(5);

/// The request ledger of one quota (one token) in one state directory.
#[derive(Debug)]
pub struct RequestLedger {
    pub(crate) conn: Mutex<Connection>,
    quota: String,
    owner: Owner,
}

/// The process that reserves slots through a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    pid: u32,
    start: Option<u64>,
    host: String,
}

/// A reserved slot, as [`RequestLedger::reserve_slot`] hands it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotId(pub i64);

/// One reserved slot as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    rowid: i64,
    at: i64,
    /// `None` for slots of earlier versions, which recorded no owner.
    owner: Option<Owner>,
}

/// Why a slot in the future was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stale {
    /// Its process on this host is gone.
    OwnerGone,
    /// It lies further ahead than the queue before it could need.
    TooFarAhead,
}

impl RequestLedger {
    /// Opens the ledger of `quota` (an identifier of the token, never the token itself) in
    /// the database of `store`, on a connection of its own.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be opened.
    pub fn open(store: &Store, quota: &str) -> Result<Self> {
        // Slots matter for the last minute's quota only, not across a power loss.
        let conn = store::connect(
            store.path(),
            &StoreOptions::default(),
            store::Durability::Process,
        )?;
        let pid = std::process::id();
        Ok(Self {
            conn: Mutex::new(conn),
            quota: quota.to_owned(),
            owner: Owner {
                pid,
                start: process::start_time(pid),
                host: process::current_host(),
            },
        })
    }

    /// Reserves the next slot for one request and returns how long to wait until it.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be written.
    pub fn reserve(&self, per_second: Option<u32>, per_minute: Option<u32>) -> Result<Duration> {
        self.reserve_slot(per_second, per_minute)
            .map(|(wait, _)| wait)
    }

    /// Records that the request of slot `id` (from [`RequestLedger::reserve_slot`]) left at
    /// `departed` (Unix milliseconds). A request leaves later than its slot when the process
    /// was not scheduled in time, and the server counts it when it arrives; the slot then
    /// moves to its real departure, so that the slots reserved after it keep a full window
    /// from it and a late request cannot squeeze a later one into its second. Moving it to
    /// the answer instead would cost every request its latency.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be written.
    pub fn sent(&self, id: SlotId, departed: i64) -> Result<()> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.prepare_cached(
            "UPDATE request_slots SET at_ms = max(at_ms, ?2) WHERE rowid = ?1 AND quota = ?3",
        )?
        .execute(params![id.0, departed, self.quota])?;
        Ok(())
    }

    /// [`RequestLedger::reserve`], also returning the slot's id for [`RequestLedger::sent`].
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be written.
    pub fn reserve_slot(
        &self,
        per_second: Option<u32>,
        per_minute: Option<u32>,
    ) -> Result<(Duration, SlotId)> {
        self.reserve_slot_at(clock::to_millis(clock::now()), per_second, per_minute)
    }

    /// [`RequestLedger::reserve_slot`] as if the clock read `now` (Unix milliseconds): the
    /// tests' deterministic clock.
    fn reserve_slot_at(
        &self,
        now: i64,
        per_second: Option<u32>,
        per_minute: Option<u32>,
    ) -> Result<(Duration, SlotId)> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM request_slots WHERE quota = ?1 AND at_ms < ?2",
            params![self.quota, now.saturating_sub(61_000)],
        )?;
        let slots: Vec<Slot> = {
            let mut statement = tx.prepare_cached(
                "SELECT rowid, at_ms, owner_pid, owner_start, owner_host FROM request_slots \
                 WHERE quota = ?1 ORDER BY at_ms",
            )?;
            let rows = statement.query_map(params![self.quota], |row| {
                let pid: Option<i64> = row.get(2)?;
                let start: Option<i64> = row.get(3)?;
                let host: Option<String> = row.get(4)?;
                Ok(Slot {
                    rowid: row.get(0)?,
                    at: row.get(1)?,
                    owner: match (pid.and_then(|p| u32::try_from(p).ok()), host) {
                        (Some(pid), Some(host)) => Some(Owner {
                            pid,
                            start: start.and_then(|s| u64::try_from(s).ok()),
                            host,
                        }),
                        _ => None,
                    },
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let spacing = spacing_ms(per_second, per_minute);
        let (kept, dropped) = sift(slots, now, spacing, |owner| {
            owner.host == self.owner.host
                && process::is_alive(owner.pid, owner.start) == Some(false)
        });
        if !dropped.is_empty() {
            let mut delete = tx.prepare_cached("DELETE FROM request_slots WHERE rowid = ?1")?;
            for (slot, _) in &dropped {
                delete.execute(params![slot.rowid])?;
            }
            let furthest = dropped.iter().map(|(slot, _)| slot.at).max().unwrap_or(now);
            tracing::warn!(
                quota = %self.quota,
                dropped = dropped.len(),
                owner_gone = dropped.iter().filter(|(_, why)| *why == Stale::OwnerGone).count(),
                too_far_ahead = dropped.iter().filter(|(_, why)| *why == Stale::TooFarAhead).count(),
                furthest_ahead_s = furthest.saturating_sub(now) / 1_000,
                "ignoring request slots that lie in the future: their process is gone, or a \
                 clock was set back or disagrees with this host's"
            );
        }
        let times: Vec<i64> = kept.iter().map(|slot| slot.at).collect();
        let at = next_slot(&times, now, per_second, per_minute);
        tx.execute(
            "INSERT INTO request_slots (quota, at_ms, owner_pid, owner_start, owner_host) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                self.quota,
                at,
                self.owner.pid,
                self.owner.start.and_then(|s| i64::try_from(s).ok()),
                self.owner.host,
            ],
        )?;
        let id = SlotId(tx.last_insert_rowid());
        tx.commit()?;
        let wait = Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0));
        if wait > LONG_WAIT {
            tracing::warn!(
                quota = %self.quota,
                slots_ahead = times.iter().filter(|t| **t > now).count(),
                wait_s = wait.as_secs(),
                per_second,
                per_minute,
                "waiting for a slot of the rate limit shared with other optisync processes"
            );
        }
        Ok((wait, id))
    }
}

/// The least time between slots that the quotas allow on average: the largest window (plus
/// its guard) divided by its quota. 0 without a quota.
fn spacing_ms(per_second: Option<u32>, per_minute: Option<u32>) -> i64 {
    [(per_second, 1_000), (per_minute, 60_000)]
        .into_iter()
        .filter_map(|(quota, window)| {
            let quota = i64::from(quota.filter(|q| *q > 0)?);
            Some((window + GUARD_MS + quota - 1) / quota)
        })
        .max()
        .unwrap_or(0)
}

/// Splits `slots` (sorted by time) into those that count and the future ones to drop (see the
/// module docs); `gone` tells whether a slot's owner process is gone.
fn sift(
    slots: Vec<Slot>,
    now: i64,
    spacing: i64,
    gone: impl Fn(&Owner) -> bool,
) -> (Vec<Slot>, Vec<(Slot, Stale)>) {
    let mut kept = Vec::with_capacity(slots.len());
    let mut dropped = Vec::new();
    let mut ahead: i64 = 0;
    for slot in slots {
        if slot.at <= now {
            kept.push(slot);
            continue;
        }
        if slot.owner.as_ref().is_some_and(&gone) {
            dropped.push((slot, Stale::OwnerGone));
            continue;
        }
        let limit = now
            .saturating_add(ahead.saturating_add(1).saturating_mul(spacing))
            .saturating_add(AHEAD_MARGIN_MS);
        if slot.at > limit {
            dropped.push((slot, Stale::TooFarAhead));
            continue;
        }
        ahead += 1;
        kept.push(slot);
    }
    (kept, dropped)
}

/// The earliest slot at or after `now` and after every slot in `slots` (sorted) that keeps
/// each window under its quota.
fn next_slot(slots: &[i64], now: i64, per_second: Option<u32>, per_minute: Option<u32>) -> i64 {
    let mut at = now.max(slots.last().copied().unwrap_or(now));
    // Under a per-second quota, slots are also spread evenly: a burst of requests reserved at
    // one instant leaves at slightly different moments, and the sliding window at the server
    // would then see the next slot's request inside the second of the burst's latest one.
    // Spread out, the slot two places back is (with two processes taking turns) the
    // reserver's own, whose moment is known (see `RequestLedger::sent`).
    if let (Some(quota), Some(last)) = (per_second.filter(|q| *q > 0), slots.last()) {
        let spacing = (1_000 + GUARD_MS + i64::from(quota) - 1) / i64::from(quota);
        at = at.max(last.saturating_add(spacing));
    }
    for (quota, window) in [(per_second, 1_000), (per_minute, 60_000)] {
        let Some(quota) = quota.map(|q| q as usize).filter(|q| *q > 0) else {
            continue;
        };
        if slots.len() >= quota {
            at = at.max(slots[slots.len() - quota].saturating_add(window + GUARD_MS));
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_keep_every_window_under_its_quota() {
        assert_eq!(next_slot(&[], 1_000, Some(2), None), 1_000);
        // A per-second quota spreads slots evenly: half a second (and its guard) apart.
        assert_eq!(next_slot(&[1_000], 1_000, Some(2), None), 1_513);
        // Two in the last second: the third waits until the first is a second old.
        assert_eq!(
            next_slot(&[1_000, 1_000], 1_000, Some(2), None),
            2_000 + GUARD_MS
        );
        // A per-minute quota alone lets a burst through.
        assert_eq!(next_slot(&[1_000], 1_000, None, Some(100)), 1_000);
        // Never before a slot already handed out (and, at 10/s, a tenth of a second after it).
        assert_eq!(next_slot(&[5_000], 1_000, Some(10), None), 5_103);
        let minute: Vec<i64> = (0..120).map(|i| i * 10).collect();
        assert_eq!(
            next_slot(&minute, 1_200, Some(1_000), Some(120)),
            60_000 + GUARD_MS
        );
        assert_eq!(next_slot(&[1, 2, 3], 10, None, None), 10);
    }

    fn slot(at: i64, pid: Option<u32>) -> Slot {
        Slot {
            rowid: at,
            at,
            owner: pid.map(|pid| Owner {
                pid,
                start: None,
                host: "here".into(),
            }),
        }
    }

    #[test]
    fn the_spacing_is_the_slowest_quota_per_slot() {
        assert_eq!(spacing_ms(None, None), 0);
        assert_eq!(spacing_ms(Some(2), None), 513);
        assert_eq!(spacing_ms(Some(2), Some(120)), 513);
        assert_eq!(spacing_ms(None, Some(100)), 601);
        assert_eq!(spacing_ms(Some(0), Some(0)), 0);
    }

    #[test]
    fn future_slots_beyond_the_queue_or_of_a_gone_owner_are_dropped() {
        let now = 1_000_000;
        let slots = vec![
            slot(now - 500, None),
            slot(now + 400, Some(1)),
            slot(now + 900, Some(2)),
            slot(now + 30_000, None),
            slot(now + 3_600_000, None),
        ];
        let (kept, dropped) = sift(slots, now, 513, |owner| owner.pid == 2);
        let kept: Vec<i64> = kept.iter().map(|s| s.at).collect();
        assert_eq!(kept, [now - 500, now + 400, now + 30_000]);
        let dropped: Vec<(i64, Stale)> = dropped.iter().map(|(s, why)| (s.at, *why)).collect();
        assert_eq!(
            dropped,
            [
                (now + 900, Stale::OwnerGone),
                (now + 3_600_000, Stale::TooFarAhead)
            ]
        );
    }

    #[test]
    fn a_queue_of_live_slots_is_kept_however_long() {
        let now = 0;
        // 400 slots, two per 1025 ms, as the per-second rule hands them out.
        let slots: Vec<Slot> = (0..400)
            .map(|i| slot(1 + (i / 2) * 1_025, Some(1)))
            .collect();
        let (kept, dropped) = sift(slots, now, spacing_ms(Some(2), Some(120)), |_| false);
        assert_eq!((kept.len(), dropped.len()), (400, 0));
    }

    #[test]
    fn a_late_departure_moves_its_slot_and_the_next_one_with_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let ledger = RequestLedger::open(&store, "token-a").unwrap_or_else(|e| panic!("{e}"));
        let now = clock::to_millis(clock::now());
        let spacing = spacing_ms(Some(2), None);
        let (wait, first) = ledger
            .reserve_slot_at(now, Some(2), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wait, Duration::ZERO);
        // The request left 80 ms after its slot: the next slot keeps its spacing from then.
        ledger
            .sent(first, now + 80)
            .unwrap_or_else(|e| panic!("{e}"));
        let (wait, second) = ledger
            .reserve_slot_at(now, Some(2), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wait, Duration::from_millis((80 + spacing) as u64));
        // A request that left on time (or a stale report of an earlier time) moves nothing.
        ledger.sent(second, now).unwrap_or_else(|e| panic!("{e}"));
        let (wait, _) = ledger
            .reserve_slot_at(now, Some(2), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wait, Duration::from_millis((80 + 2 * spacing) as u64));
    }

    #[test]
    fn two_ledgers_on_one_directory_share_the_quota() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let a = RequestLedger::open(&store, "token-a").unwrap_or_else(|e| panic!("{e}"));
        let b = RequestLedger::open(&store, "token-a").unwrap_or_else(|e| panic!("{e}"));
        let other = RequestLedger::open(&store, "token-b").unwrap_or_else(|e| panic!("{e}"));
        // One instant for every reservation, so the waits are exact whatever the machine's load.
        let now = clock::to_millis(clock::now());
        let waits: Vec<u128> = [&a, &b, &a, &b]
            .iter()
            .map(|l| {
                l.reserve_slot_at(now, Some(2), None)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .0
                    .as_millis()
            })
            .collect();
        // Each slot half a second (and its guard) after the one before, whichever ledger
        // reserves it.
        let spacing = spacing_ms(Some(2), None) as u128;
        assert_eq!(waits, [0, spacing, 2 * spacing, 3 * spacing]);
        // Another token has its own quota.
        let (free, _) = other
            .reserve_slot_at(now, Some(2), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(free, Duration::ZERO);
    }
}
