//! The command line as a user meets it: each subcommand lists only its own options, the global
//! ones work before or after the subcommand, completions, and `--out -`.

use configuration::settings::ServerArgs;

use migrations::test_db::BACKENDS;

use crate::{World, report_gen, scratch};

/// The long flags of the serving options (`maturity serve`), none of which `report-gen` takes.
fn server_flags() -> Vec<String> {
    let command = <ServerArgs as clap::Args>::augment_args(clap::Command::new("serve"));
    command.get_arguments().filter_map(|a| a.get_long()).map(|l| format!("--{l}")).collect()
}

fn help(args: &[&str]) -> String {
    let out = report_gen().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_subcommand_lists_its_own_options_and_the_global_ones_but_no_server_option() {
    let server = server_flags();
    assert!(server.len() >= 20 && server.contains(&"--tls-cert-file".to_string()), "{server:?}");
    for sub in ["render", "pages", "nightly", "sector", "export", "templates"] {
        let text = help(&[sub]);
        for flag in &server {
            assert!(!text.contains(&format!("{flag} ")), "`report-gen {sub} --help` lists {flag}:\n{text}");
        }
        for global in ["--database-url", "--config", "--models-dir", "--disclosure-k", "--log-level"] {
            assert!(text.contains(global), "`report-gen {sub} --help` lacks {global}");
        }
        let templates = ["render", "pages", "nightly", "sector"].contains(&sub);
        assert_eq!(text.contains("--templates <DIR>"), templates, "{sub}: --templates");
        assert_eq!(
            text.contains("--chapter-retention-days <DAYS>"),
            sub == "nightly",
            "{sub}: --chapter-retention-days"
        );
    }
    // A serving option is refused as bad usage, naming it.
    let out =
        report_gen().args(["export", "--format", "dictionary", "--out", "-", "--grpc-addr", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--grpc-addr"));
}

#[test]
fn the_bash_completion_script_parses_and_names_every_subcommand_and_option() {
    let out = report_gen().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = String::from_utf8(out.stdout).unwrap();
    for word in ["nightly", "sector", "export", "render", "--database-url", "--chapter-retention-days", "complete -F"] {
        assert!(script.contains(word), "the script lacks {word}");
    }
    let dir = scratch("completions");
    let path = dir.join("report-gen.bash");
    std::fs::write(&path, &script).unwrap();
    let check = std::process::Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    let unknown = report_gen().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(64));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn out_dash_writes_the_document_to_standard_output_and_the_message_to_standard_error() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme"], 1).await;
        let dir = scratch("stdout");
        let id = world.assessments[0].1.to_string();
        let run = |out: &str| {
            // The global option before the subcommand here, after it below: both are accepted.
            let run = report_gen()
                .args(["--database-url", &world.app.db_url, "render", "--assessment", &id, "--out", out])
                .output()
                .unwrap();
            assert!(run.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&run.stderr));
            run
        };
        let file = dir.join("chapter.pdf");
        let to_file = run(file.to_str().unwrap());
        assert!(String::from_utf8_lossy(&to_file.stdout).contains("wrote"), "{backend:?}");
        let piped = run("-");
        assert!(piped.stdout == std::fs::read(&file).unwrap(), "{backend:?}: standard output is not the chapter");
        assert!(String::from_utf8_lossy(&piped.stderr).contains("wrote standard output"), "{backend:?}");
        let dictionary = report_gen().args(["export", "--format", "dictionary", "--out", "-"]).output().unwrap();
        assert!(dictionary.status.success() && dictionary.stdout.starts_with(b"column,"), "{backend:?}");
        let csv = report_gen()
            .args(["export", "--year", "2025", "--format", "csv", "--out", "-", "--database-url", &world.app.db_url])
            .output()
            .unwrap();
        assert!(csv.status.success(), "{backend:?}: {}", String::from_utf8_lossy(&csv.stderr));
        assert!(csv.stdout.len() > 1000 && !String::from_utf8_lossy(&csv.stdout).contains("report-gen:"));
        // A command that writes a folder refuses `-`, and creates nothing.
        for sub in [&["pages", "--assessment", &id][..], &["nightly"], &["templates"]] {
            let refused = report_gen().args(sub).args(["--out", "-"]).current_dir(&dir).output().unwrap();
            assert_eq!(refused.status.code(), Some(64), "{sub:?}");
            assert!(String::from_utf8_lossy(&refused.stderr).contains("names a folder"), "{sub:?}");
            assert!(!dir.join("-").exists(), "{sub:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
