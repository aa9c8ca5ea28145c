//! The module's functions: backends and devices, and the fader's
//! conversions.

use amio_core::{amplitude_to_db, db_to_amplitude, Fader, PanLaw};
use amio_plugin::registry as backend;
use pyo3::prelude::*;

use crate::errors::{check, invalid};

/// The backends on this machine: `[(name, plugin_path or None, loads,
/// problem or None)]`, null first.
#[pyfunction]
pub(crate) fn backends(py: Python<'_>) -> Vec<(String, Option<String>, bool, Option<String>)> {
    py.detach(|| {
        backend::list()
            .into_iter()
            .map(|b| {
                (
                    b.name,
                    b.path.map(|p| p.display().to_string()),
                    b.loads.is_ok(),
                    b.loads.err().map(|e| e.to_string()),
                )
            })
            .collect()
    })
}

/// The devices `backend` can open: `[(name, description, in_channels,
/// out_channels)]`. `options` are the backend's `key=value` lines.
#[pyfunction]
#[pyo3(signature = (backend, options=""))]
pub(crate) fn devices(
    py: Python<'_>,
    backend: &str,
    options: &str,
) -> PyResult<Vec<(String, String, usize, usize)>> {
    let list = py.detach(|| -> amio_core::Result<_> {
        let made = backend::driver(backend, options)?;
        made.driver.devices()
    });
    Ok(check(py, list)?
        .into_iter()
        .map(|d| (d.name, d.description, d.in_channels, d.out_channels))
        .collect())
}

/// The amplitude factor of `db` decibels: `10 ** (db / 20)`.
#[pyfunction]
pub(crate) fn db_to_amplitude_factor(db: f64) -> f64 {
    db_to_amplitude(db)
}

/// The decibels of an amplitude factor: `20 · log10(|a|)`, -inf for 0.
#[pyfunction]
pub(crate) fn amplitude_factor_to_db(amplitude: f64) -> f64 {
    amplitude_to_db(amplitude)
}

/// The `(left, right)` gains of a fader at `volume_db` and `pan` (-1..1)
/// with the pan law `"linear"` (the original AMIO's) or `"equal_power"`.
#[pyfunction]
#[pyo3(signature = (volume_db, pan, law="linear"))]
pub(crate) fn fader_gains(
    py: Python<'_>,
    volume_db: f64,
    pan: f64,
    law: &str,
) -> PyResult<(f32, f32)> {
    let law = match law {
        "linear" => PanLaw::Linear,
        "equal_power" => PanLaw::EqualPower,
        other => {
            return Err(invalid(
                py,
                format!("pan law {other:?} (the rule is: \"linear\" or \"equal_power\")"),
            ))
        }
    };
    let [l, r] = check(py, Fader::new(volume_db, pan, law))?.gains();
    Ok((l, r))
}

/// The version of amio's engine this extension was built from.
#[pyfunction]
pub(crate) fn engine_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
