//! The JACK driver as a plugin (`libamio_jack.so`), and its options.

use amio_core::plugin::{PluginFactory, PluginOptions};
use amio_core::{AudioDriver, Error, Result};

use crate::driver::{Connect, JackConfig, JackDriver};

/// Splits `a,b` into names (empty: none).
fn names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Splits `a,b;c` into per-port lists of names.
fn per_port(list: &str) -> Vec<Vec<String>> {
    list.split(';').map(names).collect()
}

impl JackConfig {
    /// Reads the options of the `jack` backend (`key=value` lines):
    ///
    /// | key | value |
    /// | --- | --- |
    /// | `client_name` | the JACK client's name |
    /// | `server` | the JACK server's name |
    /// | `input_names`, `output_names` | port names, comma-separated |
    /// | `connect` | `physical` (default), `none` or `ports` |
    /// | `connect_inputs`, `connect_outputs` | with `connect=ports`: per port, `;`-separated, the full names of its peers, `,`-separated |
    pub fn from_options(mut options: PluginOptions) -> Result<JackConfig> {
        let mut config = JackConfig::default();
        if let Some(name) = options.take("client_name") {
            config.client_name = name;
        }
        config.server_name = options.take("server").filter(|s| !s.is_empty());
        config.input_names = options
            .take("input_names")
            .map(|l| names(&l))
            .unwrap_or_default();
        config.output_names = options
            .take("output_names")
            .map(|l| names(&l))
            .unwrap_or_default();
        let inputs = options.take("connect_inputs");
        let outputs = options.take("connect_outputs");
        config.connect = match options.take("connect").as_deref() {
            None | Some("physical") => Connect::Physical,
            Some("none") => Connect::None,
            Some("ports") => Connect::Ports {
                inputs: inputs.as_deref().map(per_port).unwrap_or_default(),
                outputs: outputs.as_deref().map(per_port).unwrap_or_default(),
            },
            Some(other) => {
                return Err(Error::Config {
                    field: "connect",
                    rule: format!("is {other:?}; it takes physical, none or ports"),
                })
            }
        };
        options.finish("jack")?;
        Ok(config)
    }
}

/// The `jack` plugin's factory.
pub struct JackPlugin;

impl PluginFactory for JackPlugin {
    const BACKEND: &'static std::ffi::CStr = c"jack";

    fn create(options: PluginOptions) -> Result<Box<dyn AudioDriver>> {
        Ok(Box::new(JackDriver::new(JackConfig::from_options(
            options,
        )?)))
    }
}

amio_core::export_plugin!(amio_plugin_jack, JackPlugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_and_unknown_ones_refused() {
        let text = "client_name=rec\nserver=s1\ninput_names=l, r\nconnect=ports\nconnect_inputs=a:1,a:2;b:1\n";
        let c = JackConfig::from_options(PluginOptions::parse(text).unwrap()).unwrap();
        assert_eq!(c.client_name, "rec");
        assert_eq!(c.server_name.as_deref(), Some("s1"));
        assert_eq!(c.input_names, vec!["l", "r"]);
        assert_eq!(
            c.connect,
            Connect::Ports {
                inputs: vec![vec!["a:1".into(), "a:2".into()], vec!["b:1".into()]],
                outputs: vec![]
            }
        );
        let err =
            JackConfig::from_options(PluginOptions::parse("colour=blue").unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: options \"colour\" is not an option of the jack backend"
        );
        let err =
            JackConfig::from_options(PluginOptions::parse("connect=all").unwrap()).unwrap_err();
        assert!(err.to_string().contains("takes physical, none or ports"));
    }
}
