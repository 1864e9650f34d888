//! Any stock client can discover the API: reflection lists every service and serves their
//! descriptors, and health reports each one.

use prost::Message;
use services_server::gateway::http::PUBLIC_SERVICES;
use test_support::spawn_app;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

async fn reflect(channel: tonic::transport::Channel, request: MessageRequest) -> ServerReflectionResponse {
    let mut client = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest { host: String::new(), message_request: Some(request) };
    let mut stream = client.server_reflection_info(tokio_stream::iter([req])).await.unwrap().into_inner();
    stream.next().await.unwrap().unwrap()
}

#[tokio::test]
async fn reflection_lists_and_describes_every_service() {
    let app = spawn_app().await;
    let resp = reflect(app.channel.clone(), MessageRequest::ListServices(String::new())).await;
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else { panic!("{resp:?}") };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in PUBLIC_SERVICES.into_iter().chain(["grpc.health.v1.Health"]) {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }

    // Every service listed is described, with the methods the API defines.
    let pool = prost_reflect::DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET).unwrap();
    let ours: Vec<&String> = names.iter().filter(|n| n.starts_with("maturity.v1.")).collect();
    assert_eq!(ours.len(), 7, "{names:?}");
    for name in ours {
        let resp = reflect(app.channel.clone(), MessageRequest::FileContainingSymbol(name.clone())).await;
        let Some(MessageResponse::FileDescriptorResponse(files)) = resp.message_response else { panic!("{resp:?}") };
        let short = name.trim_start_matches("maturity.v1.");
        let described = files
            .file_descriptor_proto
            .iter()
            .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).unwrap())
            .find_map(|f| f.service.into_iter().find(|s| s.name() == short))
            .unwrap_or_else(|| panic!("reflection does not describe {name}"));
        let served: Vec<String> = described.method.iter().map(|m| m.name().to_string()).collect();
        let defined: Vec<String> =
            pool.get_service_by_name(name).unwrap().methods().map(|m| m.name().to_string()).collect();
        assert_eq!(served, defined, "{name}");
    }

    let resp =
        reflect(app.channel.clone(), MessageRequest::FileContainingSymbol("maturity.v1.ScoringService".into())).await;
    let Some(MessageResponse::FileDescriptorResponse(files)) = resp.message_response else { panic!("{resp:?}") };
    let files: Vec<prost_types::FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|b| prost_types::FileDescriptorProto::decode(b.as_slice()).unwrap())
        .collect();
    let scoring = files.iter().find(|f| f.name() == "maturity/v1/scoring.proto").expect("scoring.proto");
    let methods: Vec<&str> = scoring.service[0].method.iter().map(|m| m.name()).collect();
    assert_eq!(methods, ["ListModels", "GetModel", "ScoreAssessment", "WhatIf"]);
    // Imports are served by name, so a client can build every message type.
    assert!(scoring.dependency.iter().any(|d| d == "maturity/v1/common.proto"), "{:?}", scoring.dependency);
    let resp = reflect(app.channel.clone(), MessageRequest::FileByFilename("maturity/v1/common.proto".into())).await;
    let Some(MessageResponse::FileDescriptorResponse(common)) = resp.message_response else { panic!("{resp:?}") };
    let common = prost_types::FileDescriptorProto::decode(common.file_descriptor_proto[0].as_slice()).unwrap();
    assert!(common.message_type.iter().any(|m| m.name() == "FirmAttributes"));
}

#[tokio::test]
async fn health_reports_every_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [""].into_iter().chain(PUBLIC_SERVICES) {
        let status = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status;
        assert_eq!(status, 1, "`{service}` is not SERVING");
    }
    let unknown = health.check(HealthCheckRequest { service: "maturity.v1.Nope".into() }).await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}
