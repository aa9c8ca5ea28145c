//! The stream as the registry holds it, and who may lock it when.
//!
//! Three ways to reach the [`Stream`]:
//! - [`StreamObject::lock_lifecycle`] for start, pause, close and free,
//!   which hold the lock while the driver stops and joins its thread;
//! - [`StreamObject::lock_for`] for the short calls (commands, input, the
//!   wake-up descriptor), which never wait for another thread while they
//!   hold it;
//! - [`StreamObject::lock_unless_lifecycle`] for reading events: it waits
//!   while a short call holds the lock and gives up while a lifecycle call
//!   holds it or waits for it, so it never waits on a join.
//!
//! Every release moves the events the engine sent into the stream's event
//! queue (which has a short lock of its own), so they are readable without
//! the stream's lock.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};

use amio_core::{NullControl, PositionReader, Stream, StreamInfo};

use super::amio_stream;
use super::callback::{self, CallbackThread};
use super::events::EventQueue;
use super::wake::Wake;
use crate::registry;
use crate::status::{Failure, AMIO_ERROR_CLOSED, AMIO_ERROR_IN_CALLBACK};

/// Locks a mutex, ignoring poisoning: every entry point catches panics,
/// and the data behind these locks stays consistent across one.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A stream as the registry holds it.
pub(crate) struct StreamObject {
    /// The stream. Lifecycle calls hold it while the driver stops.
    stream: Mutex<Stream>,
    /// Lifecycle calls holding or waiting for `stream`; `released` is
    /// notified whenever `stream` is released or that count changes.
    lifecycle: Mutex<usize>,
    released: Condvar,
    /// The engine's position, readable from any thread without a lock.
    pub(super) position: PositionReader,
    /// What the driver opened (it never changes).
    pub(super) info: StreamInfo,
    /// The null backend's control handle.
    pub(super) null: Option<NullControl>,
    /// Events taken from the engine, not yet polled.
    pub(super) events: EventQueue,
    /// Waking the host's loop.
    pub(super) wake: Wake,
}

/// The stream, locked. Releasing it moves the engine's events into the
/// event queue (and pokes the watcher if the host is to be woken).
pub(super) struct StreamGuard<'a> {
    object: &'a StreamObject,
    stream: Option<MutexGuard<'a, Stream>>,
    lifecycle: bool,
    /// Whether to poke the watcher for the events moved (not when the
    /// holder is the watcher, or a poll that reads them right away).
    poke: bool,
}

impl std::ops::Deref for StreamGuard<'_> {
    type Target = Stream;
    fn deref(&self) -> &Stream {
        self.stream.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for StreamGuard<'_> {
    fn deref_mut(&mut self) -> &mut Stream {
        self.stream.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl StreamGuard<'_> {
    /// Keeps the events moved at release from poking the watcher.
    pub(super) fn quiet(mut self) -> Self {
        self.poke = false;
        self
    }
}

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        let mut wanted = false;
        if let Some(mut stream) = self.stream.take() {
            let events = stream.interface_mut().events();
            wanted = self.object.events.push(events, &self.object.wake);
            drop(stream);
        }
        if wanted && self.poke {
            self.object.wake.poke();
        }
        let mut lifecycle = lock(&self.object.lifecycle);
        if self.lifecycle {
            *lifecycle -= 1;
        }
        drop(lifecycle);
        self.object.released.notify_all();
    }
}

impl StreamObject {
    pub(super) fn new(stream: Stream, null: Option<NullControl>) -> StreamObject {
        let interface = stream.interface();
        let (position, info) = (interface.position_reader(), interface.info().clone());
        StreamObject {
            position,
            info,
            stream: Mutex::new(stream),
            lifecycle: Mutex::new(0),
            released: Condvar::new(),
            null,
            events: EventQueue::default(),
            wake: Wake::default(),
        }
    }

    fn guard<'a>(&'a self, stream: MutexGuard<'a, Stream>, lifecycle: bool) -> StreamGuard<'a> {
        StreamGuard {
            object: self,
            stream: Some(stream),
            lifecycle,
            poke: true,
        }
    }

    /// The stream for start, pause, close or free: waits for it, and
    /// while waiting and holding it keeps event readers off its lock.
    pub(super) fn lock_lifecycle(&self) -> StreamGuard<'_> {
        *lock(&self.lifecycle) += 1;
        self.released.notify_all();
        let stream = lock(&self.stream);
        self.guard(stream, true)
    }

    /// The stream, unless a lifecycle call holds it or waits for it (then
    /// `None`, at once); waits while a short call holds it.
    pub(super) fn lock_unless_lifecycle(&self) -> Option<StreamGuard<'_>> {
        let mut lifecycle = lock(&self.lifecycle);
        loop {
            if *lifecycle > 0 {
                return None;
            }
            match self.stream.try_lock() {
                Ok(stream) => return Some(self.guard(stream, false)),
                Err(TryLockError::Poisoned(e)) => return Some(self.guard(e.into_inner(), false)),
                Err(TryLockError::WouldBlock) => {
                    lifecycle = self
                        .released
                        .wait(lifecycle)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// The stream for a short call (`function`). From a control thread it
    /// waits for the stream; from the driver's thread (inside an output or
    /// input callback) it is refused while a lifecycle call holds the
    /// stream, since that call waits for this very thread.
    pub(super) fn lock_for(&self, function: &str) -> Result<StreamGuard<'_>, Failure> {
        if callback::current() == Some(CallbackThread::Driver) {
            return self.lock_unless_lifecycle().ok_or_else(|| {
                Failure::new(
                    AMIO_ERROR_IN_CALLBACK,
                    format!("{function} from inside an output or input callback while another thread starts, stops, closes or frees the stream (which waits for the callback's thread); call it from the control thread"),
                )
            });
        }
        let stream = lock(&self.stream);
        Ok(self.guard(stream, false))
    }
}

/// Runs `f` on a live stream (a short call named `function`).
pub(super) fn with_stream<R>(
    stream: *const amio_stream,
    function: &str,
    f: impl FnOnce(&StreamObject, &mut Stream) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let object = registry::stream(stream, "stream")?;
    let mut s = object.lock_for(function)?;
    f(&object, &mut s)
}

/// Refuses commands once the stream is closed.
pub(super) fn open_for_commands(s: &mut Stream) -> Result<(), Failure> {
    if s.interface().is_closed() {
        Err(Failure::new(AMIO_ERROR_CLOSED, "the stream is closed"))
    } else {
        Ok(())
    }
}
