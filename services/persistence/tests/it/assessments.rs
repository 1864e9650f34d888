//! Storing, reading, listing and erasing assessments; idempotency and tenant isolation.

use std::collections::BTreeSet;

use migrations::test_db::BACKENDS;
use services_api::v1 as pb;

use crate::{TestApp, as_tenant, spawn_app, submission};

#[tokio::test]
async fn idempotent_retry_stores_once() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let req = submission("r-1", "crm-1", ("J", "small", "NL-UT"), 0.6);
        let first =
            app.persistence_client().submit_assessment(as_tenant("acme", req.clone())).await.unwrap().into_inner();
        let again =
            app.persistence_client().submit_assessment(as_tenant("acme", req.clone())).await.unwrap().into_inner();
        assert_eq!(first, again, "{backend:?}");
        let listed = app
            .persistence_client()
            .list_assessments(as_tenant("acme", pb::ListAssessmentsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.assessments.len(), 1, "{backend:?}");
        // The same request id for a different request is refused.
        let mut other = req.clone();
        other.firm_name = "Iets anders".into();
        let err = app.persistence_client().submit_assessment(as_tenant("acme", other)).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::AlreadyExists, "{backend:?}");
        // Another tenant may use the same request id.
        app.persistence_client().submit_assessment(as_tenant("globex", req)).await.unwrap();
    }
}

#[tokio::test]
async fn get_in_both_languages_and_erase() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let made = app
            .persistence_client()
            .submit_assessment(as_tenant("acme", submission("r-1", "crm-1", ("G", "micro", "NL-ZH"), 0.5)))
            .await
            .unwrap()
            .into_inner();
        let id = made.assessment.unwrap().id;
        let nl = app
            .persistence_client()
            .get_assessment(as_tenant("acme", pb::GetAssessmentRequest { id, locale: "nl".into() }))
            .await
            .unwrap()
            .into_inner();
        let en = app
            .persistence_client()
            .get_assessment(as_tenant("acme", pb::GetAssessmentRequest { id, locale: "en".into() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(nl.firm_name, "Testbedrijf crm-1");
        assert_eq!(nl.answers.len(), app.model().items.len(), "every answer given comes back");
        assert_eq!(nl.result.as_ref().unwrap().maturity_index, en.result.as_ref().unwrap().maturity_index);
        assert_ne!(
            nl.result.as_ref().unwrap().archetype.as_ref().unwrap().label,
            en.result.as_ref().unwrap().archetype.as_ref().unwrap().label
        );
        assert_eq!(nl.report_status, pb::ReportStatus::Pending as i32);
        // Another tenant sees nothing and cannot erase it: NOT_FOUND, like a missing id.
        let other = app
            .persistence_client()
            .get_assessment(as_tenant("globex", pb::GetAssessmentRequest { id, locale: String::new() }))
            .await
            .unwrap_err();
        let missing = app
            .persistence_client()
            .get_assessment(as_tenant("globex", pb::GetAssessmentRequest { id: id + 1000, locale: String::new() }))
            .await
            .unwrap_err();
        assert_eq!((other.code(), missing.code()), (tonic::Code::NotFound, tonic::Code::NotFound));
        assert_eq!(
            other.message().replace(&id.to_string(), "N"),
            missing.message().replace(&(id + 1000).to_string(), "N")
        );
        let err = app
            .persistence_client()
            .delete_assessment(as_tenant("globex", pb::DeleteAssessmentRequest { id }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
        app.persistence_client()
            .delete_assessment(as_tenant("acme", pb::DeleteAssessmentRequest { id }))
            .await
            .unwrap();
        let gone = app
            .persistence_client()
            .get_assessment(as_tenant("acme", pb::GetAssessmentRequest { id, locale: String::new() }))
            .await
            .unwrap_err();
        assert_eq!(gone.code(), tonic::Code::NotFound, "{backend:?}");
    }
}

#[tokio::test]
async fn bad_submissions_are_refused_with_every_violation() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut req = submission("", "", ("Z", "small", "NL-UT"), 0.5);
        req.firm_name = String::new();
        let err = app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        let details = tonic_types::StatusExt::get_details_bad_request(&err).unwrap();
        let fields: Vec<&str> = details.field_violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["request_id", "external_ref", "firm_name", "assessment.firm.sbi_section"], "{backend:?}");
        let no_tenant = app
            .persistence_client()
            .submit_assessment(submission("r", "x", ("J", "small", "NL-UT"), 0.5))
            .await
            .unwrap_err();
        assert_eq!(no_tenant.code(), tonic::Code::Unauthenticated);
    }
}

#[tokio::test]
async fn pagination_with_concurrent_inserts_neither_repeats_nor_drops() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut originals = BTreeSet::new();
        for i in 0..23 {
            let r = app
                .persistence_client()
                .submit_assessment(as_tenant(
                    "acme",
                    submission(&format!("r-{i}"), &format!("crm-{i}"), ("M", "micro", "NL-NH"), 0.4),
                ))
                .await
                .unwrap();
            originals.insert(r.into_inner().assessment.unwrap().id);
        }
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut extra = 0;
        loop {
            let page = app
                .persistence_client()
                .list_assessments(as_tenant(
                    "acme",
                    pb::ListAssessmentsRequest { page_size: 5, page_token: token.clone(), ..Default::default() },
                ))
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.assessments.iter().map(|a| a.id));
            // Between pages, somebody else submits.
            app.persistence_client()
                .submit_assessment(as_tenant(
                    "acme",
                    submission(&format!("x-{extra}"), &format!("new-{extra}"), ("M", "micro", "NL-NH"), 0.4),
                ))
                .await
                .unwrap();
            extra += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{backend:?}: a row was repeated");
        assert!(originals.is_subset(&unique), "{backend:?}: a row was dropped");
        // A token with other filters is refused.
        let page = app
            .persistence_client()
            .list_assessments(as_tenant("acme", pb::ListAssessmentsRequest { page_size: 5, ..Default::default() }))
            .await
            .unwrap()
            .into_inner();
        let err = app
            .persistence_client()
            .list_assessments(as_tenant(
                "acme",
                pb::ListAssessmentsRequest {
                    page_size: 5,
                    page_token: page.next_page_token,
                    report_status: pb::ReportStatus::Rendered as i32,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
}

/// Concurrent submissions are written together (one SQLite transaction per batch); a refused one
/// among them (a request id reused for another request) is refused alone and the others are stored
/// once, on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_submission_among_concurrent_ones_refuses_only_itself() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut first = app.persistence_client();
        first
            .submit_assessment(as_tenant("acme", submission("dup", "x-0", ("G", "micro", "NL-ZH"), 0.5)))
            .await
            .unwrap();
        let mut calls = Vec::new();
        // 12 at once: under the server's limit of submissions in flight (16).
        for i in 0..12 {
            let mut client = app.persistence_client();
            // Call 7 reuses the request id `dup` for another firm: ALREADY_EXISTS.
            let (id, reference) =
                if i == 7 { ("dup".to_string(), "x-other".to_string()) } else { (format!("r{i}"), format!("x{i}")) };
            calls.push(tokio::spawn(async move {
                client
                    .submit_assessment(as_tenant("acme", submission(&id, &reference, ("G", "micro", "NL-ZH"), 0.4)))
                    .await
            }));
        }
        let mut refused = 0;
        for (i, call) in calls.into_iter().enumerate() {
            match call.await.unwrap() {
                Ok(_) => assert_ne!(i, 7, "{backend:?}"),
                Err(s) => {
                    assert_eq!((i, s.code()), (7, tonic::Code::AlreadyExists), "{backend:?}: {s:?}");
                    refused += 1;
                }
            }
        }
        assert_eq!(refused, 1, "{backend:?}");
        let listed = first_hundred(&app, "acme").await;
        assert_eq!(listed.assessments.len(), 12, "{backend:?}: 11 new and the first");
        assert!(!listed.assessments.iter().any(|a| a.external_ref == "x-other"), "{backend:?}");
    }
}

/// Submissions written together repeat one another: a retry racing its original (the same request
/// id and request), and the same firm twice with other request ids. Each is answered as if it had
/// been written alone: the retry gets the original's response, the firm gets two assessments and
/// one contribution (the latest), on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_repeats_are_each_answered_as_if_written_alone() {
    use migrations::sea_orm::{ConnectionTrait, Statement};
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut calls = Vec::new();
        for i in 0..14 {
            let mut client = app.persistence_client();
            let (id, reference, level) = match i {
                4 | 5 => ("same".to_string(), "x-same".to_string(), 0.5),
                6..=8 => (format!("firm-a-{i}"), "x-firm-a".to_string(), 0.1 * i as f64),
                _ => (format!("r{i}"), format!("x{i}"), 0.4),
            };
            calls.push(tokio::spawn(async move {
                client
                    .submit_assessment(as_tenant("acme", submission(&id, &reference, ("G", "micro", "NL-ZH"), level)))
                    .await
                    .map(tonic::Response::into_inner)
            }));
        }
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap().unwrap_or_else(|s| panic!("{backend:?}: {s:?}")));
        }
        assert_eq!(answers[4], answers[5], "{backend:?}: the retry was not answered with the original's response");
        let firm_a: BTreeSet<i64> = answers[6..=8].iter().map(|a| a.assessment.as_ref().unwrap().id).collect();
        assert_eq!(firm_a.len(), 3, "{backend:?}: {firm_a:?}");
        let listed = first_hundred(&app, "acme").await;
        assert_eq!(listed.assessments.len(), 13, "{backend:?}: 9 firms once, one retry, one firm three times");
        let sql = "SELECT COUNT(*) AS n FROM benchmark_contributions";
        let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
        assert_eq!(row.unwrap().try_get::<i64>("", "n").unwrap(), 11, "{backend:?}: one contribution per firm");
        // Every submission left one change for the publisher, naming its contribution.
        let sql = "SELECT COUNT(*) AS n FROM benchmark_changes WHERE contribution_id IS NOT NULL";
        let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
        assert_eq!(row.unwrap().try_get::<i64>("", "n").unwrap(), 13, "{backend:?}");
    }
}

/// The first hundred assessments `tenant` lists.
async fn first_hundred(app: &TestApp, tenant: &str) -> pb::ListAssessmentsResponse {
    let request = pb::ListAssessmentsRequest { page_size: 100, ..Default::default() };
    app.persistence_client().list_assessments(as_tenant(tenant, request)).await.unwrap().into_inner()
}
