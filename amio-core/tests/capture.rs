//! Input capture: every captured frame carries the tag of the output frame
//! `L` stream frames earlier (SPEC.md, "Input capture"), across swaps and
//! locates, whatever the latency and the period.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod support;

use amio_core::{Config, Event, InputChunk};
use support::*;

/// A session with a swap, a late swap, a locate, a stop and a roll.
fn session() -> Session {
    let clip = ramp(1, 100, 0.0);
    let e = |at: i64| {
        vec![amio_core::Entry::new(clip.clone(), vec![1.0, 1.0])
            .play_at(at)
            .repeat(100)]
    };
    Session {
        out_channels: 2,
        clamp: true,
        playspecs: vec![e(0), e(7)],
        commands: vec![
            (
                0,
                Cmd::Schedule {
                    playspec: 0,
                    insert_at: 0,
                    start_from: 0,
                },
            ),
            (3, Cmd::Roll),
            (
                200,
                Cmd::Schedule {
                    playspec: 1,
                    insert_at: 400,
                    start_from: 10_000,
                },
            ),
            (500, Cmd::Locate(-50)),
            (700, Cmd::Stop),
            (760, Cmd::Locate(42)),
            (900, Cmd::Roll),
            (
                1000,
                Cmd::Schedule {
                    playspec: 0,
                    insert_at: 0,
                    start_from: 5,
                },
            ),
        ],
    }
}

/// The tag (id, position, rolling) of each frame of a chunk.
fn frame_tags(c: &InputChunk) -> Vec<(u64, i64, bool)> {
    (0..c.frames() as i64)
        .map(|i| {
            (
                c.id,
                if c.rolling {
                    c.position + i
                } else {
                    c.position
                },
                c.rolling,
            )
        })
        .collect()
}

fn runs_on(a: &InputChunk, b: &InputChunk) -> bool {
    let end = a.stream_frame + a.frames() as u64;
    let last = *frame_tags(a).last().unwrap();
    let next_pos = if a.rolling { last.1 + 1 } else { last.1 };
    b.stream_frame == end
        && b.id == a.id
        && b.rolling == a.rolling
        && b.position == next_pos
        && b.lost_before == 0
}

/// Renders the session with the given latency and period, reading input
/// after every `read_every` periods, and checks every captured frame.
fn check(latency: (u64, u64), extra: i64, period: usize, read_every: usize) {
    let session = session();
    let frames = 1400u64;
    let model = model(&session, frames);
    let config = Config {
        extra_latency: extra,
        ..session.config()
    };
    let ic = 2;
    let mut rig = Rig::new(2, ic, period, latency, &config);
    session.issue(&mut rig.interface);
    let mut chunks = Vec::new();
    let mut done = 0;
    let mut periods = 0;
    while done < frames as usize {
        let n = period.min(frames as usize - done);
        rig.render(n, n);
        done += n;
        periods += 1;
        if periods % read_every == 0 {
            chunks.extend(rig.chunks());
        }
    }
    chunks.extend(rig.chunks());

    let l = (latency.0 + latency.1).saturating_add_signed(extra);
    let mut expected_s = 0;
    for c in &chunks {
        assert_eq!(c.stream_frame, expected_s, "chunks are contiguous");
        assert_eq!(c.lost_before, 0);
        assert_eq!(c.channels, ic);
        for (i, tag) in frame_tags(c).into_iter().enumerate() {
            let s = c.stream_frame + i as u64;
            let want = if s < l {
                (0, 0, false)
            } else {
                model.tags[(s - l) as usize]
            };
            assert_eq!(tag, want, "stream frame {s}, L {l}, period {period}");
            for ch in 0..ic {
                assert_eq!(c.samples[i * ic + ch], input_sample(s, ch));
            }
        }
        expected_s += c.frames() as u64;
    }
    assert_eq!(expected_s, frames);
    if read_every > 1000 {
        // Read all at once: chunks are maximal runs.
        for pair in chunks.windows(2) {
            assert!(
                !runs_on(&pair[0], &pair[1]),
                "{:?} runs on into {:?}",
                pair[0].stream_frame,
                pair[1].stream_frame
            );
        }
    }
    // The latency in use was announced.
    assert!(rig
        .interface
        .events()
        .iter()
        .any(|e| matches!(e, Event::Latency { stream_frame: 0, frames, .. } if *frames == l)));
}

#[test]
fn latency_zero() {
    check((0, 0), 0, 64, 1);
    check((0, 0), 0, 64, 10_000);
}

#[test]
fn latency_less_than_a_period() {
    check((10, 7), 0, 64, 1);
    check((3, 0), 20, 256, 10_000);
}

#[test]
fn latency_of_several_periods() {
    check((128, 128), 0, 64, 3);
    check((300, 500), 33, 64, 10_000);
    check((1024, 1024), 0, 1024, 1);
}

#[test]
fn latency_with_odd_periods() {
    check((17, 0), 0, 1, 5);
    check((100, 13), 0, 37, 2);
}

#[test]
fn a_chunk_breaks_where_the_tags_break() {
    // Latency 0, period 1000: one period spans the swap at position 400.
    let session = session();
    let mut rig = Rig::new(2, 1, 1000, (0, 0), &session.config());
    session.issue(&mut rig.interface);
    rig.render(1000, 1000);
    let chunks = rig.chunks();
    let starts: Vec<_> = chunks
        .iter()
        .map(|c| (c.stream_frame, c.id, c.position, c.rolling))
        .collect();
    assert_eq!(
        starts,
        vec![
            (0, 1, 0, false),       // stopped until frame 3
            (3, 1, 0, true),        // rolling
            (403, 2, 10_000, true), // swap when p reaches 400
            (500, 2, -50, true),    // locate
            (700, 2, 150, false),   // stop
            (760, 2, 42, false),    // locate while stopped
            (900, 2, 42, true),     // roll
        ]
    );
}

#[test]
fn extra_latency_changes_are_followed() {
    let session = session();
    let mut rig = Rig::new(2, 1, 100, (0, 0), &session.config());
    session.issue(&mut rig.interface);
    rig.render(300, 100);
    rig.interface.set_extra_latency(50);
    rig.render(100, 100);
    let model = model(&session, 400);
    let chunks = rig.chunks();
    // Frames 300.. are tagged with the output 50 frames earlier.
    let last = chunks
        .iter()
        .find(|c| c.stream_frame <= 300 && c.stream_frame + c.frames() as u64 > 300)
        .unwrap();
    let i = (300 - last.stream_frame) as usize;
    assert_eq!(frame_tags(last)[i], model.tags[250]);
    assert!(rig.interface.events().iter().any(|e| matches!(
        e,
        Event::Latency {
            stream_frame: 300,
            frames: 50,
            requested: 50
        }
    )));
}

#[test]
fn a_slow_reader_loses_frames_and_is_told() {
    let session = session();
    let config = Config {
        input_buffer_frames: 250,
        ..session.config()
    };
    let mut rig = Rig::new(2, 2, 100, (0, 0), &config);
    session.issue(&mut rig.interface);
    rig.render(600, 100); // 600 frames into room for 250.
    let first = rig.chunks();
    let kept: u64 = first.iter().map(|c| c.frames() as u64).sum();
    // Pieces (tag runs within a period) that fit are kept: periods 0 and 1,
    // and frames 400..403 before the swap at 403; the rest is lost.
    assert_eq!(kept, 203);
    assert_eq!(first.last().unwrap().stream_frame, 400);
    assert_eq!(first.last().unwrap().lost_before, 200);
    rig.render(100, 100);
    let next = rig.chunks();
    assert_eq!(next[0].stream_frame, 600);
    assert_eq!(next[0].lost_before, 600 - kept - 200);
    let lost: u64 = rig
        .interface
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::InputLost { frames, .. } => Some(*frames),
            _ => None,
        })
        .sum();
    assert_eq!(lost, 600 - kept);
}

#[test]
fn read_into_a_host_buffer() {
    let session = session();
    let mut rig = Rig::new(2, 2, 64, (5, 5), &session.config());
    session.issue(&mut rig.interface);
    rig.render(256, 64);
    let mut buf = vec![0.0f32; 2 * 50];
    let mut s = 0;
    while let Some(info) = rig.interface.read_input_into(&mut buf) {
        assert_eq!(info.stream_frame, s);
        assert!(info.frames <= 50);
        for i in 0..info.frames {
            assert_eq!(buf[2 * i], input_sample(s + i as u64, 0));
        }
        s += info.frames as u64;
    }
    assert_eq!(s, 256);
}

#[test]
fn a_negative_extra_latency_corrects_an_over_reporting_driver() {
    // The driver says 100 + 60; the real round trip is 100: extra -60.
    let session = session();
    let config = Config {
        extra_latency: -60,
        ..session.config()
    };
    let mut rig = Rig::new(2, 1, 64, (100, 60), &config);
    session.issue(&mut rig.interface);
    rig.render(512, 64);
    let model = model(&session, 512);
    let mut s = 0u64;
    for c in rig.chunks() {
        for (i, tag) in frame_tags(&c).into_iter().enumerate() {
            let f = c.stream_frame + i as u64;
            let want = if f < 100 {
                (0, 0, false)
            } else {
                model.tags[(f - 100) as usize]
            };
            assert_eq!(tag, want, "stream frame {f}");
            s += 1;
        }
    }
    assert_eq!(s, 512);
    assert!(rig.interface.events().iter().any(|e| matches!(
        e,
        Event::Latency {
            frames: 100,
            requested: 100,
            ..
        }
    )));
    // And never below zero.
    let config = Config {
        extra_latency: -1_000,
        ..session.config()
    };
    let mut rig = Rig::new(2, 1, 64, (100, 60), &config);
    rig.render(64, 64);
    assert!(rig
        .interface
        .events()
        .iter()
        .any(|e| matches!(e, Event::Latency { frames: 0, .. })));
}
