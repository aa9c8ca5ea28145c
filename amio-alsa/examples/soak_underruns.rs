//! amio-alsa's part of the soak run (`scripts/soak alsa`; not part of CI):
//! forced underruns through ALSA's `jack` PCM into a private jackd (the
//! audio thread stalls 100 ms, ~9 buffers, again and again). Each must be
//! recovered and reported as one xrun, and the timeline must stay true
//! (rolling since frame 0, never located: position = stream frame). Prints
//! the figures; exits non-zero if a check fails.
//!
//! `cargo run --release -p amio-alsa --example soak_underruns [STALLS]`

use std::time::{Duration, Instant};

use amio_alsa::{AlsaConfig, AlsaDriver};
use amio_core::{Config, Event, Stream, StreamConfig};
use amio_testkit::{child::alsa_config, client_name, Generator, JackServer, Recorder, Scratch};

fn wait_until(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<Duration, String> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(start.elapsed())
}

fn run(stalls: u64) -> Result<(), String> {
    let server = JackServer::start(256);
    let dir = Scratch::new("soak-alsa");
    // The peers' clients, as Recorder and Generator name them.
    let (recorder, generator) = (
        client_name("recorder", server.name()),
        client_name("generator", server.name()),
    );
    let conf = alsa_config(
        &dir,
        &format!(
            "pcm.amio_jack {{\n type jack\n playback_ports {{ 0 {recorder}:in_1 1 {recorder}:in_2 }}\n capture_ports {{ 0 {generator}:out_1 1 {generator}:out_2 }}\n}}\n"
        ),
    );
    // Before ALSA or libjack read them.
    std::env::set_var("ALSA_CONFIG_PATH", &conf);
    std::env::set_var("JACK_DEFAULT_SERVER", server.name());
    std::env::set_var("JACK_NO_START_SERVER", "1");
    let _recorder = Recorder::start(server.name(), "recorder", 2, &[]);
    let _generator = Generator::start(server.name(), "generator", 2, &[]);
    let driver = AlsaDriver::new(AlsaConfig {
        playback_device: "amio_jack".into(),
        capture_device: "amio_jack".into(),
        ..AlsaConfig::default()
    });
    let handle = driver.handle();
    let request = StreamConfig {
        frame_rate: Some(48_000),
        ..StreamConfig::default()
    };
    let mut stream =
        Stream::open(Box::new(driver), &request, &Config::default()).map_err(|e| e.to_string())?;
    stream
        .interface_mut()
        .roll(Some(0))
        .map_err(|e| e.to_string())?;
    stream.start().map_err(|e| e.to_string())?;
    wait_until("the start", Duration::from_secs(20), || {
        stream.interface().position().stream_frame > 9_600
    })?;
    let mut xruns = 0;
    let mut slowest = Duration::ZERO;
    for k in 1..=stalls {
        handle.stall(Duration::from_millis(100));
        let took = wait_until("the recovery", Duration::from_secs(20), || {
            handle.recoveries() >= k
        })?;
        slowest = slowest.max(took);
        let at = stream.interface().position().stream_frame;
        wait_until("the xrun event", Duration::from_secs(20), || {
            for e in stream.interface_mut().events() {
                if let Event::Xrun { count, .. } = e {
                    xruns = count;
                }
            }
            xruns >= k && stream.interface().position().stream_frame > at + 2_400
        })?;
        let r = stream.interface().position();
        if r.position != r.stream_frame as i64 {
            return Err(format!(
                "after stall {k}: position {} at stream frame {}",
                r.position, r.stream_frame
            ));
        }
    }
    let recoveries = handle.recoveries();
    let r = stream.interface().position();
    stream.close().map_err(|e| e.to_string())?;
    println!(
        "ALSA underruns: {stalls} forced, {recoveries} recovered, {xruns} xrun events; timeline true (position {} at stream frame {}); slowest recovery {slowest:?}",
        r.position, r.stream_frame
    );
    if recoveries != stalls || xruns != stalls {
        return Err(format!(
            "{recoveries} recoveries and {xruns} xruns for {stalls} stalls"
        ));
    }
    Ok(())
}

fn main() {
    let stalls: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    if let Err(e) = run(stalls) {
        eprintln!("soak underruns: FAILED: {e}");
        std::process::exit(1);
    }
}
