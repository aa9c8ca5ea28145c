//! `amio._native`: the extension module of amio's Python package.
//!
//! A thin layer over amio-core (no engine logic is written twice): clips,
//! playspecs, streams on any backend, and the clip tools, meters and fader.
//! The Python half of the package (`amio-py/python/amio`) builds the
//! original AMIO's API and amio's own Pythonic API on it. No Python code or
//! object ever reaches the audio thread.

mod arrays;
mod clip;
mod errors;
mod playspec;
mod stream;
mod tools;

use pyo3::prelude::*;

/// amio's engine for Python (the native half of the `amio` package).
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<clip::PyClip>()?;
    m.add_class::<playspec::PyEntry>()?;
    m.add_class::<playspec::PyPlayspec>()?;
    m.add_class::<stream::PyStream>()?;
    m.add_function(wrap_pyfunction!(tools::backends, m)?)?;
    m.add_function(wrap_pyfunction!(tools::devices, m)?)?;
    m.add_function(wrap_pyfunction!(tools::db_to_amplitude_factor, m)?)?;
    m.add_function(wrap_pyfunction!(tools::amplitude_factor_to_db, m)?)?;
    m.add_function(wrap_pyfunction!(tools::fader_gains, m)?)?;
    m.add_function(wrap_pyfunction!(tools::engine_version, m)?)?;
    Ok(())
}
