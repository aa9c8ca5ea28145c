//! The engine's part of amio's soak run (`scripts/soak`; not part of CI):
//! prints figures, and exits non-zero if a check fails.
//!
//! - 10,000 playspec swaps at random target frames: every id gets exactly
//!   one outcome (applied or superseded), as many outcomes as schedules.
//! - Input overflow: the control side reads too slowly; every captured
//!   frame is either delivered or counted as dropped, none twice.
//! - 300,000 commands for one stream frame: the time to take them in and
//!   apply them grows linearly with their number (printed per command for
//!   37,500 to 300,000 commands).
//!
//! `cargo run --release -p amio-core --example soak`

use std::collections::HashMap;
use std::time::Instant;

use amio_core::{Clip, Config, Event, Interface, OutcomeKind, Playspec, StreamInfo};
use amio_core::{Entry, Error};

fn info(out_channels: usize, in_channels: usize, max_period: usize) -> StreamInfo {
    StreamInfo {
        backend: "soak".into(),
        device: "soak".into(),
        frame_rate: 48_000,
        period: max_period,
        max_period,
        in_channels,
        out_channels,
        capture_latency: 0,
        playback_latency: 0,
    }
}

/// A small deterministic generator, so runs are repeatable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

fn swaps() -> Result<(), Error> {
    let n = 10_000u64;
    let config = Config {
        command_capacity: 20_000,
        outcome_capacity: 20_000,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info(2, 0, 256), &config)?;
    let clip = Clip::from_interleaved(48_000, 1, vec![0.25; 480])?;
    let playspecs: Vec<Playspec> = (0..4)
        .map(|i| {
            Playspec::new(vec![Entry::new(clip.clone(), vec![1.0, 1.0])
                .play_at(i * 100)
                .repeat(480)])
        })
        .collect::<Result<_, _>>()?;
    let mut rng = Lcg(7);
    let mut ids = Vec::new();
    let frames = 2_000_000u64;
    interface.roll(Some(0))?;
    let mut outcomes: HashMap<u64, Vec<OutcomeKind>> = HashMap::new();
    let mut taken = |interface: &mut Interface| {
        for e in interface.events() {
            if let Event::Outcome(o) = e {
                outcomes.entry(o.id).or_default().push(o.kind);
            }
        }
    };
    for i in 0..n {
        let at = rng.next(frames);
        let insert_at = rng.next(frames) as i64 - 1000;
        ids.push(interface.schedule(&playspecs[(i % 4) as usize], insert_at, 0, Some(at))?);
    }
    let mut rendered = 0;
    while rendered < frames + 256 {
        engine.render(256);
        rendered += 256;
        taken(&mut interface);
    }
    interface.close(Some(engine));
    taken(&mut interface);
    let applied = outcomes
        .values()
        .filter(|k| k[0] == OutcomeKind::Applied)
        .count();
    let superseded = outcomes
        .values()
        .filter(|k| k[0] == OutcomeKind::Superseded)
        .count();
    let dropped = outcomes
        .values()
        .filter(|k| k[0] == OutcomeKind::Dropped)
        .count();
    println!(
        "swaps: {n} schedules, {} outcomes ({applied} applied, {superseded} superseded, {dropped} dropped at close)",
        outcomes.values().map(Vec::len).sum::<usize>()
    );
    check(
        ids.len() as u64 == n && outcomes.len() as u64 == n,
        "an id without an outcome",
    )
    .and_then(|()| {
        check(
            outcomes.values().all(|k| k.len() == 1),
            "an id with two outcomes",
        )
    })
    .map_err(|what| Error::Argument {
        argument: "swaps",
        rule: what,
    })
}

fn overflow() -> Result<(), Error> {
    let config = Config {
        input_buffer_frames: 4096,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info(0, 2, 256), &config)?;
    let total = 480_000u64;
    let mut delivered = 0u64;
    let mut dropped_in_chunks = 0u64;
    let mut dropped_in_events = 0u64;
    let mut next = 0u64;
    let mut rendered = 0u64;
    let mut rng = Lcg(11);
    let mut read = |interface: &mut Interface, all: bool| -> Result<(), Error> {
        while let Some(chunk) = interface.read_input() {
            dropped_in_chunks += chunk.lost_before;
            if chunk.stream_frame != next + chunk.lost_before {
                return Err(Error::Argument {
                    argument: "overflow",
                    rule: format!(
                        "a chunk at {} after {next} with {} lost",
                        chunk.stream_frame, chunk.lost_before
                    ),
                });
            }
            next = chunk.stream_frame + chunk.frames() as u64;
            delivered += chunk.frames() as u64;
            if !all {
                break;
            }
        }
        for e in interface.events() {
            if let Event::InputLost { frames, .. } = e {
                dropped_in_events += frames;
            }
        }
        Ok(())
    };
    while rendered < total {
        engine.render(256);
        rendered += 256;
        // Read only now and then, and only part of what waits.
        if rng.next(8) == 0 {
            read(&mut interface, false)?;
        }
    }
    read(&mut interface, true)?;
    interface.close(Some(engine));
    read(&mut interface, true)?;
    // Frames dropped after the last chunk are counted by events only.
    let lost_tail = total - next;
    println!(
        "input overflow: {total} frames captured = {delivered} delivered + {} dropped (chunks said {dropped_in_chunks} before them, events {dropped_in_events}, {lost_tail} after the last chunk)",
        total - delivered
    );
    check(
        delivered + dropped_in_chunks + lost_tail == total
            && dropped_in_events == dropped_in_chunks + lost_tail,
        "captured != delivered + dropped",
    )
    .map_err(|what| Error::Argument {
        argument: "overflow",
        rule: what,
    })
}

fn commands() -> Result<(), Error> {
    let mut per_command = Vec::new();
    for n in [37_500usize, 75_000, 150_000, 300_000] {
        let config = Config {
            command_capacity: n + 1,
            ..Config::default()
        };
        let (mut interface, mut engine) = Interface::new(&info(2, 0, 256), &config)?;
        for i in 0..n {
            interface.locate(i as i64, Some(1_000))?;
        }
        let t = Instant::now();
        engine.render(256);
        engine.render(256);
        engine.render(256);
        engine.render(256);
        engine.render(256);
        let elapsed = t.elapsed();
        let position = interface.position();
        if position.position != n as i64 - 1 {
            return Err(Error::Argument {
                argument: "commands",
                rule: format!("position {} after {n} locates", position.position),
            });
        }
        let ns = elapsed.as_nanos() as f64 / n as f64;
        println!("commands: {n} for one stream frame taken in and applied in {elapsed:?} ({ns:.1} ns per command)");
        per_command.push(ns);
        interface.close(Some(engine));
    }
    let growth = per_command[3] / per_command[0];
    println!("commands: cost per command at 300,000 is {growth:.2}x that at 37,500 (linear: ~1)");
    check(growth < 3.0, "command intake is not linear").map_err(|what| Error::Argument {
        argument: "commands",
        rule: what,
    })
}

fn main() {
    let mut failed = false;
    for (name, run) in [
        ("swaps", swaps as fn() -> Result<(), Error>),
        ("overflow", overflow),
        ("commands", commands),
    ] {
        if let Err(e) = run() {
            eprintln!("soak {name}: FAILED: {e}");
            failed = true;
        }
    }
    std::process::exit(i32::from(failed));
}
