//! Between numpy arrays and amio's interleaved f32 samples.
//!
//! Arrays handed to Python are float32, shaped `(frames, channels)`, and own
//! their memory (a fresh array the samples are copied into).

use numpy::{PyArray2, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::invalid;

/// A new C-contiguous `(frames, channels)` float32 array, made by numpy (so
/// a size that does not fit in memory raises `MemoryError`, never aborts).
pub(crate) fn empty<'py>(
    py: Python<'py>,
    frames: usize,
    channels: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let numpy = py.import("numpy")?;
    let array = numpy.call_method1("empty", ((frames, channels), numpy.getattr("float32")?))?;
    Ok(array.cast_into::<PyArray2<f32>>()?)
}

/// The buffer of an array made by [`empty`] that nothing else references
/// yet, for native code to fill (also while detached from the interpreter).
pub(crate) fn buffer<'a>(array: &'a mut Bound<'_, PyArray2<f32>>) -> &'a mut [f32] {
    // SAFETY: the array was just made by `empty` and no Python code has seen
    // it, so nothing else aliases or resizes its buffer while the caller
    // holds the slice; it is C-contiguous and aligned (numpy's allocation),
    // and the slice's lifetime is tied to the `Bound` that keeps it alive.
    unsafe { array.as_slice_mut() }.unwrap_or(&mut [])
}

/// A new `(frames, channels)` float32 array holding a copy of `samples`
/// (interleaved).
pub(crate) fn to_numpy<'py>(
    py: Python<'py>,
    samples: &[f32],
    channels: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let frames = samples.len().checked_div(channels).unwrap_or(0);
    let mut array = empty(py, frames, channels)?;
    let dst = buffer(&mut array);
    let n = dst.len().min(samples.len());
    dst[..n].copy_from_slice(&samples[..n]);
    Ok(array)
}

/// Interleaved samples copied from any array-like of 1 dimension (mono) or
/// 2 (`(frames, channels)`), converted to float32 by numpy. `what` names the
/// argument in errors.
pub(crate) fn from_numpy(
    py: Python<'_>,
    array: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<(usize, Vec<f32>)> {
    let numpy = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", numpy.getattr("float32")?)?;
    let converted = numpy
        .call_method("ascontiguousarray", (array,), Some(&kwargs))
        .map_err(|e| {
            invalid(
                py,
                format!("{what}: not an array of numbers ({e}); the rule is: a numpy array (frames,) or (frames, channels) of floats"),
            )
        })?;
    let array = converted
        .cast::<PyArrayDyn<f32>>()
        .map_err(|_| invalid(py, format!("{what}: numpy did not make a float32 array")))?;
    let shape = array.shape().to_vec();
    let channels = match shape.as_slice() {
        [_] => 1,
        [_, channels] => *channels,
        _ => {
            return Err(invalid(
                py,
                format!(
                    "{what}: an array of {} dimensions (the rule is: 1-D (frames,) for mono or 2-D (frames, channels))",
                    shape.len()
                ),
            ))
        }
    };
    let readonly = array.readonly();
    let samples = readonly
        .as_slice()
        .map_err(|_| invalid(py, format!("{what}: the array is not contiguous")))?;
    let mut copy = Vec::new();
    copy.try_reserve_exact(samples.len()).map_err(|_| {
        invalid(
            py,
            format!("{what}: {} samples do not fit in memory", samples.len()),
        )
    })?;
    copy.extend_from_slice(samples);
    Ok((channels, copy))
}
