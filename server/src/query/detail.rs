//! The trace page's reads: the span tree without payloads (the waterfall) and one span with
//! its payload (the detail panel), including the conversation recovered from whichever chat
//! shape the client logged. Knows no SQL and no Leptos beyond the wire types.

use std::sync::Arc;

use app::types::{ChatMessage, SpanDetail, SpanEventView, SpanNode, TraceTree};
use app::AppError;
use serde_json::{Map, Value};

use crate::model::{Attributes, SpanId, TraceId};
use crate::normalize::conventions::{indexed_messages, llm_facts};
use crate::store::payload::truncate_chars;
use crate::store::{Backend, StoredSpan};

/// Longest inputs/outputs text sent to the browser: a multi-megabyte prompt would freeze the
/// panel, and the full value stays available through the MLflow API.
const MAX_PAYLOAD_CHARS: usize = 256 * 1024;
/// Longest attribute value or chat message sent to the browser.
const MAX_VALUE_CHARS: usize = 64 * 1024;

pub(super) async fn trace_tree(
    backend: &Arc<dyn Backend>,
    trace_id: String,
) -> Result<TraceTree, AppError> {
    let id = parse_trace_id(&trace_id)?;
    let Some(trace) = backend.trace_tree(&id).await.map_err(super::app_error)? else {
        return Err(AppError::NotFound(format!("trace {trace_id}")));
    };
    let t0 = if trace.record.start_ns == i64::MAX {
        trace.spans.iter().map(|s| s.start_ns).min().unwrap_or(0)
    } else {
        trace.record.start_ns
    };
    let spans = trace.spans.into_iter().map(|s| node(s, t0)).collect();
    Ok(TraceTree {
        summary: super::summary(trace.record),
        tags: trace.tags.into_iter().collect(),
        spans,
    })
}

pub(super) async fn span_detail(
    backend: &Arc<dyn Backend>,
    trace_id: String,
    span_id: String,
) -> Result<SpanDetail, AppError> {
    let tid = parse_trace_id(&trace_id)?;
    let sid = parse_span_id(&span_id)?;
    let Some(found) = backend
        .get_span(&tid, &sid)
        .await
        .map_err(super::app_error)?
    else {
        return Err(AppError::NotFound(format!(
            "span {span_id} in trace {trace_id}"
        )));
    };
    Ok(detail(found.span, found.trace_start_ns))
}

/// Trace ids as MLflow (`tr-<hex>`) or OTel (bare hex) write them.
fn parse_trace_id(s: &str) -> Result<TraceId, AppError> {
    crate::model::parse_trace_id(s.trim()).ok_or_else(|| AppError::Invalid {
        field: "trace_id".into(),
        message: format!("{s:?} is not 32 hex digits"),
    })
}

fn parse_span_id(s: &str) -> Result<SpanId, AppError> {
    let mut out = [0u8; 8];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|_| AppError::Invalid {
        field: "span_id".into(),
        message: format!("{s:?} is not 16 hex digits"),
    })?;
    Ok(out)
}

/// Milliseconds rounded to the microsecond: shorter JSON for 10,000 rows, and no span is
/// measured more finely than that.
fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e3).round() / 1e3
}

pub(crate) fn node(s: StoredSpan, t0: i64) -> SpanNode {
    SpanNode {
        span_id: hex::encode(s.span_id),
        parent_span_id: s.parent_span_id.map(hex::encode),
        start_offset_ms: ms(s.start_ns.saturating_sub(t0)),
        duration_ms: ms(s.end_ns.saturating_sub(s.start_ns).max(0)),
        name: s.name,
        kind: s.kind.as_str().to_string(),
        status: s.status as u8,
        model: s.model,
        input_tokens: s.input_tokens,
        output_tokens: s.output_tokens,
        cost: s.cost,
    }
}

fn detail(mut s: StoredSpan, trace_start_ns: i64) -> SpanDetail {
    let payload = std::mem::take(&mut s.payload);
    let facts = llm_facts(&payload.attributes);
    let span_start = s.start_ns;
    let chat = chat_messages(
        facts.inputs.as_ref(),
        facts.outputs.as_ref(),
        &payload.attributes,
    );
    let events = payload
        .events
        .into_iter()
        .map(|e| SpanEventView {
            name: e.name,
            offset_ms: ms(e.time_ns.saturating_sub(span_start)),
            attributes: json_pairs(&e.attributes),
        })
        .collect();
    SpanDetail {
        status_message: std::mem::take(&mut s.status_message),
        provider: s.provider.take(),
        cached_tokens: s.cached_tokens,
        attributes: json_pairs(&payload.attributes),
        events,
        inputs: facts.inputs.as_ref().map(pretty),
        outputs: facts.outputs.as_ref().map(pretty),
        chat,
        node: node(s, trace_start_ns),
    }
}

/// Attributes as `(key, JSON text)`, in key order (the map is sorted).
fn json_pairs(attrs: &Attributes) -> Vec<(String, String)> {
    attrs
        .iter()
        .map(|(k, v)| (k.clone(), truncate_chars(v.to_string(), MAX_VALUE_CHARS)))
        .collect()
}

/// Pretty JSON; a string is shown as its text, since prompts are mostly prose.
fn pretty(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    };
    let total = text.chars().count();
    if total > MAX_PAYLOAD_CHARS {
        let mut cut = truncate_chars(text, MAX_PAYLOAD_CHARS);
        cut.push_str(&format!(
            "\n… ({} more characters)",
            total - MAX_PAYLOAD_CHARS
        ));
        cut
    } else {
        text
    }
}

/// The conversation in a span's inputs and outputs, from the shapes clients log:
/// OpenAI/Anthropic request bodies (`messages`, Anthropic's top-level `system`), message
/// lists with `content` or GenAI `parts`, LangChain message types, and as a fallback the
/// attributes (`gen_ai.system_instructions`, `gen_ai.input.messages`,
/// `llm.input_messages.*`, `gen_ai.prompt.*`). The answer comes from `choices[0].message`,
/// an assistant message object, an OpenAI Responses `output` list, an output message list
/// or the output attributes; a plain string output after chat inputs is the answer too.
/// `None` when nothing looks like a message.
pub fn chat_messages(
    inputs: Option<&Value>,
    outputs: Option<&Value>,
    attrs: &Attributes,
) -> Option<Vec<ChatMessage>> {
    let mut chat = input_messages(inputs);
    if chat.is_empty() {
        chat = attribute_messages(attrs, Side::Input);
    }
    let mut answer = output_messages(outputs);
    if answer.is_empty() {
        answer = attribute_messages(attrs, Side::Output);
    }
    if answer.is_empty() && !chat.is_empty() {
        if let Some(Value::String(text)) = outputs {
            answer.push(message("assistant", text.clone()));
        }
    }
    chat.extend(answer);
    (!chat.is_empty()).then_some(chat)
}

#[derive(Clone, Copy)]
enum Side {
    Input,
    Output,
}

fn input_messages(inputs: Option<&Value>) -> Vec<ChatMessage> {
    match inputs {
        Some(Value::Object(body)) => {
            let Some(list) = body.get("messages").and_then(Value::as_array) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            // Anthropic's Messages API keeps the system prompt outside the list.
            if let Some(system) = body.get("system").and_then(content_text) {
                out.push(message("system", system));
            }
            out.extend(message_list(list));
            out
        }
        Some(Value::Array(list)) => message_list(list),
        _ => Vec::new(),
    }
}

fn output_messages(outputs: Option<&Value>) -> Vec<ChatMessage> {
    match outputs {
        Some(Value::Object(o)) => {
            if let Some(first) = o
                .get("choices")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
            {
                if let Some(m) = first.get("message").and_then(Value::as_object) {
                    return one_message(m, "assistant").into_iter().collect();
                }
                if let Some(text) = first.get("text").and_then(Value::as_str) {
                    return vec![message("assistant", text.to_string())];
                }
            }
            if o.contains_key("role") {
                return one_message(o, "assistant").into_iter().collect();
            }
            // OpenAI Responses API: `output` holds messages among reasoning and tool items.
            if let Some(items) = o.get("output").and_then(Value::as_array) {
                return items
                    .iter()
                    .filter_map(Value::as_object)
                    .filter(|i| i.get("type").and_then(Value::as_str) == Some("message"))
                    .filter_map(|i| one_message(i, "assistant"))
                    .collect();
            }
            Vec::new()
        }
        Some(Value::Array(list)) => message_list(list),
        _ => Vec::new(),
    }
}

fn attribute_messages(attrs: &Attributes, side: Side) -> Vec<ChatMessage> {
    let (genai, oi, legacy) = match side {
        Side::Input => (
            "gen_ai.input.messages",
            "llm.input_messages",
            "gen_ai.prompt",
        ),
        Side::Output => (
            "gen_ai.output.messages",
            "llm.output_messages",
            "gen_ai.completion",
        ),
    };
    let parsed = |key: &str| match attrs.get(key) {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(v @ Value::Array(_)) => Some(v.clone()),
        _ => None,
    };
    let list = parsed(genai)
        .or_else(|| parsed(oi))
        .or_else(|| indexed_messages(attrs, oi, "message."))
        .or_else(|| indexed_messages(attrs, legacy, ""));
    let mut out = Vec::new();
    if let Side::Input = side {
        let system = parsed("gen_ai.system_instructions")
            .as_ref()
            .and_then(content_text)
            .or_else(|| {
                attrs
                    .get("gen_ai.system_instructions")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        if let Some(system) = system {
            out.push(message("system", system));
        }
    }
    if let Some(Value::Array(list)) = list {
        out.extend(message_list(&list));
    }
    out
}

/// A list counts as messages only when every item has a role; LangChain batches
/// (`[[…]]`) are unwrapped.
fn message_list(list: &[Value]) -> Vec<ChatMessage> {
    if let [Value::Array(inner)] = list {
        return message_list(inner);
    }
    let messages: Option<Vec<ChatMessage>> = list
        .iter()
        .map(|item| {
            let m = item.as_object()?;
            role(m)?;
            one_message(m, "user")
        })
        .collect();
    messages.unwrap_or_default()
}

fn one_message(m: &Map<String, Value>, default_role: &str) -> Option<ChatMessage> {
    let role = role(m).unwrap_or_else(|| default_role.to_string());
    let mut parts = Vec::new();
    if let Some(text) = m.get("content").and_then(content_text) {
        parts.push(text);
    }
    if let Some(list) = m.get("parts").and_then(Value::as_array) {
        parts.extend(list.iter().filter_map(part_text));
    }
    if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
        parts.extend(calls.iter().filter_map(tool_call_text));
    }
    // LangChain's serialised messages keep the text under `kwargs`.
    if parts.is_empty() {
        if let Some(text) = m
            .get("kwargs")
            .and_then(|k| k.get("content"))
            .and_then(content_text)
        {
            parts.push(text);
        }
    }
    Some(message(&role, parts.join("\n")))
}

/// The normalised role of a message object: `role`, else a LangChain message `type`.
fn role(m: &Map<String, Value>) -> Option<String> {
    let raw = match m.get("role").and_then(Value::as_str) {
        Some(r) => r,
        None => m
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| matches!(*t, "human" | "ai" | "system" | "tool" | "chat" | "function"))?,
    };
    let lower = raw.trim().to_ascii_lowercase();
    Some(
        match lower.as_str() {
            "human" => "user",
            "ai" | "model" | "bot" => "assistant",
            "developer" => "system",
            "function" | "ipython" => "tool",
            other => other,
        }
        .to_string(),
    )
}

fn content_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let texts: Vec<String> = items.iter().filter_map(part_text).collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        other => Some(other.to_string()),
    }
}

/// One content part: OpenAI/Anthropic blocks (`{type: text, text}`), GenAI parts
/// (`{type: text, content}`, `tool_call`, `tool_call_response`), images as a placeholder.
fn part_text(p: &Value) -> Option<String> {
    let o = match p {
        Value::Object(o) => o,
        Value::Null => return None,
        Value::String(s) => return Some(s.clone()),
        other => return Some(other.to_string()),
    };
    let field = |k: &str| o.get(k).and_then(content_text);
    match o.get("type").and_then(Value::as_str).unwrap_or("text") {
        "text" | "input_text" | "output_text" => field("text").or_else(|| field("content")),
        "tool_call" | "tool_use" | "function_call" => {
            let name = o.get("name").and_then(Value::as_str).unwrap_or("tool");
            let args = o
                .get("arguments")
                .or_else(|| o.get("input"))
                .map(arguments_text)
                .unwrap_or_default();
            Some(format!("→ {name}({args})"))
        }
        "tool_call_response" | "tool_result" | "function_call_output" => field("response")
            .or_else(|| field("content"))
            .or_else(|| field("output")),
        "image" | "image_url" | "input_image" => Some("[image]".into()),
        _ => Some(p.to_string()),
    }
}

/// An OpenAI `tool_calls` entry: `{function: {name, arguments}}`.
fn tool_call_text(c: &Value) -> Option<String> {
    let f = c.get("function").unwrap_or(c);
    let name = f.get("name").and_then(Value::as_str)?;
    let args = f.get("arguments").map(arguments_text).unwrap_or_default();
    Some(format!("→ {name}({args})"))
}

fn arguments_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn message(role: &str, content: String) -> ChatMessage {
    ChatMessage {
        role: role.to_string(),
        content: truncate_chars(content, MAX_VALUE_CHARS),
    }
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

    fn roles_and_text(chat: &[ChatMessage]) -> Vec<(&str, &str)> {
        chat.iter()
            .map(|m| (m.role.as_str(), m.content.as_str()))
            .collect()
    }

    #[test]
    fn openai_request_and_choice_make_a_conversation() {
        let inputs = json!({"model": "gpt-4o", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ]});
        let outputs = json!({"choices": [{"index": 0,
            "message": {"role": "assistant", "content": "Paris."}}]});
        let chat = chat_messages(Some(&inputs), Some(&outputs), &Attributes::new()).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [
                ("system", "Be brief."),
                ("user", "Capital of France?"),
                ("assistant", "Paris.")
            ]
        );
    }

    #[test]
    fn anthropic_system_and_content_blocks_are_read() {
        let inputs = json!({"system": "You are terse.", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image", "source": {}}]},
        ]});
        let outputs = json!({"role": "assistant", "type": "message",
            "content": [{"type": "text", "text": "Hello."},
                        {"type": "tool_use", "name": "lookup", "input": {"q": "x"}}]});
        let chat = chat_messages(Some(&inputs), Some(&outputs), &Attributes::new()).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [
                ("system", "You are terse."),
                ("user", "Hi\n[image]"),
                ("assistant", "Hello.\n→ lookup({\"q\":\"x\"})")
            ]
        );
    }

    #[test]
    fn tool_calls_and_tool_results_are_shown() {
        let inputs = json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "18°C"},
        ]);
        let chat = chat_messages(Some(&inputs), None, &Attributes::new()).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [
                ("user", "Weather in Paris?"),
                ("assistant", "→ get_weather({\"city\":\"Paris\"})"),
                ("tool", "18°C")
            ]
        );
    }

    #[test]
    fn genai_parts_messages_from_attributes() {
        let a = attrs(json!({
            "gen_ai.system_instructions": "[{\"type\": \"text\", \"content\": \"Plan carefully.\"}]",
            "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"text\", \"content\": \"Plan a trip\"}]}]",
            "gen_ai.output.messages": [{"role": "assistant", "parts": [
                {"type": "tool_call", "name": "search", "arguments": {"q": "flights"}}],
                "finish_reason": "tool_call"}],
        }));
        let f = llm_facts(&a);
        let chat = chat_messages(f.inputs.as_ref(), f.outputs.as_ref(), &a).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [
                ("user", "Plan a trip"),
                ("assistant", "→ search({\"q\":\"flights\"})")
            ],
            "inputs come from gen_ai.input.messages through llm_facts"
        );
        // With inputs that are not messages, the attributes are the fallback.
        let chat = chat_messages(Some(&json!({"query": "x"})), None, &a).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [
                ("system", "Plan carefully."),
                ("user", "Plan a trip"),
                ("assistant", "→ search({\"q\":\"flights\"})")
            ]
        );
    }

    #[test]
    fn openinference_flattened_messages_are_the_fallback() {
        let a = attrs(json!({
            "input.value": "{\"prompt\": \"x\"}",
            "input.mime_type": "application/json",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "Hi",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Hello",
        }));
        let f = llm_facts(&a);
        let chat = chat_messages(f.inputs.as_ref(), f.outputs.as_ref(), &a).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [
                ("system", "Be brief."),
                ("user", "Hi"),
                ("assistant", "Hello")
            ]
        );
    }

    #[test]
    fn langchain_types_map_to_roles_and_string_answer_follows() {
        let inputs = json!([[
            {"type": "system", "content": "S"},
            {"type": "human", "content": "U"},
        ]]);
        let chat = chat_messages(Some(&inputs), Some(&json!("A")), &Attributes::new()).unwrap();
        assert_eq!(
            roles_and_text(&chat),
            [("system", "S"), ("user", "U"), ("assistant", "A")]
        );
    }

    #[test]
    fn plain_payloads_are_not_a_chat() {
        assert_eq!(
            chat_messages(
                Some(&json!({"question": "q"})),
                Some(&json!("a")),
                &Attributes::new()
            ),
            None
        );
        assert_eq!(
            chat_messages(
                Some(&json!([{"type": "text", "text": "no role"}])),
                None,
                &Attributes::new()
            ),
            None,
            "content parts are not messages"
        );
        assert_eq!(chat_messages(None, None, &Attributes::new()), None);
    }

    #[test]
    fn ids_are_validated() {
        assert!(parse_trace_id("tr-0123456789abcdef0123456789abcdef").is_ok());
        assert!(parse_trace_id("0123456789ABCDEF0123456789abcdef").is_ok());
        assert!(matches!(
            parse_trace_id("xyz"),
            Err(AppError::Invalid { field, .. }) if field == "trace_id"
        ));
        assert!(parse_span_id("0123456789abcdef").is_ok());
        assert!(matches!(
            parse_span_id("0123"),
            Err(AppError::Invalid { field, .. }) if field == "span_id"
        ));
    }

    #[test]
    fn long_payloads_are_cut_with_a_note() {
        let long = Value::String("x".repeat(MAX_PAYLOAD_CHARS + 5));
        let shown = pretty(&long);
        assert!(
            shown.ends_with("… (5 more characters)"),
            "{}",
            &shown[shown.len() - 40..]
        );
        assert_eq!(pretty(&json!({"a": 1})), "{\n  \"a\": 1\n}");
    }
}
