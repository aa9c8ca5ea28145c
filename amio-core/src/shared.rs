//! State shared between the control half, the audio half and the driver:
//! atomics only, so no side ever blocks another.

use std::cell::UnsafeCell;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::event::{DriverFault, FaultKind, PositionReport};

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
    pub(crate) fn set(&self, kind: FaultKind, message: &str) {
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

    pub(crate) fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) >= FAULT_READY
    }
}

/// The control side's wake-up: a file descriptor (one end of a
/// non-blocking Unix socket pair) that the engine makes readable when it
/// has sent something, so a host can sleep in `poll`/an event loop instead
/// of polling on a timer.
///
/// The engine signals at most once per [`Wake::rearm`]: the control side
/// re-arms, then drains everything, so nothing sent after the drain started
/// goes unnoticed and the audio thread makes one non-blocking one-byte
/// `write` per drain at most, never more than one per period.
pub(crate) struct Wake {
    /// The pair (read end, write end), made on first use.
    pair: OnceLock<(UnixStream, UnixStream)>,
    /// Whether the next signal should write.
    armed: AtomicBool,
}

impl Default for Wake {
    fn default() -> Wake {
        Wake {
            pair: OnceLock::new(),
            armed: AtomicBool::new(true),
        }
    }
}

impl Wake {
    /// The descriptor to watch, made on first use. Control side.
    pub(crate) fn fd(&self) -> std::io::Result<RawFd> {
        if let Some((read, _)) = self.pair.get() {
            return Ok(read.as_raw_fd());
        }
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        // Another control-side call may have made one first: keep that one.
        let _ = self.pair.set((read, write));
        self.pair
            .get()
            .map(|(read, _)| read.as_raw_fd())
            .ok_or_else(|| std::io::Error::other("the wake-up descriptor was not kept"))
    }

    /// Makes the descriptor readable if the control side is waiting (armed).
    ///
    /// Real-time safe and async-signal-safe: atomics and at most one
    /// non-blocking `write` of one byte.
    pub(crate) fn signal(&self) {
        if let Some((_, write)) = self.pair.get() {
            if self.armed.swap(false, Ordering::AcqRel) {
                write_wake(write);
            }
        }
    }

    /// Makes the descriptor readable whether or not it is armed (a fatal
    /// driver error must always wake the host). Async-signal-safe.
    pub(crate) fn force(&self) {
        if let Some((_, write)) = self.pair.get() {
            self.armed.store(false, Ordering::Release);
            write_wake(write);
        }
    }

    /// Empties the descriptor and arms it again. Control side, before
    /// draining events and input.
    pub(crate) fn rearm(&self) {
        let Some((read, _)) = self.pair.get() else {
            return;
        };
        let mut buf = [0u8; 64];
        let mut read = read;
        // Non-blocking: ends when empty (WouldBlock) or on any error.
        while matches!(read.read(&mut buf), Ok(n) if n > 0) {}
        self.armed.store(true, Ordering::Release);
    }
}

/// One byte to the wake-up socket. A full socket (WouldBlock) already
/// means "readable": ignored.
fn write_wake(mut write: &UnixStream) {
    let _ = write.write(&[1]);
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
    /// The id of the change waiting for its insert point (0: none), as of
    /// the last period (for the reader of streamed clips).
    pub(crate) pending_change: AtomicU64,
    pub(crate) fault: FaultSlot,
    /// The control side's wake-up.
    pub(crate) wake: Wake,
}

impl Shared {
    pub(crate) fn take_fault(&self) -> Option<DriverFault> {
        self.fault.take()
    }
}

/// A reader of the engine's latest position report, usable from any thread
/// without a lock (the report is a sequence lock written by the audio
/// thread). Cheap to clone.
#[derive(Clone)]
pub struct PositionReader(Arc<Shared>);

impl PositionReader {
    pub(crate) fn new(shared: Arc<Shared>) -> PositionReader {
        PositionReader(shared)
    }

    /// The latest position report (updated after every period).
    pub fn read(&self) -> PositionReport {
        self.0.position.read()
    }

    /// The id of the change waiting for its insert point after the last
    /// period (0: none).
    pub(crate) fn pending_change(&self) -> u64 {
        self.0.pending_change.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for PositionReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PositionReader").field(&self.read()).finish()
    }
}
