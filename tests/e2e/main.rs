//! End-to-end tests over the all-in-one server: what a stock gRPC client sees.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod archive;
mod attacker;
mod careful;
mod discovery;
mod erasure;
mod hostile;
mod http;
mod operations;
mod paging;
mod questionnaire;
mod replicas;
mod webhooks;
mod what_if;
