//! Versions: of the library, of its C ABI, of the plugin table.

use std::ffi::c_char;

/// Major version of libamio (tested equal to the crate's version).
pub const AMIO_VERSION_MAJOR: u32 = 0;
/// Minor version of libamio (tested equal to the crate's version).
pub const AMIO_VERSION_MINOR: u32 = 1;
/// Patch version of libamio (tested equal to the crate's version).
pub const AMIO_VERSION_PATCH: u32 = 0;

/// The C ABI's version: raised when a function, struct or value changes
/// incompatibly. A host compiled against this header can check
/// `amio_abi_version() == AMIO_ABI_VERSION` at startup.
pub const AMIO_ABI_VERSION: u32 = 2;

/// libamio's version, `"MAJOR.MINOR.PATCH"`. Any thread.
#[no_mangle]
pub extern "C" fn amio_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The C ABI version this library implements ([`AMIO_ABI_VERSION`] of the
/// header it was built with). Any thread.
#[no_mangle]
pub extern "C" fn amio_abi_version() -> u32 {
    AMIO_ABI_VERSION
}

/// The driver-plugin table version this library loads. Any thread.
#[no_mangle]
pub extern "C" fn amio_plugin_abi_version() -> u32 {
    amio_plugin::abi::PLUGIN_ABI_VERSION
}
