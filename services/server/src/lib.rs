//! The server stack every gRPC server of the product runs on: the gRPC port with health,
//! reflection and the diagnostics echo (`server`), graceful shutdown with a drain deadline
//! (`shutdown`), the front door that gives each call a request id, sheds load and counts it
//! (`guard`), the JSON gateway that serves the same calls as JSON over HTTP (`gateway`), and the
//! operators' port.
//!
//! Each service crate builds its tonic services and hands them to `server::serve`; the all-in-one
//! `maturity` binary does the same with every service at once, and also opens the JSON gateway.

pub mod diagnostics;
pub mod gateway;
pub mod guard;
pub mod raw;
mod reading;
pub mod server;
pub mod shutdown;
