//! C and C++ hosts (tests/c, tests/cpp), compiled with the system compiler
//! against the installed header through pkg-config, linked to the built
//! libamio, and run.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use amio_testkit::{JackServer, Scratch};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory holding libamio.so and the plugins: this test's target
/// directory (target/<profile>), where they are built first (`cargo test`
/// builds none of them).
fn build_dir() -> PathBuf {
    let dir = amio_testkit::build_libraries();
    for lib in [
        "libamio.so",
        "libamio_jack.so",
        "libamio_alsa.so",
        "libamio_cpal.so",
    ] {
        assert!(
            dir.join(lib).is_file(),
            "{} is missing",
            dir.join(lib).display()
        );
    }
    dir
}

static PREFIX: OnceLock<PathBuf> = OnceLock::new();

/// Removes the prefix when the test process exits.
extern "C" fn remove_prefix() {
    if let Some(p) = PREFIX.get() {
        let _ = std::fs::remove_dir_all(p);
    }
}

/// libamio installed once per test process into a fresh prefix.
fn prefix() -> &'static Path {
    PREFIX.get_or_init(|| {
        // SAFETY: registering a plain function to run at exit.
        unsafe { libc::atexit(remove_prefix) };
        let prefix = std::env::temp_dir().join(format!("amio-prefix-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&prefix);
        let ok = Command::new(workspace().join("scripts/install-libamio"))
            .arg(&prefix)
            .arg(build_dir())
            .status()
            .unwrap();
        assert!(ok.success(), "install-libamio failed");
        prefix
    })
}

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("amio")
        .env("PKG_CONFIG_PATH", prefix().join("lib/pkgconfig"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pkg-config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Compiles a host program; returns the executable.
fn compile(source: &str) -> PathBuf {
    let src = workspace().join(source);
    let cpp = source.ends_with(".cpp");
    let exe = prefix().join(Path::new(source).file_stem().unwrap());
    let mut cmd = Command::new(if cpp { "c++" } else { "cc" });
    cmd.arg(if cpp { "-std=c++17" } else { "-std=c11" })
        .args(["-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .args(pkg_config(&["--cflags", "--libs"]))
        .arg("-lm");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "compiling {source} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn run(exe: &Path, args: &[&str], env: &[(&str, &Path)], valgrind: bool) -> Output {
    let mut cmd = if valgrind {
        let mut c = Command::new("valgrind");
        c.args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--track-origins=yes",
            "-q",
        ])
        .arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args)
        .env("LD_LIBRARY_PATH", prefix().join("lib"))
        .env("JACK_NO_START_SERVER", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    eprintln!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_c_host_renders_on_the_null_backend_stepped_by_hand() {
    let exe = compile("tests/c/render_null.c");
    let out = run(&exe, &[prefix().to_str().unwrap()], &[], false);
    assert!(out.status.success());
}

#[test]
fn a_c_host_plays_a_streamed_clip_as_the_clip_loaded() {
    let exe = compile("tests/c/streamed.c");
    let out = run(&exe, &[prefix().to_str().unwrap()], &[], false);
    assert!(out.status.success());
}

#[test]
fn a_c_host_opens_jack_by_name() {
    let server = JackServer::start(256);
    let exe = compile("tests/c/jack_host.c");
    // The plugin is found beside the installed libamio, as a host finds it.
    let out = run(&exe, &[server.name(), "256"], &[], false);
    assert!(out.status.success(), "jackd log:\n{}", server.log());
}

#[test]
fn a_c_host_feeding_bad_input_gets_statuses_under_valgrind() {
    // A plugin of another ABI version, where libamio will look.
    let plugins = prefix().join("bad-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let ok = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Werror", "-o"])
        .arg(plugins.join("libamio_badabi.so"))
        .arg(workspace().join("tests/c/bad_plugin.c"))
        .status()
        .unwrap();
    assert!(ok.success());
    let exe = compile("tests/c/bad_input.c");
    let out = run(&exe, &["badabi"], &[("AMIO_PLUGIN_PATH", &plugins)], true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "bad input host failed (99: valgrind found errors)"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "valgrind or the host reported something"
    );
}

#[test]
fn a_c_host_uses_the_clip_tools_meters_and_fader_under_valgrind() {
    let exe = compile("tests/c/tools.c");
    let dir = Scratch::new("c-tools");
    let out = run(&exe, &[dir.to_str().unwrap()], &[], true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "tools host failed (99: valgrind found errors)"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("tools: ok"));
}

#[test]
fn a_c_host_calling_from_callbacks_neither_deadlocks_nor_crashes_under_valgrind() {
    let exe = compile("tests/c/callbacks.c");
    let out = run(&exe, &[], &[], true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "callbacks host failed (99: valgrind found errors)"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 calls refused"));
}

#[test]
fn failed_opens_on_every_backend_leak_nothing_under_valgrind() {
    let exe = compile("tests/c/failed_opens.c");
    let out = Command::new("valgrind")
        .args([
            "-q",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99",
        ])
        .arg(&exe)
        .env("JACK_NO_START_SERVER", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "failed-opens host failed (99: valgrind found a leak or an error):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for backend in ["alsa", "jack", "cpal", "null", "nonesuch"] {
        assert!(
            stdout.contains(&format!("{backend}: 100 failed opens")),
            "{stdout}"
        );
    }
}

#[test]
fn a_cpp_host_uses_amio_hpp() {
    let exe = compile("tests/cpp/host.cpp");
    let dir = Scratch::new("cpp-host");
    let out = run(&exe, &[dir.to_str().unwrap()], &[], false);
    assert!(out.status.success());
}

#[test]
fn libamio_links_neither_libjack_nor_libasound() {
    let lib = prefix().join("lib/libamio.so");
    let out = Command::new("ldd").arg(&lib).output().unwrap();
    assert!(out.status.success());
    let deps = String::from_utf8_lossy(&out.stdout);
    assert!(!deps.contains("libjack"), "{deps}");
    assert!(!deps.contains("libasound"), "{deps}");
    // And the plugin does not link libjack either: it opens it at run time.
    let out = Command::new("ldd")
        .arg(prefix().join("lib/libamio_jack.so"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("libjack"));
}

#[test]
fn pkg_config_reports_the_crate_version() {
    let version = pkg_config(&["--modversion"]);
    assert_eq!(version, vec![env!("CARGO_PKG_VERSION").to_string()]);
}
