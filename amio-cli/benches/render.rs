//! `amio render` end to end on W(8) of BENCHMARK.md, 60 s, beside the time
//! to read its clip files with plain buffered reads.
//!
//! The bench writes the 8 clips of W(8) (480,000 frames each) as 32-bit
//! float stereo WAV files in a temporary folder, and a session (SPEC.md,
//! "Session files") whose entry i plays clip i from 0, repeating every
//! 480,000 frames, with BENCHMARK.md's gains, for 2,880,000 frames. Then, in
//! rounds, it runs the built `amio render` binary on it (a new process:
//! start-up, loading the session and its clips, mixing, writing the
//! 23 MB output) and reads the same 8 files with `std::fs::read`,
//! alternating which goes first, and prints the median wall time of each
//! with its spread, and the render's realtime factor (60 s ÷ its time;
//! issue 15's target: at least 1,000×). The render's CPU time (user and
//! system, from `getrusage(RUSAGE_CHILDREN)`) is printed beside it: on a
//! shared machine it shows what waiting for a core added to the wall time. The files are in the page cache
//! for both (the bench has just written them).
//!
//! Every render's output is checked against BENCHMARK.md's checksum of
//! W(8), so the bench cannot pass by doing nothing.
//!
//! `cargo bench -p amio-cli --bench render`; `AMIO_BENCH_ROUNDS` sets the
//! rounds (default 7). Without `--bench` (`cargo test --benches`) one round
//! runs.
#![allow(missing_docs, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use amio_benchref::workload::{
    clip_i16, expected, gains, Checksum, CHANNELS, CLIP_FRAMES, FRAMES, FRAME_RATE,
};
use amio_core::Clip;

const N: usize = 8;

/// Writes the clips and the session; returns the clip files.
fn write_session(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut clips = String::new();
    let mut entries = String::new();
    let mut files = Vec::new();
    for i in 0..N {
        let name = format!("clip{i}.wav");
        let clip = Clip::from_i16(FRAME_RATE, CHANNELS, &clip_i16(i as u32, CLIP_FRAMES)).unwrap();
        clip.write_wav(dir.join(&name)).unwrap();
        files.push(dir.join(&name));
        // Each gain as the f64 of the f32: it reads back as the same f32.
        let [gl, gr] = gains(i, N).map(f64::from);
        let sep = if i == 0 { "" } else { ",\n    " };
        write!(clips, "{sep}\"c{i}\": \"{name}\"").unwrap();
        write!(
            entries,
            "{sep}{{ \"clip\": \"c{i}\", \"repeat\": {CLIP_FRAMES}, \"gains\": [{gl}, {gr}] }}"
        )
        .unwrap();
    }
    let session = format!(
        r#"{{
  "frame_rate": {FRAME_RATE},
  "channels": {CHANNELS},
  "clamp": true,
  "clips": {{
    {clips}
  }},
  "playspecs": [ {{ "entries": [
    {entries}
  ] }} ],
  "commands": [
    {{ "at": 0, "schedule": 0 }},
    {{ "at": 0, "roll": true }}
  ],
  "frames": {FRAMES}
}}
"#
    );
    std::fs::write(dir.join("session.json"), session).unwrap();
    files
}

/// The CPU time (user and system) of this process's waited-for children.
fn children_cpu() -> Duration {
    // SAFETY: all-zero bytes are a valid `rusage` (integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed rusage on this stack
    // frame; getrusage only writes it during the call and keeps no
    // reference; RUSAGE_CHILDREN reads the process's own accounting.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage failed");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One `amio render` of the session; its wall time and CPU time.
fn render(dir: &Path) -> (Duration, Duration) {
    let out = dir.join("out.wav");
    let _ = std::fs::remove_file(&out);
    let cpu = children_cpu();
    let start = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_amio"))
        .arg("render")
        .arg(dir.join("session.json"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let t = start.elapsed();
    let cpu = children_cpu() - cpu;
    assert!(
        o.status.success(),
        "amio render failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    check_output(&out);
    (t, cpu)
}

/// The render's output must be W(8): its frame count and BENCHMARK.md's
/// checksum.
fn check_output(out: &Path) {
    let clip = Clip::from_wav(out).unwrap();
    assert_eq!(
        (clip.frames(), clip.channels()),
        (FRAMES, CHANNELS),
        "amio render wrote the wrong shape"
    );
    let mut sum = Checksum::default();
    sum.add(clip.samples());
    let want = expected(N).unwrap();
    assert!(
        sum.matches(&want),
        "amio render mixed something else: {sum}; BENCHMARK.md: {want}"
    );
}

/// Reads every clip file whole with `std::fs::read`; the wall time.
fn read_files(files: &[std::path::PathBuf]) -> Duration {
    let start = Instant::now();
    let bytes: usize = files
        .iter()
        .map(|f| std::hint::black_box(std::fs::read(f).unwrap()).len())
        .sum();
    let t = start.elapsed();
    assert!(bytes >= N * CLIP_FRAMES * CHANNELS * 4);
    t
}

fn stats(times: &[Duration]) -> (f64, f64, f64) {
    let s: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
    amio_benchref::stats::spread(&s)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds = if bench {
        std::env::var("AMIO_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.trim().parse().ok())
            .unwrap_or(7usize)
            .max(1)
    } else {
        1
    };
    let dir = tempfile::tempdir().unwrap();
    let files = write_session(dir.path());
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    // A first render checks the output and warms the binary into the
    // page cache; untimed.
    render(dir.path());
    let (mut renders, mut cpus, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let read_first = r % 2 == 1;
        if read_first {
            reads.push(read_files(&files));
        }
        let (t, cpu) = render(dir.path());
        renders.push(t);
        cpus.push(cpu);
        if !read_first {
            reads.push(read_files(&files));
        }
    }
    let (t, t_min, t_max) = stats(&renders);
    let (cpu, cpu_min, cpu_max) = stats(&cpus);
    let (rd, rd_min, rd_max) = stats(&reads);
    let seconds = FRAMES as f64 / f64::from(FRAME_RATE);
    let realtime = seconds / t;
    let ok = realtime >= 1000.0;
    println!("\n== amio render, W(8) of BENCHMARK.md, 60 s, {rounds} rounds (wall time; output checksum checked) ==");
    println!(
        "amio render end to end: {:.1} ms ({:.1}–{:.1}), {realtime:.0}x realtime (target ≥ 1000x: {})",
        t * 1e3,
        t_min * 1e3,
        t_max * 1e3,
        if ok { "pass" } else { "FAIL" }
    );
    println!(
        "  its CPU time (user + system, all threads): {:.1} ms ({:.1}–{:.1}), {:.0}x realtime",
        cpu * 1e3,
        cpu_min * 1e3,
        cpu_max * 1e3,
        seconds / cpu
    );
    println!(
        "std::fs::read of the 8 clip files ({:.1} MB): {:.1} ms ({:.1}–{:.1}), {:.2} bytes/ns; {:.0}% of the render's time",
        total as f64 / 1e6,
        rd * 1e3,
        rd_min * 1e3,
        rd_max * 1e3,
        total as f64 / (rd * 1e9),
        rd / t * 100.0
    );
}
