//! 10,000 schedules from the control thread while the null driver runs
//! paced: every id gets exactly one outcome, in order.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod support;

use std::time::{Duration, Instant};

use amio_core::{
    Config, Entry, Error, Event, NullConfig, NullDriver, NullMode, OutcomeKind, Playspec, Stream,
    StreamConfig,
};
use support::*;

#[test]
fn ten_thousand_schedules_each_get_one_outcome_in_order() {
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Paced,
        ..NullConfig::default()
    });
    let request = StreamConfig {
        frame_rate: Some(RATE),
        period: Some(64),
        in_channels: 0,
        out_channels: 2,
        device: None,
    };
    let config = Config {
        outcome_capacity: 256,
        command_capacity: 256,
        ..Config::default()
    };
    let mut stream = Stream::open(Box::new(driver), &request, &config).unwrap();
    let playspecs: Vec<Playspec> = (0..16)
        .map(|i| {
            Playspec::new(vec![
                Entry::new(ramp(2, 100 + i, 0.1), vec![0.5, 0.5]).repeat(100 + i as i64)
            ])
            .unwrap()
        })
        .collect();
    stream.interface_mut().roll(None).unwrap();
    stream.start().unwrap();

    let mut seen = Vec::new();
    let mut full = 0u64;
    let take = |stream: &mut Stream, seen: &mut Vec<(u64, OutcomeKind)>| {
        for e in stream.interface_mut().events() {
            if let Event::Outcome(o) = e {
                seen.push((o.id, o.kind));
            }
        }
    };
    let total = 10_000u64;
    for i in 0..total {
        // Mix changes that apply at once with ones that wait (and are
        // superseded by the next), chosen pseudo-randomly so that batch
        // boundaries do not line up with a pattern.
        let hash = (i ^ 0x9E37_79B9).wrapping_mul(0x85EB_CA6B) >> 7;
        let insert_at = if hash % 3 == 0 { i64::MAX } else { 0 };
        loop {
            match stream
                .interface_mut()
                .schedule(&playspecs[(i % 16) as usize], insert_at, 0, None)
            {
                Ok(id) => {
                    assert_eq!(id, i + 1);
                    break;
                }
                Err(Error::QueueFull { .. }) => {
                    full += 1;
                    take(&mut stream, &mut seen);
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(e) => panic!("schedule {i}: {e}"),
            }
        }
        if i % 100 == 0 {
            take(&mut stream, &mut seen);
        }
    }
    // One last change that applies, so everything before it resolves.
    let last = stream
        .interface_mut()
        .schedule(&playspecs[0], 0, 0, None)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stream.interface().unresolved().count() > 0 && Instant::now() < deadline {
        take(&mut stream, &mut seen);
        std::thread::sleep(Duration::from_millis(2));
    }
    stream.close().unwrap();
    take(&mut stream, &mut seen);

    assert_eq!(seen.len() as u64, total + 1, "one outcome per id");
    let ids: Vec<u64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=last).collect::<Vec<_>>(),
        "outcomes in id order, each once"
    );
    assert_eq!(seen.last(), Some(&(last, OutcomeKind::Applied)));
    let applied = seen
        .iter()
        .filter(|(_, k)| *k == OutcomeKind::Applied)
        .count();
    assert!(applied > 0 && applied < seen.len());
    assert!(seen.iter().all(|(_, k)| *k != OutcomeKind::Dropped));
    eprintln!(
        "{applied} applied, {} superseded, {full} waits for a full queue",
        seen.len() - applied
    );
}
