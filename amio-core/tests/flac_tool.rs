//! amio's FLAC reading and writing checked against an independent
//! implementation: the reference `flac` command-line tool (Debian's `flac`
//! package, which `scripts/test` installs). Files `flac` encodes must read
//! as the integers it was given, divided by 2^(bits-1); files amio writes
//! must decode with `flac -d` to the integers amio's quantisation gives and
//! pass `flac -t` (which checks the MD5 signature). The tests fail, saying
//! so, when `flac` is missing.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use amio_core::Clip;

/// Runs `flac` with `args`; fails the test, saying what to install, when
/// the tool is missing, and with its output when it fails.
fn flac(args: &[&str]) {
    let out = Command::new("flac")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the `flac` command-line tool is needed by this test and could not be run ({e}): \
             install Debian's `flac` package (./scripts/test installs it)"
            )
        });
    assert!(
        out.status.success(),
        "flac {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deterministic pseudo-random integers of `bits` bits, the extremes
/// first, for `frames` frames of `channels` channels.
fn integers(bits: u32, channels: usize, frames: usize, seed: u64) -> Vec<i32> {
    let full = 1i64 << (bits - 1);
    let edges = [-full, full - 1, 0, 1, -1, full / 2, -full / 2];
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..frames * channels)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let v = if i < edges.len() {
                edges[i]
            } else if i % 3 == 0 {
                // A smooth part, which FLAC's predictors compress.
                ((i as f64 * 0.01).sin() * (full as f64 * 0.9)) as i64
            } else {
                ((state >> 11) % (2 * full as u64)) as i64 - full
            };
            v as i32
        })
        .collect()
}

/// A PCM WAV file (WAVE_FORMAT_EXTENSIBLE, so that any bit depth can be
/// said) of `bits`-bit integers in containers of 16, 24 or 32 bits,
/// left-justified as the format wants.
fn write_pcm_wav(path: &Path, rate: u32, channels: usize, bits: u32, samples: &[i32]) {
    let container: u32 = match bits {
        ..=16 => 16,
        17..=24 => 24,
        _ => 32,
    };
    let bytes = (container / 8) as usize;
    let mut data = Vec::with_capacity(samples.len() * bytes);
    for &s in samples {
        let v = (s as i64) << (container - bits);
        data.extend_from_slice(&v.to_le_bytes()[..bytes]);
    }
    let block_align = (channels * bytes) as u16;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&0xfffeu16.to_le_bytes());
    fmt.extend_from_slice(&(channels as u16).to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&(container as u16).to_le_bytes());
    fmt.extend_from_slice(&22u16.to_le_bytes());
    fmt.extend_from_slice(&(bits as u16).to_le_bytes());
    // The usual speakers: FC; FL FR; FL FR FC LFE BL BR.
    let mask: u32 = match channels {
        1 => 0x4,
        2 => 0x3,
        6 => 0x3f,
        _ => 0,
    };
    fmt.extend_from_slice(&mask.to_le_bytes());
    // KSDATAFORMAT_SUBTYPE_PCM
    fmt.extend_from_slice(&[
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
        0x71,
    ]);
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(&fmt);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&data);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    std::fs::write(path, file).unwrap();
}

/// `samples / 2^(bits-1)`, as amio reads integer samples.
fn scaled(samples: &[i32], bits: u32) -> Vec<f32> {
    let full = (1u64 << (bits - 1)) as f64;
    samples
        .iter()
        .map(|&s| (f64::from(s) / full) as f32)
        .collect()
}

#[test]
fn files_flac_encodes_read_as_the_integers_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = 0;
    for bits in [16, 24] {
        for channels in [1, 2, 6] {
            for rate in [44_100, 48_000, 96_000] {
                for frames in [0, 1, 10_000] {
                    case += 1;
                    let wav = dir.path().join(format!("in{case}.wav"));
                    let encoded = dir.path().join(format!("in{case}.flac"));
                    let ints = integers(bits, channels, frames, case);
                    // Levels 0 and 8 use different predictors and stereo modes.
                    let level = if case % 2 == 0 { "-0" } else { "-8" };
                    if frames > 0 {
                        write_pcm_wav(&wav, rate, channels, bits, &ints);
                        flac(&[
                            "-s",
                            "-f",
                            level,
                            wav.to_str().unwrap(),
                            "-o",
                            encoded.to_str().unwrap(),
                        ]);
                    } else {
                        // flac refuses a WAV file without samples; raw
                        // input may be empty.
                        std::fs::write(&wav, b"").unwrap();
                        flac(&[
                            "-s",
                            "-f",
                            level,
                            "--force-raw-format",
                            "--endian=little",
                            "--sign=signed",
                            &format!("--channels={channels}"),
                            &format!("--bps={bits}"),
                            &format!("--sample-rate={rate}"),
                            wav.to_str().unwrap(),
                            "-o",
                            encoded.to_str().unwrap(),
                        ]);
                    }
                    let clip = Clip::from_flac(&encoded).unwrap();
                    let what = format!("{bits} bits, {channels} ch, {rate} Hz, {frames} frames");
                    assert_eq!(
                        (clip.frame_rate(), clip.channels(), clip.frames()),
                        (rate, channels, frames),
                        "{what}"
                    );
                    assert_eq!(clip.samples(), &scaled(&ints, bits)[..], "{what}");
                    // And through the dispatcher, by extension.
                    assert_eq!(Clip::from_file(&encoded).unwrap().samples(), clip.samples());
                }
            }
        }
    }
}

#[test]
fn every_depth_from_4_to_32_bits_reads_to_full_scale() {
    let dir = tempfile::tempdir().unwrap();
    for bits in [4, 5, 8, 12, 16, 17, 20, 24, 28, 32] {
        let wav = dir.path().join(format!("d{bits}.wav"));
        let encoded = dir.path().join(format!("d{bits}.flac"));
        let ints = integers(bits, 2, 6000, u64::from(bits));
        write_pcm_wav(&wav, 48_000, 2, bits, &ints);
        // Depths outside FLAC's streamable subset need --lax.
        flac(&[
            "-s",
            "-f",
            "--lax",
            "--blocksize=1152",
            wav.to_str().unwrap(),
            "-o",
            encoded.to_str().unwrap(),
        ]);
        let clip = Clip::from_flac(&encoded).unwrap();
        assert_eq!(clip.frames(), 6000, "{bits} bits");
        assert_eq!(clip.samples(), &scaled(&ints, bits)[..], "{bits} bits");
        assert_eq!(clip.samples()[0], -1.0, "{bits} bits");
    }
}

/// Reads `flac -d` raw output: little-endian signed integers of `bits`/8
/// bytes.
fn raw_integers(path: &Path, bits: u32) -> Vec<i32> {
    let bytes = (bits / 8) as usize;
    std::fs::read(path)
        .unwrap()
        .chunks_exact(bytes)
        .map(|b| {
            let mut v = [0u8; 4];
            v[4 - bytes..].copy_from_slice(b);
            i32::from_le_bytes(v) >> (32 - bits)
        })
        .collect()
}

/// The integer amio must write for `sample` at `bits`, computed here:
/// nearest, halves away from zero, clamped to the integer range.
fn quantised(sample: f32, bits: u32) -> i32 {
    let full = (1i64 << (bits - 1)) as f64;
    let x = f64::from(sample) * full;
    let nearest = x.signum() * (x.abs() + 0.5).floor();
    nearest.clamp(-full, full - 1.0) as i32
}

#[test]
fn files_amio_writes_decode_with_flac_to_the_quantised_integers() {
    let dir = tempfile::tempdir().unwrap();
    let mut case = 0;
    for bits in [16, 24] {
        for channels in [1, 2, 6] {
            for rate in [44_100, 48_000, 96_000, 192_000] {
                for frames in [0, 1, 5000] {
                    case += 1;
                    // Full scale and beyond (clamped), then a mix of tones
                    // and noise.
                    let mut samples = vec![1.0f32, -1.0, 1.5, -1.5, 0.5, 1e-7];
                    samples.extend(
                        integers(24, channels, frames, case)
                            .iter()
                            .map(|&v| v as f32 / 8_388_608.0 * 1.02),
                    );
                    samples.truncate(frames * channels);
                    let clip = Clip::from_interleaved(rate, channels, samples).unwrap();
                    let encoded = dir.path().join(format!("out{case}.flac"));
                    let raw = dir.path().join(format!("out{case}.raw"));
                    clip.write_flac(&encoded, bits).unwrap();
                    let what = format!("{bits} bits, {channels} ch, {rate} Hz, {frames} frames");
                    // -t decodes and checks the MD5 signature.
                    flac(&["-s", "-t", encoded.to_str().unwrap()]);
                    flac(&[
                        "-s",
                        "-f",
                        "-d",
                        "--force-raw-format",
                        "--endian=little",
                        "--sign=signed",
                        encoded.to_str().unwrap(),
                        "-o",
                        raw.to_str().unwrap(),
                    ]);
                    let want: Vec<i32> =
                        clip.samples().iter().map(|&s| quantised(s, bits)).collect();
                    assert_eq!(raw_integers(&raw, bits), want, "{what}");
                    // The header says what the clip is.
                    let info = Command::new("metaflac")
                        .args([
                            "--show-sample-rate",
                            "--show-channels",
                            "--show-bps",
                            "--show-total-samples",
                        ])
                        .arg(&encoded)
                        .output()
                        .unwrap();
                    assert_eq!(
                        String::from_utf8_lossy(&info.stdout),
                        format!("{rate}\n{channels}\n{bits}\n{frames}\n"),
                        "{what}"
                    );
                }
            }
        }
    }
}

#[test]
fn write_file_makes_24_bit_flac_that_flac_reads() {
    let dir = tempfile::tempdir().unwrap();
    let clip = Clip::sine(48_000, 2, 48_000, 440.0, 0.5).unwrap();
    let encoded = dir.path().join("tone.FLAC");
    let raw = dir.path().join("tone.raw");
    clip.write_file(&encoded).unwrap();
    flac(&[
        "-s",
        "-f",
        "-d",
        "--force-raw-format",
        "--endian=little",
        "--sign=signed",
        encoded.to_str().unwrap(),
        "-o",
        raw.to_str().unwrap(),
    ]);
    let want: Vec<i32> = clip.samples().iter().map(|&s| quantised(s, 24)).collect();
    assert_eq!(raw_integers(&raw, 24), want);
}
