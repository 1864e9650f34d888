//! Hostile input over both protocols: garbage, truncated, oversized and deeply nested messages to
//! every public gRPC method, and malformed, non-UTF-8, deeply nested and wrongly typed JSON to the
//! gateway. Each is refused with an error status (never a dropped connection or a panic), and the
//! server answers normally afterwards.

use bytes::Bytes;
use prost::Message;
use prost_reflect::DescriptorPool;
use serde_json::json;
use services_server::raw;

use crate::http::{keys, post, request};
use test_support::spawn_app;

/// Messages no well-behaved client sends.
fn hostile_messages() -> Vec<(&'static str, Vec<u8>)> {
    let mut nested = Vec::new();
    // 200 levels of a length-delimited field 1 inside field 1: deeper than any decoder allows.
    for _ in 0..200 {
        let mut outer = vec![0x0a];
        prost::encoding::encode_varint(nested.len() as u64, &mut outer);
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    vec![
        ("garbage", vec![0xff; 64]),
        ("truncated length", vec![0x0a, 0xff, 0xff, 0xff, 0x0f]),
        ("bad wire type", vec![0x0f, 0x01]),
        ("invalid UTF-8 in strings", vec![0x0a, 0x02, 0xc3, 0x28, 0x12, 0x02, 0xff, 0xfe]),
        ("deeply nested", nested),
        ("oversized", vec![0x0a; 5 * 1024 * 1024]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_refused_and_the_server_carries_on() {
    let app = spawn_app().await;
    let (a, _) = keys(&app).await;
    let pool = DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = Vec::new();
    for service in services_server::gateway::http::PUBLIC_SERVICES {
        for m in pool.get_service_by_name(service).unwrap().methods() {
            methods.push(format!("/{service}/{}", m.name()));
        }
    }
    let mut tried = 0;
    let mut outcomes: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for path in &methods {
        for (what, bytes) in hostile_messages() {
            let mut call = tonic::Request::new(Bytes::from(bytes));
            call.metadata_mut().insert("authorization", format!("Bearer {a}").parse().unwrap());
            let mut grpc = tonic::client::Grpc::new(app.channel.clone());
            grpc.ready().await.unwrap();
            let path_q = http::uri::PathAndQuery::try_from(path.as_str()).unwrap();
            // Server-streaming and unary methods both answer a refusal as a status.
            let result = grpc.unary(call, path_q, raw::RawCodec).await;
            let outcome = result.as_ref().map_or_else(|s| format!("{:?}", s.code()), |_| "OK".to_string());
            // Only Echo, whose payload is opaque bytes, may take some of these as a valid message.
            assert!(outcome != "OK" || path.ends_with("/Echo"), "{path} accepted {what}");
            *outcomes.entry(outcome).or_default() += 1;
            if let Err(status) = result {
                assert!(
                    matches!(
                        status.code(),
                        tonic::Code::InvalidArgument
                            | tonic::Code::ResourceExhausted
                            | tonic::Code::OutOfRange
                            | tonic::Code::NotFound
                    ),
                    "{path} {what}: {status:?}"
                );
                assert!(!status.message().is_empty(), "{path} {what}: an error without a message");
            }
            tried += 1;
        }
    }
    assert!(tried >= 6 * 20, "{tried}");
    eprintln!("{tried} hostile gRPC messages to {} methods: {outcomes:?}", methods.len());
    // Still serving, on the same connection.
    let ok = raw::call(app.channel.clone(), "/maturity.v1.ScoringService/ListModels", Bytes::new()).await.unwrap();
    assert!(!services_api::v1::ListModelsResponse::decode(ok).unwrap().models.is_empty());

    // The gateway: every bad body is a 400 problem document.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{\"externalRef\": ".to_vec()),
        ("non-UTF-8", vec![b'{', b'"', 0xc3, 0x28, b'"', b':', b'1', b'}']),
        ("deeply nested", deep.into_bytes()),
        ("wrong types", json!({"externalRef": 5, "assessment": "everything"}).to_string().into_bytes()),
        ("unknown field", json!({"whoAmI": true}).to_string().into_bytes()),
        ("an array", b"[1, 2, 3]".to_vec()),
        (
            "a control character in a name",
            json!({"requestId": "x", "externalRef": "y", "firmName": "a\u{0}b"}).to_string().into_bytes(),
        ),
    ];
    for (what, body) in cases {
        let auth = format!("Bearer {a}");
        let reply = tokio::task::block_in_place(|| {
            request(&app, "POST", "/v1/PersistenceService/SubmitAssessment", &[("Authorization", auth.as_str())], &body)
        });
        assert_eq!(reply.status, 400, "{what}: {}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.content_type, "application/problem+json", "{what}");
        assert!(reply.json()["violations"].as_array().is_some_and(|v| !v.is_empty()), "{what}: {}", reply.json());
    }
    let reply = tokio::task::block_in_place(|| post(&app, "ScoringService/ListModels", None, &json!({})));
    assert_eq!(reply.status, 200);
}
