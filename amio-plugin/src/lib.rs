//! amio's driver-plugin layer: backends in shared objects, chosen by name
//! at run time.
//!
//! A plugin is a shared object (`libamio_<backend>.so`) that exports one
//! function, `amio_plugin_<backend>`, returning a [`abi::PluginOps`] table of
//! `extern "C"` functions. Only C types cross. When a stream starts, the
//! host's lease ([`amio_core::driver::RawLease`], C-shaped, with the
//! stream's notifier) passes to the plugin unchanged, so the driver inside
//! runs exactly as it would linked into the host.
//!
//! - Plugin side: [`export_plugin!`] (module [`export`]).
//! - Host side: [`load`] finds a plugin by backend name on the
//!   [`search_path`] (the `AMIO_PLUGIN_PATH` variable, the directory of the
//!   library or program holding this code, the install directory), refuses
//!   another [`abi::PLUGIN_ABI_VERSION`] and a table with an empty slot, and
//!   [`Plugin::driver`] makes an [`amio_core::AudioDriver`] of it.
//! - [`registry`]: every backend by name — the built-in null backend and
//!   the plugins.

pub mod abi;
mod error;
pub mod export;
pub mod host;
pub mod registry;
pub mod search;

pub use host::{load, load_path, Plugin, PluginDriver};
pub use registry::{Backend, BackendDriver};
pub use search::{available, file_name, search_path, PLUGIN_INSTALL_DIR, PLUGIN_PATH_VAR};
