//! Who may call: API keys (checked against the store's key table, cached for
//! `store::tenants::CACHE_TTL`), the development mode's tenant header, and per-tenant rate
//! limits. Shared by every tenant-scoped service (assessments, benchmarks, webhooks, reports),
//! with the gRPC status of a store failure that all of them answer alike.

use std::sync::Arc;

use configuration::layers::AuthMode;
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

/// A token bucket per tenant. A bucket that has filled up again is the same as no bucket, so such
/// buckets are dropped whenever the map has doubled since the last pruning: the map holds about the
/// tenants that called within the last `burst / per_second` seconds, never more than
/// `MAX_BUCKETS` (in development mode any `x-tenant-id` makes a tenant, so without this a client
/// could grow the map without bound).
#[derive(Debug, Default)]
struct Limiter {
    limit: std::sync::Mutex<Option<RateLimit>>,
    buckets: std::sync::Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_tenant: std::collections::HashMap<String, (f64, std::time::Instant)>,
    /// Size at which the map is next pruned.
    prune_at: usize,
}

/// Buckets kept before the first pruning.
const PRUNE_FROM: usize = 1024;
/// Most buckets ever kept: past this, even unfilled buckets are dropped (their tenants start again
/// with a full burst, which only a flood of made-up tenant ids can cause).
const MAX_BUCKETS: usize = 65_536;

impl Buckets {
    fn prune(&mut self, limit: RateLimit, now: std::time::Instant) {
        let refilled = |tokens: f64, last: std::time::Instant| {
            tokens + now.duration_since(last).as_secs_f64() * limit.per_second >= limit.burst
        };
        self.by_tenant.retain(|_, (tokens, last)| !refilled(*tokens, *last));
        if self.by_tenant.len() >= MAX_BUCKETS {
            tracing::warn!(tenants = self.by_tenant.len(), "rate limiter: too many tenants at once; buckets reset");
            self.by_tenant.clear();
        }
        self.prune_at = (2 * self.by_tenant.len()).clamp(PRUNE_FROM, MAX_BUCKETS);
    }
}

impl Limiter {
    /// Takes a token of `tenant`'s bucket, or says how long until one is there.
    fn take(&self, tenant: &str) -> Result<(), std::time::Duration> {
        let Some(limit) = self.limit.lock().ok().and_then(|l| *l) else { return Ok(()) };
        let Ok(mut buckets) = self.buckets.lock() else { return Ok(()) };
        let now = std::time::Instant::now();
        if buckets.by_tenant.len() >= buckets.prune_at.max(PRUNE_FROM) {
            buckets.prune(limit, now);
        }
        let (tokens, last) = buckets.by_tenant.entry(tenant.to_string()).or_insert((limit.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * limit.per_second).min(limit.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(std::time::Duration::from_secs_f64((1.0 - *tokens) / limit.per_second))
        }
    }

    #[cfg(test)]
    fn tenants(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.by_tenant.len())
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
                // The scheme is case-insensitive (RFC 9110, 11.1): `Bearer`, `bearer`, `BEARER`.
                let key = match text.trim_start().split_once(' ') {
                    Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
                    _ => "",
                };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: f64) -> Limiter {
        let l = Limiter::default();
        *l.limit.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(RateLimit { per_second, burst });
        l
    }

    #[test]
    fn a_tenant_over_its_rate_waits_and_others_do_not() {
        let l = limiter(1.0, 2.0);
        assert!(l.take("a").is_ok() && l.take("a").is_ok());
        let wait = l.take("a").expect_err("the burst is spent");
        assert!(wait > std::time::Duration::from_millis(500) && wait <= std::time::Duration::from_secs(1), "{wait:?}");
        assert!(l.take("b").is_ok());
    }

    /// Tenant ids made up by the thousand (development mode takes any `x-tenant-id`) do not grow
    /// the limiter: buckets that have filled up again are dropped, and there is a hard ceiling.
    #[test]
    fn made_up_tenants_do_not_grow_the_limiter_without_bound() {
        // Buckets refill within a microsecond: all but the latest are prunable.
        let fast = limiter(1e6, 1.0);
        for n in 0..20_000 {
            let _ = fast.take(&format!("t{n}"));
        }
        assert!(fast.tenants() <= 2 * PRUNE_FROM, "{} buckets kept", fast.tenants());
        // Buckets that take an hour to refill: none is prunable, the ceiling holds.
        let slow = limiter(1.0 / 3600.0, 1.0);
        for n in 0..(MAX_BUCKETS + 10_000) {
            let _ = slow.take(&format!("t{n}"));
        }
        assert!(slow.tenants() <= MAX_BUCKETS, "{} buckets kept", slow.tenants());
        // A real tenant within its burst keeps its bucket through a pruning.
        let l = limiter(1.0 / 3600.0, 5.0);
        let _ = l.take("kept");
        for n in 0..PRUNE_FROM + 5 {
            let _ = l.take(&format!("t{n}"));
        }
        assert!(l.take("kept").is_ok());
        let tokens = l.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner).by_tenant["kept"].0;
        assert!((tokens - 3.0).abs() < 1e-3, "{tokens}");
    }
}
