//! The OpenAPI 3.1 document of the JSON API, generated from the same descriptors that the gateway
//! (`http`) serves, so that the two cannot drift apart: one operation per public gRPC method,
//! one schema per message (the standard protobuf JSON mapping: lowerCamelCase names, 64-bit
//! integers as strings, enums by name, timestamps as RFC 3339, field masks as comma-separated paths), and the problem document.

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

/// Services callable without an API key (stateless).
const OPEN_SERVICES: [&str; 2] = ["maturity.v1.ScoringService", "maturity.v1.DiagnosticsService"];

fn reference(message: &MessageDescriptor) -> Value {
    match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.FieldMask" => {
            json!({"type": "string", "description": "field paths in lowerCamelCase, separated by commas"})
        }
        name => json!({"$ref": format!("#/components/schemas/{name}")}),
    }
}

fn scalar(kind: &Kind) -> Value {
    match kind {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({"type": "integer", "format": "int32"}),
        Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "format": "int32", "minimum": 0}),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": ["string", "integer"], "format": "int64"})
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Message(m) => reference(m),
        Kind::Enum(e) => {
            json!({"type": "string", "enum": e.values().map(|v| v.name().to_string()).collect::<Vec<_>>()})
        }
    }
}

fn field_schema(field: &FieldDescriptor) -> Value {
    if field.is_map()
        && let Kind::Message(entry) = field.kind()
    {
        let value = entry.map_entry_value_field();
        return json!({"type": "object", "additionalProperties": scalar(&value.kind())});
    }
    if field.is_list() {
        return json!({"type": "array", "items": scalar(&field.kind())});
    }
    scalar(&field.kind())
}

fn message_schema(message: &MessageDescriptor) -> Value {
    let mut properties = Map::new();
    for field in message.fields() {
        properties.insert(field.json_name().to_string(), field_schema(&field));
    }
    json!({"type": "object", "properties": properties, "additionalProperties": false})
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details, with the gRPC code, the ErrorInfo reason and domain, and the field violations.",
        "required": ["type", "title", "status", "code", "detail", "reason", "domain"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "The gRPC status code name, e.g. INVALID_ARGUMENT."},
            "detail": {"type": "string"},
            "reason": {"type": "string", "description": "Stable reason of the error (google.rpc.ErrorInfo), e.g. NOT_FOUND, UNAUTHENTICATED, RATE_LIMIT_EXCEEDED, SERVER_OVERLOADED, INVALID_REQUEST."},
            "domain": {"type": "string", "description": "Domain of the reason: maturity.v1."},
            "violations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "reason", "description", "message"],
                    "properties": {
                        "field": {"type": "string"},
                        "reason": {"type": "string"},
                        "description": {"type": "string"},
                        "message": {"type": "string"}
                    }
                }
            }
        }
    })
}

fn problem_response() -> Value {
    json!({"description": "An error.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn document_response() -> Value {
    json!({
        "description": "The chapter: a PDF/A-2b document, or its Typst source.",
        "headers": {
            "Content-Disposition": {"schema": {"type": "string"}},
            "X-Content-SHA256": {"schema": {"type": "string"}}
        },
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "text/vnd.typst": {"schema": {"type": "string"}}
        }
    })
}

/// The document of the gRPC `services` reachable over HTTP.
pub fn document(pool: &DescriptorPool, services: &[&str]) -> Value {
    let mut paths = Map::new();
    for &name in services {
        let Some(service) = pool.get_service_by_name(name) else { continue };
        let secured = !OPEN_SERVICES.contains(&name);
        for method in service.methods() {
            let mut operation = json!({
                "operationId": format!("{}_{}", service.name(), method.name()),
                "tags": [service.name()],
                "requestBody": {"required": false, "content": {"application/json": {"schema": reference(&method.input())}}},
                "responses": {
                    "200": if method.is_server_streaming() {
                        document_response()
                    } else {
                        json!({"description": "OK", "content": {"application/json": {"schema": reference(&method.output())}}})
                    },
                    "default": problem_response()
                }
            });
            if secured {
                operation["security"] = json!([{"bearerAuth": []}]);
            }
            if method.input().get_field_by_name("request_id").is_some() {
                operation["parameters"] = json!([{
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "The request_id of the call: a retry with the same key and body returns the first answer.",
                    "schema": {"type": "string", "maxLength": 128}
                }]);
            }
            paths.insert(format!("/v1/{}/{}", service.name(), method.name()), json!({"post": operation}));
        }
    }
    paths.insert(
        "/v1/assessments/{id}/chapter".into(),
        json!({"get": {
            "operationId": "DownloadChapter",
            "tags": ["ReportService"],
            "security": [{"bearerAuth": []}],
            "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
                {"name": "locale", "in": "query", "required": false, "schema": {"type": "string", "enum": ["nl", "en"]}},
                {"name": "format", "in": "query", "required": false, "schema": {"type": "string", "enum": ["pdf", "typ"]}}
            ],
            "responses": {"200": document_response(), "default": problem_response()}
        }}),
    );
    let mut schemas = Map::new();
    for message in pool.all_messages() {
        if message.package_name() == "maturity.v1" {
            schemas.insert(message.full_name().to_string(), message_schema(&message));
        }
    }
    schemas.insert("Problem".into(), problem_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Social maturity benchmark API (JSON over HTTP)",
            "version": "v1",
            "description": "Every public gRPC method of maturity.v1 with the standard protobuf JSON mapping. The same service code answers both; see docs/integration.md."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key issued with `maturity admin issue-key`."}}
        }
    })
}
