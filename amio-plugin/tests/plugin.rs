//! The plugin boundary: a table with an empty slot is refused at load,
//! naming the slot; a driver behind the C table runs on the stream's own
//! lease, and a panic on its audio path gives silence and one
//! `Fatal(ThreadFailed)`, as in process; its notifier is harmless after
//! stop.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use amio_core::{
    AudioDriver, Clip, Config, DeviceInfo, Entry, Error, Event, FaultKind, Lease, Notifier,
    Playspec, Result, Runtime, Stream, StreamConfig, StreamInfo,
};

const PERIOD: usize = 32;

/// What the linked plugin's driver thread saw, and its notifier once
/// stopped (kept on purpose, past stop).
#[derive(Default)]
struct Seen {
    periods: Vec<Vec<f32>>,
    kept: Option<Notifier>,
}

static SEEN: Mutex<Option<Seen>> = Mutex::new(None);

/// A driver that runs periods on its own thread and panics in its
/// callback at period 4.
struct Panicky {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Runtime>>,
}

impl AudioDriver for Panicky {
    fn backend(&self) -> &str {
        "panicky"
    }
    fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Ok(Vec::new())
    }
    fn open(&mut self, config: &StreamConfig) -> Result<StreamInfo> {
        Ok(StreamInfo {
            backend: "panicky".into(),
            device: "test".into(),
            frame_rate: 48_000,
            period: PERIOD,
            max_period: PERIOD,
            in_channels: 0,
            out_channels: config.out_channels,
            capture_latency: 0,
            playback_latency: 0,
        })
    }
    fn start(&mut self, lease: Lease) -> Result<()> {
        let mut runtime = Runtime::new(lease)?;
        self.stop.store(false, Ordering::Release);
        let stop = Arc::clone(&self.stop);
        self.thread = Some(std::thread::spawn(move || {
            let mut period = 0;
            while !stop.load(Ordering::Acquire) {
                let mut out = vec![0.0f32; PERIOD * runtime.out_channels()];
                runtime.callback(|rt| {
                    assert!(period != 4, "a bug in the plugin's driver");
                    rt.process_interleaved(PERIOD, &[], &mut out);
                });
                if let Some(seen) = SEEN.lock().unwrap().as_mut() {
                    seen.periods.push(out);
                }
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
            if let Some(seen) = SEEN.lock().unwrap().as_mut() {
                seen.kept = Some(runtime.notifier().clone());
            }
        }
        Ok(())
    }
}

fn make_panicky(options: &str) -> Result<Box<dyn AudioDriver>> {
    assert_eq!(options, "");
    Ok(Box::new(Panicky {
        stop: Arc::default(),
        thread: None,
    }))
}

amio_plugin::export_plugin!(amio_plugin_panicky, c"panicky", make_panicky);

#[test]
fn a_panic_behind_the_c_table_gives_silence_and_one_fatal_event() {
    *SEEN.lock().unwrap() = Some(Seen::default());
    // SAFETY: the entry point only returns its static table.
    let table = unsafe { &*amio_plugin_panicky() };
    let plugin = amio_plugin::Plugin::linked(table, "panicky").unwrap();
    assert_eq!(plugin.declared_backend(), "panicky");
    let driver = plugin.driver("").unwrap();
    let request = StreamConfig {
        in_channels: 0,
        out_channels: 2,
        ..StreamConfig::default()
    };
    let mut stream = Stream::open(Box::new(driver), &request, &Config::default()).unwrap();
    let clip = Clip::from_interleaved(48_000, 1, vec![0.25; 1 << 16]).unwrap();
    let playspec = Playspec::new(vec![Entry::new(clip, vec![1.0, 1.0])]).unwrap();
    stream
        .interface_mut()
        .schedule(&playspec, 0, 0, Some(0))
        .unwrap();
    stream.interface_mut().roll(Some(0)).unwrap();
    stream.start().unwrap();
    for _ in 0..5000 {
        if SEEN.lock().unwrap().as_ref().unwrap().periods.len() >= 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    stream.pause().unwrap();
    let seen = SEEN.lock().unwrap().take().unwrap();
    assert!(seen.periods.len() >= 10);
    for (k, period) in seen.periods.iter().enumerate() {
        let expected = if k < 4 { 0.25 } else { 0.0 };
        assert!(period.iter().all(|&x| x == expected), "period {k}");
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
    // The plugin's notifier, kept past stop and past the stream, is
    // harmless.
    drop(stream);
    let kept = seen.kept.unwrap();
    kept.xrun();
    kept.fatal(FaultKind::DeviceGone, "after the stream");
    assert!(kept.has_failed());
}

/// A C plugin whose table has the right version and size but an empty
/// `open` slot.
const EMPTY_SLOT_PLUGIN: &str = r#"
#include <stddef.h>
#include <stdint.h>
static int32_t nothing(void) { return -1; }
struct table {
    uint32_t abi_version;
    uint32_t size;
    const char *backend;
    void *create, *destroy, *devices, *open, *start, *stop;
};
static const struct table TABLE = {
    2, sizeof(struct table), "holey",
    (void *)nothing, (void *)nothing, (void *)nothing, NULL,
    (void *)nothing, (void *)nothing,
};
const struct table *amio_plugin_holey(void) { return &TABLE; }
"#;

#[test]
fn a_table_with_an_empty_slot_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("holey.c");
    std::fs::write(&source, EMPTY_SLOT_PLUGIN).unwrap();
    let library = dir.path().join("libamio_holey.so");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .expect("a C compiler (cc) builds the test plugin");
    assert!(status.success());
    let error = amio_plugin::load_path(&library, "holey").unwrap_err();
    assert!(
        matches!(&error, Error::Plugin { problem, abi_mismatch: false, .. }
            if problem == "its table has no open function (the slot is empty)"),
        "{error}"
    );
    assert_eq!(
        std::mem::size_of::<amio_plugin::abi::PluginOps>(),
        64,
        "the C table above mirrors the ABI"
    );
}
