//! Output files that are never half-written: written to a temporary file
//! beside the target and renamed over it only when complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::CliError;

/// A file being written; [`Output::commit`] puts it in place, dropping it
/// uncommitted removes it.
pub struct Output {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl Output {
    /// Starts writing `target`.
    pub fn new(target: &Path) -> Result<(Output, File), CliError> {
        let name = target
            .file_name()
            .ok_or_else(|| CliError::Usage(format!("{}: not a file name", target.display())))?;
        let temp = target.with_file_name(format!(
            ".{}.amio-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temp).map_err(|source| CliError::Io {
            path: target.to_path_buf(),
            source,
        })?;
        Ok((
            Output {
                target: target.to_path_buf(),
                temp,
                committed: false,
            },
            file,
        ))
    }

    /// The temporary file's path (for writers that open it themselves).
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Puts the finished file in place.
    pub fn commit(mut self) -> Result<(), CliError> {
        std::fs::rename(&self.temp, &self.target).map_err(|source| CliError::Io {
            path: self.target.clone(),
            source,
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A 32-bit float WAV file being written.
pub struct WavOutput {
    output: Output,
    writer: hound::WavWriter<BufWriter<File>>,
    frames: u64,
    channels: usize,
}

impl WavOutput {
    /// Starts a WAV file of `channels` channels at `frame_rate`.
    pub fn create(target: &Path, channels: usize, frame_rate: u32) -> Result<WavOutput, CliError> {
        let (output, file) = Output::new(target)?;
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
                .map_err(|e| wav_error(&self.output.target, e))?;
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
        let target = self.output.target.clone();
        self.writer.finalize().map_err(|e| wav_error(&target, e))?;
        self.output.commit()?;
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
    let (output, mut file) = Output::new(target)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| CliError::Io {
            path: target.to_path_buf(),
            source,
        })?;
    output.commit()
}
