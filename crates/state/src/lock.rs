//! The per-sync run lock: one row per held lock in the `locks` table, naming the holder
//! (a description, pid, host, start time and heartbeat) and carrying a random token that
//! only the holder knows.
//!
//! [`Store::acquire_lock`] runs in a `BEGIN IMMEDIATE` transaction, so checking and taking the
//! lock is atomic across threads and processes. A held lock is taken over only when its
//! holder is gone:
//! - same host: the holder's pid no longer exists, is a zombie, or now belongs to a process
//!   started at another time (pid reuse); liveness decides, however old the heartbeat;
//! - another host (or no `/proc` to ask): its heartbeat is older than
//!   [`StoreOptions::lock_expiry`](crate::StoreOptions::lock_expiry), so long-running holders
//!   must call [`LockGuard::heartbeat`] more often than that.
//!
//! The [`LockGuard`] owns its own connection (commits that survive a killed process, not
//! a power loss, which ends its holder anyway; see [`crate::store`]), so it is independent of the [`Store`] it came
//! from (it can move to another thread or outlive it). Dropping it releases the lock;
//! releasing and heartbeats only touch the row while it still carries the guard's token, so a
//! guard whose lock was taken over cannot release the new holder's lock.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::clock;
use crate::error::{Error, Result};
use crate::process;
use crate::store::{self, Store, StoreOptions};

/// How long a lock held from another host survives without a heartbeat.
pub const DEFAULT_LOCK_EXPIRY: Duration = Duration::from_secs(10 * 60);

/// Who is taking a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// A human description, e.g. `optisync sync (user alice)`. Never a secret.
    pub description: String,
    /// The holder's process id.
    pub pid: u32,
    /// The host the holder runs on.
    pub host: String,
    /// The holder process's start time (clock ticks since boot), when known; guards against
    /// a pid reused by another process.
    pub pid_start: Option<u64>,
}

impl LockHolder {
    /// The current process on this host, described as `description`.
    pub fn this_process(description: impl Into<String>) -> LockHolder {
        let pid = std::process::id();
        LockHolder {
            description: description.into(),
            pid,
            host: process::current_host(),
            pid_start: process::start_time(pid),
        }
    }
}

/// A held lock, as [`Store::lock_info`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The locked sync.
    pub sync: String,
    /// The holder's description.
    pub holder: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host.
    pub host: String,
    /// When the lock was taken.
    pub acquired_at: DateTime<Utc>,
    /// The holder's last sign of life.
    pub heartbeat_at: DateTime<Utc>,
}

/// A held lock. Released on drop, or with [`LockGuard::release`] to see errors.
#[derive(Debug)]
pub struct LockGuard {
    pub(crate) conn: Connection,
    sync: String,
    token: String,
    released: bool,
}

/// The stored lock row, with what the takeover decision needs.
struct HeldLock {
    info: LockInfo,
    pid_start: Option<u64>,
}

impl Store {
    /// Takes the lock of `sync` for `holder`, taking it over from a holder that is gone.
    ///
    /// # Errors
    /// [`Error::Locked`] naming the holder when another live run holds it, [`Error::Sqlite`]
    /// on database failure.
    pub fn acquire_lock(&self, sync: &str, holder: &LockHolder) -> Result<LockGuard> {
        acquire(&self.path, &self.options, sync, holder)
    }

    /// Who holds the lock of `sync`, if anyone (whether alive or not).
    ///
    /// # Errors
    /// [`Error::Corrupt`] for undecodable values, [`Error::Sqlite`] otherwise.
    pub fn lock_info(&self, sync: &str) -> Result<Option<LockInfo>> {
        Ok(read_lock(&self.conn, sync)?.map(|held| held.info))
    }
}

fn acquire(
    path: &Path,
    options: &StoreOptions,
    sync: &str,
    holder: &LockHolder,
) -> Result<LockGuard> {
    let mut conn = store::connect(path, options, store::Durability::Process)?;
    let token = format!("{:032x}", rand::random::<u128>());
    let now = clock::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(held) = read_lock(&tx, sync)? {
        if !holder_gone(&held, &holder.host, now, options.lock_expiry) {
            return Err(Error::Locked {
                sync: sync.to_owned(),
                holder: held.info.holder,
                pid: held.info.pid,
                host: held.info.host,
                since: held.info.acquired_at,
            });
        }
        tracing::warn!(
            sync,
            holder = %held.info.holder,
            pid = held.info.pid,
            host = %held.info.host,
            "taking over the lock of a run that is gone"
        );
    }
    tx.execute(
        "INSERT INTO locks (sync, token, holder, pid, pid_start, host, acquired_at, \
         heartbeat_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) \
         ON CONFLICT (sync) DO UPDATE SET token = excluded.token, holder = excluded.holder, \
         pid = excluded.pid, pid_start = excluded.pid_start, host = excluded.host, \
         acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at",
        params![
            sync,
            token,
            holder.description,
            holder.pid,
            holder
                .pid_start
                .map(|start| i64::try_from(start).unwrap_or(i64::MAX)),
            holder.host,
            clock::to_millis(now),
        ],
    )?;
    tx.commit()?;
    Ok(LockGuard {
        conn,
        sync: sync.to_owned(),
        token,
        released: false,
    })
}

fn read_lock(conn: &Connection, sync: &str) -> Result<Option<HeldLock>> {
    let row = conn
        .prepare_cached(
            "SELECT holder, pid, pid_start, host, acquired_at, heartbeat_at FROM locks \
             WHERE sync = ?1",
        )?
        .query_row(params![sync], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    let Some((holder, pid, pid_start, host, acquired_at, heartbeat_at)) = row else {
        return Ok(None);
    };
    Ok(Some(HeldLock {
        info: LockInfo {
            sync: sync.to_owned(),
            holder,
            pid: u32::try_from(pid)
                .map_err(|_| Error::Corrupt(format!("lock pid out of range: {pid}")))?,
            host,
            acquired_at: clock::from_millis(acquired_at)?,
            heartbeat_at: clock::from_millis(heartbeat_at)?,
        },
        pid_start: pid_start.and_then(|start| u64::try_from(start).ok()),
    }))
}

/// Whether the holder of `held` is gone, as seen from a process on `host` at `now`.
fn holder_gone(held: &HeldLock, host: &str, now: DateTime<Utc>, expiry: Duration) -> bool {
    if held.info.host == host
        && let Some(alive) = process::is_alive(held.info.pid, held.pid_start)
    {
        return !alive;
    }
    let silent = now
        .signed_duration_since(held.info.heartbeat_at)
        .to_std()
        .unwrap_or(Duration::ZERO);
    silent > expiry
}

impl LockGuard {
    /// The locked sync.
    pub fn sync(&self) -> &str {
        &self.sync
    }

    /// Records a sign of life, so holders on other hosts do not take the lock over.
    ///
    /// # Errors
    /// [`Error::LockLost`] when the lock was taken over meanwhile, [`Error::Sqlite`] otherwise.
    pub fn heartbeat(&self) -> Result<()> {
        let changed = self.conn.execute(
            "UPDATE locks SET heartbeat_at = ?3 WHERE sync = ?1 AND token = ?2",
            params![self.sync, self.token, clock::to_millis(clock::now())],
        )?;
        if changed == 0 {
            return Err(Error::LockLost {
                sync: self.sync.clone(),
            });
        }
        Ok(())
    }

    /// Releases the lock now.
    ///
    /// # Errors
    /// [`Error::LockLost`] when the lock had been taken over (nothing is released then),
    /// [`Error::Sqlite`] otherwise.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        self.delete()
    }

    fn delete(&self) -> Result<()> {
        let changed = self.conn.execute(
            "DELETE FROM locks WHERE sync = ?1 AND token = ?2",
            params![self.sync, self.token],
        )?;
        if changed == 0 {
            return Err(Error::LockLost {
                sync: self.sync.clone(),
            });
        }
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Err(err) = self.delete() {
            tracing::warn!(sync = %self.sync, error = %err, "could not release the sync lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(host: &str, pid: u32, heartbeat_age: Duration) -> (HeldLock, DateTime<Utc>) {
        let now = clock::now();
        let beat = now - chrono::Duration::from_std(heartbeat_age).unwrap();
        let lock = HeldLock {
            info: LockInfo {
                sync: "s".into(),
                holder: "h".into(),
                pid,
                host: host.into(),
                acquired_at: beat,
                heartbeat_at: beat,
            },
            pid_start: None,
        };
        (lock, now)
    }

    #[test]
    fn another_hosts_lock_expires_with_its_heartbeat() {
        let expiry = Duration::from_secs(600);
        let (fresh, now) = held("elsewhere", 1, Duration::from_secs(60));
        assert!(!holder_gone(&fresh, "here", now, expiry));
        let (stale, now) = held("elsewhere", 1, Duration::from_secs(601));
        assert!(holder_gone(&stale, "here", now, expiry));
    }

    #[test]
    fn a_live_holder_on_this_host_keeps_its_lock_however_old_its_heartbeat() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let host = process::current_host();
        let (lock, now) = held(&host, std::process::id(), Duration::from_secs(7200));
        assert!(!holder_gone(&lock, &host, now, Duration::from_secs(600)));
    }
}
