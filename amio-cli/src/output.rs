//! Output files that are never half-written: amio-core's [`PendingFile`]
//! writes them beside the target and renames them over it only when
//! complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use amio_core::PendingFile;

use crate::CliError;

/// Starts writing `target` (a temporary file beside it).
fn create(target: &Path) -> Result<(PendingFile, File), CliError> {
    PendingFile::create(target).map_err(|e| file_error(target, e))
}

/// Puts a finished file in place.
fn commit(pending: PendingFile) -> Result<(), CliError> {
    let target = pending.target().to_path_buf();
    pending.commit().map_err(|e| file_error(&target, e))
}

/// amio-core's I/O errors as the command's, which name the file.
fn file_error(target: &Path, e: amio_core::Error) -> CliError {
    match e {
        amio_core::Error::Io { source, .. } => CliError::Io {
            path: target.to_path_buf(),
            source,
        },
        other => CliError::Amio(other),
    }
}

/// A 32-bit float WAV file being written.
pub struct WavOutput {
    output: PendingFile,
    writer: hound::WavWriter<BufWriter<File>>,
    frames: u64,
    channels: usize,
}

impl WavOutput {
    /// Starts a WAV file of `channels` channels at `frame_rate`.
    pub fn create(target: &Path, channels: usize, frame_rate: u32) -> Result<WavOutput, CliError> {
        let (output, file) = create(target)?;
        let spec = hound::WavSpec {
            channels: u16::try_from(channels).map_err(|_| {
                CliError::Usage(format!("{channels} channels do not fit a WAV file"))
            })?,
            sample_rate: frame_rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let writer =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| wav_error(target, e))?;
        Ok(WavOutput {
            output,
            writer,
            frames: 0,
            channels,
        })
    }

    /// Appends interleaved frames.
    pub fn write(&mut self, samples: &[f32]) -> Result<(), CliError> {
        for &s in samples {
            self.writer
                .write_sample(s)
                .map_err(|e| wav_error(self.output.target(), e))?;
        }
        self.frames += (samples.len() / self.channels.max(1)) as u64;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Finishes the file and puts it in place.
    pub fn commit(self) -> Result<u64, CliError> {
        let target = self.output.target().to_path_buf();
        self.writer.finalize().map_err(|e| wav_error(&target, e))?;
        commit(self.output)?;
        Ok(self.frames)
    }
}

fn wav_error(path: &Path, e: hound::Error) -> CliError {
    CliError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A text file written whole.
pub fn write_text(target: &Path, text: &str) -> Result<(), CliError> {
    let (output, mut file) = create(target)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| CliError::Io {
            path: target.to_path_buf(),
            source,
        })?;
    commit(output)
}
