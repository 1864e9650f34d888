//! The OpenAPI 3.1 document of the JSON API, generated from the same descriptors that the gateway
//! (`http`) serves, so that the two cannot drift apart: one operation per annotated resource route
//! (`transcode`: path and query parameters, the body the rule names, ETag and 304 on reads), one
//! deprecated operation per compatibility route (`POST /v1/{Service}/{Method}`), one schema per
//! message (the standard protobuf JSON mapping: lowerCamelCase names, 64-bit integers as strings,
//! enums by name, timestamps as RFC 3339, field masks as comma-separated paths), and the problem
//! document. Descriptions are the proto files' comments (the descriptor set carries them);
//! `required` and `readOnly` come from `google.api.field_behavior`; a `oneof` is a JSON Schema
//! `oneOf`; the Dutch classifications (SBI sections, size classes, provinces) and the locales are
//! enumerated; objects are open (a field added later must not break a strict generated client).

use std::collections::HashMap;

use domain_model::classification::{Province, SbiSection, SizeClass};
use prost_reflect::{DescriptorPool, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value, json};

use crate::gateway::transcode::{Behavior, BodyRule, Route, behaviors, dotted_json, enum_query_values};

/// The comments of the proto files, by file and descriptor path.
struct Comments(HashMap<(String, Vec<i32>), String>);

impl Comments {
    fn new(pool: &DescriptorPool) -> Comments {
        let mut map = HashMap::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else { continue };
            for location in &info.location {
                let text = location.leading_comments.as_deref().or(location.trailing_comments.as_deref());
                if let Some(text) = text {
                    let text = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
                    if !text.is_empty() {
                        map.insert((file.name().to_string(), location.path.clone()), text);
                    }
                }
            }
        }
        Comments(map)
    }

    fn of(&self, file: &FileDescriptor, path: &[i32]) -> Option<&str> {
        self.0.get(&(file.name().to_string(), path.to_vec())).map(String::as_str)
    }
}

/// The codes a vocabulary field takes, when it is one of the Dutch classifications or a locale
/// (`""` where empty means any or the default).
fn vocabulary(message: &MessageDescriptor, field: &FieldDescriptor) -> Option<Vec<String>> {
    let any = message.name() == "PeerGroup";
    let mut codes: Vec<String> = match field.name() {
        "sbi_section" => SbiSection::ALL.iter().map(|c| c.code().to_string()).collect(),
        "size_class" => SizeClass::ALL.iter().map(|c| c.code().to_string()).collect(),
        "province" => Province::ALL.iter().map(|c| c.code().to_string()).collect(),
        "locale" if field.kind() == Kind::String => return Some(vec![String::new(), "nl".into(), "en".into()]),
        _ => return None,
    };
    if any {
        codes.insert(0, String::new());
    }
    Some(codes)
}

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
        Kind::Uint32 | Kind::Fixed32 => json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$", "description": "a 64-bit integer as a decimal string (proto3 JSON)"})
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "string", "pattern": "^[0-9]+$", "description": "an unsigned 64-bit integer as a decimal string (proto3 JSON)"})
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

fn message_schema(message: &MessageDescriptor, comments: &Comments) -> Value {
    let file = message.parent_file();
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in message.fields() {
        let mut schema = field_schema(&field);
        if let Some(codes) = vocabulary(message, &field) {
            schema["enum"] = json!(codes);
        }
        if let Some(text) = comments.of(&file, field.path()) {
            schema = match schema.get("$ref") {
                // A $ref beside other keywords is allowed in 3.1; the description is the field's.
                Some(_) => json!({"allOf": [schema], "description": text}),
                None => {
                    schema["description"] = json!(text);
                    schema
                }
            };
        }
        let behaviors = behaviors(&field);
        if behaviors.contains(&Behavior::Required) {
            required.push(json!(field.json_name()));
        }
        if behaviors.iter().any(|b| matches!(b, Behavior::OutputOnly | Behavior::Identifier)) {
            schema["readOnly"] = json!(true);
        }
        properties.insert(field.json_name().to_string(), schema);
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    if let Some(text) = comments.of(&file, message.path()) {
        schema["description"] = json!(text);
    }
    // A real oneof (not proto3 `optional`): exactly one of its fields is set.
    let choices: Vec<Value> = message
        .oneofs()
        .filter(|o| !o.is_synthetic())
        .map(|o| json!({"oneOf": o.fields().map(|f| json!({"required": [f.json_name()]})).collect::<Vec<_>>()}))
        .collect();
    match choices.len() {
        0 => {}
        1 => schema["oneOf"] = choices[0]["oneOf"].clone(),
        _ => schema["allOf"] = json!(choices),
    }
    schema
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details, with the gRPC code, the ErrorInfo reason and domain, and the field violations.",
        "required": ["type", "title", "status", "code", "detail", "reason", "domain"],
        "properties": {
            "type": {"type": "string", "description": "A URI naming the kind of problem: urn:maturity:problem: and the gRPC code in lower case, e.g. urn:maturity:problem:invalid_argument."},
            "title": {"type": "string", "description": "The HTTP status's reason phrase, e.g. Bad Request."},
            "status": {"type": "integer", "description": "The HTTP status code, the same as the response's."},
            "code": {"type": "string", "description": "The gRPC status code name, e.g. INVALID_ARGUMENT."},
            "detail": {"type": "string", "description": "What went wrong with this request, in English."},
            "reason": {"type": "string", "description": "Stable reason of the error (google.rpc.ErrorInfo), e.g. NOT_FOUND, UNAUTHENTICATED, RATE_LIMIT_EXCEEDED, SERVER_OVERLOADED, INVALID_REQUEST."},
            "domain": {"type": "string", "description": "Domain of the reason: maturity.v1."},
            "violations": {
                "type": "array",
                "description": "For INVALID_ARGUMENT: every field that is wrong, each with what to fix (the same as google.rpc.BadRequest over gRPC).",
                "items": {
                    "type": "object",
                    "required": ["field", "reason", "description", "message"],
                    "properties": {
                        "field": {"type": "string", "description": "The field's path in the request, e.g. answers[3].likert or firm.sbi_section."},
                        "reason": {"type": "string", "description": "A stable reason code, e.g. ANSWER_OFF_SCALE or UNKNOWN_SBI_SECTION."},
                        "description": {"type": "string", "description": "What is wrong and how to fix it, in English."},
                        "message": {"type": "string", "description": "The same in the request's language (locale: nl or en)."}
                    }
                }
            }
        }
    })
}

/// The `data` of each webhook event type, as its producers write it (`persistence` for
/// `assessment.scored`, `store::reports` for the other two; their tests compare with this).
pub fn event_data_schema(event_type: &str) -> Option<Value> {
    let id = json!({"type": "string", "pattern": "^[0-9]+$", "description": "The assessment's id (a 64-bit integer as a string)."});
    let external_ref = json!({"type": "string", "description": "Your CRM's reference of the firm, as submitted."});
    let night = json!({"type": "string", "format": "date", "description": "The night (UTC date) of the batch."});
    let data = match event_type {
        "assessment.scored" => json!({
            "type": "object",
            "required": ["assessmentId", "externalRef", "model", "maturityIndex", "completedAt"],
            "properties": {
                "assessmentId": id,
                "externalRef": external_ref,
                "model": {
                    "type": "object",
                    "required": ["id", "version"],
                    "properties": {"id": {"type": "string"}, "version": {"type": "integer", "minimum": 1}}
                },
                "maturityIndex": {"type": "number", "minimum": 0, "maximum": 100},
                "completedAt": {"type": "string", "format": "date-time"}
            }
        }),
        "chapter.ready" => json!({
            "type": "object",
            "required": ["assessmentId", "externalRef", "night", "locale", "download"],
            "properties": {
                "assessmentId": id,
                "externalRef": external_ref,
                "night": night,
                "locale": {"type": "string", "enum": ["nl", "en"]},
                "download": {"type": "string", "description": "The path to GET the chapter at (with your API key)."}
            }
        }),
        "batch.finished" => json!({
            "type": "object",
            "required": ["night", "rendered", "failed"],
            "properties": {
                "night": night,
                "rendered": {"type": "integer", "minimum": 0, "description": "Chapters written for you that night."},
                "failed": {"type": "integer", "minimum": 0, "description": "Assessments whose chapter failed for good."}
            }
        }),
        "invitation.opened" => json!({
            "type": "object",
            "required": ["invitationId", "openedAt"],
            "properties": {
                "invitationId": {"type": "string", "description": "The invitation (InvitationService.GetInvitation)."},
                "openedAt": {"type": "string", "format": "date-time"}
            }
        }),
        _ => return None,
    };
    Some(data)
}

/// The `webhooks` section: one POST per event type, its signed envelope and headers (Standard
/// Webhooks).
fn webhooks() -> Value {
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
    let mut out = Map::new();
    for (event_type, when) in [
        ("assessment.scored", "SubmitAssessment stored a new assessment."),
        ("chapter.ready", "The nightly batch wrote an assessment's chapter."),
        ("batch.finished", "A night's batch ended (one per tenant with work in it)."),
        ("invitation.opened", "The firm first visited the link of a questionnaire's invitation."),
    ] {
        let Some(data) = event_data_schema(event_type) else { continue };
        out.insert(
            event_type.to_string(),
            json!({"post": {
                "summary": when,
                "description": "Signed as the Standard Webhooks specification says: HMAC-SHA256 with the endpoint's secret over `{webhook-id}.{webhook-timestamp}.{body}` (docs/integration.md). Answer 2xx within 10 seconds; 410 disables the endpoint; 429 and 503 may carry Retry-After.",
                "parameters": [
                    header("webhook-id", "The event's id: the same on every retry and replay; de-duplicate by it."),
                    header("webhook-timestamp", "Seconds since the Unix epoch when this attempt was signed."),
                    header("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256>` signatures.")
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["type", "timestamp", "data"],
                    "properties": {
                        "type": {"type": "string", "const": event_type},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "data": data
                    }
                }}}},
                "responses": {"2XX": {"description": "Received."}}
            }}),
        );
    }
    Value::Object(out)
}

fn problem_response() -> Value {
    json!({"description": "An error.", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn document_response(method: &MethodDescriptor) -> Value {
    let (description, content) = if method.name() == "ExportReleases" {
        (
            "The file: the open figures as CSV or Parquet, or their data dictionary as CSV.",
            json!({
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}
            }),
        )
    } else {
        (
            "The chapter: a PDF/A-2b document, or its Typst source.",
            json!({
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/vnd.typst": {"schema": {"type": "string"}}
            }),
        )
    };
    let mut headers = json!({
        "Content-Disposition": {"description": "attachment, with a suggested file name.", "schema": {"type": "string"}},
        "X-Content-SHA256": {"description": "SHA-256 of the document, lower-case hex.", "schema": {"type": "string"}}
    });
    if method.name() == "RenderChapter" {
        headers["X-Chapter-Status"] = json!({
            "description": "archived: the chapter the nightly batch wrote and announced with chapter.ready, byte for byte; draft: no night has archived one in this language (or Typst source was asked for), so it was typeset now with today's date and peers.",
            "schema": {"type": "string", "enum": ["archived", "draft"]}
        });
        headers["X-Chapter-Night"] = json!({
            "description": "For an archived chapter: the night that wrote it (YYYY-MM-DD).",
            "schema": {"type": "string", "format": "date"}
        });
    }
    json!({"description": description, "headers": headers, "content": content})
}

/// The schema of a path variable or query parameter: the field's, with its vocabulary, and an
/// enum's short forms beside its names.
fn parameter_schema(field: &FieldDescriptor) -> Value {
    let item = match field.kind() {
        Kind::Enum(e) => json!({"type": "string", "enum": enum_query_values(&e)}),
        kind => {
            let mut schema = scalar(&kind);
            if let Some(codes) = vocabulary(field.parent_message(), field) {
                schema["enum"] = json!(codes);
            }
            schema
        }
    };
    if field.is_list() { json!({"type": "array", "items": item}) } else { item }
}

/// The OpenAPI name of a path variable: the field path with `_` for `.` (`model_id` for the
/// template's `{model.id}`), since generators take a dot in a path parameter for a mistake.
pub fn path_parameter(path: &[FieldDescriptor]) -> String {
    path.iter().map(FieldDescriptor::name).collect::<Vec<_>>().join("_")
}

/// An annotated template with the OpenAPI names of its variables.
fn openapi_path(route: &Route) -> String {
    let mut out = route.template.clone();
    for path in route.path_fields() {
        out = out.replace(
            &format!("{{{}}}", crate::gateway::transcode::dotted(path)),
            &format!("{{{}}}", path_parameter(path)),
        );
    }
    out
}

/// `SubmitAssessment` as `submitAssessment`.
fn operation_id(method: &MethodDescriptor) -> String {
    let name = method.name();
    name.chars().take(1).flat_map(char::to_lowercase).chain(name.chars().skip(1)).collect()
}

/// What every operation of `method` shares: summary, description, tag, security, the
/// Idempotency-Key header, and the answers.
fn operation_base(method: &MethodDescriptor, comments: &Comments, read: bool) -> Value {
    let service = method.parent_service();
    let ok = if method.is_server_streaming() {
        document_response(method)
    } else {
        json!({"description": "OK", "content": {"application/json": {"schema": reference(&method.output())}}})
    };
    let mut operation = json!({
        "summary": method.name(),
        "tags": [service.name()],
        "parameters": [],
        "responses": {"200": ok, "default": problem_response()}
    });
    if let Some(text) = comments.of(&method.parent_file(), method.path()) {
        operation["description"] = json!(text);
    }
    if !OPEN_SERVICES.contains(&service.full_name()) {
        operation["security"] = json!([{"bearerAuth": []}]);
    }
    if method.input().get_field_by_name("request_id").is_some() {
        operation["parameters"] = json!([{
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "The request_id of the call: a retry with the same key and body returns the first answer.",
            "schema": {"type": "string", "maxLength": 128}
        }]);
    }
    if read {
        // A document's tag is its content's hash: for an archived chapter a 304 reads and
        // typesets nothing.
        operation["responses"]["200"]["headers"]["ETag"] = json!({
            "description": "The representation's tag; send it back in If-None-Match to get 304 when nothing changed.",
            "schema": {"type": "string"}
        });
        operation["responses"]["304"] = json!({"description": "Not modified: the If-None-Match tag is still current."});
        if let Some(parameters) = operation["parameters"].as_array_mut() {
            parameters.push(json!({
                "name": "If-None-Match", "in": "header", "required": false,
                "description": "An ETag of an earlier answer.", "schema": {"type": "string"}
            }));
        }
    }
    operation
}

/// A request body to show for `method` (synthetic values; the contract test checks each against
/// its schema).
pub fn example(method: &str) -> Option<Value> {
    let firm = json!({"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"});
    let answers = json!([
        {"itemId": "e1.mentions_followed", "likert": 4},
        {"itemId": "e1.owner", "yes": true},
        {"itemId": "i2.guidelines", "dontKnow": true}
    ]);
    Some(match method {
        "ScoreAssessment" => json!({"firm": firm, "answers": answers, "locale": "en"}),
        "WhatIf" => json!({
            "assessment": {"firm": firm, "answers": answers, "locale": "en"},
            "changes": [{"itemId": "e2.response_time", "choice": "hour"}, {"itemId": "e2.house_style", "yes": true}]
        }),
        "SubmitAssessment" => json!({
            "requestId": "hubspot-deal-4711-v1",
            "externalRef": "hubspot-deal-4711",
            "firmName": "Bouwbedrijf Voorbeeld B.V. (synthetic)",
            "completedAt": "2026-11-20T14:00:00Z",
            "assessment": {"firm": firm, "answers": answers, "locale": "nl"}
        }),
        "CreateWebhookEndpoint" => json!({
            "url": "https://crm.example.nl/hooks/maturity",
            "description": "HubSpot production",
            "eventTypes": ["chapter.ready", "batch.finished"]
        }),
        "UpdateWebhookEndpoint" => json!({"url": "https://crm.example.nl/hooks/maturity-v2"}),
        "RotateWebhookSecret" => json!({"previousValidSeconds": 86400}),
        "ReplayWebhookEvent" => json!({"endpointId": "ep_Ab3dE5gH7kLm9PqR"}),
        "Echo" => json!({"payload": "aGFsbG8="}),
        _ => return None,
    })
}

/// The operation of one annotated route.
fn route_operation(route: &Route, comments: &Comments) -> Value {
    let method = &route.method;
    let input = method.input();
    let mut operation = operation_base(method, comments, route.verb == http::Method::GET);
    operation["operationId"] = json!(operation_id(method));
    let describe = |path: &[FieldDescriptor], schema: &mut Value| {
        if let Some(field) = path.last()
            && let Some(text) = comments.of(&field.parent_file(), field.path())
        {
            schema["description"] = json!(text);
        }
    };
    let mut parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
    for path in route.path_fields() {
        let Some(field) = path.last() else { continue };
        let mut parameter =
            json!({"name": path_parameter(path), "in": "path", "required": true, "schema": parameter_schema(field)});
        describe(path, &mut parameter);
        parameters.push(parameter);
    }
    for path in route.query_fields() {
        let Some(field) = path.last() else { continue };
        let required = path.len() == 1 && behaviors(field).contains(&Behavior::Required);
        let mut parameter =
            json!({"name": dotted_json(&path), "in": "query", "required": required, "schema": parameter_schema(field)});
        describe(&path, &mut parameter);
        parameters.push(parameter);
    }
    operation["parameters"] = json!(parameters);
    let body = match &route.body {
        BodyRule::Empty => None,
        BodyRule::Field(field) => Some(field_schema(field)),
        BodyRule::All => {
            let bound: Vec<&str> = route
                .path_fields()
                .filter(|p| p.len() == 1)
                .filter_map(|p| p.first())
                .map(FieldDescriptor::json_name)
                .collect();
            if bound.is_empty() {
                Some(reference(&input))
            } else {
                // The body without the fields the path carries.
                let mut schema = message_schema(&input, comments);
                if let Some(properties) = schema["properties"].as_object_mut() {
                    properties.retain(|name, _| !bound.contains(&name.as_str()));
                }
                if let Some(required) = schema["required"].as_array_mut() {
                    required.retain(|name| !bound.iter().any(|b| name == b));
                }
                Some(schema)
            }
        }
    };
    if let Some(schema) = body {
        let mut media = json!({"schema": schema});
        if let Some(example) = example(method.name()) {
            media["example"] = example;
        }
        operation["requestBody"] = json!({"required": true, "content": {"application/json": media}});
    }
    operation
}

/// The document of the gRPC `services` reachable over HTTP, with their annotated `routes`.
pub fn document(pool: &DescriptorPool, services: &[&str], routes: &[Route]) -> Value {
    let comments = Comments::new(pool);
    let mut paths = Map::new();
    let mut tags = Vec::new();
    for route in routes {
        let verb = route.verb.as_str().to_ascii_lowercase();
        let entry = paths.entry(openapi_path(route)).or_insert_with(|| json!({}));
        entry[verb] = route_operation(route, &comments);
    }
    for &name in services {
        let Some(service) = pool.get_service_by_name(name) else { continue };
        let file = service.parent_file();
        let mut tag = json!({"name": service.name()});
        if let Some(text) = comments.of(&file, service.path()) {
            tag["description"] = json!(text);
        }
        tags.push(tag);
        for method in service.methods() {
            let mut operation = operation_base(&method, &comments, false);
            operation["operationId"] = json!(format!("{}_{}", service.name(), method.name()));
            operation["deprecated"] = json!(true);
            let route = routes
                .iter()
                .find(|r| r.method.full_name() == method.full_name())
                .map(|r| format!(" Prefer `{} {}`.", r.verb, r.template));
            operation["summary"] =
                json!(format!("{} (the request as the body){}", method.name(), route.unwrap_or_default()));
            operation["requestBody"] =
                json!({"required": false, "content": {"application/json": {"schema": reference(&method.input())}}});
            paths.insert(format!("/v1/{}/{}", service.name(), method.name()), json!({"post": operation}));
        }
    }
    let mut schemas = Map::new();
    for message in pool.all_messages() {
        if message.package_name() == "maturity.v1" {
            schemas.insert(message.full_name().to_string(), message_schema(&message, &comments));
        }
    }
    schemas.insert("Problem".into(), problem_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Social maturity benchmark API (JSON over HTTP)",
            "version": "v1",
            "description": "Every public gRPC method of maturity.v1 with the standard protobuf JSON mapping, at the resource routes its google.api.http annotations declare (and, deprecated, at POST /v1/{Service}/{Method} with the request as the body). The same service code answers both; see docs/integration.md."
        },
        "servers": [{"url": "/", "description": "the server this document was fetched from"}],
        "tags": tags,
        "paths": paths,
        "webhooks": webhooks(),
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key issued with `maturity admin issue-key`."}}
        }
    })
}
