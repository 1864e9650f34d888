//! The invitations' table on both backends: drafts saved only from their current version,
//! revocation, expiry, submission, erasure and the listing's pages.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use std::collections::BTreeMap;

use migrations::test_db::{BACKENDS, TestDb};
use store::invitations::*;

fn new(id: &str, tenant: &str, token: &str, at: i64) -> NewInvitation {
    NewInvitation {
        id: id.into(),
        tenant: tenant.into(),
        token_sha256: token.into(),
        external_ref: format!("crm-{id}"),
        firm_name: "Synthetisch BV".into(),
        sbi_section: "J".into(),
        size_class: "small".into(),
        province: "NL-UT".into(),
        locale: "nl".into(),
        model_id: "nl-social-business".into(),
        model_version: 3,
        created_at_us: at,
        expires_at_us: at + 1_000_000,
    }
}

#[tokio::test]
async fn a_draft_is_saved_only_from_its_current_version_and_goes_at_submission() {
    for backend in BACKENDS {
        let (_test_db, conn) = TestDb::migrated(backend).await;
        let db = &conn;
        create(db, &new("inv_a", "t1", "aa", 10)).await.unwrap();
        let found = by_token(db, "aa").await.unwrap().unwrap();
        assert_eq!(found.state(11), State::Sent, "{backend:?}");
        assert!(mark_opened(db, "inv_a", 11).await.unwrap());
        assert!(!mark_opened(db, "inv_a", 12).await.unwrap(), "{backend:?}: only the first visit counts");
        let answers = BTreeMap::from([("e1.alerts".to_string(), "3".to_string())]);
        assert!(save_draft(db, "inv_a", 0, &answers, 12).await.unwrap());
        assert!(!save_draft(db, "inv_a", 0, &BTreeMap::new(), 12).await.unwrap(), "{backend:?}: a stale save");
        let saved = get_invitation(db, "t1", "inv_a").await.unwrap().unwrap();
        assert_eq!((saved.draft.clone(), saved.draft_version, saved.state(12)), (answers, 1, State::Opened));
        assert!(get_invitation(db, "t2", "inv_a").await.unwrap().is_none(), "{backend:?}: another tenant's");
        mark_submitted(db, "inv_a", 7, 13).await.unwrap();
        let done = by_token(db, "aa").await.unwrap().unwrap();
        assert_eq!((done.state(13), done.assessment_id, done.draft.len()), (State::Submitted, Some(7), 0));
        assert!(!save_draft(db, "inv_a", done.draft_version, &BTreeMap::new(), 13).await.unwrap());
        assert_eq!(revoke(db, "t1", "inv_a", 14).await.unwrap(), Revoked::Submitted, "{backend:?}");
        assert_eq!(erase_for_assessment(db, "t1", 7).await.unwrap(), 1);
        assert!(by_token(db, "aa").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn revoked_and_expired_invitations_take_no_answers_and_listing_pages_newest_first() {
    for backend in BACKENDS {
        let (_test_db, conn) = TestDb::migrated(backend).await;
        let db = &conn;
        for (i, at) in [(1, 10), (2, 20), (3, 20), (4, 30)] {
            create(db, &new(&format!("inv_{i}"), "t1", &format!("tok{i}"), at)).await.unwrap();
        }
        let Revoked::Done(r) = revoke(db, "t1", "inv_1", 15).await.unwrap() else { panic!("{backend:?}") };
        assert_eq!(r.state(15), State::Revoked);
        assert!(matches!(revoke(db, "t1", "inv_1", 16).await.unwrap(), Revoked::Done(_)), "{backend:?}");
        assert_eq!(revoke(db, "t2", "inv_1", 16).await.unwrap(), Revoked::NotFound);
        assert!(!save_draft(db, "inv_1", r.draft_version, &BTreeMap::new(), 16).await.unwrap());
        // inv_4 expires at 1_000_030.
        assert!(!save_draft(db, "inv_4", 0, &BTreeMap::new(), 1_000_030).await.unwrap(), "{backend:?}");
        let ids = |v: Vec<Invitation>| v.into_iter().map(|i| i.created.id).collect::<Vec<_>>();
        let first = list(db, "t1", None, None, 2).await.unwrap();
        assert_eq!(ids(first.clone()), ["inv_4", "inv_3"], "{backend:?}");
        let last = &first[1].created;
        let after = (last.created_at_us, last.id.clone());
        assert_eq!(ids(list(db, "t1", None, Some(&after), 5).await.unwrap()), ["inv_2", "inv_1"]);
        assert_eq!(ids(list(db, "t1", Some("crm-inv_2"), None, 5).await.unwrap()), ["inv_2"]);
        assert!(list(db, "t2", None, None, 5).await.unwrap().is_empty());
    }
}
