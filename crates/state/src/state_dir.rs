//! Where the state lives, and whether that folder is safe to keep it in. optisync keeps its
//! state only in a folder that it created itself (mode 0700 from the start) or that already
//! holds its state, and it never changes the permissions of anything it did not create.
//!
//! The configured `state_dir` (by default `.optisync` beside the config) is used like this
//! ([`locate`]):
//! - it does not exist: optisync creates it, with any missing parents, owner-only (0700),
//!   and keeps `state.db` in it;
//! - it exists and already holds `state.db`, or only its owner can enter it (mode 0700, the
//!   user's own: one created for optisync by hand, by an earlier optisync or by another
//!   optisync starting at the same time): the state lives in it, and nobody else can see or
//!   change what optisync keeps there;
//! - it exists, holds no state and others can look into it (the config's own folder at
//!   0755, a shared `/srv/...`): optisync keeps its state in a subfolder of its own,
//!   `<state_dir>/.optisync`, created 0700. For `state_dir = "."` that is the default
//!   location.
//!
//! A folder that is a symbolic link, belongs to another user, or can be written by other
//! users (a sticky, world-writable `/tmp` included) is refused, whether it is the state
//! folder or the folder optisync would create its subfolder in: another user could replace
//! or read what optisync keeps there. A state folder or state file that others can read is
//! refused for the verbs that write ([`Access::ReadWrite`]) with the `chmod` that fixes it,
//! and only warned about for the verbs that read (`status`, `runs`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::process;
use crate::store::{DB_FILE_NAME, DEFAULT_DIR_NAME};

/// What a caller will do with the state, which decides how strict the checks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Runs that record state (`plan`, `sync`, `reset`): everything must be owner-only.
    ReadWrite,
    /// Verbs that only read (`status`, `runs`): a folder or file others can read is a
    /// warning, since refusing would hide the state without protecting it.
    ReadOnly,
}

/// The folder that holds (or will hold) the state for the configured `state_dir`; see the
/// module docs. Creates nothing.
///
/// # Errors
/// [`Error::UnsafeStateDir`] when `configured` is a link, not a folder, another user's
/// folder, or a folder without state that others can write; [`Error::Io`] when it cannot be
/// inspected.
pub fn locate(configured: &Path) -> Result<PathBuf> {
    let Some(meta) = inspect(configured)? else {
        return Ok(configured.to_path_buf());
    };
    check_kind_and_owner(configured, &meta)?;
    // A folder holding state that others can read is kept (and then refused with the chmod
    // that fixes it), rather than silently starting afresh in a subfolder.
    if owner_only(&meta) || inspect(&configured.join(DB_FILE_NAME))?.is_some() {
        return Ok(configured.to_path_buf());
    }
    check_not_writable_by_others(configured, &meta)?;
    Ok(configured.join(DEFAULT_DIR_NAME))
}

/// Checks that the existing folder `dir` is safe to keep the state in for `access`, and
/// returns the warnings to show (for [`Access::ReadOnly`]).
///
/// # Errors
/// [`Error::UnsafeStateDir`] saying what is wrong and how to fix it; [`Error::Io`] when it
/// cannot be inspected.
pub(crate) fn check_folder(dir: &Path, access: Access) -> Result<Vec<String>> {
    let meta = inspect(dir)?.ok_or_else(|| Error::Io {
        action: "cannot find state directory",
        path: dir.to_path_buf(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    check_kind_and_owner(dir, &meta)?;
    check_not_writable_by_others(dir, &meta)?;
    let mut warnings = Vec::new();
    if !owner_only(&meta) {
        let problem = format!("can be read by other users (mode {})", mode_text(&meta));
        let fix = format!(
            "make it owner-only with `chmod 700 {}`, or move its state.db into a folder only \
             you can read and set state_dir to that folder",
            dir.display()
        );
        match access {
            Access::ReadWrite => return Err(unsafe_dir(dir, problem, fix)),
            Access::ReadOnly => {
                warnings.push(format!("state_dir {}: {problem}; {fix}", dir.display()))
            }
        }
    }
    Ok(warnings)
}

/// Checks that the state files that exist (`state.db` and SQLite's `-wal` and `-shm`) can be
/// read by their owner only, and returns the warnings to show (for [`Access::ReadOnly`]).
///
/// # Errors
/// [`Error::UnsafeStateDir`] for a file others can read, with the `chmod` that fixes it.
pub(crate) fn check_files(db: &Path, access: Access) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        let Some(meta) = inspect(&file)? else {
            continue;
        };
        if owner_only(&meta) {
            continue;
        }
        let problem = format!(
            "the state file {} can be read by other users (mode {})",
            file.display(),
            mode_text(&meta)
        );
        let fix = format!("make it owner-only with `chmod 600 {}`", file.display());
        let dir = db.parent().unwrap_or(db);
        match access {
            Access::ReadWrite => return Err(unsafe_dir(dir, problem, fix)),
            Access::ReadOnly => {
                warnings.push(format!("state_dir {}: {problem}; {fix}", dir.display()));
            }
        }
    }
    Ok(warnings)
}

/// The metadata of `path` itself (links are not followed), or `None` when nothing is there.
pub(crate) fn inspect(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            action: "cannot inspect",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn unsafe_dir(path: &Path, problem: String, fix: String) -> Error {
    Error::UnsafeStateDir {
        path: path.to_path_buf(),
        problem,
        fix,
    }
}

/// Refuses a link, something that is not a folder, and another user's folder.
fn check_kind_and_owner(dir: &Path, meta: &fs::Metadata) -> Result<()> {
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(
            dir,
            "is a symbolic link, and optisync keeps its state only in a real folder".to_owned(),
            "set state_dir to the folder the link points to".to_owned(),
        ));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir(
            dir,
            "is not a folder".to_owned(),
            "set state_dir to a folder, or to a path where optisync may create one".to_owned(),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Some(uid) = process::effective_uid()
            && meta.uid() != uid
        {
            return Err(unsafe_dir(
                dir,
                format!(
                    "belongs to another user (uid {}, while optisync runs as uid {uid})",
                    meta.uid()
                ),
                "run optisync as that user, or set state_dir to a folder of your own".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Refuses a folder that users other than its owner can write (sticky or not).
fn check_not_writable_by_others(dir: &Path, meta: &fs::Metadata) -> Result<()> {
    if permission_bits(meta) & 0o022 != 0 {
        return Err(unsafe_dir(
            dir,
            format!(
                "can be written by other users (mode {}), who could replace or read optisync's \
                 state there",
                mode_text(meta)
            ),
            "set state_dir to a folder only you can write, or to a path that does not exist \
             yet (optisync creates it owner-only), or leave state_dir out to keep the state in \
             .optisync beside the config; optisync does not change the permissions of a \
             folder it did not create"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Whether only the owner has any access.
fn owner_only(meta: &fs::Metadata) -> bool {
    permission_bits(meta) & 0o077 == 0
}

/// The permission bits with setuid, setgid and sticky (0 where there are none).
fn permission_bits(meta: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

fn mode_text(meta: &fs::Metadata) -> String {
    format!("{:04o}", permission_bits(meta))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_missing_folder_is_used_as_configured() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("state");
        assert_eq!(locate(&dir).unwrap(), dir);
        assert!(!dir.exists(), "locate creates nothing");
    }

    #[test]
    fn a_private_folder_or_one_holding_state_is_used_as_is() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o700);
        assert_eq!(locate(tmp.path()).unwrap(), tmp.path());
        fs::write(tmp.path().join("state.db.damaged"), b"").unwrap();
        assert_eq!(locate(tmp.path()).unwrap(), tmp.path());
        chmod(tmp.path(), 0o755);
        fs::write(tmp.path().join(DB_FILE_NAME), b"").unwrap();
        assert_eq!(locate(tmp.path()).unwrap(), tmp.path());
    }

    #[test]
    fn a_folder_with_other_things_gets_a_subfolder_and_keeps_its_mode() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("optisync.toml"), b"").unwrap();
        chmod(tmp.path(), 0o755);
        assert_eq!(
            locate(tmp.path()).unwrap(),
            tmp.path().join(DEFAULT_DIR_NAME)
        );
        let mode = fs::metadata(tmp.path()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755);
    }

    #[test]
    fn a_world_writable_sticky_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o1777);
        let err = locate(tmp.path()).unwrap_err();
        assert!(matches!(err, Error::UnsafeStateDir { .. }), "{err:?}");
        assert!(err.to_string().contains("mode 1777"), "{err}");
        let err = check_folder(tmp.path(), Access::ReadOnly).unwrap_err();
        assert!(err.to_string().contains("written by other users"), "{err}");
    }

    #[test]
    fn a_link_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = locate(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_readable_folder_is_refused_for_writing_and_a_warning_for_reading() {
        let tmp = tempfile::tempdir().unwrap();
        chmod(tmp.path(), 0o750);
        let err = check_folder(tmp.path(), Access::ReadWrite).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");
        let warnings = check_folder(tmp.path(), Access::ReadOnly).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        chmod(tmp.path(), 0o700);
        assert!(
            check_folder(tmp.path(), Access::ReadWrite)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_readable_state_file_is_refused_for_writing_and_a_warning_for_reading() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join(DB_FILE_NAME);
        fs::write(&db, b"").unwrap();
        chmod(&db, 0o644);
        let err = check_files(&db, Access::ReadWrite).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_eq!(check_files(&db, Access::ReadOnly).unwrap().len(), 1);
        let mode = fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "left as it was");
    }
}
