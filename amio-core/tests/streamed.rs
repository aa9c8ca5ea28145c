//! Streamed clips through the public API (issue 16): a stream on the null
//! driver, offline, plays a playspec of streamed clips exactly as the same
//! playspec of clips in memory; the driver waits for the reader thread.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use amio_core::null::{NullConfig, NullDriver, NullMode};
use amio_core::{Clip, Config, Entry, Event, Playspec, Stream, StreamConfig};

const RATE: u32 = 48_000;

fn write_wav(path: &Path, channels: u16, frames: usize, seed: u32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: RATE,
        bits_per_sample: 24,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    for _ in 0..frames * usize::from(channels) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        w.write_sample((x as i32) >> 8).unwrap();
    }
    w.finalize().unwrap();
}

/// Renders `frames` frames of `playspec` offline on the null driver, with
/// a locate and a swap to `second` on the way; returns the output and the
/// events.
fn render(
    playspec: &Playspec,
    second: &Playspec,
    frames: u64,
    config: &Config,
) -> (Vec<f32>, Vec<Event>) {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&out);
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Offline { frames },
        ..NullConfig::default()
    })
    .with_output(Box::new(move |_, samples| {
        sink.lock().unwrap().extend_from_slice(samples)
    }));
    let control = driver.control();
    let request = StreamConfig {
        device: None,
        frame_rate: Some(RATE),
        period: Some(256),
        in_channels: 0,
        out_channels: 2,
    };
    let mut stream = Stream::open(Box::new(driver), &request, config).unwrap();
    let interface = stream.interface_mut();
    interface.schedule(playspec, 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    interface.locate(200_000, Some(48_000)).unwrap();
    interface
        .schedule(second, 250_000, 10_000, Some(96_000))
        .unwrap();
    interface.locate(-1_000, Some(300_000)).unwrap();
    stream.start().unwrap();
    while !control.wait(std::time::Duration::from_secs(60)) {}
    stream.pause().unwrap();
    let events = stream.interface_mut().events();
    let out = out.lock().unwrap().clone();
    (out, events)
}

#[test]
fn an_offline_stream_plays_streamed_clips_as_clips_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut memory, mut streamed) = (Vec::new(), Vec::new());
    for (i, (channels, frames)) in [(2u16, 300_000usize), (1, 200_000), (2, 70_000)]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("{i}.wav"));
        write_wav(&path, channels, frames, i as u32 + 1);
        memory.push(Clip::from_wav(&path).unwrap());
        streamed.push(Clip::open_streamed(&path).unwrap());
    }
    assert!(streamed[0].streamed_file().is_some() && memory[0].streamed_file().is_none());
    let first = |clips: &[Clip]| {
        Playspec::new(vec![
            Entry::new(clips[0].clone(), vec![0.5, 0.25]).range(1_000..290_000),
            Entry::new(clips[1].clone(), vec![0.3, -0.6])
                .play_at(5_000)
                .repeat(210_000)
                .fades(4_800, 9_600),
            Entry::new(clips[2].clone(), vec![1.0, 1.0])
                .range(100..60_100)
                .play_at(-20_000)
                .repeat(65_000),
        ])
        .unwrap()
    };
    let second = |clips: &[Clip]| {
        Playspec::new(vec![
            Entry::new(clips[2].clone(), vec![-0.7, 0.7]).repeat(70_000),
            Entry::new(clips[0].clone(), vec![0.2, 0.2]).play_at(30_000),
        ])
        .unwrap()
    };
    let config = Config {
        event_capacity: 1 << 16,
        // A small cache and read-ahead: slots are dropped and reused.
        stream_read_ahead_ms: 250,
        stream_cache_bytes: 4 << 20,
        ..Config::default()
    };
    let frames = 480_000;
    let (want, _) = render(&first(&memory), &second(&memory), frames, &config);
    let (got, events) = render(&first(&streamed), &second(&streamed), frames, &config);
    assert_eq!(want.len(), frames as usize * 2);
    let missing: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::DataMissing { .. }))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert!(want.iter().any(|&x| x != 0.0));
    assert_eq!(bits(&got), bits(&want));
}
