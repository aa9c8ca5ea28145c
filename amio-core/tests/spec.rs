//! SPEC.md's rules one by one, sample for sample, through a stepped engine.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod support;

use amio_core::{Clip, Config, Entry, EntryRule, Error, Event, Outcome, OutcomeKind, Playspec};
use support::*;

/// Output sample of channel `o` at frame `f` of an interleaved buffer.
fn at(out: &[f32], oc: usize, f: usize, o: usize) -> f32 {
    out[f * oc + o]
}

fn play(rig: &mut Rig, entries: Vec<Entry>) -> u64 {
    let ps = Playspec::new(entries).unwrap();
    let id = rig.interface.schedule(&ps, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    id
}

fn outcome(id: u64, kind: OutcomeKind, stream_frame: u64, position: i64) -> Outcome {
    Outcome {
        id,
        kind,
        stream_frame,
        position,
    }
}

#[test]
fn crop_plays_range_at_play_at() {
    let clip = ramp(1, 10, 0.1);
    let mut rig = Rig::simple(1);
    play(
        &mut rig,
        vec![Entry::new(clip.clone(), vec![0.5]).range(3..7).play_at(5)],
    );
    let out = rig.render(20, 7);
    for p in 0..20usize {
        let want = if (5..9).contains(&p) {
            0.5 * clip.samples()[3 + p - 5]
        } else {
            0.0
        };
        assert_eq!(out[p], want, "position {p}");
    }
}

#[test]
fn repeat_sounds_for_negative_k_and_overlapping_copies_sum() {
    // L = 6, r = 4, play_at = 101: copies start at 101 + 4k, overlapping by 2.
    let clip = ramp(1, 6, 0.01);
    let mut rig = Rig::simple(1);
    play(
        &mut rig,
        vec![Entry::new(clip.clone(), vec![1.0]).repeat(4).play_at(101)],
    );
    let out = rig.render(40, 13);
    for p in 0..40i64 {
        // Copies k with 101 + 4k <= p < 101 + 4k + 6, all with k < 0 here.
        let mut want = 0.0f32;
        for k in -30i64..=0 {
            let j = p - (101 + 4 * k);
            if (0..6).contains(&j) {
                want += clip.samples()[j as usize];
            }
        }
        assert_eq!(out[p as usize], want, "position {p}");
    }
    // Every position is covered by one or two copies.
    assert!(out.iter().all(|&x| x > 0.0));
    // Position 1: copies at -3 (j = 4) and at 1 (j = 0).
    assert_eq!(out[1], clip.samples()[4] + clip.samples()[0]);
}

#[test]
fn repeat_with_gaps_is_silent_between_copies() {
    let clip = ramp(1, 3, 0.2);
    let mut rig = Rig::simple(1);
    play(
        &mut rig,
        vec![Entry::new(clip.clone(), vec![1.0]).repeat(10).play_at(-18)],
    );
    let out = rig.render(30, 4);
    for p in 0..30usize {
        let j = (p as i64 + 18).rem_euclid(10);
        let want = if j < 3 {
            clip.samples()[j as usize]
        } else {
            0.0
        };
        assert_eq!(out[p], want, "position {p}");
    }
}

#[test]
fn per_channel_gains_stereo_to_stereo() {
    let clip = ramp(2, 8, 0.1);
    let mut rig = Rig::simple(2);
    play(&mut rig, vec![Entry::new(clip.clone(), vec![0.5, -2.0])]);
    let out = rig.render(10, 3);
    for f in 0..8 {
        assert_eq!(at(&out, 2, f, 0), 0.5 * clip.frame(f).unwrap()[0]);
        assert_eq!(at(&out, 2, f, 1), -2.0 * clip.frame(f).unwrap()[1]);
    }
    assert_eq!(&out[16..], &[0.0; 4]);
}

#[test]
fn mono_clip_feeds_every_output_channel() {
    let clip = ramp(1, 5, 0.1);
    let gains = vec![1.0, 0.5, 0.25, -1.0];
    let mut rig = Rig::simple(4);
    play(&mut rig, vec![Entry::new(clip.clone(), gains.clone())]);
    let out = rig.render(5, 2);
    for f in 0..5 {
        for (o, g) in gains.iter().enumerate() {
            assert_eq!(at(&out, 4, f, o), g * clip.samples()[f]);
        }
    }
}

#[test]
fn clip_channels_cycle_over_output_channels() {
    // A 2-channel clip on 5 outputs: o mod 2 -> L R L R L.
    let clip = ramp(2, 4, 0.3);
    let gains = vec![1.0, 0.9, 0.8, 0.7, 0.6];
    let mut rig = Rig::simple(5);
    play(&mut rig, vec![Entry::new(clip.clone(), gains.clone())]);
    let out = rig.render(4, 3);
    for f in 0..4 {
        for (o, g) in gains.iter().enumerate() {
            assert_eq!(
                at(&out, 5, f, o),
                g * clip.frame(f).unwrap()[o % 2],
                "f {f} o {o}"
            );
        }
    }
    // And a 3-channel clip on 2 outputs uses channels 0 and 1 only.
    let clip3 = ramp(3, 4, 0.3);
    let mut rig = Rig::simple(2);
    play(&mut rig, vec![Entry::new(clip3.clone(), vec![1.0, 1.0])]);
    let out = rig.render(4, 4);
    for f in 0..4 {
        assert_eq!(at(&out, 2, f, 0), clip3.frame(f).unwrap()[0]);
        assert_eq!(at(&out, 2, f, 1), clip3.frame(f).unwrap()[1]);
    }
}

#[test]
fn fades_ramp_per_occurrence() {
    // L = 8 (range 2..10), fade_in 3, fade_out 2, repeated every 20.
    let clip = Clip::from_interleaved(RATE, 1, vec![0.5; 12]).unwrap();
    let mut rig = Rig::simple(2);
    play(
        &mut rig,
        vec![Entry::new(clip, vec![1.0, 0.5])
            .range(2..10)
            .play_at(4)
            .repeat(20)
            .fades(3, 2)],
    );
    let out = rig.render(50, 6);
    let fade = |j: u64| -> f32 {
        let mut f = 1.0f64;
        if j < 3 {
            f *= (j as f64 + 0.5) / 3.0;
        }
        if j >= 6 {
            f *= (8.0 - j as f64 - 0.5) / 2.0;
        }
        f as f32
    };
    for p in 0..50i64 {
        let j = (p - 4).rem_euclid(20) as u64;
        for (o, g) in [1.0f32, 0.5].iter().enumerate() {
            let want = if j < 8 { (g * fade(j)) * 0.5 } else { 0.0 };
            assert_eq!(at(&out, 2, p as usize, o), want, "p {p} o {o}");
        }
    }
    // Spot values: the first frame of a fade-in is 1/6 of full, the last of a
    // fade-out 1/4.
    assert_eq!(out[4 * 2], 0.5 / 6.0);
    assert_eq!(out[11 * 2], 0.5 * 0.25);
}

#[test]
fn clamp_on_and_off() {
    let loud = Clip::from_interleaved(RATE, 1, vec![0.9, -0.9, 0.3]).unwrap();
    let entries = vec![
        Entry::new(loud.clone(), vec![1.0]),
        Entry::new(loud.clone(), vec![1.0]),
    ];
    let mut clamped = Rig::simple(1);
    play(&mut clamped, entries.clone());
    assert_eq!(clamped.render(3, 3), vec![1.0, -1.0, 0.6]);

    let config = Config {
        clamp: false,
        ..Config::default()
    };
    let mut free = Rig::new(1, 0, 64, (0, 0), &config);
    play(&mut free, entries);
    assert_eq!(free.render(3, 3), vec![0.9 + 0.9, -0.9 + -0.9, 0.3 + 0.3]);
}

/// Two constant clips to tell playspecs apart: A sounds 0.25, B 0.5.
fn ab() -> (Playspec, Playspec) {
    let a = Clip::from_interleaved(RATE, 1, vec![0.25; 1000]).unwrap();
    let b =
        Clip::from_interleaved(RATE, 1, (0..1000).map(|i| i as f32 / 4096.0).collect()).unwrap();
    (
        Playspec::new(vec![Entry::new(a, vec![1.0]).repeat(1000)]).unwrap(),
        Playspec::new(vec![Entry::new(b, vec![1.0]).repeat(1000)]).unwrap(),
    )
}

fn b_at(p: i64) -> f32 {
    p.rem_euclid(1000) as f32 / 4096.0
}

#[test]
fn swap_on_time() {
    let (a, b) = ab();
    let mut rig = Rig::simple(1);
    let ida = rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    // B goes in when p reaches 100, continuing from position 500.
    let idb = rig.interface.schedule(&b, 100, 500, Some(10)).unwrap();
    let out = rig.render(200, 64);
    for s in 0..100 {
        assert_eq!(out[s], 0.25, "s {s}");
    }
    for s in 100..200 {
        assert_eq!(out[s], b_at(500 + s as i64 - 100), "s {s}");
    }
    assert_eq!(
        rig.outcomes(),
        vec![
            outcome(ida, OutcomeKind::Applied, 0, 0),
            outcome(idb, OutcomeKind::Applied, 100, 500)
        ]
    );
    assert_eq!(rig.interface.position().position, 600);
    assert_eq!(rig.interface.position().id, idb);
}

#[test]
fn late_swap_keeps_the_timeline_continuous() {
    let (a, b) = ab();
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    // Issued for stream frame 80, when p = 80 is already past insert_at 50:
    // applied at once as if on time, p = 1000 + (80 - 50).
    let idb = rig.interface.schedule(&b, 50, 1000, Some(80)).unwrap();
    let out = rig.render(120, 32);
    assert!(out[..80].iter().all(|&x| x == 0.25));
    for s in 80..120 {
        assert_eq!(out[s], b_at(1030 + s as i64 - 80), "s {s}");
    }
    assert_eq!(
        rig.outcomes()[1],
        outcome(idb, OutcomeKind::Applied, 80, 1030)
    );
}

#[test]
fn newer_change_supersedes_a_pending_one() {
    let (a, b) = ab();
    let mut rig = Rig::simple(1);
    let id1 = rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    let id2 = rig.interface.schedule(&b, 1000, 0, Some(5)).unwrap();
    let id3 = rig.interface.schedule(&b, 40, 7, Some(20)).unwrap();
    let out = rig.render(60, 16);
    assert!(out[..40].iter().all(|&x| x == 0.25));
    assert_eq!(out[40], b_at(7));
    assert_eq!(
        rig.outcomes(),
        vec![
            outcome(id1, OutcomeKind::Applied, 0, 0),
            outcome(id2, OutcomeKind::Superseded, 20, 20),
            outcome(id3, OutcomeKind::Applied, 40, 7),
        ]
    );
}

#[test]
fn locate_while_a_change_is_pending() {
    let (a, b) = ab();
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    let idb = rig.interface.schedule(&b, 500, 0, Some(1)).unwrap();
    // Locating past insert_at applies the change in the same frame.
    rig.interface.locate(600, Some(30)).unwrap();
    let out = rig.render(50, 50);
    assert!(out[..30].iter().all(|&x| x == 0.25));
    for s in 30..50 {
        assert_eq!(out[s], b_at(100 + s as i64 - 30), "s {s}");
    }
    assert_eq!(
        rig.outcomes()[1],
        outcome(idb, OutcomeKind::Applied, 30, 100)
    );

    // Locating backwards leaves the change pending until p reaches it again.
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    let idb = rig.interface.schedule(&b, 20, 0, Some(1)).unwrap();
    rig.interface.locate(-10, Some(15)).unwrap();
    let out = rig.render(50, 8);
    assert!(out[..45].iter().all(|&x| x == 0.25));
    assert_eq!(out[45], b_at(0));
    assert_eq!(rig.outcomes()[1], outcome(idb, OutcomeKind::Applied, 45, 0));
}

#[test]
fn a_stopped_transport_is_silent_and_holds_position() {
    let (a, b) = ab();
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(10)).unwrap();
    rig.interface.stop(Some(20)).unwrap();
    rig.interface.roll(Some(30)).unwrap();
    let out = rig.render(40, 7);
    assert!(out[..10].iter().all(|&x| x == 0.0));
    assert!(out[10..20].iter().all(|&x| x == 0.25));
    assert!(out[20..30].iter().all(|&x| x == 0.0));
    assert!(out[30..].iter().all(|&x| x == 0.25));
    // Position advanced only while rolling: 20 frames.
    assert_eq!(rig.interface.position().position, 20);
    assert!(rig.interface.position().rolling);

    // While stopped, a change whose insert point is reached applies at once.
    let mut rig = Rig::simple(1);
    rig.interface.locate(70, Some(0)).unwrap();
    let idb = rig.interface.schedule(&b, 50, 0, Some(5)).unwrap();
    let out = rig.render(10, 10);
    assert!(out.iter().all(|&x| x == 0.0));
    assert_eq!(
        rig.outcomes(),
        vec![outcome(idb, OutcomeKind::Applied, 5, 20)]
    );
    let r = rig.interface.position();
    assert_eq!(
        (r.stream_frame, r.position, r.rolling, r.id),
        (10, 20, false, idb)
    );
}

#[test]
fn commands_take_effect_at_their_target_frames() {
    let (a, _) = ab();
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    // Issued out of order of target: each applies at its own frame.
    rig.interface.roll(Some(37)).unwrap();
    rig.interface.stop(Some(13)).unwrap();
    rig.interface.roll(Some(5)).unwrap();
    // Same target: in issue order, the last locate wins.
    rig.interface.locate(100, Some(50)).unwrap();
    rig.interface.locate(200, Some(50)).unwrap();
    let out = rig.render(60, 64);
    for s in 0..60 {
        let rolling = (5..13).contains(&s) || s >= 37;
        assert_eq!(out[s], if rolling { 0.25 } else { 0.0 }, "s {s}");
    }
    // Rolled 8 frames, then from 37 to 50 (13), located to 200, then 10 more.
    assert_eq!(rig.interface.position().position, 210);
}

#[test]
fn late_and_untargeted_commands_apply_at_the_next_period() {
    let (a, _) = ab();
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, None).unwrap();
    rig.interface.roll(None).unwrap();
    rig.render(64, 64);
    assert_eq!(rig.interface.position().position, 64);
    // Target 10 has passed: the locate applies at stream frame 64.
    rig.interface.locate(0, Some(10)).unwrap();
    rig.interface.stop(None).unwrap();
    rig.interface.roll(None).unwrap();
    let out = rig.render(16, 16);
    assert!(out.iter().all(|&x| x == 0.25));
    assert_eq!(rig.interface.position().position, 16);
}

#[test]
fn every_id_gets_exactly_one_outcome_and_close_drops_pending_ones() {
    let (a, b) = ab();
    let mut rig = Rig::simple(1);
    let id1 = rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    let id2 = rig.interface.schedule(&b, 10_000, 0, Some(3)).unwrap();
    let id3 = rig
        .interface
        .schedule(&b, 10_000, 0, Some(100_000))
        .unwrap();
    assert!(id1 < id2 && id2 < id3);
    rig.render(100, 32);
    let Rig {
        mut interface,
        engine,
        ..
    } = rig;
    interface.close(Some(engine));
    let outcomes = outcomes(interface.events());
    assert_eq!(
        outcomes,
        vec![
            outcome(id1, OutcomeKind::Applied, 0, 0),
            outcome(id2, OutcomeKind::Dropped, 100, 100),
            outcome(id3, OutcomeKind::Dropped, 100, 100),
        ]
    );
    assert!(matches!(interface.roll(None), Err(Error::NotRunning)));
}

#[test]
fn refused_entries_name_the_entry_and_rule_and_leave_playback_alone() {
    let (a, _) = ab();
    let mut rig = Rig::simple(2);
    let stereo = Clip::from_interleaved(RATE, 1, vec![0.25; 100]).unwrap();
    let good = Playspec::new(vec![Entry::new(stereo.clone(), vec![1.0, 1.0]).repeat(100)]).unwrap();
    rig.interface.schedule(&good, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    let before = rig.render(10, 10);
    // Wrong gain count for this interface (a was built for one channel).
    let err = rig.interface.schedule(&a, 0, 0, None).unwrap_err();
    assert!(matches!(
        err,
        Error::Entry {
            entry: 0,
            rule: EntryRule::GainCount {
                gains: 1,
                channels: 2
            }
        }
    ));
    // Wrong frame rate.
    let slow = Clip::from_interleaved(44100, 1, vec![0.5; 10]).unwrap();
    let bad = Playspec::new(vec![
        Entry::new(stereo.clone(), vec![1.0, 1.0]),
        Entry::new(slow, vec![1.0, 1.0]),
    ])
    .unwrap();
    let err = rig.interface.schedule(&bad, 0, 0, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "playspec entry 1: clip frame rate 44100 Hz differs from the interface's 48000 Hz (resample the clip first)"
    );
    // Refused at build time.
    let err = Playspec::new(vec![
        Entry::new(stereo.clone(), vec![1.0, 1.0]),
        Entry::new(stereo, vec![1.0, 1.0]).range(std::ops::Range { start: 50, end: 40 }),
    ])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "playspec entry 1: range 50..40 runs backwards (the rule is a <= b)"
    );
    // Nothing was disturbed; no id was used up.
    let after = rig.render(10, 10);
    assert_eq!(before, after);
    assert!(after.iter().all(|&x| x == 0.25));
    assert_eq!(rig.interface.schedule(&good, 0, 0, None).unwrap(), 2);
}

#[test]
fn position_report_every_period() {
    let (a, _) = ab();
    let mut rig = Rig::simple(1);
    rig.interface.schedule(&a, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(0)).unwrap();
    rig.render(100, 25);
    let reports: Vec<_> = rig
        .interface
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Position(r) => Some((r.stream_frame, r.position, r.rolling)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reports,
        vec![
            (25, 25, true),
            (50, 50, true),
            (75, 75, true),
            (100, 100, true)
        ]
    );
}

#[test]
fn xruns_are_reported_with_the_stream_frame() {
    let mut rig = Rig::simple(1);
    rig.render(64, 64);
    let n = rig.interface.notifier();
    n.xrun();
    n.xrun();
    rig.render(64, 64);
    n.xrun();
    rig.render(64, 64);
    let xruns: Vec<_> = rig
        .interface
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Xrun {
                stream_frame,
                new,
                count,
            } => Some((stream_frame, new, count)),
            _ => None,
        })
        .collect();
    assert_eq!(xruns, vec![(64, 2, 2), (128, 1, 3)]);
}

#[test]
fn driver_faults_reach_the_control_side_once() {
    let mut rig = Rig::simple(1);
    let n = rig.interface.notifier();
    n.fatal(amio_core::FaultKind::ServerGone, "jackd went away");
    n.fatal(
        amio_core::FaultKind::DeviceGone,
        "ignored: only the first is kept",
    );
    assert!(n.has_failed());
    let faults: Vec<_> = rig
        .interface
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Fatal(_)))
        .collect();
    assert_eq!(
        faults,
        vec![Event::Fatal(amio_core::DriverFault {
            kind: amio_core::FaultKind::ServerGone,
            message: "jackd went away".into()
        })]
    );
    assert!(rig.interface.events().is_empty());
}

#[test]
fn the_end_of_the_timeline_wraps() {
    let clip = ramp(1, 4, 0.1);
    let mut rig = Rig::simple(1);
    // An entry at the very end and one at the very start of the timeline.
    play(
        &mut rig,
        vec![
            Entry::new(clip.clone(), vec![1.0]).play_at(i64::MAX - 1),
            Entry::new(clip.clone(), vec![1.0]).play_at(i64::MIN),
        ],
    );
    rig.interface.locate(i64::MAX - 2, Some(0)).unwrap();
    let out = rig.render(6, 6);
    let c = clip.samples();
    assert_eq!(out, vec![0.0, c[0], c[1], c[0], c[1], c[2]]);
    assert_eq!(rig.interface.position().position, i64::MIN + 3);
}

#[test]
fn capture_only_and_play_only_interfaces() {
    // No outputs: the transport still runs and input is still tagged.
    let mut rig = Rig::new(0, 1, 64, (0, 0), &Config::default());
    let clip = ramp(1, 10, 0.1);
    let ps = Playspec::new(vec![Entry::new(clip, vec![]).repeat(10)]).unwrap();
    rig.interface.schedule(&ps, 0, 0, Some(0)).unwrap();
    rig.interface.roll(Some(5)).unwrap();
    assert!(rig.render(100, 64).is_empty());
    let chunks = rig.chunks();
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        (
            chunks[1].stream_frame,
            chunks[1].position,
            chunks[1].frames()
        ),
        (5, 0, 95)
    );
    assert_eq!(rig.interface.position().position, 95);
    // No inputs: nothing to read.
    let mut rig = Rig::simple(2);
    rig.render(10, 10);
    assert!(rig.interface.read_input().is_none());
    assert!(rig.interface.read_input_into(&mut [0.0; 8]).is_none());
}

#[test]
fn the_halves_cross_threads() {
    fn send<T: Send>() {}
    send::<amio_core::Engine>();
    send::<amio_core::Interface>();
    send::<amio_core::Stream>();
    send::<amio_core::Notifier>();
    fn sync<T: Sync>() {}
    sync::<amio_core::Notifier>();
    sync::<amio_core::Clip>();
    sync::<amio_core::Playspec>();
}

#[test]
fn driver_notices_arrive_once_each() {
    let mut rig = Rig::simple(1);
    let n = rig.interface.notifier();
    n.notice(amio_core::Notice::PacedByClock);
    n.notice(amio_core::Notice::PacedByClock);
    rig.render(64, 64);
    n.notice(amio_core::Notice::NoRealtimePriority);
    n.notice(amio_core::Notice::PacedByClock);
    rig.render(64, 64);
    let notices: Vec<_> = rig
        .interface
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Notice {
                stream_frame,
                notice,
            } => Some((stream_frame, notice)),
            _ => None,
        })
        .collect();
    assert_eq!(
        notices,
        vec![
            (0, amio_core::Notice::PacedByClock),
            (64, amio_core::Notice::NoRealtimePriority)
        ]
    );
}
