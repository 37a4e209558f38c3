//! `GET /metrics`: Prometheus text format, read from rollups (never raw spans), so a scrape
//! costs the same at 10 or 10,000 traces a second.
//!
//! Counters are cumulative: cells older than a settling delay are summed once into a cache
//! and only the recent minutes are read per scrape. A cell that changes after it settled
//! (data more than [`SETTLE`] late) is not counted again — the price of keeping counters
//! monotonic without re-reading history.
//! Label cardinality is bounded: at most [`MAX_SERIES`] label sets per family, the rest
//! summed under `other`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::Mutex;

use crate::rollup::latency::{bucket_lower_ms, BUCKETS};
use crate::rollup::{self, Cell, CellPart, Level, RollupConfig, SeriesKey, StoredCell};
use crate::store::Backend;

/// Minutes newer than this are read on every scrape; older ones are summed once.
const SETTLE: i64 = 300;
/// Most label sets per metric family.
pub const MAX_SERIES: usize = 500;

#[derive(Clone)]
pub struct Metrics {
    backend: Arc<dyn Backend>,
    rollups: RollupConfig,
    cache: Arc<Mutex<Settled>>,
}

#[derive(Default)]
struct Settled {
    /// Cells with `bucket < until` are in `totals`.
    until: i64,
    totals: Totals,
}

/// Sums by label set.
#[derive(Default, Clone)]
struct Totals {
    traces: BTreeMap<(String, String), Cell>,
    cache_hits: BTreeMap<(String, String), i64>,
    spans: BTreeMap<(String, String, String), Cell>,
}

impl Totals {
    fn add(&mut self, key: &SeriesKey, c: &Cell, cfg: &RollupConfig) {
        match key.level {
            Level::Trace if !key.is_wildcard() => {
                let labels = (key.service.clone(), key.trace_name.clone());
                if key
                    .tag_map()
                    .get(&cfg.cache_hit_key)
                    .is_some_and(|v| rollup::truthy(v))
                {
                    *self.cache_hits.entry(labels.clone()).or_default() += c.count;
                }
                self.traces.entry(labels).or_default().merge(c);
            }
            Level::Span if key.is_wildcard() => {
                let labels = (key.span_name.clone(), key.kind.clone(), key.model.clone());
                self.spans.entry(labels).or_default().merge(c);
            }
            _ => {}
        }
    }
}

impl Metrics {
    pub fn new(backend: Arc<dyn Backend>, rollups: RollupConfig) -> Metrics {
        Metrics {
            backend,
            rollups,
            cache: Arc::new(Mutex::new(Settled::default())),
        }
    }

    /// The exposition text at `now_s`.
    pub async fn render(&self, now_s: i64) -> crate::store::Result<String> {
        let series = self.backend.rollup_series().await?;
        let settle_at = (now_s - SETTLE).div_euclid(rollup::MINUTE) * rollup::MINUTE;
        let mut cache = self.cache.lock().await;
        if cache.until < settle_at {
            let cells = if cache.until == 0 {
                // First scrape: history from hour cells, then minutes after the watermark.
                let watermark = self
                    .backend
                    .rollup_compacted_until(rollup::HOUR)
                    .await?
                    .min(settle_at);
                let mut c = self
                    .backend
                    .rollup_cells(rollup::HOUR, 0, watermark, None, CellPart::Whole)
                    .await?;
                c.extend(
                    self.backend
                        .rollup_cells(rollup::MINUTE, watermark, settle_at, None, CellPart::Whole)
                        .await?,
                );
                c
            } else {
                self.backend
                    .rollup_cells(
                        rollup::MINUTE,
                        cache.until,
                        settle_at,
                        None,
                        CellPart::Whole,
                    )
                    .await?
            };
            add_all(&mut cache.totals, &series, &cells, &self.rollups);
            cache.until = settle_at;
        }
        let mut totals = cache.totals.clone();
        let until = cache.until;
        drop(cache);
        let live = self
            .backend
            .rollup_cells(rollup::MINUTE, until, i64::MAX, None, CellPart::Whole)
            .await?;
        add_all(&mut totals, &series, &live, &self.rollups);
        Ok(exposition(&totals))
    }
}

fn add_all(
    t: &mut Totals,
    series: &HashMap<i64, SeriesKey>,
    cells: &[StoredCell],
    cfg: &RollupConfig,
) {
    for sc in cells {
        if let Some(key) = series.get(&sc.series) {
            t.add(key, &sc.cell, cfg);
        }
    }
}

/// Keeps the `MAX_SERIES - 1` label sets with the most events; the rest merge into one
/// whose every label is `other`.
fn bounded<K: Ord + Clone>(m: &BTreeMap<K, Cell>, other: K) -> Vec<(K, Cell)> {
    let mut v: Vec<(K, Cell)> = m.iter().map(|(k, c)| (k.clone(), c.clone())).collect();
    if v.len() <= MAX_SERIES {
        return v;
    }
    v.sort_by_key(|(_, c)| std::cmp::Reverse(c.count));
    let rest = v.split_off(MAX_SERIES - 1);
    let mut merged = Cell::default();
    for (_, c) in &rest {
        merged.merge(c);
    }
    v.push((other, merged));
    v
}

/// Prometheus label value escaping: backslash, double quote and newline.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `le` bounds in seconds: every other histogram bound (powers of two ms, 1 ms .. 131 s).
fn le_buckets() -> Vec<(usize, f64)> {
    (1..BUCKETS)
        .step_by(2)
        .map(|k| (k, bucket_lower_ms(k) / 1000.0))
        .collect()
}

fn histogram(out: &mut String, name: &str, labels: &str, c: &Cell) {
    let h = c.latency.histogram();
    // Bucket `k` holds [bound_k, bound_k+1): the cumulative count up to `le = bound_j`
    // is every bucket below j.
    let mut cum = 0u64;
    let mut k = 0;
    for (j, le) in le_buckets() {
        while k < j {
            cum += h[k];
            k += 1;
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cum}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels},le=\"+Inf\"}} {}",
        c.latency.count()
    );
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}",
        c.latency.sum_ms() / 1000.0
    );
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", c.latency.count());
}

/// A counter family: name, help, and the value of one label set.
type Family<'a, V> = (&'a str, &'a str, &'a dyn Fn(&Cell) -> V);

fn exposition(t: &Totals) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let traces = bounded(&t.traces, ("other".to_string(), "other".to_string()));
    let spans = bounded(
        &t.spans,
        (
            "other".to_string(),
            "other".to_string(),
            "other".to_string(),
        ),
    );
    let trace_labels =
        |(s, n): &(String, String)| format!("service=\"{}\",name=\"{}\"", esc(s), esc(n));
    let span_labels = |(s, k, m): &(String, String, String)| {
        format!(
            "span_name=\"{}\",kind=\"{}\",model=\"{}\"",
            esc(s),
            esc(k),
            esc(m)
        )
    };

    let families: [Family<i64>; 3] = [
        (
            "sightline_traces_total",
            "Traces (root spans), by service and trace name.",
            &|c| c.count,
        ),
        (
            "sightline_trace_errors_total",
            "Traces with an error span.",
            &|c| c.error_count,
        ),
        (
            "sightline_guardrail_blocked_traces_total",
            "Traces in which a guardrail blocked the answer.",
            &|c| c.blocked_count,
        ),
    ];
    for (name, help, f) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (k, c) in &traces {
            let _ = writeln!(out, "{name}{{{}}} {}", trace_labels(k), f(c));
        }
    }
    let _ = writeln!(
        out,
        "# HELP sightline_cache_hits_total Traces whose cache-hit tag was true.\n# TYPE sightline_cache_hits_total counter"
    );
    for (k, n) in t.cache_hits.iter().take(MAX_SERIES) {
        let _ = writeln!(out, "sightline_cache_hits_total{{{}}} {n}", trace_labels(k));
    }
    let _ = writeln!(
        out,
        "# HELP sightline_trace_duration_seconds Trace latency (root span duration).\n# TYPE sightline_trace_duration_seconds histogram"
    );
    for (k, c) in &traces {
        histogram(
            &mut out,
            "sightline_trace_duration_seconds",
            &trace_labels(k),
            c,
        );
    }

    let span_families: [Family<i64>; 3] = [
        (
            "sightline_spans_total",
            "Spans, by span name, kind and model.",
            &|c| c.count,
        ),
        (
            "sightline_span_errors_total",
            "Spans with error status.",
            &|c| c.error_count,
        ),
        (
            "sightline_guardrail_blocks_total",
            "Guardrail spans that blocked.",
            &|c| c.blocked_count,
        ),
    ];
    for (name, help, f) in span_families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (k, c) in &spans {
            let _ = writeln!(out, "{name}{{{}}} {}", span_labels(k), f(c));
        }
    }
    let _ = writeln!(
        out,
        "# HELP sightline_tokens_total Tokens of non-aggregator spans (type: input, output, cached).\n# TYPE sightline_tokens_total counter"
    );
    for (k, c) in spans.iter().filter(|(k, _)| !k.2.is_empty()) {
        for (ty, n) in [
            ("input", c.input_tokens),
            ("output", c.output_tokens),
            ("cached", c.cached_tokens),
        ] {
            let _ = writeln!(
                out,
                "sightline_tokens_total{{{},type=\"{ty}\"}} {n}",
                span_labels(k)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP sightline_cost_usd_total Cost in US dollars from the model price table (type: input, output).\n# TYPE sightline_cost_usd_total counter"
    );
    for (k, c) in spans.iter().filter(|(k, _)| !k.2.is_empty()) {
        for (ty, v) in [("input", c.cost_input), ("output", c.cost_output)] {
            let _ = writeln!(
                out,
                "sightline_cost_usd_total{{{},type=\"{ty}\"}} {v}",
                span_labels(k)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP sightline_span_duration_seconds Span latency, by span name, kind and model.\n# TYPE sightline_span_duration_seconds histogram"
    );
    for (k, c) in &spans {
        histogram(
            &mut out,
            "sightline_span_duration_seconds",
            &span_labels(k),
            c,
        );
    }
    out
}

pub async fn handler(State(m): State<Metrics>) -> Response {
    match m.render(crate::store::now_ms() / 1000).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "/metrics failed.");
            (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_the_count() {
        let mut c = Cell::default();
        for ms in [0.5, 3.0, 3.0, 700.0, 5_000_000.0] {
            c.latency.add(ms);
        }
        let mut out = String::new();
        histogram(&mut out, "h", "a=\"b\"", &c);
        let counts: Vec<u64> = out
            .lines()
            .filter(|l| l.starts_with("h_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{out}");
        assert_eq!(*counts.last().unwrap(), 5);
        assert!(out.contains("h_bucket{a=\"b\",le=\"0.001\"} 1"), "{out}");
        assert!(out.contains("h_bucket{a=\"b\",le=\"0.004\"} 3"), "{out}");
        assert!(out.contains("h_bucket{a=\"b\",le=\"131.072\"} 4"), "{out}");
    }

    #[test]
    fn label_values_are_escaped_and_families_bounded() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut m = BTreeMap::new();
        for i in 0..(MAX_SERIES + 20) {
            let c = Cell {
                count: i as i64,
                ..Cell::default()
            };
            m.insert(format!("k{i}"), c);
        }
        let v = bounded(&m, "other".to_string());
        assert_eq!(v.len(), MAX_SERIES);
        let total: i64 = v.iter().map(|(_, c)| c.count).sum();
        assert_eq!(total, m.values().map(|c| c.count).sum::<i64>());
        assert_eq!(v.last().unwrap().0, "other");
    }
}
