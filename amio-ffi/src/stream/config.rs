//! How to open a stream (`amio_stream_config`), read into what the driver
//! and the engine take, and what a stream opened (`amio_stream_info`).

use std::ffi::{c_char, c_void};

use amio_core::{Config, Metering, StreamConfig};

use super::amio_stream;
use super::callback::{amio_input_callback, amio_output_callback};
use crate::args::{fill, optional_text};
use crate::registry;
use crate::status::{amio_status, check_out, guard, write_out, Failure};

/// How to open a stream. Initialise with [`amio_stream_config_init`], then
/// change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_stream_config {
    /// `sizeof(amio_stream_config)`, set by [`amio_stream_config_init`].
    pub struct_size: u32,
    /// The device (JACK: the server), or NULL for the default.
    pub device: *const c_char,
    /// Frames per second, or 0 for the backend's.
    pub frame_rate: u32,
    /// Frames per period, or 0 for the backend's.
    pub period: u32,
    /// Input channels to capture.
    pub in_channels: u32,
    /// Output channels to play.
    pub out_channels: u32,
    /// 1: clamp output to [-1, 1] (default); 0: don't.
    pub clamp: u32,
    /// Extra round-trip latency for input tags, in frames (negative to
    /// correct a driver that reports more than the real round trip).
    pub extra_latency: i64,
    /// The largest round-trip latency input tags can follow (0: default).
    pub max_latency: u64,
    /// Commands in flight (0: default).
    pub command_capacity: u32,
    /// Changes awaiting an outcome (0: default).
    pub outcome_capacity: u32,
    /// Captured frames buffered before input is dropped (0: default).
    pub input_buffer_frames: u32,
    /// Backend options, `key=value` lines, or NULL. null: `mode`
    /// (stepped, paced, offline), `frames`, `capture_latency`,
    /// `playback_latency`, `loopback`. jack: `client_name`, `server`,
    /// `input_names`, `output_names`, `connect`, `connect_inputs`,
    /// `connect_outputs`.
    pub options: *const c_char,
    /// null backend, paced and offline: receives the output.
    pub output_callback: amio_output_callback,
    /// null backend, paced and offline: fills the input.
    pub input_callback: amio_input_callback,
    /// Passed to both callbacks.
    pub callback_user: *mut c_void,
    /// Live meters (`AMIO_EVENT_METER`): `AMIO_METERING_OFF` (default),
    /// `AMIO_METERING_EVERY_PERIOD`, or `AMIO_WINDOW_FRAMES` /
    /// `AMIO_WINDOW_PER_SECOND` with `meter_window`.
    pub metering: u32,
    /// Frames per window, or windows per second, as `metering` says.
    pub meter_window: u64,
    /// How far ahead of what plays streamed clips are read, in ms (0:
    /// default, 2000).
    pub stream_read_ahead_ms: u32,
    /// Memory for blocks of streamed clips, in bytes (0: default, 64 MiB).
    pub stream_cache_bytes: u64,
}

/// No live meters.
pub const AMIO_METERING_OFF: u32 = 0;
/// A live meter for every period.
pub const AMIO_METERING_EVERY_PERIOD: u32 = 1;

/// What a stream opened.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_stream_info {
    /// The backend, NUL-terminated.
    pub backend: [c_char; 32],
    /// The device, NUL-terminated.
    pub device: [c_char; 256],
    /// Frames per second.
    pub frame_rate: u32,
    /// The nominal period.
    pub period: u32,
    /// The most frames the engine processes at once.
    pub max_period: u32,
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Capture latency reported by the driver, in frames.
    pub capture_latency: u64,
    /// Playback latency reported by the driver, in frames.
    pub playback_latency: u64,
}

fn defaults() -> amio_stream_config {
    let c = Config::default();
    amio_stream_config {
        struct_size: std::mem::size_of::<amio_stream_config>() as u32,
        device: std::ptr::null(),
        frame_rate: 0,
        period: 0,
        in_channels: 2,
        out_channels: 2,
        clamp: 1,
        extra_latency: c.extra_latency,
        max_latency: 0,
        command_capacity: 0,
        outcome_capacity: 0,
        input_buffer_frames: 0,
        options: std::ptr::null(),
        output_callback: None,
        input_callback: None,
        callback_user: std::ptr::null_mut(),
        metering: AMIO_METERING_OFF,
        meter_window: 0,
        stream_read_ahead_ms: 0,
        stream_cache_bytes: 0,
    }
}

/// Fills `config` with the defaults: the backend's frame rate and period,
/// 2 in and 2 out, clamping on, no options. Any thread.
///
/// # Safety
/// `config` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_config_init(config: *mut amio_stream_config) -> amio_status {
    guard("amio_stream_config_init", || {
        // SAFETY: per this function's contract.
        unsafe { write_out(config, "config", defaults()) }
    })
}

/// A host's configuration, checked and read.
pub(super) struct Request {
    /// The configuration as given (callbacks, channel counts).
    pub(super) c: amio_stream_config,
    /// What to ask the driver for.
    pub(super) stream: StreamConfig,
    /// How the engine behaves.
    pub(super) engine: Config,
    /// The backend options' text.
    pub(super) options: String,
}

impl Request {
    /// Reads a host's configuration (NULL: the defaults).
    ///
    /// # Safety
    /// `config` must be NULL or point to a valid `amio_stream_config` whose
    /// strings are NULL or NUL-terminated.
    pub(super) unsafe fn read(config: *const amio_stream_config) -> Result<Request, Failure> {
        let c = if config.is_null() {
            defaults()
        } else {
            // SAFETY: non-NULL; the first field tells how big it is.
            let size = unsafe { (*config).struct_size };
            if size as usize != std::mem::size_of::<amio_stream_config>() {
                return Err(Failure::invalid(format!(
                    "config->struct_size is {size}, this libamio's amio_stream_config has {} bytes (call amio_stream_config_init)",
                    std::mem::size_of::<amio_stream_config>()
                )));
            }
            // SAFETY: the whole struct is there.
            unsafe { *config }
        };
        if c.clamp > 1 {
            return Err(Failure::invalid(format!(
                "config->clamp is {}, not 0 or 1",
                c.clamp
            )));
        }
        // SAFETY: per this function's contract.
        let options = unsafe { optional_text(c.options, "config->options") }?.unwrap_or_default();
        // SAFETY: per this function's contract.
        let device = unsafe { optional_text(c.device, "config->device") }?;
        let stream = StreamConfig {
            device,
            frame_rate: (c.frame_rate != 0).then_some(c.frame_rate),
            period: (c.period != 0).then_some(c.period as usize),
            in_channels: c.in_channels as usize,
            out_channels: c.out_channels as usize,
        };
        let d = Config::default();
        let nonzero = |v: u64, default: u64| if v == 0 { default } else { v };
        let engine = Config {
            clamp: c.clamp == 1,
            extra_latency: c.extra_latency,
            max_latency: nonzero(c.max_latency, d.max_latency),
            command_capacity: nonzero(u64::from(c.command_capacity), d.command_capacity as u64)
                as usize,
            outcome_capacity: nonzero(u64::from(c.outcome_capacity), d.outcome_capacity as u64)
                as usize,
            event_capacity: d.event_capacity,
            input_buffer_frames: nonzero(
                u64::from(c.input_buffer_frames),
                d.input_buffer_frames as u64,
            ) as usize,
            // The fastest kernel the CPU has; C hosts do not choose.
            mix_kernel: d.mix_kernel,
            stream_read_ahead_ms: if c.stream_read_ahead_ms == 0 {
                d.stream_read_ahead_ms
            } else {
                c.stream_read_ahead_ms
            },
            stream_cache_bytes: usize::try_from(nonzero(
                c.stream_cache_bytes,
                d.stream_cache_bytes as u64,
            ))
            .unwrap_or(usize::MAX),
            metering: match c.metering {
                AMIO_METERING_OFF => Metering::Off,
                AMIO_METERING_EVERY_PERIOD => Metering::EveryPeriod,
                kind => Metering::Window(crate::meter::window(
                    kind,
                    c.meter_window,
                    "config->metering",
                )?),
            },
        };
        Ok(Request {
            c,
            stream,
            engine,
            options,
        })
    }
}

/// Writes what the stream opened. Any thread, also from inside a libamio
/// callback while another thread stops or closes the stream: it reads a
/// copy taken at open, under no lock.
///
/// # Safety
/// `info_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_get_info(
    stream: *const amio_stream,
    info_out: *mut amio_stream_info,
) -> amio_status {
    guard("amio_stream_get_info", || {
        check_out(info_out, "info_out")?;
        let object = registry::stream(stream, "stream")?;
        let info = &object.info;
        let mut out = amio_stream_info {
            backend: [0; 32],
            device: [0; 256],
            frame_rate: info.frame_rate,
            period: u32::try_from(info.period).unwrap_or(u32::MAX),
            max_period: u32::try_from(info.max_period).unwrap_or(u32::MAX),
            in_channels: info.in_channels as u32,
            out_channels: info.out_channels as u32,
            capture_latency: info.capture_latency,
            playback_latency: info.playback_latency,
        };
        fill(&mut out.backend, &info.backend);
        fill(&mut out.device, &info.device);
        // SAFETY: checked writable above.
        unsafe { write_out(info_out, "info_out", out) }
    })
}
