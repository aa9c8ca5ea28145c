//! amio-cpal: amio's driver over cpal (pinned to 0.18.2), reaching every
//! host cpal supports here: ALSA, JACK (and PulseAudio or PipeWire where
//! cpal is built for them).
//!
//! Like every amio driver it is a thin adapter over amio-core's driver
//! [`Runtime`](amio_core::driver::Runtime): at start it receives a
//! [`Lease`](amio_core::Lease) on the engine, builds a runtime on it and
//! moves the runtime into the cpal callback that runs the engine. The
//! runtime cuts every cpal callback into engine periods, guards the
//! real-time thread and keeps the panic policy (a panic gives silence and
//! one `Fatal(ThreadFailed)` event). Samples are converted between the
//! device's format (f32, i32 or i16) and the engine's by amio-core's one
//! rule ([`amio_core::driver::sample`]), never by cpal's.
//!
//! cpal gives separate input and output streams on separate threads. The
//! engine runs in the output callback; the input callback pushes what it
//! captured into a lock-free bridge (an rtrb ring primed with
//! [`CpalConfig::bridge_depth`] frames of silence) that the output callback
//! drains an engine period at a time, so the engine sees input and output
//! period by period. A capture-only stream runs the engine in the input
//! callback. A panic in the input callback of a duplex pair marks the
//! bridge failed: it is reported once as `Fatal(ThreadFailed)` and the
//! output falls silent.
//!
//! - The round-trip latency `L` for input tags is measured from cpal's own
//!   timestamps 16 and 256 callbacks after each start (and after each
//!   bridge underflow or overflow): the playback instant of an output
//!   period minus the capture instant of the first input frame consumed
//!   with it, so the bridge's delay is counted. cpal's instants count from
//!   each stream's own origin (except on its JACK host, where both come
//!   from JACK's clock); they are put on one clock by reading the monotonic
//!   clock in every callback, the smallest offset seen being the stream's,
//!   and L is the median of the last 256 per-callback estimates.
//!   Through cpal's JACK host L is exact; elsewhere it is as good as that
//!   alignment, a few frames (see docs/engine.md). Until measured, L is the
//!   bridge's depth.
//! - cpal's xrun reports, and a bridge found short of input or too full to
//!   take it, become xruns;
//!   `DeviceNotAvailable`, `HostUnavailable` and other stream errors become
//!   fatal events; `RealtimeDenied` a notice. Errors at open and start
//!   carry a [`DriverErrorKind`](amio_core::DriverErrorKind) ([`CpalError::kind`]):
//!   cpal's JACK host reaching no server is `NoServer`, a busy device
//!   `DeviceBusy`, no matching configuration `Unsupported`.
//! - Stopping drops cpal's streams on the control thread: cpal's drop
//!   stops each stream and waits for its callback (the ALSA host joins its
//!   thread, the JACK host closes its client), so once
//!   [`AudioDriver::stop`](amio_core::AudioDriver::stop) returns nothing
//!   calls through the lease.
//!
//! Also built as the plugin `libamio_cpal.so` (backend `cpal`, options as
//! [`CpalConfig`] reads them through
//! [`BackendConfig`](amio_core::driver::BackendConfig)).

mod bridge;
mod callback;
mod config;
mod driver;
mod error;
mod plugin;
mod timing;

pub use config::{CpalConfig, MAX_BRIDGE_DEPTH};
pub use driver::{CpalDriver, CpalHandle};
pub use error::CpalError;
