//! Page tokens as a careful (or hostile) CRM meets them, on both backends: a token is opaque and
//! good only for the next page of the listing, tenant and query that returned it; a forged
//! position, another tenant's token or a token of another query is refused with 400.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use migrations::test_db::BACKENDS;
use serde_json::{Value, json};
use test_support::spawn_app_on;

use crate::http::{Reply, assessment, keys, post};

fn refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: {}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["violations"][0]["reason"], "INVALID_PAGE_TOKEN", "{what}");
}

/// `token` with its position replaced by `position` and its signature kept.
fn forged(token: &str, position: &str) -> String {
    let (_, signature) = token.split_once('.').unwrap();
    format!("{}.{signature}", BASE64.encode(position))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_foreign_page_token_is_refused_with_400() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, b) = keys(&app).await;
        let call = |op: &str, key: &str, body: Value| tokio::task::block_in_place(|| post(&app, op, Some(key), &body));
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        for (key, tag) in [(&a, "a"), (&a, "b"), (&a, "c"), (&b, "d"), (&b, "e")] {
            let body = json!({"requestId": format!("page-{tag}"), "externalRef": format!("crm-{tag}"),
                "firmName": format!("Pagina {tag} B.V."), "assessment": assessment(&model)});
            assert_eq!(call("PersistenceService/SubmitAssessment", key, body).status, 200);
        }

        // Assessments: the token pages on, and nothing else.
        let first = call("PersistenceService/ListAssessments", &a, json!({"pageSize": 1})).json();
        let token = first["nextPageToken"].as_str().unwrap().to_string();
        let id = first["assessments"][0]["id"].as_str().unwrap().to_string();
        assert!(!token.split('.').any(|part| part == id), "{backend:?}: the token shows its position: {token}");
        let next = call("PersistenceService/ListAssessments", &a, json!({"pageSize": 1, "pageToken": token}));
        assert_eq!(next.status, 200, "{}", String::from_utf8_lossy(&next.body));
        assert_ne!(next.json()["assessments"][0]["id"], first["assessments"][0]["id"]);
        let list = |key: &str, body: Value| call("PersistenceService/ListAssessments", key, body);
        refused(&list(&b, json!({"pageSize": 1, "pageToken": token})), "another tenant's token");
        refused(&list(&a, json!({"pageSize": 1, "pageToken": token, "externalRef": "crm-a"})), "another query");
        let neighbour = (id.parse::<i64>().unwrap() - 1).to_string();
        for position in ["1000", "-1", "0", &neighbour] {
            let body = json!({"pageSize": 1, "pageToken": forged(&token, position)});
            refused(&list(&a, body), &format!("{backend:?}: forged position {position}"));
        }
        refused(&list(&a, json!({"pageToken": format!("1000.{}", &token[token.len() - 16..])})), "the old form");
        refused(&list(&a, json!({"pageToken": "garbage"})), "garbage");

        // Webhook endpoints, events and deliveries: the same helper, the same refusals.
        for n in 0..2 {
            let body = json!({"url": format!("https://crm.example.nl/h{n}")});
            assert_eq!(call("WebhookService/CreateWebhookEndpoint", &a, body).status, 200);
        }
        let first = call("WebhookService/ListWebhookEndpoints", &a, json!({"pageSize": 1})).json();
        let token = first["nextPageToken"].as_str().unwrap().to_string();
        let next = call("WebhookService/ListWebhookEndpoints", &a, json!({"pageSize": 1, "pageToken": token}));
        assert_eq!(next.status, 200, "{}", String::from_utf8_lossy(&next.body));
        let endpoints = |key: &str, body: Value| call("WebhookService/ListWebhookEndpoints", key, body);
        refused(&endpoints(&b, json!({"pageToken": token})), "another tenant's endpoint token");
        refused(&endpoints(&a, json!({"pageToken": forged(&token, "0.ep_x")})), "a forged endpoint position");
        refused(
            &call("WebhookService/ListWebhookEvents", &a, json!({"pageToken": token})),
            "an endpoints token for events",
        );
    }
}
