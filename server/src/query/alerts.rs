//! The alerting pages' reads and edits: rules with their state, the rule form and its
//! backtest, history, channels (with "send test") and silences. Form fields arrive as typed
//! text; every problem names its field.

use std::collections::BTreeMap;

use app::types::{
    AlertEventRow, AlertHistory, AlertInstanceRow, AlertRuleDetail, AlertRuleRow, AlertsOverview,
    ChannelRow, DeliveryRow, RuleForm, RulePreview, SilenceMatcher, SilenceRow,
};
use app::AppError;

use super::{app_error, Query};
use crate::alerts::rule::{
    presets, Baseline, Comparison, Metric, RuleSpec, RulesFile, Severity, Span,
};
use crate::alerts::state::{NoDataPolicy, Phase};
use crate::alerts::{backtest, render};
use crate::notify::{self, ChannelConfig, ExemplarLink, Message, Status};
use crate::store::alerts::{
    phase_str, AlertEvent, InstanceState, Matcher, Source, StoredChannel, StoredRule,
};
use crate::store::{self, now_ms};

const HISTORY_PAGE: i64 = 50;
/// The backtest replays this much history.
const BACKTEST_MS: i64 = 24 * 3_600_000;

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Store errors of edits: a taken name is the user's to fix.
fn edit_error(field: &str, e: store::Error) -> AppError {
    match e {
        store::Error::Conflict(what) => invalid(field, format!("{what} already exists")),
        other => app_error(other),
    }
}

fn enum_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn enum_parse<T: serde::de::DeserializeOwned>(
    field: &str,
    text: &str,
    choices: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    match serde_json::from_value(serde_json::Value::String(text.trim().to_string())) {
        Ok(v) => Some(v),
        Err(_) => {
            problems.push(format!("{field}: {text:?} is not one of {choices}"));
            None
        }
    }
}

fn span_parse(field: &str, text: &str, problems: &mut Vec<String>) -> Span {
    if text.trim().is_empty() && matches!(field, "for" | "keep_firing_for") {
        return Span(0);
    }
    text.parse().unwrap_or_else(|e: String| {
        problems.push(format!("{field}: {e}"));
        Span(0)
    })
}

pub fn form_of(spec: &RuleSpec) -> RuleForm {
    RuleForm {
        name: spec.name.clone(),
        metric: enum_text(&spec.metric),
        span: spec.span.clone().unwrap_or_default(),
        scope: spec.scope.clone(),
        op: enum_text(&spec.op),
        threshold: spec.threshold.to_string(),
        baseline: spec.baseline.as_ref().map(enum_text).unwrap_or_default(),
        window: spec.window.to_string(),
        interval: spec.interval.to_string(),
        for_: spec.for_.to_string(),
        keep_firing_for: spec.keep_firing_for.to_string(),
        min_samples: spec.min_samples.to_string(),
        severity: enum_text(&spec.severity),
        channels: spec.channels.clone(),
        repeat_interval: spec.repeat_interval.to_string(),
        split_by: spec.split_by.clone().unwrap_or_default(),
        no_data: enum_text(&spec.no_data),
        enabled: spec.enabled,
    }
}

/// The rule a form describes, or every problem with it (each naming its field).
pub fn spec_of(form: &RuleForm, tag_keys: &[String]) -> Result<RuleSpec, Vec<String>> {
    let mut p = Vec::new();
    let metric: Option<Metric> = enum_parse(
        "metric",
        &form.metric,
        "latency_p50, latency_p95, latency_p99, error_rate, guardrail_block_rate, \
         cache_hit_rate, cost_per_request, cost_per_window, trace_volume",
        &mut p,
    );
    let op: Option<Comparison> = enum_parse("op", &form.op, ">, >=, <, <=", &mut p);
    let threshold = match form.threshold.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => v,
        _ => {
            p.push(format!("threshold: {:?} is not a number", form.threshold));
            0.0
        }
    };
    let baseline: Option<Baseline> = match form.baseline.trim() {
        "" => None,
        b => enum_parse("baseline", b, "week_ago, median_7d (or empty)", &mut p),
    };
    let severity: Option<Severity> = match form.severity.trim() {
        "" => Some(Severity::Warning),
        s => enum_parse("severity", s, "info, warning, critical", &mut p),
    };
    let no_data: Option<NoDataPolicy> = match form.no_data.trim() {
        "" => Some(NoDataPolicy::Ok),
        s => enum_parse("no_data", s, "ok, keep_state, alerting", &mut p),
    };
    let min_samples = match form.min_samples.trim() {
        "" => 20,
        s => s.parse::<u64>().unwrap_or_else(|_| {
            p.push(format!("min_samples: {s:?} is not a whole number ≥ 0"));
            0
        }),
    };
    let spec = RuleSpec {
        name: form.name.trim().to_string(),
        metric: metric.unwrap_or(Metric::LatencyP95),
        span: Some(form.span.trim().to_string()).filter(|s| !s.is_empty()),
        scope: form.scope.trim().to_string(),
        op: op.unwrap_or(Comparison::Gt),
        threshold,
        baseline,
        window: span_parse("window", &form.window, &mut p),
        interval: match form.interval.trim() {
            "" => Span::minutes(1),
            s => span_parse("interval", s, &mut p),
        },
        for_: span_parse("for", &form.for_, &mut p),
        keep_firing_for: span_parse("keep_firing_for", &form.keep_firing_for, &mut p),
        min_samples,
        severity: severity.unwrap_or_default(),
        channels: form
            .channels
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        repeat_interval: match form.repeat_interval.trim() {
            "" => Span(4 * 3_600_000),
            s => span_parse("repeat_interval", s, &mut p),
        },
        split_by: Some(form.split_by.trim().to_string()).filter(|s| !s.is_empty()),
        no_data: no_data.unwrap_or_default(),
        enabled: form.enabled,
    };
    if p.is_empty() {
        p.extend(spec.problems(tag_keys));
    }
    if p.is_empty() {
        Ok(spec)
    } else {
        Err(p)
    }
}

fn condition(spec: &RuleSpec) -> String {
    let mut s = format!(
        "{} {} over {}",
        render::metric_name(spec),
        render::condition(spec, None),
        spec.window
    );
    if spec.for_.0 > 0 {
        s.push_str(&format!(", for {}", spec.for_));
    }
    if let Some(by) = &spec.split_by {
        s.push_str(&format!(", per {by}"));
    }
    s
}

fn instance_row(spec: &RuleSpec, s: &InstanceState) -> AlertInstanceRow {
    AlertInstanceRow {
        labels: s.labels.clone(),
        phase: phase_str(s.state.phase).into(),
        since_ms: match s.state.phase {
            Phase::Firing => s.state.firing_since,
            Phase::Pending => s.state.active_since,
            _ => None,
        },
        value: s.state.last_value.map(|v| render::value(spec.metric, v)),
        samples: s.samples,
    }
}

fn rule_row(r: &StoredRule, states: &[InstanceState]) -> AlertRuleRow {
    let instances: Vec<AlertInstanceRow> = states
        .iter()
        .filter(|s| s.rule_id == r.id)
        .map(|s| instance_row(&r.spec, s))
        .collect();
    let has = |p: &str| instances.iter().any(|i| i.phase == p);
    let state = if !r.spec.enabled {
        "disabled"
    } else if r.eval_error.is_some() {
        "error"
    } else if has("firing") {
        "firing"
    } else if has("pending") {
        "pending"
    } else {
        "inactive"
    };
    AlertRuleRow {
        id: r.id,
        name: r.spec.name.clone(),
        source: r.source.as_str().into(),
        enabled: r.spec.enabled,
        condition: condition(&r.spec),
        severity: enum_text(&r.spec.severity),
        channels: r.spec.channels.clone(),
        state: state.into(),
        instances,
        last_eval_ms: r.last_eval_ms,
        eval_error: r.eval_error.clone(),
    }
}

/// Where a URL points, without its path (webhook paths are often secrets themselves).
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    format!("{scheme}://{host}/…")
}

fn channel_row(c: &StoredChannel) -> ChannelRow {
    let summary = match &c.config {
        ChannelConfig::Email(e) => format!("email → {} ({}:{})", e.to.join(", "), e.host, e.port),
        ChannelConfig::Webhook(w) => format!(
            "webhook → {}{}",
            host_of(&w.url),
            if w.secret.is_some() { ", signed" } else { "" }
        ),
        ChannelConfig::Slack(s) => format!("slack → {}", host_of(&s.url)),
        ChannelConfig::PagerDuty(p) => format!(
            "pagerduty → {}",
            p.url
                .as_deref()
                .map_or("events.pagerduty.com".into(), host_of)
        ),
    };
    ChannelRow {
        id: c.id,
        name: c.name.clone(),
        kind: c.config.kind().into(),
        source: c.source.as_str().into(),
        config: serde_json::to_string_pretty(&c.config).unwrap_or_default(),
        summary,
    }
}

/// `metric`: the rule's, to give the value its unit (`None` once the rule is deleted).
fn event_row(e: AlertEvent, metric: Option<Metric>) -> AlertEventRow {
    AlertEventRow {
        value_text: metric.zip(e.value).map(|(m, v)| render::value(m, v)),
        id: e.id,
        rule_id: e.rule_id,
        rule_name: e.rule_name,
        labels: e.labels,
        at_ms: e.at_ms,
        from: phase_str(e.from).into(),
        to: phase_str(e.to).into(),
        value: e.value,
        notice: e.notice,
        deliveries: e
            .deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id,
                channel: d.channel_name,
                status: d.status.as_str().into(),
                attempts: d.attempts,
                last_error: d.last_error,
                done_ms: d.done_ms,
            })
            .collect(),
    }
}

pub(super) async fn overview(q: &Query) -> Result<AlertsOverview, AppError> {
    let store = q.backend.alerts();
    let rules = store.list_rules().await.map_err(app_error)?;
    let states = store.states(None).await.map_err(app_error)?;
    let now = now_ms();
    Ok(AlertsOverview {
        rules: rules.iter().map(|r| rule_row(r, &states)).collect(),
        channels: store
            .list_channels()
            .await
            .map_err(app_error)?
            .iter()
            .map(channel_row)
            .collect(),
        silences: store
            .list_silences()
            .await
            .map_err(app_error)?
            .into_iter()
            .map(|s| SilenceRow {
                id: s.id,
                matchers: s
                    .matchers
                    .into_iter()
                    .map(|m| SilenceMatcher {
                        name: m.name,
                        value: m.value,
                        regex: m.regex,
                    })
                    .collect(),
                active: s.starts_ms <= now && now < s.ends_ms,
                starts_ms: s.starts_ms,
                ends_ms: s.ends_ms,
                comment: s.comment,
            })
            .collect(),
        presets: presets().iter().map(form_of).collect(),
        tag_keys: q.rollups.dimension_keys(),
    })
}

async fn stored_rule(q: &Query, id: i64) -> Result<StoredRule, AppError> {
    q.backend
        .alerts()
        .get_rule(id)
        .await
        .map_err(app_error)?
        .ok_or_else(|| AppError::NotFound(format!("alert rule {id}")))
}

pub(super) async fn rule(q: &Query, id: i64) -> Result<AlertRuleDetail, AppError> {
    let store = q.backend.alerts();
    let r = stored_rule(q, id).await?;
    let states = store.states(Some(id)).await.map_err(app_error)?;
    let history = store
        .events(Some(id), None, 20)
        .await
        .map_err(app_error)?
        .into_iter()
        .map(|e| event_row(e, Some(r.spec.metric)))
        .collect();
    let toml = toml::to_string(&RulesFile {
        rule: vec![r.spec.clone()],
        channel: Vec::new(),
    })
    .unwrap_or_default();
    Ok(AlertRuleDetail {
        rule: rule_row(&r, &states),
        form: form_of(&r.spec),
        toml,
        history,
    })
}

pub(super) async fn save_rule(q: &Query, id: Option<i64>, form: RuleForm) -> Result<i64, AppError> {
    let spec =
        spec_of(&form, &q.rollups.dimension_keys()).map_err(|p| invalid("rule", p.join("; ")))?;
    let store = q.backend.alerts();
    let now = now_ms();
    match id {
        None => store
            .create_rule(&spec, Source::Ui, now)
            .await
            .map_err(|e| edit_error("name", e)),
        Some(id) => {
            let r = stored_rule(q, id).await?;
            if r.source == Source::File {
                return Err(invalid(
                    "source",
                    "this rule comes from the rules file: edit it there",
                ));
            }
            store
                .update_rule(id, &spec, now)
                .await
                .map_err(|e| edit_error("name", e))?;
            Ok(id)
        }
    }
}

pub(super) async fn set_enabled(q: &Query, id: i64, enabled: bool) -> Result<(), AppError> {
    let r = stored_rule(q, id).await?;
    let spec = RuleSpec { enabled, ..r.spec };
    q.backend
        .alerts()
        .update_rule(id, &spec, now_ms())
        .await
        .map_err(app_error)?;
    Ok(())
}

pub(super) async fn delete_rule(q: &Query, id: i64) -> Result<(), AppError> {
    let r = stored_rule(q, id).await?;
    if r.source == Source::File {
        return Err(invalid(
            "source",
            "this rule comes from the rules file: remove it there",
        ));
    }
    q.backend
        .alerts()
        .delete_rule(id)
        .await
        .map_err(app_error)?;
    Ok(())
}

/// The y axis unit of a metric's chart, and the factor from its value to that unit.
fn chart_unit(metric: Metric) -> (&'static str, f64) {
    match metric {
        Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 => ("ms", 1.0),
        Metric::ErrorRate | Metric::GuardrailBlockRate | Metric::CacheHitRate => ("%", 100.0),
        Metric::CostPerRequest | Metric::CostPerWindow => ("$", 1.0),
        Metric::TraceVolume => ("traces", 1.0),
    }
}

pub(super) async fn preview(q: &Query, form: RuleForm) -> Result<RulePreview, AppError> {
    let spec = match spec_of(&form, &q.rollups.dimension_keys()) {
        Ok(s) => s,
        Err(problems) => {
            return Ok(RulePreview {
                problems,
                ..RulePreview::default()
            })
        }
    };
    let bt = backtest::backtest(&*q.backend, &q.rollups, &spec, now_ms(), BACKTEST_MS)
        .await
        .map_err(|e| match e {
            crate::alerts::measure::MeasureError::Invalid(m) => invalid("rule", m),
            crate::alerts::measure::MeasureError::Store(e) => app_error(e),
        })?;
    let (unit, k) = chart_unit(spec.metric);
    let scale = |v: Option<f64>| v.map(|v| v * k);
    let lines: Vec<(String, app::charts::backtest::Points)> = bt
        .lines
        .iter()
        .take(8)
        .map(|(labels, pts)| {
            let name = if labels.is_empty() {
                "all".to_string()
            } else {
                labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            (name, pts.iter().map(|p| (p.t_ms, scale(p.value))).collect())
        })
        .collect();
    // A relative rule's threshold differs per instance; the first instance's is drawn.
    let threshold = bt
        .lines
        .values()
        .next()
        .map(|pts| pts.iter().map(|p| (p.t_ms, scale(p.threshold))).collect())
        .unwrap_or_default();
    let y_desc = format!("{} ({unit})", render::metric_name(&spec));
    let chart = app::charts::backtest::backtest(&app::charts::backtest::Backtest {
        from_ms: bt.from_ms,
        to_ms: bt.to_ms,
        y_desc: &y_desc,
        lines,
        threshold,
        firing: &bt.firing,
    });
    let chart_svg = match chart {
        app::charts::Chart::Svg(s) => s,
        app::charts::Chart::Empty => String::new(),
        app::charts::Chart::Failed(e) => {
            tracing::error!(error = %e, "Backtest chart failed.");
            String::new()
        }
    };
    Ok(RulePreview {
        problems: Vec::new(),
        condition: condition(&spec),
        chart_svg,
        firing: bt.firing,
        steps: bt.steps,
        steps_with_data: bt.steps_with_data,
    })
}

pub(super) async fn history(
    q: &Query,
    rule_id: Option<i64>,
    before_id: Option<i64>,
) -> Result<AlertHistory, AppError> {
    let events = q
        .backend
        .alerts()
        .events(rule_id, before_id, HISTORY_PAGE)
        .await
        .map_err(app_error)?;
    let next_before_id = (events.len() as i64 == HISTORY_PAGE)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    let metrics: std::collections::HashMap<i64, Metric> = q
        .backend
        .alerts()
        .list_rules()
        .await
        .map_err(app_error)?
        .into_iter()
        .map(|r| (r.id, r.spec.metric))
        .collect();
    Ok(AlertHistory {
        events: events
            .into_iter()
            .map(|e| {
                let metric = metrics.get(&e.rule_id).copied();
                event_row(e, metric)
            })
            .collect(),
        next_before_id,
    })
}

fn channel_config(name: &str, config: &str) -> Result<ChannelConfig, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", "1 to 100 characters"));
    }
    let cfg: ChannelConfig =
        serde_json::from_str(config).map_err(|e| invalid("config", e.to_string()))?;
    let problems = cfg.problems();
    if !problems.is_empty() {
        return Err(invalid("config", problems.join("; ")));
    }
    Ok(cfg)
}

async fn stored_channel(q: &Query, id: i64) -> Result<StoredChannel, AppError> {
    q.backend
        .alerts()
        .list_channels()
        .await
        .map_err(app_error)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::NotFound(format!("channel {id}")))
}

pub(super) async fn save_channel(
    q: &Query,
    id: Option<i64>,
    name: String,
    config: String,
) -> Result<i64, AppError> {
    let cfg = channel_config(&name, &config)?;
    let store = q.backend.alerts();
    let now = now_ms();
    match id {
        None => store
            .create_channel(name.trim(), &cfg, Source::Ui, now)
            .await
            .map_err(|e| edit_error("name", e)),
        Some(id) => {
            if stored_channel(q, id).await?.source == Source::File {
                return Err(invalid(
                    "source",
                    "this channel comes from the rules file: edit it there",
                ));
            }
            store
                .update_channel(id, name.trim(), &cfg, now)
                .await
                .map_err(|e| edit_error("name", e))?;
            Ok(id)
        }
    }
}

pub(super) async fn delete_channel(q: &Query, id: i64) -> Result<(), AppError> {
    let c = stored_channel(q, id).await?;
    if c.source == Source::File {
        return Err(invalid(
            "source",
            "this channel comes from the rules file: remove it there",
        ));
    }
    q.backend
        .alerts()
        .delete_channel(id)
        .await
        .map_err(app_error)?;
    Ok(())
}

/// Sends now rather than through the outbox: the person pressing the button is waiting for
/// the channel's answer.
pub(super) async fn test_channel(q: &Query, id: i64) -> Result<String, AppError> {
    let c = stored_channel(q, id).await?;
    let now = now_ms();
    let labels: BTreeMap<String, String> = [
        (
            "alertname".to_string(),
            "Sightline test notification".to_string(),
        ),
        ("severity".to_string(), "info".to_string()),
    ]
    .into();
    let message = Message {
        notification_id: 0,
        rule_id: 0,
        rule_name: "Sightline test notification".into(),
        status: Status::Firing,
        severity: "info".into(),
        labels,
        summary: format!(
            "Test from Sightline: channel {:?} is set up. No action needed.",
            c.name
        ),
        value: "test".into(),
        threshold: "none".into(),
        window: "5m".into(),
        starts_at_ms: now,
        ends_at_ms: None,
        dashboard_url: format!("{}/", q.public_url),
        rule_url: format!("{}/alerts", q.public_url),
        exemplars: Vec::<ExemplarLink>::new(),
        dedup_key: format!("sightline-test-{}-{now}", c.id),
    };
    notify::deliver(&c.config, &message, &notify::http_client())
        .await
        .map(|()| format!("{} accepted the test notification", c.name))
        .map_err(|e| AppError::Unavailable(format!("{}: {e}", c.name)))
}

pub(super) async fn create_silence(
    q: &Query,
    matchers: Vec<SilenceMatcher>,
    starts_ms: i64,
    ends_ms: i64,
    comment: String,
) -> Result<i64, AppError> {
    let matchers: Vec<Matcher> = matchers
        .into_iter()
        .filter(|m| !(m.name.trim().is_empty() && m.value.trim().is_empty()))
        .map(|m| Matcher {
            name: m.name.trim().to_string(),
            value: m.value,
            regex: m.regex,
        })
        .collect();
    if matchers.is_empty() {
        return Err(invalid(
            "matchers",
            "at least one matcher (e.g. alertname = …)",
        ));
    }
    for m in &matchers {
        if m.name.is_empty() {
            return Err(invalid("matchers", "every matcher needs a label name"));
        }
        if m.regex {
            if let Err(e) = regex::Regex::new(&format!("^(?:{})$", m.value)) {
                return Err(invalid("matchers", format!("{:?}: {e}", m.value)));
            }
        }
    }
    if ends_ms <= starts_ms {
        return Err(invalid("ends", "a silence must end after it starts"));
    }
    if comment.chars().count() > 1000 {
        return Err(invalid("comment", "at most 1,000 characters"));
    }
    q.backend
        .alerts()
        .create_silence(&matchers, starts_ms, ends_ms, comment.trim(), now_ms())
        .await
        .map_err(app_error)
}

pub(super) async fn expire_silence(q: &Query, id: i64) -> Result<(), AppError> {
    let found = q
        .backend
        .alerts()
        .expire_silence(id, now_ms())
        .await
        .map_err(app_error)?;
    if found {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("active silence {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["intent".into()]
    }

    #[test]
    fn presets_round_trip_through_the_form() {
        for p in presets() {
            let form = form_of(&p);
            assert_eq!(spec_of(&form, &keys()).unwrap(), p);
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let form = RuleForm {
            metric: "p95".into(),
            op: "=>".into(),
            threshold: "fast".into(),
            window: "5x".into(),
            min_samples: "-1".into(),
            severity: "loud".into(),
            ..form_of(&presets()[0])
        };
        let p = spec_of(&form, &keys()).unwrap_err().join("\n");
        for field in [
            "metric:",
            "op:",
            "threshold:",
            "window:",
            "min_samples:",
            "severity:",
        ] {
            assert!(p.contains(field), "{field} missing in {p}");
        }
        let form = RuleForm {
            scope: "span.kind = 'LLM'".into(),
            ..form_of(&presets()[0])
        };
        let p = spec_of(&form, &keys()).unwrap_err().join("\n");
        assert!(p.starts_with("scope:"), "{p}");
    }

    #[test]
    fn webhook_paths_are_not_shown() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
    }
}
