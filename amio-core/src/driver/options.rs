//! Backend options: `key=value` lines, parsed once into typed values.
//!
//! Every backend reads its options the same way: [`BackendOptions::parse`]
//! splits the text, a [`BackendConfig`] takes each key it knows with a typed
//! getter (whose errors name the key and the rule), and
//! [`BackendOptions::finish`] refuses any key left over.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Options for a backend: `key=value` lines (blank lines and lines starting
/// with `#` are ignored; keys and values are trimmed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackendOptions(BTreeMap<String, (usize, String)>);

impl BackendOptions {
    /// Parses `key=value` lines.
    pub fn parse(text: &str) -> Result<BackendOptions> {
        let mut map = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(Error::Config {
                    field: "options",
                    rule: format!("line {}: {line:?} is not key=value", n + 1),
                });
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(Error::Config {
                    field: "options",
                    rule: format!("line {}: {line:?} has no key before '='", n + 1),
                });
            }
            if map
                .insert(key.to_owned(), (n + 1, value.trim().to_owned()))
                .is_some()
            {
                return Err(Error::Config {
                    field: "options",
                    rule: format!("line {}: {key:?} is given twice", n + 1),
                });
            }
        }
        Ok(BackendOptions(map))
    }

    /// Takes the text of `key`, if given.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.0.remove(key).map(|(_, value)| value)
    }

    /// Takes `key` as a value of `T`; `what` says what it must be ("a whole
    /// number of frames"), for the error.
    pub fn take_parsed<T: FromStr>(&mut self, key: &'static str, what: &str) -> Result<Option<T>> {
        match self.0.remove(key) {
            None => Ok(None),
            Some((line, value)) => value.parse().map(Some).map_err(|_| Error::Config {
                field: key,
                rule: format!("(options line {line}) is {value:?}, not {what}"),
            }),
        }
    }

    /// Takes `key` as a whole number.
    pub fn take_u64(&mut self, key: &'static str) -> Result<Option<u64>> {
        self.take_parsed(key, "a whole number")
    }

    /// Takes `key` as `true` or `false`.
    pub fn take_bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        self.take_parsed(key, "true or false")
    }

    /// Takes `key` as one of `choices` (by name).
    pub fn take_choice<T: Copy>(
        &mut self,
        key: &'static str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>> {
        match self.0.remove(key) {
            None => Ok(None),
            Some((line, value)) => choices
                .iter()
                .find(|(name, _)| *name == value)
                .map(|(_, v)| Some(*v))
                .ok_or_else(|| Error::Config {
                    field: key,
                    rule: format!(
                        "(options line {line}) is {value:?}; it takes {}",
                        one_of(choices.iter().map(|(name, _)| *name))
                    ),
                }),
        }
    }

    /// Takes `key` as a comma-separated list (empty items dropped).
    pub fn take_list(&mut self, key: &str) -> Option<Vec<String>> {
        self.take(key).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// Refuses any option not taken, naming the backend.
    pub fn finish(self, backend: &str) -> Result<()> {
        match self.0.iter().next() {
            None => Ok(()),
            Some((key, (line, _))) => Err(Error::Config {
                field: "options",
                rule: format!("(line {line}) {key:?} is not an option of the {backend} backend"),
            }),
        }
    }
}

/// "a, b or c".
fn one_of<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    match names.split_last() {
        None => "nothing".into(),
        Some((last, [])) => (*last).into(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A backend's typed options, read from [`BackendOptions`] in one place.
pub trait BackendConfig: Sized {
    /// The backend's name, for errors.
    const BACKEND: &'static str;

    /// Takes the keys this backend knows from `options`.
    fn take(options: &mut BackendOptions) -> Result<Self>;

    /// Parses `key=value` text: every key taken, none left over.
    fn from_options(text: &str) -> Result<Self> {
        let mut options = BackendOptions::parse(text)?;
        let config = Self::take(&mut options)?;
        options.finish(Self::BACKEND)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_and_their_errors() {
        let mut o = BackendOptions::parse("# c\n a = 12 \nb=true\nc=x,,y\nd=up\n").unwrap();
        assert_eq!(o.take_u64("a").unwrap(), Some(12));
        assert_eq!(o.take_bool("b").unwrap(), Some(true));
        assert_eq!(o.take_list("c").unwrap(), vec!["x", "y"]);
        let e = o
            .take_choice("d", &[("left", 0), ("right", 1)])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration: d (options line 5) is \"up\"; it takes left or right"
        );
        assert!(o.finish("test").is_ok());
        let mut o = BackendOptions::parse("period=x").unwrap();
        assert_eq!(
            o.take_u64("period").unwrap_err().to_string(),
            "configuration: period (options line 1) is \"x\", not a whole number"
        );
        let o = BackendOptions::parse("\nzzz=1").unwrap();
        assert_eq!(
            o.finish("null").unwrap_err().to_string(),
            "configuration: options (line 2) \"zzz\" is not an option of the null backend"
        );
        assert!(BackendOptions::parse("a=1\na=2").is_err());
        assert!(BackendOptions::parse("novalue").is_err());
    }
}
