//! Hostile and careless input to the `amio` command, run as a program: one
//! test per class of issue 13. Each asserts the exact message and that an
//! existing output file is untouched, byte for byte, with nothing left
//! beside it.
#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use amio_testkit::Scratch;

const OLD: &[u8] = b"the old output, which must survive";

fn amio() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amio"));
    c.env("JACK_NO_START_SERVER", "1").stdin(Stdio::null());
    c
}

fn run_cmd(mut c: Command) -> Output {
    let out = c.output().unwrap();
    eprintln!(
        "{:?}\n{}{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run(args: &[&str]) -> Output {
    let mut c = amio();
    c.args(args);
    run_cmd(c)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

/// A command that must fail with exactly `message` (after "amio: ") and
/// exit `code`, leaving `dir` as it was.
fn refused_with(dir: &Path, out: Output, code: i32, message: &str, before: &[String]) {
    assert_eq!(out.status.code(), Some(code), "exit status");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("amio: {message}\n")
    );
    assert_eq!(names(dir), before, "files made or left behind");
}

fn refused(dir: &Path, args: &[&str], message: &str) {
    let before = names(dir);
    refused_with(dir, run(args), 1, message, &before);
}

/// A mono 48 kHz clip of 1000 frames, `tone.wav`, and a session using it.
fn session(dir: &Path, frames: u64, extra_commands: &str) -> PathBuf {
    let clip = amio_core::Clip::from_interleaved(
        48_000,
        1,
        (0..1000).map(|i| (i as f32 / 1000.0) - 0.5).collect(),
    )
    .unwrap();
    clip.write_wav(dir.join("tone.wav")).unwrap();
    let path = dir.join("session.json");
    std::fs::write(
        &path,
        format!(
            r#"{{ "frame_rate": 48000, "channels": 2, "clips": {{ "tone": "tone.wav" }},
                 "playspecs": [ {{ "entries": [ {{ "clip": "tone", "repeat": 1000 }} ] }} ],
                 "commands": [ {{ "at": 0, "schedule": 0 }}, {{ "at": 0, "roll": true }}{extra_commands} ],
                 "frames": {frames} }}"#
        ),
    )
    .unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Sets what a child may do before it runs: files no larger than `fsize`
/// (as on a full disk; SIGXFSZ ignored so that write(2) fails instead).
fn limit_file_size(c: &mut Command, fsize: u64) {
    // SAFETY: between fork and exec the closure only calls signal(2) and
    // setrlimit(2), which are async-signal-safe, on the child itself; it
    // touches no memory shared with the parent's threads.
    unsafe {
        c.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: fsize,
                rlim_max: fsize,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn outputs_are_never_corrupt_and_never_destroy_what_was_there() {
    let dir = Scratch::new("hostile-outputs");
    let sess = session(&dir, 96_000, "");
    let out = dir.join("out.wav");
    std::fs::write(&out, OLD).unwrap();

    // A full disk half-way through the render.
    let before = names(&dir);
    let mut c = amio();
    c.args(["render", s(&sess), "-o", s(&out)]);
    limit_file_size(&mut c, 100_000);
    refused_with(
        &dir,
        run_cmd(c),
        1,
        &format!("{}: File too large (os error 27)", out.display()),
        &before,
    );
    assert_eq!(std::fs::read(&out).unwrap(), OLD);

    // A later step fails (the events file's folder is missing): neither
    // file is written.
    let events = dir.join("missing/events.jsonl");
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&out), "--events", s(&events)],
        &format!(
            "{}: No such file or directory (os error 2)",
            events.display()
        ),
    );
    assert_eq!(std::fs::read(&out).unwrap(), OLD);

    // -o and --events naming one file, however spelled.
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink("out.wav", dir.join("link.wav")).unwrap();
    std::fs::hard_link(&out, dir.join("hard.wav")).unwrap();
    for other in [
        out.clone(),
        dir.join("./out.wav"),
        dir.join("sub/../out.wav"),
        dir.join("link.wav"),
        dir.join("hard.wav"),
    ] {
        refused(
            &dir,
            &["render", s(&sess), "-o", s(&out), "--events", s(&other)],
            &format!(
                "-o {} is the same file as --events {}; amio will not write over it",
                out.display(),
                other.display()
            ),
        );
    }
    // …also when the file does not exist yet.
    let new = dir.join("new.wav");
    std::os::unix::fs::symlink("new.wav", dir.join("new-link")).unwrap();
    refused(
        &dir,
        &[
            "render",
            s(&sess),
            "-o",
            s(&new),
            "--events",
            s(&dir.join("new-link")),
        ],
        &format!(
            "-o {} is the same file as --events {}; amio will not write over it",
            new.display(),
            dir.join("new-link").display()
        ),
    );
    // -o naming the session or a clip.
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&sess)],
        &format!(
            "-o {} is the same file as the session {}; amio will not write over it",
            sess.display(),
            sess.display()
        ),
    );
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&dir.join("tone.wav"))],
        &format!(
            "-o {} is the same file as a clip of the session {}; amio will not write over it",
            dir.join("tone.wav").display(),
            dir.join("tone.wav").display()
        ),
    );
    // A device or a directory as the output.
    refused(
        &dir,
        &["render", s(&sess), "-o", "/dev/null"],
        "/dev/null: a character device, not a regular file",
    );
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&dir.join("sub"))],
        &format!(
            "{}: a directory, not a regular file",
            dir.join("sub").display()
        ),
    );
    assert_eq!(std::fs::read(&out).unwrap(), OLD);

    // A render that succeeds replaces the file through the link, which
    // stays a link, and writes the events beside.
    let o = run(&[
        "render",
        s(&sess),
        "-o",
        s(&dir.join("link.wav")),
        "--events",
        s(&dir.join("events.jsonl")),
    ]);
    assert!(o.status.success());
    assert!(std::fs::symlink_metadata(dir.join("link.wav"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        amio_core::Clip::from_wav(&out).unwrap().frames(),
        96_000,
        "the link's file was replaced"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("events.jsonl")).unwrap(),
        "{\"event\": \"applied\", \"id\": 1, \"stream_frame\": 0, \"position\": 0}\n"
    );
    assert!(!names(&dir).iter().any(|n| n.ends_with(".tmp")));
}

/// Waits until a temporary file of amio's appears in `dir`.
fn wait_for_temp(dir: &Path, child: &mut Child) {
    let started = Instant::now();
    while !names(dir).iter().any(|n| n.ends_with(".tmp")) {
        assert!(child.try_wait().unwrap().is_none(), "amio ended early");
        assert!(started.elapsed() < Duration::from_secs(60), "a hang guard");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on our own child's pid, which has not been reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

#[test]
fn render_stops_on_sigint_and_sigterm_keeping_the_old_output() {
    let dir = Scratch::new("hostile-render-signals");
    // An hour: far longer than the test waits.
    let sess = session(&dir, 48_000 * 3600, "");
    let out = dir.join("out.wav");
    let events = dir.join("events.jsonl");
    std::fs::write(&out, OLD).unwrap();
    for (sig, code, name) in [
        (libc::SIGINT, 130, "SIGINT (Ctrl-C)"),
        (libc::SIGTERM, 143, "SIGTERM"),
    ] {
        let before = names(&dir);
        let mut child = amio()
            .args(["render", s(&sess), "-o", s(&out), "--events", s(&events)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_temp(&dir, &mut child);
        signal(&child, sig);
        let result = child.wait_with_output().unwrap();
        refused_with(
            &dir,
            result,
            code,
            &format!(
                "stopped by {name}: nothing was written; {} and {} kept as they were",
                out.display(),
                events.display()
            ),
            &before,
        );
        assert_eq!(std::fs::read(&out).unwrap(), OLD);
    }
}

#[test]
fn record_stops_on_sigterm_keeping_what_it_captured() {
    let dir = Scratch::new("hostile-record-signals");
    let sess = session(&dir, 48_000 * 3600, "");
    let take = dir.join("take.wav");
    std::fs::write(&take, OLD).unwrap();
    let mut child = amio()
        .args([
            "record",
            "--backend",
            "null",
            "-O",
            "loopback=true",
            "-O",
            "capture_latency=256",
            "-O",
            "playback_latency=256",
            "--session",
            s(&sess),
            "--inputs",
            "2",
            "-o",
            s(&take),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_temp(&dir, &mut child);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(143));
    let err = String::from_utf8_lossy(&result.stderr);
    let take_frames = amio_core::Clip::from_wav(&take).unwrap().frames();
    assert!(take_frames > 0);
    assert_eq!(
        err,
        format!(
            "amio: stopped by SIGTERM: wrote the take captured so far to {}: {take_frames} frames, 2 channels, placed on the session timeline (L = 512 frames)\n",
            take.display()
        )
    );
    assert_eq!(names(&dir), ["session.json", "take.wav", "tone.wav"]);
}

#[test]
fn play_ends_where_render_ends_and_offline_is_refused() {
    let dir = Scratch::new("hostile-play");
    // A command at the last stream frame there is: nothing may wrap.
    let sess = session(
        &dir,
        4800,
        r#", { "at": 18446744073709551615, "locate": 0 }"#,
    );
    let o = run(&["play", s(&sess), "--backend", "null"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "played 4800 frames\n");
    let o = run(&["play", s(&sess), "--backend", "null", "--frames", "9600"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "played 9600 frames\n");
    let o = run(&["render", s(&sess), "-o", s(&dir.join("out.wav"))]);
    assert!(o.status.success());
    assert_eq!(
        amio_core::Clip::from_wav(dir.join("out.wav"))
            .unwrap()
            .frames(),
        4800
    );
    std::fs::remove_file(dir.join("out.wav")).unwrap();
    refused(
        &dir,
        &["play", s(&sess), "--backend", "null", "-O", "mode=offline"],
        "amio play runs in real time; the null backend's mode=offline runs without a clock and would not play (use amio render SESSION -o OUT.wav to render offline, or mode=paced)",
    );
    refused(
        &dir,
        &["play", s(&sess), "-O", "mode=stepped"],
        "amio play runs in real time; the null backend's mode=stepped waits to be stepped by a host program, which amio play is not (use mode=paced)",
    );
    refused(
        &dir,
        &[
            "record",
            "-o",
            s(&dir.join("t.wav")),
            "--seconds",
            "1",
            "-O",
            "mode=offline",
        ],
        "amio record runs in real time; the null backend's mode=offline runs without a clock and would not play (use amio render SESSION -o OUT.wav to render offline, or mode=paced)",
    );
}

/// Makes a named pipe.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path that lives across the
    // call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn session_paths_stay_in_the_folder_and_special_files_do_not_block() {
    let root = Scratch::new("hostile-paths");
    let dir = root.join("project");
    std::fs::create_dir(&dir).unwrap();
    let outside = root.join("outside.wav");
    amio_core::Clip::from_interleaved(48_000, 1, vec![0.5; 10])
        .unwrap()
        .write_wav(&outside)
        .unwrap();
    let out = dir.join("out.wav");
    std::fs::write(&out, OLD).unwrap();
    session(&dir, 100, "");
    let with_clip = |file: &str| {
        let path = dir.join("paths.json");
        std::fs::write(
            &path,
            format!(
                r#"{{ "frame_rate": 48000, "channels": 1, "clips": {{ "x": "{file}" }},
                     "playspecs": [], "commands": [], "frames": 10 }}"#
            ),
        )
        .unwrap();
        path
    };
    let name = |p: &Path| p.display().to_string();
    let absolute = name(&outside);
    let sess = with_clip(&absolute);
    let allow = "(--allow-any-path allows any path)";
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&out)],
        &format!("{}: clips.x: {absolute:?} is an absolute path; clip paths are relative to the session's folder {allow}", sess.display()),
    );
    let sess = with_clip("../outside.wav");
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&out)],
        &format!("{}: clips.x: \"../outside.wav\" climbs out of the session's folder; clip paths must stay inside it {allow}", sess.display()),
    );
    std::os::unix::fs::symlink(&outside, dir.join("escape.wav")).unwrap();
    let sess = with_clip("escape.wav");
    let real = std::fs::canonicalize(&outside).unwrap();
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&out)],
        &format!("{}: clips.x: \"escape.wav\" leads out of the session's folder (to {}) through a symbolic link; clip paths must stay inside it {allow}", sess.display(), real.display()),
    );
    // Allowed on request.
    for file in [absolute.as_str(), "../outside.wav", "escape.wav"] {
        let sess = with_clip(file);
        let o = run(&[
            "render",
            s(&sess),
            "-o",
            s(&dir.join("ok.wav")),
            "--allow-any-path",
        ]);
        assert!(o.status.success(), "{file}");
        std::fs::remove_file(dir.join("ok.wav")).unwrap();
    }
    // A named pipe, a directory, a device: refused without blocking.
    mkfifo(&dir.join("pipe.wav"));
    std::fs::create_dir(dir.join("folder.wav")).unwrap();
    let started = Instant::now();
    for (file, kind) in [
        ("pipe.wav", "a named pipe (FIFO)"),
        ("folder.wav", "a directory"),
    ] {
        let sess = with_clip(file);
        refused(
            &dir,
            &["render", s(&sess), "-o", s(&out)],
            &format!(
                "{}: clips.x: {}: {kind}, not a regular file",
                sess.display(),
                dir.join(file).display()
            ),
        );
    }
    let sess = with_clip("/dev/zero");
    refused(
        &dir,
        &["render", s(&sess), "-o", s(&out), "--allow-any-path"],
        &format!(
            "{}: clips.x: /dev/zero: a character device, not a regular file",
            sess.display()
        ),
    );
    // The session file itself.
    mkfifo(&dir.join("pipe.json"));
    refused(
        &dir,
        &["render", s(&dir.join("pipe.json")), "-o", s(&out)],
        &format!(
            "{}: a named pipe (FIFO), not a regular file",
            dir.join("pipe.json").display()
        ),
    );
    refused(
        &dir,
        &["play", "/dev/zero"],
        "/dev/zero: a character device, not a regular file",
    );
    assert!(started.elapsed() < Duration::from_secs(30), "a hang guard");
    assert_eq!(std::fs::read(&out).unwrap(), OLD);
}

#[test]
fn session_messages_name_the_place_and_the_rule() {
    let dir = Scratch::new("hostile-messages");
    session(&dir, 100, "");
    let out = dir.join("out.wav");
    std::fs::write(&out, OLD).unwrap();
    let sess = dir.join("m.json");
    let cases: &[(&str, &str)] = &[
        (
            "{ \"frame_rate\": 48000 } trailing",
            "line 1, column 25: there is more text after the end of the session; a session file holds one JSON object",
        ),
        (
            "{ \"frame_rate\": , }",
            "line 1, column 17: a value is expected here: a number, text in double quotes, true, false, null, a list [ … ] or an object { … }",
        ),
        (
            r#"{ "frame_rate": 48000, "channels": 2, "clips": { "tone": "tone.wav" },
                 "playspecs": [ { "entries": [] }, { "entries": [ { "clip": "tone", "gains": [1, "loud"] } ] } ],
                 "commands": [], "frames": 10 }"#,
            "playspecs[1].entries[0].gains[1]: must be a number (a gain factor); found the text \"loud\"",
        ),
        (
            r#"{ "frame_rate": 48000, "channels": 1, "clips": { "tone": "tone.wav" },
                 "playspecs": [ { "entries": [ { "clip": "tone", "gains": [1e39] } ] } ],
                 "commands": [], "frames": 10 }"#,
            "playspecs[0].entries[0].gains[0]: is 1e39, beyond what a gain (a 32-bit float, at most 3.4028235e38 in size) holds",
        ),
        (
            r#"{ "frame_rate": 48000, "channels": 1, "clips": {}, "playspecs": [],
                 "commands": [ { "at": 0, "roll": true }, { "at": 1, "roll": true }, { "at": 2, "roll": true },
                               { "at": -4, "roll": true } ], "frames": 10 }"#,
            "commands[3].at: is -4; it must be from 0 to 18446744073709551615 (a stream frame)",
        ),
        (
            r#"{ "frame_rate": 48000, "channels": 1, "clips": { "x": 5 }, "playspecs": [], "commands": [], "frames": 10 }"#,
            "clips.x: must be text in double quotes; found 5",
        ),
        (
            r#"{ "frame_rate": 48000, "channels": 1, "clips": {}, "playspecs": [], "commands": [], "frames": 10, "frames": 11 }"#,
            "line 1, column 106: the key \"frames\" is given twice in one object",
        ),
    ];
    for (text, message) in cases {
        std::fs::write(&sess, text).unwrap();
        refused(
            &dir,
            &["render", s(&sess), "-o", s(&out)],
            &format!("{}: {message}", sess.display()),
        );
    }
    assert_eq!(std::fs::read(&out).unwrap(), OLD);
}

#[test]
fn sizes_are_checked_against_named_limits() {
    let dir = Scratch::new("hostile-sizes");
    let sess = session(&dir, 100, "");
    let out = dir.join("out.wav");
    std::fs::write(&out, OLD).unwrap();
    let o = s(&out);
    let se = s(&sess);
    refused(
        &dir,
        &["render", se, "-o", o, "--block", "0"],
        "--block is 0; it must be from 1 to 65536",
    );
    refused(
        &dir,
        &["render", se, "-o", o, "--block", "18446744073709551615"],
        "--block is 18446744073709551615; it must be from 1 to 65536",
    );
    refused(
        &dir,
        &["play", se, "--period", "4294967296"],
        "--period is 4294967296; it must be from 1 to 65536",
    );
    refused(
        &dir,
        &["play", se, "--frames", "18446744073709551615"],
        "--frames is 18446744073709551615; it must be from 0 to 4611686018427387904",
    );
    for (seconds, message) in [
        ("NaN", "--seconds is NaN; it must be a number of seconds above 0"),
        ("-1", "--seconds is -1; it must be a number of seconds above 0"),
        ("inf", "--seconds is inf; it must be a number of seconds above 0"),
        (
            "1e300",
            "--seconds is 1e300: more than 4611686018427387904 frames at 48000 Hz, the most a take may have",
        ),
    ] {
        refused(
            &dir,
            &["record", "-o", o, "--seconds", seconds],
            message,
        );
    }
    refused(
        &dir,
        &["record", "-o", o, "--seconds", "1", "--inputs", "0"],
        "--inputs is 0; it must be from 1 to 1024",
    );
    refused(
        &dir,
        &[
            "record",
            "-o",
            o,
            "--seconds",
            "1",
            "--inputs",
            "1000000000000",
        ],
        "--inputs is 1000000000000; it must be from 1 to 1024",
    );
    refused(
        &dir,
        &["latency", "--impulses", "18446744073709551615"],
        "--impulses is 18446744073709551615; it must be from 1 to 1000",
    );
    let bad = dir.join("bad.json");
    for (field, value, message) in [
        (
            "channels",
            "100000",
            "channels: is 100000; it must be from 1 to 1024 (output channels)",
        ),
        (
            "frame_rate",
            "4294967295",
            "frame_rate: is 4294967295; it must be from 1 to 768000 (frames per second)",
        ),
        (
            "frames",
            "9223372036854775808",
            "frames: is 9223372036854775808; it must be from 0 to 4611686018427387904 (frames)",
        ),
    ] {
        let text = replace_field(&std::fs::read_to_string(&sess).unwrap(), field, value);
        std::fs::write(&bad, text).unwrap();
        refused(
            &dir,
            &["render", s(&bad), "-o", o],
            &format!("{}: {message}", bad.display()),
        );
    }
    // More gains than a session may hold: 16,400 entries on 1024 channels.
    let entries = vec![r#"{"clip":"tone"}"#; 16_400].join(",");
    std::fs::write(
        &bad,
        format!(
            r#"{{ "frame_rate": 48000, "channels": 1024, "clips": {{ "tone": "tone.wav" }},
                 "playspecs": [ {{ "entries": [ {entries} ] }} ], "commands": [], "frames": 10 }}"#
        ),
    )
    .unwrap();
    refused(
        &dir,
        &["render", s(&bad), "-o", o],
        &format!("{}: playspecs[0].entries[16384]: the entries hold more than 16777216 gains in all (entries × 1024 channels); a session may hold at most 16777216", bad.display()),
    );
    assert_eq!(std::fs::read(&out).unwrap(), OLD);
    // A command at the last stream frame renders (it never takes effect).
    let last = session(
        &dir,
        1000,
        r#", { "at": 18446744073709551615, "roll": false }"#,
    );
    let o = run(&["render", s(&last), "-o", s(&dir.join("last.wav"))]);
    assert!(o.status.success());
    assert_eq!(
        amio_core::Clip::from_wav(dir.join("last.wav"))
            .unwrap()
            .frames(),
        1000
    );
}

/// `text` with the JSON field `field`'s number replaced by `value`.
fn replace_field(text: &str, field: &str, value: &str) -> String {
    let key = format!("\"{field}\": ");
    let start = text.find(&key).unwrap() + key.len();
    let end = start
        + text[start..]
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}
