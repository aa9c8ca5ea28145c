//! amio-jack: amio's JACK driver, the primary backend.
//!
//! [`JackDriver`] implements [`amio_core::AudioDriver`] as a JACK client:
//! the engine runs in JACK's process callback on JACK's real-time thread,
//! with one input port per input channel and one output port per output
//! channel, connected to the physical ports by default.
//!
//! - The driver never holds the engine: [`amio_core::AudioDriver::start`]
//!   gives it a lease, and JACK's process callback owns the
//!   [`amio_core::Runtime`] built on it — the one period adapter, real-time
//!   guard and panic policy every amio driver uses. A panic on the audio
//!   path gives silence and one `Fatal(ThreadFailed)` event.
//! - libjack is loaded at run time (the `jack` crate's dynamic loading): a
//!   program using amio starts without JACK installed and gets
//!   [`JackError::Library`] (kind `LibraryMissing`) only when it opens this
//!   backend.
//! - amio never starts a server: with no server running, opening fails at
//!   once with [`JackError::NoServer`] (kind `NoServer`). A frame rate the
//!   server does not run is refused as `Unsupported`, a peer port that does
//!   not exist as `NoDevice` ([`JackError::kind`]).
//! - The round-trip latency `L` for input tags is the largest capture
//!   latency of the ports feeding amio's inputs plus the largest playback
//!   latency of the ports its outputs feed, from JACK's latency ranges,
//!   refreshed whenever JACK's latency callback fires.
//! - The engine's first frame (stream frame 0) is played in the first
//!   JACK cycle that runs on the graph with amio's own connections
//!   ([`Connect`]) made: no frame of a session is played into ports that
//!   are not connected yet, nor captured before its inputs are. Until then
//!   the ports carry silence and the stream frame does not advance.
//! - A buffer-size change is absorbed without allocation: longer periods
//!   are worked in pieces of the engine's period.
//! - xruns and a server shutdown reach the host as events, through the
//!   lease's notifier. Nothing is closed from JACK's threads: stopping
//!   closes the client on the control thread, and JACK's close returns
//!   only after its process thread has left its last callback, so no
//!   period runs after [`amio_core::AudioDriver::stop`] returns.
//! - Options for the plugin (`libamio_jack.so`, exported with
//!   `amio_plugin::export_plugin!`) are read by [`JackConfig`]'s
//!   [`amio_core::driver::BackendConfig`] implementation.

mod client;
mod driver;
mod error;
mod latency;
mod plugin;

pub use client::{open_client, physical_ports};
pub use driver::{Connect, JackConfig, JackDriver, JackHandle, JackPorts};
pub use error::JackError;
