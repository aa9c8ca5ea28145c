//! Commands from the control side to the engine (SPEC.md, "Commands").

use crate::mix::{Prepared, Scratch};

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
}

impl Change {
    pub(crate) fn id(&self) -> u64 {
        self.prepared.id
    }
}
