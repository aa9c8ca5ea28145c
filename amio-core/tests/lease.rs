//! Drivers hold a lease, not the engine: a panic on the audio path gives
//! silence and one `Fatal(ThreadFailed)`, and a notifier or lease kept past
//! `stop` (or past the stream itself) is harmless.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use amio_core::driver::lease::{LEASE_OK, LEASE_REVOKED};
use amio_core::{
    AudioDriver, Clip, Config, DeviceInfo, Entry, Event, FaultKind, Lease, Notifier, Playspec,
    Result, Runtime, Stream, StreamConfig, StreamInfo,
};

const PERIOD: usize = 64;

/// What the test driver's thread saw.
#[derive(Default)]
struct Seen {
    /// Every period's output.
    periods: Vec<Vec<f32>>,
    /// Whether the callback of each period finished (false: it panicked).
    finished: Vec<bool>,
}

/// A driver whose thread runs periods through a [`Runtime`], panicking in
/// its callback at period `panic_at`, and which can keep its runtime and
/// notifier after stop (breaking the contract on purpose).
struct TestDriver {
    panic_at: Option<usize>,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Runtime>>,
    kept: Arc<Mutex<Option<(Runtime, Notifier)>>>,
}

impl TestDriver {
    fn new(panic_at: Option<usize>) -> TestDriver {
        TestDriver {
            panic_at,
            seen: Arc::default(),
            stop: Arc::default(),
            thread: None,
            kept: Arc::default(),
        }
    }
}

impl AudioDriver for TestDriver {
    fn backend(&self) -> &str {
        "test"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Ok(Vec::new())
    }

    fn open(&mut self, config: &StreamConfig) -> Result<StreamInfo> {
        Ok(StreamInfo {
            backend: "test".into(),
            device: "test".into(),
            frame_rate: 48_000,
            period: PERIOD,
            max_period: PERIOD,
            in_channels: config.in_channels,
            out_channels: config.out_channels,
            capture_latency: 0,
            playback_latency: 0,
        })
    }

    fn start(&mut self, lease: Lease) -> Result<()> {
        let mut runtime = Runtime::new(lease)?;
        self.stop.store(false, Ordering::Release);
        let (seen, stop, panic_at) = (
            Arc::clone(&self.seen),
            Arc::clone(&self.stop),
            self.panic_at,
        );
        self.thread = Some(std::thread::spawn(move || {
            let mut period = 0;
            while !stop.load(Ordering::Acquire) {
                let mut out = vec![0.0f32; PERIOD * runtime.out_channels()];
                let input = vec![0.0f32; PERIOD * runtime.in_channels()];
                let finished = runtime
                    .callback(|rt| {
                        assert!(Some(period) != panic_at, "a bug in the driver");
                        rt.process_interleaved(PERIOD, &input, &mut out);
                    })
                    .is_some();
                let mut seen = seen.lock().unwrap();
                seen.periods.push(out);
                seen.finished.push(finished);
                drop(seen);
                period += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            runtime
        }));
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let runtime = thread.join().unwrap();
            // Kept on purpose: a misbehaving driver.
            let notifier = runtime.notifier().clone();
            *self.kept.lock().unwrap() = Some((runtime, notifier));
        }
        Ok(())
    }
}

fn stream_with(driver: TestDriver) -> Stream {
    let request = StreamConfig {
        in_channels: 1,
        out_channels: 1,
        ..StreamConfig::default()
    };
    let mut stream = Stream::open(Box::new(driver), &request, &Config::default()).unwrap();
    let clip = Clip::from_interleaved(48_000, 1, vec![0.5; 1 << 20]).unwrap();
    let playspec = Playspec::new(vec![Entry::new(clip, vec![1.0])]).unwrap();
    stream
        .interface_mut()
        .schedule(&playspec, 0, 0, Some(0))
        .unwrap();
    stream.interface_mut().roll(Some(0)).unwrap();
    stream
}

fn wait_for_periods(seen: &Mutex<Seen>, n: usize) {
    for _ in 0..5000 {
        if seen.lock().unwrap().periods.len() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the driver ran fewer than {n} periods");
}

#[test]
fn a_panic_in_the_driver_callback_gives_silence_and_one_fatal_event() {
    let driver = TestDriver::new(Some(3));
    let seen = Arc::clone(&driver.seen);
    let mut stream = stream_with(driver);
    stream.start().unwrap();
    wait_for_periods(&seen, 8);
    stream.pause().unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.finished[..4], [true, true, true, false]);
    for (k, period) in seen.periods.iter().enumerate() {
        let expected = if k < 3 { 0.5 } else { 0.0 };
        assert!(
            period.iter().all(|&x| x == expected),
            "period {k}: {:?}",
            &period[..4]
        );
    }
    let fatal: Vec<_> = stream
        .interface_mut()
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Fatal(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(fatal.len(), 1, "{fatal:?}");
    assert_eq!(fatal[0].kind, FaultKind::ThreadFailed);
}

#[test]
fn a_notifier_and_a_lease_kept_after_stop_are_harmless() {
    let driver = TestDriver::new(None);
    let (seen, kept) = (Arc::clone(&driver.seen), Arc::clone(&driver.kept));
    let mut stream = stream_with(driver);
    stream.start().unwrap();
    wait_for_periods(&seen, 3);
    stream.pause().unwrap();
    let frame = stream.interface().position().stream_frame;
    let (mut runtime, notifier) = kept.lock().unwrap().take().unwrap();

    // The lease was revoked at stop: silence, and the engine is untouched.
    let mut out = vec![1.0f32; PERIOD];
    runtime.process_interleaved(PERIOD, &[0.0; PERIOD], &mut out);
    assert!(out.iter().all(|&x| x == 0.0));
    assert_eq!(stream.interface().position().stream_frame, frame);

    // A restart lends a new generation; the old lease stays revoked.
    stream.start().unwrap();
    let so_far = seen.lock().unwrap().periods.len();
    wait_for_periods(&seen, so_far + 2);
    runtime.process_interleaved(PERIOD, &[0.0; PERIOD], &mut out);
    assert!(out.iter().all(|&x| x == 0.0));
    stream.close().unwrap();

    // Reports after stop reach state nobody reads, and nothing is freed
    // under them, even once the stream is gone.
    drop(stream);
    notifier.xrun();
    notifier.set_latency(1, 2);
    notifier.fatal(FaultKind::DeviceGone, "after the stream");
    assert!(notifier.has_failed());
    let mut out = vec![1.0f32; PERIOD];
    runtime.process_interleaved(PERIOD, &[0.0; PERIOD], &mut out);
    assert!(out.iter().all(|&x| x == 0.0));
    drop(runtime);
    drop(notifier);
}

#[test]
fn a_lease_runs_only_its_own_generation() {
    // The stepped null driver's lease, taken by hand through a stream.
    let null = amio_core::NullDriver::new(amio_core::NullConfig::default());
    let control = null.control();
    let request = StreamConfig {
        in_channels: 0,
        out_channels: 1,
        period: Some(PERIOD),
        ..StreamConfig::default()
    };
    let mut stream = Stream::open(Box::new(null), &request, &Config::default()).unwrap();
    stream.start().unwrap();
    let mut out = vec![0.0f32; PERIOD];
    control.step(PERIOD, &[], &mut out).unwrap();
    assert_eq!(stream.interface().position().stream_frame, PERIOD as u64);
    stream.pause().unwrap();
    assert!(control.step(PERIOD, &[], &mut out).is_err());
    stream.start().unwrap();
    control.step(PERIOD, &[], &mut out).unwrap();
    assert_eq!(
        stream.interface().position().stream_frame,
        2 * PERIOD as u64
    );
    let _ = (LEASE_OK, LEASE_REVOKED);
}
