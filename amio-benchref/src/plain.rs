//! The plain C loop (csrc/plain_mix.c) behind a safe interface.

use std::ffi::{c_int, c_void};
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::workload::CHANNELS;

/// The C side's entry (`struct amio_benchref_entry`).
#[repr(C)]
struct RawEntry {
    samples: *const f32,
    frames: usize,
    gain_left: f32,
    gain_right: f32,
}

type PeriodFn = extern "C" fn(user: *mut c_void, out: *const f32, frames: usize) -> c_int;

extern "C" {
    fn amio_benchref_mix(
        entries: *const RawEntry,
        n_entries: usize,
        start: u64,
        frames: u64,
        period: usize,
        out: *mut f32,
        each: PeriodFn,
        user: *mut c_void,
    ) -> u64;
}

/// Why a [`PlainMix`] or an [`Entry`] was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A clip's sample count is not a positive whole number of stereo
    /// frames.
    NotStereo {
        /// The clip's sample count.
        samples: usize,
    },
    /// The period is zero.
    ZeroPeriod,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotStereo { samples } => write!(
                f,
                "a clip of {samples} samples is not one or more interleaved stereo frames"
            ),
            Error::ZeroPeriod => f.write_str("the period must be at least one frame"),
        }
    }
}

impl std::error::Error for Error {}

/// One entry of the plain loop: an interleaved stereo clip (for example an
/// amio `Clip::samples()`) that plays from stream frame 0 and repeats every
/// clip length, with its left and right gains.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    samples: &'a [f32],
    gains: [f32; 2],
}

impl<'a> Entry<'a> {
    /// An entry of `samples` (interleaved stereo, at least one frame) with
    /// `gains` (left, right).
    pub fn new(samples: &'a [f32], gains: [f32; 2]) -> Result<Entry<'a>, Error> {
        if samples.is_empty() || !samples.len().is_multiple_of(CHANNELS) {
            return Err(Error::NotStereo {
                samples: samples.len(),
            });
        }
        Ok(Entry { samples, gains })
    }
}

/// The plainest mixing loop, in C: per period, clear the output,
/// multiply-add every entry's frames at its position (the position modulo
/// the clip's length, split where the period wraps past the clip's end) in
/// entry order, clamp to [-1, 1]. Its output equals amio's for the same
/// entries (no fused multiply-add on either side), so a checksum shows the
/// two did the same work.
///
/// Holds its entries and its period buffer, so [`PlainMix::render`]
/// allocates nothing. The period buffer starts at the same offset within a
/// 4 KiB page as the first clip's samples: a loop that stores its output a
/// little ahead (modulo 4096 bytes) of where it loads its input stalls on
/// false store-to-load dependencies ("4K aliasing"), up to twice as slow,
/// and at P ≥ 256 a period's start keeps the same offset all run, so a
/// placement left to chance would decide the reference's speed. With this
/// one, whole periods never alias at P ≥ 256.
pub struct PlainMix<'a> {
    entries: Vec<RawEntry>,
    /// The period buffer is `out[start..start + period * CHANNELS]`.
    out: Vec<f32>,
    start: usize,
    period: usize,
    clips: PhantomData<&'a [f32]>,
}

// The callback's state, reached through the C side's `user` pointer.
struct Callback<F> {
    each: F,
    panic: Option<Box<dyn std::any::Any + Send>>,
}

extern "C" fn period_done<F: FnMut(&[f32])>(
    user: *mut c_void,
    out: *const f32,
    frames: usize,
) -> c_int {
    // SAFETY: `user` is the `&mut Callback<F>` that `PlainMix::render` passed
    // to `amio_benchref_mix` for this same `F`; it outlives the call, and the
    // C side calls back on the calling thread only, never concurrently, so
    // this is the only reference to it while the callback runs.
    let callback = unsafe { &mut *user.cast::<Callback<F>>() };
    // SAFETY: `out` is the PlainMix's period buffer of `2 * period` floats and
    // `frames <= period`; the C side does not write it until this returns.
    let samples = unsafe { std::slice::from_raw_parts(out, frames * CHANNELS) };
    match catch_unwind(AssertUnwindSafe(|| (callback.each)(samples))) {
        Ok(()) => 0,
        Err(payload) => {
            // Unwinding through C is not allowed: stop the loop, rethrow
            // once it has returned.
            callback.panic = Some(payload);
            1
        }
    }
}

impl<'a> PlainMix<'a> {
    /// A mixer of `entries` rendering periods of `period` frames.
    pub fn new(entries: &[Entry<'a>], period: usize) -> Result<PlainMix<'a>, Error> {
        if period == 0 {
            return Err(Error::ZeroPeriod);
        }
        const PAGE: usize = 4096;
        let floats = PAGE / std::mem::size_of::<f32>();
        let out = vec![0.0; period * CHANNELS + floats];
        // Both addresses are multiples of 4, so the shift is whole floats.
        let start = entries.first().map_or(0, |e| {
            let want = e.samples.as_ptr() as usize % PAGE;
            let have = out.as_ptr() as usize % PAGE;
            (want + PAGE - have) % PAGE / std::mem::size_of::<f32>()
        });
        Ok(PlainMix {
            entries: entries
                .iter()
                .map(|e| RawEntry {
                    samples: e.samples.as_ptr(),
                    frames: e.samples.len() / CHANNELS,
                    gain_left: e.gains[0],
                    gain_right: e.gains[1],
                })
                .collect(),
            out,
            start,
            period,
            clips: PhantomData,
        })
    }

    /// The period in frames.
    pub fn period(&self) -> usize {
        self.period
    }

    /// Mixes stream frames `start .. start + frames` period by period (the
    /// last period may be shorter) and calls `each` with every period's
    /// interleaved stereo output. A panic in `each` stops the loop and is
    /// resumed here.
    pub fn render(&mut self, start: u64, frames: u64, mut each: impl FnMut(&[f32])) {
        self.render_with(start, frames, &mut each);
    }

    fn render_with<F: FnMut(&[f32])>(&mut self, start: u64, frames: u64, each: F) {
        let mut callback = Callback { each, panic: None };
        // SAFETY: every entry's pointer and frame count come from a slice
        // borrowed for 'a, which outlives `self`, with at least one stereo
        // frame (checked by `Entry::new`); `out[start..]` holds at least
        // `2 * period` floats (`start < 1024`, the buffer is 1024 floats
        // longer) and is borrowed mutably for the call, so nothing else
        // touches it;
        // `callback` lives on this stack frame until the call returns, and
        // the C side calls `period_done::<F>` on this thread only.
        unsafe {
            amio_benchref_mix(
                self.entries.as_ptr(),
                self.entries.len(),
                start,
                frames,
                self.period,
                self.out[self.start..].as_mut_ptr(),
                period_done::<F>,
                std::ptr::from_mut(&mut callback).cast(),
            );
        }
        if let Some(payload) = callback.panic {
            resume_unwind(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{clip_f32, expected, gains, Checksum, CLIP_FRAMES, FRAMES};

    /// The same mix in plain Rust, one period of `len` frames from `start`.
    fn model(clips: &[(Vec<f32>, [f32; 2])], start: u64, len: usize) -> Vec<f32> {
        let mut out = vec![0.0f32; len * 2];
        for (samples, g) in clips {
            let frames = (samples.len() / 2) as u64;
            for (f, pair) in out.chunks_exact_mut(2).enumerate() {
                let pos = ((start + f as u64) % frames) as usize;
                pair[0] += samples[2 * pos] * g[0];
                pair[1] += samples[2 * pos + 1] * g[1];
            }
        }
        out.iter().map(|x| x.clamp(-1.0, 1.0)).collect()
    }

    #[test]
    fn matches_a_rust_model_across_clip_ends_and_a_short_last_period() {
        // Clip lengths that no period divides, loud gains so that some
        // samples clamp, a start past a clip's end.
        let clips: Vec<(Vec<f32>, [f32; 2])> = [(0, 37), (1, 100), (2, 5)]
            .iter()
            .map(|&(i, frames)| (clip_f32(i, frames), [1.5, -0.75]))
            .collect();
        let entries: Vec<Entry> = clips
            .iter()
            .map(|(s, g)| Entry::new(s, *g).unwrap())
            .collect();
        for period in [1, 16, 64] {
            let mut mix = PlainMix::new(&entries, period).unwrap();
            let (start, frames) = (41u64, 300u64);
            let mut got = Vec::new();
            let mut lengths = Vec::new();
            mix.render(start, frames, |out| {
                lengths.push(out.len() / 2);
                got.extend_from_slice(out);
            });
            assert_eq!(got.len(), 600);
            assert!(lengths[..lengths.len() - 1].iter().all(|&l| l == period));
            let mut want = Vec::new();
            let mut done = 0;
            while done < frames {
                let len = (period as u64).min(frames - done);
                want.extend(model(&clips, start + done, len as usize));
                done += len;
            }
            assert_eq!(got, want, "period {period}");
            assert!(got.iter().any(|&x| x.abs() == 1.0));
        }
    }

    #[test]
    fn mixes_w1_to_benchmark_md_checksum() {
        let clip = clip_f32(0, CLIP_FRAMES);
        let entry = Entry::new(&clip, gains(0, 1)).unwrap();
        let mut mix = PlainMix::new(&[entry], 1024).unwrap();
        let mut sum = Checksum::default();
        mix.render(0, FRAMES as u64, |out| sum.add(out));
        let want = expected(1).unwrap();
        assert!(sum.matches(&want), "{sum}; BENCHMARK.md: {want}");
    }

    #[test]
    fn the_period_buffer_shares_the_first_clips_page_offset() {
        let clip = clip_f32(0, 1000);
        for skip in 0..4 {
            let entry = Entry::new(&clip[2 * skip..], [1.0, 1.0]).unwrap();
            let mut mix = PlainMix::new(&[entry], 256).unwrap();
            let mut seen = None;
            mix.render(0, 256, |out| seen = Some(out.as_ptr() as usize % 4096));
            assert_eq!(seen, Some(clip[2 * skip..].as_ptr() as usize % 4096));
        }
    }

    #[test]
    fn refuses_bad_shapes() {
        assert_eq!(
            Entry::new(&[0.0; 3], [1.0, 1.0]).unwrap_err(),
            Error::NotStereo { samples: 3 }
        );
        assert!(Entry::new(&[], [1.0, 1.0]).is_err());
        let entry = Entry::new(&[0.0; 2], [1.0, 1.0]).unwrap();
        assert_eq!(PlainMix::new(&[entry], 0).err(), Some(Error::ZeroPeriod));
    }

    #[test]
    fn a_panic_in_the_callback_stops_the_loop_and_is_resumed() {
        let clip = [0.25f32; 8];
        let entry = Entry::new(&clip, [1.0, 1.0]).unwrap();
        let mut mix = PlainMix::new(&[entry], 2).unwrap();
        let mut calls = 0;
        let result = catch_unwind(AssertUnwindSafe(|| {
            mix.render(0, 100, |_| {
                calls += 1;
                if calls == 3 {
                    panic!("stop");
                }
            })
        }));
        assert!(result.is_err());
        assert_eq!(calls, 3);
    }
}
