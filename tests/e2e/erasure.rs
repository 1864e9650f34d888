//! Erasure as a firm's privacy officer would check it, on both backends: after DeleteAssessment
//! neither the firm's name nor its reference is anywhere in the database (the SQLite file and its
//! write-ahead log byte for byte; a PostgreSQL dump), not even in the request id that a CRM built
//! from its reference, and a replay of the request that stored the assessment answers that it
//! was erased instead of handing the record back or storing it again.

use std::time::Duration;

use migrations::test_db::{BACKENDS, Backend};
use serde_json::{Value, json};
use test_support::spawn_app_on;
use test_support::webhook_receiver::Receiver;

use crate::http::{assessment, keys, post, request};

/// Everything the database holds, as bytes: the SQLite file with its write-ahead log and shared
/// memory, or a plain dump of the PostgreSQL database.
pub(crate) fn database_bytes(backend: Backend, url: &str) -> Vec<u8> {
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").split('?').next().unwrap().to_string();
            let mut all = Vec::new();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    all.extend(bytes);
                }
            }
            assert!(!all.is_empty(), "no SQLite file at {path}");
            all
        }
        Backend::Postgres => {
            let dump = std::process::Command::new("pg_dump")
                .args(["--no-owner", "--data-only", "--dbname", url])
                .output()
                .expect("pg_dump (PostgreSQL's client) must be installed for this test");
            assert!(dump.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&dump.stderr));
            dump.stdout
        }
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_assessment_leaves_no_copy_and_its_replay_says_it_was_erased() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        // A receiver, so that the events and their delivery records are stored too.
        let recv = Receiver::start();
        let created = tokio::task::block_in_place(|| {
            post(&app, "WebhookService/CreateWebhookEndpoint", Some(&a), &json!({"url": recv.url("/h")}))
        });
        assert_eq!(created.status, 200, "{}", String::from_utf8_lossy(&created.body));
        recv.set_secrets(&[created.json()["secret"].as_str().unwrap()]);

        let submit = |key: &str, body: &Value| {
            let auth = format!("Bearer {a}");
            let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", key)];
            tokio::task::block_in_place(|| {
                request(&app, "POST", "/v1/PersistenceService/SubmitAssessment", &headers, body.to_string().as_bytes())
            })
        };
        let erased = json!({"externalRef": "crm-erase-7f3a9", "firmName": "Geheim Erase B.V.", "assessment": assessment(&model)});
        let kept = json!({"externalRef": "crm-keep-51c2e", "firmName": "Blijft Bewaard B.V.", "assessment": assessment(&model)});
        let first = submit("crm-erase-7f3a9-v1", &erased);
        assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
        assert_eq!(submit("crm-keep-51c2e-v1", &kept).status, 200);
        let id = first.json()["assessment"]["id"].as_str().unwrap().to_string();
        assert!(recv.wait_accepted(2, Duration::from_secs(30)), "{backend:?}: {:?}", recv.received());
        let before = database_bytes(backend, &app.db_url);
        for text in ["Geheim Erase B.V.", "crm-erase-7f3a9"] {
            assert!(contains(&before, text), "{backend:?}: `{text}` is not found even before the erasure");
        }

        // As a response remembered before it was linked to its assessment, with no audit entry
        // to link it by (databases older than the audit log).
        use store::ConnectionTrait;
        app.db.execute_unprepared("UPDATE idempotency_keys SET assessment_id = NULL").await.unwrap();
        app.db.execute_unprepared("DELETE FROM audit_log").await.unwrap();

        let deleted = tokio::task::block_in_place(|| {
            post(&app, "PersistenceService/DeleteAssessment", Some(&a), &json!({"id": id}))
        });
        assert_eq!(deleted.status, 200, "{}", String::from_utf8_lossy(&deleted.body));

        // The replay of the erased request: an answer that it was erased, never the record.
        let replay = submit("crm-erase-7f3a9-v1", &erased);
        assert_eq!(replay.status, 404, "{backend:?}: {}", String::from_utf8_lossy(&replay.body));
        let text = String::from_utf8_lossy(&replay.body).to_string();
        assert!(text.contains("erased") && text.contains(&id), "{backend:?}: {text}");
        assert!(!text.contains("Geheim") && !text.contains("crm-erase"), "{backend:?}: {text}");
        let got = tokio::task::block_in_place(|| {
            post(&app, "PersistenceService/GetAssessment", Some(&a), &json!({"id": id}))
        });
        assert_eq!(got.status, 404);
        // The kept firm's replay still answers its record.
        assert_eq!(submit("crm-keep-51c2e-v1", &kept).json()["assessment"]["firmName"], "Blijft Bewaard B.V.");

        let after = database_bytes(backend, &app.db_url);
        for text in ["Geheim Erase B.V.", "crm-erase-7f3a9"] {
            assert!(!contains(&after, text), "{backend:?}: `{text}` is still in the database after the erasure");
        }
        for text in ["Blijft Bewaard B.V.", "crm-keep-51c2e"] {
            assert!(contains(&after, text), "{backend:?}: `{text}` of the kept assessment went too");
        }
    }
}
