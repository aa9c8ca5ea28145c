//! The engine mixing streamed clips from the block cache (issue 16): with
//! every block ready the output is the in-memory session's bit for bit;
//! with blocks missing those frames are silent, counted exactly by
//! `DataMissing` events, and nothing else changes. Every render runs
//! under the allocation guard.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use proptest::prelude::*;

use crate::block_cache::{block_shift, BlockCache, CacheWriter, SLOT_SAMPLES};
use crate::clip::{Clip, StreamedFile};
use crate::driver::StreamInfo;
use crate::event::Event;
use crate::interface::{Config, Interface};
use crate::playspec::{Entry, Playspec};

const RATE: u32 = 48_000;

fn info(oc: usize, period: usize) -> StreamInfo {
    StreamInfo {
        backend: "test".into(),
        device: "test".into(),
        frame_rate: RATE,
        period,
        max_period: period,
        in_channels: 0,
        out_channels: oc,
        capture_latency: 0,
        playback_latency: 0,
    }
}

/// A float WAV file of `frames` frames of `channels` channels of noise.
fn write_wav(path: &Path, channels: u16, frames: usize, seed: u32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: RATE,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    for _ in 0..frames * usize::from(channels) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        w.write_sample((x as i32 as f32) / 2_147_483_648.0).unwrap();
    }
    w.finalize().unwrap();
}

/// WAV files of the given (channels, frames) in `dir`, seeded from `seed`,
/// each loaded and opened streamed: (in memory, streamed).
fn clip_pairs(dir: &Path, layouts: &[(u16, usize)], seed: u32) -> (Vec<Clip>, Vec<Clip>) {
    let (mut memory, mut streamed) = (Vec::new(), Vec::new());
    for (i, &(channels, frames)) in layouts.iter().enumerate() {
        let path = dir.join(format!("{i}.wav"));
        write_wav(&path, channels, frames, i as u32 + seed);
        memory.push(Clip::from_wav(&path).unwrap());
        streamed.push(Clip::open_streamed(&path).unwrap());
    }
    (memory, streamed)
}

/// An entry's shape, applied to either kind of clip.
#[derive(Clone, Debug)]
struct Shape {
    clip: usize,
    range: (f64, f64),
    play_at: i64,
    repeat: i64,
    gains: Vec<f32>,
    fades: (u64, u64),
}

fn entry(clip: &Clip, s: &Shape) -> Entry {
    let frames = clip.frames() as u64;
    let a = (s.range.0 * frames as f64) as u64;
    let b = a
        + ((s.range.1 * (frames - a) as f64) as u64)
            .max(1)
            .min(frames - a);
    let len = b - a;
    let repeat = if s.repeat > 0 {
        s.repeat.max(len as i64)
    } else {
        0
    };
    let fade_in = s.fades.0.min(len);
    let fade_out = s.fades.1.min(len - fade_in);
    Entry::new(clip.clone(), s.gains.clone())
        .range(a..b)
        .play_at(s.play_at)
        .repeat(repeat)
        .fades(fade_in, fade_out)
}

/// Publishes the blocks of `file` for which `ready` says yes.
fn publish(w: &mut CacheWriter, file: &StreamedFile, ready: impl Fn(u64) -> bool) {
    let shift = block_shift(file.channels());
    let per = 1u64 << shift;
    let (mut out, mut bytes) = (Vec::new(), Vec::new());
    let mut blocks = Vec::new();
    let mut block = 0;
    while block * per < file.frames() {
        if ready(block) {
            let n = per.min(file.frames() - block * per) as usize;
            file.read_into(block * per, n, &mut out, &mut bytes)
                .unwrap();
            blocks.push((block, out.clone()));
        }
        block += 1;
    }
    let add: Vec<(u64, u64, &[f32])> = blocks
        .iter()
        .map(|(b, d)| (file.id(), *b, &d[..]))
        .collect();
    assert_eq!(w.publish(|_, _| true, &add).unwrap(), add.len());
}

/// Renders `frames` frames of `playspec` rolling from `start`, in blocks
/// of the given sizes (cycled), with `cache` given to the engine; returns
/// the output and the events. Without `cache`, the interface's own reader
/// (started for a streamed clip) never reads a block, so a streamed clip's
/// data is missing throughout, however the threads are scheduled.
fn render(
    playspec: &Playspec,
    oc: usize,
    start: i64,
    frames: usize,
    blocks: &[usize],
    cache: Option<crate::block_cache::CacheReader>,
) -> (Vec<f32>, Vec<Event>) {
    let max = *blocks.iter().max().unwrap();
    let config = Config {
        event_capacity: 4 * frames + 64,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info(oc, max), &config).unwrap();
    match cache {
        Some(cache) => engine.set_block_cache(cache),
        None => interface.set_stream_read_delay(std::time::Duration::MAX),
    }
    interface.schedule(playspec, 0, start, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    let mut out = Vec::with_capacity(frames * oc);
    let mut done = 0;
    // The audio thread's work, streamed clips and missing blocks included,
    // under the allocation guard (`Engine::render` enters it).
    let before = crate::rt_guard::violations();
    for &n in blocks.iter().cycle() {
        if done >= frames {
            break;
        }
        let n = n.min(frames - done);
        out.extend_from_slice(engine.render(n));
        done += n;
    }
    assert_eq!(
        crate::rt_guard::violations(),
        before,
        "the engine allocated"
    );
    (out, interface.events())
}

fn missing(events: &[Event]) -> Vec<(u64, i64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DataMissing {
                file,
                position,
                frames,
                ..
            } => Some((*file, *position, *frames)),
            _ => None,
        })
        .collect()
}

/// Asserts that no event reports missing data, naming the first runs.
#[track_caller]
fn assert_none_missing(events: &[Event]) {
    let m = missing(events);
    assert!(
        m.is_empty(),
        "{} runs missing: {:?}",
        m.len(),
        &m[..m.len().min(12)]
    );
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn shapes() -> impl Strategy<Value = Vec<Shape>> {
    proptest::collection::vec(
        (
            0usize..3,
            (0.0f64..1.0, 0.0f64..1.0),
            -3000i64..6000,
            prop_oneof![Just(0i64), 1i64..9000],
            proptest::collection::vec(-1.5f32..1.5, 2),
            (0u64..2000, 0u64..2000),
        )
            .prop_map(|(clip, range, play_at, repeat, gains, fades)| Shape {
                clip,
                range,
                play_at,
                repeat,
                gains,
                fades,
            }),
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random sessions of streamed clips, every block ready, in random
    /// block sizes: bit for bit the same session of the clips in memory,
    /// and no `DataMissing` event.
    #[test]
    fn streamed_with_every_block_ready_equals_in_memory(
        shapes in shapes(),
        start in -4000i64..4000,
        blocks in proptest::collection::vec(1usize..700, 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let layouts = [(1u16, 40_000usize), (2, 20_000), (2, 9_000)];
        let (memory, streamed) = clip_pairs(dir.path(), &layouts, 7);
        let in_memory = Playspec::new(shapes.iter().map(|s| entry(&memory[s.clip], s)).collect()).unwrap();
        let on_disk = Playspec::new(shapes.iter().map(|s| entry(&streamed[s.clip], s)).collect()).unwrap();
        let slots = streamed.iter().map(|c| c.frames().div_ceil(1 << block_shift(c.channels()))).sum();
        let (reader, mut writer) = BlockCache::create(slots, SLOT_SAMPLES).unwrap();
        for c in &streamed {
            publish(&mut writer, c.streamed().unwrap(), |_| true);
        }
        let frames = 30_000;
        let (want, _) = render(&in_memory, 2, start, frames, &blocks, None);
        let (got, events) = render(&on_disk, 2, start, frames, &blocks, Some(reader));
        prop_assert_eq!(bits(&got), bits(&want));
        prop_assert!(missing(&events).is_empty());
    }

    /// The same with the odd blocks of every file missing: the output is
    /// the in-memory session of clips whose odd blocks are silent, and the
    /// `DataMissing` events count exactly the frames of odd blocks that
    /// would have sounded.
    #[test]
    fn missing_blocks_are_silent_and_counted_exactly(
        shapes in shapes(),
        start in -4000i64..4000,
        blocks in proptest::collection::vec(1usize..700, 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let layouts = [(1u16, 40_000usize), (2, 20_000), (2, 9_000)];
        let (mut holed, mut streamed) = (Vec::new(), Vec::new());
        for (i, (channels, frames)) in layouts.iter().enumerate() {
            let path = dir.path().join(format!("{i}.wav"));
            write_wav(&path, *channels, *frames, i as u32 + 11);
            let loaded = Clip::from_wav(&path).unwrap();
            let c = loaded.channels();
            let shift = block_shift(c);
            let mut samples = loaded.samples().to_vec();
            for (f, frame) in samples.chunks_exact_mut(c).enumerate() {
                if (f >> shift) % 2 == 1 {
                    frame.fill(0.0);
                }
            }
            holed.push(Clip::from_interleaved(RATE, c, samples).unwrap());
            streamed.push(Clip::open_streamed(&path).unwrap());
        }
        let with_holes = Playspec::new(shapes.iter().map(|s| entry(&holed[s.clip], s)).collect()).unwrap();
        let on_disk = Playspec::new(shapes.iter().map(|s| entry(&streamed[s.clip], s)).collect()).unwrap();
        let slots = streamed.iter().map(|c| c.frames().div_ceil(1 << block_shift(c.channels()))).sum();
        let (reader, mut writer) = BlockCache::create(slots, SLOT_SAMPLES).unwrap();
        for c in &streamed {
            publish(&mut writer, c.streamed().unwrap(), |b| b % 2 == 0);
        }
        let frames = 30_000;
        let (want, _) = render(&with_holes, 2, start, frames, &blocks, None);
        let (got, events) = render(&on_disk, 2, start, frames, &blocks, Some(reader));
        prop_assert_eq!(bits(&got), bits(&want));
        // Brute force: every frame of every occurrence in the rendered
        // positions that falls in an odd block.
        let mut expected = 0u64;
        for e in on_disk.entries() {
            let shift = block_shift(e.clip.channels());
            for pos in start..start + frames as i64 {
                let mut hits = |t: i64| {
                    let j = pos - t;
                    if j >= 0 && (j as u64) < e.length() && ((e.range.start + j as u64) >> shift) % 2 == 1 {
                        expected += 1;
                    }
                };
                if e.repeat == 0 {
                    hits(e.play_at);
                } else {
                    // Occurrences with a start in (pos - len, pos].
                    let k_hi = (pos - e.play_at).div_euclid(e.repeat);
                    let mut k = k_hi;
                    while e.play_at + k * e.repeat > pos - e.length() as i64 {
                        hits(e.play_at + k * e.repeat);
                        k -= 1;
                    }
                }
            }
        }
        let files: Vec<u64> = streamed.iter().map(|c| c.streamed().unwrap().id()).collect();
        let runs = missing(&events);
        prop_assert!(runs.iter().all(|(f, _, _)| files.contains(f)), "{:?}", runs);
        prop_assert_eq!(runs.iter().map(|r| r.2).sum::<u64>(), expected);
    }
}

#[test]
fn without_a_cache_a_streamed_clip_is_silence_reported_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    write_wav(&path, 2, 1000, 3);
    let clip = Clip::open_streamed(&path).unwrap();
    let id = clip.streamed().unwrap().id();
    let playspec = Playspec::new(vec![Entry::new(clip, vec![1.0, 1.0]).play_at(100)]).unwrap();
    let (out, events) = render(&playspec, 2, 0, 2000, &[256], None);
    assert!(out.iter().all(|&x| x == 0.0));
    let runs = missing(&events);
    assert_eq!(runs.iter().map(|r| r.2).sum::<u64>(), 1000);
    assert_eq!(runs[0].0, id);
    assert_eq!(runs[0].1, 100);
    // The event's stream frame is the frame the silence was heard at.
    let first = events
        .iter()
        .find_map(|e| match e {
            Event::DataMissing { stream_frame, .. } => Some(*stream_frame),
            _ => None,
        })
        .unwrap();
    assert_eq!(first, 100);
}

/// A command of a random session, at a stream frame.
#[derive(Clone, Debug)]
enum Cmd {
    Schedule {
        playspec: usize,
        insert_at: i64,
        start_from: i64,
    },
    Roll,
    Stop,
    Locate(i64),
}

fn cmds() -> impl Strategy<Value = Vec<(u64, Cmd)>> {
    proptest::collection::vec(
        (
            0u64..30_000,
            prop_oneof![
                (0usize..2, -2000i64..30_000, -3000i64..6000).prop_map(
                    |(playspec, insert_at, start_from)| Cmd::Schedule {
                        playspec,
                        insert_at,
                        start_from
                    }
                ),
                Just(Cmd::Roll),
                Just(Cmd::Stop),
                (-3000i64..40_000).prop_map(Cmd::Locate),
            ],
        ),
        0..8,
    )
}

/// Renders a session through the interface's own reader thread (streamed
/// clips) or from memory: playspec 0 scheduled at 0 and rolling, then the
/// commands at their stream frames, in periods of the given sizes,
/// waiting for the reader between periods as an offline render does.
fn render_offline(
    playspecs: &[Playspec],
    cmds: &[(u64, Cmd)],
    frames: usize,
    blocks: &[usize],
) -> (Vec<f32>, Vec<Event>) {
    let max = *blocks.iter().max().unwrap();
    let config = Config {
        event_capacity: 4 * frames + 64,
        // Small, so that the reader drops and reuses slots.
        stream_read_ahead_ms: 100,
        stream_cache_bytes: 24 * SLOT_SAMPLES * 4,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info(2, max), &config).unwrap();
    interface.schedule(&playspecs[0], 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    for (at, cmd) in cmds {
        let at = Some(*at);
        match cmd {
            Cmd::Schedule {
                playspec,
                insert_at,
                start_from,
            } => {
                interface
                    .schedule(&playspecs[*playspec], *insert_at, *start_from, at)
                    .unwrap();
            }
            Cmd::Roll => interface.roll(at).unwrap(),
            Cmd::Stop => interface.stop(at).unwrap(),
            Cmd::Locate(p) => interface.locate(*p, at).unwrap(),
        }
    }
    let mut out = Vec::with_capacity(frames * 2);
    let mut done = 0;
    for &n in blocks.iter().cycle() {
        if done >= frames {
            break;
        }
        let n = n.min(frames - done);
        interface.wait_for_streams();
        let before = crate::rt_guard::violations();
        out.extend_from_slice(engine.render(n));
        assert_eq!(
            crate::rt_guard::violations(),
            before,
            "the engine allocated"
        );
        done += n;
    }
    (out, interface.events())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Random sessions (entries, repeats, fades, swaps, locates, roll and
    /// stop) rendered offline with every clip streamed through the
    /// interface's reader thread equal the same sessions with every clip
    /// in memory, bit for bit, in random period sizes; no frame is missing.
    #[test]
    fn offline_render_with_the_reader_equals_in_memory(
        shapes_a in shapes(),
        shapes_b in shapes(),
        cmds in cmds(),
        blocks in proptest::collection::vec(1usize..1500, 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let layouts = [(1u16, 60_000usize), (2, 50_000), (2, 9_000)];
        let (memory, streamed) = clip_pairs(dir.path(), &layouts, 5);
        let make = |clips: &[Clip]| -> Vec<Playspec> {
            [&shapes_a, &shapes_b]
                .iter()
                .map(|shapes| Playspec::new(shapes.iter().map(|s| entry(&clips[s.clip], s)).collect()).unwrap())
                .collect()
        };
        let frames = 40_000;
        let (want, _) = render_offline(&make(&memory), &cmds, frames, &blocks);
        let (got, events) = render_offline(&make(&streamed), &cmds, frames, &blocks);
        prop_assert!(missing(&events).is_empty(), "{:?}", missing(&events));
        prop_assert_eq!(bits(&got), bits(&want));
    }
}

/// Waits until `stream` has played `frames` frames (a hang guard of a
/// minute, so a machine under load only makes it slower, never wrong).
fn play_until(stream: &crate::Stream, frames: u64) {
    let started = std::time::Instant::now();
    while stream.interface().position().stream_frame < frames {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the paced stream stalled"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A paced stream (the null driver's clock) of 2 outputs, periods of 256
/// frames, and the output it plays.
fn paced(config: &Config) -> (crate::Stream, std::sync::Arc<std::sync::Mutex<Vec<f32>>>) {
    use crate::null::{NullConfig, NullDriver, NullMode};
    use std::sync::{Arc, Mutex};
    // Room for far more than a run plays: the sink runs on the audio
    // thread, under the allocation guard other tests of this binary count.
    let out = Arc::new(Mutex::new(Vec::with_capacity(1 << 22)));
    let sink = Arc::clone(&out);
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Paced,
        ..NullConfig::default()
    })
    .with_output(Box::new(move |_, samples| {
        sink.lock().unwrap().extend_from_slice(samples)
    }));
    let request = crate::StreamConfig {
        device: None,
        frame_rate: Some(RATE),
        period: Some(256),
        in_channels: 0,
        out_channels: 2,
    };
    let stream = crate::Stream::open(Box::new(driver), &request, config).unwrap();
    (stream, out)
}

/// A paced stream (the null driver's clock) whose reader is slowed down
/// on purpose (every block read waits 30 ms; 100 ms read-ahead): the
/// frames whose blocks came late are silent and counted exactly by the
/// `DataMissing` events, the rest of the output is the in-memory render's,
/// and the timeline (every position report) is the same.
#[test]
fn a_slow_reader_leaves_exactly_the_reported_frames_silent() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, streamed) = clip_pairs(dir.path(), &[(2u16, 200_000usize), (1, 150_000)], 21);
    // Each clip once, so a missing run maps to one place in one clip.
    let entries = |clips: &[Clip]| {
        vec![
            Entry::new(clips[0].clone(), vec![0.5, 0.25])
                .range(1_000..180_000)
                .fades(2_000, 3_000),
            Entry::new(clips[1].clone(), vec![0.7, -0.4]).play_at(3_000),
        ]
    };
    let period = 256;
    let config = Config {
        event_capacity: 1 << 16,
        stream_read_ahead_ms: 100,
        ..Config::default()
    };
    let (mut stream, out) = paced(&config);
    stream
        .interface_mut()
        .set_stream_read_delay(std::time::Duration::from_millis(30));
    let on_disk = Playspec::new(entries(&streamed)).unwrap();
    stream
        .interface_mut()
        .schedule(&on_disk, 0, 0, Some(0))
        .unwrap();
    stream.interface_mut().roll(Some(0)).unwrap();
    stream.start().unwrap();
    play_until(&stream, 72_000);
    stream.pause().unwrap();
    let events = stream.interface_mut().events();
    let got = out.lock().unwrap().clone();
    let frames = got.len() / 2;
    assert!(frames >= 48_000, "{frames} frames played");

    // The in-memory session with the reported frames of each clip zeroed.
    let runs = missing(&events);
    let silent: u64 = runs.iter().map(|r| r.2).sum();
    assert!(silent > 0, "the slow reader made nothing late");
    assert!(silent < frames as u64, "{silent} of {frames} frames silent");
    eprintln!(
        "{silent} of {frames} frames silent in {} DataMissing runs",
        runs.len()
    );
    let on_memory = Playspec::new(entries(&memory)).unwrap();
    let mut holed: Vec<Clip> = Vec::new();
    for (k, e) in on_memory.entries().iter().enumerate() {
        let id = streamed[k].streamed_file().unwrap().id();
        let c = e.clip.channels();
        let mut samples = e.clip.samples().to_vec();
        for &(_, position, n) in runs.iter().filter(|r| r.0 == id) {
            let first = e.range.start + (position - e.play_at) as u64;
            samples[first as usize * c..(first + n) as usize * c].fill(0.0);
        }
        holed.push(Clip::from_interleaved(RATE, c, samples).unwrap());
    }
    let with_holes = Playspec::new(entries(&holed)).unwrap();
    let (want, want_events) = render(&with_holes, 2, 0, frames, &[period], None);
    assert_eq!(bits(&got), bits(&want));
    // The timeline: the same position reports, frame for frame.
    let reports = |events: &[Event]| -> Vec<(u64, i64, bool)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Position(r) => Some((r.stream_frame, r.position, r.rolling)),
                _ => None,
            })
            .take(frames / period)
            .collect()
    };
    assert_eq!(reports(&events), reports(&want_events));
}

/// In real time (the paced null driver, no slowdown): a locate and a swap
/// issued well over the read-ahead before their frames find their data
/// ready: no `DataMissing`, and the output is the in-memory render of the
/// same commands at the same frames.
#[test]
fn commands_issued_a_read_ahead_early_find_their_data_ready() {
    let dir = tempfile::tempdir().unwrap();
    let (memory, streamed) = clip_pairs(dir.path(), &[(2u16, 400_000usize), (1, 300_000)], 31);
    let first = |clips: &[Clip]| {
        Playspec::new(vec![
            Entry::new(clips[0].clone(), vec![0.5, 0.25]),
            Entry::new(clips[1].clone(), vec![0.3, 0.3]).play_at(1_000),
        ])
        .unwrap()
    };
    let second = |clips: &[Clip]| {
        Playspec::new(vec![
            Entry::new(clips[1].clone(), vec![-0.6, 0.2]).repeat(300_000)
        ])
        .unwrap()
    };
    let config = Config {
        event_capacity: 1 << 16,
        stream_read_ahead_ms: 300,
        ..Config::default()
    };
    let (mut stream, out) = paced(&config);
    let (on_disk, next) = (first(&streamed), second(&streamed));
    stream
        .interface_mut()
        .schedule(&on_disk, 0, 0, Some(0))
        .unwrap();
    stream.interface_mut().roll(Some(0)).unwrap();
    // The start is no command issued early: wait for its data first.
    stream.interface().wait_for_streams();
    stream.start().unwrap();
    play_until(&stream, 9_600);
    // 1 s and 1.5 s ahead of where the engine stands: over 3 read-aheads.
    let now = stream.interface().position().stream_frame;
    let (locate_at, swap_at) = (now + 48_000, now + 72_000);
    stream
        .interface_mut()
        .locate(250_000, Some(locate_at))
        .unwrap();
    stream
        .interface_mut()
        .schedule(&next, 0, 120_000, Some(swap_at))
        .unwrap();
    play_until(&stream, swap_at + 30_000);
    stream.pause().unwrap();
    let events = stream.interface_mut().events();
    let got = out.lock().unwrap().clone();
    let frames = got.len() / 2;
    assert!(frames as u64 > swap_at + 24_000, "{frames} frames played");
    assert!(missing(&events).is_empty(), "{:?}", missing(&events));

    // The same commands at the same frames, in memory, stepped.
    let config = Config {
        event_capacity: 1 << 16,
        ..Config::default()
    };
    let (mut interface, mut engine) = Interface::new(&info(2, 256), &config).unwrap();
    interface.schedule(&first(&memory), 0, 0, Some(0)).unwrap();
    interface.roll(Some(0)).unwrap();
    interface.locate(250_000, Some(locate_at)).unwrap();
    interface
        .schedule(&second(&memory), 0, 120_000, Some(swap_at))
        .unwrap();
    let mut want = Vec::with_capacity(frames * 2);
    while want.len() < frames * 2 {
        let n = 256.min(frames - want.len() / 2);
        want.extend_from_slice(engine.render(n));
    }
    assert_eq!(bits(&got), bits(&want));
}

/// Regressions found by review: commands the reader must not lose.
mod commands_kept {
    use super::*;

    fn clips() -> (tempfile::TempDir, Playspec, Playspec) {
        let dir = tempfile::tempdir().unwrap();
        let mut playspecs = Vec::new();
        for (i, gain) in [(0u32, 0.5f32), (1, 0.25)] {
            let path = dir.path().join(format!("{i}.wav"));
            write_wav(&path, 2, 400_000, 7 + 2 * i);
            let clip = Clip::open_streamed(&path).unwrap();
            playspecs.push(Playspec::new(vec![Entry::new(clip, vec![gain, gain])]).unwrap());
        }
        let b = playspecs.pop().unwrap();
        (dir, playspecs.pop().unwrap(), b)
    }

    fn run_waiting(interface: &mut Interface, engine: &mut crate::Engine, frames: u64) {
        let mut done = 0;
        while done < frames {
            interface.wait_for_streams();
            engine.render(256);
            done += 256;
        }
    }

    fn config() -> Config {
        Config {
            event_capacity: 1 << 16,
            stream_read_ahead_ms: 100,
            ..Config::default()
        }
    }

    /// A change sent "as soon as possible" with a frame already past,
    /// inserted a second ahead: its clip is read when it comes.
    #[test]
    fn a_change_for_a_past_frame_is_read_for() {
        let (_dir, a, b) = clips();
        let (mut interface, mut engine) = Interface::new(&info(2, 256), &config()).unwrap();
        interface.schedule(&a, 0, 0, Some(4_800)).unwrap();
        interface.roll(Some(0)).unwrap();
        run_waiting(&mut interface, &mut engine, 9_728);
        interface.schedule(&b, 9_728 + 48_000, 0, Some(0)).unwrap();
        run_waiting(&mut interface, &mut engine, 96_000);
        assert_none_missing(&interface.events());
    }

    /// A locate sent before any streamed playspec (before the reader
    /// starts) is read for when it takes effect.
    #[test]
    fn a_locate_sent_before_the_reader_started_is_read_for() {
        let (_dir, a, _b) = clips();
        let (mut interface, mut engine) = Interface::new(&info(2, 256), &config()).unwrap();
        interface.locate(200_000, Some(48_000)).unwrap();
        interface.schedule(&a, 0, 0, Some(0)).unwrap();
        interface.roll(Some(0)).unwrap();
        run_waiting(&mut interface, &mut engine, 96_000);
        assert_none_missing(&interface.events());
    }

    /// A stepped null stream stepped by far more than the read-ahead at
    /// once waits for the reader before every engine period.
    #[test]
    fn a_long_step_waits_before_every_period() {
        use crate::null::{NullConfig, NullDriver};
        use crate::{Stream, StreamConfig};
        let (_dir, a, _b) = clips();
        let driver = NullDriver::new(NullConfig::default());
        let control = driver.control();
        let request = StreamConfig {
            device: None,
            frame_rate: Some(RATE),
            period: Some(256),
            in_channels: 0,
            out_channels: 2,
        };
        let mut stream = Stream::open(Box::new(driver), &request, &config()).unwrap();
        stream.interface_mut().schedule(&a, 0, 0, Some(0)).unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        stream.start().unwrap();
        let mut out = vec![0.0; 96_000 * 2];
        control.step(96_000, &[], &mut out).unwrap();
        assert_none_missing(&stream.interface_mut().events());
        assert!(out.iter().filter(|x| **x != 0.0).count() > 180_000);
    }
}
