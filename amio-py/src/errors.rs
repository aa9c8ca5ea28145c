//! amio-core's errors as Python exceptions.
//!
//! The exception classes are defined in Python (`amio/_errors.py`), where
//! they can inherit from both `amio.AmioError` and the built-in class a
//! Python programmer expects (`ValueError`, `OSError`, …); this module picks
//! the class for each [`amio_core::Error`] and fills in its attributes.

use amio_core::{DriverErrorKind, Error};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use pyo3::IntoPyObjectExt;

/// The Python module that defines amio's exception classes.
const ERRORS_MODULE: &str = "amio._errors";

/// Looks up one of amio's exception classes by name.
fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import(ERRORS_MODULE).map(|m| m.unbind()))?;
    module
        .bind(py)
        .getattr(name)?
        .cast_into::<PyType>()
        .map_err(Into::into)
}

/// Makes an exception of amio's class `name` with `message` and keyword
/// attributes set on it. Falls back to `fallback` if the class cannot be
/// found (the Python half of the package is missing).
fn raise(
    py: Python<'_>,
    name: &str,
    message: String,
    attributes: &[(&str, Py<PyAny>)],
    fallback: fn(String) -> PyErr,
) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let cls = class(py, name)?;
        let exc = cls.call1((message.clone(),))?;
        for (key, value) in attributes {
            exc.setattr(*key, value)?;
        }
        Ok(PyErr::from_value(exc))
    })();
    made.unwrap_or_else(|_| fallback(message))
}

/// A Python object for an attribute value (None if it cannot be made).
fn object<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> Py<PyAny> {
    value
        .into_bound_py_any(py)
        .map_or_else(|_| py.None(), Bound::unbind)
}

fn value_error(message: String) -> PyErr {
    PyValueError::new_err(message)
}

fn runtime_error(message: String) -> PyErr {
    PyRuntimeError::new_err(message)
}

/// Converts an amio-core error into the Python exception that says what
/// went wrong (the message names the place and the rule).
pub(crate) fn to_py(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    match &error {
        Error::Entry { entry, rule } => {
            let rule_text = rule.to_string();
            raise(
                py,
                "EntryError",
                message,
                &[
                    ("entry", object(py, *entry)),
                    ("rule", object(py, rule_text)),
                ],
                value_error,
            )
        }
        Error::Config { field, .. } => raise(
            py,
            "ConfigError",
            message,
            &[("field", object(py, *field))],
            value_error,
        ),
        Error::QueueFull { .. } => raise(py, "QueueFullError", message, &[], runtime_error),
        Error::NotRunning | Error::AlreadyRunning => {
            raise(py, "StreamStateError", message, &[], runtime_error)
        }
        Error::NoBackend { .. } | Error::Plugin { .. } => {
            raise(py, "BackendUnavailable", message, &[], runtime_error)
        }
        Error::Driver { kind, .. } => raise(
            py,
            "DriverError",
            message,
            &[("kind", object(py, driver_kind_name(*kind)))],
            runtime_error,
        ),
        Error::Io { source, .. } => {
            let errno = source.raw_os_error();
            raise(
                py,
                "AmioOSError",
                message,
                &[("errno", object(py, errno))],
                runtime_error,
            )
        }
        Error::Wav {
            source: hound::Error::IoError(_),
            ..
        }
        | Error::NotAFile { .. } => raise(py, "AmioOSError", message, &[], runtime_error),
        Error::Wav { .. } | Error::WavFormat { .. } | Error::Au { .. } => {
            raise(py, "FormatError", message, &[], value_error)
        }
        _ if is_format_error(&error) => raise(py, "FormatError", message, &[], value_error),
        _ => raise(py, "InvalidArgument", message, &[], value_error),
    }
}

/// The Python name of a driver error's kind (`DriverError.kind`).
fn driver_kind_name(kind: DriverErrorKind) -> &'static str {
    match kind {
        DriverErrorKind::NoServer => "no_server",
        DriverErrorKind::NoDevice => "no_device",
        DriverErrorKind::DeviceBusy => "device_busy",
        DriverErrorKind::Unsupported => "unsupported",
        DriverErrorKind::LibraryMissing => "library_missing",
        DriverErrorKind::PermissionDenied => "permission_denied",
        _ => "other",
    }
}

/// Errors about reading or writing a file's format (FLAC, unknown formats).
fn is_format_error(error: &Error) -> bool {
    matches!(
        error,
        Error::Flac { .. }
            | Error::FlacBits { .. }
            | Error::UnknownFormat { .. }
            | Error::UnwritableFormat { .. }
            | Error::WavLimit { .. }
    )
}

/// `Result` with amio-core's error, for `?` inside `detach` closures.
pub(crate) type CoreResult<T> = std::result::Result<T, Error>;

/// Converts a core result into a Python one.
pub(crate) fn check<T>(py: Python<'_>, result: CoreResult<T>) -> PyResult<T> {
    result.map_err(|e| to_py(py, e))
}

/// An exception of amio's `InvalidArgument` class (a `ValueError`) for a
/// rule checked here rather than in amio-core.
pub(crate) fn invalid(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidArgument", message, &[], value_error)
}

/// An exception of amio's `StreamStateError` class (a `RuntimeError`).
pub(crate) fn state_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "StreamStateError", message, &[], runtime_error)
}
