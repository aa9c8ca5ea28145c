//! Reading AU/SND files with 32-bit float samples, in either byte order, as
//! the original AMIO read Audacity's block files.
//!
//! The header is six 32-bit words: the magic `.snd`, the data offset, the
//! data size in bytes (`0xffffffff`: to the end of the file), the encoding,
//! the frame rate and the channel count; the interleaved samples start at
//! the data offset. Sun's files are big-endian; a file whose magic reads
//! `dns.` has every word and sample little-endian (Audacity wrote its block
//! files in the machine's order). Only encoding 6, 32-bit IEEE float, is
//! read.

use std::io::Read;
use std::path::Path;

use super::Clip;
use crate::error::{Error, Result};

const HEADER_BYTES: usize = 24;
const FLOAT32: u32 = 6;
const UNKNOWN_SIZE: u32 = 0xffff_ffff;

/// The name of AU encoding `e`, for error messages.
fn encoding_name(e: u32) -> &'static str {
    match e {
        1 => "8-bit mu-law",
        2 => "8-bit linear PCM",
        3 => "16-bit linear PCM",
        4 => "24-bit linear PCM",
        5 => "32-bit linear PCM",
        6 => "32-bit IEEE float",
        7 => "64-bit IEEE float",
        23..=26 => "ADPCM",
        27 => "8-bit A-law",
        _ => "unknown",
    }
}

impl Clip {
    /// Reads an AU/SND file of 32-bit float samples, big- or little-endian.
    /// Another encoding, a bad header or a short file is an error that says
    /// which.
    pub fn from_au(path: impl AsRef<Path>) -> Result<Clip> {
        let path = path.as_ref();
        read_au(super::open_regular(path)?, path)
    }

    /// Reads AU/SND data from any reader; `name` is used in error messages.
    pub fn from_au_reader<R: Read>(reader: R, name: &str) -> Result<Clip> {
        read_au(reader, Path::new(name))
    }
}

fn read_au<R: Read>(mut reader: R, path: &Path) -> Result<Clip> {
    let bad = |problem: String| Error::Au {
        path: path.to_owned(),
        problem,
    };
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|source| Error::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    if bytes.len() < HEADER_BYTES {
        return Err(bad(format!(
            "{} bytes are too short for an AU header ({HEADER_BYTES} bytes)",
            bytes.len()
        )));
    }
    let big_endian = match &bytes[..4] {
        b".snd" => true,
        b"dns." => false,
        magic => {
            return Err(bad(format!(
                "not an AU file (magic {magic:02x?}, expected \".snd\" or \"dns.\")"
            )))
        }
    };
    let word = |i: usize| {
        let b = [
            bytes[i * 4],
            bytes[i * 4 + 1],
            bytes[i * 4 + 2],
            bytes[i * 4 + 3],
        ];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let (offset, size, encoding, frame_rate, channels) =
        (word(1), word(2), word(3), word(4), word(5));
    if encoding != FLOAT32 {
        return Err(bad(format!(
            "AU encoding {encoding} ({}) is not read; amio reads encoding {FLOAT32} (32-bit IEEE float)",
            encoding_name(encoding)
        )));
    }
    let offset = offset as usize;
    if offset < HEADER_BYTES || offset > bytes.len() {
        return Err(bad(format!(
            "data offset {offset} is outside the file's {} bytes (the rule is {HEADER_BYTES} <= offset <= file size)",
            bytes.len()
        )));
    }
    let available = bytes.len() - offset;
    let size = if size == UNKNOWN_SIZE {
        available
    } else {
        size as usize
    };
    if size > available {
        return Err(bad(format!(
            "the header gives {size} bytes of data, the file has {available} after the header"
        )));
    }
    let channels = channels as usize;
    if channels == 0 || frame_rate == 0 {
        return Err(bad(format!(
            "{channels} channels at {frame_rate} Hz (the rule is: at least 1 channel, a frame rate above 0)"
        )));
    }
    let frame_bytes = 4 * channels;
    if size % frame_bytes != 0 {
        return Err(bad(format!(
            "{size} bytes of data are not whole frames of {channels} 32-bit float channels"
        )));
    }
    // One loop per byte order, each a plain conversion that vectorises.
    let data = bytes[offset..offset + size].chunks_exact(4).map(|c| {
        let mut b = [0u8; 4];
        b.copy_from_slice(c);
        b
    });
    let samples = if big_endian {
        data.map(f32::from_be_bytes).collect()
    } else {
        data.map(f32::from_le_bytes).collect()
    };
    Clip::from_interleaved(frame_rate, channels, samples).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AU file: header words, `extra` bytes before the data (Audacity
    /// kept its summary there), then the samples, all in one byte order.
    fn au(big: bool, words: [u32; 6], extra: usize, samples: &[f32]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = |v: u32| {
            out.extend_from_slice(&if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            });
        };
        for v in words {
            w(v);
        }
        out.extend(std::iter::repeat_n(0xAA, extra));
        for s in samples {
            out.extend_from_slice(&if big {
                s.to_be_bytes()
            } else {
                s.to_le_bytes()
            });
        }
        out
    }

    const MAGIC: u32 = 0x2e73_6e64; // ".snd" read big-endian

    #[test]
    fn float_files_in_both_byte_orders() {
        let samples = [0.5f32, -0.25, 1.0, -1.0, 0.125, 3.0e-5];
        for big in [true, false] {
            for (extra, size) in [(0, 24), (40, 24), (0, UNKNOWN_SIZE)] {
                let bytes = au(
                    big,
                    [MAGIC, 24 + extra as u32, size, 6, 44_100, 2],
                    extra,
                    &samples,
                );
                let c = Clip::from_au_reader(&bytes[..], "b.au").unwrap();
                assert_eq!((c.frame_rate(), c.channels(), c.frames()), (44_100, 2, 3));
                assert_eq!(c.samples(), samples, "big-endian {big}, extra {extra}");
            }
        }
    }

    #[test]
    fn other_encodings_and_bad_files_are_named() {
        let err = |bytes: Vec<u8>| {
            Clip::from_au_reader(&bytes[..], "x.au")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(au(true, [MAGIC, 24, 4, 3, 8_000, 1], 0, &[0.0])),
            "x.au: AU encoding 3 (16-bit linear PCM) is not read; amio reads encoding 6 (32-bit IEEE float)"
        );
        assert!(err(au(false, [MAGIC, 24, 4, 1, 8_000, 1], 0, &[0.0]))
            .contains("encoding 1 (8-bit mu-law)"));
        assert_eq!(
            err(b"RIFF0000WAVEfmt 00000000".to_vec()),
            "x.au: not an AU file (magic [52, 49, 46, 46], expected \".snd\" or \"dns.\")"
        );
        assert!(err(vec![b'.', b's', b'n', b'd']).contains("too short"));
        assert_eq!(
            err(au(true, [MAGIC, 24, 16, 6, 8_000, 1], 0, &[0.0])),
            "x.au: the header gives 16 bytes of data, the file has 4 after the header"
        );
        assert!(err(au(true, [MAGIC, 24, 12, 6, 8_000, 2], 0, &[0.0; 3]))
            .contains("not whole frames of 2"));
        assert!(err(au(true, [MAGIC, 99, 4, 6, 8_000, 1], 0, &[0.0])).contains("data offset 99"));
        assert!(err(au(true, [MAGIC, 24, 4, 6, 8_000, 0], 0, &[0.0])).contains("0 channels"));
        assert!(err(au(true, [MAGIC, 24, 4, 6, 8_000, 1], 0, &[f32::NAN]))
            .contains("frame 0, channel 0 is not finite"));
        assert!(Clip::from_au("/nonexistent/amio.au")
            .unwrap_err()
            .to_string()
            .starts_with("opening /nonexistent/amio.au"));
    }
}
