//! The selected span's detail panel: facts, the conversation, exceptions with their stack
//! traces, other events, inputs/outputs and the attribute table. Renders a [`SpanDetail`]
//! as it came from the server; decides nothing.

use leptos::prelude::*;

use crate::components::waterfall::kind_badge;
use crate::format;
use crate::types::{json_text, ChatMessage, SpanDetail, SpanEventView};

#[component]
pub fn SpanDetailView(detail: SpanDetail) -> impl IntoView {
    let SpanDetail {
        node,
        status_message,
        provider,
        cached_tokens,
        attributes,
        events,
        inputs,
        outputs,
        chat,
    } = detail;
    let (letters, kind_class) = kind_badge(&node.kind);
    let (status_class, status_label) = match node.status {
        2 => ("badge error", "ERROR"),
        1 => ("badge ok", "OK"),
        _ => ("badge", "UNSET"),
    };
    let tokens = match (node.input_tokens, node.output_tokens) {
        (None, None) => None,
        (i, o) => Some(format!(
            "{} in / {} out{}",
            i.map(format::count).unwrap_or_else(|| "—".into()),
            o.map(format::count).unwrap_or_else(|| "—".into()),
            cached_tokens
                .filter(|c| *c > 0)
                .map(|c| format!(" ({} cached)", format::count(c)))
                .unwrap_or_default()
        )),
    };
    let fact = |label: &'static str, value: Option<String>| {
        value.map(|v| {
            view! {
                <dt>{label}</dt>
                <dd>{v}</dd>
            }
        })
    };
    let has_chat = chat.as_ref().is_some_and(|c| !c.is_empty());
    let n_attributes = attributes.len();
    view! {
        <div class="sd-head">
            <span class=format!("kind {kind_class}") title=node.kind.clone()>{letters}</span>
            <h2 class="sd-name" title=node.name.clone()>{node.name.clone()}</h2>
            <span class=status_class>{status_label}</span>
        </div>
        <dl class="facts">
            {fact("Kind", Some(node.kind.clone()))}
            {fact("Duration", Some(format::duration_ms(node.duration_ms)))}
            {fact("Starts at", Some(format!("+{}", format::duration_ms(node.start_offset_ms.max(0.0)))))}
            {fact("Model", node.model.clone())}
            {fact("Provider", provider)}
            {fact("Tokens", tokens)}
            {fact("Cost", node.cost.map(format::usd))}
            {fact("Span id", Some(node.span_id.clone()))}
            {fact("Parent", node.parent_span_id.clone())}
        </dl>
        {(!status_message.is_empty())
            .then(|| view! { <p class="status-message">{status_message}</p> })}
        {(!events.is_empty())
            .then(|| {
                view! {
                    <section class="sd-section" id="span-events">
                        <h3>{format!("Events ({})", events.len())}</h3>
                        {events.into_iter().map(|e| view! { <EventView e/> }).collect_view()}
                    </section>
                }
            })}
        {chat
            .filter(|c| !c.is_empty())
            .map(|messages| {
                view! {
                    <section class="sd-section">
                        <h3>"Conversation"</h3>
                        <div class="chat">
                            {messages.into_iter().map(|m| view! { <Message m/> }).collect_view()}
                        </div>
                    </section>
                }
            })}
        {inputs.map(|text| view! { <Payload title="Inputs" id="span-inputs" text open=!has_chat/> })}
        {outputs.map(|text| view! { <Payload title="Outputs" id="span-outputs" text open=!has_chat/> })}
        <details class="sd-section" open>
            <summary>
                <h3>{format!("Attributes ({n_attributes})")}</h3>
            </summary>
            <table class="attributes" id="attributes-table">
                <tbody>
                    {attributes
                        .into_iter()
                        .map(|(k, v)| {
                            view! {
                                <tr>
                                    <th>{k}</th>
                                    <td>
                                        <div class="attr-value">{json_text(&v)}</div>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </details>
    }
}

#[component]
fn Message(m: ChatMessage) -> impl IntoView {
    let role = m.role.clone();
    view! {
        <div class="chat-message" data-role=role>
            <div class="role">{m.role}</div>
            <div class="content">{m.content}</div>
        </div>
    }
}

#[component]
fn Payload(title: &'static str, id: &'static str, text: String, open: bool) -> impl IntoView {
    view! {
        <details class="sd-section" id=id open=open>
            <summary>
                <h3>{title}</h3>
            </summary>
            <pre class="json">{text}</pre>
        </details>
    }
}

/// An `exception` event (OTel semantic conventions) shows its type, message and stack trace;
/// any other event its attributes.
#[component]
fn EventView(e: SpanEventView) -> impl IntoView {
    let when = format!("+{}", format::duration_ms(e.offset_ms.max(0.0)));
    if e.name == "exception" {
        let ty = e
            .attribute("exception.type")
            .unwrap_or_else(|| "Exception".into());
        let message = e.attribute("exception.message").unwrap_or_default();
        let stack = e.attribute("exception.stacktrace");
        return view! {
            <div class="event exception">
                <div class="event-head">
                    <span class="event-name">"exception"</span>
                    <span class="event-time">{when}</span>
                </div>
                <div class="exc-title">
                    <strong>{ty}</strong>
                    {(!message.is_empty()).then(|| format!(": {message}"))}
                </div>
                {stack.map(|s| view! { <pre class="stacktrace">{s}</pre> })}
            </div>
        }
        .into_any();
    }
    view! {
        <div class="event">
            <div class="event-head">
                <span class="event-name">{e.name}</span>
                <span class="event-time">{when}</span>
            </div>
            <table class="attributes">
                <tbody>
                    {e
                        .attributes
                        .into_iter()
                        .map(|(k, v)| {
                            view! {
                                <tr>
                                    <th>{k}</th>
                                    <td>{json_text(&v)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
