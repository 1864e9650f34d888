//! Tenants, their API keys and the audit log.
//!
//! A key looks like `mk_Ab3dE5gH7k.` followed by 32 more characters: the first 13 (`mk_` and 10
//! random characters) are its public prefix, by which it is found and shown in listings; the
//! whole key is stored only as its SHA-256 and compared in constant time. It is shown once, when
//! issued, and never logged. A revoked key stops working within `CACHE_TTL` on every server.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};

use crate::schema::{ApiKeys as K, AuditLog as L, Tenants as T};
use sea_orm::ConnectionTrait;

use crate::{StoreError, get};

/// The tenant of the demo job: everything it holds is synthetic, and its chapters say so.
pub const DEMO_TENANT: &str = "demo";

/// How long a server trusts what it read about a key before reading it again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

const PREFIX_RANDOM: usize = 10;
const SECRET_CHARS: usize = 32;
/// Length of a key's public prefix (`mk_` and 10 characters).
pub const PREFIX_LEN: usize = 3 + PREFIX_RANDOM;

/// Why an operation on tenants or keys was refused.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A tenant id must be letters, digits, '-' or '_', 1 to 64 of them.
    #[error("tenant id `{0}` is invalid: use letters, digits, '-' and '_', at most 64")]
    InvalidId(String),
    /// The tenant exists already.
    #[error("tenant `{0}` exists already")]
    Exists(String),
    /// No such tenant.
    #[error("no tenant `{0}`")]
    NoTenant(String),
    /// No such key.
    #[error("no key with prefix `{0}`")]
    NoKey(String),
    /// The random source failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
}

/// Whether `id` may name a tenant (it also appears in file paths of the nightly batch).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn hash(key: &str) -> String {
    crate::archive::sha256_hex(key.as_bytes())
}

/// Compares two strings without stopping at the first difference, so that the time taken says
/// nothing of how much of a guessed key's hash matched.
fn same(a: &str, b: &str) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()))
}

/// A tenant: one consultancy; every assessment, API key and webhook endpoint belongs to one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// Letters, digits, '-' and '_', at most 64 (`valid_id`); it also appears in the nightly
    /// batch's file paths.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at_us: i64,
}

/// What a listing shows of a key (never the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The public prefix.
    pub prefix: String,
    /// The tenant that callers with this key act for.
    pub tenant: String,
    /// What it is for.
    pub label: String,
    /// When issued.
    pub created_at_us: i64,
    /// When revoked, if it was.
    pub revoked_at_us: Option<i64>,
}

/// Creates tenant `id`.
pub async fn create_tenant(db: &impl ConnectionTrait, id: &str, name: &str, now_us: i64) -> Result<(), TenantError> {
    if !valid_id(id) {
        return Err(TenantError::InvalidId(id.to_string()));
    }
    if tenant(db, id).await?.is_some() {
        return Err(TenantError::Exists(id.to_string()));
    }
    let stmt = Query::insert()
        .into_table(T::Table)
        .columns([T::Id, T::Name, T::CreatedAtUs])
        .values_panic([id.into(), name.into(), now_us.into()])
        .to_owned();
    db.execute(&stmt).await.map_err(StoreError::from)?;
    Ok(())
}

/// Tenant `id`, if it exists.
pub async fn tenant(db: &impl ConnectionTrait, id: &str) -> Result<Option<Tenant>, TenantError> {
    let stmt = Query::select()
        .columns([T::Id, T::Name, T::CreatedAtUs])
        .from(T::Table)
        .and_where(Expr::col(T::Id).eq(id))
        .to_owned();
    let row = db.query_one(&stmt).await.map_err(StoreError::from)?;
    Ok(match row {
        Some(r) => {
            Some(Tenant { id: get(&r, "id")?, name: get(&r, "name")?, created_at_us: get(&r, "created_at_us")? })
        }
        None => None,
    })
}

/// Every tenant, by id.
pub async fn tenants(db: &impl ConnectionTrait) -> Result<Vec<Tenant>, TenantError> {
    let stmt =
        Query::select().columns([T::Id, T::Name, T::CreatedAtUs]).from(T::Table).order_by(T::Id, Order::Asc).to_owned();
    let rows = db.query_all(&stmt).await.map_err(StoreError::from)?;
    rows.iter()
        .map(|r| Ok(Tenant { id: get(r, "id")?, name: get(r, "name")?, created_at_us: get(r, "created_at_us")? }))
        .collect()
}

/// Issues a key for `tenant`; returns the whole key, which exists nowhere else afterwards.
pub async fn issue_key(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    label: &str,
    now_us: i64,
) -> Result<String, TenantError> {
    if tenant(db, tenant_id).await?.is_none() {
        return Err(TenantError::NoTenant(tenant_id.to_string()));
    }
    let prefix = format!("mk_{}", crate::random::chars(PREFIX_RANDOM)?);
    let key = format!("{prefix}.{}", crate::random::chars(SECRET_CHARS)?);
    let stmt = Query::insert()
        .into_table(K::Table)
        .columns([K::Prefix, K::Tenant, K::Hash, K::Label, K::CreatedAtUs])
        .values_panic([prefix.into(), tenant_id.into(), hash(&key).into(), label.into(), now_us.into()])
        .to_owned();
    db.execute(&stmt).await.map_err(StoreError::from)?;
    Ok(key)
}

/// The keys of `tenant` (or of every tenant), newest first.
pub async fn keys(db: &impl ConnectionTrait, tenant_id: Option<&str>) -> Result<Vec<KeyInfo>, TenantError> {
    let mut q = Query::select();
    q.columns([K::Prefix, K::Tenant, K::Label, K::CreatedAtUs, K::RevokedAtUs]).from(K::Table);
    if let Some(t) = tenant_id {
        q.and_where(Expr::col(K::Tenant).eq(t));
    }
    q.order_by(K::CreatedAtUs, Order::Desc).order_by(K::Prefix, Order::Asc);
    let rows = db.query_all(&q).await.map_err(StoreError::from)?;
    rows.iter()
        .map(|r| {
            Ok(KeyInfo {
                prefix: get(r, "prefix")?,
                tenant: get(r, "tenant")?,
                label: get(r, "label")?,
                created_at_us: get(r, "created_at_us")?,
                revoked_at_us: get(r, "revoked_at_us")?,
            })
        })
        .collect()
}

/// Revokes the key with `prefix` (revoking twice keeps the first time).
pub async fn revoke_key(db: &impl ConnectionTrait, prefix: &str, now_us: i64) -> Result<(), TenantError> {
    let stmt = Query::update()
        .table(K::Table)
        .value(K::RevokedAtUs, now_us)
        .and_where(Expr::col(K::Prefix).eq(prefix))
        .and_where(Expr::col(K::RevokedAtUs).is_null())
        .to_owned();
    let changed = db.execute(&stmt).await.map_err(StoreError::from)?.rows_affected();
    if changed == 0 && !keys(db, None).await?.iter().any(|k| k.prefix == prefix) {
        return Err(TenantError::NoKey(prefix.to_string()));
    }
    Ok(())
}

/// One write as the audit log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// The tenant written to.
    pub tenant: String,
    /// Who: a key's prefix, or the operator's tool.
    pub actor: String,
    /// The operation.
    pub action: String,
    /// What it touched.
    pub target: String,
    /// The caller's request id ("" when none).
    pub request_id: String,
    /// When.
    pub at_us: i64,
}

/// Replaces `request_id` in `tenant`'s audit entries with `erased` (part of an erasure: a CRM's
/// request id often carries its reference to the firm).
pub async fn forget_request_id(
    db: &impl ConnectionTrait,
    tenant: &str,
    request_id: &str,
    erased: &str,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(L::Table)
        .value(L::RequestId, erased)
        .and_where(Expr::col(L::Tenant).eq(tenant))
        .and_where(Expr::col(L::RequestId).eq(request_id))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Records `entry` (in the caller's transaction, so that a write and its record stand or fall together).
pub async fn audit(db: &impl ConnectionTrait, entry: &AuditEntry) -> Result<(), StoreError> {
    audit_many(db, std::slice::from_ref(entry)).await
}

/// Records many entries in one statement (a batch of writes, in its transaction).
pub async fn audit_many(db: &impl ConnectionTrait, entries: &[AuditEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(L::Table).columns([L::Tenant, L::Actor, L::Action, L::Target, L::RequestId, L::AtUs]);
    for entry in entries {
        stmt.values_panic([
            entry.tenant.clone().into(),
            entry.actor.clone().into(),
            entry.action.clone().into(),
            entry.target.clone().into(),
            entry.request_id.clone().into(),
            entry.at_us.into(),
        ]);
    }
    db.execute(&stmt).await?;
    Ok(())
}

/// The audit log of `tenant`, oldest first.
pub async fn audit_log(db: &impl ConnectionTrait, tenant_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    let stmt = Query::select()
        .columns([L::Tenant, L::Actor, L::Action, L::Target, L::RequestId, L::AtUs])
        .from(L::Table)
        .and_where(Expr::col(L::Tenant).eq(tenant_id))
        .order_by(L::Id, Order::Asc)
        .to_owned();
    db.query_all(&stmt)
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                tenant: get(r, "tenant")?,
                actor: get(r, "actor")?,
                action: get(r, "action")?,
                target: get(r, "target")?,
                request_id: get(r, "request_id")?,
                at_us: get(r, "at_us")?,
            })
        })
        .collect()
}

/// Who a call is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the call acts for: the key's, or `x-tenant-id`'s under `--auth tenant-header`.
    pub tenant: String,
    /// The key's prefix.
    pub key_prefix: String,
}

/// Why a key was refused (the message never contains the key).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Not of the form `mk_....`.
    #[error("malformed API key")]
    Malformed,
    /// Unknown, wrong or revoked.
    #[error("invalid or revoked API key")]
    Invalid,
    /// The key store could not be read.
    #[error("the key store is unavailable")]
    Unavailable,
}

#[derive(Clone, Debug)]
struct Cached {
    hash: String,
    tenant: String,
    revoked: bool,
    read_at: Instant,
}

/// Checks API keys against the store, remembering what it read for `CACHE_TTL` (or the lifetime
/// set with `set_cache_ttl`).
#[derive(Clone, Debug)]
pub struct Keys {
    db: sea_orm::DatabaseConnection,
    cache: Arc<std::sync::Mutex<HashMap<String, Cached>>>,
    ttl_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Keys {
    /// Keys of the store `db`.
    pub fn new(db: sea_orm::DatabaseConnection) -> Keys {
        let ttl_ms = u64::try_from(CACHE_TTL.as_millis()).unwrap_or(u64::MAX);
        Keys {
            db,
            cache: Arc::new(std::sync::Mutex::new(HashMap::new())),
            ttl_ms: Arc::new(std::sync::atomic::AtomicU64::new(ttl_ms)),
        }
    }

    /// How long what was read about a key is trusted, for these keys and their clones (tests
    /// shorten it instead of waiting out `CACHE_TTL`).
    pub fn set_cache_ttl(&self, ttl: Duration) {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.ttl_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// The caller `key` identifies.
    pub async fn authenticate(&self, key: &str) -> Result<Caller, AuthError> {
        let prefix = key.get(..PREFIX_LEN).filter(|p| p.starts_with("mk_")).ok_or(AuthError::Malformed)?;
        if key.len() != PREFIX_LEN + 1 + SECRET_CHARS {
            return Err(AuthError::Malformed);
        }
        let ttl = Duration::from_millis(self.ttl_ms.load(std::sync::atomic::Ordering::Relaxed));
        let cached = self.cache.lock().ok().and_then(|c| c.get(prefix).cloned()).filter(|c| c.read_at.elapsed() < ttl);
        let entry = match cached {
            Some(c) => Some(c),
            None => {
                let stmt = Query::select()
                    .columns([K::Hash, K::Tenant, K::RevokedAtUs])
                    .from(K::Table)
                    .and_where(Expr::col(K::Prefix).eq(prefix))
                    .to_owned();
                let row = self.db.query_one(&stmt).await.map_err(|_| AuthError::Unavailable)?;
                let entry = match row {
                    Some(r) => Some(Cached {
                        hash: get(&r, "hash").map_err(|_| AuthError::Unavailable)?,
                        tenant: get(&r, "tenant").map_err(|_| AuthError::Unavailable)?,
                        revoked: get::<Option<i64>>(&r, "revoked_at_us").map_err(|_| AuthError::Unavailable)?.is_some(),
                        read_at: Instant::now(),
                    }),
                    None => None,
                };
                if let (Some(e), Ok(mut cache)) = (&entry, self.cache.lock()) {
                    cache.insert(prefix.to_string(), e.clone());
                }
                entry
            }
        };
        match entry {
            Some(e) if !e.revoked && same(&e.hash, &hash(key)) => {
                Ok(Caller { tenant: e.tenant, key_prefix: prefix.to_string() })
            }
            _ => Err(AuthError::Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_hashes_and_comparison() {
        assert!(valid_id("acme-consult_1") && !valid_id("") && !valid_id("a/b") && !valid_id(&"x".repeat(65)));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        assert_eq!(hash("x").len(), 64);
    }

    /// The comparison (`subtle`'s, which reads every byte whatever it finds) tells a hash from one
    /// that differs in any single position, first, last or between.
    #[test]
    fn the_key_comparison_finds_a_difference_at_any_position() {
        let stored = hash("mk_0123456789.abcdefghijklmnopqrstuvwxyz012345");
        for at in 0..=stored.len() {
            let mut guess = stored.clone().into_bytes();
            if let Some(b) = guess.get_mut(at) {
                *b = if *b == b'0' { b'1' } else { b'0' };
            }
            let guess = String::from_utf8(guess).unwrap();
            assert_eq!(same(&stored, &guess), at == stored.len(), "difference at {at}");
        }
    }
}
