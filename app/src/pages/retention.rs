//! `/settings/retention`: how long each kind of data is kept, how much is stored, what the
//! next retention run will delete and what the last one did. The policy is set at start
//! (`--retain-payloads`, `--retain-spans`, `--retain-rollups`): it belongs with the
//! deployment, like the database URL.

use leptos::prelude::*;

use crate::api::retention::get_retention;
use crate::format::{count, utc_ms};
use crate::types::{RetentionCounts, RetentionStatus};

fn bytes_text(b: i64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

fn minutes_until(now_ms: i64, at_ms: i64) -> String {
    let m = (at_ms - now_ms).max(0).div_euclid(60_000);
    format!("in {m} min ({} UTC)", &utc_ms(at_ms)[11..16])
}

#[component]
pub fn RetentionPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_retention());
    view! {
        <section class="page retention-page" id="retention-page">
            <div class="page-head"><h1>"Storage and retention"</h1></div>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error">{move || super::trace::error_text(&errors)}</p>
                }>
                    {move || Suspend::new(async move {
                        status.await.map(|s| view! { <Status s/> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn kept(age: &Option<String>) -> String {
    age.as_ref()
        .map_or("kept forever".to_string(), String::clone)
}

#[component]
fn Status(s: RetentionStatus) -> impl IntoView {
    let policy_set = s.payloads.is_some() || s.spans.is_some() || s.rollups.is_some();
    let next = s.next;
    view! {
        <div class="retention-grid">
            <div class="panel" id="retention-policy">
                <h2>"Policy"</h2>
                <table class="kv"><tbody>
                    <tr><th>"Payloads (inputs, outputs, attributes)"</th>
                        <td id="policy-payloads">{kept(&s.payloads)}</td></tr>
                    <tr><th>"Traces and spans"</th><td id="policy-spans">{kept(&s.spans)}</td></tr>
                    <tr><th>"Rollups (dashboards, alerts, /metrics)"</th>
                        <td id="policy-rollups">{kept(&s.rollups)}</td></tr>
                </tbody></table>
                <p class="form-note">
                    "Set at start with " <code>"--retain-payloads"</code> ", "
                    <code>"--retain-spans"</code> " and " <code>"--retain-rollups"</code>
                    " (e.g. " <code>"30d"</code> "). A trace past the payload age keeps its tree, "
                    "timings, models, tokens and cost."
                </p>
            </div>
            <div class="panel" id="retention-sizes">
                <h2>"Stored"</h2>
                <table class="kv"><tbody>
                    <tr><th>"Database (" {s.database.clone()} ")"</th>
                        <td id="size-bytes">{bytes_text(s.bytes)}</td></tr>
                    <tr><th>"Traces"</th><td id="size-traces">{count(s.traces)}</td></tr>
                    <tr><th>"Spans"</th><td id="size-spans">{count(s.spans_stored)}</td></tr>
                    <tr><th>"Traces with payloads"</th><td>{count(s.payload_traces)}</td></tr>
                    <tr><th>"Rollup cells"</th><td>{count(s.rollup_cells)}</td></tr>
                    <tr><th>"Oldest trace"</th>
                        <td>{s.oldest_trace_ms.map_or("—".to_string(), |t| format!("{} UTC", &utc_ms(t)[..16]))}</td></tr>
                </tbody></table>
            </div>
            <div class="panel" id="retention-next">
                <h2>"Next run"</h2>
                {if policy_set {
                    view! {
                        <p id="next-when">{minutes_until(s.now_ms, s.next_run_ms)} " will delete:"</p>
                        <Counts c=next id="next-counts"/>
                    }.into_any()
                } else {
                    view! { <p id="next-when">"No policy: nothing is ever deleted."</p> }.into_any()
                }}
                <h2>"Last run"</h2>
                {match (s.last_run_ms, s.last, s.last_took_ms) {
                    (Some(at), Some(c), Some(took)) => view! {
                        <p id="last-when">{format!("{} UTC, took {took} ms; deleted:", &utc_ms(at)[..16])}</p>
                        <Counts c id="last-counts"/>
                    }.into_any(),
                    _ => view! { <p id="last-when">"None since start."</p> }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn Counts(c: RetentionCounts, id: &'static str) -> impl IntoView {
    view! {
        <table class="kv" id=id><tbody>
            <tr><th>"Traces (with their spans)"</th>
                <td class="traces">{format!("{} ({} spans)", count(c.traces), count(c.spans))}</td></tr>
            <tr><th>"Payloads dropped"</th><td class="payloads">{count(c.payload_traces)}</td></tr>
            <tr><th>"Rollup cells"</th><td class="rollups">{count(c.rollup_cells)}</td></tr>
        </tbody></table>
    }
}
