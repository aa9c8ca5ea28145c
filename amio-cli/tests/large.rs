//! A session larger than the memory the process may use (issue 16): 16
//! streamed clips of 250 MB each (4 GB of 32-bit float samples) render
//! offline and play paced through `amio` run under `prlimit --as`, an
//! address-space limit of 1 GiB. The clips are sparse files (holes read as
//! zeros, so the test needs no 4 GB of disk) with marker samples written at
//! known frames; the render must hold every marker at its frame, which
//! proves every clip was read all along. Loading the same session into
//! memory under the same limit is refused with a clear error.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::time::Instant;

use amio_testkit::Scratch;

const CLIPS: usize = 16;
/// 250 MB of mono f32 per clip: 16 clips hold 4 GB.
const FRAMES: u64 = 62_500_000;
const HEADER: u64 = 44;
/// The address space `amio` may use: a quarter of the clips' size.
const LIMIT: u64 = 1 << 30;

/// A mono 32-bit float WAV header for `frames` frames at 48 kHz.
fn header(frames: u64) -> Vec<u8> {
    let data = u32::try_from(frames * 4).unwrap();
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&(48_000u32 * 4).to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&32u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    h
}

/// The marker frames of clip `i` and their values: distinct frames for
/// every clip, all along it.
fn markers(i: usize) -> impl Iterator<Item = (u64, f32)> {
    (0..FRAMES / 999_983).map(move |k| {
        let frame = k * 999_983 + i as u64 * 7 + 3;
        (
            frame,
            ((k % 50) as f32 + 1.0) / 64.0 * if i.is_multiple_of(2) { 1.0 } else { -1.0 },
        )
    })
}

/// Peak resident memory of this process's waited-for children, in KiB.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: all-zero bytes are a valid `rusage` (integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed rusage on this stack
    // frame; getrusage only writes it during the call and keeps no
    // reference.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    usage.ru_maxrss
}

fn limited(args: &[&str]) -> std::process::Output {
    let out = Command::new("prlimit")
        .arg(format!("--as={LIMIT}"))
        .arg(env!("CARGO_BIN_EXE_amio"))
        .args(args)
        .env("JACK_NO_START_SERVER", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "prlimit --as={LIMIT} amio {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_session_of_4_gb_of_clips_plays_in_1_gib_of_address_space() {
    let dir = Scratch::new("large-session");
    let mut clips = String::new();
    let mut entries = String::new();
    for i in 0..CLIPS {
        let name = format!("take{i}.wav");
        let mut f = File::create(dir.join(&name)).unwrap();
        f.write_all(&header(FRAMES)).unwrap();
        f.set_len(HEADER + FRAMES * 4).unwrap(); // a hole: zeros
        for (frame, value) in markers(i) {
            f.write_all_at(&value.to_le_bytes(), HEADER + frame * 4)
                .unwrap();
        }
        let sep = if i == 0 { "" } else { ", " };
        clips += &format!(r#"{sep}"t{i}": {{ "file": "{name}", "stream": true }}"#);
        entries += &format!(r#"{sep}{{ "clip": "t{i}", "gains": [1.0] }}"#);
    }
    let total: u64 = (0..CLIPS)
        .map(|i| {
            std::fs::metadata(dir.join(format!("take{i}.wav")))
                .unwrap()
                .len()
        })
        .sum();
    assert!(total >= 4_000_000_000, "{total} bytes of clips");
    let session = dir.join("large.json");
    std::fs::write(
        &session,
        format!(
            r#"{{ "frame_rate": 48000, "channels": 1, "clamp": false,
                 "clips": {{ {clips} }},
                 "playspecs": [ {{ "entries": [ {entries} ] }} ],
                 "commands": [ {{ "at": 0, "schedule": 0 }}, {{ "at": 0, "roll": true }} ],
                 "frames": {FRAMES} }}"#
        ),
    )
    .unwrap();

    // Offline: the whole session, every clip read end to end.
    let out = dir.join("large.out.wav");
    let started = Instant::now();
    let o = limited(&[
        "render",
        session.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let took = started.elapsed();
    let rss = children_peak_rss_kib();
    println!(
        "rendered {total} bytes of streamed clips ({} min of 16 tracks) in {:.1} s under an address-space limit of {LIMIT} bytes; peak RSS {} MiB",
        FRAMES / 48_000 / 60,
        took.as_secs_f64(),
        rss / 1024
    );
    assert!((rss as u64) * 1024 < LIMIT, "peak RSS {rss} KiB");
    let mut wav = hound::WavReader::open(&out).unwrap();
    assert_eq!(u64::from(wav.duration()), FRAMES);
    for i in 0..CLIPS {
        for (frame, value) in markers(i).step_by(7) {
            wav.seek(frame as u32).unwrap();
            let got: f32 = wav.samples::<f32>().next().unwrap().unwrap();
            assert_eq!(got.to_bits(), value.to_bits(), "clip {i}, frame {frame}");
            let next: f32 = wav.samples::<f32>().next().unwrap().unwrap();
            assert_eq!(next, 0.0, "clip {i}, frame {}", frame + 1);
        }
    }
    drop(wav);
    std::fs::remove_file(&out).unwrap();

    // Paced: two seconds in real time from the start, under the same limit.
    let o = limited(&[
        "play",
        session.to_str().unwrap(),
        "--frames",
        "96000",
        "-O",
        "mode=paced",
    ]);
    assert!(o.status.success());

    // The same session with its clips loaded does not fit: refused, named.
    let loaded = dir.join("loaded.json");
    let text = std::fs::read_to_string(&session)
        .unwrap()
        .replace(r#""stream": true"#, r#""stream": false"#);
    std::fs::write(&loaded, text).unwrap();
    let o = limited(&[
        "render",
        loaded.to_str().unwrap(),
        "-o",
        dir.join("never.wav").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("loaded.json: clips.t"), "{err}");
    assert!(!dir.join("never.wav").exists());
}
