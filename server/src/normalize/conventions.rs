//! Reads the LLM facts of one span (kind, model, provider, tokens, inputs/outputs, session,
//! user) out of whichever attribute conventions the client used: MLflow, OpenInference, OTel
//! GenAI, OpenLLMetry/Traceloop (PROTOCOL.md §7). Pure attribute reading: it neither prices
//! spans nor knows about traces.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::{Attributes, LlmFacts, SpanKind};

/// MLflow payload keys that clients send as JSON text; their parsed form is what the UI and
/// the token/cost logic need (PROTOCOL.md §5.4, "Recommended canonical storage").
const MLFLOW_PAYLOAD_KEYS: [&str; 4] = [
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "mlflow.chat.tokenUsage",
    "mlflow.llm.cost",
];

const MODEL_KEYS: [&str; 8] = [
    "mlflow.llm.model",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.response.model_name",
    "llm.model_name",
    "llm.request.model_name",
    "embedding.model_name",
    "reranker.model_name",
];

const PROVIDER_KEYS: [&str; 5] = [
    "mlflow.llm.provider",
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
];

const INPUT_TOKEN_KEYS: [&str; 3] = [
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
];

const OUTPUT_TOKEN_KEYS: [&str; 3] = [
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
];

const CACHED_TOKEN_KEYS: [&str; 3] = [
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
];

const SESSION_KEYS: [&str; 4] = [
    "session.id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
    "mlflow.trace.session",
];

const USER_KEYS: [&str; 3] = [
    "user.id",
    "traceloop.association.properties.user_id",
    "mlflow.trace.user",
];

/// Replaces MLflow's double-encoded `mlflow.*` values by what they encode (PROTOCOL.md §5.4d,
/// the real server's `strip_otlp_double_encoding`).
///
/// A string holding a JSON string, object or array is decoded; a string holding a number or
/// bool stays as sent, since `"10"` may well be meant as text. The payload keys
/// (`mlflow.spanInputs`, `mlflow.spanOutputs`, `mlflow.chat.tokenUsage`, `mlflow.llm.cost`) are
/// always JSON text when they are strings, so any JSON there is decoded, and one more level of
/// string encoding is peeled when a plain OTel exporter wrapped the SDK's JSON text again.
pub fn strip_mlflow_double_encoding(attrs: &mut Attributes) {
    for (key, value) in attrs.iter_mut() {
        if !key.starts_with("mlflow.") {
            continue;
        }
        let Value::String(text) = value else { continue };
        let payload = MLFLOW_PAYLOAD_KEYS.contains(&key.as_str());
        let Some(mut decoded) = decode_json_text(text, payload) else {
            continue;
        };
        if payload {
            if let Value::String(inner) = &decoded {
                if let Some(again) = decode_json_text(inner, false) {
                    decoded = again;
                }
            }
        }
        *value = decoded;
    }
}

/// Derives everything but the cost, which needs the price table (see `pricing`), with the
/// built-in guardrail keys: for reading stored spans, where only the ingest-time flag counts.
pub fn llm_facts(attrs: &Attributes) -> LlmFacts {
    llm_facts_with(attrs, GuardrailKeys::builtin())
}

/// [`llm_facts`] with the configured guardrail keys (ingest).
pub fn llm_facts_with(attrs: &Attributes, guardrails: &GuardrailKeys) -> LlmFacts {
    let usage = attrs
        .get("mlflow.chat.tokenUsage")
        .and_then(Value::as_object);
    let from_usage = |field: &str| usage.and_then(|u| u.get(field)).and_then(token_count);
    LlmFacts {
        kind: span_kind(attrs),
        model: first_text(attrs, &MODEL_KEYS),
        provider: first_text(attrs, &PROVIDER_KEYS),
        input_tokens: from_usage("input_tokens").or_else(|| first_count(attrs, &INPUT_TOKEN_KEYS)),
        output_tokens: from_usage("output_tokens")
            .or_else(|| first_count(attrs, &OUTPUT_TOKEN_KEYS)),
        cached_tokens: from_usage("cache_read_input_tokens")
            .or_else(|| first_count(attrs, &CACHED_TOKEN_KEYS)),
        cost: None,
        inputs: payload(attrs, Side::Input),
        outputs: payload(attrs, Side::Output),
        session_id: first_text(attrs, &SESSION_KEYS),
        user_id: first_text(attrs, &USER_KEYS),
        guardrail_blocked: guardrail_blocked(attrs, guardrails),
    }
}

/// The built-in keys whose true value says a guardrail blocked the answer (the demo pipeline
/// and NeMo/Guardrails-AI style instrumentations): the default of `--guardrail-blocked-keys`.
pub const DEFAULT_GUARDRAIL_BLOCKED_KEYS: &str =
    "guardrail.blocked,guardrail.triggered,guardrails.blocked";
/// The built-in keys whose false value says the same: the default of `--guardrail-passed-keys`.
pub const DEFAULT_GUARDRAIL_PASSED_KEYS: &str = "guardrail.passed,guardrails.passed";

/// Which span attributes say that a guardrail blocked: a true value of a `blocked` key or a
/// false value of a `passed` key. Configurable because every guardrail library names its
/// verdict differently (`moderation.flagged`, `nemo.rail.blocked`, …) and the block rate is
/// only as good as this list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailKeys {
    pub blocked: Vec<String>,
    pub passed: Vec<String>,
}

impl GuardrailKeys {
    /// Keys as given on the command line: trimmed, empty ones dropped.
    pub fn new<B, P>(blocked: B, passed: P) -> GuardrailKeys
    where
        B: IntoIterator,
        B::Item: AsRef<str>,
        P: IntoIterator,
        P::Item: AsRef<str>,
    {
        fn clean<I: IntoIterator>(keys: I) -> Vec<String>
        where
            I::Item: AsRef<str>,
        {
            keys.into_iter()
                .map(|k| k.as_ref().trim().to_string())
                .filter(|k| !k.is_empty())
                .collect()
        }
        GuardrailKeys {
            blocked: clean(blocked),
            passed: clean(passed),
        }
    }

    /// The defaults, shared so reads of stored spans do not build them per span.
    pub fn builtin() -> &'static GuardrailKeys {
        static BUILTIN: std::sync::LazyLock<GuardrailKeys> =
            std::sync::LazyLock::new(GuardrailKeys::default);
        &BUILTIN
    }
}

impl Default for GuardrailKeys {
    fn default() -> Self {
        GuardrailKeys::new(
            DEFAULT_GUARDRAIL_BLOCKED_KEYS.split(','),
            DEFAULT_GUARDRAIL_PASSED_KEYS.split(','),
        )
    }
}

/// Did this span's guardrail block, by `keys`? Booleans, or their text (`"true"`, `"False"`)
/// as string-only conventions send them.
pub fn guardrail_blocked(attrs: &Attributes, keys: &GuardrailKeys) -> bool {
    let flag = |key: &str| match attrs.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    };
    keys.blocked.iter().any(|k| flag(k) == Some(true))
        || keys.passed.iter().any(|k| flag(k) == Some(false))
}

/// The first convention that names a kind wins, in MLflow's translator order with MLflow's own
/// key first (PROTOCOL.md §7 note 1). An explicit `UNKNOWN` is no opinion: the MLflow SDK
/// writes it for untyped spans, and a later convention may know better.
fn span_kind(attrs: &Attributes) -> SpanKind {
    type KindMap = fn(&str) -> Option<SpanKind>;
    let conventions: [(&str, KindMap); 6] = [
        ("mlflow.spanType", mlflow_kind),
        ("openinference.span.kind", openinference_kind),
        ("gen_ai.operation.name", genai_kind),
        ("traceloop.span.kind", traceloop_kind),
        ("langfuse.observation.type", langfuse_kind),
        ("lmnr.span.type", laminar_kind),
    ];
    let named = conventions
        .iter()
        .find_map(|(key, map)| text(attrs, key).and_then(|value| map(&value.to_ascii_lowercase())));
    // MLflow's catch-all: OpenLLMetry LLM spans carry no kind at all, only a model.
    let calls_model = || {
        ["gen_ai.request.model", "llm.model_name"]
            .iter()
            .any(|k| text(attrs, k).is_some())
    };
    named
        .or_else(|| calls_model().then_some(SpanKind::Llm))
        .unwrap_or(SpanKind::Unknown)
}

fn mlflow_kind(value: &str) -> Option<SpanKind> {
    SpanKind::parse(&value.to_ascii_uppercase()).filter(|k| *k != SpanKind::Unknown)
}

fn openinference_kind(value: &str) -> Option<SpanKind> {
    // PROMPT and DECISION have no MLflow counterpart; MLflow leaves them unmapped too.
    Some(match value {
        "llm" => SpanKind::Llm,
        "chain" => SpanKind::Chain,
        "tool" => SpanKind::Tool,
        "retriever" => SpanKind::Retriever,
        "embedding" => SpanKind::Embedding,
        "agent" => SpanKind::Agent,
        "reranker" => SpanKind::Reranker,
        "guardrail" => SpanKind::Guardrail,
        "evaluator" => SpanKind::Evaluator,
        _ => return None,
    })
}

fn genai_kind(value: &str) -> Option<SpanKind> {
    // `retrieval` and `invoke_workflow` stay unmapped, as in MLflow.
    Some(match value {
        "chat" => SpanKind::ChatModel,
        "text_completion" | "generate_content" | "response" => SpanKind::Llm,
        "embeddings" => SpanKind::Embedding,
        "execute_tool" => SpanKind::Tool,
        "invoke_agent" | "create_agent" => SpanKind::Agent,
        _ => return None,
    })
}

fn traceloop_kind(value: &str) -> Option<SpanKind> {
    Some(match value {
        "workflow" => SpanKind::Workflow,
        "task" => SpanKind::Task,
        "agent" => SpanKind::Agent,
        "tool" => SpanKind::Tool,
        _ => return None,
    })
}

fn langfuse_kind(value: &str) -> Option<SpanKind> {
    // `span` and `event` are Langfuse's untyped observations.
    Some(match value {
        "generation" => SpanKind::Llm,
        "embedding" => SpanKind::Embedding,
        "tool" => SpanKind::Tool,
        "retriever" => SpanKind::Retriever,
        "agent" => SpanKind::Agent,
        "chain" => SpanKind::Chain,
        "guardrail" => SpanKind::Guardrail,
        "evaluator" => SpanKind::Evaluator,
        _ => return None,
    })
}

fn laminar_kind(value: &str) -> Option<SpanKind> {
    Some(match value {
        "llm" => SpanKind::Llm,
        "tool" => SpanKind::Tool,
        "evaluator" => SpanKind::Evaluator,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Side {
    Input,
    Output,
}

/// Inputs or outputs as JSON, from the richest convention present (PROTOCOL.md §7 table).
fn payload(attrs: &Attributes, side: Side) -> Option<Value> {
    let (mlflow, oi, oi_mime, genai, oi_messages, traceloop, legacy_genai) = match side {
        Side::Input => (
            "mlflow.spanInputs",
            "input.value",
            "input.mime_type",
            "gen_ai.input.messages",
            "llm.input_messages",
            "traceloop.entity.input",
            "gen_ai.prompt",
        ),
        Side::Output => (
            "mlflow.spanOutputs",
            "output.value",
            "output.mime_type",
            "gen_ai.output.messages",
            "llm.output_messages",
            "traceloop.entity.output",
            "gen_ai.completion",
        ),
    };
    present(attrs, mlflow)
        .cloned()
        .or_else(|| {
            let is_json =
                text(attrs, oi_mime).is_some_and(|m| m.to_ascii_lowercase().contains("json"));
            present(attrs, oi).map(|v| json_or_text(v, is_json))
        })
        .or_else(|| present(attrs, genai).map(|v| json_or_text(v, true)))
        .or_else(|| present(attrs, oi_messages).map(|v| json_or_text(v, true)))
        .or_else(|| indexed_messages(attrs, oi_messages, "message."))
        .or_else(|| present(attrs, traceloop).map(|v| json_or_text(v, true)))
        .or_else(|| indexed_messages(attrs, legacy_genai, ""))
}

/// Rebuilds `[{role, content}, …]` from flattened keys `<prefix>.<i>.<inner><field>`, which
/// is how OpenInference and OpenLLMetry send message lists through flat OTel attributes.
pub(crate) fn indexed_messages(attrs: &Attributes, prefix: &str, inner: &str) -> Option<Value> {
    let mut by_index: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
    for (key, value) in attrs {
        let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(index), Some(field)) = (index.parse::<usize>(), field.strip_prefix(inner)) else {
            continue;
        };
        if matches!(field, "role" | "content") {
            let value = value_text(value).map_or_else(|| value.clone(), Value::String);
            by_index
                .entry(index)
                .or_default()
                .insert(field.to_owned(), value);
        }
    }
    (!by_index.is_empty())
        .then(|| Value::Array(by_index.into_values().map(Value::Object).collect()))
}

/// A string parsed as JSON when `parse` says it is JSON text (falling back to the text itself
/// when it is not valid JSON); structured values as they are.
fn json_or_text(value: &Value, parse: bool) -> Value {
    match value {
        Value::String(s) if parse => serde_json::from_str(s).unwrap_or_else(|_| value.clone()),
        _ => value.clone(),
    }
}

/// A present, non-null value; an empty string counts as absent.
fn present<'a>(attrs: &'a Attributes, key: &str) -> Option<&'a Value> {
    attrs.get(key).filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    })
}

fn first_text(attrs: &Attributes, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(attrs, k))
}

fn first_count(attrs: &Attributes, keys: &[&str]) -> Option<i64> {
    keys.iter()
        .find_map(|k| attrs.get(*k).and_then(token_count))
}

fn text(attrs: &Attributes, key: &str) -> Option<String> {
    attrs.get(key).and_then(value_text)
}

/// A scalar as trimmed text, unwrapping a JSON-quoted string (`"\"gpt-4o\""`): exporters that
/// JSON-encode every attribute (PROTOCOL.md §5.4d) do so for non-`mlflow.*` keys too, and a
/// quoted model or session id is never what the client meant.
pub(super) fn value_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => unquote(s).unwrap_or_else(|| s.trim().to_owned()),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// The string a JSON string literal encodes, if `s` is one.
pub(super) fn unquote(s: &str) -> Option<String> {
    let t = s.trim();
    if t.len() < 2 || !t.starts_with('"') {
        return None;
    }
    match serde_json::from_str(t) {
        Ok(Value::String(inner)) => Some(inner.trim().to_owned()),
        _ => None,
    }
}

/// A token count from an int, a double or a numeric string, quoted or not (PROTOCOL.md §7
/// note 2; MLflow's `_parse_int_attribute`). Negative or non-finite counts are dropped.
pub(super) fn token_count(value: &Value) -> Option<i64> {
    let from_f64 = |f: f64| (f.is_finite() && (0.0..9.0e18).contains(&f)).then(|| f.round() as i64);
    let count = match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(from_f64)),
        Value::String(s) => {
            let owned = unquote(s);
            let t = owned.as_deref().unwrap_or(s).trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().and_then(from_f64))
        }
        _ => None,
    };
    count.filter(|n| *n >= 0)
}

/// Decodes `text` if it is JSON encoding a string, object or array; with `any`, any JSON.
fn decode_json_text(text: &str, any: bool) -> Option<Value> {
    // Most attribute strings are plain text; skip the parser unless the first byte can start
    // one of the accepted shapes.
    let first = text.trim_start().bytes().next()?;
    if !any && !matches!(first, b'"' | b'{' | b'[') {
        return None;
    }
    let decoded: Value = serde_json::from_str(text).ok()?;
    let structured = matches!(
        decoded,
        Value::String(_) | Value::Object(_) | Value::Array(_)
    );
    (any || structured).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attrs(v: Value) -> Attributes {
        match v {
            Value::Object(m) => m,
            _ => panic!("test attributes must be an object"),
        }
    }

    fn facts(v: Value) -> LlmFacts {
        let mut a = attrs(v);
        strip_mlflow_double_encoding(&mut a);
        llm_facts(&a)
    }

    #[test]
    fn double_encoded_mlflow_string_is_unwrapped() {
        let mut a = attrs(json!({
            "mlflow.spanType": "\"CHAIN\"",
            "mlflow.traceRequestId": "\"tr-abc\"",
            "mlflow.spanInputs": "{\"question\": \"hi\"}",
            "mlflow.spanOutputs": "\"Paris.\"",
            "mlflow.custom": "[1, 2]",
        }));
        strip_mlflow_double_encoding(&mut a);
        assert_eq!(a["mlflow.spanType"], json!("CHAIN"));
        assert_eq!(a["mlflow.traceRequestId"], json!("tr-abc"));
        assert_eq!(a["mlflow.spanInputs"], json!({"question": "hi"}));
        assert_eq!(a["mlflow.spanOutputs"], json!("Paris."));
        assert_eq!(a["mlflow.custom"], json!([1, 2]));
    }

    #[test]
    fn number_encoded_as_string_stays_a_string_outside_payload_keys() {
        let mut a = attrs(json!({"mlflow.spanLogLevel": "10", "mlflow.flag": "true"}));
        strip_mlflow_double_encoding(&mut a);
        assert_eq!(a["mlflow.spanLogLevel"], json!("10"));
        assert_eq!(a["mlflow.flag"], json!("true"));
    }

    #[test]
    fn non_mlflow_keys_are_left_as_sent() {
        let mut a = attrs(json!({"input.value": "{\"a\": 1}", "session.id": "\"s\""}));
        strip_mlflow_double_encoding(&mut a);
        assert_eq!(a["input.value"], json!("{\"a\": 1}"));
        assert_eq!(a["session.id"], json!("\"s\""));
    }

    #[test]
    fn plain_text_mlflow_value_is_kept() {
        let mut a = attrs(json!({"mlflow.spanInputs": "just words", "mlflow.note": "{broken"}));
        strip_mlflow_double_encoding(&mut a);
        assert_eq!(a["mlflow.spanInputs"], json!("just words"));
        assert_eq!(a["mlflow.note"], json!("{broken"));
    }

    #[test]
    fn payload_json_text_is_parsed_even_when_encoded_twice() {
        let twice = serde_json::to_string("{\"input_tokens\": 5}").unwrap();
        let mut a = attrs(json!({
            "mlflow.chat.tokenUsage": twice,
            "mlflow.llm.cost": "{\"input_cost\": 0.1, \"output_cost\": 0.2, \"total_cost\": 0.3}",
            "mlflow.spanOutputs": "42",
        }));
        strip_mlflow_double_encoding(&mut a);
        assert_eq!(a["mlflow.chat.tokenUsage"], json!({"input_tokens": 5}));
        assert_eq!(a["mlflow.llm.cost"]["total_cost"], json!(0.3));
        assert_eq!(a["mlflow.spanOutputs"], json!(42));
    }

    #[test]
    fn mlflow_span_type_beats_openinference_and_genai() {
        let f = facts(json!({
            "gen_ai.operation.name": "chat",
            "openinference.span.kind": "LLM",
            "mlflow.spanType": "\"RETRIEVER\"",
        }));
        assert_eq!(f.kind, SpanKind::Retriever);
    }

    #[test]
    fn openinference_kind_beats_genai_operation() {
        let f = facts(json!({"gen_ai.operation.name": "chat", "openinference.span.kind": "LLM"}));
        assert_eq!(f.kind, SpanKind::Llm);
    }

    #[test]
    fn openinference_kinds_map_case_insensitively() {
        for (sent, want) in [
            ("CHAIN", SpanKind::Chain),
            ("tool", SpanKind::Tool),
            ("Retriever", SpanKind::Retriever),
            ("EMBEDDING", SpanKind::Embedding),
            ("AGENT", SpanKind::Agent),
            ("RERANKER", SpanKind::Reranker),
            ("GUARDRAIL", SpanKind::Guardrail),
            ("EVALUATOR", SpanKind::Evaluator),
            ("PROMPT", SpanKind::Unknown),
        ] {
            assert_eq!(
                facts(json!({"openinference.span.kind": sent})).kind,
                want,
                "{sent}"
            );
        }
    }

    #[test]
    fn genai_operation_names_map_to_mlflow_kinds() {
        for (op, want) in [
            ("chat", SpanKind::ChatModel),
            ("text_completion", SpanKind::Llm),
            ("generate_content", SpanKind::Llm),
            ("response", SpanKind::Llm),
            ("embeddings", SpanKind::Embedding),
            ("execute_tool", SpanKind::Tool),
            ("invoke_agent", SpanKind::Agent),
            ("create_agent", SpanKind::Agent),
            ("retrieval", SpanKind::Unknown),
            ("invoke_workflow", SpanKind::Unknown),
        ] {
            assert_eq!(
                facts(json!({"gen_ai.operation.name": op})).kind,
                want,
                "{op}"
            );
        }
    }

    #[test]
    fn traceloop_span_kinds_map_to_mlflow_kinds() {
        for (sent, want) in [
            ("workflow", SpanKind::Workflow),
            ("task", SpanKind::Task),
            ("agent", SpanKind::Agent),
            ("TOOL", SpanKind::Tool),
            ("unknown", SpanKind::Unknown),
        ] {
            assert_eq!(
                facts(json!({"traceloop.span.kind": sent})).kind,
                want,
                "{sent}"
            );
        }
    }

    #[test]
    fn genai_operation_beats_traceloop_kind() {
        let f = facts(json!({"traceloop.span.kind": "task", "gen_ai.operation.name": "chat"}));
        assert_eq!(f.kind, SpanKind::ChatModel);
    }

    #[test]
    fn langfuse_and_laminar_kinds_are_understood() {
        assert_eq!(
            facts(json!({"langfuse.observation.type": "generation"})).kind,
            SpanKind::Llm
        );
        assert_eq!(
            facts(json!({"langfuse.observation.type": "guardrail"})).kind,
            SpanKind::Guardrail
        );
        assert_eq!(
            facts(json!({"langfuse.observation.type": "span"})).kind,
            SpanKind::Unknown
        );
        assert_eq!(facts(json!({"lmnr.span.type": "LLM"})).kind, SpanKind::Llm);
    }

    #[test]
    fn span_with_only_a_request_model_is_an_llm_span() {
        let f = facts(json!({"llm.request.type": "chat", "gen_ai.request.model": "gpt-3.5-turbo"}));
        assert_eq!(f.kind, SpanKind::Llm);
        assert_eq!(facts(json!({"llm.model_name": "m"})).kind, SpanKind::Llm);
    }

    #[test]
    fn explicit_unknown_defers_to_later_conventions() {
        let f = facts(json!({"mlflow.spanType": "UNKNOWN", "openinference.span.kind": "TOOL"}));
        assert_eq!(f.kind, SpanKind::Tool);
        let f = facts(json!({"mlflow.spanType": "UNKNOWN", "gen_ai.request.model": "gpt-4o"}));
        assert_eq!(f.kind, SpanKind::Llm);
    }

    #[test]
    fn span_without_any_convention_is_unknown() {
        assert_eq!(facts(json!({"http.method": "GET"})).kind, SpanKind::Unknown);
    }

    #[test]
    fn model_prefers_mlflow_then_response_then_request() {
        let f = facts(json!({
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
        }));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-2024-08-06"));
        let f = facts(json!({"gen_ai.response.model": "x", "mlflow.llm.model": "\"y\""}));
        assert_eq!(f.model.as_deref(), Some("y"));
    }

    #[test]
    fn model_skips_empty_values_and_reads_openinference_keys() {
        let f = facts(json!({"gen_ai.response.model": "", "llm.model_name": "gpt-4o-mini"}));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(
            facts(json!({"embedding.model_name": "bge-m3"}))
                .model
                .as_deref(),
            Some("bge-m3")
        );
        assert_eq!(
            facts(json!({"reranker.model_name": "bge-reranker"}))
                .model
                .as_deref(),
            Some("bge-reranker")
        );
    }

    #[test]
    fn provider_comes_from_each_convention() {
        for key in PROVIDER_KEYS {
            assert_eq!(
                facts(json!({key: "openai"})).provider.as_deref(),
                Some("openai"),
                "{key}"
            );
        }
        let f =
            facts(json!({"gen_ai.system": "openai", "gen_ai.provider.name": "azure.ai.openai"}));
        assert_eq!(f.provider.as_deref(), Some("azure.ai.openai"));
    }

    #[test]
    fn quoted_model_from_a_json_encoding_exporter_is_unquoted() {
        let f = facts(json!({"llm.model_name": "\"gpt-4o-mini-2024-07-18\""}));
        assert_eq!(f.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    }

    #[test]
    fn mlflow_token_usage_object_gives_all_three_counts() {
        let f = facts(json!({
            "mlflow.chat.tokenUsage":
                "{\"input_tokens\": 120, \"output_tokens\": 45, \"total_tokens\": 165, \"cache_read_input_tokens\": 100}",
            "gen_ai.usage.input_tokens": 1,
        }));
        assert_eq!(
            (f.input_tokens, f.output_tokens, f.cached_tokens),
            (Some(120), Some(45), Some(100))
        );
    }

    #[test]
    fn genai_token_keys_are_read() {
        let f = facts(json!({
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 45,
            "gen_ai.usage.cache_read.input_tokens": 100,
        }));
        assert_eq!(
            (f.input_tokens, f.output_tokens, f.cached_tokens),
            (Some(120), Some(45), Some(100))
        );
    }

    #[test]
    fn traceloop_token_keys_are_read() {
        let f = facts(json!({
            "gen_ai.usage.prompt_tokens": 15,
            "gen_ai.usage.completion_tokens": 9,
            "gen_ai.usage.cache_read_input_tokens": 4,
        }));
        assert_eq!(
            (f.input_tokens, f.output_tokens, f.cached_tokens),
            (Some(15), Some(9), Some(4))
        );
    }

    #[test]
    fn openinference_token_keys_are_read() {
        let f = facts(json!({
            "llm.token_count.prompt": 21,
            "llm.token_count.completion": 3,
            "llm.token_count.prompt_details.cache_read": 0,
        }));
        assert_eq!(
            (f.input_tokens, f.output_tokens, f.cached_tokens),
            (Some(21), Some(3), Some(0))
        );
    }

    #[test]
    fn token_counts_parse_leniently() {
        assert_eq!(token_count(&json!(26)), Some(26));
        assert_eq!(token_count(&json!(26.0)), Some(26));
        assert_eq!(token_count(&json!("26")), Some(26));
        assert_eq!(token_count(&json!("\"26\"")), Some(26));
        assert_eq!(token_count(&json!(" 26.0 ")), Some(26));
        assert_eq!(token_count(&json!(-3)), None);
        assert_eq!(token_count(&json!("many")), None);
        assert_eq!(token_count(&json!(true)), None);
    }

    #[test]
    fn a_total_with_one_side_does_not_invent_the_other() {
        let f = facts(json!({"gen_ai.usage.input_tokens": "10", "llm.usage.total_tokens": 30}));
        assert_eq!((f.input_tokens, f.output_tokens), (Some(10), None));
    }

    #[test]
    fn mlflow_span_inputs_win_over_other_conventions() {
        let f = facts(json!({
            "mlflow.spanInputs": "{\"question\": \"q\"}",
            "input.value": "plain",
            "mlflow.spanOutputs": "\"a\"",
            "output.value": "other",
        }));
        assert_eq!(f.inputs, Some(json!({"question": "q"})));
        assert_eq!(f.outputs, Some(json!("a")));
    }

    #[test]
    fn openinference_value_is_parsed_only_with_a_json_mime_type() {
        let f = facts(json!({
            "input.value": "{\"question\": \"q\"}",
            "input.mime_type": "application/json",
            "output.value": "{\"not\": \"parsed\"}",
            "output.mime_type": "text/plain",
        }));
        assert_eq!(f.inputs, Some(json!({"question": "q"})));
        assert_eq!(f.outputs, Some(json!("{\"not\": \"parsed\"}")));
        let f = facts(json!({"input.value": "hello"}));
        assert_eq!(f.inputs, Some(json!("hello")));
    }

    #[test]
    fn genai_messages_are_parsed_from_json_text_or_taken_as_arrays() {
        let f = facts(json!({
            "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"Plan a trip\"}]}]",
            "gen_ai.output.messages": [{"role": "assistant", "parts": []}],
        }));
        assert_eq!(
            f.inputs.as_ref().and_then(|v| v[0]["role"].as_str()),
            Some("user")
        );
        assert_eq!(f.outputs, Some(json!([{"role": "assistant", "parts": []}])));
    }

    #[test]
    fn flattened_openinference_messages_are_rebuilt_in_index_order() {
        let f = facts(json!({
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "Capital of France?",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.10.message.role": "user",
            "llm.input_messages.10.message.tool_calls.0.tool_call.id": "ignored",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "\"Paris.\"",
        }));
        assert_eq!(
            f.inputs,
            Some(json!([
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Capital of France?"},
                {"role": "user"},
            ]))
        );
        assert_eq!(
            f.outputs,
            Some(json!([{"role": "assistant", "content": "Paris."}]))
        );
    }

    #[test]
    fn traceloop_entity_payloads_are_parsed() {
        let f = facts(json!({
            "traceloop.entity.input": "{\"args\": [], \"kwargs\": {\"topic\": \"cats\"}}",
            "traceloop.entity.output": "\"a joke\"",
        }));
        assert_eq!(
            f.inputs,
            Some(json!({"args": [], "kwargs": {"topic": "cats"}}))
        );
        assert_eq!(f.outputs, Some(json!("a joke")));
    }

    #[test]
    fn traceloop_prompt_and_completion_lists_are_rebuilt() {
        let f = facts(json!({
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Tell me a joke about cats",
            "gen_ai.prompt.name": "not a message",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Why did the cat...",
            "gen_ai.completion.0.finish_reason": "stop",
        }));
        assert_eq!(
            f.inputs,
            Some(json!([{"role": "user", "content": "Tell me a joke about cats"}]))
        );
        assert_eq!(
            f.outputs,
            Some(json!([{"role": "assistant", "content": "Why did the cat..."}]))
        );
    }

    #[test]
    fn span_without_payload_has_no_inputs() {
        let f = facts(json!({"mlflow.spanInputs": null, "input.value": ""}));
        assert_eq!((f.inputs, f.outputs), (None, None));
    }

    #[test]
    fn session_and_user_come_from_each_convention() {
        for key in SESSION_KEYS {
            assert_eq!(
                facts(json!({key: "s1"})).session_id.as_deref(),
                Some("s1"),
                "{key}"
            );
        }
        for key in USER_KEYS {
            assert_eq!(
                facts(json!({key: "u1"})).user_id.as_deref(),
                Some("u1"),
                "{key}"
            );
        }
        let f = facts(json!({"gen_ai.conversation.id": "conv-555", "session.id": "sess-1"}));
        assert_eq!(f.session_id.as_deref(), Some("sess-1"));
        assert_eq!(facts(json!({"user.id": 42})).user_id.as_deref(), Some("42"));
    }

    #[test]
    fn builtin_guardrail_keys_read_booleans_and_their_text() {
        let blocked = |v: Value| guardrail_blocked(&attrs(v), GuardrailKeys::builtin());
        assert!(blocked(json!({"guardrail.blocked": true})));
        assert!(blocked(json!({"guardrail.triggered": "True"})));
        assert!(blocked(json!({"guardrails.blocked": " true "})));
        assert!(blocked(json!({"guardrail.passed": false})));
        assert!(blocked(json!({"guardrails.passed": "false"})));
        assert!(!blocked(
            json!({"guardrail.passed": true, "guardrail.blocked": false})
        ));
        assert!(!blocked(
            json!({"guardrail.blocked": "yes", "guardrail.passed": 0})
        ));
        assert!(!blocked(json!({"moderation.flagged": true})));
    }

    #[test]
    fn configured_guardrail_keys_replace_the_builtin_ones() {
        let keys = GuardrailKeys::new([" moderation.flagged", ""], ["rail.ok"]);
        assert_eq!(keys.blocked, ["moderation.flagged"]);
        let blocked = |v: Value| guardrail_blocked(&attrs(v), &keys);
        assert!(blocked(json!({"moderation.flagged": true})));
        assert!(blocked(json!({"rail.ok": "FALSE"})));
        assert!(!blocked(
            json!({"moderation.flagged": false, "rail.ok": true})
        ));
        assert!(!blocked(
            json!({"guardrail.blocked": true, "guardrail.passed": false})
        ));
        let facts = llm_facts_with(&attrs(json!({"moderation.flagged": "true"})), &keys);
        assert!(facts.guardrail_blocked);
    }
}
