//! What a rule would have done over the past day, before it is saved: the metric at each
//! evaluation step, the effective threshold, and the firing periods the state machine gives.
//! The cells are read once for the whole span (plus the baseline spans of a relative rule)
//! and every step is a window slid over them, so a preview costs a few reads, not 288.

use std::collections::{BTreeMap, HashMap};

use super::measure::{baseline_ends, baseline_of, by_labels, Loaded, MeasureError};
use super::rule::RuleSpec;
use super::state::{step, AlertState, Observation, Phase};
use crate::rollup::RollupConfig;
use crate::store::Backend;

/// At most this many simulated evaluations: a step of `max(interval, span / STEPS)`.
pub const STEPS: i64 = 288;

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// End of the window (epoch ms).
    pub t_ms: i64,
    pub value: Option<f64>,
    /// The threshold in the metric's unit (a relative rule's moves with its baseline).
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Backtest {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Per instance (labels), its points in time order.
    pub lines: BTreeMap<BTreeMap<String, String>, Vec<Point>>,
    /// When some instance was firing: `[start, end)`, end `None` if still firing at the end.
    pub firing: Vec<(i64, Option<i64>)>,
    pub steps: u32,
    pub steps_with_data: u32,
}

/// Replays `rule` over the `span_ms` before `now_ms`.
pub async fn backtest(
    backend: &dyn Backend,
    cfg: &RollupConfig,
    rule: &RuleSpec,
    now_ms: i64,
    span_ms: i64,
) -> Result<Backtest, MeasureError> {
    let problems = rule.problems(&cfg.dimension_keys());
    if !problems.is_empty() {
        return Err(MeasureError::Invalid(problems.join("; ")));
    }
    let end_ms = now_ms.div_euclid(60_000) * 60_000;
    let stride = rule
        .interval
        .0
        .max(span_ms / STEPS)
        .div_euclid(60_000)
        .max(1)
        * 60_000;
    let first_end = end_ms - (span_ms / stride) * stride;
    let window = rule.window.0;
    let series = backend.rollup_series().await?;
    let load = |from_ms: i64, to_ms: i64| {
        Loaded::load(backend, cfg, rule, &series, from_ms / 1000, to_ms / 1000)
    };
    let current = load(first_end - window, end_ms).await?;
    // Each baseline offset (a week, or each of seven days) over the same span.
    let mut past = Vec::new();
    for then in baseline_ends(rule, end_ms) {
        let offset = end_ms - then;
        past.push((offset, load(first_end - window - offset, then).await?));
    }

    let mut out = Backtest {
        from_ms: first_end,
        to_ms: end_ms,
        ..Backtest::default()
    };
    let timing = rule.timing();
    let mut states: BTreeMap<BTreeMap<String, String>, AlertState> = BTreeMap::new();
    let mut firing_since: Option<i64> = None;
    let mut t = first_end;
    while t <= end_ms {
        let (from_s, to_s) = ((t - window) / 1000, t / 1000);
        let baselines: Vec<HashMap<_, _>> = past
            .iter()
            .map(|(offset, l)| {
                by_labels(l.values(rule, cfg, from_s - offset / 1000, to_s - offset / 1000))
            })
            .collect();
        let mut measured: BTreeMap<_, _> = current
            .values(rule, cfg, from_s, to_s)
            .into_iter()
            .map(|mut m| {
                m.baseline = baseline_of(rule, &baselines, &m.labels);
                (m.labels.clone(), m)
            })
            .collect();
        for labels in states.keys() {
            measured
                .entry(labels.clone())
                .or_insert_with(|| super::measure::Measurement {
                    labels: labels.clone(),
                    value: None,
                    samples: 0,
                    baseline: None,
                    exemplars: Default::default(),
                });
        }
        out.steps += 1;
        if measured.values().any(|m| m.value.is_some()) {
            out.steps_with_data += 1;
        }
        for (labels, m) in measured {
            let threshold = match rule.baseline {
                None => Some(rule.threshold),
                Some(_) => m.baseline.map(|b| b * rule.threshold),
            };
            let obs = match (m.value, m.breaching(rule)) {
                (Some(value), Some(breaching)) => Observation::Value { value, breaching },
                _ => Observation::NoData,
            };
            let before = states.get(&labels).cloned().unwrap_or_default();
            let (after, _) = step(&before, obs, t, &timing);
            states.insert(labels.clone(), after);
            out.lines.entry(labels).or_default().push(Point {
                t_ms: t,
                value: m.value,
                threshold,
            });
        }
        let any_firing = states.values().any(|s| s.phase == Phase::Firing);
        match (any_firing, firing_since) {
            (true, None) => firing_since = Some(t),
            (false, Some(since)) => {
                out.firing.push((since, Some(t)));
                firing_since = None;
            }
            _ => {}
        }
        t += stride;
    }
    if let Some(since) = firing_since {
        out.firing.push((since, None));
    }
    Ok(out)
}
