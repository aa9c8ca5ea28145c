//! The ALSA driver as a plugin (`libamio_alsa.so`), and its options.

use std::time::Duration;

use amio_core::plugin::{PluginFactory, PluginOptions};
use amio_core::{AudioDriver, Error, Result};

use crate::driver::{AlsaConfig, AlsaDriver};
use crate::format::SampleFormat;

impl AlsaConfig {
    /// Reads the options of the `alsa` backend (`key=value` lines):
    /// `playback`, `capture` (PCM names), `period`, `periods`, `format`
    /// (`f32`, `s32`, `s24`, `s16`), `realtime_priority` (1–99, or `off`),
    /// `device_timeout_ms`.
    pub fn from_options(mut options: PluginOptions) -> Result<AlsaConfig> {
        let mut config = AlsaConfig::default();
        let number = |field: &'static str, v: String| -> Result<u64> {
            v.parse().map_err(|_| Error::Config {
                field,
                rule: format!("is {v:?}, not a whole number"),
            })
        };
        if let Some(v) = options.take("playback") {
            config.playback_device = v;
        }
        if let Some(v) = options.take("capture") {
            config.capture_device = v;
        }
        if let Some(v) = options.take("period") {
            config.period = number("period", v)? as usize;
        }
        if let Some(v) = options.take("periods") {
            config.periods = number("periods", v)? as u32;
        }
        if let Some(v) = options.take("format") {
            config.format = Some(SampleFormat::from_name(&v).ok_or_else(|| Error::Config {
                field: "format",
                rule: format!("is {v:?}; it takes f32, s32, s24 or s16"),
            })?);
        }
        if let Some(v) = options.take("realtime_priority") {
            config.realtime_priority = if v == "off" {
                None
            } else {
                Some(number("realtime_priority", v)? as i32)
            };
        }
        if let Some(v) = options.take("device_timeout_ms") {
            config.device_timeout = Duration::from_millis(number("device_timeout_ms", v)?);
        }
        options.finish("alsa")?;
        Ok(config)
    }
}

/// The `alsa` plugin's factory.
pub struct AlsaPlugin;

impl PluginFactory for AlsaPlugin {
    const BACKEND: &'static std::ffi::CStr = c"alsa";

    fn create(options: PluginOptions) -> Result<Box<dyn AudioDriver>> {
        Ok(Box::new(AlsaDriver::new(AlsaConfig::from_options(
            options,
        )?)))
    }
}

amio_core::export_plugin!(amio_plugin_alsa, AlsaPlugin);
