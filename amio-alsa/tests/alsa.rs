//! The ALSA driver on real ALSA devices without a sound card: the `file`
//! and `null` plugins, and the `jack` PCM type (alsa-plugins) into a
//! private jackd, recorded and fed by independent JACK clients.
//!
//! ALSA reads its configuration, and the jack plugin its server name, from
//! the environment when first used, so each test runs its body in a child
//! process (this binary, run again) with `ALSA_CONFIG_PATH` and
//! `JACK_DEFAULT_SERVER` set from the start.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use amio_alsa::{AlsaConfig, AlsaDriver, SampleFormat};
use amio_core::rt_guard::{self, CountingAllocator};
use amio_core::{
    AudioDriver, Config, DriverErrorKind, Error, Event, FaultKind, Notice, Stream, StreamConfig,
};
use amio_testkit::child::{alsa_config, is_child, run as in_child};
use amio_testkit::reference::{
    assert_plays_the_null_render, assert_tags_and_continuity, clean_window, first_sound, issue,
    latency_in, null_render, peer_round_trip, RATE,
};
use amio_testkit::{client_name, wait_until, Generator, JackServer, Recorder, Scratch};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn request(inputs: usize, outputs: usize) -> StreamConfig {
    StreamConfig {
        device: None,
        frame_rate: Some(RATE),
        period: Some(256),
        in_channels: inputs,
        out_channels: outputs,
    }
}

/// Plays into ALSA's file plugin in `format`; compares the file with the
/// null render converted the same way.
fn file_plugin(format: SampleFormat) {
    let dir = Scratch::new("file");
    let raw = dir.join(format!("out-{}.raw", format.name()));
    let _ = std::fs::remove_file(&raw);
    let driver = AlsaDriver::new(AlsaConfig {
        playback_device: format!("file:FILE={},FORMAT=raw", raw.display()),
        format: Some(format),
        ..AlsaConfig::default()
    });
    let handle = driver.handle();
    let mut stream = Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
    let primed = (stream.interface().info().playback_latency
        + stream.interface().info().period as u64) as usize;
    issue(stream.interface_mut());
    let violations = rt_guard::violations();
    stream.start().unwrap();
    wait_until("a second of audio", Duration::from_secs(20), || {
        stream.interface().position().stream_frame > 48_000
    });
    stream.close().unwrap();
    assert_eq!(
        rt_guard::violations(),
        violations,
        "the ALSA audio thread allocated"
    );
    // ALSA's null slave takes audio as fast as it is given: paced by clock.
    assert!(handle.paced_by_clock());
    assert!(stream.interface_mut().events().iter().any(|e| matches!(
        e,
        Event::Notice {
            notice: Notice::PacedByClock,
            ..
        }
    )));

    let bytes = std::fs::read(&raw).unwrap();
    let got: Vec<f32> = match format {
        SampleFormat::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        SampleFormat::S32 => bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().unwrap()) as f32 / 2_147_483_648.0)
            .collect(),
        SampleFormat::S24 => bytes
            .chunks_exact(4)
            .map(|b| ((i32::from_le_bytes(b.try_into().unwrap()) << 8) >> 8) as f32 / 8_388_608.0)
            .collect(),
        SampleFormat::S16 => bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes(b.try_into().unwrap()) as f32 / 32_768.0)
            .collect(),
    };
    // A buffer of priming silence, then the stream from stream frame 0.
    assert!(got[..primed * 2].iter().all(|&x| x == 0.0));
    let played = &got[primed * 2..];
    let frames = played.len() / 2;
    assert!(frames > 48_000);
    let want = null_render(frames);
    let step = match format {
        SampleFormat::F32 => 0.0,
        SampleFormat::S32 => 1.0 / 2_147_483_648.0,
        SampleFormat::S24 => 1.0 / 8_388_608.0,
        SampleFormat::S16 => 1.0 / 32_768.0,
    };
    for (i, (&g, &w)) in played.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= step,
            "{format:?} frame {}: {g} vs {w}",
            i / 2
        );
    }
}

#[test]
fn file_plugin_f32_equals_the_null_render() {
    let body = || file_plugin(SampleFormat::F32);
    if is_child("file_plugin_f32_equals_the_null_render") {
        return body();
    }
    in_child("file_plugin_f32_equals_the_null_render", &[]);
}

#[test]
fn file_plugin_s32_s24_s16_equal_the_null_render() {
    let body = || {
        for format in [SampleFormat::S32, SampleFormat::S24, SampleFormat::S16] {
            file_plugin(format);
        }
    };
    if is_child("file_plugin_s32_s24_s16_equal_the_null_render") {
        return body();
    }
    in_child("file_plugin_s32_s24_s16_equal_the_null_render", &[]);
}

#[test]
fn an_unpaced_device_does_not_spin_a_core() {
    let body = || {
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "null".into(),
            capture_device: "null".into(),
            ..AlsaConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(2, 2), &Config::default()).unwrap();
        issue(stream.interface_mut());
        let cpu = || {
            // SAFETY: rusage is plain old data; all zeroes is a valid value.
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: getrusage fills the struct.
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
            Duration::new(
                u.ru_utime.tv_sec as u64 + u.ru_stime.tv_sec as u64,
                (u.ru_utime.tv_usec + u.ru_stime.tv_usec) as u32 * 1000,
            )
        };
        // The driver stays at most its buffer (playback latency + a period)
        // ahead of the clock, plus the period it renders next; one more
        // period covers rounding.
        let ahead = stream.interface().info().playback_latency
            + 3 * stream.interface().info().period as u64;
        // Taken before the driver's own clock starts: the bound below is
        // looser, never tighter, than the driver's.
        let (started, used) = (Instant::now(), cpu());
        stream.start().unwrap();
        wait_until("a second of audio", Duration::from_secs(20), || {
            stream.interface().position().stream_frame >= 48_000
        });
        let frames = stream.interface().position().stream_frame;
        let (wall, used) = (started.elapsed(), cpu() - used);
        stream.close().unwrap();
        eprintln!(
            "{frames} frames in {wall:?} using {used:?} of CPU; linked {}",
            handle.linked()
        );
        // The device takes audio as fast as it is given: the driver paces
        // itself by the clock, never more than its buffer ahead (a thread
        // that spun on the device would be millions of frames ahead). A
        // bound a busy machine cannot break: no CPU share, no duration.
        assert!(handle.paced_by_clock(), "not paced by the clock");
        let allowed = (wall.as_secs_f64() * f64::from(RATE)) as u64 + ahead;
        assert!(
            frames <= allowed,
            "{frames} frames in {wall:?}: ahead of the clock (at most {allowed})"
        );
    };
    if is_child("an_unpaced_device_does_not_spin_a_core") {
        return body();
    }
    in_child("an_unpaced_device_does_not_spin_a_core", &[]);
}

/// A private jackd with an ALSA `jack` PCM whose ports are the recorder's
/// inputs and the generator's outputs.
fn jack_env(server: &JackServer, dir: &Path) -> Vec<(&'static str, String)> {
    // The peers' clients, as Recorder and Generator name them.
    let (recorder, generator) = (
        client_name("recorder", server.name()),
        client_name("generator", server.name()),
    );
    let conf = alsa_config(
        dir,
        &format!(
            "pcm.amio_jack {{\n type jack\n playback_ports {{ 0 {recorder}:in_1 1 {recorder}:in_2 }}\n capture_ports {{ 0 {generator}:out_1 1 {generator}:out_2 }}\n}}\n\
             pcm.amio_jack_plug {{ type plug slave.pcm \"amio_jack\" }}\n"
        ),
    );
    vec![
        ("ALSA_CONFIG_PATH", conf),
        ("JACK_DEFAULT_SERVER", server.name().to_string()),
    ]
}

#[test]
fn through_jack_output_equals_the_null_render_and_input_carries_spec_tags() {
    let body = || {
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let recorder = Recorder::start(&name, "recorder", 2, &[]);
        let _generator = Generator::start(&name, "generator", 2, &[]);
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "amio_jack".into(),
            capture_device: "amio_jack".into(),
            ..AlsaConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(2, 2), &Config::default()).unwrap();
        eprintln!("capture linked to playback: {}", handle.linked());
        issue(stream.interface_mut());
        stream.start().unwrap();
        let mut chunks = Vec::new();
        let mut events = Vec::new();
        while stream.interface().position().stream_frame < 72_000 {
            chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
            events.extend(stream.interface_mut().events());
            std::thread::sleep(Duration::from_millis(10));
        }
        stream.close().unwrap();
        chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
        events.extend(stream.interface_mut().events());
        let clean = clean_window(&events, 256, 0);
        let recorded_from = recorder.first_frame_time().unwrap();
        let recording = recorder.finish();
        // The L the tags use is the round trip the peers see.
        let (reported, truth) = (
            latency_in(&events, &clean) as i64,
            peer_round_trip(&recording, recorded_from, &chunks, &clean),
        );
        eprintln!("L reported {reported}, true {truth}");
        assert_eq!(reported, truth);
        assert_plays_the_null_render(&recording, 48_000, &clean);
        assert_tags_and_continuity(&chunks, &events, &clean);
    };
    if is_child("through_jack_output_equals_the_null_render_and_input_carries_spec_tags") {
        return body();
    }
    let server = JackServer::start(256);
    let dir = Scratch::new("jack");
    let env = jack_env(&server, &dir);
    in_child(
        "through_jack_output_equals_the_null_render_and_input_carries_spec_tags",
        &env,
    );
}

#[test]
fn a_plug_pcm_converts_to_s16_for_the_jack_type() {
    let body = || {
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let recorder = Recorder::start(&name, "recorder", 2, &[]);
        let _generator = Generator::start(&name, "generator", 2, &[]);
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "amio_jack_plug".into(),
            format: Some(SampleFormat::S16),
            ..AlsaConfig::default()
        });
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        issue(stream.interface_mut());
        stream.start().unwrap();
        wait_until("a second and a half", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 72_000
        });
        stream.close().unwrap();
        let recording = recorder.finish();
        let want = null_render(72_000);
        let (w0, r0) = (
            first_sound(&want).unwrap(),
            first_sound(&recording).unwrap(),
        );
        for i in 0..48_000 * 2 {
            let (g, w) = (recording[r0 * 2 + i], want[w0 * 2 + i]);
            assert!((g - w).abs() <= 1.0 / 32_768.0, "sample {i}: {g} vs {w}");
        }
    };
    if is_child("a_plug_pcm_converts_to_s16_for_the_jack_type") {
        return body();
    }
    let server = JackServer::start(256);
    let dir = Scratch::new("plug");
    let env = jack_env(&server, &dir);
    in_child("a_plug_pcm_converts_to_s16_for_the_jack_type", &env);
}

#[test]
fn stalls_cause_underruns_that_are_each_recovered_and_reported() {
    let body = || {
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let _recorder = Recorder::start(&name, "recorder", 2, &[]);
        let _generator = Generator::start(&name, "generator", 2, &[]);
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "amio_jack".into(),
            capture_device: "amio_jack".into(),
            ..AlsaConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(2, 2), &Config::default()).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        stream.start().unwrap();
        wait_until("a start", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 9_600
        });
        let mut xruns = 0;
        for k in 1..=3 {
            handle.stall(Duration::from_millis(100)); // ~9 buffers
            wait_until("the recovery", Duration::from_secs(20), || {
                handle.recoveries() == k
            });
            let at = stream.interface().position().stream_frame;
            wait_until("the xrun event", Duration::from_secs(20), || {
                for e in stream.interface_mut().events() {
                    if let Event::Xrun { count, .. } = e {
                        xruns = count;
                    }
                }
                xruns == k && stream.interface().position().stream_frame > at + 2_400
            });
        }
        // The timeline stays true: rolling since frame 0, never located.
        let r = stream.interface().position();
        assert_eq!(r.position, r.stream_frame as i64);
        stream.close().unwrap();
        assert_eq!(handle.recoveries(), 3);
    };
    if is_child("stalls_cause_underruns_that_are_each_recovered_and_reported") {
        return body();
    }
    let server = JackServer::start(256);
    let dir = Scratch::new("stall");
    let env = jack_env(&server, &dir);
    in_child(
        "stalls_cause_underruns_that_are_each_recovered_and_reported",
        &env,
    );
}

#[test]
fn the_jack_server_going_away_is_a_fatal_event() {
    let body = || {
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "amio_jack".into(),
            device_timeout: Duration::from_millis(500),
            ..AlsaConfig::default()
        });
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let _recorder = Recorder::start(&name, "recorder", 2, &[]);
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        stream.start().unwrap();
        wait_until("a start", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 9_600
        });
        let pid: i32 = std::env::var("AMIO_TEST_JACKD_PID")
            .unwrap()
            .parse()
            .unwrap();
        // SAFETY: kill(2) on the test server's pid, passed down by the parent.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let killed = Instant::now();
        let mut fault = None;
        wait_until("the fatal event", Duration::from_secs(20), || {
            fault = stream
                .interface_mut()
                .events()
                .into_iter()
                .find_map(|e| match e {
                    Event::Fatal(f) => Some(f),
                    _ => None,
                });
            fault.is_some()
        });
        eprintln!("fatal after {:?}: {:?}", killed.elapsed(), fault);
        assert_eq!(fault.unwrap().kind, FaultKind::DeviceGone);
        let closing = Instant::now();
        stream.close().unwrap();
        eprintln!("close() took {:?}", closing.elapsed());
    };
    if is_child("the_jack_server_going_away_is_a_fatal_event") {
        return body();
    }
    let mut server = JackServer::start(256);
    let dir = Scratch::new("gone");
    let mut env = jack_env(&server, &dir);
    // The child kills the server by its pid, which we pass down.
    env.push(("AMIO_TEST_JACKD_PID", server.pid().to_string()));
    in_child("the_jack_server_going_away_is_a_fatal_event", &env);
    server.reap();
}

#[test]
fn errors_tell_a_missing_pcm_from_an_unsupported_configuration() {
    let body = || {
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let _recorder = Recorder::start(&name, "recorder", 2, &[]);
        let kind = |config: AlsaConfig, request: StreamConfig| match AlsaDriver::new(config)
            .open(&request)
        {
            Err(Error::Driver {
                backend,
                kind,
                message,
            }) => {
                eprintln!("{kind:?}: {message}");
                assert_eq!(backend, "alsa");
                kind
            }
            other => panic!("not a driver error: {other:?}"),
        };
        let playback = |device: &str| AlsaConfig {
            playback_device: device.into(),
            ..AlsaConfig::default()
        };
        assert_eq!(
            kind(playback("amio_no_such_pcm"), request(0, 2)),
            DriverErrorKind::NoDevice
        );
        assert_eq!(
            kind(playback("amio\0jack"), request(0, 2)),
            DriverErrorKind::NoDevice
        );
        // The jack type takes FLOAT_LE only, at the server's rate.
        let s16 = AlsaConfig {
            format: Some(SampleFormat::S16),
            ..playback("amio_jack")
        };
        assert_eq!(kind(s16, request(0, 2)), DriverErrorKind::Unsupported);
        let at_44100 = StreamConfig {
            frame_rate: Some(44_100),
            ..request(0, 2)
        };
        assert_eq!(
            kind(playback("amio_jack"), at_44100),
            DriverErrorKind::Unsupported
        );
    };
    if is_child("errors_tell_a_missing_pcm_from_an_unsupported_configuration") {
        return body();
    }
    let server = JackServer::start(256);
    let dir = Scratch::new("kinds");
    let env = jack_env(&server, &dir);
    in_child(
        "errors_tell_a_missing_pcm_from_an_unsupported_configuration",
        &env,
    );
}

#[test]
fn after_pause_returns_nothing_runs_and_start_runs_on_under_a_new_lease() {
    let body = || {
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "null".into(),
            capture_device: "null".into(),
            ..AlsaConfig::default()
        });
        let mut stream =
            Stream::open(Box::new(driver), &request(2, 2), &Config::default()).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        for round in 1..=3u64 {
            stream.start().unwrap();
            let from = stream.interface().position().stream_frame;
            wait_until("a tenth of a second", Duration::from_secs(20), || {
                stream.interface().position().stream_frame > from + 4_800
            });
            stream.pause().unwrap();
            // The audio thread is joined: the engine stands still.
            let at = stream.interface().position();
            std::thread::sleep(Duration::from_millis(100));
            assert_eq!(
                stream.interface().position(),
                at,
                "round {round}: it ran after pause"
            );
            assert_eq!(at.position, at.stream_frame as i64, "round {round}");
        }
        stream.close().unwrap();
        assert!(!stream
            .interface_mut()
            .events()
            .iter()
            .any(|e| matches!(e, Event::Fatal(_))));
    };
    if is_child("after_pause_returns_nothing_runs_and_start_runs_on_under_a_new_lease") {
        return body();
    }
    in_child(
        "after_pause_returns_nothing_runs_and_start_runs_on_under_a_new_lease",
        &[],
    );
}

#[test]
fn a_panic_on_the_audio_path_is_one_fatal_event_then_silence() {
    let body = || {
        let dir = Scratch::new("panic");
        let raw = dir.join("out.raw");
        let _ = std::fs::remove_file(&raw);
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: format!("file:FILE={},FORMAT=raw", raw.display()),
            format: Some(SampleFormat::F32),
            ..AlsaConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        let primed = (stream.interface().info().playback_latency
            + stream.interface().info().period as u64) as usize;
        issue(stream.interface_mut());
        stream.start().unwrap();
        wait_until("half a second of audio", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 24_000
        });
        handle.fail_period();
        let mut events = Vec::new();
        wait_until("the fatal event", Duration::from_secs(20), || {
            events.extend(stream.interface_mut().events());
            events.iter().any(|e| matches!(e, Event::Fatal(_)))
        });
        // The engine is not called again; the device runs on, silent.
        let frozen = stream.interface().position().stream_frame as usize;
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(stream.interface().position().stream_frame as usize, frozen);
        stream.close().unwrap();
        events.extend(stream.interface_mut().events());
        let fatal: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Fatal(f) => Some(f),
                _ => None,
            })
            .collect();
        assert_eq!(fatal.len(), 1, "{fatal:?}");
        assert_eq!(fatal[0].kind, FaultKind::ThreadFailed);
        let got: Vec<f32> = amio_testkit::read_raw_f32(raw.as_ref());
        let played = &got[primed * 2..];
        assert_eq!(&played[..frozen * 2], &null_render(frozen)[..]);
        let after = &played[frozen * 2..];
        assert!(
            after.len() >= 2 * 4_800,
            "only {} frames after the panic",
            after.len() / 2
        );
        assert!(after.iter().all(|&x| x == 0.0), "sound after the panic");
    };
    if is_child("a_panic_on_the_audio_path_is_one_fatal_event_then_silence") {
        return body();
    }
    in_child(
        "a_panic_on_the_audio_path_is_one_fatal_event_then_silence",
        &[],
    );
}

#[test]
fn without_real_time_priority_the_host_is_told() {
    let body = || {
        // An out-of-range priority is refused, as a user without the right
        // to SCHED_FIFO would be.
        let driver = AlsaDriver::new(AlsaConfig {
            playback_device: "null".into(),
            realtime_priority: Some(1000),
            ..AlsaConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        stream.start().unwrap();
        let mut told = false;
        wait_until("the notice", Duration::from_secs(20), || {
            told |= stream.interface_mut().events().iter().any(|e| {
                matches!(
                    e,
                    Event::Notice {
                        notice: Notice::NoRealtimePriority,
                        ..
                    }
                )
            });
            told
        });
        assert!(!handle.realtime());
        assert!(stream.interface().position().stream_frame > 0, "it runs on");
        stream.close().unwrap();
    };
    if is_child("without_real_time_priority_the_host_is_told") {
        return body();
    }
    in_child("without_real_time_priority_the_host_is_told", &[]);
}

#[test]
fn devices_are_listed_from_alsas_name_hints() {
    let body = || {
        let list = AlsaDriver::new(AlsaConfig::default()).devices().unwrap();
        let names: Vec<_> = list.iter().map(|d| d.name.as_str()).collect();
        eprintln!("{names:?}");
        assert!(names.contains(&"null"), "{names:?}");
        assert!(names.contains(&"jack"), "{names:?}");
    };
    if is_child("devices_are_listed_from_alsas_name_hints") {
        return body();
    }
    in_child("devices_are_listed_from_alsas_name_hints", &[]);
}

#[test]
fn the_plugin_plays_as_the_driver_does() {
    let body = || {
        let plugin = amio_testkit::built_plugin("alsa");
        let dir = Scratch::new("plugin");
        let raw = dir.join("out.raw");
        let _ = std::fs::remove_file(&raw);
        let driver = plugin
            .driver(&format!(
                "playback=file:FILE={},FORMAT=raw\nformat=f32",
                raw.display()
            ))
            .unwrap();
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        let primed = (stream.interface().info().playback_latency
            + stream.interface().info().period as u64) as usize;
        issue(stream.interface_mut());
        stream.start().unwrap();
        wait_until("some audio", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 24_000
        });
        stream.close().unwrap();
        let got: Vec<f32> = amio_testkit::read_raw_f32(raw.as_ref());
        let played = &got[primed * 2..];
        assert!(played == &null_render(played.len() / 2)[..]);
    };
    if is_child("the_plugin_plays_as_the_driver_does") {
        return body();
    }
    in_child("the_plugin_plays_as_the_driver_does", &[]);
}
