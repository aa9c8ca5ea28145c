//! Listing backends and their devices.

use std::ffi::{c_char, c_void, CString};

use crate::args::{optional_text, text};
use crate::status::{amio_status, guard, Failure, AMIO_OK};

/// Receives each backend: its name, where it comes from ("built in" or
/// the plugin's path), whether it loads (`AMIO_OK`, or why not) and a
/// message. The strings live during the call only.
pub type amio_backend_callback = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        name: *const c_char,
        location: *const c_char,
        status: amio_status,
        message: *const c_char,
    ),
>;

/// Receives each device of a backend: the name to open it by, a
/// description, and its channel counts (0 if unknown). The strings live
/// during the call only.
pub type amio_device_callback = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        name: *const c_char,
        description: *const c_char,
        in_channels: u32,
        out_channels: u32,
    ),
>;

fn c(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Lists the backends on this machine: `"null"` (built in), then every
/// plugin on the search path, with whether it loads. Control thread.
///
/// # Safety
/// `callback` is called with `user` as given.
#[no_mangle]
pub unsafe extern "C" fn amio_backends(
    callback: amio_backend_callback,
    user: *mut c_void,
) -> amio_status {
    guard("amio_backends", || {
        let cb = callback.ok_or_else(|| Failure::null("callback"))?;
        for b in amio_plugin::registry::list() {
            let location = b
                .path
                .as_ref()
                .map_or("built in".to_string(), |p| p.display().to_string());
            let (status, message) = match &b.loads {
                Ok(()) => (AMIO_OK, String::new()),
                Err(e) => (crate::status::AMIO_ERROR_PLUGIN, e.to_string()),
            };
            let (name, location, message) = (c(&b.name), c(&location), c(&message));
            // SAFETY: the host's callback, with strings valid for the call.
            unsafe {
                cb(
                    user,
                    name.as_ptr(),
                    location.as_ptr(),
                    status,
                    message.as_ptr(),
                )
            };
        }
        Ok(())
    })
}

/// Lists the devices of a backend (opened with `options`, `key=value`
/// lines, or NULL). Control thread.
///
/// # Safety
/// `backend` must be NUL-terminated; `options` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn amio_backend_devices(
    backend: *const c_char,
    options: *const c_char,
    callback: amio_device_callback,
    user: *mut c_void,
) -> amio_status {
    guard("amio_backend_devices", || {
        let cb = callback.ok_or_else(|| Failure::null("callback"))?;
        // SAFETY: per this function's contract.
        let (backend, options) = unsafe {
            (
                text(backend, "backend")?,
                optional_text(options, "options")?,
            )
        };
        let options = options.unwrap_or_default();
        let devices = amio_plugin::registry::driver(&backend, &options)?
            .driver
            .devices()?;
        for d in devices {
            let (name, description) = (c(&d.name), c(&d.description));
            // SAFETY: the host's callback, with strings valid for the call.
            unsafe {
                cb(
                    user,
                    name.as_ptr(),
                    description.as_ptr(),
                    d.in_channels as u32,
                    d.out_channels as u32,
                )
            };
        }
        Ok(())
    })
}
