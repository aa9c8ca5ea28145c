//! Files that are never half-written: written to a temporary file beside
//! the target and renamed over it only when complete.
//!
//! A [`PendingFile`] is how amio writes every file it makes (clips as WAV or
//! FLAC, and the `amio` command's renders, takes and event logs): if
//! writing fails or is abandoned, the target is untouched (an existing file
//! keeps its old contents) and the temporary file is removed. The rename
//! is atomic because the temporary file is in the target's own directory.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Temporary files made by this process so far, so that two writers in
/// one process never pick the same name.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many names to try before giving up (each is only taken if a file
/// of that name is left over from elsewhere).
const ATTEMPTS: u32 = 100;

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
    /// Starts writing `target`: makes a new temporary file
    /// `.<name>.amio-<pid>-<n>.tmp` in the target's directory and returns it
    /// open for writing. Fails (an [`Error::Io`] naming the target) when the
    /// target has no file name or the directory cannot take a new file.
    pub fn create(target: impl AsRef<Path>) -> Result<(PendingFile, File)> {
        let target = target.as_ref();
        let io_err = |source| Error::Io {
            context: format!("creating {}", target.display()),
            source,
        };
        let name = target.file_name().ok_or_else(|| {
            io_err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let temp = target.with_file_name(format!(
                ".{}.amio-{}-{}.tmp",
                name.to_string_lossy(),
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    let pending = PendingFile {
                        target: target.to_path_buf(),
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

    /// The file that will be replaced.
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
        Ok(())
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
