//! Errors across the plugin boundary: an [`amio_core::Error`] written into
//! a [`PluginError`] on the plugin side, and read back on the host side
//! with its kind (driver error kind, or configuration field) intact.

use std::sync::{Mutex, PoisonError};

use amio_core::{DriverErrorKind, Error};

use crate::abi::{
    PluginError, PLUGIN_ERROR_ALREADY_RUNNING, PLUGIN_ERROR_CONFIG, PLUGIN_ERROR_DRIVER,
    PLUGIN_ERROR_NOT_RUNNING,
};

/// Copies `text` into a C string buffer, cut at a character boundary and
/// NUL-terminated.
pub(crate) fn write_text(buffer: &mut [u8], text: &str) {
    let Some(room) = buffer.len().checked_sub(1) else {
        return;
    };
    let mut n = text.len().min(room);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    buffer[..n].copy_from_slice(&text.as_bytes()[..n]);
    buffer[n] = 0;
}

/// The text of a NUL-terminated buffer (all of it if there is no NUL).
pub(crate) fn read_text(buffer: &[u8]) -> String {
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Plugin side: describes `error` for the host.
pub(crate) fn describe(error: &Error, out: &mut PluginError) {
    *out = PluginError::default();
    match error {
        Error::Config { field, rule } => {
            out.kind = PLUGIN_ERROR_CONFIG;
            write_text(&mut out.field, field);
            write_text(&mut out.message, rule);
        }
        Error::Driver { kind, message, .. } => {
            out.kind = PLUGIN_ERROR_DRIVER;
            out.driver_kind = *kind as u32;
            write_text(&mut out.message, message);
        }
        Error::NotRunning => out.kind = PLUGIN_ERROR_NOT_RUNNING,
        Error::AlreadyRunning => out.kind = PLUGIN_ERROR_ALREADY_RUNNING,
        other => write_text(&mut out.message, &other.to_string()),
    }
}

/// Host side: the error a plugin of `backend` described.
pub(crate) fn read(backend: &str, error: &PluginError) -> Error {
    let message = read_text(&error.message);
    match error.kind {
        PLUGIN_ERROR_CONFIG => Error::Config {
            field: field_name(&read_text(&error.field)),
            rule: message,
        },
        PLUGIN_ERROR_NOT_RUNNING => Error::NotRunning,
        PLUGIN_ERROR_ALREADY_RUNNING => Error::AlreadyRunning,
        _ => Error::driver(
            backend,
            DriverErrorKind::from_u32(error.driver_kind),
            if message.is_empty() {
                "the driver failed without saying why".to_owned()
            } else {
                message
            },
        ),
    }
}

/// Most distinct configuration field names kept; beyond them a plugin's
/// field is reported as "options".
const MAX_FIELDS: usize = 256;

/// A configuration field name as the `&'static str` [`Error::Config`]
/// holds: each distinct name is kept once for the life of the process
/// (a plugin has a handful).
fn field_name(name: &str) -> &'static str {
    static FIELDS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut fields = FIELDS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = fields.iter().find(|f| **f == name) {
        return known;
    }
    if name.is_empty() || fields.len() >= MAX_FIELDS {
        return "options";
    }
    let kept: &'static str = Box::leak(name.to_owned().into_boxed_str());
    fields.push(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_kind_across() {
        let mut c = PluginError::default();
        describe(
            &Error::driver("jack", DriverErrorKind::NoServer, "no server \"x\""),
            &mut c,
        );
        let back = read("jack", &c);
        assert!(matches!(
            back,
            Error::Driver { kind: DriverErrorKind::NoServer, ref message, .. } if message == "no server \"x\""
        ));
        describe(
            &Error::Config {
                field: "period",
                rule: "is 7, not a power of two".into(),
            },
            &mut c,
        );
        assert_eq!(
            read("alsa", &c).to_string(),
            "configuration: period is 7, not a power of two"
        );
        describe(&Error::AlreadyRunning, &mut c);
        assert!(matches!(read("x", &c), Error::AlreadyRunning));
        let mut small = [0u8; 4];
        write_text(&mut small, "héllo");
        assert_eq!(read_text(&small), "h\u{e9}");
    }
}
