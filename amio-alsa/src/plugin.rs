//! The ALSA driver's options, and the driver as a plugin
//! (`libamio_alsa.so`, backend `alsa`).

use std::str::FromStr;
use std::time::Duration;

use amio_core::driver::{BackendConfig, BackendOptions, SampleFormat};
use amio_core::{AudioDriver, Result};

use crate::driver::{AlsaConfig, AlsaDriver};

/// A `realtime_priority` option: a SCHED_FIFO priority, or `off`.
struct Priority(Option<i32>);

impl FromStr for Priority {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> std::result::Result<Priority, Self::Err> {
        if s == "off" {
            Ok(Priority(None))
        } else {
            s.parse().map(|p| Priority(Some(p)))
        }
    }
}

impl BackendConfig for AlsaConfig {
    const BACKEND: &'static str = "alsa";

    /// The `alsa` backend's options: `playback`, `capture` (PCM names),
    /// `period` (frames), `periods` (in the buffer), `format` (`f32`,
    /// `s32`, `s24`, `s16`), `realtime_priority` (1–99, or `off`),
    /// `device_timeout_ms`. Those not given keep [`AlsaConfig::default`].
    fn take(options: &mut BackendOptions) -> Result<AlsaConfig> {
        let default = AlsaConfig::default();
        let formats = SampleFormat::PREFERENCE.map(|f| (f.name(), f));
        Ok(AlsaConfig {
            playback_device: options.take("playback").unwrap_or(default.playback_device),
            capture_device: options.take("capture").unwrap_or(default.capture_device),
            period: options
                .take_parsed("period", "a whole number of frames")?
                .unwrap_or(default.period),
            periods: options
                .take_parsed("periods", "a whole number of periods")?
                .unwrap_or(default.periods),
            format: options.take_choice("format", &formats)?.or(default.format),
            realtime_priority: options
                .take_parsed::<Priority>("realtime_priority", "a priority (1 to 99) or off")?
                .map_or(default.realtime_priority, |p| p.0),
            device_timeout: options
                .take_u64("device_timeout_ms")?
                .map_or(default.device_timeout, Duration::from_millis),
        })
    }
}

/// Makes the plugin's drivers from their options.
fn make_driver(options: &str) -> Result<Box<dyn AudioDriver>> {
    Ok(Box::new(AlsaDriver::new(AlsaConfig::from_options(
        options,
    )?)))
}

amio_plugin::export_plugin!(amio_plugin_alsa, c"alsa", make_driver);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_typed_and_checked() {
        let config = AlsaConfig::from_options(
            "playback=hw:1\ncapture=hw:2\nperiod=128\nperiods=3\nformat=s24\n\
             realtime_priority=off\ndevice_timeout_ms=500",
        )
        .unwrap();
        assert_eq!(
            config,
            AlsaConfig {
                playback_device: "hw:1".into(),
                capture_device: "hw:2".into(),
                period: 128,
                periods: 3,
                format: Some(SampleFormat::S24),
                realtime_priority: None,
                device_timeout: Duration::from_millis(500),
            }
        );
        assert_eq!(AlsaConfig::from_options("").unwrap(), AlsaConfig::default());
        assert_eq!(
            AlsaConfig::from_options("realtime_priority=20")
                .unwrap()
                .realtime_priority,
            Some(20)
        );
        let error = |text| AlsaConfig::from_options(text).unwrap_err().to_string();
        assert_eq!(
            error("format=u8"),
            "configuration: format (options line 1) is \"u8\"; it takes f32, s32, s24 or s16"
        );
        assert_eq!(
            error("period=-1"),
            "configuration: period (options line 1) is \"-1\", not a whole number of frames"
        );
        assert_eq!(
            error("realtime_priority=high"),
            "configuration: realtime_priority (options line 1) is \"high\", not a priority (1 to 99) or off"
        );
        assert_eq!(
            error("rate=48000"),
            "configuration: options (line 1) \"rate\" is not an option of the alsa backend"
        );
    }
}
