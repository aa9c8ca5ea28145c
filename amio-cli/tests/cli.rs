//! The `amio` command, run as a program.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use amio_cli::session::Session;
use amio_core::{NullConfig, NullDriver, Stream, StreamConfig};
use amio_testkit::{JackServer, Scratch};

fn amio() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amio"));
    c.env("JACK_NO_START_SERVER", "1").stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    let out = amio().args(args).output().unwrap();
    eprintln!(
        "amio {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/session.json")
}

fn read_wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    (spec, r.into_samples::<f32>().map(Result::unwrap).collect())
}

/// The null driver's render of a session, in this process, stepped by hand.
fn in_process(session: &Session) -> Vec<f32> {
    let driver = NullDriver::new(NullConfig::default());
    let control = driver.control();
    let request = StreamConfig {
        device: None,
        frame_rate: Some(session.frame_rate),
        period: Some(512),
        in_channels: 0,
        out_channels: session.channels,
    };
    let mut stream = Stream::open(Box::new(driver), &request, &session.config()).unwrap();
    session.issue(stream.interface_mut()).unwrap();
    stream.start().unwrap();
    let mut out = vec![0.0; session.frames as usize * session.channels];
    control
        .step(session.frames as usize, &[], &mut out)
        .unwrap();
    out
}

#[test]
fn render_equals_the_in_process_render_whatever_the_block() {
    let dir = Scratch::new("cli-render");
    let session = Session::load(&demo()).unwrap();
    let expected = in_process(&session);
    let mut first: Option<Vec<u8>> = None;
    for block in ["1", "64", "256", "1000"] {
        let out = dir.join(format!("out-{block}.wav"));
        let o = run(&[
            "render",
            demo().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--block",
            block,
        ]);
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout)
            .contains("432000 frames, 2 channels, 48000 Hz, 32-bit float"));
        let (spec, samples) = read_wav(&out);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 48000, 32)
        );
        assert_eq!(spec.sample_format, hound::SampleFormat::Float);
        assert!(
            samples == expected,
            "block {block}: differs from the in-process render"
        );
        let bytes = std::fs::read(&out).unwrap();
        match &first {
            None => first = Some(bytes),
            Some(b) => assert!(*b == bytes, "block {block}: file differs"),
        }
    }
    assert!(expected.iter().filter(|x| **x != 0.0).count() > 600_000);
}

/// Writes a session (and a short clip) into `dir`.
fn session_file(dir: &Path, json: &str) -> PathBuf {
    let clip = amio_core::Clip::from_interleaved(
        48000,
        1,
        (0..1000).map(|i| (i as f32 / 1000.0) - 0.5).collect(),
    )
    .unwrap();
    clip.write_wav(dir.join("tone.wav")).unwrap();
    let slow = amio_core::Clip::from_interleaved(44100, 1, vec![0.1; 100]).unwrap();
    slow.write_wav(dir.join("slow.wav")).unwrap();
    let path = dir.join("session.json");
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn events_are_written_as_specified() {
    let dir = Scratch::new("cli-events");
    let session = session_file(
        &dir,
        r#"{
          "frame_rate": 48000, "channels": 1,
          "clips": { "tone": "tone.wav" },
          "playspecs": [ { "entries": [ { "clip": "tone", "repeat": 1000 } ] } ],
          "commands": [
            { "at": 0, "schedule": 0 },
            { "at": 0, "roll": true },
            { "at": 100, "schedule": 0, "insert_at": 100000 },
            { "at": 512, "schedule": 0, "insert_at": 1000, "start_from": 7 },
            { "at": 2000, "schedule": 0, "insert_at": 999999 }
          ],
          "frames": 4000
        }"#,
    );
    let events = dir.join("events.jsonl");
    let out = dir.join("out.wav");
    let o = run(&[
        "render",
        session.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(&events).unwrap(),
        "{\"event\": \"applied\", \"id\": 1, \"stream_frame\": 0, \"position\": 0}\n\
         {\"event\": \"superseded\", \"id\": 2, \"stream_frame\": 512}\n\
         {\"event\": \"applied\", \"id\": 3, \"stream_frame\": 1000, \"position\": 7}\n\
         {\"event\": \"dropped\", \"id\": 4, \"stream_frame\": 4000}\n"
    );
}

#[test]
fn a_session_with_a_flac_clip_renders_as_with_the_same_clip_as_wav() {
    let dir = Scratch::new("cli-flac");
    // 16-bit values, which a 16-bit FLAC holds exactly.
    let ints: Vec<i16> = (0..2 * 30_000)
        .map(|i: i32| (((i * 7919) % 65_536) - 32_768) as i16 / if i % 3 == 0 { 1 } else { 4 })
        .collect();
    let clip = amio_core::Clip::from_i16(48000, 2, &ints).unwrap();
    clip.write_wav(dir.join("drums.wav")).unwrap();
    clip.write_flac(dir.join("drums.flac"), 16).unwrap();
    // A FLAC file whose extension says nothing is read by its content.
    std::fs::copy(dir.join("drums.flac"), dir.join("drums.take")).unwrap();
    let session = |clip_file: &str| {
        let path = dir.join(format!("session-{clip_file}.json"));
        std::fs::write(
            &path,
            format!(
                r#"{{ "frame_rate": 48000, "channels": 2, "clamp": false,
                     "clips": {{ "drums": "{clip_file}" }},
                     "playspecs": [ {{ "entries": [
                       {{ "clip": "drums", "range": [100, 20100], "repeat": 15000, "gains": [0.5, 1.25],
                          "fade_in": 300, "fade_out": 700 }},
                       {{ "clip": "drums", "play_at": 4321 }} ] }} ],
                     "commands": [ {{ "at": 0, "schedule": 0 }}, {{ "at": 0, "roll": true }},
                                   {{ "at": 50000, "locate": 1000 }} ],
                     "frames": 96000 }}"#
            ),
        )
        .unwrap();
        path
    };
    let mut renders = Vec::new();
    for clip_file in ["drums.wav", "drums.flac", "drums.take"] {
        let out = dir.join(format!("{clip_file}.out.wav"));
        let o = run(&[
            "render",
            session(clip_file).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{clip_file}");
        renders.push(read_wav(&out).1);
    }
    assert_eq!(renders[0].len(), 96000 * 2);
    assert!(renders[0].iter().filter(|x| **x != 0.0).count() > 150_000);
    assert!(renders[0] == renders[1], "the FLAC clip renders otherwise");
    assert!(
        renders[0] == renders[2],
        "the sniffed FLAC clip renders otherwise"
    );
    // A truncated FLAC clip is refused naming the session, the clip and why.
    let bytes = std::fs::read(dir.join("drums.flac")).unwrap();
    std::fs::write(dir.join("drums.flac"), &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.join("never.wav");
    refused(
        &dir,
        &[
            "render",
            session("drums.flac").to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &[
            "session-drums.flac.json: clips.drums: ",
            "drums.flac: truncated",
        ],
    );
}

#[test]
fn a_session_with_streamed_clips_renders_as_with_the_clips_in_memory() {
    let dir = Scratch::new("cli-streamed");
    let ints: Vec<i16> = (0..2 * 150_000)
        .map(|i: i64| ((((i * 7919) % 65_536) - 32_768) as i16) / if i % 3 == 0 { 1 } else { 4 })
        .collect();
    amio_core::Clip::from_i16(48000, 2, &ints)
        .unwrap()
        .write_wav(dir.join("drums.wav"))
        .unwrap();
    let bass: Vec<f32> = (0..100_000)
        .map(|i| ((i % 977) as f32 / 977.0) - 0.5)
        .collect();
    amio_core::Clip::from_interleaved(48000, 1, bass)
        .unwrap()
        .write_wav(dir.join("bass.wav"))
        .unwrap();
    let session = |name: &str, clips: &str, extra: &str| {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(
            &path,
            format!(
                r#"{{ "frame_rate": 48000, "channels": 2, "clamp": false, {extra}
                     "clips": {clips},
                     "playspecs": [
                       {{ "entries": [
                         {{ "clip": "drums", "range": [100, 120100], "repeat": 130000, "gains": [0.5, 1.25],
                            "fade_in": 300, "fade_out": 700 }},
                         {{ "clip": "bass", "play_at": 4321, "repeat": 100000, "gains": [0.7, -0.2] }} ] }},
                       {{ "entries": [ {{ "clip": "bass", "play_at": -50, "gains": [1.0, 1.0] }} ] }} ],
                     "commands": [ {{ "at": 0, "schedule": 0 }}, {{ "at": 0, "roll": true }},
                                   {{ "at": 50000, "locate": 200000 }},
                                   {{ "at": 150000, "schedule": 1, "insert_at": 260000, "start_from": 30000 }},
                                   {{ "at": 300000, "locate": 1000 }} ],
                     "frames": 400000 }}"#
            ),
        )
        .unwrap();
        path
    };
    let cases = [
        (
            "memory",
            r#"{ "drums": "drums.wav", "bass": "bass.wav" }"#,
            "",
        ),
        (
            "marked",
            r#"{ "drums": { "file": "drums.wav", "stream": true }, "bass": { "file": "bass.wav", "stream": true } }"#,
            "",
        ),
        // Both files are larger than 1,000 bytes: both stream.
        (
            "above",
            r#"{ "drums": "drums.wav", "bass": { "file": "bass.wav" } }"#,
            r#""stream_clips_above": 1000,"#,
        ),
    ];
    let mut renders = Vec::new();
    for (name, clips, extra) in cases {
        let out = dir.join(format!("{name}.out.wav"));
        let events = dir.join(format!("{name}.events"));
        let o = run(&[
            "render",
            session(name, clips, extra).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}");
        renders.push(read_wav(&out).1);
    }
    assert_eq!(renders[0].len(), 400_000 * 2);
    assert!(renders[0].iter().filter(|x| **x != 0.0).count() > 300_000);
    assert!(
        renders[0] == renders[1],
        "the streamed clips render otherwise"
    );
    assert!(
        renders[0] == renders[2],
        "clips streamed by size render otherwise"
    );
    // A clip marked to stream that is not a WAV file is refused, named.
    std::fs::write(dir.join("notes.txt"), "not audio").unwrap();
    let out = dir.join("never.wav");
    refused(
        &dir,
        &[
            "render",
            session(
                "bad",
                r#"{ "drums": { "file": "notes.txt", "stream": true }, "bass": "bass.wav" }"#,
                "",
            )
            .to_str()
            .unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &["bad.json: clips.drums: ", "notes.txt"],
    );
}

/// Runs a command that must fail with one line naming `needles`, leaving
/// nothing behind in `dir` but what was there.
fn refused(dir: &Path, args: &[&str], needles: &[&str]) {
    let before: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let o = run(args);
    assert_eq!(o.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("amio: "));
    for n in needles {
        assert!(err.contains(n), "{err} lacks {n}");
    }
    let after: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "files left behind");
}

#[test]
fn bad_input_gets_one_clear_line_and_writes_nothing() {
    let dir = Scratch::new("cli-bad");
    let out = dir.join("out.wav");
    let out = out.to_str().unwrap();
    let good = |entries: &str, commands: &str| {
        format!(
            r#"{{ "frame_rate": 48000, "channels": 2, "clips": {{ "tone": "tone.wav", "slow": "slow.wav" }},
                 "playspecs": [ {{ "entries": [ {entries} ] }} ], "commands": [ {commands} ], "frames": 1000 }}"#
        )
    };
    // A missing file.
    let missing = dir.join("nope.json");
    refused(
        &dir,
        &["render", missing.to_str().unwrap(), "-o", out],
        &["nope.json", "No such file"],
    );
    // Malformed JSON.
    let s = session_file(&dir, "{ \"frame_rate\": 48000, ");
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &[
            "session.json: line 1, column 23: the file ends where a value is expected; it is empty or cut short",
        ],
    );
    // A clip at the wrong rate.
    let s = session_file(
        &dir,
        &good(r#"{ "clip": "slow" }"#, r#"{ "at": 0, "schedule": 0 }"#),
    );
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["session.json", "clips.slow", "44100 Hz", "48000 Hz"],
    );
    // A broken entry rule.
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    let no_slow = |entries: &str, commands: &str| {
        good(entries, commands).replace(r#", "slow": "slow.wav""#, "")
    };
    let s = session_file(
        &dir,
        &no_slow(
            r#"{ "clip": "tone" }, { "clip": "tone", "range": [0, 10], "fade_in": 8, "fade_out": 5 }"#,
            "",
        ),
    );
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["session.json: playspecs[0].entries[1]: fade_in 8 + fade_out 5 exceeds the range's 10 frames (the rule is fade_in + fade_out <= b - a)"],
    );
    let s = session_file(&dir, &no_slow(r#"{ "clip": "tone", "gains": [1.0] }"#, ""));
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["session.json: playspecs[0].entries[0].gains: 1 gains for 2 output channels (the rule is one gain per output channel)"],
    );
    let s = session_file(
        &dir,
        &no_slow(r#"{ "clip": "tone", "range": [-3, 10] }"#, ""),
    );
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["session.json: playspecs[0].entries[0].range[0]: is -3; it must be from 0 to 18446744073709551615 (clip frames; the rule is 0 <= a <= b)"],
    );
    // Commands out of order, and naming a missing playspec.
    let s = session_file(
        &dir,
        &no_slow(
            r#"{ "clip": "tone" }"#,
            r#"{ "at": 10, "roll": true }, { "at": 5, "roll": false }"#,
        ),
    );
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["session.json: commands[1].at: 5 comes before commands[0]'s at 10 (commands must be in order of at)"],
    );
    let s = session_file(
        &dir,
        &no_slow(r#"{ "clip": "tone" }"#, r#"{ "at": 0, "schedule": 3 }"#),
    );
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["session.json: commands[0].schedule: is 3; it must be from 0 to 0 (the index of a playspec in playspecs)"],
    );
    // A clip file that is not there.
    let s = session_file(
        &dir,
        &good(r#"{ "clip": "tone" }"#, "").replace("slow.wav", "gone.wav"),
    );
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["render", s.to_str().unwrap(), "-o", out],
        &["clips.slow", "gone.wav"],
    );
    // An unknown backend.
    let s = session_file(
        &dir,
        &no_slow(r#"{ "clip": "tone" }"#, r#"{ "at": 0, "schedule": 0 }"#),
    );
    std::fs::remove_file(dir.join("slow.wav")).unwrap();
    refused(
        &dir,
        &["play", s.to_str().unwrap(), "--backend", "nope"],
        &["no backend \"nope\": no plugin libamio_nope.so"],
    );
    refused(
        &dir,
        &[
            "record",
            "-o",
            out,
            "--backend",
            "null",
            "-O",
            "mode=sideways",
            "--seconds",
            "1",
        ],
        &["stepped, paced or offline"],
    );
}

#[test]
fn play_runs_paced_and_stops_cleanly_on_ctrl_c() {
    let dir = Scratch::new("cli-play");
    let s = session_file(
        &dir,
        r#"{ "frame_rate": 48000, "channels": 2, "clips": { "tone": "tone.wav" },
             "playspecs": [ { "entries": [ { "clip": "tone", "repeat": 1000 } ] } ],
             "commands": [ { "at": 0, "schedule": 0 }, { "at": 0, "roll": true } ], "frames": 9600 }"#,
    );
    // To the end: 0.2 s at real time.
    let o = run(&["play", s.to_str().unwrap(), "--backend", "null"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("played "));
    // A long one, interrupted.
    std::fs::write(
        &s,
        std::fs::read_to_string(&s)
            .unwrap()
            .replace("9600", "4800000"),
    )
    .unwrap();
    let child = amio()
        .args(["play", s.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "a hang guard");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("(Ctrl-C)"));
}

#[test]
fn devices_lists_the_backends_that_load() {
    let server = JackServer::start(256);
    let o = amio()
        .arg("devices")
        .env("JACK_DEFAULT_SERVER", server.name())
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    eprintln!("{text}");
    assert!(
        text.starts_with("null (built in)\n  null: 0 in, 0 out;"),
        "{text}"
    );
    assert!(text.contains("jack ("), "{text}");
    assert!(text.contains("libamio_jack.so)\n  default: 2 in, 2 out; JACK server at 48000 Hz, 256 frames per period"), "{text}");
}

#[test]
fn latency_through_the_null_loopback_matches_what_it_reports() {
    let o = run(&[
        "latency",
        "--backend",
        "null",
        "-O",
        "loopback=true",
        "-O",
        "capture_latency=300",
        "-O",
        "playback_latency=212",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(
            "round trip measured: 512 frames (10.667 ms at 48000 Hz), the same on 5 impulses"
        ),
        "{text}"
    );
    assert!(
        text.contains("driver reports: 512 frames (capture 300 + playback 212"),
        "{text}"
    );
    assert!(text.contains("needs no --extra-latency"), "{text}");
    // Without a loop, a clear failure.
    let o = run(&["latency", "--backend", "null", "--impulses", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no impulse came back"));
}

/// Backend options that loop amio's outputs to its inputs through JACK's
/// loopback driver.
fn jack_loop(server: &JackServer, channels: usize) -> Vec<String> {
    let ports = |dir: &str| {
        (1..=channels)
            .map(|i| format!("loopback:{dir}_{i}"))
            .collect::<Vec<_>>()
            .join(";")
    };
    vec![
        format!("server={}", server.name()),
        "connect=ports".into(),
        format!("connect_outputs={}", ports("playback")),
        format!("connect_inputs={}", ports("capture")),
    ]
}

fn with_options(args: &[&str], options: &[String]) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for o in options {
        all.push("-O".into());
        all.push(o.clone());
    }
    all
}

/// `amio latency` through JACK's loopback driver: returns the correction it
/// suggests.
fn measure_jack(server: &JackServer, period: u64) -> i64 {
    let args = with_options(&["latency", "--backend", "jack"], &jack_loop(server, 1));
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    // What JACK reports for the loop's ports, read by another client.
    let probe = amio_jack::open_client("probe", Some(server.name())).unwrap();
    let playback = probe
        .port_by_name("loopback:playback_1")
        .unwrap()
        .get_latency_range(jack::LatencyType::Playback)
        .1;
    let capture = probe
        .port_by_name("loopback:capture_1")
        .unwrap()
        .get_latency_range(jack::LatencyType::Capture)
        .1;
    let reported = u64::from(playback + capture);
    assert!(
        text.contains(&format!(
            "driver reports: {reported} frames (capture {capture} + playback {playback}"
        )),
        "{text}"
    );
    // JACK2's loopback driver hands the playback buffers to the capture
    // ports at the next cycle: one period, less than it reports.
    assert!(
        text.contains(&format!("round trip measured: {period} frames")),
        "{text}"
    );
    let correction = period as i64 - reported as i64;
    assert!(
        text.contains(&format!("--extra-latency {correction}")),
        "{text}"
    );
    correction
}

#[test]
fn latency_through_jack_finds_the_loop_and_what_jack_reports() {
    for period in [64, 256] {
        let server = JackServer::start_with_loopback(period, true);
        measure_jack(&server, u64::from(period));
    }
}

#[test]
fn a_take_recorded_through_jack_lines_up_with_the_session_to_the_frame() {
    let server = JackServer::start_with_loopback(256, true);
    let correction = measure_jack(&server, 256);
    // A stereo session rolling from frame 0: position = stream frame.
    let dir = Scratch::new("cli-record");
    let s = session_file(
        &dir,
        r#"{ "frame_rate": 48000, "channels": 2, "clips": { "tone": "tone.wav" },
             "playspecs": [ { "entries": [
               { "clip": "tone", "repeat": 1000, "gains": [0.8, 0.3], "fade_in": 100 },
               { "clip": "tone", "play_at": 333, "repeat": 1700, "range": [0, 900], "gains": [-0.4, 0.9] } ] } ],
             "commands": [ { "at": 0, "schedule": 0 }, { "at": 0, "roll": true } ], "frames": 48000 }"#,
    );
    let take = dir.join("take.wav");
    let extra = correction.to_string();
    let args = with_options(
        &[
            "record",
            "--backend",
            "jack",
            "-o",
            take.to_str().unwrap(),
            "--session",
            s.to_str().unwrap(),
            "--inputs",
            "2",
            "--extra-latency",
            &extra,
        ],
        &jack_loop(&server, 2),
    );
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("never captured"));
    let (spec, recorded) = read_wav(&take);
    assert_eq!((spec.channels, spec.sample_rate), (2, 48000));
    let expected = in_process(&Session::load(&s).unwrap());
    assert_eq!(recorded.len(), expected.len());
    if let Some(i) = recorded.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "the take differs from the session at frame {} (channel {})",
            i / 2,
            i % 2
        );
    }
}
