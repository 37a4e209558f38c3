//! Types that cross between server and browser. Plain data: no behaviour beyond formatting.

use serde::{Deserialize, Serialize};

/// Trace status as users see it (MLflow's TraceInfoV3 `state` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceStatus {
    Ok,
    Error,
    InProgress,
    Unspecified,
}

impl TraceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceStatus::Ok => "OK",
            TraceStatus::Error => "ERROR",
            TraceStatus::InProgress => "IN_PROGRESS",
            TraceStatus::Unspecified => "STATE_UNSPECIFIED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OK" => TraceStatus::Ok,
            "ERROR" => TraceStatus::Error,
            "IN_PROGRESS" => TraceStatus::InProgress,
            "STATE_UNSPECIFIED" => TraceStatus::Unspecified,
            _ => return None,
        })
    }
}

/// One row of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// 32 lowercase hex characters (the OTel trace id); MLflow shows it as `tr-<hex>`.
    pub trace_id: String,
    pub experiment_id: String,
    pub name: Option<String>,
    pub start_ms: i64,
    /// `None` while the root span has not arrived.
    pub duration_ms: Option<f64>,
    pub status: TraceStatus,
    pub models: Vec<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost: Option<f64>,
    pub span_count: i64,
    pub error_count: i64,
    pub session_id: Option<String>,
    pub request_preview: Option<String>,
}

/// What the trace list asks for: one page of the traces matching a filter, in one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TraceListQuery {
    pub experiment_id: Option<String>,
    /// Filter grammar text ([`crate::filter::parse`]); empty matches everything.
    #[serde(default)]
    pub filter: String,
    /// Start time at or after this (epoch ms).
    pub from_ms: Option<i64>,
    /// Start time before this (epoch ms).
    pub to_ms: Option<i64>,
    #[serde(default)]
    pub sort: TraceSort,
    /// [`TracePage::next_cursor`] of the previous page; `None` for the first page.
    pub cursor: Option<String>,
    /// Page size, 1..=500.
    pub limit: u32,
}

/// The trace list's order. Ties are broken by arrival order, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum TraceSort {
    #[default]
    StartDesc,
    StartAsc,
    DurationDesc,
    DurationAsc,
}

impl TraceSort {
    pub const ALL: [TraceSort; 4] = [
        TraceSort::StartDesc,
        TraceSort::StartAsc,
        TraceSort::DurationDesc,
        TraceSort::DurationAsc,
    ];

    /// The spelling in URLs (`?sort=start_desc`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraceSort::StartDesc => "start_desc",
            TraceSort::StartAsc => "start_asc",
            TraceSort::DurationDesc => "duration_desc",
            TraceSort::DurationAsc => "duration_asc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// For the sort menu.
    pub fn label(self) -> &'static str {
        match self {
            TraceSort::StartDesc => "Newest first",
            TraceSort::StartAsc => "Oldest first",
            TraceSort::DurationDesc => "Slowest first",
            TraceSort::DurationAsc => "Fastest first",
        }
    }
}

/// One page of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TracePage {
    pub traces: Vec<TraceSummary>,
    /// Opaque; pass it back as [`TraceListQuery::cursor`] for the next page. `None` on the
    /// last page.
    pub next_cursor: Option<String>,
}

/// One row of the sessions list: a conversation rolled up from its traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub user_id: Option<String>,
    pub trace_count: i64,
    /// Earliest trace start (epoch ms).
    pub first_ms: i64,
    /// Latest trace end (epoch ms).
    pub last_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// `None` when no trace has a price.
    pub cost: Option<f64>,
    /// Traces whose status is `ERROR`.
    pub error_count: i64,
}

/// One page of the sessions list, newest activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    /// Opaque; pass it back to get the next page. `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A session as a conversation: its totals and its traces in start order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    pub summary: SessionSummary,
    pub turns: Vec<SessionTurn>,
}

/// One message of a session: the trace (its request preview is the user's text) and what
/// the assistant answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTurn {
    pub trace: TraceSummary,
    pub response_preview: Option<String>,
}

/// A whole trace for the waterfall: the list row, its tags and every span without payload,
/// ordered by start time. Payloads (attributes, events, inputs) come one span at a time as
/// [`SpanDetail`], so a 10,000-span trace stays a few megabytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceTree {
    pub summary: TraceSummary,
    pub tags: Vec<(String, String)>,
    pub spans: Vec<SpanNode>,
}

/// One waterfall row's worth of a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanNode {
    /// 16 lowercase hex characters.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    /// MLflow span type: `LLM`, `CHAT_MODEL`, `RETRIEVER`, … `UNKNOWN`.
    pub kind: String,
    /// Milliseconds from the trace's start.
    pub start_offset_ms: f64,
    pub duration_ms: f64,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    pub status: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl SpanNode {
    pub const STATUS_ERROR: u8 = 2;

    pub fn end_offset_ms(&self) -> f64 {
        self.start_offset_ms + self.duration_ms
    }

    pub fn is_error(&self) -> bool {
        self.status == Self::STATUS_ERROR
    }
}

/// Everything about one span, for the detail panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanDetail {
    pub node: SpanNode,
    pub status_message: String,
    pub provider: Option<String>,
    pub cached_tokens: Option<i64>,
    /// Key and value as JSON text, sorted by key.
    pub attributes: Vec<(String, String)>,
    pub events: Vec<SpanEventView>,
    /// Pretty-printed JSON, or the text itself when the input is a string.
    pub inputs: Option<String>,
    pub outputs: Option<String>,
    /// The conversation, when the inputs/outputs hold chat messages in a known shape.
    pub chat: Option<Vec<ChatMessage>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEventView {
    pub name: String,
    /// Milliseconds from the span's start.
    pub offset_ms: f64,
    /// Key and value as JSON text.
    pub attributes: Vec<(String, String)>,
}

impl SpanEventView {
    /// An attribute's text: strings unquoted, anything else as its JSON.
    pub fn attribute(&self, key: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| json_text(v))
    }
}

/// One chat turn. `role` is normalised to `system`, `user`, `assistant` or `tool` (other
/// roles pass through in lower case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// Shows a JSON-text attribute value: a JSON string without its quotes, anything else as sent.
pub fn json_text(v: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => v.to_string(),
    }
}
