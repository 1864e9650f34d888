//! `maturity.v1.WebhookService` and the webhook dispatcher: a tenant's endpoints, events and
//! deliveries over the store's outbox (`store::webhooks`), under the rules of `domain-webhooks`.
//!
//! `service` is the gRPC adapter (every write audited); `dispatch` claims due deliveries with a
//! lease, POSTs them signed and records every attempt.

pub mod dispatch;
pub mod service;

pub use service::Webhooks;
