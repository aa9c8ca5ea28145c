//! The cpal driver as a plugin (`libamio_cpal.so`, backend `cpal`).

use amio_core::driver::BackendConfig;
use amio_core::{AudioDriver, Result};

use crate::config::CpalConfig;
use crate::driver::CpalDriver;

/// Makes the `cpal` plugin's driver from its options ([`CpalConfig`]'s).
fn make_driver(options: &str) -> Result<Box<dyn AudioDriver>> {
    Ok(Box::new(CpalDriver::new(CpalConfig::from_options(
        options,
    )?)))
}

amio_plugin::export_plugin!(amio_plugin_cpal, c"cpal", make_driver);
