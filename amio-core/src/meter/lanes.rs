//! The meters' running sums: a window's peak and sum of squares per
//! channel, in an order fixed by the frames alone so that it vectorises and
//! gives the same bits however the window is split into periods.
//!
//! Each channel has [`LANES`] partial sums ("lanes"); frame `f` of a window
//! (counted from the window's first frame) adds its square to lane
//! `f mod LANES` of its channel, and the lanes are folded in a fixed tree
//! when the window ends: `((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))`. Interleaved
//! samples map onto the lanes flatly: sample `k` of the window goes to lane
//! slot `k mod (LANES·channels)`, so whole cycles of `LANES` frames are one
//! contiguous `sum[i] += x[i]²` over the slots, which the compiler
//! vectorises. A piece that starts or ends mid-cycle adds its head and tail
//! to the same slots one by one. Squares are taken in f64 (the square of an
//! f32 is exact there) and added without fused multiply-add, on every path.
//!
//! A channel's lanes depend only on its own samples and the frame index, so
//! its levels do not depend on how many channels are metered beside it.

use crate::error::Result;
use crate::meter::Accum;

/// Partial sums per channel.
pub(crate) const LANES: usize = 8;

/// The running sums of one stream side (or a clip): `LANES` slots per
/// channel, interleaved as the samples are. Real-time safe once made.
#[derive(Clone, Debug)]
pub(crate) struct Lanes {
    channels: usize,
    /// The slot of the window's next sample: samples added since the
    /// window began, mod the number of slots.
    at: usize,
    /// Sum of squares per slot.
    squares: Box<[f64]>,
    /// Largest |sample| per slot (NaN samples are skipped, so never NaN).
    peaks: Box<[f32]>,
    /// The vector path this machine takes.
    path: Path,
}

/// The instruction set [`Lanes::add`] uses: the same operations in the
/// same order, so the same bits, on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The baseline target (SSE2 on x86-64), vectorised by the compiler.
    Portable,
    /// The same loop compiled for AVX2 (no FMA), chosen at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// The same loop compiled for AVX-512F: 8 f64 sums per vector. (The
    /// compiler never fuses a multiply and an add without being told, so
    /// the bits are those of the other paths.)
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Path {
    /// The widest path this CPU runs.
    pub(crate) fn best() -> Path {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Path::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Path::Avx2;
        }
        Path::Portable
    }

    /// Every path this CPU runs.
    #[cfg(test)]
    pub(crate) fn all() -> Vec<Path> {
        let mut paths = vec![Path::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                paths.push(Path::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                paths.push(Path::Avx512);
            }
        }
        paths
    }
}

impl Lanes {
    /// Empty sums for `channels` channels, on the best path; an error if
    /// they do not fit in memory.
    pub(crate) fn new(channels: usize) -> Result<Lanes> {
        let slots = channels.checked_mul(LANES);
        Ok(Lanes {
            channels,
            at: 0,
            squares: crate::limits::filled(slots, 0.0, "meter sums")?.into_boxed_slice(),
            peaks: crate::limits::filled(slots, 0.0, "meter sums")?.into_boxed_slice(),
            path: Path::best(),
        })
    }

    /// The same on a given path.
    #[cfg(test)]
    pub(crate) fn on(channels: usize, path: Path) -> Lanes {
        #[allow(clippy::unwrap_used)]
        let mut lanes = Lanes::new(channels).unwrap();
        lanes.path = path;
        lanes
    }

    /// How many channels.
    pub(crate) fn channels(&self) -> usize {
        self.channels
    }

    /// Adds interleaved frames that follow those already added in this
    /// window. Real-time safe.
    pub(crate) fn add(&mut self, interleaved: &[f32]) {
        let slots = self.squares.len();
        if slots == 0 {
            return;
        }
        let mut x = interleaved;
        // The head: up to the end of the current cycle.
        if self.at != 0 {
            let n = (slots - self.at).min(x.len());
            let (head, rest) = x.split_at(n);
            let at = self.at;
            step(
                &mut self.squares[at..at + n],
                &mut self.peaks[at..at + n],
                head,
            );
            self.at = if at + n == slots { 0 } else { at + n };
            x = rest;
        }
        // Whole cycles, then the tail from slot 0.
        let tail = x.len() % slots;
        let (body, tail_samples) = x.split_at(x.len() - tail);
        match self.path {
            Path::Portable => cycles_portable(&mut self.squares, &mut self.peaks, body),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2` is only chosen where the CPU has AVX2
            // (`Path::best`); the function touches nothing but its
            // arguments, borrowed for the call on this thread.
            Path::Avx2 => unsafe { cycles_avx2(&mut self.squares, &mut self.peaks, body) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX-512F.
            Path::Avx512 => unsafe { cycles_avx512(&mut self.squares, &mut self.peaks, body) },
        }
        if tail > 0 {
            step(
                &mut self.squares[..tail],
                &mut self.peaks[..tail],
                tail_samples,
            );
            self.at = tail;
        }
    }

    /// Channel `c`'s peak and sum of squares so far: the lanes folded in
    /// the fixed tree.
    pub(crate) fn total(&self, c: usize) -> Accum {
        let ch = self.channels;
        // Checked once, so the lane reads below need no bounds checks.
        let (Some(squares), Some(peaks)) = (
            self.squares.get(c..c + 7 * ch + 1),
            self.peaks.get(c..c + 7 * ch + 1),
        ) else {
            return Accum::default();
        };
        let lane = |l: usize| squares[l * ch];
        let peak = |l: usize| peaks[l * ch];
        let sum_squares = ((lane(0) + lane(1)) + (lane(2) + lane(3)))
            + ((lane(4) + lane(5)) + (lane(6) + lane(7)));
        // Slot peaks are never NaN, so `max` is plain here.
        let peak = (peak(0).max(peak(1)).max(peak(2).max(peak(3))))
            .max(peak(4).max(peak(5)).max(peak(6).max(peak(7))));
        Accum { peak, sum_squares }
    }

    /// Starts a new window.
    pub(crate) fn clear(&mut self) {
        self.squares.fill(0.0);
        self.peaks.fill(0.0);
        self.at = 0;
    }
}

/// Adds `x[i]` to slot `i`: its square to `squares[i]`, its magnitude to
/// `peaks[i]` unless it is NaN (as `f32::max` would, and a NaN slot is
/// impossible, so a plain compare suffices and vectorises to one `max`).
#[inline(always)]
fn step(squares: &mut [f64], peaks: &mut [f32], x: &[f32]) {
    for ((s, p), &x) in squares.iter_mut().zip(peaks.iter_mut()).zip(x) {
        *s += f64::from(x) * f64::from(x);
        let a = x.abs();
        *p = if a > *p { a } else { *p };
    }
}

/// Adds whole cycles (`body.len()` a multiple of the slots), `K` slots at a
/// time held in registers: for each group of `K` slots, every cycle in
/// order. Each slot still adds its samples in frame order, so the grouping
/// changes nothing in the result.
#[inline(always)]
fn cycles<const K: usize>(squares: &mut [f64], peaks: &mut [f32], body: &[f32]) {
    let slots = squares.len();
    for g in (0..slots).step_by(K) {
        let mut s = [0.0f64; K];
        let mut p = [0.0f32; K];
        s.copy_from_slice(&squares[g..g + K]);
        p.copy_from_slice(&peaks[g..g + K]);
        if slots == K {
            for x in body.chunks_exact(K) {
                step(&mut s, &mut p, x);
            }
        } else {
            for cycle in body.chunks_exact(slots) {
                step(&mut s, &mut p, &cycle[g..g + K]);
            }
        }
        squares[g..g + K].copy_from_slice(&s);
        peaks[g..g + K].copy_from_slice(&p);
    }
}

/// [`cycles`] in the widest group the slots allow (they are a multiple of
/// [`LANES`]).
#[inline(always)]
fn cycles_any(squares: &mut [f64], peaks: &mut [f32], body: &[f32]) {
    if squares.len().is_multiple_of(16) {
        cycles::<16>(squares, peaks, body);
    } else {
        cycles::<LANES>(squares, peaks, body);
    }
}

/// [`cycles_any`] for the baseline target.
fn cycles_portable(squares: &mut [f64], peaks: &mut [f32], body: &[f32]) {
    cycles_any(squares, peaks, body);
}

/// [`cycles_any`] compiled for AVX2 (FMA is not enabled: the adds and
/// multiplies stay separate, as on the portable path).
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cycles_avx2(squares: &mut [f64], peaks: &mut [f32], body: &[f32]) {
    cycles_any(squares, peaks, body);
}

/// [`cycles_any`] compiled for AVX-512F.
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn cycles_avx512(squares: &mut [f64], peaks: &mut [f32], body: &[f32]) {
    cycles_any(squares, peaks, body);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random samples from a xorshift, some quiet, some loud.
    fn noise(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let x = (s as i32) as f32 / 2_147_483_648.0;
                if i % 97 < 20 {
                    x * 1e-3
                } else {
                    x
                }
            })
            .collect()
    }

    fn totals(l: &Lanes) -> Vec<(u32, u64)> {
        (0..l.channels())
            .map(|c| {
                let a = l.total(c);
                (a.peak.to_bits(), a.sum_squares.to_bits())
            })
            .collect()
    }

    #[test]
    fn any_split_on_any_path_gives_the_same_bits() {
        for channels in [1, 2, 3, 4, 6, 8, 17] {
            let x = noise(channels * 1_000, channels as u32);
            let mut whole = Lanes::on(channels, Path::Portable);
            whole.add(&x);
            let want = totals(&whole);
            for path in Path::all() {
                for piece in [1, 7, 16, 64, 255, 1000] {
                    let mut l = Lanes::on(channels, path);
                    for frames in x.chunks(piece * channels) {
                        l.add(frames);
                    }
                    assert_eq!(totals(&l), want, "{channels} ch, {path:?}, {piece}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The sums' own bits (the levels are f32 dB, which would hide a
        /// last-bit difference): any signal split into any pieces, on
        /// every path, equals the signal added at once.
        #[test]
        fn any_random_split_gives_the_same_bits(
            channels in 1usize..7,
            frames in 0usize..700,
            seed in proptest::num::u32::ANY,
            pieces in proptest::collection::vec(1usize..100, 1..10),
        ) {
            let x = noise(channels * frames, seed);
            let mut whole = Lanes::on(channels, Path::Portable);
            whole.add(&x);
            for path in Path::all() {
                let mut l = Lanes::on(channels, path);
                let (mut done, mut i) = (0, 0);
                while done < frames {
                    let n = pieces[i % pieces.len()].min(frames - done);
                    l.add(&x[done * channels..(done + n) * channels]);
                    done += n;
                    i += 1;
                }
                proptest::prop_assert_eq!(totals(&l), totals(&whole));
            }
        }
    }

    #[test]
    fn a_channel_does_not_depend_on_its_neighbours() {
        let x = noise(3 * 999, 5);
        let mut three = Lanes::new(3).unwrap();
        three.add(&x);
        for c in 0..3 {
            let mono: Vec<f32> = x.iter().skip(c).step_by(3).copied().collect();
            let mut one = Lanes::new(1).unwrap();
            one.add(&mono);
            assert_eq!(totals(&one)[0], totals(&three)[c]);
        }
    }

    #[test]
    fn the_lanes_are_the_frame_index_mod_8_folded_in_a_tree() {
        // Stated independently of the code above: the order the docs give.
        let x = noise(2 * 37, 9);
        let mut l = Lanes::new(2).unwrap();
        l.add(&x[..6]);
        l.add(&x[6..]);
        for c in 0..2 {
            let mut lane = [0.0f64; 8];
            for (f, frame) in x.chunks_exact(2).enumerate() {
                lane[f % 8] += f64::from(frame[c]) * f64::from(frame[c]);
            }
            let want = ((lane[0] + lane[1]) + (lane[2] + lane[3]))
                + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
            assert_eq!(l.total(c).sum_squares.to_bits(), want.to_bits());
            let peak = x
                .iter()
                .skip(c)
                .step_by(2)
                .fold(0.0f32, |m, v| m.max(v.abs()));
            assert_eq!(l.total(c).peak.to_bits(), peak.to_bits());
        }
    }

    #[test]
    fn nan_is_skipped_by_the_peak_and_poisons_the_sum() {
        // As f32::max did: a NaN sample leaves the peak alone.
        let mut l = Lanes::new(1).unwrap();
        l.add(&[f32::NAN, -0.5, f32::NAN, 0.25]);
        assert_eq!(l.total(0).peak, 0.5);
        assert!(l.total(0).sum_squares.is_nan());
        let mut l = Lanes::new(1).unwrap();
        l.add(&[f32::NAN; 20]);
        assert_eq!(l.total(0).peak, 0.0);
        let mut l = Lanes::new(2).unwrap();
        l.add(&[f32::INFINITY, -0.0, 0.5, f32::NEG_INFINITY]);
        assert_eq!(l.total(0).peak, f32::INFINITY);
        assert_eq!(l.total(1).peak, f32::INFINITY);
        assert_eq!(l.total(0).sum_squares, f64::INFINITY);
        l.clear();
        assert_eq!(totals(&l), [(0, 0), (0, 0)]);
    }

    #[test]
    fn the_sum_is_within_its_error_bound() {
        // Samples k / 2^23 have exact squares k² / 2^46, whose sum an
        // integer holds exactly: the reference has one rounding. Lanes of
        // m = ceil(n / 8) frames round at most m - 1 times per sample and
        // the tree 3 times more: relative error at most (m + 2)·2^-53,
        // never above the serial sum's bound of (n - 1)·2^-53 (n >= 4).
        for (n, seed) in [(5usize, 1u32), (100, 2), (4_801, 3), (100_000, 4)] {
            let mut s = seed;
            let ks: Vec<i32> = (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    (s as i32) >> 8 // |k| <= 2^23
                })
                .collect();
            let x: Vec<f32> = ks.iter().map(|&k| k as f32 / 8_388_608.0).collect();
            let exact: u128 = ks
                .iter()
                .map(|&k| (i128::from(k) * i128::from(k)) as u128)
                .sum();
            let reference = exact as f64 / 2f64.powi(46);
            let mut l = Lanes::new(1).unwrap();
            l.add(&x);
            let got = l.total(0).sum_squares;
            let u = f64::EPSILON / 2.0;
            let m = n.div_ceil(LANES) as f64;
            // (m + 2) roundings, the reference's half, and slack for the
            // second-order terms.
            let bound = (m + 3.0) * u * reference;
            assert!(
                (got - reference).abs() <= bound,
                "n {n}: {got} against {reference}, bound {bound}"
            );
            assert!(m + 2.0 <= (n - 1) as f64);
            // And beside the plain serial f64 sum, within both bounds.
            let serial: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            assert!((got - serial).abs() <= (m + 2.0 + n as f64) * u * reference);
        }
    }
}
