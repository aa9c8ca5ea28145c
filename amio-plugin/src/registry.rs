//! Backends by name: one registry of the built-in backends (the null
//! backend, exactly once) and the plugins on the [`crate::search_path`].

use std::path::PathBuf;

use amio_core::driver::{AudioDriver, BackendConfig};
use amio_core::null::{NullConfig, NullControl, NullDriver};
use amio_core::Result;

use crate::host;
use crate::search;

/// A driver opened by backend name.
pub struct BackendDriver {
    /// The driver.
    pub driver: Box<dyn AudioDriver>,
    /// For the null backend, its control handle (stepping, waiting).
    pub null: Option<NullControl>,
}

impl std::fmt::Debug for BackendDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendDriver")
            .field("backend", &self.driver.backend())
            .finish()
    }
}

/// A built-in backend: its name and how its driver is made from options.
struct BuiltIn {
    name: &'static str,
    make: fn(&str) -> Result<BackendDriver>,
}

fn make_null(options: &str) -> Result<BackendDriver> {
    let driver = NullDriver::new(NullConfig::from_options(options)?);
    let null = Some(driver.control());
    Ok(BackendDriver {
        driver: Box::new(driver),
        null,
    })
}

/// The backends built into amio; a plugin of the same name is never
/// loaded in their place.
const BUILT_IN: [BuiltIn; 1] = [BuiltIn {
    name: "null",
    make: make_null,
}];

/// Makes a driver for `backend` with `key=value` options: a built-in
/// backend's, or the backend's plugin's.
pub fn driver(backend: &str, options: &str) -> Result<BackendDriver> {
    if let Some(built_in) = BUILT_IN.iter().find(|b| b.name == backend) {
        return (built_in.make)(options);
    }
    let plugin = host::load(backend)?;
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

/// The backends on this machine: the built-in ones, then every plugin on
/// the search path (each name once) with whether it loads.
pub fn list() -> Vec<Backend> {
    let mut out: Vec<Backend> = BUILT_IN
        .iter()
        .map(|b| Backend {
            name: b.name.into(),
            path: None,
            loads: Ok(()),
        })
        .collect();
    for (name, path) in search::available() {
        if out.iter().any(|b| b.name == name) {
            continue;
        }
        let loads = host::load_path(&path, &name).map(|_| ());
        out.push(Backend {
            name,
            path: Some(path),
            loads,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_built_in_once() {
        let list = list();
        assert_eq!(list.iter().filter(|b| b.name == "null").count(), 1);
        assert!(list[0].path.is_none());
        let made = driver("null", "mode=offline\nframes=10").unwrap();
        assert!(made.null.is_some());
        assert_eq!(made.driver.backend(), "null");
        assert!(driver("null", "colour=blue").is_err());
    }
}
