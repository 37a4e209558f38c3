//! `/sessions/:id`: one session as a conversation. A header with the session's totals, then
//! each trace in start order as a turn: the user's request, the assistant's response, and
//! the trace's facts with a link to its waterfall.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::sessions::get_session;
use crate::components::stat::stat;
use crate::components::status::StatusBadge;
use crate::format;
use crate::types::{SessionDetail, SessionSummary, SessionTurn};

#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let session_id = move || params.read().get("id").unwrap_or_default();
    let session = Resource::new(session_id, get_session);
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <section class="page" id="session-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="empty">"Loading session…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    super::trace::set_error_status(&errors);
                    view! {
                        <p class="error" id="session-error">
                            {move || super::trace::error_text(&errors)}
                        </p>
                        <p>
                            <a href="/sessions">"← All sessions"</a>
                        </p>
                    }
                }>
                    {move || Suspend::new(async move {
                        session.await.map(|s| view! { <SessionView detail=s/> })
                    })}
                </ErrorBoundary>
            </Suspense>
        </section>
    }
}

#[component]
fn SessionView(detail: SessionDetail) -> impl IntoView {
    let SessionDetail { summary, turns } = detail;
    view! {
        <SessionHeader summary/>
        <ol class="conversation" id="conversation">
            {turns
                .into_iter()
                .enumerate()
                .map(|(i, turn)| view! { <Turn n=i + 1 turn/> })
                .collect_view()}
        </ol>
    }
}

#[component]
fn SessionHeader(summary: SessionSummary) -> impl IntoView {
    let SessionSummary {
        session_id,
        user_id,
        trace_count,
        first_ms,
        last_ms,
        input_tokens,
        output_tokens,
        cost,
        error_count,
    } = summary;
    view! {
        <div class="trace-head session-head">
            <div class="trace-title">
                <a href="/sessions" class="back" title="All sessions">"←"</a>
                <h1 id="session-id">{session_id}</h1>
            </div>
            <div class="stats">
                {stat("User", user_id.unwrap_or_else(|| "—".into()))}
                {stat("Traces", format!("{trace_count} · {error_count} errors"))}
                {stat("First (UTC)", format::utc_ms(first_ms))}
                {stat("Last (UTC)", format::utc_ms(last_ms))}
                {stat("Span", format::duration_ms((last_ms - first_ms).max(0) as f64))}
                {stat("Tokens in / out", format!("{} / {}", format::count(input_tokens), format::count(output_tokens)))}
                {stat("Cost", cost.map(format::usd).unwrap_or_else(|| "—".into()))}
            </div>
        </div>
    }
}

#[component]
fn Turn(n: usize, turn: SessionTurn) -> impl IntoView {
    let SessionTurn {
        trace: t,
        response_preview,
    } = turn;
    let request = t
        .request_preview
        .as_deref()
        .map(format::preview_text)
        .unwrap_or_else(|| "(no request recorded)".into());
    let response = response_preview
        .as_deref()
        .map(format::preview_text)
        .unwrap_or_else(|| "(no response recorded)".into());
    let duration = t
        .duration_ms
        .map(format::duration_ms)
        .unwrap_or_else(|| "…".into());
    let model = t.models.first().cloned().unwrap_or_else(|| "—".into());
    let tokens = format!(
        "{} / {} tokens",
        format::count(t.input_tokens),
        format::count(t.output_tokens)
    );
    let cost = t.total_cost.map(format::usd).unwrap_or_else(|| "—".into());
    let class = if t.status == crate::types::TraceStatus::Error {
        "turn is-error"
    } else {
        "turn"
    };
    view! {
        <li class=class data-trace-id=t.trace_id.clone() data-start-ms=t.start_ms.to_string()>
            <div class="turn-meta">
                <span class="turn-no">{format!("#{n}")}</span>
                <span class="mono turn-time">{format::utc_ms(t.start_ms)}</span>
                <StatusBadge status=t.status/>
                <span class="turn-fact">{duration}</span>
                <span class="turn-fact model">{model}</span>
                <span class="turn-fact">{tokens}</span>
                <span class="turn-fact">{cost}</span>
                <a class="open-trace" href=format!("/traces/{}", t.trace_id)>"Open trace"</a>
            </div>
            <div class="bubble user">
                <div class="role">"User"</div>
                <div class="content">{request}</div>
            </div>
            <div class="bubble assistant">
                <div class="role">"Assistant"</div>
                <div class="content">{response}</div>
            </div>
        </li>
    }
}
