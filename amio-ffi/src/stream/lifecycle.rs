//! A stream's life: open, start, pause (stop), close, free.
//!
//! Start, pause, close and free hold the stream's lock while the driver
//! starts or stops (joining its thread), so they are refused from inside a
//! libamio callback, whose thread they would wait for.

use std::ffi::c_char;
use std::sync::Arc;

use amio_core::Stream;

use super::callback::not_in_callback;
use super::config::{amio_stream_config, Request};
use super::object::{open_for_commands, StreamObject};
use super::{amio_stream, null};
use crate::args::text;
use crate::registry::{self, Object};
use crate::status::{amio_status, check_out, guard, write_out, Failure, AMIO_ERROR_CONFIG};

// Items the docs link to.
#[cfg(doc)]
use super::{amio_transport_roll, amio_transport_stop};

/// Opens a stream on a backend by name: `"null"` (built in) or a plugin
/// (`"jack"`, …) found on the plugin search path. The stream does not run
/// until [`amio_stream_start`]; commands issued before then take effect at
/// their target frames. `config` may be NULL for the defaults. A driver
/// that cannot open says why by status (`AMIO_ERROR_NO_SERVER`,
/// `AMIO_ERROR_NO_DEVICE`, `AMIO_ERROR_UNSUPPORTED`, …, else
/// `AMIO_ERROR_DRIVER`); a bad option is `AMIO_ERROR_CONFIG` naming it.
/// Control thread (any thread, one call at a time per stream).
///
/// # Safety
/// `backend` must be NUL-terminated; `config` NULL or a valid config;
/// `stream_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_open(
    backend: *const c_char,
    config: *const amio_stream_config,
    stream_out: *mut *mut amio_stream,
) -> amio_status {
    guard("amio_stream_open", || {
        check_out(stream_out, "stream_out")?;
        // SAFETY: per this function's contract.
        let backend = unsafe { text(backend, "backend") }?;
        // SAFETY: per this function's contract.
        let request = unsafe { Request::read(config) }?;
        let c = &request.c;
        let (driver, null) = if backend == "null" {
            let (driver, control) = null::driver(&request)?;
            (driver, Some(control))
        } else {
            if c.output_callback.is_some() || c.input_callback.is_some() {
                return Err(Failure::new(
                    AMIO_ERROR_CONFIG,
                    format!("config->output_callback and input_callback are for the null backend, not {backend:?}"),
                ));
            }
            let opened = amio_plugin::registry::driver(&backend, &request.options)?;
            (opened.driver, opened.null)
        };
        let stream = Stream::open(driver, &request.stream, &request.engine)?;
        let object = StreamObject::new(stream, null);
        let handle = registry::insert(Object::Stream(Arc::new(object)));
        // SAFETY: checked writable above.
        unsafe { write_out(stream_out, "stream_out", handle) }
    })
}

/// Starts (or restarts) the stream's driver: it runs periods until
/// [`amio_stream_pause`] or [`amio_stream_close`]. (The transport, which
/// decides whether those periods play, is started by
/// [`amio_transport_roll`].) Control thread; from inside a libamio
/// callback it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_start(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_start", || {
        not_in_callback("amio_stream_start")?;
        let object = registry::stream(stream, "stream")?;
        let mut s = object.lock_lifecycle();
        open_for_commands(&mut s)?;
        Ok(s.start()?)
    })
}

/// Pauses the stream's *driver*: no period runs until
/// [`amio_stream_start`]; the engine keeps its state (stream frame,
/// position, playspecs, commands not yet due). Not the transport's stop:
/// [`amio_transport_stop`] keeps the driver running and silences
/// it at a chosen frame. Pausing a stream that does not run does nothing.
/// Control thread; from inside a libamio callback it is
/// `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_pause(stream: *mut amio_stream) -> amio_status {
    pause("amio_stream_pause", stream)
}

/// The older name of [`amio_stream_pause`], kept for hosts written against
/// it: stops the stream's *driver* (not the transport; that is
/// [`amio_transport_stop`]); it keeps its state and can start
/// again. Control thread; from inside a libamio callback it is
/// `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_stop(stream: *mut amio_stream) -> amio_status {
    pause("amio_stream_stop", stream)
}

fn pause(function: &str, stream: *mut amio_stream) -> amio_status {
    guard(function, || {
        not_in_callback(function)?;
        let object = registry::stream(stream, "stream")?;
        let mut s = object.lock_lifecycle();
        Ok(s.pause()?)
    })
}

/// Closes the stream: stops the driver; changes still pending are reported
/// dropped. Commands are refused from now on (`AMIO_ERROR_CLOSED`); events
/// and captured input stay readable until [`amio_stream_free`]. Closing
/// twice is fine. Control thread; from inside a libamio callback (which
/// closing would wait for) it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_close(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_close", || {
        not_in_callback("amio_stream_close")?;
        let object = registry::stream(stream, "stream")?;
        let mut s = object.lock_lifecycle();
        Ok(s.close()?)
    })
}

/// Closes (if needed) and frees a stream. NULL does nothing; a freed handle
/// is `AMIO_ERROR_INVALID_HANDLE`. Control thread; from inside a libamio
/// callback it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_free(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_free", || {
        not_in_callback("amio_stream_free")?;
        let removed = registry::remove(stream, "stream", "a stream", |o| {
            matches!(o, Object::Stream(_))
        })?;
        if let Some(Object::Stream(object)) = removed {
            object.shut();
            let _ = object.lock_lifecycle().close();
        }
        Ok(())
    })
}
