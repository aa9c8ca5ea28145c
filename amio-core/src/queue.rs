//! The queues between the control side and the engine: commands one way
//! (SPEC.md, "Commands"), messages (outcomes with the playspecs they
//! retire, events, meter windows) the other.

use crate::block_cache::CacheReader;
use crate::event::{Event, Outcome};
use crate::playspec::mix::{Prepared, Scratch};

/// A command as it travels through the command queue.
pub(crate) struct Command {
    /// Issue order, strictly increasing.
    pub(crate) seq: u64,
    /// The target stream frame, if any.
    pub(crate) at: Option<u64>,
    pub(crate) action: Action,
}

pub(crate) enum Action {
    /// schedule(playspec, insert_at, start_from).
    Schedule(Box<Change>),
    /// roll (true) / stop (false).
    SetRolling(bool),
    /// locate(position).
    Locate(i64),
}

/// A playspec change: the prepared playspec and where it goes in.
pub(crate) struct Change {
    pub(crate) prepared: Prepared,
    pub(crate) insert_at: i64,
    pub(crate) start_from: i64,
    /// Bigger mixing scratch for the engine, when this playspec needs more
    /// than the engine has; the engine swaps it for its own, whose old
    /// scratch then travels back here to be freed on the control side.
    pub(crate) scratch: Option<Box<Scratch>>,
    /// The audio side of the interface's block cache, sent with the first
    /// change that has a streamed clip; the engine keeps it.
    pub(crate) blocks: Option<CacheReader>,
}

impl Change {
    pub(crate) fn id(&self) -> u64 {
        self.prepared.id
    }
}

/// What the engine sends back to the control side, in stream-frame order.
pub(crate) enum Message {
    /// An outcome, with the playspec it retires (the superseded one, or the
    /// one an applied change replaced), to be freed on the control side.
    Outcome(Outcome, Box<Change>),
    /// Any other event.
    Event(Event),
    /// A live meter's window; its levels follow in the meter's own ring.
    Meter {
        /// The window's first stream frame.
        stream_frame: u64,
        /// Its length.
        frames: u64,
    },
}

/// Makes a ring of `capacity` slots whose memory is already mapped: every
/// slot is written once with `value()` (left uncommitted, so the consumer
/// never sees it), here on the control side. Otherwise the audio thread's
/// first pass through the ring would take a page fault per page it writes,
/// each a wait on the kernel. The values are never dropped: give ones that
/// own nothing.
pub(crate) fn mapped_ring<T>(
    capacity: usize,
    value: impl Fn() -> T,
) -> (rtrb::Producer<T>, rtrb::Consumer<T>) {
    let (mut tx, rx) = rtrb::RingBuffer::new(capacity);
    if let Ok(mut chunk) = tx.write_chunk_uninit(capacity) {
        let (a, b) = chunk.as_mut_slices();
        for slot in a.iter_mut().chain(b.iter_mut()) {
            slot.write(value());
        }
    }
    (tx, rx)
}
