//! libamio: amio's stable C ABI.
//!
//! C and C++ hosts include `amio.h` (generated from this crate by cbindgen
//! and committed; C++ hosts can use the RAII wrapper `amio.hpp`), link
//! `libamio` (`pkg-config --cflags --libs amio`), pick a backend by name at
//! run time (`"null"` is built in; `"jack"` and others are plugins found
//! beside libamio or on `AMIO_PLUGIN_PATH`), play playspecs and capture
//! input. libamio links neither libjack nor libasound.
//!
//! Conventions:
//! - Every fallible function returns an [`amio_status`]; values are fixed
//!   and never reused. The thread's last failure is in
//!   [`amio_last_error`] ("function: message"), and for playspec entries
//!   [`amio_last_error_entry`] gives the entry and the rule.
//! - Handles are opaque and never dereferenced: NULL, unknown, already freed
//!   or wrong-kind handles give a status. `_free(NULL)` does nothing.
//! - Outputs go through `*_out` pointers, written only on success; every
//!   buffer comes with its length.
//! - No panic crosses the boundary.
//! - Each function's docs say which thread may call it. "Control thread":
//!   any thread, calls on one stream are serialised internally. Start,
//!   pause, close, wait and free are refused from inside a libamio callback
//!   (`AMIO_ERROR_IN_CALLBACK`), and so is any other control call made from
//!   an output or input callback while another thread starts, pauses,
//!   closes or frees that stream: those wait for the callback's thread.
//!   "Any thread": also from inside a callback while another thread stops
//!   the stream (the position, the stream's info and its events).

#![allow(non_camel_case_types)]

mod args;
pub mod backends;
pub mod clip;
pub mod fader;
pub mod meter;
pub mod playspec;
mod registry;
pub mod status;
pub mod stream;
pub mod version;

pub use backends::*;
pub use clip::*;
pub use fader::*;
pub use meter::*;
pub use playspec::*;
pub use status::*;
pub use stream::*;
pub use version::*;
