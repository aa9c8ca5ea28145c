//! Hostile and careless input to the engine: sizes at and beyond amio's
//! limits are refused with an error naming the field (never an abort, also
//! when memory is short), huge gains never put NaN or infinity out with the
//! clamp on, many commands for one frame apply in issue order, and a
//! playspec's scheduling scratch is allocated once per interface.
#![allow(clippy::unwrap_used)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use amio_core::limits::{
    MAX_CHANNELS, MAX_FRAME_RATE, MAX_INPUT_BUFFER_SAMPLES, MAX_LATENCY, MAX_PERIOD,
    MAX_QUEUE_CAPACITY,
};
use amio_core::{Clip, Config, Entry, Error, Interface, Playspec};
use support::*;

/// Counts the bytes allocated while `COUNTING` is on, on the thread that
/// turned it on (the test's other threads allocate as they please).
struct ByteCounter;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; the counter is atomic.
unsafe impl GlobalAlloc for ByteCounter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: ByteCounter = ByteCounter;

fn config_error(result: Result<(Interface, amio_core::Engine), Error>) -> String {
    match result {
        Err(e @ Error::Config { .. }) => e.to_string(),
        Err(e) => panic!("not a configuration error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn sizes_beyond_the_limits_are_refused_naming_the_field() {
    let base = info(2, 2, 256, (0, 0));
    let cases: Vec<(amio_core::StreamInfo, Config, String)> = vec![
        (
            amio_core::StreamInfo { out_channels: MAX_CHANNELS + 1, ..base.clone() },
            Config::default(),
            format!("configuration: out_channels is {}, above amio's limit of {MAX_CHANNELS}", MAX_CHANNELS + 1),
        ),
        (
            amio_core::StreamInfo { in_channels: usize::MAX, ..base.clone() },
            Config::default(),
            format!("configuration: in_channels is {}, above amio's limit of {MAX_CHANNELS}", usize::MAX),
        ),
        (
            amio_core::StreamInfo { max_period: usize::MAX, ..base.clone() },
            Config::default(),
            format!("configuration: max_period is {}, above amio's limit of {MAX_PERIOD}", usize::MAX),
        ),
        (
            amio_core::StreamInfo { frame_rate: u32::MAX, ..base.clone() },
            Config::default(),
            format!("configuration: frame_rate is {}, above amio's limit of {MAX_FRAME_RATE}", u32::MAX),
        ),
        (
            base.clone(),
            Config { command_capacity: usize::MAX, ..Config::default() },
            format!("configuration: command_capacity is {}, above amio's limit of {MAX_QUEUE_CAPACITY}", usize::MAX),
        ),
        (
            base.clone(),
            Config { outcome_capacity: MAX_QUEUE_CAPACITY + 1, ..Config::default() },
            format!("configuration: outcome_capacity is {}, above amio's limit of {MAX_QUEUE_CAPACITY}", MAX_QUEUE_CAPACITY + 1),
        ),
        (
            base.clone(),
            Config { event_capacity: usize::MAX, ..Config::default() },
            format!("configuration: event_capacity is {}, above amio's limit of {MAX_QUEUE_CAPACITY}", usize::MAX),
        ),
        (
            base.clone(),
            Config { max_latency: u64::MAX, ..Config::default() },
            format!("configuration: max_latency is {}, above amio's limit of {MAX_LATENCY}", u64::MAX),
        ),
        (
            base.clone(),
            Config { input_buffer_frames: usize::MAX, ..Config::default() },
            format!(
                "configuration: input_buffer_frames is {} frames of 2 channels, above amio's limit of {MAX_INPUT_BUFFER_SAMPLES} samples",
                usize::MAX
            ),
        ),
    ];
    for (info, config, message) in cases {
        assert_eq!(config_error(Interface::new(&info, &config)), message);
    }
    let clip = Clip::from_interleaved(RATE, 1, vec![0.0; 10]).unwrap();
    assert_eq!(
        clip.resample(u32::MAX).unwrap_err().to_string(),
        format!("resample: frame rate to resample to is {} Hz, above amio's limit of {MAX_FRAME_RATE} Hz", u32::MAX)
    );
    // At the limits themselves: accepted.
    let edge = amio_core::StreamInfo {
        out_channels: 8,
        in_channels: 8,
        ..base
    };
    assert!(Interface::new(
        &edge,
        &Config {
            max_latency: MAX_LATENCY,
            ..Config::default()
        }
    )
    .is_ok());
}

/// In a child process whose address space is limited to 256 MiB, sizes
/// within the limits but beyond that memory are refused with an error,
/// never an abort.
#[test]
fn sizes_that_do_not_fit_in_memory_are_errors_not_aborts() {
    if std::env::var_os("AMIO_HOSTILE_CHILD").is_some() {
        let limit = libc::rlimit {
            rlim_cur: 256 << 20,
            rlim_max: 256 << 20,
        };
        // SAFETY: setrlimit with a valid struct; it only lowers this
        // process's own limit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
        let big = amio_core::StreamInfo {
            max_period: MAX_PERIOD,
            out_channels: MAX_CHANNELS,
            ..info(2, 1, 256, (0, 0))
        };
        match Interface::new(&big, &Config::default()) {
            Err(Error::Argument {
                argument: "output buffer",
                rule,
            }) => {
                assert_eq!(rule, "it would not fit in memory");
            }
            other => panic!("expected the output buffer refused, got {:?}", other.err()),
        }
        let big_input = Config {
            input_buffer_frames: MAX_INPUT_BUFFER_SAMPLES,
            ..Config::default()
        };
        match Interface::new(&info(2, 1, 256, (0, 0)), &big_input) {
            Err(Error::Argument {
                argument: "input buffer",
                rule,
            }) => {
                assert!(rule.contains("would not fit in memory"), "{rule}");
            }
            other => panic!("expected the input buffer refused, got {:?}", other.err()),
        }
        match Clip::silence(48_000, 2, 1 << 30) {
            Err(Error::Argument {
                argument: "silence frames",
                ..
            }) => {}
            other => panic!("expected the clip refused, got {:?}", other.err()),
        }
        println!("child ok");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sizes_that_do_not_fit_in_memory_are_errors_not_aborts",
            "--nocapture",
        ])
        .env("AMIO_HOSTILE_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child ok"),
        "child failed ({:?}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn huge_gains_never_put_nan_or_infinity_out_with_the_clamp_on() {
    // Louder-than-full-scale samples (kept, as docs/engine.md says) times
    // the largest finite gains overflow f32 to +inf and -inf; together they
    // make inf - inf = NaN.
    let clip = Clip::from_interleaved(RATE, 1, vec![2.0, 2.0, -2.0, 0.5]).unwrap();
    let max = f32::MAX;
    let playspec = Playspec::new(vec![
        Entry::new(clip.clone(), vec![max, max]).range(0..3),
        Entry::new(clip.clone(), vec![max, -max]).range(0..1),
        Entry::new(clip, vec![-max, max]).range(1..2).play_at(1),
    ])
    .unwrap();
    for clamp in [true, false] {
        let mut rig = Rig::new(
            2,
            0,
            64,
            (0, 0),
            &Config {
                clamp,
                ..Config::default()
            },
        );
        rig.interface.schedule(&playspec, 0, 0, Some(0)).unwrap();
        rig.interface.roll(Some(0)).unwrap();
        let out = rig.render(4, 64);
        if clamp {
            // Frame 0: inf + inf = inf -> 1; inf + -inf = NaN -> 0.
            // Frame 1: inf + -inf = NaN -> 0; inf + MAX = inf -> 1.
            // Frame 2: -inf, -inf -> -1. Frame 3: silence.
            assert_eq!(out, vec![1.0, 0.0, 0.0, 1.0, -1.0, -1.0, 0.0, 0.0]);
        } else {
            // The clamp off: the sums as they are (documented).
            assert_eq!(out[0], f32::INFINITY);
            assert!(out[1].is_nan() && out[2].is_nan());
            assert_eq!(out[3], f32::INFINITY);
        }
    }
}

#[test]
fn a_hundred_thousand_commands_for_one_frame_apply_in_issue_order() {
    let n = 100_000;
    let config = Config {
        command_capacity: n + 1,
        ..Config::default()
    };
    let mut rig = Rig::new(1, 0, 64, (0, 0), &config);
    let clip =
        Clip::from_interleaved(RATE, 1, (0..1000).map(|i| i as f32 / 1000.0).collect()).unwrap();
    rig.interface
        .schedule(
            &Playspec::new(vec![Entry::new(clip, vec![1.0])]).unwrap(),
            0,
            0,
            Some(5),
        )
        .unwrap();
    // Targets in falling order (beyond the render), then many at one
    // frame: the locates at frame 10 apply in issue order, the last wins.
    for i in 0..n - 1 {
        let at = if i < 1000 { 2000 - i as u64 } else { 10 };
        rig.interface.locate(i as i64 % 997, Some(at)).unwrap();
    }
    rig.interface.roll(Some(10)).unwrap();
    let out = rig.render(20, 7);
    // At frame 10 the last locate at frame 10 (i = n - 2) wins.
    let expected = ((n - 2) % 997) as f32 / 1000.0;
    assert_eq!(out[10], expected);
    assert_eq!(out[11], ((n - 2) % 997 + 1) as f32 / 1000.0);
}

#[test]
fn scheduling_a_large_playspec_again_allocates_no_scratch() {
    let clip = Clip::from_interleaved(RATE, 1, vec![0.25; 10]).unwrap();
    let entries: Vec<Entry> = (0..100_000)
        .map(|i| Entry::new(clip.clone(), vec![1.0, 1.0]).play_at(i * 10))
        .collect();
    let playspec = Playspec::new(entries).unwrap();
    let mut rig = Rig::new(2, 0, 64, (0, 0), &Config::default());
    let schedule = |rig: &mut Rig| {
        BYTES.store(0, Ordering::Relaxed);
        COUNTING.with(|c| c.set(true));
        rig.interface.schedule(&playspec, 0, 0, None).unwrap();
        COUNTING.with(|c| c.set(false));
        rig.render(64, 64);
        rig.interface.events();
        BYTES.load(Ordering::Relaxed)
    };
    let first = schedule(&mut rig);
    let again = schedule(&mut rig);
    let third = schedule(&mut rig);
    println!("schedule of 100,000 entries: first {first} bytes, then {again} and {third}");
    // The first brings the scratch (for every entry a 4-byte candidate and
    // a 32-byte planned occurrence); later ones only what is proportional
    // to the playspec itself.
    assert!(
        again.abs_diff(third) < again / 100,
        "again {again}, third {third}"
    );
    assert!(
        first >= again + 100_000 * (4 + 32),
        "first {first}, again {again}"
    );
}

#[test]
fn null_driver_sizes_are_checked() {
    use amio_core::driver::BackendConfig;
    use amio_core::{NullConfig, NullDriver, Stream, StreamConfig};
    let null = |options: &str| NullDriver::new(NullConfig::from_options(options).unwrap());
    let open = |options: &str, request: StreamConfig| {
        Stream::open(Box::new(null(options)), &request, &Config::default()).map(|_| ())
    };
    assert_eq!(
        open("capture_latency=18446744073709551615", StreamConfig::default())
            .unwrap_err()
            .to_string(),
        format!("configuration: capture_latency is 18446744073709551615, above amio's limit of {MAX_LATENCY}")
    );
    assert_eq!(
        open(
            "",
            StreamConfig {
                period: Some(usize::MAX),
                ..StreamConfig::default()
            }
        )
        .unwrap_err()
        .to_string(),
        format!(
            "configuration: period is {}, above amio's limit of {MAX_PERIOD}",
            usize::MAX
        )
    );
    // Stepping more frames than a buffer can hold is refused, never wrapped.
    let driver = null("mode=stepped");
    let control = driver.control();
    let mut stream = Stream::open(
        Box::new(driver),
        &StreamConfig::default(),
        &Config::default(),
    )
    .unwrap();
    stream.start().unwrap();
    assert_eq!(
        control
            .step(usize::MAX, &[], &mut [])
            .unwrap_err()
            .to_string(),
        format!(
            "step input: {} frames is more than a buffer can hold",
            usize::MAX
        )
    );
}
