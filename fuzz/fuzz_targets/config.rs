//! Configuration: a config file and environment values from the input, loaded as `maturity
//! serve` loads them. Every bad value is reported (the error lists them), never a panic. The
//! input is the file's text, then after a NUL byte `KEY=VALUE` lines read as the environment.
//! What is accepted keeps every documented bound (`within_bounds`): a value outside one must have
//! been refused, not carried into a server.

#![no_main]

use configuration::settings::{GlobalArgs, ServeArgs, ServeConfig};
use libfuzzer_sys::fuzz_target;

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
    let args = ServeArgs { global: GlobalArgs { config: Some(path), ..GlobalArgs::default() }, ..ServeArgs::default() };
    match ServeConfig::load(&args, lookup) {
        Ok(config) => within_bounds(&config),
        Err(e) => assert!(!e.to_string().is_empty(), "a refusal without a message"),
    }
});

/// The bounds the configuration's table (configuration::settings) promises for each value.
fn within_bounds(c: &ServeConfig) {
    use std::time::Duration;
    assert!(c.disclosure_k >= 5, "disclosure_k {}", c.disclosure_k);
    assert!(c.tenant_rate_limit.is_finite() && c.tenant_rate_limit >= 0.0, "tenant_rate_limit {}", c.tenant_rate_limit);
    assert!(
        (Duration::from_millis(50)..=Duration::from_secs(60)).contains(&c.publish_interval),
        "publish_interval {:?}",
        c.publish_interval
    );
    if let Some(d) = c.sqlite_checkpoint {
        assert!((Duration::from_millis(10)..=Duration::from_secs(60)).contains(&d), "sqlite_checkpoint {d:?}");
    }
    assert!(c.completed_at_skew_seconds <= 604_800, "completed_at_skew_seconds {}", c.completed_at_skew_seconds);
    assert!(c.peer_years_back <= 5, "peer_years_back {}", c.peer_years_back);
    assert!((1..=1000).contains(&c.database_pool_size), "database_pool_size {}", c.database_pool_size);
    assert!(c.chapter_retention_days <= 36_500, "chapter_retention_days {}", c.chapter_retention_days);
    assert!(!c.database_url.expose().contains("sslmode=verify-ca"), "sslmode=verify-ca accepted");
    assert!(
        (Duration::from_secs(1)..=Duration::from_secs(60)).contains(&c.webhook_timeout),
        "webhook_timeout {:?}",
        c.webhook_timeout
    );
    for (key, d) in [
        ("http_header_timeout", c.http_header_timeout),
        ("http_body_timeout", c.http_body_timeout),
        ("database_acquire_timeout", c.database_acquire_timeout),
        ("database_connect_timeout", c.database_connect_timeout),
    ] {
        assert!((Duration::from_millis(100)..=Duration::from_secs(600)).contains(&d), "{key} {d:?}");
    }
    assert!(
        (Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&c.http_idle_timeout),
        "http_idle_timeout {:?}",
        c.http_idle_timeout
    );
}
