//! The stored form of a span: a few indexed columns ([`SpanRow`]) and the rest as one
//! compressed JSON document ([`SpanPayload`]). Encoding runs on the request's task, not in the
//! single writer, so compression scales with the request concurrency.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::model::{Attributes, Span, SpanEvent, SpanId, SpanKind, SpanLink, StatusCode, TraceId};

/// Longest request/response preview kept on the trace row (MLflow's client truncates to
/// 1000 characters too).
pub const PREVIEW_CHARS: usize = 1000;

/// zstd level 1: ~4-6x smaller LLM payloads at a few hundred MB/s per core; higher levels
/// cost ingest throughput for a few percent of disk.
const ZSTD_LEVEL: i32 = 1;

/// Everything about a span that is not an indexed column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SpanPayload {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub otel_kind: i32,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_version: Option<String>,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDoc {
    pub name: String,
    pub time_ns: i64,
    #[serde(default)]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkDoc {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub attributes: Attributes,
}

impl From<SpanEvent> for EventDoc {
    fn from(e: SpanEvent) -> Self {
        EventDoc {
            name: e.name,
            time_ns: e.time_ns,
            attributes: e.attributes,
        }
    }
}

impl From<SpanLink> for LinkDoc {
    fn from(l: SpanLink) -> Self {
        LinkDoc {
            trace_id: hex::encode(l.trace_id),
            span_id: hex::encode(l.span_id),
            attributes: l.attributes,
        }
    }
}

thread_local! {
    // Creating a zstd context per span cost a fifth of ingest CPU (it allocates ~1 MB and, on
    // VMs, traps on `cpuid`); one context per thread is reused for every span.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Largest payload we agree to inflate (a corrupt frame header must not allocate gigabytes).
const MAX_PAYLOAD_BYTES: u64 = 256 << 20;

fn compress(json: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(zstd::bulk::Compressor::new(ZSTD_LEVEL)?);
        }
        match c.as_mut() {
            Some(c) => c.compress(json),
            None => Err(std::io::Error::other("BUG: compressor missing")),
        }
    })
}

fn decompress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let size = match zstd::zstd_safe::get_frame_content_size(bytes) {
        Ok(Some(n)) if n <= MAX_PAYLOAD_BYTES => n as usize,
        // Frames without a declared size (not written by us): stream them.
        _ => return zstd::stream::decode_all(bytes),
    };
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        match d.as_mut() {
            Some(d) => d.decompress(bytes, size),
            None => Err(std::io::Error::other("BUG: decompressor missing")),
        }
    })
}

impl SpanPayload {
    pub fn encode(&self) -> Vec<u8> {
        // Serialising a serde_json::Map cannot fail; an empty payload is the safe fallback.
        let json = serde_json::to_vec(self).unwrap_or_default();
        compress(&json).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<SpanPayload, String> {
        if bytes.is_empty() {
            return Ok(SpanPayload::default());
        }
        let json = decompress(bytes).map_err(|e| format!("zstd: {e}"))?;
        serde_json::from_slice(&json).map_err(|e| format!("payload json: {e}"))
    }
}

/// A span ready for `INSERT`, plus the facts the trace merge needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: StatusCode,
    pub status_message: String,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub cost_input: Option<f64>,
    pub cost_output: Option<f64>,
    /// zstd-compressed JSON [`SpanPayload`].
    pub payload: Vec<u8>,
    /// Bit set of facts rollups count ([`crate::rollup::FLAG_BLOCKED`]).
    pub flags: i64,
    // Not columns: read by the trace merge.
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    /// Values replaced by PII redaction (also kept as the span attribute
    /// `sightline.redactions`).
    pub redactions: i64,
    /// What `span.content`, `text` and `span.attributes.*` search (`span_text.rs`).
    pub search: super::span_text::SpanText,
}

impl SpanRow {
    /// A plain OK span with no LLM facts and no payload, for tests of the merge and rollups.
    #[cfg(test)]
    pub(crate) fn bare(
        trace_id: TraceId,
        id: u8,
        parent: Option<u8>,
        name: &str,
        start_ns: i64,
        end_ns: i64,
    ) -> SpanRow {
        SpanRow {
            trace_id,
            span_id: [id; 8],
            parent_span_id: parent.map(|p| [p; 8]),
            name: name.into(),
            kind: crate::model::SpanKind::Unknown,
            start_ns,
            end_ns,
            status: StatusCode::Ok,
            status_message: String::new(),
            model: None,
            provider: None,
            input_tokens: None,
            output_tokens: None,
            cached_tokens: None,
            cost_input: None,
            cost_output: None,
            payload: Vec::new(),
            flags: 0,
            session_id: None,
            user_id: None,
            request_preview: None,
            response_preview: None,
            redactions: 0,
            search: Default::default(),
        }
    }

    pub fn cost(&self) -> Option<f64> {
        match (self.cost_input, self.cost_output) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0.0) + o.unwrap_or(0.0)),
        }
    }

    /// Prepares a normalised span for storage (compresses its payload).
    pub fn prepare(span: Span) -> SpanRow {
        let Span { raw, facts } = span;
        let is_root = raw.parent_span_id.is_none();
        let redactions = raw
            .attributes
            .get(crate::normalize::redact::COUNT_ATTRIBUTE)
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        let search = super::span_text::SpanText::of(
            facts.inputs.as_ref(),
            facts.outputs.as_ref(),
            &raw.attributes,
        );
        let payload = SpanPayload {
            otel_kind: raw.otel_kind,
            attributes: raw.attributes,
            events: raw.events.into_iter().map(EventDoc::from).collect(),
            links: raw.links.into_iter().map(LinkDoc::from).collect(),
            scope_name: raw.scope_name,
            scope_version: raw.scope_version,
        };
        SpanRow {
            trace_id: raw.trace_id,
            span_id: raw.span_id,
            parent_span_id: raw.parent_span_id,
            name: raw.name,
            kind: facts.kind,
            start_ns: raw.start_ns,
            end_ns: raw.end_ns,
            status: raw.status,
            status_message: raw.status_message,
            model: facts.model,
            provider: facts.provider,
            input_tokens: facts.input_tokens,
            output_tokens: facts.output_tokens,
            cached_tokens: facts.cached_tokens,
            cost_input: facts.cost.map(|c| c.input),
            cost_output: facts.cost.map(|c| c.output),
            payload: payload.encode(),
            flags: if facts.guardrail_blocked {
                crate::rollup::FLAG_BLOCKED
            } else {
                0
            },
            session_id: facts.session_id,
            user_id: facts.user_id,
            request_preview: if is_root {
                facts.inputs.as_ref().map(preview)
            } else {
                None
            },
            response_preview: if is_root {
                facts.outputs.as_ref().map(preview)
            } else {
                None
            },
            redactions,
            search,
        }
    }
}

/// A short text for lists: strings as they are, anything else as compact JSON; cut at
/// [`PREVIEW_CHARS`] characters.
pub fn preview(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    truncate_chars(s, PREVIEW_CHARS)
}

pub fn truncate_chars(mut s: String, max: usize) -> String {
    if let Some((idx, _)) = s.char_indices().nth(max) {
        s.truncate(idx);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_round_trips_through_zstd() {
        let mut attributes = Attributes::new();
        attributes.insert("input.value".into(), json!("hello ".repeat(200)));
        attributes.insert("n".into(), json!(3));
        let p = SpanPayload {
            otel_kind: 3,
            attributes,
            events: vec![EventDoc {
                name: "exception".into(),
                time_ns: 5,
                attributes: Attributes::new(),
            }],
            links: vec![],
            scope_name: Some("demo".into()),
            scope_version: None,
        };
        let bytes = p.encode();
        assert!(
            bytes.len() < 200,
            "repetitive text compresses: {} bytes",
            bytes.len()
        );
        assert_eq!(SpanPayload::decode(&bytes).unwrap(), p);
    }

    #[test]
    fn preview_cuts_on_char_boundaries() {
        let s = "é".repeat(1500);
        assert_eq!(preview(&json!(s)).chars().count(), PREVIEW_CHARS);
        assert_eq!(preview(&json!({"q": 1})), r#"{"q":1}"#);
    }

    #[test]
    fn corrupt_payload_is_an_error_not_a_panic() {
        assert!(SpanPayload::decode(b"not zstd").is_err());
    }
}
