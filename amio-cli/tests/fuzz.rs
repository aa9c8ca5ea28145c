//! Property-based fuzzing of session files and of the `amio` command:
//! arbitrary bytes, and generated sessions with extreme values, damaged
//! byte by byte, parsed by `amio_cli::session` and rendered by the `amio`
//! program with damaged WAV, AU and FLAC clips. Always a result or an
//! error (one line, `amio: …`, exit status 1), never a panic, never a hang,
//! within bounded memory: the cases run in processes whose address space
//! is limited (RLIMIT_AS).
//!
//! `AMIO_FUZZ_CASES` sets the cases per property (default 200; the program
//! is run for an eighth of them); `scripts/fuzz` runs it long. Each
//! property prints how many cases it tried.
#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use amio_cli::session::{LoadOptions, Session};
use amio_core::Clip;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The address space a fuzzed process may use.
const MEMORY_LIMIT: u64 = 1 << 30;

fn cases() -> u32 {
    std::env::var("AMIO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Limits a child's address space to [`MEMORY_LIMIT`].
fn limit_memory(c: &mut Command) {
    // SAFETY: between fork and exec the closure only calls setrlimit(2),
    // which is async-signal-safe, on the child itself; it touches no memory
    // shared with the parent's threads.
    unsafe {
        c.pre_exec(|| {
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
}

/// Runs `test` in a child process of this test binary with
/// `AMIO_FUZZ_CHILD` set and its memory limited; passes its report on and
/// fails if it failed, panicked or aborted.
fn in_a_limited_child(test: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env("AMIO_FUZZ_CHILD", "1");
    limit_memory(&mut child);
    let out = child.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let show = std::env::var_os("AMIO_FUZZ_SHOW").is_some();
    for line in err.lines().filter(|l| show || l.contains("cases tried")) {
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

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// One of `values`, as JSON text.
fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_string)
}

/// Mostly one of `usual`, sometimes one of `odd`: sessions that load
/// often enough to reach the engine and the writer, with extremes mixed in.
fn mostly(
    usual: &'static [&'static str],
    odd: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop_oneof![6 => one_of(usual), 1 => one_of(odd)]
}

/// Clips a session may name besides the good `tone`.
const ODD_CLIPS: &[&str] = &[
    "\"damaged\": \"damaged.wav\"",
    "\"damaged\": \"damaged.au\"",
    "\"damaged\": \"damaged.flac\"",
    "\"pipe\": \"pipe.wav\"",
    "\"dir\": \".\"",
    "\"up\": \"../tone.wav\"",
    "\"abs\": \"/etc/hostname\"",
    "\"none\": \"\"",
];

const SMALL: &[&str] = &["0", "1", "10", "100", "480", "1000"];

const WHOLE: &[&str] = &[
    "0",
    "1",
    "2",
    "100",
    "-1",
    "1.5",
    "1e3",
    "4800",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "\"3\"",
    "null",
    "true",
    "[]",
];

/// A session's text with values drawn from ordinary and extreme ones;
/// `frames` from `frames` (the program is only run on short ones).
fn session_text(frames: &'static [&'static str]) -> impl Strategy<Value = String> {
    let gains = proptest::collection::vec(
        mostly(
            &["1", "0.5", "-2", "0"],
            &["1e39", "1e-45", "\"x\"", "null"],
        ),
        1..3,
    )
    .prop_map(|g| format!("[{}]", g.join(", ")));
    let entry = (
        mostly(&["\"tone\""], &["\"damaged\"", "\"none\"", "3"]),
        proptest::option::weighted(0.3, (mostly(SMALL, WHOLE), mostly(SMALL, WHOLE))),
        proptest::option::of(mostly(SMALL, WHOLE)),
        proptest::option::of(mostly(&["0", "1000", "700", "2000"], WHOLE)),
        proptest::option::weighted(0.3, gains),
        proptest::option::weighted(0.2, mostly(SMALL, WHOLE)),
        proptest::option::weighted(0.2, mostly(SMALL, WHOLE)),
    )
        .prop_map(|(clip, range, play_at, repeat, gains, fade_in, fade_out)| {
            let mut fields = vec![format!("\"clip\": {clip}")];
            if let Some((a, b)) = range {
                fields.push(format!("\"range\": [{a}, {b}]"));
            }
            for (key, value) in [
                ("play_at", play_at),
                ("repeat", repeat),
                ("gains", gains),
                ("fade_in", fade_in),
                ("fade_out", fade_out),
            ] {
                if let Some(v) = value {
                    fields.push(format!("\"{key}\": {v}"));
                }
            }
            format!("{{ {} }}", fields.join(", "))
        });
    let playspec = proptest::collection::vec(entry, 0..4)
        .prop_map(|e| format!("{{ \"entries\": [{}] }}", e.join(", ")));
    let command = (
        mostly(&["0"], WHOLE),
        prop_oneof![12 => 0..4u8, 1 => Just(4u8)],
        mostly(&["0", "0", "1", "500"], WHOLE),
        proptest::option::weighted(0.1, mostly(SMALL, WHOLE)),
    )
        .prop_map(|(at, kind, value, insert_at)| {
            let what = match kind {
                0 => format!("\"schedule\": {value}"),
                1 => "\"roll\": true".into(),
                2 => "\"roll\": false".into(),
                3 => format!("\"locate\": {value}"),
                _ => format!("\"schedule\": {value}, \"roll\": true"),
            };
            let extra = insert_at
                .map(|v| format!(", \"insert_at\": {v}"))
                .unwrap_or_default();
            format!("{{ \"at\": {at}, {what}{extra} }}")
        });
    (
        mostly(&["48000"], &["0", "1", "768000", "768001", "4294967295", "44100"]),
        mostly(&["1", "2"], &["0", "1024", "1025", "65536", "3"]),
        (
            proptest::bool::weighted(0.95),
            prop_oneof![
                3 => Just(Vec::new()),
                1 => proptest::sample::subsequence(ODD_CLIPS, 0..3),
            ],
        )
            .prop_map(|(tone, odd)| {
                let mut clips: Vec<&str> = odd;
                if tone {
                    clips.insert(0, "\"tone\": \"tone.wav\"");
                }
                clips
            }),
        proptest::collection::vec(playspec, 0..3),
        proptest::collection::vec(command, 0..5),
        proptest::sample::select(frames),
    )
        .prop_map(|(rate, channels, clips, playspecs, commands, frames)| {
            format!(
                "{{ \"frame_rate\": {rate}, \"channels\": {channels}, \"clips\": {{ {} }},\n  \"playspecs\": [{}],\n  \"commands\": [{}], \"frames\": {frames} }}",
                clips.join(", "),
                playspecs.join(", "),
                commands.join(", ")
            )
        })
}

/// A few byte edits, often none.
fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop_oneof![
        1 => Just(Vec::new()),
        1 => proptest::collection::vec(
            (
                any::<usize>(),
                any::<u8>(),
                prop_oneof![9 => 0x20u8..0x7f, 1 => any::<u8>()],
            ),
            1..4
        ),
    ]
}

/// Replaces, inserts or removes a few bytes.
fn damage_text(text: String, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    for &(at, kind, value) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        match kind % 3 {
            0 => bytes[at] = value,
            1 => bytes.insert(at, value),
            _ => {
                bytes.remove(at);
            }
        }
    }
    bytes
}

/// A folder with the clips sessions name: a good one, damaged ones (the
/// damage chosen by `seed`), a named pipe.
fn clip_folder(dir: &Path, seed: u64) {
    let clip = Clip::from_interleaved(
        48_000,
        1,
        (0..500)
            .map(|i| ((i * 13) % 100) as f32 / 50.0 - 1.0)
            .collect(),
    )
    .unwrap();
    clip.write_wav(dir.join("tone.wav")).unwrap();
    let mut wav = std::io::Cursor::new(Vec::new());
    clip.write_wav_to(&mut wav).unwrap();
    let mut flac = std::io::Cursor::new(Vec::new());
    clip.write_flac_to(&mut flac, 24).unwrap();
    let mut au = Vec::new();
    for w in [0x2e73_6e64u32, 24, 4 * 100, 6, 48_000, 1] {
        au.extend_from_slice(&w.to_be_bytes());
    }
    for i in 0..100 {
        au.extend_from_slice(&(i as f32 / 100.0).to_be_bytes());
    }
    let mut state = seed | 1;
    let mut next = || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, mut bytes) in [
        ("damaged.wav", wav.into_inner()),
        ("damaged.flac", flac.into_inner()),
        ("damaged.au", au),
    ] {
        for _ in 0..(next() % 4) {
            let n = bytes.len() as u64;
            if n == 0 {
                break;
            }
            let at = (next() % n) as usize;
            match next() % 3 {
                0 => bytes[at] = next() as u8,
                1 => bytes.truncate(at),
                _ => {
                    let word = [0xff, 0xff, 0xff, 0x7f];
                    for (i, b) in word.iter().enumerate() {
                        if let Some(x) = bytes.get_mut(at + i) {
                            *x = *b;
                        }
                    }
                }
            }
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let pipe = dir.join("pipe.wav");
    if !pipe.exists() {
        let c = std::ffi::CString::new(pipe.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) with a NUL-terminated path that lives across
        // the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
}

static TRIED: AtomicU64 = AtomicU64::new(0);
static LOADED: AtomicU64 = AtomicU64::new(0);

fn report(what: &str) {
    eprintln!(
        "fuzz: {what}: {} cases tried ({} loaded, the others refused)",
        TRIED.load(Ordering::Relaxed),
        LOADED.load(Ordering::Relaxed)
    );
}

/// What a refusal may never look like: serde's words alone.
fn assert_plain(message: &str) {
    for raw in [
        "trailing characters at",
        "expected value at",
        "invalid type:",
        "missing field `",
    ] {
        assert!(!message.contains(raw), "{message}");
    }
}

fn parse(bytes: &[u8], dir: &Path) {
    TRIED.fetch_add(1, Ordering::Relaxed);
    match Session::parse_bytes(bytes, &dir.join("s.json"), &LoadOptions::default()) {
        Ok(_) => {
            LOADED.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            if std::env::var_os("AMIO_FUZZ_SHOW").is_some() {
                eprintln!("refused: {e}");
            }
            assert_plain(&e.to_string())
        }
    }
}

#[test]
fn damaged_sessions_give_a_session_or_an_error() {
    if !is_child() {
        return in_a_limited_child("damaged_sessions_give_a_session_or_an_error");
    }
    let dir = tempfile::tempdir().unwrap();
    clip_folder(dir.path(), 7);
    let strategy = (
        session_text(&[
            "0",
            "100",
            "4800",
            "4800",
            "4800",
            "4611686018427387905",
            "-5",
            "1e400",
        ]),
        edits(),
    );
    runner(cases())
        .run(&strategy, |(text, edits)| {
            parse(&damage_text(text, &edits), dir.path());
            Ok(())
        })
        .unwrap();
    report("damaged sessions");
}

#[test]
fn arbitrary_bytes_as_a_session_give_an_error() {
    if !is_child() {
        return in_a_limited_child("arbitrary_bytes_as_a_session_give_an_error");
    }
    let dir = tempfile::tempdir().unwrap();
    clip_folder(dir.path(), 11);
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "[ \\[\\]{}\":,0-9a-z.\\-eE\n]{0,200}".prop_map(String::into_bytes),
    ];
    runner(cases())
        .run(&strategy, |bytes| {
            parse(&bytes, dir.path());
            Ok(())
        })
        .unwrap();
    report("arbitrary bytes as a session");
}

#[test]
fn the_program_renders_or_refuses_damaged_sessions_and_clips() {
    let program_cases = (cases() / 8).max(8);
    let root = tempfile::tempdir().unwrap();
    let strategy = (
        session_text(&["0", "100", "4800"]),
        edits(),
        any::<u64>(),
        proptest::sample::select(&["1", "7", "256", "65536", "0", "99999999999"][..]),
    );
    let tried = AtomicU64::new(0);
    let rendered = AtomicU64::new(0);
    runner(program_cases)
        .run(&strategy, |(text, edits, seed, block)| {
            let case = tried.fetch_add(1, Ordering::Relaxed);
            let dir = root.path().join(format!("case-{case}"));
            std::fs::create_dir(&dir).unwrap();
            clip_folder(&dir, seed);
            let session = dir.join("s.json");
            std::fs::write(&session, damage_text(text, &edits)).unwrap();
            let out = dir.join("out.wav");
            let mut c = Command::new(env!("CARGO_BIN_EXE_amio"));
            c.args(["render"])
                .arg(&session)
                .arg("-o")
                .arg(&out)
                .args(["--block", block])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            limit_memory(&mut c);
            let mut child = c.spawn().unwrap();
            let started = Instant::now();
            while child.try_wait().unwrap().is_none() {
                if started.elapsed() > Duration::from_secs(60) {
                    let _ = child.kill();
                    panic!("amio render hung on {}", session.display());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let o = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            match o.status.code() {
                Some(0) => {
                    rendered.fetch_add(1, Ordering::Relaxed);
                    Clip::from_wav(&out).unwrap();
                }
                Some(1) => {
                    assert!(err.starts_with("amio: "), "{err}");
                    assert_eq!(err.lines().count(), 1, "{err}");
                    assert_plain(&err);
                    assert!(!out.exists());
                }
                other => panic!("amio render ended with {other:?} ({}): {err}", o.status),
            }
            let left: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(left.is_empty(), "left behind: {left:?}");
            std::fs::remove_dir_all(&dir).unwrap();
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz: the amio program: {} cases tried ({} rendered, the others refused)",
        tried.load(Ordering::Relaxed),
        rendered.load(Ordering::Relaxed)
    );
}
