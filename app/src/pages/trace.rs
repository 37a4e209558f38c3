//! `/traces/:id`: one trace — its header, the waterfall on the left and the selected span's
//! detail on the right. The tree arrives in one call without payloads; each selected span's
//! payload is fetched on its own.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::trace::{get_span, get_trace_tree};
use crate::components::span_detail::SpanDetailView;
use crate::components::stat::stat;
use crate::components::status::StatusBadge;
use crate::components::waterfall::Waterfall;
use crate::format;
use crate::span_tree::SpanTree;
use crate::types::{TraceSummary, TraceTree};

#[component]
pub fn TracePage() -> impl IntoView {
    let params = use_params_map();
    let trace_id = move || params.read().get("id").unwrap_or_default();
    let tree = Resource::new(trace_id, get_trace_tree);
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <section class="page" id="trace-page" data-hydrated=move || hydrated.get().to_string()>
            <Suspense fallback=|| view! { <p class="empty">"Loading trace…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    set_error_status(&errors);
                    view! {
                        <p class="error" id="trace-error">{move || error_text(&errors)}</p>
                        <p>
                            <a href="/traces">"← All traces"</a>
                        </p>
                    }
                }>
                    {move || Suspend::new(async move {
                        tree.await.map(|t| view! { <TraceView tree=t/> })
                    })}
                </ErrorBoundary>
            </Suspense>
        </section>
    }
}

pub(crate) fn error_text(errors: &ArcRwSignal<Errors>) -> String {
    errors
        .get()
        .into_iter()
        .map(|(_, e)| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// During SSR, gives the response the status of the worst error (404 for a missing trace,
/// 400 for a malformed id). The route renders in `SsrMode::Async`, so headers are not sent
/// yet. In the browser there is no response to set.
pub(crate) fn set_error_status(errors: &ArcRwSignal<Errors>) {
    #[cfg(feature = "ssr")]
    {
        let status = errors
            .read_untracked()
            .iter()
            .map(|(_, e)| {
                e.downcast_ref::<crate::AppError>()
                    .map_or(500, crate::AppError::status_code)
            })
            .max()
            .unwrap_or(500);
        if let (Some(response), Ok(code)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(status),
        ) {
            response.set_status(code);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = errors;
}

#[component]
fn TraceView(tree: TraceTree) -> impl IntoView {
    let TraceTree {
        summary,
        tags,
        spans,
    } = tree;
    let layout = SpanTree::build(&spans);
    // `?span=<id>` selects a span (links from alerts and the overview point at the culprit);
    // otherwise the root.
    let wanted = use_query_map().with_untracked(|q| q.get("span"));
    let first = wanted
        .and_then(|id| {
            spans
                .iter()
                .position(|s| s.span_id.eq_ignore_ascii_case(&id))
        })
        .or_else(|| layout.order.first().copied());
    let critical = layout.critical.iter().filter(|c| **c).count();
    let layout = StoredValue::new(layout);
    let spans = StoredValue::new(spans);
    let selected = RwSignal::new(first);
    let trace_id = summary.trace_id.clone();
    // The URL follows the selection (replacing the history entry: arrows keys would
    // otherwise fill the back button), so a copied link opens the same span.
    let navigate = use_navigate();
    let url_trace = summary.trace_id.clone();
    Effect::new(move |prev: Option<Option<usize>>| {
        let now = selected.get();
        if prev.is_some_and(|p| p != now) {
            if let Some(i) = now {
                let span_id = spans.with_value(|s| s[i].span_id.clone());
                navigate(
                    &format!("/traces/{url_trace}?span={span_id}"),
                    NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                );
            }
        }
        now
    });
    let detail = Resource::new(
        move || {
            selected
                .get()
                .map(|i| spans.with_value(|s| s[i].span_id.clone()))
        },
        move |span_id| {
            let trace_id = trace_id.clone();
            async move {
                match span_id {
                    Some(span_id) => get_span(trace_id, span_id).await.map(Some),
                    None => Ok(None),
                }
            }
        },
    );
    view! {
        <TraceHeader summary tags critical/>
        <div class="trace-body">
            <div class="trace-left">
                <Waterfall spans tree=layout selected/>
                <p class="hint">
                    "↑ ↓ move · ← collapse / parent · → expand / child · "
                    <span class="legend-critical"></span>
                    " critical path (time the trace waited on the span itself)"
                </p>
            </div>
            <aside id="span-detail" class="span-detail">
                <Transition fallback=|| view! { <p class="empty">"Loading span…"</p> }>
                    <ErrorBoundary fallback=|errors| {
                        view! { <p class="error">{move || error_text(&errors)}</p> }
                    }>
                        {move || Suspend::new(async move {
                            detail
                                .await
                                .map(|d| match d {
                                    Some(detail) => view! { <SpanDetailView detail/> }.into_any(),
                                    None => {
                                        view! { <p class="empty">"Select a span."</p> }.into_any()
                                    }
                                })
                        })}
                    </ErrorBoundary>
                </Transition>
            </aside>
        </div>
    }
}

#[component]
fn TraceHeader(
    summary: TraceSummary,
    tags: Vec<(String, String)>,
    critical: usize,
) -> impl IntoView {
    let TraceSummary {
        trace_id,
        name,
        start_ms,
        duration_ms,
        status,
        models,
        input_tokens,
        output_tokens,
        total_cost,
        span_count,
        error_count,
        redactions,
        payload_dropped,
        session_id,
        ..
    } = summary;
    view! {
        <div class="trace-head">
            <div class="trace-title">
                <a href="/traces" class="back" title="All traces">"←"</a>
                <h1 id="trace-name">{name.unwrap_or_else(|| "(root pending)".into())}</h1>
                <StatusBadge status/>
                <code class="trace-id">{trace_id}</code>
            </div>
            <div class="stats">
                {stat("Start (UTC)", format::utc_ms(start_ms))}
                {stat("Duration", duration_ms.map(format::duration_ms).unwrap_or_else(|| "…".into()))}
                {stat("Spans", format!("{span_count} · {error_count} errors · {critical} critical"))}
                {stat("Tokens in / out", format!("{} / {}", format::count(input_tokens), format::count(output_tokens)))}
                {stat("Cost", total_cost.map(format::usd).unwrap_or_else(|| "—".into()))}
                {stat("Models", if models.is_empty() { "—".into() } else { models.join(", ") })}
                {stat("Session", session_id.unwrap_or_else(|| "—".into()))}
                {(redactions > 0).then(|| view! {
                    <div class="stat redacted" id="trace-redactions" title="Values replaced by PII redaction at ingest; find such traces with redactions > 0">
                        <div class="stat-label">"Redacted"</div>
                        <div class="stat-value">{format!("{} values", format::count(redactions))}</div>
                    </div>
                })}
            </div>
            {payload_dropped.then(|| view! {
                <p class="notice" id="payload-dropped">
                    "Payloads not kept: tail sampling kept this trace's spans, timings, tokens and cost, "
                    "not its inputs, outputs and attributes (it was neither an error nor slow)."
                </p>
            })}
            {(!tags.is_empty())
                .then(|| {
                    view! {
                        <div class="tags" id="trace-tags">
                            {tags
                                .into_iter()
                                .map(|(k, v)| {
                                    let title = format!("{k}={v}");
                                    view! {
                                        <span class="tag" title=title>
                                            <span class="tag-key">{k}</span>
                                            <span class="tag-value">{v}</span>
                                        </span>
                                    }
                                })
                                .collect_view()}
                        </div>
                    }
                })}
        </div>
    }
}
