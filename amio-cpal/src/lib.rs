//! amio-cpal: amio's driver over cpal (pinned to 0.18.2), reaching every
//! host cpal supports here: ALSA, JACK (and PulseAudio or PipeWire where
//! cpal is built for them).
//!
//! cpal gives separate input and output streams on separate threads. The
//! engine runs in the output callback; the input callback pushes what it
//! captured into a lock-free bridge (an rtrb ring primed with
//! [`CpalConfig::bridge_depth`] frames of silence) that the output callback
//! drains a period at a time, so the engine sees input and output period by
//! period. A capture-only stream runs the engine in the input callback.
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
//!   fatal events; `RealtimeDenied` a notice. Stopping hands the engine back
//!   through a lock-free queue, then the streams are dropped.
//!
//! Also built as the plugin `libamio_cpal.so` (backend `cpal`).

mod bridge;
mod driver;
mod error;
mod plugin;
mod timing;

pub use driver::{CpalConfig, CpalDriver, CpalHandle};
pub use error::CpalError;
pub use plugin::CpalPlugin;
