//! Output files that are never half-written and never destroy what was
//! there: amio-core's [`PendingFile`] writes them beside the target and
//! renames them over it only when complete; an unfinished one is removed
//! when dropped (an error, a signal), leaving the old file as it was.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use amio_core::clip::{check_wav_shape, WavWriter};
use amio_core::PendingFile;

use crate::CliError;

/// What a file type is, in words, when it is not a regular file.
pub(crate) fn kind_of(kind: std::fs::FileType) -> Option<&'static str> {
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
    } else {
        Some("not a file")
    }
}

/// amio-core's errors about a file as the command's, naming it.
fn file_error(target: &Path, e: amio_core::Error) -> CliError {
    match e {
        amio_core::Error::Io { source, .. } => CliError::Io {
            path: target.to_path_buf(),
            source,
        },
        other => CliError::Amio(other),
    }
}

/// Which file a path writes or reads: its device and inode when it
/// exists, else its resolved folder's and its name (links followed).
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    File(u64, u64),
    New(u64, u64, std::ffi::OsString),
}

fn identity(path: &Path) -> Option<Identity> {
    let resolved = PendingFile::resolve(path).ok()?;
    if let Ok(m) = std::fs::metadata(&resolved) {
        return Some(Identity::File(m.dev(), m.ino()));
    }
    let folder = match resolved.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let m = std::fs::metadata(folder).ok()?;
    Some(Identity::New(
        m.dev(),
        m.ino(),
        resolved.file_name()?.to_owned(),
    ))
}

/// Whether two paths name one file: the same spelling or another, through
/// symbolic links or hard links, existing or about to be made.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (identity(a), identity(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Refuses `output` (named by `flag`) when it is the same file as one of
/// `others` (each with what it is).
pub fn refuse_same(flag: &str, output: &Path, others: &[(&str, &Path)]) -> Result<(), CliError> {
    for (what, other) in others {
        if same_file(output, other) {
            return Err(CliError::Usage(format!(
                "{flag} {} is the same file as {what} {}; amio will not write over it",
                output.display(),
                other.display()
            )));
        }
    }
    Ok(())
}

/// The bytes a render's output gathers before each write to its file: a
/// period is a few kilobytes, and the file system's cost is per write.
const WRITE_BYTES: usize = 1 << 20;

/// How many bytes a render's output writes before it asks the kernel to
/// start writing them to the disk.
const WRITEBACK_BYTES: u64 = 4 << 20;

/// A file whose pages the kernel is asked to start writing to the disk
/// every [`WRITEBACK_BYTES`] written (`sync_file_range` with
/// `SYNC_FILE_RANGE_WRITE`, which starts the write-out and does not wait
/// for it), so that the write-out runs while the render goes on and the
/// `fsync` at the end waits for the last pages only. Durability is the
/// `fsync`'s, as before; this only starts it early.
struct EarlyWriteback {
    file: File,
    /// Bytes written since the last start.
    unstarted: u64,
}

impl EarlyWriteback {
    /// Starts writing the file's dirty pages to the disk. A hint: where it
    /// fails, the `fsync` at the end does the work.
    fn start(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: the descriptor is this open file's, owned by `self`
            // for the call; sync_file_range(2) reads no memory of ours and
            // only starts the write-out of the page cache (offset 0,
            // length 0: the whole file).
            unsafe {
                libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
    }
}

impl Write for EarlyWriteback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unstarted += n as u64;
        if self.unstarted >= WRITEBACK_BYTES {
            self.unstarted = 0;
            self.start();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Seek for EarlyWriteback {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(to)
    }
}

/// A 32-bit float WAV file (RF64 past 4 GiB) being written beside its
/// target; [`WavOutput::commit`] puts it in place, dropping it removes it.
pub struct WavOutput {
    output: PendingFile,
    writer: WavWriter<BufWriter<EarlyWriteback>>,
}

impl std::fmt::Debug for WavOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavOutput")
            .field("target", &self.output.target())
            .field("frames", &self.writer.frames())
            .finish()
    }
}

impl WavOutput {
    /// Starts a WAV file of `channels` channels at `frame_rate`; what a WAV
    /// file cannot hold is refused before anything is made.
    pub fn create(target: &Path, channels: usize, frame_rate: u32) -> Result<WavOutput, CliError> {
        check_wav_shape(target, channels, frame_rate).map_err(CliError::Amio)?;
        let (output, file) = PendingFile::create(target).map_err(|e| file_error(target, e))?;
        let writer = WavWriter::new(
            BufWriter::with_capacity(WRITE_BYTES, EarlyWriteback { file, unstarted: 0 }),
            target,
            channels,
            frame_rate,
        )
        .map_err(|e| file_error(target, e))?;
        Ok(WavOutput { output, writer })
    }

    /// Appends interleaved frames.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), CliError> {
        let target = self.output.target();
        self.writer
            .write(samples)
            .map_err(|e| file_error(target, e))
    }

    /// Writes interleaved frames from frame `frame` on (a gap before is
    /// silence).
    pub fn write_at(&mut self, frame: u64, samples: &[f32]) -> Result<(), CliError> {
        let target = self.output.target();
        self.writer
            .write_at(frame, samples)
            .map_err(|e| file_error(target, e))
    }

    /// Makes the file `frames` frames long, silence at the end.
    pub fn extend_to(&mut self, frames: u64) -> Result<(), CliError> {
        let target = self.output.target();
        self.writer
            .extend_to(frames)
            .map_err(|e| file_error(target, e))
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.writer.channels()
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.writer.frames()
    }

    /// The file it will replace.
    pub fn target(&self) -> &Path {
        self.output.target()
    }

    /// Finishes the file (header, flush, sync) without putting it in
    /// place yet.
    pub fn finish(self) -> Result<Finished, CliError> {
        let target = self.output.target().to_path_buf();
        let frames = self.writer.frames();
        let buffered = self.writer.finish().map_err(|e| file_error(&target, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| CliError::Io {
                path: target.clone(),
                source: e.into_error(),
            })?
            .file;
        file.sync_all().map_err(|source| CliError::Io {
            path: target.clone(),
            source,
        })?;
        Ok(Finished {
            output: self.output,
            frames,
        })
    }

    /// Finishes the file and puts it in place; returns its frames.
    pub fn commit(self) -> Result<u64, CliError> {
        self.finish()?.commit()
    }
}

/// A file written whole, waiting to be put in place.
#[derive(Debug)]
pub struct Finished {
    output: PendingFile,
    frames: u64,
}

impl Finished {
    /// Puts the file in place; returns its frames (0 for text).
    pub fn commit(self) -> Result<u64, CliError> {
        let target: PathBuf = self.output.target().to_path_buf();
        self.output.commit().map_err(|e| file_error(&target, e))?;
        Ok(self.frames)
    }
}

/// Writes a text file beside `target`, synced, not yet in place.
pub fn write_text(target: &Path, text: &str) -> Result<Finished, CliError> {
    let (output, mut file) = PendingFile::create(target).map_err(|e| file_error(target, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| CliError::Io {
            path: target.to_path_buf(),
            source,
        })?;
    Ok(Finished { output, frames: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_is_found_under_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let out = d.join("out.wav");
        // Not there yet: spellings and links.
        assert!(same_file(&out, &d.join("./out.wav")));
        std::os::unix::fs::symlink("out.wav", d.join("link")).unwrap();
        assert!(same_file(&out, &d.join("link")));
        assert!(!same_file(&out, &d.join("events.jsonl")));
        // There: hard links too.
        std::fs::write(&out, "x").unwrap();
        std::fs::hard_link(&out, d.join("hard")).unwrap();
        assert!(same_file(&out, &d.join("hard")));
        std::fs::create_dir(d.join("sub")).unwrap();
        assert!(same_file(&out, &d.join("sub/../out.wav")));
        assert!(!same_file(&out, &d.join("sub/out.wav")));
    }
}
