//! Who may call: API keys (checked against the store's key table, cached for
//! `store::tenants::CACHE_TTL`), the development mode's tenant header, and per-tenant rate
//! limits. Shared by every tenant-scoped service (assessments, benchmarks, webhooks, reports),
//! with the gRPC status of a store failure that all of them answer alike.

use std::sync::Arc;

use services_common::config::AuthMode;
use store::StoreError;
use store::tenants::{AuthError, Caller, Keys};
use tonic::{Request, Status};

/// The metadata header that names the tenant in development mode (`auth = tenant-header`).
pub const TENANT_HEADER: &str = "x-tenant-id";

/// The status of a store failure (details logged, not sent).
pub fn store_status(e: StoreError) -> Status {
    tracing::error!(error = %e, "store failure");
    match e {
        StoreError::Unavailable(_) => Status::unavailable("the database is unavailable; retry later"),
        _ => Status::internal("internal storage error"),
    }
}

/// NOT_FOUND for an assessment, the same whether it is missing or another tenant's.
pub fn not_found(id: i64) -> Status {
    Status::not_found(format!("assessment {id} not found"))
}

/// Identifies callers: by API key (`authorization: Bearer ...`), or, in development mode only, by
/// the `x-tenant-id` header. Cheap to clone; shared by every tenant-scoped service.
#[derive(Clone, Debug)]
pub struct Authenticator {
    mode: AuthMode,
    keys: Keys,
    limiter: Arc<Limiter>,
}

/// Requests per second each tenant may make (on average), and how many at once (the burst).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell.
    pub burst: f64,
}

/// A token bucket per tenant.
#[derive(Debug, Default)]
struct Limiter {
    limit: std::sync::Mutex<Option<RateLimit>>,
    buckets: std::sync::Mutex<std::collections::HashMap<String, (f64, std::time::Instant)>>,
}

impl Limiter {
    /// Takes a token of `tenant`'s bucket, or says how long until one is there.
    fn take(&self, tenant: &str) -> Result<(), std::time::Duration> {
        let Some(limit) = self.limit.lock().ok().and_then(|l| *l) else { return Ok(()) };
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let now = std::time::Instant::now();
        let (tokens, last) = buckets.entry(tenant.to_string()).or_insert((limit.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * limit.per_second).min(limit.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(std::time::Duration::from_secs_f64((1.0 - *tokens) / limit.per_second))
        }
    }
}

impl Authenticator {
    /// Callers of the store `db`, identified as `mode` says.
    pub fn new(db: store::DatabaseConnection, mode: AuthMode) -> Authenticator {
        if mode == AuthMode::TenantHeader {
            tracing::warn!(
                "auth = tenant-header: callers are trusted to name their tenant; never use this in production"
            );
        }
        Authenticator { mode, keys: Keys::new(db), limiter: Arc::new(Limiter::default()) }
    }

    /// How long what was read about a key is trusted (`store::tenants::CACHE_TTL` unless set):
    /// a revoked key stops working within it.
    pub fn set_key_cache_ttl(&self, ttl: std::time::Duration) {
        self.keys.set_cache_ttl(ttl);
    }

    /// Limits every tenant's calls to `limit` (`None`: unlimited). Takes effect at once.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        if let Ok(mut l) = self.limiter.limit.lock() {
            *l = limit;
        }
    }

    /// RESOURCE_EXHAUSTED with RetryInfo when `tenant` is over its rate.
    fn admit(&self, tenant: &str) -> Result<(), Status> {
        self.limiter.take(tenant).map_err(|wait| {
            use tonic_types::{ErrorDetails, StatusExt};
            let wait = wait.max(std::time::Duration::from_millis(1));
            Status::with_error_details(
                tonic::Code::ResourceExhausted,
                format!("rate limit of the tenant exceeded; retry in {} ms", wait.as_millis()),
                ErrorDetails::with_retry_info(Some(wait)),
            )
        })
    }

    /// Whether `req` may read the shared benchmarks: any valid key (every tenant reads them); in
    /// development mode also a call without one.
    pub async fn reader<T>(&self, req: &Request<T>) -> Result<(), Status> {
        if self.mode == AuthMode::TenantHeader && req.metadata().get("authorization").is_none() {
            return Ok(());
        }
        self.caller(req).await.map(drop)
    }

    /// Who sent `req`. A key is checked in either mode; without one, only the development mode
    /// accepts the tenant header. Refusals never repeat the key.
    pub async fn caller<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        match req.metadata().get("authorization") {
            Some(value) => {
                let text = value.to_str().unwrap_or("");
                let key = text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")).unwrap_or("").trim();
                let caller = self.keys.authenticate(key).await.map_err(|e| match e {
                    AuthError::Unavailable => Status::unavailable("the key store is unavailable; retry later"),
                    other => Status::unauthenticated(other.to_string()),
                })?;
                self.admit(&caller.tenant)?;
                Ok(caller)
            }
            None if self.mode == AuthMode::TenantHeader => {
                let caller = Caller { tenant: tenant(req)?, key_prefix: TENANT_HEADER.to_string() };
                self.admit(&caller.tenant)?;
                Ok(caller)
            }
            None => Err(Status::unauthenticated("missing `authorization: Bearer <API key>` metadata")),
        }
    }
}

/// The tenant of a call, from its `x-tenant-id` metadata (development mode).
fn tenant<T>(req: &Request<T>) -> Result<String, Status> {
    let raw = req.metadata().get(TENANT_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ok =
        !raw.is_empty() && raw.len() <= 64 && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(raw.to_string())
    } else {
        Err(Status::unauthenticated(format!(
            "missing or malformed `{TENANT_HEADER}` metadata (letters, digits, '-' and '_', at most 64)"
        )))
    }
}
