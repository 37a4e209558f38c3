//! OTLP `ExportTraceServiceRequest` (however it arrived: protobuf, JSON, gRPC) → domain
//! spans. Validates ids and hard limits (a violation refuses the request: 400), and sorts out
//! spans that are individually unusable (reported through `partial_success`).

use base64::Engine;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use serde_json::{Map, Number, Value};

use crate::model::{Attributes, RawSpan, ResourceGroup, SpanEvent, SpanLink, StatusCode};

use super::{Error, Limits};

/// Deeper AnyValue nesting is refused (protects the JSON encoder and readers).
const MAX_DEPTH: usize = 64;

/// Spans accepted from a request, and why others were not.
#[derive(Debug, Default)]
pub struct Decoded {
    pub groups: Vec<ResourceGroup>,
    pub rejected: Vec<String>,
}

impl Decoded {
    pub fn span_count(&self) -> usize {
        self.groups.iter().map(|g| g.spans.len()).sum()
    }
}

/// Converts and validates a request.
pub fn decode_request(req: ExportTraceServiceRequest, limits: &Limits) -> Result<Decoded, Error> {
    let mut out = Decoded::default();
    for (ri, rs) in req.resource_spans.into_iter().enumerate() {
        let path = format!("resourceSpans[{ri}]");
        let resource = match rs.resource {
            Some(r) => attributes(r.attributes, limits, &format!("{path}.resource"))?,
            None => Map::new(),
        };
        let mut group = ResourceGroup {
            resource,
            spans: Vec::new(),
        };
        for (si, ss) in rs.scope_spans.into_iter().enumerate() {
            let (scope_name, scope_version) = match ss.scope {
                Some(s) => (non_empty(s.name), non_empty(s.version)),
                None => (None, None),
            };
            for (pi, span) in ss.spans.into_iter().enumerate() {
                let path = format!("{path}.scopeSpans[{si}].spans[{pi}]");
                let trace_id = span.trace_id.as_slice().try_into().map_err(|_| {
                    Error::Invalid(format!(
                        "{path}.traceId must be 16 bytes, got {}",
                        span.trace_id.len()
                    ))
                })?;
                if span.trace_id.iter().all(|b| *b == 0) {
                    return Err(Error::Invalid(format!(
                        "{path}.traceId is all zeros (invalid)"
                    )));
                }
                let span_id: [u8; 8] = span.span_id.as_slice().try_into().map_err(|_| {
                    Error::Invalid(format!(
                        "{path}.spanId must be 8 bytes, got {}",
                        span.span_id.len()
                    ))
                })?;
                if span_id == [0; 8] {
                    return Err(Error::Invalid(format!(
                        "{path}.spanId is all zeros (invalid)"
                    )));
                }
                let parent_span_id = match span.parent_span_id.len() {
                    0 => None,
                    8 if span.parent_span_id.iter().all(|b| *b == 0) => None,
                    8 => span.parent_span_id.as_slice().try_into().ok(),
                    n => {
                        return Err(Error::Invalid(format!(
                            "{path}.parentSpanId must be empty or 8 bytes, got {n}"
                        )))
                    }
                };
                for (name, n, max) in [
                    ("attributes", span.attributes.len(), limits.max_attributes),
                    ("events", span.events.len(), limits.max_events),
                    ("links", span.links.len(), limits.max_links),
                ] {
                    if n > max {
                        return Err(Error::Invalid(format!(
                            "{path} has {n} {name}; the limit is {max}"
                        )));
                    }
                }
                let start_ns = nanos(span.start_time_unix_nano, &path, "startTimeUnixNano")?;
                let end_ns = nanos(span.end_time_unix_nano, &path, "endTimeUnixNano")?;
                let attrs = attributes(span.attributes, limits, &format!("{path}.attributes"))?;
                let mut events = Vec::with_capacity(span.events.len());
                for (ei, e) in span.events.into_iter().enumerate() {
                    let epath = format!("{path}.events[{ei}]");
                    events.push(SpanEvent {
                        name: e.name,
                        time_ns: nanos(e.time_unix_nano, &epath, "timeUnixNano")?,
                        attributes: attributes(e.attributes, limits, &epath)?,
                    });
                }
                let mut links = Vec::with_capacity(span.links.len());
                for (li, l) in span.links.into_iter().enumerate() {
                    let lpath = format!("{path}.links[{li}]");
                    let (Ok(t), Ok(s)) = (
                        l.trace_id.as_slice().try_into(),
                        l.span_id.as_slice().try_into(),
                    ) else {
                        return Err(Error::Invalid(format!(
                            "{lpath} has an invalid traceId/spanId"
                        )));
                    };
                    links.push(SpanLink {
                        trace_id: t,
                        span_id: s,
                        attributes: attributes(l.attributes, limits, &lpath)?,
                    });
                }
                if end_ns < start_ns {
                    // One bad clock reading should not cost the client its whole batch.
                    out.rejected.push(format!(
                        "span {} ({}) ends before it starts",
                        hex::encode(span_id),
                        span.name
                    ));
                    continue;
                }
                let (status, status_message) = match span.status {
                    Some(s) => (StatusCode::from_i32(s.code), s.message),
                    None => (StatusCode::Unset, String::new()),
                };
                group.spans.push(RawSpan {
                    trace_id,
                    span_id,
                    parent_span_id,
                    name: span.name,
                    otel_kind: span.kind,
                    start_ns,
                    end_ns,
                    status,
                    status_message,
                    attributes: attrs,
                    events,
                    links,
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                });
            }
        }
        if !group.spans.is_empty() {
            out.groups.push(group);
        }
    }
    Ok(out)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn nanos(v: u64, path: &str, field: &str) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::Invalid(format!("{path}.{field} {v} is after year 2262")))
}

/// Decodes OTLP attributes to JSON, keeping the first of duplicate keys (OTLP says keys are
/// unique; a broken client's duplicates must not silently replace earlier values).
pub fn attributes(kvs: Vec<KeyValue>, limits: &Limits, path: &str) -> Result<Attributes, Error> {
    if kvs.len() > limits.max_attributes {
        return Err(Error::Invalid(format!(
            "{path} has {} attributes; the limit is {}",
            kvs.len(),
            limits.max_attributes
        )));
    }
    let mut map = Map::with_capacity(kvs.len());
    for kv in kvs {
        let v = any_to_json(kv.value, 0)
            .map_err(|e| Error::Invalid(format!("{path}.{}: {e}", kv.key)))?;
        map.entry(kv.key).or_insert(v);
    }
    Ok(map)
}

/// OTLP AnyValue → JSON (kvlist → object, bytes → `{"bytes": base64}`; non-finite doubles as
/// strings, since JSON has no NaN).
pub fn any_to_json(v: Option<AnyValue>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("value nested deeper than {MAX_DEPTH} levels"));
    }
    let Some(v) = v.and_then(|a| a.value) else {
        return Ok(Value::Null);
    };
    Ok(match v {
        any_value::Value::StringValue(s) => Value::String(s),
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::Number(i.into()),
        any_value::Value::DoubleValue(d) => match Number::from_f64(d) {
            Some(n) => Value::Number(n),
            None => Value::String(d.to_string()),
        },
        any_value::Value::ArrayValue(a) => Value::Array(
            a.values
                .into_iter()
                .map(|x| any_to_json(Some(x), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        any_value::Value::KvlistValue(kv) => {
            let mut m = Map::with_capacity(kv.values.len());
            for e in kv.values {
                let v = any_to_json(e.value, depth + 1)?;
                m.entry(e.key).or_insert(v);
            }
            Value::Object(m)
        }
        // A dictionary reference that only means something inside OTLP profiles.
        any_value::Value::StringValueStrindex(_) => {
            return Err("string_value_strindex is not valid in traces".into())
        }
        any_value::Value::BytesValue(b) => {
            let mut m = Map::new();
            m.insert(
                "bytes".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            );
            Value::Object(m)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    fn req(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn span(id: u8) -> Span {
        Span {
            trace_id: vec![1; 16],
            span_id: vec![id; 8],
            name: format!("s{id}"),
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            ..Default::default()
        }
    }

    #[test]
    fn invalid_ids_refuse_the_request_and_name_the_field() {
        let mut bad = span(1);
        bad.trace_id = vec![1; 15];
        let err = decode_request(req(vec![bad]), &Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "resourceSpans[0].scopeSpans[0].spans[0].traceId must be 16 bytes, got 15"
        );
        let mut zero = span(1);
        zero.span_id = vec![0; 8];
        let err = decode_request(req(vec![zero]), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("spanId is all zeros"), "{err}");
    }

    #[test]
    fn a_span_ending_before_it_starts_is_rejected_alone() {
        let mut bad = span(2);
        bad.end_time_unix_nano = 5;
        let d = decode_request(req(vec![span(1), bad]), &Limits::default()).unwrap();
        assert_eq!(d.span_count(), 1);
        assert_eq!(d.rejected.len(), 1);
        assert!(d.rejected[0].contains("ends before it starts"));
    }

    #[test]
    fn absurd_attribute_counts_are_refused() {
        let mut s = span(1);
        s.attributes = (0..20)
            .map(|i| KeyValue {
                key: format!("k{i}"),
                ..Default::default()
            })
            .collect();
        let limits = Limits {
            max_attributes: 10,
            ..Limits::default()
        };
        let err = decode_request(req(vec![s]), &limits).unwrap_err();
        assert!(
            err.to_string()
                .contains("has 20 attributes; the limit is 10"),
            "{err}"
        );
    }

    #[test]
    fn any_values_become_json() {
        let v = AnyValue {
            value: Some(any_value::Value::KvlistValue(
                opentelemetry_proto::tonic::common::v1::KeyValueList {
                    values: vec![
                        KeyValue {
                            key: "n".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::IntValue(5)),
                            }),
                            ..Default::default()
                        },
                        KeyValue {
                            key: "x".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::DoubleValue(f64::NAN)),
                            }),
                            ..Default::default()
                        },
                    ],
                },
            )),
        };
        assert_eq!(
            any_to_json(Some(v), 0).unwrap(),
            serde_json::json!({"n": 5, "x": "NaN"})
        );
    }
}
