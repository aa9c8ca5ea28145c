//! The cpal driver's settings, and the `cpal` backend's options.

use amio_core::driver::{BackendConfig, BackendOptions};
use amio_core::Result;

/// The deepest input-to-output bridge, in frames (21 s at 48 kHz): the
/// bridge holds that many frames of every input channel.
pub const MAX_BRIDGE_DEPTH: usize = 1 << 20;

/// The cpal driver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpalConfig {
    /// The cpal host by name (`alsa`, `jack`, …); `None` for cpal's default.
    pub host: Option<String>,
    /// The output device by id or name; `None` for the host's default. A
    /// [`amio_core::StreamConfig::device`] replaces both devices.
    pub output_device: Option<String>,
    /// The input device by id or name; `None` for the host's default.
    pub input_device: Option<String>,
    /// Frames per callback to ask for; `None` for the host's default.
    pub buffer_size: Option<u32>,
    /// The most frames the engine processes at once; longer callbacks are
    /// worked in pieces. Default 4096.
    pub max_period: usize,
    /// Frames of silence the bridge from input to output starts with: how
    /// far the output side reads behind the input. `None`: twice
    /// [`CpalConfig::buffer_size`], or 1024 when that is not set (a
    /// stream's requested period does not shorten it: through ALSA's `jack`
    /// PCM, two 256-frame callbacks' worth under-runs).
    pub bridge_depth: Option<usize>,
}

impl Default for CpalConfig {
    fn default() -> CpalConfig {
        CpalConfig {
            host: None,
            output_device: None,
            input_device: None,
            buffer_size: None,
            max_period: 4096,
            bridge_depth: None,
        }
    }
}

impl BackendConfig for CpalConfig {
    const BACKEND: &'static str = "cpal";

    /// The `cpal` backend's options: `host` (`alsa`, `jack`, …), `output`,
    /// `input` (device ids or names), `buffer_size`, `max_period`,
    /// `bridge_depth` (frames).
    fn take(options: &mut BackendOptions) -> Result<CpalConfig> {
        const FRAMES: &str = "a whole number of frames";
        let default = CpalConfig::default();
        Ok(CpalConfig {
            host: options.take("host"),
            output_device: options.take("output"),
            input_device: options.take("input"),
            buffer_size: options.take_parsed("buffer_size", FRAMES)?,
            max_period: options
                .take_parsed("max_period", FRAMES)?
                .unwrap_or(default.max_period),
            bridge_depth: options.take_parsed("bridge_depth", FRAMES)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_typed_in_one_place() {
        let c = CpalConfig::from_options(
            "host=alsa\noutput=amio_file\ninput=x\nbuffer_size=256\nmax_period=512\nbridge_depth=1024",
        )
        .unwrap();
        assert_eq!(
            c,
            CpalConfig {
                host: Some("alsa".into()),
                output_device: Some("amio_file".into()),
                input_device: Some("x".into()),
                buffer_size: Some(256),
                max_period: 512,
                bridge_depth: Some(1024),
            }
        );
        assert_eq!(CpalConfig::from_options("").unwrap(), CpalConfig::default());
        assert_eq!(
            CpalConfig::from_options("buffer_size=-1")
                .unwrap_err()
                .to_string(),
            "configuration: buffer_size (options line 1) is \"-1\", not a whole number of frames"
        );
        assert!(CpalConfig::from_options("buffer_size=4294967296").is_err());
        assert_eq!(
            CpalConfig::from_options("period=1")
                .unwrap_err()
                .to_string(),
            "configuration: options (line 1) \"period\" is not an option of the cpal backend"
        );
    }
}
