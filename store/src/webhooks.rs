//! Webhooks as stored: a tenant's endpoints, its events, and the outbox of deliveries (the rules
//! (event types, schedule, signature, URLs) are `domain-webhooks`; the dispatcher that sends
//! deliveries is `services-persistence::dispatch`).
//!
//! An event is written by `record_event` in the transaction of what it reports (a submission, a
//! chapter written), together with one pending delivery per enabled endpoint subscribed to its
//! type: the outbox holds exactly the events that happened, whatever crashes.

use std::time::Duration;

use domain_webhooks::{RETENTION, sign};

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};

use crate::random;
use crate::schema::{WebhookAttempts as At, WebhookDeliveries as D, WebhookEndpoints as E, WebhookEvents as V};
use crate::tenants::TenantError;
use crate::{StoreError, get};

/// Waiting for its next attempt.
pub const PENDING: &str = "pending";
/// The endpoint answered 2xx.
pub const DELIVERED: &str = "delivered";
/// Every attempt failed, or the endpoint answered 410.
pub const FAILED: &str = "failed";
/// The endpoint was disabled or deleted first.
pub const CANCELLED: &str = "cancelled";

/// A random number in -1..=1 for `next_attempt_us`.
pub fn jitter() -> f64 {
    let bytes = random::bytes(8).unwrap_or_else(|_| vec![0; 8]);
    let n = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
    (n as f64 / u64::MAX as f64) * 2.0 - 1.0
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> Result<String, TenantError> {
    Ok(domain_webhooks::secret(&random::bytes(32)?))
}

/// An endpoint as its tenant sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `ep_` and 16 characters.
    pub id: String,
    /// Owner.
    pub tenant: String,
    /// Where deliveries go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Subscribed types; empty for every type.
    pub event_types: Vec<String>,
    /// When disabled; `None` while enabled.
    pub disabled_at_us: Option<i64>,
    /// Why disabled.
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at_us: i64,
    /// Until when the previous secret signs along, during a rotation.
    pub previous_until_us: Option<i64>,
}

impl Endpoint {
    /// Whether it receives events of type `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }
}

const ENDPOINT_COLUMNS: [E; 9] = [
    E::Id,
    E::Tenant,
    E::Url,
    E::Description,
    E::EventTypes,
    E::DisabledAtUs,
    E::DisabledReason,
    E::CreatedAtUs,
    E::PreviousUntilUs,
];

fn endpoint_of(r: &QueryResult) -> Result<Endpoint, StoreError> {
    let types: String = get(r, "event_types")?;
    Ok(Endpoint {
        id: get(r, "id")?,
        tenant: get(r, "tenant")?,
        url: get(r, "url")?,
        description: get(r, "description")?,
        event_types: types.split_whitespace().map(str::to_string).collect(),
        disabled_at_us: get(r, "disabled_at_us")?,
        disabled_reason: get(r, "disabled_reason")?,
        created_at_us: get(r, "created_at_us")?,
        previous_until_us: get(r, "previous_until_us")?,
    })
}

/// Registers an endpoint (URL and types already checked); returns it and its secret.
pub async fn create_endpoint(
    db: &impl ConnectionTrait,
    tenant: &str,
    url: &str,
    description: &str,
    event_types: &[String],
    now_us: i64,
) -> Result<(Endpoint, String), TenantError> {
    let id = format!("ep_{}", random::chars(16)?);
    let secret = new_secret()?;
    let stmt = Query::insert()
        .into_table(E::Table)
        .columns([E::Id, E::Tenant, E::Url, E::Description, E::EventTypes, E::Secret, E::CreatedAtUs, E::UpdatedAtUs])
        .values_panic([
            id.clone().into(),
            tenant.into(),
            url.into(),
            description.into(),
            event_types.join(" ").into(),
            secret.clone().into(),
            now_us.into(),
            now_us.into(),
        ])
        .to_owned();
    db.execute(&stmt).await.map_err(StoreError::from)?;
    let endpoint = Endpoint {
        id,
        tenant: tenant.to_string(),
        url: url.to_string(),
        description: description.to_string(),
        event_types: event_types.to_vec(),
        disabled_at_us: None,
        disabled_reason: None,
        created_at_us: now_us,
        previous_until_us: None,
    };
    Ok((endpoint, secret))
}

/// Endpoint `id` of `tenant`.
pub async fn endpoint(db: &impl ConnectionTrait, tenant: &str, id: &str) -> Result<Option<Endpoint>, StoreError> {
    let stmt = Query::select()
        .columns(ENDPOINT_COLUMNS)
        .from(E::Table)
        .and_where(Expr::col(E::Tenant).eq(tenant))
        .and_where(Expr::col(E::Id).eq(id))
        .to_owned();
    db.query_one(&stmt).await?.as_ref().map(endpoint_of).transpose()
}

/// A page of `tenant`'s endpoints, newest first, after the position `after` (creation time, id).
pub async fn endpoints(
    db: &impl ConnectionTrait,
    tenant: &str,
    after: Option<(i64, &str)>,
    limit: u64,
) -> Result<Vec<Endpoint>, StoreError> {
    let mut q = Query::select();
    q.columns(ENDPOINT_COLUMNS).from(E::Table).and_where(Expr::col(E::Tenant).eq(tenant));
    if let Some((created, id)) = after {
        q.and_where(
            Expr::col(E::CreatedAtUs)
                .lt(created)
                .or(Expr::col(E::CreatedAtUs).eq(created).and(Expr::col(E::Id).lt(id))),
        );
    }
    q.order_by(E::CreatedAtUs, Order::Desc).order_by(E::Id, Order::Desc).limit(limit);
    db.query_all(&q).await?.iter().map(endpoint_of).collect()
}

/// What UpdateWebhookEndpoint changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    /// A new URL (checked).
    pub url: Option<String>,
    /// A new description; `None` keeps the current one.
    pub description: Option<String>,
    /// New types (checked; empty for every type).
    pub event_types: Option<Vec<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// Applies `changes` to endpoint `id` of `tenant`; `None` when there is no such endpoint.
/// Disabling cancels its waiting deliveries.
pub async fn update_endpoint(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: &str,
    changes: &EndpointChanges,
    now_us: i64,
) -> Result<Option<Endpoint>, StoreError> {
    let Some(before) = endpoint(db, tenant, id).await? else { return Ok(None) };
    let mut stmt = Query::update();
    stmt.table(E::Table).value(E::UpdatedAtUs, now_us).and_where(Expr::col(E::Id).eq(id));
    if let Some(url) = &changes.url {
        stmt.value(E::Url, url.as_str());
    }
    if let Some(d) = &changes.description {
        stmt.value(E::Description, d.as_str());
    }
    if let Some(t) = &changes.event_types {
        stmt.value(E::EventTypes, t.join(" "));
    }
    match changes.enabled {
        Some(true) => {
            stmt.value(E::DisabledAtUs, Option::<i64>::None).value(E::DisabledReason, Option::<String>::None);
        }
        Some(false) if before.disabled_at_us.is_none() => {
            stmt.value(E::DisabledAtUs, now_us).value(E::DisabledReason, "disabled by the tenant");
            cancel_pending(db, id, now_us).await?;
        }
        _ => {}
    }
    db.execute(&stmt).await?;
    endpoint(db, tenant, id).await
}

/// Removes endpoint `id` of `tenant` and cancels its waiting deliveries; false when there is none.
pub async fn delete_endpoint(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: &str,
    now_us: i64,
) -> Result<bool, StoreError> {
    let stmt = Query::delete()
        .from_table(E::Table)
        .and_where(Expr::col(E::Tenant).eq(tenant))
        .and_where(Expr::col(E::Id).eq(id))
        .to_owned();
    if db.execute(&stmt).await?.rows_affected() == 0 {
        return Ok(false);
    }
    cancel_pending(db, id, now_us).await?;
    Ok(true)
}

/// Disables endpoint `id` (whoever owns it) for `reason`, cancelling its waiting deliveries.
pub async fn disable_endpoint(
    db: &impl ConnectionTrait,
    id: &str,
    reason: &str,
    now_us: i64,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(E::Table)
        .value(E::DisabledAtUs, now_us)
        .value(E::DisabledReason, reason)
        .value(E::UpdatedAtUs, now_us)
        .and_where(Expr::col(E::Id).eq(id))
        .and_where(Expr::col(E::DisabledAtUs).is_null())
        .to_owned();
    db.execute(&stmt).await?;
    cancel_pending(db, id, now_us).await
}

async fn cancel_pending(db: &impl ConnectionTrait, endpoint_id: &str, now_us: i64) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(D::Table)
        .value(D::State, CANCELLED)
        .value(D::FinishedAtUs, now_us)
        .value(D::Worker, Option::<String>::None)
        .value(D::LeaseUntilUs, Option::<i64>::None)
        .and_where(Expr::col(D::EndpointId).eq(endpoint_id))
        .and_where(Expr::col(D::State).eq(PENDING))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Gives endpoint `id` of `tenant` a new secret; the old one signs along until `now + overlap`.
pub async fn rotate_secret(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: &str,
    overlap: Duration,
    now_us: i64,
) -> Result<Option<(Endpoint, String)>, TenantError> {
    let stmt = Query::select()
        .column(E::Secret)
        .from(E::Table)
        .and_where(Expr::col(E::Tenant).eq(tenant))
        .and_where(Expr::col(E::Id).eq(id))
        .to_owned();
    let Some(row) = db.query_one(&stmt).await.map_err(StoreError::from)? else { return Ok(None) };
    let old: String = get(&row, "secret")?;
    let secret = new_secret()?;
    let until = now_us.saturating_add(i64::try_from(overlap.as_micros()).unwrap_or(i64::MAX));
    let stmt = Query::update()
        .table(E::Table)
        .value(E::Secret, secret.as_str())
        .value(E::PreviousSecret, old)
        .value(E::PreviousUntilUs, until)
        .value(E::UpdatedAtUs, now_us)
        .and_where(Expr::col(E::Id).eq(id))
        .to_owned();
    db.execute(&stmt).await.map_err(StoreError::from)?;
    Ok(endpoint(db, tenant, id).await?.map(|e| (e, secret)))
}

/// A past event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `msg_` and 24 characters; the `webhook-id`.
    pub id: String,
    /// Owner.
    pub tenant: String,
    /// One of `EVENT_TYPES`.
    pub event_type: String,
    /// The JSON body of its deliveries.
    pub payload: String,
    /// When it happened.
    pub created_at_us: i64,
}

fn event_of(r: &QueryResult) -> Result<Event, StoreError> {
    Ok(Event {
        id: get(r, "id")?,
        tenant: get(r, "tenant")?,
        event_type: get(r, "event_type")?,
        payload: get(r, "payload")?,
        created_at_us: get(r, "created_at_us")?,
    })
}

const EVENT_COLUMNS: [V; 5] = [V::Id, V::Tenant, V::EventType, V::Payload, V::CreatedAtUs];

/// Records an event of `tenant` (call it in the transaction of what it reports) and queues a
/// delivery to every enabled endpoint that wants it. The body is `{"type", "timestamp", "data"}`
/// as the Standard Webhooks specification suggests. Returns the event's id and how many
/// deliveries were queued.
pub async fn record_event(
    db: &impl ConnectionTrait,
    tenant: &str,
    event_type: &str,
    data: serde_json::Value,
    now_us: i64,
) -> Result<(String, usize), StoreError> {
    let id = format!("msg_{}", random::chars(24).map_err(|e| StoreError::Malformed(e.to_string()))?);
    let queued = record_event_as(db, &id, tenant, event_type, data, now_us).await?;
    Ok((id, queued))
}

/// `record_event` with an id the caller chose (`msg_` and 24 characters), for events that must
/// not be recorded twice. Returns how many deliveries were queued.
pub async fn record_event_as(
    db: &impl ConnectionTrait,
    id: &str,
    tenant: &str,
    event_type: &str,
    data: serde_json::Value,
    now_us: i64,
) -> Result<usize, StoreError> {
    let payload = payload(event_type, &crate::time::rfc3339(now_us), data);
    let stmt = Query::insert()
        .into_table(V::Table)
        .columns(EVENT_COLUMNS)
        .values_panic([id.into(), tenant.into(), event_type.into(), payload.into(), now_us.into()])
        .to_owned();
    db.execute(&stmt).await?;
    let targets = enabled_endpoints(db, &[tenant]).await?;
    let mut queued = 0;
    for ep in targets.iter().filter(|e| e.wants(event_type)) {
        queue(db, id, &ep.id, tenant, false, now_us).await?;
        queued += 1;
    }
    Ok(queued)
}

/// `record_event` for many events at once (a batch of submissions): one statement for the events,
/// one read of the endpoints of their tenants, one statement for the deliveries. Each event is (tenant,
/// type, data); returns how many deliveries were queued.
pub async fn record_events(
    db: &impl ConnectionTrait,
    events: &[(&str, &str, serde_json::Value)],
    now_us: i64,
) -> Result<usize, StoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    let timestamp = crate::time::rfc3339(now_us);
    let mut ids = Vec::with_capacity(events.len());
    let mut stmt = Query::insert();
    stmt.into_table(V::Table).columns(EVENT_COLUMNS);
    for (tenant, event_type, data) in events {
        let id = format!("msg_{}", random::chars(24).map_err(|e| StoreError::Malformed(e.to_string()))?);
        let payload = payload(event_type, &timestamp, data.clone());
        stmt.values_panic([id.as_str().into(), (*tenant).into(), (*event_type).into(), payload.into(), now_us.into()]);
        ids.push(id);
    }
    db.execute(&stmt).await?;
    let mut tenants: Vec<&str> = events.iter().map(|e| e.0).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let targets = enabled_endpoints(db, &tenants).await?;
    let mut deliveries = Query::insert();
    deliveries.into_table(D::Table).columns(DELIVERY_COLUMNS);
    let mut queued = 0;
    for ((tenant, event_type, _), id) in events.iter().zip(&ids) {
        for ep in targets.iter().filter(|e| e.tenant == *tenant && e.wants(event_type)) {
            deliveries.values_panic(delivery_values(id, &ep.id, tenant, false, now_us));
            queued += 1;
        }
    }
    if queued > 0 {
        db.execute(&deliveries).await?;
    }
    Ok(queued)
}

/// The enabled endpoints of `tenants` (distinct), in one read.
async fn enabled_endpoints(db: &impl ConnectionTrait, tenants: &[&str]) -> Result<Vec<Endpoint>, StoreError> {
    let mut found = Vec::new();
    for chunk in tenants.chunks(500) {
        let stmt = Query::select()
            .columns(ENDPOINT_COLUMNS)
            .from(E::Table)
            .and_where(Expr::col(E::Tenant).is_in(chunk.iter().copied()))
            .and_where(Expr::col(E::DisabledAtUs).is_null())
            .to_owned();
        for row in db.query_all(&stmt).await? {
            found.push(endpoint_of(&row)?);
        }
    }
    Ok(found)
}

/// An event's body: `{"type", "timestamp", "data"}`.
fn payload(event_type: &str, timestamp: &str, data: serde_json::Value) -> String {
    serde_json::json!({ "type": event_type, "timestamp": timestamp, "data": data }).to_string()
}

const DELIVERY_COLUMNS: [D; 8] =
    [D::EventId, D::EndpointId, D::Tenant, D::State, D::Attempts, D::NextAttemptUs, D::Replay, D::CreatedAtUs];

fn delivery_values(
    event_id: &str,
    endpoint_id: &str,
    tenant: &str,
    replay: bool,
    now_us: i64,
) -> [sea_orm::sea_query::SimpleExpr; 8] {
    [
        event_id.into(),
        endpoint_id.into(),
        tenant.into(),
        PENDING.into(),
        0i32.into(),
        now_us.into(),
        replay.into(),
        now_us.into(),
    ]
}

async fn queue(
    db: &impl ConnectionTrait,
    event_id: &str,
    endpoint_id: &str,
    tenant: &str,
    replay: bool,
    now_us: i64,
) -> Result<i64, StoreError> {
    let stmt = Query::insert()
        .into_table(D::Table)
        .columns(DELIVERY_COLUMNS)
        .values_panic(delivery_values(event_id, endpoint_id, tenant, replay, now_us))
        .returning_col(D::Id)
        .to_owned();
    let row = db.query_one(&stmt).await?.ok_or_else(|| StoreError::Malformed("no id returned".into()))?;
    get(&row, "id")
}

/// Event `id` of `tenant`.
pub async fn event(db: &impl ConnectionTrait, tenant: &str, id: &str) -> Result<Option<Event>, StoreError> {
    let stmt = Query::select()
        .columns(EVENT_COLUMNS)
        .from(V::Table)
        .and_where(Expr::col(V::Tenant).eq(tenant))
        .and_where(Expr::col(V::Id).eq(id))
        .to_owned();
    db.query_one(&stmt).await?.as_ref().map(event_of).transpose()
}

/// A page of `tenant`'s events (of one type, when given), newest first, after the position
/// `after` (creation time, id).
pub async fn events(
    db: &impl ConnectionTrait,
    tenant: &str,
    event_type: Option<&str>,
    after: Option<(i64, &str)>,
    limit: u64,
) -> Result<Vec<Event>, StoreError> {
    let mut q = Query::select();
    q.columns(EVENT_COLUMNS).from(V::Table).and_where(Expr::col(V::Tenant).eq(tenant));
    if let Some(t) = event_type {
        q.and_where(Expr::col(V::EventType).eq(t));
    }
    if let Some((created, id)) = after {
        q.and_where(
            Expr::col(V::CreatedAtUs)
                .lt(created)
                .or(Expr::col(V::CreatedAtUs).eq(created).and(Expr::col(V::Id).lt(id))),
        );
    }
    q.order_by(V::CreatedAtUs, Order::Desc).order_by(V::Id, Order::Desc).limit(limit);
    db.query_all(&q).await?.iter().map(event_of).collect()
}

/// One POST of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// When it started.
    pub at_us: i64,
    /// The HTTP status; 0 without an answer.
    pub status_code: i32,
    /// What failed without an answer.
    pub error: String,
    /// How long it took.
    pub duration_ms: i32,
}

/// A delivery of an event to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Row id (also the page position).
    pub id: i64,
    /// The event (`webhook-id`).
    pub event_id: String,
    /// The endpoint's id (`ep_` and 16 characters).
    pub endpoint_id: String,
    /// The event's type.
    pub event_type: String,
    /// One of PENDING, DELIVERED, FAILED, CANCELLED.
    pub state: String,
    /// When the next attempt is due.
    pub next_attempt_us: i64,
    /// Queued by a replay.
    pub replay: bool,
    /// When queued.
    pub created_at_us: i64,
    /// Its attempts, oldest first.
    pub attempts: Vec<Attempt>,
}

/// A page of `tenant`'s deliveries (of one event and/or to one endpoint), newest first, before
/// row `before_id`.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    tenant: &str,
    event_id: Option<&str>,
    endpoint_id: Option<&str>,
    before_id: Option<i64>,
    limit: u64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut q = Query::select();
    q.columns([
        (D::Table, D::Id),
        (D::Table, D::EventId),
        (D::Table, D::EndpointId),
        (D::Table, D::State),
        (D::Table, D::NextAttemptUs),
        (D::Table, D::Replay),
        (D::Table, D::CreatedAtUs),
    ])
    .column((V::Table, V::EventType))
    .from(D::Table)
    .inner_join(V::Table, Expr::col((V::Table, V::Id)).equals((D::Table, D::EventId)))
    .and_where(Expr::col((D::Table, D::Tenant)).eq(tenant));
    if let Some(e) = event_id {
        q.and_where(Expr::col((D::Table, D::EventId)).eq(e));
    }
    if let Some(e) = endpoint_id {
        q.and_where(Expr::col((D::Table, D::EndpointId)).eq(e));
    }
    if let Some(b) = before_id {
        q.and_where(Expr::col((D::Table, D::Id)).lt(b));
    }
    q.order_by((D::Table, D::Id), Order::Desc).limit(limit);
    let mut out: Vec<Delivery> = db
        .query_all(&q)
        .await?
        .iter()
        .map(|r| {
            Ok(Delivery {
                id: get(r, "id")?,
                event_id: get(r, "event_id")?,
                endpoint_id: get(r, "endpoint_id")?,
                event_type: get(r, "event_type")?,
                state: get(r, "state")?,
                next_attempt_us: get(r, "next_attempt_us")?,
                replay: get(r, "replay")?,
                created_at_us: get(r, "created_at_us")?,
                attempts: Vec::new(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    with_attempts(db, &mut out).await?;
    Ok(out)
}

/// Fills in the attempts of `deliveries`, oldest first.
async fn with_attempts(db: &impl ConnectionTrait, deliveries: &mut [Delivery]) -> Result<(), StoreError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let stmt = Query::select()
        .columns([At::DeliveryId, At::AtUs, At::StatusCode, At::Error, At::DurationMs])
        .from(At::Table)
        .and_where(Expr::col(At::DeliveryId).is_in(deliveries.iter().map(|d| d.id)))
        .order_by(At::Id, Order::Asc)
        .to_owned();
    for r in db.query_all(&stmt).await? {
        let delivery: i64 = get(&r, "delivery_id")?;
        if let Some(d) = deliveries.iter_mut().find(|d| d.id == delivery) {
            d.attempts.push(Attempt {
                at_us: get(&r, "at_us")?,
                status_code: get(&r, "status_code")?,
                error: get(&r, "error")?,
                duration_ms: get(&r, "duration_ms")?,
            });
        }
    }
    Ok(())
}

/// Queues `event` again for `endpoints` (enabled ones of its tenant); returns the new deliveries.
pub async fn replay(
    db: &impl ConnectionTrait,
    event: &Event,
    endpoints: &[Endpoint],
    now_us: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut out = Vec::new();
    for ep in endpoints {
        let id = queue(db, &event.id, &ep.id, &event.tenant, true, now_us).await?;
        out.push(Delivery {
            id,
            event_id: event.id.clone(),
            endpoint_id: ep.id.clone(),
            event_type: event.event_type.clone(),
            state: PENDING.to_string(),
            next_attempt_us: now_us,
            replay: true,
            created_at_us: now_us,
            attempts: Vec::new(),
        });
    }
    Ok(out)
}

/// A claimed delivery with everything needed to send it.
#[derive(Clone, Debug)]
pub struct Job {
    /// The delivery's row.
    pub delivery_id: i64,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The event (`webhook-id`) and its body.
    pub event_id: String,
    /// The body.
    pub payload: String,
    /// The endpoint, `None` when it was deleted meanwhile.
    pub endpoint: Option<JobEndpoint>,
}

/// Where and how a job is sent.
#[derive(Clone)]
pub struct JobEndpoint {
    pub id: String,
    pub url: String,
    /// Whether it is disabled.
    pub disabled: bool,
    /// The secrets that sign: the current one, and the previous one during a rotation.
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for JobEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEndpoint").field("id", &self.id).field("url", &self.url).finish_non_exhaustive()
    }
}

impl JobEndpoint {
    /// The `webhook-signature` header of `body` sent as `id` at `timestamp`: one signature per
    /// secret, separated by spaces.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        self.secrets.iter().filter_map(|s| sign(s, id, timestamp, body)).collect::<Vec<_>>().join(" ")
    }
}

fn due(q: &mut SelectStatement, now_us: i64) {
    q.and_where(Expr::col(D::State).eq(PENDING))
        .and_where(Expr::col(D::NextAttemptUs).lte(now_us))
        .and_where(Expr::col(D::LeaseUntilUs).is_null().or(Expr::col(D::LeaseUntilUs).lt(now_us)));
}

/// Claims up to `limit` due deliveries nobody holds for `worker` until `lease_until_us`, oldest
/// due first (on PostgreSQL skipping rows another dispatcher is claiming).
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    now_us: i64,
    lease_until_us: i64,
    limit: u64,
) -> Result<Vec<Job>, StoreError> {
    let mut free = Query::select();
    free.column(D::Id).from(D::Table);
    due(&mut free, now_us);
    free.order_by(D::NextAttemptUs, Order::Asc)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    let stmt = Query::update()
        .table(D::Table)
        .value(D::Worker, worker)
        .value(D::LeaseUntilUs, lease_until_us)
        .and_where(Expr::col(D::Id).in_subquery(free))
        .returning(Query::returning().columns([D::Id, D::EventId, D::EndpointId, D::Attempts]))
        .to_owned();
    let rows = db.query_all(&stmt).await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for r in rows {
        let event_id: String = get(&r, "event_id")?;
        let endpoint_id: String = get(&r, "endpoint_id")?;
        let stmt = Query::select()
            .column(V::Payload)
            .from(V::Table)
            .and_where(Expr::col(V::Id).eq(event_id.as_str()))
            .to_owned();
        let payload: String = match db.query_one(&stmt).await? {
            Some(row) => get(&row, "payload")?,
            None => return Err(StoreError::Malformed(format!("delivery of a missing event {event_id}"))),
        };
        let endpoint = job_endpoint(db, endpoint_id, now_us).await?;
        jobs.push(Job {
            delivery_id: get(&r, "id")?,
            attempts: u32::try_from(get::<i32>(&r, "attempts")?).unwrap_or(0),
            event_id,
            payload,
            endpoint,
        });
    }
    Ok(jobs)
}

/// A claimed delivery's endpoint with the secrets that sign it at `now_us` (the previous one too
/// while it overlaps); `None` when the endpoint was deleted.
async fn job_endpoint(
    db: &impl ConnectionTrait,
    endpoint_id: String,
    now_us: i64,
) -> Result<Option<JobEndpoint>, StoreError> {
    let stmt = Query::select()
        .columns([E::Url, E::Secret, E::PreviousSecret, E::PreviousUntilUs, E::DisabledAtUs])
        .from(E::Table)
        .and_where(Expr::col(E::Id).eq(endpoint_id.as_str()))
        .to_owned();
    let Some(row) = db.query_one(&stmt).await? else { return Ok(None) };
    let mut secrets = vec![get::<String>(&row, "secret")?];
    let previous: Option<String> = get(&row, "previous_secret")?;
    let until: Option<i64> = get(&row, "previous_until_us")?;
    if let (Some(p), Some(u)) = (previous, until)
        && u > now_us
    {
        secrets.push(p);
    }
    Ok(Some(JobEndpoint {
        id: endpoint_id,
        url: get(&row, "url")?,
        disabled: get::<Option<i64>>(&row, "disabled_at_us")?.is_some(),
        secrets,
    }))
}

/// What became of a delivery after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// 2xx: done.
    Delivered,
    /// Try again at this time.
    Retry(i64),
    /// The schedule is used up.
    GiveUp,
    /// 410: the endpoint is gone; disable it.
    Gone,
    /// The endpoint was deleted or disabled meanwhile (no attempt was made).
    Cancel,
}

/// Records `attempt` (when one was made) of delivery `delivery_id` by `worker` and what follows,
/// in one transaction (a listing never shows the attempt without its outcome). The state changes
/// only while `worker` still holds the delivery.
pub async fn finish(
    db: &sea_orm::DatabaseConnection,
    job: &Job,
    worker: &str,
    attempt: Option<&Attempt>,
    next: &Next,
    now_us: i64,
) -> Result<(), StoreError> {
    let tx = crate::begin_write(db).await?;
    if let Some(a) = attempt {
        let stmt = Query::insert()
            .into_table(At::Table)
            .columns([At::DeliveryId, At::AtUs, At::StatusCode, At::Error, At::DurationMs])
            .values_panic([
                job.delivery_id.into(),
                a.at_us.into(),
                a.status_code.into(),
                a.error.clone().into(),
                a.duration_ms.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
    }
    let mut stmt = Query::update();
    stmt.table(D::Table)
        .value(D::Worker, Option::<String>::None)
        .value(D::LeaseUntilUs, Option::<i64>::None)
        .and_where(Expr::col(D::Id).eq(job.delivery_id))
        .and_where(Expr::col(D::Worker).eq(worker))
        .and_where(Expr::col(D::State).eq(PENDING));
    if attempt.is_some() {
        stmt.value(D::Attempts, Expr::col(D::Attempts).add(1));
    }
    match next {
        Next::Delivered => stmt.value(D::State, DELIVERED).value(D::FinishedAtUs, now_us),
        Next::Retry(at) => stmt.value(D::NextAttemptUs, *at),
        Next::GiveUp | Next::Gone => stmt.value(D::State, FAILED).value(D::FinishedAtUs, now_us),
        Next::Cancel => stmt.value(D::State, CANCELLED).value(D::FinishedAtUs, now_us),
    };
    tx.execute(&stmt).await?;
    if let (Next::Gone, Some(ep)) = (next, &job.endpoint) {
        disable_endpoint(&tx, &ep.id, "the endpoint answered 410 Gone", now_us).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Waiting deliveries and the earliest due time among them (for operators and metrics).
pub async fn backlog(db: &impl ConnectionTrait) -> Result<(i64, Option<i64>), StoreError> {
    let stmt = Query::select()
        .expr_as(Expr::col(D::Id).count(), "n")
        .expr_as(Expr::col(D::NextAttemptUs).min(), "first")
        .from(D::Table)
        .and_where(Expr::col(D::State).eq(PENDING))
        .to_owned();
    match db.query_one(&stmt).await? {
        Some(r) => Ok((get(&r, "n")?, get(&r, "first")?)),
        None => Ok((0, None)),
    }
}

/// Removes events older than `RETENTION` that have no waiting delivery, with their deliveries
/// and attempts. Returns how many events went.
pub async fn prune(db: &impl ConnectionTrait, now_us: i64) -> Result<u64, StoreError> {
    let cutoff = now_us - i64::try_from(RETENTION.as_micros()).unwrap_or(i64::MAX);
    let mut waiting = Query::select();
    waiting.column(D::EventId).from(D::Table).and_where(Expr::col(D::State).eq(PENDING));
    let mut old = Query::select();
    old.column(V::Id)
        .from(V::Table)
        .and_where(Expr::col(V::CreatedAtUs).lt(cutoff))
        .and_where(Expr::col(V::Id).not_in_subquery(waiting));
    delete_events(db, old).await
}

/// Deletes the events `events` selects (a query of their ids), with their deliveries and attempts;
/// how many events went.
async fn delete_events(
    db: &impl ConnectionTrait,
    events: sea_orm::sea_query::SelectStatement,
) -> Result<u64, StoreError> {
    let mut deliveries = Query::select();
    deliveries.column(D::Id).from(D::Table).and_where(Expr::col(D::EventId).in_subquery(events.clone()));
    let stmt =
        Query::delete().from_table(At::Table).and_where(Expr::col(At::DeliveryId).in_subquery(deliveries)).to_owned();
    db.execute(&stmt).await?;
    let stmt =
        Query::delete().from_table(D::Table).and_where(Expr::col(D::EventId).in_subquery(events.clone())).to_owned();
    db.execute(&stmt).await?;
    let stmt = Query::delete().from_table(V::Table).and_where(Expr::col(V::Id).in_subquery(events)).to_owned();
    Ok(db.execute(&stmt).await?.rows_affected())
}

/// Removes `tenant`'s events about assessment `id` (their payloads carry the firm's reference),
/// with their deliveries and attempts: part of erasing the assessment. Returns how many went.
pub async fn erase_assessment_events(db: &impl ConnectionTrait, tenant: &str, id: i64) -> Result<u64, StoreError> {
    // Payloads are compact JSON written by `payload`: the id stands quoted, so `"104"` does not
    // match 1040.
    let pattern = format!("%\"assessmentId\":\"{id}\"%");
    let mut about = Query::select();
    about
        .column(V::Id)
        .from(V::Table)
        .and_where(Expr::col(V::Tenant).eq(tenant))
        .and_where(Expr::col(V::Payload).like(pattern));
    delete_events(db, about).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_well_formed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(domain_webhooks::sign(&a, "msg_x", 1, b"{}").is_some());
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let j = jitter();
            assert!((-1.0..=1.0).contains(&j));
        }
    }
}
