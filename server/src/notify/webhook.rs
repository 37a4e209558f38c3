//! The generic webhook channel: Alertmanager's webhook payload (version "4"), so receivers
//! written for Alertmanager work unchanged, plus a `sightline` object carrying the whole
//! `Message` for receivers that want the exemplar links structured. The body can be signed
//! with HMAC-SHA256 so a receiver can tell it came from us.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{rfc3339, DeliveryError, Message, Status, WebhookConfig};

/// Alertmanager's zero `time.Time`, which it sends as `endsAt` while an alert fires.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

pub(super) async fn deliver(
    c: &WebhookConfig,
    msg: &Message,
    http: &reqwest::Client,
) -> Result<(), DeliveryError> {
    // Serialised once: the signature must cover exactly the bytes that go on the wire.
    let body = serde_json::to_vec(&payload(msg))
        .map_err(|e| DeliveryError::Config(format!("cannot encode the payload: {e}")))?;
    let mut req = http
        .post(c.url.trim())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            "X-Sightline-Notification-Id",
            msg.notification_id.to_string(),
        );
    if let Some(secret) = c.secret.as_deref().filter(|s| !s.is_empty()) {
        req = req.header("X-Sightline-Signature", signature(secret, &body));
    }
    let resp = req.body(body).send().await.map_err(super::http_error)?;
    super::accept_2xx(resp).await
}

/// `sha256=<lowercase hex HMAC-SHA256(secret, body)>`, GitHub's convention.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("BUG: HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn payload(msg: &Message) -> Value {
    let status = match msg.status {
        Status::Firing => "firing",
        Status::Resolved => "resolved",
    };
    let ends_at = match (msg.status, msg.ends_at_ms) {
        (Status::Resolved, Some(ms)) => rfc3339(ms),
        // A resolved notice without its end time still has to look resolved to receivers
        // that compare endsAt with now; the start is the only time we have.
        (Status::Resolved, None) => rfc3339(msg.starts_at_ms),
        (Status::Firing, _) => GO_ZERO_TIME.to_string(),
    };
    let description = format!(
        "{} (threshold {}) over the last {}",
        msg.value, msg.threshold, msg.window
    );
    let exemplars: Vec<String> = msg
        .exemplars
        .iter()
        .map(|e| format!("{} {}", e.describe(), e.url))
        .collect();
    let alertname = msg
        .labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| msg.rule_name.clone());
    let external_url = reqwest::Url::parse(&msg.rule_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    json!({
        "version": "4",
        // Alertmanager's shape is `<route>:<group labels>`; ours groups by rule.
        "groupKey": format!("{{}}:{{alertname={alertname:?}}}"),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "sightline",
        "groupLabels": { "alertname": alertname },
        "commonLabels": msg.labels,
        "commonAnnotations": {
            "summary": msg.summary,
            "description": description,
        },
        "externalURL": external_url,
        "alerts": [{
            "status": status,
            "labels": msg.labels,
            "annotations": {
                "summary": msg.summary,
                "description": description,
                "value": msg.value,
                "threshold": msg.threshold,
                "window": msg.window,
                "dashboard_url": msg.dashboard_url,
                "rule_url": msg.rule_url,
                "exemplars": exemplars.join("\n"),
            },
            "startsAt": rfc3339(msg.starts_at_ms),
            "endsAt": ends_at,
            "generatorURL": msg.rule_url,
            "fingerprint": msg.dedup_key,
        }],
        "sightline": msg,
    })
}
