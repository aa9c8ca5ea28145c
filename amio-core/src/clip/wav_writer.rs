//! Writing 32-bit float WAV files of any length, streamed: RIFF WAV up to
//! 4 GiB, RF64 (EBU Tech 3306) beyond.
//!
//! The header is written first with a `JUNK` chunk of 28 bytes reserved
//! after `WAVE`. When the file is finished the header is written again with
//! the real sizes: a file whose RIFF size fits 32 bits stays a RIFF WAV (the
//! `JUNK` chunk is skipped by every reader); a larger one becomes RF64: the
//! magic `RF64`, the `JUNK` chunk turned into `ds64` holding the 64-bit
//! RIFF size, data size and frame count, and `0xFFFFFFFF` in the RIFF size,
//! the data chunk's size and the `fact` chunk's frame count, as EBU Tech
//! 3306 says. libsndfile reads both.
//!
//! Layout (little-endian): `RIFF`/`RF64` size `WAVE`, `JUNK`/`ds64` (28),
//! `fmt ` (18: `WAVE_FORMAT_IEEE_FLOAT` for 1 or 2 channels; 40:
//! `WAVE_FORMAT_EXTENSIBLE` with the IEEE float subformat for more), `fact`
//! (4: frames), `data`.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The most channels a 32-bit float WAV file holds: its block alignment
/// (`channels × 4` bytes) is a 16-bit field.
pub const MAX_WAV_CHANNELS: usize = u16::MAX as usize / 4;

/// Bytes per sample (32-bit float).
const SAMPLE_BYTES: u64 = 4;

/// The `ds64` chunk's payload: RIFF size, data size, frame count (u64
/// each) and an empty table (u32).
const DS64_BYTES: u32 = 28;

/// Samples converted per write call.
const BLOCK_SAMPLES: usize = 16 * 1024;

/// KSDATAFORMAT_SUBTYPE_IEEE_FLOAT.
const IEEE_FLOAT_GUID: [u8; 16] = [
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// Checks that a 32-bit float WAV file can hold `channels` channels at
/// `frame_rate`, before anything is written: 1 to [`MAX_WAV_CHANNELS`]
/// channels, a frame rate above 0, and a byte rate (`frame_rate × channels
/// × 4`) that fits the header's 32 bits. `path` names the file in the
/// error ([`Error::WavLimit`]).
pub fn check_wav_shape(path: &Path, channels: usize, frame_rate: u32) -> Result<()> {
    let refuse = |rule: String| {
        Err(Error::WavLimit {
            path: path.to_owned(),
            rule,
        })
    };
    if channels == 0 {
        return refuse("a WAV file needs at least 1 channel, got 0".into());
    }
    if channels > MAX_WAV_CHANNELS {
        return refuse(format!(
            "a 32-bit float WAV file holds at most {MAX_WAV_CHANNELS} channels, not {channels}"
        ));
    }
    if frame_rate == 0 {
        return refuse("a WAV file's frame rate must be above 0".into());
    }
    let byte_rate = u64::from(frame_rate) * channels as u64 * SAMPLE_BYTES;
    if byte_rate > u64::from(u32::MAX) {
        return refuse(format!(
            "{frame_rate} Hz × {channels} channels × 4 bytes is {byte_rate} bytes a second, more than a WAV header's byte rate holds ({})",
            u32::MAX
        ));
    }
    Ok(())
}

/// The sizes of a 32-bit float WAV file of `frames` frames: the `fmt `
/// chunk's, the header's after the RIFF size, the data's and the RIFF
/// size. `None` when they do not fit 64 bits.
fn sizes(channels: u16, frames: u64) -> Option<(u32, u32, u64, u64)> {
    let fmt_bytes: u32 = if channels > 2 { 40 } else { 18 };
    let block_align = u32::from(channels) * SAMPLE_BYTES as u32;
    let data_bytes = frames.checked_mul(u64::from(block_align))?;
    // WAVE + JUNK/ds64 + fmt + fact + data header.
    let header_after_riff = 4 + (8 + DS64_BYTES) + (8 + fmt_bytes) + (8 + 4) + 8;
    let riff_bytes = data_bytes.checked_add(u64::from(header_after_riff))?;
    Some((fmt_bytes, header_after_riff, data_bytes, riff_bytes))
}

/// The header of a 32-bit float WAV file of `frames` frames, and the
/// offset of its first sample; RF64 when the file is larger than a RIFF
/// WAV can say. `None` when the data size does not fit 64 bits.
fn header(channels: u16, frame_rate: u32, frames: u64) -> Option<Vec<u8>> {
    let extensible = channels > 2;
    let block_align = u32::from(channels) * SAMPLE_BYTES as u32;
    let (fmt_bytes, header_after_riff, data_bytes, riff_bytes) = sizes(channels, frames)?;
    let rf64 = riff_bytes > u64::from(u32::MAX);
    let small = |n: u64| if rf64 { u32::MAX } else { n as u32 };
    let mut h = Vec::with_capacity(8 + header_after_riff as usize);
    h.extend_from_slice(if rf64 { b"RF64" } else { b"RIFF" });
    h.extend_from_slice(&small(riff_bytes).to_le_bytes());
    h.extend_from_slice(b"WAVE");
    if rf64 {
        h.extend_from_slice(b"ds64");
        h.extend_from_slice(&DS64_BYTES.to_le_bytes());
        h.extend_from_slice(&riff_bytes.to_le_bytes());
        h.extend_from_slice(&data_bytes.to_le_bytes());
        h.extend_from_slice(&frames.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
    } else {
        h.extend_from_slice(b"JUNK");
        h.extend_from_slice(&DS64_BYTES.to_le_bytes());
        h.extend_from_slice(&[0; DS64_BYTES as usize]);
    }
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&fmt_bytes.to_le_bytes());
    h.extend_from_slice(&(if extensible { 0xfffe_u16 } else { 3 }).to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&frame_rate.to_le_bytes());
    h.extend_from_slice(&(frame_rate.wrapping_mul(block_align)).to_le_bytes());
    h.extend_from_slice(&(block_align as u16).to_le_bytes());
    h.extend_from_slice(&32u16.to_le_bytes());
    if extensible {
        h.extend_from_slice(&22u16.to_le_bytes());
        h.extend_from_slice(&32u16.to_le_bytes());
        // The first channels on the first speaker positions (18 of them).
        let mask = (0..u32::from(channels.min(18))).fold(0u32, |m, c| m | 1 << c);
        h.extend_from_slice(&mask.to_le_bytes());
        h.extend_from_slice(&IEEE_FLOAT_GUID);
    } else {
        h.extend_from_slice(&0u16.to_le_bytes());
    }
    h.extend_from_slice(b"fact");
    h.extend_from_slice(&4u32.to_le_bytes());
    let fact = u32::try_from(frames).ok().filter(|_| !rf64);
    h.extend_from_slice(&fact.unwrap_or(u32::MAX).to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&small(data_bytes).to_le_bytes());
    Some(h)
}

/// A 32-bit float WAV file being written to any seekable writer, RF64 when
/// it grows past what a RIFF WAV holds (see the module docs).
///
/// Frames are appended with [`WavWriter::write`] or placed anywhere with
/// [`WavWriter::write_at`] (frames never written are silence);
/// [`WavWriter::finish`] writes the final header. A writer dropped
/// unfinished leaves a header that describes no audio. Control side only
/// (it does I/O).
pub struct WavWriter<W: Write + Seek> {
    writer: W,
    name: PathBuf,
    channels: u16,
    frame_rate: u32,
    /// The offset of the first sample.
    data_offset: u64,
    /// Frames in the file (one past the last frame written).
    frames: u64,
    /// The frame the writer is positioned at.
    cursor: u64,
    /// Conversion buffer, reused.
    bytes: Vec<u8>,
}

impl<W: Write + Seek> std::fmt::Debug for WavWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("name", &self.name)
            .field("channels", &self.channels)
            .field("frame_rate", &self.frame_rate)
            .field("frames", &self.frames)
            .finish()
    }
}

impl<W: Write + Seek> WavWriter<W> {
    /// Starts a WAV file of `channels` channels at `frame_rate` at the
    /// writer's start (position 0); `name` names it in errors. The shape is
    /// checked first ([`check_wav_shape`]): nothing is written when it is
    /// refused.
    pub fn new(
        mut writer: W,
        name: impl AsRef<Path>,
        channels: usize,
        frame_rate: u32,
    ) -> Result<WavWriter<W>> {
        let name = name.as_ref().to_owned();
        check_wav_shape(&name, channels, frame_rate)?;
        let channels = channels as u16;
        let h = header(channels, frame_rate, 0).ok_or_else(|| Error::WavLimit {
            path: name.clone(),
            rule: "the header does not fit".into(),
        })?;
        let io = |source| io_error(&name, source);
        writer.seek(SeekFrom::Start(0)).map_err(io)?;
        writer.write_all(&h).map_err(io)?;
        Ok(WavWriter {
            writer,
            data_offset: h.len() as u64,
            name,
            channels,
            frame_rate,
            frames: 0,
            cursor: 0,
            bytes: Vec::new(),
        })
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        usize::from(self.channels)
    }

    /// Frames in the file so far: one past the last frame written.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Appends interleaved frames after the last frame in the file.
    /// `samples` must hold whole frames.
    pub fn write(&mut self, samples: &[f32]) -> Result<()> {
        self.write_at(self.frames, samples)
    }

    /// Writes interleaved frames starting at frame `frame`, over what is
    /// there; a gap between the end of the file and `frame` is silence.
    /// `samples` must hold whole frames.
    pub fn write_at(&mut self, frame: u64, samples: &[f32]) -> Result<()> {
        let channels = usize::from(self.channels);
        if !samples.len().is_multiple_of(channels) {
            return Err(Error::ClipPartialFrame {
                samples: samples.len(),
                channels,
            });
        }
        let count = (samples.len() / channels) as u64;
        let end = frame
            .checked_add(count)
            .filter(|&end| sizes(self.channels, end).is_some())
            .ok_or_else(|| Error::WavLimit {
                path: self.name.clone(),
                rule: format!(
                    "frames {frame} to {frame} + {count} are past what a WAV file can hold"
                ),
            })?;
        if frame > self.frames {
            // The gap is written as zeros, so that every writer (not only
            // files, which leave holes) holds silence there.
            self.extend_to(frame)?;
        }
        if frame != self.cursor {
            let offset = self.data_offset + frame * u64::from(self.channels) * SAMPLE_BYTES;
            self.writer
                .seek(SeekFrom::Start(offset))
                .map_err(|e| io_error(&self.name, e))?;
            self.cursor = frame;
        }
        for block in samples.chunks(BLOCK_SAMPLES) {
            self.bytes.clear();
            self.bytes.resize(block.len() * SAMPLE_BYTES as usize, 0);
            for (b, s) in self.bytes.chunks_exact_mut(4).zip(block) {
                b.copy_from_slice(&s.to_le_bytes());
            }
            self.writer
                .write_all(&self.bytes)
                .map_err(|e| io_error(&self.name, e))?;
        }
        self.cursor = end;
        self.frames = self.frames.max(end);
        Ok(())
    }

    /// Makes the file `frames` frames long, adding silence at the end (it
    /// never shortens it).
    pub fn extend_to(&mut self, frames: u64) -> Result<()> {
        if frames <= self.frames {
            return Ok(());
        }
        sizes(self.channels, frames).ok_or_else(|| Error::WavLimit {
            path: self.name.clone(),
            rule: format!("{frames} frames are more than a WAV file can hold"),
        })?;
        let zeros = [0u8; 64 * 1024];
        if self.cursor != self.frames {
            let offset = self.data_offset + self.frames * u64::from(self.channels) * SAMPLE_BYTES;
            self.writer
                .seek(SeekFrom::Start(offset))
                .map_err(|e| io_error(&self.name, e))?;
        }
        let mut left = (frames - self.frames) * u64::from(self.channels) * SAMPLE_BYTES;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            self.writer
                .write_all(&zeros[..n])
                .map_err(|e| io_error(&self.name, e))?;
            left -= n as u64;
        }
        self.frames = frames;
        self.cursor = frames;
        Ok(())
    }

    /// Writes the final header (RF64 if the file needs it), flushes, and
    /// returns the writer.
    pub fn finish(mut self) -> Result<W> {
        let h =
            header(self.channels, self.frame_rate, self.frames).ok_or_else(|| Error::WavLimit {
                path: self.name.clone(),
                rule: "the file is larger than a WAV file can say".into(),
            })?;
        let io = |source| io_error(&self.name, source);
        self.writer.seek(SeekFrom::Start(0)).map_err(io)?;
        self.writer.write_all(&h).map_err(io)?;
        let end = self.data_offset + self.frames * u64::from(self.channels) * SAMPLE_BYTES;
        self.writer.seek(SeekFrom::Start(end)).map_err(io)?;
        self.writer.flush().map_err(io)?;
        Ok(self.writer)
    }
}

fn io_error(name: &Path, source: std::io::Error) -> Error {
    Error::Io {
        context: format!("writing {}", name.display()),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn a_small_file_is_riff_with_junk_and_reads_back() {
        for channels in [1usize, 2, 3, 8] {
            let samples: Vec<f32> = (0..channels * 5).map(|i| i as f32 / 7.0 - 1.5).collect();
            let mut w = WavWriter::new(Cursor::new(Vec::new()), "t.wav", channels, 44_100).unwrap();
            w.write(&samples[..channels * 2]).unwrap();
            w.write(&samples[channels * 2..]).unwrap();
            assert_eq!(w.frames(), 5);
            let bytes = w.finish().unwrap().into_inner();
            assert_eq!(&bytes[..4], b"RIFF");
            assert_eq!(u32_at(&bytes, 4) as usize, bytes.len() - 8);
            assert_eq!(&bytes[12..16], b"JUNK");
            let clip = crate::Clip::from_wav_reader(Cursor::new(bytes), "t.wav").unwrap();
            assert_eq!(clip.samples(), &samples[..]);
            assert_eq!((clip.channels(), clip.frame_rate()), (channels, 44_100));
        }
    }

    #[test]
    fn frames_written_at_any_place_and_gaps_are_silence() {
        let mut w = WavWriter::new(Cursor::new(Vec::new()), "t.wav", 2, 8000).unwrap();
        w.write_at(3, &[1.0, 2.0]).unwrap();
        w.write_at(1, &[0.5, 0.25]).unwrap();
        w.extend_to(6).unwrap();
        w.write(&[9.0, 9.5]).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let clip = crate::Clip::from_wav_reader(Cursor::new(bytes), "t.wav").unwrap();
        assert_eq!(
            clip.samples(),
            &[0.0, 0.0, 0.5, 0.25, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 9.0, 9.5]
        );
    }

    #[test]
    fn over_4_gib_the_header_is_rf64_with_ds64() {
        // 2^29 stereo frames are exactly 4 GiB of samples.
        let frames = 1u64 << 29;
        let h = header(2, 48_000, frames).unwrap();
        let data = frames * 8;
        assert_eq!(&h[..4], b"RF64");
        assert_eq!(u32_at(&h, 4), u32::MAX);
        assert_eq!(&h[8..12], b"WAVE");
        assert_eq!(&h[12..16], b"ds64");
        assert_eq!(u32_at(&h, 16), 28);
        assert_eq!(u64_at(&h, 20), data + h.len() as u64 - 8);
        assert_eq!(u64_at(&h, 28), data);
        assert_eq!(u64_at(&h, 36), frames);
        assert_eq!(u32_at(&h, 44), 0);
        let n = h.len();
        assert_eq!(&h[n - 8..n - 4], b"data");
        assert_eq!(u32_at(&h, n - 4), u32::MAX);
        assert_eq!(&h[n - 20..n - 16], b"fact");
        assert_eq!(u32_at(&h, n - 12), u32::MAX);
        // The same layout as the RIFF header, so the data starts in the
        // same place whichever is written at the end.
        assert_eq!(header(2, 48_000, 0).unwrap().len(), n);
        // One frame less than the RIFF limit stays RIFF.
        let riff_max = (u64::from(u32::MAX) - (n as u64 - 8)) / 8;
        assert_eq!(&header(2, 48_000, riff_max).unwrap()[..4], b"RIFF");
        assert_eq!(&header(2, 48_000, riff_max + 1).unwrap()[..4], b"RF64");
        // Past 64 bits: no header.
        assert!(header(2, 48_000, u64::MAX / 4).is_none());
    }

    /// A writer that keeps only the first bytes and counts the rest, as a
    /// sparse file would hold silence.
    struct Sparse {
        head: Vec<u8>,
        position: u64,
        len: u64,
    }

    impl Write for Sparse {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for (i, &b) in buf.iter().enumerate() {
                let at = self.position as usize + i;
                if at < self.head.len() {
                    self.head[at] = b;
                } else {
                    break;
                }
            }
            self.position += buf.len() as u64;
            self.len = self.len.max(self.position);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.position = match to {
                SeekFrom::Start(n) => n,
                _ => unreachable!("the writer seeks from the start only"),
            };
            Ok(self.position)
        }
    }

    #[test]
    fn a_writer_past_4_gib_finishes_as_rf64() {
        let sink = Sparse {
            head: vec![0; 128],
            position: 0,
            len: 0,
        };
        let mut w = WavWriter::new(sink, "big.wav", 2, 48_000).unwrap();
        // One frame far out: everything before is silence.
        let last = (1u64 << 29) + 10;
        w.write_at(last, &[0.5, -0.5])
            .unwrap_or_else(|e| panic!("{e}"));
        // extend_to wrote the 4 GiB gap as zeros through `write`, cheaply
        // here because the sink only counts them.
        let sink = w.finish().unwrap();
        let data_offset = header(2, 48_000, 0).unwrap().len() as u64;
        assert_eq!(sink.len, data_offset + (last + 1) * 8);
        assert_eq!(&sink.head[..4], b"RF64");
        assert_eq!(u64_at(&sink.head, 36), last + 1);
    }

    /// `sndfile-info`'s report on a file.
    fn sndfile_info(path: &Path) -> String {
        let out = std::process::Command::new("sndfile-info")
            .arg(path)
            .output()
            .expect("running sndfile-info (Debian's sndfile-programs; ./scripts/test installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn libsndfile_reads_the_riff_and_the_rf64_files() {
        let dir = tempfile::tempdir().unwrap();
        // A small file, as written.
        let small = dir.path().join("small.wav");
        let clip = crate::Clip::from_interleaved(44_100, 3, vec![0.25; 300]).unwrap();
        clip.write_wav(&small).unwrap();
        let info = sndfile_info(&small);
        assert!(info.contains("Frames      : 100\n"), "{info}");
        assert!(info.contains("Channels    : 3\n"), "{info}");
        assert!(info.contains("Sample Rate : 44100\n"), "{info}");
        // A silent file past 4 GiB: the writer's bytes through a sink that
        // keeps the header, laid in a sparse file whose data reads as the
        // zeros the writer wrote (nothing near 4 GiB touches the disk).
        let frames = (1u64 << 29) + 11;
        let sink = Sparse {
            head: vec![0; 128],
            position: 0,
            len: 0,
        };
        let mut w = WavWriter::new(sink, "big.wav", 2, 48_000).unwrap();
        w.extend_to(frames).unwrap();
        let sink = w.finish().unwrap();
        let data_offset = header(2, 48_000, 0).unwrap().len();
        let big = dir.path().join("big.wav");
        let file = std::fs::File::create(&big).unwrap();
        (&file).write_all(&sink.head[..data_offset]).unwrap();
        file.set_len(sink.len).unwrap();
        drop(file);
        let info = sndfile_info(&big);
        assert!(info.contains("RF64\n"), "{info}");
        assert!(
            info.contains(&format!("Frames      : {frames}\n")),
            "{info}"
        );
        assert!(info.contains("Channels    : 2\n"), "{info}");
        assert!(info.contains("Duration    : 03:06:24.811"), "{info}");
        // amio reads its own RF64 file back: streamed, any frames.
        let streamed = crate::StreamedFile::open(&big).unwrap();
        assert_eq!((streamed.frames(), streamed.channels()), (frames, 2));
        let (mut out, mut bytes) = (Vec::new(), Vec::new());
        streamed
            .read_into(frames - 5, 5, &mut out, &mut bytes)
            .unwrap();
        assert_eq!(out, vec![0.0; 10]);
    }

    #[test]
    fn shapes_a_wav_cannot_hold_are_refused_before_writing() {
        let mut out = Cursor::new(Vec::new());
        let err = WavWriter::new(&mut out, "x.wav", 20_000, 48_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.wav: a 32-bit float WAV file holds at most 16383 channels, not 20000"
        );
        let err = WavWriter::new(&mut out, "x.wav", 2, u32::MAX).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.wav: 4294967295 Hz × 2 channels × 4 bytes is 34359738360 bytes a second, more than a WAV header's byte rate holds (4294967295)"
        );
        assert!(WavWriter::new(&mut out, "x.wav", 0, 48_000).is_err());
        assert!(WavWriter::new(&mut out, "x.wav", 1, 0).is_err());
        assert!(out.into_inner().is_empty());
        let mut w = WavWriter::new(Cursor::new(Vec::new()), "x.wav", 2, 48_000).unwrap();
        assert!(matches!(
            w.write(&[0.0; 3]),
            Err(Error::ClipPartialFrame { .. })
        ));
        assert!(w.write_at(u64::MAX - 1, &[0.0; 4]).is_err());
    }
}
