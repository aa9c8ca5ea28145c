//! amio-jack: amio's JACK driver, the primary backend.
//!
//! [`JackDriver`] implements [`amio_core::AudioDriver`] as a JACK client:
//! the engine runs in JACK's process callback on JACK's real-time thread,
//! with one input port per input channel and one output port per output
//! channel, connected to the physical ports by default.
//!
//! - libjack is loaded at run time (the `jack` crate's dynamic loading): a
//!   program using amio starts without JACK installed and gets
//!   [`JackError::Library`] only when it opens this backend.
//! - amio never starts a server: with no server running, opening fails at
//!   once with [`JackError::NoServer`].
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
//! - xruns and a server shutdown reach the host as events. Nothing is
//!   closed from JACK's threads; stopping hands the engine back through a
//!   lock-free queue, then the client is closed on the control thread.

mod client;
mod driver;
mod error;
mod latency;
mod plugin;

pub use client::{open_client, physical_ports};
pub use driver::{Connect, JackConfig, JackDriver, JackHandle, JackPorts};
pub use error::JackError;
pub use plugin::JackPlugin;
