//! Turns raw spans into LLM facts: span kind, model, provider, tokens, inputs/outputs,
//! session/user (from the MLflow, OTel GenAI, OpenInference and OpenLLMetry conventions), cost
//! from the model price table, and trace tags. Pure: no I/O, no async, no store.

pub mod conventions;
pub mod live_prices;
pub mod pricing;
pub mod redact;
mod tags;

use std::collections::BTreeMap;

use crate::model::{Attributes, RawSpan, Span};
pub use conventions::GuardrailKeys;
pub use live_prices::LivePrices;
pub use pricing::PriceTable;
pub use redact::{RedactionConfig, Redactor};

/// Derives the LLM facts of `raw` (a guardrail block by `guardrails`) and prices it with
/// `prices`. Also strips MLflow's double
/// JSON encoding of `mlflow.*` attribute values (PROTOCOL.md §5.4d) in place, so the stored
/// attributes and everything read from them agree.
///
/// The price is the one in force when the span started; a span without a start time is
/// priced at the latest known price.
pub fn normalize_span(mut raw: RawSpan, prices: &PriceTable, guardrails: &GuardrailKeys) -> Span {
    conventions::strip_mlflow_double_encoding(&mut raw.attributes);
    let mut facts = conventions::llm_facts_with(&raw.attributes, guardrails);
    let at_ms = if raw.start_ns > 0 {
        raw.start_ns / 1_000_000
    } else {
        i64::MAX
    };
    facts.cost = prices.price_span(&facts, at_ms);
    Span { raw, facts }
}

/// `service.name` and the trace tags carried by a resource (PROTOCOL.md §4.4: resource
/// attributes become tags, except `telemetry.sdk.*` and `mlflow.*`).
pub fn resource_tags(resource: &Attributes) -> (Option<String>, BTreeMap<String, String>) {
    tags::resource_tags(resource)
}

/// Trace tags carried by a root span's attributes (`mlflow.traceTag.<k>`, OpenInference
/// `metadata`, Traceloop association properties). OpenInference `tag.tags` is a bare list of
/// labels, not key/value pairs, so it does not become tags.
pub fn root_span_tags(root: &RawSpan) -> BTreeMap<String, String> {
    tags::root_span_tags(&root.attributes)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::model::{SpanKind, StatusCode};

    /// 2026-11-23, the time of the protocol captures.
    const START_NS: i64 = 1_795_464_324_982_330_845;

    fn raw_span(attributes: Value) -> RawSpan {
        RawSpan {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: Some([3; 8]),
            name: "llm_call".into(),
            otel_kind: 3,
            start_ns: START_NS,
            end_ns: START_NS + 620_000_000,
            status: StatusCode::Ok,
            status_message: String::new(),
            attributes: match attributes {
                Value::Object(m) => m,
                _ => panic!("test attributes must be an object"),
            },
            events: Vec::new(),
            links: Vec::new(),
            scope_name: None,
            scope_version: None,
        }
    }

    /// The `llm_call` span of bench/workload.py with every convention on ("otel", "oi",
    /// "mlflow"), values as the workload's OTLP encoder sends them.
    fn bench_llm_call() -> RawSpan {
        let (input_tokens, output_tokens) = (1_000, 200);
        let messages = json!([
            {"role": "system", "content": "You are MangaAssist."},
            {"role": "user", "content": "Is One Piece volume 105 in stock?"},
        ]);
        let inputs = json!({"model": "claude-sonnet", "temperature": 0.3, "messages": messages});
        let outputs = json!({
            "id": "msg_00000000deadbeef", "model": "claude-sonnet",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Yes, it is."}}],
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens},
        });
        raw_span(json!({
            "openinference.span.kind": "LLM",
            "mlflow.spanType": "CHAT_MODEL",
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet",
            "gen_ai.response.model": "claude-sonnet",
            "gen_ai.request.temperature": 0.3,
            "gen_ai.request.max_tokens": 1024,
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens,
            "gen_ai.response.finish_reasons": ["end_turn"],
            "llm.model_name": "claude-sonnet",
            "llm.provider": "anthropic",
            "llm.system": "anthropic",
            "llm.invocation_parameters": "{\"temperature\": 0.3, \"max_tokens\": 1024}",
            "llm.token_count.prompt": input_tokens,
            "llm.token_count.completion": output_tokens,
            "llm.token_count.total": input_tokens + output_tokens,
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "You are MangaAssist.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "Is One Piece volume 105 in stock?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Yes, it is.",
            "mlflow.chat.tokenUsage": json!({
                "input_tokens": input_tokens, "output_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            }).to_string(),
            "input.value": inputs.to_string(),
            "input.mime_type": "application/json",
            "output.value": outputs.to_string(),
            "output.mime_type": "application/json",
            "mlflow.spanInputs": inputs.to_string(),
            "mlflow.spanOutputs": outputs.to_string(),
            "session.id": "sess-2a-0000042",
        }))
    }

    #[test]
    fn bench_llm_call_is_a_priced_chat_model_span() {
        let span = normalize_span(
            bench_llm_call(),
            &PriceTable::with_seed(),
            GuardrailKeys::builtin(),
        );
        let f = &span.facts;
        assert_eq!(f.kind, SpanKind::ChatModel);
        assert_eq!(f.model.as_deref(), Some("claude-sonnet"));
        assert_eq!(f.provider.as_deref(), Some("anthropic"));
        assert_eq!(
            (f.input_tokens, f.output_tokens, f.cached_tokens),
            (Some(1_000), Some(200), None)
        );
        assert_eq!(f.session_id.as_deref(), Some("sess-2a-0000042"));
        assert_eq!(f.user_id, None);
        assert_eq!(
            f.inputs.as_ref().map(|v| &v["messages"][1]["role"]),
            Some(&json!("user"))
        );
        assert_eq!(
            f.outputs.as_ref().map(|v| &v["model"]),
            Some(&json!("claude-sonnet"))
        );
        // claude-sonnet: $3 in, $15 out per million tokens.
        let cost = f.cost.expect("claude-sonnet is in the seed table");
        assert!((cost.input - 0.003).abs() < 1e-12, "{cost:?}");
        assert!((cost.output - 0.003).abs() < 1e-12, "{cost:?}");
        assert!((cost.total - 0.006).abs() < 1e-12, "{cost:?}");
    }

    #[test]
    fn normalized_span_keeps_decoded_mlflow_attributes() {
        let span = normalize_span(
            bench_llm_call(),
            &PriceTable::with_seed(),
            GuardrailKeys::builtin(),
        );
        let attrs = &span.raw.attributes;
        assert_eq!(
            attrs["mlflow.chat.tokenUsage"]["input_tokens"],
            json!(1_000)
        );
        assert!(attrs["mlflow.spanInputs"].is_object());
        // Non-MLflow keys are stored as the client sent them.
        assert!(attrs["input.value"].is_string());
    }

    #[test]
    fn model_without_a_price_has_no_cost() {
        let raw = raw_span(json!({
            "openinference.span.kind": "LLM",
            "llm.model_name": "vllm-lora",
            "llm.token_count.prompt": 10,
        }));
        assert_eq!(
            normalize_span(raw, &PriceTable::with_seed(), GuardrailKeys::builtin())
                .facts
                .cost,
            None
        );
    }

    #[test]
    fn agent_span_with_tokens_is_not_priced() {
        let raw = raw_span(json!({
            "openinference.span.kind": "AGENT",
            "mlflow.chat.tokenUsage": {"input_tokens": 120, "output_tokens": 45},
            "gen_ai.request.model": "gpt-4o",
        }));
        let span = normalize_span(raw, &PriceTable::with_seed(), GuardrailKeys::builtin());
        assert_eq!(span.facts.kind, SpanKind::Agent);
        assert_eq!(span.facts.input_tokens, Some(120));
        assert_eq!(span.facts.cost, None);
    }

    #[test]
    fn span_before_any_price_took_effect_is_not_priced() {
        let mut raw =
            raw_span(json!({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 5}));
        raw.start_ns = 1_600_000_000_000_000_000; // 2020
        assert_eq!(
            normalize_span(raw, &PriceTable::with_seed(), GuardrailKeys::builtin())
                .facts
                .cost,
            None
        );
    }

    #[test]
    fn span_without_start_time_gets_the_latest_price() {
        let mut raw =
            raw_span(json!({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 5}));
        raw.start_ns = 0;
        assert!(
            normalize_span(raw, &PriceTable::with_seed(), GuardrailKeys::builtin())
                .facts
                .cost
                .is_some()
        );
    }

    #[test]
    fn genai_chat_span_from_the_protocol_capture_matches_mlflow_cost() {
        // samples/mlflow_read/14_*: MLflow stored input_cost 0.000175 for this span.
        let raw = raw_span(json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 45,
            "gen_ai.usage.cache_read.input_tokens": 100,
            "gen_ai.conversation.id": "conv-555",
        }));
        let f = normalize_span(raw, &PriceTable::with_seed(), GuardrailKeys::builtin()).facts;
        assert_eq!(f.kind, SpanKind::ChatModel);
        assert_eq!(f.session_id.as_deref(), Some("conv-555"));
        let cost = f.cost.expect("gpt-4o is in the seed table");
        assert!((cost.input - 0.000175).abs() < 1e-12, "{cost:?}");
        assert!((cost.output - 0.00045).abs() < 1e-12, "{cost:?}");
    }

    #[test]
    fn bench_root_span_tags_come_from_metadata_and_mlflow_trace_tags() {
        let root = raw_span(json!({
            "openinference.span.kind": "CHAIN",
            "mlflow.spanType": "CHAIN",
            "session.id": "sess-2a-0000042",
            "intent": "order_status",
            "cache_hit": false,
            "gen_ai.conversation.id": "sess-2a-0000042",
            "user.id": "user-000123",
            "metadata": "{\"session_id\": \"sess-2a-0000042\", \"intent\": \"order_status\", \"cache_hit\": \"false\", \"region\": \"eu-west-1\"}",
            "tag.tags": ["order_status", "product", "authenticated", "claude-haiku"],
            "mlflow.traceTag.intent": "order_status",
            "mlflow.traceTag.cache_hit": "false",
            "mlflow.traceTag.model_used": "claude-haiku",
        }));
        let got = root_span_tags(&root);
        let want: BTreeMap<String, String> = [
            ("session_id", "sess-2a-0000042"),
            ("intent", "order_status"),
            ("cache_hit", "false"),
            ("region", "eu-west-1"),
            ("model_used", "claude-haiku"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(got, want);
        let span = normalize_span(root, &PriceTable::with_seed(), GuardrailKeys::builtin());
        assert_eq!(span.facts.kind, SpanKind::Chain);
        assert_eq!(span.facts.user_id.as_deref(), Some("user-000123"));
    }
}
