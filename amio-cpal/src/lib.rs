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
//!   timestamps a few callbacks after each start: the playback instant of
//!   an output period minus the capture instant of the first input frame
//!   consumed with it, so the bridge's delay is counted.
//! - cpal's xrun reports, and a bridge found short of input, become xruns;
//!   `DeviceNotAvailable`, `HostUnavailable` and other stream errors become
//!   fatal events; `RealtimeDenied` a notice. Stopping hands the engine back
//!   through a lock-free queue, then the streams are dropped.
//!
//! Also built as the plugin `libamio_cpal.so` (backend `cpal`).

mod bridge;
mod driver;
mod error;
mod plugin;

pub use driver::{CpalConfig, CpalDriver, CpalHandle};
pub use error::CpalError;
pub use plugin::CpalPlugin;
