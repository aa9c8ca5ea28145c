//! Reading the header of an RF64 file (EBU Tech 3306): the WAV layout with
//! 64-bit sizes, as amio writes audio past 4 GiB ([`super::WavWriter`]).
//!
//! `RF64` `0xFFFFFFFF` `WAVE`, then chunks: `ds64` first (the RIFF size,
//! the data size and the frame count in 64 bits, and a table this reader
//! does not need), `fmt `, any others, and `data`, whose 32-bit size is
//! `0xFFFFFFFF` (then the `ds64` size holds) or the real size. The samples
//! are read as a WAV file's ([`super::wav_reader`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::wav_reader::{truncated, Encoding, WavHeader};
use crate::error::{Error, Result};

/// Whether `file` starts with the RF64 magic.
pub(super) fn is_rf64(file: &File) -> bool {
    let mut magic = [0u8; 4];
    file.read_exact_at(&mut magic, 0).is_ok() && &magic == b"RF64"
}

/// The header of the RF64 file `file` (`length` bytes, named `path`): a
/// clear error for anything this reader does not take, and for a data
/// chunk the file does not hold.
pub(super) fn header(file: &File, path: &Path, length: u64) -> Result<WavHeader> {
    let bad = |what: &'static str| Error::Wav {
        path: path.to_owned(),
        source: hound::Error::FormatError(what),
    };
    let read = |at: u64, buf: &mut [u8]| {
        file.read_exact_at(buf, at)
            .map_err(|_| bad("an RF64 chunk runs past the end of the file"))
    };
    let mut head = [0u8; 12];
    read(0, &mut head)?;
    if &head[8..12] != b"WAVE" {
        return Err(bad("an RF64 file without WAVE after its size"));
    }
    let (mut at, mut ds64_data, mut format) = (12u64, None, None);
    loop {
        let mut chunk = [0u8; 8];
        read(at, &mut chunk)?;
        let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
        let body = at + 8;
        match &chunk[..4] {
            b"ds64" => {
                if size < 24 {
                    return Err(bad("an RF64 ds64 chunk shorter than 24 bytes"));
                }
                let mut ds64 = [0u8; 24];
                read(body, &mut ds64)?;
                let word = |i: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&ds64[i * 8..i * 8 + 8]);
                    u64::from_le_bytes(b)
                };
                ds64_data = Some(word(1));
            }
            b"fmt " => {
                if size < 16 {
                    return Err(bad("an RF64 fmt chunk shorter than 16 bytes"));
                }
                let mut fmt = vec![0u8; size.min(40) as usize];
                read(body, &mut fmt)?;
                format = Some(fmt);
            }
            b"data" => {
                let Some(fmt) = format else {
                    return Err(bad("an RF64 data chunk before its fmt chunk"));
                };
                let data_bytes = match (size, ds64_data) {
                    (0xFFFF_FFFF, Some(d)) => d,
                    (0xFFFF_FFFF, None) => {
                        return Err(bad("an RF64 data chunk of unknown size (no ds64 chunk)"))
                    }
                    (s, _) => s,
                };
                return shape(path, &fmt, body, data_bytes, length, &bad);
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = body
            .checked_add(size + (size & 1))
            .filter(|&next| next < length)
            .ok_or_else(|| bad("an RF64 file without a data chunk"))?;
    }
}

/// The header for a data chunk of `data_bytes` at `data_offset` with the
/// format chunk `fmt`.
fn shape(
    path: &Path,
    fmt: &[u8],
    data_offset: u64,
    data_bytes: u64,
    length: u64,
    bad: &dyn Fn(&'static str) -> Error,
) -> Result<WavHeader> {
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([fmt[i], fmt[i + 1], fmt[i + 2], fmt[i + 3]]);
    let mut tag = u16_at(0);
    let channels = usize::from(u16_at(2));
    let frame_rate = u32_at(4);
    let block_align = usize::from(u16_at(12));
    let mut bits = u16_at(14);
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: valid bits, then the subformat's tag.
        if fmt.len() < 40 {
            return Err(bad("an RF64 extensible fmt chunk shorter than 40 bytes"));
        }
        bits = u16_at(18);
        tag = u16_at(24);
    }
    if channels == 0 || block_align == 0 || !block_align.is_multiple_of(channels) {
        return Err(bad(
            "an RF64 fmt chunk with no channels or a block size that is not whole samples",
        ));
    }
    let sample_bytes = (block_align / channels) as u64;
    let encoding = match (tag, sample_bytes, bits) {
        (3, 4, 32) => Encoding::F32,
        (1, 1, 8) => Encoding::U8,
        (1, 2, 16) => Encoding::I16,
        (1, 3, 24) => Encoding::I24,
        (1, 4, 24) => Encoding::I24In32,
        (1, 4, 32) => Encoding::I32,
        (3, _, b) | (1, _, b) => {
            return Err(Error::WavFormat {
                path: path.to_owned(),
                bits: b,
                format: if tag == 3 { "float" } else { "integer" },
            })
        }
        _ => {
            return Err(bad(
                "an RF64 file in a format other than integer PCM or IEEE float",
            ))
        }
    };
    let frame_bytes = block_align as u64;
    if !data_bytes.is_multiple_of(frame_bytes) {
        return Err(bad("an RF64 data chunk that is not whole frames"));
    }
    let there = length.saturating_sub(data_offset);
    if there < data_bytes {
        return Err(truncated(path, data_bytes, there));
    }
    let samples = data_bytes / sample_bytes;
    Ok(WavHeader {
        frame_rate,
        channels,
        samples,
        data_bytes,
        data_offset,
        encoding: (samples > 0).then_some(encoding),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Clip, StreamedFile};

    /// The bytes of an RF64 file as amio's writer lays one out (ds64 where
    /// the JUNK chunk was, IEEE float fmt of 18 bytes, fact, data of size
    /// 0xFFFFFFFF), holding `samples` as `channels` channels; `extra` is
    /// put between fact and data (a chunk readers must skip).
    fn rf64(channels: u16, samples: &[f32], extra: &[u8]) -> Vec<u8> {
        let data = (samples.len() * 4) as u64;
        let frames = data / (u64::from(channels) * 4);
        let mut b = Vec::new();
        b.extend_from_slice(b"RF64");
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(b"WAVE");
        b.extend_from_slice(b"ds64");
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&(data + 100).to_le_bytes());
        b.extend_from_slice(&data.to_le_bytes());
        b.extend_from_slice(&frames.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(b"fmt ");
        b.extend_from_slice(&18u32.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&44_100u32.to_le_bytes());
        b.extend_from_slice(&(44_100 * 4 * u32::from(channels)).to_le_bytes());
        b.extend_from_slice(&(4 * channels).to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(b"fact");
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        b.extend_from_slice(extra);
        b.extend_from_slice(b"data");
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        for x in samples {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b
    }

    #[test]
    fn an_rf64_file_reads_as_the_same_samples_loaded_and_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let samples: Vec<f32> = (0..3000).map(|i| (i as f32 * 0.37).sin() * 0.8).collect();
        // An odd-sized chunk before the data (padded to even).
        let extra = [b"LIST".as_slice(), &3u32.to_le_bytes(), b"abc\0"].concat();
        let path = dir.path().join("long.wav");
        std::fs::write(&path, rf64(2, &samples, &extra)).unwrap();
        let loaded = Clip::from_wav(&path).unwrap();
        assert_eq!(
            (loaded.channels(), loaded.frames(), loaded.frame_rate()),
            (2, 1500, 44_100)
        );
        assert_eq!(loaded.samples(), &samples[..]);
        let streamed = StreamedFile::open(&path).unwrap();
        assert_eq!(streamed.frames(), 1500);
        let (mut out, mut bytes) = (Vec::new(), Vec::new());
        streamed.read_into(700, 100, &mut out, &mut bytes).unwrap();
        assert_eq!(out, &samples[1400..1600]);
        // What amio's own writer makes below 4 GiB (RIFF) reads the same.
        let riff = dir.path().join("short.wav");
        loaded.write_wav(&riff).unwrap();
        assert_eq!(Clip::from_wav(&riff).unwrap().samples(), loaded.samples());
    }

    #[test]
    fn damaged_rf64_files_are_refused_naming_the_file_and_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let samples = vec![0.25f32; 400];
        let good = rf64(1, &samples, &[]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() - 8].to_vec(), "truncated"),
            (good[..86].to_vec(), "without a data chunk"),
            (good[..60].to_vec(), "runs past the end"),
            (good[..20].to_vec(), "runs past the end"),
            (
                {
                    let mut b = good.clone();
                    b[8..12].copy_from_slice(b"AVI ");
                    b
                },
                "without WAVE",
            ),
            (
                {
                    // bits 20 in 4-byte float samples
                    let mut b = good.clone();
                    b[70..72].copy_from_slice(&20u16.to_le_bytes());
                    b
                },
                "20",
            ),
        ];
        for (k, (bytes, needle)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("bad{k}.wav"));
            std::fs::write(&path, bytes).unwrap();
            for err in [
                Clip::from_wav(&path).unwrap_err().to_string(),
                StreamedFile::open(&path).unwrap_err().to_string(),
            ] {
                assert!(
                    err.contains(needle) && err.contains(&format!("bad{k}.wav")),
                    "case {k}: {err}"
                );
            }
        }
    }
}
