//! Notification channels against real receivers: an aiosmtpd server (tests/python/smtp_sink.py)
//! for email, and an axum server on 127.0.0.1 that records requests for the HTTP channels.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use sightline::notify::{
    self, ChannelConfig, DeliveryError, EmailConfig, ExemplarLink, Message, PagerDutyConfig,
    SlackConfig, SmtpSecurity, Status, WebhookConfig,
};

use common::receivers::{closed_url, Receiver, SinkOptions, SmtpSink};

const STARTS_AT_MS: i64 = 1_764_000_000_123;
const ENDS_AT_MS: i64 = 1_764_000_600_456;

fn message(status: Status) -> Message {
    let labels = BTreeMap::from([
        ("alertname".to_string(), "P95 latency".to_string()),
        ("severity".to_string(), "critical".to_string()),
        ("model".to_string(), "gpt-4o".to_string()),
    ]);
    Message {
        notification_id: 42,
        rule_id: 7,
        rule_name: "P95 latency".into(),
        status,
        severity: "critical".into(),
        labels,
        summary: "P95 latency above 1.5 s: 2.31 s > 1.5 s over 5m (model=gpt-4o)".into(),
        value: "2.31 s".into(),
        threshold: "> 1.5 s".into(),
        window: "5m".into(),
        starts_at_ms: STARTS_AT_MS,
        ends_at_ms: (status == Status::Resolved).then_some(ENDS_AT_MS),
        dashboard_url: "http://sightline.test:5000/?from=now-1h&model=gpt-4o".into(),
        rule_url: "http://sightline.test:5000/alerts/rules/7".into(),
        exemplars: vec![
            ExemplarLink {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                url: "http://sightline.test:5000/traces/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7".into(),
                duration_ms: 2310.4,
                error: false,
                culprit_span: Some("llm.chat gpt-4o".into()),
            },
            ExemplarLink {
                trace_id: "5b8efff798038103d269b633813fc60c".into(),
                url: "http://sightline.test:5000/traces/5b8efff798038103d269b633813fc60c?span=eee19b7ec3c1b174".into(),
                duration_ms: 1984.0,
                error: true,
                culprit_span: Some("tool.search".into()),
            },
        ],
        dedup_key: "sightline-7-3f2a9c".into(),
    }
}

fn webhook(url: &str, secret: Option<&str>) -> ChannelConfig {
    ChannelConfig::Webhook(WebhookConfig {
        url: url.into(),
        secret: secret.map(Into::into),
    })
}

// ---------------------------------------------------------------------------------------------
// Webhook
// ---------------------------------------------------------------------------------------------

/// Alertmanager's webhook payload (`template.Data` plus `version`/`groupKey`/
/// `truncatedAlerts`), as an Alertmanager receiver would decode it: every field required.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmPayload {
    version: String,
    group_key: String,
    truncated_alerts: u64,
    status: String,
    receiver: String,
    group_labels: BTreeMap<String, String>,
    common_labels: BTreeMap<String, String>,
    common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    external_url: String,
    alerts: Vec<AmAlert>,
    sightline: Message,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    status: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    fingerprint: String,
}

fn parse_rfc3339(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"));
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn webhook_posts_signed_alertmanager_payload() {
    let rx = Receiver::start(StatusCode::OK, "").await;
    let msg = message(Status::Firing);
    let http = notify::http_client();
    notify::deliver(&webhook(&rx.url, Some("t0p-secret")), &msg, &http)
        .await
        .expect("delivered");

    let req = rx.only_request();
    assert_eq!(req.method, Method::POST);
    assert_eq!(req.path, "/hook");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("x-sightline-notification-id"), Some("42"));
    let ua = req.header("user-agent").unwrap_or_default();
    assert!(ua.starts_with("sightline/"), "user agent {ua:?}");

    let mut mac = Hmac::<Sha256>::new_from_slice(b"t0p-secret").unwrap();
    mac.update(&req.body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(req.header("x-sightline-signature"), Some(want.as_str()));

    let p: AmPayload = serde_json::from_slice(&req.body).expect("Alertmanager webhook shape");
    assert_eq!(p.version, "4");
    assert_eq!(p.group_key, r#"{}:{alertname="P95 latency"}"#);
    assert_eq!(p.truncated_alerts, 0);
    assert_eq!(p.status, "firing");
    assert_eq!(p.receiver, "sightline");
    assert_eq!(
        p.group_labels,
        BTreeMap::from([("alertname".into(), "P95 latency".into())])
    );
    assert_eq!(p.common_labels, msg.labels);
    assert_eq!(p.common_annotations["summary"], msg.summary);
    assert!(p.common_annotations.contains_key("description"));
    assert_eq!(p.external_url, "http://sightline.test:5000");
    assert_eq!(p.sightline, msg, "the full message rides along");

    let [a] = &p.alerts[..] else {
        panic!("one alert per notification: {:?}", p.alerts)
    };
    assert_eq!(a.status, "firing");
    assert_eq!(a.labels, msg.labels);
    assert_eq!(a.starts_at, "2025-11-24T16:00:00.123Z");
    assert_eq!(parse_rfc3339(&a.starts_at), STARTS_AT_MS);
    assert_eq!(
        a.ends_at, "0001-01-01T00:00:00Z",
        "Alertmanager's zero time while firing"
    );
    assert_eq!(a.generator_url, msg.rule_url);
    assert_eq!(a.fingerprint, msg.dedup_key);
    for (k, want) in [
        ("summary", &msg.summary),
        ("value", &msg.value),
        ("threshold", &msg.threshold),
        ("window", &msg.window),
        ("dashboard_url", &msg.dashboard_url),
        ("rule_url", &msg.rule_url),
    ] {
        assert_eq!(&a.annotations[k], want, "annotation {k}");
    }
    let ex = &a.annotations["exemplars"];
    for e in &msg.exemplars {
        assert!(ex.contains(&e.url), "{ex}");
        assert!(ex.contains(e.culprit_span.as_deref().unwrap()), "{ex}");
    }
}

#[tokio::test]
async fn webhook_resolved_carries_end_time_and_no_signature_without_secret() {
    let rx = Receiver::start(StatusCode::NO_CONTENT, "").await;
    let msg = message(Status::Resolved);
    notify::deliver(&webhook(&rx.url, None), &msg, &notify::http_client())
        .await
        .expect("any 2xx is accepted");
    let req = rx.only_request();
    assert_eq!(req.header("x-sightline-signature"), None);
    let p: AmPayload = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(p.status, "resolved");
    assert_eq!(p.alerts[0].status, "resolved");
    assert_eq!(parse_rfc3339(&p.alerts[0].ends_at), ENDS_AT_MS);
    assert_eq!(p.alerts[0].fingerprint, message(Status::Firing).dedup_key);
}

#[tokio::test]
async fn webhook_answering_500_is_refused_with_status_and_body() {
    let rx = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR, "database is locked").await;
    let err = notify::deliver(
        &webhook(&rx.url, None),
        &message(Status::Firing),
        &notify::http_client(),
    )
    .await
    .expect_err("a 500 is not delivered");
    match &err {
        DeliveryError::Refused(text) => {
            assert_eq!(text, "HTTP 500: database is locked");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert_eq!(rx.requests().len(), 1);
}

#[tokio::test]
async fn webhook_redirect_is_refused_not_followed() {
    let rx = Receiver::start(StatusCode::MOVED_PERMANENTLY, "moved").await;
    let err = notify::deliver(
        &webhook(&rx.url, None),
        &message(Status::Firing),
        &notify::http_client(),
    )
    .await
    .expect_err("a redirect is not delivery");
    assert!(
        matches!(&err, DeliveryError::Refused(t) if t.starts_with("HTTP 301")),
        "{err:?}"
    );
}

#[tokio::test]
async fn closed_port_is_unreachable_for_every_http_channel() {
    let url = closed_url().await;
    let http = notify::http_client();
    let channels = [
        webhook(&url, Some("k")),
        ChannelConfig::Slack(SlackConfig { url: url.clone() }),
        ChannelConfig::PagerDuty(PagerDutyConfig {
            routing_key: "R1".into(),
            url: Some(url.clone()),
        }),
    ];
    for c in channels {
        let err = notify::deliver(&c, &message(Status::Firing), &http)
            .await
            .expect_err("nothing listens");
        match &err {
            DeliveryError::Unreachable(text) => {
                assert!(
                    !text.contains(&url),
                    "the URL (a secret for Slack) leaked: {text}"
                );
                assert!(text.to_lowercase().contains("refused"), "{text}");
            }
            other => panic!("{}: expected Unreachable, got {other:?}", c.kind()),
        }
    }
}

#[tokio::test]
async fn invalid_settings_fail_before_sending() {
    let err = notify::deliver(
        &webhook("ftp://example.com/x", None),
        &message(Status::Firing),
        &notify::http_client(),
    )
    .await
    .expect_err("invalid");
    assert!(
        matches!(&err, DeliveryError::Config(t) if t == "url: must be http:// or https://"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Slack
// ---------------------------------------------------------------------------------------------

/// Every mrkdwn/plain_text string in the blocks, in order.
fn block_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(t)), Some(Value::String(kind))) =
                (m.get("text"), m.get("type"))
            {
                if kind == "mrkdwn" || kind == "plain_text" {
                    out.push(t.clone());
                }
            }
            m.values().for_each(|v| block_texts(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| block_texts(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn slack_message_has_fallback_text_and_linked_blocks() {
    let rx = Receiver::start(StatusCode::OK, "ok").await;
    let msg = message(Status::Firing);
    let cfg = ChannelConfig::Slack(SlackConfig {
        url: rx.url.clone(),
    });
    notify::deliver(&cfg, &msg, &notify::http_client())
        .await
        .expect("delivered");

    let req = rx.only_request();
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body = req.json();
    assert_eq!(body["text"], msg.summary.as_str());
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(header.contains("[FIRING] P95 latency"), "{header}");

    let mut texts = Vec::new();
    block_texts(&body["blocks"], &mut texts);
    let all = texts.join("\n");
    // Slack mrkdwn escapes `>` and `&` even inside link targets.
    let esc = |s: &str| s.replace('&', "&amp;").replace('>', "&gt;");
    assert!(
        all.contains(&format!("<{}|", esc(&msg.dashboard_url))),
        "{all}"
    );
    assert!(all.contains(&format!("<{}|", msg.rule_url)), "{all}");
    assert!(all.contains("2.31 s (threshold &gt; 1.5 s)"), "{all}");
    assert!(all.contains("*Window*\n5m"), "{all}");
    assert!(all.contains("<!date^1764000000^"), "since when: {all}");
    for e in &msg.exemplars {
        assert!(all.contains(&format!("<{}|trace", e.url)), "{all}");
        assert!(all.contains(e.culprit_span.as_deref().unwrap()), "{all}");
    }
    assert!(
        all.contains("*error*"),
        "the failed exemplar is marked: {all}"
    );
}

#[tokio::test]
async fn slack_rejection_is_refused_with_slack_reason() {
    let rx = Receiver::start(StatusCode::BAD_REQUEST, "invalid_blocks").await;
    let cfg = ChannelConfig::Slack(SlackConfig {
        url: rx.url.clone(),
    });
    let err = notify::deliver(&cfg, &message(Status::Resolved), &notify::http_client())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, DeliveryError::Refused(t) if t == "HTTP 400: invalid_blocks"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// PagerDuty
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pagerduty_trigger_then_resolve_share_dedup_key() {
    let rx = Receiver::start(
        StatusCode::ACCEPTED,
        r#"{"status":"success","message":"Event processed","dedup_key":"sightline-7-3f2a9c"}"#,
    )
    .await;
    let cfg = ChannelConfig::PagerDuty(PagerDutyConfig {
        routing_key: "R0123456789ABCDEF".into(),
        url: Some(rx.url.clone()),
    });
    let http = notify::http_client();
    let firing = message(Status::Firing);
    notify::deliver(&cfg, &firing, &http)
        .await
        .expect("trigger");
    notify::deliver(&cfg, &message(Status::Resolved), &http)
        .await
        .expect("resolve");

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    let trigger = reqs[0].json();
    let resolve = reqs[1].json();
    assert_eq!(trigger["routing_key"], "R0123456789ABCDEF");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], firing.dedup_key.as_str());
    let p = &trigger["payload"];
    assert_eq!(p["summary"], firing.summary.as_str());
    assert_eq!(p["source"], "sightline");
    assert_eq!(p["severity"], "critical");
    assert_eq!(
        parse_rfc3339(p["timestamp"].as_str().unwrap()),
        STARTS_AT_MS
    );
    assert_eq!(p["custom_details"]["value"], "2.31 s");
    assert_eq!(p["custom_details"]["threshold"], "> 1.5 s");
    assert_eq!(p["custom_details"]["window"], "5m");
    assert_eq!(p["custom_details"]["labels"]["model"], "gpt-4o");
    let hrefs: Vec<&str> = trigger["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert!(l["text"].as_str().is_some_and(|t| !t.is_empty()), "{l}");
            l["href"].as_str().unwrap()
        })
        .collect();
    assert!(hrefs.contains(&firing.dashboard_url.as_str()), "{hrefs:?}");
    assert!(hrefs.contains(&firing.rule_url.as_str()), "{hrefs:?}");
    for e in &firing.exemplars {
        assert!(hrefs.contains(&e.url.as_str()), "{hrefs:?}");
    }
    assert_eq!(trigger["client"], "Sightline");
    assert_eq!(trigger["client_url"], firing.rule_url.as_str());

    assert_eq!(
        resolve,
        serde_json::json!({
            "routing_key": "R0123456789ABCDEF",
            "event_action": "resolve",
            "dedup_key": firing.dedup_key,
        })
    );
}

#[tokio::test]
async fn pagerduty_long_summary_is_cut_to_1024_characters() {
    let rx = Receiver::start(StatusCode::ACCEPTED, "{}").await;
    let cfg = ChannelConfig::PagerDuty(PagerDutyConfig {
        routing_key: "R1".into(),
        url: Some(rx.url.clone()),
    });
    let mut msg = message(Status::Firing);
    msg.summary = "é".repeat(3000);
    notify::deliver(&cfg, &msg, &notify::http_client())
        .await
        .unwrap();
    let summary = rx.only_request().json()["payload"]["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(summary.chars().count(), 1024);
}

#[tokio::test]
async fn pagerduty_throttling_is_refused() {
    let rx = Receiver::start(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"status":"throttle event"}"#,
    )
    .await;
    let cfg = ChannelConfig::PagerDuty(PagerDutyConfig {
        routing_key: "R1".into(),
        url: Some(rx.url.clone()),
    });
    let err = notify::deliver(&cfg, &message(Status::Firing), &notify::http_client())
        .await
        .expect_err("throttled");
    assert!(
        matches!(&err, DeliveryError::Refused(t) if t.starts_with("HTTP 429: ")),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Email, against aiosmtpd
// ---------------------------------------------------------------------------------------------

fn part<'a>(mail: &'a Value, content_type: &str) -> &'a str {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type)
        .and_then(|p| p["body"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} part in {mail}"))
}

async fn send(cfg: EmailConfig, status: Status) -> Result<(), DeliveryError> {
    notify::deliver(
        &ChannelConfig::Email(cfg),
        &message(status),
        &notify::http_client(),
    )
    .await
}

#[tokio::test]
async fn email_plain_smtp_delivers_text_and_html_with_links() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    send(sink.config(SmtpSecurity::None), Status::Firing)
        .await
        .expect("delivered");
    send(sink.config(SmtpSecurity::None), Status::Resolved)
        .await
        .expect("delivered");

    let mail = sink.received();
    assert_eq!(mail.len(), 2, "{mail:?}");
    let (firing, resolved) = (&mail[0], &mail[1]);
    assert_eq!(firing["mail_from"], "alerts@sightline.test");
    assert_eq!(
        firing["rcpt_tos"],
        serde_json::json!(["oncall@example.test", "lead@example.test"])
    );
    assert_eq!(firing["tls"], false);
    assert_eq!(firing["subject"], "[FIRING] P95 latency: 2.31 s (> 1.5 s)");
    assert_eq!(resolved["subject"], "[RESOLVED] P95 latency");
    assert!(
        firing["message_id"]
            .as_str()
            .unwrap()
            .contains("@sightline.test>"),
        "{}",
        firing["message_id"]
    );
    assert!(firing["raw"]
        .as_str()
        .unwrap()
        .contains("multipart/alternative"));

    let msg = message(Status::Firing);
    let text = part(firing, "text/plain");
    let html = part(firing, "text/html");
    for body in [text, html] {
        assert!(body.contains("2.31 s"), "{body}");
        assert!(body.contains("5m"), "{body}");
        assert!(body.contains("2025-11-24 16:00:00 UTC"), "since: {body}");
        assert!(body.contains("P95 latency above 1.5 s"), "summary: {body}");
        for e in &msg.exemplars {
            assert!(body.contains(&e.trace_id), "{body}");
            assert!(body.contains(e.culprit_span.as_deref().unwrap()), "{body}");
        }
    }
    assert!(text.contains("> 1.5 s"), "{text}");
    assert!(text.contains(&msg.dashboard_url), "{text}");
    assert!(text.contains(&msg.rule_url), "{text}");
    assert!(
        text.contains("2310 ms, culprit span llm.chat gpt-4o"),
        "{text}"
    );
    assert!(text.contains("1984 ms, error"), "{text}");
    assert!(html.contains("&gt; 1.5 s"), "escaped threshold: {html}");
    // In HTML the `&` of the query string is escaped inside href.
    assert!(
        html.contains(&format!(
            "href=\"{}\"",
            msg.dashboard_url.replace('&', "&amp;")
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{}\"", msg.rule_url)),
        "{html}"
    );
    for e in &msg.exemplars {
        assert!(html.contains(&format!("href=\"{}\"", e.url)), "{html}");
    }
    assert!(part(resolved, "text/plain").contains("Resolved:"));
}

#[tokio::test]
async fn email_starttls_with_self_signed_cert_needs_accept_invalid_certs() {
    let sink = SmtpSink::start(SinkOptions {
        starttls: true,
        ..Default::default()
    })
    .await;

    let err = send(sink.config(SmtpSecurity::StartTls), Status::Firing)
        .await
        .expect_err("an unknown issuer is refused by default");
    assert!(
        matches!(&err, DeliveryError::Unreachable(t) if t.contains("certificate")),
        "{err:?}"
    );
    assert!(sink.received().is_empty());

    let cfg = EmailConfig {
        accept_invalid_certs: true,
        ..sink.config(SmtpSecurity::StartTls)
    };
    send(cfg, Status::Firing).await.expect("delivered over TLS");
    let mail = sink.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["tls"], true, "sent after STARTTLS");
}

#[tokio::test]
async fn email_plain_is_rejected_by_a_server_that_requires_starttls() {
    let sink = SmtpSink::start(SinkOptions {
        starttls: true,
        ..Default::default()
    })
    .await;
    let err = send(sink.config(SmtpSecurity::None), Status::Firing)
        .await
        .expect_err("530 Must issue a STARTTLS command first");
    assert!(
        matches!(&err, DeliveryError::Refused(t) if t.contains("STARTTLS")),
        "{err:?}"
    );
}

#[tokio::test]
async fn email_implicit_tls_delivers() {
    let sink = SmtpSink::start(SinkOptions {
        implicit_tls: true,
        ..Default::default()
    })
    .await;
    let cfg = EmailConfig {
        accept_invalid_certs: true,
        ..sink.config(SmtpSecurity::Tls)
    };
    send(cfg, Status::Firing).await.expect("delivered");
    let mail = sink.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["tls"], true);
}

#[tokio::test]
async fn email_auth_logs_in_and_wrong_password_is_refused() {
    let sink = SmtpSink::start(SinkOptions {
        auth: Some(("alerts", "correct horse")),
        ..Default::default()
    })
    .await;
    let with = |password: &str| EmailConfig {
        username: Some("alerts".into()),
        password: Some(password.into()),
        ..sink.config(SmtpSecurity::None)
    };

    let err = send(with("wrong"), Status::Firing)
        .await
        .expect_err("bad credentials");
    assert!(
        matches!(&err, DeliveryError::Refused(t) if t.contains("535")),
        "{err:?}"
    );
    assert!(sink.received().is_empty());

    send(with("correct horse"), Status::Firing)
        .await
        .expect("delivered");
    let mail = sink.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["login"], "alerts");

    let err = send(sink.config(SmtpSecurity::None), Status::Firing)
        .await
        .expect_err("no credentials where AUTH is required");
    assert!(matches!(&err, DeliveryError::Refused(_)), "{err:?}");
}

#[tokio::test]
async fn email_server_down_is_unreachable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let cfg = EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "alerts@sightline.test".into(),
        to: vec!["oncall@example.test".into()],
        accept_invalid_certs: false,
    };
    let err = send(cfg, Status::Firing)
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(&err, DeliveryError::Unreachable(t) if t.to_lowercase().contains("refused")),
        "{err:?}"
    );
}

/// A server that accepts the connection and then says nothing, for 20 s.
async fn silent_server() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (conn, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await;
        drop(conn);
    });
    addr
}

#[tokio::test]
async fn email_server_that_never_answers_times_out_as_unreachable() {
    let addr = silent_server().await;
    let cfg = EmailConfig {
        host: "127.0.0.1".into(),
        port: addr.port(),
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "alerts@sightline.test".into(),
        to: vec!["oncall@example.test".into()],
        accept_invalid_certs: false,
    };
    let started = std::time::Instant::now();
    let err = send(cfg, Status::Firing).await.expect_err("no greeting");
    assert!(
        matches!(&err, DeliveryError::Unreachable(t) if t.contains("within 15 s")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(18),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn webhook_that_never_answers_times_out_as_unreachable() {
    let addr = silent_server().await;
    let started = std::time::Instant::now();
    let err = notify::deliver(
        &webhook(&format!("http://{addr}/hook"), None),
        &message(Status::Firing),
        &notify::http_client(),
    )
    .await
    .expect_err("no answer");
    assert!(
        matches!(&err, DeliveryError::Unreachable(t) if t.starts_with("timed out")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(18),
        "{:?}",
        started.elapsed()
    );
}
