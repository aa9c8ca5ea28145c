//! The cpal driver.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amio_core::{
    rt_guard, AudioDriver, DeviceInfo, Engine, FaultKind, Notice, Notifier, StreamConfig,
    StreamInfo,
};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, FromSample, SampleFormat, SizedSample};

use crate::bridge::{bridge, BridgeReader, BridgeWriter};
use crate::error::CpalError;
use crate::timing::{RoundTrip, StreamClock};

/// The deepest input-to-output bridge, in frames (21 s at 48 kHz): the
/// bridge holds that many frames of every input channel.
pub const MAX_BRIDGE_DEPTH: usize = 1 << 20;

/// The cpal driver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpalConfig {
    /// The cpal host by name (`alsa`, `jack`, …); `None` for cpal's default.
    pub host: Option<String>,
    /// The output device by id or name; `None` for the host's default. A
    /// [`StreamConfig::device`] replaces both devices.
    pub output_device: Option<String>,
    /// The input device by id or name; `None` for the host's default.
    pub input_device: Option<String>,
    /// Frames per callback to ask for; `None` for the host's default.
    pub buffer_size: Option<u32>,
    /// The most frames the engine processes at once; longer callbacks are
    /// worked in pieces. Default 4096.
    pub max_period: usize,
    /// Frames of silence the bridge from input to output starts with: how
    /// far the output side reads behind the input. `None`: two callbacks'
    /// worth (or 1024).
    pub bridge_depth: Option<usize>,
}

impl Default for CpalConfig {
    fn default() -> CpalConfig {
        CpalConfig {
            host: None,
            output_device: None,
            input_device: None,
            buffer_size: None,
            max_period: 4096,
            bridge_depth: None,
        }
    }
}

/// Counters shared with [`CpalHandle`].
#[derive(Default)]
struct Shared {
    underflows: AtomicU64,
    measured: AtomicBool,
}

/// A handle on a cpal driver, usable after it is boxed into a stream.
#[derive(Clone, Default)]
pub struct CpalHandle(Arc<Shared>);

impl CpalHandle {
    /// Times the output side found the bridge short of input (each reported
    /// as an xrun).
    pub fn bridge_underflows(&self) -> u64 {
        self.0.underflows.load(Ordering::Acquire)
    }

    /// Whether the round-trip latency has been measured from cpal's
    /// timestamps yet.
    pub fn latency_measured(&self) -> bool {
        self.0.measured.load(Ordering::Acquire)
    }
}

/// What was chosen at open.
struct Opened {
    output: Option<(cpal::Device, cpal::StreamConfig, SampleFormat)>,
    input: Option<(cpal::Device, cpal::StreamConfig, SampleFormat)>,
    info: StreamInfo,
}

/// A running pair of streams.
struct Running {
    streams: Vec<cpal::Stream>,
    stop: Arc<AtomicBool>,
    handback: rtrb::Consumer<Engine>,
    notifier: Notifier,
}

/// The cpal backend.
pub struct CpalDriver {
    config: CpalConfig,
    host: Option<cpal::Host>,
    opened: Option<Opened>,
    running: Option<Running>,
    handle: CpalHandle,
}

fn host_for(config: &CpalConfig) -> Result<cpal::Host, CpalError> {
    // cpal's JACK host makes its devices when the host is made: clients
    // cpal_client_<pid>_in and _out, connected to the physical ports, never
    // starting a server.
    match config.host.as_deref() {
        None => Ok(cpal::default_host()),
        Some(name) => {
            let id = cpal::available_hosts()
                .into_iter()
                .find(|h| h.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| CpalError::NoHost {
                    host: name.into(),
                    available: cpal::available_hosts()
                        .iter()
                        .map(|h| h.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            cpal::host_from_id(id).map_err(|source| CpalError::Host {
                host: name.into(),
                source,
            })
        }
    }
}

fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    output: bool,
) -> Result<cpal::Device, CpalError> {
    let which = if output { "output" } else { "input" };
    let Some(name) = name else {
        let d = if output {
            host.default_output_device()
        } else {
            host.default_input_device()
        };
        return d.ok_or(CpalError::NoDefault { which });
    };
    let devices = host
        .devices()
        .map_err(|source| CpalError::Devices { source })?;
    devices
        .filter(|d| {
            if output {
                d.supports_output()
            } else {
                d.supports_input()
            }
        })
        .find(|d| {
            d.id().is_ok_and(|id| id.id() == name)
                || d.description().is_ok_and(|desc| desc.name() == name)
        })
        .ok_or_else(|| CpalError::NoDevice {
            which,
            name: name.into(),
        })
}

/// The sample formats amio converts, in order of preference.
const FORMATS: [SampleFormat; 3] = [SampleFormat::F32, SampleFormat::I32, SampleFormat::I16];

fn choose_config(
    device: &cpal::Device,
    output: bool,
    channels: usize,
    rate: Option<u32>,
    buffer: Option<u32>,
) -> Result<(cpal::StreamConfig, SampleFormat), CpalError> {
    let default = if output {
        device.default_output_config()
    } else {
        device.default_input_config()
    }
    .map_err(|source| CpalError::Config { source })?;
    let rate = rate.unwrap_or(default.sample_rate());
    let ranges: Vec<cpal::SupportedStreamConfigRange> = if output {
        device
            .supported_output_configs()
            .map_err(|source| CpalError::Config { source })?
            .collect()
    } else {
        device
            .supported_input_configs()
            .map_err(|source| CpalError::Config { source })?
            .collect()
    };
    let format = FORMATS
        .into_iter()
        .find(|f| {
            ranges.iter().any(|r| {
                r.sample_format() == *f
                    && usize::from(r.channels()) == channels
                    && r.contains_rate(rate)
            })
        })
        .ok_or(CpalError::NoMatchingConfig { channels, rate })?;
    Ok((
        cpal::StreamConfig {
            channels: channels as u16,
            sample_rate: rate,
            buffer_size: buffer.map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
        },
        format,
    ))
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

/// cpal's stream errors, turned into amio reports.
fn report_error(notifier: &Notifier, e: &cpal::Error) {
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

impl CpalDriver {
    /// A cpal driver with the given settings.
    pub fn new(config: CpalConfig) -> CpalDriver {
        CpalDriver {
            config,
            host: None,
            opened: None,
            running: None,
            handle: CpalHandle::default(),
        }
    }

    /// A handle for diagnostics: bridge underflows, whether L is measured.
    pub fn handle(&self) -> CpalHandle {
        self.handle.clone()
    }

    fn host(&mut self) -> Result<&cpal::Host, CpalError> {
        if self.host.is_none() {
            self.host = Some(host_for(&self.config)?);
        }
        self.host.as_ref().ok_or(CpalError::NotOpen)
    }

    /// Frames the input-to-output bridge holds (`bridge_depth`, or twice
    /// the buffer size).
    fn bridge_depth(&self, buffer: Option<u32>) -> usize {
        self.config
            .bridge_depth
            .unwrap_or_else(|| buffer.map_or(1024, |b| 2 * b as usize))
            .max(1)
    }

    fn start_streams(&mut self, engine: Engine) -> Result<(), CpalError> {
        let opened = self.opened.as_ref().ok_or(CpalError::NotOpen)?;
        let notifier = engine.notifier();
        let stop = Arc::new(AtomicBool::new(false));
        let (handback_tx, handback) = rtrb::RingBuffer::new(1);
        let rate = opened.info.frame_rate;
        let (ic, oc) = (opened.info.in_channels, opened.info.out_channels);
        let mut streams = Vec::new();
        let shared = Arc::clone(&self.handle.0);
        shared.measured.store(false, Ordering::Release);
        // Duplex: the input callback feeds a bridge the output side
        // drains, and the streams' instants are put on one clock (see
        // crate::timing); cpal's JACK host stamps both from JACK's clock.
        let mut reader = None;
        let mut origin = None;
        if let (Some(input), Some(_)) = (&opened.input, &opened.output) {
            let depth = self.bridge_depth(self.config.buffer_size);
            let (writer, bridge_reader) = bridge(ic, depth * 8, depth, rate);
            let shares_a_clock = self
                .host
                .as_ref()
                .is_some_and(|h| matches!(h.id(), cpal::HostId::Jack));
            origin = (!shares_a_clock).then(Instant::now);
            let err_notifier = notifier.clone();
            streams.push(build_input(
                input,
                writer,
                StreamClock::new(origin),
                move |e| report_error(&err_notifier, &e),
            )?);
            reader = Some(bridge_reader);
        }
        let mut runner = Runner {
            engine: Some(engine),
            stop: Arc::clone(&stop),
            handback: handback_tx,
            reader,
            clock: StreamClock::new(origin),
            notifier: notifier.clone(),
            shared,
            frame_rate: rate,
            callbacks: 0,
            round_trip: RoundTrip::new(),
        };
        let err_notifier = notifier.clone();
        let errors = move |e| report_error(&err_notifier, &e);
        match (&opened.input, &opened.output) {
            (_, Some(output)) => streams.push(build_output(
                output,
                oc,
                move |data: &mut [f32], info| runner.output(data, info),
                errors,
            )?),
            // Capture only: the engine runs in the input callback.
            (Some(input), None) => streams.push(build_capture_only(
                input,
                move |data: &[f32], info| runner.input_only(data, info),
                errors,
            )?),
            // Nothing to run: the engine waits for stop().
            (None, None) => {
                if let Some(engine) = runner.engine.take() {
                    let _ = runner.handback.push(engine);
                }
            }
        }
        for s in &streams {
            s.play().map_err(|source| CpalError::Play { source })?;
        }
        self.running = Some(Running {
            streams,
            stop,
            handback,
            notifier,
        });
        Ok(())
    }
}

/// Converts the engine's f32 to the device's samples and back, for the
/// formats amio uses.
fn build_output<F, E>(
    output: &(cpal::Device, cpal::StreamConfig, SampleFormat),
    channels: usize,
    mut fill: F,
    errors: E,
) -> Result<cpal::Stream, CpalError>
where
    F: FnMut(&mut [f32], &cpal::OutputCallbackInfo) + Send + 'static,
    E: FnMut(cpal::Error) + Send + 'static,
{
    let (device, config, format) = output;
    // A scratch buffer for non-f32 devices, sized generously once.
    let mut scratch = vec![0.0f32; 16_384 * channels.max(1)];
    fn typed<T: SizedSample + FromSample<f32>>(
        device: &cpal::Device,
        config: &cpal::StreamConfig,
        mut fill: impl FnMut(&mut [f32], &cpal::OutputCallbackInfo) + Send + 'static,
        mut scratch: Vec<f32>,
        errors: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error> {
        device.build_output_stream::<T, _, _>(
            *config,
            move |data: &mut [T], info| {
                for chunk in data.chunks_mut(scratch.len().max(1)) {
                    let buf = &mut scratch[..chunk.len()];
                    fill(buf, info);
                    for (d, &s) in chunk.iter_mut().zip(buf.iter()) {
                        *d = T::from_sample(s);
                    }
                }
            },
            errors,
            None,
        )
    }
    let result = match format {
        SampleFormat::F32 => device.build_output_stream::<f32, _, _>(
            *config,
            move |data: &mut [f32], info| fill(data, info),
            errors,
            None,
        ),
        SampleFormat::I32 => {
            typed::<i32>(device, config, fill, std::mem::take(&mut scratch), errors)
        }
        _ => typed::<i16>(device, config, fill, std::mem::take(&mut scratch), errors),
    };
    result.map_err(|source| CpalError::Build {
        which: "output",
        source,
    })
}

/// The input stream of a duplex pair: captured frames into the bridge.
fn build_input(
    input: &(cpal::Device, cpal::StreamConfig, SampleFormat),
    mut writer: BridgeWriter,
    mut clock: StreamClock,
    errors: impl FnMut(cpal::Error) + Send + 'static,
) -> Result<cpal::Stream, CpalError> {
    build_capture_only(
        input,
        move |data: &[f32], info: &cpal::InputCallbackInfo| {
            let _audio = rt_guard::enter();
            let ts = info.timestamp();
            clock.observe(ts.callback.as_nanos() as u64);
            writer.push(data, ts.capture.as_nanos() as u64, clock.offset());
        },
        errors,
    )
}

fn build_capture_only<F, E>(
    input: &(cpal::Device, cpal::StreamConfig, SampleFormat),
    mut take: F,
    errors: E,
) -> Result<cpal::Stream, CpalError>
where
    F: FnMut(&[f32], &cpal::InputCallbackInfo) + Send + 'static,
    E: FnMut(cpal::Error) + Send + 'static,
{
    let (device, config, format) = input;
    let channels = usize::from(config.channels).max(1);
    let mut scratch = vec![0.0f32; 16_384 * channels];
    fn typed<T: SizedSample>(
        device: &cpal::Device,
        config: &cpal::StreamConfig,
        mut take: impl FnMut(&[f32], &cpal::InputCallbackInfo) + Send + 'static,
        mut scratch: Vec<f32>,
        errors: impl FnMut(cpal::Error) + Send + 'static,
    ) -> Result<cpal::Stream, cpal::Error>
    where
        f32: FromSample<T>,
    {
        device.build_input_stream::<T, _, _>(
            *config,
            move |data: &[T], info| {
                for chunk in data.chunks(scratch.len().max(1)) {
                    let buf = &mut scratch[..chunk.len()];
                    for (d, &s) in buf.iter_mut().zip(chunk) {
                        *d = s.to_sample::<f32>();
                    }
                    take(buf, info);
                }
            },
            errors,
            None,
        )
    }
    let result = match format {
        SampleFormat::F32 => device.build_input_stream::<f32, _, _>(
            *config,
            move |data: &[f32], info| take(data, info),
            errors,
            None,
        ),
        SampleFormat::I32 => {
            typed::<i32>(device, config, take, std::mem::take(&mut scratch), errors)
        }
        _ => typed::<i16>(device, config, take, std::mem::take(&mut scratch), errors),
    };
    result.map_err(|source| CpalError::Build {
        which: "input",
        source,
    })
}

/// The callbacks, counted from each (re)start or bridge disturbance, at
/// which L is measured: soon, then again from many more periods' estimates
/// (crate::timing). A changed L is a Latency event.
const MEASURE_AT: [u32; 2] = [16, 256];

/// Callbacks after a (re)start whose timestamps are left out of the round
/// trip's estimates, while the streams settle.
const SETTLE: u32 = 4;

/// What runs in the callbacks.
struct Runner {
    engine: Option<Engine>,
    stop: Arc<AtomicBool>,
    handback: rtrb::Producer<Engine>,
    reader: Option<BridgeReader>,
    /// The output (or capture-only) stream's clock against the shared one.
    clock: StreamClock,
    /// The round trip's estimates (duplex streams).
    round_trip: RoundTrip,
    notifier: Notifier,
    shared: Arc<Shared>,
    frame_rate: u32,
    /// Callbacks since the stream (re)started or the bridge was disturbed;
    /// L is measured at each of [`MEASURE_AT`].
    callbacks: u32,
}

impl Runner {
    /// Hands the engine back when asked; whether it still has it.
    fn keep_engine(&mut self) -> bool {
        if self.stop.load(Ordering::Acquire) {
            if let Some(engine) = self.engine.take() {
                if let Err(rtrb::PushError::Full(engine)) = self.handback.push(engine) {
                    self.engine = Some(engine);
                }
            }
        }
        self.engine.is_some()
    }

    /// The output callback: input from the bridge, the engine, output out.
    fn output(&mut self, data: &mut [f32], info: &cpal::OutputCallbackInfo) {
        let _audio = rt_guard::enter();
        if !self.keep_engine() {
            data.fill(0.0);
            return;
        }
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        self.clock
            .observe(info.timestamp().callback.as_nanos() as u64);
        let oc = engine.out_channels().max(1);
        let frames = data.len() / oc;
        let first_input = self.reader.as_ref().map(BridgeReader::next_frame);
        let mut done = 0;
        let mut short = 0;
        while done < frames {
            let n = (frames - done).min(engine.max_period());
            let input = engine.input_buffer(n);
            if let Some(reader) = &mut self.reader {
                short += reader.pop(input);
            }
            let out = engine.render(n);
            data[done * oc..(done + n) * oc].copy_from_slice(out);
            done += n;
        }
        let overflowed = self.reader.as_mut().is_some_and(BridgeReader::overflowed);
        if short > 0 {
            // The input side fell behind: the engine got silence.
            self.shared.underflows.fetch_add(1, Ordering::AcqRel);
        }
        if short > 0 || overflowed {
            // Input was missing or dropped: the bridge's delay changed.
            self.notifier.xrun();
            self.callbacks = 0;
            self.round_trip.clear();
        }
        let due = self.measure_due();
        self.estimate(info, first_input);
        if due {
            self.measure(info);
        }
    }

    /// Counts a callback; whether L is to be measured in it.
    fn measure_due(&mut self) -> bool {
        self.callbacks = self.callbacks.saturating_add(1);
        MEASURE_AT.contains(&self.callbacks)
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
        if self.callbacks <= SETTLE {
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
    fn measure(&mut self, info: &cpal::OutputCallbackInfo) {
        let ts = info.timestamp();
        let rate = f64::from(self.frame_rate.max(1));
        let playback_nanos = ts.playback.as_nanos() as i128 - ts.callback.as_nanos() as i128;
        let playback = (playback_nanos.max(0) as f64 * rate / 1e9).round() as u64;
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
        self.notifier.set_latency(capture, playback);
        self.shared.measured.store(true, Ordering::Release);
    }

    /// The input callback of a capture-only stream: the engine runs here.
    fn input_only(&mut self, data: &[f32], info: &cpal::InputCallbackInfo) {
        let _audio = rt_guard::enter();
        if !self.keep_engine() {
            return;
        }
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let ic = engine.in_channels().max(1);
        let frames = data.len() / ic;
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(engine.max_period());
            engine
                .input_buffer(n)
                .copy_from_slice(&data[done * ic..(done + n) * ic]);
            let _ = engine.render(n);
            done += n;
        }
        if self.measure_due() {
            let ts = info.timestamp();
            let nanos = ts.callback.as_nanos() as i128 - ts.capture.as_nanos() as i128;
            let capture = (nanos.max(0) as f64 * f64::from(self.frame_rate) / 1e9).round() as u64;
            self.notifier.set_latency(capture, 0);
            self.shared.measured.store(true, Ordering::Release);
        }
    }
}

impl AudioDriver for CpalDriver {
    fn backend(&self) -> &str {
        "cpal"
    }

    fn devices(&self) -> amio_core::Result<Vec<DeviceInfo>> {
        let host = host_for(&self.config)?;
        let devices = host
            .devices()
            .map_err(|source| CpalError::Devices { source })?;
        Ok(devices
            .map(|d| {
                let name = d.id().map(|id| id.id().to_owned()).unwrap_or_default();
                let description = d
                    .description()
                    .map(|desc| desc.name().to_owned())
                    .unwrap_or_default();
                let channels = |c: Result<cpal::SupportedStreamConfig, cpal::Error>| {
                    c.map_or(0, |c| usize::from(c.channels()))
                };
                DeviceInfo {
                    name,
                    description: format!("{} ({})", description, host.id().name()),
                    in_channels: if d.supports_input() {
                        channels(d.default_input_config())
                    } else {
                        0
                    },
                    out_channels: if d.supports_output() {
                        channels(d.default_output_config())
                    } else {
                        0
                    },
                }
            })
            .collect())
    }

    fn open(&mut self, request: &StreamConfig) -> amio_core::Result<StreamInfo> {
        if self.running.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        let config = self.config.clone();
        // The bridge holds bridge_depth frames of every input channel:
        // checked before anything is opened, so no size makes the start
        // abort on allocation.
        let depth = self.bridge_depth(config.buffer_size);
        amio_core::limits::at_most("bridge_depth", depth, MAX_BRIDGE_DEPTH)?;
        amio_core::limits::at_most(
            "max_period",
            config.max_period,
            amio_core::limits::MAX_PERIOD,
        )?;
        let host = self.host()?;
        let out_name = request
            .device
            .as_deref()
            .or(config.output_device.as_deref());
        let in_name = request.device.as_deref().or(config.input_device.as_deref());
        let buffer = request.period.map(|p| p as u32).or(config.buffer_size);
        let output = if request.out_channels > 0 {
            let d = find_device(host, out_name, true)?;
            let (c, f) = choose_config(&d, true, request.out_channels, request.frame_rate, buffer)?;
            Some((d, c, f))
        } else {
            None
        };
        let rate = output
            .as_ref()
            .map(|o| o.1.sample_rate)
            .or(request.frame_rate);
        let input = if request.in_channels > 0 {
            let d = find_device(host, in_name, false)?;
            let (c, f) = choose_config(&d, false, request.in_channels, rate, buffer)?;
            Some((d, c, f))
        } else {
            None
        };
        let frame_rate = output
            .as_ref()
            .or(input.as_ref())
            .map_or(rate.unwrap_or(48_000), |d| d.1.sample_rate);
        let device = |d: &Option<(cpal::Device, cpal::StreamConfig, SampleFormat)>| {
            d.as_ref()
                .and_then(|(d, _, _)| d.id().ok().map(|id| id.id().to_owned()))
        };
        let depth = self.bridge_depth(buffer) as u64;
        let info = StreamInfo {
            backend: "cpal".into(),
            device: match (device(&output), device(&input)) {
                (Some(o), Some(i)) if o != i => format!("{o} / {i}"),
                (Some(o), _) => o,
                (None, Some(i)) => i,
                (None, None) => "none".into(),
            },
            frame_rate,
            period: buffer.map_or(1024, |b| b as usize),
            max_period: self.config.max_period.max(1),
            in_channels: request.in_channels,
            out_channels: request.out_channels,
            // Until measured from cpal's timestamps: the bridge's depth.
            capture_latency: if input.is_some() && output.is_some() {
                depth
            } else {
                0
            },
            playback_latency: 0,
        };
        self.opened = Some(Opened {
            output,
            input,
            info: info.clone(),
        });
        Ok(info)
    }

    fn start(&mut self, engine: Engine) -> amio_core::Result<()> {
        if self.running.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        Ok(self.start_streams(engine)?)
    }

    fn stop(&mut self) -> amio_core::Result<Option<Engine>> {
        let Some(mut running) = self.running.take() else {
            return Ok(None);
        };
        running.stop.store(true, Ordering::Release);
        let mut engine = None;
        if !running.notifier.has_failed() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(e) = running.handback.pop() {
                    engine = Some(e);
                    break;
                }
                if running.notifier.has_failed() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // Dropping the streams stops cpal's threads (and frees the engine
        // if it never came back, here on the control thread).
        drop(running.streams);
        Ok(engine.or_else(|| running.handback.pop().ok()))
    }
}

impl Drop for CpalDriver {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
