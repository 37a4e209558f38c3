//! Which traces a notice links to, and in each the span to blame, so the on-call engineer
//! lands on the span rather than on a 20-span waterfall.

use super::rule::{Metric, RuleSpec};
use crate::model::{SpanKind, StatusCode};
use crate::rollup::exemplar::{Exemplar, Exemplars};
use crate::store::StoredTrace;

/// Traces a notice links to.
pub const LINKS: usize = 3;

/// The exemplars that illustrate the rule's metric: failed traces for error and guardrail
/// rates (a blocked answer is recorded as a failed guardrail span more often than not), the
/// slowest otherwise; topped up from the other list when one is short.
pub fn pick(rule: &RuleSpec, ex: &Exemplars) -> Vec<Exemplar> {
    let failed_first = matches!(rule.metric, Metric::ErrorRate | Metric::GuardrailBlockRate);
    let (first, second) = if failed_first {
        (&ex.failed, &ex.slowest)
    } else {
        (&ex.slowest, &ex.failed)
    };
    let mut out: Vec<Exemplar> = first.iter().take(LINKS).copied().collect();
    for e in second {
        if out.len() >= LINKS {
            break;
        }
        if !out.iter().any(|o| o.trace_id == e.trace_id) {
            out.push(*e);
        }
    }
    out
}

/// The span that contributed most to what the rule measures, as (span id hex, name):
/// - a span-latency rule: the slowest span of that name;
/// - error rate: the failed span deepest in the tree (where the error started, not the
///   wrappers it propagated through);
/// - guardrail block rate: the guardrail span that failed, else the first guardrail;
/// - cost: the most expensive span;
/// - otherwise the span whose own work held the trace up longest (its self time on the
///   critical path, as the waterfall highlights it).
pub fn culprit(rule: &RuleSpec, trace: &StoredTrace) -> Option<(String, String)> {
    let spans = &trace.spans;
    if spans.is_empty() {
        return None;
    }
    let named = |i: usize| Some((hex::encode(spans[i].span_id), spans[i].name.clone()));
    let dur = |i: usize| spans[i].end_ns - spans[i].start_ns;
    if let Some(name) = &rule.span {
        return (0..spans.len())
            .filter(|&i| crate::rollup::series_name(&spans[i].name) == *name)
            .max_by_key(|&i| dur(i))
            .and_then(named);
    }
    let failed = |i: usize| spans[i].status == StatusCode::Error;
    match rule.metric {
        Metric::ErrorRate => {
            let has_failed_child = |i: usize| {
                spans.iter().any(|c| {
                    c.parent_span_id == Some(spans[i].span_id) && c.status == StatusCode::Error
                })
            };
            return (0..spans.len())
                .filter(|&i| failed(i) && !has_failed_child(i))
                .min_by_key(|&i| spans[i].start_ns)
                .and_then(named);
        }
        Metric::GuardrailBlockRate => {
            let guard = |i: usize| spans[i].kind == SpanKind::Guardrail;
            return (0..spans.len())
                .filter(|&i| guard(i) && failed(i))
                .chain((0..spans.len()).filter(|&i| guard(i)))
                .next()
                .and_then(named);
        }
        Metric::CostPerRequest | Metric::CostPerWindow => {
            if let Some(i) = (0..spans.len())
                .filter(|&i| spans[i].cost.unwrap_or(0.0) > 0.0)
                .max_by(|&a, &b| {
                    spans[a]
                        .cost
                        .unwrap_or(0.0)
                        .total_cmp(&spans[b].cost.unwrap_or(0.0))
                })
            {
                return named(i);
            }
        }
        _ => {}
    }
    let t0 = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let nodes: Vec<_> = spans
        .iter()
        .map(|s| crate::query::detail::node(s.clone(), t0))
        .collect();
    let tree = app::span_tree::SpanTree::build(&nodes);
    let own = |i: usize| -> f64 { tree.critical_segments[i].iter().map(|(a, b)| b - a).sum() };
    (0..spans.len())
        .filter(|&i| tree.critical[i])
        .max_by(|&a, &b| own(a).total_cmp(&own(b)))
        .and_then(named)
}
