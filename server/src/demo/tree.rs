//! Builds one trace's span tree: the shared span/attribute plumbing, the root and its direct
//! children, the guardrail stages, error injection and the trace-level tags in every
//! convention. The retrieval and generation subtrees live in `rag`; encoding and sending do
//! not belong here.

use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, ArrayValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use rand::rngs::SmallRng;
use rand::Rng;
use serde_json::{json, Value as Json};

use super::catalog::{
    self, gauss, pick, pick_name, round_to, stream_rng, text, Stream, CLASSIFICATION_PATHS,
    ERROR_SITES, GUARDRAILS, INTENTS, MODELS, PAGE_TYPES,
};
use super::workload::{
    Conventions, DemoTrace, Session, TraceMeta, Workload, BLOCK_RATE, CACHE_HIT_RATE, ERROR_RATE,
    SLOW_RATE,
};

/// Span attributes in insertion order.
#[derive(Debug, Default)]
pub(super) struct Attrs(pub(super) Vec<KeyValue>);

impl Attrs {
    pub(super) fn push(&mut self, key: impl Into<String>, value: Value) -> &mut Self {
        self.0.push(KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        });
        self
    }

    pub(super) fn str(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.push(key, Value::StringValue(value.into()))
    }

    pub(super) fn int(&mut self, key: impl Into<String>, value: i64) -> &mut Self {
        self.push(key, Value::IntValue(value))
    }

    pub(super) fn float(&mut self, key: impl Into<String>, value: f64) -> &mut Self {
        self.push(key, Value::DoubleValue(value))
    }

    pub(super) fn bool(&mut self, key: impl Into<String>, value: bool) -> &mut Self {
        self.push(key, Value::BoolValue(value))
    }

    pub(super) fn strs(&mut self, key: impl Into<String>, values: &[&str]) -> &mut Self {
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
pub(super) struct Role {
    kind: SpanKind,
    oi: Option<&'static str>,
    mlflow: Option<&'static str>,
}

impl Role {
    pub(super) const PLAIN: Role = Role::new(SpanKind::Internal, None, None);
    pub(super) const ROOT: Role = Role::new(SpanKind::Server, Some("CHAIN"), Some("CHAIN"));
    pub(super) const CHAIN: Role = Role::new(SpanKind::Internal, Some("CHAIN"), Some("CHAIN"));
    pub(super) const RETRIEVER: Role =
        Role::new(SpanKind::Internal, Some("RETRIEVER"), Some("RETRIEVER"));
    pub(super) const SEARCH: Role =
        Role::new(SpanKind::Client, Some("RETRIEVER"), Some("RETRIEVER"));
    pub(super) const EMBEDDING: Role =
        Role::new(SpanKind::Internal, Some("EMBEDDING"), Some("EMBEDDING"));
    pub(super) const RERANKER: Role =
        Role::new(SpanKind::Internal, Some("RERANKER"), Some("RERANKER"));
    pub(super) const LLM: Role = Role::new(SpanKind::Client, Some("LLM"), Some("CHAT_MODEL"));
    pub(super) const GUARDRAIL: Role =
        Role::new(SpanKind::Internal, Some("GUARDRAIL"), Some("GUARDRAIL"));

    const fn new(kind: SpanKind, oi: Option<&'static str>, mlflow: Option<&'static str>) -> Role {
        Role { kind, oi, mlflow }
    }
}

/// State while one trace is built; spans are indices into `spans`, `parents` mirrors them.
pub(super) struct TraceBuilder<'w> {
    workload: &'w Workload,
    pub(super) conv: Conventions,
    pub(super) rng: SmallRng,
    /// A slow backend episode: stretches search and the LLM call.
    pub(super) slow: bool,
    /// The `latency_factor` knob, applied to `llm_call` and `rerank`.
    pub(super) latency_factor: f64,
    trace_id: [u8; 16],
    session_id: String,
    index: u64,
    spans: Vec<Span>,
    parents: Vec<Option<usize>>,
    session: &'w Session,
}

impl<'w> TraceBuilder<'w> {
    pub(super) fn new(workload: &'w Workload, index: u64, session: &'w Session) -> Self {
        let mut rng = stream_rng(workload.seed, Stream::Trace, index);
        let trace_id = rng.random::<u128>().to_be_bytes();
        Self {
            workload,
            conv: workload.conventions,
            rng,
            slow: false,
            latency_factor: workload.knobs.latency_factor,
            trace_id,
            session_id: session.session_id.clone(),
            index,
            spans: Vec::with_capacity(20),
            parents: Vec::with_capacity(20),
            session,
        }
    }

    /// A lognormal duration in ns with the given median.
    pub(super) fn dur(&mut self, median_ms: f64, sigma: f64) -> i64 {
        (median_ms * (sigma * gauss(&mut self.rng)).exp() * 1e6) as i64
    }

    pub(super) fn text(&mut self, lo: usize, hi: usize) -> String {
        text(&mut self.rng, &self.workload.sentences, lo, hi)
    }

    pub(super) fn add(
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

    pub(super) fn set_end(&mut self, span: usize, end: i64) {
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
    pub(super) fn io(&self, a: &mut Attrs, inputs: &Json, outputs: Option<&Json>) {
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

    pub(super) fn build(mut self, t0: i64, message_no: u32) -> DemoTrace {
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
        self.slow = slow;
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
            (t, docs) = self.retrieval(root, t, &short_msg);
            let generated = self.generation(root, t, model, &docs, &user_msg, message_no);
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

fn oi_value<'a>(value: &'a Json, encoded: &'a str) -> (&'a str, &'static str) {
    match value {
        Json::String(s) => (s.as_str(), "text/plain"),
        _ => (encoded, "application/json"),
    }
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
                        !(kv.key.starts_with("mlflow.")
                            || kv.key.starts_with("llm.")
                            || kv.key == "session.id"
                            || (s.parent_span_id.is_empty() && kv.key == "intent")),
                        "{}",
                        kv.key
                    );
                }
            }
        }
    }
}
