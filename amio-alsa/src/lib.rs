//! amio-alsa: amio's ALSA driver, for hosts that run without a sound
//! server.
//!
//! [`AlsaDriver`] runs the engine on its own audio thread (SCHED_FIFO when
//! the system allows it, else normal priority and a
//! [`amio_core::Notice::NoRealtimePriority`]), reading the capture PCM and
//! writing the playback PCM a period at a time:
//!
//! - PCMs by name (default `default`), in the first of f32, s32, s24 (in 32
//!   bits) and s16 they offer, converted on the audio thread into buffers
//!   allocated once.
//! - Full duplex in step: capture is linked to playback (`snd_pcm_link`)
//!   so both start together after playback is primed with a buffer of
//!   silence; where the two cannot be linked, capture is started right
//!   after priming, and `snd_pcm_delay` measures what that costs.
//! - Latency for input tags from `snd_pcm_delay`, measured a few periods
//!   after every (re)start: capture = a period + what waits to be read,
//!   playback = what is queued ahead. Where capture and playback are not
//!   linked (the jack PCM moves each in its own JACK callback) the two are
//!   read in the quiet middle of a period, in up to 8 periods, and the
//!   most frequent sum is reported: read as the thread wakes, one device
//!   may not have had the current cycle yet, a period off every time.
//! - Under- and overruns are recovered (drop, prepare, prime, start) and
//!   reported as xruns; a device that errors out or gives no audio for
//!   [`AlsaConfig::device_timeout`] is a fatal event, with the thread
//!   waiting on the device with timeouts, never spinning.
//! - A device with no clock (ALSA's `null`) is paced by the system clock,
//!   with a [`amio_core::Notice::PacedByClock`].
//!
//! Also built as the plugin `libamio_alsa.so` (backend `alsa`).

mod driver;
mod error;
mod format;
mod plugin;

pub use driver::{AlsaConfig, AlsaDriver, AlsaHandle};
pub use error::AlsaError;
pub use format::SampleFormat;
pub use plugin::AlsaPlugin;
