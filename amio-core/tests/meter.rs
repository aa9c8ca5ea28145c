//! Live meters equal the offline meters of the same signal over the same
//! windows, whatever the periods: the engine plays a clip from frame 0 and
//! is fed the same clip as input.
#![allow(clippy::unwrap_used)]

use amio_core::{
    Clip, Config, Entry, Event, Interface, Level, Meter, MeterWindow, Metering, Playspec,
    StreamInfo,
};
use proptest::prelude::*;

/// A stereo signal: a 1 kHz sine on the left, a decaying 330 Hz one on the
/// right, silence in the middle.
fn signal(frames: usize) -> Clip {
    let left = Clip::sine(48_000, 1, frames, 1_000.0, 0.8).unwrap();
    let right = Clip::sine(48_000, 1, frames, 330.0, 1.0).unwrap();
    let right: Vec<f32> = right
        .samples()
        .iter()
        .enumerate()
        .map(|(i, &x)| x * (-(i as f32) / 20_000.0).exp())
        .collect();
    let right = Clip::from_interleaved(48_000, 1, right).unwrap();
    let quiet = Clip::silence(48_000, 1, 5_000).unwrap();
    let stereo = Clip::stereo(&left, &right).unwrap();
    stereo
        .overwrite(&Clip::stereo(&quiet, &quiet).unwrap(), 10_000, false)
        .unwrap()
}

/// Runs the engine over `clip` in blocks of the given sizes (cycled) with
/// `metering`; returns the meters.
fn live(clip: &Clip, metering: Metering, blocks: &[usize]) -> Vec<Meter> {
    let info = StreamInfo {
        backend: "null".into(),
        device: "null".into(),
        frame_rate: 48_000,
        period: 1024,
        max_period: 1024,
        in_channels: 2,
        out_channels: 2,
        capture_latency: 0,
        playback_latency: 0,
    };
    let config = Config {
        metering,
        event_capacity: 1 << 16,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info, &config).unwrap();
    let playspec = Playspec::new(vec![Entry::new(clip.clone(), vec![1.0, 1.0])]).unwrap();
    interface.schedule(&playspec, 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    let mut done = 0;
    let mut out = vec![0.0; 1024 * 2];
    for &n in blocks.iter().cycle() {
        if done >= clip.frames() {
            break;
        }
        let n = n.min(clip.frames() - done);
        let input = &clip.samples()[done * 2..(done + n) * 2];
        engine.process_interleaved(n, input, &mut out[..n * 2]);
        assert_eq!(&out[..n * 2], input, "the output is the clip");
        done += n;
    }
    interface
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Meter(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
fn live_meters_equal_offline_meters_over_the_same_windows() {
    let clip = signal(48_000);
    for window in [MeterWindow::PerSecond(24), MeterWindow::Frames(480)] {
        let offline = clip.meter(window).unwrap();
        for blocks in [&[256][..], &[64, 1000, 7, 333]] {
            let meters = live(&clip, Metering::Window(window), blocks);
            // One second: every window ends with the last block.
            assert_eq!(meters.len(), offline.len(), "{window:?} {blocks:?}");
            for (m, r) in meters.iter().zip(&offline) {
                assert_eq!((m.stream_frame, m.frames), (r.frame, r.frames));
                assert_eq!(m.input, r.levels, "input at {}", r.frame);
                assert_eq!(m.output, r.levels, "output at {}", r.frame);
            }
        }
    }
    // The silent stretch reads -inf, not NaN.
    let meters = live(&clip, Metering::Window(MeterWindow::Frames(1_000)), &[256]);
    assert_eq!(meters[12].input[0].peak_db, f32::NEG_INFINITY);
    assert_eq!(meters[12].output[1].rms_db, f32::NEG_INFINITY);
    assert!(meters[0].output[0].peak_db > -2.0 && meters[0].output[0].peak_db < -1.9);
}

#[test]
fn every_period_meters_each_period() {
    let clip = signal(20_000);
    let blocks = [64, 1000, 7, 333];
    let meters = live(&clip, Metering::EveryPeriod, &blocks);
    let mut frame = 0;
    for (m, n) in meters.iter().zip(blocks.iter().cycle()) {
        let n = (*n).min(clip.frames() - frame);
        assert_eq!((m.stream_frame, m.frames), (frame as u64, n as u64));
        let piece = Clip::from_interleaved(
            48_000,
            2,
            clip.samples()[frame * 2..(frame + n) * 2].to_vec(),
        )
        .unwrap();
        let want = &piece.meter(MeterWindow::Frames(n as u64)).unwrap()[0].levels;
        assert_eq!(&m.input, want);
        assert_eq!(&m.output, want);
        frame += n;
    }
    assert_eq!(frame, clip.frames());
    assert!(live(&clip, Metering::Off, &blocks).is_empty());
}

#[test]
fn a_bad_window_is_refused_when_the_interface_is_made() {
    let info = StreamInfo {
        backend: "null".into(),
        device: "null".into(),
        frame_rate: 8_000,
        period: 64,
        max_period: 64,
        in_channels: 0,
        out_channels: 2,
        capture_latency: 0,
        playback_latency: 0,
    };
    let config = Config {
        metering: Metering::Window(MeterWindow::PerSecond(9_000)),
        ..Config::default()
    };
    let Err(err) = Interface::new(&info, &config) else {
        panic!("a bad window was taken");
    };
    assert_eq!(
        err.to_string(),
        "meter window: 9000 windows a second at 8000 Hz (the rule is 1 <= n <= frame rate)"
    );
}

/// Random stereo samples from a seed, loud and quiet stretches mixed.
fn random_clip(frames: usize, seed: u64) -> Clip {
    let mut s = seed | 1;
    let samples = (0..frames * 2)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            if (i / 300) % 3 == 1 {
                x * 1e-4
            } else {
                x
            }
        })
        .collect();
    Clip::from_interleaved(48_000, 2, samples).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any signal, any periods, any window: live equals offline to the bit.
    /// (The f64 sums themselves are compared bit for bit, on every vector
    /// path, in the crate's `meter::lanes` tests.)
    #[test]
    fn live_equals_offline_for_any_split_and_window(
        frames in 1usize..6_000,
        seed in any::<u64>(),
        blocks in proptest::collection::vec(1usize..1024, 1..8),
        window in prop_oneof![
            (1u64..3_000).prop_map(MeterWindow::Frames),
            (1u32..2_000).prop_map(MeterWindow::PerSecond),
        ],
    ) {
        let clip = random_clip(frames, seed);
        let offline = clip.meter(window).unwrap();
        let meters = live(&clip, Metering::Window(window), &blocks[..]);
        // The last window is sent only if the stream reaches its end.
        let whole = offline.len() - usize::from(
            offline.last().is_some_and(|r| window_end(window, r.frame) > frames as u64),
        );
        prop_assert_eq!(meters.len(), whole);
        for (m, r) in meters.iter().zip(&offline) {
            prop_assert_eq!((m.stream_frame, m.frames), (r.frame, r.frames));
            let bits = |l: &[Level]| {
                l.iter().map(|l| (l.peak_db.to_bits(), l.rms_db.to_bits())).collect::<Vec<_>>()
            };
            prop_assert_eq!(bits(&m.input), bits(&r.levels));
            prop_assert_eq!(bits(&m.output), bits(&r.levels));
        }
    }
}

/// Where the window that starts at `frame` ends.
fn window_end(window: MeterWindow, frame: u64) -> u64 {
    match window {
        MeterWindow::Frames(n) => frame + n,
        MeterWindow::PerSecond(n) => {
            let (rate, n) = (48_000u64, u64::from(n));
            let j = ((frame + 1) * n).div_ceil(rate);
            j * rate / n
        }
    }
}
