//! What runs in cpal's callbacks, and the typed streams that run it.
//!
//! The engine's side of every callback is amio-core's driver
//! [`Runtime`]: the period adapter ([`Runtime::process`]), the real-time
//! guard and the panic policy ([`Runtime::callback`]). What is cpal's own
//! is here:
//!
//! - [`Output`]: the output callback of an output or duplex stream; the
//!   engine runs here, its input drained from the bridge (duplex), and L is
//!   measured from cpal's timestamps.
//! - [`Capture`]: the input callback of a capture-only stream; the engine
//!   runs here.
//! - [`BridgeInput`]: the input callback of a duplex pair; it only feeds
//!   the bridge. It runs on a thread of its own, without the runtime, so it
//!   keeps the panic policy itself: a panic marks the bridge failed and is
//!   reported once as `Fatal(ThreadFailed)`, and the output side falls
//!   silent.
//!
//! Device samples are converted by amio-core's one rule
//! ([`amio_core::driver::sample`]), straight between the device's buffer
//! and the engine's; cpal's own conversions are not used.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use amio_core::driver::{sample, DeviceSample, Runtime};
use amio_core::{rt_guard, FaultKind, Notice, Notifier};
use cpal::traits::DeviceTrait;
use cpal::{ErrorKind, SizedSample};

use crate::bridge::{BridgeReader, BridgeWriter};
use crate::driver::Shared;
use crate::error::CpalError;
use crate::timing::{RoundTrip, StreamClock};

/// The sample formats amio converts cpal's streams from and to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    F32,
    I32,
    I16,
}

impl Format {
    /// In order of preference: the first a device offers is used.
    pub(crate) const PREFERENCE: [Format; 3] = [Format::F32, Format::I32, Format::I16];

    /// cpal's name for it.
    pub(crate) fn cpal(self) -> cpal::SampleFormat {
        match self {
            Format::F32 => cpal::SampleFormat::F32,
            Format::I32 => cpal::SampleFormat::I32,
            Format::I16 => cpal::SampleFormat::I16,
        }
    }
}

/// One direction of a stream, as chosen at open.
pub(crate) struct Side {
    pub(crate) device: cpal::Device,
    pub(crate) config: cpal::StreamConfig,
    pub(crate) format: Format,
}

/// An output stream's data callback, for any device sample type.
pub(crate) trait OutputCallback: Send + 'static {
    /// Fills `data` (interleaved device samples). Real-time thread.
    fn fill<T: DeviceSample>(&mut self, data: &mut [T], info: &cpal::OutputCallbackInfo);
}

/// An input stream's data callback, for any device sample type.
pub(crate) trait InputCallback: Send + 'static {
    /// Takes `data` (interleaved device samples). Real-time thread.
    fn take<T: DeviceSample>(&mut self, data: &[T], info: &cpal::InputCallbackInfo);
}

/// Builds `side`'s output stream in its sample format, `callback` filling
/// it.
pub(crate) fn build_output(
    side: &Side,
    callback: impl OutputCallback,
    errors: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, CpalError> {
    fn typed<T: DeviceSample + SizedSample>(
        side: &Side,
        mut callback: impl OutputCallback,
        errors: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error> {
        side.device.build_output_stream::<T, _, _>(
            side.config,
            move |data: &mut [T], info: &cpal::OutputCallbackInfo| callback.fill(data, info),
            errors,
            None,
        )
    }
    match side.format {
        Format::F32 => typed::<f32>(side, callback, errors),
        Format::I32 => typed::<i32>(side, callback, errors),
        Format::I16 => typed::<i16>(side, callback, errors),
    }
    .map_err(|source| CpalError::Build {
        which: "output",
        source,
    })
}

/// Builds `side`'s input stream in its sample format, `callback` taking
/// what it captures.
pub(crate) fn build_input(
    side: &Side,
    callback: impl InputCallback,
    errors: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, CpalError> {
    fn typed<T: DeviceSample + SizedSample>(
        side: &Side,
        mut callback: impl InputCallback,
        errors: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error> {
        side.device.build_input_stream::<T, _, _>(
            side.config,
            move |data: &[T], info: &cpal::InputCallbackInfo| callback.take(data, info),
            errors,
            None,
        )
    }
    match side.format {
        Format::F32 => typed::<f32>(side, callback, errors),
        Format::I32 => typed::<i32>(side, callback, errors),
        Format::I16 => typed::<i16>(side, callback, errors),
    }
    .map_err(|source| CpalError::Build {
        which: "input",
        source,
    })
}

/// A static description of an error kind (the error callback must not
/// allocate to say it).
fn kind_text(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::DeviceNotAvailable => "the device is no longer available",
        ErrorKind::HostUnavailable => "the audio host (server) is no longer available",
        ErrorKind::StreamInvalidated => "the stream was invalidated",
        ErrorKind::Xrun => "an xrun",
        ErrorKind::BackendError => "the audio backend failed",
        _ => "the stream failed",
    }
}

/// cpal's stream errors, turned into amio reports: xruns, a notice when
/// real-time priority was refused, fatal events for the rest.
pub(crate) fn report_error(notifier: &Notifier, e: &cpal::Error) {
    let message = e.message().unwrap_or(kind_text(e.kind()));
    match e.kind() {
        ErrorKind::Xrun => notifier.xrun(),
        ErrorKind::RealtimeDenied => notifier.notice(Notice::NoRealtimePriority),
        ErrorKind::DeviceChanged => {}
        ErrorKind::DeviceNotAvailable => notifier.fatal(FaultKind::DeviceGone, message),
        ErrorKind::HostUnavailable => notifier.fatal(FaultKind::ServerGone, message),
        _ => notifier.fatal(FaultKind::StreamFailed, message),
    }
}

/// An error callback reporting to `notifier`.
pub(crate) fn errors_to(notifier: &Notifier) -> impl FnMut(cpal::Error) + Send + 'static {
    let notifier = notifier.clone();
    move |e| report_error(&notifier, &e)
}

/// The callbacks, counted from each (re)start or bridge disturbance, at
/// which L is measured: soon, then again from many more periods' estimates
/// (crate::timing). A changed L is a Latency event.
pub(crate) const MEASURE_AT: [u32; 2] = [16, 256];

/// Callbacks after a (re)start whose timestamps are left out of the round
/// trip's estimates, while the streams settle.
const SETTLE: u32 = 4;

/// Callbacks since the stream (re)started or the bridge was disturbed; L is
/// measured at each of [`MEASURE_AT`].
#[derive(Default)]
struct Callbacks(u32);

impl Callbacks {
    /// Counts a callback; whether L is to be measured in it.
    fn tick(&mut self) -> bool {
        self.0 = self.0.saturating_add(1);
        MEASURE_AT.contains(&self.0)
    }

    /// Counts from the start again.
    fn restart(&mut self) {
        self.0 = 0;
    }

    /// Whether the streams are still settling after a (re)start.
    fn settling(&self) -> bool {
        self.0 <= SETTLE
    }
}

/// Nanoseconds as frames at `frame_rate` (negative: 0).
fn nanos_to_frames(nanos: i128, frame_rate: u32) -> u64 {
    (nanos.max(0) as f64 * f64::from(frame_rate) / 1e9).round() as u64
}

/// The output callback of an output or duplex stream: input from the
/// bridge, the engine, output out.
pub(crate) struct Output {
    runtime: Runtime,
    side: OutputSide,
}

/// The output callback's own state, apart from the runtime.
struct OutputSide {
    /// Duplex: the input callback's frames.
    reader: Option<BridgeReader>,
    /// The output stream's clock against the shared one.
    clock: StreamClock,
    /// The round trip's estimates (duplex streams).
    round_trip: RoundTrip,
    callbacks: Callbacks,
    shared: Arc<Shared>,
    frame_rate: u32,
}

impl Output {
    /// The output callback over `runtime`; `reader` is the bridge's end for
    /// a duplex stream, `clock` the output stream's clock.
    pub(crate) fn new(
        runtime: Runtime,
        reader: Option<BridgeReader>,
        clock: StreamClock,
        shared: Arc<Shared>,
        frame_rate: u32,
    ) -> Output {
        Output {
            runtime,
            side: OutputSide {
                reader,
                clock,
                round_trip: RoundTrip::new(),
                callbacks: Callbacks::default(),
                shared,
                frame_rate,
            },
        }
    }
}

impl OutputCallback for Output {
    fn fill<T: DeviceSample>(&mut self, data: &mut [T], info: &cpal::OutputCallbackInfo) {
        let Output { runtime, side } = self;
        if runtime.callback(|rt| side.period(rt, data, info)) != Some(true) {
            // A panic, a failed engine or a failed input side: silence.
            data.fill(T::SILENCE);
        }
    }
}

impl OutputSide {
    /// One callback; whether it wrote `data`.
    fn period<T: DeviceSample>(
        &mut self,
        rt: &mut Runtime,
        data: &mut [T],
        info: &cpal::OutputCallbackInfo,
    ) -> bool {
        if rt.has_failed()
            || self
                .reader
                .as_ref()
                .is_some_and(BridgeReader::writer_failed)
        {
            return false;
        }
        self.clock
            .observe(info.timestamp().callback.as_nanos() as u64);
        let oc = rt.out_channels().max(1);
        let frames = data.len() / oc;
        let first_input = self.reader.as_ref().map(BridgeReader::next_frame);
        let mut short = 0;
        let reader = &mut self.reader;
        rt.process(
            frames,
            &mut (
                |_: usize, input: &mut [f32]| match reader {
                    Some(reader) => short += reader.pop(input),
                    None => input.fill(0.0),
                },
                |offset: usize, output: &[f32]| {
                    if let Some(dst) = data.get_mut(offset * oc..) {
                        sample::from_f32(output, dst);
                    }
                },
            ),
        );
        if let Some(rest) = data.get_mut(frames * oc..) {
            rest.fill(T::SILENCE);
        }
        let overflowed = self.reader.as_mut().is_some_and(BridgeReader::overflowed);
        if short > 0 {
            // The input side fell behind: the engine got silence.
            self.shared.underflows.fetch_add(1, Ordering::AcqRel);
        }
        if short > 0 || overflowed {
            // Input was missing or dropped: the bridge's delay changed.
            rt.notifier().xrun();
            self.callbacks.restart();
            self.round_trip.clear();
        }
        let due = self.callbacks.tick();
        self.estimate(info, first_input);
        if due {
            self.measure(rt, info);
        }
        true
    }

    /// Adds this period's estimate of the round trip: its playback instant
    /// minus the capture instant of the first input frame consumed with it
    /// (so the bridge's delay is counted), each in its stream's clock. The
    /// first periods after a (re)start are left out while the streams
    /// settle.
    fn estimate(&mut self, info: &cpal::OutputCallbackInfo, first_input: Option<u64>) {
        let (Some(index), Some(reader)) = (first_input, &self.reader) else {
            return;
        };
        if self.callbacks.settling() {
            return;
        }
        if let Some(captured) = reader.capture_nanos(index) {
            let playback = i128::from(info.timestamp().playback.as_nanos() as u64);
            if let Ok(nanos) = i64::try_from(playback - captured) {
                self.round_trip.add(nanos);
            }
        }
    }

    /// Sets L from cpal's timestamps: for duplex streams the round trip's
    /// median estimate on the shared clock, split into the output stream's
    /// own playback latency and the rest; for output only, the playback
    /// latency.
    fn measure(&mut self, rt: &Runtime, info: &cpal::OutputCallbackInfo) {
        let ts = info.timestamp();
        let rate = self.frame_rate.max(1);
        let playback = nanos_to_frames(
            ts.playback.as_nanos() as i128 - ts.callback.as_nanos() as i128,
            rate,
        );
        let capture = match &self.reader {
            Some(reader) => {
                let Some(total) = self.round_trip.frames(
                    reader.input_offset(),
                    self.clock.offset(),
                    self.frame_rate,
                ) else {
                    return;
                };
                total.saturating_sub(playback)
            }
            None => 0,
        };
        rt.notifier().set_latency(capture, playback);
        self.shared.measured.store(true, Ordering::Release);
    }
}

/// The input callback of a capture-only stream: the engine runs here.
pub(crate) struct Capture {
    runtime: Runtime,
    side: CaptureSide,
}

/// The capture callback's own state, apart from the runtime.
struct CaptureSide {
    callbacks: Callbacks,
    shared: Arc<Shared>,
    frame_rate: u32,
}

impl Capture {
    /// The capture-only callback over `runtime`.
    pub(crate) fn new(runtime: Runtime, shared: Arc<Shared>, frame_rate: u32) -> Capture {
        Capture {
            runtime,
            side: CaptureSide {
                callbacks: Callbacks::default(),
                shared,
                frame_rate,
            },
        }
    }
}

impl InputCallback for Capture {
    fn take<T: DeviceSample>(&mut self, data: &[T], info: &cpal::InputCallbackInfo) {
        let Capture { runtime, side } = self;
        runtime.callback(|rt| side.period(rt, data, info));
    }
}

impl CaptureSide {
    fn period<T: DeviceSample>(
        &mut self,
        rt: &mut Runtime,
        data: &[T],
        info: &cpal::InputCallbackInfo,
    ) {
        if rt.has_failed() {
            return;
        }
        let ic = rt.in_channels().max(1);
        let frames = data.len() / ic;
        rt.process(
            frames,
            &mut (
                |offset: usize, input: &mut [f32]| {
                    sample::to_f32(data.get(offset * ic..).unwrap_or(&[]), input);
                },
                |_: usize, _: &[f32]| {},
            ),
        );
        if self.callbacks.tick() {
            let ts = info.timestamp();
            let capture = nanos_to_frames(
                ts.callback.as_nanos() as i128 - ts.capture.as_nanos() as i128,
                self.frame_rate,
            );
            rt.notifier().set_latency(capture, 0);
            self.shared.measured.store(true, Ordering::Release);
        }
    }
}

/// The input callback of a duplex pair: captured frames into the bridge.
pub(crate) struct BridgeInput {
    writer: BridgeWriter,
    /// The input stream's clock against the shared one.
    clock: StreamClock,
    notifier: Notifier,
    /// Tests: panic in the next callback.
    #[cfg(test)]
    panic_next: bool,
}

impl BridgeInput {
    /// The input callback feeding `writer`.
    pub(crate) fn new(writer: BridgeWriter, clock: StreamClock, notifier: Notifier) -> BridgeInput {
        BridgeInput {
            writer,
            clock,
            notifier,
            #[cfg(test)]
            panic_next: false,
        }
    }
}

impl InputCallback for BridgeInput {
    fn take<T: DeviceSample>(&mut self, data: &[T], info: &cpal::InputCallbackInfo) {
        let _audio = rt_guard::enter();
        #[cfg(test)]
        let panic_next = std::mem::take(&mut self.panic_next);
        let BridgeInput {
            writer,
            clock,
            notifier,
            ..
        } = self;
        if writer.has_failed() {
            return;
        }
        let pushed = catch_unwind(AssertUnwindSafe(|| {
            #[cfg(test)]
            if panic_next {
                panic!("a test's panic in the input callback");
            }
            let ts = info.timestamp();
            clock.observe(ts.callback.as_nanos() as u64);
            writer.push(data, ts.capture.as_nanos() as u64, clock.offset());
        }));
        if let Err(payload) = pushed {
            // The runtime's panic policy, on this side of the bridge: the
            // output side falls silent, and the panic is reported once.
            writer.fail();
            notifier.fatal(FaultKind::ThreadFailed, "cpal's input callback panicked");
            drop(payload);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;

    use amio_core::driver::{StreamConfig, StreamInfo};
    use amio_core::{AudioDriver, Clip, Config, DeviceInfo, Entry, Event, Lease, Playspec, Stream};
    use cpal::{
        InputCallbackInfo, InputStreamTimestamp, OutputCallbackInfo, OutputStreamTimestamp,
        StreamInstant,
    };

    use super::*;
    use crate::bridge::bridge;

    /// A driver that hands its lease to the test, which plays cpal's part.
    struct Lent(Arc<Mutex<Option<Lease>>>, StreamInfo);

    impl AudioDriver for Lent {
        fn backend(&self) -> &str {
            "lent"
        }
        fn devices(&self) -> amio_core::Result<Vec<DeviceInfo>> {
            Ok(Vec::new())
        }
        fn open(&mut self, _: &StreamConfig) -> amio_core::Result<StreamInfo> {
            Ok(self.1.clone())
        }
        fn start(&mut self, lease: Lease) -> amio_core::Result<()> {
            *self.0.lock().unwrap() = Some(lease);
            Ok(())
        }
        fn stop(&mut self) -> amio_core::Result<()> {
            self.0.lock().unwrap().take();
            Ok(())
        }
    }

    /// A started stream of one output channel playing `clip` from frame 0,
    /// with `in_channels` inputs and engine periods of `max_period`; and
    /// the runtime on its lease.
    fn lent_stream(clip: &[f32], in_channels: usize, max_period: usize) -> (Stream, Runtime) {
        let slot = Arc::default();
        let info = StreamInfo {
            backend: "lent".into(),
            device: "lent".into(),
            frame_rate: 48_000,
            period: max_period,
            max_period,
            in_channels,
            out_channels: 1,
            capture_latency: 0,
            playback_latency: 0,
        };
        let driver = Lent(Arc::clone(&slot), info);
        let mut stream = Stream::open(
            Box::new(driver),
            &StreamConfig::default(),
            &Config::default(),
        )
        .unwrap();
        let clip = Clip::from_interleaved(48_000, 1, clip.to_vec()).unwrap();
        let playspec = Playspec::new(vec![Entry::new(clip, vec![1.0]).play_at(0)]).unwrap();
        stream
            .interface_mut()
            .schedule(&playspec, 0, 0, Some(0))
            .unwrap();
        stream.interface_mut().roll(Some(0)).unwrap();
        stream.start().unwrap();
        let lease = slot.lock().unwrap().take().unwrap();
        (stream, Runtime::new(lease).unwrap())
    }

    fn output_info() -> OutputCallbackInfo {
        OutputCallbackInfo::new(OutputStreamTimestamp {
            callback: StreamInstant::from_nanos(1_000_000),
            playback: StreamInstant::from_nanos(2_000_000),
        })
    }

    fn input_info() -> InputCallbackInfo {
        InputCallbackInfo::new(InputStreamTimestamp {
            callback: StreamInstant::from_nanos(1_000_000),
            capture: StreamInstant::from_nanos(500_000),
        })
    }

    /// Samples on both sides of 16-bit rounding edges.
    const EDGES: [f32; 9] = [
        0.5 / 32_768.0,
        -0.5 / 32_768.0,
        1.5 / 32_768.0,
        1.0,
        -1.0,
        0.3,
        -0.3,
        0.0,
        0.25,
    ];

    #[test]
    fn s16_output_is_quantised_by_the_one_rule_across_engine_periods() {
        let (mut stream, runtime) = lent_stream(&EDGES, 0, 4);
        let mut output = Output::new(
            runtime,
            None,
            StreamClock::new(None),
            Arc::default(),
            48_000,
        );
        // One device period of 9 frames: three engine periods.
        let mut data = [7i16; 9];
        output.fill(&mut data, &output_info());
        assert_eq!(data, [1, -1, 2, 32_767, -32_768, 9_830, -9_830, 0, 8_192]);
        let rule: Vec<i16> = EDGES.iter().map(|&x| i16::from_f32(x)).collect();
        assert_eq!(
            data.to_vec(),
            rule,
            "amio-core's rule, as ALSA's driver uses"
        );
        drop(output);
        stream.close().unwrap();
    }

    #[test]
    fn f32_and_i32_output_and_i16_capture_convert_by_the_one_rule() {
        let (mut stream, runtime) = lent_stream(&EDGES, 0, 16);
        let mut output = Output::new(
            runtime,
            None,
            StreamClock::new(None),
            Arc::default(),
            48_000,
        );
        let mut data = [7i32; 4];
        output.fill(&mut data, &output_info());
        let rule: Vec<i32> = EDGES[..4].iter().map(|&x| i32::from_f32(x)).collect();
        assert_eq!(data.to_vec(), rule);
        let mut data = [7.0f32; 5];
        output.fill(&mut data, &output_info());
        assert_eq!(data, EDGES[4..]);
        drop(output);
        stream.close().unwrap();

        let (mut stream, runtime) = lent_stream(&[0.0], 1, 2);
        let shared = Arc::new(Shared::default());
        let mut capture = Capture::new(runtime, Arc::clone(&shared), 48_000);
        capture.take(&[i16::MIN, -1, 16_384, i16::MAX, 3], &input_info());
        stream.close().unwrap();
        let samples: Vec<f32> = std::iter::from_fn(|| stream.interface_mut().read_input())
            .flat_map(|chunk| chunk.samples)
            .collect();
        assert_eq!(
            samples,
            [
                -1.0,
                -1.0 / 32_768.0,
                0.5,
                32_767.0 / 32_768.0,
                3.0 / 32_768.0
            ]
        );
        drop(capture);
    }

    #[test]
    fn duplex_input_reaches_the_engine_through_the_bridge() {
        let (mut stream, runtime) = lent_stream(&[0.0], 1, 4);
        let (writer, reader) = bridge(1, 64, 2, 48_000);
        let notifier = runtime.notifier().clone();
        let mut input = BridgeInput::new(writer, StreamClock::new(None), notifier);
        let shared = Arc::new(Shared::default());
        let mut output = Output::new(
            runtime,
            Some(reader),
            StreamClock::new(None),
            Arc::clone(&shared),
            48_000,
        );
        input.take(&[16_384i16, -16_384, 8_192, 0], &input_info());
        let mut data = [0.0f32; 6];
        output.fill(&mut data, &output_info());
        assert_eq!(shared.underflows.load(Ordering::Acquire), 0);
        // Six more frames wanted than the four pushed behind two primed:
        // an underflow, reported as an xrun.
        output.fill(&mut data, &output_info());
        assert_eq!(shared.underflows.load(Ordering::Acquire), 1);
        // The engine reports the xrun in its next period.
        output.fill(&mut data, &output_info());
        drop((input, output));
        stream.close().unwrap();
        let samples: Vec<f32> = std::iter::from_fn(|| stream.interface_mut().read_input())
            .flat_map(|chunk| chunk.samples)
            .collect();
        assert_eq!(samples[..6], [0.0, 0.0, 0.5, -0.5, 0.25, 0.0]);
        assert!(stream
            .interface_mut()
            .events()
            .iter()
            .any(|e| matches!(e, Event::Xrun { .. })));
    }

    #[test]
    fn a_panic_in_the_input_callback_silences_the_output_and_is_reported_once() {
        let (mut stream, runtime) = lent_stream(&[0.5; 64], 1, 4);
        let (writer, reader) = bridge(1, 64, 8, 48_000);
        let notifier = runtime.notifier().clone();
        let mut input = BridgeInput::new(writer, StreamClock::new(None), notifier);
        let mut output = Output::new(
            runtime,
            Some(reader),
            StreamClock::new(None),
            Arc::default(),
            48_000,
        );
        let mut data = [0.0f32; 4];
        output.fill(&mut data, &output_info());
        assert_eq!(data, [0.5; 4], "playing before the panic");
        input.panic_next = true;
        input.take(&[0.0f32; 4], &input_info());
        input.take(&[0.0f32; 4], &input_info());
        let mut data = [9.0f32; 4];
        output.fill(&mut data, &output_info());
        assert_eq!(data, [0.0; 4], "silence after it");
        drop((input, output));
        let faults: Vec<_> = stream
            .interface_mut()
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Fatal(fault) => Some(fault),
                _ => None,
            })
            .collect();
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert_eq!(faults[0].kind, FaultKind::ThreadFailed);
        stream.close().unwrap();
    }
}
