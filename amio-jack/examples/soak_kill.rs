//! amio-jack's part of the soak run (`scripts/soak jack`; not part of CI):
//! a private jackd is SIGKILLed mid-stream, cycle after cycle. Each cycle
//! must see the fatal event within 1 s, close within 2 s, and, with the
//! server started again, a reopened stream that plays. Prints the figures;
//! exits non-zero if a cycle fails.
//!
//! `cargo run --release -p amio-jack --example soak_kill [CYCLES]`

use std::time::{Duration, Instant};

use amio_core::{Config, Event, FaultKind, Stream, StreamConfig};
use amio_jack::{Connect, JackConfig, JackDriver};
use amio_testkit::JackServer;

fn open(server: &str, cycle: usize) -> amio_core::Result<Stream> {
    let driver = JackDriver::new(JackConfig {
        client_name: format!("amio-soak-{cycle}"),
        server_name: Some(server.to_owned()),
        connect: Connect::Physical,
        ..JackConfig::default()
    });
    Stream::open(
        Box::new(driver),
        &StreamConfig::default(),
        &Config::default(),
    )
}

/// Waits until the stream has processed `frames` more frames (or `limit`).
fn plays(stream: &Stream, frames: u64, limit: Duration) -> bool {
    let start = stream.interface().position().stream_frame;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if stream.interface().position().stream_frame >= start + frames {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn cycle(server: &mut JackServer, n: usize) -> Result<(Duration, Duration), String> {
    let mut stream = open(server.name(), n).map_err(|e| format!("open: {e}"))?;
    stream
        .interface_mut()
        .roll(None)
        .map_err(|e| e.to_string())?;
    stream.start().map_err(|e| format!("start: {e}"))?;
    if !plays(&stream, 9_600, Duration::from_secs(10)) {
        return Err("the stream did not play before the kill".into());
    }
    server.kill();
    let killed = Instant::now();
    let fatal = loop {
        if let Some(Event::Fatal(f)) = stream
            .interface_mut()
            .events()
            .into_iter()
            .find(|e| matches!(e, Event::Fatal(_)))
        {
            break (f, killed.elapsed());
        }
        if killed.elapsed() > Duration::from_secs(5) {
            return Err("no fatal event within 5 s of the kill".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if fatal.0.kind != FaultKind::ServerGone {
        return Err(format!(
            "the fatal event was {:?}, not ServerGone",
            fatal.0.kind
        ));
    }
    let closing = Instant::now();
    let _ = stream.close();
    let closed = closing.elapsed();
    drop(stream);
    server.restart();
    let mut again = open(server.name(), n + 1000).map_err(|e| format!("reopen: {e}"))?;
    again.start().map_err(|e| format!("restart: {e}"))?;
    if !plays(&again, 9_600, Duration::from_secs(10)) {
        return Err("the reopened stream did not play".into());
    }
    again
        .close()
        .map_err(|e| format!("close after reopen: {e}"))?;
    if fatal.1 > Duration::from_secs(1) || closed > Duration::from_secs(2) {
        return Err(format!(
            "fatal event after {:?}, close in {closed:?}",
            fatal.1
        ));
    }
    Ok((fatal.1, closed))
}

fn main() {
    // Nothing here may start a JACK server by accident.
    std::env::set_var("JACK_NO_START_SERVER", "1");
    let cycles: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let mut server = JackServer::start(256);
    let mut passed = 0;
    let (mut worst_fatal, mut worst_close) = (Duration::ZERO, Duration::ZERO);
    for n in 0..cycles {
        match cycle(&mut server, n) {
            Ok((fatal, close)) => {
                passed += 1;
                worst_fatal = worst_fatal.max(fatal);
                worst_close = worst_close.max(close);
                println!("cycle {n}: fatal event {fatal:?} after SIGKILL, close {close:?}, reopened and played");
            }
            Err(e) => {
                println!("cycle {n}: FAILED: {e}");
                if !server_alive(&server) {
                    server.restart();
                }
            }
        }
    }
    println!("jackd SIGKILLed: {passed} of {cycles} cycles passed; slowest fatal event {worst_fatal:?}, slowest close {worst_close:?}");
    server.terminate();
    std::process::exit(i32::from(passed != cycles));
}

fn server_alive(server: &JackServer) -> bool {
    server.pid() != 0 && std::path::Path::new(&format!("/proc/{}", server.pid())).exists()
}
