//! The JACK driver as a plugin (`libamio_jack.so`), and its options.

use amio_core::driver::{BackendConfig, BackendOptions};
use amio_core::{AudioDriver, Error, Result};

use crate::driver::{Connect, JackConfig, JackDriver};

/// What `connect=` names.
#[derive(Clone, Copy)]
enum ConnectKind {
    Physical,
    None,
    Ports,
}

/// Splits `a,b;c` into per-port lists of names (`,` between a port's peers,
/// `;` between ports; empty names dropped).
fn per_port(list: &str) -> Vec<Vec<String>> {
    list.split(';')
        .map(|port| {
            port.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

impl BackendConfig for JackConfig {
    const BACKEND: &'static str = "jack";

    /// The options of the `jack` backend (`key=value` lines):
    ///
    /// | key | value |
    /// | --- | --- |
    /// | `client_name` | the JACK client's name |
    /// | `server` | the JACK server's name |
    /// | `input_names`, `output_names` | port names, comma-separated |
    /// | `connect` | `physical` (default), `none` or `ports` |
    /// | `connect_inputs`, `connect_outputs` | with `connect=ports` only: per port, `;`-separated, the full names of its peers, `,`-separated |
    fn take(options: &mut BackendOptions) -> Result<JackConfig> {
        let mut config = JackConfig::default();
        if let Some(name) = options.take("client_name") {
            config.client_name = name;
        }
        config.server_name = options.take("server").filter(|s| !s.is_empty());
        config.input_names = options.take_list("input_names").unwrap_or_default();
        config.output_names = options.take_list("output_names").unwrap_or_default();
        let inputs = options.take("connect_inputs");
        let outputs = options.take("connect_outputs");
        let kind = options
            .take_choice(
                "connect",
                &[
                    ("physical", ConnectKind::Physical),
                    ("none", ConnectKind::None),
                    ("ports", ConnectKind::Ports),
                ],
            )?
            .unwrap_or(ConnectKind::Physical);
        config.connect = match kind {
            ConnectKind::Ports => Connect::Ports {
                inputs: inputs.as_deref().map(per_port).unwrap_or_default(),
                outputs: outputs.as_deref().map(per_port).unwrap_or_default(),
            },
            ConnectKind::Physical | ConnectKind::None if inputs.is_some() || outputs.is_some() => {
                return Err(Error::Config {
                    field: "connect",
                    rule: "connect_inputs and connect_outputs need connect=ports".into(),
                })
            }
            ConnectKind::Physical => Connect::Physical,
            ConnectKind::None => Connect::None,
        };
        Ok(config)
    }
}

/// Makes the `jack` plugin's driver from its options text.
fn make_driver(options: &str) -> Result<Box<dyn AudioDriver>> {
    Ok(Box::new(JackDriver::new(JackConfig::from_options(
        options,
    )?)))
}

amio_plugin::export_plugin!(amio_plugin_jack, c"jack", make_driver);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_and_unknown_ones_refused() {
        let text = "client_name=rec\nserver=s1\ninput_names=l, r\nconnect=ports\nconnect_inputs=a:1,a:2;b:1\n";
        let c = JackConfig::from_options(text).unwrap();
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
        assert_eq!(JackConfig::from_options("").unwrap(), JackConfig::default());
        assert_eq!(
            JackConfig::from_options("connect=none\nserver=").unwrap(),
            JackConfig {
                connect: Connect::None,
                ..JackConfig::default()
            }
        );
        let err = JackConfig::from_options("colour=blue").unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: options (line 1) \"colour\" is not an option of the jack backend"
        );
        let err = JackConfig::from_options("connect=all").unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: connect (options line 1) is \"all\"; it takes physical, none or ports"
        );
        let err = JackConfig::from_options("connect_outputs=system:playback_1").unwrap_err();
        assert!(err.to_string().contains("need connect=ports"), "{err}");
    }
}
