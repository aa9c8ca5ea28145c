//! The cpal driver through cpal's ALSA host (on user-space ALSA devices:
//! the `file` plugin and the `jack` PCM type into a private jackd) and
//! through cpal's JACK host, recorded and fed by independent JACK clients.
//! Each test runs its body in a child process with `ALSA_CONFIG_PATH` and
//! `JACK_DEFAULT_SERVER` set from the start.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use amio_core::rt_guard::{self, CountingAllocator};
use amio_core::{AudioDriver, Config, DriverErrorKind, Event, InputChunk, Stream, StreamConfig};
use amio_cpal::{CpalConfig, CpalDriver};
use amio_testkit::child::{alsa_config, is_child, run};
use amio_testkit::reference::{
    assert_plays_the_null_render, assert_tags_and_continuity, clean_window, issue, issue_at,
    latency_in, peer_round_trip, sync_window, RATE,
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

/// How far the L measured through cpal's ALSA host may be from the true
/// round trip: cpal stamps each stream from its own origin, and aligning
/// the two (the driver's timing module) is as good as the callbacks'
/// wake-up times. Measured: within 2 frames idle, within 4 with both cores
/// kept busy by other processes.
const ALIGNMENT_TOLERANCE: i64 = 8;

/// Plays the reference session through `driver` into the `amio_file` PCM
/// (its raw file is `AMIO_TEST_RAW`) and checks the file is the null
/// render. Runs in the child.
fn plays_the_null_render_into_the_file_pcm(driver: Box<dyn AudioDriver>) {
    let raw = std::env::var("AMIO_TEST_RAW").unwrap();
    let _ = std::fs::remove_file(&raw);
    let mut stream = Stream::open(driver, &request(0, 2), &Config::default()).unwrap();
    issue(stream.interface_mut());
    stream.start().unwrap();
    wait_until("two seconds of audio", Duration::from_secs(30), || {
        stream.interface().position().stream_frame > 96_000
    });
    stream.close().unwrap();
    let recording = amio_testkit::read_raw_f32(raw.as_ref());
    assert_plays_the_null_render(&recording, 48_000, &(0..u64::MAX));
}

/// Runs `test` in a child whose ALSA has the `amio_file` PCM: ALSA's
/// `file` plugin writing raw samples into a scratch directory.
fn run_with_the_file_pcm(test: &str, scratch: &str) {
    let dir = Scratch::new(scratch);
    let raw = dir.join("out.raw");
    let conf = alsa_config(
        &dir,
        &format!(
            "pcm.amio_file {{ type file slave.pcm null file \"{}\" format raw hint {{ show on description \"amio test file\" }} }}",
            raw.display()
        ),
    );
    run(
        test,
        &[
            ("ALSA_CONFIG_PATH", conf),
            ("AMIO_TEST_RAW", raw.display().to_string()),
        ],
    );
}

#[test]
fn alsa_host_into_the_file_plugin_plays_the_null_render() {
    let test = "alsa_host_into_the_file_plugin_plays_the_null_render";
    if is_child(test) {
        return plays_the_null_render_into_the_file_pcm(Box::new(CpalDriver::new(CpalConfig {
            host: Some("alsa".into()),
            output_device: Some("amio_file".into()),
            ..CpalConfig::default()
        })));
    }
    run_with_the_file_pcm(test, "cpal-file");
}

fn jack_pcm_env(server: &JackServer, dir: &Scratch) -> Vec<(&'static str, String)> {
    // The peers' clients, as Recorder and Generator name them.
    let (recorder, generator) = (
        client_name("recorder", server.name()),
        client_name("generator", server.name()),
    );
    let conf = alsa_config(
        dir,
        &format!(
            "pcm.amio_jack {{\n type jack\n playback_ports {{ 0 {recorder}:in_1 1 {recorder}:in_2 }}\n capture_ports {{ 0 {generator}:out_1 1 {generator}:out_2 }}\n hint {{ show on description \"amio test jack\" }}\n}}\n"
        ),
    );
    vec![
        ("ALSA_CONFIG_PATH", conf),
        ("JACK_DEFAULT_SERVER", server.name().to_string()),
    ]
}

/// Plays and captures for `frames` stream frames; the callbacks allocate
/// nothing.
fn play_and_capture(stream: &mut Stream, frames: u64) -> (Vec<InputChunk>, Vec<Event>) {
    issue(stream.interface_mut());
    let violations = rt_guard::violations();
    stream.start().unwrap();
    let mut chunks = Vec::new();
    let mut events = Vec::new();
    while stream.interface().position().stream_frame < frames {
        chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
        events.extend(stream.interface_mut().events());
        std::thread::sleep(Duration::from_millis(10));
    }
    stream.close().unwrap();
    assert_eq!(
        rt_guard::violations(),
        violations,
        "cpal's callbacks allocated"
    );
    chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
    events.extend(stream.interface_mut().events());
    (chunks, events)
}

#[test]
fn alsa_host_through_a_jack_pcm_plays_and_captures_with_spec_tags() {
    let test = "alsa_host_through_a_jack_pcm_plays_and_captures_with_spec_tags";
    let body = || {
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let recorder = Recorder::start(&name, "recorder", 2, &[]);
        let _generator = Generator::start(&name, "generator", 2, &[]);
        let driver = CpalDriver::new(CpalConfig {
            host: Some("alsa".into()),
            output_device: Some("amio_jack".into()),
            input_device: Some("amio_jack".into()),
            ..CpalConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(2, 2), &Config::default()).unwrap();
        let (chunks, events) = play_and_capture(&mut stream, 144_000);
        let clean = clean_window(&events, 256, 0);
        assert!(handle.latency_measured());
        let recorded_from = recorder.first_frame_time().unwrap();
        let recording = recorder.finish();
        // The L the tags use is the round trip the peers see, within what
        // aligning two streams' clocks allows.
        let (reported, truth) = (
            latency_in(&events, &clean) as i64,
            peer_round_trip(&recording, recorded_from, &chunks, &clean),
        );
        eprintln!("L reported {reported}, true {truth}");
        assert!(
            (reported - truth).abs() <= ALIGNMENT_TOLERANCE,
            "L reported {reported}, true {truth}"
        );
        assert_plays_the_null_render(&recording, 48_000, &clean);
        assert_tags_and_continuity(&chunks, &events, &clean);
    };
    if is_child(test) {
        return body();
    }
    let server = JackServer::start(256);
    let dir = Scratch::new("cpal-jack");
    run(test, &jack_pcm_env(&server, &dir));
}

/// Where the JACK-host test issues its session: one second in.
const SESSION_START: u64 = 48_000;

/// amio-cpal measures L over the first 256 callbacks after a start (its
/// docs: at 16 and at 256 callbacks).
const MEASURED_BY: u64 = 256;

#[test]
fn jack_host_plays_and_captures_with_spec_tags() {
    let test = "jack_host_plays_and_captures_with_spec_tags";
    let body = || {
        let name = std::env::var("JACK_DEFAULT_SERVER").unwrap();
        let driver = CpalDriver::new(CpalConfig {
            host: Some("jack".into()),
            ..CpalConfig::default()
        });
        let handle = driver.handle();
        let mut stream =
            Stream::open(Box::new(driver), &request(2, 2), &Config::default()).unwrap();
        assert_eq!(stream.interface().info().frame_rate, RATE);
        // cpal names its clients cpal_client_<pid>_in and _out and makes
        // them when the streams start: find their ports then, connect the
        // independent peers, and issue the session at SESSION_START, after
        // the graph changes (which may make a busy machine's graph xrun).
        let violations = rt_guard::violations();
        stream.start().unwrap();
        let probe = amio_jack::open_client(&client_name("probe", &name), Some(&name)).unwrap();
        let ports = |pattern: &str| {
            let mut p = probe.ports(Some(pattern), None, jack::PortFlags::empty());
            p.sort();
            p
        };
        let (outs, ins) = (
            ports("cpal_client_.*_out:out_"),
            ports("cpal_client_.*_in:in_"),
        );
        assert_eq!(
            (outs.len(), ins.len()),
            (2, 2),
            "cpal's ports: {outs:?} {ins:?}"
        );
        let recorder = Recorder::start(&name, "recorder", 2, &outs);
        let _generator = Generator::start(&name, "generator", 2, &ins);
        let connected_at = stream.interface().position().stream_frame;
        assert!(
            connected_at + 8_192 < SESSION_START,
            "{}: the peers were connected at stream frame {connected_at}",
            amio_testkit::TOO_BUSY
        );
        issue_at(stream.interface_mut(), SESSION_START);
        let mut chunks = Vec::new();
        let mut events = Vec::new();
        while stream.interface().position().stream_frame < SESSION_START + 120_000 {
            chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
            events.extend(stream.interface_mut().events());
            std::thread::sleep(Duration::from_millis(10));
        }
        // What JACK reports between cpal's ports and the hardware, read
        // by another client while they exist.
        let latency = |ports: &[String], mode| {
            ports
                .iter()
                .map(|p| probe.port_by_name(p).unwrap().get_latency_range(mode).1)
                .max()
                .unwrap_or(0) as i64
        };
        let hardware =
            latency(&ins, jack::LatencyType::Capture) + latency(&outs, jack::LatencyType::Playback);
        stream.close().unwrap();
        assert_eq!(
            rt_guard::violations(),
            violations,
            "cpal's callbacks allocated"
        );
        chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
        events.extend(stream.interface_mut().events());
        // cpal's JACK host: JACK clients on a synchronous server, where an
        // xrun loses no frame.
        let clean = sync_window(&events, SESSION_START);
        assert!(handle.latency_measured());
        let recorded_from = recorder.first_frame_time().unwrap();
        let recording = recorder.finish();
        // cpal's ports are also connected to the hardware ports: the true
        // L is the peers' round trip plus the hardware latencies JACK
        // reports on cpal's ports. Both streams are stamped from JACK's
        // clock, so exactly.
        let truth = peer_round_trip(&recording, recorded_from, &chunks, &clean) + hardware;
        assert_plays_the_null_render(&recording, 48_000, &clean);
        assert_tags_and_continuity(&chunks, &events, &clean);
        // Exactly, that is, while JACK's microseconds keep step with its
        // frames. The dummy backend re-anchors its clock at an xrun (a
        // cycle woken more than a period late), after which they no
        // longer do; L comes from the stamps of the first MEASURED_BY
        // callbacks, and where an xrun among them left L off, nothing
        // exact is left to compare.
        let reported = latency_in(&events, &clean) as i64;
        if reported != truth {
            if let Some(x) = events.iter().find_map(|e| match e {
                Event::Xrun { stream_frame, .. } if *stream_frame < MEASURED_BY * 256 => {
                    Some(*stream_frame)
                }
                _ => None,
            }) {
                panic!(
                    "{}: L reported {reported}, true {truth}, measured across an xrun at stream frame {x} (JACK re-anchored its clock)",
                    amio_testkit::TOO_BUSY
                );
            }
        }
        assert_eq!(reported, truth);
    };
    if is_child(test) {
        return body();
    }
    let server = JackServer::start(256);
    run(test, &[("JACK_DEFAULT_SERVER", server.name().to_string())]);
}

#[test]
fn devices_are_listed_through_cpal() {
    let test = "devices_are_listed_through_cpal";
    let body = || {
        let list = amio_core::AudioDriver::devices(&CpalDriver::new(CpalConfig {
            host: Some("alsa".into()),
            ..CpalConfig::default()
        }))
        .unwrap();
        let names: Vec<_> = list.iter().map(|d| d.name.as_str()).collect();
        eprintln!("{names:?}");
        assert!(names.contains(&"amio_listed"), "{names:?}");
        let err = CpalDriver::new(CpalConfig {
            host: Some("no-such-host".into()),
            ..CpalConfig::default()
        });
        let e = amio_core::AudioDriver::devices(&err).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cpal: no cpal host \"no-such-host\" here (available: "),
            "{e}"
        );
        assert_eq!(kind(&e), DriverErrorKind::Unsupported);
    };
    if is_child(test) {
        return body();
    }
    let dir = Scratch::new("cpal-list");
    let conf = alsa_config(
        &dir,
        "pcm.amio_listed { type null hint { show on description \"listed\" } }",
    );
    run(test, &[("ALSA_CONFIG_PATH", conf)]);
}

#[test]
fn the_plugin_plays_as_the_driver_does() {
    let test = "the_plugin_plays_as_the_driver_does";
    if is_child(test) {
        let plugin = amio_testkit::built_plugin("cpal");
        let driver = plugin.driver("host=alsa\noutput=amio_file").unwrap();
        return plays_the_null_render_into_the_file_pcm(Box::new(driver));
    }
    run_with_the_file_pcm(test, "cpal-plugin");
}

/// The kind a driver's error carries.
fn kind(e: &amio_core::Error) -> DriverErrorKind {
    match e {
        amio_core::Error::Driver { kind, .. } => *kind,
        other => panic!("not a driver's error: {other}"),
    }
}

#[test]
fn errors_tell_a_missing_server_from_a_missing_device_and_an_unsupported_configuration() {
    let test =
        "errors_tell_a_missing_server_from_a_missing_device_and_an_unsupported_configuration";
    let body = || {
        let open = |config: CpalConfig, request: &StreamConfig| match Stream::open(
            Box::new(CpalDriver::new(config)),
            request,
            &Config::default(),
        ) {
            Ok(_) => panic!("opened {request:?}"),
            Err(e) => {
                eprintln!("{e}");
                e
            }
        };
        // cpal's JACK host where no JACK server runs (JACK_DEFAULT_SERVER
        // names none, and nothing may start one).
        let e = open(
            CpalConfig {
                host: Some("jack".into()),
                ..CpalConfig::default()
            },
            &request(0, 2),
        );
        assert_eq!(kind(&e), DriverErrorKind::NoServer, "{e}");
        let alsa = |device: &str| CpalConfig {
            host: Some("alsa".into()),
            output_device: Some(device.into()),
            ..CpalConfig::default()
        };
        let e = open(alsa("amio_absent"), &request(0, 2));
        assert_eq!(kind(&e), DriverErrorKind::NoDevice, "{e}");
        assert_eq!(e.to_string(), "cpal: no output device \"amio_absent\"");
        // More channels than the device (cpal looks at 64 at most).
        let e = open(alsa("amio_null"), &request(0, 100));
        assert_eq!(kind(&e), DriverErrorKind::Unsupported, "{e}");
    };
    if is_child(test) {
        return body();
    }
    let dir = Scratch::new("cpal-kinds");
    let conf = alsa_config(
        &dir,
        "pcm.amio_null { type null hint { show on description \"amio null\" } }",
    );
    run(
        test,
        &[
            ("ALSA_CONFIG_PATH", conf),
            ("JACK_DEFAULT_SERVER", "amio-no-such-server".into()),
            ("JACK_NO_START_SERVER", "1".into()),
        ],
    );
}

#[test]
fn once_stopped_nothing_runs_and_a_new_start_runs_again() {
    let test = "once_stopped_nothing_runs_and_a_new_start_runs_again";
    if is_child(test) {
        let driver = CpalDriver::new(CpalConfig {
            host: Some("alsa".into()),
            output_device: Some("amio_file".into()),
            ..CpalConfig::default()
        });
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        stream.start().unwrap();
        wait_until("audio", Duration::from_secs(30), || {
            stream.interface().position().stream_frame > 9_600
        });
        // Stopping the driver drops cpal's streams: their callbacks have
        // ended when it returns, so the engine does not move any more.
        stream.pause().unwrap();
        let stopped_at = stream.interface().position().stream_frame;
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(stream.interface().position().stream_frame, stopped_at);
        // A new lease: the engine runs on from where it stopped.
        stream.start().unwrap();
        wait_until("more audio", Duration::from_secs(30), || {
            stream.interface().position().stream_frame > stopped_at + 9_600
        });
        stream.close().unwrap();
        let events = stream.interface_mut().events();
        assert!(
            !events.iter().any(|e| matches!(e, Event::Fatal(_))),
            "{events:?}"
        );
        return;
    }
    run_with_the_file_pcm(test, "cpal-restart");
}
