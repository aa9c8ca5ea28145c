//! Clip tools, as the original AMIO had them: silence, a sine,
//! concatenation, overwrite, resize, one channel out, stereo from two mono
//! clips. Control side only; each returns a new clip and leaves the ones it
//! was given untouched.

use super::{check_shape, Clip};
use crate::error::{Error, Result};

/// `samples` zeroed samples, or an error naming `argument` when they do not
/// fit in memory (never an abort).
fn zeroed(samples: Option<usize>, argument: &'static str) -> Result<Vec<f32>> {
    crate::limits::filled(samples, 0.0, argument).map_err(|_| Error::Argument {
        argument,
        rule: "the clip would not fit in memory".into(),
    })
}

/// Checks that `clips[i]` agrees with `clips[0]` in frame rate and
/// channels (and frames, when `same_length`).
fn check_agree(operation: &'static str, clips: &[&Clip], same_length: bool) -> Result<()> {
    let Some(first) = clips.first() else {
        return Ok(());
    };
    for (index, c) in clips.iter().enumerate().skip(1) {
        let mut checks = vec![
            (
                "frame rate",
                u64::from(first.frame_rate()),
                u64::from(c.frame_rate()),
            ),
            ("channels", first.channels() as u64, c.channels() as u64),
        ];
        if same_length {
            checks.push(("frames", first.frames() as u64, c.frames() as u64));
        }
        if let Some((property, expected, got)) = checks.into_iter().find(|(_, a, b)| a != b) {
            return Err(Error::ClipsDiffer {
                operation,
                index,
                property,
                expected,
                got,
            });
        }
    }
    Ok(())
}

impl Clip {
    /// `frames` frames of silence in `channels` channels.
    pub fn silence(frame_rate: u32, channels: usize, frames: usize) -> Result<Clip> {
        check_shape(frame_rate, channels)?;
        let samples = zeroed(frames.checked_mul(channels), "silence frames")?;
        Clip::from_interleaved(frame_rate, channels, samples)
    }

    /// A sine of `frequency` Hz and peak `amplitude`, starting at phase 0,
    /// the same in each of `channels` channels: frame n is
    /// `amplitude · sin(2π · frequency · n / frame_rate)`.
    ///
    /// The phase is reduced to a quarter period before the sine is taken,
    /// so frames at whole quarter periods are exact: 0, ±amplitude.
    /// `frequency` must be finite and at least 0, `amplitude` finite.
    pub fn sine(
        frame_rate: u32,
        channels: usize,
        frames: usize,
        frequency: f64,
        amplitude: f32,
    ) -> Result<Clip> {
        check_shape(frame_rate, channels)?;
        if !(frequency.is_finite() && frequency >= 0.0) {
            return Err(Error::Argument {
                argument: "sine frequency",
                rule: format!("{frequency} Hz (the rule is: finite, at least 0)"),
            });
        }
        if !amplitude.is_finite() {
            return Err(Error::Argument {
                argument: "sine amplitude",
                rule: format!("{amplitude} (the rule is: finite)"),
            });
        }
        let mut samples = zeroed(frames.checked_mul(channels), "sine frames")?;
        let rate = f64::from(frame_rate);
        let amplitude = f64::from(amplitude);
        for (n, frame) in samples.chunks_exact_mut(channels).enumerate() {
            // Cycles so far, kept exact for integer frequencies as long as
            // frequency · n stays below 2^53.
            let cycles = (frequency * n as f64).rem_euclid(rate) / rate;
            let quarters = cycles * 4.0;
            let quadrant = quarters.floor();
            let r = quarters - quadrant;
            let half_pi = std::f64::consts::FRAC_PI_2;
            let value = match quadrant as u8 {
                0 => (r * half_pi).sin(),
                1 => ((1.0 - r) * half_pi).sin(),
                2 => -(r * half_pi).sin(),
                _ => -((1.0 - r) * half_pi).sin(),
            };
            frame.fill((amplitude * value) as f32);
        }
        Clip::from_interleaved(frame_rate, channels, samples)
    }

    /// The clips one after another. They must have the same frame rate and
    /// channels; the error names the first clip that differs, and how.
    pub fn concat(clips: &[Clip]) -> Result<Clip> {
        let Some(first) = clips.first() else {
            return Err(Error::Argument {
                argument: "concatenating clips",
                rule: "no clips given (the rule is: at least one)".into(),
            });
        };
        check_agree(
            "concatenating clips",
            &clips.iter().collect::<Vec<_>>(),
            false,
        )?;
        let total = clips
            .iter()
            .try_fold(0usize, |n, c| n.checked_add(c.samples().len()));
        let mut samples = Vec::new();
        samples
            .try_reserve_exact(total.unwrap_or(usize::MAX))
            .map_err(|_| Error::Argument {
                argument: "concatenating clips",
                rule: "the clip would not fit in memory".into(),
            })?;
        for c in clips {
            samples.extend_from_slice(c.samples());
        }
        Clip::from_interleaved(first.frame_rate(), first.channels(), samples)
    }

    /// This clip with the frames from `at` on replaced by `other`'s: frame
    /// `at + i` becomes `other`'s frame `i`.
    ///
    /// Frames of `other` that would land before frame 0 (a negative `at`)
    /// are left out. Frames that would land past the end are left out too,
    /// unless `extend`: then the clip grows to `at + other.frames()`, with
    /// silence between its old end and `at`. Both clips must have the same
    /// frame rate and channels.
    pub fn overwrite(&self, other: &Clip, at: i64, extend: bool) -> Result<Clip> {
        check_agree("overwriting a clip", &[self, other], false)?;
        let channels = self.channels();
        let reach = i128::from(at) + other.frames() as i128;
        let frames = if extend {
            usize::try_from(reach.max(self.frames() as i128)).ok()
        } else {
            Some(self.frames())
        };
        let mut samples = zeroed(
            frames.and_then(|f| f.checked_mul(channels)),
            "overwrite extension",
        )?;
        samples[..self.samples().len()].copy_from_slice(self.samples());
        let frames = samples.len() / channels;
        // The frames of `other` that land in 0..frames.
        let first = usize::try_from((-i128::from(at)).max(0)).unwrap_or(usize::MAX);
        let last = usize::try_from((frames as i128 - i128::from(at)).max(0))
            .unwrap_or(usize::MAX)
            .min(other.frames());
        if first < last {
            let to = usize::try_from(i128::from(at) + first as i128).unwrap_or(0);
            samples[to * channels..(to + last - first) * channels]
                .copy_from_slice(&other.samples()[first * channels..last * channels]);
        }
        Clip::from_interleaved(self.frame_rate(), channels, samples)
    }

    /// This clip cut to `frames` frames, or padded with silence to them.
    pub fn resize(&self, frames: usize) -> Result<Clip> {
        let channels = self.channels();
        let mut samples = zeroed(frames.checked_mul(channels), "resize frames")?;
        let keep = samples.len().min(self.samples().len());
        samples[..keep].copy_from_slice(&self.samples()[..keep]);
        Clip::from_interleaved(self.frame_rate(), channels, samples)
    }

    /// Channel `channel` (from 0) as a mono clip.
    pub fn channel(&self, channel: usize) -> Result<Clip> {
        if channel >= self.channels() {
            return Err(Error::Argument {
                argument: "channel",
                rule: format!(
                    "{channel} is not one of the clip's {} channels (the rule is channel < channels)",
                    self.channels()
                ),
            });
        }
        let samples = self
            .samples()
            .iter()
            .skip(channel)
            .step_by(self.channels())
            .copied()
            .collect();
        Clip::from_interleaved(self.frame_rate(), 1, samples)
    }

    /// A stereo clip from two mono clips of the same frame rate and length:
    /// `left` is channel 0, `right` channel 1.
    pub fn stereo(left: &Clip, right: &Clip) -> Result<Clip> {
        for (argument, c) in [("stereo left", left), ("stereo right", right)] {
            if c.channels() != 1 {
                return Err(Error::Argument {
                    argument,
                    rule: format!("the clip has {} channels (the rule is: mono)", c.channels()),
                });
            }
        }
        check_agree("making a stereo clip", &[left, right], true)?;
        Clip::from_planar(left.frame_rate(), &[left.samples(), right.samples()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(frames: usize, channels: usize) -> Clip {
        Clip::from_interleaved(
            48_000,
            channels,
            (0..frames * channels).map(|i| (i + 1) as f32).collect(),
        )
        .unwrap()
    }

    #[test]
    fn silence_is_zeros_of_the_shape_asked() {
        let c = Clip::silence(44_100, 3, 5).unwrap();
        assert_eq!((c.frame_rate(), c.channels(), c.frames()), (44_100, 3, 5));
        assert!(c.samples().iter().all(|&s| s == 0.0));
        assert!(Clip::silence(48_000, 0, 5).is_err());
        let err = Clip::silence(48_000, 2, usize::MAX).unwrap_err();
        assert_eq!(
            err.to_string(),
            "silence frames: the clip would not fit in memory"
        );
        let err = Clip::silence(48_000, 1, 1 << 60).unwrap_err();
        assert!(matches!(err, Error::Argument { .. }), "{err}");
    }

    #[test]
    fn sine_samples_at_known_phases() {
        // 1 kHz at 8 kHz: 8 frames a cycle, every 2 a quarter period.
        let c = Clip::sine(8_000, 2, 16, 1_000.0, 0.5).unwrap();
        let left: Vec<f32> = c.samples().iter().step_by(2).copied().collect();
        let h = (0.5 * std::f64::consts::FRAC_1_SQRT_2) as f32;
        assert_eq!(
            left,
            [0.0, h, 0.5, h, 0.0, -h, -0.5, -h, 0.0, h, 0.5, h, 0.0, -h, -0.5, -h]
        );
        assert_eq!(c.samples()[1], c.samples()[0]);
        assert_eq!(c.samples()[5], 0.5, "both channels");
        // 440 Hz at 48 kHz, frame 30 is 0.275 cycles in.
        let c = Clip::sine(48_000, 1, 100, 440.0, 1.0).unwrap();
        let want = (2.0 * std::f64::consts::PI * 440.0 * 30.0 / 48_000.0).sin() as f32;
        assert!((c.samples()[30] - want).abs() <= f32::EPSILON);
        // Long clips keep their phase: 100 s in, a quarter period is
        // still exactly the amplitude.
        let c = Clip::sine(48_000, 1, 4_800_013, 1_000.0, 1.0).unwrap();
        assert_eq!(c.samples()[4_800_012], 1.0);
        assert_eq!(Clip::sine(48_000, 1, 0, 1_000.0, 1.0).unwrap().frames(), 0);
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            assert!(Clip::sine(48_000, 1, 4, bad, 1.0).is_err());
        }
        assert!(Clip::sine(48_000, 1, 4, 100.0, f32::NAN).is_err());
    }

    #[test]
    fn concatenation_lengths_and_mismatches() {
        let c = Clip::concat(&[ramp(3, 2), ramp(0, 2), ramp(5, 2)]).unwrap();
        assert_eq!(c.frames(), 8);
        assert_eq!(&c.samples()[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0]);
        let err = Clip::concat(&[ramp(3, 2), ramp(2, 2), ramp(2, 1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "concatenating clips: clip 2 has channels 1, clip 0 has 2 (the clips must have the same channels)"
        );
        let other_rate = Clip::silence(44_100, 2, 1).unwrap();
        let err = Clip::concat(&[ramp(3, 2), other_rate]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "concatenating clips: clip 1 has frame rate 44100, clip 0 has 48000 (the clips must have the same frame rate)"
        );
        assert!(Clip::concat(&[]).is_err());
    }

    #[test]
    fn overwrite_inside_before_and_past_the_end() {
        let base = Clip::silence(48_000, 1, 6).unwrap();
        let patch = ramp(3, 1); // 1 2 3
        let at = |at, extend| {
            base.overwrite(&patch, at, extend)
                .unwrap()
                .samples()
                .to_vec()
        };
        assert_eq!(at(2, false), [0.0, 0.0, 1.0, 2.0, 3.0, 0.0]);
        assert_eq!(at(-2, false), [3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(at(-2, true), [3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(at(-5, false), [0.0; 6]);
        assert_eq!(at(5, false), [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(at(5, true), [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0]);
        assert_eq!(at(8, false), [0.0; 6]);
        assert_eq!(
            at(8, true),
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(base.samples(), [0.0; 6], "the original is untouched");
        let err = base.overwrite(&ramp(1, 2), 0, false).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("overwriting a clip: clip 1 has channels 2"));
        assert!(base.overwrite(&patch, i64::MAX, true).is_err());
        assert_eq!(base.overwrite(&patch, i64::MIN, true).unwrap().frames(), 6);
    }

    #[test]
    fn resize_channel_and_stereo() {
        let c = ramp(3, 2);
        assert_eq!(c.resize(2).unwrap().samples(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            c.resize(4).unwrap().samples(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0]
        );
        assert_eq!(c.resize(0).unwrap().frames(), 0);
        assert_eq!(c.channel(1).unwrap().samples(), [2.0, 4.0, 6.0]);
        assert_eq!(
            c.channel(2).unwrap_err().to_string(),
            "channel: 2 is not one of the clip's 2 channels (the rule is channel < channels)"
        );
        let s = Clip::stereo(&c.channel(1).unwrap(), &c.channel(0).unwrap()).unwrap();
        assert_eq!(s.samples(), [2.0, 1.0, 4.0, 3.0, 6.0, 5.0]);
        assert_eq!(
            Clip::stereo(&c, &c).unwrap_err().to_string(),
            "stereo left: the clip has 2 channels (the rule is: mono)"
        );
        let err = Clip::stereo(&ramp(3, 1), &ramp(4, 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "making a stereo clip: clip 1 has frames 4, clip 0 has 3 (the clips must have the same frames)"
        );
    }
}
