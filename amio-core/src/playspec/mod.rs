//! Playspecs: the arrangement to play, a list of entries (SPEC.md, "Playspec
//! entry").
//!
//! A [`Playspec`] is validated and indexed when it is built, on the control
//! side; the audio thread only reads it. The id a playspec plays under is
//! given when it is scheduled, so one playspec can be scheduled many times.

use std::ops::Range;
use std::sync::Arc;

use crate::clip::Clip;
use crate::error::{EntryRule, Error, Result};
use index::TimelineIndex;

pub(crate) mod index;
mod kernel;
pub(crate) mod mix;

pub(crate) use kernel::Kernel;
pub use kernel::MixKernel;

/// One entry of a playspec: a cropped clip at a position, with per-channel
/// gains, optional repeat and fades.
///
/// An occurrence that starts at position `t` with length `L = b - a`
/// contributes, at position `p` with `j = p - t` and `0 <= j < L`, to output
/// channel `o`: `gains[o] * fade(j) * clip[a + j][o mod clip.channels]`.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The clip to play.
    pub clip: Clip,
    /// The part of the clip to play, in clip frames (`0 <= a <= b <= clip.frames`).
    pub range: Range<u64>,
    /// The playspec position at which clip frame `a` sounds.
    pub play_at: i64,
    /// 0: once; else the entry also sounds at `play_at + k * repeat` for every
    /// integer `k` (negative too). Must be `>= 0`.
    pub repeat: i64,
    /// One gain factor per output channel of the interface; finite.
    pub gains: Vec<f32>,
    /// Fade-in ramp length in frames, per occurrence (0 = none).
    pub fade_in: u64,
    /// Fade-out ramp length in frames, per occurrence (0 = none).
    pub fade_out: u64,
}

impl Entry {
    /// An entry that plays the whole clip once at position 0 with the given
    /// gains and no fades.
    pub fn new(clip: Clip, gains: Vec<f32>) -> Entry {
        let frames = clip.frames() as u64;
        Entry {
            clip,
            range: 0..frames,
            play_at: 0,
            repeat: 0,
            gains,
            fade_in: 0,
            fade_out: 0,
        }
    }

    /// Sets the range `a..b` of clip frames to play.
    pub fn range(mut self, range: Range<u64>) -> Entry {
        self.range = range;
        self
    }

    /// Sets the position at which clip frame `a` sounds.
    pub fn play_at(mut self, position: i64) -> Entry {
        self.play_at = position;
        self
    }

    /// Sets the repeat period (0: once).
    pub fn repeat(mut self, repeat: i64) -> Entry {
        self.repeat = repeat;
        self
    }

    /// Sets the fade-in and fade-out lengths.
    pub fn fades(mut self, fade_in: u64, fade_out: u64) -> Entry {
        self.fade_in = fade_in;
        self.fade_out = fade_out;
        self
    }

    /// `L = b - a`, the length of one occurrence (0 if the range is reversed).
    pub fn length(&self) -> u64 {
        self.range.end.saturating_sub(self.range.start)
    }

    /// Checks the rules that do not depend on the interface.
    fn check(&self) -> std::result::Result<(), EntryRule> {
        let (start, end) = (self.range.start, self.range.end);
        if start > end {
            return Err(EntryRule::RangeReversed { start, end });
        }
        let frames = self.clip.frames() as u64;
        if end > frames {
            return Err(EntryRule::RangePastClip { start, end, frames });
        }
        if self.repeat < 0 {
            return Err(EntryRule::NegativeRepeat {
                repeat: self.repeat,
            });
        }
        if let Some((channel, &gain)) = self.gains.iter().enumerate().find(|(_, g)| !g.is_finite())
        {
            return Err(EntryRule::GainNotFinite { channel, gain });
        }
        let length = end - start;
        if u128::from(self.fade_in) + u128::from(self.fade_out) > u128::from(length) {
            return Err(EntryRule::FadesTooLong {
                fade_in: self.fade_in,
                fade_out: self.fade_out,
                length,
            });
        }
        Ok(())
    }

    /// Checks the rules that depend on the interface: one gain per output
    /// channel and the clip's frame rate.
    fn check_for(
        &self,
        out_channels: usize,
        frame_rate: u32,
    ) -> std::result::Result<(), EntryRule> {
        if self.gains.len() != out_channels {
            return Err(EntryRule::GainCount {
                gains: self.gains.len(),
                channels: out_channels,
            });
        }
        if self.clip.frame_rate() != frame_rate {
            return Err(EntryRule::FrameRateMismatch {
                clip: self.clip.frame_rate(),
                interface: frame_rate,
            });
        }
        Ok(())
    }

    /// The fade factor `fade(j)` of SPEC.md for frame `j` of an occurrence.
    pub fn fade(&self, j: u64) -> f32 {
        fade_factor(j, self.length(), self.fade_in, self.fade_out)
    }
}

/// `fade(j)` for an occurrence of length `len`: 1, times `(j + 0.5) / fade_in`
/// when `j < fade_in`, times `(len - j - 0.5) / fade_out` when
/// `j >= len - fade_out`. Computed in f64 and rounded once to f32, so every
/// caller gets the same bits.
pub(crate) fn fade_factor(j: u64, len: u64, fade_in: u64, fade_out: u64) -> f32 {
    let mut f = 1.0f64;
    if j < fade_in {
        f *= (j as f64 + 0.5) / fade_in as f64;
    }
    if j >= len - fade_out {
        f *= ((len - j) as f64 - 0.5) / fade_out as f64;
    }
    f as f32
}

/// An arrangement to play: validated entries and their timeline index.
///
/// Cheap to clone (a reference count); immutable once built.
#[derive(Clone)]
pub struct Playspec(Arc<PlayspecData>);

pub(crate) struct PlayspecData {
    pub(crate) entries: Vec<Entry>,
    pub(crate) index: TimelineIndex,
}

impl std::fmt::Debug for Playspec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playspec")
            .field("entries", &self.0.entries.len())
            .finish()
    }
}

impl Default for Playspec {
    fn default() -> Playspec {
        Playspec::empty()
    }
}

impl Playspec {
    /// Validates the entries (every rule of SPEC.md that does not depend on
    /// the interface) and builds the timeline index. An entry that breaks a
    /// rule is refused with [`Error::Entry`], naming its index and the rule.
    pub fn new(entries: Vec<Entry>) -> Result<Playspec> {
        for (entry, e) in entries.iter().enumerate() {
            e.check().map_err(|rule| Error::Entry { entry, rule })?;
        }
        let index = TimelineIndex::build(&entries);
        Ok(Playspec(Arc::new(PlayspecData { entries, index })))
    }

    /// The playspec with no entries (silence).
    pub fn empty() -> Playspec {
        Playspec(Arc::new(PlayspecData {
            entries: Vec::new(),
            index: TimelineIndex::build(&[]),
        }))
    }

    /// The entries, in the order they were given.
    pub fn entries(&self) -> &[Entry] {
        &self.0.entries
    }

    /// Checks the rules that depend on the interface (gain count, frame
    /// rate); called when the playspec is scheduled.
    pub fn check_for(&self, out_channels: usize, frame_rate: u32) -> Result<()> {
        for (entry, e) in self.0.entries.iter().enumerate() {
            e.check_for(out_channels, frame_rate)
                .map_err(|rule| Error::Entry { entry, rule })?;
        }
        Ok(())
    }

    pub(crate) fn data(&self) -> &PlayspecData {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(frames: usize) -> Clip {
        Clip::from_interleaved(48000, 1, vec![0.0; frames]).unwrap()
    }

    fn rule_of(entry: Entry) -> EntryRule {
        match Playspec::new(vec![Entry::new(clip(4), vec![1.0]), entry]) {
            Err(Error::Entry { entry: 1, rule }) => rule,
            other => panic!("expected entry 1 to be refused, got {other:?}"),
        }
    }

    #[test]
    fn every_rule_is_named() {
        let c = clip(10);
        assert_eq!(
            rule_of(Entry::new(c.clone(), vec![1.0]).range(std::ops::Range { start: 5, end: 4 })),
            EntryRule::RangeReversed { start: 5, end: 4 }
        );
        assert_eq!(
            rule_of(Entry::new(c.clone(), vec![1.0]).range(2..11)),
            EntryRule::RangePastClip {
                start: 2,
                end: 11,
                frames: 10
            }
        );
        assert_eq!(
            rule_of(Entry::new(c.clone(), vec![1.0]).repeat(-3)),
            EntryRule::NegativeRepeat { repeat: -3 }
        );
        assert!(matches!(
            rule_of(Entry::new(c.clone(), vec![1.0, f32::INFINITY])),
            EntryRule::GainNotFinite { channel: 1, .. }
        ));
        assert_eq!(
            rule_of(Entry::new(c.clone(), vec![1.0]).range(2..8).fades(4, 3)),
            EntryRule::FadesTooLong {
                fade_in: 4,
                fade_out: 3,
                length: 6
            }
        );
        assert_eq!(
            rule_of(Entry::new(c.clone(), vec![1.0]).fades(u64::MAX, 1)),
            EntryRule::FadesTooLong {
                fade_in: u64::MAX,
                fade_out: 1,
                length: 10
            }
        );
        let err =
            Playspec::new(vec![Entry::new(c, vec![1.0]).range(2..8).fades(4, 3)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "playspec entry 0: fade_in 4 + fade_out 3 exceeds the range's 6 frames (the rule is fade_in + fade_out <= b - a)"
        );
    }

    #[test]
    fn interface_rules_are_checked_at_schedule() {
        let p = Playspec::new(vec![
            Entry::new(clip(3), vec![1.0, 1.0]),
            Entry::new(clip(3), vec![1.0]),
        ])
        .unwrap();
        let err = p.check_for(2, 48000).unwrap_err();
        assert!(matches!(
            err,
            Error::Entry {
                entry: 1,
                rule: EntryRule::GainCount {
                    gains: 1,
                    channels: 2
                }
            }
        ));
        let slow = Clip::from_interleaved(44100, 1, vec![0.0]).unwrap();
        let p = Playspec::new(vec![Entry::new(slow, vec![1.0])]).unwrap();
        assert_eq!(
            p.check_for(1, 48000).unwrap_err().to_string(),
            "playspec entry 0: clip frame rate 44100 Hz differs from the interface's 48000 Hz (resample the clip first)"
        );
    }

    #[test]
    fn fade_matches_spec() {
        // L = 10, fade_in 4, fade_out 2.
        let e = Entry::new(clip(10), vec![1.0]).fades(4, 2);
        let expect = [0.125, 0.375, 0.625, 0.875, 1.0, 1.0, 1.0, 1.0, 0.75, 0.25];
        for (j, want) in expect.iter().enumerate() {
            assert_eq!(e.fade(j as u64), *want, "j = {j}");
        }
    }
}
