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
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use rand::rngs::SmallRng;
use rand::Rng;

use super::catalog::{self, pick_name, stream_rng, Stream, REGIONS};
use super::tree::{Attrs, TraceBuilder};

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
    pub(super) seed: u64,
    pub(super) sentences: Vec<String>,
    pub(super) knobs: Knobs,
    pub(super) conventions: Conventions,
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

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use prost::Message;
    use std::collections::HashMap;

    const T0: i64 = 1_700_000_000_000_000_000;

    fn span<'a>(t: &'a DemoTrace, name: &str) -> &'a Span {
        t.spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }

    fn sample(n: usize) -> Vec<DemoTrace> {
        Workload::new(42).traces(n, T0, 1_000_000_000)
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
