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
    candidates: Vec<u32>,
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
        let candidates = Vec::with_capacity(data.index.capacity());
        Prepared {
            id,
            playspec,
            gains,
            out_channels,
            candidates,
        }
    }

    /// Adds the sum of every occurrence at positions `[p0, p0 + n)` into
    /// `out` (`n` interleaved frames). Real-time safe: no allocation.
    pub(crate) fn mix(&mut self, p0: i64, n: usize, out: &mut [f32]) {
        let data = self.playspec.data();
        self.candidates.clear();
        data.index.query(p0, n as u64, &mut self.candidates);
        self.candidates.sort_unstable();
        self.candidates.dedup();
        for &i in &self.candidates {
            let i = i as usize;
            mix_entry(
                &data.entries[i],
                &self.gains[i],
                self.out_channels,
                p0,
                n,
                out,
            );
        }
    }
}

/// Adds entry `e`'s occurrences that meet `[p0, p0 + n)` into `out`.
fn mix_entry(e: &Entry, gains: &Gains, oc: usize, p0: i64, n: usize, out: &mut [f32]) {
    let len = i128::from(e.length());
    let t = i128::from(e.play_at);
    let lo = i128::from(p0);
    let hi = lo + n as i128;
    let (k_lo, k_hi) = if e.repeat == 0 {
        (0, 0)
    } else {
        let r = i128::from(e.repeat);
        // Occurrence k = [t + k r, t + k r + len) meets [lo, hi) for
        // ceil((lo - t - len + 1) / r) <= k <= floor((hi - 1 - t) / r).
        let first = lo - t - len + 1;
        let k_lo = first.div_euclid(r) + i128::from(first.rem_euclid(r) != 0);
        (k_lo, (hi - 1 - t).div_euclid(r))
    };
    let mut k = k_lo;
    while k <= k_hi {
        let start = t + k * i128::from(e.repeat);
        let from = lo.max(start);
        let to = hi.min(start + len);
        if from < to {
            let j0 = (from - start) as u64;
            let j1 = (to - start) as u64;
            let off = (from - lo) as usize;
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
        k += 1;
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

/// Clamps every sample to [-1, 1].
pub(crate) fn clamp(out: &mut [f32]) {
    for x in out {
        *x = x.clamp(-1.0, 1.0);
    }
}
