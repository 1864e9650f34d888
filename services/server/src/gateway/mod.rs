//! The JSON gateway: every public gRPC call also served as JSON over HTTP, in the standard
//! protobuf JSON mapping, at the REST routes its `google.api.http` annotation names
//! (`transcode`), described by an OpenAPI document built from the same descriptors (`openapi`);
//! `http` is the HTTP port itself (routing, error bodies, the operators' routes).

pub mod http;
pub mod openapi;
pub mod transcode;
