//! The Slack channel: an incoming-webhook message with Block Kit blocks. `text` is the
//! fallback Slack shows in push notifications and to clients without blocks.
//!
//! Block Kit limits honoured here: a header is at most 150 characters, a section's text
//! 3000, a field 2000 (Slack answers `invalid_blocks` past them, and the alert is lost).

use serde_json::{json, Value};

use super::{truncate, DeliveryError, Message, SlackConfig, Status};

/// Enough exemplars to act on; the rest are one click away on the dashboard.
const MAX_EXEMPLARS: usize = 10;

pub(super) async fn deliver(
    c: &SlackConfig,
    msg: &Message,
    http: &reqwest::Client,
) -> Result<(), DeliveryError> {
    let resp = http
        .post(c.url.trim())
        .json(&payload(msg))
        .send()
        .await
        .map_err(super::http_error)?;
    super::accept_2xx(resp).await
}

fn payload(msg: &Message) -> Value {
    let icon = match msg.status {
        Status::Firing => "🔥",
        Status::Resolved => "✅",
    };
    let header = truncate(
        &format!("{icon} [{}] {}", msg.status_word(), msg.rule_name),
        150,
    );
    let mut fields = vec![
        field(
            "Value",
            &format!("{} (threshold {})", esc(&msg.value), esc(&msg.threshold)),
        ),
        field("Window", &esc(&msg.window)),
        field("Since", &date(msg.starts_at_ms)),
    ];
    if let Some(end) = msg.ends_at_ms {
        fields.push(field("Resolved", &date(end)));
    }
    if !msg.labels.is_empty() {
        let labels: Vec<String> = msg
            .labels
            .iter()
            .map(|(k, v)| format!("`{}={}`", esc(k), esc(v)))
            .collect();
        fields.push(field("Labels", &labels.join(" ")));
    }
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": header, "emoji": true } }),
        section(&esc(&msg.summary)),
        json!({ "type": "section", "fields": fields }),
        section(&format!(
            "{} · {}",
            link(&msg.dashboard_url, "Open the dashboard"),
            link(&msg.rule_url, "Open the rule")
        )),
    ];
    if !msg.exemplars.is_empty() {
        let mut lines = vec!["*Exemplar traces*".to_string()];
        for e in msg.exemplars.iter().take(MAX_EXEMPLARS) {
            let mut line = format!(
                "• {} {:.0} ms",
                link(&e.url, &format!("trace {}", short(&e.trace_id))),
                e.duration_ms
            );
            if e.error {
                line.push_str(", *error*");
            }
            if let Some(span) = &e.culprit_span {
                line.push_str(&format!(", culprit span `{}`", esc(span)));
            }
            lines.push(line);
        }
        if msg.exemplars.len() > MAX_EXEMPLARS {
            lines.push(format!(
                "… and {} more",
                msg.exemplars.len() - MAX_EXEMPLARS
            ));
        }
        blocks.push(section(&lines.join("\n")));
    }
    json!({ "text": truncate(&msg.summary, 3000), "blocks": blocks })
}

fn section(mrkdwn: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": truncate(mrkdwn, 3000) } })
}

fn field(name: &str, mrkdwn: &str) -> Value {
    json!({ "type": "mrkdwn", "text": truncate(&format!("*{name}*\n{mrkdwn}"), 2000) })
}

/// `<url|text>`; Slack's format has no way to escape `|` inside the text, so it is replaced.
fn link(url: &str, text: &str) -> String {
    format!("<{}|{}>", esc(url), esc(text).replace('|', "¦"))
}

/// Slack's date token renders in each reader's time zone; the fallback is for clients that
/// cannot.
fn date(ms: i64) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time_secs}}|{}>",
        ms.div_euclid(1000),
        super::human_utc(ms)
    )
}

/// Slack mrkdwn's only escapes (api.slack.com "Formatting text for app surfaces").
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn short(trace_id: &str) -> &str {
    trace_id.get(..12).unwrap_or(trace_id)
}
