//! Reading WAV files in bulk.
//!
//! hound reads the header (`RIFF`…`WAVE`, the chunks up to `data`, the
//! `fmt ` chunk), so every check it makes there and every error it gives
//! stay as they are. The samples amio reads itself: the data chunk in
//! blocks of [`BLOCK_BYTES`], each converted by one simple loop the
//! compiler vectorises, to exactly the values hound's sample-by-sample
//! reading gives (integers of `b` bits divided by `2^(b-1)`, floats as
//! they are).
//!
//! The data chunk's size is the header's claim: it is never used for an
//! allocation before it is checked against what is there. A file's length
//! is known before its data is read, so a data chunk that would run past
//! the end is refused at once; from any other reader memory grows with
//! what has been read, block by block, fallibly.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use super::Clip;
use crate::error::{Error, Result};

/// The size of the blocks the data chunk is read in: a multiple of every
/// sample size (1, 2, 3 and 4 bytes), small enough to stay in cache
/// between the read and the conversion.
const BLOCK_BYTES: usize = 96 * 1024;

/// How a WAV file stores its samples, as hound decodes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    /// 8-bit unsigned, 128 is zero.
    U8,
    /// 16-bit signed, little-endian.
    I16,
    /// 24-bit signed in 3 bytes, little-endian.
    I24,
    /// 24-bit signed in the low 3 bytes of 4 (the high byte is ignored).
    I24In32,
    /// 32-bit signed, little-endian.
    I32,
    /// 32-bit IEEE float, little-endian.
    F32,
}

impl Encoding {
    /// The encoding hound reads for a sample format, a container of `bytes`
    /// bytes and `bits` valid bits (`i32` for integers, `f32` for floats),
    /// or the error hound gives when it reads the first sample.
    fn of(
        format: hound::SampleFormat,
        bytes: u64,
        bits: u16,
    ) -> std::result::Result<Encoding, hound::Error> {
        match (format, bytes, bits) {
            (hound::SampleFormat::Int, 1, 8) => Ok(Encoding::U8),
            (hound::SampleFormat::Int, 2, 16) => Ok(Encoding::I16),
            (hound::SampleFormat::Int, 3, 24) => Ok(Encoding::I24),
            (hound::SampleFormat::Int, 4, 24) => Ok(Encoding::I24In32),
            (hound::SampleFormat::Int, 4, 32) => Ok(Encoding::I32),
            (hound::SampleFormat::Float, 4, 32) => Ok(Encoding::F32),
            (_, n, _) if n > 4 => Err(hound::Error::TooWide),
            _ => Err(hound::Error::Unsupported),
        }
    }

    /// Bytes per sample.
    pub(super) fn bytes(self) -> usize {
        match self {
            Encoding::U8 => 1,
            Encoding::I16 => 2,
            Encoding::I24 => 3,
            Encoding::I24In32 | Encoding::I32 | Encoding::F32 => 4,
        }
    }

    /// Appends the samples of `bytes` (whole samples) to `out`.
    pub(super) fn convert(self, bytes: &[u8], out: &mut Vec<f32>) {
        match self {
            Encoding::U8 => ints::<1>(bytes, out, 8, |[b]| i32::from(b) - 128),
            Encoding::I16 => ints::<2>(bytes, out, 16, |b| i32::from(i16::from_le_bytes(b))),
            // The three bytes in the top of an i32, shifted down with the
            // sign.
            Encoding::I24 => ints::<3>(bytes, out, 24, |[a, b, c]| {
                i32::from_le_bytes([0, a, b, c]) >> 8
            }),
            Encoding::I24In32 => ints::<4>(bytes, out, 24, |b| (i32::from_le_bytes(b) << 8) >> 8),
            Encoding::I32 => ints::<4>(bytes, out, 32, i32::from_le_bytes),
            Encoding::F32 => out.extend(bytes.chunks_exact(4).map(|c| {
                let mut b = [0u8; 4];
                b.copy_from_slice(c);
                f32::from_le_bytes(b)
            })),
        }
    }
}

/// Appends integer samples of `N` bytes, decoded by `int` and divided by
/// full scale `2^(bits-1)`, to `out`.
#[inline(always)]
fn ints<const N: usize>(bytes: &[u8], out: &mut Vec<f32>, bits: u32, int: impl Fn([u8; N]) -> i32) {
    // A power of two: multiplying by it is dividing by full scale, exactly.
    let scale = 1.0 / (1u64 << (bits - 1)) as f64;
    out.extend(bytes.chunks_exact(N).map(|c| {
        let mut b = [0u8; N];
        b.copy_from_slice(c);
        (f64::from(int(b)) * scale) as f32
    }));
}

/// A reader that counts the bytes taken from it and keeps the last four:
/// when hound has read a header, it stands at the first byte of the data
/// chunk, and the four bytes before are the chunk's size.
struct Counted<R> {
    inner: R,
    taken: u64,
    last: [u8; 4],
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?.min(buf.len());
        let got = &buf[..n];
        self.taken += n as u64;
        if n >= 4 {
            self.last.copy_from_slice(&got[n - 4..]);
        } else {
            self.last.rotate_left(n);
            self.last[4 - n..].copy_from_slice(got);
        }
        Ok(n)
    }
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes
/// read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Clip {
    /// Reads a WAV file: 8/16/24/32-bit integer or 32-bit float samples
    /// (`WAVE_FORMAT_PCM`, `WAVE_FORMAT_IEEE_FLOAT` or
    /// `WAVE_FORMAT_EXTENSIBLE`), any channel count. Integer samples are
    /// divided by `2^(bits-1)`, so full scale is exactly -1..1.
    ///
    /// RF64 files (EBU Tech 3306, as amio writes audio past 4 GiB) are read
    /// too.
    pub fn from_wav(path: impl AsRef<Path>) -> Result<Clip> {
        let path = path.as_ref();
        let file = super::open_regular(path)?;
        let length = file.metadata().map_err(|source| Error::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
        if super::rf64::is_rf64(&file) {
            let header = super::rf64::header(&file, path, length.len())?;
            let mut reader = BufReader::new(file);
            reader
                .seek(std::io::SeekFrom::Start(header.data_offset))
                .map_err(|source| Error::Io {
                    context: format!("reading {}", path.display()),
                    source,
                })?;
            let there = length.len().saturating_sub(header.data_offset);
            return read_samples(reader, path, &header, Some(there));
        }
        read_wav(BufReader::new(file), path, Some(length.len()))
    }

    /// Reads WAV data from any reader; `name` is used in error messages.
    pub fn from_wav_reader<R: Read>(reader: R, name: &str) -> Result<Clip> {
        read_wav(reader, Path::new(name), None)
    }
}

/// What a WAV header says about the samples after it.
pub(super) struct WavHeader {
    pub(super) frame_rate: u32,
    pub(super) channels: usize,
    /// Samples in the data chunk (all channels).
    pub(super) samples: u64,
    /// Bytes of the data chunk.
    pub(super) data_bytes: u64,
    /// Where the data chunk's first byte is in the file.
    pub(super) data_offset: u64,
    /// How they are stored; `None` when there are none.
    pub(super) encoding: Option<Encoding>,
}

/// Reads a WAV header from `reader` (its first byte the file's), leaving
/// `reader` at the data chunk's first byte; a format amio does not read
/// is refused naming `path`.
fn read_header<R: Read>(reader: &mut Counted<R>, path: &Path) -> Result<WavHeader> {
    let wav_err = |source| Error::Wav {
        path: path.to_owned(),
        source,
    };
    let (spec, samples) = {
        let header = hound::WavReader::new(&mut *reader).map_err(wav_err)?;
        (header.spec(), u64::from(header.len()))
    };
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) | (hound::SampleFormat::Int, 8 | 16 | 24 | 32) => {}
        (format, bits) => {
            return Err(Error::WavFormat {
                path: path.to_owned(),
                bits,
                format: match format {
                    hound::SampleFormat::Float => "float",
                    hound::SampleFormat::Int => "integer",
                },
            })
        }
    }
    let mut header = WavHeader {
        frame_rate: spec.sample_rate,
        channels: usize::from(spec.channels),
        samples,
        data_bytes: 0,
        data_offset: reader.taken,
        encoding: None,
    };
    let data_bytes = u64::from(u32::from_le_bytes(reader.last));
    // hound checked that the data chunk holds whole samples of whole frames.
    if let Some(bytes) = data_bytes.checked_div(samples) {
        header.data_bytes = data_bytes;
        header.encoding =
            Some(Encoding::of(spec.sample_format, bytes, spec.bits_per_sample).map_err(wav_err)?);
    }
    Ok(header)
}

/// The error for a data chunk that the file does not hold: `read` of its
/// `data_bytes` bytes are there.
pub(super) fn truncated(path: &Path, data_bytes: u64, read: u64) -> Error {
    Error::Wav {
        path: path.to_owned(),
        source: hound::Error::IoError(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "truncated: its data chunk gives {data_bytes} bytes of samples, the file holds only {read} of them"
            ),
        )),
    }
}

/// Reads the header of the WAV file `file` (named `path`) and checks that
/// the file holds its whole data chunk: what a clip streamed from it needs.
pub(super) fn stream_header(file: &std::fs::File, path: &Path) -> Result<WavHeader> {
    let length = file
        .metadata()
        .map_err(|source| Error::Io {
            context: format!("reading {}", path.display()),
            source,
        })?
        .len();
    if super::rf64::is_rf64(file) {
        return super::rf64::header(file, path, length);
    }
    let mut input = Counted {
        inner: BufReader::new(file),
        taken: 0,
        last: [0; 4],
    };
    let header = read_header(&mut input, path)?;
    let there = length.saturating_sub(header.data_offset);
    if there < header.data_bytes {
        return Err(truncated(path, header.data_bytes, there));
    }
    Ok(header)
}

/// Reads a WAV file from `reader`, `length` bytes long if that is known.
fn read_wav<R: Read>(reader: R, path: &Path, length: Option<u64>) -> Result<Clip> {
    let mut input = Counted {
        inner: reader,
        taken: 0,
        last: [0; 4],
    };
    let header = read_header(&mut input, path)?;
    let there = length.map(|length| length.saturating_sub(input.taken));
    read_samples(input.inner, path, &header, there)
}

/// Reads the data chunk `header` describes from `reader` (standing at its
/// first byte; `there` bytes follow, if that is known) into a clip.
pub(super) fn read_samples<R: Read>(
    mut reader: R,
    path: &Path,
    header: &WavHeader,
    there: Option<u64>,
) -> Result<Clip> {
    let wav_err = |source| Error::Wav {
        path: path.to_owned(),
        source,
    };
    let (channels, samples, data_bytes) = (header.channels, header.samples, header.data_bytes);
    let Some(encoding) = header.encoding else {
        return Clip::from_interleaved(header.frame_rate, channels, Vec::new());
    };
    let truncated = |read: u64| truncated(path, data_bytes, read);
    let no_room = |have: usize| Error::Argument {
        argument: "a WAV file's samples",
        rule: format!(
            "{}: more than {have} samples do not fit in memory",
            path.display()
        ),
    };
    let mut out: Vec<f32> = Vec::new();
    if let Some(there) = there {
        if there < data_bytes {
            return Err(truncated(there));
        }
        // The claim is backed by the file: room for all of it at once.
        out.try_reserve_exact(samples as usize)
            .map_err(|_| no_room(0))?;
    }
    let block_bytes = (BLOCK_BYTES as u64).min(data_bytes) as usize;
    let mut block = Vec::new();
    block
        .try_reserve_exact(block_bytes)
        .map_err(|_| no_room(0))?;
    block.resize(block_bytes, 0u8);
    let mut left = data_bytes;
    while left > 0 {
        let want = left.min(block_bytes as u64) as usize;
        let got = read_full(&mut reader, &mut block[..want])
            .map_err(|e| wav_err(hound::Error::IoError(e)))?;
        if got < want {
            return Err(truncated(data_bytes - left + got as u64));
        }
        let count = want / encoding.bytes();
        out.try_reserve(count).map_err(|_| no_room(out.len()))?;
        encoding.convert(&block[..want], &mut out);
        left -= want as u64;
    }
    Clip::from_interleaved(header.frame_rate, channels, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// The reference: WAV read as amio read it before it read in bulk,
    /// sample by sample through hound.
    fn hound_reference(bytes: &[u8], path: &Path) -> Result<Clip> {
        let wav_err = |source| Error::Wav {
            path: path.to_owned(),
            source,
        };
        let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(wav_err)?;
        let spec = reader.spec();
        let samples: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, 32) => reader
                .into_samples::<f32>()
                .collect::<std::result::Result<_, _>>()
                .map_err(wav_err)?,
            (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
                let scale = 1.0 / (1u64 << (bits - 1)) as f64;
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(wav_err)?
            }
            (format, bits) => {
                return Err(Error::WavFormat {
                    path: path.to_owned(),
                    bits,
                    format: match format {
                        hound::SampleFormat::Float => "float",
                        hound::SampleFormat::Int => "integer",
                    },
                })
            }
        };
        Clip::from_interleaved(spec.sample_rate, usize::from(spec.channels), samples)
    }

    const PCM: u16 = 1;
    const FLOAT: u16 = 3;
    const EXTENSIBLE: u16 = 0xfffe;
    const PCM_GUID: [u8; 16] = [
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
        0x71,
    ];
    const FLOAT_GUID: [u8; 16] = [
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
        0x71,
    ];

    /// How a test file stores its samples: the format tag, bytes per
    /// sample, bits per sample and, for `WAVE_FORMAT_EXTENSIBLE`, the
    /// valid bits and the subformat.
    #[derive(Clone, Copy, Debug)]
    struct Layout {
        tag: u16,
        bytes: u16,
        bits: u16,
        extensible: Option<(u16, [u8; 16])>,
    }

    /// Every layout amio reads.
    fn layouts() -> Vec<Layout> {
        let plain = |tag, bytes, bits| Layout {
            tag,
            bytes,
            bits,
            extensible: None,
        };
        let ext = |bytes, bits, valid, guid| Layout {
            tag: EXTENSIBLE,
            bytes,
            bits,
            extensible: Some((valid, guid)),
        };
        vec![
            plain(PCM, 1, 8),
            plain(PCM, 2, 16),
            plain(PCM, 3, 24),
            plain(PCM, 4, 32),
            plain(FLOAT, 4, 32),
            ext(1, 8, 8, PCM_GUID),
            ext(2, 16, 16, PCM_GUID),
            ext(3, 24, 24, PCM_GUID),
            ext(4, 32, 24, PCM_GUID),
            ext(4, 32, 32, PCM_GUID),
            ext(4, 32, 0, PCM_GUID),
            ext(4, 32, 32, FLOAT_GUID),
        ]
    }

    /// A WAV file: `RIFF`, an unknown chunk to skip, `fmt `, then `data`
    /// holding `data` (whose size the header gives as `data_len`).
    fn wav(layout: Layout, channels: u16, rate: u32, data: &[u8], data_len: u32) -> Vec<u8> {
        let block_align = layout.bytes * channels;
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&layout.tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&layout.bits.to_le_bytes());
        if let Some((valid, guid)) = layout.extensible {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&valid.to_le_bytes());
            fmt.extend_from_slice(&3u32.to_le_bytes());
            fmt.extend_from_slice(&guid);
        }
        let mut body = b"WAVE".to_vec();
        body.extend_from_slice(b"LIST");
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(b"abc");
        body.extend_from_slice(b"fmt ");
        body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        body.extend_from_slice(&fmt);
        body.extend_from_slice(b"data");
        body.extend_from_slice(&data_len.to_le_bytes());
        body.extend_from_slice(data);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Pseudo-random bytes (xorshift32).
    fn noise(seed: u32, n: usize) -> Vec<u8> {
        let mut s = seed.max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8
            })
            .collect()
    }

    /// Samples for `layout`: any bits for integers, finite values (with
    /// the extremes and values beyond full scale) for floats.
    fn samples_for(layout: Layout, seed: u32, count: usize) -> Vec<u8> {
        let float = layout.tag == FLOAT
            || matches!(layout.extensible, Some((_, guid)) if guid == FLOAT_GUID);
        if !float {
            return noise(seed, count * usize::from(layout.bytes));
        }
        let special = [0.0f32, -0.0, 1.0, -1.0, f32::MAX, f32::MIN, 1e-45, 3.5];
        noise(seed, count * 4)
            .chunks_exact(4)
            .enumerate()
            .flat_map(|(i, b)| {
                let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let x = special.get(i % 64).copied().unwrap_or(v as f32 / 1.5e9);
                x.to_le_bytes()
            })
            .collect()
    }

    /// Reads `bytes` with the reference and with amio, from memory and from
    /// a file, and checks they agree: the same samples, bit for bit, or
    /// the same error (a data chunk cut short is refused by both, in its own
    /// words). Returns whether it was a clip.
    fn agree(bytes: &[u8], dir: &Path, what: &str) -> bool {
        let path = dir.join("t.wav");
        std::fs::write(&path, bytes).unwrap();
        let reference = hound_reference(bytes, &path);
        for (how, got) in [
            (
                "reader",
                Clip::from_wav_reader(Cursor::new(bytes), &path.to_string_lossy()),
            ),
            ("file", Clip::from_wav(&path)),
        ] {
            match (&reference, got) {
                (Ok(want), Ok(got)) => {
                    assert_eq!(
                        (got.frame_rate(), got.channels(), got.frames()),
                        (want.frame_rate(), want.channels(), want.frames()),
                        "{what}, {how}"
                    );
                    let bits = |c: &Clip| c.samples().iter().map(|s| s.to_bits()).collect();
                    let (g, w): (Vec<u32>, Vec<u32>) = (bits(&got), bits(want));
                    assert!(g == w, "{what}, {how}: the samples differ");
                }
                (Err(want), Err(got)) => {
                    let (want, got) = (want.to_string(), got.to_string());
                    if want.ends_with("Failed to read enough bytes.") && got.contains("truncated") {
                        assert!(
                            got.starts_with(&format!(
                                "{}: truncated: its data chunk gives ",
                                path.display()
                            )),
                            "{what}, {how}: {got}"
                        );
                    } else {
                        assert_eq!(got, want, "{what}, {how}");
                    }
                }
                (want, got) => panic!("{what}, {how}: the reference gave {want:?}, amio {got:?}"),
            }
        }
        reference.is_ok()
    }

    #[test]
    fn every_layout_reads_as_hound_reads_it_at_every_size() {
        let dir = tempfile::tempdir().unwrap();
        for (l, layout) in layouts().into_iter().enumerate() {
            for channels in [1u16, 2, 3] {
                let frame = usize::from(layout.bytes * channels);
                // Sizes around the block size and past several blocks.
                let block_frames = BLOCK_BYTES / frame;
                for frames in [
                    0,
                    1,
                    7,
                    block_frames - 1,
                    block_frames,
                    block_frames + 1,
                    3 * block_frames + 5,
                ] {
                    let data = samples_for(
                        layout,
                        (l * 7 + frames) as u32,
                        frames * usize::from(channels),
                    );
                    let bytes = wav(layout, channels, 44_100, &data, data.len() as u32);
                    let what = format!("{layout:?}, {channels} channels, {frames} frames");
                    assert!(agree(&bytes, dir.path(), &what), "{what}: refused");
                }
            }
        }
    }

    #[test]
    fn integer_extremes_scale_as_before() {
        // The smallest, largest, zero and one of every depth, in every
        // container amio reads.
        let dir = tempfile::tempdir().unwrap();
        for layout in layouts() {
            let data: Vec<u8> = match layout.bytes {
                1 => vec![0, 255, 128, 129, 127],
                2 => [i16::MIN, i16::MAX, 0, 1, -1]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                3 => [0x80_0000u32, 0x7f_ffff, 0, 1, 0xff_ffff]
                    .iter()
                    .flat_map(|v| v.to_le_bytes()[..3].to_vec())
                    .collect(),
                _ => [
                    i32::MIN,
                    i32::MAX,
                    0,
                    1,
                    -1,
                    0x0080_0000,
                    0x7f7f_ffff,
                    -0x0080_0001,
                ]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            };
            let bytes = wav(layout, 1, 8_000, &data, data.len() as u32);
            agree(&bytes, dir.path(), &format!("{layout:?}"));
        }
        let full = wav(layouts()[1], 1, 8_000, &i16::MIN.to_le_bytes(), 2);
        let clip = Clip::from_wav_reader(Cursor::new(full), "x.wav").unwrap();
        assert_eq!(clip.samples(), &[-1.0]);
    }

    #[test]
    fn every_cut_and_every_claimed_size_is_read_or_refused_as_hound_does() {
        let dir = tempfile::tempdir().unwrap();
        for layout in layouts() {
            let data = samples_for(layout, 99, 2 * 5);
            let bytes = wav(layout, 2, 48_000, &data, data.len() as u32);
            for cut in 0..=bytes.len() {
                agree(
                    &bytes[..cut],
                    dir.path(),
                    &format!("{layout:?} cut to {cut}"),
                );
            }
            let header = bytes.len() - data.len();
            for claim in [
                0u32,
                1,
                2,
                3,
                4,
                8,
                16,
                20,
                24,
                40,
                0x7fff_fff0,
                0xffff_fff0,
                u32::MAX,
            ] {
                let mut b = bytes.clone();
                b[header - 4..header].copy_from_slice(&claim.to_le_bytes());
                agree(
                    &b,
                    dir.path(),
                    &format!("{layout:?} claiming {claim} bytes"),
                );
            }
        }
    }

    #[test]
    fn damaged_headers_are_read_or_refused_as_hound_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut clips = 0;
        let mut cases = 0;
        for (l, layout) in layouts().into_iter().enumerate() {
            let data = samples_for(layout, 5, 3 * 9);
            let bytes = wav(layout, 3, 22_050, &data, data.len() as u32);
            let header = bytes.len() - data.len();
            for case in 0..150u32 {
                let r = noise(case * 31 + l as u32 + 1, 8);
                let mut b = bytes.clone();
                for pair in r.chunks_exact(2).take(1 + usize::from(r[7] % 3)) {
                    b[usize::from(pair[0]) % header] = pair[1];
                }
                cases += 1;
                if agree(&b, dir.path(), &format!("{layout:?}, damage {r:?}")) {
                    clips += 1;
                }
            }
        }
        // Both outcomes were tried.
        assert!(clips > 0 && clips < cases, "{clips} clips of {cases}");
    }

    #[test]
    fn formats_amio_does_not_read_are_named_or_refused_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let odd = [
            // 64-bit float, 12-bit in 2 bytes, 24 valid bits as float,
            // 16 valid bits in 4 bytes, 8 bytes a sample.
            Layout {
                tag: FLOAT,
                bytes: 8,
                bits: 64,
                extensible: None,
            },
            Layout {
                tag: EXTENSIBLE,
                bytes: 2,
                bits: 16,
                extensible: Some((12, PCM_GUID)),
            },
            Layout {
                tag: EXTENSIBLE,
                bytes: 4,
                bits: 32,
                extensible: Some((24, FLOAT_GUID)),
            },
            Layout {
                tag: EXTENSIBLE,
                bytes: 4,
                bits: 32,
                extensible: Some((16, PCM_GUID)),
            },
            Layout {
                tag: EXTENSIBLE,
                bytes: 8,
                bits: 64,
                extensible: Some((32, PCM_GUID)),
            },
            Layout {
                tag: EXTENSIBLE,
                bytes: 8,
                bits: 64,
                extensible: Some((32, FLOAT_GUID)),
            },
            Layout {
                tag: EXTENSIBLE,
                bytes: 3,
                bits: 24,
                extensible: Some((24, [7; 16])),
            },
        ];
        for layout in odd {
            for frames in [0, 3] {
                let data = noise(3, frames * usize::from(layout.bytes));
                let bytes = wav(layout, 1, 8_000, &data, data.len() as u32);
                let read = agree(&bytes, dir.path(), &format!("{layout:?}, {frames} frames"));
                assert!(!read || frames == 0, "{layout:?} was read");
            }
        }
        let err = Clip::from_wav_reader(Cursor::new(wav(odd[1], 1, 8_000, &[0; 4], 4)), "odd.wav")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "odd.wav: unsupported WAV sample format: 12-bit integer"
        );
    }

    #[test]
    fn a_data_chunk_past_the_end_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.wav");
        let layout = layouts()[4];
        std::fs::write(&path, wav(layout, 2, 48_000, &[0; 16], u32::MAX - 7)).unwrap();
        let err = Clip::from_wav(&path).unwrap_err();
        assert!(matches!(
            &err,
            Error::Wav { source: hound::Error::IoError(e), .. }
                if e.kind() == std::io::ErrorKind::UnexpectedEof
        ));
        assert_eq!(
            err.to_string(),
            format!(
                "{}: truncated: its data chunk gives 4294967288 bytes of samples, the file holds only 16 of them",
                path.display()
            )
        );
        let bytes = wav(layout, 2, 48_000, &[0; 16], u32::MAX - 7);
        let err = Clip::from_wav_reader(Cursor::new(bytes), "mem.wav").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mem.wav: truncated: its data chunk gives 4294967288 bytes of samples, the file holds only 16 of them"
        );
    }

    #[test]
    fn a_sample_that_is_not_finite_is_found_in_any_block() {
        let layout = layouts()[4];
        for at in [0usize, 1, 4095, 4096, 4097, 70_001] {
            let mut samples = vec![0.25f32; 80_000];
            samples[at] = f32::INFINITY;
            let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            let bytes = wav(layout, 2, 48_000, &data, data.len() as u32);
            let err = Clip::from_wav_reader(Cursor::new(bytes), "inf.wav").unwrap_err();
            assert!(
                matches!(err, Error::ClipSampleNotFinite { frame, channel, .. } if frame == at / 2 && channel == at % 2),
                "{at}: {err}"
            );
        }
    }

    #[test]
    fn the_header_reader_keeps_the_last_four_bytes_of_reads_of_any_size() {
        let bytes: Vec<u8> = (0..40).collect();
        for sizes in [
            &[1usize, 1, 1, 1, 1][..],
            &[3, 2, 9],
            &[7],
            &[2, 1],
            &[0, 5, 0, 2],
        ] {
            let mut c = Counted {
                inner: Cursor::new(&bytes),
                taken: 0,
                last: [0; 4],
            };
            let mut total = 0;
            for &n in sizes {
                let mut buf = vec![0; n];
                c.read_exact(&mut buf).unwrap();
                total += n;
            }
            assert_eq!(c.taken, total as u64);
            let want: Vec<u8> = (0..total as u8).rev().take(4).rev().collect();
            assert_eq!(&c.last[4 - want.len()..], &want[..], "{sizes:?}");
        }
    }
}
