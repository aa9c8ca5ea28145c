//! Mixing: summing the occurrences of a playspec into an output period.
//!
//! A [`Prepared`] playspec is a [`Playspec`] laid out for one interface: the
//! gains of every entry in the shape the inner loops want, and a candidate
//! buffer big enough that a query never allocates. It is built on the control
//! side when the playspec is scheduled and only read (and its scratch reused)
//! on the audio thread.
//!
//! Every output sample is the sum of its contributions in a fixed order
//! (entry index, then occurrence `k`), whatever stretch of positions is
//! rendered at once: that is what makes the output independent of the block
//! size, bit for bit.

use crate::playspec::{fade_factor, Entry, Playspec};

/// Width of the gain pattern used by the same-layout inner loop: a multiple
/// of every channel count that divides it, and of the SIMD width.
const LANES: usize = 16;

/// One entry's gains, laid out for the inner loops.
struct Gains {
    /// `gains[o]` for output channel `o`.
    per_channel: Box<[f32]>,
    /// `gains[i mod out_channels]` for `i < LANES`, when the clip has as many
    /// channels as the output and `out_channels` divides `LANES`: then a
    /// stretch of frames is one contiguous multiply-add.
    pattern: Option<[f32; LANES]>,
}

impl Gains {
    fn new(entry: &Entry, out_channels: usize) -> Gains {
        let per_channel: Box<[f32]> = entry.gains.clone().into_boxed_slice();
        let pattern = (entry.clip.channels() == out_channels
            && out_channels > 0
            && LANES % out_channels == 0)
            .then(|| std::array::from_fn(|i| per_channel[i % out_channels]));
        Gains {
            per_channel,
            pattern,
        }
    }
}

/// A playspec scheduled on one interface, ready for the audio thread.
pub(crate) struct Prepared {
    pub(crate) id: u64,
    playspec: Playspec,
    gains: Vec<Gains>,
    out_channels: usize,
}

/// The audio thread's working space for mixing: the candidates of a query
/// and the occurrences planned from them. One per interface, sized for the
/// largest playspec scheduled so far (the control side sends a bigger one
/// along with a change that needs it), so scheduling does not allocate
/// scratch per playspec.
pub(crate) struct Scratch {
    candidates: Vec<u32>,
    /// The occurrences to mix in the current stretch, by entry.
    plan: Vec<Planned>,
}

impl Scratch {
    /// Scratch for playspecs whose index yields at most `capacity`
    /// candidates; an error (never an abort) when that does not fit in
    /// memory.
    pub(crate) fn with_capacity(capacity: usize) -> crate::Result<Scratch> {
        let too_big = |_| crate::Error::Argument {
            argument: "playspec",
            rule: format!("mixing scratch for {capacity} entries does not fit in memory"),
        };
        let mut candidates = Vec::new();
        candidates.try_reserve_exact(capacity).map_err(too_big)?;
        let mut plan = Vec::new();
        plan.try_reserve_exact(capacity).map_err(too_big)?;
        Ok(Scratch { candidates, plan })
    }

    /// The most candidates it holds without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.candidates.capacity().min(self.plan.capacity())
    }
}

/// The occurrences `k_lo..=k_hi` of one entry that meet the stretch being
/// mixed.
#[derive(Clone, Copy)]
struct Planned {
    entry: u32,
    k_lo: i128,
    k_hi: i128,
}

impl Prepared {
    /// Lays out `playspec` for an interface with `out_channels` outputs. The
    /// caller has checked [`Playspec::check_for`].
    pub(crate) fn new(id: u64, playspec: Playspec, out_channels: usize) -> Prepared {
        let data = playspec.data();
        let gains = data
            .entries
            .iter()
            .map(|e| Gains::new(e, out_channels))
            .collect();
        Prepared {
            id,
            playspec,
            gains,
            out_channels,
        }
    }

    /// The scratch capacity mixing this playspec needs.
    pub(crate) fn scratch_needed(&self) -> usize {
        self.playspec.data().index.capacity()
    }

    /// Adds the sum of every occurrence at positions `[p0, p0 + n)` into
    /// `out` (`n` interleaved frames), using `scratch`. Real-time safe: no
    /// allocation (the control side sized `scratch` for this playspec).
    pub(crate) fn mix(&self, scratch: &mut Scratch, p0: i64, n: usize, out: &mut [f32]) {
        if self.out_channels == 0 {
            return; // a capture-only interface: nothing to mix into
        }
        if scratch.capacity() < self.scratch_needed() {
            // Not reachable: a change that needs more scratch brings it.
            // Silence is the real-time-safe answer; growing would allocate.
            return;
        }
        let data = self.playspec.data();
        let Scratch { candidates, plan } = scratch;
        candidates.clear();
        data.index.query(p0, n as u64, candidates);
        candidates.sort_unstable();
        candidates.dedup();
        // Plan first, so that the next entry's samples can be fetched from
        // memory while this one is mixed: with many entries each period
        // reads many short runs, too short for the hardware prefetcher.
        plan.clear();
        for &entry in candidates.iter() {
            if let Some((k_lo, k_hi)) = occurrences(&data.entries[entry as usize], p0, n as u64) {
                plan.push(Planned { entry, k_lo, k_hi });
            }
        }
        // Keep about PREFETCH_LEAD bytes of samples requested ahead of the
        // entry being mixed (one entry ahead at least).
        let bytes = (n * self.out_channels.max(1) * 4).max(1);
        let ahead = (PREFETCH_LEAD / bytes).clamp(1, 16);
        for planned in plan.iter().take(ahead) {
            prefetch_occurrence(&data.entries[planned.entry as usize], planned.k_lo, p0, n);
        }
        for (i, planned) in plan.iter().enumerate() {
            if let Some(next) = plan.get(i + ahead) {
                prefetch_occurrence(&data.entries[next.entry as usize], next.k_lo, p0, n);
            }
            let e = planned.entry as usize;
            let gains = &self.gains[e];
            for k in planned.k_lo..=planned.k_hi {
                mix_one(&data.entries[e], gains, self.out_channels, k, p0, n, out);
            }
        }
    }
}

/// Bytes of samples requested ahead of the mixing. Measured on W(64, P):
/// 4 KiB beats 1, 2 and 8 KiB at every P; prefetching into L2 instead of L1
/// was slower.
const PREFETCH_LEAD: usize = 4096;

/// The most bytes prefetched per entry: the hardware prefetcher follows
/// longer runs by itself, and longer bursts fill the line-fill buffers.
const PREFETCH_PER_ENTRY: usize = 2048;

/// The occurrences `k_lo..=k_hi` of `e` that meet `[p0, p0 + n)`, if any.
/// Occurrence k is `[t + k r, t + k r + len)`; it meets the stretch for
/// `ceil((p0 - t - len + 1) / r) <= k <= floor((p0 + n - 1 - t) / r)`.
fn occurrences(e: &Entry, p0: i64, n: u64) -> Option<(i128, i128)> {
    let len = e.length();
    if len == 0 || n == 0 {
        return None;
    }
    if e.repeat == 0 {
        let (t, lo) = (i128::from(e.play_at), i128::from(p0));
        return (t < lo + i128::from(n) && t + i128::from(len) > lo).then_some((0, 0));
    }
    // In i64 when nothing overflows (always, short of the timeline's ends).
    let fast = (|| {
        let len = i64::try_from(len).ok()?;
        let first = p0
            .checked_sub(e.play_at)?
            .checked_sub(len)?
            .checked_add(1)?;
        let last = p0
            .checked_add(i64::try_from(n).ok()?)?
            .checked_sub(1)?
            .checked_sub(e.play_at)?;
        let r = e.repeat;
        let k_lo = first.div_euclid(r) + i64::from(first.rem_euclid(r) != 0);
        Some((i128::from(k_lo), i128::from(last.div_euclid(r))))
    })();
    let (k_lo, k_hi) = fast.unwrap_or_else(|| {
        let r = i128::from(e.repeat);
        let first = i128::from(p0) - i128::from(e.play_at) - i128::from(len) + 1;
        let last = i128::from(p0) + i128::from(n) - 1 - i128::from(e.play_at);
        (
            first.div_euclid(r) + i128::from(first.rem_euclid(r) != 0),
            last.div_euclid(r),
        )
    });
    (k_lo <= k_hi).then_some((k_lo, k_hi))
}

/// The frames `j0..j1` of occurrence `k` of `e` that fall in `[p0, p0 + n)`,
/// and the frame of the stretch where `j0` lands.
fn clip_window(e: &Entry, k: i128, p0: i64, n: usize) -> Option<(u64, u64, usize)> {
    let start = i128::from(e.play_at) + k * i128::from(e.repeat);
    let lo = i128::from(p0);
    let from = lo.max(start);
    let to = (lo + n as i128).min(start + i128::from(e.length()));
    (from < to).then(|| {
        (
            (from - start) as u64,
            (to - start) as u64,
            (from - lo) as usize,
        )
    })
}

/// Asks the memory system for the samples occurrence `k` of `e` will read.
fn prefetch_occurrence(e: &Entry, k: i128, p0: i64, n: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some((j0, j1, _)) = clip_window(e, k, p0, n) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let cc = e.clip.channels();
        let samples = e.clip.samples();
        let from = ((e.range.start + j0) as usize) * cc;
        let to = ((e.range.start + j1) as usize * cc).min(from + PREFETCH_PER_ENTRY / 4);
        for line in samples[from..to].chunks(16) {
            // SAFETY: a prefetch is a hint that never faults, and SSE is part
            // of the x86_64 baseline; the address is inside the clip anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (e, k, p0, n);
}

/// Adds occurrence `k` of `e`, where it meets `[p0, p0 + n)`, into `out`.
fn mix_one(e: &Entry, gains: &Gains, oc: usize, k: i128, p0: i64, n: usize, out: &mut [f32]) {
    if let Some((j0, j1, off)) = clip_window(e, k, p0, n) {
        let frames = (j1 - j0) as usize;
        mix_occurrence(
            e,
            gains,
            oc,
            j0,
            j1,
            &mut out[off * oc..(off + frames) * oc],
        );
    }
}

/// Adds frames `j0..j1` of one occurrence of `e` into `out`, splitting at the
/// fades so the body takes the fast path.
fn mix_occurrence(e: &Entry, gains: &Gains, oc: usize, j0: u64, j1: u64, out: &mut [f32]) {
    let len = e.length();
    let body = e.fade_in..len - e.fade_out;
    let cc = e.clip.channels();
    let a = e.range.start;
    let samples = e.clip.samples();
    let src = |from: u64, to: u64| &samples[((a + from) as usize) * cc..((a + to) as usize) * cc];
    let dst = |from: u64, to: u64| ((from - j0) as usize) * oc..((to - j0) as usize) * oc;

    let fade_in_end = j1.min(body.start);
    if j0 < fade_in_end {
        mix_faded(
            e,
            gains,
            oc,
            j0,
            src(j0, fade_in_end),
            &mut out[dst(j0, fade_in_end)],
        );
    }
    let (b0, b1) = (j0.max(body.start), j1.min(body.end));
    if b0 < b1 {
        mix_body(gains, oc, cc, src(b0, b1), &mut out[dst(b0, b1)]);
    }
    let fade_out_start = j0.max(body.end);
    if fade_out_start < j1 {
        mix_faded(
            e,
            gains,
            oc,
            fade_out_start,
            src(fade_out_start, j1),
            &mut out[dst(fade_out_start, j1)],
        );
    }
}

/// `out[f][o] += gains[o] * src[f][o mod cc]`: the unfaded body.
fn mix_body(gains: &Gains, oc: usize, cc: usize, src: &[f32], out: &mut [f32]) {
    if let Some(pattern) = &gains.pattern {
        // Same layout: one contiguous multiply-add with a periodic gain.
        let mut out_chunks = out.chunks_exact_mut(LANES);
        let mut src_chunks = src.chunks_exact(LANES);
        for (o, s) in (&mut out_chunks).zip(&mut src_chunks) {
            for i in 0..LANES {
                o[i] += pattern[i] * s[i];
            }
        }
        let tail = out_chunks.into_remainder();
        for ((o, s), g) in tail.iter_mut().zip(src_chunks.remainder()).zip(pattern) {
            *o += g * s;
        }
    } else if cc == 1 {
        for (frame, &x) in out.chunks_exact_mut(oc).zip(src) {
            for (o, g) in frame.iter_mut().zip(&gains.per_channel[..]) {
                *o += g * x;
            }
        }
    } else {
        for (frame, sframe) in out.chunks_exact_mut(oc).zip(src.chunks_exact(cc)) {
            for ((o, g), x) in frame
                .iter_mut()
                .zip(&gains.per_channel[..])
                .zip(sframe.iter().cycle())
            {
                *o += g * x;
            }
        }
    }
}

/// `out[f][o] += (gains[o] * fade(j)) * src[f][o mod cc]` for frames from `j0`.
fn mix_faded(e: &Entry, gains: &Gains, oc: usize, j0: u64, src: &[f32], out: &mut [f32]) {
    let cc = e.clip.channels();
    let len = e.length();
    for (f, (frame, sframe)) in out
        .chunks_exact_mut(oc)
        .zip(src.chunks_exact(cc))
        .enumerate()
    {
        let fade = fade_factor(j0 + f as u64, len, e.fade_in, e.fade_out);
        for ((o, g), x) in frame
            .iter_mut()
            .zip(&gains.per_channel[..])
            .zip(sframe.iter().cycle())
        {
            *o += (g * fade) * x;
        }
    }
}

/// Clamps every sample to [-1, 1]: +inf becomes 1, -inf -1, and NaN (a sum
/// such as `inf - inf` from huge gains) silence, 0; so nothing non-finite
/// leaves the engine with the clamp on.
pub(crate) fn clamp(out: &mut [f32]) {
    for x in out {
        let v = *x;
        *x = if v.is_nan() { 0.0 } else { v.clamp(-1.0, 1.0) };
    }
}
