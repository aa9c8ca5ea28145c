//! The mixing benchmark W(N, P) of BENCHMARK.md, measured against the plain
//! C loop of `amio-benchref` (clear, multiply-add every entry, clamp; built
//! at `-O3 -march=native -ffp-contract=off`) on the same clip buffers, in
//! the same run.
//!
//! `cargo bench -p amio-core` runs criterion's per-period benches (one
//! period of W(1, 256), W(8, 64) and W(8, 256), amio and the C loop; these
//! take criterion's filters and baselines), then prints a report.
//!
//! **Timing.** The machine is shared, so every run is timed in this
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`: time the core spent on
//! other work is not counted), and the two things compared run alternately
//! in rounds, the order flipping every round, so a change of load, cache
//! contention or clock hits both alike. Each round gives a ratio; the
//! report shows the median and the spread (min–max) of the rounds' ratios.
//! A measurement runs at least `AMIO_BENCH_ROUNDS` rounds (default 7),
//! and cheap ones go on while they have used less than 1.5 s of CPU time,
//! up to four times that, so that their median settles.
//!
//! - **amio ÷ C** for N ∈ {1, 8, 64, 256} × P ∈ {64, 256, 1024}: both mix
//!   the whole 60 s of W(N, P) on the same clips, once each for the
//!   checksum (both checked against BENCHMARK.md's table: the C loop
//!   rounds as amio does, so the sums agree), then in rounds. Printed per
//!   cell: the ratio's median and spread, the median ns per entry-frame of
//!   both, amio's realtime factor and share of the period, and a pass/fail
//!   mark against issue 15's targets (≤ 1.10 for P ≥ 256 at N ≥ 8; ≤ 1.25
//!   for P ≥ 256 at N = 1; ≤ 1.35 for P = 64 at N ≥ 8).
//! - **The memory read floor**: one pass reads a 1 GiB buffer (16 f32
//!   lanes). At least five passes run on their own, and one in every round
//!   of the memory-bound cells (N ≥ 64); the floor is the median in
//!   bytes/ns with its spread. Those cells are also stated as a ratio to
//!   the floor pass of their own round (8 bytes per f32 entry-frame).
//! - **Per-period and per-entry cost** (a, b): amio's time beyond the C
//!   loop's, per period, `excess = (t_amio − t_C) / periods`, is fitted by
//!   least squares as `excess = a + b·N` over N ∈ {1, 2, 4, 8, 16, 32} at
//!   P = 64 and at P = 256. The clips are 2,560 frames (20 kB each, 640 kB
//!   at N = 32: cache-resident, so memory bandwidth does not hide
//!   overhead; a multiple of both periods, so no period is split at a
//!   clip's end and the samples' work is the same in both loops) repeating
//!   for 60 s, with BENCHMARK.md's gains. A round runs every N once (amio
//!   and C in alternating order); a and b are the fit of the median excess
//!   per N, printed with the spread of the rounds' own fits. a is the fixed
//!   cost of a period, b the cost of each sounding entry per period, both
//!   beyond the C loop. The excess with an empty playspec (nothing
//!   sounding) is printed beside them as a direct check on a. Targets: a ≤ 25 ns, b ≤ 5 ns. Any slowness of amio's
//!   samples loop against the C loop's shows in them as a share that grows
//!   with P; the two P values split it out (`a = a₀ + a_f·P`,
//!   `b = b₀ + b_f·P`, printed too).
//! - **Meters**: W(8, 256) with `Metering::EveryPeriod` against
//!   `Metering::Off`, alternating; the median ratio (target ≤ 1.10). The
//!   event queue holds every meter of the run, so none is dropped and
//!   nothing is read while timing.
//! - **Sparse**: 10,000 entries along the timeline of which 8 sound at any
//!   position (slots of 2,304 frames) against W(8, 256)'s 8 entries that
//!   sound throughout, the same memory traffic per frame, alternating; the
//!   median ratio (target ≤ 1.2).
//!
//! The header names the mixing kernel amio runs (`Config::mix_kernel`:
//! auto, or `AMIO_BENCH_KERNEL=baseline|avx2|avx512`, to compare them).
//! A closing list marks every target met or not. `AMIO_BENCH_N=1,8` limits
//! the N values of the table. Criterion's filter applies to its benches
//! only (`cargo bench -p amio-core --bench mix -- report` runs none of
//! them, just the report). Without `--bench` (`cargo test --benches`)
//! only a quick check runs: criterion's benches once and W(1, 256)'s
//! checksums.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use amio_benchref::stats::{median, spread, thread_cpu};
use amio_benchref::workload::{
    clip_i16, expected, gains, Checksum, CLIP_FRAMES, FRAMES, FRAME_RATE,
};
use amio_benchref::PlainMix;
use amio_core::{
    Clip, Config, Engine, Entry, Interface, Metering, MixKernel, Playspec, StreamInfo,
};
use criterion::{BenchmarkId, Criterion, Throughput};

const PERIODS: [usize; 3] = [64, 256, 1024];
const FIT_NS: [usize; 6] = [1, 2, 4, 8, 16, 32];
const FIT_PERIODS: [usize; 2] = [64, 256];
const FIT_CLIP_FRAMES: usize = 2_560;
/// One pass of the memory floor reads this many bytes.
const FLOOR_BYTES: usize = 1 << 30;

/// Clip i of BENCHMARK.md, its first `frames` frames.
fn noise_clip(i: usize, frames: usize) -> Clip {
    Clip::from_i16(FRAME_RATE, 2, &clip_i16(i as u32, frames)).unwrap()
}

fn clips(n: usize, frames: usize) -> Vec<Clip> {
    (0..n).map(|i| noise_clip(i, frames)).collect()
}

/// W(N): entry i plays clip i from 0, repeating every clip length.
fn workload(clips: &[Clip]) -> Playspec {
    let n = clips.len();
    Playspec::new(
        clips
            .iter()
            .enumerate()
            .map(|(i, c)| Entry::new(c.clone(), gains(i, n).to_vec()).repeat(c.frames() as i64))
            .collect(),
    )
    .unwrap()
}

/// The C loop over the same clip buffers and gains.
fn plain<'a>(clips: &'a [Clip], period: usize) -> PlainMix<'a> {
    let n = clips.len();
    let entries: Vec<amio_benchref::Entry<'a>> = clips
        .iter()
        .enumerate()
        .map(|(i, c)| amio_benchref::Entry::new(c.samples(), gains(i, n)).unwrap())
        .collect();
    PlainMix::new(&entries, period).unwrap()
}

/// The mixing kernel amio runs: `AMIO_BENCH_KERNEL` (auto, baseline,
/// avx2, avx512), auto by default.
fn kernel() -> MixKernel {
    std::env::var("AMIO_BENCH_KERNEL")
        .ok()
        .map(|name| {
            MixKernel::from_name(&name)
                .unwrap_or_else(|| panic!("AMIO_BENCH_KERNEL={name}: no such kernel"))
        })
        .unwrap_or_default()
}

/// An engine with `playspec` scheduled at frame 0 and rolling.
fn engine(playspec: &Playspec, period: usize, metering: Metering) -> (Interface, Engine) {
    let info = StreamInfo {
        backend: "bench".into(),
        device: "bench".into(),
        frame_rate: FRAME_RATE,
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
        mix_kernel: kernel(),
        ..Config::default()
    };
    let (mut interface, engine) = Interface::new(&info, &config).unwrap();
    interface.schedule(playspec, 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    (interface, engine)
}

/// The period loop, as a real-time callback runs it.
fn render_all(engine: &mut Engine, period: usize, mut each: impl FnMut(&[f32])) {
    let mut done = 0;
    while done < FRAMES {
        let n = period.min(FRAMES - done);
        each(engine.render(n));
        done += n;
    }
}

/// The CPU time `f` takes on this thread.
fn cpu_time(f: impl FnOnce()) -> Duration {
    let start = thread_cpu();
    f();
    thread_cpu() - start
}

/// One timed amio run of 60 s (engine setup excluded).
fn time_amio(playspec: &Playspec, period: usize, metering: Metering) -> Duration {
    let (_interface, mut e) = engine(playspec, period, metering);
    cpu_time(|| {
        render_all(&mut e, period, |out| {
            black_box(out);
        })
    })
}

/// One timed run of the C loop over 60 s.
fn time_c(mix: &mut PlainMix) -> Duration {
    cpu_time(|| {
        mix.render(0, FRAMES as u64, |out| {
            black_box(out);
        })
    })
}

fn amio_checksum(playspec: &Playspec, period: usize) -> Checksum {
    let (_i, mut e) = engine(playspec, period, Metering::Off);
    let mut sum = Checksum::default();
    render_all(&mut e, period, |out| sum.add(out));
    sum
}

fn c_checksum(mix: &mut PlainMix) -> Checksum {
    let mut sum = Checksum::default();
    mix.render(0, FRAMES as u64, |out| sum.add(out));
    sum
}

/// Checks both loops' checksums of W(n, period) against BENCHMARK.md.
fn check(n: usize, period: usize, playspec: &Playspec, mix: &mut PlainMix) {
    let (a, c) = (amio_checksum(playspec, period), c_checksum(mix));
    println!("W({n}, {period}) checksum: amio {a}; C {c}");
    if let Some(want) = expected(n) {
        assert!(
            a.matches(&want),
            "amio mixed something else: {a}; BENCHMARK.md: {want}"
        );
        assert!(
            c.matches(&want),
            "the C loop mixed something else: {c}; BENCHMARK.md: {want}"
        );
    }
}

/// One run of `a` and one of `b`, `a` first if `a_first`; their times.
fn pair(
    a_first: bool,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    if a_first {
        let ta = a();
        (ta, b())
    } else {
        let tb = b();
        (a(), tb)
    }
}

/// How many rounds: at least `min`, then more while the rounds so far took
/// less than [`BUDGET`] of CPU time, up to `4 * min` (cheap cells get more
/// rounds, so their median settles).
#[derive(Clone, Copy)]
struct Rounds {
    min: usize,
}

/// The CPU time after which a measurement adds no more rounds than its
/// minimum.
const BUDGET: Duration = Duration::from_millis(1500);

impl Rounds {
    fn more(self, done: usize, spent: Duration) -> bool {
        done < self.min || (spent < BUDGET && done < 4 * self.min)
    }
}

/// Runs rounds of `a` and `b` alternating (a first in even rounds) and
/// returns their times.
fn alternate(
    rounds: Rounds,
    mut a: impl FnMut() -> Duration,
    mut b: impl FnMut() -> Duration,
) -> Vec<(Duration, Duration)> {
    let mut times = Vec::new();
    let mut spent = Duration::ZERO;
    while rounds.more(times.len(), spent) {
        let (ta, tb) = pair(times.len() % 2 == 0, &mut a, &mut b);
        spent += ta + tb;
        times.push((ta, tb));
    }
    times
}

fn ratios(times: &[(Duration, Duration)]) -> Vec<f64> {
    times
        .iter()
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect()
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "FAIL"
    }
}

/// Issue 15's target for amio ÷ C at (n, p), if it sets one.
fn target(n: usize, p: usize) -> Option<f64> {
    match (n, p) {
        (1, p) if p >= 256 => Some(1.25),
        (n, p) if n >= 8 && p >= 256 => Some(1.10),
        (n, 64) if n >= 8 => Some(1.35),
        _ => None,
    }
}

/// The memory read floor's buffer and one timed pass over it, in bytes/ns.
struct Floor(Vec<f32>);

impl Floor {
    fn new() -> Floor {
        // Non-zero, so every page is written (no shared zero page).
        Floor(vec![1.0; FLOOR_BYTES / 4])
    }

    fn pass(&self) -> f64 {
        let t = cpu_time(|| {
            let mut acc = [0.0f32; 16];
            for chunk in self.0.chunks_exact(16) {
                for (a, x) in acc.iter_mut().zip(chunk) {
                    *a += x;
                }
            }
            black_box(acc);
        });
        FLOOR_BYTES as f64 / t.as_nanos() as f64
    }
}

fn env_list(name: &str) -> Option<Vec<usize>> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
}

struct Verdict {
    what: String,
    ok: bool,
}

/// The amio ÷ C table; returns the verdicts and amio's N = 256 figures.
fn table(ns: &[usize], rounds: Rounds, floor: &Floor, floors: &mut Vec<f64>) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let mut lines = vec![format!(
        "{:>4} {:>5} {:>6} {:>7} {:>13} {:>10} {:>10} {:>9} {:>7} {:>13} {:>8}",
        "N",
        "P",
        "rounds",
        "amio÷C",
        "min–max",
        "amio ns/ef",
        "C ns/ef",
        "realtime",
        "% of P",
        "amio÷floor",
        "target"
    )];
    for &n in ns {
        let clips = clips(n, CLIP_FRAMES);
        let playspec = workload(&clips);
        for period in PERIODS {
            let mut mix = plain(&clips, period);
            check(n, period, &playspec, &mut mix);
            let memory_bound = n >= 64;
            let mut round_floors = Vec::new();
            let times = alternate(
                rounds,
                || time_amio(&playspec, period, Metering::Off),
                || {
                    let t = time_c(&mut mix);
                    if memory_bound {
                        round_floors.push(floor.pass());
                    }
                    t
                },
            );
            let r = ratios(&times);
            let (med, min, max) = spread(&r);
            let per_ef = |t: Duration| t.as_nanos() as f64 / (n * FRAMES) as f64;
            let amio_ns = median(&times.iter().map(|t| per_ef(t.0)).collect::<Vec<_>>());
            let c_ns = median(&times.iter().map(|t| per_ef(t.1)).collect::<Vec<_>>());
            let amio_s = median(&times.iter().map(|t| t.0.as_secs_f64()).collect::<Vec<_>>());
            let realtime = FRAMES as f64 / f64::from(FRAME_RATE) / amio_s;
            let share =
                amio_s / FRAMES.div_ceil(period) as f64 / (period as f64 / f64::from(FRAME_RATE))
                    * 100.0;
            let vs_floor = if memory_bound {
                let per_round: Vec<f64> = times
                    .iter()
                    .zip(&round_floors)
                    .map(|(t, bw)| per_ef(t.0) / (8.0 / bw))
                    .collect();
                floors.extend(&round_floors);
                format!("{:.2}x", median(&per_round))
            } else {
                String::new()
            };
            let goal = match target(n, period) {
                Some(t) => {
                    let ok = med <= t;
                    verdicts.push(Verdict {
                        what: format!("W({n}, {period}) amio÷C {med:.2} ≤ {t:.2}"),
                        ok,
                    });
                    format!("≤{t:.2} {}", mark(ok))
                }
                None => "—".into(),
            };
            let line = format!(
                "{n:>4} {period:>5} {:>6} {med:>7.2} {:>13} {amio_ns:>10.4} {c_ns:>10.4} {realtime:>8.0}x {share:>6.2}% {vs_floor:>13} {goal:>8}",
                times.len(),
                format!("{min:.2}–{max:.2}")
            );
            println!("{line}");
            lines.push(line);
        }
    }
    println!(
        "\n== amio ÷ plain C loop, W(N, P), median of alternating rounds (at least {}) ==",
        rounds.min
    );
    for l in &lines {
        println!("{l}");
    }
    verdicts
}

/// Least squares y = a + b·x.
fn fit(x: &[f64], y: &[f64]) -> (f64, f64) {
    let k = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / k, y.iter().sum::<f64>() / k);
    let sxy: f64 = x.iter().zip(y).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = x.iter().map(|x| (x - mx) * (x - mx)).sum();
    let b = sxy / sxx;
    (my - b * mx, b)
}

/// The per-period (a) and per-entry (b) cost beyond the C loop.
fn costs(rounds: Rounds) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let mut per_p = Vec::new();
    let all = clips(*FIT_NS.iter().max().unwrap(), FIT_CLIP_FRAMES);
    println!(
        "\n== amio's cost beyond the C loop per period: excess = a + b·N, least squares over N ∈ {FIT_NS:?}, clips of {FIT_CLIP_FRAMES} frames (cache-resident) =="
    );
    for period in FIT_PERIODS {
        let periods = FRAMES.div_ceil(period) as f64;
        let mut cases: Vec<(Playspec, PlainMix)> = FIT_NS
            .iter()
            .map(|&n| (workload(&all[..n]), plain(&all[..n], period)))
            .collect();
        // excess[round][case], ns per period.
        let mut excess: Vec<Vec<f64>> = Vec::new();
        let mut spent = Duration::ZERO;
        while rounds.more(excess.len(), spent) {
            let r = excess.len();
            let mut row = Vec::new();
            for (k, (playspec, mix)) in cases.iter_mut().enumerate() {
                let (ta, tc) = pair(
                    (r + k).is_multiple_of(2),
                    || time_amio(playspec, period, Metering::Off),
                    || time_c(mix),
                );
                spent += ta + tc;
                row.push((ta.as_nanos() as f64 - tc.as_nanos() as f64) / periods);
            }
            excess.push(row);
        }
        let x: Vec<f64> = FIT_NS.iter().map(|&n| n as f64).collect();
        let medians: Vec<f64> = (0..FIT_NS.len())
            .map(|k| median(&excess.iter().map(|row| row[k]).collect::<Vec<_>>()))
            .collect();
        // The fit of the medians; the spread of the rounds' own fits.
        let (a, b) = fit(&x, &medians);
        let fits: Vec<(f64, f64)> = excess.iter().map(|y| fit(&x, y)).collect();
        let (_, a_min, a_max) = spread(&fits.iter().map(|f| f.0).collect::<Vec<_>>());
        let (_, b_min, b_max) = spread(&fits.iter().map(|f| f.1).collect::<Vec<_>>());
        let med_excess: Vec<String> = FIT_NS
            .iter()
            .zip(&medians)
            .map(|(n, m)| format!("N={n}: {m:.0}"))
            .collect();
        // Nothing sounding: the fixed cost alone, as a check on a.
        let empty = workload(&[]);
        let mut empty_c = plain(&[], period);
        let idle = alternate(
            rounds,
            || time_amio(&empty, period, Metering::Off),
            || time_c(&mut empty_c),
        );
        let idle: Vec<f64> = idle
            .iter()
            .map(|(ta, tc)| (ta.as_nanos() as f64 - tc.as_nanos() as f64) / periods)
            .collect();
        println!(
            "P = {period}: {} rounds; median excess ns/period {}; with no entry (empty playspec) {:.0}",
            excess.len(),
            med_excess.join(", "),
            median(&idle)
        );
        per_p.push((period as f64, a, b));
        let (a_ok, b_ok) = (a <= 25.0, b <= 5.0);
        println!(
            "P = {period}: a = {a:.1} ns per period (rounds' fits {a_min:.1}–{a_max:.1}; target ≤ 25: {}), b = {b:.2} ns per entry per period ({b_min:.2}–{b_max:.2}; target ≤ 5: {})",
            mark(a_ok),
            mark(b_ok)
        );
        verdicts.push(Verdict {
            what: format!("P = {period}: a = {a:.1} ns ≤ 25"),
            ok: a_ok,
        });
        verdicts.push(Verdict {
            what: format!("P = {period}: b = {b:.2} ns ≤ 5"),
            ok: b_ok,
        });
    }
    if let [(p0, a0, b0), (p1, a1, b1)] = per_p[..] {
        // a and b as straight lines in P: what stays per period or per
        // entry at any P, and what grows with the frames.
        let (a_frame, b_frame) = ((a1 - a0) / (p1 - p0), (b1 - b0) / (p1 - p0));
        println!(
            "split by P: a = {:.1} ns + {a_frame:.3} ns per frame of the period; b = {:.2} ns + {b_frame:.3} ns per entry-frame (amio's samples loop beyond the C loop's)",
            a0 - a_frame * p0,
            b0 - b_frame * p0
        );
    }
    verdicts
}

/// Meters every period against none, at W(8, 256).
fn meters(rounds: Rounds, clips8: &[Clip]) -> Verdict {
    let playspec = workload(clips8);
    let times = alternate(
        rounds,
        || time_amio(&playspec, 256, Metering::EveryPeriod),
        || time_amio(&playspec, 256, Metering::Off),
    );
    let (med, min, max) = spread(&ratios(&times));
    let ok = med <= 1.10;
    println!(
        "\n== meters: W(8, 256) meters every period ÷ meters off: {med:.3} ({min:.3}–{max:.3}; target ≤ 1.10: {}); {:.4} against {:.4} ns per entry-frame ==",
        mark(ok),
        median(&times.iter().map(|t| t.0.as_nanos() as f64 / (8 * FRAMES) as f64).collect::<Vec<_>>()),
        median(&times.iter().map(|t| t.1.as_nanos() as f64 / (8 * FRAMES) as f64).collect::<Vec<_>>()),
    );
    Verdict {
        what: format!("meters on ÷ off {med:.3} ≤ 1.10"),
        ok,
    }
}

/// 10,000 entries along the timeline, 8 sounding at any position, against
/// 8 entries that sound throughout: the same memory traffic per frame.
fn sparse(rounds: Rounds, clips8: &[Clip]) -> Verdict {
    let dense = workload(clips8);
    let slots = 10_000 / 8;
    let slot = FRAMES / slots; // 2304 frames
    let sparse = Playspec::new(
        (0..10_000)
            .map(|i| {
                let (s, k) = (i / 8, i % 8);
                let from = ((s * slot) % (CLIP_FRAMES - slot)) as u64;
                Entry::new(clips8[k].clone(), gains(k, 8).to_vec())
                    .range(from..from + slot as u64)
                    .play_at((s * slot) as i64)
            })
            .collect(),
    )
    .unwrap();
    let times = alternate(
        rounds,
        || time_amio(&sparse, 256, Metering::Off),
        || time_amio(&dense, 256, Metering::Off),
    );
    let (med, min, max) = spread(&ratios(&times));
    let ok = med <= 1.2;
    println!(
        "\n== sparse: 10,000 entries, 8 sounding ÷ 8 entries, P = 256: {med:.3} ({min:.3}–{max:.3}; target ≤ 1.2: {}) ==",
        mark(ok)
    );
    Verdict {
        what: format!("sparse ÷ dense {med:.3} ≤ 1.2"),
        ok,
    }
}

/// Criterion's benches: one period, amio and the C loop.
fn per_period(c: &mut Criterion) {
    let clips8 = clips(8, CLIP_FRAMES);
    let mut group = c.benchmark_group("period");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (n, period) in [(1, 256), (8, 64), (8, 256)] {
        let set = &clips8[..n];
        let playspec = workload(set);
        group.throughput(Throughput::Elements((n * period) as u64));
        let (_interface, mut e) = engine(&playspec, period, Metering::Off);
        group.bench_function(BenchmarkId::new(format!("amio W({n})"), period), |b| {
            b.iter(|| black_box(e.render(period).as_ptr()))
        });
        let mut mix = plain(set, period);
        let mut at = 0u64;
        group.bench_function(BenchmarkId::new(format!("C W({n})"), period), |b| {
            b.iter(|| {
                mix.render(at, period as u64, |out| {
                    black_box(out);
                });
                at += period as u64;
            })
        });
    }
    group.finish();
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let mut c = Criterion::default().configure_from_args();
    per_period(&mut c);
    c.final_summary();
    if !bench {
        let clips1 = clips(1, CLIP_FRAMES);
        check(1, 256, &workload(&clips1), &mut plain(&clips1, 256));
        return;
    }
    let ns = env_list("AMIO_BENCH_N").unwrap_or_else(|| vec![1, 8, 64, 256]);
    let rounds = Rounds {
        min: env_list("AMIO_BENCH_ROUNDS")
            .and_then(|r| r.first().copied())
            .unwrap_or(7)
            .max(1),
    };
    let started = Instant::now();
    println!("\n== amio mixing benchmark (BENCHMARK.md), at least {} rounds per measurement, CPU time ==", rounds.min);
    let chosen = kernel();
    println!(
        "mixing kernel: {} (AMIO_BENCH_KERNEL={}; this CPU has {})",
        chosen.resolve().map_or("none", MixKernel::name),
        chosen.name(),
        MixKernel::ALL
            .iter()
            .filter(|k| **k != MixKernel::Auto && k.is_available())
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let floor = Floor::new();
    let mut floors: Vec<f64> = (0..rounds.min.max(5)).map(|_| floor.pass()).collect();
    let mut verdicts = table(&ns, rounds, &floor, &mut floors);
    let (bw, bw_min, bw_max) = spread(&floors);
    println!(
        "memory read floor ({} passes over 1 GiB): {bw:.2} bytes/ns ({bw_min:.2}–{bw_max:.2}) = {:.3} ns per f32 entry-frame; amio÷floor above is per round, against that round's pass",
        floors.len(),
        8.0 / bw
    );
    drop(floor);
    verdicts.extend(costs(rounds));
    let clips8 = clips(8, CLIP_FRAMES);
    verdicts.push(meters(rounds, &clips8));
    verdicts.push(sparse(rounds, &clips8));
    let failed = verdicts.iter().filter(|v| !v.ok).count();
    println!(
        "\n== issue 15 targets: {} met, {failed} not ({:.0} s) ==",
        verdicts.len() - failed,
        started.elapsed().as_secs_f64()
    );
    for v in &verdicts {
        println!("{} {}", mark(v.ok), v.what);
    }
}
