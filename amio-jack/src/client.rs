//! Opening JACK clients, on any server.

use std::ffi::{c_char, CString};

use crate::error::JackError;

/// `jack_client_open` with its C varargs (the server name), which jack-sys
/// does not declare.
type ClientOpen = unsafe extern "C" fn(
    *const c_char,
    jack_sys::jack_options_t,
    *mut jack_sys::jack_status_t,
    ...
) -> *mut jack_sys::jack_client_t;

/// Opens a JACK client named `name` on the server `server` (`None`: the
/// default server), never starting a server. libjack is loaded at run time:
/// without it this returns [`JackError::Library`].
pub fn open_client(name: &str, server: Option<&str>) -> Result<jack::Client, JackError> {
    let library = jack_sys::library().map_err(|e| JackError::Library {
        message: e.to_string(),
    })?;
    let c_name = CString::new(name).map_err(|_| JackError::BadName {
        what: "client name",
        name: name.into(),
    })?;
    let c_server = server
        .map(|s| {
            CString::new(s).map_err(|_| JackError::BadName {
                what: "server name",
                name: s.into(),
            })
        })
        .transpose()?;
    // SAFETY: the symbol is libjack's `jack_client_open`, whose C signature
    // is exactly `ClientOpen`.
    let open: ClientOpen =
        *unsafe { library.get::<ClientOpen>(b"jack_client_open\0") }.map_err(|e| {
            JackError::Library {
                message: e.to_string(),
            }
        })?;
    let mut status: jack_sys::jack_status_t = 0;
    let client = match &c_server {
        // SAFETY: valid NUL-terminated strings and a valid status pointer;
        // JackServerName promises one more `const char *` argument.
        Some(server) => unsafe {
            open(
                c_name.as_ptr(),
                jack_sys::JackNoStartServer | jack_sys::JackServerName,
                &mut status,
                server.as_ptr(),
            )
        },
        // SAFETY: as above, without the server name.
        None => unsafe { open(c_name.as_ptr(), jack_sys::JackNoStartServer, &mut status) },
    };
    if client.is_null() {
        return Err(JackError::NoServer {
            server: server.unwrap_or("default").into(),
            status,
        });
    }
    // SAFETY: `client` is a live client that nothing else owns; the
    // `jack::Client` closes it when dropped.
    Ok(unsafe { jack::Client::from_raw(client) })
}

/// The names of the physical ports that JACK sources capture from
/// (`capture`: true) or that play back (`capture`: false), in order.
pub fn physical_ports(client: &jack::Client, capture: bool) -> Vec<String> {
    // Physical capture ports are outputs of the server; playback ports inputs.
    let direction = if capture {
        jack::PortFlags::IS_OUTPUT
    } else {
        jack::PortFlags::IS_INPUT
    };
    client.ports(
        None,
        Some(jack_sys::FLOAT_MONO_AUDIO),
        jack::PortFlags::IS_PHYSICAL | direction,
    )
}
