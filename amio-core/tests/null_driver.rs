//! The null driver behind the AudioDriver trait, in its three modes.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amio_core::{
    AudioDriver, Clip, Config, Entry, Error, Event, NullConfig, NullDriver, NullMode, OutcomeKind,
    Playspec, Stream, StreamConfig,
};
use support::*;

fn request(in_channels: usize, out_channels: usize, period: usize) -> StreamConfig {
    StreamConfig {
        device: None,
        frame_rate: Some(RATE),
        period: Some(period),
        in_channels,
        out_channels,
    }
}

fn demo_session() -> Session {
    let a = ramp(2, 300, -0.3);
    let b = ramp(1, 170, 0.2);
    Session {
        out_channels: 2,
        clamp: true,
        playspecs: vec![
            vec![
                Entry::new(a.clone(), vec![0.8, 0.6])
                    .repeat(250)
                    .fades(20, 30),
                Entry::new(b.clone(), vec![0.5, -0.5])
                    .play_at(90)
                    .repeat(400),
            ],
            vec![Entry::new(b, vec![1.0, 0.25]).repeat(170).fades(0, 50)],
        ],
        commands: [
            opening(),
            vec![
                (
                    900,
                    Cmd::Schedule {
                        playspec: 1,
                        insert_at: 1500,
                        start_from: 0,
                    },
                ),
                (2500, Cmd::Locate(100)),
                (3000, Cmd::Stop),
                (3300, Cmd::Roll),
                (
                    3900,
                    Cmd::Schedule {
                        playspec: 0,
                        insert_at: 99_999,
                        start_from: 0,
                    },
                ),
            ],
        ]
        .concat(),
    }
}

#[test]
fn stepped_through_the_trait_matches_the_model() {
    let session = demo_session();
    let driver = NullDriver::new(NullConfig::default());
    let control = driver.control();
    assert!(matches!(
        control.step(1, &[], &mut [0.0; 2]),
        Err(Error::NotRunning)
    ));
    let mut stream =
        Stream::open(Box::new(driver), &request(0, 2, 128), &session.config()).unwrap();
    assert_eq!(stream.backend(), "null");
    assert_eq!(stream.interface().info().max_period, 128);
    session.issue(stream.interface_mut());
    stream.start().unwrap();
    let frames = 4000;
    let mut out = vec![0.0; frames * 2];
    for chunk in out.chunks_mut(2 * 500) {
        // Periods longer than max_period are split by the engine.
        control.step(chunk.len() / 2, &[], chunk).unwrap();
    }
    assert_eq!(out, model(&session, frames as u64).output);
    // Wrong buffer sizes are refused with the numbers.
    let err = control.step(10, &[], &mut [0.0; 19]).unwrap_err();
    assert_eq!(err.to_string(), "output: expected 20 samples, got 19");
    // Injected xruns are reported.
    control.inject_xrun().unwrap();
    control.step(1, &[], &mut [0.0; 2]).unwrap();
    assert!(stream.interface_mut().events().iter().any(|e| matches!(
        e,
        Event::Xrun {
            stream_frame: 4000,
            count: 1,
            ..
        }
    )));
    stream.close().unwrap();
    let dropped: Vec<_> = outcomes(stream.interface_mut().events())
        .into_iter()
        .filter(|o| o.kind == OutcomeKind::Dropped)
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!((dropped[0].id, dropped[0].stream_frame), (3, 4001));
    assert!(matches!(
        control.step(1, &[], &mut [0.0; 2]),
        Err(Error::NotRunning)
    ));
}

#[test]
fn offline_render_matches_the_stepped_render() {
    let session = demo_session();
    let frames = 4000u64;
    let rendered = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&rendered);
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Offline { frames },
        ..NullConfig::default()
    })
    .with_output(Box::new(move |s, out| {
        let mut r = sink.lock().unwrap();
        assert_eq!(r.len() as u64, s * 2, "periods arrive in order");
        r.extend_from_slice(out);
    }));
    let control = driver.control();
    let mut stream =
        Stream::open(Box::new(driver), &request(0, 2, 333), &session.config()).unwrap();
    let ids = session.issue(stream.interface_mut());
    stream.start().unwrap();
    assert!(control.wait(Duration::from_secs(30)));
    stream.close().unwrap();
    let out = rendered.lock().unwrap().clone();
    let model = model(&session, frames);
    assert_eq!(out, model.output);
    let got = outcomes(stream.interface_mut().events());
    let mut want = model.outcomes.clone();
    want.push(amio_core::Outcome {
        id: ids[2],
        kind: OutcomeKind::Dropped,
        stream_frame: frames,
        position: got.last().unwrap().position,
    });
    assert_eq!(got, want);
}

#[test]
fn stop_and_start_again_keeps_the_timeline() {
    let session = demo_session();
    let driver = NullDriver::new(NullConfig::default());
    let control = driver.control();
    let mut stream = Stream::open(Box::new(driver), &request(0, 2, 64), &session.config()).unwrap();
    session.issue(stream.interface_mut());
    stream.start().unwrap();
    let mut out = vec![0.0; 4000 * 2];
    control.step(1000, &[], &mut out[..2000]).unwrap();
    stream.pause().unwrap();
    assert!(!stream.is_running());
    assert!(matches!(
        control.step(1, &[], &mut [0.0; 2]),
        Err(Error::NotRunning)
    ));
    stream.start().unwrap();
    assert!(matches!(stream.start(), Err(Error::AlreadyRunning)));
    control.step(3000, &[], &mut out[2000..]).unwrap();
    assert_eq!(out, model(&session, 4000).output);
}

#[test]
fn paced_loopback_captures_what_was_audible() {
    // The output plays the position itself (a ramp clip looping over a
    // long stretch), the loopback returns it L frames later, and the
    // input tags must name exactly the position whose sample came back.
    let len = 48_000usize;
    let clip =
        Clip::from_interleaved(RATE, 1, (0..len).map(|i| i as f32 / len as f32).collect()).unwrap();
    let playspec =
        Playspec::new(vec![Entry::new(clip.clone(), vec![1.0]).repeat(len as i64)]).unwrap();
    let (capture, playback) = (96, 160);
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Paced,
        capture_latency: capture,
        playback_latency: playback,
        loopback: true,
    });
    let mut stream =
        Stream::open(Box::new(driver), &request(1, 1, 64), &Config::default()).unwrap();
    assert_eq!(
        (
            stream.interface().info().capture_latency,
            stream.interface().info().playback_latency
        ),
        (96, 160)
    );
    stream
        .interface_mut()
        .schedule(&playspec, 0, 0, Some(0))
        .unwrap();
    stream.interface_mut().roll(Some(500)).unwrap();
    stream.interface_mut().locate(30_000, Some(2000)).unwrap();
    stream.start().unwrap();
    let mut chunks = Vec::new();
    while stream.interface().position().stream_frame < 6000 {
        std::thread::sleep(Duration::from_millis(5));
        chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
    }
    stream.close().unwrap();
    chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
    let mut checked = 0;
    for c in chunks.iter().filter(|c| c.rolling) {
        for (i, &x) in c.samples.iter().enumerate() {
            let position = c.position + i as i64;
            assert_eq!(
                x,
                clip.samples()[position.rem_euclid(len as i64) as usize],
                "frame {} of chunk at {}",
                i,
                c.stream_frame
            );
            checked += 1;
        }
    }
    assert!(checked > 4000, "only {checked} rolling frames captured");
    // The rolling chunks start where the tags say: L frames after the roll
    // and after the locate.
    let starts: Vec<_> = chunks
        .iter()
        .filter(|c| c.rolling)
        .map(|c| (c.stream_frame, c.position))
        .take(1)
        .collect();
    assert_eq!(starts, vec![(500 + 256, 0)]);
    assert!(chunks
        .iter()
        .any(|c| c.stream_frame == 2000 + 256 && c.position == 30_000));
}

#[test]
fn open_refuses_what_it_cannot_do() {
    let mut d = NullDriver::new(NullConfig {
        loopback: true,
        capture_latency: 10,
        ..NullConfig::default()
    });
    let err = d.open(&request(1, 1, 64)).unwrap_err();
    assert!(
        err.to_string()
            .contains("at least one period (64 frames), got 10"),
        "{err}"
    );
    let mut d = NullDriver::new(NullConfig::default());
    let err = d
        .open(&StreamConfig {
            device: Some("hw:0".into()),
            ..StreamConfig::default()
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "null: no device \"hw:0\"; the null backend has one device, \"null\""
    );
    assert_eq!(d.devices().unwrap()[0].name, "null");
}
