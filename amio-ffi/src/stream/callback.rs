//! libamio's callbacks into the host, and the rule for calls made from
//! inside them: a call that would wait for the callback's own thread is
//! refused with `AMIO_ERROR_IN_CALLBACK` instead of deadlocking.

use std::cell::Cell;
use std::ffi::c_void;

use crate::status::{Failure, AMIO_ERROR_IN_CALLBACK};

/// Receives each period's output (null backend, paced and offline modes),
/// on the driver's thread: the first frame's stream frame, `frames`
/// interleaved frames.
pub type amio_output_callback = Option<
    unsafe extern "C" fn(user: *mut c_void, stream_frame: u64, samples: *const f32, frames: usize),
>;

/// Fills each period's input (null backend, paced and offline modes), on
/// the driver's thread.
pub type amio_input_callback = Option<
    unsafe extern "C" fn(user: *mut c_void, stream_frame: u64, samples: *mut f32, frames: usize),
>;

/// Which of libamio's threads runs a host callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CallbackThread {
    /// The driver's thread (output and input callbacks): start, pause,
    /// close and free join it.
    Driver,
    /// The event watcher (the event callback): free joins it.
    Watcher,
}

thread_local! {
    /// Set on a libamio thread while it runs one of the host's callbacks.
    static IN_CALLBACK: Cell<Option<CallbackThread>> = const { Cell::new(None) };
}

/// Runs a host callback on `thread`, marking the thread as inside one.
pub(super) fn in_callback<R>(thread: CallbackThread, f: impl FnOnce() -> R) -> R {
    IN_CALLBACK.with(|c| c.set(Some(thread)));
    let r = f();
    IN_CALLBACK.with(|c| c.set(None));
    r
}

/// The libamio thread whose callback the calling thread is running, if any.
pub(super) fn current() -> Option<CallbackThread> {
    IN_CALLBACK.with(Cell::get)
}

/// Refuses `function` on a thread that is running one of libamio's
/// callbacks: it would wait for that very thread (a deadlock).
pub(super) fn not_in_callback(function: &str) -> Result<(), Failure> {
    if current().is_some() {
        return Err(Failure::new(
            AMIO_ERROR_IN_CALLBACK,
            format!("{function} is not allowed from inside a libamio callback (it would wait for the callback's own thread); call it from the control thread"),
        ));
    }
    Ok(())
}

/// A pointer a host gave us, to pass back from our threads.
#[derive(Clone, Copy)]
pub(super) struct UserPtr(pub(super) *mut c_void);
// SAFETY: we only hand it back to the host's callbacks, which the host
// wrote to be called from our threads.
unsafe impl Send for UserPtr {}
// SAFETY: as above.
unsafe impl Sync for UserPtr {}

impl UserPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    pub(super) fn get(self) -> *mut c_void {
        self.0
    }
}
