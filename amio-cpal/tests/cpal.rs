//! The cpal driver through cpal's ALSA host (on user-space ALSA devices:
//! the `file` plugin and the `jack` PCM type into a private jackd) and
//! through cpal's JACK host, recorded and fed by independent JACK clients.
//! Each test runs its body in a child process with `ALSA_CONFIG_PATH` and
//! `JACK_DEFAULT_SERVER` set from the start.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use amio_core::{Config, Event, InputChunk, Stream, StreamConfig};
use amio_cpal::{CpalConfig, CpalDriver};
use amio_testkit::child::{alsa_config, is_child, run};
use amio_testkit::reference::{
    assert_plays_the_null_render, assert_tags_and_continuity, clean_until, issue, RATE,
};
use amio_testkit::{wait_until, Generator, JackServer, Recorder, Scratch};

fn request(inputs: usize, outputs: usize) -> StreamConfig {
    StreamConfig {
        device: None,
        frame_rate: Some(RATE),
        period: Some(256),
        in_channels: inputs,
        out_channels: outputs,
    }
}

#[test]
fn alsa_host_into_the_file_plugin_plays_the_null_render() {
    let test = "alsa_host_into_the_file_plugin_plays_the_null_render";
    let dir = Scratch::new("cpal-file");
    let raw = dir.join("out.raw");
    let body = || {
        let raw = std::env::var("AMIO_TEST_RAW").unwrap();
        let _ = std::fs::remove_file(&raw);
        let driver = CpalDriver::new(CpalConfig {
            host: Some("alsa".into()),
            output_device: Some("amio_file".into()),
            ..CpalConfig::default()
        });
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        issue(&mut stream);
        stream.start().unwrap();
        wait_until("two seconds of audio", Duration::from_secs(30), || {
            stream.position().stream_frame > 96_000
        });
        stream.close().unwrap();
        let recording: Vec<f32> = std::fs::read(&raw)
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_plays_the_null_render(&recording, 48_000, u64::MAX);
    };
    if is_child(test) {
        return body();
    }
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

fn jack_pcm_env(server: &JackServer, dir: &Scratch) -> Vec<(&'static str, String)> {
    let conf = alsa_config(
        dir,
        "pcm.amio_jack {\n type jack\n playback_ports { 0 recorder:in_1 1 recorder:in_2 }\n capture_ports { 0 generator:out_1 1 generator:out_2 }\n hint { show on description \"amio test jack\" }\n}\n",
    );
    vec![
        ("ALSA_CONFIG_PATH", conf),
        ("JACK_DEFAULT_SERVER", server.name().to_string()),
    ]
}

/// Plays and captures for `frames` stream frames.
fn play_and_capture(stream: &mut Stream, frames: u64) -> (Vec<InputChunk>, Vec<Event>) {
    issue(stream);
    stream.start().unwrap();
    let mut chunks = Vec::new();
    let mut events = Vec::new();
    while stream.position().stream_frame < frames {
        chunks.extend(std::iter::from_fn(|| stream.read_input()));
        events.extend(stream.events());
        std::thread::sleep(Duration::from_millis(10));
    }
    stream.close().unwrap();
    chunks.extend(std::iter::from_fn(|| stream.read_input()));
    events.extend(stream.events());
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
        let (chunks, events) = play_and_capture(&mut stream, 96_000);
        let clean = clean_until(&events, 256);
        assert!(handle.latency_measured());
        assert_plays_the_null_render(&recorder.finish(), 48_000, clean);
        assert_tags_and_continuity(&chunks, &events, clean);
    };
    if is_child(test) {
        return body();
    }
    let server = JackServer::start(256);
    let dir = Scratch::new("cpal-jack");
    run(test, &jack_pcm_env(&server, &dir));
}

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
        assert_eq!(stream.info().frame_rate, RATE);
        // cpal names its clients cpal_client_<pid>_in and _out; find their
        // ports once the streams run, and connect the independent peers.
        issue(&mut stream);
        stream.start().unwrap();
        let probe = amio_jack::open_client("probe", Some(&name)).unwrap();
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
        let mut chunks = Vec::new();
        let mut events = Vec::new();
        while stream.position().stream_frame < 120_000 {
            chunks.extend(std::iter::from_fn(|| stream.read_input()));
            events.extend(stream.events());
            std::thread::sleep(Duration::from_millis(10));
        }
        stream.close().unwrap();
        chunks.extend(std::iter::from_fn(|| stream.read_input()));
        events.extend(stream.events());
        let clean = clean_until(&events, 256);
        assert!(handle.latency_measured());
        assert_plays_the_null_render(&recorder.finish(), 48_000, clean);
        assert_tags_and_continuity(&chunks, &events, clean);
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
    let dir = Scratch::new("cpal-plugin");
    let raw = dir.join("out.raw");
    let body = || {
        let raw = std::env::var("AMIO_TEST_RAW").unwrap();
        let _ = std::fs::remove_file(&raw);
        let exe = std::env::current_exe().unwrap();
        let path = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("libamio_cpal.so");
        let plugin = amio_core::plugin::load_path(&path, "cpal").unwrap();
        let driver = plugin.driver("host=alsa\noutput=amio_file").unwrap();
        let mut stream =
            Stream::open(Box::new(driver), &request(0, 2), &Config::default()).unwrap();
        issue(&mut stream);
        stream.start().unwrap();
        wait_until("two seconds of audio", Duration::from_secs(30), || {
            stream.position().stream_frame > 96_000
        });
        stream.close().unwrap();
        let recording: Vec<f32> = std::fs::read(&raw)
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_plays_the_null_render(&recording, 48_000, u64::MAX);
    };
    if is_child(test) {
        return body();
    }
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
