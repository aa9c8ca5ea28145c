//! Streams in C: open a backend by name, schedule, run the transport, read
//! events and input.
//!
//! One module per concern:
//! - `config`: how to open a stream (`amio_stream_config`) and what it
//!   opened (`amio_stream_info`);
//! - `lifecycle`: open, start, pause (stop), close, free;
//! - `transport`: schedule, roll, stop, locate, the extra latency and the
//!   position;
//! - `events`: the event queue and `amio_stream_poll_event`;
//! - `wake`: waking a host's loop: the watcher thread, the event
//!   descriptor and the event callback;
//! - `input`: captured input;
//! - `null`: the null backend's callbacks, stepping, xruns and waiting;
//! - `object` and `callback`: the stream as the registry holds it, who may
//!   lock it when, and the rule for calls from inside libamio's callbacks.
//!
//! Two stops: [`amio_stream_pause`] (or its synonym [`amio_stream_stop`])
//! stops the *driver*: no more periods run until [`amio_stream_start`].
//! [`amio_transport_stop`] stops the *transport*: the driver keeps running
//! periods, which are silent and leave the position where it is, until
//! [`amio_transport_roll`].
//!
//! Threads. The stream sits behind one lock, which start, pause, close and
//! free hold while the driver stops (joining its thread, which may be
//! running one of the host's callbacks). The position
//! ([`amio_stream_get_position`]) and what the stream opened
//! ([`amio_stream_get_info`]) are read without that lock. Events are moved
//! from the engine into a queue of their own with its own short lock;
//! [`amio_stream_poll_event`] waits for the stream's lock only while a
//! short call holds it, never while a start, pause, close or free does, so
//! any thread may poll, also a callback's thread while another thread
//! closes the stream.

mod callback;
mod config;
mod events;
mod input;
mod lifecycle;
mod null;
mod object;
mod transport;
mod wake;

pub use callback::{amio_input_callback, amio_output_callback};
pub use config::*;
pub use events::*;
pub use input::*;
pub use lifecycle::*;
pub use null::*;
pub use transport::*;
pub use wake::*;

pub(crate) use object::StreamObject;

/// A stream: a backend running amio's engine. Opaque; free with
/// [`amio_stream_free`].
pub struct amio_stream {
    _opaque: [u8; 0],
}
