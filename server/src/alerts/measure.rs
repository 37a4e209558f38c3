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
    /// The window's slowest and failed traces in this instance (what a notice links to).
    pub exemplars: rollup::exemplar::Exemplars,
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
    let window_s = rule.window.0 / 1000;
    let at = |end_ms: i64| {
        // The window ends at the minute `end_ms` falls in: the current minute is still filling.
        let to_s = end_ms.div_euclid(60_000) * 60;
        (to_s - window_s, to_s)
    };
    let values_at = |end_ms: i64| {
        let series = &series;
        async move {
            let (from_s, to_s) = at(end_ms);
            let loaded = Loaded::load(backend, cfg, rule, series, from_s, to_s).await?;
            Ok::<_, MeasureError>(loaded.values(rule, cfg, from_s, to_s))
        }
    };
    let current = values_at(now_ms).await?;
    let mut baselines = Vec::new();
    for then in baseline_ends(rule, now_ms) {
        baselines.push(by_labels(values_at(then).await?));
    }
    Ok(current
        .into_iter()
        .map(|mut m| {
            m.baseline = baseline_of(rule, &baselines, &m.labels);
            m
        })
        .collect())
}

/// The end times of the baseline windows of a window ending at `end_ms`.
pub fn baseline_ends(rule: &RuleSpec, end_ms: i64) -> Vec<i64> {
    const DAY: i64 = 86_400_000;
    match rule.baseline {
        None => Vec::new(),
        Some(Baseline::WeekAgo) => vec![end_ms - 7 * DAY],
        Some(Baseline::Median7d) => (1..=7).map(|d| end_ms - d * DAY).collect(),
    }
}

/// The baseline of one instance: the median of its values in the baseline windows.
pub fn baseline_of(
    rule: &RuleSpec,
    baselines: &[HashMap<BTreeMap<String, String>, Option<f64>>],
    labels: &BTreeMap<String, String>,
) -> Option<f64> {
    rule.baseline?;
    let mut past: Vec<f64> = baselines
        .iter()
        .filter_map(|b| b.get(labels).copied().flatten())
        .collect();
    past.sort_by(f64::total_cmp);
    (!past.is_empty()).then(|| median(&past))
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

pub fn by_labels(v: Vec<Measurement>) -> HashMap<BTreeMap<String, String>, Option<f64>> {
    v.into_iter().map(|m| (m.labels, m.value)).collect()
}

/// The cells of a rule's series over a span of time, read once: a measurement is one
/// window of them, and a backtest slides many windows over one read.
pub struct Loaded {
    wanted: HashMap<i64, SeriesKey>,
    cells: Vec<rollup::StoredCell>,
}

impl Loaded {
    /// Reads `[from_s, to_s)` at the resolution the rule's window is measured at: hour cells
    /// (up to the compaction watermark) for windows over 6 h, minute cells otherwise.
    pub async fn load(
        backend: &dyn Backend,
        cfg: &RollupConfig,
        rule: &RuleSpec,
        series: &HashMap<i64, SeriesKey>,
        from_s: i64,
        to_s: i64,
    ) -> Result<Loaded, MeasureError> {
        let expr =
            app::filter::parse(&rule.scope).map_err(|e| MeasureError::Invalid(e.to_string()))?;
        let scope =
            Scope::compile(expr.as_ref(), &cfg.dimension_keys()).map_err(MeasureError::Invalid)?;
        let coarsest = if rule.window.0 > 6 * 3_600_000 {
            rollup::HOUR
        } else {
            rollup::MINUTE
        };
        let wanted: HashMap<i64, SeriesKey> = series
            .iter()
            .filter(|(_, k)| match k.level {
                Level::Trace => !k.is_wildcard() && scope.matches_dims(k),
                Level::Span => scope.matches(k),
            })
            .map(|(id, k)| (*id, k.clone()))
            .collect();
        let cells = rollup::read::cells(
            backend,
            &wanted,
            from_s,
            to_s,
            coarsest,
            rollup::CellPart::Whole,
        )
        .await?;
        Ok(Loaded { wanted, cells })
    }

    /// The rule's value per instance over `[from_s, to_s)`, within what was loaded. Cells
    /// count as `rollup::read::cells` selects them: by their start, except hourly tagged span
    /// cells, which count when they overlap the window.
    pub fn values(
        &self,
        rule: &RuleSpec,
        cfg: &RollupConfig,
        from_s: i64,
        to_s: i64,
    ) -> Vec<Measurement> {
        let wanted = &self.wanted;
        let hour_from = from_s.div_euclid(rollup::HOUR) * rollup::HOUR;
        let cells = self.cells.iter().filter(|sc| {
            let hourly = wanted
                .get(&sc.series)
                .is_some_and(|k| k.level == Level::Span && !k.is_wildcard());
            let from = if hourly { hour_from } else { from_s };
            from <= sc.bucket && sc.bucket < to_s
        });
        group(rule, cfg, wanted, cells)
    }
}

fn group<'a>(
    rule: &RuleSpec,
    cfg: &RollupConfig,
    wanted: &HashMap<i64, SeriesKey>,
    cells: impl Iterator<Item = &'a rollup::StoredCell>,
) -> Vec<Measurement> {
    let mut groups: BTreeMap<BTreeMap<String, String>, Acc> = BTreeMap::new();
    if rule.split_by.is_none() {
        groups.insert(BTreeMap::new(), Acc::default());
    }
    for sc in cells {
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
    groups
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
                exemplars: a.traces.exemplars,
            }
        })
        .collect()
}
