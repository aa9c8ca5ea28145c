//! State shared between the control half, the audio half and the driver:
//! atomics only, so no side ever blocks another.

use std::cell::UnsafeCell;
use std::sync::atomic::{fence, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::event::{DriverFault, FaultKind, Notice, PositionReport};

/// The latest position report, written by the audio thread and read by any
/// thread: a sequence lock, wait-free for the writer.
#[derive(Default)]
pub(crate) struct PositionCell {
    seq: AtomicU64,
    stream_frame: AtomicU64,
    id: AtomicU64,
    position: AtomicI64,
    rolling: AtomicU8,
}

impl PositionCell {
    /// Audio thread only (one writer).
    pub(crate) fn publish(&self, r: PositionReport) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.stream_frame.store(r.stream_frame, Ordering::Relaxed);
        self.id.store(r.id, Ordering::Relaxed);
        self.position.store(r.position, Ordering::Relaxed);
        self.rolling.store(u8::from(r.rolling), Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// Any thread; retries while a write is under way.
    pub(crate) fn read(&self) -> PositionReport {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let r = PositionReport {
                stream_frame: self.stream_frame.load(Ordering::Relaxed),
                id: self.id.load(Ordering::Relaxed),
                position: self.position.load(Ordering::Relaxed),
                rolling: self.rolling.load(Ordering::Relaxed) != 0,
            };
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return r;
            }
        }
    }
}

const FAULT_EMPTY: u8 = 0;
const FAULT_WRITING: u8 = 1;
const FAULT_READY: u8 = 2;
const FAULT_TAKEN: u8 = 3;
const FAULT_MESSAGE_BYTES: usize = 256;

/// The first fatal error a driver reports. Writing it is async-signal-safe
/// (atomics and a copy into a fixed buffer), as JACK's shutdown callback
/// requires; later reports are ignored.
pub(crate) struct FaultSlot {
    state: AtomicU8,
    kind: AtomicU8,
    len: AtomicUsize,
    message: UnsafeCell<[u8; FAULT_MESSAGE_BYTES]>,
}

// SAFETY: `message` is written only by the one thread that moved `state` from
// EMPTY to WRITING, and read only after `state` is READY (acquire/release).
unsafe impl Sync for FaultSlot {}

impl Default for FaultSlot {
    fn default() -> FaultSlot {
        FaultSlot {
            state: AtomicU8::new(FAULT_EMPTY),
            kind: AtomicU8::new(0),
            len: AtomicUsize::new(0),
            message: UnsafeCell::new([0; FAULT_MESSAGE_BYTES]),
        }
    }
}

impl FaultSlot {
    fn set(&self, kind: FaultKind, message: &str) {
        if self
            .state
            .compare_exchange(
                FAULT_EMPTY,
                FAULT_WRITING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return;
        }
        let mut len = message.len().min(FAULT_MESSAGE_BYTES);
        while !message.is_char_boundary(len) {
            len -= 1;
        }
        // SAFETY: this thread won the EMPTY -> WRITING exchange, so it is the
        // only writer, and readers wait for READY.
        let buffer = unsafe { &mut *self.message.get() };
        buffer[..len].copy_from_slice(&message.as_bytes()[..len]);
        self.kind.store(kind as u8, Ordering::Relaxed);
        self.len.store(len, Ordering::Relaxed);
        self.state.store(FAULT_READY, Ordering::Release);
    }

    /// The fault, once, on the control side.
    fn take(&self) -> Option<DriverFault> {
        if self
            .state
            .compare_exchange(
                FAULT_READY,
                FAULT_TAKEN,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return None;
        }
        let len = self.len.load(Ordering::Relaxed);
        // SAFETY: READY was observed with acquire ordering, so the writer has
        // finished and will never write again.
        let buffer = unsafe { &*self.message.get() };
        let bytes = &buffer[..len];
        Some(DriverFault {
            kind: FaultKind::from_u8(self.kind.load(Ordering::Relaxed)),
            message: String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) >= FAULT_READY
    }
}

/// Everything the three parties share.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) position: PositionCell,
    /// Commands the engine has applied (the control side subtracts this from
    /// the commands it sent to know how many are in flight).
    pub(crate) commands_done: AtomicU64,
    /// Xruns reported by the driver.
    pub(crate) xruns: AtomicU64,
    pub(crate) capture_latency: AtomicU64,
    pub(crate) playback_latency: AtomicU64,
    pub(crate) extra_latency: AtomicI64,
    /// Notices reported by the driver, one bit each.
    pub(crate) notices: AtomicU64,
    /// Events the engine dropped because the event queue was full.
    pub(crate) events_lost: AtomicU64,
    pub(crate) fault: FaultSlot,
}

impl Shared {
    pub(crate) fn take_fault(&self) -> Option<DriverFault> {
        self.fault.take()
    }
}

/// A driver's handle for reporting to the engine and the control side.
///
/// Every method is lock-free and allocation-free, safe from the real-time
/// thread, from a driver's notification thread, and from a signal-handler-like
/// context such as JACK's shutdown callback. Inside a driver plugin the
/// reports travel to the host through the plugin's C function table.
#[derive(Clone)]
pub struct Notifier(Reporter);

#[derive(Clone)]
enum Reporter {
    Shared(Arc<Shared>),
    Host(crate::plugin::HostReporter),
}

impl Notifier {
    pub(crate) fn shared(shared: Arc<Shared>) -> Notifier {
        Notifier(Reporter::Shared(shared))
    }

    pub(crate) fn host(reporter: crate::plugin::HostReporter) -> Notifier {
        Notifier(Reporter::Host(reporter))
    }

    /// Reports one xrun. The engine turns it into an [`crate::Event::Xrun`]
    /// at the start of the next period it processes.
    pub fn xrun(&self) {
        match &self.0 {
            Reporter::Shared(s) => {
                s.xruns.fetch_add(1, Ordering::Relaxed);
            }
            Reporter::Host(h) => h.xrun(),
        }
    }

    /// Reports the driver's current capture and playback latency in frames.
    /// The engine uses the new sum for input tags from its next period on.
    pub fn set_latency(&self, capture: u64, playback: u64) {
        match &self.0 {
            Reporter::Shared(s) => {
                s.capture_latency.store(capture, Ordering::Relaxed);
                s.playback_latency.store(playback, Ordering::Relaxed);
            }
            Reporter::Host(h) => h.set_latency(capture, playback),
        }
    }

    /// Reports a [`Notice`]; the engine turns it into an
    /// [`crate::Event::Notice`] at its next period, once per kind.
    pub fn notice(&self, notice: Notice) {
        match &self.0 {
            Reporter::Shared(s) => {
                s.notices.fetch_or(notice.bit(), Ordering::Relaxed);
            }
            Reporter::Host(h) => h.notice(notice),
        }
    }

    /// Reports a fatal error: the stream no longer runs. Only the first
    /// report is kept; `message` is cut to 256 bytes.
    pub fn fatal(&self, kind: FaultKind, message: &str) {
        match &self.0 {
            Reporter::Shared(s) => s.fault.set(kind, message),
            Reporter::Host(h) => h.fatal(kind, message),
        }
    }

    /// Whether a fatal error has been reported.
    pub fn has_failed(&self) -> bool {
        match &self.0 {
            Reporter::Shared(s) => s.fault.is_set(),
            Reporter::Host(h) => h.has_failed(),
        }
    }
}
