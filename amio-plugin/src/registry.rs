//! Backends by name: `"null"` is built in, every other backend is a plugin
//! found on [`crate::plugin::search_path`].

use std::path::PathBuf;

use crate::driver::AudioDriver;
use crate::error::Result;
use crate::null::{NullConfig, NullControl, NullDriver};
use crate::plugin::{self, PluginOptions};

/// A driver opened by backend name.
pub struct BackendDriver {
    /// The driver.
    pub driver: Box<dyn AudioDriver>,
    /// For the null backend, its control handle (stepping, waiting).
    pub null: Option<NullControl>,
}

/// Makes a driver for `backend` with `key=value` options: the built-in null
/// driver ([`NullConfig::from_options`]) or the backend's plugin.
pub fn driver(backend: &str, options: &str) -> Result<BackendDriver> {
    if backend == "null" {
        let driver = NullDriver::new(NullConfig::from_options(PluginOptions::parse(options)?)?);
        let null = Some(driver.control());
        return Ok(BackendDriver {
            driver: Box::new(driver),
            null,
        });
    }
    let plugin = plugin::load(backend)?;
    Ok(BackendDriver {
        driver: Box::new(plugin.driver(options)?),
        null: None,
    })
}

/// A backend found on this machine.
#[derive(Debug)]
pub struct Backend {
    /// Its name.
    pub name: String,
    /// Its plugin file, or `None` when built in.
    pub path: Option<PathBuf>,
    /// Whether it loads (a plugin of another ABI version does not), and why
    /// not.
    pub loads: Result<()>,
}

/// The backends on this machine: null, then every plugin on the search path
/// with whether it loads.
pub fn list() -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "null".into(),
        path: None,
        loads: Ok(()),
    }];
    for (name, path) in plugin::available() {
        let loads = plugin::load_path(&path, &name).map(|_| ());
        out.push(Backend {
            name,
            path: Some(path),
            loads,
        });
    }
    out
}
