//! The meters' running sums: a window's peak and sum of squares per
//! channel, in an order fixed by the frames alone so that it vectorises and
//! gives the same bits however the window is split into periods.
//!
//! Each channel has [`LANES`] partial sums ("lanes") in f32; frame `f` of
//! a window (counted from the window's first frame) adds its square to
//! lane `f mod LANES` of its channel with one rounding (a fused
//! multiply-add, `x·x + lane`, on every path). The window is cut into
//! *blocks* of [`BLOCK_FRAMES`] frames (frames `[k·BLOCK_FRAMES,
//! (k + 1)·BLOCK_FRAMES)`); at the end of each block, and at the window's
//! end, the lanes are folded in halves (for `h = LANES/2, …, 1`, lane
//! `l < h` becomes `lane l + lane l + h`, in f32), the fold is added to the
//! channel's f64 total and the lanes start again from 0. The peaks are one
//! `max` per lane, folded the same way when the window ends. Interleaved
//! samples map onto the lanes flatly: sample `k` of the window goes to slot
//! `k mod (LANES·channels)`, so whole cycles of `LANES` frames are one
//! contiguous `sum[i] = x[i]·x[i] + sum[i]` over the slots, which
//! vectorises, and the halving fold is a few vector adds over contiguous
//! slots. A piece that starts or ends mid-cycle adds its head and tail to
//! the same slots one by one.
//!
//! Why this shape: a square and its add are one instruction per 16
//! samples (AVX-512), where widening every sample to f64 took four; 32
//! lanes keep enough independent sums in flight that the adds do not wait
//! on each other; and the f64 totals keep long windows as exact as short
//! ones (the error bound is in [`crate::meter`]).
//!
//! A channel's lanes depend only on its own samples and the frame index, so
//! its levels do not depend on how many channels are metered beside it.

use crate::error::Result;
use crate::meter::Accum;

/// Partial sums per channel.
pub(crate) const LANES: usize = 32;

/// Frames of a window whose squares a lane sums in f32 before adding them
/// to its f64 total: `BLOCK_FRAMES / LANES` squares per lane per block.
pub(crate) const BLOCK_FRAMES: usize = 1024;

/// The running sums of one stream side (or a clip): `LANES` slots per
/// channel, interleaved as the samples are. Real-time safe once made.
#[derive(Clone, Debug)]
pub(crate) struct Lanes {
    channels: usize,
    /// Samples added since the current block began (`< BLOCK_FRAMES ·
    /// channels`).
    in_block: usize,
    /// The slot of the window's next sample: `in_block` mod the number of
    /// slots (a block is whole cycles).
    at: usize,
    /// The current block's sum of squares per slot.
    block: Box<[f32]>,
    /// The window's sum of squares per channel: its finished blocks'
    /// folded sums.
    totals: Box<[f64]>,
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
    /// The same loop compiled for AVX-512F: 16 f32 sums per vector. (The
    /// compiler never fuses a multiply and an add without being told, so
    /// the bits are those of the other paths.)
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Path {
    /// The widest path this CPU runs.
    pub(crate) fn best() -> Path {
        #[cfg(target_arch = "x86_64")]
        if Path::Avx512.is_available() {
            return Path::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if Path::Avx2.is_available() {
            return Path::Avx2;
        }
        Path::Portable
    }

    /// Whether this CPU runs the path.
    fn is_available(self) -> bool {
        use std::arch::is_x86_feature_detected as has;
        match self {
            Path::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => has!("avx2") && has!("fma"),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => has!("avx512f") && has!("avx512dq") && has!("fma"),
        }
    }

    /// Every path this CPU runs.
    #[cfg(test)]
    pub(crate) fn all() -> Vec<Path> {
        let mut paths = vec![Path::Portable];
        #[cfg(target_arch = "x86_64")]
        paths.extend(
            [Path::Avx2, Path::Avx512]
                .into_iter()
                .filter(|p| p.is_available()),
        );
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
            in_block: 0,
            at: 0,
            block: crate::limits::filled(slots, 0.0, "meter sums")?.into_boxed_slice(),
            totals: crate::limits::filled(Some(channels), 0.0, "meter sums")?.into_boxed_slice(),
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
        match self.path {
            Path::Portable => add_portable(self, interleaved),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2` is only chosen where the CPU has AVX2 and
            // FMA (`Path::best`); the function touches nothing but its
            // arguments, borrowed for the call on this thread.
            Path::Avx2 => unsafe { add_avx2(self, interleaved) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX-512F, AVX-512DQ and FMA.
            Path::Avx512 => unsafe { add_avx512(self, interleaved) },
        }
    }

    /// Ends the current block: its lanes are folded and added to the
    /// totals (the module docs), and a new block starts. With `window`, the
    /// window ends too: the peaks are folded and each channel's totals are
    /// handed, in channel order, to `each`. Real-time safe.
    fn end_block(&mut self, window: bool, mut each: impl FnMut(Accum)) {
        let ch = self.channels;
        let (block, peaks) = (&mut self.block, &mut self.peaks);
        match self.path {
            Path::Portable => fold_portable(block, peaks, ch, window),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Path::Avx2` is only chosen where the CPU has AVX2
            // and FMA (`Path::best`); the function touches nothing but its
            // arguments, borrowed for the call on this thread.
            Path::Avx2 => unsafe { fold_avx2(block, peaks, ch, window) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX-512F, AVX-512DQ and FMA.
            Path::Avx512 => unsafe { fold_avx512(block, peaks, ch, window) },
        }
        // The folds left channel c's sums in slot c, every other slot 0.
        for ((total, b), p) in self
            .totals
            .iter_mut()
            .zip(block.iter_mut())
            .zip(peaks.iter_mut())
        {
            *total += f64::from(std::mem::take(b));
            if window {
                each(Accum {
                    peak: std::mem::take(p),
                    sum_squares: std::mem::take(total),
                });
            }
        }
        self.in_block = 0;
        self.at = 0;
    }

    /// Ends the window (its last block goes into the totals as any block
    /// does) and hands each channel's totals, in channel order, to `each`;
    /// the next window starts. Real-time safe.
    pub(crate) fn end_window(&mut self, each: impl FnMut(Accum)) {
        self.end_block(true, each);
    }
}

/// The folds of [`Lanes::end_block`]: the block's sums in halves, with
/// `window` the peaks too, each upper half zeroed as it is taken.
#[inline(always)]
fn fold(block: &mut [f32], peaks: &mut [f32], channels: usize, window: bool) {
    halve(block, channels, |a, b| a + b);
    if window {
        // Slot peaks are never NaN, so a plain compare is `max`.
        halve(peaks, channels, |a, b| if b > a { b } else { a });
    }
}

/// Folds `channels` channels of [`LANES`] interleaved slots in halves
/// with `op`: for h = LANES/2, …, 1, slot i < h·channels becomes
/// `op(slot i, slot i + h·channels)` and the latter 0. Slot c ends with
/// channel c's fold. One, two or four channels are folded in registers.
#[inline(always)]
fn halve(slots: &mut [f32], channels: usize, op: impl Fn(f32, f32) -> f32) {
    match channels {
        1 => halve_held::<LANES>(slots, 1, op),
        2 => halve_held::<{ 2 * LANES }>(slots, 2, op),
        4 => halve_held::<{ 4 * LANES }>(slots, 4, op),
        _ => halve_slices(slots, channels, op),
    }
}

/// [`halve`] in place.
#[inline(always)]
fn halve_slices(slots: &mut [f32], channels: usize, op: impl Fn(f32, f32) -> f32) {
    let mut h = LANES / 2;
    while h >= 1 {
        let n = h * channels;
        let (lo, hi) = slots[..2 * n].split_at_mut(n);
        for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
            *a = op(*a, std::mem::take(b));
        }
        h /= 2;
    }
}

/// [`halve`] for exactly `S` slots, copied into a local so that the
/// halving stays in registers: the same operations in the same order.
#[inline(always)]
fn halve_held<const S: usize>(slots: &mut [f32], channels: usize, op: impl Fn(f32, f32) -> f32) {
    let Ok(slots) = <&mut [f32; S]>::try_from(slots) else {
        return;
    };
    let mut v = *slots;
    let mut h = LANES / 2;
    while h >= 1 {
        let n = h * channels;
        for i in 0..n {
            v[i] = op(v[i], v[i + n]);
        }
        h /= 2;
    }
    *slots = [0.0; S];
    slots[..channels].copy_from_slice(&v[..channels]);
}

/// [`fold`] for the baseline target.
fn fold_portable(block: &mut [f32], peaks: &mut [f32], channels: usize, window: bool) {
    fold(block, peaks, channels, window);
}

/// [`fold`] compiled for AVX2 (adds and compares only: the same bits).
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fold_avx2(block: &mut [f32], peaks: &mut [f32], channels: usize, window: bool) {
    fold(block, peaks, channels, window);
}

/// [`fold`] compiled for AVX-512F.
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fold_avx512(block: &mut [f32], peaks: &mut [f32], channels: usize, window: bool) {
    fold(block, peaks, channels, window);
}

/// [`Lanes::add`]'s work on the path whose whole-cycle loop is `cycles`
/// (`cycles(block, peaks, body)` does what [`step`] does, cycle by cycle).
#[inline(always)]
fn add_with(l: &mut Lanes, interleaved: &[f32], cycles: impl Fn(&mut [f32], &mut [f32], &[f32])) {
    let block = BLOCK_FRAMES * l.channels;
    let slots = l.block.len();
    if block == 0 {
        return;
    }
    if l.at == 0
        && l.in_block + interleaved.len() < block
        && interleaved.len().is_multiple_of(slots)
    {
        // The common case: a period of whole cycles inside a block.
        cycles(&mut l.block, &mut l.peaks, interleaved);
        l.in_block += interleaved.len();
        return;
    }
    let mut x = interleaved;
    while !x.is_empty() {
        let n = (block - l.in_block).min(x.len());
        let (now, rest) = x.split_at(n);
        add_in_block(l, now, &cycles);
        l.in_block += n;
        if l.in_block == block {
            l.end_block(false, |_| ());
        }
        x = rest;
    }
}

/// Adds samples that do not pass the end of the current block.
#[inline(always)]
fn add_in_block(
    l: &mut Lanes,
    interleaved: &[f32],
    cycles: impl Fn(&mut [f32], &mut [f32], &[f32]),
) {
    let slots = l.block.len();
    let mut x = interleaved;
    // The head: up to the end of the current cycle.
    if l.at != 0 {
        let n = (slots - l.at).min(x.len());
        let (head, rest) = x.split_at(n);
        let at = l.at;
        step(&mut l.block[at..at + n], &mut l.peaks[at..at + n], head);
        l.at = if at + n == slots { 0 } else { at + n };
        x = rest;
    }
    // Whole cycles, then the tail from slot 0.
    let tail = x.len() % slots;
    let (body, tail_samples) = x.split_at(x.len() - tail);
    cycles(&mut l.block, &mut l.peaks, body);
    if tail > 0 {
        step(&mut l.block[..tail], &mut l.peaks[..tail], tail_samples);
        l.at = tail;
    }
}

/// [`add_with`] for the baseline target.
fn add_portable(l: &mut Lanes, interleaved: &[f32]) {
    add_with(l, interleaved, cycles_any::<16>);
}

/// [`add_with`] compiled for AVX2 and FMA.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_avx2(l: &mut Lanes, interleaved: &[f32]) {
    // A closure, not the function item: it inherits this function's
    // target features, so the loop inlines with them.
    #[allow(clippy::redundant_closure)]
    add_with(l, interleaved, |s, p, b| cycles_any::<32>(s, p, b));
}

/// [`add_with`] compiled for AVX-512, with its own whole-cycle loop.
///
/// # Safety
///
/// The CPU must have AVX-512F, AVX-512DQ and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,fma")]
unsafe fn add_avx512(l: &mut Lanes, interleaved: &[f32]) {
    // SAFETY: this function runs only where the CPU has what
    // `cycles_avx512` needs; the slices are borrowed for each call.
    add_with(l, interleaved, |s, p, b| unsafe {
        x86::cycles_avx512(s, p, b)
    });
}

/// Adds `x[i]` to slot `i`: its square to `squares[i]` with one rounding
/// (a fused multiply-add), its magnitude to `peaks[i]` unless it is NaN (as
/// `f32::max` would, and a NaN slot is impossible, so a plain compare
/// suffices and vectorises to one `max`).
#[inline(always)]
fn step(squares: &mut [f32], peaks: &mut [f32], x: &[f32]) {
    for ((s, p), &x) in squares.iter_mut().zip(peaks.iter_mut()).zip(x) {
        *s = x.mul_add(x, *s);
        let a = x.abs();
        *p = if a > *p { a } else { *p };
    }
}

/// Adds whole cycles (`body.len()` a multiple of the slots), `K` slots at a
/// time held in registers: for each group of `K` slots, every cycle in
/// order. Each slot still adds its samples in frame order, so the grouping
/// changes nothing in the result.
#[inline(always)]
fn cycles<const K: usize>(squares: &mut [f32], peaks: &mut [f32], body: &[f32]) {
    let slots = squares.len();
    for g in (0..slots).step_by(K) {
        let mut s = [0.0f32; K];
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

/// [`cycles`] in groups of up to `K` slots (16 or 32; the slots are a
/// multiple of [`LANES`], so of 32): as many as the path's registers hold,
/// each sum a chain of its own.
#[inline(always)]
fn cycles_any<const K: usize>(squares: &mut [f32], peaks: &mut [f32], body: &[f32]) {
    if K >= 32 {
        cycles::<32>(squares, peaks, body);
    } else {
        cycles::<16>(squares, peaks, body);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The AVX-512 whole-cycle loop: [`super::cycles`] with the magnitude
    //! and `max` of each sample in one instruction.

    use std::arch::x86_64::*;

    /// `vrangeps`'s control for max(|a|, |b|) with the sign cleared: bits
    /// 1:0 = 11 (the larger magnitude), bits 3:2 = 10 (clear the sign).
    const MAX_MAGNITUDE: i32 = 0b1011;

    /// Adds whole cycles (`body.len()` a multiple of the slots, the slots a
    /// multiple of 32) as [`super::cycles`] does, bit for bit: the square
    /// by `vfmadd` (one rounding, as `f32::mul_add`), the peak by
    /// `vrangeps`, which gives exactly `if |x| > p { |x| } else { p }`
    /// when `x` is a number. For a NaN `x` the manual's table leaves room
    /// for a NaN result (the CPUs measured here return `p`, skipping it as
    /// the peak must: `nan_samples_are_skipped_by_the_peak_on_every_path`),
    /// so a group whose peaks end NaN is done again with `and` and `max`,
    /// which skip it on any CPU.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512F, AVX-512DQ and FMA.
    #[target_feature(enable = "avx512f,avx512dq,fma")]
    pub(super) unsafe fn cycles_avx512(squares: &mut [f32], peaks: &mut [f32], body: &[f32]) {
        // SAFETY: the caller's CPU has the features; `groups` reads and
        // writes only inside the slices, which are borrowed for the call.
        unsafe {
            if squares.len().is_multiple_of(64) {
                groups::<4>(squares, peaks, body);
            } else {
                groups::<2>(squares, peaks, body);
            }
        }
    }

    /// [`cycles_avx512`] in groups of `16 * V` slots held in `V` registers
    /// each for the sums and the peaks.
    #[inline(always)]
    unsafe fn groups<const V: usize>(squares: &mut [f32], peaks: &mut [f32], body: &[f32]) {
        let slots = squares.len().min(peaks.len());
        let k = 16 * V;
        if slots == 0 || !slots.is_multiple_of(k) {
            return;
        }
        let cycles = body.len() / slots;
        // SAFETY: every access is of 16 floats at `g + 16 v` (< slots, as
        // g + k <= slots) in `squares` and `peaks`, or at `c · slots + g +
        // 16 v` (< cycles · slots <= body.len()) in `body`: inside the
        // slices, which the caller lends for the whole call.
        unsafe {
            let (sq, pk, x) = (squares.as_mut_ptr(), peaks.as_mut_ptr(), body.as_ptr());
            let magnitude = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fff_ffff));
            for g in (0..slots).step_by(k) {
                let mut s = [_mm512_setzero_ps(); V];
                let mut p = [_mm512_setzero_ps(); V];
                for v in 0..V {
                    s[v] = _mm512_loadu_ps(sq.add(g + 16 * v));
                    p[v] = _mm512_loadu_ps(pk.add(g + 16 * v));
                }
                let before = p;
                for c in 0..cycles {
                    let at = x.add(c * slots + g);
                    for v in 0..V {
                        let x = _mm512_loadu_ps(at.add(16 * v));
                        s[v] = _mm512_fmadd_ps(x, x, s[v]);
                        p[v] = _mm512_range_ps::<MAX_MAGNITUDE>(p[v], x);
                    }
                }
                let mut nan = 0;
                for pv in p {
                    nan |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(pv, pv);
                }
                if nan != 0 {
                    p = before;
                    for c in 0..cycles {
                        let at = x.add(c * slots + g);
                        for (v, pv) in p.iter_mut().enumerate() {
                            let a = _mm512_and_ps(_mm512_loadu_ps(at.add(16 * v)), magnitude);
                            // max(a, p) is p when a is NaN.
                            *pv = _mm512_max_ps(a, *pv);
                        }
                    }
                }
                for v in 0..V {
                    _mm512_storeu_ps(sq.add(g + 16 * v), s[v]);
                    _mm512_storeu_ps(pk.add(g + 16 * v), p[v]);
                }
            }
        }
    }
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

    /// Ends the window: each channel's totals.
    fn ended(l: &mut Lanes) -> Vec<Accum> {
        let mut totals = Vec::new();
        l.end_window(|a| totals.push(a));
        totals
    }

    /// The window's totals so far (the lanes themselves go on).
    fn totals(l: &Lanes) -> Vec<(u32, u64)> {
        let mut l = l.clone();
        ended(&mut l)
            .into_iter()
            .map(|a| (a.peak.to_bits(), a.sum_squares.to_bits()))
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
    fn the_lanes_are_fused_f32_squares_folded_in_halves_per_block_into_f64() {
        // Stated independently of the code above: the order the docs give.
        // 2,500 frames: two whole blocks and a part; pieces that split
        // blocks and cycles.
        let x = noise(2 * 2_500, 9);
        let mut l = Lanes::new(2).unwrap();
        let mut done = 0;
        for piece in [6, 2_042, 2, 100, 2_850] {
            l.add(&x[done..done + piece]);
            done += piece;
        }
        assert_eq!(done, x.len());
        let ended = ended(&mut l);
        // The halving fold of 32 lanes, as the docs give it.
        let halve = |v: &mut [f32; LANES], op: fn(f32, f32) -> f32| {
            let mut h = LANES / 2;
            while h >= 1 {
                for i in 0..h {
                    v[i] = op(v[i], v[i + h]);
                }
                h /= 2;
            }
            v[0]
        };
        for c in 0..2 {
            let mut total = 0.0f64;
            let mut block = [0.0f32; LANES];
            let mut peaks = [0.0f32; LANES];
            for (f, frame) in x.chunks_exact(2).enumerate() {
                let v = frame[c];
                block[f % LANES] = v.mul_add(v, block[f % LANES]);
                peaks[f % LANES] = peaks[f % LANES].max(v.abs());
                if (f + 1) % BLOCK_FRAMES == 0 {
                    total += f64::from(halve(&mut block, |a, b| a + b));
                    block = [0.0; LANES];
                }
            }
            total += f64::from(halve(&mut block, |a, b| a + b));
            let peak = halve(&mut peaks, f32::max);
            assert_eq!(ended[c].sum_squares.to_bits(), total.to_bits());
            assert_eq!(ended[c].peak.to_bits(), peak.to_bits());
            let plain = x
                .iter()
                .skip(c)
                .step_by(2)
                .fold(0.0f32, |m, v| m.max(v.abs()));
            assert_eq!(peak.to_bits(), plain.to_bits());
        }
    }

    #[test]
    fn nan_samples_are_skipped_by_the_peak_on_every_path() {
        // Long enough for whole cycles (the wide loops), with NaNs in some
        // groups of lanes only: the peak is that of the other samples.
        for channels in [1, 2, 3] {
            let mut x = noise(channels * 3_000, 11);
            // Quiet and signalling NaNs, of either sign.
            let nans = [0x7fc0_0000u32, 0x7f80_0001, 0xffc0_0001, 0xff80_0100];
            for (i, nan) in [5, 700, 701, 4_000].into_iter().zip(nans) {
                let n = x.len();
                x[i % n] = f32::from_bits(nan);
            }
            let want: Vec<u32> = (0..channels)
                .map(|c| {
                    x.iter()
                        .skip(c)
                        .step_by(channels)
                        .filter(|v| !v.is_nan())
                        .fold(0.0f32, |m, v| m.max(v.abs()))
                        .to_bits()
                })
                .collect();
            for path in Path::all() {
                for piece in [64, 1_000, 3_000] {
                    let mut l = Lanes::on(channels, path);
                    for frames in x.chunks(piece * channels) {
                        l.add(frames);
                    }
                    let got = ended(&mut l);
                    let peaks: Vec<u32> = got.iter().map(|a| a.peak.to_bits()).collect();
                    assert_eq!(peaks, want, "{channels} ch, {path:?}, {piece}");
                    // A channel's sum is NaN exactly when it had a NaN.
                    for (c, a) in got.iter().enumerate() {
                        let had_nan = x.iter().skip(c).step_by(channels).any(|v| v.is_nan());
                        assert_eq!(a.sum_squares.is_nan(), had_nan, "{channels} ch, {path:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn nan_is_skipped_by_the_peak_and_poisons_the_sum() {
        // As f32::max did: a NaN sample leaves the peak alone.
        let mut l = Lanes::new(1).unwrap();
        l.add(&[f32::NAN, -0.5, f32::NAN, 0.25]);
        assert_eq!(ended(&mut l)[0].peak, 0.5);
        let mut l = Lanes::new(1).unwrap();
        l.add(&[f32::NAN, -0.5, f32::NAN, 0.25]);
        assert!(ended(&mut l)[0].sum_squares.is_nan());
        let mut l = Lanes::new(1).unwrap();
        l.add(&[f32::NAN; 20]);
        assert_eq!(ended(&mut l)[0].peak, 0.0);
        let mut l = Lanes::new(2).unwrap();
        l.add(&[f32::INFINITY, -0.0, 0.5, f32::NEG_INFINITY]);
        {
            let ended = ended(&mut l);
            assert_eq!(ended[0].peak, f32::INFINITY);
            assert_eq!(ended[1].peak, f32::INFINITY);
            assert_eq!(ended[0].sum_squares, f64::INFINITY);
        }
        // The window ended: the next starts from nothing.
        assert_eq!(totals(&l), [(0, 0), (0, 0)]);
    }

    #[test]
    fn the_sum_is_within_its_error_bound() {
        // Samples k / 2^23 have exact squares k² / 2^46, whose sum an
        // integer holds exactly: the reference has one rounding. A block's
        // lane adds at most BLOCK_FRAMES / LANES = 32 squares in f32, each
        // add one rounding (fused), and the fold 5 more: at most 37
        // roundings of 2^-24 on each square. The f64 total adds
        // ceil(n / 1024) block sums: that many roundings of 2^-53. Relative
        // error at most about 2^-19, under 10^-5 dB.
        for (n, seed) in [
            (5usize, 1u32),
            (100, 2),
            (4_801, 3),
            (100_000, 4),
            (1_000_000, 5),
        ] {
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
            let got = ended(&mut l)[0].sum_squares;
            let (u32, u64) = (f64::from(f32::EPSILON) / 2.0, f64::EPSILON / 2.0);
            let blocks = n.div_ceil(BLOCK_FRAMES) as f64;
            // The roundings above, the reference's half, and slack for the
            // second-order terms.
            let relative = 37.01 * u32 + (blocks + 1.0) * u64;
            assert!(relative < 2.3e-6);
            let bound = relative * reference;
            assert!(
                (got - reference).abs() <= bound,
                "n {n}: {got} against {reference}, bound {bound}"
            );
            let db = |v: f64| 10.0 * v.log10();
            assert!((db(got) - db(reference)).abs() < 1e-5);
        }
    }
}
