//! `maturity.v1.WebhookService`: a tenant's endpoints, events and deliveries (the rules are in
//! `domain-webhooks`, the tables in `store::webhooks`; this is the gRPC adapter). Every write is
//! audited in its own transaction.

use std::sync::Arc;
use std::time::Duration;

use domain_model::Locale;
use services_api::errors::{Violation, invalid_argument};
use services_api::paging::{PageTokens, page_size};
use services_api::v1 as pb;
use services_api::v1::webhook_service_server::{WebhookService, WebhookServiceServer};
use tonic::{Request, Response, Status};

use services_api::errors::Violation as V;
use services_api::time::to_timestamp;
use services_auth::{Authenticator, store_status};
use store::tenants::{self, AuditEntry, Caller};
use store::time::now_us;
use store::webhooks::{self, Delivery, Endpoint, EndpointChanges, Event};
use store::{DatabaseConnection, begin_write};

/// The webhook service over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Webhooks {
    db: DatabaseConnection,
    auth: Authenticator,
    wake: Arc<tokio::sync::Notify>,
    allow_private_networks: bool,
    page_tokens: PageTokens,
}

impl Webhooks {
    /// The service over `db`, identifying callers with `auth`, waking the dispatcher of this
    /// process through `wake` when a replay queued deliveries, signing its listings' page tokens
    /// with `page_tokens`.
    pub fn new(
        db: DatabaseConnection,
        auth: Authenticator,
        wake: Arc<tokio::sync::Notify>,
        page_tokens: PageTokens,
    ) -> Webhooks {
        Webhooks { db, auth, wake, allow_private_networks: false, page_tokens }
    }

    /// The same service, accepting endpoints on the operator's own network when `allow` is set
    /// (`webhook_allow_private_networks`; the dispatcher must be told the same).
    pub fn allow_private_networks(mut self, allow: bool) -> Webhooks {
        self.allow_private_networks = allow;
        self
    }

    /// Refuses a URL whose host is, or resolves to, an address of the operator's own network
    /// (`domain_webhooks::forbidden_address`). The host is read as the delivery's client reads it
    /// (`domain_webhooks::destination`), so an address in any notation is judged as that address.
    /// A name that does not resolve now is accepted: the dispatcher checks the addresses again at
    /// every delivery, which also catches a name that resolves elsewhere later.
    async fn check_destination(&self, url: &str, field: &str, violations: &mut Vec<Violation>) {
        if self.allow_private_networks {
            return;
        }
        let Ok(destination) = domain_webhooks::destination(url) else { return };
        let host = destination.host.text();
        let forbidden = match destination.host {
            domain_webhooks::Host::Address(ip) => domain_webhooks::forbidden_address(ip).map(|why| (ip, why)),
            domain_webhooks::Host::Name(name) => {
                let lookup = tokio::net::lookup_host((name.as_str(), destination.port));
                match tokio::time::timeout(RESOLVE_LIMIT, lookup).await {
                    Ok(Ok(addresses)) => addresses
                        .map(|a| a.ip())
                        .find_map(|ip| domain_webhooks::forbidden_address(ip).map(|why| (ip, why))),
                    _ => None,
                }
            }
        };
        if let Some((ip, why)) = forbidden {
            // What a name resolves to inside the server's network is the operator's to know, not
            // the tenant's: the answer says only that it is not a public address.
            tracing::info!(host = %host, %ip, why, "webhook destination refused at registration");
            violations.push(violation(
                field,
                "FORBIDDEN_WEBHOOK_DESTINATION",
                format!(
                    "`{host}` is not a public address: webhooks go to public addresses only (an operator may allow others with webhook_allow_private_networks)"
                ),
                format!(
                    "`{host}` is geen openbaar adres: webhooks gaan alleen naar openbare adressen (een beheerder kan andere toestaan met webhook_allow_private_networks)"
                ),
            ));
        }
    }

    /// The tonic service.
    pub fn into_service(self) -> WebhookServiceServer<Webhooks> {
        WebhookServiceServer::new(self)
    }

    fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        self.auth.caller(req).await
    }
}

/// How long registration waits for a name to resolve.
const RESOLVE_LIMIT: Duration = Duration::from_secs(3);

fn violation(field: &str, reason: &str, en: impl Into<String>, nl: impl Into<String>) -> Violation {
    V::new(field, reason, en, nl)
}

fn required_violation(field: &str) -> Violation {
    violation(field, "REQUIRED_FIELD", format!("{field} is required"), format!("{field} is verplicht"))
}

/// A required id: left out (or blank) it is a violation, not something that is not found.
fn required(field: &str, value: &str) -> Result<(), Status> {
    if value.trim().is_empty() { Err(invalid(&[required_violation(field)])) } else { Ok(()) }
}

fn not_found(what: &str, id: &str) -> Status {
    Status::not_found(format!("{what} `{id}` not found"))
}

/// A failure to create or rotate (the store's, or the random source's).
fn tenant_status(e: tenants::TenantError) -> Status {
    match e {
        tenants::TenantError::Store(s) => store_status(s),
        other => Status::internal(other.to_string()),
    }
}

fn invalid(violations: &[Violation]) -> Status {
    invalid_argument(violations, Locale::default())
}

fn endpoint_pb(e: &Endpoint) -> pb::WebhookEndpoint {
    pb::WebhookEndpoint {
        id: e.id.clone(),
        url: e.url.clone(),
        description: e.description.clone(),
        event_types: e.event_types.clone(),
        enabled: e.disabled_at_us.is_none(),
        disabled_reason: e.disabled_reason.clone().unwrap_or_default(),
        created_at: Some(to_timestamp(e.created_at_us)),
        previous_secret_expires_at: e.previous_until_us.filter(|u| *u > now_us()).map(to_timestamp),
    }
}

fn event_pb(e: &Event) -> pb::WebhookEvent {
    pb::WebhookEvent {
        id: e.id.clone(),
        r#type: e.event_type.clone(),
        created_at: Some(to_timestamp(e.created_at_us)),
        payload: e.payload.clone(),
    }
}

fn state_pb(state: &str) -> pb::WebhookDeliveryState {
    match state {
        webhooks::PENDING => pb::WebhookDeliveryState::Pending,
        webhooks::DELIVERED => pb::WebhookDeliveryState::Delivered,
        webhooks::FAILED => pb::WebhookDeliveryState::Failed,
        webhooks::CANCELLED => pb::WebhookDeliveryState::Cancelled,
        _ => pb::WebhookDeliveryState::Unspecified,
    }
}

fn delivery_pb(d: &Delivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        event_id: d.event_id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        event_type: d.event_type.clone(),
        state: state_pb(&d.state) as i32,
        next_attempt_at: (d.state == webhooks::PENDING).then(|| to_timestamp(d.next_attempt_us)),
        attempts: d
            .attempts
            .iter()
            .map(|a| pb::WebhookAttempt {
                at: Some(to_timestamp(a.at_us)),
                status_code: a.status_code,
                error: a.error.clone(),
                duration_ms: u32::try_from(a.duration_ms).unwrap_or(0),
            })
            .collect(),
        created_at: Some(to_timestamp(d.created_at_us)),
        replay: d.replay,
    }
}

fn check_url(url: &str, field: &str, violations: &mut Vec<Violation>) {
    if let Some(problem) = domain_webhooks::url_problem(url) {
        violations.push(violation(
            field,
            "INVALID_WEBHOOK_URL",
            format!("{problem}: `{}`", url.chars().take(100).collect::<String>()),
            url_problem_nl(problem),
        ));
    }
}

/// The Dutch of `domain_webhooks::destination`'s reasons.
fn url_problem_nl(problem: &str) -> String {
    match problem {
        p if p.starts_with("use https") => {
            "gebruik https (http alleen naar een loopback-adres, voor lokale ontwikkeling)"
        }
        p if p.contains("longer than 2000") => "de URL is langer dan 2000 tekens",
        p if p.contains("spaces or control") => "de URL mag geen spaties of stuurtekens bevatten",
        p if p.contains("zone id") => "de host van de URL mag geen zone-id of procentcodering bevatten",
        p if p.contains("port") => "de poort van de URL is geen getal van 1 tot en met 65535",
        p if p.contains("no host") => "de URL heeft geen host",
        p if p.contains("address is not valid") => "het adres in de URL is ongeldig",
        p if p.contains("not a valid name") => "de host van de URL is geen geldige naam",
        p if p.contains("user name") => "de URL mag geen gebruikersnaam of wachtwoord bevatten",
        p if p.contains("must start with https") => "de URL moet met https:// beginnen",
        _ => "geen bruikbare https-URL",
    }
    .to_string()
}

fn check_types(types: &[String], field: &str, violations: &mut Vec<Violation>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in types.iter().enumerate() {
        if !domain_webhooks::EVENT_TYPES.contains(&t.as_str()) {
            violations.push(violation(
                &format!("{field}[{i}]"),
                "UNKNOWN_EVENT_TYPE",
                format!("unknown event type `{t}`: expected one of {}", domain_webhooks::EVENT_TYPES.join(", ")),
                format!("onbekend gebeurtenistype `{t}`: verwacht een van {}", domain_webhooks::EVENT_TYPES.join(", ")),
            ));
        } else if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

fn check_description(d: &str, field: &str, violations: &mut Vec<Violation>) {
    if d.chars().count() > 200 || d.chars().any(char::is_control) {
        violations.push(violation(
            field,
            "INVALID_DESCRIPTION",
            "at most 200 characters, without control characters",
            "hoogstens 200 tekens, zonder stuurtekens",
        ));
    }
}

/// A position `{created}.{id}` of a listing.
fn created_and_id(position: &str) -> Option<(i64, String)> {
    let (created, id) = position.split_once('.')?;
    Some((created.parse::<i64>().ok()?, id.to_string()))
}

impl Webhooks {
    async fn audit(
        &self,
        tx: &impl store::ConnectionTrait,
        caller: &Caller,
        action: &str,
        target: String,
    ) -> Result<(), Status> {
        let entry = AuditEntry {
            tenant: caller.tenant.clone(),
            actor: caller.key_prefix.clone(),
            action: action.into(),
            target,
            request_id: String::new(),
            at_us: now_us(),
        };
        tenants::audit(tx, &entry).await.map_err(store_status)
    }
}

#[tonic::async_trait]
impl WebhookService for Webhooks {
    async fn create_webhook_endpoint(
        &self,
        request: Request<pb::CreateWebhookEndpointRequest>,
    ) -> Result<Response<pb::CreateWebhookEndpointResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let url = req.url.trim();
        check_url(url, "url", &mut violations);
        self.check_destination(url, "url", &mut violations).await;
        check_description(&req.description, "description", &mut violations);
        let types = check_types(&req.event_types, "event_types", &mut violations);
        if !violations.is_empty() {
            return Err(invalid(&violations));
        }
        let tx = begin_write(self.db()).await.map_err(store_status)?;
        let (endpoint, secret) =
            webhooks::create_endpoint(&tx, &caller.tenant, url, &req.description, &types, now_us())
                .await
                .map_err(tenant_status)?;
        self.audit(&tx, &caller, "CreateWebhookEndpoint", format!("webhook endpoint {}", endpoint.id)).await?;
        store::commit(tx).await.map_err(store_status)?;
        Ok(Response::new(pb::CreateWebhookEndpointResponse { endpoint: Some(endpoint_pb(&endpoint)), secret }))
    }

    async fn list_webhook_endpoints(
        &self,
        request: Request<pb::ListWebhookEndpointsRequest>,
    ) -> Result<Response<pb::ListWebhookEndpointsResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let size = page_size(req.page_size, &mut violations);
        let listing = (caller.tenant.as_str(), "webhook_endpoints", "");
        let after = self.page_tokens.position(&req.page_token, listing, created_and_id, &mut violations);
        if !violations.is_empty() {
            return Err(invalid(&violations));
        }
        let mut rows =
            webhooks::endpoints(self.db(), &caller.tenant, after.as_ref().map(|(c, id)| (*c, id.as_str())), size + 1)
                .await
                .map_err(store_status)?;
        let next_page_token =
            self.page_tokens.next_page(&mut rows, size, listing, |last| format!("{}.{}", last.created_at_us, last.id));
        Ok(Response::new(pb::ListWebhookEndpointsResponse {
            endpoints: rows.iter().map(endpoint_pb).collect(),
            next_page_token,
        }))
    }

    async fn get_webhook_endpoint(
        &self,
        request: Request<pb::GetWebhookEndpointRequest>,
    ) -> Result<Response<pb::WebhookEndpoint>, Status> {
        let caller = self.caller(&request).await?;
        let id = request.into_inner().id;
        required("id", &id)?;
        match webhooks::endpoint(self.db(), &caller.tenant, &id).await.map_err(store_status)? {
            Some(e) => Ok(Response::new(endpoint_pb(&e))),
            None => Err(not_found("webhook endpoint", &id)),
        }
    }

    async fn update_webhook_endpoint(
        &self,
        request: Request<pb::UpdateWebhookEndpointRequest>,
    ) -> Result<Response<pb::WebhookEndpoint>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let given = req.endpoint.unwrap_or_default();
        let paths = req.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut violations = Vec::new();
        if given.id.trim().is_empty() {
            violations.push(required_violation("endpoint.id"));
        }
        let mut changes = EndpointChanges::default();
        if paths.is_empty() {
            violations.push(violation(
                "update_mask",
                "EMPTY_UPDATE_MASK",
                "name the fields to change: url, description, event_types, enabled",
                "noem de velden die veranderen: url, description, event_types, enabled",
            ));
        }
        for (i, path) in paths.iter().enumerate() {
            match path.as_str() {
                "url" => {
                    check_url(given.url.trim(), "endpoint.url", &mut violations);
                    changes.url = Some(given.url.trim().to_string());
                }
                "description" => {
                    check_description(&given.description, "endpoint.description", &mut violations);
                    changes.description = Some(given.description.clone());
                }
                "event_types" | "eventTypes" => {
                    changes.event_types =
                        Some(check_types(&given.event_types, "endpoint.event_types", &mut violations));
                }
                "enabled" => changes.enabled = Some(given.enabled),
                other => violations.push(violation(
                    &format!("update_mask.paths[{i}]"),
                    "UNKNOWN_FIELD",
                    format!("`{other}` cannot be changed: use url, description, event_types or enabled"),
                    format!("`{other}` kan niet veranderen: gebruik url, description, event_types of enabled"),
                )),
            }
        }
        if let Some(url) = changes.url.clone() {
            self.check_destination(&url, "endpoint.url", &mut violations).await;
        }
        if !violations.is_empty() {
            return Err(invalid(&violations));
        }
        let tx = begin_write(self.db()).await.map_err(store_status)?;
        let updated = webhooks::update_endpoint(&tx, &caller.tenant, &given.id, &changes, now_us())
            .await
            .map_err(store_status)?
            .ok_or_else(|| not_found("webhook endpoint", &given.id))?;
        self.audit(
            &tx,
            &caller,
            "UpdateWebhookEndpoint",
            format!("webhook endpoint {} ({})", given.id, paths.join(",")),
        )
        .await?;
        store::commit(tx).await.map_err(store_status)?;
        Ok(Response::new(endpoint_pb(&updated)))
    }

    async fn delete_webhook_endpoint(
        &self,
        request: Request<pb::DeleteWebhookEndpointRequest>,
    ) -> Result<Response<pb::DeleteWebhookEndpointResponse>, Status> {
        let caller = self.caller(&request).await?;
        let id = request.into_inner().id;
        required("id", &id)?;
        let tx = begin_write(self.db()).await.map_err(store_status)?;
        if !webhooks::delete_endpoint(&tx, &caller.tenant, &id, now_us()).await.map_err(store_status)? {
            return Err(not_found("webhook endpoint", &id));
        }
        self.audit(&tx, &caller, "DeleteWebhookEndpoint", format!("webhook endpoint {id}")).await?;
        store::commit(tx).await.map_err(store_status)?;
        Ok(Response::new(pb::DeleteWebhookEndpointResponse {}))
    }

    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookSecretResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        required("id", &req.id)?;
        let overlap = match req.previous_valid_seconds {
            0 => domain_webhooks::DEFAULT_ROTATION_OVERLAP,
            s => Duration::from_secs(u64::from(s)),
        };
        if overlap > domain_webhooks::MAX_ROTATION_OVERLAP {
            return Err(invalid(&[violation(
                "previous_valid_seconds",
                "OVERLAP_TOO_LONG",
                "at most 604800 (7 days)",
                "hoogstens 604800 (7 dagen)",
            )]));
        }
        let tx = begin_write(self.db()).await.map_err(store_status)?;
        let (endpoint, secret) = webhooks::rotate_secret(&tx, &caller.tenant, &req.id, overlap, now_us())
            .await
            .map_err(tenant_status)?
            .ok_or_else(|| not_found("webhook endpoint", &req.id))?;
        self.audit(&tx, &caller, "RotateWebhookSecret", format!("webhook endpoint {}", req.id)).await?;
        store::commit(tx).await.map_err(store_status)?;
        Ok(Response::new(pb::RotateWebhookSecretResponse { endpoint: Some(endpoint_pb(&endpoint)), secret }))
    }

    async fn list_webhook_events(
        &self,
        request: Request<pb::ListWebhookEventsRequest>,
    ) -> Result<Response<pb::ListWebhookEventsResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let size = page_size(req.page_size, &mut violations);
        let event_type = (!req.r#type.is_empty()).then_some(req.r#type.as_str());
        if let Some(t) = event_type {
            check_types(&[t.to_string()], "type", &mut violations);
        }
        let listing = (caller.tenant.as_str(), "webhook_events", req.r#type.as_str());
        let after = self.page_tokens.position(&req.page_token, listing, created_and_id, &mut violations);
        if !violations.is_empty() {
            return Err(invalid(&violations));
        }
        let mut rows = webhooks::events(
            self.db(),
            &caller.tenant,
            event_type,
            after.as_ref().map(|(c, id)| (*c, id.as_str())),
            size + 1,
        )
        .await
        .map_err(store_status)?;
        let next_page_token =
            self.page_tokens.next_page(&mut rows, size, listing, |last| format!("{}.{}", last.created_at_us, last.id));
        Ok(Response::new(pb::ListWebhookEventsResponse {
            events: rows.iter().map(event_pb).collect(),
            next_page_token,
        }))
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let size = page_size(req.page_size, &mut violations);
        if req.event_id.is_empty() && req.endpoint_id.is_empty() {
            violations.push(violation(
                "event_id",
                "MISSING_FILTER",
                "give event_id, endpoint_id or both",
                "geef event_id, endpoint_id of beide",
            ));
        }
        let filter = format!("{}/{}", req.event_id, req.endpoint_id);
        let listing = (caller.tenant.as_str(), "webhook_deliveries", filter.as_str());
        let before = self.page_tokens.position(&req.page_token, listing, |p| p.parse::<i64>().ok(), &mut violations);
        if !violations.is_empty() {
            return Err(invalid(&violations));
        }
        let event_id = (!req.event_id.is_empty()).then_some(req.event_id.as_str());
        let endpoint_id = (!req.endpoint_id.is_empty()).then_some(req.endpoint_id.as_str());
        let mut rows = webhooks::deliveries(self.db(), &caller.tenant, event_id, endpoint_id, before, size + 1)
            .await
            .map_err(store_status)?;
        let next_page_token = self.page_tokens.next_page(&mut rows, size, listing, |last| last.id.to_string());
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: rows.iter().map(delivery_pb).collect(),
            next_page_token,
        }))
    }

    async fn replay_webhook_event(
        &self,
        request: Request<pb::ReplayWebhookEventRequest>,
    ) -> Result<Response<pb::ReplayWebhookEventResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        required("event_id", &req.event_id)?;
        let tx = begin_write(self.db()).await.map_err(store_status)?;
        let event = webhooks::event(&tx, &caller.tenant, &req.event_id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| not_found("webhook event", &req.event_id))?;
        let targets = if req.endpoint_id.is_empty() {
            let mut all = Vec::new();
            let mut after: Option<(i64, String)> = None;
            loop {
                let page = webhooks::endpoints(&tx, &caller.tenant, after.as_ref().map(|(c, i)| (*c, i.as_str())), 500)
                    .await
                    .map_err(store_status)?;
                after = page.last().map(|e| (e.created_at_us, e.id.clone()));
                let done = page.len() < 500;
                all.extend(page.into_iter().filter(|e| e.disabled_at_us.is_none() && e.wants(&event.event_type)));
                if done {
                    break all;
                }
            }
        } else {
            let ep = webhooks::endpoint(&tx, &caller.tenant, &req.endpoint_id)
                .await
                .map_err(store_status)?
                .ok_or_else(|| not_found("webhook endpoint", &req.endpoint_id))?;
            if ep.disabled_at_us.is_some() {
                return Err(Status::failed_precondition(format!(
                    "webhook endpoint `{}` is disabled ({}); enable it first",
                    ep.id,
                    ep.disabled_reason.as_deref().unwrap_or("by hand")
                )));
            }
            vec![ep]
        };
        let queued = webhooks::replay(&tx, &event, &targets, now_us()).await.map_err(store_status)?;
        self.audit(
            &tx,
            &caller,
            "ReplayWebhookEvent",
            format!("webhook event {} to {} endpoint(s)", event.id, queued.len()),
        )
        .await?;
        store::commit(tx).await.map_err(store_status)?;
        if !queued.is_empty() {
            self.wake.notify_one();
        }
        Ok(Response::new(pb::ReplayWebhookEventResponse { deliveries: queued.iter().map(delivery_pb).collect() }))
    }
}
