//! The audio half never allocates or frees: the engine runs under a counting
//! global allocator through swaps, supersedes, locates, input capture, a
//! full input queue, a full event queue, xruns, latency changes and live
//! meters.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod support;

use amio_core::rt_guard::{self, CountingAllocator};
use amio_core::{Clip, Config, Entry, MeterWindow, Metering, Playspec};
use support::*;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

/// One period as a driver runs it, with the whole callback marked as the
/// audio thread.
fn period(rig: &mut Rig, frames: usize, out: &mut [f32]) {
    let _audio = rt_guard::enter();
    let s0 = rig.engine.stream_frame();
    let ic = rig.ic;
    for (i, x) in rig.engine.input_buffer(frames).iter_mut().enumerate() {
        *x = input_sample(s0 + (i / ic) as u64, i % ic);
    }
    let o = rig.engine.render(frames);
    out[..o.len()].copy_from_slice(o);
}

#[test]
fn the_engine_never_allocates_or_frees() {
    // The guard works: an allocation on a marked thread is counted.
    let before = rt_guard::violations();
    {
        let _audio = rt_guard::enter();
        drop(std::hint::black_box(vec![1u8; 16]));
    }
    assert_eq!(
        rt_guard::violations() - before,
        2,
        "the counting allocator is installed"
    );

    let config = Config {
        input_buffer_frames: 1000, // fills up: input is never read below
        event_capacity: 8,         // fills up: events are read only at the end
        outcome_capacity: 64,
        max_latency: 4096,
        // Windows span periods; meters are sent, then dropped with the
        // events once the queue is full.
        metering: Metering::Window(MeterWindow::PerSecond(24)),
        ..Config::default()
    };
    let mut rig = Rig::new(2, 2, 256, (64, 64), &config);
    // The wake-up is armed: the engine signals it (a write, no allocation).
    rig.interface.wake_fd().unwrap();
    let clips: Vec<Clip> = (0..4)
        .map(|i| ramp(1 + i % 3, 500 + 37 * i, 0.01 * i as f32))
        .collect();
    let playspec = |shift: i64| {
        Playspec::new(
            clips
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    Entry::new(c.clone(), vec![0.5, 0.25])
                        .play_at(shift + 100 * i as i64)
                        .repeat(if i % 2 == 0 { 0 } else { 300 })
                        .fades(10, 20)
                })
                .collect(),
        )
        .unwrap()
    };
    let playspecs: Vec<Playspec> = (0..8).map(|i| playspec(i * 50)).collect();
    let mut out = vec![0.0; 256 * 2];
    let notifier = rig.interface.notifier();

    let mut events = Vec::new();
    let start = rt_guard::violations();
    rig.interface.schedule(&playspecs[0], 0, 0, None).unwrap();
    rig.interface.roll(None).unwrap();
    for round in 0..200u64 {
        let s = rig.engine.stream_frame();
        match round % 8 {
            // A swap on time, a late one, and one superseded.
            0 => {
                rig.interface
                    .schedule(
                        &playspecs[(round % 7) as usize],
                        (s as i64) + 300,
                        0,
                        Some(s + 10),
                    )
                    .unwrap();
            }
            1 => {
                rig.interface
                    .schedule(&playspecs[1], -1000, 77, None)
                    .unwrap();
            }
            2 => {
                rig.interface
                    .schedule(&playspecs[2], i64::MAX, 0, None)
                    .unwrap();
                rig.interface
                    .schedule(&playspecs[3], i64::MAX, 0, Some(s + 100))
                    .unwrap();
            }
            3 => rig
                .interface
                .locate((round as i64) * 13 - 400, Some(s + 17))
                .unwrap(),
            4 => {
                rig.interface.stop(Some(s + 3)).unwrap();
                rig.interface.roll(Some(s + 200)).unwrap();
            }
            5 => notifier.xrun(),
            6 => notifier.set_latency(64 + round, 64),
            _ => {}
        }
        // Odd period sizes split periods at command and change points.
        let frames = [256, 1, 100, 255, 64, 17][(round % 6) as usize];
        period(&mut rig, frames, &mut out);
        // The control side frees retired playspecs between periods, as a
        // host does when it reads events; input stays unread.
        if round % 50 == 49 {
            events.extend(rig.interface.events());
        }
    }
    assert_eq!(
        rt_guard::violations() - start,
        0,
        "the audio half allocated or freed"
    );

    // And what it did was real: input was lost, outcomes were all delivered.
    events.extend(rig.interface.events());
    // (InputLost notices themselves were crowded out of the full event
    // queue; the chunks still say what was lost.)
    let lost: u64 = rig.chunks().iter().map(|c| c.lost_before).sum();
    assert!(lost > 0);
    assert!(events
        .iter()
        .any(|e| matches!(e, amio_core::Event::EventsLost { .. })));
    assert!(events.iter().any(
        |e| matches!(e, amio_core::Event::Meter(m) if m.input.len() == 2 && m.output.len() == 2)
    ));
    assert!(rig.interface.unresolved().count() <= 2);
}
