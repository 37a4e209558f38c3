//! A rule's metric over its window, from rollups: one value per alert instance (one, or one
//! per value of `split_by`), with the number of traces behind it and, for relative
//! thresholds, the baseline it is compared with.

use std::collections::{BTreeMap, HashMap};

use super::rule::{Baseline, Metric, RuleSpec};
use crate::rollup::scope::Scope;
use crate::rollup::{self, Cell, Level, RollupConfig, SeriesKey};
use crate::store::Backend;

/// One alert instance's observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// `split_by` and its value; empty for an unsplit rule.
    pub labels: BTreeMap<String, String>,
    /// `None`: no data, or fewer traces than the rule's `min_samples`.
    pub value: Option<f64>,
    /// Traces behind the value (guardrail rate: traces that ran a guardrail).
    pub samples: u64,
    /// Relative rules: the baseline's value (`None` when it has no data).
    pub baseline: Option<f64>,
}

impl Measurement {
    /// Does the condition hold? Never without data (the state machine's no-data policy
    /// decides then).
    pub fn breaching(&self, rule: &RuleSpec) -> Option<bool> {
        let v = self.value?;
        let threshold = match rule.baseline {
            None => rule.threshold,
            Some(_) => rule.threshold * self.baseline?,
        };
        Some(rule.op.holds(v, threshold))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("rule is invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// What one group (alert instance) summed.
#[derive(Default)]
struct Acc {
    traces: Cell,
    spans: Cell,
    /// The latency of the rule's span name.
    span_latency: rollup::Latency,
    cache_hits: u64,
    cache_known: u64,
}

fn split_value(by: &str, key: &SeriesKey) -> Option<String> {
    Some(match by {
        "service" => key.service.clone(),
        "name" => key.trace_name.clone(),
        "model" => key.model.clone(),
        "span_name" => key.span_name.clone(),
        _ => key.tag_map().get(by.strip_prefix("tags.")?)?.clone(),
    })
}

/// The metric of `rule` over `[now - window, now)`, per alert instance.
pub async fn measure(
    backend: &dyn Backend,
    cfg: &RollupConfig,
    rule: &RuleSpec,
    now_ms: i64,
) -> Result<Vec<Measurement>, MeasureError> {
    let problems = rule.problems(&cfg.dimension_keys());
    if !problems.is_empty() {
        return Err(MeasureError::Invalid(problems.join("; ")));
    }
    let series = backend.rollup_series().await?;
    let current = window_values(backend, cfg, rule, &series, now_ms).await?;
    let baselines: Vec<HashMap<BTreeMap<String, String>, Option<f64>>> = match rule.baseline {
        None => Vec::new(),
        Some(Baseline::WeekAgo) => vec![by_labels(
            window_values(backend, cfg, rule, &series, now_ms - 7 * 86_400_000).await?,
        )],
        Some(Baseline::Median7d) => {
            let mut v = Vec::new();
            for day in 1..=7 {
                let then = now_ms - day * 86_400_000;
                v.push(by_labels(
                    window_values(backend, cfg, rule, &series, then).await?,
                ));
            }
            v
        }
    };
    Ok(current
        .into_iter()
        .map(|mut m| {
            if rule.baseline.is_some() {
                let mut past: Vec<f64> = baselines
                    .iter()
                    .filter_map(|b| b.get(&m.labels).copied().flatten())
                    .collect();
                past.sort_by(f64::total_cmp);
                m.baseline = (!past.is_empty()).then(|| median(&past));
            }
            m
        })
        .collect())
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn by_labels(v: Vec<Measurement>) -> HashMap<BTreeMap<String, String>, Option<f64>> {
    v.into_iter().map(|m| (m.labels, m.value)).collect()
}

async fn window_values(
    backend: &dyn Backend,
    cfg: &RollupConfig,
    rule: &RuleSpec,
    series: &HashMap<i64, SeriesKey>,
    end_ms: i64,
) -> Result<Vec<Measurement>, MeasureError> {
    let expr = app::filter::parse(&rule.scope).map_err(|e| MeasureError::Invalid(e.to_string()))?;
    let scope =
        Scope::compile(expr.as_ref(), &cfg.dimension_keys()).map_err(MeasureError::Invalid)?;
    // The window ends at the minute `end_ms` falls in: the current minute is still filling.
    let to_s = end_ms.div_euclid(60_000) * 60;
    let from_s = to_s - rule.window.0 / 1000;
    let hours = rule.window.0 > 6 * 3_600_000;
    let wanted: HashMap<i64, SeriesKey> = series
        .iter()
        .filter(|(_, k)| match k.level {
            Level::Trace => !k.is_wildcard() && scope.matches_dims(k),
            Level::Span => scope.matches(k),
        })
        .map(|(id, k)| (*id, k.clone()))
        .collect();
    let cells = rollup::read::cells(backend, &wanted, from_s, to_s, hours).await?;

    let mut groups: BTreeMap<BTreeMap<String, String>, Acc> = BTreeMap::new();
    if rule.split_by.is_none() {
        groups.insert(BTreeMap::new(), Acc::default());
    }
    for sc in &cells {
        let Some(key) = wanted.get(&sc.series) else {
            continue;
        };
        let labels = match &rule.split_by {
            None => BTreeMap::new(),
            Some(by) => {
                // A span dimension does not split trace cells (and vice versa): those
                // cells count for every instance through the totals below.
                let span_dim = matches!(by.as_str(), "model" | "span_name");
                if span_dim && key.level == Level::Trace {
                    continue;
                }
                match split_value(by, key) {
                    Some(v) if !v.is_empty() => [(by.clone(), v)].into(),
                    _ => continue,
                }
            }
        };
        let acc = groups.entry(labels).or_default();
        match key.level {
            Level::Trace => {
                acc.traces.merge(&sc.cell);
                if let Some(v) = key.tag_map().get(&cfg.cache_hit_key) {
                    acc.cache_known += sc.cell.count.max(0) as u64;
                    if rollup::truthy(v) {
                        acc.cache_hits += sc.cell.count.max(0) as u64;
                    }
                }
            }
            Level::Span => {
                acc.spans.merge(&sc.cell);
                if rule.span.as_deref() == Some(key.span_name.as_str()) {
                    acc.span_latency.merge(&sc.cell.latency);
                }
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|(labels, a)| {
            let traces = a.traces.count.max(0) as u64;
            let ratio = |n: i64, d: u64| (d > 0).then(|| n as f64 / d as f64);
            let q = |l: &rollup::Latency, p: f64| l.quantile(p);
            let latency = match &rule.span {
                Some(_) => &a.span_latency,
                None => &a.traces.latency,
            };
            let (value, samples) = match rule.metric {
                Metric::LatencyP50 => (q(latency, 0.5), latency.count()),
                Metric::LatencyP95 => (q(latency, 0.95), latency.count()),
                Metric::LatencyP99 => (q(latency, 0.99), latency.count()),
                Metric::ErrorRate => (ratio(a.traces.error_count, traces), traces),
                Metric::GuardrailBlockRate => {
                    let guarded = a.traces.guarded_count.max(0) as u64;
                    (ratio(a.traces.blocked_count, guarded), guarded)
                }
                Metric::CacheHitRate => (ratio(a.cache_hits as i64, a.cache_known), a.cache_known),
                Metric::CostPerRequest => (
                    (traces > 0)
                        .then(|| (a.spans.cost_input + a.spans.cost_output) / traces as f64),
                    traces,
                ),
                Metric::CostPerWindow => (Some(a.spans.cost_input + a.spans.cost_output), traces),
                Metric::TraceVolume => (Some(traces as f64), traces),
            };
            let enough = !rule.metric.needs_samples() || samples >= rule.min_samples;
            Measurement {
                labels,
                value: value.filter(|_| enough),
                samples,
                baseline: None,
            }
        })
        .collect())
}
