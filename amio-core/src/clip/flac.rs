//! FLAC files: read with symphonia's FLAC decoder, written with flacenc.
//!
//! Reading: integer samples of any depth FLAC allows (4 to 32 bits) are
//! divided by 2^(bits-1), as WAV's are, so full scale is exactly -1; any
//! channel count (FLAC holds 1 to 8). amio walks the metadata itself (it
//! needs only STREAMINFO, which must come first, as the format says) and
//! hands symphonia the STREAMINFO and the audio frames. A file is refused,
//! naming the rule, when it is not FLAC, when its metadata is broken or cut
//! short, when frames are missing or corrupt (every frame carries a CRC,
//! and a frame that fails it leaves a gap in the frame numbers), when it
//! holds fewer or more frames than its header says, and when the decoded
//! audio does not match the header's MD5 signature. Memory grows with the
//! audio actually decoded (`try_reserve`), never with what a header claims.
//!
//! Writing: 16 or 24 bits per sample. Each sample is multiplied by
//! 2^(bits-1), rounded to the nearest integer (halves away from zero) and
//! clamped to the integer range, because a FLAC file cannot hold values
//! beyond full scale: 1.0 is written as 2^(bits-1) - 1, anything below -1
//! as -1. Frames of 4096 samples, one thread, STREAMINFO with the MD5
//! signature and the exact frame count. Refused before anything is
//! written: another bit depth, more than 8 channels, a frame rate above
//! 655350 Hz (the highest that symphonia, and FLAC decoders before 1.4,
//! read), and 2^36 frames or more (the header's count holds 36 bits).

use std::io::{BufRead, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, Frame, FrameHeader, FrameOffset, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Context, Fill, FrameBuf};
use symphonia::core::audio::{Audio, GenericAudioBufferRef};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions, ReadOnlySource};
use symphonia::default::codecs::FlacDecoder;
use symphonia::default::formats::FlacReader;

use super::Clip;
use crate::error::{Error, Result};
use crate::pending_file::PendingFile;

/// The marker every FLAC stream starts with.
pub(super) const MARKER: &[u8; 4] = b"fLaC";
/// Bytes of a STREAMINFO block's body.
const STREAM_INFO_BYTES: usize = 34;
/// The most channels a FLAC file holds.
const MAX_CHANNELS: usize = 8;
/// The highest frame rate amio reads or writes as FLAC (symphonia's limit,
/// and FLAC's before version 1.4 raised it to 2^20 - 1).
const MAX_FRAME_RATE: u32 = 655_350;
/// The frames in a FLAC file must be fewer than this (a 36-bit count).
const FRAME_LIMIT: u64 = 1 << 36;
/// Samples per channel in each frame amio writes (the reference encoder's
/// default).
const BLOCK_SIZE: usize = 4096;
/// The highest frame rate flacenc puts in its stream description; above it
/// amio writes each frame's header itself (see [`with_frame_rate`]).
const FLACENC_MAX_RATE: u32 = 96_000;

impl Clip {
    /// Reads a FLAC file: integer samples of 4 to 32 bits, divided by
    /// 2^(bits-1) (full scale is exactly -1), 1 to 8 channels. A file that
    /// is not FLAC, or is corrupt or truncated, is an error naming the file
    /// and the rule; see the module's documentation.
    pub fn from_flac(path: impl AsRef<Path>) -> Result<Clip> {
        let path = path.as_ref();
        read_flac(super::open_regular(path)?, path)
    }

    /// Reads FLAC data from any reader; `name` is used in error messages.
    /// (The decoder wants a reader it may move between threads, hence
    /// `Send + Sync`; files, byte slices and cursors are.)
    pub fn from_flac_reader<R: Read + Send + Sync>(reader: R, name: &str) -> Result<Clip> {
        read_flac(reader, Path::new(name))
    }

    /// Writes the clip as a FLAC file of `bits` (16 or 24) bits per sample:
    /// samples scaled by 2^(bits-1), rounded to nearest and clamped to the
    /// integer range (FLAC cannot hold values beyond full scale). The file
    /// is written beside `path` and renamed into place when complete, so a
    /// failure leaves an existing file untouched and nothing behind. A bit
    /// depth, channel count (above 8), frame rate (above 655350 Hz) or
    /// length (2^36 frames or more) FLAC cannot take is refused before
    /// anything is written.
    pub fn write_flac(&self, path: impl AsRef<Path>, bits: u32) -> Result<()> {
        let path = path.as_ref();
        self.check_flac(path, bits)?;
        let (pending, file) = PendingFile::create(path)?;
        let io_err = |source| Error::Io {
            context: format!("writing {}", path.display()),
            source,
        };
        let mut writer = BufWriter::new(file);
        self.encode_flac(&mut writer, bits, path)?;
        let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        pending.commit()
    }

    /// Writes the clip as FLAC data of `bits` (16 or 24) bits per sample to
    /// any seekable writer (the header is completed at the end), as
    /// [`Clip::write_flac`] does.
    pub fn write_flac_to<W: Write + Seek>(&self, mut writer: W, bits: u32) -> Result<()> {
        let path = Path::new("<writer>");
        self.check_flac(path, bits)?;
        self.encode_flac(&mut writer, bits, path)
    }

    /// Refuses what FLAC (or amio's writer) cannot hold, naming the rule.
    fn check_flac(&self, path: &Path, bits: u32) -> Result<()> {
        let refuse = |rule: String| Error::Flac {
            path: path.to_owned(),
            rule,
        };
        if bits != 16 && bits != 24 {
            return Err(Error::FlacBits {
                path: path.to_owned(),
                bits,
            });
        }
        if self.channels() > MAX_CHANNELS {
            return Err(refuse(format!(
                "{} channels do not fit a FLAC file (the rule is 1 to {MAX_CHANNELS} channels)",
                self.channels()
            )));
        }
        if self.frame_rate() > MAX_FRAME_RATE {
            return Err(refuse(format!(
                "{} Hz is above the highest frame rate amio writes as FLAC (the rule is 1 to {MAX_FRAME_RATE} Hz)",
                self.frame_rate()
            )));
        }
        if self.frames() as u64 >= FRAME_LIMIT {
            return Err(refuse(format!(
                "{} frames do not fit a FLAC header (the rule is fewer than 2^36 frames)",
                self.frames()
            )));
        }
        Ok(())
    }

    /// Encodes the clip (already checked) to `writer`: the header with
    /// room for STREAMINFO, the frames, then STREAMINFO filled in.
    fn encode_flac<W: Write + Seek>(&self, writer: &mut W, bits: u32, path: &Path) -> Result<()> {
        let io_err = |source| Error::Io {
            context: format!("writing {}", path.display()),
            source,
        };
        let encoder_err = |what: String| Error::Flac {
            path: path.to_owned(),
            rule: format!("the FLAC encoder failed: {what}"),
        };
        let channels = self.channels();
        let rate = self.frame_rate();
        let start = writer.stream_position().map_err(io_err)?;
        writer
            .write_all(&header(&[0; STREAM_INFO_BYTES]))
            .map_err(io_err)?;

        let mut config = flacenc::config::Encoder::default();
        config.block_size = BLOCK_SIZE;
        config.multithread = false;
        let config = config
            .into_verified()
            .map_err(|(_, e)| encoder_err(e.to_string()))?;
        // flacenc describes streams of at most 96 kHz; a faster clip is
        // encoded as a 96 kHz one and each frame header rewritten.
        let description =
            StreamInfo::new(rate.min(FLACENC_MAX_RATE) as usize, channels, bits as usize)
                .map_err(|e| encoder_err(e.to_string()))?;
        let mut frame_buf =
            FrameBuf::with_size(channels, BLOCK_SIZE).map_err(|e| encoder_err(e.to_string()))?;
        let mut context = Context::new(bits as usize, channels);
        let mut block = Vec::with_capacity(BLOCK_SIZE * channels);
        let mut sink = ByteSink::new();
        let (mut min_frame_bytes, mut max_frame_bytes) = (u32::MAX, 0u32);
        for (number, samples) in self.samples().chunks(BLOCK_SIZE * channels).enumerate() {
            block.clear();
            block.extend(samples.iter().map(|&s| quantise(s, bits)));
            frame_buf
                .fill_interleaved(&block)
                .map_err(|e| encoder_err(e.to_string()))?;
            context
                .fill_interleaved(&block)
                .map_err(|e| encoder_err(e.to_string()))?;
            let frame = flacenc::encode_fixed_size_frame(&config, &frame_buf, number, &description)
                .map_err(|e| encoder_err(e.to_string()))?;
            let frame = with_frame_rate(frame, rate, bits, number)
                .map_err(|e| encoder_err(e.to_string()))?;
            sink.clear();
            frame
                .write(&mut sink)
                .map_err(|e| encoder_err(e.to_string()))?;
            writer.write_all(sink.as_slice()).map_err(io_err)?;
            let bytes = sink.as_slice().len() as u32;
            min_frame_bytes = min_frame_bytes.min(bytes);
            max_frame_bytes = max_frame_bytes.max(bytes);
        }
        if self.frames() == 0 {
            // Frame sizes unknown (0), as the format allows.
            min_frame_bytes = 0;
        }
        let info = stream_info(
            rate,
            channels,
            bits,
            self.frames() as u64,
            (min_frame_bytes, max_frame_bytes),
            context.md5_digest(),
        );
        let end = writer.stream_position().map_err(io_err)?;
        writer.seek(SeekFrom::Start(start)).map_err(io_err)?;
        writer.write_all(&header(&info)).map_err(io_err)?;
        writer.seek(SeekFrom::Start(end)).map_err(io_err)?;
        writer.flush().map_err(io_err)
    }
}

/// A sample as a `bits`-bit integer: scaled by 2^(bits-1), rounded to
/// nearest (halves away from zero), clamped to the integer range.
fn quantise(sample: f32, bits: u32) -> i32 {
    let full = f64::from(1u32 << (bits - 1));
    (f64::from(sample) * full).round().clamp(-full, full - 1.0) as i32
}

/// The stream's start: the marker, then STREAMINFO as the only (last)
/// metadata block.
fn header(stream_info: &[u8; STREAM_INFO_BYTES]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + STREAM_INFO_BYTES);
    out.extend_from_slice(MARKER);
    out.extend_from_slice(&[0x80, 0, 0, STREAM_INFO_BYTES as u8]);
    out.extend_from_slice(stream_info);
    out
}

/// A STREAMINFO block's body for the fixed block size amio writes.
fn stream_info(
    rate: u32,
    channels: usize,
    bits: u32,
    frames: u64,
    (min_frame_bytes, max_frame_bytes): (u32, u32),
    md5: [u8; 16],
) -> [u8; STREAM_INFO_BYTES] {
    let mut out = [0u8; STREAM_INFO_BYTES];
    let block = (BLOCK_SIZE as u16).to_be_bytes();
    out[0..2].copy_from_slice(&block);
    out[2..4].copy_from_slice(&block);
    out[4..7].copy_from_slice(&min_frame_bytes.to_be_bytes()[1..]);
    out[7..10].copy_from_slice(&max_frame_bytes.to_be_bytes()[1..]);
    // 20 bits of rate, 3 of channels - 1, 5 of bits - 1, 36 of frames.
    let packed = (u64::from(rate) << 44)
        | ((channels as u64 - 1) << 41)
        | (u64::from(bits - 1) << 36)
        | (frames & (FRAME_LIMIT - 1));
    out[10..18].copy_from_slice(&packed.to_be_bytes());
    out[18..34].copy_from_slice(&md5);
    out
}

/// The frame with a header that gives the clip's own frame rate (flacenc
/// wrote the rate of its stream description, at most 96 kHz).
fn with_frame_rate(
    frame: Frame,
    rate: u32,
    bits: u32,
    number: usize,
) -> std::result::Result<Frame, flacenc::error::VerifyError> {
    let block_size = frame.header().block_size();
    let assignment = frame.header().channel_assignment().clone();
    let (_, subframes) = frame.into_parts();
    let header = FrameHeader::new(
        block_size,
        assignment,
        bits as usize,
        rate as usize,
        // Fewer than 2^36 frames in blocks of 4096: below 2^24 blocks.
        FrameOffset::Frame(number as u32),
    )?;
    Frame::new(header, subframes.into_iter())
}

/// What STREAMINFO says.
struct Description {
    rate: u32,
    channels: usize,
    bits: u32,
    /// 0: unknown.
    frames: u64,
}

fn describe(info: &[u8; STREAM_INFO_BYTES]) -> Description {
    let mut packed = [0u8; 8];
    packed.copy_from_slice(&info[10..18]);
    let packed = u64::from_be_bytes(packed);
    Description {
        rate: (packed >> 44) as u32,
        channels: ((packed >> 41) & 0x7) as usize + 1,
        bits: ((packed >> 36) & 0x1f) as u32 + 1,
        frames: packed & (FRAME_LIMIT - 1),
    }
}

fn read_flac<R: Read + Send + Sync>(reader: R, path: &Path) -> Result<Clip> {
    let refuse = |rule: String| Error::Flac {
        path: path.to_owned(),
        rule,
    };
    let io_err = |source| Error::Io {
        context: format!("reading {}", path.display()),
        source,
    };
    // Reads exactly `buf.len()` bytes; the end of the file is `Ok(false)`.
    let read_all = |input: &mut BufReader<R>, buf: &mut [u8]| match input.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(io_err(e)),
    };
    let mut input = BufReader::new(reader);
    let mut marker = [0u8; 4];
    if !read_all(&mut input, &mut marker)? || &marker != MARKER {
        return Err(refuse(
            "not a FLAC file (it does not start with \"fLaC\")".into(),
        ));
    }
    let mut info: Option<[u8; STREAM_INFO_BYTES]> = None;
    loop {
        let mut block = [0u8; 4];
        if !read_all(&mut input, &mut block)? {
            return Err(refuse(
                "truncated: the file ends inside its metadata".into(),
            ));
        }
        let last = block[0] & 0x80 != 0;
        let kind = block[0] & 0x7f;
        let length = u32::from_be_bytes([0, block[1], block[2], block[3]]);
        match (kind, &info) {
            (0, None) => {
                if length as usize != STREAM_INFO_BYTES {
                    return Err(refuse(format!(
                        "a STREAMINFO block of {length} bytes (the rule is {STREAM_INFO_BYTES})"
                    )));
                }
                let mut body = [0u8; STREAM_INFO_BYTES];
                if !read_all(&mut input, &mut body)? {
                    return Err(refuse(
                        "truncated: the file ends inside its metadata".into(),
                    ));
                }
                info = Some(body);
            }
            (0, Some(_)) => {
                return Err(refuse(
                    "a second STREAMINFO block (the rule is exactly one)".into(),
                ))
            }
            (127, _) => {
                return Err(refuse(
                    "metadata block type 127 (the rule is: type 127 is invalid)".into(),
                ))
            }
            (_, None) => {
                return Err(refuse(format!(
                    "the first metadata block is of type {kind} (the rule is: STREAMINFO, type 0, comes first)"
                )))
            }
            (_, Some(_)) => {
                let skipped = std::io::copy(
                    &mut input.by_ref().take(u64::from(length)),
                    &mut std::io::sink(),
                )
                .map_err(io_err)?;
                if skipped != u64::from(length) {
                    return Err(refuse(
                        "truncated: the file ends inside its metadata".into(),
                    ));
                }
            }
        }
        if last {
            break;
        }
    }
    let info = info.ok_or_else(|| refuse("no STREAMINFO block".into()))?;
    let description = describe(&info);
    if description.rate == 0 || description.rate > MAX_FRAME_RATE {
        return Err(refuse(format!(
            "a frame rate of {} Hz (the rule is 1 to {MAX_FRAME_RATE} Hz)",
            description.rate
        )));
    }
    if description.bits < 4 {
        return Err(refuse(format!(
            "{} bits per sample (the rule is 4 to 32)",
            description.bits
        )));
    }
    if input.fill_buf().map_err(io_err)?.is_empty() {
        if description.frames != 0 {
            return Err(refuse(format!(
                "truncated: the header gives {} frames, the file ends after its metadata",
                description.frames
            )));
        }
        return assemble(path, &description, Vec::new());
    }
    // Symphonia reads STREAMINFO and the frames; the other metadata has
    // been read past.
    let source = Cursor::new(header(&info)).chain(input);
    let stream = MediaSourceStream::new(
        Box::new(ReadOnlySource::new(source)),
        MediaSourceStreamOptions::default(),
    );
    // The decoder is not expected to panic on bad data, but a file is
    // input: if it ever does, that is this file's error, not the caller's.
    let samples = catch_unwind(AssertUnwindSafe(|| decode(stream, &description, path)))
        .map_err(|_| refuse("the FLAC decoder failed on this file (it panicked)".into()))??;
    assemble(path, &description, samples)
}

/// Decodes every frame, checking that none is missing, that the count is
/// the header's and that the MD5 signature matches; returns interleaved
/// samples scaled to full scale.
fn decode(
    stream: MediaSourceStream<'_>,
    description: &Description,
    path: &Path,
) -> Result<Vec<f32>> {
    let refuse = |rule: String| Error::Flac {
        path: path.to_owned(),
        rule,
    };
    let decode_err = |e: DecodeError, frames: u64| match e {
        DecodeError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            refuse(format!(
                "truncated: the file ends after {frames} whole frames{}",
                if description.frames > 0 {
                    format!(" of the {} its header gives", description.frames)
                } else {
                    String::new()
                }
            ))
        }
        DecodeError::IoError(source) => Error::Io {
            context: format!("reading {}", path.display()),
            source,
        },
        e => refuse(format!("corrupt after frame {frames}: {e}")),
    };
    let mut reader =
        FlacReader::try_new(stream, FormatOptions::default()).map_err(|e| decode_err(e, 0))?;
    let params = reader
        .tracks()
        .first()
        .and_then(|t| t.codec_params.as_ref())
        .and_then(|p| p.audio())
        .ok_or_else(|| refuse("no audio stream".into()))?
        .clone();
    let mut options = AudioDecoderOptions::default();
    options.verify = true;
    let mut decoder = FlacDecoder::try_new(&params, &options).map_err(|e| decode_err(e, 0))?;

    let channels = description.channels;
    let mut samples: Vec<f32> = Vec::new();
    let mut frames: u64 = 0;
    while let Some(packet) = reader.next_packet().map_err(|e| decode_err(e, frames))? {
        // Frames are numbered; a gap is a frame the reader skipped because
        // its CRC failed or its header made no sense.
        let first = packet.pts.get();
        if first != frames as i64 {
            return Err(refuse(format!(
                "corrupt: frames {frames} to {} are missing or damaged",
                first.max(frames as i64 + 1) - 1
            )));
        }
        let decoded = decoder.decode(&packet).map_err(|e| decode_err(e, frames))?;
        let GenericAudioBufferRef::S32(buffer) = decoded else {
            return Err(refuse(
                "the decoder gave samples of an unexpected type".into(),
            ));
        };
        if buffer.num_planes() != channels {
            return Err(refuse(format!(
                "a frame of {} channels in a stream of {channels}",
                buffer.num_planes()
            )));
        }
        let n = buffer.frames();
        samples
            .try_reserve(n * channels)
            .map_err(|_| refuse(format!("{frames} frames and more do not fit in memory")))?;
        // The decoder left-justifies every sample in 32 bits, so dividing
        // by 2^31 is dividing the file's integer by 2^(bits-1). Each plane
        // goes into its place in the frames in one loop.
        let start = samples.len();
        samples.resize(start + n * channels, 0.0);
        let frames_out = &mut samples[start..];
        for c in 0..channels {
            let plane = buffer
                .plane(c)
                .ok_or_else(|| refuse(format!("channel {c} is missing from a frame")))?;
            for (frame, &v) in frames_out.chunks_exact_mut(channels).zip(plane) {
                frame[c] = (f64::from(v) / 2_147_483_648.0) as f32;
            }
        }
        frames += n as u64;
        if description.frames != 0 && frames > description.frames {
            return Err(refuse(format!(
                "corrupt: more frames than the {} its header gives",
                description.frames
            )));
        }
    }
    if description.frames != 0 && frames != description.frames {
        return Err(refuse(format!(
            "truncated: {frames} frames, the header gives {}",
            description.frames
        )));
    }
    if decoder.finalize().verify_ok == Some(false) {
        return Err(refuse(
            "corrupt: the decoded audio does not match the file's MD5 signature".into(),
        ));
    }
    Ok(samples)
}

/// The clip, or an error naming the file when its shape is not a clip's.
fn assemble(path: &Path, description: &Description, samples: Vec<f32>) -> Result<Clip> {
    if description.channels == 0 {
        return Err(Error::Flac {
            path: path.to_owned(),
            rule: "0 channels (the rule is at least 1)".into(),
        });
    }
    Clip::from_interleaved(description.rate, description.channels, samples).map_err(|e| {
        Error::Flac {
            path: path.to_owned(),
            rule: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// FLAC bytes of `clip` at `bits`.
    fn flac_bytes(clip: &Clip, bits: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        clip.write_flac_to(&mut out, bits).unwrap();
        out.into_inner()
    }

    fn read(bytes: &[u8]) -> Result<Clip> {
        Clip::from_flac_reader(bytes, "t.flac")
    }

    /// The value a sample has after a trip through a `bits`-bit file,
    /// computed here independently: the nearest multiple of 2^-(bits-1),
    /// halves away from zero, within -1 ..= 1 - 2^-(bits-1).
    fn expected(sample: f32, bits: u32) -> f32 {
        let full = 2f64.powi(bits as i32 - 1);
        let mut k = (f64::from(sample) * full).abs();
        k = (k + 0.5).floor() * f64::from(sample).signum();
        (k.clamp(-full, full - 1.0) / full) as f32
    }

    /// A clip whose samples differ per frame and channel and include the
    /// edges of the range.
    fn test_clip(rate: u32, channels: usize, frames: usize) -> Clip {
        let edges = [0.0f32, 1.0, -1.0, 0.5, -0.5, 0.999_99, -0.999_99, 1e-6];
        let samples = (0..frames * channels)
            .map(|i| {
                if i < edges.len() {
                    edges[i]
                } else {
                    let (f, c) = ((i / channels) as f32, (i % channels) as f32);
                    (0.9 * (f * 0.013 + c * 0.7).sin()) * (1.0 - c * 0.1)
                }
            })
            .collect();
        Clip::from_interleaved(rate, channels, samples).unwrap()
    }

    #[test]
    fn round_trips_give_the_quantised_samples_exactly() {
        for bits in [16, 24] {
            for channels in [1, 2, 6] {
                for rate in [44_100, 48_000, 96_000] {
                    for frames in [0, 1, 4096, 5000] {
                        let clip = test_clip(rate, channels, frames);
                        let back = read(&flac_bytes(&clip, bits)).unwrap();
                        let what =
                            format!("{bits} bits, {channels} ch, {rate} Hz, {frames} frames");
                        assert_eq!(
                            (back.frame_rate(), back.channels(), back.frames()),
                            (rate, channels, frames),
                            "{what}"
                        );
                        let want: Vec<f32> =
                            clip.samples().iter().map(|&s| expected(s, bits)).collect();
                        assert_eq!(back.samples(), &want[..], "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn known_values_and_a_second_trip_change_nothing() {
        let clip = Clip::from_interleaved(48_000, 1, vec![0.5, 1.0, -1.0, 0.3, -0.3, 0.0]).unwrap();
        let back = read(&flac_bytes(&clip, 16)).unwrap();
        assert_eq!(
            back.samples(),
            &[
                0.5,
                32767.0 / 32768.0,
                -1.0,
                9830.0 / 32768.0,
                -9830.0 / 32768.0,
                0.0
            ]
        );
        // Half a step rounds away from zero.
        let half = Clip::from_interleaved(48_000, 2, vec![0.5 / 32768.0, -1.5 / 32768.0]).unwrap();
        assert_eq!(
            read(&flac_bytes(&half, 16)).unwrap().samples(),
            &[1.0 / 32768.0, -2.0 / 32768.0]
        );
        // Quantised samples survive further trips unchanged.
        let again = read(&flac_bytes(&back, 16)).unwrap();
        assert_eq!(again.samples(), back.samples());
        let deep = read(&flac_bytes(&test_clip(44_100, 2, 3000), 24)).unwrap();
        assert_eq!(
            read(&flac_bytes(&deep, 24)).unwrap().samples(),
            deep.samples()
        );
    }

    #[test]
    fn beyond_full_scale_is_clamped() {
        let clip = Clip::from_interleaved(48_000, 1, vec![1.5, -1.5, 2.0, -7.0, 1.0]).unwrap();
        for bits in [16u32, 24] {
            let top = 1.0 - 1.0 / f32::powi(2.0, bits as i32 - 1);
            assert_eq!(
                read(&flac_bytes(&clip, bits)).unwrap().samples(),
                &[top, -1.0, top, -1.0, top],
                "{bits} bits"
            );
        }
    }

    #[test]
    fn rates_above_flacenc_s_96_khz_are_written_in_each_frame_header() {
        for rate in [176_400, 192_000, 384_000, 655_350] {
            let clip = test_clip(rate, 2, 5000);
            let back = read(&flac_bytes(&clip, 24)).unwrap();
            assert_eq!(back.frame_rate(), rate);
            let want: Vec<f32> = clip.samples().iter().map(|&s| expected(s, 24)).collect();
            assert_eq!(back.samples(), &want[..]);
        }
    }

    #[test]
    fn what_flac_cannot_hold_is_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.flac");
        std::fs::write(&target, b"old").unwrap();
        let stereo = test_clip(48_000, 2, 10);
        let err = stereo.write_flac(&target, 20).unwrap_err();
        assert!(matches!(err, Error::FlacBits { bits: 20, .. }));
        assert!(err
            .to_string()
            .ends_with("x.flac: FLAC is written with 16 or 24 bits per sample, not 20"));
        let nine = test_clip(48_000, 9, 10);
        let err = nine.write_flac(&target, 16).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "x.flac: 9 channels do not fit a FLAC file (the rule is 1 to 8 channels)"
            ),
            "{err}"
        );
        let fast = test_clip(700_000, 1, 10);
        let err = fast.write_flac(&target, 24).unwrap_err();
        assert!(
            err.to_string().contains("(the rule is 1 to 655350 Hz)"),
            "{err}"
        );
        for bits in [0, 8, 32] {
            assert!(matches!(
                stereo.write_flac_to(Cursor::new(Vec::new()), bits),
                Err(Error::FlacBits { .. })
            ));
        }
        // The existing file is untouched and nothing is left beside it.
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A successful write replaces it, leaving nothing else behind.
        stereo.write_flac(&target, 16).unwrap();
        assert_eq!(Clip::from_flac(&target).unwrap().frames(), 10);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn garbage_is_not_flac() {
        for bytes in [&b""[..], b"fLa", b"RIFF....WAVEfmt ", &[0xff; 100]] {
            let err = read(bytes).unwrap_err();
            assert_eq!(
                err.to_string(),
                "t.flac: not a FLAC file (it does not start with \"fLaC\")"
            );
        }
        // The marker alone, then garbage instead of metadata.
        let mut bytes = b"fLaC".to_vec();
        bytes.extend_from_slice(&[0x81, 0, 0, 3, 1, 2, 3]);
        assert!(read(&bytes)
            .unwrap_err()
            .to_string()
            .contains("the first metadata block is of type 1"));
        assert!(Clip::from_flac("/nonexistent/amio.flac")
            .unwrap_err()
            .to_string()
            .starts_with("opening /nonexistent/amio.flac: "));
    }

    /// A valid file of two FLAC frames (4096 + 200 frames), 2 channels.
    fn small_file() -> (Clip, Vec<u8>) {
        let clip = test_clip(44_100, 2, 4296);
        let bytes = flac_bytes(&clip, 16);
        (clip, bytes)
    }

    #[test]
    fn every_truncation_is_refused() {
        let (_, bytes) = small_file();
        for len in 0..bytes.len() {
            let err = read(&bytes[..len]).expect_err("a truncated file was read");
            let message = err.to_string();
            assert!(message.starts_with("t.flac: "), "{len}: {message}");
            if len >= 42 {
                assert!(
                    message.contains("truncated") || message.contains("corrupt"),
                    "{len}: {message}"
                );
            }
        }
    }

    #[test]
    fn damaged_bytes_never_decode_to_other_samples() {
        let (clip, bytes) = small_file();
        let want: Vec<f32> = clip.samples().iter().map(|&s| expected(s, 16)).collect();
        let mut refused = 0;
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1 << (i % 8);
            match read(&damaged) {
                Err(e) => {
                    assert!(e.to_string().starts_with("t.flac: "), "{e}");
                    refused += 1;
                }
                // Only bytes that do not describe the audio (STREAMINFO's
                // frame size hints, bytes 12 to 17 of the file) may change
                // without changing it.
                Ok(back) => {
                    assert!((12..18).contains(&i), "byte {i} damaged, file still read");
                    assert_eq!(back.samples(), &want[..], "byte {i}");
                }
            }
        }
        assert!(refused >= bytes.len() - 6);
    }

    /// `bytes` with the frame count in STREAMINFO set to `frames`.
    fn with_frame_count(mut bytes: Vec<u8>, frames: u64) -> Vec<u8> {
        let at = 8 + 10;
        let mut packed = [0u8; 8];
        packed.copy_from_slice(&bytes[at..at + 8]);
        let packed = (u64::from_be_bytes(packed) & !(FRAME_LIMIT - 1)) | frames;
        bytes[at..at + 8].copy_from_slice(&packed.to_be_bytes());
        bytes
    }

    #[test]
    fn a_header_promising_frames_that_are_not_there_is_refused() {
        // STREAMINFO counts frames in 36 bits: 2^36 - 1 is the most a
        // header can claim (2^40 does not fit).
        let most = FRAME_LIMIT - 1;
        let (_, bytes) = small_file();
        let bare = with_frame_count(bytes[..42].to_vec(), most);
        assert_eq!(
            read(&bare).unwrap_err().to_string(),
            "t.flac: truncated: the header gives 68719476735 frames, the file ends after its metadata"
        );
        let err = read(&with_frame_count(bytes.clone(), most)).unwrap_err();
        assert!(
            err.to_string().contains("truncated") && err.to_string().contains("68719476735"),
            "{err}"
        );
        // And one that promises fewer than it has.
        let err = read(&with_frame_count(bytes, 100)).unwrap_err();
        assert!(
            err.to_string()
                .contains("corrupt: more frames than the 100"),
            "{err}"
        );
    }

    #[test]
    fn other_metadata_blocks_are_read_past_and_streaminfo_comes_first() {
        let (clip, bytes) = small_file();
        // STREAMINFO no longer last; a padding block and an unknown block follow.
        let mut with_blocks = bytes[..42].to_vec();
        with_blocks[4] &= 0x7f;
        with_blocks.extend_from_slice(&[0x01, 0, 0, 5, 0, 0, 0, 0, 0]);
        with_blocks.extend_from_slice(&[0x80 | 0x10, 0, 0, 2, 0xab, 0xcd]);
        with_blocks.extend_from_slice(&bytes[42..]);
        let back = read(&with_blocks).unwrap();
        let want: Vec<f32> = clip.samples().iter().map(|&s| expected(s, 16)).collect();
        assert_eq!(back.samples(), &want[..]);
        // A padding block before STREAMINFO breaks the format's rule.
        let mut padding_first = b"fLaC".to_vec();
        padding_first.extend_from_slice(&[0x01, 0, 0, 1, 0]);
        padding_first.extend_from_slice(&bytes[4..]);
        assert!(read(&padding_first)
            .unwrap_err()
            .to_string()
            .contains("(the rule is: STREAMINFO, type 0, comes first)"));
        // Metadata cut short.
        assert!(read(&with_blocks[..45])
            .unwrap_err()
            .to_string()
            .contains("the file ends inside its metadata"));
    }

    #[test]
    fn every_depth_flacenc_writes_is_scaled_to_full_scale() {
        use flacenc::source::MemSource;
        for bits in [8u32, 12, 16, 20, 24] {
            let full = 1i32 << (bits - 1);
            let edges = [-full, 0, full / 2, -(full / 4), full - 1, 1, -1, 3];
            // 64 frames in one block (STREAMINFO's smallest block must be
            // at least 16), the edges first.
            let values: Vec<i32> = (0..128)
                .map(|i| edges[i % 8] - (i / 8) as i32 * (i % 2) as i32)
                .collect();
            let config = flacenc::config::Encoder::default().into_verified().unwrap();
            let source = MemSource::from_samples(&values, 2, bits as usize, 22_050);
            let stream = flacenc::encode_with_fixed_block_size(&config, source, 64).unwrap();
            let mut sink = ByteSink::new();
            stream.write(&mut sink).unwrap();
            let clip = read(sink.as_slice()).unwrap();
            assert_eq!(
                (clip.channels(), clip.frames(), clip.frame_rate()),
                (2, 64, 22_050)
            );
            let want: Vec<f32> = values
                .iter()
                .map(|&v| (f64::from(v) / f64::from(full)) as f32)
                .collect();
            assert_eq!(clip.samples(), &want[..], "{bits} bits");
            assert_eq!(clip.samples()[0], -1.0);
        }
    }

    #[test]
    fn zero_channels_are_refused() {
        // No FLAC header can say 0 channels (it stores channels - 1); the
        // rule is still checked where the clip is made.
        let description = Description {
            rate: 48_000,
            channels: 0,
            bits: 16,
            frames: 0,
        };
        assert_eq!(
            assemble(Path::new("z.flac"), &description, Vec::new())
                .unwrap_err()
                .to_string(),
            "z.flac: 0 channels (the rule is at least 1)"
        );
    }
}
