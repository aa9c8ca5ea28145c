//! BENCHMARK.md's workload W(N, P): the clips, the gains and the checksum
//! table, shared by the benches that mix or render it.

/// Frames per second of the workload.
pub const FRAME_RATE: u32 = 48_000;

/// Output and clip channels (stereo).
pub const CHANNELS: usize = 2;

/// The length of a run: 60 s.
pub const FRAMES: usize = 2_880_000;

/// The length of every clip, and the period of every entry's repeats: 10 s.
pub const CLIP_FRAMES: usize = 480_000;

/// How far a checksum's sum may stray from the table: the summation order
/// of f32 samples differs with the period.
pub const SUM_TOLERANCE: f64 = 2e-3;

/// The first `frames` frames of clip `i` (0-based): interleaved stereo i16
/// white noise from xorshift32, as BENCHMARK.md defines it. The workload's
/// clips have [`CLIP_FRAMES`] frames; shorter ones are its prefixes.
pub fn clip_i16(i: u32, frames: usize) -> Vec<i16> {
    let mut s: u32 = 0x9E37_79B9 ^ i.wrapping_mul(0x85EB_CA6B).wrapping_add(1);
    if s == 0 {
        s = 1;
    }
    (0..frames * CHANNELS)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 16) as u16 as i16
        })
        .collect()
}

/// [`clip_i16`] as f32: each sample divided by 32768.
pub fn clip_f32(i: u32, frames: usize) -> Vec<f32> {
    clip_i16(i, frames)
        .into_iter()
        .map(|s| f32::from(s) / 32768.0)
        .collect()
}

/// Entry `i`'s gains (left, right) in a workload of `n` entries, computed in
/// f64 and stored as f32.
pub fn gains(i: usize, n: usize) -> [f32; 2] {
    let root = (n as f64).sqrt();
    [
        ((0.5 + 0.05 * (i % 7) as f64) / root) as f32,
        ((0.5 + 0.07 * (i % 5) as f64) / root) as f32,
    ]
}

/// The sum of all output samples (after clamping) and the number of them
/// at exactly ±1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Checksum {
    /// The sum, in f64.
    pub sum: f64,
    /// Samples at exactly ±1.0.
    pub at_one: u64,
}

impl Checksum {
    /// Adds a stretch of output samples.
    pub fn add(&mut self, samples: &[f32]) {
        for &x in samples {
            self.sum += f64::from(x);
            self.at_one += u64::from(x.abs() == 1.0);
        }
    }

    /// Whether this is `expected` within [`SUM_TOLERANCE`], with the same
    /// count at ±1.
    pub fn matches(&self, expected: &Checksum) -> bool {
        (self.sum - expected.sum).abs() <= SUM_TOLERANCE && self.at_one == expected.at_one
    }
}

impl std::fmt::Display for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sum {:.4}, samples at ±1: {}", self.sum, self.at_one)
    }
}

/// BENCHMARK.md's checksum of W(`n`, P) for any P, for the N it lists.
pub fn expected(n: usize) -> Option<Checksum> {
    let (sum, at_one) = match n {
        1 => (-142.4388, 0),
        8 => (-3654.4453, 25_086),
        64 => (-2770.9667, 44_418),
        256 => (-2967.0463, 48_684),
        _ => return None,
    };
    Some(Checksum { sum, at_one })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_are_distinct_noise_and_prefixes_agree() {
        let a = clip_i16(0, 1000);
        let b = clip_i16(1, 1000);
        assert_eq!(a.len(), 2000);
        assert_ne!(a, b);
        assert_eq!(&clip_i16(0, 10)[..], &a[..20]);
        assert_eq!(clip_f32(3, 5)[7], f32::from(clip_i16(3, 5)[7]) / 32768.0);
    }

    #[test]
    fn gains_follow_the_formula() {
        assert_eq!(gains(0, 1), [0.5, 0.5]);
        let [l, r] = gains(8, 4);
        assert!(
            (l - 0.275).abs() < 1e-7 && (r - 0.355).abs() < 1e-7,
            "{l} {r}"
        );
    }

    #[test]
    fn checksum_counts_clamped_samples() {
        let mut c = Checksum::default();
        c.add(&[1.0, -1.0, 0.5, -0.25]);
        assert_eq!(c.sum, 0.25);
        assert_eq!(c.at_one, 2);
        assert!(!c.matches(&Checksum {
            sum: 0.25,
            at_one: 1
        }));
        assert!(c.matches(&Checksum {
            sum: 0.251,
            at_one: 2
        }));
    }
}
