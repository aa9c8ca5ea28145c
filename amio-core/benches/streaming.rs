//! Issue 16's benchmark: 64 streamed mono tracks at 48 kHz, P = 256.
//!
//! `cargo bench -p amio-core --bench streaming` writes 64 mono 32-bit
//! float WAV files of `AMIO_BENCH_SECONDS` seconds (default 30) and plays a
//! playspec of all of them through the engine, period by period, once with
//! the clips streamed (the interface's reader thread, waited for between
//! periods as an offline render does) and once with the same files loaded
//! into memory, alternating, `AMIO_BENCH_ROUNDS` rounds (default 5). It
//! prints:
//!
//! - the disk throughput the session needs in real time (64 × 48,000 × 4
//!   bytes per second) and the reader's achieved throughput: the files'
//!   bytes over the wall time of a streamed run (reads, waits and mixing);
//!   once with the files in the page cache, and once after dropping it
//!   when this process may (`/proc/sys/vm/drop_caches`, as root);
//! - the audio thread's cost: the thread CPU time of the engine's periods
//!   alone (the waits outside), streamed ÷ in memory, median and spread
//!   of the rounds' ratios.
//!
//! Every streamed run's output is compared with the in-memory run's, bit
//! for bit, and no `DataMissing` may be reported. Without `--bench` (`cargo
//! test --benches`) one short round runs.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amio_benchref::stats::{spread, thread_cpu};
use amio_core::{Clip, Config, Entry, Event, Interface, Playspec, StreamInfo};

const TRACKS: usize = 64;
const RATE: u32 = 48_000;
const PERIOD: usize = 256;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes the tracks: noise, a different seed each.
fn write_tracks(dir: &Path, frames: usize) -> Vec<PathBuf> {
    (0..TRACKS)
        .map(|t| {
            let mut x = (t as u32).wrapping_mul(2_654_435_761) | 1;
            let samples: Vec<f32> = (0..frames)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x as i32 as f32) / 2_147_483_648.0
                })
                .collect();
            let path = dir.join(format!("track{t}.wav"));
            Clip::from_interleaved(RATE, 1, samples)
                .unwrap()
                .write_wav(&path)
                .unwrap();
            path
        })
        .collect()
}

fn playspec(clips: &[Clip]) -> Playspec {
    Playspec::new(
        clips
            .iter()
            .enumerate()
            .map(|(t, c)| {
                let pan = t as f32 / (TRACKS - 1) as f32;
                Entry::new(c.clone(), vec![(1.0 - pan) / 8.0, pan / 8.0])
            })
            .collect(),
    )
    .unwrap()
}

struct Run {
    /// The engine's periods alone, in this thread's CPU time.
    render_cpu: Duration,
    /// The whole run, waits included.
    wall: Duration,
    out: Vec<f32>,
    missing: u64,
}

/// Plays `playspec` for `frames` frames, period by period, waiting for
/// the reader between periods.
fn run(playspec: &Playspec, frames: usize) -> Run {
    let info = StreamInfo {
        backend: "bench".into(),
        device: "bench".into(),
        frame_rate: RATE,
        period: PERIOD,
        max_period: PERIOD,
        in_channels: 0,
        out_channels: 2,
        capture_latency: 0,
        playback_latency: 0,
    };
    let config = Config {
        event_capacity: 2 * frames / PERIOD + 64,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info, &config).unwrap();
    interface.schedule(playspec, 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    let mut out = Vec::with_capacity(frames * 2);
    let mut render_cpu = Duration::ZERO;
    let started = Instant::now();
    let mut done = 0;
    while done < frames {
        let n = PERIOD.min(frames - done);
        interface.wait_for_streams();
        let t = thread_cpu();
        let period = engine.render(n);
        render_cpu += thread_cpu() - t;
        out.extend_from_slice(period);
        done += n;
    }
    let wall = started.elapsed();
    let missing = interface
        .events()
        .iter()
        .map(|e| match e {
            Event::DataMissing { frames, .. } => *frames,
            _ => 0,
        })
        .sum();
    Run {
        render_cpu,
        wall,
        out,
        missing,
    }
}

/// Drops the page cache if this process may; whether it did.
fn drop_page_cache() -> bool {
    // SAFETY: sync takes no arguments and only flushes the kernel's
    // buffers; it cannot fail.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let seconds = if bench {
        env_or("AMIO_BENCH_SECONDS", 30)
    } else {
        1
    };
    let rounds = if bench {
        env_or("AMIO_BENCH_ROUNDS", 5).max(1)
    } else {
        1
    };
    let frames = seconds as usize * RATE as usize;
    let dir = tempfile::tempdir().unwrap();
    let paths = write_tracks(dir.path(), frames);
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    let streamed: Vec<Clip> = paths
        .iter()
        .map(|p| Clip::open_streamed(p).unwrap())
        .collect();
    let loaded: Vec<Clip> = paths.iter().map(|p| Clip::from_wav(p).unwrap()).collect();
    let (on_disk, in_memory) = (playspec(&streamed), playspec(&loaded));
    println!(
        "\n== streamed clips: {TRACKS} mono tracks of {seconds} s at {RATE} Hz ({:.0} MB), P = {PERIOD} ==",
        bytes as f64 / 1e6
    );
    let needed = TRACKS as f64 * f64::from(RATE) * 4.0;
    let mut ratios = Vec::new();
    let mut throughput = Vec::new();
    for round in 0..rounds {
        let (s, m) = if round % 2 == 0 {
            let s = run(&on_disk, frames);
            (s, run(&in_memory, frames))
        } else {
            let m = run(&in_memory, frames);
            (run(&on_disk, frames), m)
        };
        assert_eq!(s.missing, 0, "frames missing in a waited-for run");
        assert!(
            s.out
                .iter()
                .zip(&m.out)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "the streamed output differs from the in-memory output"
        );
        ratios.push(s.render_cpu.as_secs_f64() / m.render_cpu.as_secs_f64());
        throughput.push(bytes as f64 / s.wall.as_secs_f64());
    }
    let (r, r_min, r_max) = spread(&ratios);
    let (t, t_min, t_max) = spread(&throughput);
    println!(
        "disk throughput needed in real time: {:.1} MB/s; achieved by the reader (page cache warm, mixing included): {:.0} MB/s ({:.0}–{:.0}) = {:.0}× what is needed",
        needed / 1e6,
        t / 1e6,
        t_min / 1e6,
        t_max / 1e6,
        t / needed
    );
    if drop_page_cache() {
        let s = run(&on_disk, frames);
        assert_eq!(s.missing, 0);
        let cold = bytes as f64 / s.wall.as_secs_f64();
        println!(
            "achieved from a cold page cache: {:.0} MB/s = {:.0}× what is needed",
            cold / 1e6,
            cold / needed
        );
    } else {
        println!("(the page cache could not be dropped here: no cold-cache figure)");
    }
    println!(
        "audio thread, streamed ÷ in memory (CPU time of the periods alone, {rounds} rounds): {r:.3} ({r_min:.3}–{r_max:.3}); outputs equal bit for bit"
    );
}
