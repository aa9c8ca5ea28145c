//! Events: the queue they wait in, and reading them.
//!
//! Every holder of the stream's lock moves the events the engine sent into
//! [`EventQueue`] when it lets go (see `object`); the queue has a short lock
//! of its own that nothing holds while waiting, so polling never waits on a
//! driver being stopped.

use std::collections::VecDeque;
use std::ffi::c_char;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use amio_core::{Event, Meter, OutcomeKind};

use super::amio_stream;
use super::object::lock;
use super::wake::Wake;
use crate::args::fill;
use crate::registry;
use crate::status::{amio_status, check_out, guard, write_out};

// Items the docs link to.
#[cfg(doc)]
use super::{amio_stream_event_fd, amio_stream_set_event_callback};
#[cfg(doc)]
use crate::amio_stream_meter_levels;

/// Event kinds.
pub type amio_event_kind = u32;
/// A scheduled change was applied: `id`, `stream_frame`, `position`.
pub const AMIO_EVENT_APPLIED: amio_event_kind = 1;
/// A pending change was replaced by a newer one: `id`, `stream_frame`.
pub const AMIO_EVENT_SUPERSEDED: amio_event_kind = 2;
/// A change was pending when the stream closed: `id`, `stream_frame`.
pub const AMIO_EVENT_DROPPED: amio_event_kind = 3;
/// A position report: `stream_frame`, `id`, `position`, `rolling`.
pub const AMIO_EVENT_POSITION: amio_event_kind = 4;
/// xruns: `stream_frame`, `frames` new ones, `count` in all.
pub const AMIO_EVENT_XRUN: amio_event_kind = 5;
/// Captured input dropped: `stream_frame`, `frames`.
pub const AMIO_EVENT_INPUT_LOST: amio_event_kind = 6;
/// The latency for input tags: `stream_frame`, `frames` in use,
/// `count` asked for.
pub const AMIO_EVENT_LATENCY: amio_event_kind = 7;
/// Events dropped because they were not read: `count`.
pub const AMIO_EVENT_EVENTS_LOST: amio_event_kind = 8;
/// The driver failed: `fault_kind`, `message`.
pub const AMIO_EVENT_FATAL: amio_event_kind = 9;

/// The driver says something about how it runs: `count` is the notice
/// (`AMIO_NOTICE_*`), `message` describes it.
pub const AMIO_EVENT_NOTICE: amio_event_kind = 10;
/// Live meter levels for `frames` frames from `stream_frame`; read them
/// with [`amio_stream_meter_levels`] before the next poll.
pub const AMIO_EVENT_METER: amio_event_kind = 11;
/// Frames of a streamed clip whose data was not ready when they were
/// mixed, played as silence: `id` is the clip's file
/// (`amio_clip_stream_id`), `stream_frame` and `position` the first silent
/// frame's, `frames` how many. Nothing else in the mix changed.
pub const AMIO_EVENT_DATA_MISSING: amio_event_kind = 12;

/// Notices of `AMIO_EVENT_NOTICE`.
pub type amio_notice = u32;
/// The audio thread runs without real-time priority.
pub const AMIO_NOTICE_NO_REALTIME_PRIORITY: amio_notice = 0;
/// The device is not paced by a clock; the driver paces it.
pub const AMIO_NOTICE_PACED_BY_CLOCK: amio_notice = 1;

/// Fault kinds of `AMIO_EVENT_FATAL`.
pub type amio_fault_kind = u32;
/// The sound server went away.
pub const AMIO_FAULT_SERVER_GONE: amio_fault_kind = 1;
/// The device vanished.
pub const AMIO_FAULT_DEVICE_GONE: amio_fault_kind = 2;
/// The stream failed otherwise.
pub const AMIO_FAULT_STREAM_FAILED: amio_fault_kind = 3;
/// The driver's thread ended unexpectedly.
pub const AMIO_FAULT_THREAD_FAILED: amio_fault_kind = 4;

/// One event; the fields that do not apply to its kind are 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_event {
    /// `AMIO_EVENT_*`.
    pub kind: amio_event_kind,
    /// The playspec change's id (outcomes, positions); the streamed clip's
    /// file (data missing).
    pub id: u64,
    /// The stream frame the event refers to.
    pub stream_frame: u64,
    /// A position (outcomes, positions, data missing).
    pub position: i64,
    /// Rolling (positions).
    pub rolling: bool,
    /// A count (xruns in all, events lost, latency asked for).
    pub count: u64,
    /// A number of frames (new xruns, input lost, latency in use).
    pub frames: u64,
    /// `AMIO_FAULT_*` (fatal).
    pub fault_kind: amio_fault_kind,
    /// The driver's message (fatal), NUL-terminated.
    pub message: [c_char; 256],
}

/// Events taken from the engine and not yet polled, in order.
#[derive(Default)]
pub(super) struct EventQueue {
    queue: Mutex<VecDeque<Event>>,
    /// The last meter event polled, for [`amio_stream_meter_levels`].
    last_meter: Mutex<Option<Meter>>,
}

impl EventQueue {
    /// Appends `events`; returns whether the host is to be woken for them
    /// (some were added and no wake-up is pending). Decided under the
    /// queue's lock, as [`EventQueue::pop_or_rearm`] re-arms under it, so
    /// no wake-up is lost between the two.
    pub(super) fn push(&self, events: Vec<Event>, wake: &Wake) -> bool {
        if events.is_empty() {
            return false;
        }
        let mut queue = lock(&self.queue);
        queue.extend(events);
        !wake.signalled.load(Ordering::Acquire)
    }

    /// The next event, if one is queued.
    pub(super) fn pop(&self) -> Option<Event> {
        let mut queue = lock(&self.queue);
        let event = queue.pop_front();
        self.remember_meter(&event);
        event
    }

    /// The next event; when there is none, re-arms the host's wake-up
    /// (under the queue's lock).
    pub(super) fn pop_or_rearm(&self, wake: &Wake) -> Option<Event> {
        let mut queue = lock(&self.queue);
        let event = queue.pop_front();
        if event.is_none() {
            wake.rearm();
        }
        self.remember_meter(&event);
        event
    }

    /// Keeps a meter event for [`amio_stream_meter_levels`]; called under
    /// the queue's lock, so the last one polled is the one kept.
    fn remember_meter(&self, event: &Option<Event>) {
        if let Some(Event::Meter(m)) = event {
            *lock(&self.last_meter) = Some(m.clone());
        }
    }

    /// Whether events wait and the host has not been woken for them yet;
    /// if so, marks the wake-up as pending (under the queue's lock).
    pub(super) fn take_wake_up(&self, wake: &Wake) -> bool {
        let queue = lock(&self.queue);
        !queue.is_empty() && !wake.signalled.swap(true, Ordering::AcqRel)
    }

    /// The last meter event polled.
    pub(super) fn last_meter(&self) -> Option<Meter> {
        lock(&self.last_meter).clone()
    }
}

impl super::StreamObject {
    /// The last meter event polled.
    pub(crate) fn last_meter(&self) -> Option<Meter> {
        self.events.last_meter()
    }

    /// The next event: from the queue, else from the engine unless a
    /// lifecycle call holds the stream. Never waits on a join.
    fn poll_event(&self) -> Option<Event> {
        if let Some(event) = self.events.pop() {
            return Some(event);
        }
        // Releasing the stream moves what the engine sent into the queue.
        drop(
            self.lock_unless_lifecycle()
                .map(super::object::StreamGuard::quiet),
        );
        self.events.pop_or_rearm(&self.wake)
    }
}

fn c_event(e: &Event) -> amio_event {
    let mut out = amio_event {
        kind: 0,
        id: 0,
        stream_frame: 0,
        position: 0,
        rolling: false,
        count: 0,
        frames: 0,
        fault_kind: 0,
        message: [0; 256],
    };
    match e {
        Event::Outcome(o) => {
            out.kind = match o.kind {
                OutcomeKind::Applied => AMIO_EVENT_APPLIED,
                OutcomeKind::Superseded => AMIO_EVENT_SUPERSEDED,
                OutcomeKind::Dropped => AMIO_EVENT_DROPPED,
            };
            out.id = o.id;
            out.stream_frame = o.stream_frame;
            out.position = o.position;
        }
        Event::Position(r) => {
            out.kind = AMIO_EVENT_POSITION;
            out.id = r.id;
            out.stream_frame = r.stream_frame;
            out.position = r.position;
            out.rolling = r.rolling;
        }
        Event::Xrun {
            stream_frame,
            new,
            count,
        } => {
            out.kind = AMIO_EVENT_XRUN;
            out.stream_frame = *stream_frame;
            out.frames = *new;
            out.count = *count;
        }
        Event::InputLost {
            stream_frame,
            frames,
        } => {
            out.kind = AMIO_EVENT_INPUT_LOST;
            out.stream_frame = *stream_frame;
            out.frames = *frames;
        }
        Event::Latency {
            stream_frame,
            frames,
            requested,
        } => {
            out.kind = AMIO_EVENT_LATENCY;
            out.stream_frame = *stream_frame;
            out.frames = *frames;
            out.count = *requested;
        }
        Event::EventsLost { count } => {
            out.kind = AMIO_EVENT_EVENTS_LOST;
            out.count = *count;
        }
        Event::Notice {
            stream_frame,
            notice,
        } => {
            out.kind = AMIO_EVENT_NOTICE;
            out.stream_frame = *stream_frame;
            out.count = *notice as u64;
            fill(&mut out.message, notice.describe());
        }
        Event::Meter(m) => {
            out.kind = AMIO_EVENT_METER;
            out.stream_frame = m.stream_frame;
            out.frames = m.frames;
        }
        Event::DataMissing {
            stream_frame,
            file,
            position,
            frames,
        } => {
            out.kind = AMIO_EVENT_DATA_MISSING;
            out.id = *file;
            out.stream_frame = *stream_frame;
            out.position = *position;
            out.frames = *frames;
        }
        Event::Fatal(f) => {
            out.kind = AMIO_EVENT_FATAL;
            out.fault_kind = f.kind as u32;
            fill(&mut out.message, &f.message);
        }
        _ => {}
    }
    out
}

/// Takes the next event, if any: writes it to `event_out` and sets
/// `*got_out` to true, or sets `*got_out` to false when there is none (which
/// also re-arms the wake-up of [`amio_stream_event_fd`] and
/// [`amio_stream_set_event_callback`]). Works after close.
///
/// Any thread, also from inside a libamio callback while another thread
/// starts, stops, closes or frees the stream: it never waits for a lock
/// that those calls hold while the driver stops. Events that the engine
/// sends while such a call runs become readable when it returns.
///
/// # Safety
/// `event_out` and `got_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_poll_event(
    stream: *mut amio_stream,
    event_out: *mut amio_event,
    got_out: *mut bool,
) -> amio_status {
    guard("amio_stream_poll_event", || {
        check_out(event_out, "event_out")?;
        check_out(got_out, "got_out")?;
        let event = registry::stream(stream, "stream")?.poll_event();
        // SAFETY: both checked writable above.
        unsafe {
            if let Some(e) = &event {
                write_out(event_out, "event_out", c_event(e))?;
            }
            write_out(got_out, "got_out", event.is_some())
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::status::AMIO_OK;
    use crate::stream::transport::AMIO_NOW;
    use crate::{amio_playspec_free, amio_playspec_new, amio_stream_free, amio_stream_open};

    fn poll(handle: usize) -> Option<amio_event> {
        let mut event = std::mem::MaybeUninit::<amio_event>::zeroed();
        let mut got = false;
        // SAFETY: both out-pointers are valid.
        let status = unsafe {
            amio_stream_poll_event(handle as *mut amio_stream, event.as_mut_ptr(), &mut got)
        };
        assert_eq!(status, AMIO_OK);
        // SAFETY: zeroed is a valid amio_event, and it was written if got.
        got.then(|| unsafe { event.assume_init() })
    }

    #[test]
    fn polling_never_waits_for_a_lifecycle_call_and_sees_its_events_after() {
        let mut stream = std::ptr::null_mut();
        let mut playspec = std::ptr::null_mut();
        let mut id = 0;
        // SAFETY: valid strings and out-pointers; NULL config for defaults.
        unsafe {
            assert_eq!(
                amio_stream_open(c"null".as_ptr(), std::ptr::null(), &mut stream),
                AMIO_OK
            );
            assert_eq!(amio_playspec_new(&mut playspec), AMIO_OK);
            assert_eq!(
                crate::amio_stream_schedule(stream, playspec, 0, 0, AMIO_NOW, &mut id),
                AMIO_OK
            );
        }
        let handle = stream as usize;
        let object = registry::stream(stream, "stream").ok().unwrap();
        // A lifecycle call holds the stream (as close does while it joins
        // the driver's thread): a poll from another thread returns at once.
        let mut held = object.lock_lifecycle();
        let (tx, rx) = mpsc::channel();
        let poller = std::thread::spawn(move || tx.send(poll(handle).is_some()).unwrap());
        let got = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a poll waited for the lifecycle call");
        assert!(!got);
        held.close().unwrap();
        // The change the close dropped is readable once it lets go.
        drop(held);
        poller.join().unwrap();
        let dropped = poll(handle).unwrap();
        assert_eq!((dropped.kind, dropped.id), (AMIO_EVENT_DROPPED, id));
        assert!(poll(handle).is_none());
        drop(object);
        assert_eq!(amio_stream_free(stream), AMIO_OK);
        assert_eq!(amio_playspec_free(playspec), AMIO_OK);
    }
}
