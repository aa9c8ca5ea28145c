//! The null backend: the host's output and input callbacks in the paced
//! and offline modes, stepping by hand, injected xruns, waiting for a run
//! to end.

use std::time::Duration;

use amio_core::driver::BackendConfig;
use amio_core::{AudioDriver, NullConfig, NullControl, NullDriver};

use super::amio_stream;
use super::callback::{in_callback, not_in_callback, CallbackThread, UserPtr};
use super::config::Request;
use crate::args::{slice, slice_mut};
use crate::registry;
use crate::status::{
    amio_status, check_out, guard, write_out, Failure, AMIO_ERROR_NOT_RUNNING,
    AMIO_ERROR_WRONG_MODE,
};

/// The null driver for a request, with the host's callbacks wired to its
/// output and input, and its control handle.
pub(super) fn driver(request: &Request) -> Result<(Box<dyn AudioDriver>, NullControl), Failure> {
    let c = &request.c;
    let mut driver = NullDriver::new(NullConfig::from_options(&request.options)?);
    let user = UserPtr(c.callback_user);
    let (ic, oc) = (c.in_channels as usize, c.out_channels as usize);
    if let Some(cb) = c.output_callback {
        driver = driver.with_output(Box::new(move |s, out| {
            let frames = out.len().checked_div(oc).unwrap_or(0);
            // SAFETY: the host's callback, with `frames` frames valid for
            // the call.
            in_callback(CallbackThread::Driver, || unsafe {
                cb(user.get(), s, out.as_ptr(), frames)
            })
        }));
    }
    if let Some(cb) = c.input_callback {
        driver = driver.with_input(Box::new(move |s, input| {
            let frames = input.len().checked_div(ic).unwrap_or(0);
            // SAFETY: as above, for writing.
            in_callback(CallbackThread::Driver, || unsafe {
                cb(user.get(), s, input.as_mut_ptr(), frames)
            })
        }));
    }
    let control = driver.control();
    Ok((Box::new(driver), control))
}

fn null_control(stream: *const amio_stream, what: &str) -> Result<NullControl, Failure> {
    let object = registry::stream(stream, "stream")?;
    object.null.clone().ok_or_else(|| {
        Failure::new(
            AMIO_ERROR_WRONG_MODE,
            format!(
                "{what} needs the null backend; this stream runs {}",
                object.info.backend
            ),
        )
    })
}

/// null backend, stepped mode: processes `frames` frames. `input` holds
/// `frames * in_channels` interleaved samples (`input_len`), `output`
/// receives `frames * out_channels` (`output_len`); the caller's thread acts
/// as the audio thread. The host's own "audio" thread.
///
/// # Safety
/// `input` must hold `input_len` floats, `output` `output_len`.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_step(
    stream: *mut amio_stream,
    frames: u32,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> amio_status {
    guard("amio_stream_step", || {
        let control = null_control(stream, "amio_stream_step")?;
        // SAFETY: per this function's contract.
        let (inp, out) = unsafe {
            (
                slice(input, input_len, "input")?,
                slice_mut(output, output_len, "output")?,
            )
        };
        control
            .step(frames as usize, inp, out)
            .map_err(|e| {
                match e {
            amio_core::Error::NotRunning => Failure::new(
                AMIO_ERROR_NOT_RUNNING,
                "the stream is not running (start it; a paced or offline null stream steps itself)",
            ),
            other => other.into(),
        }
            })
    })
}

/// null backend: reports an xrun as a sound card would. Any thread.
#[no_mangle]
pub extern "C" fn amio_stream_inject_xrun(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_inject_xrun", || {
        Ok(null_control(stream, "amio_stream_inject_xrun")?.inject_xrun()?)
    })
}

/// null backend, paced or offline: waits up to `timeout_ms` for the run to
/// end (offline: every frame rendered) and writes whether it did. Control
/// thread; from inside a libamio callback it is `AMIO_ERROR_IN_CALLBACK`.
///
/// # Safety
/// `finished_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_wait(
    stream: *mut amio_stream,
    timeout_ms: u32,
    finished_out: *mut bool,
) -> amio_status {
    guard("amio_stream_wait", || {
        not_in_callback("amio_stream_wait")?;
        check_out(finished_out, "finished_out")?;
        let control = null_control(stream, "amio_stream_wait")?;
        let done = control.wait(Duration::from_millis(u64::from(timeout_ms)));
        // SAFETY: checked writable above.
        unsafe { write_out(finished_out, "finished_out", done) }
    })
}
