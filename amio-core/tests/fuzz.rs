//! Property-based fuzzing of amio's audio file readers: arbitrary bytes and
//! valid files with damage (bytes changed, header fields set to extremes,
//! cut short, parts repeated) read as WAV, AU and FLAC, from memory and from
//! files of any name. Every read ends in a clip or an error, never a panic,
//! and within bounded memory: the cases run in a child process whose
//! address space is limited (RLIMIT_AS), where an allocation sized by a
//! header's promise would abort it.
//!
//! `AMIO_FUZZ_CASES` sets the cases per property (default 200, seconds in
//! CI); `scripts/fuzz` runs it long. Each property prints how many cases
//! it tried.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicU64, Ordering};

use amio_core::Clip;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The address space a child may use.
const MEMORY_LIMIT: u64 = 1 << 30;

fn cases() -> u32 {
    std::env::var("AMIO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Runs `test` in a child process of this test binary with
/// `AMIO_FUZZ_CHILD` set, its address space limited to [`MEMORY_LIMIT`];
/// passes its report on and fails if it failed, panicked or aborted.
fn in_a_limited_child(test: &str) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env("AMIO_FUZZ_CHILD", "1");
    // SAFETY: between fork and exec the closure only calls setrlimit(2),
    // which is async-signal-safe, on the child itself; it touches no memory
    // shared with the parent's threads.
    unsafe {
        child.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = child.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    for line in err.lines().filter(|l| l.contains("cases tried")) {
        eprintln!("{line}");
    }
    assert!(
        out.status.success(),
        "the fuzzing child failed ({}):\n{err}",
        out.status
    );
}

fn is_child() -> bool {
    std::env::var_os("AMIO_FUZZ_CHILD").is_some()
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// A small valid file of each format.
fn valid_files() -> Vec<(&'static str, Vec<u8>)> {
    let clip = Clip::from_interleaved(
        44_100,
        2,
        (0..400)
            .map(|i| ((i * 37) % 200) as f32 / 100.0 - 1.0)
            .collect(),
    )
    .unwrap();
    let mut wav = Cursor::new(Vec::new());
    clip.write_wav_to(&mut wav).unwrap();
    let mut wav16 = Cursor::new(Vec::new());
    {
        let spec = hound::WavSpec {
            channels: 3,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut wav16, spec).unwrap();
        for i in 0..300 {
            w.write_sample((i * 997 % 65_536 - 32_768) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    // 8- and 24-bit integers (24 bits in a 4-byte container, as
    // WAVE_FORMAT_EXTENSIBLE holds them), read in bulk like the others.
    let mut wav_int = Vec::new();
    for (bits, bytes) in [(8u16, 1u16), (24, 4)] {
        let mut out = Cursor::new(Vec::new());
        let spec = hound::WavSpecEx {
            spec: hound::WavSpec {
                channels: 2,
                sample_rate: 22_050,
                bits_per_sample: bits,
                sample_format: hound::SampleFormat::Int,
            },
            bytes_per_sample: bytes,
        };
        let mut w = hound::WavWriter::new_with_spec_ex(&mut out, spec).unwrap();
        let full = 1i32 << (bits - 1);
        for i in 0..200 {
            w.write_sample(i * 7919 % (2 * full) - full).unwrap();
        }
        w.finalize().unwrap();
        wav_int.push(("wav", out.into_inner()));
    }
    let mut flac = Cursor::new(Vec::new());
    clip.write_flac_to(&mut flac, 16).unwrap();
    let mut au = Vec::new();
    for w in [0x2e73_6e64u32, 24, 4 * 40, 6, 48_000, 2] {
        au.extend_from_slice(&w.to_be_bytes());
    }
    for i in 0..40 {
        au.extend_from_slice(&(i as f32 / 40.0).to_be_bytes());
    }
    let mut files = vec![
        ("wav", wav.into_inner()),
        ("wav", wav16.into_inner()),
        ("flac", flac.into_inner()),
        ("au", au),
    ];
    files.extend(wav_int);
    files
}

/// One way of damaging a file.
#[derive(Clone, Debug)]
enum Damage {
    /// Byte `at` (modulo the length) becomes `value`.
    Byte { at: usize, value: u8 },
    /// The 32-bit little- or big-endian word at `at` becomes `value`.
    Word { at: usize, value: u32, big: bool },
    /// The file is cut to `at` bytes.
    Cut { at: usize },
    /// Bytes `at..at + len` are repeated in place.
    Repeat { at: usize, len: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    let extreme = prop_oneof![
        Just(0u32),
        Just(1u32),
        Just(0xffff_ffff),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(0xffff),
        Just(0x1_0000),
        any::<u32>(),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Damage::Byte { at, value }),
        (0usize..96, extreme, any::<bool>()).prop_map(|(at, value, big)| Damage::Word {
            at,
            value,
            big
        }),
        any::<usize>().prop_map(|at| Damage::Cut { at }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Damage::Repeat { at, len }),
    ]
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if bytes.is_empty() {
            break;
        }
        let n = bytes.len();
        match *d {
            Damage::Byte { at, value } => bytes[at % n] = value,
            Damage::Word { at, value, big } => {
                let at = at % n;
                let word = if big {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                for (i, b) in word.iter().enumerate() {
                    if let Some(x) = bytes.get_mut(at + i) {
                        *x = *b;
                    }
                }
            }
            Damage::Cut { at } => bytes.truncate(at % (n + 1)),
            Damage::Repeat { at, len } => {
                let at = at % n;
                let end = (at + len).min(n);
                let part = bytes[at..end].to_vec();
                bytes.splice(at..at, part);
            }
        }
    }
    bytes
}

/// Reads `bytes` with every reader; each must return.
fn read_all_ways(bytes: &[u8]) {
    count(Clip::from_wav_reader(Cursor::new(bytes), "fuzz.wav"));
    count(Clip::from_au_reader(Cursor::new(bytes), "fuzz.au"));
    count(Clip::from_flac_reader(
        Cursor::new(bytes.to_vec()),
        "fuzz.flac",
    ));
}

/// Cases tried.
static TRIED: AtomicU64 = AtomicU64::new(0);
/// Reads that gave a clip (the rest gave an error).
static CLIPS: AtomicU64 = AtomicU64::new(0);

fn count(result: amio_core::Result<Clip>) {
    if result.is_ok() {
        CLIPS.fetch_add(1, Ordering::Relaxed);
    }
}

fn report(what: &str) {
    eprintln!(
        "fuzz: {what}: {} cases tried ({} reads gave a clip, the others an error)",
        TRIED.load(Ordering::Relaxed),
        CLIPS.load(Ordering::Relaxed)
    );
}

#[test]
fn damaged_audio_files_give_a_clip_or_an_error() {
    if !is_child() {
        return in_a_limited_child("damaged_audio_files_give_a_clip_or_an_error");
    }
    let files = valid_files();
    let mut runner = runner();
    let strategy = (0..files.len(), proptest::collection::vec(damage(), 1..6));
    runner
        .run(&strategy, |(which, damage)| {
            TRIED.fetch_add(1, Ordering::Relaxed);
            let (_, bytes) = &files[which];
            read_all_ways(&apply(bytes.clone(), &damage));
            Ok(())
        })
        .unwrap();
    report("damaged audio files");
}

#[test]
fn arbitrary_bytes_give_a_clip_or_an_error() {
    if !is_child() {
        return in_a_limited_child("arbitrary_bytes_give_a_clip_or_an_error");
    }
    let mut runner = runner();
    let prefixes = prop_oneof![
        Just(Vec::new()),
        Just(b"RIFF\xff\xff\xff\xffWAVEfmt ".to_vec()),
        Just(b"fLaC".to_vec()),
        Just(b".snd".to_vec()),
        Just(b"dns.".to_vec()),
    ];
    let strategy = (prefixes, proptest::collection::vec(any::<u8>(), 0..2048));
    runner
        .run(&strategy, |(prefix, rest)| {
            TRIED.fetch_add(1, Ordering::Relaxed);
            let mut bytes = prefix;
            bytes.extend(rest);
            read_all_ways(&bytes);
            Ok(())
        })
        .unwrap();
    report("arbitrary bytes");
}

#[test]
fn damaged_files_on_disk_give_a_clip_or_an_error() {
    if !is_child() {
        return in_a_limited_child("damaged_files_on_disk_give_a_clip_or_an_error");
    }
    let dir = tempfile::tempdir().unwrap();
    let files = valid_files();
    let mut runner = runner();
    let names = prop_oneof![
        Just("x.wav"),
        Just("x.WAVE"),
        Just("x.flac"),
        Just("x.au"),
        Just("x.snd"),
        Just("x.bin"),
        Just("x"),
    ];
    let strategy = (
        0..files.len(),
        names,
        proptest::collection::vec(damage(), 0..4),
    );
    runner
        .run(&strategy, |(which, name, damage)| {
            TRIED.fetch_add(1, Ordering::Relaxed);
            let path = dir.path().join(name);
            std::fs::write(&path, apply(files[which].1.clone(), &damage)).unwrap();
            count(Clip::from_file(&path));
            Ok(())
        })
        .unwrap();
    report("damaged files on disk");
}
