//! The transport and the timeline: scheduling playspecs, rolling,
//! stopping and locating the transport, the extra latency, and reading the
//! position.

use amio_core::Stream;

use super::amio_stream;
use super::object::{open_for_commands, with_stream};
use crate::playspec::amio_playspec;
use crate::registry;
use crate::status::{amio_status, check_out, guard, write_out};

// Items the docs link to.
#[cfg(doc)]
use super::{amio_stream_pause, amio_stream_start, amio_stream_stop};

/// `at` meaning "at the start of the next period", not at a given stream
/// frame.
pub const AMIO_NOW: u64 = u64::MAX;

fn target(at: u64) -> Option<u64> {
    (at != AMIO_NOW).then_some(at)
}

/// The stream's interface for a command (refused once closed).
fn commands(s: &mut Stream) -> Result<&mut amio_core::Interface, crate::status::Failure> {
    open_for_commands(s)?;
    Ok(s.interface_mut())
}

/// Where the engine is (see `PositionReport` in docs/engine.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct amio_position {
    /// The next stream frame to process.
    pub stream_frame: u64,
    /// The current playspec's id (0: the initial empty one).
    pub id: u64,
    /// The next frame's position.
    pub position: i64,
    /// Whether the transport rolls.
    pub rolling: bool,
}

/// Schedules a playspec change: once `p >= insert_at` the playspec becomes
/// current and `p = start_from + (p - insert_at)`. The command takes effect
/// at stream frame `at` (or `AMIO_NOW`: the next period). Writes the
/// change's id (strictly increasing from 1) to `id_out`. A playspec whose
/// entries do not fit the stream (gain count, frame rate) is
/// `AMIO_ERROR_INVALID_ENTRY` and nothing changes. Control thread.
///
/// # Safety
/// `id_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_schedule(
    stream: *mut amio_stream,
    playspec: *const amio_playspec,
    insert_at: i64,
    start_from: i64,
    at: u64,
    id_out: *mut u64,
) -> amio_status {
    guard("amio_stream_schedule", || {
        check_out(id_out, "id_out")?;
        let p = registry::with_playspec(playspec, "playspec", |p| p.playspec())?;
        let id = with_stream(stream, "amio_stream_schedule", |_, s| {
            Ok(commands(s)?.schedule(&p, insert_at, start_from, target(at))?)
        })?;
        // SAFETY: checked writable above.
        unsafe { write_out(id_out, "id_out", id) }
    })
}

/// Starts the *transport* at stream frame `at` (or `AMIO_NOW`): from that
/// frame the current playspec plays at the position, which advances a
/// frame per frame. The driver must run for anything to happen (see
/// [`amio_stream_start`]). Control thread.
#[no_mangle]
pub extern "C" fn amio_transport_roll(stream: *mut amio_stream, at: u64) -> amio_status {
    guard("amio_transport_roll", || {
        with_stream(stream, "amio_transport_roll", |_, s| {
            Ok(commands(s)?.roll(target(at))?)
        })
    })
}

/// Stops the *transport* at stream frame `at` (or `AMIO_NOW`): from that
/// frame the output is silence and the position stays where it is, while
/// the driver keeps running periods (events and input go on). Not the
/// driver's stop: that is [`amio_stream_pause`] (also named
/// [`amio_stream_stop`]). [`amio_transport_roll`] starts the
/// transport again. Control thread.
#[no_mangle]
pub extern "C" fn amio_transport_stop(stream: *mut amio_stream, at: u64) -> amio_status {
    guard("amio_transport_stop", || {
        with_stream(stream, "amio_transport_stop", |_, s| {
            Ok(commands(s)?.stop(target(at))?)
        })
    })
}

/// Sets the position at stream frame `at` (or `AMIO_NOW`). Control thread.
#[no_mangle]
pub extern "C" fn amio_transport_locate(
    stream: *mut amio_stream,
    position: i64,
    at: u64,
) -> amio_status {
    guard("amio_transport_locate", || {
        with_stream(stream, "amio_transport_locate", |_, s| {
            Ok(commands(s)?.locate(position, target(at))?)
        })
    })
}

/// Sets the extra round-trip latency for input tags (negative to subtract).
/// Control thread.
#[no_mangle]
pub extern "C" fn amio_stream_set_extra_latency(
    stream: *mut amio_stream,
    frames: i64,
) -> amio_status {
    guard("amio_stream_set_extra_latency", || {
        with_stream(stream, "amio_stream_set_extra_latency", |_, s| {
            s.interface_mut().set_extra_latency(frames);
            Ok(())
        })
    })
}

/// Writes the engine's latest position (updated every period). Any thread,
/// also from inside a libamio callback while another thread starts, stops,
/// closes or frees the stream: it reads the engine's lock-free position
/// cell and takes none of the stream's locks.
///
/// # Safety
/// `position_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_get_position(
    stream: *const amio_stream,
    position_out: *mut amio_position,
) -> amio_status {
    guard("amio_stream_get_position", || {
        check_out(position_out, "position_out")?;
        let r = registry::stream(stream, "stream")?.position.read();
        let p = amio_position {
            stream_frame: r.stream_frame,
            id: r.id,
            position: r.position,
            rolling: r.rolling,
        };
        // SAFETY: checked writable above.
        unsafe { write_out(position_out, "position_out", p) }
    })
}
