//! gRPC transcoding, as the `google.api.http` convention defines it: the HTTP routes that the
//! public methods' annotations declare (read from the descriptors at start, so that the protos
//! are the one place a route is written), and the request message built from a route's path
//! variables, query string and body. The gateway (`http`) hands that message to the gRPC service
//! in-process; the OpenAPI document (`openapi`) describes the same routes.
//!
//! What the templates may use: literal segments, `{field}` and `{field.sub}` variables (one
//! segment each, `{field=*}` alike) and a final `:verb`. Fields not bound by the path come from
//! the body (`body: "*"`: every other field; `body: "field"`: that one) or, without a body, from
//! the query string, by proto or JSON name, nested ones dotted (`group.sbiSection=J`), repeated
//! ones by repeating the key. Enum values are their full names, numbers, or the short lower-case
//! form (`format=pdf` for `CHAPTER_FORMAT_PDF`).

use std::borrow::Cow;

use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value};

/// The extension that carries a method's HTTP rule.
pub const HTTP_EXTENSION: &str = "google.api.http";
/// The extension that carries a field's behaviors (AIP-203).
pub const FIELD_BEHAVIOR_EXTENSION: &str = "google.api.field_behavior";

/// Short enum forms that older routes used, kept working: (enum, value given, value meant).
const ENUM_ALIASES: [(&str, &str, &str); 1] = [("maturity.v1.ChapterFormat", "typ", "CHAPTER_FORMAT_TYPST")];

/// A field's behavior (AIP-203), as far as the gateway and the OpenAPI document use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// A request without it is refused.
    Required,
    /// Set by the server only.
    OutputOnly,
    /// The resource's identifier.
    Identifier,
}

/// The behaviors annotated on `field`.
pub fn behaviors(field: &FieldDescriptor) -> Vec<Behavior> {
    let Some(extension) = field.parent_pool().get_extension_by_name(FIELD_BEHAVIOR_EXTENSION) else {
        return Vec::new();
    };
    let options = field.options();
    if !options.has_extension(&extension) {
        return Vec::new();
    }
    let value = options.get_extension(&extension);
    let numbers: Vec<i32> = match value.as_ref() {
        prost_reflect::Value::List(items) => items.iter().filter_map(prost_reflect::Value::as_enum_number).collect(),
        other => other.as_enum_number().into_iter().collect(),
    };
    numbers
        .into_iter()
        .filter_map(|n| match n {
            2 => Some(Behavior::Required),
            3 => Some(Behavior::OutputOnly),
            8 => Some(Behavior::Identifier),
            _ => None,
        })
        .collect()
}

/// What the HTTP body of a route carries.
#[derive(Clone, Debug)]
pub enum BodyRule {
    /// No body: every field not in the path comes from the query string.
    Empty,
    /// Every field not bound by the path.
    All,
    /// This field alone; the others not in the path come from the query string.
    Field(FieldDescriptor),
}

#[derive(Clone, Debug)]
enum Segment {
    Literal(String),
    Variable(Vec<FieldDescriptor>),
}

/// One annotated route of a public method.
#[derive(Clone, Debug)]
pub struct Route {
    /// The gRPC method behind it.
    pub method: MethodDescriptor,
    /// The HTTP method.
    pub verb: http::Method,
    /// The path template as annotated, for example `/v1/webhookEndpoints/{id}:rotateSecret`.
    pub template: String,
    segments: Vec<Segment>,
    custom_verb: Option<String>,
    /// What the body carries.
    pub body: BodyRule,
}

/// Why a request does not fit its route: the field (proto path, or the query parameter), a stable
/// reason and what is wrong, in English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The field or parameter.
    pub field: String,
    /// Stable SCREAMING_SNAKE_CASE reason.
    pub reason: &'static str,
    /// What is wrong.
    pub text: String,
}

fn refuse(field: impl Into<String>, reason: &'static str, text: impl Into<String>) -> Refusal {
    Refusal { field: field.into(), reason, text: text.into() }
}

/// A field path as a dotted proto path (as in messages and path templates).
pub fn dotted(path: &[FieldDescriptor]) -> String {
    path.iter().map(FieldDescriptor::name).collect::<Vec<_>>().join(".")
}

/// A field path as a dotted JSON path (the query parameter's documented name).
pub fn dotted_json(path: &[FieldDescriptor]) -> String {
    path.iter().map(FieldDescriptor::json_name).collect::<Vec<_>>().join(".")
}

/// Whether a field can be given as one text (a scalar, an enum, or a message whose JSON form is a
/// string).
fn textual(field: &FieldDescriptor) -> bool {
    match field.kind() {
        Kind::Message(m) => {
            matches!(
                m.full_name(),
                "google.protobuf.Timestamp" | "google.protobuf.Duration" | "google.protobuf.FieldMask"
            )
        }
        _ => !field.is_map(),
    }
}

/// Resolves `names` (proto or JSON names) in `message`: every step but the last a singular message.
fn resolve<'a>(message: &MessageDescriptor, names: impl Iterator<Item = &'a str>) -> Option<Vec<FieldDescriptor>> {
    let mut path: Vec<FieldDescriptor> = Vec::new();
    let mut current = message.clone();
    for name in names {
        if let Some(last) = path.last() {
            match last.kind() {
                Kind::Message(m) if !last.is_list() && !last.is_map() => current = m,
                _ => return None,
            }
        }
        let field = current.get_field_by_name(name).or_else(|| current.get_field_by_json_name(name))?;
        path.push(field);
    }
    (!path.is_empty()).then_some(path)
}

impl Route {
    fn parse(method: &MethodDescriptor, verb: http::Method, template: &str, body: &str) -> Result<Route, String> {
        let at = |what: String| format!("{} ({verb} {template}): {what}", method.full_name());
        let input = method.input();
        let rest = template.strip_prefix('/').ok_or_else(|| at("a template starts with /".into()))?;
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (rest, custom_verb) = match rest[last_slash..].rfind(':') {
            Some(i) if !rest[last_slash + i..].contains('}') => {
                (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string()))
            }
            _ => (rest, None),
        };
        let mut segments = Vec::new();
        for text in rest.split('/') {
            if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                let name = inner.strip_suffix("=*").unwrap_or(inner);
                let path = resolve(&input, name.split('.')).ok_or_else(|| at(format!("no field `{name}`")))?;
                let field = path.last().ok_or_else(|| at("an empty variable".into()))?;
                if field.is_list() || !textual(field) {
                    return Err(at(format!("`{name}` is not a single value")));
                }
                segments.push(Segment::Variable(path));
            } else if text.is_empty() || text.contains(['{', '}', '*', '=']) {
                return Err(at(format!("unsupported segment `{text}`")));
            } else {
                segments.push(Segment::Literal(text.to_string()));
            }
        }
        let body = match body {
            "" => BodyRule::Empty,
            "*" => BodyRule::All,
            name => {
                BodyRule::Field(input.get_field_by_name(name).ok_or_else(|| at(format!("no body field `{name}`")))?)
            }
        };
        Ok(Route { method: method.clone(), verb, template: template.to_string(), segments, custom_verb, body })
    }

    /// The fields the path binds.
    pub fn path_fields(&self) -> impl Iterator<Item = &[FieldDescriptor]> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Variable(path) => Some(path.as_slice()),
            Segment::Literal(_) => None,
        })
    }

    /// Whether `path` (a field path) is bound by the route's path or lies under its body field.
    fn bound(&self, path: &[FieldDescriptor]) -> bool {
        let by_path = self.path_fields().any(|p| p.len() <= path.len() && p.iter().zip(path).all(|(a, b)| a == b));
        let by_body = match &self.body {
            BodyRule::All => true,
            BodyRule::Field(f) => path.first() == Some(f),
            BodyRule::Empty => false,
        };
        by_path || by_body
    }

    /// The fields the query string may set, with their dotted paths: every single-text field of
    /// the input not bound by the path or the body, nested messages flattened.
    pub fn query_fields(&self) -> Vec<Vec<FieldDescriptor>> {
        fn walk(
            route: &Route,
            message: &MessageDescriptor,
            prefix: &[FieldDescriptor],
            out: &mut Vec<Vec<FieldDescriptor>>,
        ) {
            for field in message.fields() {
                let mut path = prefix.to_vec();
                path.push(field.clone());
                if route.bound(&path) || prefix.len() > 3 {
                    continue;
                }
                match field.kind() {
                    Kind::Message(m) if !textual(&field) && !field.is_list() && !field.is_map() => {
                        walk(route, &m, &path, out);
                    }
                    _ if textual(&field) => out.push(path),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &self.method.input(), &[], &mut out);
        out
    }

    /// The path variables of `path` when it fits the template.
    fn bind(&self, path: &str) -> Option<Vec<(usize, String)>> {
        let rest = path.strip_prefix('/')?;
        let rest = match &self.custom_verb {
            Some(verb) => rest.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => rest,
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut values = Vec::new();
        for (i, (part, segment)) in parts.iter().zip(&self.segments).enumerate() {
            match segment {
                Segment::Literal(text) if text == part => {}
                Segment::Literal(_) => return None,
                Segment::Variable(_) if part.is_empty() => return None,
                Segment::Variable(_) => {
                    let value = percent_encoding::percent_decode_str(part).decode_utf8().ok()?;
                    values.push((i, value.into_owned()));
                }
            }
        }
        Some(values)
    }

    /// The request message of a call on this route: `bindings` from `find`, the raw query string
    /// and the body.
    pub fn request(&self, bindings: &Bindings, query: &str, body: &[u8]) -> Result<DynamicMessage, Refusal> {
        let input = self.method.input();
        let blank = body.iter().all(u8::is_ascii_whitespace);
        let mut root = match &self.body {
            BodyRule::All if blank => Map::new(),
            BodyRule::All => match parse_json(body)? {
                Value::Object(map) => map,
                _ => return Err(refuse("", "MALFORMED_JSON", "the body must be a JSON object")),
            },
            BodyRule::Field(field) => {
                let mut map = Map::new();
                if !blank {
                    map.insert(field.json_name().to_string(), parse_json(body)?);
                }
                map
            }
            BodyRule::Empty if blank => Map::new(),
            BodyRule::Empty => {
                return Err(refuse(
                    "",
                    "UNEXPECTED_BODY",
                    "this route takes no body: its fields go in the path and the query string",
                ));
            }
        };
        for (index, text) in &bindings.0 {
            let Some(Segment::Variable(path)) = self.segments.get(*index) else { continue };
            let value = text_value(path, text)?;
            set(&mut root, path, value, Setting::FromPath)?;
        }
        for (key, text) in form_urlencoded::parse(query.as_bytes()) {
            let path = resolve(&input, key.split('.'))
                .filter(|p| p.last().is_some_and(textual))
                .ok_or_else(|| refuse(key.as_ref(), "UNKNOWN_PARAMETER", format!("no query parameter `{key}`")))?;
            if self.bound(&path) {
                let text = format!("`{key}` is not a query parameter of this route: it goes in the path or the body");
                return Err(refuse(key.as_ref(), "UNKNOWN_PARAMETER", text));
            }
            let value = text_value(&path, &text)?;
            set(&mut root, &path, value, Setting::FromQuery)?;
        }
        masks_in_json_spelling(&input, &mut root);
        DynamicMessage::deserialize(input.clone(), Value::Object(root))
            .map_err(|e| refuse("", "MALFORMED_JSON", format!("the request is not a valid {}: {e}", input.name())))
    }
}

/// Gives every update mask in `map` (a JSON object of `message`) its paths in the JSON spelling.
/// The protobuf JSON mapping writes a `FieldMask`'s paths in lowerCamelCase and refuses
/// `event_types`, the field's proto name, which the API's own messages use; a client may write
/// either.
pub fn masks_in_json_spelling(message: &MessageDescriptor, map: &mut Map<String, Value>) {
    for (key, value) in map.iter_mut() {
        let Some(field) = message.get_field_by_json_name(key).or_else(|| message.get_field_by_name(key)) else {
            continue;
        };
        match (field.kind(), value) {
            (Kind::Message(m), Value::String(paths)) if m.full_name() == "google.protobuf.FieldMask" => {
                *paths = paths.split(',').map(lower_camel).collect::<Vec<_>>().join(",");
            }
            (Kind::Message(m), Value::Object(inner)) if !field.is_map() => masks_in_json_spelling(&m, inner),
            _ => {}
        }
    }
}

/// Whether `message` holds an update mask, at any depth.
pub fn has_field_mask(message: &MessageDescriptor) -> bool {
    fn holds(m: &MessageDescriptor, seen: &mut Vec<MessageDescriptor>) -> bool {
        if m.full_name() == "google.protobuf.FieldMask" {
            return true;
        }
        if seen.contains(m) {
            return false;
        }
        seen.push(m.clone());
        m.fields().any(|f| matches!(f.kind(), Kind::Message(inner) if holds(&inner, seen)))
    }
    holds(message, &mut Vec::new())
}

/// A field path's proto spelling (`event_types`, `endpoint.event_types`) in lowerCamelCase; any
/// other text as it is, for the JSON mapping to judge.
fn lower_camel(path: &str) -> Cow<'_, str> {
    let snake = |part: &str| {
        part.split('_').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    };
    if !path.contains('_') || !path.split('.').all(snake) {
        return Cow::Borrowed(path);
    }
    let parts: Vec<String> = path
        .split('.')
        .map(|part| {
            let mut words = part.split('_');
            let mut out = words.next().unwrap_or_default().to_string();
            for w in words {
                let mut chars = w.chars();
                out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                out.push_str(chars.as_str());
            }
            out
        })
        .collect();
    Cow::Owned(parts.join("."))
}

/// The path variables of a matched route (by segment index), opaque to callers.
#[derive(Clone, Debug, Default)]
pub struct Bindings(Vec<(usize, String)>);

fn parse_json(body: &[u8]) -> Result<Value, Refusal> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde::Deserialize::deserialize(&mut de)
        .and_then(|v: Value| de.end().map(|()| v))
        .map_err(|e| refuse("", "MALFORMED_JSON", format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Where a value set by `set` came from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setting {
    FromPath,
    FromQuery,
}

/// Sets `value` at `path` in `root` (JSON names), refusing a conflict: a path variable that the
/// body gives otherwise, or a query parameter given twice for a single field.
fn set(root: &mut Map<String, Value>, path: &[FieldDescriptor], value: Value, from: Setting) -> Result<(), Refusal> {
    let field_name = dotted(path);
    let Some((last, parents)) = path.split_last() else { return Ok(()) };
    // The body may use either name of a field; a value set here goes under the one it used.
    let key = |object: &Map<String, Value>, field: &FieldDescriptor| {
        if object.contains_key(field.name()) { field.name() } else { field.json_name() }.to_string()
    };
    let mut object = root;
    for field in parents {
        let slot = object.entry(key(object, field)).or_insert_with(|| Value::Object(Map::new()));
        object = slot.as_object_mut().ok_or_else(|| {
            refuse(field_name.clone(), "MALFORMED_JSON", format!("`{}` must be an object", field.name()))
        })?;
    }
    let name = key(object, last);
    match (object.get_mut(&name), from) {
        (None, _) => {
            let value = if last.is_list() { Value::Array(vec![value]) } else { value };
            object.insert(name, value);
        }
        (Some(Value::Array(items)), Setting::FromQuery) if last.is_list() => items.push(value),
        (Some(existing), Setting::FromPath) => {
            // Compared as text: the body may give `"42"` or `42` for the path's 42.
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let same = text(existing) == text(&value);
            if !same {
                let text = format!("`{field_name}` in the body differs from the path");
                return Err(refuse(field_name, "PATH_BODY_MISMATCH", text));
            }
        }
        (Some(_), Setting::FromQuery) => {
            let text = format!("`{field_name}` takes one value");
            return Err(refuse(field_name, "REPEATED_PARAMETER", text));
        }
    }
    Ok(())
}

/// A path variable's or query parameter's text as the JSON value of the field at the end of `path`.
fn text_value(path: &[FieldDescriptor], text: &str) -> Result<Value, Refusal> {
    let Some(field) = path.last() else { return Err(refuse("", "UNKNOWN_PARAMETER", "an empty field path")) };
    let name = dotted(path);
    let bad = |what: &str| refuse(name.clone(), "INVALID_VALUE", format!("`{name}` must be {what}, not `{text}`"));
    Ok(match field.kind() {
        Kind::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::from(text.parse::<i32>().map_err(|_| bad("a 32-bit integer"))?)
        }
        Kind::Uint32 | Kind::Fixed32 => {
            Value::from(text.parse::<u32>().map_err(|_| bad("an unsigned 32-bit integer"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            text.parse::<i64>().map_err(|_| bad("a 64-bit integer"))?;
            Value::String(text.to_string())
        }
        Kind::Uint64 | Kind::Fixed64 => {
            text.parse::<u64>().map_err(|_| bad("an unsigned 64-bit integer"))?;
            Value::String(text.to_string())
        }
        Kind::Double | Kind::Float => match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Value::from(n),
            _ if matches!(text, "NaN" | "Infinity" | "-Infinity") => Value::String(text.to_string()),
            _ => return Err(bad("a number")),
        },
        Kind::String | Kind::Bytes | Kind::Message(_) => Value::String(text.to_string()),
        Kind::Enum(e) => {
            let prefix = screaming(e.name()) + "_";
            let alias = ENUM_ALIASES.iter().find(|(name, given, _)| *name == e.full_name() && *given == text);
            let value = alias
                .and_then(|(_, _, meant)| e.get_value_by_name(meant))
                .or_else(|| e.get_value_by_name(text))
                .or_else(|| text.parse::<i32>().ok().and_then(|n| e.get_value(n)))
                .or_else(|| e.get_value_by_name(&format!("{prefix}{}", text.to_ascii_uppercase())));
            match value {
                Some(v) => Value::String(v.name().to_string()),
                None => {
                    let short: Vec<String> = e.values().map(|v| short_enum(&prefix, v.name()).into_owned()).collect();
                    return Err(bad(&format!("one of {}", short.join(", "))));
                }
            }
        }
    })
}

/// `ChapterFormat` as `CHAPTER_FORMAT`.
fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// An enum value's short query form: `pdf` for `CHAPTER_FORMAT_PDF`.
pub fn short_enum<'a>(prefix: &str, name: &'a str) -> Cow<'a, str> {
    match name.strip_prefix(prefix) {
        Some(rest) => Cow::Owned(rest.to_ascii_lowercase()),
        None => Cow::Borrowed(name),
    }
}

/// The short query forms of an enum's values (`pdf`, `typst`), beside their full names.
pub fn enum_query_values(e: &prost_reflect::EnumDescriptor) -> Vec<String> {
    let prefix = screaming(e.name()) + "_";
    let mut out: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
    out.extend(e.values().filter(|v| v.number() != 0).map(|v| short_enum(&prefix, v.name()).into_owned()));
    out.extend(ENUM_ALIASES.iter().filter(|(name, ..)| *name == e.full_name()).map(|(_, given, _)| given.to_string()));
    out
}

/// The annotated routes of the public `services`, in the order of the protos. A method without an
/// annotation has no route; an annotation this gateway cannot serve is an error (caught by the
/// tests, never at a customer's).
pub fn routes(pool: &DescriptorPool, services: &[&str]) -> Result<Vec<Route>, String> {
    let extension =
        pool.get_extension_by_name(HTTP_EXTENSION).ok_or_else(|| format!("the descriptors lack {HTTP_EXTENSION}"))?;
    let mut out = Vec::new();
    for name in services {
        let service = pool.get_service_by_name(name).ok_or_else(|| format!("no service {name}"))?;
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&extension) {
                continue;
            }
            let rule = options.get_extension(&extension);
            let Some(rule) = rule.as_message() else { continue };
            let mut rules = vec![rule.clone()];
            if let Some(more) = rule.get_field_by_name("additional_bindings") {
                rules.extend(more.as_list().unwrap_or_default().iter().filter_map(|v| v.as_message().cloned()));
            }
            for rule in rules {
                let text = |name: &str| rule.get_field_by_name(name).and_then(|v| v.as_str().map(str::to_string));
                let body = text("body").unwrap_or_default();
                let verbs = [
                    ("get", http::Method::GET),
                    ("post", http::Method::POST),
                    ("put", http::Method::PUT),
                    ("delete", http::Method::DELETE),
                    ("patch", http::Method::PATCH),
                ];
                let Some((verb, template)) = verbs
                    .into_iter()
                    .find(|(field, _)| rule.has_field_by_name(field))
                    .and_then(|(field, verb)| Some((verb, text(field)?)))
                else {
                    return Err(format!("{}: a rule without get, post, put, delete or patch", method.full_name()));
                };
                out.push(Route::parse(&method, verb, &template, &body)?);
            }
        }
    }
    Ok(out)
}

/// What `find` found for a request.
#[derive(Debug)]
pub enum Found<'a> {
    /// The route and its path variables.
    Route(&'a Route, Bindings),
    /// The path is a route's, the HTTP method is not: these are.
    WrongVerb(Vec<http::Method>),
    /// No route has this path.
    Nothing,
}

/// The route of `verb` and `path` (the raw, percent-encoded path).
pub fn find<'a>(routes: &'a [Route], verb: &http::Method, path: &str) -> Found<'a> {
    let mut allowed = Vec::new();
    for route in routes {
        if let Some(values) = route.bind(path) {
            if route.verb == *verb {
                return Found::Route(route, Bindings(values));
            }
            allowed.push(route.verb.clone());
        }
    }
    if allowed.is_empty() { Found::Nothing } else { Found::WrongVerb(allowed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Route> {
        let pool = DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET).unwrap();
        routes(&pool, &crate::gateway::http::PUBLIC_SERVICES).unwrap()
    }

    fn route<'a>(routes: &'a [Route], verb: http::Method, path: &str) -> (&'a Route, Bindings) {
        match find(routes, &verb, path) {
            Found::Route(r, b) => (r, b),
            other => panic!("{verb} {path}: {other:?}"),
        }
    }

    fn json(message: &DynamicMessage) -> Value {
        serde_json::to_value(message).unwrap()
    }

    #[test]
    fn every_public_method_has_exactly_one_route_and_no_two_routes_collide() {
        let pool = DescriptorPool::decode(services_api::FILE_DESCRIPTOR_SET).unwrap();
        let routes = all();
        for name in crate::gateway::http::PUBLIC_SERVICES {
            for method in pool.get_service_by_name(name).unwrap().methods() {
                let n = routes.iter().filter(|r| r.method.full_name() == method.full_name()).count();
                assert_eq!(n, 1, "{}: {n} routes", method.full_name());
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &routes {
            assert!(seen.insert((r.verb.to_string(), r.template.clone())), "{} {} twice", r.verb, r.template);
        }
    }

    #[test]
    fn paths_find_their_method_or_say_which_verbs_they_take() {
        let routes = all();
        let (r, b) = route(&routes, http::Method::GET, "/v1/assessments/42");
        assert_eq!(r.method.name(), "GetAssessment");
        assert_eq!(json(&r.request(&b, "", b"").unwrap()), serde_json::json!({"id": "42"}));
        assert_eq!(route(&routes, http::Method::POST, "/v1/assessments:score").0.method.name(), "ScoreAssessment");
        assert_eq!(route(&routes, http::Method::POST, "/v1/assessments").0.method.name(), "SubmitAssessment");
        let (r, b) = route(&routes, http::Method::POST, "/v1/webhookEndpoints/ep_a%2Db:rotateSecret");
        assert_eq!(r.method.name(), "RotateWebhookSecret");
        assert_eq!(json(&r.request(&b, "", b"").unwrap()), serde_json::json!({"id": "ep_a-b"}));
        match find(&routes, &http::Method::GET, "/v1/assessments:score") {
            Found::WrongVerb(verbs) => assert_eq!(verbs, vec![http::Method::POST]),
            other => panic!("{other:?}"),
        }
        match find(&routes, &http::Method::PUT, "/v1/assessments") {
            Found::WrongVerb(verbs) => assert_eq!(verbs, vec![http::Method::POST, http::Method::GET]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(find(&routes, &http::Method::GET, "/v1/assessments/"), Found::Nothing));
        assert!(matches!(find(&routes, &http::Method::GET, "/v1/nothing"), Found::Nothing));
        assert!(matches!(find(&routes, &http::Method::GET, "/v1/assessments/1/chapter/x"), Found::Nothing));
    }

    #[test]
    fn the_query_string_sets_nested_repeated_and_enum_fields_by_either_name() {
        let routes = all();
        let (r, b) = route(&routes, http::Method::GET, "/v1/benchmarks");
        let m = r.request(&b, "group.sbiSection=J&group.size_class=small&year=2024&model.id=m", b"").unwrap();
        assert_eq!(
            json(&m),
            serde_json::json!({"group": {"sbiSection": "J", "sizeClass": "small"}, "year": 2024, "model": {"id": "m"}})
        );
        let (r, b) = route(&routes, http::Method::GET, "/v1/assessments");
        for status in ["pending", "REPORT_STATUS_PENDING", "1"] {
            let m = r.request(&b, &format!("reportStatus={status}&completedAfter=2025-01-01T00:00:00Z"), b"").unwrap();
            assert_eq!(json(&m)["reportStatus"], "REPORT_STATUS_PENDING", "{status}");
        }
        let (r, b) = route(&routes, http::Method::GET, "/v1/assessments/7/chapter");
        for (given, meant) in
            [("pdf", "CHAPTER_FORMAT_PDF"), ("typst", "CHAPTER_FORMAT_TYPST"), ("typ", "CHAPTER_FORMAT_TYPST")]
        {
            assert_eq!(json(&r.request(&b, &format!("format={given}"), b"").unwrap())["format"], meant);
        }
        let (r, b) = route(&routes, http::Method::PATCH, "/v1/webhookEndpoints/ep_1");
        let m = r.request(&b, "updateMask=url,eventTypes", br#"{"url": "https://crm.example/h"}"#).unwrap();
        assert_eq!(
            json(&m),
            serde_json::json!({"endpoint": {"id": "ep_1", "url": "https://crm.example/h"}, "updateMask": "url,eventTypes"})
        );
    }

    #[test]
    fn an_update_mask_is_taken_in_its_proto_and_its_json_spelling() {
        let routes = all();
        let (r, b) = route(&routes, http::Method::PATCH, "/v1/webhookEndpoints/ep_1");
        for (query, mask) in
            [("updateMask=event_types", "eventTypes"), ("updateMask=url,event_types", "url,eventTypes")]
        {
            let m = r.request(&b, query, br#"{"eventTypes": ["chapter.ready"]}"#).unwrap();
            assert_eq!(json(&m)["updateMask"], mask, "{query}");
        }
        let m = r.request(&b, "update_mask=event_types", b"{}").unwrap();
        assert_eq!(json(&m)["updateMask"], "eventTypes");
        assert_eq!(lower_camel("endpoint.event_types"), "endpoint.eventTypes");
        // What is not a proto name is left for the JSON mapping to refuse.
        for odd in ["event__types", "_x", "Event_types", "event_types_"] {
            assert_eq!(lower_camel(odd), odd);
        }
        assert!(r.request(&b, "updateMask=event__types", b"{}").is_err());
    }

    #[test]
    fn requests_that_do_not_fit_the_route_are_refused_with_the_field_and_a_reason() {
        let routes = all();
        let refusal = |verb: http::Method, path: &str, query: &str, body: &[u8]| {
            let (r, b) = route(&routes, verb, path);
            r.request(&b, query, body).unwrap_err()
        };
        let r = refusal(http::Method::GET, "/v1/assessments", "pageSize=ten", b"");
        assert_eq!((r.field.as_str(), r.reason), ("page_size", "INVALID_VALUE"));
        let r = refusal(http::Method::GET, "/v1/assessments", "colour=red", b"");
        assert_eq!((r.field.as_str(), r.reason), ("colour", "UNKNOWN_PARAMETER"));
        let r = refusal(http::Method::GET, "/v1/assessments", "pageSize=1&pageSize=2", b"");
        assert_eq!(r.reason, "REPEATED_PARAMETER");
        let r = refusal(http::Method::GET, "/v1/assessments", "reportStatus=lost", b"");
        assert_eq!(r.reason, "INVALID_VALUE");
        assert!(r.text.contains("pending"), "{}", r.text);
        let r = refusal(http::Method::GET, "/v1/assessments/x", "", b"");
        assert_eq!((r.field.as_str(), r.reason), ("id", "INVALID_VALUE"));
        let r = refusal(http::Method::GET, "/v1/assessments/1", "id=2", b"");
        assert_eq!(r.reason, "UNKNOWN_PARAMETER");
        let r = refusal(http::Method::GET, "/v1/assessments/1", "", b"{}");
        assert_eq!(r.reason, "UNEXPECTED_BODY");
        let r = refusal(http::Method::POST, "/v1/assessments", "firmName=x", b"{}");
        assert_eq!(r.reason, "UNKNOWN_PARAMETER");
        let r = refusal(http::Method::POST, "/v1/assessments", "", b"[1]");
        assert_eq!(r.reason, "MALFORMED_JSON");
        let r = refusal(http::Method::POST, "/v1/assessments", "", b"{\"nope\": 1}");
        assert_eq!(r.reason, "MALFORMED_JSON");
        let r = refusal(http::Method::POST, "/v1/webhookEvents/ev_1:replay", "", br#"{"eventId": "ev_2"}"#);
        assert_eq!((r.field.as_str(), r.reason), ("event_id", "PATH_BODY_MISMATCH"));
        let (r, b) = route(&routes, http::Method::POST, "/v1/webhookEvents/ev_1:replay");
        let same = r.request(&b, "", br#"{"event_id": "ev_1", "endpointId": "ep_1"}"#).unwrap();
        assert_eq!(json(&same), serde_json::json!({"eventId": "ev_1", "endpointId": "ep_1"}));
    }

    #[test]
    fn the_integration_guide_lists_every_route() {
        let guide = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/integration.md")).unwrap();
        let rows: std::collections::BTreeSet<(String, String, String)> = guide
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("Service."))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split('|').map(|c| c.trim().trim_matches('`')).collect();
                (format!("maturity.v1.{}", cells[0]), cells[1].to_string(), cells[2].trim_matches('`').to_string())
            })
            .collect();
        let expected: std::collections::BTreeSet<(String, String, String)> = all()
            .iter()
            .map(|r| {
                let body = match &r.body {
                    BodyRule::Empty => String::new(),
                    BodyRule::All => "the request".to_string(),
                    BodyRule::Field(f) => f.name().to_string(),
                };
                (r.method.full_name().to_string(), format!("{} {}", r.verb, r.template), body)
            })
            .collect();
        assert_eq!(rows, expected, "docs/integration.md's table and the annotations differ");
    }
}
