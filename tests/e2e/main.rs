//! End-to-end tests over the all-in-one server: what a stock gRPC client sees.

mod discovery;
