//! Drivers: the backend-agnostic [`AudioDriver`] trait and the one runtime
//! every driver is a thin adapter over.
//!
//! A driver never sees the engine. When its stream starts it receives a
//! [`Lease`] — a C-shaped handle to run the engine's periods, with the
//! stream's [`Notifier`] — and builds a [`Runtime`] on it: the period
//! adapter, the real-time guard and the panic policy. Device samples are
//! converted by [`sample`]'s one rule, options are read through
//! [`BackendOptions`]. The same lease and notifier cross the driver-plugin
//! boundary unchanged (the `amio-plugin` crate), so a driver runs the same
//! in or out of a plugin.

pub mod lease;
pub mod notifier;
pub mod options;
pub mod runtime;
pub mod sample;

pub use lease::{Lease, LeaseOps, RawLease};
pub use notifier::{Notifier, NotifierOps, RawNotifier};
pub use options::{BackendConfig, BackendOptions};
pub use runtime::{DeviceIo, Runtime};
pub use sample::{DeviceSample, SampleFormat};

use crate::error::Result;

/// What a host asks a driver for. Drivers grant what they can and report
/// what they got in [`StreamInfo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamConfig {
    /// The device to open (backend-specific name); `None` for the default.
    pub device: Option<String>,
    /// Frames per second; `None` for the device's or server's rate.
    pub frame_rate: Option<u32>,
    /// Frames per period; `None` for the driver's choice.
    pub period: Option<usize>,
    /// Input channels to capture.
    pub in_channels: usize,
    /// Output channels to play.
    pub out_channels: usize,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            device: None,
            frame_rate: None,
            period: None,
            in_channels: 2,
            out_channels: 2,
        }
    }
}

/// What a driver opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// The backend's name (`"null"`, `"jack"`, …).
    pub backend: String,
    /// The device's name.
    pub device: String,
    /// Frames per second.
    pub frame_rate: u32,
    /// The nominal period in frames.
    pub period: usize,
    /// The most frames the driver runs through the engine at once (one
    /// [`Lease::process`]); the engine's buffers are sized for it.
    pub max_period: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Frames from the moment a sound reaches the input to the moment the
    /// engine sees it.
    pub capture_latency: u64,
    /// Frames from the moment the engine renders a frame to the moment it
    /// is heard.
    pub playback_latency: u64,
}

/// A device a backend can open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name to pass as [`StreamConfig::device`].
    pub name: String,
    /// A human-readable description.
    pub description: String,
    /// Input channels it offers (0 if unknown or none).
    pub in_channels: usize,
    /// Output channels it offers (0 if unknown or none).
    pub out_channels: usize,
}

/// A backend: opens a stream, runs the engine's periods on its real-time
/// thread through a [`Lease`], and reports xruns, latency and fatal errors
/// through the lease's [`Notifier`].
///
/// Object-safe; all methods are called from the control thread.
pub trait AudioDriver: Send {
    /// The backend's name, as hosts pick it (`"null"`, `"jack"`, …).
    fn backend(&self) -> &str;

    /// The devices this backend can open on this machine.
    fn devices(&self) -> Result<Vec<DeviceInfo>>;

    /// Opens a stream as close to `config` as the device allows. The stream
    /// does not run until [`AudioDriver::start`].
    fn open(&mut self, config: &StreamConfig) -> Result<StreamInfo>;

    /// Starts running the engine through `lease` on the driver's real-time
    /// thread (usually inside a [`Runtime`]). On error nothing runs.
    fn start(&mut self, lease: Lease) -> Result<()>;

    /// Stops the stream. Once it returns — with `Ok` or `Err` — no call
    /// through the lease runs or will run: the driver has dropped or
    /// joined everything that could call it. Calling it when not running
    /// does nothing. The stream can be started again with a new lease.
    fn stop(&mut self) -> Result<()>;

    /// Hands the driver what to wait on before each period if it runs
    /// without a clock (offline or stepped by hand): then streamed clips
    /// are always ready ([`crate::StreamsGate`]). Real-time drivers keep
    /// the default, which ignores it.
    fn set_streams_gate(&mut self, gate: crate::StreamsGate) {
        let _ = gate;
    }
}
