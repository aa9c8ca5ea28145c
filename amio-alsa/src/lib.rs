//! amio-alsa: amio's ALSA driver, for hosts that run without a sound
//! server.
//!
//! [`AlsaDriver`] is a thin adapter over amio-core's driver runtime
//! ([`amio_core::driver::Runtime`]). Its audio thread owns the runtime — and
//! with it the stream's lease, never the engine — and runs SCHED_FIFO when
//! the system allows it (else normal priority and a
//! [`amio_core::Notice::NoRealtimePriority`]), reading the capture PCM and
//! writing the playback PCM a period at a time, each period through the
//! runtime's period adapter ([`amio_core::driver::Runtime::process`]) under
//! its real-time guard and panic policy (a panic gives silence and one
//! `Fatal(ThreadFailed)`). Stopping joins the thread, so nothing calls
//! through the lease once [`amio_core::AudioDriver::stop`] returns.
//!
//! - PCMs by name (default `default`), in the first of f32, s32, s24 (in 32
//!   bits) and s16 they offer, converted on the audio thread into buffers
//!   allocated once, by amio-core's one conversion rule
//!   ([`amio_core::driver::sample`]: halves rounded away from zero, clipped).
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
//! - Errors carry a [`amio_core::DriverErrorKind`] ([`AlsaError::kind`]):
//!   a missing PCM, one in use, one refused, and a rate, format, channel
//!   count or period the device does not take are told apart.
//!
//! Options (`key=value` lines, [`amio_core::driver::BackendConfig`] for
//! [`AlsaConfig`]): `playback`, `capture`, `period`, `periods`, `format`,
//! `realtime_priority`, `device_timeout_ms`. Also built as the plugin
//! `libamio_alsa.so` (backend `alsa`, exported with amio-plugin's
//! `export_plugin!`).

mod driver;
mod error;
mod format;
mod plugin;

/// The sample formats the driver speaks: amio-core's, re-exported.
pub use amio_core::driver::SampleFormat;
pub use driver::{AlsaConfig, AlsaDriver, AlsaHandle};
pub use error::AlsaError;
