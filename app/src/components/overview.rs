//! The panels of the overview board: stat tiles, the server-drawn charts, the span breakdown,
//! guardrail stages, model usage and cost, and the exemplar traces. They render
//! [`OverviewView`] as it is; the figures come from the backend's rollups.

use leptos::prelude::*;

use crate::api::overview::OverviewView;
use crate::charts::{Chart, Charts};
use crate::components::status::StatusBadge;
use crate::components::waterfall::kind_badge;
use crate::format;
use crate::types::{ratio, ModelUsage, Overview, SpanBreakdown, TraceSummary};

const NO_TRACES: &str = "No traces in this window";

/// `42.0%`, `0.30%` (small rates keep two decimals so 0.3% errors do not read as 0%), `—`.
pub fn percent(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() && r != 0.0 && r.abs() < 0.1 => format!("{:.2}%", r * 100.0),
        Some(r) if r.is_finite() => format!("{:.1}%", r * 100.0),
        _ => "—".into(),
    }
}

fn ms(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map(format::duration_ms)
        .unwrap_or_else(|| "—".into())
}

/// `12:05 – 13:05 UTC` (with dates when the window crosses a day).
fn window_caption(from_ms: i64, to_ms: i64) -> String {
    let (f, t) = (format::utc_ms(from_ms), format::utc_ms(to_ms));
    if f[..10] == t[..10] {
        format!("{} {} – {} UTC", &f[..10], &f[11..16], &t[11..16])
    } else {
        format!("{} – {} UTC", &f[..16], &t[..16])
    }
}

fn step_caption(step_ms: i64) -> String {
    match step_ms {
        s if s >= 3_600_000 && s % 3_600_000 == 0 => format!("{} h", s / 3_600_000),
        s if s >= 60_000 && s % 60_000 == 0 => format!("{} min", s / 60_000),
        s => format!("{} s", s as f64 / 1000.0),
    }
}

#[component]
pub fn Board(board: OverviewView) -> impl IntoView {
    let OverviewView { data, charts } = board;
    let empty = data.totals.traces == 0;
    let caption = format!(
        "{} · one point per {}",
        window_caption(data.from_ms, data.to_ms),
        step_caption(data.step_ms.max(1))
    );
    // Each panel's body is built here: panel children are closures that take what they show.
    let breakdown = if empty || data.breakdown.is_empty() {
        no_traces()
    } else {
        view! { <Breakdown rows=data.breakdown.clone()/> }.into_any()
    };
    let stages = if empty || data.guardrails.is_empty() {
        no_traces()
    } else {
        view! { <GuardrailStages data=data.clone()/> }.into_any()
    };
    let models = if empty || data.models.is_empty() {
        no_traces()
    } else {
        view! { <Models rows=data.models.clone()/> }.into_any()
    };
    let cost = if empty {
        no_traces()
    } else {
        view! { <Cost data=data.clone()/> }.into_any()
    };
    let slowest = view! { <Exemplars rows=data.slowest.clone() id="slowest-traces"/> };
    let failed = view! { <Exemplars rows=data.failed.clone() id="failed-traces"/> };
    let Charts {
        latency,
        heatmap,
        traces,
        error_rate,
        cache_hit_rate,
        guardrail_block_rate,
    } = charts;
    view! {
        <p class="board-window" id="board-window">{caption}</p>
        <Tiles data/>
        <div class="board-row two">
            <Panel id="panel-latency" title="Trace latency">
                <ChartView chart=latency/>
            </Panel>
            <Panel id="panel-heatmap" title="Latency distribution">
                <ChartView chart=heatmap/>
            </Panel>
        </div>
        <div class="board-row four">
            <Panel id="panel-traces" title="Traces per minute">
                <ChartView chart=traces/>
            </Panel>
            <Panel id="panel-errors" title="Error rate">
                <ChartView chart=error_rate/>
            </Panel>
            <Panel id="panel-cache" title="Cache-hit rate">
                <ChartView chart=cache_hit_rate/>
            </Panel>
            <Panel id="panel-guardrails" title="Guardrail block rate">
                <ChartView chart=guardrail_block_rate/>
            </Panel>
        </div>
        <div class="board-row wide-left">
            <Panel id="panel-breakdown" title="Where the time goes (P95 by span)">{breakdown}</Panel>
            <Panel id="panel-stages" title="Guardrail stages">{stages}</Panel>
        </div>
        <div class="board-row two">
            <Panel id="panel-models" title="Model usage">{models}</Panel>
            <Panel id="panel-cost" title="Token cost">{cost}</Panel>
        </div>
        <div class="board-row two">
            <Panel id="panel-slowest" title="Slowest traces">{slowest}</Panel>
            <Panel id="panel-failed" title="Failed traces">{failed}</Panel>
        </div>
    }
}

fn no_traces() -> AnyView {
    view! { <p class="panel-empty">{NO_TRACES}</p> }.into_any()
}

#[component]
fn Panel(id: &'static str, title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="panel" id=id>
            <h2>{title}</h2>
            {children()}
        </section>
    }
}

/// A server-drawn chart, or the panel's empty state.
#[component]
fn ChartView(chart: Chart) -> impl IntoView {
    match chart {
        Chart::Svg(svg) => view! { <div class="chart-box" inner_html=svg></div> }.into_any(),
        Chart::Empty => no_traces(),
        Chart::Failed(e) => view! { <p class="error">{e}</p> }.into_any(),
    }
}

#[component]
fn Tiles(data: Overview) -> impl IntoView {
    let t = &data.totals;
    let minutes = (data.to_ms - data.from_ms).max(1) as f64 / 60_000.0;
    let per_min = (t.traces > 0).then(|| t.traces as f64 / minutes);
    let tiles: [(&str, &str, String, &str); 10] = [
        ("tile-traces", "Traces", format::count(t.traces as i64), ""),
        (
            "tile-rate",
            "Traces / min",
            per_min.map_or_else(|| "—".into(), |r| format!("{r:.1}")),
            "",
        ),
        ("tile-p50", "Latency P50", ms(t.p50_ms), ""),
        ("tile-p95", "Latency P95", ms(t.p95_ms), ""),
        ("tile-p99", "Latency P99", ms(t.p99_ms), ""),
        (
            "tile-errors",
            "Error rate",
            percent(t.error_rate()),
            if t.error_traces > 0 { "bad" } else { "" },
        ),
        (
            "tile-cache",
            "Cache-hit rate",
            percent(t.cache_hit_rate()),
            "",
        ),
        (
            "tile-blocks",
            "Guardrail block rate",
            percent(t.guardrail_block_rate()),
            "",
        ),
        (
            "tile-cost-request",
            "Cost / request",
            t.cost_per_request()
                .map_or_else(|| "—".into(), |(_, _, total)| format::usd(total)),
            "",
        ),
        ("tile-cost", "Cost (window)", format::usd(t.cost()), ""),
    ];
    view! {
        <div class="tiles" id="tiles" data-traces=data.totals.traces>
            {tiles.into_iter().map(|(id, label, value, class)| view! {
                <div class=format!("tile {class}") data-testid=id>
                    <div class="tile-label">{label}</div>
                    <div class="tile-value">{value}</div>
                </div>
            }).collect_view()}
        </div>
    }
}

/// A share as a thin bar (0..=1, clamped) with its percentage.
fn share_bar(share: Option<f64>, class: &'static str) -> impl IntoView {
    let width = share
        .filter(|s| s.is_finite())
        .map_or(0.0, |s| s.clamp(0.0, 1.0) * 100.0);
    view! {
        <div class=format!("share {class}")>
            <div class="share-track"><div class="share-fill" style=format!("width: {width:.1}%")></div></div>
            <span class="share-label">{percent(share)}</span>
        </div>
    }
}

#[component]
fn Breakdown(rows: Vec<SpanBreakdown>) -> impl IntoView {
    view! {
        <table class="board-table" id="breakdown">
            <thead>
                <tr>
                    <th>"Span"</th>
                    <th class="num">"Count"</th>
                    <th class="num">"P50"</th>
                    <th class="num">"P95"</th>
                    <th class="c-share">"Share of trace P95"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().enumerate().map(|(i, r)| {
                    let (letters, kind_class) = kind_badge(&r.kind);
                    // The list comes bottleneck first: mark it so it jumps out.
                    let class = if i == 0 { "breakdown-row bottleneck" } else { "breakdown-row" };
                    let errors = (r.error_count > 0).then(|| view! {
                        <span class="row-errors" title="spans with an error">{format!("{} err", format::count(r.error_count as i64))}</span>
                    });
                    view! {
                        <tr class=class>
                            <td class="span-cell">
                                <span class=format!("kind {kind_class}") title=r.kind.clone()>{letters}</span>
                                <span class="span-label">{r.name.clone()}</span>
                                {errors}
                            </td>
                            <td class="num">{format::count(r.count as i64)}</td>
                            <td class="num">{ms(r.p50_ms)}</td>
                            <td class="num">{ms(r.p95_ms)}</td>
                            <td>{share_bar(r.share_of_trace_p95, if i == 0 { "hot" } else { "" })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn GuardrailStages(data: Overview) -> impl IntoView {
    let most = data.guardrails.iter().map(|g| g.blocks).max().unwrap_or(0);
    view! {
        <table class="board-table" id="guardrail-stages">
            <thead>
                <tr>
                    <th>"Stage"</th>
                    <th class="num">"Checks"</th>
                    <th class="num">"Blocks"</th>
                    <th class="c-share">"Block rate"</th>
                </tr>
            </thead>
            <tbody>
                {data.guardrails.into_iter().map(|g| {
                    let rate = ratio(g.blocks, g.checks);
                    // Bars compare stages with each other: full width = the stage blocking most.
                    let width = if most == 0 { 0.0 } else { g.blocks as f64 / most as f64 * 100.0 };
                    view! {
                        <tr class="stage-row">
                            <td>{g.name}</td>
                            <td class="num">{format::count(g.checks as i64)}</td>
                            <td class="num">{format::count(g.blocks as i64)}</td>
                            <td>
                                <div class="share warn">
                                    <div class="share-track"><div class="share-fill" style=format!("width: {width:.1}%")></div></div>
                                    <span class="share-label">{percent(rate)}</span>
                                </div>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Models(rows: Vec<ModelUsage>) -> impl IntoView {
    let calls: u64 = rows.iter().map(|m| m.calls).sum();
    let tokens: i64 = rows.iter().map(|m| m.input_tokens + m.output_tokens).sum();
    view! {
        <table class="board-table" id="models">
            <thead>
                <tr>
                    <th>"Model"</th>
                    <th class="num">"Calls"</th>
                    <th class="c-share">"Share of calls"</th>
                    <th class="num">"Tokens in / out"</th>
                    <th class="c-share">"Share of tokens"</th>
                    <th class="num">"P95"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|m| {
                    let t = m.input_tokens + m.output_tokens;
                    let tok_share = (tokens > 0).then(|| t as f64 / tokens as f64);
                    view! {
                        <tr class="model-row">
                            <td class="model-name">{m.model.clone()}</td>
                            <td class="num">{format::count(m.calls as i64)}</td>
                            <td>{share_bar(ratio(m.calls, calls), "")}</td>
                            <td class="num">{format!("{} / {}", format::count(m.input_tokens), format::count(m.output_tokens))}</td>
                            <td>{share_bar(tok_share, "alt")}</td>
                            <td class="num">{ms(m.p95_ms)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn Cost(data: Overview) -> impl IntoView {
    let t = &data.totals;
    let (per_in, per_out, per_total) = t.cost_per_request().unwrap_or_default();
    let per_call = |cost: f64, calls: u64| {
        if calls == 0 {
            "—".to_string()
        } else {
            format::usd(cost / calls as f64)
        }
    };
    view! {
        <table class="board-table" id="cost">
            <thead>
                <tr>
                    <th>"Model"</th>
                    <th class="num">"Input / call"</th>
                    <th class="num">"Output / call"</th>
                    <th class="num">"Total / call"</th>
                    <th class="num">"Window total"</th>
                </tr>
            </thead>
            <tbody>
                {data.models.iter().map(|m| view! {
                    <tr class="cost-row">
                        <td class="model-name">{m.model.clone()}</td>
                        <td class="num">{per_call(m.cost_input, m.calls)}</td>
                        <td class="num">{per_call(m.cost_output, m.calls)}</td>
                        <td class="num">{per_call(m.cost_input + m.cost_output, m.calls)}</td>
                        <td class="num">{format::usd(m.cost_input + m.cost_output)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr class="cost-total" id="cost-per-request">
                    <td>"Per request (trace)"</td>
                    <td class="num">{format::usd(per_in)}</td>
                    <td class="num">{format::usd(per_out)}</td>
                    <td class="num">{format::usd(per_total)}</td>
                    <td class="num">{format::usd(t.cost())}</td>
                </tr>
            </tfoot>
        </table>
    }
}

#[component]
fn Exemplars(rows: Vec<TraceSummary>, id: &'static str) -> impl IntoView {
    if rows.is_empty() {
        return no_traces();
    }
    view! {
        <table class="board-table exemplars" id=id>
            <thead>
                <tr>
                    <th>"Start (UTC)"</th>
                    <th>"Name"</th>
                    <th class="num">"Duration"</th>
                    <th>"Status"</th>
                    <th>"Model"</th>
                    <th class="num">"Cost"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|t| {
                    let model = t.models.first().cloned().unwrap_or_else(|| "—".into());
                    view! {
                        <tr class="exemplar-row" data-trace-id=t.trace_id.clone()>
                            // Hours to seconds: the window's date is in the caption above.
                            <td class="mono">{format::utc_ms(t.start_ms)[5..19].to_string()}</td>
                            <td class="name">
                                <a href=format!("/traces/{}", t.trace_id)>
                                    {t.name.clone().unwrap_or_else(|| "(root pending)".into())}
                                </a>
                            </td>
                            <td class="num">{t.duration_ms.map(format::duration_ms).unwrap_or_else(|| "…".into())}</td>
                            <td><StatusBadge status=t.status/></td>
                            <td class="model" title=t.models.join(", ")>{model}</td>
                            <td class="num">{t.total_cost.map(format::usd).unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_keep_small_values_visible() {
        assert_eq!(percent(Some(0.42)), "42.0%");
        assert_eq!(percent(Some(0.003)), "0.30%");
        assert_eq!(percent(Some(0.0)), "0.0%");
        assert_eq!(percent(None), "—");
        assert_eq!(percent(Some(f64::NAN)), "—");
    }

    #[test]
    fn the_window_caption_names_utc() {
        assert_eq!(
            window_caption(1_795_442_700_000, 1_795_446_300_000),
            "2026-11-23 14:05 – 15:05 UTC"
        );
        assert_eq!(
            window_caption(1_795_442_700_000, 1_795_442_700_000 + 86_400_000),
            "2026-11-23 14:05 – 2026-11-24 14:05 UTC"
        );
        assert_eq!(step_caption(60_000), "1 min");
        assert_eq!(step_caption(3_600_000), "1 h");
    }
}
