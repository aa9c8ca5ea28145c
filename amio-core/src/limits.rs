//! The largest sizes amio accepts, and allocation that fails with an error
//! instead of aborting.
//!
//! Every number a host gives that reaches an allocation or a loop bound is
//! checked against one of these limits (an [`crate::Error::Config`] naming
//! the field and the limit), and the buffers sized from them are allocated
//! fallibly, so no value of a valid type makes amio abort.

use crate::error::{Error, Result};

/// Input or output channels of an interface.
pub const MAX_CHANNELS: usize = 1024;

/// Frames the engine processes at once (`max_period`; a driver with longer
/// device periods works them in pieces).
pub const MAX_PERIOD: usize = 1 << 16;

/// Frames per second of an interface, and the highest rate a clip is
/// resampled to.
pub const MAX_FRAME_RATE: u32 = 1 << 20;

/// Capacity of each queue between the control side and the engine
/// (commands, outcomes, events).
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// The largest round-trip latency input tags can follow
/// (`Config::max_latency`), in frames: 87 s at 48 kHz.
pub const MAX_LATENCY: u64 = 1 << 22;

/// Captured samples buffered for the control side
/// (`Config::input_buffer_frames` × input channels): 1 GiB.
pub const MAX_INPUT_BUFFER_SAMPLES: usize = 1 << 28;

/// Refuses `value` above `limit` for `field`, with the error every limit
/// gives ("configuration: FIELD is VALUE, above amio's limit of LIMIT").
/// Drivers use it for their own options.
pub fn at_most<T: PartialOrd + std::fmt::Display>(
    field: &'static str,
    value: T,
    limit: T,
) -> Result<()> {
    if value > limit {
        return Err(Error::Config {
            field,
            rule: format!("is {value}, above amio's limit of {limit}"),
        });
    }
    Ok(())
}

/// `count` copies of `value` in a new vector, or an error naming `what`
/// when they do not fit in memory (never an abort). `None` is a count that
/// overflowed.
pub(crate) fn filled<T: Clone>(
    count: Option<usize>,
    value: T,
    what: &'static str,
) -> Result<Vec<T>> {
    let too_big = || Error::Argument {
        argument: what,
        rule: "it would not fit in memory".into(),
    };
    let count = count.ok_or_else(too_big)?;
    let mut v = Vec::new();
    v.try_reserve_exact(count).map_err(|_| too_big())?;
    v.resize(count, value);
    Ok(v)
}

/// Whether `count` values of `T` can be allocated now: a check before
/// handing a size to a library that aborts when allocation fails (rtrb's
/// ring buffers). The memory is given back at once.
pub(crate) fn can_allocate<T>(count: usize, what: &'static str) -> Result<()> {
    let mut probe: Vec<T> = Vec::new();
    probe.try_reserve_exact(count).map_err(|_| Error::Argument {
        argument: what,
        rule: format!("{count} items would not fit in memory"),
    })
}
