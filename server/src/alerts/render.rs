//! The words and links of a notification: values with their unit, the condition as a
//! sentence, the dashboard for the alert's window and scope, and the rule's page.

use super::rule::{Baseline, Comparison, Metric, RuleSpec};

/// A metric value with its unit: "2.31 s", "812 ms", "4.2%", "$0.0123", "1,204 traces".
pub fn value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 => {
            if v >= 1000.0 {
                format!("{:.2} s", v / 1000.0)
            } else {
                format!("{v:.0} ms")
            }
        }
        Metric::ErrorRate | Metric::GuardrailBlockRate | Metric::CacheHitRate => {
            format!("{:.1}%", v * 100.0)
        }
        Metric::CostPerRequest => format!("${v:.4}"),
        Metric::CostPerWindow => format!("${v:.2}"),
        Metric::TraceVolume => format!("{v:.0} traces"),
    }
}

fn op(c: Comparison) -> &'static str {
    match c {
        Comparison::Gt => ">",
        Comparison::Ge => "≥",
        Comparison::Lt => "<",
        Comparison::Le => "≤",
    }
}

/// The condition: "> 1.50 s", or "> 150% of the 7-day median ($12.40)".
pub fn condition(rule: &RuleSpec, baseline: Option<f64>) -> String {
    match rule.baseline {
        None => format!("{} {}", op(rule.op), value(rule.metric, rule.threshold)),
        Some(b) => {
            let what = match b {
                Baseline::WeekAgo => "the same window a week ago",
                Baseline::Median7d => "the 7-day median",
            };
            let base = baseline
                .map(|v| format!(" ({})", value(rule.metric, v)))
                .unwrap_or_default();
            format!(
                "{} {:.0}% of {what}{base}",
                op(rule.op),
                rule.threshold * 100.0
            )
        }
    }
}

pub fn metric_name(rule: &RuleSpec) -> String {
    let base = match rule.metric {
        Metric::LatencyP50 => "P50 latency",
        Metric::LatencyP95 => "P95 latency",
        Metric::LatencyP99 => "P99 latency",
        Metric::ErrorRate => "error rate",
        Metric::GuardrailBlockRate => "guardrail block rate",
        Metric::CacheHitRate => "cache-hit rate",
        Metric::CostPerRequest => "cost per request",
        Metric::CostPerWindow => "cost",
        Metric::TraceVolume => "trace volume",
    };
    match &rule.span {
        Some(span) => format!("{base} of span {span}"),
        None => base.to_string(),
    }
}

/// `/` board URL for `[from_ms, to_ms)` and the rule's scope.
pub fn dashboard_url(public_url: &str, rule: &RuleSpec, from_ms: i64, to_ms: i64) -> String {
    let view = app::pages::overview::BoardView {
        window: app::pages::overview::Window::Between { from_ms, to_ms },
        scope: rule.scope.clone(),
    };
    format!("{}{}", public_url.trim_end_matches('/'), view.url())
}

pub fn rule_url(public_url: &str, rule_id: i64) -> String {
    format!("{}/alerts/{rule_id}", public_url.trim_end_matches('/'))
}

pub fn trace_url(public_url: &str, trace_id: &str, span_id: Option<&str>) -> String {
    let base = format!("{}/traces/{trace_id}", public_url.trim_end_matches('/'));
    match span_id {
        Some(s) => format!("{base}?span={s}"),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rule::presets;

    #[test]
    fn values_carry_their_unit() {
        assert_eq!(value(Metric::LatencyP95, 2314.0), "2.31 s");
        assert_eq!(value(Metric::LatencyP95, 812.4), "812 ms");
        assert_eq!(value(Metric::ErrorRate, 0.042), "4.2%");
        assert_eq!(value(Metric::CostPerRequest, 0.01234), "$0.0123");
    }

    #[test]
    fn conditions_read_as_sentences() {
        let p = presets();
        assert_eq!(condition(&p[0], None), "> 1.50 s");
        assert_eq!(condition(&p[3], None), "< 30.0%");
        assert_eq!(
            condition(&p[4], Some(12.4)),
            "> 150% of the 7-day median ($12.40)"
        );
    }

    #[test]
    fn the_dashboard_link_holds_the_window_and_scope() {
        let rule = RuleSpec {
            scope: "tags.intent = 'search'".into(),
            ..presets()[0].clone()
        };
        let url = dashboard_url(
            "http://sl:5000/",
            &rule,
            1_700_000_040_000,
            1_700_000_340_000,
        );
        assert_eq!(
            url,
            "http://sl:5000/?from=2023%2D11%2D14T22%3A14Z&to=2023%2D11%2D14T22%3A19Z\
             &scope=tags%2Eintent%20%3D%20%27search%27"
        );
    }
}
