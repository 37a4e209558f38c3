//! The MangaAssist trace model: one OTLP trace per chatbot message, with the span tree, timings,
//! failure modes and attributes (OpenTelemetry GenAI, OpenInference, MLflow and plain tags) of
//! `shared/bench/workload.py`. It builds protobuf messages only; sending belongs to `sender`.
//!
//! Trace shape (cache miss, 20 spans):
//!
//! ```text
//! chat_request (root, SERVER, CHAIN)
//!   receive_message 12ms · load_context 8ms · classify_intent 15ms (CHAIN)
//!   rag_retrieval (RETRIEVER) › embed_query 25ms, vector_search 45ms, rerank 110ms
//!   generate_response (CHAIN) › build_prompt 5ms, llm_call 620ms (LLM), parse_output 25ms
//!   apply_guardrails (CHAIN) › 6 GUARDRAIL stages
//!   save_return 12ms
//! ```
//!
//! A cache hit (42%) replaces `rag_retrieval` and `generate_response` (8 spans) by one
//! `cache_lookup` span, leaving 13 spans.
//!
//! Determinism: trace `index` depends only on (seed, index, start, session, message number,
//! knobs), never on how many traces were generated before it.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use rand::rngs::SmallRng;
use rand::Rng;
use serde_json::{json, Value as Json};

use super::catalog::{
    self, choose, gauss, pick, pick_name, round_to, stream_rng, text, Stream, CLASSIFICATION_PATHS,
    ERROR_SITES, GUARDRAILS, INTENTS, MODELS, PAGE_TYPES, REGIONS, SYSTEM_PROMPTS,
};

pub const CACHE_HIT_RATE: f64 = 0.42;
pub const ERROR_RATE: f64 = 0.003;
pub const BLOCK_RATE: f64 = 0.03;
/// Slow backend episodes give the heavy tail (trace P99 around 1.2–1.5 s).
pub const SLOW_RATE: f64 = 0.02;
pub const AUTHENTICATED_RATE: f64 = 0.62;
pub const SCOPE_NAME: &str = "mangaassist.demo";
pub const SCOPE_VERSION: &str = "1.0";
pub const SERVICE_NAME: &str = "mangaassist-chatbot";
pub const DEFAULT_PROJECT: &str = "mangaassist";

/// Runtime knobs that bend the workload, so alerting can be exercised with a latency spike or
/// an error burst without touching the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// Multiplies the `llm_call` and `rerank` durations (1.0 = normal).
    pub latency_factor: f64,
    /// Replaces the 0.3% error rate when set (0.0..=1.0).
    pub error_rate: Option<f64>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            latency_factor: 1.0,
            error_rate: None,
        }
    }
}

/// Which attribute conventions the spans carry; all four by default, which is what a
/// mixed fleet of instrumentations sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conventions {
    /// OpenTelemetry GenAI (`gen_ai.*`).
    pub otel: bool,
    /// OpenInference (`openinference.span.kind`, `llm.*`, `input.value`, …).
    pub oi: bool,
    /// MLflow (`mlflow.spanType`, `mlflow.spanInputs`, `mlflow.traceTag.*`, …).
    pub mlflow: bool,
    /// Bare tags on the root span (`intent`, `region`, …).
    pub plain: bool,
}

impl Default for Conventions {
    fn default() -> Self {
        Self {
            otel: true,
            oi: true,
            mlflow: true,
            plain: true,
        }
    }
}

/// One chat conversation; its messages become consecutive traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub session_id: String,
    /// Set for the 62% of sessions with a signed-in user.
    pub user_id: Option<String>,
    /// `authenticated` or `guest`.
    pub user_type: &'static str,
    pub region: &'static str,
    /// Number of messages (traces) in the conversation.
    pub messages: u32,
}

/// Summary of a generated trace, used by tests and checks to know what the server should show.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceMeta {
    pub index: u64,
    pub message_no: u32,
    pub root_span_id: [u8; 8],
    pub start_ns: i64,
    pub end_ns: i64,
    pub n_spans: usize,
    pub cache_hit: bool,
    pub error: bool,
    /// Name of the span where the error started.
    pub error_span: Option<&'static str>,
    pub blocked: bool,
    pub blocked_by: Option<&'static str>,
    pub slow: bool,
    /// The model name, or `cache` on a cache hit.
    pub model_used: &'static str,
    pub intent: &'static str,
    pub page_type: &'static str,
    pub region: &'static str,
    pub user_type: &'static str,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub session_id: String,
    pub user_id: Option<String>,
    pub llm_span_id: Option<[u8; 8]>,
}

impl TraceMeta {
    pub fn duration_ms(&self) -> f64 {
        (self.end_ns - self.start_ns) as f64 / 1e6
    }
}

/// A generated trace: its spans (root first, every parent before its children) and summary.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTrace {
    pub trace_id: [u8; 16],
    pub spans: Vec<Span>,
    pub meta: TraceMeta,
}

/// The MangaAssist workload for one seed.
#[derive(Debug, Clone)]
pub struct Workload {
    seed: u64,
    sentences: Vec<String>,
    knobs: Knobs,
    conventions: Conventions,
}

impl Workload {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            sentences: catalog::sentence_pool(seed),
            knobs: Knobs::default(),
            conventions: Conventions::default(),
        }
    }

    pub fn with_knobs(mut self, knobs: Knobs) -> Self {
        self.knobs = knobs;
        self
    }

    pub fn with_conventions(mut self, conventions: Conventions) -> Self {
        self.conventions = conventions;
        self
    }

    pub fn set_knobs(&mut self, knobs: Knobs) {
        self.knobs = knobs;
    }

    pub fn knobs(&self) -> Knobs {
        self.knobs
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Endless `(trace_index, message_no, session)` in trace order. Timestamps are left to the
    /// caller, so a live generator can start each trace at "now" and a backfill can spread them.
    pub fn sessions(&self) -> Sessions {
        Sessions {
            seed: self.seed,
            rng: stream_rng(self.seed, Stream::Sessions, 0),
            next_index: 0,
            next_session: 0,
            current: None,
        }
    }

    /// The first `n` traces, trace `i` starting at `first_start_ns + i * spacing_ns`.
    pub fn traces(&self, n: usize, first_start_ns: i64, spacing_ns: i64) -> Vec<DemoTrace> {
        self.sessions()
            .take(n)
            .map(|(index, message_no, session)| {
                let start =
                    first_start_ns.saturating_add((index as i64).saturating_mul(spacing_ns));
                self.trace(index, start, &session, message_no)
            })
            .collect()
    }

    /// Builds trace `index`, message `message_no` (0-based) of `session`, starting at `start_ns`.
    pub fn trace(
        &self,
        index: u64,
        start_ns: i64,
        session: &Session,
        message_no: u32,
    ) -> DemoTrace {
        TraceBuilder::new(self, index, session).build(start_ns, message_no)
    }
}

/// Iterator returned by [`Workload::sessions`].
#[derive(Debug, Clone)]
pub struct Sessions {
    seed: u64,
    rng: SmallRng,
    next_index: u64,
    next_session: u64,
    current: Option<(Session, u32)>,
}

impl Sessions {
    fn new_session(&mut self) -> Session {
        let rng = &mut self.rng;
        // 1 + floor(Exp(mean 3)) has mean ~3.5 messages; the cap keeps outliers readable.
        let messages = (1 + catalog::exponential(rng, 3.0) as u32).min(25);
        let authenticated = rng.random::<f64>() < AUTHENTICATED_RATE;
        let user_id = authenticated.then(|| format!("user-{:06}", rng.random_range(1..400_000u32)));
        let region = pick_name(rng, &REGIONS);
        let session = Session {
            session_id: format!("sess-{:x}-{:07}", self.seed, self.next_session),
            user_id,
            user_type: if authenticated {
                "authenticated"
            } else {
                "guest"
            },
            region,
            messages,
        };
        self.next_session += 1;
        session
    }
}

impl Iterator for Sessions {
    type Item = (u64, u32, Session);

    fn next(&mut self) -> Option<Self::Item> {
        let (session, message_no) = match self.current.take() {
            Some((session, no)) if no < session.messages => (session, no),
            _ => (self.new_session(), 0),
        };
        let index = self.next_index;
        self.next_index += 1;
        let item = (index, message_no, session.clone());
        self.current = Some((session, message_no + 1));
        Some(item)
    }
}

/// The resource every demo trace is sent under (`otlp.py` `resource_attrs`);
/// `openinference.project.name` routes the traces to a Phoenix-style project.
pub fn resource(project: &str) -> Resource {
    let mut a = Attrs::default();
    a.str("service.name", SERVICE_NAME)
        .str("service.version", "4.12.0")
        .str("deployment.environment", "demo")
        // The simulated chatbot is a Python service, whatever language generates it here.
        .str("telemetry.sdk.language", "python")
        .str("openinference.project.name", project);
    Resource {
        attributes: a.0,
        ..Default::default()
    }
}

/// One export request holding `traces` under one resource and the `mangaassist.demo` scope.
pub fn encode_request(traces: &[DemoTrace], resource: &Resource) -> ExportTraceServiceRequest {
    into_request(traces.iter().cloned(), resource)
}

/// [`encode_request`] without copying the spans.
pub fn into_request(
    traces: impl IntoIterator<Item = DemoTrace>,
    resource: &Resource,
) -> ExportTraceServiceRequest {
    let spans = traces.into_iter().flat_map(|t| t.spans).collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: SCOPE_NAME.into(),
                    version: SCOPE_VERSION.into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Span attributes in insertion order.
#[derive(Debug, Default)]
struct Attrs(Vec<KeyValue>);

impl Attrs {
    fn push(&mut self, key: impl Into<String>, value: Value) -> &mut Self {
        self.0.push(KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        });
        self
    }

    fn str(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.push(key, Value::StringValue(value.into()))
    }

    fn int(&mut self, key: impl Into<String>, value: i64) -> &mut Self {
        self.push(key, Value::IntValue(value))
    }

    fn float(&mut self, key: impl Into<String>, value: f64) -> &mut Self {
        self.push(key, Value::DoubleValue(value))
    }

    fn bool(&mut self, key: impl Into<String>, value: bool) -> &mut Self {
        self.push(key, Value::BoolValue(value))
    }

    fn strs(&mut self, key: impl Into<String>, values: &[&str]) -> &mut Self {
        let values = values
            .iter()
            .map(|v| AnyValue {
                value: Some(Value::StringValue((*v).into())),
            })
            .collect();
        self.push(key, Value::ArrayValue(ArrayValue { values }))
    }
}

/// Span kind plus the OpenInference and MLflow span types that go with it.
#[derive(Clone, Copy)]
struct Role {
    kind: SpanKind,
    oi: Option<&'static str>,
    mlflow: Option<&'static str>,
}

impl Role {
    const PLAIN: Role = Role::new(SpanKind::Internal, None, None);
    const ROOT: Role = Role::new(SpanKind::Server, Some("CHAIN"), Some("CHAIN"));
    const CHAIN: Role = Role::new(SpanKind::Internal, Some("CHAIN"), Some("CHAIN"));
    const RETRIEVER: Role = Role::new(SpanKind::Internal, Some("RETRIEVER"), Some("RETRIEVER"));
    const SEARCH: Role = Role::new(SpanKind::Client, Some("RETRIEVER"), Some("RETRIEVER"));
    const EMBEDDING: Role = Role::new(SpanKind::Internal, Some("EMBEDDING"), Some("EMBEDDING"));
    const RERANKER: Role = Role::new(SpanKind::Internal, Some("RERANKER"), Some("RERANKER"));
    const LLM: Role = Role::new(SpanKind::Client, Some("LLM"), Some("CHAT_MODEL"));
    const GUARDRAIL: Role = Role::new(SpanKind::Internal, Some("GUARDRAIL"), Some("GUARDRAIL"));

    const fn new(kind: SpanKind, oi: Option<&'static str>, mlflow: Option<&'static str>) -> Role {
        Role { kind, oi, mlflow }
    }
}

struct Doc {
    id: String,
    score: f64,
    content: String,
}

/// State while one trace is built; spans are indices into `spans`, `parents` mirrors them.
struct TraceBuilder<'w> {
    workload: &'w Workload,
    conv: Conventions,
    rng: SmallRng,
    trace_id: [u8; 16],
    session_id: String,
    index: u64,
    spans: Vec<Span>,
    parents: Vec<Option<usize>>,
    session: &'w Session,
}

impl<'w> TraceBuilder<'w> {
    fn new(workload: &'w Workload, index: u64, session: &'w Session) -> Self {
        let mut rng = stream_rng(workload.seed, Stream::Trace, index);
        let trace_id = rng.random::<u128>().to_be_bytes();
        Self {
            workload,
            conv: workload.conventions,
            rng,
            trace_id,
            session_id: session.session_id.clone(),
            index,
            spans: Vec::with_capacity(20),
            parents: Vec::with_capacity(20),
            session,
        }
    }

    /// A lognormal duration in ns with the given median.
    fn dur(&mut self, median_ms: f64, sigma: f64) -> i64 {
        (median_ms * (sigma * gauss(&mut self.rng)).exp() * 1e6) as i64
    }

    fn text(&mut self, lo: usize, hi: usize) -> String {
        text(&mut self.rng, &self.workload.sentences, lo, hi)
    }

    fn add(
        &mut self,
        name: &str,
        parent: Option<usize>,
        start: i64,
        len: i64,
        role: Role,
        attrs: Attrs,
    ) -> usize {
        let mut a = Attrs(Vec::with_capacity(attrs.0.len() + 3));
        if let (Some(kind), true) = (role.oi, self.conv.oi) {
            a.str("openinference.span.kind", kind);
        }
        if let (Some(kind), true) = (role.mlflow, self.conv.mlflow) {
            a.str("mlflow.spanType", kind);
        }
        a.0.extend(attrs.0);
        if self.conv.oi || self.conv.mlflow {
            a.str("session.id", self.session_id.as_str());
        }
        // `| 1` keeps the id non-zero, which OTLP treats as invalid.
        let span_id = (self.rng.random::<u64>() | 1).to_be_bytes();
        let parent_span_id = parent
            .map(|p| self.spans[p].span_id.clone())
            .unwrap_or_default();
        self.spans.push(Span {
            trace_id: self.trace_id.to_vec(),
            span_id: span_id.to_vec(),
            parent_span_id,
            name: name.into(),
            kind: role.kind as i32,
            start_time_unix_nano: ns(start),
            end_time_unix_nano: ns(start + len),
            attributes: a.0,
            ..Default::default()
        });
        self.parents.push(parent);
        self.spans.len() - 1
    }

    fn set_end(&mut self, span: usize, end: i64) {
        self.spans[span].end_time_unix_nano = ns(end);
    }

    fn attrs_of(&mut self, span: usize) -> Attrs {
        Attrs(std::mem::take(&mut self.spans[span].attributes))
    }

    fn put_attrs(&mut self, span: usize, attrs: Attrs) {
        self.spans[span].attributes = attrs.0;
    }

    /// Inputs/outputs in the OpenInference and MLflow shapes; a JSON string input is plain text
    /// to OpenInference but still JSON-encoded for MLflow, as the Python model does.
    fn io(&self, a: &mut Attrs, inputs: &Json, outputs: Option<&Json>) {
        let encoded_in = inputs.to_string();
        let encoded_out = outputs.map(Json::to_string);
        if self.conv.oi {
            let (value, mime) = oi_value(inputs, &encoded_in);
            a.str("input.value", value).str("input.mime_type", mime);
            if let (Some(out), Some(enc)) = (outputs, &encoded_out) {
                let (value, mime) = oi_value(out, enc);
                a.str("output.value", value).str("output.mime_type", mime);
            }
        }
        if self.conv.mlflow {
            a.str("mlflow.spanInputs", encoded_in);
            if let Some(enc) = encoded_out {
                a.str("mlflow.spanOutputs", enc);
            }
        }
    }

    fn build(mut self, t0: i64, message_no: u32) -> DemoTrace {
        let knobs = self.workload.knobs;
        let conv = self.conv;
        let intent = pick_name(&mut self.rng, &INTENTS);
        let page_type = pick_name(&mut self.rng, &PAGE_TYPES);
        let cache_hit = self.rng.random::<f64>() < CACHE_HIT_RATE;
        let model = *pick(&mut self.rng, &MODELS, |m| m.weight);
        let model_used = if cache_hit { "cache" } else { model.name };
        let error_rate = knobs.error_rate.unwrap_or(ERROR_RATE);
        let is_error = self.rng.random::<f64>() < error_rate;
        // Always drawn, so changing the error-rate knob does not reshuffle the rest of the trace.
        let block_draw: f64 = self.rng.random();
        let blocked = !is_error && block_draw < BLOCK_RATE;
        let slow = self.rng.random::<f64>() < SLOW_RATE;
        let user_msg = self.text(40, 280);
        let short_msg = Json::from(catalog::prefix(&user_msg, 200));

        let root = self.add("chat_request", None, t0, 0, Role::ROOT, Attrs::default());
        let mut t = t0 + self.dur(0.4, 0.2);
        let d = self.dur(12.0, 0.30);
        self.add(
            "receive_message",
            Some(root),
            t,
            d,
            Role::PLAIN,
            Attrs::default(),
        );
        t += d;
        let d = self.dur(8.0, 0.30);
        let mut a = Attrs::default();
        a.int("context.history_turns", message_no.into());
        self.add("load_context", Some(root), t, d, Role::PLAIN, a);
        t += d;

        let confidence = round_to(self.rng.random_range(0.55..0.99), 3);
        let path = pick_name(&mut self.rng, &CLASSIFICATION_PATHS);
        let d = self.dur(15.0, 0.30);
        let mut a = Attrs::default();
        a.str("classification_path", path)
            .float("confidence", confidence)
            .str("model_version", "intent-clf-3.2.1")
            .str("intent", intent);
        self.io(
            &mut a,
            &short_msg,
            Some(&json!({"intent": intent, "confidence": confidence})),
        );
        self.add("classify_intent", Some(root), t, d, Role::CHAIN, a);
        t += d;

        let mut tokens = (0, 0);
        let mut llm_span = None;
        let mut answer;
        if cache_hit {
            let d = self.dur(8.0, 0.25);
            let key = self.rng.random::<u64>() >> 16;
            let mut a = Attrs::default();
            a.bool("cache.hit", true)
                .str("cache.key", format!("ck-{key:012x}"));
            self.add("cache_lookup", Some(root), t, d, Role::PLAIN, a);
            t += d;
            answer = self.text(250, 1400);
        } else {
            let docs;
            (t, docs) = self.retrieval(root, t, &short_msg, slow, knobs);
            let generated =
                self.generation(root, t, model, &docs, &user_msg, message_no, slow, knobs);
            t = generated.end;
            answer = generated.answer;
            tokens = generated.tokens;
            llm_span = Some(generated.llm_span);
        }

        let blocked_by = blocked.then(|| pick(&mut self.rng, &GUARDRAILS, |g| g.block_weight).name);
        t = self.guardrails(root, t, blocked_by);
        if blocked {
            answer = catalog::BLOCKED_ANSWER.into();
        }
        let d = self.dur(12.0, 0.30);
        let mut a = Attrs::default();
        a.str("db.system", "dynamodb");
        self.add("save_return", Some(root), t, d, Role::PLAIN, a);
        t += d;
        let end = t + self.dur(0.5, 0.2);
        self.set_end(root, end);

        let error_span = if is_error {
            answer = catalog::ERROR_ANSWER.into();
            Some(self.fail_one())
        } else {
            None
        };
        for span in &mut self.spans {
            if span.status.is_none() {
                span.status = Some(Status {
                    code: StatusCode::Ok as i32,
                    message: String::new(),
                });
            }
        }

        // Trace-level tags on the root, in every convention's own shape.
        let session = self.session;
        let tags: [(&str, &str); 7] = [
            ("session_id", &session.session_id),
            ("user_type", session.user_type),
            ("page_type", page_type),
            ("intent", intent),
            ("cache_hit", if cache_hit { "true" } else { "false" }),
            ("model_used", model_used),
            ("region", session.region),
        ];
        let mut ra = self.attrs_of(root);
        if conv.plain {
            for (k, v) in tags {
                if k == "cache_hit" {
                    ra.bool(k, cache_hit);
                } else {
                    ra.str(k, v);
                }
            }
            ra.bool("guardrail_blocked", blocked);
        }
        if conv.otel {
            ra.str("gen_ai.conversation.id", session.session_id.as_str());
        }
        if let (Some(user), true) = (&session.user_id, conv.oi || conv.otel || conv.mlflow) {
            ra.str("user.id", user.as_str());
        }
        if conv.oi {
            let metadata: serde_json::Map<String, Json> = tags
                .iter()
                .map(|(k, v)| ((*k).into(), Json::from(*v)))
                .collect();
            ra.str("metadata", Json::Object(metadata).to_string());
            ra.strs(
                "tag.tags",
                &[intent, page_type, session.user_type, model_used],
            );
        }
        if conv.mlflow {
            for (k, v) in tags {
                ra.str(format!("mlflow.traceTag.{k}"), v);
            }
            ra.str(
                "mlflow.spanInputs",
                json!({"message": user_msg, "page_type": page_type}).to_string(),
            );
            ra.str(
                "mlflow.spanOutputs",
                json!({"response": answer}).to_string(),
            );
        }
        if conv.oi {
            // Plain text rather than JSON on the root reads better in trace lists.
            ra.str("input.value", user_msg.as_str())
                .str("input.mime_type", "text/plain")
                .str("output.value", answer.as_str())
                .str("output.mime_type", "text/plain");
        }
        self.put_attrs(root, ra);

        let meta = TraceMeta {
            index: self.index,
            message_no,
            root_span_id: span_id_of(&self.spans[root]),
            start_ns: t0,
            end_ns: end,
            n_spans: self.spans.len(),
            cache_hit,
            error: is_error,
            error_span,
            blocked,
            blocked_by,
            slow,
            model_used,
            intent,
            page_type,
            region: session.region,
            user_type: session.user_type,
            input_tokens: tokens.0,
            output_tokens: tokens.1,
            session_id: session.session_id.clone(),
            user_id: session.user_id.clone(),
            llm_span_id: llm_span.map(|i| span_id_of(&self.spans[i])),
        };
        DemoTrace {
            trace_id: self.trace_id,
            spans: self.spans,
            meta,
        }
    }

    /// `rag_retrieval` and its three children; returns the end time and the retrieved documents.
    fn retrieval(
        &mut self,
        root: usize,
        t: i64,
        short_msg: &Json,
        slow: bool,
        knobs: Knobs,
    ) -> (i64, Vec<Doc>) {
        let mut a = Attrs::default();
        a.int("retrieval.top_k", 5);
        self.io(&mut a, short_msg, None);
        let rag = self.add("rag_retrieval", Some(root), t, 0, Role::RETRIEVER, a);
        let mut tt = t + self.dur(0.3, 0.2);

        let d = self.dur(25.0, 0.25);
        let mut a = Attrs::default();
        a.str("embedding.model_name", "bge-m3")
            .int("embedding.dimensions", 1024);
        self.add("embed_query", Some(rag), tt, d, Role::EMBEDDING, a);
        tt += d;

        let docs: Vec<Doc> = (0..5)
            .map(|_| Doc {
                id: format!("prod-{}", self.rng.random_range(100_000..999_999u32)),
                score: round_to(self.rng.random_range(0.55..0.95), 4),
                content: self.text(120, 260),
            })
            .collect();
        let mut a = Attrs::default();
        a.str("db.system", "qdrant")
            .str("db.collection.name", "manga_catalog_v7");
        if self.conv.oi {
            for (k, doc) in docs.iter().enumerate() {
                let key = format!("retrieval.documents.{k}.document");
                a.str(format!("{key}.id"), doc.id.as_str())
                    .float(format!("{key}.score"), doc.score)
                    .str(format!("{key}.content"), doc.content.as_str());
            }
        }
        if self.conv.mlflow {
            let outputs: Vec<Json> = docs
                .iter()
                .map(|doc| {
                    json!({"page_content": doc.content, "metadata": {"doc_uri": doc.id}, "id": doc.id})
                })
                .collect();
            a.str("mlflow.spanOutputs", Json::from(outputs).to_string());
        }
        let mut d = self.dur(45.0, 0.35);
        if slow && self.rng.random::<f64>() < 0.3 {
            d *= 3;
        }
        self.add("vector_search", Some(rag), tt, d, Role::SEARCH, a);
        tt += d;

        let mut a = Attrs::default();
        a.str("reranker.model_name", "bge-reranker-v2-m3")
            .int("reranker.top_k", 3);
        if self.conv.oi {
            let mut ranked: Vec<&Doc> = docs.iter().collect();
            ranked.sort_by(|x, y| y.score.total_cmp(&x.score));
            for (k, doc) in ranked.iter().take(3).enumerate() {
                let key = format!("reranker.output_documents.{k}.document");
                a.str(format!("{key}.id"), doc.id.as_str())
                    .float(format!("{key}.score"), doc.score);
            }
        }
        let d = scaled(self.dur(110.0, 0.30), knobs.latency_factor);
        self.add("rerank", Some(rag), tt, d, Role::RERANKER, a);
        tt += d;
        let end = tt + self.dur(0.3, 0.2);
        self.set_end(rag, end);
        (end, docs)
    }

    /// `generate_response` with prompt building, the LLM call and output parsing.
    #[allow(clippy::too_many_arguments)]
    fn generation(
        &mut self,
        root: usize,
        t: i64,
        model: catalog::Model,
        docs: &[Doc],
        user_msg: &str,
        message_no: u32,
        slow: bool,
        knobs: Knobs,
    ) -> Generated {
        let conv = self.conv;
        let gen = self.add(
            "generate_response",
            Some(root),
            t,
            0,
            Role::CHAIN,
            Attrs::default(),
        );
        let mut tt = t + self.dur(0.3, 0.2);
        let d = self.dur(5.0, 0.25);
        let mut a = Attrs::default();
        a.str("prompt.template", "mangaassist-answer")
            .str("prompt.version", "v12");
        self.add("build_prompt", Some(gen), tt, d, Role::PLAIN, a);
        tt += d;

        let system = choose(&mut self.rng, &SYSTEM_PROMPTS);
        let n_context = self.rng.random_range(0..=docs.len());
        let context = docs[..n_context]
            .iter()
            .map(|d| d.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut messages: Vec<(&str, String)> = vec![("system", system.to_owned())];
        for h in 0..message_no.min(3) {
            let role = if h % 2 == 0 { "user" } else { "assistant" };
            messages.push((role, self.text(40, 200)));
        }
        messages.push((
            "user",
            if context.is_empty() {
                user_msg.to_owned()
            } else {
                format!("Context:\n{context}\n\nQuestion: {user_msg}")
            },
        ));
        let answer = self.text(250, 1800);
        let in_chars: usize = messages.iter().map(|(_, c)| c.chars().count()).sum();
        let input_tokens =
            ((in_chars as f64 / 3.9 * self.rng.random_range(0.95..1.05)) as i64).max(1);
        let output_tokens = ((answer.chars().count() as f64 / 4.1
            * self.rng.random_range(0.95..1.05)) as i64)
            .max(1);
        let total_tokens = input_tokens + output_tokens;
        let (name, provider, temperature) = (model.name, model.provider, model.temperature);

        let mut la = Attrs::default();
        if conv.otel {
            la.str("gen_ai.operation.name", "chat")
                .str("gen_ai.system", provider)
                .str("gen_ai.provider.name", provider)
                .str("gen_ai.request.model", name)
                .str("gen_ai.response.model", name)
                .float("gen_ai.request.temperature", temperature)
                .int("gen_ai.request.max_tokens", 1024)
                .int("gen_ai.usage.input_tokens", input_tokens)
                .int("gen_ai.usage.output_tokens", output_tokens)
                .strs("gen_ai.response.finish_reasons", &["end_turn"]);
        }
        if conv.oi {
            la.str("llm.model_name", name)
                .str("llm.provider", provider)
                .str("llm.system", provider)
                .str(
                    "llm.invocation_parameters",
                    json!({"temperature": temperature, "max_tokens": 1024}).to_string(),
                )
                .int("llm.token_count.prompt", input_tokens)
                .int("llm.token_count.completion", output_tokens)
                .int("llm.token_count.total", total_tokens);
            for (k, (role, content)) in messages.iter().enumerate() {
                la.str(format!("llm.input_messages.{k}.message.role"), *role)
                    .str(
                        format!("llm.input_messages.{k}.message.content"),
                        content.as_str(),
                    );
            }
            la.str("llm.output_messages.0.message.role", "assistant")
                .str("llm.output_messages.0.message.content", answer.as_str());
        }
        if conv.mlflow {
            la.str(
                "mlflow.chat.tokenUsage",
                json!({"input_tokens": input_tokens, "output_tokens": output_tokens,
                       "total_tokens": total_tokens})
                .to_string(),
            );
        }
        let message_json: Vec<Json> = messages
            .iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect();
        let msg_id = self.rng.random::<u64>();
        self.io(
            &mut la,
            &json!({"model": name, "temperature": temperature, "messages": message_json}),
            Some(&json!({
                "id": format!("msg_{msg_id:016x}"),
                "model": name,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                          "total_tokens": total_tokens},
            })),
        );
        let mut llm_len = self.dur(620.0, 0.20);
        if slow {
            llm_len = scaled(llm_len, self.rng.random_range(1.5..2.4));
        }
        let llm_len = scaled(llm_len, knobs.latency_factor);
        let llm_span = self.add("llm_call", Some(gen), tt, llm_len, Role::LLM, la);
        tt += llm_len;
        let d = self.dur(25.0, 0.30);
        self.add(
            "parse_output",
            Some(gen),
            tt,
            d,
            Role::PLAIN,
            Attrs::default(),
        );
        tt += d;
        let end = tt + self.dur(0.3, 0.2);
        self.set_end(gen, end);
        Generated {
            end,
            answer,
            tokens: (input_tokens, output_tokens),
            llm_span,
        }
    }

    /// `apply_guardrails` and its six stages; every stage runs even after one blocks, as the
    /// real pipeline scores them in sequence before deciding. Returns the end time.
    fn guardrails(&mut self, root: usize, t: i64, blocked_by: Option<&'static str>) -> i64 {
        let g = self.add(
            "apply_guardrails",
            Some(root),
            t,
            0,
            Role::CHAIN,
            Attrs::default(),
        );
        let mut tt = t + self.dur(0.3, 0.2);
        for stage in GUARDRAILS {
            let d = self.dur(stage.median_ms, 0.35);
            let passed = Some(stage.name) != blocked_by;
            let score = if passed {
                self.rng.random_range(0.0..0.3)
            } else {
                self.rng.random_range(0.8..1.0)
            };
            let mut a = Attrs::default();
            a.str("guardrail.name", stage.name)
                .bool("guardrail.passed", passed)
                .float("guardrail.score", round_to(score, 3));
            self.add(stage.name, Some(g), tt, d, Role::GUARDRAIL, a);
            tt += d;
        }
        let mut a = self.attrs_of(g);
        a.bool("guardrail.blocked", blocked_by.is_some());
        if let Some(name) = blocked_by {
            a.str("guardrail.blocked_by", name);
        }
        self.put_attrs(g, a);
        let end = tt + self.dur(0.3, 0.2);
        self.set_end(g, end);
        end
    }

    /// Fails one error-prone span with an `exception` event and marks it and every ancestor
    /// ERROR, the way an uncaught exception unwinds through instrumented frames.
    fn fail_one(&mut self) -> &'static str {
        let candidates: Vec<(usize, &'static str, &'static str, &'static str)> = self
            .spans
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                ERROR_SITES
                    .iter()
                    .find(|site| site.0 == s.name)
                    .map(|&(name, ty, msg)| (i, name, ty, msg))
            })
            .collect();
        // load_context and save_return are in every trace, so there is always a candidate.
        let (at, name, exc_type, exc_msg) = candidates[self.rng.random_range(0..candidates.len())];
        let line = self.rng.random_range(20..=400u32);
        let mut a = Attrs::default();
        a.str("exception.type", exc_type)
            .str("exception.message", exc_msg)
            .str(
                "exception.stacktrace",
                format!(
                    "Traceback (most recent call last):\n  File \"/app/mangaassist/{name}.py\", \
                     line {line}, in run\n{exc_type}: {exc_msg}"
                ),
            )
            .bool("exception.escaped", true);
        let span = &mut self.spans[at];
        span.events.push(Event {
            time_unix_nano: span.end_time_unix_nano,
            name: "exception".into(),
            attributes: a.0,
            ..Default::default()
        });
        let status = Status {
            code: StatusCode::Error as i32,
            message: format!("{exc_type}: {exc_msg}"),
        };
        let mut cur = Some(at);
        while let Some(i) = cur {
            self.spans[i].status = Some(status.clone());
            cur = self.parents[i];
        }
        name
    }
}

struct Generated {
    end: i64,
    answer: String,
    tokens: (i64, i64),
    llm_span: usize,
}

fn oi_value<'a>(value: &'a Json, encoded: &'a str) -> (&'a str, &'static str) {
    match value {
        Json::String(s) => (s.as_str(), "text/plain"),
        _ => (encoded, "application/json"),
    }
}

fn scaled(ns: i64, factor: f64) -> i64 {
    (ns as f64 * factor) as i64
}

/// Timestamps before 1970 cannot occur for a demo clock; clamp rather than wrap.
fn ns(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

fn span_id_of(span: &Span) -> [u8; 8] {
    span.span_id
        .as_slice()
        .try_into()
        .expect("BUG: span ids are generated as 8 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use std::collections::HashMap;

    const T0: i64 = 1_700_000_000_000_000_000;

    fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| v.value.as_ref())
    }

    fn span<'a>(t: &'a DemoTrace, name: &str) -> &'a Span {
        t.spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }

    fn sample(n: usize) -> Vec<DemoTrace> {
        Workload::new(42).traces(n, T0, 1_000_000_000)
    }

    fn find_trace(pred: impl Fn(&DemoTrace) -> bool) -> DemoTrace {
        let wl = Workload::new(5);
        wl.sessions()
            .take(20_000)
            .map(|(i, no, s)| wl.trace(i, T0, &s, no))
            .find(|t| pred(t))
            .expect("no matching trace in 20,000")
    }

    #[test]
    fn tree_is_well_formed_on_hits_and_misses() {
        let traces = sample(400);
        assert!(traces.iter().any(|t| t.meta.cache_hit));
        assert!(traces.iter().any(|t| !t.meta.cache_hit));
        for t in &traces {
            let expected = if t.meta.cache_hit { 13 } else { 20 };
            assert_eq!(t.spans.len(), expected, "trace {}", t.meta.index);
            assert_eq!(t.meta.n_spans, expected);
            let root = &t.spans[0];
            assert!(root.parent_span_id.is_empty());
            assert_eq!(root.name, "chat_request");
            assert_eq!(root.span_id, t.meta.root_span_id);
            assert_eq!(
                root.start_time_unix_nano,
                T0 as u64 + t.meta.index * 1_000_000_000
            );
            let by_id: HashMap<&[u8], &Span> =
                t.spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
            assert_eq!(by_id.len(), t.spans.len(), "span ids are unique");
            for s in &t.spans[1..] {
                assert_eq!(s.trace_id, t.trace_id);
                let parent = by_id[s.parent_span_id.as_slice()];
                assert!(
                    parent.start_time_unix_nano <= s.start_time_unix_nano,
                    "{}",
                    s.name
                );
                assert!(
                    s.end_time_unix_nano <= parent.end_time_unix_nano,
                    "{}",
                    s.name
                );
                assert!(s.start_time_unix_nano < s.end_time_unix_nano, "{}", s.name);
            }
            assert!(t.spans.iter().all(|s| s.status.is_some()));
        }
    }

    #[test]
    fn same_seed_and_index_give_the_same_trace() {
        let a = Workload::new(7);
        let b = Workload::new(7);
        let sessions: Vec<_> = a.sessions().take(50).collect();
        assert_eq!(sessions, b.sessions().take(50).collect::<Vec<_>>());
        let (i, no, s) = &sessions[37];
        let x = a.trace(*i, T0, s, *no);
        assert_eq!(x, b.trace(*i, T0, s, *no));
        // Not dependent on what was generated before.
        let _ = b.traces(30, T0, 0);
        assert_eq!(x, b.trace(*i, T0, s, *no));
        assert_ne!(x.trace_id, a.trace(i + 1, T0, s, *no).trace_id);
        assert_ne!(x.trace_id, Workload::new(8).trace(*i, T0, s, *no).trace_id);
    }

    #[test]
    fn rates_match_the_model() {
        let traces = sample(5_000);
        let n = traces.len() as f64;
        let rate = |f: &dyn Fn(&TraceMeta) -> bool| {
            traces.iter().filter(|t| f(&t.meta)).count() as f64 / n
        };
        let hit = rate(&|m| m.cache_hit);
        let err = rate(&|m| m.error);
        let blocked = rate(&|m| m.blocked);
        assert!((hit - 0.42).abs() < 0.03, "cache hit {hit}");
        assert!(err < 0.01, "error {err}");
        assert!((blocked - 0.03).abs() < 0.01, "blocked {blocked}");
        assert!(traces.iter().all(|t| !(t.meta.blocked && t.meta.error)));
        assert!(traces
            .iter()
            .all(|t| t.meta.blocked == t.meta.blocked_by.is_some()));

        let sessions: std::collections::HashSet<_> =
            traces.iter().map(|t| &t.meta.session_id).collect();
        let per_session = n / sessions.len() as f64;
        assert!(
            (3.0..4.0).contains(&per_session),
            "messages per session {per_session}"
        );
        let authed = rate(&|m| m.user_id.is_some());
        assert!((0.55..0.69).contains(&authed), "authenticated {authed}");

        let mut ms: Vec<f64> = traces.iter().map(|t| t.meta.duration_ms()).collect();
        ms.sort_by(f64::total_cmp);
        let p50 = ms[ms.len() / 2];
        assert!((200.0..1_500.0).contains(&p50), "p50 {p50}");
    }

    #[test]
    fn error_marks_every_ancestor_and_records_the_exception() {
        let t = find_trace(|t| t.meta.error);
        let failed = t
            .spans
            .iter()
            .find(|s| !s.events.is_empty())
            .expect("an exception event");
        assert_eq!(Some(failed.name.as_str()), t.meta.error_span);
        let event = &failed.events[0];
        assert_eq!(event.name, "exception");
        assert_eq!(event.time_unix_nano, failed.end_time_unix_nano);
        for key in [
            "exception.type",
            "exception.message",
            "exception.stacktrace",
        ] {
            assert!(
                matches!(attr_ev(event, key), Some(Value::StringValue(_))),
                "{key}"
            );
        }
        assert_eq!(
            attr_ev(event, "exception.escaped"),
            Some(&Value::BoolValue(true))
        );

        let by_id: HashMap<&[u8], &Span> =
            t.spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
        let mut chain = vec![failed];
        while let Some(parent) = by_id.get(chain.last().unwrap().parent_span_id.as_slice()) {
            chain.push(parent);
        }
        assert_eq!(chain.last().unwrap().name, "chat_request");
        let error = StatusCode::Error as i32;
        for s in &chain {
            let status = s.status.as_ref().unwrap();
            assert_eq!(status.code, error, "{}", s.name);
            assert!(status.message.contains(": "));
        }
        let errors = t
            .spans
            .iter()
            .filter(|s| s.status.as_ref().unwrap().code == error)
            .count();
        assert_eq!(errors, chain.len(), "only the failing chain is ERROR");
    }

    fn attr_ev<'a>(e: &'a Event, key: &str) -> Option<&'a Value> {
        e.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
    }

    #[test]
    fn tokens_only_on_llm_call() {
        for t in sample(200) {
            for s in &t.spans {
                let has_tokens = s.attributes.iter().any(|kv| {
                    kv.key.starts_with("gen_ai.usage.")
                        || kv.key.starts_with("llm.token_count.")
                        || kv.key == "mlflow.chat.tokenUsage"
                });
                assert_eq!(has_tokens, s.name == "llm_call", "{}", s.name);
            }
            if let Some(id) = t.meta.llm_span_id {
                let llm = span(&t, "llm_call");
                assert_eq!(llm.span_id, id);
                assert_eq!(
                    attr(llm, "gen_ai.usage.input_tokens"),
                    Some(&Value::IntValue(t.meta.input_tokens))
                );
                assert_eq!(
                    attr(llm, "llm.token_count.total"),
                    Some(&Value::IntValue(t.meta.input_tokens + t.meta.output_tokens))
                );
                assert!(t.meta.input_tokens > 100 && t.meta.output_tokens > 30);
            } else {
                assert!(t.meta.cache_hit);
                assert_eq!((t.meta.input_tokens, t.meta.output_tokens), (0, 0));
            }
        }
    }

    #[test]
    fn root_carries_tags_in_every_convention() {
        let t = find_trace(|t| !t.meta.cache_hit && t.meta.user_id.is_some());
        let root = &t.spans[0];
        let s = |v: &str| Some(Value::StringValue(v.into()));
        assert_eq!(attr(root, "intent").cloned(), s(t.meta.intent));
        assert_eq!(attr(root, "cache_hit"), Some(&Value::BoolValue(false)));
        assert_eq!(attr(root, "mlflow.traceTag.cache_hit").cloned(), s("false"));
        assert_eq!(
            attr(root, "mlflow.traceTag.model_used").cloned(),
            s(t.meta.model_used)
        );
        assert_eq!(
            attr(root, "gen_ai.conversation.id").cloned(),
            s(&t.meta.session_id)
        );
        assert_eq!(attr(root, "session.id").cloned(), s(&t.meta.session_id));
        assert_eq!(
            attr(root, "user.id").cloned(),
            t.meta.user_id.as_deref().and_then(s)
        );
        assert_eq!(attr(root, "input.mime_type").cloned(), s("text/plain"));
        let Some(Value::StringValue(metadata)) = attr(root, "metadata") else {
            panic!("metadata")
        };
        let metadata: Json = serde_json::from_str(metadata).unwrap();
        assert_eq!(metadata["cache_hit"], "false");
        assert_eq!(metadata["region"], t.meta.region);
        let Some(Value::ArrayValue(tags)) = attr(root, "tag.tags") else {
            panic!("tag.tags")
        };
        assert_eq!(tags.values.len(), 4);
        let Some(Value::StringValue(inputs)) = attr(root, "mlflow.spanInputs") else {
            panic!("spanInputs")
        };
        assert!(serde_json::from_str::<Json>(inputs).unwrap()["message"].is_string());

        let llm = span(&t, "llm_call");
        assert_eq!(attr(llm, "openinference.span.kind").cloned(), s("LLM"));
        assert_eq!(attr(llm, "mlflow.spanType").cloned(), s("CHAT_MODEL"));
        assert_eq!(
            attr(llm, "llm.input_messages.0.message.role").cloned(),
            s("system")
        );
        assert_eq!(
            attr(llm, "llm.output_messages.0.message.role").cloned(),
            s("assistant")
        );
        let Some(Value::StringValue(usage)) = attr(llm, "mlflow.chat.tokenUsage") else {
            panic!("tokenUsage")
        };
        let usage: Json = serde_json::from_str(usage).unwrap();
        assert_eq!(usage["input_tokens"], t.meta.input_tokens);

        let search = span(&t, "vector_search");
        assert!(attr(search, "retrieval.documents.4.document.content").is_some());
        let Some(Value::StringValue(docs)) = attr(search, "mlflow.spanOutputs") else {
            panic!("spanOutputs")
        };
        assert_eq!(
            serde_json::from_str::<Json>(docs)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            5
        );
        let rerank = span(&t, "rerank");
        let score = |k: usize| match attr(
            rerank,
            &format!("reranker.output_documents.{k}.document.score"),
        ) {
            Some(Value::DoubleValue(x)) => *x,
            other => panic!("{other:?}"),
        };
        assert!(score(0) >= score(1) && score(1) >= score(2));
    }

    #[test]
    fn guardrail_block_names_the_blocking_stage() {
        let t = find_trace(|t| t.meta.blocked);
        let by = t.meta.blocked_by.unwrap();
        let g = span(&t, "apply_guardrails");
        assert_eq!(attr(g, "guardrail.blocked"), Some(&Value::BoolValue(true)));
        assert_eq!(
            attr(g, "guardrail.blocked_by"),
            Some(&Value::StringValue(by.into()))
        );
        let stage = span(&t, by);
        assert_eq!(
            attr(stage, "guardrail.passed"),
            Some(&Value::BoolValue(false))
        );
        let Some(Value::DoubleValue(score)) = attr(stage, "guardrail.score") else {
            panic!("score")
        };
        assert!(*score >= 0.8);
        let Some(Value::StringValue(out)) = attr(&t.spans[0], "output.value") else {
            panic!("output")
        };
        assert_eq!(out, catalog::BLOCKED_ANSWER);
    }

    #[test]
    fn knobs_stretch_latency_and_force_errors() {
        let wl = Workload::new(3);
        let (i, no, s) = wl.sessions().find(|_| true).unwrap();
        let miss = (0..200)
            .map(|k| wl.trace(i + k, T0, &s, no))
            .find(|t| !t.meta.cache_hit)
            .unwrap();
        let spiked = wl
            .clone()
            .with_knobs(Knobs {
                latency_factor: 5.0,
                error_rate: None,
            })
            .trace(miss.meta.index, T0, &s, no);
        let len = |t: &DemoTrace, name: &str| {
            let s = span(t, name);
            (s.end_time_unix_nano - s.start_time_unix_nano) as f64
        };
        let ratio = len(&spiked, "llm_call") / len(&miss, "llm_call");
        assert!((ratio - 5.0).abs() < 0.01, "{ratio}");
        assert!(spiked.meta.duration_ms() > miss.meta.duration_ms() * 3.0);

        let failing = wl.with_knobs(Knobs {
            latency_factor: 1.0,
            error_rate: Some(1.0),
        });
        assert!(failing.traces(50, T0, 0).iter().all(|t| t.meta.error));
    }

    #[test]
    fn single_convention_omits_the_others() {
        let wl = Workload::new(1).with_conventions(Conventions {
            otel: true,
            oi: false,
            mlflow: false,
            plain: false,
        });
        for t in wl.traces(50, T0, 0) {
            for s in &t.spans {
                for kv in &s.attributes {
                    assert!(
                        !kv.key.starts_with("mlflow.")
                            && !kv.key.starts_with("llm.")
                            && kv.key != "session.id"
                            && kv.key != "intent",
                        "{}",
                        kv.key
                    );
                }
            }
        }
    }

    #[test]
    fn encode_request_round_trips_through_protobuf() {
        let traces = sample(25);
        let req = encode_request(&traces, &resource(DEFAULT_PROJECT));
        let bytes = req.encode_to_vec();
        let back = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, req);
        let rs = &back.resource_spans[0];
        let scope = rs.scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            (SCOPE_NAME, SCOPE_VERSION)
        );
        let total: usize = traces.iter().map(|t| t.spans.len()).sum();
        assert_eq!(rs.scope_spans[0].spans.len(), total);
        let res = rs.resource.as_ref().unwrap();
        assert!(res.attributes.iter().any(|kv| kv.key == "service.name"
            && kv.value.as_ref().unwrap().value == Some(Value::StringValue(SERVICE_NAME.into()))));
    }

    /// Run with `--nocapture` to see the figure; debug builds are several times slower.
    #[test]
    fn generation_throughput() {
        let wl = Workload::new(11);
        let res = resource(DEFAULT_PROJECT);
        let started = std::time::Instant::now();
        let mut bytes = 0;
        let mut n = 0;
        let sessions: Vec<_> = wl.sessions().take(1_000).collect();
        for chunk in sessions.chunks(20) {
            let traces: Vec<_> = chunk
                .iter()
                .map(|(i, no, s)| wl.trace(*i, T0, s, *no))
                .collect();
            n += traces.len();
            bytes += into_request(traces, &res).encode_to_vec().len();
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "generated+encoded {n} traces in {secs:.3}s: {:.0} traces/s, {:.1} KB/trace",
            n as f64 / secs,
            bytes as f64 / n as f64 / 1e3
        );
    }
}
