//! Audio files whose samples stay on disk: the source of a streamed clip
//! (issue 16).
//!
//! A [`StreamedFile`] is a WAV file whose header has been read and checked
//! (the file holds its whole data chunk) and whose samples are read on
//! demand, any run of frames at any offset, by positional reads
//! (`pread`): several threads may read one file at once, and no read moves
//! a shared cursor. The values are exactly those [`Clip::from_wav`] gives
//! for the same frames, so a session mixed from streamed files is bit for
//! bit the session mixed from the files loaded.
//!
//! [`Clip::from_wav`]: super::Clip::from_wav

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::wav_reader::{stream_header, Encoding};
use crate::error::{Error, Result};

/// A WAV file opened for streaming: its shape, and its samples read on
/// demand ([`StreamedFile::read_into`]).
///
/// Reading never loads more than the frames asked for. The file stays
/// open while the value lives; if it is changed or cut afterwards, reads
/// of what is no longer there fail with an error naming the file.
#[derive(Debug)]
pub struct StreamedFile {
    path: PathBuf,
    file: File,
    id: u64,
    frame_rate: u32,
    channels: usize,
    frames: u64,
    data_offset: u64,
    /// `None` only when there are no frames.
    encoding: Option<Encoding>,
}

/// Numbers every [`StreamedFile`] opened in the process, so that caches can
/// tell them apart without comparing paths.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl StreamedFile {
    /// Opens the WAV file at `path` (8/16/24/32-bit integer or 32-bit
    /// float samples, as [`Clip::from_wav`] reads) and reads its header.
    /// A file that is not a regular file, not a WAV file amio reads, or
    /// shorter than its data chunk says is refused, naming it.
    ///
    /// [`Clip::from_wav`]: super::Clip::from_wav
    pub fn open(path: impl AsRef<Path>) -> Result<StreamedFile> {
        let path = path.as_ref();
        let file = super::open_regular(path)?;
        let header = stream_header(&file, path)?;
        super::check_shape(header.frame_rate, header.channels)?;
        Ok(StreamedFile {
            path: path.to_owned(),
            file,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            frame_rate: header.frame_rate,
            channels: header.channels,
            frames: header.samples / header.channels as u64,
            data_offset: header.data_offset,
            encoding: header.encoding,
        })
    }

    /// The file's path, as it was opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A number no other [`StreamedFile`] of this process has.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Frames per second.
    pub fn frame_rate(&self) -> u32 {
        self.frame_rate
    }

    /// Channels per frame (at least 1).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames in the file.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Reads frames `first..first + frames` into `out` (cleared first;
    /// `frames * channels` interleaved samples), converting as
    /// [`Clip::from_wav`] does. `bytes` is working space, kept by the
    /// caller so that reading block after block does not allocate.
    ///
    /// Refused: a range past the end, a file that no longer holds the
    /// frames, a non-finite sample (named by its frame). On an error `out`
    /// holds nothing.
    ///
    /// [`Clip::from_wav`]: super::Clip::from_wav
    pub fn read_into(
        &self,
        first: u64,
        frames: usize,
        out: &mut Vec<f32>,
        bytes: &mut Vec<u8>,
    ) -> Result<()> {
        out.clear();
        let end = first.checked_add(frames as u64);
        if end.is_none_or(|end| end > self.frames) {
            return Err(Error::Argument {
                argument: "frames to read",
                rule: format!(
                    "{}: frames {first}..{} lie past its {} frames",
                    self.path.display(),
                    first.saturating_add(frames as u64),
                    self.frames
                ),
            });
        }
        let Some(encoding) = self.encoding else {
            return Ok(()); // no frames: only the empty range got here
        };
        let frame_bytes = (self.channels * encoding.bytes()) as u64;
        let len = frames as u64 * frame_bytes;
        let no_room = || Error::Argument {
            argument: "frames to read",
            rule: format!(
                "{}: {frames} frames do not fit in memory",
                self.path.display()
            ),
        };
        let len = usize::try_from(len).map_err(|_| no_room())?;
        bytes.clear();
        bytes.try_reserve(len).map_err(|_| no_room())?;
        bytes.resize(len, 0);
        let at = self.data_offset + first * frame_bytes;
        self.file
            .read_exact_at(bytes, at)
            .map_err(|source| Error::Io {
                context: format!(
                    "reading frames {first}..{} of {}",
                    first + frames as u64,
                    self.path.display()
                ),
                source,
            })?;
        out.try_reserve(frames * self.channels)
            .map_err(|_| no_room())?;
        encoding.convert(bytes, out);
        if let Some(bad) = out.iter().position(|x| !x.is_finite()) {
            out.clear();
            return Err(Error::Argument {
                argument: "a streamed clip's samples",
                rule: format!(
                    "{}: frame {} holds a sample that is not finite",
                    self.path.display(),
                    first + (bad / self.channels) as u64
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::Clip;
    use proptest::prelude::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    /// A WAV file of `frames` frames of `channels` channels written with
    /// hound in `bits`-bit integers or 32-bit floats.
    fn write(path: &Path, channels: u16, frames: usize, bits: u16, float: bool, seed: u32) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for _ in 0..frames * usize::from(channels) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if float {
                w.write_sample((x as i32 as f32) / 2_147_483_648.0).unwrap();
            } else {
                let v = (x as i32) >> (32 - bits);
                w.write_sample(v).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    /// Cuts the last `bytes` bytes off the file at `path`.
    fn cut(path: &Path, bytes: u64) {
        let len = std::fs::metadata(path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len - bytes)
            .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any run of frames read from the file equals the same frames of
        /// the clip `Clip::from_wav` loads, bit for bit.
        #[test]
        fn any_run_reads_as_the_loaded_clip(
            channels in 1u16..4,
            frames in 0usize..3000,
            kind in 0usize..5,
            runs in proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..6),
            seed in any::<u32>(),
        ) {
            let (bits, float) = [(8, false), (16, false), (24, false), (32, false), (32, true)][kind];
            let dir = dir();
            let path = dir.path().join("a.wav");
            write(&path, channels, frames, bits, float, seed);
            let loaded = Clip::from_wav(&path).unwrap();
            let streamed = StreamedFile::open(&path).unwrap();
            prop_assert_eq!(streamed.frames(), loaded.frames() as u64);
            prop_assert_eq!(streamed.channels(), loaded.channels());
            prop_assert_eq!(streamed.frame_rate(), loaded.frame_rate());
            let (mut out, mut bytes) = (Vec::new(), Vec::new());
            let c = usize::from(channels);
            for (a, b) in runs {
                let first = (a * frames as f64) as usize;
                let n = (b * (frames - first) as f64) as usize;
                streamed.read_into(first as u64, n, &mut out, &mut bytes).unwrap();
                let want: Vec<u32> = loaded.samples()[first * c..(first + n) * c].iter().map(|x| x.to_bits()).collect();
                let got: Vec<u32> = out.iter().map(|x| x.to_bits()).collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn a_range_past_the_end_is_refused_naming_the_file() {
        let dir = dir();
        let path = dir.path().join("short.wav");
        write(&path, 2, 100, 16, false, 1);
        let f = StreamedFile::open(&path).unwrap();
        let (mut out, mut bytes) = (vec![1.0], Vec::new());
        let err = f.read_into(90, 11, &mut out, &mut bytes).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("short.wav") && text.contains("90..101"),
            "{text}"
        );
        assert!(out.is_empty());
        let err = f.read_into(u64::MAX, 2, &mut out, &mut bytes).unwrap_err();
        assert!(err.to_string().contains("past its 100 frames"), "{err}");
        f.read_into(100, 0, &mut out, &mut bytes).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_file_cut_after_opening_fails_its_reads_clearly() {
        let dir = dir();
        let path = dir.path().join("cut.wav");
        write(&path, 1, 1000, 16, false, 2);
        let f = StreamedFile::open(&path).unwrap();
        cut(&path, 100);
        let (mut out, mut bytes) = (Vec::new(), Vec::new());
        f.read_into(0, 900, &mut out, &mut bytes).unwrap();
        let err = f.read_into(900, 100, &mut out, &mut bytes).unwrap_err();
        assert!(
            err.to_string().contains("reading frames 900..1000 of"),
            "{err}"
        );
        assert!(err.to_string().contains("cut.wav"), "{err}");
    }

    #[test]
    fn a_truncated_file_and_a_non_wav_are_refused_at_open() {
        let dir = dir();
        let path = dir.path().join("t.wav");
        write(&path, 1, 1000, 16, false, 3);
        cut(&path, 2);
        let err = StreamedFile::open(&path).unwrap_err().to_string();
        assert!(err.contains("truncated") && err.contains("t.wav"), "{err}");
        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"not a wav file at all").unwrap();
        assert!(StreamedFile::open(&junk)
            .unwrap_err()
            .to_string()
            .contains("junk.wav"));
        assert!(matches!(
            StreamedFile::open(dir.path()).unwrap_err(),
            Error::NotAFile { .. }
        ));
    }

    #[test]
    fn a_non_finite_float_is_named_by_its_frame() {
        let dir = dir();
        let path = dir.path().join("nan.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..20 {
            w.write_sample(if i == 13 { f32::NAN } else { 0.5 })
                .unwrap();
        }
        w.finalize().unwrap();
        let f = StreamedFile::open(&path).unwrap();
        let (mut out, mut bytes) = (Vec::new(), Vec::new());
        f.read_into(0, 6, &mut out, &mut bytes).unwrap();
        let err = f.read_into(5, 3, &mut out, &mut bytes).unwrap_err();
        assert!(
            err.to_string()
                .contains("frame 6 holds a sample that is not finite"),
            "{err}"
        );
        assert!(out.is_empty());
    }

    #[test]
    fn every_file_gets_its_own_id() {
        let dir = dir();
        let path = dir.path().join("a.wav");
        write(&path, 1, 10, 16, false, 4);
        let (a, b) = (
            StreamedFile::open(&path).unwrap(),
            StreamedFile::open(&path).unwrap(),
        );
        assert_ne!(a.id(), b.id());
        assert_eq!(a.path(), path.as_path());
    }
}
