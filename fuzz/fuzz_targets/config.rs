//! Configuration: a config file and environment values from the input, loaded as `maturity
//! serve` loads them. Every bad value is reported (the error lists them), never a panic. The
//! input is the file's text, then after a NUL byte `KEY=VALUE` lines read as the environment.

#![no_main]

use libfuzzer_sys::fuzz_target;
use services_common::serve::{ServeArgs, ServeConfig};

fuzz_target!(|data: &[u8]| {
    let (file, env) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let path = std::env::temp_dir().join(format!("maturity-fuzz-config-{}.toml", std::process::id()));
    if std::fs::write(&path, file).is_err() {
        return;
    }
    let env = String::from_utf8_lossy(env).into_owned();
    let lookup =
        |key: &str| env.lines().find_map(|l| l.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v.to_string()));
    let args = ServeArgs { config: Some(path), ..ServeArgs::default() };
    if let Err(e) = ServeConfig::load(&args, lookup) {
        assert!(!e.to_string().is_empty(), "a refusal without a message");
    }
});
