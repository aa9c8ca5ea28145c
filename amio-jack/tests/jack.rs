//! The JACK driver against real JACK servers (Debian's jackd2, dummy
//! backend, a private server per test), with independent JACK clients
//! recording amio's output and feeding its input. The process callback runs
//! under the counting allocator: no test may see an allocation in it.
//!
//! Each test that talks to JACK runs its body in a process of its own
//! (`amio_testkit::child`): libjack can crash a process that talks to
//! several servers when one of them dies, and `cargo test` would otherwise
//! run every test here as a thread of one process.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use amio_core::rt_guard::{self, CountingAllocator};
use amio_core::{
    Clip, Config, DriverErrorKind, Entry, Event, FaultKind, InputChunk, Interface, Playspec,
    Stream, StreamConfig, StreamInfo,
};
use amio_jack::{Connect, JackConfig, JackDriver};
use amio_testkit::child::in_own_process;
use amio_testkit::{
    client_name, generator_sample, unique_name, Generator, JackServer, Recorder, Staller,
};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const RATE: u32 = 48_000;

fn jack_config(server: &JackServer, connect: Connect) -> JackConfig {
    JackConfig {
        client_name: client_name("amio", server.name()),
        server_name: Some(server.name().into()),
        connect,
        ..JackConfig::default()
    }
}

fn request(channels: usize) -> StreamConfig {
    StreamConfig {
        frame_rate: Some(RATE),
        in_channels: channels,
        out_channels: channels,
        ..StreamConfig::default()
    }
}

/// A session that never goes silent once it rolls: two overlapping loops
/// of noise on two channels, swapped for a third after a while.
struct Session {
    playspecs: Vec<Playspec>,
}

/// Roll, a swap and a locate, at fixed stream frames.
const ROLL_AT: u64 = 24_000;
const SWAP_INSERT: i64 = 30_000;
const LOCATE_AT: u64 = 72_000;
const LOCATE_TO: i64 = 1_000;

impl Session {
    fn new() -> Session {
        let noise = |seed: u32, frames: usize| {
            let mut s = seed;
            let samples = (0..frames * 2)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    (s >> 8) as f32 / (1u32 << 24) as f32 * 0.5 + 0.05
                })
                .collect();
            Clip::from_interleaved(RATE, 2, samples).unwrap()
        };
        let a = noise(1, 7_000);
        let b = noise(2, 3_000);
        let c = noise(3, 11_000);
        Session {
            playspecs: vec![
                Playspec::new(vec![
                    Entry::new(a, vec![0.6, 0.4]).repeat(7_000).fades(100, 100),
                    Entry::new(b.clone(), vec![0.3, 0.5])
                        .play_at(500)
                        .repeat(2_500),
                ])
                .unwrap(),
                Playspec::new(vec![
                    Entry::new(c, vec![0.5, 0.5]).repeat(9_000),
                    Entry::new(b, vec![0.2, 0.1]).repeat(3_000),
                ])
                .unwrap(),
            ],
        }
    }

    fn issue(&self, interface: &mut Interface) {
        interface
            .schedule(&self.playspecs[0], 0, 0, Some(0))
            .unwrap();
        interface.roll(Some(ROLL_AT)).unwrap();
        interface
            .schedule(&self.playspecs[1], SWAP_INSERT, 0, Some(ROLL_AT + 10))
            .unwrap();
        interface.locate(LOCATE_TO, Some(LOCATE_AT)).unwrap();
    }

    /// The (id, position, rolling) of the output at stream frame `s`.
    fn tag(s: i64) -> (u64, i64, bool) {
        let roll = ROLL_AT as i64;
        let swap = roll + SWAP_INSERT; // p reaches insert_at here
        if s < 0 {
            (0, 0, false)
        } else if s < roll {
            (1, 0, false)
        } else if s < swap {
            (1, s - roll, true)
        } else if s < LOCATE_AT as i64 {
            (2, s - swap, true)
        } else {
            (2, LOCATE_TO + s - LOCATE_AT as i64, true)
        }
    }

    /// The null driver's render: what amio must play, frame for frame.
    fn render(&self, frames: usize) -> Vec<f32> {
        let info = StreamInfo {
            backend: "null".into(),
            device: "null".into(),
            frame_rate: RATE,
            period: 256,
            max_period: 256,
            in_channels: 0,
            out_channels: 2,
            capture_latency: 0,
            playback_latency: 0,
        };
        let (mut interface, mut engine) = Interface::new(&info, &Config::default()).unwrap();
        self.issue(&mut interface);
        let mut out = vec![0.0; frames * 2];
        engine.process_interleaved(frames, &[], &mut out);
        out
    }
}

/// The kind of a driver error (panics on any other error).
fn driver_kind(err: &amio_core::Error) -> DriverErrorKind {
    match err {
        amio_core::Error::Driver { kind, .. } => *kind,
        other => panic!("not a driver error: {other}"),
    }
}

fn first_sound(samples: &[f32]) -> usize {
    samples.iter().position(|&x| x != 0.0).unwrap() / 2
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Plays the session through amio on `server` with a recorder on amio's
/// outputs, and checks the recording against the null render.
fn play_and_compare(server: &JackServer, during: impl FnOnce(&JackServer)) {
    let driver = JackDriver::new(jack_config(server, Connect::None));
    let outputs = driver.handle();
    play_and_compare_with(
        server,
        Box::new(driver),
        move || outputs.ports().outputs,
        during,
    );
}

fn play_and_compare_with(
    server: &JackServer,
    driver: Box<dyn amio_core::AudioDriver>,
    outputs: impl FnOnce() -> Vec<String>,
    during: impl FnOnce(&JackServer),
) {
    let session = Session::new();
    let mut stream = Stream::open(driver, &request(2), &Config::default()).unwrap();
    session.issue(stream.interface_mut());
    stream.start().unwrap();
    let recorder = Recorder::start(server.name(), "recorder", 2, &outputs());
    let violations = rt_guard::violations();
    during(server);
    // Record well past the roll, the swap and the locate.
    let wanted = (LOCATE_AT + 24_000) as usize;
    wait_until("amio to pass the locate", Duration::from_secs(60), || {
        stream.interface().position().stream_frame > wanted as u64 + 4096
    });
    stream.close().unwrap();
    let recording = recorder.finish();
    assert_eq!(
        rt_guard::violations(),
        violations,
        "the JACK process callback allocated"
    );

    let expected = session.render(wanted + 4096);
    let (f0, r0) = (first_sound(&expected), first_sound(&recording));
    assert_eq!(f0, ROLL_AT as usize);
    let len = wanted - f0;
    assert!(
        recording.len() / 2 >= r0 + len,
        "recorded {} frames",
        recording.len() / 2
    );
    let got = &recording[r0 * 2..(r0 + len) * 2];
    let want = &expected[f0 * 2..(f0 + len) * 2];
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "recording differs from the null render at frame {} after the start: {} != {}",
            i / 2,
            got[i],
            want[i]
        );
    }
}

#[test]
fn playback_equals_the_null_render() {
    in_own_process("playback_equals_the_null_render", || {
        let server = JackServer::start(256);
        play_and_compare(&server, |_| {});
    });
}

#[test]
fn playback_through_the_plugin_equals_the_null_render() {
    in_own_process("playback_through_the_plugin_equals_the_null_render", || {
        // libamio_jack.so, built beside this test, loaded as libamio loads it.
        let plugin = amio_testkit::built_plugin("jack");
        let server = JackServer::start(256);
        let plugged = client_name("plugged", server.name());
        let options = format!(
            "server={}\nclient_name={plugged}\nconnect=none",
            server.name()
        );
        let driver = plugin.driver(&options).unwrap();
        play_and_compare_with(
            &server,
            Box::new(driver),
            move || vec![format!("{plugged}:out_1"), format!("{plugged}:out_2")],
            |_| {},
        );
    });
}

#[test]
fn a_buffer_size_change_while_playing_keeps_the_timeline() {
    in_own_process(
        "a_buffer_size_change_while_playing_keeps_the_timeline",
        || {
            let server = JackServer::start(256);
            play_and_compare(&server, |server| {
                let probe = amio_jack::open_client(
                    &client_name("probe", server.name()),
                    Some(server.name()),
                )
                .unwrap();
                for frames in [1024, 64] {
                    // 1024 is longer than the engine's period: worked in pieces.
                    std::thread::sleep(Duration::from_millis(400));
                    server.set_buffer_size(frames);
                    wait_until("the new buffer size", Duration::from_secs(10), || {
                        probe.buffer_size() == frames
                    });
                }
            });
        },
    );
}

/// Captures through amio with a generator on its inputs and checks every
/// captured frame's tag against SPEC.md for the latency JACK reports, and
/// its sample against the generator.
fn capture_at(period: u32) {
    let server = JackServer::start(period);
    let session = Session::new();
    let driver = JackDriver::new(jack_config(&server, Connect::Physical));
    let handle = driver.handle();
    let mut stream = Stream::open(Box::new(driver), &request(2), &Config::default()).unwrap();
    assert_eq!(stream.interface().info().period, period as usize);
    session.issue(stream.interface_mut());
    stream.start().unwrap();
    let ports = handle.ports();
    let _generator = Generator::start(server.name(), "generator", 2, &ports.inputs);
    let violations = rt_guard::violations();

    let mut chunks: Vec<InputChunk> = Vec::new();
    let mut events = Vec::new();
    let end = LOCATE_AT + 30_000;
    while stream.interface().position().stream_frame < end {
        chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
        events.extend(stream.interface_mut().events());
        std::thread::sleep(Duration::from_millis(10));
    }
    // What JACK itself reports for amio's ports, read by another client.
    let probe =
        amio_jack::open_client(&client_name("probe", server.name()), Some(server.name())).unwrap();
    let range =
        |name: &str, mode| probe.port_by_name(name).unwrap().get_latency_range(mode).1 as u64;
    let capture = ports
        .inputs
        .iter()
        .map(|p| range(p, jack::LatencyType::Capture))
        .max()
        .unwrap();
    let playback = ports
        .outputs
        .iter()
        .map(|p| range(p, jack::LatencyType::Playback))
        .max()
        .unwrap();
    stream.close().unwrap();
    assert_eq!(
        rt_guard::violations(),
        violations,
        "the JACK process callback allocated"
    );
    chunks.extend(std::iter::from_fn(|| stream.interface_mut().read_input()));
    events.extend(stream.interface_mut().events());

    // The latency in use, from the engine's Latency events.
    let latencies = amio_testkit::reference::latency_events(&events);
    let (_, final_l) = *latencies.last().unwrap();
    assert_eq!(final_l, capture + playback, "L follows JACK's ranges");
    assert_eq!(
        final_l,
        2 * u64::from(period),
        "the dummy backend reports a period each way"
    );
    // Right from stream frame 0, with no transient values while connecting.
    assert_eq!(latencies, vec![(0, final_l)], "L changed on the way");
    let l_at = |s: u64| {
        latencies
            .iter()
            .rev()
            .find(|(at, _)| *at <= s)
            .map_or(0, |l| l.1)
    };

    let mut checked = 0;
    let mut expect_s = 0;
    let mut offset: Option<u64> = None; // JACK frame time of stream frame 0
    for c in &chunks {
        assert_eq!(c.stream_frame, expect_s, "input is continuous");
        assert_eq!(c.lost_before, 0);
        for i in 0..c.frames() {
            let s = c.stream_frame + i as u64;
            let position = if c.rolling {
                c.position + i as i64
            } else {
                c.position
            };
            let want = Session::tag(s as i64 - l_at(s) as i64);
            assert_eq!(
                (c.id, position, c.rolling),
                want,
                "stream frame {s} at period {period}"
            );
            // The sample is the generator's, once it runs, with no frame
            // lost or repeated.
            let x = c.samples[i * 2 + 1];
            if x != 0.0 {
                let t = ((x as u64 - 1) / 8) as i64;
                let o = *offset.get_or_insert(((t - s as i64).rem_euclid(1 << 20)) as u64);
                assert_eq!(x, generator_sample(o + s, 1), "stream frame {s}");
                assert_eq!(c.samples[i * 2], generator_sample(o + s, 0));
                checked += 1;
            } else {
                assert!(
                    offset.is_none(),
                    "the generator's signal stopped at stream frame {s}"
                );
            }
        }
        expect_s += c.frames() as u64;
    }
    assert!(expect_s >= end);
    assert!(
        checked as u64 > end - 48_000,
        "only {checked} generator frames captured"
    );
}

#[test]
fn captured_input_carries_spec_positions_at_period_64() {
    in_own_process("captured_input_carries_spec_positions_at_period_64", || {
        capture_at(64);
    });
}

#[test]
fn captured_input_carries_spec_positions_at_period_256() {
    in_own_process(
        "captured_input_carries_spec_positions_at_period_256",
        || {
            capture_at(256);
        },
    );
}

#[test]
fn captured_input_carries_spec_positions_at_period_1024() {
    in_own_process(
        "captured_input_carries_spec_positions_at_period_1024",
        || {
            capture_at(1024);
        },
    );
}

#[test]
fn server_killed_mid_stream() {
    in_own_process("server_killed_mid_stream", || {
        let mut server = JackServer::start(256);
        let session = Session::new();
        let driver = JackDriver::new(jack_config(&server, Connect::None));
        let mut stream = Stream::open(Box::new(driver), &request(2), &Config::default()).unwrap();
        session.issue(stream.interface_mut());
        stream.start().unwrap();
        wait_until("amio to run", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 10_000
        });

        let killed = Instant::now();
        server.kill();
        let mut fault = None;
        wait_until("the shutdown event", Duration::from_secs(10), || {
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
        let noticed = killed.elapsed();
        assert_eq!(fault.unwrap().kind, FaultKind::ServerGone);
        // close() returns (a hang guard, not a timing assertion).
        let closing = Instant::now();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let closer = std::thread::spawn(move || {
            let r = stream.close();
            let _ = done_tx.send(());
            (r, stream)
        });
        done_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("close() hung after the server died");
        let (result, mut stream) = closer.join().unwrap();
        result.unwrap();
        eprintln!(
            "shutdown event after {noticed:?}, close() took {:?}",
            closing.elapsed()
        );
        // Every scheduled change got its outcome.
        assert!(stream
            .interface_mut()
            .events()
            .iter()
            .all(|e| !matches!(e, Event::Fatal(_))));
        assert_eq!(stream.interface().unresolved().count(), 0);

        // A new server under the same name, and a new stream on it.
        server.restart();
        let driver = JackDriver::new(jack_config(&server, Connect::None));
        let mut stream = Stream::open(Box::new(driver), &request(2), &Config::default()).unwrap();
        stream.interface_mut().roll(None).unwrap();
        stream.start().unwrap();
        wait_until(
            "the reopened stream to roll",
            Duration::from_secs(20),
            || stream.interface().position().position > 4_800,
        );
        stream.close().unwrap();
    });
}

#[test]
fn no_server_is_a_clear_error_and_starts_none() {
    in_own_process("no_server_is_a_clear_error_and_starts_none", || {
        let name = unique_name("absent");
        let driver = JackDriver::new(JackConfig {
            server_name: Some(name.clone()),
            ..JackConfig::default()
        });
        let started = Instant::now();
        let err = Stream::open(Box::new(driver), &request(2), &Config::default()).unwrap_err();
        eprintln!("refused after {:?}: {err}", started.elapsed());
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("jack: no JACK server \"{name}\" is running")),
            "{message}"
        );
        assert_eq!(driver_kind(&err), DriverErrorKind::NoServer);
        assert!(!JackServer::is_running(&name), "a server was started");
    });
}

#[test]
fn a_frame_rate_the_server_does_not_run_is_unsupported() {
    in_own_process(
        "a_frame_rate_the_server_does_not_run_is_unsupported",
        || {
            let server = JackServer::start(256);
            let driver = JackDriver::new(jack_config(&server, Connect::None));
            let request = StreamConfig {
                frame_rate: Some(44_100),
                ..request(2)
            };
            let err = Stream::open(Box::new(driver), &request, &Config::default()).unwrap_err();
            assert_eq!(driver_kind(&err), DriverErrorKind::Unsupported, "{err}");
            assert!(
                err.to_string()
                    .contains("runs at 48000 Hz, 44100 Hz was asked for"),
                "{err}"
            );
        },
    );
}

#[test]
fn a_missing_peer_port_is_no_device_and_nothing_runs() {
    in_own_process("a_missing_peer_port_is_no_device_and_nothing_runs", || {
        let server = JackServer::start(256);
        let connect = Connect::Ports {
            inputs: vec![],
            outputs: vec![vec!["nobody:here".into()]],
        };
        let driver = JackDriver::new(jack_config(&server, connect));
        let handle = driver.handle();
        let mut stream = Stream::open(Box::new(driver), &request(1), &Config::default()).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        let err = stream.start().unwrap_err();
        assert_eq!(driver_kind(&err), DriverErrorKind::NoDevice, "{err}");
        assert!(err.to_string().contains("\"nobody:here\""), "{err}");
        assert!(!stream.is_running());
        // The client was closed: its ports are gone, and the engine never ran.
        let probe =
            amio_jack::open_client(&client_name("probe", server.name()), Some(server.name()))
                .unwrap();
        let ours = handle.ports().outputs;
        assert!(
            probe.port_by_name(&ours[0]).is_none(),
            "{ours:?} still there"
        );
        assert_eq!(stream.interface().position().stream_frame, 0);
        stream.close().unwrap();
    });
}

#[test]
fn xruns_are_reported_and_the_timeline_stays_true() {
    in_own_process("xruns_are_reported_and_the_timeline_stays_true", || {
        let server = JackServer::start_async(256);
        let driver = JackDriver::new(jack_config(&server, Connect::None));
        let mut stream = Stream::open(Box::new(driver), &request(2), &Config::default()).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        stream.start().unwrap();
        let staller = Staller::start(server.name(), "staller");
        wait_until("amio to run", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 4_800
        });
        // Xruns while clients join are possible on an asynchronous server;
        // look at those after the stall.
        stream.interface_mut().events();
        let stalled_at = stream.interface().position().stream_frame;
        staller.stall(60); // ~11 periods
        let mut xrun = None;
        let mut last_report = None;
        wait_until("an xrun event", Duration::from_secs(20), || {
            for e in stream.interface_mut().events() {
                match e {
                    Event::Xrun {
                        stream_frame,
                        count,
                        ..
                    } if stream_frame >= stalled_at => xrun = xrun.or(Some((stream_frame, count))),
                    Event::Position(r) => last_report = Some(r),
                    _ => {}
                }
            }
            xrun.is_some()
                && last_report.is_some_and(|r| r.stream_frame > xrun.map_or(0, |x| x.0) + 4_800)
        });
        let (at, count) = xrun.unwrap();
        eprintln!(
            "xrun reported at stream frame {at} (stall asked at {stalled_at}), {count} so far"
        );
        assert!(count >= 1);
        // Rolling since frame 0, never located: the position is the frame count.
        let r = last_report.unwrap();
        assert_eq!(r.position, r.stream_frame as i64);
        stream.close().unwrap();
    });
}

#[test]
fn stop_and_start_again_on_a_live_server() {
    in_own_process("stop_and_start_again_on_a_live_server", || {
        let server = JackServer::start(256);
        let driver = JackDriver::new(jack_config(&server, Connect::None));
        let handle = driver.handle();
        let mut stream = Stream::open(Box::new(driver), &request(1), &Config::default()).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        stream.start().unwrap();
        wait_until("amio to run", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > 4_800
        });
        stream.pause().unwrap();
        let stopped_at = stream.interface().position();
        assert!(!stream.is_running());
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            stream.interface().position(),
            stopped_at,
            "a stopped stream does not advance"
        );
        stream.start().unwrap();
        wait_until("amio to run again", Duration::from_secs(20), || {
            stream.interface().position().stream_frame > stopped_at.stream_frame + 4_800
        });
        // Same timeline: position still equals frames processed.
        let r = stream.interface().position();
        assert_eq!(r.position, r.stream_frame as i64);
        assert_eq!(
            handle.ports().outputs,
            vec![format!("{}:out_1", handle.ports().client)]
        );
        stream.close().unwrap();
    });
}

#[test]
fn libjack_is_loaded_at_run_time_only() {
    // This very binary uses amio-jack; it must start without libjack: the
    // library is opened with dlopen when a JACK client is first opened.
    let exe = std::env::current_exe().unwrap();
    let ldd = std::process::Command::new("ldd")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(ldd.status.success());
    let linked = String::from_utf8_lossy(&ldd.stdout);
    assert!(
        !linked.contains("libjack"),
        "linked at load time:\n{linked}"
    );
}
