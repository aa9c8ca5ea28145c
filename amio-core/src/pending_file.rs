//! Files that are never half-written: written to a temporary file beside
//! the target and renamed over it only when complete.
//!
//! A [`PendingFile`] is how amio writes every file it makes (clips as WAV or
//! FLAC, and the `amio` command's renders, takes and event logs): if
//! writing fails or is abandoned, the target is untouched (an existing file
//! keeps its old contents) and the temporary file is removed. The rename
//! is atomic because the temporary file is in the target's own directory.
//!
//! - A target that is a symbolic link is followed: the file it leads to is
//!   replaced and the link kept.
//! - A target that exists and is not a regular file (a directory, a named
//!   pipe, a device, a socket) is refused before anything is made
//!   ([`Error::NotAFile`]): renaming over `/dev/null` would replace the
//!   device.
//! - The new file takes the permissions of the file it replaces.
//! - A process killed outright (SIGKILL, a power cut) cannot remove its
//!   temporary file; the next [`PendingFile::create`] of the same target
//!   removes the ones whose process no longer runs.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Temporary files made by this process so far, so that two writers in
/// one process never pick the same name.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many names to try before giving up (each is only taken if a file
/// of that name is left over from elsewhere).
const ATTEMPTS: u32 = 100;

/// How many symbolic links are followed before giving up (as Linux does).
const MAX_LINKS: u32 = 40;

/// What a file type is, in words, if it is not a regular file.
pub(crate) fn not_a_file(kind: std::fs::FileType) -> Option<&'static str> {
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_symlink() {
        Some("a symbolic link")
    } else {
        Some("not a file")
    }
}

/// The temporary name `.<name>.amio-<pid>-<n>.tmp` of `target` for process
/// `pid`, counter `n`.
fn temp_name(name: &str, pid: u32, n: u64) -> String {
    format!(".{name}.amio-{pid}-{n}.tmp")
}

/// The pid in a temporary name of `name`, if `file` is one.
fn temp_pid(name: &str, file: &str) -> Option<u32> {
    let rest = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix(".amio-")?
        .strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` is gone, by `/proc` (Linux). Where `/proc` is
/// not there to ask, no process counts as gone, so no temporary file of
/// another writer is ever removed.
fn process_is_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    pid != 0 && proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// A file being written. [`PendingFile::commit`] puts it in place;
/// dropping it uncommitted removes the temporary file and leaves the
/// target as it was. Control side only (it makes and renames files).
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// The file a [`PendingFile`] for `target` replaces: `target` with its
    /// symbolic links followed (the file need not exist; a link may lead to
    /// a file that does not exist yet). Fails when the links loop or run
    /// deeper than 40, or the path has no file name.
    pub fn resolve(target: impl AsRef<Path>) -> Result<PathBuf> {
        let original = target.as_ref();
        let io_err = |source| Error::Io {
            context: format!("creating {}", original.display()),
            source,
        };
        let mut path = original.to_path_buf();
        for _ in 0..MAX_LINKS {
            if path.file_name().is_none() {
                return Err(io_err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a file name",
                )));
            }
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => {
                    let link = std::fs::read_link(&path).map_err(io_err)?;
                    path = match path.parent() {
                        Some(dir) if link.is_relative() => dir.join(link),
                        _ => link,
                    };
                }
                _ => return Ok(path),
            }
        }
        Err(io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("more than {MAX_LINKS} symbolic links, or a loop"),
        )))
    }

    /// Starts writing `target`: makes a new temporary file
    /// `.<name>.amio-<pid>-<n>.tmp` beside the file `target` names (its
    /// symbolic links followed) and returns it open for writing. Fails,
    /// naming the target, when it has no file name, when it exists and is
    /// not a regular file ([`Error::NotAFile`]), or when the directory cannot
    /// take a new file ([`Error::Io`]); then nothing is made.
    pub fn create(target: impl AsRef<Path>) -> Result<(PendingFile, File)> {
        let original = target.as_ref();
        let target = PendingFile::resolve(original)?;
        let io_err = |source| Error::Io {
            context: format!("creating {}", original.display()),
            source,
        };
        let existing = match std::fs::metadata(&target) {
            Ok(m) => {
                if let Some(kind) = not_a_file(m.file_type()) {
                    return Err(Error::NotAFile {
                        path: original.to_owned(),
                        kind,
                    });
                }
                Some(m.permissions())
            }
            Err(_) => None,
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        remove_leftovers(&target, &name);
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let temp = target.with_file_name(temp_name(
                &name,
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
            ));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    if let Some(permissions) = &existing {
                        // The file keeps its permissions; if they cannot be
                        // copied the new file has the default ones.
                        let _ = file.set_permissions(permissions.clone());
                    }
                    let pending = PendingFile {
                        target: target.clone(),
                        temp,
                        committed: false,
                    };
                    return Ok((pending, file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(io_err(last.unwrap_or_else(|| {
            std::io::Error::from(std::io::ErrorKind::AlreadyExists)
        })))
    }

    /// The file that will be replaced (symbolic links followed).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file being written.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Puts the finished file in place, replacing any file of the target's
    /// name. Flush (and, for durability, `sync_all`) the file first.
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.temp, &self.target).map_err(|source| Error::Io {
            context: format!("putting {} in place", self.target.display()),
            source,
        })?;
        self.committed = true;
        // Make the rename itself durable; the file is in place either way.
        if let Some(dir) = self.target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// Removes temporary files of `target` left by processes that no longer
/// run (killed outright while writing it).
fn remove_leftovers(target: &Path, name: &str) {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = temp_pid(name, &file.to_string_lossy()) else {
            continue;
        };
        if pid != std::process::id() && process_is_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing more can be done if this fails; the name says what it is.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn committed_replaces_dropped_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        std::fs::write(&target, "old").unwrap();

        let (pending, mut file) = PendingFile::create(&target).unwrap();
        assert_eq!(pending.temp().parent(), Some(dir.path()));
        file.write_all(b"half").unwrap();
        drop(file);
        drop(pending);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert!(leftovers(dir.path()).is_empty());

        let (pending, mut file) = PendingFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        drop(file);
        pending.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn two_writers_of_one_target_get_two_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("same.wav");
        let (a, _fa) = PendingFile::create(&target).unwrap();
        let (b, _fb) = PendingFile::create(&target).unwrap();
        assert_ne!(a.temp(), b.temp());
        assert_eq!(a.target(), b.target());
    }

    #[test]
    fn links_are_followed_and_what_is_not_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.wav");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.wav");
        std::os::unix::fs::symlink("real.wav", &link).unwrap();
        let (pending, mut file) = PendingFile::create(&link).unwrap();
        assert_eq!(pending.target(), real);
        file.write_all(b"new").unwrap();
        pending.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A dangling link: the file it names is made.
        let dangling = dir.path().join("dangling.wav");
        std::os::unix::fs::symlink("made.wav", &dangling).unwrap();
        let (pending, _) = PendingFile::create(&dangling).unwrap();
        pending.commit().unwrap();
        assert!(dir.path().join("made.wav").is_file());
        // A loop.
        std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        assert!(PendingFile::create(dir.path().join("a")).is_err());

        let err = PendingFile::create(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: a directory, not a regular file", dir.path().display())
        );
        let err = PendingFile::create("/dev/null").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/dev/null: a character device, not a regular file"
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn the_new_file_keeps_the_old_one_s_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("take.wav");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let (pending, _) = PendingFile::create(&target).unwrap();
        pending.commit().unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn leftovers_of_processes_that_are_gone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.wav");
        // A child that has exited and been reaped: its pid names no process
        // (until the system reuses it, when the file is merely kept).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(temp_name("out.wav", gone, 7));
        std::fs::write(&stale, "half").unwrap();
        let mine = dir
            .path()
            .join(temp_name("out.wav", std::process::id(), u64::MAX));
        std::fs::write(&mine, "in use").unwrap();
        let other = dir.path().join(temp_name("other.wav", gone, 1));
        std::fs::write(&other, "not ours").unwrap();
        let (pending, _) = PendingFile::create(&target).unwrap();
        drop(pending);
        assert!(!stale.exists());
        assert!(mine.exists());
        assert!(other.exists());
        assert_eq!(temp_pid("out.wav", ".out.wav.amio-12-3.tmp"), Some(12));
        assert_eq!(temp_pid("out.wav", ".out.wav.amio-x-3.tmp"), None);
        assert_eq!(temp_pid("out.wav", ".out.wav.amio-12-3"), None);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_target() {
        let err = PendingFile::create("/nonexistent/amio/x.flac").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("creating /nonexistent/amio/x.flac: "),
            "{err}"
        );
        assert!(PendingFile::create("/").is_err());
    }
}
