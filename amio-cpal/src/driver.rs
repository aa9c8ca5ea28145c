//! The cpal driver: choosing a host, devices and configurations, and
//! starting and stopping cpal's streams.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use amio_core::driver::Runtime;
use amio_core::{AudioDriver, DeviceInfo, Lease, StreamConfig, StreamInfo};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::bridge::bridge;
use crate::callback::{
    build_input, build_output, errors_to, BridgeInput, Capture, Format, Output, Side,
};
use crate::config::{CpalConfig, MAX_BRIDGE_DEPTH};
use crate::error::CpalError;
use crate::timing::StreamClock;

/// Counters shared with [`CpalHandle`].
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) underflows: AtomicU64,
    pub(crate) measured: AtomicBool,
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
    output: Option<Side>,
    input: Option<Side>,
    /// Frames the input-to-output bridge starts with (duplex).
    bridge_depth: usize,
    info: StreamInfo,
}

/// The cpal backend.
pub struct CpalDriver {
    config: CpalConfig,
    host: Option<cpal::Host>,
    opened: Option<Opened>,
    /// The running streams, output (the engine's) last. Their callbacks own
    /// the runtime, and with it the lease.
    running: Option<Vec<cpal::Stream>>,
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

/// Whether `host` is cpal's JACK host, whose devices exist only when it
/// reached a server.
fn is_jack(host: &cpal::Host) -> bool {
    matches!(host.id(), cpal::HostId::Jack)
}

fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    output: bool,
) -> Result<cpal::Device, CpalError> {
    let which = if output { "output" } else { "input" };
    let mut devices = host
        .devices()
        .map_err(|source| CpalError::Devices { source })?
        .peekable();
    if is_jack(host) && devices.peek().is_none() {
        return Err(CpalError::NoServer);
    }
    let Some(name) = name else {
        let d = if output {
            host.default_output_device()
        } else {
            host.default_input_device()
        };
        return d.ok_or(CpalError::NoDefault { which });
    };
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

fn choose_config(
    device: cpal::Device,
    output: bool,
    channels: usize,
    rate: Option<u32>,
    buffer: Option<u32>,
) -> Result<Side, CpalError> {
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
    let format = Format::PREFERENCE
        .into_iter()
        .find(|f| {
            ranges.iter().any(|r| {
                r.sample_format() == f.cpal()
                    && usize::from(r.channels()) == channels
                    && r.contains_rate(rate)
            })
        })
        .ok_or(CpalError::NoMatchingConfig { channels, rate })?;
    let channels =
        u16::try_from(channels).map_err(|_| CpalError::NoMatchingConfig { channels, rate })?;
    Ok(Side {
        device,
        config: cpal::StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size: buffer.map_or(cpal::BufferSize::Default, cpal::BufferSize::Fixed),
        },
        format,
    })
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

    /// Frames the input-to-output bridge starts with (`bridge_depth`, or
    /// twice `buffer_size`, or 1024).
    fn bridge_depth(&self) -> usize {
        self.config
            .bridge_depth
            .unwrap_or_else(|| self.config.buffer_size.map_or(1024, |b| 2 * b as usize))
            .max(1)
    }

    /// Builds and plays the streams, their callbacks owning `runtime`. On
    /// error the streams built so far are dropped: nothing runs.
    fn start_streams(&self, runtime: Runtime) -> Result<Vec<cpal::Stream>, CpalError> {
        let opened = self.opened.as_ref().ok_or(CpalError::NotOpen)?;
        let notifier = runtime.notifier().clone();
        let rate = opened.info.frame_rate;
        let shared = Arc::clone(&self.handle.0);
        shared.measured.store(false, Ordering::Release);
        let mut streams = Vec::new();
        match (&opened.input, &opened.output) {
            (input, Some(output)) => {
                // Duplex: the input callback feeds a bridge the output side
                // drains, and the streams' instants are put on one clock
                // (see crate::timing); cpal's JACK host stamps both from
                // JACK's clock.
                let mut reader = None;
                let mut origin = None;
                if let Some(input) = input {
                    let depth = opened.bridge_depth;
                    let (writer, bridge_reader) =
                        bridge(opened.info.in_channels, depth * 8, depth, rate);
                    let shares_a_clock = self.host.as_ref().is_some_and(is_jack);
                    origin = (!shares_a_clock).then(Instant::now);
                    let feed = BridgeInput::new(writer, StreamClock::new(origin), notifier.clone());
                    streams.push(build_input(input, feed, errors_to(&notifier))?);
                    reader = Some(bridge_reader);
                }
                let run = Output::new(runtime, reader, StreamClock::new(origin), shared, rate);
                streams.push(build_output(output, run, errors_to(&notifier))?);
            }
            // Capture only: the engine runs in the input callback.
            (Some(input), None) => {
                let run = Capture::new(runtime, shared, rate);
                streams.push(build_input(input, run, errors_to(&notifier))?);
            }
            // Nothing to run: the lease is given up at once.
            (None, None) => drop(runtime),
        }
        for s in &streams {
            s.play().map_err(|source| CpalError::Play { source })?;
        }
        Ok(streams)
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
        let buffer = match request.period {
            Some(period) => Some(u32::try_from(period).map_err(|_| amio_core::Error::Config {
                field: "period",
                rule: format!("{period} frames is more than cpal can ask for"),
            })?),
            None => config.buffer_size,
        };
        // The bridge holds bridge_depth frames of every input channel:
        // checked before anything is opened, so no size makes the start
        // abort on allocation.
        let bridge_depth = self.bridge_depth();
        amio_core::limits::at_most("bridge_depth", bridge_depth, MAX_BRIDGE_DEPTH)?;
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
        let output = if request.out_channels > 0 {
            let d = find_device(host, out_name, true)?;
            Some(choose_config(
                d,
                true,
                request.out_channels,
                request.frame_rate,
                buffer,
            )?)
        } else {
            None
        };
        let rate = output
            .as_ref()
            .map(|o| o.config.sample_rate)
            .or(request.frame_rate);
        let input = if request.in_channels > 0 {
            let d = find_device(host, in_name, false)?;
            Some(choose_config(d, false, request.in_channels, rate, buffer)?)
        } else {
            None
        };
        let frame_rate = output
            .as_ref()
            .or(input.as_ref())
            .map_or(rate.unwrap_or(48_000), |side| side.config.sample_rate);
        let device = |side: &Option<Side>| {
            side.as_ref()
                .and_then(|side| side.device.id().ok().map(|id| id.id().to_owned()))
        };
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
                bridge_depth as u64
            } else {
                0
            },
            playback_latency: 0,
        };
        self.opened = Some(Opened {
            output,
            input,
            bridge_depth,
            info: info.clone(),
        });
        Ok(info)
    }

    fn start(&mut self, lease: Lease) -> amio_core::Result<()> {
        if self.running.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        let runtime = Runtime::new(lease)?;
        self.running = Some(self.start_streams(runtime)?);
        Ok(())
    }

    fn stop(&mut self) -> amio_core::Result<()> {
        let Some(mut streams) = self.running.take() else {
            return Ok(());
        };
        // Dropping a cpal stream stops it and waits for its callback to end
        // (the ALSA host joins its thread; the JACK host deactivates and
        // closes its client), dropping the callback and what it owns: the
        // runtime, and with it the lease. The output stream (the engine's)
        // goes first.
        while let Some(stream) = streams.pop() {
            drop(stream);
        }
        Ok(())
    }
}

impl Drop for CpalDriver {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
