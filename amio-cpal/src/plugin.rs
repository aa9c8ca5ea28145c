//! The cpal driver as a plugin (`libamio_cpal.so`), and its options.

use amio_core::plugin::{PluginFactory, PluginOptions};
use amio_core::{AudioDriver, Error, Result};

use crate::driver::{CpalConfig, CpalDriver};

impl CpalConfig {
    /// Reads the options of the `cpal` backend (`key=value` lines): `host`
    /// (`alsa`, `jack`, …), `output`, `input` (device ids or names),
    /// `buffer_size`, `max_period`, `bridge_depth` (frames).
    pub fn from_options(mut options: PluginOptions) -> Result<CpalConfig> {
        let mut config = CpalConfig::default();
        let number = |field: &'static str, v: String| -> Result<usize> {
            v.parse().map_err(|_| Error::Config {
                field,
                rule: format!("is {v:?}, not a whole number"),
            })
        };
        config.host = options.take("host");
        config.output_device = options.take("output");
        config.input_device = options.take("input");
        if let Some(v) = options.take("buffer_size") {
            config.buffer_size = Some(number("buffer_size", v)? as u32);
        }
        if let Some(v) = options.take("max_period") {
            config.max_period = number("max_period", v)?;
        }
        if let Some(v) = options.take("bridge_depth") {
            config.bridge_depth = Some(number("bridge_depth", v)?);
        }
        options.finish("cpal")?;
        Ok(config)
    }
}

/// The `cpal` plugin's factory.
pub struct CpalPlugin;

impl PluginFactory for CpalPlugin {
    const BACKEND: &'static std::ffi::CStr = c"cpal";

    fn create(options: PluginOptions) -> Result<Box<dyn AudioDriver>> {
        Ok(Box::new(CpalDriver::new(CpalConfig::from_options(
            options,
        )?)))
    }
}

amio_core::export_plugin!(amio_plugin_cpal, CpalPlugin);
