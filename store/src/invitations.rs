//! Invitations: the links with which a firm answers the questionnaire in a browser, each with the
//! draft of its answers. The token of a link is kept only as its SHA-256, so that a copy of the
//! database opens no questionnaire. Every read by id names the tenant; the read by token is the
//! link's own and names none.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::{Deserialize, Serialize};

use crate::schema::Invitations as I;
use crate::{StoreError, get, versioned};

/// The draft's encoding version.
const DRAFT_VERSION: u8 = 1;

/// What an invitation is created with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInvitation {
    /// `inv_` and 24 letters and digits.
    pub id: String,
    pub tenant: String,
    /// SHA-256 of the link's token, lower-case hex.
    pub token_sha256: String,
    pub external_ref: String,
    pub firm_name: String,
    pub sbi_section: String,
    pub size_class: String,
    pub province: String,
    /// `nl` or `en`.
    pub locale: String,
    pub model_id: String,
    pub model_version: u32,
    pub created_at_us: i64,
    pub expires_at_us: i64,
}

/// A stored invitation with its draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// What it was created with.
    pub created: NewInvitation,
    pub opened_at_us: Option<i64>,
    pub submitted_at_us: Option<i64>,
    pub revoked_at_us: Option<i64>,
    pub assessment_id: Option<i64>,
    /// The answers saved so far: item id to the value as the scale names it (`3`, `yes`, a choice
    /// id) or `dont_know`.
    pub draft: BTreeMap<String, String>,
    /// Bumped by every save of the draft.
    pub draft_version: i64,
}

/// Where an invitation stands at `now_us`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not opened yet.
    Sent,
    /// Opened, not submitted.
    Opened,
    /// Submitted.
    Submitted,
    /// Withdrawn by its tenant.
    Revoked,
    /// Past its expiry without a submission.
    Expired,
}

impl Invitation {
    /// Its state at `now_us`: a submission outlives the expiry, a revocation everything else.
    pub fn state(&self, now_us: i64) -> State {
        if self.submitted_at_us.is_some() {
            State::Submitted
        } else if self.revoked_at_us.is_some() {
            State::Revoked
        } else if now_us >= self.created.expires_at_us {
            State::Expired
        } else if self.opened_at_us.is_some() {
            State::Opened
        } else {
            State::Sent
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Draft {
    answers: BTreeMap<String, String>,
}

/// The columns of a whole invitation.
const COLUMNS: [I; 20] = [
    I::Id,
    I::Tenant,
    I::TokenSha256,
    I::ExternalRef,
    I::FirmName,
    I::SbiSection,
    I::SizeClass,
    I::Province,
    I::Locale,
    I::ModelId,
    I::ModelVersion,
    I::CreatedAtUs,
    I::ExpiresAtUs,
    I::OpenedAtUs,
    I::SubmittedAtUs,
    I::RevokedAtUs,
    I::AssessmentId,
    I::Draft,
    I::Answered,
    I::DraftVersion,
];

fn decode(row: &sea_orm::QueryResult) -> Result<Invitation, StoreError> {
    let draft: Vec<u8> = get(row, "draft")?;
    let draft = if draft.is_empty() {
        BTreeMap::new()
    } else {
        versioned::decode::<Draft>("invitation draft", DRAFT_VERSION, &draft)?.answers
    };
    let version: i64 = get(row, "model_version")?;
    Ok(Invitation {
        created: NewInvitation {
            id: get(row, "id")?,
            tenant: get(row, "tenant")?,
            token_sha256: get(row, "token_sha256")?,
            external_ref: get(row, "external_ref")?,
            firm_name: get(row, "firm_name")?,
            sbi_section: get(row, "sbi_section")?,
            size_class: get(row, "size_class")?,
            province: get(row, "province")?,
            locale: get(row, "locale")?,
            model_id: get(row, "model_id")?,
            model_version: u32::try_from(version)
                .map_err(|_| StoreError::Malformed(format!("invitation model version {version}")))?,
            created_at_us: get(row, "created_at_us")?,
            expires_at_us: get(row, "expires_at_us")?,
        },
        opened_at_us: get(row, "opened_at_us")?,
        submitted_at_us: get(row, "submitted_at_us")?,
        revoked_at_us: get(row, "revoked_at_us")?,
        assessment_id: get(row, "assessment_id")?,
        draft,
        draft_version: get(row, "draft_version")?,
    })
}

fn select() -> SelectStatement {
    Query::select().columns(COLUMNS).from(I::Table).to_owned()
}

/// Stores a new invitation with an empty draft.
pub async fn create(db: &impl ConnectionTrait, new: &NewInvitation) -> Result<(), StoreError> {
    let n = new.clone();
    let stmt = Query::insert()
        .into_table(I::Table)
        .columns([
            I::Id,
            I::Tenant,
            I::TokenSha256,
            I::ExternalRef,
            I::FirmName,
            I::SbiSection,
            I::SizeClass,
            I::Province,
            I::Locale,
            I::ModelId,
            I::ModelVersion,
            I::CreatedAtUs,
            I::ExpiresAtUs,
            I::Draft,
            I::Answered,
            I::DraftVersion,
        ])
        .values_panic([
            n.id.into(),
            n.tenant.into(),
            n.token_sha256.into(),
            n.external_ref.into(),
            n.firm_name.into(),
            n.sbi_section.into(),
            n.size_class.into(),
            n.province.into(),
            n.locale.into(),
            n.model_id.into(),
            i64::from(n.model_version).into(),
            n.created_at_us.into(),
            n.expires_at_us.into(),
            Vec::<u8>::new().into(),
            0i64.into(),
            0i64.into(),
        ])
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// `tenant`'s invitation `id`.
pub async fn get_invitation(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: &str,
) -> Result<Option<Invitation>, StoreError> {
    let stmt = select().and_where(Expr::col(I::Tenant).eq(tenant)).and_where(Expr::col(I::Id).eq(id)).to_owned();
    db.query_one(&stmt).await?.as_ref().map(decode).transpose()
}

/// The invitation whose token has SHA-256 `token_sha256` (hex), of any tenant.
pub async fn by_token(db: &impl ConnectionTrait, token_sha256: &str) -> Result<Option<Invitation>, StoreError> {
    let stmt = select().and_where(Expr::col(I::TokenSha256).eq(token_sha256)).to_owned();
    db.query_one(&stmt).await?.as_ref().map(decode).transpose()
}

/// Where a listing's page starts: after the invitation created at `.0` with id `.1`.
pub type Position = (i64, String);

/// Up to `limit` of `tenant`'s invitations, newest first, after `after` when given, only those of
/// `external_ref` when given.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant: &str,
    external_ref: Option<&str>,
    after: Option<&Position>,
    limit: u64,
) -> Result<Vec<Invitation>, StoreError> {
    let mut stmt = select().and_where(Expr::col(I::Tenant).eq(tenant)).to_owned();
    if let Some(r) = external_ref {
        stmt.and_where(Expr::col(I::ExternalRef).eq(r));
    }
    if let Some((at, id)) = after {
        stmt.and_where(
            Expr::col(I::CreatedAtUs)
                .lt(*at)
                .or(Expr::col(I::CreatedAtUs).eq(*at).and(Expr::col(I::Id).lt(id.as_str()))),
        );
    }
    stmt.order_by(I::CreatedAtUs, Order::Desc).order_by(I::Id, Order::Desc).limit(limit);
    db.query_all(&stmt).await?.iter().map(decode).collect()
}

/// Records the first visit of invitation `id` at `now_us`; whether this was it (a later visit, or
/// one of a submitted or revoked invitation, records nothing).
pub async fn mark_opened(db: &impl ConnectionTrait, id: &str, now_us: i64) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(I::Table)
        .value(I::OpenedAtUs, now_us)
        .and_where(Expr::col(I::Id).eq(id))
        .and_where(Expr::col(I::OpenedAtUs).is_null())
        .and_where(Expr::col(I::SubmittedAtUs).is_null())
        .and_where(Expr::col(I::RevokedAtUs).is_null())
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected() == 1)
}

/// Replaces the draft of invitation `id` with `answers`, if it is still at `version` and neither
/// submitted nor revoked nor expired at `now_us`; whether it was (a concurrent save came first
/// otherwise, or the invitation stopped taking answers: the caller reads it again).
pub async fn save_draft(
    db: &impl ConnectionTrait,
    id: &str,
    version: i64,
    answers: &BTreeMap<String, String>,
    now_us: i64,
) -> Result<bool, StoreError> {
    let draft = versioned::encode(DRAFT_VERSION, &Draft { answers: answers.clone() });
    let stmt = Query::update()
        .table(I::Table)
        .value(I::Draft, draft)
        .value(I::Answered, i64::try_from(answers.len()).unwrap_or(i64::MAX))
        .value(I::DraftVersion, version + 1)
        .and_where(Expr::col(I::Id).eq(id))
        .and_where(Expr::col(I::DraftVersion).eq(version))
        .and_where(Expr::col(I::SubmittedAtUs).is_null())
        .and_where(Expr::col(I::RevokedAtUs).is_null())
        .and_where(Expr::col(I::ExpiresAtUs).gt(now_us))
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected() == 1)
}

/// Records that invitation `id`'s answers were stored as assessment `assessment_id` at `now_us`,
/// and removes its draft (the assessment holds the answers now). A second call keeps the first.
pub async fn mark_submitted(
    db: &impl ConnectionTrait,
    id: &str,
    assessment_id: i64,
    now_us: i64,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(I::Table)
        .value(I::SubmittedAtUs, now_us)
        .value(I::AssessmentId, assessment_id)
        .value(I::Draft, Vec::<u8>::new())
        .value(I::DraftVersion, Expr::col(I::DraftVersion).add(1))
        .and_where(Expr::col(I::Id).eq(id))
        .and_where(Expr::col(I::SubmittedAtUs).is_null())
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// What revoking did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now, or before; the invitation as it is.
    Done(Box<Invitation>),
    /// Its answers were submitted: nothing changed.
    Submitted,
    /// No such invitation of the tenant.
    NotFound,
}

/// Revokes `tenant`'s invitation `id` at `now_us` and removes its draft, unless it was submitted.
pub async fn revoke(db: &impl ConnectionTrait, tenant: &str, id: &str, now_us: i64) -> Result<Revoked, StoreError> {
    let stmt = Query::update()
        .table(I::Table)
        .value(I::RevokedAtUs, now_us)
        .value(I::Draft, Vec::<u8>::new())
        .value(I::Answered, 0i64)
        .value(I::DraftVersion, Expr::col(I::DraftVersion).add(1))
        .and_where(Expr::col(I::Tenant).eq(tenant))
        .and_where(Expr::col(I::Id).eq(id))
        .and_where(Expr::col(I::SubmittedAtUs).is_null())
        .and_where(Expr::col(I::RevokedAtUs).is_null())
        .to_owned();
    db.execute(&stmt).await?;
    Ok(match get_invitation(db, tenant, id).await? {
        None => Revoked::NotFound,
        Some(i) if i.revoked_at_us.is_some() => Revoked::Done(Box::new(i)),
        Some(_) => Revoked::Submitted,
    })
}

/// Removes `tenant`'s invitations that led to assessment `assessment_id` (its erasure: they carry
/// the firm's name and reference).
pub async fn erase_for_assessment(
    db: &impl ConnectionTrait,
    tenant: &str,
    assessment_id: i64,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(I::Table)
        .and_where(Expr::col(I::Tenant).eq(tenant))
        .and_where(Expr::col(I::AssessmentId).eq(assessment_id))
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected())
}
