//! The mixing benchmark W(N, P) of BENCHMARK.md, the machine's memory-read
//! floor from the same run, and the sparse-playspec case (10,000 entries of
//! which 8 sound at a time, against 8 entries).
//!
//! `cargo bench -p amio-core` runs it all and prints, after criterion's own
//! figures, a report: checksums (checked against BENCHMARK.md's table), ns
//! per entry-frame, realtime factor, the period share at P = 256, and the
//! ratio to the memory floor. `AMIO_BENCH_N=1,8` limits the N values.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use amio_core::{Clip, Config, Engine, Entry, Interface, Metering, Playspec, StreamInfo};
use criterion::{BenchmarkId, Criterion, Throughput};

const RATE: u32 = 48_000;
const FRAMES: usize = 2_880_000;
const CLIP_FRAMES: usize = 480_000;

/// Clip i of BENCHMARK.md: interleaved stereo i16 xorshift32 white noise.
fn noise_clip(i: u32) -> Clip {
    let mut s: u32 = 0x9E37_79B9 ^ i.wrapping_mul(0x85EB_CA6B).wrapping_add(1);
    if s == 0 {
        s = 1;
    }
    let samples: Vec<i16> = (0..CLIP_FRAMES * 2)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 16) as u16 as i16
        })
        .collect();
    Clip::from_i16(RATE, 2, &samples).unwrap()
}

fn gains(i: usize, n: usize) -> Vec<f32> {
    let root = (n as f64).sqrt();
    vec![
        ((0.5 + 0.05 * (i % 7) as f64) / root) as f32,
        ((0.5 + 0.07 * (i % 5) as f64) / root) as f32,
    ]
}

fn workload(clips: &[Clip]) -> Playspec {
    let n = clips.len();
    Playspec::new(
        clips
            .iter()
            .enumerate()
            .map(|(i, c)| Entry::new(c.clone(), gains(i, n)).repeat(CLIP_FRAMES as i64))
            .collect(),
    )
    .unwrap()
}

/// An engine with `playspec` scheduled at frame 0 and rolling.
fn engine(playspec: &Playspec, period: usize) -> (Interface, Engine) {
    engine_metering(playspec, period, Metering::Off)
}

/// The same with live meters; the event queue holds every meter of the
/// run, so none is dropped and nothing is read while timing.
fn engine_metering(playspec: &Playspec, period: usize, metering: Metering) -> (Interface, Engine) {
    let info = StreamInfo {
        backend: "bench".into(),
        device: "bench".into(),
        frame_rate: RATE,
        period,
        max_period: period,
        in_channels: 0,
        out_channels: 2,
        capture_latency: 0,
        playback_latency: 0,
    };
    let config = Config {
        metering,
        event_capacity: 2 * FRAMES / period + 16,
        ..Config::default()
    };
    let (mut interface, engine) = Interface::new(&info, &config).unwrap();
    interface.schedule(playspec, 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    (interface, engine)
}

/// The timed part: the period loop, as a real-time callback runs it.
fn render_all(engine: &mut Engine, period: usize, mut each: impl FnMut(&[f32])) {
    let mut done = 0;
    while done < FRAMES {
        let n = period.min(FRAMES - done);
        each(engine.render(n));
        done += n;
    }
}

/// Sum of all output samples and the number at exactly ±1.
fn checksum(playspec: &Playspec, period: usize) -> (f64, u64) {
    let (_i, mut e) = engine(playspec, period);
    let (mut sum, mut at_one) = (0.0f64, 0u64);
    render_all(&mut e, period, |out| {
        for &x in out {
            sum += f64::from(x);
            at_one += u64::from(x.abs() == 1.0);
        }
    });
    (sum, at_one)
}

/// BENCHMARK.md's checksum table.
fn expected(n: usize) -> Option<(f64, u64)> {
    match n {
        1 => Some((-142.4388, 0)),
        8 => Some((-3654.4453, 25_086)),
        64 => Some((-2770.9667, 44_418)),
        256 => Some((-2967.0463, 48_684)),
        _ => None,
    }
}

struct Row {
    name: String,
    entries: usize,
    period: usize,
    mean: Duration,
}

static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());
static FLOOR: Mutex<Option<f64>> = Mutex::new(None);

/// Times `iters` runs of the period loop (setup excluded) and records the mean.
fn timed(name: &str, entries: usize, period: usize, playspec: &Playspec, iters: u64) -> Duration {
    timed_metering(name, entries, period, playspec, Metering::Off, iters)
}

/// [`timed`] with live meters.
fn timed_metering(
    name: &str,
    entries: usize,
    period: usize,
    playspec: &Playspec,
    metering: Metering,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (_interface, mut e) = engine_metering(playspec, period, metering);
        let start = Instant::now();
        render_all(&mut e, period, |out| {
            black_box(out);
        });
        total += start.elapsed();
    }
    let mut rows = ROWS.lock().unwrap();
    rows.retain(|r| !(r.name == name && r.period == period));
    rows.push(Row {
        name: name.into(),
        entries,
        period,
        mean: total / iters.max(1) as u32,
    });
    total
}

fn n_values() -> Vec<usize> {
    std::env::var("AMIO_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 8, 64, 256])
}

fn bench_workload(c: &mut Criterion) {
    let mut group = c.benchmark_group("W");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    for n in n_values() {
        let clips: Vec<Clip> = (0..n as u32).map(noise_clip).collect();
        let playspec = workload(&clips);
        group.throughput(Throughput::Elements((n * FRAMES) as u64));
        for period in [64usize, 256, 1024] {
            let (sum, at_one) = checksum(&playspec, period);
            println!("W({n}, {period}) checksum: sum {sum:.4}, samples at ±1: {at_one}");
            if let Some((want_sum, want_one)) = expected(n) {
                assert!(
                    (sum - want_sum).abs() <= 2e-3 && at_one == want_one,
                    "W({n}, {period}) mixed something else: sum {sum}, at ±1 {at_one}; BENCHMARK.md says {want_sum}, {want_one}"
                );
            }
            group.bench_with_input(
                BenchmarkId::new(format!("N={n}"), period),
                &period,
                |b, &p| b.iter_custom(|iters| timed(&format!("W(N={n})"), n, p, &playspec, iters)),
            );
        }
    }
    group.finish();
}

/// 10,000 entries along the timeline, 8 sounding at any position, against 8
/// entries that sound throughout: the same memory traffic per frame.
fn bench_sparse(c: &mut Criterion) {
    let clips: Vec<Clip> = (0..8).map(noise_clip).collect();
    let dense = workload(&clips);
    let slots = 10_000 / 8;
    let slot = FRAMES / slots; // 2304 frames
    let sparse = Playspec::new(
        (0..10_000)
            .map(|i| {
                let (s, k) = (i / 8, i % 8);
                let from = ((s * slot) % (CLIP_FRAMES - slot)) as u64;
                Entry::new(clips[k].clone(), gains(k, 8))
                    .range(from..from + slot as u64)
                    .play_at((s * slot) as i64)
            })
            .collect(),
    )
    .unwrap();
    let mut group = c.benchmark_group("sparse");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements((8 * FRAMES) as u64));
    for (name, playspec) in [
        ("8 entries", &dense),
        ("10000 entries, 8 sounding", &sparse),
    ] {
        group.bench_function(BenchmarkId::new(name, 256), |b| {
            b.iter_custom(|iters| timed(name, 8, 256, playspec, iters))
        });
    }
    group.finish();
}

/// W(8, 256) with live meters every period against none: what metering
/// costs on the audio thread.
fn bench_metering(c: &mut Criterion) {
    let clips: Vec<Clip> = (0..8).map(noise_clip).collect();
    let playspec = workload(&clips);
    let mut group = c.benchmark_group("metering");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements((8 * FRAMES) as u64));
    for (name, metering) in [
        ("W(N=8), meters off", Metering::Off),
        ("W(N=8), meters every period", Metering::EveryPeriod),
    ] {
        group.bench_function(BenchmarkId::new(name, 256), |b| {
            b.iter_custom(|iters| timed_metering(name, 8, 256, &playspec, metering, iters))
        });
    }
    group.finish();
}

/// A plain read of a buffer far larger than cache: the memory floor.
fn bench_floor(c: &mut Criterion) {
    let buf: Vec<f32> = (0..(256usize << 20) / 4).map(|i| (i % 7) as f32).collect(); // 256 MiB
    let mut group = c.benchmark_group("floor");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Bytes((buf.len() * 4) as u64));
    group.bench_function("read 256 MiB", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut acc = [0.0f32; 16];
                for chunk in buf.chunks_exact(16) {
                    for (a, x) in acc.iter_mut().zip(chunk) {
                        *a += x;
                    }
                }
                black_box(acc);
            }
            let elapsed = start.elapsed();
            let bytes_per_ns = (buf.len() * 4) as f64 * iters as f64 / elapsed.as_nanos() as f64;
            *FLOOR.lock().unwrap() = Some(bytes_per_ns);
            elapsed
        })
    });
    group.finish();
}

fn report() {
    let floor = *FLOOR.lock().unwrap();
    println!("\n== amio mixing benchmark (BENCHMARK.md) ==");
    if let Some(bw) = floor {
        println!(
            "memory read floor: {bw:.2} bytes/ns = {:.3} ns per f32 entry-frame (8 bytes)",
            8.0 / bw
        );
    }
    println!(
        "{:<32} {:>5} {:>11} {:>10} {:>12} {:>10}",
        "workload", "P", "ns/entry-fr", "realtime", "P=256 share", "vs floor"
    );
    for r in ROWS.lock().unwrap().iter() {
        let ns = r.mean.as_nanos() as f64 / (r.entries * FRAMES) as f64;
        let realtime = 60.0 / r.mean.as_secs_f64();
        let share = if r.period == 256 {
            let periods = FRAMES.div_ceil(256) as f64;
            format!(
                "{:.3}%",
                r.mean.as_secs_f64() / periods / (256.0 / 48_000.0) * 100.0
            )
        } else {
            String::new()
        };
        let ratio = floor
            .map(|bw| format!("{:.2}x", ns / (8.0 / bw)))
            .unwrap_or_default();
        println!(
            "{:<32} {:>5} {:>11.4} {:>9.1}x {:>12} {:>10}",
            r.name, r.period, ns, realtime, share, ratio
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_floor(&mut c);
    bench_workload(&mut c);
    bench_sparse(&mut c);
    bench_metering(&mut c);
    c.final_summary();
    report();
}
