//! Layered configuration: built-in defaults, then a TOML file, then environment variables
//! (`MATURITY_<KEY>`), then command-line flags. Every bad value is reported at once, each with the
//! layer it came from, and a binary exits with `EXIT_CONFIG` (64) on any of them.
//!
//! Values are kept as strings with their origin until the typed read, so that one message can say
//! "grpc_addr = `x` (from MATURITY_GRPC_ADDR) is not a socket address".

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Prefix of the environment variables read.
pub const ENV_PREFIX: &str = "MATURITY_";

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A key in the configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag.
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "from {}", p.display()),
            Origin::Env(v) => write!(f, "from {v}"),
            Origin::Flag(flag) => write!(f, "from {flag}"),
        }
    }
}

/// Every problem with the configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigError(pub Vec<String>);

/// A value that must not be printed (keys, passwords, URLs with credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(v: T) -> Self {
        Secret(v)
    }
    /// The value itself, for the one place that uses it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Raw layered values, before typing.
#[derive(Debug)]
pub struct Layers {
    known: &'static [&'static str],
    values: BTreeMap<&'static str, (String, Origin)>,
    errors: Vec<String>,
}

impl Layers {
    /// Starts with no values; `known` lists every key this binary reads.
    pub fn new(known: &'static [&'static str]) -> Self {
        Layers { known, values: BTreeMap::new(), errors: Vec::new() }
    }

    fn known_key(&self, key: &str) -> Option<&'static str> {
        self.known.iter().copied().find(|k| *k == key)
    }

    /// Reads a TOML file of `key = value` pairs. Unknown keys and unreadable files are errors.
    pub fn file(mut self, path: Option<&Path>) -> Self {
        let Some(path) = path else { return self };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(format!("cannot read config file {}: {e}", path.display()));
                return self;
            }
        };
        let table = match text.parse::<toml::Table>() {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(format!("config file {}: {}", path.display(), e.to_string().trim()));
                return self;
            }
        };
        for (key, value) in table {
            let Some(k) = self.known_key(&key) else {
                self.errors.push(format!(
                    "config file {}: unknown key `{key}` (known: {})",
                    path.display(),
                    self.known.join(", ")
                ));
                continue;
            };
            let raw = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    self.errors
                        .push(format!("config file {}: `{key}` must be a string, number or boolean", path.display()));
                    continue;
                }
            };
            self.values.insert(k, (raw, Origin::File(path.to_path_buf())));
        }
        self
    }

    /// Reads `MATURITY_<KEY>` for every known key from `lookup` (the process environment in
    /// production, a map in tests).
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        for key in self.known {
            let var = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase());
            if let Some(v) = lookup(&var) {
                self.values.insert(key, (v, Origin::Env(var)));
            }
        }
        self
    }

    /// Sets `key` from an environment variable with another name (such as `DATABASE_URL`), when
    /// set; the prefixed variable, read by `env` before, is overridden.
    pub fn env_alias(mut self, key: &'static str, var: &str, value: Option<String>) -> Self {
        if let (Some(k), Some(v)) = (self.known_key(key), value) {
            self.values.insert(k, (v, Origin::Env(var.to_string())));
        }
        self
    }

    /// Sets a value from the command-line flag of `key` (`--` and the key with dashes), when given.
    pub fn flag(mut self, key: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            let flag = format!("--{}", key.replace('_', "-"));
            match self.known_key(key) {
                Some(k) => {
                    self.values.insert(k, (v.to_string(), Origin::Flag(flag)));
                }
                None => self.errors.push(format!("internal: flag {flag} sets unknown key `{key}`")),
            }
        }
        self
    }

    /// Reads `key` as `T`, or `default` when no layer sets it. A bad value is recorded and the
    /// default returned, so that reading goes on and every problem is reported.
    pub fn get<T: FromStr>(&mut self, key: &str, default: T) -> T
    where
        T::Err: fmt::Display,
    {
        self.get_opt(key).unwrap_or(default)
    }

    /// Reads `key` as `T` when some layer sets it.
    pub fn get_opt<T: FromStr>(&mut self, key: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let (raw, origin) = self.values.get(key)?;
        match raw.trim().parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(format!("{key} = `{raw}` ({origin}): {e}"));
                None
            }
        }
    }

    /// Records a problem found by a check across values.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    /// Ends reading: `Ok` when every value was good.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ConfigError(self.errors)) }
    }
}

/// How callers of the tenant-scoped services are identified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// `authorization: Bearer <API key>` on every call to a tenant-scoped or benchmark service.
    #[default]
    Keys,
    /// Trust the `x-tenant-id` header (local development and tests only; never in production).
    TenantHeader,
}

impl FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keys" => Ok(AuthMode::Keys),
            "tenant-header" => Ok(AuthMode::TenantHeader),
            _ => Err("expected `keys` or `tenant-header`".to_string()),
        }
    }
}

/// A duration in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub u64);

impl FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u64>().map(Seconds).map_err(|_| "expected a whole number of seconds".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telemetry::LogFormat;

    const KEYS: &[&str] = &["grpc_addr", "log_format", "drain_seconds"];

    #[test]
    fn later_layers_win_and_every_error_is_reported() {
        let env = |v: &str| match v {
            "MATURITY_GRPC_ADDR" => Some("not-an-address".to_string()),
            "MATURITY_LOG_FORMAT" => Some("xml".to_string()),
            _ => None,
        };
        let mut layers = Layers::new(KEYS).env(env).flag("drain_seconds", Some("soon"));
        let addr: std::net::SocketAddr = layers.get("grpc_addr", "127.0.0.1:1".parse().unwrap());
        let _: LogFormat = layers.get("log_format", LogFormat::Text);
        let _: Seconds = layers.get("drain_seconds", Seconds(5));
        assert_eq!(addr.port(), 1);
        let err = layers.finish().unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert!(err.0[0].contains("grpc_addr = `not-an-address` (from MATURITY_GRPC_ADDR)"), "{err}");
        assert!(err.0[1].contains("log_format = `xml` (from MATURITY_LOG_FORMAT)"), "{err}");
        assert!(err.0[2].contains("drain_seconds = `soon` (from --drain-seconds)"), "{err}");
    }

    #[test]
    fn file_then_env_then_flag() {
        let dir = std::env::temp_dir().join(format!("maturity-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "grpc_addr = \"127.0.0.1:1000\"\ndrain_seconds = 3\nbogus = 1\n").unwrap();
        let env = |v: &str| (v == "MATURITY_DRAIN_SECONDS").then(|| "4".to_string());
        let mut layers = Layers::new(KEYS).file(Some(&path)).env(env).flag("log_format", Some("json"));
        let addr: std::net::SocketAddr = layers.get("grpc_addr", "127.0.0.1:1".parse().unwrap());
        assert_eq!(addr.port(), 1000);
        assert_eq!(layers.get("drain_seconds", Seconds(0)), Seconds(4));
        assert_eq!(layers.get("log_format", LogFormat::Text), LogFormat::Json);
        let err = layers.finish().unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].contains("unknown key `bogus`"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
