//! Waking a host's event loop when events wait: a descriptor to poll
//! ([`amio_stream_event_fd`]) or a callback ([`amio_stream_set_event_callback`]),
//! served by one watcher thread per stream.
//!
//! The watcher sleeps in `poll` on the engine's own wake-up descriptor
//! (written at the end of a period, or by a fatal driver error) and on a
//! pipe of its own, the poke pipe, written when a call moved events into
//! the queue without the engine writing (closing reports pending changes
//! dropped) and when the stream is freed: no timer. When events wait it
//! wakes the host once, until a poll finds none.

use std::ffi::c_void;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::amio_stream;
use super::callback::{in_callback, CallbackThread, UserPtr};
use super::object::lock;
use super::StreamObject;
use crate::registry;
use crate::status::{amio_status, check_out, guard, write_out, Failure, AMIO_ERROR_INVALID_HANDLE};

// Items the docs link to.
#[cfg(doc)]
use super::amio_stream_poll_event;

/// Called from a libamio thread when events become available to poll; see
/// [`amio_stream_set_event_callback`].
pub type amio_event_callback = Option<unsafe extern "C" fn(user: *mut c_void)>;

/// The descriptors, callback and watcher of a stream's wake-up.
#[derive(Default)]
struct WakeState {
    /// The host's pipe (read, write), once asked for.
    pipe: Option<(RawFd, RawFd)>,
    callback: amio_event_callback,
    user: Option<UserPtr>,
    watcher: Option<JoinHandle<()>>,
    /// The watcher's poke pipe (read, write).
    poke: Option<(RawFd, RawFd)>,
}

/// Waking the host's loop.
#[derive(Default)]
pub(super) struct Wake {
    state: Mutex<WakeState>,
    /// Set when the host was woken and has not yet polled until none.
    pub(super) signalled: AtomicBool,
    /// Set when the stream is being freed: the watcher ends.
    quit: AtomicBool,
}

/// Makes a non-blocking, close-on-exec pipe (read, write).
fn pipe(context: &str) -> Result<(RawFd, RawFd), Failure> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: a valid array of two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(Failure::from(amio_core::Error::Io {
            context: context.into(),
            source: std::io::Error::last_os_error(),
        }));
    }
    Ok((fds[0], fds[1]))
}

/// Writes one byte to a non-blocking pipe of ours; a full pipe is fine
/// (a wake-up is waiting already).
fn write_byte(fd: RawFd) {
    let byte = 1u8;
    // SAFETY: `fd` is one of our own open pipes (callers hold it open).
    unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
}

/// Empties a non-blocking pipe of ours.
fn drain(fd: RawFd) {
    let mut buf = [0u8; 64];
    // SAFETY: `fd` is one of our own open non-blocking pipes.
    while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

impl Wake {
    /// Re-arms the host's wake-up after a poll found nothing: empties its
    /// pipe. Called under the event queue's lock.
    pub(super) fn rearm(&self) {
        if !self.signalled.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some((read_fd, _)) = lock(&self.state).pipe {
            drain(read_fd);
        }
    }

    /// Asks the watcher, if there is one, to look at the event queue.
    pub(super) fn poke(&self) {
        if let Some((_, write_fd)) = lock(&self.state).poke {
            write_byte(write_fd);
        }
    }

    /// Wakes the host: a byte in its pipe, a call of its callback. The
    /// watcher's thread.
    fn signal(&self) {
        let (pipe, callback, user) = {
            let w = lock(&self.state);
            (w.pipe, w.callback, w.user)
        };
        if let Some((_, write_fd)) = pipe {
            // Open until the watcher is joined (`shut` closes it after).
            write_byte(write_fd);
        }
        if let (Some(cb), Some(user)) = (callback, user) {
            // SAFETY: the host's callback, documented to be called from a
            // libamio thread.
            in_callback(CallbackThread::Watcher, || unsafe { cb(user.get()) });
        }
    }
}

impl StreamObject {
    /// The engine's wake-up descriptor (made on first call).
    fn engine_fd(&self, function: &str) -> Result<RawFd, Failure> {
        let mut s = self.lock_for(function)?;
        Ok(s.interface_mut().wake_fd()?)
    }

    /// The watcher's loop (see the module's docs).
    fn watch(self: Arc<StreamObject>, engine_fd: RawFd, poke_fd: RawFd) {
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: engine_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: poke_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd structs; both descriptors stay open
            // until this thread has been joined (`shut` joins before closing
            // the poke pipe; the engine's descriptor lives as long as the
            // stream, which this thread keeps alive through its Arc).
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            if self.wake.quit.load(Ordering::Acquire) {
                return;
            }
            if fds[1].revents != 0 {
                drain(poke_fd);
            }
            if fds[0].revents != 0 {
                // Re-arm the engine's descriptor; letting go of the stream
                // moves what the engine sent into the queue. Nothing joins
                // this thread while the stream is locked (free shuts the
                // watcher down first), so it may wait for the lock.
                if let Ok(mut s) = self.lock_for("the event watcher") {
                    s.interface_mut().clear_wake();
                    drop(s.quiet());
                }
            }
            if self.events.take_wake_up(&self.wake) {
                self.wake.signal();
            }
        }
    }

    /// Starts the watcher unless it runs.
    fn ensure_watcher(
        self: &Arc<StreamObject>,
        state: &mut WakeState,
        engine_fd: RawFd,
    ) -> Result<(), Failure> {
        if state.watcher.is_some() {
            return Ok(());
        }
        if self.wake.quit.load(Ordering::Acquire) {
            return Err(Failure::new(
                AMIO_ERROR_INVALID_HANDLE,
                "the stream is being freed",
            ));
        }
        let (poke_read, poke_write) = pipe("making the event watcher's pipe")?;
        // A first look at the queue: events may wait already.
        write_byte(poke_write);
        let me = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name("amio-events".into())
            .spawn(move || me.watch(engine_fd, poke_read));
        match handle {
            Ok(handle) => {
                state.watcher = Some(handle);
                state.poke = Some((poke_read, poke_write));
                Ok(())
            }
            Err(e) => {
                for fd in [poke_read, poke_write] {
                    // SAFETY: the pipe made above, used by no one.
                    unsafe { libc::close(fd) };
                }
                Err(Failure::from(amio_core::Error::Io {
                    context: "starting the event watcher".into(),
                    source: e,
                }))
            }
        }
    }

    /// Stops the watcher and closes the pipes (before the stream is freed).
    /// Control thread, not holding the stream's lock.
    pub(super) fn shut(&self) {
        self.wake.quit.store(true, Ordering::Release);
        let (watcher, pipe, poke) = {
            let mut w = lock(&self.wake.state);
            (w.watcher.take(), w.pipe.take(), w.poke.take())
        };
        if let Some((_, write_fd)) = poke {
            // The watcher's own pipe, still open.
            write_byte(write_fd);
        }
        if let Some(handle) = watcher {
            let _ = handle.join();
        }
        for (r, w) in [pipe, poke].into_iter().flatten() {
            // SAFETY: our own descriptors, closed once, after the watcher
            // that used them has ended and out of the state, so no one else
            // reaches them.
            unsafe {
                libc::close(r);
                libc::close(w);
            }
        }
    }
}

/// Writes a file descriptor that becomes readable when events are waiting
/// (a libamio thread watches the stream). Poll it in the host's event loop,
/// then call [`amio_stream_poll_event`] until it reports none, which
/// also drains the descriptor. The descriptor belongs to the stream: do not
/// close it. Control thread.
///
/// # Safety
/// `fd_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_event_fd(
    stream: *mut amio_stream,
    fd_out: *mut i32,
) -> amio_status {
    guard("amio_stream_event_fd", || {
        check_out(fd_out, "fd_out")?;
        let object = registry::stream(stream, "stream")?;
        let engine_fd = object.engine_fd("amio_stream_event_fd")?;
        let mut state = lock(&object.wake.state);
        let fd = match state.pipe {
            Some((r, _)) => r,
            None => {
                let (r, w) = pipe("making the event pipe")?;
                state.pipe = Some((r, w));
                r
            }
        };
        object.ensure_watcher(&mut state, engine_fd)?;
        // SAFETY: checked writable above.
        unsafe { write_out(fd_out, "fd_out", fd) }
    })
}

/// Sets a callback that a libamio thread calls when events become waiting
/// (once, until a poll finds none); NULL removes it. The callback should
/// only wake the host's loop; it may call [`amio_stream_poll_event`]
/// but not free the stream. Control thread.
#[no_mangle]
pub extern "C" fn amio_stream_set_event_callback(
    stream: *mut amio_stream,
    callback: amio_event_callback,
    user: *mut c_void,
) -> amio_status {
    guard("amio_stream_set_event_callback", || {
        let object = registry::stream(stream, "stream")?;
        let engine_fd = object.engine_fd("amio_stream_set_event_callback")?;
        let mut state = lock(&object.wake.state);
        state.callback = callback;
        state.user = Some(UserPtr(user));
        object.ensure_watcher(&mut state, engine_fd)
    })
}
