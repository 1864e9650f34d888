//! The `maturity` binary as an operator runs it: exit codes, start-up errors, the demo job and
//! graceful shutdown on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_maturity");

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("maturity-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `maturity serve` on a free port, with its database in `dir`, and returns the child and
/// its address.
fn serve(dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "warn"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(line.starts_with("maturity: gRPC listening on"), "{line}");
    (child, addr)
}

#[test]
fn bad_config_exits_64_and_lists_every_problem() {
    let out = Command::new(BIN)
        .args(["serve", "--grpc-addr", "nowhere", "--drain-seconds", "soon"])
        .env("MATURITY_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("grpc_addr = `nowhere` (from --grpc-addr)"), "{err}");
    assert!(err.contains("drain_seconds = `soon` (from --drain-seconds)"), "{err}");
    assert!(err.contains("log_format = `xml` (from MATURITY_LOG_FORMAT)"), "{err}");
}

#[test]
fn bad_usage_exits_64() {
    let out = Command::new(BIN).args(["serve", "--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn malformed_model_file_is_a_start_up_error_naming_the_line() {
    let dir = scratch("models");
    let good = include_str!("../../../../models/nl-social-business/v1.toml");
    let broken = good.replacen("tolerance = 10.0", "tolerance = ten", 1);
    let line = broken[..broken.find("tolerance = ten").unwrap()].matches('\n').count() + 1;
    std::fs::write(dir.join("v1.toml"), broken).unwrap();
    let out =
        Command::new(BIN).args(["serve", "--grpc-addr", "127.0.0.1:0", "--models-dir"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("v1.toml:{line}:")), "expected line {line} in: {err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `maturity admin ARGS` over the database in `dir`; its standard output.
fn admin(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("admin")
        .arg("--database-url")
        .arg(format!("sqlite://{}/m.db?mode=rwc", dir.display()))
        .arg("--pseudonym-key-file")
        .arg(dir.join("key"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn demo_scores_through_the_api_and_sigterm_exits_0() {
    let data = scratch("data");
    let (mut child, addr) = serve(&data, &[]);
    // Keys are required: an operator creates the tenant and issues a key.
    admin(&data, &["create-tenant", "demo", "--name", "Demo"]);
    let issued = admin(&data, &["issue-key", "demo", "--label", "test"]);
    let key = issued.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("mk_"), "{issued}");
    let listed = admin(&data, &["list-keys"]);
    assert!(listed.contains(&key[..13]) && !listed.contains(&key), "{listed}");
    // Without the key the demo is refused.
    let out = Command::new(BIN).args(["demo", "--server", &format!("http://{addr}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bearer"), "{}", String::from_utf8_lossy(&out.stderr));
    for lang in ["nl", "en"] {
        let out = Command::new(BIN)
            .args(["demo", "--server", &format!("http://{addr}"), "--api-key", &key, "--lang", lang, "--out"])
            .arg(data.join("out"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let (index, synthetic) =
            if lang == "nl" { ("Volwassenheidsindex", "SYNTHETISCH") } else { ("Maturity index", "SYNTHETIC") };
        assert!(text.contains(index) && text.contains(synthetic), "{text}");
        let suffix = format!(".{lang}.pdf");
        let pdf = text.lines().find_map(|l| l.split_whitespace().last().filter(|w| w.ends_with(&suffix))).unwrap();
        assert!(std::fs::read(pdf).unwrap().starts_with(b"%PDF-"), "{pdf}");
    }
    // A bad assessment file: the server's field violations are shown, exit 1.
    let dir = scratch("demo");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "firm_name = \"x\"\n[firm]\nsbi_section = \"Z\"\nsize_class = \"small\"\nprovince = \"NL-UT\"\n[answers]\n\"e1.owner\" = 3\n").unwrap();
    let out = Command::new(BIN)
        .args(["demo", "--server", &format!("http://{addr}"), "--assessment"])
        .arg(&bad)
        .env("MATURITY_API_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("firm.sbi_section [UNKNOWN_SBI_SECTION]"), "{err}");
    assert!(err.contains("answers[0].likert [ANSWER_OFF_SCALE]"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn a_disclosure_threshold_below_five_is_refused() {
    let out = Command::new(BIN).args(["serve", "--disclosure-k", "4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("disclosure_k = 4 is below the minimum of 5"));
}

#[test]
fn seed_demo_then_migrate_on_a_fresh_database() {
    let dir = scratch("seed");
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.display());
    let key = dir.join("key");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--database-url")
            .arg(&url)
            .arg("--pseudonym-key-file")
            .arg(&key)
            .output()
            .unwrap()
    };
    let out = run(&["seed-demo", "--companies", "600", "--seed", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("seeded 600 synthetic firm-years over 13 years"));
    let out = run(&["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(key.exists());
    std::fs::remove_dir_all(dir).unwrap();
}
