//! Domain types shared by the pipeline stages (receive → normalize → store → query). Plain
//! data; the rules that fill them live in `normalize` and `store::merge`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use app::types::TraceStatus;

pub type TraceId = [u8; 16];
pub type SpanId = [u8; 8];

/// Attribute maps: OTLP `AnyValue` trees decoded to JSON (string, i64, f64, bool, array,
/// object for kvlist; bytes as `{"bytes": base64}`), insertion order kept.
pub type Attributes = Map<String, Value>;

/// The LLM-level kind of a span, from whichever convention the client used (PROTOCOL.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SpanKind {
    Llm,
    ChatModel,
    Chain,
    Agent,
    Tool,
    Retriever,
    Embedding,
    Reranker,
    Parser,
    Memory,
    Workflow,
    Task,
    Guardrail,
    Evaluator,
    Unknown,
}

impl SpanKind {
    pub const ALL: [SpanKind; 15] = [
        SpanKind::Llm,
        SpanKind::ChatModel,
        SpanKind::Chain,
        SpanKind::Agent,
        SpanKind::Tool,
        SpanKind::Retriever,
        SpanKind::Embedding,
        SpanKind::Reranker,
        SpanKind::Parser,
        SpanKind::Memory,
        SpanKind::Workflow,
        SpanKind::Task,
        SpanKind::Guardrail,
        SpanKind::Evaluator,
        SpanKind::Unknown,
    ];

    /// MLflow's span type name (`mlflow.spanType`).
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Llm => "LLM",
            SpanKind::ChatModel => "CHAT_MODEL",
            SpanKind::Chain => "CHAIN",
            SpanKind::Agent => "AGENT",
            SpanKind::Tool => "TOOL",
            SpanKind::Retriever => "RETRIEVER",
            SpanKind::Embedding => "EMBEDDING",
            SpanKind::Reranker => "RERANKER",
            SpanKind::Parser => "PARSER",
            SpanKind::Memory => "MEMORY",
            SpanKind::Workflow => "WORKFLOW",
            SpanKind::Task => "TASK",
            SpanKind::Guardrail => "GUARDRAIL",
            SpanKind::Evaluator => "EVALUATOR",
            SpanKind::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Option<SpanKind> {
        SpanKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Kinds that call a model: their tokens are what the trace is billed for.
    pub fn is_model_call(self) -> bool {
        matches!(
            self,
            SpanKind::Llm | SpanKind::ChatModel | SpanKind::Embedding | SpanKind::Reranker
        )
    }
}

/// OTLP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusCode {
    #[default]
    Unset = 0,
    Ok = 1,
    Error = 2,
}

impl StatusCode {
    pub fn from_i32(v: i32) -> StatusCode {
        match v {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    pub name: String,
    pub time_ns: i64,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpanLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: Attributes,
}

/// A span as decoded from any protocol, before its LLM facts are derived.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    /// OTLP SpanKind (0 unspecified … 5 consumer).
    pub otel_kind: i32,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: StatusCode,
    pub status_message: String,
    pub attributes: Attributes,
    pub events: Vec<SpanEvent>,
    pub links: Vec<SpanLink>,
    pub scope_name: Option<String>,
    pub scope_version: Option<String>,
}

/// Spans of one OTLP `ResourceSpans`, with the resource's attributes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceGroup {
    pub resource: Attributes,
    pub spans: Vec<RawSpan>,
}

/// Cost in USD of one span or trace.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    pub input: f64,
    pub output: f64,
    pub total: f64,
}

/// What a span means for an LLM team, derived from its attributes by `normalize`.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmFacts {
    pub kind: SpanKind,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    /// Cache-read input tokens (a subset of `input_tokens`, as in the GenAI conventions).
    pub cached_tokens: Option<i64>,
    pub cost: Option<Cost>,
    pub inputs: Option<serde_json::Value>,
    pub outputs: Option<serde_json::Value>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    /// A guardrail that stopped the answer (see `normalize::conventions::guardrail_blocked`).
    pub guardrail_blocked: bool,
}

impl Default for LlmFacts {
    fn default() -> Self {
        LlmFacts {
            kind: SpanKind::Unknown,
            model: None,
            provider: None,
            input_tokens: None,
            output_tokens: None,
            cached_tokens: None,
            cost: None,
            inputs: None,
            outputs: None,
            session_id: None,
            user_id: None,
            guardrail_blocked: false,
        }
    }
}

/// A span ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub raw: RawSpan,
    pub facts: LlmFacts,
}

/// Trace-level facts that come with spans but are not span data: the experiment, tags from
/// resource attributes and `mlflow.traceTag.*`, the service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TracePatch {
    pub trace_id: TraceId,
    pub experiment_id: i64,
    pub service_name: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Values redacted in the resource the trace's spans came with.
    pub redactions: i64,
}

/// MLflow's TraceInfoV3 as sent by StartTraceV3: authoritative for trace-level fields
/// (PROTOCOL.md §2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceInfo {
    pub trace_id: TraceId,
    pub experiment_id: i64,
    pub client_request_id: Option<String>,
    pub request_time_ms: Option<i64>,
    pub execution_duration_ms: Option<f64>,
    pub state: Option<TraceStatus>,
    pub metadata: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    /// Values redacted in this info (previews, tags, metadata).
    pub redactions: i64,
}

/// One unit of work for the writer: committed in one transaction with others.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WriteBatch {
    pub spans: Vec<Span>,
    pub patches: Vec<TracePatch>,
    pub infos: Vec<TraceInfo>,
}

impl WriteBatch {
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty() && self.patches.is_empty() && self.infos.is_empty()
    }
}

/// An MLflow experiment (traces live in one).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub experiment_id: i64,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub creation_time_ms: i64,
    pub last_update_time_ms: i64,
    pub tags: BTreeMap<String, String>,
}

/// One model's list price, per million tokens, in force from `effective_from_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrice {
    pub model: String,
    pub provider: Option<String>,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cached_input_per_mtok: Option<f64>,
    pub effective_from_ms: i64,
}

pub fn hex_trace_id(id: &TraceId) -> String {
    hex::encode(id)
}

/// MLflow's trace id: `tr-` + lowercase hex of the OTel trace id (PROTOCOL.md §5.1).
pub fn mlflow_trace_id(id: &TraceId) -> String {
    format!("tr-{}", hex::encode(id))
}

/// Parses `tr-<32 hex>` or bare 32 hex.
pub fn parse_trace_id(s: &str) -> Option<TraceId> {
    let h = s.strip_prefix("tr-").unwrap_or(s);
    let mut out = [0u8; 16];
    hex::decode_to_slice(h, &mut out).ok()?;
    Some(out)
}
