//! `maturity.v1.InvitationService`: a tenant's links to the questionnaire (the table is
//! `store::invitations`; the pages that answer a link are `crate::pages`). Every write is audited.

use domain_model::{Locale, Province, SbiSection, SizeClass};
use domain_scoring::Problem;
use services_api::convert::{self, firm_code};
use services_api::errors::{Violation, invalid_argument, request_locale};
use services_api::paging::{PageTokens, page_size};
use services_api::time::{from_timestamp, to_timestamp};
use services_api::v1 as pb;
use services_api::v1::invitation_service_server::{InvitationService, InvitationServiceServer};
use services_auth::{Authenticator, store_status};
use store::invitations::{self, Invitation, NewInvitation, Revoked, State};
use store::tenants::{self, AuditEntry, Caller};
use store::time::now_us;
use tonic::{Request, Response, Status};

use crate::Questionnaire;

/// How long a link works unless the CRM says otherwise.
pub const DEFAULT_VALIDITY_US: i64 = 30 * 24 * 3600 * 1_000_000;
/// The longest a link may work.
pub const MAX_VALIDITY_US: i64 = 90 * 24 * 3600 * 1_000_000;
/// Longest reference and name.
const MAX_TEXT: usize = 200;

/// The invitation service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Invitations {
    questionnaire: Questionnaire,
    auth: Authenticator,
    page_tokens: PageTokens,
}

impl Invitations {
    /// The service of `questionnaire`, identifying callers with `auth`, signing its listing's page
    /// tokens with `page_tokens`.
    pub fn new(questionnaire: Questionnaire, auth: Authenticator, page_tokens: PageTokens) -> Invitations {
        Invitations { questionnaire, auth, page_tokens }
    }

    /// The tonic service.
    pub fn into_service(self) -> InvitationServiceServer<Invitations> {
        InvitationServiceServer::new(self)
    }

    fn db(&self) -> &store::DatabaseConnection {
        &self.questionnaire.db
    }

    async fn audit(&self, caller: &Caller, action: &str, target: &str) -> Result<(), Status> {
        let entry = AuditEntry {
            tenant: caller.tenant.clone(),
            actor: caller.key_prefix.clone(),
            action: action.into(),
            target: target.into(),
            request_id: String::new(),
            at_us: now_us(),
        };
        tenants::audit(self.db(), &entry).await.map_err(store_status)
    }
}

fn violation(field: &str, reason: &str, en: impl Into<String>, nl: impl Into<String>) -> Violation {
    Violation::new(field, reason, en, nl)
}

/// A required text of at most `MAX_TEXT` characters, trimmed.
fn text(raw: &str, field: &str, violations: &mut Vec<Violation>) -> String {
    let t = raw.trim();
    if t.is_empty() {
        violations.push(violation(
            field,
            "REQUIRED_FIELD",
            format!("{field} is required"),
            format!("{field} is verplicht"),
        ));
    } else if t.chars().count() > MAX_TEXT {
        violations.push(violation(
            field,
            "TOO_LONG",
            format!("{field} has at most {MAX_TEXT} characters"),
            format!("{field} heeft hoogstens {MAX_TEXT} tekens"),
        ));
    }
    t.to_string()
}

/// The state as the API names it.
fn state_pb(state: State) -> pb::InvitationState {
    match state {
        State::Sent => pb::InvitationState::Sent,
        State::Opened => pb::InvitationState::Opened,
        State::Submitted => pb::InvitationState::Submitted,
        State::Revoked => pb::InvitationState::Revoked,
        State::Expired => pb::InvitationState::Expired,
    }
}

/// An invitation as the API shows it at `now`, with the number of items of its model.
pub fn invitation_pb(i: &Invitation, items: usize, now: i64) -> pb::Invitation {
    let c = &i.created;
    pb::Invitation {
        id: c.id.clone(),
        external_ref: c.external_ref.clone(),
        firm_name: c.firm_name.clone(),
        firm: Some(pb::FirmAttributes {
            sbi_section: c.sbi_section.clone(),
            size_class: c.size_class.clone(),
            province: c.province.clone(),
        }),
        locale: c.locale.clone(),
        model: Some(pb::ModelRef { id: c.model_id.clone(), version: c.model_version }),
        state: state_pb(i.state(now)) as i32,
        created_at: Some(to_timestamp(c.created_at_us)),
        expires_at: Some(to_timestamp(c.expires_at_us)),
        opened_at: i.opened_at_us.map(to_timestamp),
        submitted_at: i.submitted_at_us.map(to_timestamp),
        revoked_at: i.revoked_at_us.map(to_timestamp),
        assessment_id: i.assessment_id.unwrap_or(0),
        answered: u32::try_from(i.draft.len()).unwrap_or(u32::MAX),
        items: u32::try_from(items).unwrap_or(u32::MAX),
    }
}

/// The firm's SBI section, size class and province, each required and known.
fn firm(
    firm: Option<&pb::FirmAttributes>,
    violations: &mut Vec<Violation>,
) -> (Option<SbiSection>, Option<SizeClass>, Option<Province>) {
    let firm = firm.cloned().unwrap_or_default();
    for (raw, field) in [
        (&firm.sbi_section, "firm.sbi_section"),
        (&firm.size_class, "firm.size_class"),
        (&firm.province, "firm.province"),
    ] {
        if raw.trim().is_empty() {
            violations.push(violation(
                field,
                "REQUIRED_FIELD",
                format!("{field} is required"),
                format!("{field} is verplicht"),
            ));
        }
    }
    (
        firm_code(&firm.sbi_section, "firm.sbi_section", SbiSection::parse, Problem::UnknownSbiSection, violations),
        firm_code(&firm.size_class, "firm.size_class", SizeClass::parse, Problem::UnknownSizeClass, violations),
        firm_code(&firm.province, "firm.province", Province::parse, Problem::UnknownProvince, violations),
    )
}

/// When the link stops working: `given`, or `DEFAULT_VALIDITY_US` from `now`; after `now` and at
/// most `MAX_VALIDITY_US` ahead.
fn expiry(given: Option<&prost_types::Timestamp>, now: i64, violations: &mut Vec<Violation>) -> Option<i64> {
    let at = match given {
        None => Some(now + DEFAULT_VALIDITY_US),
        Some(t) => from_timestamp(t),
    };
    let at = at.filter(|at| *at > now && *at <= now + MAX_VALIDITY_US);
    if at.is_none() {
        violations.push(violation(
            "expires_at",
            "EXPIRY_OUT_OF_RANGE",
            "expires_at must lie after now and at most 90 days ahead",
            "expires_at moet na nu liggen en hoogstens 90 dagen vooruit",
        ));
    }
    at
}

impl Invitations {
    fn shown(&self, i: &Invitation) -> pb::Invitation {
        let items = self
            .questionnaire
            .registry
            .resolve(&i.created.model_id, i.created.model_version)
            .map_or(0, |m| m.items.len());
        invitation_pb(i, items, now_us())
    }

    /// The checked fields of a new invitation of `tenant` (every violation at once).
    fn checked(&self, tenant: &str, req: &pb::CreateInvitationRequest, now: i64) -> Result<NewInvitation, Status> {
        let mut violations = Vec::new();
        let external_ref = text(&req.external_ref, "external_ref", &mut violations);
        let firm_name = text(&req.firm_name, "firm_name", &mut violations);
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let (section, size, province) = firm(req.firm.as_ref(), &mut violations);
        let model = convert::resolve(&self.questionnaire.registry, req.model.as_ref(), "model")
            .map_err(|v| violations.push(v))
            .ok();
        let expires_at_us = expiry(req.expires_at.as_ref(), now, &mut violations);
        match (section, size, province, model, expires_at_us) {
            (Some(section), Some(size), Some(province), Some(model), Some(expires_at_us)) if violations.is_empty() => {
                Ok(NewInvitation {
                    id: String::new(),
                    tenant: tenant.to_string(),
                    token_sha256: String::new(),
                    external_ref,
                    firm_name,
                    sbi_section: section.code().to_string(),
                    size_class: size.code().to_string(),
                    province: province.code().to_string(),
                    locale: locale.tag().to_string(),
                    model_id: model.id.clone(),
                    model_version: model.version,
                    created_at_us: now,
                    expires_at_us,
                })
            }
            _ => Err(invalid_argument(&violations, locale)),
        }
    }
}

fn random(n: usize) -> Result<String, Status> {
    store::random::chars(n).map_err(|e| Status::internal(e.to_string()))
}

fn not_found(id: &str) -> Status {
    Status::not_found(format!("invitation `{id}` not found"))
}

fn required_id(id: &str) -> Result<(), Status> {
    if id.trim().is_empty() {
        let v = violation("id", "REQUIRED_FIELD", "id is required", "id is verplicht");
        return Err(invalid_argument(&[v], Locale::default()));
    }
    Ok(())
}

#[tonic::async_trait]
impl InvitationService for Invitations {
    async fn create_invitation(
        &self,
        request: Request<pb::CreateInvitationRequest>,
    ) -> Result<Response<pb::CreateInvitationResponse>, Status> {
        let caller = self.auth.caller(&request).await?;
        let mut new = self.checked(&caller.tenant, request.get_ref(), now_us())?;
        // 43 letters and digits: about 256 bits, as many as the hash that is kept of them.
        let token = random(43)?;
        new.id = format!("inv_{}", random(24)?);
        new.token_sha256 = crate::token_hash(&token);
        invitations::create(self.db(), &new).await.map_err(store_status)?;
        self.audit(&caller, "CreateInvitation", &format!("invitation {}", new.id)).await?;
        let stored = invitations::get_invitation(self.db(), &caller.tenant, &new.id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::internal("the new invitation is not found"))?;
        Ok(Response::new(pb::CreateInvitationResponse {
            invitation: Some(self.shown(&stored)),
            url: self.questionnaire.link(&token),
            token,
        }))
    }

    async fn get_invitation(
        &self,
        request: Request<pb::GetInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = self.auth.caller(&request).await?;
        let id = &request.get_ref().id;
        required_id(id)?;
        match invitations::get_invitation(self.db(), &caller.tenant, id).await.map_err(store_status)? {
            Some(i) => Ok(Response::new(self.shown(&i))),
            None => Err(not_found(id)),
        }
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let caller = self.auth.caller(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let size = page_size(req.page_size, &mut violations);
        let external_ref = req.external_ref.trim();
        let listing = (caller.tenant.as_str(), "invitations", external_ref);
        let after = self.page_tokens.position(
            &req.page_token,
            listing,
            |p| p.split_once('/').and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string()))),
            &mut violations,
        );
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, Locale::default()));
        }
        let filter = (!external_ref.is_empty()).then_some(external_ref);
        let mut rows = invitations::list(self.db(), &caller.tenant, filter, after.as_ref(), size + 1)
            .await
            .map_err(store_status)?;
        let next_page_token = self
            .page_tokens
            .next_page(&mut rows, size, listing, |last| format!("{}/{}", last.created.created_at_us, last.created.id));
        let invitations = rows.iter().map(|i| self.shown(i)).collect();
        Ok(Response::new(pb::ListInvitationsResponse { invitations, next_page_token }))
    }

    async fn revoke_invitation(
        &self,
        request: Request<pb::RevokeInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = self.auth.caller(&request).await?;
        let id = request.get_ref().id.clone();
        required_id(&id)?;
        match invitations::revoke(self.db(), &caller.tenant, &id, now_us()).await.map_err(store_status)? {
            Revoked::Done(i) => {
                self.audit(&caller, "RevokeInvitation", &format!("invitation {id}")).await?;
                Ok(Response::new(self.shown(&i)))
            }
            Revoked::Submitted => Err(Status::failed_precondition(format!(
                "invitation `{id}` was submitted; erase its assessment with DeleteAssessment"
            ))),
            Revoked::NotFound => Err(not_found(&id)),
        }
    }
}
