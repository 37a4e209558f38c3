//! Alert rules as users write them — in the UI or in a TOML rules file kept in version
//! control — and their validation. A rule names a trace-derived metric read from rollups,
//! a scope in the filter grammar, a comparison with an absolute threshold or one relative
//! to a baseline, and the timing of the state machine (see `state`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::state::{NoDataPolicy, Timing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    LatencyP50,
    LatencyP95,
    LatencyP99,
    ErrorRate,
    GuardrailBlockRate,
    CacheHitRate,
    /// Dollars per trace.
    CostPerRequest,
    /// Dollars over the window.
    CostPerWindow,
    /// Traces in the window.
    TraceVolume,
}

impl Metric {
    pub fn is_latency(self) -> bool {
        matches!(
            self,
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99
        )
    }

    /// Rates and per-request figures need a minimum of traces to mean anything; volume and
    /// window totals are meaningful at any count.
    pub fn needs_samples(self) -> bool {
        !matches!(self, Metric::TraceVolume | Metric::CostPerWindow)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Comparison {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Gt => value > threshold,
            Comparison::Ge => value >= threshold,
            Comparison::Lt => value < threshold,
            Comparison::Le => value <= threshold,
        }
    }
}

/// With a baseline, the threshold is a ratio of the baseline's value (1.5 = 150%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// The same window seven days earlier.
    WeekAgo,
    /// The median of the same window on each of the seven previous days.
    Median7d,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

/// A duration written `90s`, `5m`, `2h` or `1d`, kept in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span(pub i64);

impl Span {
    pub const fn minutes(m: i64) -> Span {
        Span(m * 60_000)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return write!(f, "0s");
        }
        for (unit, n) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ] {
            if ms != 0 && ms % n == 0 {
                return write!(f, "{}{unit}", ms / n);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl std::str::FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Span, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{s:?} needs a unit: s, m, h or d"))?;
        let (n, unit) = t.split_at(split);
        let n: i64 = n
            .parse()
            .map_err(|_| format!("{s:?} is not a duration like 90s, 5m, 2h or 1d"))?;
        let per = match unit {
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(format!("{s:?}: unknown unit {unit:?} (use s, m, h or d)")),
        };
        n.checked_mul(per)
            .map(Span)
            .ok_or_else(|| format!("{s:?} is too long"))
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn default_repeat() -> Span {
    Span(4 * 3_600_000)
}

fn default_interval() -> Span {
    Span::minutes(1)
}

fn default_min_samples() -> u64 {
    20
}

fn yes() -> bool {
    true
}

/// One rule, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    pub metric: Metric,
    /// Latency metrics: of this span name instead of the whole trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<String>,
    /// Filter grammar over rollup dimensions (service, name, rollup tags); empty = all.
    #[serde(default)]
    pub scope: String,
    pub op: Comparison,
    pub threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// The window the metric is computed over, ending at evaluation time.
    pub window: Span,
    /// How often the rule is evaluated.
    #[serde(default = "default_interval")]
    pub interval: Span,
    /// How long the condition must hold before the alert fires.
    #[serde(default, rename = "for")]
    pub for_: Span,
    #[serde(default)]
    pub keep_firing_for: Span,
    /// Fewer traces than this in the window is no data (rates over 3 requests page nobody).
    #[serde(default = "default_min_samples")]
    pub min_samples: u64,
    #[serde(default)]
    pub severity: Severity,
    /// Channel names.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "default_repeat")]
    pub repeat_interval: Span,
    /// One alert instance per value of this dimension: `model`, `service`, `name`,
    /// `span_name` or `tags.<rollup tag>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_by: Option<String>,
    #[serde(default)]
    pub no_data: NoDataPolicy,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl RuleSpec {
    pub fn timing(&self) -> Timing {
        Timing {
            for_ms: self.for_.0,
            keep_firing_for_ms: self.keep_firing_for.0,
            repeat_interval_ms: self.repeat_interval.0,
            no_data: self.no_data,
        }
    }

    /// Every problem with the rule, each naming its field; empty when valid. `tag_keys`
    /// are the rollup tag dimensions a scope or split may name.
    pub fn problems(&self, tag_keys: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            out.push("name: 1 to 200 characters".to_string());
        }
        if !self.threshold.is_finite() {
            out.push(format!(
                "threshold: {} is not a finite number",
                self.threshold
            ));
        }
        if self.baseline.is_some() && self.threshold <= 0.0 {
            out.push(
                "threshold: with a baseline it is a ratio (1.5 = 150%) and must be > 0".into(),
            );
        }
        if self.window < Span::minutes(1) || self.window > Span(7 * 86_400_000) {
            out.push(format!("window: {} must be between 1m and 7d", self.window));
        }
        if self.interval < Span(1000) || self.interval > Span::minutes(60) {
            out.push(format!(
                "interval: {} must be between 1s and 1h",
                self.interval
            ));
        }
        for (field, v) in [
            ("for", self.for_),
            ("keep_firing_for", self.keep_firing_for),
            ("repeat_interval", self.repeat_interval),
        ] {
            if v.0 < 0 || v > Span(30 * 86_400_000) {
                out.push(format!("{field}: {v} must be between 0s and 30d"));
            }
        }
        if self.span.is_some() && !self.metric.is_latency() {
            out.push("span: only latency metrics are per span name".into());
        }
        let mut tags_in_scope = false;
        match app::filter::parse(&self.scope) {
            Ok(expr) => match crate::rollup::scope::Scope::compile(expr.as_ref(), tag_keys) {
                Ok(scope) => tags_in_scope = scope.uses_tags(),
                Err(e) => out.push(format!("scope: {e}")),
            },
            Err(e) => out.push(format!("scope: {e}")),
        }
        // Span cells per tag value are hourly (see `rollup::Rollup::add`): a span-latency
        // rule scoped or split by a tag would see whole hours, not its window.
        let split_by_tag = self
            .split_by
            .as_deref()
            .is_some_and(|s| s.starts_with("tags."));
        if self.span.is_some() && (tags_in_scope || split_by_tag) {
            out.push("span: a span-latency rule cannot be scoped or split by tags".into());
        }
        if let Some(by) = self.split_by.as_deref() {
            let span_dim = matches!(by, "model" | "span_name");
            let span_metric = self.span.is_some() || matches!(self.metric, Metric::CostPerWindow);
            if span_dim && !span_metric {
                out.push(format!(
                    "split_by: {by} splits span figures; this metric is per trace"
                ));
            }
        }
        if let Some(by) = &self.split_by {
            let ok = matches!(by.as_str(), "model" | "service" | "name" | "span_name")
                || by
                    .strip_prefix("tags.")
                    .is_some_and(|k| tag_keys.iter().any(|t| t == k));
            if !ok {
                out.push(format!(
                    "split_by: {by:?} is not a rollup dimension (model, service, name, span_name, {})",
                    tag_keys.iter().map(|k| format!("tags.{k}")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        out
    }
}

/// A channel as written in a rules file: `[[channel]]` with `name`, `kind` and the kind's
/// settings (see `notify::ChannelConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSpec {
    pub name: String,
    #[serde(flatten)]
    pub config: crate::notify::ChannelConfig,
}

/// A rules file: `[[rule]]` and `[[channel]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<ChannelSpec>,
}

impl RulesFile {
    /// Parses and validates; the error lists every problem, each with its rule's name.
    pub fn parse(text: &str, tag_keys: &[String]) -> Result<RulesFile, String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        let mut channels = BTreeSet::new();
        for c in &file.channel {
            if c.name.trim().is_empty() || !channels.insert(c.name.as_str()) {
                problems.push(format!("channel {:?}: name: empty or used twice", c.name));
            }
            problems.extend(
                c.config
                    .problems()
                    .into_iter()
                    .map(|p| format!("channel {:?}: {p}", c.name)),
            );
        }
        let mut names = BTreeSet::new();
        for r in &file.rule {
            if !names.insert(r.name.as_str()) {
                problems.push(format!("rule {:?}: name: used twice", r.name));
            }
            problems.extend(
                r.problems(tag_keys)
                    .into_iter()
                    .map(|p| format!("rule {:?}: {p}", r.name)),
            );
        }
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// The five rules of the seed deployment, offered as presets.
pub fn presets() -> Vec<RuleSpec> {
    let rule = |name: &str, metric, op, threshold, window, for_| RuleSpec {
        name: name.into(),
        metric,
        span: None,
        scope: String::new(),
        op,
        threshold,
        baseline: None,
        window,
        interval: default_interval(),
        for_,
        keep_firing_for: Span::default(),
        min_samples: default_min_samples(),
        severity: Severity::Warning,
        channels: Vec::new(),
        repeat_interval: default_repeat(),
        split_by: None,
        no_data: NoDataPolicy::Ok,
        enabled: true,
    };
    let m = Span::minutes;
    vec![
        RuleSpec {
            severity: Severity::Critical,
            ..rule(
                "P95 latency above 1.5 s",
                Metric::LatencyP95,
                Comparison::Gt,
                1500.0,
                m(5),
                m(5),
            )
        },
        RuleSpec {
            severity: Severity::Critical,
            ..rule(
                "Error rate above 1%",
                Metric::ErrorRate,
                Comparison::Gt,
                0.01,
                m(3),
                m(3),
            )
        },
        rule(
            "Guardrail block rate above 10%",
            Metric::GuardrailBlockRate,
            Comparison::Gt,
            0.10,
            m(10),
            m(10),
        ),
        rule(
            "Cache-hit rate below 30%",
            Metric::CacheHitRate,
            Comparison::Lt,
            0.30,
            m(15),
            m(15),
        ),
        RuleSpec {
            baseline: Some(Baseline::Median7d),
            ..rule(
                "Token cost above 150% of baseline",
                Metric::CostPerWindow,
                Comparison::Gt,
                1.5,
                m(60),
                m(0),
            )
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["intent".into(), "cache_hit".into()]
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!("90s".parse::<Span>().unwrap(), Span(90_000));
        assert_eq!("5m".parse::<Span>().unwrap().to_string(), "5m");
        assert_eq!(Span(3_600_000).to_string(), "1h");
        assert!("5".parse::<Span>().unwrap_err().contains("unit"));
        assert!("5w".parse::<Span>().unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn presets_are_valid_and_round_trip_through_a_rules_file() {
        let file = RulesFile {
            rule: presets(),
            channel: Vec::new(),
        };
        let text = toml::to_string(&file).unwrap();
        let back = RulesFile::parse(&text, &keys()).unwrap();
        assert_eq!(back, file);
        assert!(text.contains("for = \"5m\""), "{text}");
    }

    #[test]
    fn every_problem_is_reported_with_its_rule_and_field() {
        let text = r#"
            [[rule]]
            name = "slow rerank"
            metric = "latency_p95"
            span = "rerank"
            op = ">"
            threshold = 800
            window = "5m"
            for = "2m"
            split_by = "tags.region"
            scope = "span.kind = 'LLM'"

            [[rule]]
            name = "slow rerank"
            metric = "error_rate"
            span = "x"
            op = ">"
            threshold = 0.01
            window = "30s"
        "#;
        let err = RulesFile::parse(text, &keys()).unwrap_err();
        for want in [
            "rule \"slow rerank\": split_by: \"tags.region\"",
            "scope: a span field is not a dashboard dimension",
            "name: used twice",
            "span: only latency metrics",
            "window: 30s must be between 1m and 7d",
        ] {
            assert!(err.contains(want), "missing {want:?} in\n{err}");
        }
        let err = RulesFile::parse("[[rule]]\nname = 'x'\nmetric = 'p95'", &keys()).unwrap_err();
        assert!(err.contains("unknown variant"), "{err}");
    }
}
