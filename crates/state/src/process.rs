//! Facts about processes that the lock and the request ledger need: this host's name, whether
//! a process on this host is still alive, and which user this process acts as (the state
//! folder must be that user's). Read from `/proc` on Linux without any unsafe code; where
//! `/proc` is missing the answer is "cannot tell": the lock falls back to heartbeat expiry and
//! the state folder's owner goes unchecked.

use std::fs;
use std::path::Path;

/// This machine's host name, as the lock records it.
pub(crate) fn current_host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "unknown-host".to_owned())
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/<pid>/stat`), which tells a live holder from a later process that reused its pid.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Whether process `pid` on this host is alive: `Some(false)` when it is gone, a zombie, or
/// its pid now belongs to a process started at another time than `expected_start`; `None`
/// when this system has no `/proc` to ask.
pub(crate) fn is_alive(pid: u32, expected_start: Option<u64>) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return Some(false);
    }
    let Some(fields) = stat_fields(pid) else {
        // It exited between the two looks.
        return Some(false);
    };
    // Field 3, the state: Z (zombie) and X (dead) hold no lock any more.
    if matches!(fields.first().map(String::as_str), Some("Z" | "X")) {
        return Some(false);
    }
    match (
        expected_start,
        fields.get(19).and_then(|s| s.parse::<u64>().ok()),
    ) {
        (Some(expected), Some(actual)) if expected != actual => Some(false),
        _ => Some(true),
    }
}

/// The effective user id of this process (the owner of what it creates), from the `Uid:`
/// line of `/proc/self/status` (real, effective, saved, filesystem); `None` without `/proc`.
pub(crate) fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and
/// parentheses, so the split is at the last `)`): index 0 is field 3 (state).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_with_its_own_start_time() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let pid = std::process::id();
        let start = start_time(pid);
        assert!(start.is_some());
        assert_eq!(is_alive(pid, start), Some(true));
        assert_eq!(is_alive(pid, start.map(|s| s + 1)), Some(false));
    }

    #[test]
    fn an_exited_process_is_dead() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let mut child = std::process::Command::new("sh")
            .args(["-c", "exit 0"])
            .spawn()
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(is_alive(pid, None), Some(false));
    }

    #[cfg(unix)]
    #[test]
    fn the_effective_uid_owns_what_this_process_creates() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let owner = fs::metadata(dir.path()).unwrap().uid();
        assert_eq!(effective_uid(), Some(owner));
    }

    #[test]
    fn the_host_name_is_not_empty() {
        assert!(!current_host().is_empty());
    }
}
