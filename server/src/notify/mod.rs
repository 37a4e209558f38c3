//! Delivery of alert notifications to channels: one file per channel kind. This layer knows
//! nothing of rules or rollups: the alert evaluator renders a `Message` into the outbox, the
//! sender (`alerts::sender`) hands it here, and `deliver` says whether the channel accepted
//! it. A `DeliveryError` is retried with backoff by the sender, so every channel must be safe
//! to call again with the same message (webhooks carry `notification_id` for dedup,
//! PagerDuty its `dedup_key`).

mod email;
mod pagerduty;
mod slack;
mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Firing or resolved, as Alertmanager says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Firing,
    Resolved,
}

/// One trace worth opening, with the span that contributed most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExemplarLink {
    pub trace_id: String,
    /// Absolute URL of the waterfall with the culprit span selected (`?span=`).
    pub url: String,
    pub duration_ms: f64,
    pub error: bool,
    /// Name of the span that contributed most (largest self time, or the first failed span).
    pub culprit_span: Option<String>,
}

/// Everything a channel needs to say, rendered once by the evaluator and stored in the
/// outbox, so a retry after a restart sends the same words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The outbox row id: an idempotency key for receivers.
    pub notification_id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub status: Status,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// The alert instance's labels (`alertname`, `severity`, and the split label if any).
    pub labels: BTreeMap<String, String>,
    /// One line: "P95 latency above 1.5 s: 2.31 s > 1.5 s over 5m (model=gpt-4o)".
    pub summary: String,
    /// The metric's value at the transition, formatted with its unit ("2.31 s", "4.2%").
    pub value: String,
    /// The condition, formatted ("> 1.5 s", "> 150% of the 7-day median ($0.42)").
    pub threshold: String,
    /// The evaluation window ("5m").
    pub window: String,
    /// When the condition started holding (firing) — epoch ms.
    pub starts_at_ms: i64,
    /// When it resolved (resolved notices only) — epoch ms.
    pub ends_at_ms: Option<i64>,
    /// Absolute URL of the overview board for the alert's window and scope.
    pub dashboard_url: String,
    /// Absolute URL of the rule's page.
    pub rule_url: String,
    /// Slowest or failed traces of the window.
    pub exemplars: Vec<ExemplarLink>,
    /// Stable per alert instance (rule + labels): PagerDuty's dedup key, Alertmanager's
    /// fingerprint.
    pub dedup_key: String,
}

/// A channel's settings, as stored (JSON, `kind` tagged) and edited in the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    Email(EmailConfig),
    Webhook(WebhookConfig),
    Slack(SlackConfig),
    PagerDuty(PagerDutyConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on localhost, tests).
    None,
    /// Plain connection upgraded with STARTTLS (port 587); refuses a server without it.
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    /// Accept a self-signed server certificate (a private relay); off by default.
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookConfig {
    pub url: String,
    /// HMAC-SHA256 key; the body's signature goes in `X-Sightline-Signature: sha256=<hex>`.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlackConfig {
    /// The incoming-webhook URL.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyConfig {
    pub routing_key: String,
    /// Events API v2 endpoint; default `https://events.pagerduty.com/v2/enqueue`.
    #[serde(default)]
    pub url: Option<String>,
}

/// Why a channel did not accept a message. Every variant is retried by the sender; the text
/// is shown in `/alerts/history`.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("channel settings are invalid: {0}")]
    Config(String),
    #[error("could not reach the channel: {0}")]
    Unreachable(String),
    #[error("the channel refused the message: {0}")]
    Refused(String),
}

/// Hands `msg` to the channel `cfg` and waits for its answer.
///
/// # Errors
/// `Config` when `cfg` has [`ChannelConfig::problems`] (nothing is sent), `Unreachable` when
/// the channel cannot be reached in time, `Refused` when it answered with anything but
/// acceptance.
#[tracing::instrument(skip_all, fields(channel = cfg.kind(), notification_id = msg.notification_id))]
pub async fn deliver(
    cfg: &ChannelConfig,
    msg: &Message,
    http: &reqwest::Client,
) -> Result<(), DeliveryError> {
    let problems = cfg.problems();
    if !problems.is_empty() {
        return Err(DeliveryError::Config(problems.join("; ")));
    }
    match cfg {
        ChannelConfig::Email(c) => email::deliver(c, msg).await,
        ChannelConfig::Webhook(c) => webhook::deliver(c, msg, http).await,
        ChannelConfig::Slack(c) => slack::deliver(c, msg, http).await,
        ChannelConfig::PagerDuty(c) => pagerduty::deliver(c, msg, http).await,
    }
}

/// Connect timeout for every channel: a receiver that does not accept a connection in this
/// time is down, and the sender's backoff does better than a hanging task.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-exchange timeout, so one stuck receiver cannot hold the outbox.
pub(crate) const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP client the webhook, Slack and PagerDuty channels share (one connection pool).
///
/// Redirects are not followed: a 301/302 would turn the POST into a body-less GET and be
/// reported as delivered, so a moved receiver shows up as `Refused("HTTP 301 ...")` instead.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sightline/", env!("CARGO_PKG_VERSION")))
        .build()
        // Only a TLS backend that fails to initialise gets here; rustls with bundled roots
        // does not.
        .expect("BUG: the notification HTTP client cannot be built")
}

impl ChannelConfig {
    /// The `kind` tag, for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::PagerDuty(_) => "pager_duty",
        }
    }

    /// Every reason these settings cannot work, each starting with the field it is about
    /// (`to: "x" is not an email address`); empty when they are usable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            ChannelConfig::Email(c) => email::problems(c, &mut out),
            ChannelConfig::Webhook(c) => check_http_url("url", &c.url, &mut out),
            ChannelConfig::Slack(c) => check_http_url("url", &c.url, &mut out),
            ChannelConfig::PagerDuty(c) => {
                if c.routing_key.trim().is_empty() {
                    out.push("routing_key: must not be empty".to_string());
                }
                if let Some(url) = &c.url {
                    check_http_url("url", url, &mut out);
                }
            }
        }
        out
    }
}

fn check_http_url(field: &str, url: &str, out: &mut Vec<String>) {
    let url = url.trim();
    if url.is_empty() {
        out.push(format!("{field}: must not be empty"));
        return;
    }
    match reqwest::Url::parse(url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            out.push(format!("{field}: must be http:// or https://"));
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            out.push(format!("{field}: has no host"));
        }
        Ok(_) => {}
        Err(_) if !url.to_ascii_lowercase().starts_with("http") => {
            out.push(format!("{field}: must be http:// or https://"));
        }
        Err(e) => out.push(format!("{field}: is not a valid URL ({e})")),
    }
}

/// Maps a failed HTTP exchange. The URL is left out of the text on purpose: Slack's and many
/// webhook URLs carry their secret in the path, and this text is shown in the alert history.
fn http_error(err: reqwest::Error) -> DeliveryError {
    let err = err.without_url();
    let text = error_chain(&err);
    if err.is_timeout() {
        DeliveryError::Unreachable(format!("timed out: {text}"))
    } else {
        // Connect, TLS and reset-mid-request failures alike: nothing was accepted.
        DeliveryError::Unreachable(text)
    }
}

/// Checks an HTTP channel's answer: any 2xx is acceptance; anything else is a refusal
/// quoting the status and the start of the body, which is where receivers put the reason.
async fn accept_2xx(resp: reqwest::Response) -> Result<(), DeliveryError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.trim().chars().take(200).collect();
    Err(DeliveryError::Refused(format!(
        "HTTP {}: {body}",
        status.as_u16()
    )))
}

/// `err` and its sources joined with ": ", the way an operator needs to read it
/// ("error sending request: client error (Connect): tcp connect error: Connection refused").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        // hyper and reqwest often repeat the inner message in the outer one.
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

fn utc(ms: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC with millisecond precision: `2026-11-23T19:58:53.151Z`.
fn rfc3339(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// For people: `2026-11-23 19:58:53 UTC`.
fn human_utc(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Cuts `s` to at most `max` characters, marking the cut with an ellipsis.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl Message {
    /// The "[FIRING]"/"[RESOLVED]" word every channel leads with.
    fn status_word(&self) -> &'static str {
        match self.status {
            Status::Firing => "FIRING",
            Status::Resolved => "RESOLVED",
        }
    }
}

impl ExemplarLink {
    /// One line for plain-text channels: "trace 4bf92f35… 2310 ms, error, culprit `llm.call`".
    fn describe(&self) -> String {
        let mut s = format!("trace {} {:.0} ms", self.trace_id, self.duration_ms);
        if self.error {
            s.push_str(", error");
        }
        if let Some(span) = &self.culprit_span {
            s.push_str(&format!(", culprit span {span}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> EmailConfig {
        EmailConfig {
            host: "smtp.example.com".into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: None,
            password: None,
            from: "Sightline <alerts@example.com>".into(),
            to: vec!["oncall@example.com".into()],
            accept_invalid_certs: false,
        }
    }

    #[test]
    fn valid_channels_have_no_problems() {
        let all = [
            ChannelConfig::Email(email()),
            ChannelConfig::Webhook(WebhookConfig {
                url: "https://hooks.example.com/alerts".into(),
                secret: Some("s3cret".into()),
            }),
            ChannelConfig::Slack(SlackConfig {
                url: "https://hooks.slack.com/services/T0/B0/x".into(),
            }),
            ChannelConfig::PagerDuty(PagerDutyConfig {
                routing_key: "R0123456789".into(),
                url: None,
            }),
            ChannelConfig::PagerDuty(PagerDutyConfig {
                routing_key: "R0123456789".into(),
                url: Some("http://127.0.0.1:9000/v2/enqueue".into()),
            }),
        ];
        for c in all {
            assert_eq!(c.problems(), Vec::<String>::new(), "{c:?}");
        }
    }

    #[test]
    fn email_problems_name_their_field() {
        let c = ChannelConfig::Email(EmailConfig {
            host: " ".into(),
            port: 0,
            username: Some("me".into()),
            from: "not-an-address".into(),
            to: vec!["ok@example.com".into(), "x".into()],
            ..email()
        });
        assert_eq!(
            c.problems(),
            vec![
                "host: must not be empty".to_string(),
                "port: must be 1..65535".to_string(),
                r#"from: "not-an-address" is not an email address"#.to_string(),
                r#"to: "x" is not an email address"#.to_string(),
                "password: must be set when username is".to_string(),
            ]
        );
    }

    #[test]
    fn email_without_recipients_is_a_problem() {
        let c = ChannelConfig::Email(EmailConfig {
            to: vec![],
            ..email()
        });
        assert_eq!(c.problems(), vec!["to: needs at least one address"]);
    }

    #[test]
    fn urls_must_be_http() {
        for (url, want) in [
            ("ftp://example.com/x", "url: must be http:// or https://"),
            ("hooks.example.com/x", "url: must be http:// or https://"),
            ("", "url: must not be empty"),
        ] {
            let c = ChannelConfig::Webhook(WebhookConfig {
                url: url.into(),
                secret: None,
            });
            assert_eq!(c.problems(), vec![want], "{url:?}");
            let c = ChannelConfig::Slack(SlackConfig { url: url.into() });
            assert_eq!(c.problems(), vec![want], "{url:?}");
        }
        let c = ChannelConfig::Webhook(WebhookConfig {
            url: "http://[::1".into(),
            secret: None,
        });
        let p = c.problems();
        assert!(
            p.len() == 1 && p[0].starts_with("url: is not a valid URL"),
            "{p:?}"
        );
    }

    #[test]
    fn pagerduty_needs_a_routing_key_and_an_http_url() {
        let c = ChannelConfig::PagerDuty(PagerDutyConfig {
            routing_key: "  ".into(),
            url: Some("mailto:x@example.com".into()),
        });
        assert_eq!(
            c.problems(),
            vec![
                "routing_key: must not be empty",
                "url: must be http:// or https://"
            ]
        );
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(rfc3339(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
        assert_eq!(human_utc(1_764_000_000_123), "2025-11-24 16:00:00 UTC");
    }

    #[test]
    fn truncate_counts_characters_not_bytes() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
    }
}
