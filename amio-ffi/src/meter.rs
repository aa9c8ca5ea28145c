//! Meters in C: offline over a clip, live from a stream's meter events.

use amio_core::{Level, MeterWindow};

use crate::args::slice_mut;
use crate::clip::amio_clip;
use crate::registry;
use crate::status::{amio_status, check_out, guard, write_out, Failure, AMIO_ERROR_BUFFER_SIZE};
use crate::stream::amio_stream;

/// Windows of a number of frames (also a `metering` value of
/// `amio_stream_config`).
pub const AMIO_WINDOW_FRAMES: u32 = 2;
/// A number of windows a second, like the original AMIO's 24 (also a
/// `metering` value of `amio_stream_config`).
pub const AMIO_WINDOW_PER_SECOND: u32 = 3;

/// One channel's level over a window, in dB of full scale; silence is
/// `-INFINITY`, never NaN.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct amio_level {
    /// The largest |sample|.
    pub peak_db: f32,
    /// The root of the mean square.
    pub rms_db: f32,
}

impl From<Level> for amio_level {
    fn from(l: Level) -> amio_level {
        amio_level {
            peak_db: l.peak_db,
            rms_db: l.rms_db,
        }
    }
}

/// The window `kind` (`AMIO_WINDOW_*`) and `value` give; `place` names the
/// argument in errors.
pub(crate) fn window(kind: u32, value: u64, place: &str) -> Result<MeterWindow, Failure> {
    match kind {
        AMIO_WINDOW_FRAMES => Ok(MeterWindow::Frames(value)),
        AMIO_WINDOW_PER_SECOND => u32::try_from(value)
            .map(MeterWindow::PerSecond)
            .map_err(|_| {
                Failure::invalid(format!("{place}: {value} windows a second is too many"))
            }),
        other => Err(Failure::invalid(format!(
            "{place} is {other}, not AMIO_WINDOW_FRAMES (2) or AMIO_WINDOW_PER_SECOND (3)"
        ))),
    }
}

/// Meters `clip` offline over consecutive windows from frame 0 (the last
/// holds what is left): writes the number of windows to `windows_out` and,
/// window by window, one level per channel into `levels` and each window's
/// first frame into `starts` (NULL for none). Call with `levels` NULL and
/// `levels_len` 0 to learn the count; a `levels` shorter than windows ×
/// channels (or `starts` than windows) is `AMIO_ERROR_BUFFER_SIZE`. Any
/// thread.
///
/// # Safety
/// `levels` must hold `levels_len` items, `starts` (unless NULL)
/// `starts_len`; `windows_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_meter(
    clip: *const amio_clip,
    window_kind: u32,
    window_value: u64,
    levels: *mut amio_level,
    levels_len: usize,
    starts: *mut u64,
    starts_len: usize,
    windows_out: *mut u64,
) -> amio_status {
    guard("amio_clip_meter", || {
        check_out(windows_out, "windows_out")?;
        let c = registry::clip(clip, "clip")?;
        let readings = c.meter(window(window_kind, window_value, "window_kind")?)?;
        let count = readings.len();
        if !levels.is_null() || levels_len > 0 {
            // SAFETY: per this function's contract.
            let out = unsafe { slice_mut(levels, levels_len, "levels") }?;
            let need = count * c.channels();
            if out.len() < need {
                return Err(Failure::new(
                    AMIO_ERROR_BUFFER_SIZE,
                    format!(
                        "levels holds {levels_len}, {count} windows of {} channels need {need}",
                        c.channels()
                    ),
                ));
            }
            for (o, l) in out.iter_mut().zip(readings.iter().flat_map(|r| &r.levels)) {
                *o = (*l).into();
            }
        }
        if !starts.is_null() {
            // SAFETY: per this function's contract.
            let out = unsafe { slice_mut(starts, starts_len, "starts") }?;
            if out.len() < count {
                return Err(Failure::new(
                    AMIO_ERROR_BUFFER_SIZE,
                    format!("starts holds {starts_len}, there are {count} windows"),
                ));
            }
            for (o, r) in out.iter_mut().zip(&readings) {
                *o = r.frame;
            }
        }
        // SAFETY: checked writable above.
        unsafe { write_out(windows_out, "windows_out", count as u64) }
    })
}

/// Copies the levels of the last `AMIO_EVENT_METER` polled from `stream`:
/// one per input channel into `input`, one per output channel into
/// `output` (each at least the stream's channel count; NULL with 0 when it
/// has none). `AMIO_ERROR_INVALID_ARGUMENT` if no meter event was polled.
/// Control thread.
///
/// # Safety
/// `input` must hold `input_len` items, `output` `output_len`.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_meter_levels(
    stream: *const amio_stream,
    input: *mut amio_level,
    input_len: usize,
    output: *mut amio_level,
    output_len: usize,
) -> amio_status {
    guard("amio_stream_meter_levels", || {
        let object = registry::stream(stream, "stream")?;
        let Some(meter) = object.last_meter() else {
            return Err(Failure::invalid(
                "no AMIO_EVENT_METER has been polled from this stream",
            ));
        };
        // SAFETY: per this function's contract.
        let (i, o) = unsafe {
            (
                slice_mut(input, input_len, "input")?,
                slice_mut(output, output_len, "output")?,
            )
        };
        for (name, out, levels) in [("input", i, &meter.input), ("output", o, &meter.output)] {
            if out.len() < levels.len() {
                return Err(Failure::new(
                    AMIO_ERROR_BUFFER_SIZE,
                    format!(
                        "{name} holds {}, the stream has {} channels",
                        out.len(),
                        levels.len()
                    ),
                ));
            }
            for (o, l) in out.iter_mut().zip(levels) {
                *o = (*l).into();
            }
        }
        Ok(())
    })
}
