//! Decodes OTLP/JSON trace export bodies (PROTOCOL.md §6) into the `opentelemetry-proto`
//! structs, so the JSON, protobuf and gRPC receivers all hand `normalize` the same types.
//!
//! Its one job is syntax and shape: key spellings, id lengths, number ranges, enum names.
//! It must not judge meaning (all-zero ids, end before start, an empty request): the caller
//! does, because the protobuf path needs the same checks. It accepts what real clients send
//! and not only canonical proto3 JSON: snake_case keys, int64 as JSON numbers (the JS
//! exporter's `intValue`), enum names, and `null` for an absent field.

use std::fmt::Write as _;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::{Map, Value};

/// Deepest `arrayValue`/`kvlistValue` nesting accepted; an attribute's own value is level 1.
/// Downstream code walks attribute values recursively, so the bound protects it too.
const MAX_DEPTH: usize = 64;

/// Client strings quoted in error messages are cut to this many characters, so an error
/// about a huge value stays small.
const MAX_QUOTED_CHARS: usize = 48;

/// Decoding failure: where in the document (`path`, spelled with the client's own keys) and
/// what was wrong. `path` is `$` for errors that concern the whole body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct JsonError {
    pub path: String,
    pub message: String,
}

/// Decodes an OTLP/JSON ExportTraceServiceRequest body.
///
/// A body without `resourceSpans` (or with an empty list) decodes to an empty request;
/// whether that is acceptable is the caller's decision.
///
/// # Errors
///
/// Returns a [`JsonError`] if the body is not UTF-8 JSON, is not an object, or any field
/// has the wrong type, a malformed id, an out-of-range number or an unknown enum name.
pub fn decode(body: &[u8]) -> Result<ExportTraceServiceRequest, JsonError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| JsonError {
        path: "$".to_owned(),
        message: e.to_string(),
    })?;
    decode_value(root)
}

fn decode_value(root: Value) -> Result<ExportTraceServiceRequest, JsonError> {
    let root_path = Path::Root;
    let mut request = ExportTraceServiceRequest::default();
    fields(root, &root_path, |key, value, path| {
        if let "resourceSpans" | "resource_spans" = key {
            request.resource_spans = list(value, path, decode_resource_spans)?;
        }
        Ok(())
    })?;
    Ok(request)
}

fn decode_resource_spans(value: Value, path: &Path<'_>) -> Result<ResourceSpans, JsonError> {
    let mut out = ResourceSpans::default();
    fields(value, path, |key, value, path| {
        match key {
            "resource" => out.resource = Some(decode_resource(value, path)?),
            "scopeSpans" | "scope_spans" => {
                out.scope_spans = list(value, path, decode_scope_spans)?
            }
            "schemaUrl" | "schema_url" => out.schema_url = string(value, path)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_resource(value: Value, path: &Path<'_>) -> Result<Resource, JsonError> {
    let mut out = Resource::default();
    fields(value, path, |key, value, path| {
        match key {
            "attributes" => out.attributes = attributes(value, path)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                out.dropped_attributes_count = integer(value, path, "uint32")?
            }
            "entityRefs" | "entity_refs" => out.entity_refs = list(value, path, decode_entity_ref)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_entity_ref(value: Value, path: &Path<'_>) -> Result<EntityRef, JsonError> {
    let mut out = EntityRef::default();
    fields(value, path, |key, value, path| {
        match key {
            "schemaUrl" | "schema_url" => out.schema_url = string(value, path)?,
            "type" => out.r#type = string(value, path)?,
            "idKeys" | "id_keys" => out.id_keys = list(value, path, string)?,
            "descriptionKeys" | "description_keys" => {
                out.description_keys = list(value, path, string)?
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_scope_spans(value: Value, path: &Path<'_>) -> Result<ScopeSpans, JsonError> {
    let mut out = ScopeSpans::default();
    fields(value, path, |key, value, path| {
        match key {
            "scope" => out.scope = Some(decode_scope(value, path)?),
            "spans" => out.spans = list(value, path, decode_span)?,
            "schemaUrl" | "schema_url" => out.schema_url = string(value, path)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_scope(value: Value, path: &Path<'_>) -> Result<InstrumentationScope, JsonError> {
    let mut out = InstrumentationScope::default();
    fields(value, path, |key, value, path| {
        match key {
            "name" => out.name = string(value, path)?,
            "version" => out.version = string(value, path)?,
            "attributes" => out.attributes = attributes(value, path)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                out.dropped_attributes_count = integer(value, path, "uint32")?
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_span(value: Value, path: &Path<'_>) -> Result<Span, JsonError> {
    let mut out = Span::default();
    let (mut has_trace_id, mut has_span_id) = (false, false);
    fields(value, path, |key, value, path| {
        match key {
            "traceId" | "trace_id" => {
                out.trace_id = hex_id(value, path, TRACE_ID)?;
                has_trace_id = true;
            }
            "spanId" | "span_id" => {
                out.span_id = hex_id(value, path, SPAN_ID)?;
                has_span_id = true;
            }
            "parentSpanId" | "parent_span_id" => {
                out.parent_span_id = hex_id(value, path, PARENT_SPAN_ID)?
            }
            "traceState" | "trace_state" => out.trace_state = string(value, path)?,
            "flags" => out.flags = integer(value, path, "uint32")?,
            "name" => out.name = string(value, path)?,
            "kind" => out.kind = enumeration(value, path, &SPAN_KIND)?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                out.start_time_unix_nano = integer(value, path, "uint64")?
            }
            "endTimeUnixNano" | "end_time_unix_nano" => {
                out.end_time_unix_nano = integer(value, path, "uint64")?
            }
            "attributes" => out.attributes = attributes(value, path)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                out.dropped_attributes_count = integer(value, path, "uint32")?
            }
            "events" => out.events = list(value, path, decode_event)?,
            "droppedEventsCount" | "dropped_events_count" => {
                out.dropped_events_count = integer(value, path, "uint32")?
            }
            "links" => out.links = list(value, path, decode_link)?,
            "droppedLinksCount" | "dropped_links_count" => {
                out.dropped_links_count = integer(value, path, "uint32")?
            }
            "status" => out.status = Some(decode_status(value, path)?),
            _ => {}
        }
        Ok(())
    })?;
    // A span without ids cannot be stored or linked, unlike other fields whose proto default
    // is a usable value; report it here, where the path is still known.
    require(has_trace_id, path, "traceId")?;
    require(has_span_id, path, "spanId")?;
    Ok(out)
}

fn decode_event(value: Value, path: &Path<'_>) -> Result<Event, JsonError> {
    let mut out = Event::default();
    fields(value, path, |key, value, path| {
        match key {
            "timeUnixNano" | "time_unix_nano" => {
                out.time_unix_nano = integer(value, path, "uint64")?
            }
            "name" => out.name = string(value, path)?,
            "attributes" => out.attributes = attributes(value, path)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                out.dropped_attributes_count = integer(value, path, "uint32")?
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_link(value: Value, path: &Path<'_>) -> Result<Link, JsonError> {
    let mut out = Link::default();
    let (mut has_trace_id, mut has_span_id) = (false, false);
    fields(value, path, |key, value, path| {
        match key {
            "traceId" | "trace_id" => {
                out.trace_id = hex_id(value, path, TRACE_ID)?;
                has_trace_id = true;
            }
            "spanId" | "span_id" => {
                out.span_id = hex_id(value, path, SPAN_ID)?;
                has_span_id = true;
            }
            "traceState" | "trace_state" => out.trace_state = string(value, path)?,
            "attributes" => out.attributes = attributes(value, path)?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                out.dropped_attributes_count = integer(value, path, "uint32")?
            }
            "flags" => out.flags = integer(value, path, "uint32")?,
            _ => {}
        }
        Ok(())
    })?;
    require(has_trace_id, path, "traceId")?;
    require(has_span_id, path, "spanId")?;
    Ok(out)
}

fn decode_status(value: Value, path: &Path<'_>) -> Result<Status, JsonError> {
    let mut out = Status::default();
    fields(value, path, |key, value, path| {
        match key {
            "message" => out.message = string(value, path)?,
            "code" => out.code = enumeration(value, path, &STATUS_CODE)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

fn attributes(value: Value, path: &Path<'_>) -> Result<Vec<KeyValue>, JsonError> {
    list(value, path, |item, path| decode_key_value(item, path, 1))
}

/// `depth` is the nesting level that `value` gets.
fn decode_key_value(value: Value, path: &Path<'_>, depth: usize) -> Result<KeyValue, JsonError> {
    let mut out = KeyValue::default();
    fields(value, path, |key, value, path| {
        match key {
            "key" => out.key = string(value, path)?,
            "value" => out.value = Some(decode_any_value(value, path, depth)?),
            "keyStrindex" | "key_strindex" => out.key_strindex = integer(value, path, "int32")?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(out)
}

#[derive(Clone, Copy)]
enum Variant {
    String,
    Bool,
    Int,
    Double,
    Array,
    Kvlist,
    Bytes,
    StringStrindex,
}

impl Variant {
    fn from_key(key: &str) -> Option<Self> {
        Some(match key {
            "stringValue" | "string_value" => Self::String,
            "boolValue" | "bool_value" => Self::Bool,
            "intValue" | "int_value" => Self::Int,
            "doubleValue" | "double_value" => Self::Double,
            "arrayValue" | "array_value" => Self::Array,
            "kvlistValue" | "kvlist_value" => Self::Kvlist,
            "bytesValue" | "bytes_value" => Self::Bytes,
            "stringValueStrindex" | "string_value_strindex" => Self::StringStrindex,
            _ => return None,
        })
    }
}

fn decode_any_value(value: Value, path: &Path<'_>, depth: usize) -> Result<AnyValue, JsonError> {
    if depth > MAX_DEPTH {
        return Err(error(
            path,
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    let mut out = AnyValue::default();
    let mut chosen: Option<String> = None;
    for (key, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        let Some(variant) = Variant::from_key(&key) else {
            continue;
        };
        // AnyValue is a oneof; guessing which of two values the client meant would lose data
        // silently.
        if let Some(first) = &chosen {
            return Err(error(
                path,
                format!("more than one value is set ({first} and {key})"),
            ));
        }
        let path = Path::Key(path, &key);
        out.value = Some(match variant {
            Variant::String => any_value::Value::StringValue(string(value, &path)?),
            Variant::Bool => any_value::Value::BoolValue(boolean(value, &path)?),
            Variant::Int => any_value::Value::IntValue(integer(value, &path, "int64")?),
            Variant::Double => any_value::Value::DoubleValue(double(value, &path)?),
            Variant::Array => any_value::Value::ArrayValue(decode_array(value, &path, depth)?),
            Variant::Kvlist => any_value::Value::KvlistValue(decode_kvlist(value, &path, depth)?),
            Variant::Bytes => any_value::Value::BytesValue(bytes(value, &path)?),
            Variant::StringStrindex => {
                any_value::Value::StringValueStrindex(integer(value, &path, "int32")?)
            }
        });
        chosen = Some(key);
    }
    Ok(out)
}

fn decode_array(value: Value, path: &Path<'_>, depth: usize) -> Result<ArrayValue, JsonError> {
    let mut out = ArrayValue::default();
    fields(value, path, |key, value, path| {
        if key == "values" {
            out.values = list(value, path, |item, path| {
                decode_any_value(item, path, depth + 1)
            })?;
        }
        Ok(())
    })?;
    Ok(out)
}

fn decode_kvlist(value: Value, path: &Path<'_>, depth: usize) -> Result<KeyValueList, JsonError> {
    let mut out = KeyValueList::default();
    fields(value, path, |key, value, path| {
        if key == "values" {
            out.values = list(value, path, |item, path| {
                decode_key_value(item, path, depth + 1)
            })?;
        }
        Ok(())
    })?;
    Ok(out)
}

// ---- shapes and scalars ----------------------------------------------------------------

fn object(value: Value, path: &Path<'_>) -> Result<Map<String, Value>, JsonError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(type_error(path, "an object", &other)),
    }
}

/// Calls `field` for each member of an object. A `null` member is skipped: proto3 JSON
/// reads null as the field's default, and clients write it for "not set".
fn fields(
    value: Value,
    path: &Path<'_>,
    mut field: impl FnMut(&str, Value, &Path<'_>) -> Result<(), JsonError>,
) -> Result<(), JsonError> {
    for (key, value) in object(value, path)? {
        if !value.is_null() {
            field(&key, value, &Path::Key(path, &key))?;
        }
    }
    Ok(())
}

fn list<T>(
    value: Value,
    path: &Path<'_>,
    mut item: impl FnMut(Value, &Path<'_>) -> Result<T, JsonError>,
) -> Result<Vec<T>, JsonError> {
    let values = match value {
        Value::Array(values) => values,
        other => return Err(type_error(path, "an array", &other)),
    };
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        out.push(item(value, &Path::Index(path, i))?);
    }
    Ok(out)
}

fn string(value: Value, path: &Path<'_>) -> Result<String, JsonError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(type_error(path, "a string", &other)),
    }
}

fn boolean(value: Value, path: &Path<'_>) -> Result<bool, JsonError> {
    match value {
        Value::Bool(b) => Ok(b),
        // Some hand-written clients quote booleans; the meaning is unambiguous.
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(type_error(path, "a boolean", &other)),
    }
}

/// Integers arrive as decimal strings (proto3 JSON for 64-bit types) or as JSON numbers (the
/// JS exporter's `intValue`, and most clients for 32-bit types). `type_name` names the proto
/// type in messages.
fn integer<T: TryFrom<i128>>(
    value: Value,
    path: &Path<'_>,
    type_name: &str,
) -> Result<T, JsonError> {
    let wide: i128 = match &value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                i128::from(u)
            } else if let Some(i) = n.as_i64() {
                i128::from(i)
            } else {
                // serde_json only falls back to f64 for a fraction, an exponent or a literal
                // beyond 64 bits; an integral one in range (`1e9`) is still a valid integer.
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 {
                    return Err(error(
                        path,
                        format!("expected an integer ({type_name}), got fractional number {n}"),
                    ));
                }
                // 2^64: anything at or beyond it fits no proto integer type.
                if f.abs() >= 18_446_744_073_709_551_616.0 {
                    return Err(error(path, format!("{n} is out of range for {type_name}")));
                }
                f as i128
            }
        }
        Value::String(s) => match s.parse::<i128>() {
            Ok(wide) => wide,
            Err(e)
                if matches!(
                    e.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ) =>
            {
                return Err(error(
                    path,
                    format!("{} is out of range for {type_name}", quote(s)),
                ));
            }
            Err(_) => {
                return Err(error(
                    path,
                    format!(
                        "expected an integer ({type_name}) as a number or decimal string, got {}",
                        quote(s)
                    ),
                ));
            }
        },
        other => {
            return Err(type_error(
                path,
                &format!("an integer ({type_name}) as a number or decimal string"),
                other,
            ))
        }
    };
    T::try_from(wide).map_err(|_| {
        let message = if wide < 0 && type_name.starts_with('u') {
            format!("expected a non-negative integer ({type_name}), got {wide}")
        } else {
            format!("{wide} is out of range for {type_name}")
        };
        error(path, message)
    })
}

fn double(value: Value, path: &Path<'_>) -> Result<f64, JsonError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| error(path, format!("{n} is not representable as a double"))),
        // proto3 JSON spells non-finite doubles "NaN", "Infinity", "-Infinity"; Rust's parser
        // accepts those as well as numeric strings.
        Value::String(s) => s.parse::<f64>().map_err(|_| {
            error(
                path,
                format!(
                    "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got {}",
                    quote(&s)
                ),
            )
        }),
        other => Err(type_error(path, "a number", &other)),
    }
}

/// proto3 JSON bytes are base64, padded or not; the protobuf JSON parsers also take the
/// URL-safe alphabet. Trailing bits are tolerated as Go's decoder does.
fn bytes(value: Value, path: &Path<'_>) -> Result<Vec<u8>, JsonError> {
    let s = string(value, path)?;
    let engine = if s.contains(['-', '_']) {
        &BASE64_URL_SAFE
    } else {
        &BASE64_STANDARD
    };
    engine
        .decode(s.as_bytes())
        .map_err(|e| error(path, format!("invalid base64: {e}")))
}

const BASE64_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, BASE64_CONFIG);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, BASE64_CONFIG);

struct IdShape {
    bytes: usize,
    /// parentSpanId: an empty string means "no parent" (a root span).
    may_be_empty: bool,
}

const TRACE_ID: IdShape = IdShape {
    bytes: 16,
    may_be_empty: false,
};
const SPAN_ID: IdShape = IdShape {
    bytes: 8,
    may_be_empty: false,
};
const PARENT_SPAN_ID: IdShape = IdShape {
    bytes: 8,
    may_be_empty: true,
};

/// OTLP/JSON ids are hex, not the base64 that generic proto3 JSON would use (PROTOCOL.md §6).
fn hex_id(value: Value, path: &Path<'_>, shape: IdShape) -> Result<Vec<u8>, JsonError> {
    let s = string(value, path)?;
    if s.is_empty() && shape.may_be_empty {
        return Ok(Vec::new());
    }
    let want = shape.bytes * 2;
    let or_empty = if shape.may_be_empty {
        " or an empty string"
    } else {
        ""
    };
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit()) {
        // A base64 id is the most likely mistake (generic proto3 JSON encoders make it).
        let hint = match BASE64_STANDARD.decode(s.as_bytes()) {
            Ok(decoded) if decoded.len() == shape.bytes => "; ids must be hex, not base64",
            _ => "",
        };
        return Err(error(
            path,
            format!("invalid hex character {c:?} at position {i}{hint}"),
        ));
    }
    if s.len() != want {
        return Err(error(
            path,
            format!("expected {want} hex characters{or_empty}, got {}", s.len()),
        ));
    }
    hex::decode(&s).map_err(|e| error(path, format!("invalid hex: {e}")))
}

fn require(present: bool, path: &Path<'_>, key: &str) -> Result<(), JsonError> {
    if present {
        Ok(())
    } else {
        Err(error(&Path::Key(path, key), "required field is missing"))
    }
}

struct EnumNames {
    type_name: &'static str,
    prefix: &'static str,
    /// Names without the prefix, upper case.
    variants: &'static [(&'static str, i32)],
}

const SPAN_KIND: EnumNames = EnumNames {
    type_name: "SpanKind",
    prefix: "SPAN_KIND_",
    variants: &[
        ("UNSPECIFIED", SpanKind::Unspecified as i32),
        ("INTERNAL", SpanKind::Internal as i32),
        ("SERVER", SpanKind::Server as i32),
        ("CLIENT", SpanKind::Client as i32),
        ("PRODUCER", SpanKind::Producer as i32),
        ("CONSUMER", SpanKind::Consumer as i32),
    ],
};

const STATUS_CODE: EnumNames = EnumNames {
    type_name: "StatusCode",
    prefix: "STATUS_CODE_",
    variants: &[
        ("UNSET", StatusCode::Unset as i32),
        ("OK", StatusCode::Ok as i32),
        ("ERROR", StatusCode::Error as i32),
    ],
};

/// Integers pass through unchecked: proto3 enums are open, and an unknown code is the
/// caller's to judge. Names are matched case-insensitively, with or without the prefix.
fn enumeration(value: Value, path: &Path<'_>, names: &EnumNames) -> Result<i32, JsonError> {
    let Value::String(s) = &value else {
        return integer(value, path, "int32");
    };
    if let Ok(n) = s.parse::<i32>() {
        return Ok(n);
    }
    let upper = s.to_ascii_uppercase();
    let short = upper.strip_prefix(names.prefix).unwrap_or(&upper);
    if let Some((_, n)) = names.variants.iter().find(|(name, _)| *name == short) {
        return Ok(*n);
    }
    let mut expected = String::new();
    for (i, (name, _)) in names.variants.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(expected, "{sep}{}{name}", names.prefix);
    }
    Err(error(
        path,
        format!(
            "unknown {} {}; expected an integer or one of {expected}",
            names.type_name,
            quote(s)
        ),
    ))
}

// ---- errors and paths ------------------------------------------------------------------

/// Location in the document, kept as a chain of stack frames so the hot path never builds a
/// string; it is rendered only when an error is reported.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        if out.is_empty() {
            out.push('$');
        }
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, i) => {
                parent.render_into(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

fn error(path: &Path<'_>, message: impl Into<String>) -> JsonError {
    JsonError {
        path: path.render(),
        message: message.into(),
    }
}

fn type_error(path: &Path<'_>, expected: &str, got: &Value) -> JsonError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    error(path, format!("expected {expected}, got {got}"))
}

/// Quotes a client string for an error message, cut short so messages stay bounded.
fn quote(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
        None => format!("{s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use serde_json::json;

    use super::*;

    const JS_SAMPLE: &[u8] = include_bytes!("../../tests/fixtures/otlp/04_js_http_json.req.json");
    const JS_SAMPLE_GZ: &[u8] =
        include_bytes!("../../tests/fixtures/otlp/05_js_http_json_gzip.req.json.gz");

    fn spans(request: &ExportTraceServiceRequest) -> Vec<&Span> {
        request
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .collect()
    }

    fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
        attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn decode_json(value: serde_json::Value) -> Result<ExportTraceServiceRequest, JsonError> {
        decode(value.to_string().as_bytes())
    }

    /// A one-span request with `span` merged over valid ids, for error tests.
    fn with_span(extra: serde_json::Value) -> serde_json::Value {
        let mut span = json!({
            "traceId": "0123456789abcdef0123456789abcdef",
            "spanId": "0123456789abcdef",
        });
        if let (Some(span), Some(extra)) = (span.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                span.insert(k.clone(), v.clone());
            }
        }
        json!({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    }

    fn attribute_value(value: serde_json::Value) -> serde_json::Value {
        with_span(json!({"attributes": [{"key": "k", "value": value}]}))
    }

    #[track_caller]
    fn assert_error(result: Result<ExportTraceServiceRequest, JsonError>, path: &str, words: &str) {
        let err = result.expect_err("decode should fail");
        assert_eq!(err.path, path, "{err}");
        assert!(
            err.message.contains(words),
            "message {:?} should contain {words:?}",
            err.message
        );
    }

    #[test]
    fn js_exporter_sample_decodes() {
        let request = decode(JS_SAMPLE).expect("sample decodes");
        assert_eq!(request.resource_spans.len(), 1);
        let resource = request.resource_spans[0]
            .resource
            .as_ref()
            .expect("resource");
        assert_eq!(
            attribute(&resource.attributes, "service.name"),
            Some(&any_value::Value::StringValue("demo-js-app".into()))
        );
        let scope = request.resource_spans[0].scope_spans[0]
            .scope
            .as_ref()
            .expect("scope");
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("demo.js", "0.1.0")
        );

        let spans = spans(&request);
        assert_eq!(spans.len(), 3);
        let chat = spans[0];
        assert_eq!(
            hex::encode(&chat.trace_id),
            "f0e5291b31963720744ff36aa9230fd9"
        );
        assert_eq!(hex::encode(&chat.span_id), "85b51cb1dd8c41e2");
        assert_eq!(hex::encode(&chat.parent_span_id), "2c4fb1c7516ebac1");
        assert_eq!(chat.name, "chat gpt-4o");
        assert_eq!(chat.kind, SpanKind::Client as i32);
        assert_eq!(chat.start_time_unix_nano, 1_795_464_305_731_000_000);
        assert_eq!(chat.end_time_unix_nano, 1_795_464_305_731_281_458);
        assert_eq!(chat.flags, 257);
        // The JS exporter sends this int64 as a JSON number, not the proto3 string.
        assert_eq!(
            attribute(&chat.attributes, "gen_ai.usage.input_tokens"),
            Some(&any_value::Value::IntValue(120))
        );
        assert_eq!(chat.events.len(), 1);
        assert_eq!(chat.events[0].name, "gen_ai.choice");
        assert_eq!(chat.events[0].time_unix_nano, 1_795_464_305_731_225_114);
        assert_eq!(chat.links.len(), 1);
        assert_eq!(hex::encode(&chat.links[0].span_id), "2c4fb1c7516ebac1");
        assert_eq!(chat.links[0].flags, 257);
        assert_eq!(
            chat.status.as_ref().map(|s| s.code),
            Some(StatusCode::Unset as i32)
        );

        let tool = spans[1];
        assert_eq!(tool.kind, SpanKind::Internal as i32);
        let status = tool.status.as_ref().expect("status");
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.message, "weather API timed out");

        let root = spans[2];
        assert_eq!(root.name, "agent.run");
        assert!(root.parent_span_id.is_empty());
        assert_eq!(root.kind, SpanKind::Server as i32);
        assert_eq!(
            root.status.as_ref().map(|s| s.code),
            Some(StatusCode::Ok as i32)
        );
    }

    #[test]
    fn gzipped_js_exporter_sample_decodes() {
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(JS_SAMPLE_GZ)
            .read_to_end(&mut body)
            .expect("gunzip");
        let request = decode(&body).expect("sample decodes");
        let spans = spans(&request);
        assert_eq!(spans.len(), 3);
        assert_eq!(
            hex::encode(&spans[0].trace_id),
            "25c4a82d268f2a17a1779b445a1b0fbb"
        );
        assert_eq!(spans[0].end_time_unix_nano, 1_795_464_315_278_282_739);
        assert_eq!(
            attribute(&spans[0].attributes, "gen_ai.usage.output_tokens"),
            Some(&any_value::Value::IntValue(45))
        );
    }

    #[test]
    fn snake_case_keys_decode_like_camel_case() {
        let snake = json!({"resource_spans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "svc"}}],
                         "dropped_attributes_count": 1},
            "schema_url": "https://example/rs",
            "scope_spans": [{
                "schema_url": "https://example/ss",
                "spans": [{
                    "trace_id": "0102030405060708090A0B0C0D0E0F10",
                    "span_id": "1112131415161718",
                    "parent_span_id": "2122232425262728",
                    "trace_state": "k=v",
                    "start_time_unix_nano": "10",
                    "end_time_unix_nano": 20,
                    "dropped_attributes_count": "2",
                    "dropped_events_count": 3,
                    "dropped_links_count": 4,
                    "attributes": [
                        {"key": "i", "value": {"int_value": "-7"}},
                        {"key": "d", "value": {"double_value": 1.5}},
                        {"key": "b", "value": {"bool_value": true}},
                        {"key": "y", "value": {"bytes_value": "AQI"}},
                        {"key": "a", "value": {"array_value": {"values": [{"int_value": 1}]}}},
                        {"key": "m", "value": {"kvlist_value": {"values": [
                            {"key": "x", "value": {"string_value": "y"}}]}}},
                    ],
                    "events": [{"time_unix_nano": "15", "name": "e", "dropped_attributes_count": 5}],
                    "links": [{"trace_id": "0102030405060708090a0b0c0d0e0f10",
                               "span_id": "2122232425262728", "trace_state": "t",
                               "dropped_attributes_count": 6}],
                }]
            }]
        }]});
        let camel = json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}],
                         "droppedAttributesCount": 1},
            "schemaUrl": "https://example/rs",
            "scopeSpans": [{
                "schemaUrl": "https://example/ss",
                "spans": [{
                    "traceId": "0102030405060708090a0b0c0d0e0f10",
                    "spanId": "1112131415161718",
                    "parentSpanId": "2122232425262728",
                    "traceState": "k=v",
                    "startTimeUnixNano": "10",
                    "endTimeUnixNano": "20",
                    "droppedAttributesCount": 2,
                    "droppedEventsCount": 3,
                    "droppedLinksCount": 4,
                    "attributes": [
                        {"key": "i", "value": {"intValue": "-7"}},
                        {"key": "d", "value": {"doubleValue": 1.5}},
                        {"key": "b", "value": {"boolValue": true}},
                        {"key": "y", "value": {"bytesValue": "AQI="}},
                        {"key": "a", "value": {"arrayValue": {"values": [{"intValue": "1"}]}}},
                        {"key": "m", "value": {"kvlistValue": {"values": [
                            {"key": "x", "value": {"stringValue": "y"}}]}}},
                    ],
                    "events": [{"timeUnixNano": "15", "name": "e", "droppedAttributesCount": 5}],
                    "links": [{"traceId": "0102030405060708090a0b0c0d0e0f10",
                               "spanId": "2122232425262728", "traceState": "t",
                               "droppedAttributesCount": 6}],
                }]
            }]
        }]});
        let from_snake = decode_json(snake).expect("snake_case decodes");
        assert_eq!(from_snake, decode_json(camel).expect("camelCase decodes"));
        let span = spans(&from_snake)[0];
        assert_eq!(span.trace_id, (1..=16).collect::<Vec<u8>>());
        assert_eq!(span.end_time_unix_nano, 20);
        assert_eq!(span.dropped_links_count, 4);
        assert_eq!(
            attribute(&span.attributes, "y"),
            Some(&any_value::Value::BytesValue(vec![1, 2]))
        );
    }

    #[test]
    fn enum_names_and_integers_are_accepted() {
        let cases = [
            (json!("SPAN_KIND_SERVER"), json!("STATUS_CODE_ERROR"), 2, 2),
            (json!("server"), json!("ERROR"), 2, 2),
            (json!("span_kind_consumer"), json!("ok"), 5, 1),
            (json!(3), json!(1), 3, 1),
            (json!("4"), json!("0"), 4, 0),
            // proto3 enums are open: unknown numbers pass, the caller judges them.
            (json!(9), json!(7), 9, 7),
        ];
        for (kind, code, want_kind, want_code) in cases {
            let request = decode_json(with_span(json!({"kind": kind, "status": {"code": code}})))
                .expect("decodes");
            let span = spans(&request)[0];
            assert_eq!(span.kind, want_kind, "{kind}");
            assert_eq!(
                span.status.as_ref().map(|s| s.code),
                Some(want_code),
                "{code}"
            );
        }
    }

    #[test]
    fn unknown_enum_name_is_rejected() {
        assert_error(
            decode_json(with_span(json!({"kind": "SPAN_KIND_SERVR"}))),
            "resourceSpans[0].scopeSpans[0].spans[0].kind",
            "unknown SpanKind \"SPAN_KIND_SERVR\"; expected an integer or one of SPAN_KIND_UNSPECIFIED",
        );
        assert_error(
            decode_json(with_span(json!({"status": {"code": "FAILED"}}))),
            "resourceSpans[0].scopeSpans[0].spans[0].status.code",
            "unknown StatusCode \"FAILED\"",
        );
    }

    #[test]
    fn ids_are_checked_for_hex_and_length() {
        assert_error(
            decode_json(with_span(
                json!({"traceId": "0123456789abcdef0123456789abcde"}),
            )),
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
            "expected 32 hex characters, got 31",
        );
        assert_error(
            decode_json(with_span(json!({"spanId": "0123456789abcdeg"}))),
            "resourceSpans[0].scopeSpans[0].spans[0].spanId",
            "invalid hex character 'g' at position 15",
        );
        assert_error(
            decode_json(with_span(json!({"parent_span_id": "0123"}))),
            "resourceSpans[0].scopeSpans[0].spans[0].parent_span_id",
            "expected 16 hex characters or an empty string, got 4",
        );
        assert_error(
            decode_json(with_span(json!({"traceId": "ASNFZ4mrze8BI0VniavN7w=="}))),
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
            "ids must be hex, not base64",
        );
        assert_error(
            decode_json(
                json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "0123456789abcdef"}]}]}]}),
            ),
            "resourceSpans[0].scopeSpans[0].spans[0].traceId",
            "required field is missing",
        );
        assert_error(
            decode_json(with_span(
                json!({"links": [{"traceId": "0123456789abcdef0123456789abcdef", "spanId": ""}]}),
            )),
            "resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId",
            "expected 16 hex characters, got 0",
        );
    }

    #[test]
    fn ids_are_case_insensitive_and_empty_parent_means_root() {
        let request = decode_json(with_span(json!({
            "traceId": "ABCDEF0123456789abcdef0123456789",
            "parentSpanId": "",
        })))
        .expect("decodes");
        let span = spans(&request)[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "abcdef0123456789abcdef0123456789"
        );
        assert!(span.parent_span_id.is_empty());
    }

    #[test]
    fn integers_accept_numbers_and_strings_but_reject_bad_values() {
        let request = decode_json(with_span(json!({
            "startTimeUnixNano": 1_795_464_305_731_000_000_u64,
            "endTimeUnixNano": "18446744073709551615",
            "flags": "257",
            "attributes": [
                {"key": "min", "value": {"intValue": "-9223372036854775808"}},
                {"key": "exp", "value": {"intValue": 1e3}},
            ],
        })))
        .expect("decodes");
        let span = spans(&request)[0];
        assert_eq!(span.start_time_unix_nano, 1_795_464_305_731_000_000);
        assert_eq!(span.end_time_unix_nano, u64::MAX);
        assert_eq!(span.flags, 257);
        assert_eq!(
            attribute(&span.attributes, "min"),
            Some(&any_value::Value::IntValue(i64::MIN))
        );
        assert_eq!(
            attribute(&span.attributes, "exp"),
            Some(&any_value::Value::IntValue(1000))
        );

        let attr_path = "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.intValue";
        assert_error(
            decode_json(attribute_value(json!({"intValue": 1.5}))),
            attr_path,
            "expected an integer (int64), got fractional number 1.5",
        );
        assert_error(
            decode_json(attribute_value(json!({"intValue": "9223372036854775808"}))),
            attr_path,
            "9223372036854775808 is out of range for int64",
        );
        assert_error(
            decode_json(attribute_value(json!({"intValue": "12abc"}))),
            attr_path,
            "expected an integer (int64) as a number or decimal string, got \"12abc\"",
        );
        assert_error(
            decode_json(with_span(json!({"startTimeUnixNano": -1}))),
            "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano",
            "expected a non-negative integer (uint64), got -1",
        );
        assert_error(
            decode(br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0123456789abcdef0123456789abcdef","spanId":"0123456789abcdef","endTimeUnixNano":18446744073709551616}]}]}]}"#),
            "resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano",
            "out of range for uint64",
        );
        assert_error(
            decode_json(with_span(json!({"droppedLinksCount": 4_294_967_296_u64}))),
            "resourceSpans[0].scopeSpans[0].spans[0].droppedLinksCount",
            "4294967296 is out of range for uint32",
        );
        assert_error(
            decode_json(with_span(json!({"flags": true}))),
            "resourceSpans[0].scopeSpans[0].spans[0].flags",
            "expected an integer (uint32) as a number or decimal string, got a boolean",
        );
    }

    #[test]
    fn doubles_accept_proto3_special_strings() {
        let request = decode_json(with_span(json!({"attributes": [
            {"key": "nan", "value": {"doubleValue": "NaN"}},
            {"key": "inf", "value": {"doubleValue": "Infinity"}},
            {"key": "ninf", "value": {"doubleValue": "-Infinity"}},
            {"key": "str", "value": {"doubleValue": "2.5"}},
            {"key": "int", "value": {"doubleValue": 3}},
        ]})))
        .expect("decodes");
        let attrs = &spans(&request)[0].attributes;
        let double = |key| match attribute(attrs, key) {
            Some(any_value::Value::DoubleValue(d)) => *d,
            other => panic!("{key}: {other:?}"),
        };
        assert!(double("nan").is_nan());
        assert_eq!(double("inf"), f64::INFINITY);
        assert_eq!(double("ninf"), f64::NEG_INFINITY);
        assert_eq!(double("str"), 2.5);
        assert_eq!(double("int"), 3.0);
        assert_error(
            decode_json(attribute_value(json!({"doubleValue": "lots"}))),
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.doubleValue",
            "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", got \"lots\"",
        );
    }

    #[test]
    fn any_value_allows_empty_and_rejects_two_variants() {
        let request = decode_json(attribute_value(json!({}))).expect("decodes");
        let kv = &spans(&request)[0].attributes[0];
        assert_eq!(kv.value, Some(AnyValue { value: None }));

        let request = decode_json(attribute_value(
            json!({"stringValue": null, "boolValue": false}),
        ))
        .expect("null variant is absent");
        assert_eq!(
            attribute(&spans(&request)[0].attributes, "k"),
            Some(&any_value::Value::BoolValue(false))
        );

        assert_error(
            decode_json(attribute_value(json!({"stringValue": "a", "intValue": 1}))),
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value",
            "more than one value is set (intValue and stringValue)",
        );
        assert_error(
            decode_json(attribute_value(json!({"bytesValue": "not base64!"}))),
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue",
            "invalid base64",
        );
        assert_error(
            decode_json(attribute_value(json!({"stringValue": 5}))),
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.stringValue",
            "expected a string, got a number",
        );
    }

    #[test]
    fn nulls_unknown_keys_and_missing_resource_spans_are_tolerated() {
        assert_eq!(decode(b"{}"), Ok(ExportTraceServiceRequest::default()));
        assert_eq!(
            decode(br#"{"resourceSpans": null, "future": [1, 2]}"#),
            Ok(ExportTraceServiceRequest::default())
        );
        let request = decode_json(with_span(json!({
            "parentSpanId": null,
            "status": null,
            "name": null,
            "newField": {"x": 1},
        })))
        .expect("decodes");
        let span = spans(&request)[0];
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.status, None);
        assert_eq!(span.name, "");
    }

    #[test]
    fn malformed_bodies_report_the_whole_document() {
        assert_error(
            decode(b"{\"resourceSpans\":[{\"x\":\"\xff\"}]}"),
            "$",
            "line 1 column",
        );
        let err = decode(b"{\"resourceSpans\":[{\"x\":\"\xff\"}]}").expect_err("invalid UTF-8");
        assert!(err.message.contains("unicode"), "{err}");
        assert_error(
            decode(b"{\"resourceSpans\": [}"),
            "$",
            "expected value at line 1 column 20",
        );
        assert_error(decode(b"[]"), "$", "expected an object, got an array");
        assert_error(
            decode(br#"{"resourceSpans": {"scopeSpans": []}}"#),
            "resourceSpans",
            "expected an array, got an object",
        );
    }

    fn nested_arrays(levels: usize) -> serde_json::Value {
        let mut value = json!({"stringValue": "leaf"});
        for _ in 1..levels {
            value = json!({"arrayValue": {"values": [value]}});
        }
        value
    }

    #[test]
    fn nesting_is_capped_at_64_levels() {
        // Built as a Value: serde_json's own 128-level parse limit would stop such a body as
        // bytes before this decoder saw it.
        decode_value(attribute_value(nested_arrays(MAX_DEPTH))).expect("64 levels decode");
        let err = decode_value(attribute_value(nested_arrays(MAX_DEPTH + 1)))
            .expect_err("65 levels are too deep");
        assert_eq!(err.message, "nesting deeper than 64 levels");
        let expected_path = format!(
            "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value{}",
            ".arrayValue.values[0]".repeat(MAX_DEPTH)
        );
        assert_eq!(err.path, expected_path);

        let mut kvlist = json!({"intValue": 1});
        for _ in 0..MAX_DEPTH {
            kvlist = json!({"kvlistValue": {"values": [{"key": "k", "value": kvlist}]}});
        }
        let err = decode_value(attribute_value(kvlist)).expect_err("too deep");
        assert!(err.path.ends_with(".kvlistValue.values[0].value"), "{err}");
        assert_eq!(err.message, "nesting deeper than 64 levels");
    }

    #[test]
    fn nesting_beyond_the_json_parser_limit_is_an_error_not_a_crash() {
        let body = attribute_value(nested_arrays(200)).to_string();
        assert_error(decode(body.as_bytes()), "$", "recursion limit exceeded");
    }

    #[test]
    fn hand_written_json_round_trips_to_the_built_request() {
        let trace_id: Vec<u8> = (0xa0..0xb0).collect();
        let kv = |key: &str, value: any_value::Value| KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        };
        let built = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv(
                        "service.name",
                        any_value::Value::StringValue("svc".into()),
                    )],
                    dropped_attributes_count: 2,
                    entity_refs: vec![EntityRef {
                        schema_url: "https://schema".into(),
                        r#type: "service".into(),
                        id_keys: vec!["service.name".into()],
                        description_keys: vec![],
                    }],
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "demo".into(),
                        version: "1.0".into(),
                        attributes: vec![kv("lib", any_value::Value::BoolValue(true))],
                        dropped_attributes_count: 0,
                    }),
                    spans: vec![Span {
                        trace_id: trace_id.clone(),
                        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
                        trace_state: "a=b".into(),
                        parent_span_id: vec![9, 10, 11, 12, 13, 14, 15, 16],
                        flags: 257,
                        name: "chat".into(),
                        kind: SpanKind::Client as i32,
                        start_time_unix_nano: 1_700_000_000_000_000_001,
                        end_time_unix_nano: 1_700_000_000_500_000_000,
                        attributes: vec![
                            kv("s", any_value::Value::StringValue("héllo \"x\"".into())),
                            kv("i", any_value::Value::IntValue(-42)),
                            kv("d", any_value::Value::DoubleValue(0.25)),
                            kv("y", any_value::Value::BytesValue(vec![0xff, 0, 0x10])),
                            kv(
                                "a",
                                any_value::Value::ArrayValue(ArrayValue {
                                    values: vec![
                                        AnyValue {
                                            value: Some(any_value::Value::IntValue(1)),
                                        },
                                        AnyValue { value: None },
                                    ],
                                }),
                            ),
                            kv(
                                "m",
                                any_value::Value::KvlistValue(KeyValueList {
                                    values: vec![kv(
                                        "role",
                                        any_value::Value::StringValue("user".into()),
                                    )],
                                }),
                            ),
                        ],
                        dropped_attributes_count: 1,
                        events: vec![Event {
                            time_unix_nano: 1_700_000_000_100_000_000,
                            name: "exception".into(),
                            attributes: vec![kv(
                                "exception.type",
                                any_value::Value::StringValue("E".into()),
                            )],
                            dropped_attributes_count: 0,
                        }],
                        dropped_events_count: 3,
                        links: vec![Link {
                            trace_id: trace_id.clone(),
                            span_id: vec![8, 7, 6, 5, 4, 3, 2, 1],
                            trace_state: String::new(),
                            attributes: vec![],
                            dropped_attributes_count: 0,
                            flags: 1,
                        }],
                        dropped_links_count: 4,
                        status: Some(Status {
                            message: "boom".into(),
                            code: StatusCode::Error as i32,
                        }),
                    }],
                    schema_url: "https://scope-schema".into(),
                }],
                schema_url: String::new(),
            }],
        };
        let written = json!({"resourceSpans": [{
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}],
                "droppedAttributesCount": 2,
                "entityRefs": [{"schemaUrl": "https://schema", "type": "service",
                                "idKeys": ["service.name"], "descriptionKeys": []}],
            },
            "scopeSpans": [{
                "scope": {"name": "demo", "version": "1.0",
                          "attributes": [{"key": "lib", "value": {"boolValue": true}}]},
                "spans": [{
                    "traceId": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                    "spanId": "0102030405060708",
                    "traceState": "a=b",
                    "parentSpanId": "090a0b0c0d0e0f10",
                    "flags": 257,
                    "name": "chat",
                    "kind": 3,
                    "startTimeUnixNano": "1700000000000000001",
                    "endTimeUnixNano": "1700000000500000000",
                    "attributes": [
                        {"key": "s", "value": {"stringValue": "héllo \"x\""}},
                        {"key": "i", "value": {"intValue": "-42"}},
                        {"key": "d", "value": {"doubleValue": 0.25}},
                        {"key": "y", "value": {"bytesValue": "/wAQ"}},
                        {"key": "a", "value": {"arrayValue": {"values": [{"intValue": "1"}, {}]}}},
                        {"key": "m", "value": {"kvlistValue": {"values": [
                            {"key": "role", "value": {"stringValue": "user"}}]}}},
                    ],
                    "droppedAttributesCount": 1,
                    "events": [{"timeUnixNano": "1700000000100000000", "name": "exception",
                                "attributes": [{"key": "exception.type",
                                                "value": {"stringValue": "E"}}]}],
                    "droppedEventsCount": 3,
                    "links": [{"traceId": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
                               "spanId": "0807060504030201", "flags": 1}],
                    "droppedLinksCount": 4,
                    "status": {"code": 2, "message": "boom"},
                }],
                "schemaUrl": "https://scope-schema",
            }],
        }]});
        assert_eq!(decode_json(written), Ok(built));
    }
}
