use leptos::prelude::*;

use crate::api::traces::list_traces;
use crate::components::status::StatusBadge;
use crate::format;
use crate::types::TraceSummary;

/// `/traces`: the newest traces, refreshed every few seconds once hydrated.
#[component]
pub fn TracesPage() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let traces = Resource::new(move || tick.get(), |_| list_traces(None, Some(100)));
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration and starts the live refresh.
    Effect::new(move |_| {
        hydrated.set(true);
        let handle = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_secs(3),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });

    view! {
        <section class="page" id="traces-page" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head">
                <h1>"Traces"</h1>
                <button id="refresh" class="btn" on:click=move |_| tick.update(|t| *t += 1)>
                    "Refresh"
                </button>
            </div>
            <Transition fallback=|| view! { <p class="empty">"Loading traces…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error">{move || errors.get().into_iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; ")}</p>
                }>
                    {move || Suspend::new(async move {
                        traces.await.map(|rows| view! { <TraceTable rows/> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn TraceTable(rows: Vec<TraceSummary>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty" id="no-traces">
                "No traces yet. Point an OpenTelemetry exporter at /v1/traces, set "
                <code>"MLFLOW_TRACKING_URI"</code> " to this server, or run "
                <code>"sightline demo"</code> "."
            </p>
        }
        .into_any();
    }
    view! {
        <table class="traces" id="trace-table">
            <colgroup>
                <col class="c-start"/>
                <col class="c-name"/>
                <col class="c-dur"/>
                <col class="c-status"/>
                <col class="c-model"/>
                <col class="c-tokens"/>
                <col class="c-cost"/>
                <col class="c-spans"/>
                <col/>
            </colgroup>
            <thead>
                <tr>
                    <th>"Start (UTC)"</th>
                    <th>"Name"</th>
                    <th class="num">"Duration"</th>
                    <th>"Status"</th>
                    <th>"Model"</th>
                    <th class="num">"Tokens in / out"</th>
                    <th class="num">"Cost"</th>
                    <th class="num">"Spans"</th>
                    <th>"Request"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|t| view! { <TraceRow t/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn TraceRow(t: TraceSummary) -> impl IntoView {
    let duration = t
        .duration_ms
        .map(format::duration_ms)
        .unwrap_or_else(|| "…".into());
    // The chat model comes first; embedders and rerankers are in the tooltip.
    let models_all = t.models.join(", ");
    let models = match t.models.len() {
        0 => "—".to_string(),
        1 => t.models[0].clone(),
        n => format!("{} +{}", t.models[0], n - 1),
    };
    let cost = t.total_cost.map(format::usd).unwrap_or_else(|| "—".into());
    let tokens = format!(
        "{} / {}",
        format::count(t.input_tokens),
        format::count(t.output_tokens)
    );
    let title = t.request_preview.clone().unwrap_or_default();
    let preview = format::preview_text(&title);
    let row_class = if t.status == crate::types::TraceStatus::Error {
        "trace-row is-error"
    } else {
        "trace-row"
    };
    view! {
        <tr class=row_class data-trace-id=t.trace_id.clone()>
            <td class="mono">{format::utc_ms(t.start_ms)}</td>
            <td class="name">{t.name.clone().unwrap_or_else(|| "(root pending)".into())}</td>
            <td class="num">{duration}</td>
            <td><StatusBadge status=t.status/></td>
            <td class="model" title=models_all>{models}</td>
            <td class="num">{tokens}</td>
            <td class="num">{cost}</td>
            <td class="num">{t.span_count}</td>
            <td class="preview" title=title>{preview}</td>
        </tr>
    }
}
