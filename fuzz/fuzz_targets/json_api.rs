//! The JSON API's decoding: any body for any public method (the first byte chooses it) is either
//! a message of the method's input type, whose protobuf encoding decodes and encodes to the same bytes, or
//! a refusal with a message (a 400 problem document at the gateway); never a panic, never a hang
//! (serde_json's recursion limit bounds nesting). An accepted body also survives JSON: the message
//! written back as the API writes JSON decodes to the same message (so what the API answers, a
//! client can send back).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};

static METHODS: LazyLock<Vec<MethodDescriptor>> = LazyLock::new(|| {
    let pool = DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET)
        .unwrap_or_else(|e| panic!("the API's descriptors do not decode: {e}"));
    services_server::gateway::http::PUBLIC_SERVICES
        .iter()
        .filter_map(|s| pool.get_service_by_name(s))
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    let method = &METHODS[usize::from(which) % METHODS.len()];
    match services_server::gateway::http::decode_body(method, body) {
        Ok(message) => {
            let bytes = message.encode_to_vec();
            let again = DynamicMessage::decode(method.input(), bytes.as_slice())
                .unwrap_or_else(|e| panic!("a decoded body does not survive protobuf: {e}"));
            // Compared as wire bytes: a default value set explicitly in JSON (`"requestId": ""`)
            // is, as proto3 says, not on the wire, so the messages differ only in that.
            assert_eq!(again.encode_to_vec(), bytes);
            let written =
                serde_json::to_vec(&message).unwrap_or_else(|e| panic!("an accepted body cannot be written: {e}"));
            let read = services_server::gateway::http::decode_body(method, &written).unwrap_or_else(|e| {
                panic!("the API's own JSON is refused: {e}: {}", String::from_utf8_lossy(&written))
            });
            assert_eq!(read.encode_to_vec(), bytes, "{}", String::from_utf8_lossy(&written));
        }
        Err(e) => assert!(!e.is_empty()),
    }
});
