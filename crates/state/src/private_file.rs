//! Writing a file that only its owner can read, such as a saved plan (it holds list members
//! and field values). The content goes to a new temporary file in the same folder, created
//! with mode 0600 (never a `chmod` afterwards), flushed to disk, and then renamed over the
//! target. A reader therefore sees the old file or the new one, never half of one; an
//! existing file at the target is replaced, not rewritten in place, so whatever permissions
//! it had do not carry over and nothing optisync did not create is ever changed.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// How many temporary names to try before giving up (each is random, so a clash is rare).
const ATTEMPTS: u32 = 16;

/// Writes `contents` to `path` owner-only, atomically replacing any file there.
///
/// # Errors
/// The I/O error of creating, writing or renaming; the temporary file is removed then.
pub fn write(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not end in a file name",
        )
    })?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    for _ in 0..ATTEMPTS {
        let temporary = folder.join(format!(
            ".{}.{}-{:08x}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            rand::random::<u32>()
        ));
        let file = match create_new_private(&temporary) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        };
        return finish(file, &temporary, path, contents).inspect_err(|_| {
            let _ = fs::remove_file(&temporary);
        });
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not find a free temporary file name beside it",
    ))
}

fn create_new_private(path: &Path) -> io::Result<fs::File> {
    let mut open = fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    open.open(path)
}

fn finish(mut file: fs::File, temporary: &Path, path: &Path, contents: &[u8]) -> io::Result<()> {
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    fs::rename(temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("plan.json");
        write(&path, b"{}").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}");
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_owner_only_and_replaces_an_open_one() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("plan.json");
        fs::write(&path, b"old content, longer than the new").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let old_inode = fs::metadata(&path).unwrap().ino();
        write(&path, b"new").unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_ne!(meta.ino(), old_inode, "replaced, not rewritten in place");
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        // The target is a folder, so the rename fails.
        let target = tmp.path().join("plan.json");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        assert!(write(&target, b"{}").is_err());
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only the folder remains");
    }
}
