//! The PagerDuty channel: Events API v2. A firing notice triggers an incident and the
//! resolved notice resolves it through the same `dedup_key`, so a retried trigger updates
//! the open incident instead of paging twice.

use serde_json::{json, Value};

use super::{rfc3339, truncate, DeliveryError, Message, PagerDutyConfig, Status};

const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

pub(super) async fn deliver(
    c: &PagerDutyConfig,
    msg: &Message,
    http: &reqwest::Client,
) -> Result<(), DeliveryError> {
    let url = c
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(EVENTS_URL);
    let resp = http
        .post(url)
        .json(&event(c.routing_key.trim(), msg))
        .send()
        .await
        .map_err(super::http_error)?;
    // PagerDuty answers 202; 400 names the invalid field in the body, 429 asks us to slow
    // down. All non-2xx are refusals for the sender's backoff.
    super::accept_2xx(resp).await
}

fn event(routing_key: &str, msg: &Message) -> Value {
    if msg.status == Status::Resolved {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": msg.dedup_key,
        });
    }
    let mut links = vec![
        json!({ "href": msg.dashboard_url, "text": "Dashboard" }),
        json!({ "href": msg.rule_url, "text": format!("Rule: {}", msg.rule_name) }),
    ];
    for e in &msg.exemplars {
        links.push(json!({ "href": e.url, "text": e.describe() }));
    }
    let exemplars: Vec<Value> = msg
        .exemplars
        .iter()
        .map(|e| {
            json!({
                "trace_id": e.trace_id,
                "url": e.url,
                "duration_ms": e.duration_ms,
                "error": e.error,
                "culprit_span": e.culprit_span,
            })
        })
        .collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": msg.dedup_key,
        "payload": {
            // PagerDuty rejects the event past 1024 characters.
            "summary": truncate(&msg.summary, 1024),
            "source": "sightline",
            "severity": severity(&msg.severity),
            "timestamp": rfc3339(msg.starts_at_ms),
            "class": msg.rule_name,
            "custom_details": {
                "value": msg.value,
                "threshold": msg.threshold,
                "window": msg.window,
                "labels": msg.labels,
                "exemplars": exemplars,
            },
        },
        "links": links,
        "client": "Sightline",
        "client_url": msg.rule_url,
    })
}

/// PagerDuty accepts exactly these four; an unknown severity would make it refuse the page,
/// so it is paged as `error` rather than lost.
fn severity(s: &str) -> &'static str {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" => "critical",
        "warning" => "warning",
        "info" => "info",
        _ => "error",
    }
}
