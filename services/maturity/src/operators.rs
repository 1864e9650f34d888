//! Tenants and API keys over HTTP for operators, on the operators' port (`admin_addr`) beside
//! `/metrics`, `/livez` and `/readyz`: what `maturity admin` does, for deployments where no
//! operator has a shell on a machine that reaches the database. Every call carries the operator
//! token (`operator_token_file`) as `Authorization: Bearer ...`; without a configured token the
//! routes are not there. Answers are JSON; refusals are problem documents (RFC 9457).
//!
//! - `GET /admin/v1/tenants`: the tenants;
//! - `POST /admin/v1/tenants` `{"id", "name"}`: create one (201; 409 when it exists);
//! - `GET /admin/v1/keys[?tenant=ID]`: the keys (their prefixes, never the keys);
//! - `POST /admin/v1/tenants/{id}/keys` `{"label"}`: issue a key, shown once (201);
//! - `DELETE /admin/v1/keys/{prefix}`: revoke a key (effective within 5 seconds on every server).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use configuration::layers::Secret;
use serde_json::{Value, json};
use store::tenants::{self, TenantError};

/// Shortest operator token accepted: a guessable one would open every tenant's keys.
pub const MIN_TOKEN_CHARS: usize = 32;

#[derive(Clone)]
struct Operators {
    db: store::DatabaseConnection,
    token: Arc<Secret<String>>,
}

/// The routes, for the operators' port, answering callers that present `token`.
pub fn router(db: store::DatabaseConnection, token: Secret<String>) -> axum::Router {
    axum::Router::new()
        .route("/admin/v1/tenants", get(list_tenants).post(create_tenant))
        .route("/admin/v1/tenants/{id}/keys", post(issue_key))
        .route("/admin/v1/keys", get(list_keys))
        .route("/admin/v1/keys/{prefix}", delete(revoke_key))
        .with_state(Operators { db, token: Arc::new(token) })
}

/// Reads an operator token from `path`: its first line, at least `MIN_TOKEN_CHARS` long.
pub fn read_token(path: &std::path::Path) -> anyhow::Result<Secret<String>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the operator token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_string();
    if token.chars().count() < MIN_TOKEN_CHARS {
        anyhow::bail!(
            "the operator token in {} is shorter than {MIN_TOKEN_CHARS} characters (make one with `head -c 32 /dev/urandom | base64`)",
            path.display()
        );
    }
    Ok(Secret::new(token))
}

fn problem(status: StatusCode, reason: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("urn:maturity:problem:{}", reason.to_ascii_lowercase()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "reason": reason,
        "detail": detail,
    });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn answer(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// Whether the call presents the operator token (compared in constant time); the refusal if not.
fn authorised(ops: &Operators, headers: &HeaderMap) -> Result<(), Box<Response>> {
    use subtle::ConstantTimeEq;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    let expected = ops.token.expose().as_bytes();
    if given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(Box::new(problem(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send the operator token as Authorization: Bearer TOKEN",
        )))
    }
}

fn refused(e: &TenantError) -> Response {
    match e {
        TenantError::InvalidId(_) => problem(StatusCode::BAD_REQUEST, "INVALID_TENANT_ID", &e.to_string()),
        TenantError::Exists(_) => problem(StatusCode::CONFLICT, "TENANT_EXISTS", &e.to_string()),
        TenantError::NoTenant(_) | TenantError::NoKey(_) => problem(StatusCode::NOT_FOUND, "NOT_FOUND", &e.to_string()),
        TenantError::Store(_) | TenantError::Random(_) => {
            tracing::error!(error = %e, "an operator's call failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "the database is unavailable; retry later")
        }
    }
}

fn date_time(us: i64) -> String {
    let (y, m, d) = store::time::date_of(us);
    let secs = us.div_euclid(1_000_000).rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The JSON body as an object with string fields `fields` (`required` ones must be there).
fn body(bytes: &Bytes, required: &[&str], optional: &[&str]) -> Result<Vec<String>, Box<Response>> {
    let value: Value = serde_json::from_slice(if bytes.is_empty() { b"{}" } else { bytes }).map_err(|e| {
        Box::new(problem(StatusCode::BAD_REQUEST, "MALFORMED_JSON", &format!("the body is not JSON: {e}")))
    })?;
    let Some(object) = value.as_object() else {
        return Err(Box::new(problem(StatusCode::BAD_REQUEST, "MALFORMED_JSON", "the body must be a JSON object")));
    };
    if let Some(unknown) = object.keys().find(|k| !required.contains(&k.as_str()) && !optional.contains(&k.as_str())) {
        return Err(Box::new(problem(StatusCode::BAD_REQUEST, "UNKNOWN_FIELD", &format!("unknown field `{unknown}`"))));
    }
    let mut out = Vec::new();
    for name in required.iter().chain(optional) {
        match object.get(*name) {
            Some(Value::String(s)) => out.push(s.clone()),
            None if optional.contains(name) => out.push(String::new()),
            None => {
                return Err(Box::new(problem(
                    StatusCode::BAD_REQUEST,
                    "MISSING_FIELD",
                    &format!("`{name}` is required"),
                )));
            }
            Some(_) => {
                return Err(Box::new(problem(
                    StatusCode::BAD_REQUEST,
                    "NOT_A_STRING",
                    &format!("`{name}` must be a string"),
                )));
            }
        }
    }
    Ok(out)
}

async fn list_tenants(State(ops): State<Operators>, headers: HeaderMap) -> Response {
    if let Err(r) = authorised(&ops, &headers) {
        return *r;
    }
    match tenants::tenants(&ops.db).await {
        Ok(list) => {
            let rows: Vec<Value> = list
                .iter()
                .map(|t| json!({"id": t.id, "name": t.name, "createdAt": date_time(t.created_at_us)}))
                .collect();
            answer(StatusCode::OK, &json!({ "tenants": rows }))
        }
        Err(e) => refused(&e),
    }
}

async fn create_tenant(State(ops): State<Operators>, headers: HeaderMap, bytes: Bytes) -> Response {
    if let Err(r) = authorised(&ops, &headers) {
        return *r;
    }
    let fields = match body(&bytes, &["id", "name"], &[]) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let (id, name) = (&fields[0], &fields[1]);
    if name.trim().is_empty() {
        return problem(StatusCode::BAD_REQUEST, "MISSING_FIELD", "`name` must not be empty");
    }
    match tenants::create_tenant(&ops.db, id, name, store::time::now_us()).await {
        Ok(()) => {
            tracing::info!(tenant = %id, "an operator created a tenant");
            answer(StatusCode::CREATED, &json!({"id": id, "name": name}))
        }
        Err(e) => refused(&e),
    }
}

#[derive(serde::Deserialize)]
struct KeysQuery {
    tenant: Option<String>,
}

async fn list_keys(State(ops): State<Operators>, headers: HeaderMap, Query(q): Query<KeysQuery>) -> Response {
    if let Err(r) = authorised(&ops, &headers) {
        return *r;
    }
    match tenants::keys(&ops.db, q.tenant.as_deref()).await {
        Ok(list) => {
            let rows: Vec<Value> = list
                .iter()
                .map(|k| {
                    json!({
                        "prefix": k.prefix,
                        "tenant": k.tenant,
                        "label": k.label,
                        "createdAt": date_time(k.created_at_us),
                        "revokedAt": k.revoked_at_us.map(date_time),
                    })
                })
                .collect();
            answer(StatusCode::OK, &json!({ "keys": rows }))
        }
        Err(e) => refused(&e),
    }
}

async fn issue_key(State(ops): State<Operators>, headers: HeaderMap, Path(id): Path<String>, bytes: Bytes) -> Response {
    if let Err(r) = authorised(&ops, &headers) {
        return *r;
    }
    let fields = match body(&bytes, &[], &["label"]) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match tenants::issue_key(&ops.db, &id, &fields[0], store::time::now_us()).await {
        Ok(key) => {
            // The public part before the dot, as listings show it.
            let prefix = key.split('.').next().unwrap_or_default().to_string();
            tracing::info!(tenant = %id, prefix = %prefix, "an operator issued an API key");
            answer(StatusCode::CREATED, &json!({"tenant": id, "key": key, "prefix": prefix}))
        }
        Err(e) => refused(&e),
    }
}

async fn revoke_key(State(ops): State<Operators>, headers: HeaderMap, Path(prefix): Path<String>) -> Response {
    if let Err(r) = authorised(&ops, &headers) {
        return *r;
    }
    match tenants::revoke_key(&ops.db, &prefix, store::time::now_us()).await {
        Ok(()) => {
            tracing::info!(prefix = %prefix, "an operator revoked an API key");
            answer(StatusCode::OK, &json!({"prefix": prefix, "revoked": true}))
        }
        Err(e) => refused(&e),
    }
}
