//! Offline metering: a whole clip's levels over consecutive windows.

use crate::clip::Clip;
use crate::error::Result;
use crate::meter::{Lanes, MeterWindow, Reading};

impl Clip {
    /// Peak and RMS per channel over consecutive windows from frame 0; the
    /// last window holds what is left. An empty clip has no windows.
    pub fn meter(&self, window: MeterWindow) -> Result<Vec<Reading>> {
        window.check(self.frame_rate())?;
        let channels = self.channels();
        let total = self.frames() as u64;
        let mut lanes = Lanes::new(channels)?;
        let mut boundaries = window.boundaries(self.frame_rate());
        let mut readings = Vec::new();
        let mut start = 0;
        while start < total {
            let end = boundaries.end().min(total);
            lanes.add(&self.samples()[start as usize * channels..end as usize * channels]);
            let mut levels = Vec::with_capacity(channels);
            lanes.end_window(|a| levels.push(a.level(end - start)));
            readings.push(Reading {
                frame: start,
                frames: end - start,
                levels,
            });
            start = end;
            boundaries.advance();
        }
        Ok(readings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_and_silence() {
        // 1 kHz at 48 kHz: 48 frames a cycle; windows of whole cycles.
        let sine = Clip::sine(48_000, 2, 4_800, 1_000.0, 1.0).unwrap();
        let r = sine.meter(MeterWindow::Frames(480)).unwrap();
        assert_eq!(r.len(), 10);
        for reading in &r {
            for l in &reading.levels {
                assert_eq!(l.peak_db, 0.0);
                assert!((l.rms_db - -3.0103).abs() < 1e-4, "{}", l.rms_db);
            }
        }
        let half = Clip::sine(48_000, 1, 480, 1_000.0, 0.5).unwrap();
        let l = half.meter(MeterWindow::Frames(480)).unwrap()[0].levels[0];
        assert!((l.peak_db - -6.0206).abs() < 1e-4);
        assert!((l.rms_db - -9.0309).abs() < 1e-4);
        let silence = Clip::silence(48_000, 1, 100).unwrap();
        let l = silence.meter(MeterWindow::Frames(30)).unwrap()[3].levels[0];
        assert_eq!(l.peak_db, f32::NEG_INFINITY);
        assert_eq!(l.rms_db, f32::NEG_INFINITY);
    }

    #[test]
    fn windows_by_frames_and_per_second() {
        let c = Clip::silence(44_100, 1, 44_100 + 10).unwrap();
        let r = c.meter(MeterWindow::Frames(1_000)).unwrap();
        assert_eq!(r.len(), 45);
        assert_eq!((r[44].frame, r[44].frames), (44_000, 110));
        // 24 a second at 44.1 kHz: 1837.5 frames, so 1837 and 1838 in turn.
        let r = c.meter(MeterWindow::PerSecond(24)).unwrap();
        assert_eq!(r.len(), 25);
        assert_eq!(
            r[..4]
                .iter()
                .map(|r| (r.frame, r.frames))
                .collect::<Vec<_>>(),
            [(0, 1837), (1837, 1838), (3675, 1837), (5512, 1838)]
        );
        assert_eq!((r[23].frame + r[23].frames, r[24].frames), (44_100, 10));
        assert!(Clip::silence(48_000, 1, 0)
            .unwrap()
            .meter(MeterWindow::Frames(4))
            .unwrap()
            .is_empty());
        assert!(c.meter(MeterWindow::Frames(0)).is_err());
        assert!(c.meter(MeterWindow::PerSecond(0)).is_err());
        assert_eq!(
            c.meter(MeterWindow::PerSecond(50_000))
                .unwrap_err()
                .to_string(),
            "meter window: 50000 windows a second at 44100 Hz (the rule is 1 <= n <= frame rate)"
        );
    }

    #[test]
    fn boundaries_are_exact() {
        let w = MeterWindow::PerSecond(3);
        let b: Vec<u64> = [0, 2, 3, 5, 6, 9]
            .iter()
            .map(|&f| w.next_boundary(f, 10))
            .collect();
        // Windows start at 0, 3, 6, 10, 13, ...
        assert_eq!(b, [3, 3, 6, 6, 10, 10]);
        assert_eq!(MeterWindow::Frames(4).next_boundary(7, 1), 8);
    }

    proptest::proptest! {
        #[test]
        fn boundaries_follow_the_definition(
            rate in 1u32..200_000,
            n in 1u32..5_000,
            frames in 1u64..10_000,
            per_second in proptest::bool::ANY,
        ) {
            let w = if per_second {
                MeterWindow::PerSecond(n.min(rate))
            } else {
                MeterWindow::Frames(frames)
            };
            let mut b = w.boundaries(rate);
            let mut start = 0;
            for _ in 0..300 {
                proptest::prop_assert_eq!(b.end(), w.next_boundary(start, rate));
                start = b.end();
                b.advance();
            }
        }
    }
}
