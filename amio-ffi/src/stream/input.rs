//! Captured input: reading it, tagged with what was audible.

use super::amio_stream;
use super::object::with_stream;
use crate::args::slice_mut;
use crate::status::{amio_status, check_out, guard, write_out, Failure, AMIO_ERROR_BUFFER_SIZE};

/// What [`amio_stream_read_input`] read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct amio_chunk_info {
    /// The stream frame of the first frame read.
    pub stream_frame: u64,
    /// The playspec id audible at those frames.
    pub id: u64,
    /// The position audible at the first frame read.
    pub position: i64,
    /// Whether the transport was rolling at the audible frames.
    pub rolling: bool,
    /// Frames dropped just before the first frame read.
    pub lost_before: u64,
    /// Frames read.
    pub frames: u64,
}

/// Reads captured input into `buffer` (`buffer_len` samples, whole frames
/// of `in_channels`): as many frames of one run of consecutive tags as fit.
/// Sets `*got_out` to false when no input is waiting. Works after close.
/// Control thread.
///
/// # Safety
/// `buffer` must hold `buffer_len` floats; `info_out`, `got_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_read_input(
    stream: *mut amio_stream,
    buffer: *mut f32,
    buffer_len: usize,
    info_out: *mut amio_chunk_info,
    got_out: *mut bool,
) -> amio_status {
    guard("amio_stream_read_input", || {
        check_out(info_out, "info_out")?;
        check_out(got_out, "got_out")?;
        // SAFETY: per this function's contract.
        let buf = unsafe { slice_mut(buffer, buffer_len, "buffer") }?;
        let read = with_stream(stream, "amio_stream_read_input", |object, s| {
            let ic = object.info.in_channels;
            if ic > 0 && buf.len() < ic {
                return Err(Failure::new(
                    AMIO_ERROR_BUFFER_SIZE,
                    format!(
                        "buffer_len {} holds no whole frame of {ic} channels",
                        buf.len()
                    ),
                ));
            }
            Ok(s.interface_mut().read_input_into(buf))
        })?;
        // SAFETY: both checked writable above.
        unsafe {
            if let Some(c) = read {
                let info = amio_chunk_info {
                    stream_frame: c.stream_frame,
                    id: c.id,
                    position: c.position,
                    rolling: c.rolling,
                    lost_before: c.lost_before,
                    frames: c.frames as u64,
                };
                write_out(info_out, "info_out", info)?;
            }
            write_out(got_out, "got_out", read.is_some())
        }
    })
}
