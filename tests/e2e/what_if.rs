//! Actions and the what-if over JSON, as a CRM would try changes with a consultant: the actions
//! that ScoreAssessment returns, sent back as changes, give exactly the stated result; a bad
//! change is named at its own position.

use domain_model::{ModelRegistry, ScaleKind, Target, model::Axis};
use migrations::test_db::BACKENDS;
use serde_json::{Value, json};

use crate::http::request;
use test_support::spawn_app_on;

/// An under-invested firm in JSON: it listens and experiments, its proposition rests on social
/// media, everything else at the bottom of its scale.
fn under_invested() -> Value {
    let model = ModelRegistry::builtin().unwrap().resolve("", 0).unwrap();
    let answers: Vec<Value> = model
        .items
        .iter()
        .map(|item| {
            let level = match item.evidence[0].0 {
                Target::Stage(Axis::External, 1) => 1.0,
                Target::Stage(Axis::Internal, 1) | Target::Proposition => 0.75,
                _ => 0.0,
            };
            let scale = model.scale_of(item);
            let last = scale.points.len() - 1;
            let point = &scale.points[((level * last as f64).round() as usize).min(last)];
            match scale.kind {
                ScaleKind::Likert => json!({"itemId": item.id, "likert": point.number.unwrap()}),
                ScaleKind::YesNo => json!({"itemId": item.id, "yes": point.value == "yes"}),
                ScaleKind::Choice => json!({"itemId": item.id, "choice": point.value}),
            }
        })
        .collect();
    json!({"firm": {"sbiSection": "G", "sizeClass": "small", "province": "NL-UT"}, "answers": answers, "locale": "nl"})
}

fn post(app: &test_support::TestApp, path: &str, body: &Value) -> crate::http::Reply {
    tokio::task::block_in_place(|| request(app, "POST", path, &[], body.to_string().as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_what_if_over_json_gives_each_actions_stated_result() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let firm = under_invested();
        let scored = post(&app, "/v1/assessments:score", &firm);
        assert_eq!(scored.status, 200, "{}", String::from_utf8_lossy(&scored.body));
        let scored = scored.json();
        assert_eq!(scored["result"]["fit"]["verdict"], "FIT_VERDICT_UNDER_INVESTED", "{}", scored["result"]["fit"]);
        let actions = scored["actions"].as_array().unwrap();
        assert!(!actions.is_empty() && actions.len() <= 3, "{actions:?}");
        for action in actions {
            assert_eq!(action["kind"], "ACTION_KIND_RAISE");
            for key in ["practice", "process", "measure"] {
                assert!(!action[key].as_str().unwrap().is_empty(), "{action}");
            }
            let reply =
                post(&app, "/v1/assessments:whatIf", &json!({"assessment": firm, "changes": action["changes"]}));
            assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
            let reply = reply.json();
            assert_eq!(reply["before"], scored["result"]);
            // The stated effect is the what-if's result, field for field.
            assert_eq!(reply["after"], action["after"], "{}", action["practiceId"]);
            let gap = |v: &Value| v["fit"]["gap"].as_f64().unwrap();
            assert!(gap(&reply["after"]) > gap(&reply["before"]));
        }

        // Bad changes: each named at its own position, in the client's language.
        let bad = json!({"assessment": firm, "changes": [
            {"itemId": "e9.nothing", "likert": 3},
            {"itemId": "e2.house_style", "likert": 9},
            {"itemId": "e9.nothing", "yes": true}
        ]});
        let reply = post(&app, "/v1/assessments:whatIf", &bad);
        assert_eq!((reply.status, reply.content_type.as_str()), (400, "application/problem+json"));
        let problem = reply.json();
        let found: Vec<(String, String)> = problem["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["field"].as_str().unwrap().to_string(), v["reason"].as_str().unwrap().to_string()))
            .collect();
        for expected in [
            ("changes[0].item_id", "UNKNOWN_ITEM"),
            ("changes[1].likert", "ANSWER_OFF_SCALE"),
            ("changes[2].item_id", "DUPLICATE_CHANGE"),
        ] {
            assert!(found.iter().any(|(f, r)| (f.as_str(), r.as_str()) == expected), "{expected:?} in {found:?}");
        }
        // The repeated change is refused, not applied a second time: nothing else is reported.
        assert_eq!(found.len(), 3, "{found:?}");
        let none = post(&app, "/v1/assessments:whatIf", &json!({"assessment": firm}));
        assert_eq!(none.status, 400);
        assert_eq!(none.json()["violations"][0]["field"], "changes");
        // Without the assessment only that is said (no firm or answers problems of an empty one).
        let alone =
            post(&app, "/v1/assessments:whatIf", &json!({"changes": [{"itemId": "e2.house_style", "yes": true}]}));
        let fields: Vec<Value> =
            alone.json()["violations"].as_array().unwrap().iter().map(|v| v["field"].clone()).collect();
        assert_eq!(fields, [json!("assessment")]);
        // More changes than a model has items: refused before any is read.
        let many: Vec<Value> = (0..500).map(|i| json!({"itemId": format!("x{i}"), "likert": 3})).collect();
        let reply = post(&app, "/v1/assessments:whatIf", &json!({"assessment": firm, "changes": many}));
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["violations"][0]["reason"], "TOO_MANY_CHANGES");
    }
}
