//! Alerting end to end on both databases, on a simulated clock: demo traffic with a latency
//! spike goes in over OTLP, the evaluator and the sender run minute by minute, and real
//! receivers get the pages — an aiosmtpd SMTP server (down at first, then up) and an HTTP
//! webhook receiver that checks the HMAC. Process-level cases (kill -9, two replicas) are
//! in `alert_processes.rs`.

mod common;

use common::receivers::{Receiver, SinkOptions, SmtpSink};
use common::{TestDb, TestServer};
use hmac::{Hmac, Mac};
use sightline::alerts::engine::Engine;
use sightline::alerts::measure::measure;
use sightline::alerts::rule::{presets, RuleSpec, Span};
use sightline::alerts::sender::Sender;
use sightline::alerts::state::Phase;
use sightline::demo::{resource, DemoTrace, Knobs, Workload};
use sightline::notify::{ChannelConfig, SmtpSecurity, WebhookConfig};
use sightline::rollup::RollupConfig;
use sightline::store::alerts::{Delivery, Matcher, Source};

/// 2026-01-05T12:00:00Z.
const BASE_NS: i64 = 1_767_614_400_000_000_000;
const BASE_MS: i64 = BASE_NS / 1_000_000;
const SEC: i64 = 1_000_000_000;
const MIN_MS: i64 = 60_000;
const SECRET: &str = "hook-secret";

/// Minutes 0–10 normal, 10–16 a latency spike (LLM and reranker 6x slower), 16–30 normal;
/// one trace every 2 s.
fn traffic() -> Vec<DemoTrace> {
    let spike = Knobs {
        latency_factor: 6.0,
        error_rate: Some(0.0),
    };
    let calm = Knobs {
        error_rate: Some(0.0),
        ..Knobs::default()
    };
    let mut t = Workload::new(5)
        .with_knobs(calm)
        .traces(300, BASE_NS, 2 * SEC);
    t.extend(
        Workload::new(6)
            .with_knobs(spike)
            .traces(180, BASE_NS + 600 * SEC, 2 * SEC),
    );
    t.extend(
        Workload::new(7)
            .with_knobs(calm)
            .traces(420, BASE_NS + 960 * SEC, 2 * SEC),
    );
    t
}

fn at(minute: i64) -> i64 {
    BASE_MS + minute * MIN_MS + 5_000
}

fn verify_hmac(body: &[u8], header: &str) {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header, want, "HMAC of the body");
}

async fn latency_spike_pages_once_then_resolves(db: TestDb) {
    let s = TestServer::start(db).await;
    let res = resource("chatbot");
    for chunk in traffic().chunks(60) {
        s.ingest_demo(chunk, &res).await;
    }
    let cfg = RollupConfig::default();
    let store = s.backend.alerts();

    // The threshold sits between the calm and the spiked P95, whatever the demo's latencies.
    let p95_at = |end_min: i64| {
        let rule = RuleSpec {
            window: Span::minutes(2),
            ..presets()[0].clone()
        };
        let backend = s.backend.clone();
        let cfg = cfg.clone();
        async move {
            measure(&*backend, &cfg, &rule, at(end_min)).await.unwrap()[0]
                .value
                .unwrap()
        }
    };
    let (calm, spiked) = (p95_at(8).await, p95_at(13).await);
    assert!(spiked > 1.5 * calm, "spike {spiked} ms vs calm {calm} ms");
    let threshold = (calm + spiked) / 2.0;

    let hook = Receiver::start(axum::http::StatusCode::OK, "ok").await;
    let muted_hook = Receiver::start(axum::http::StatusCode::OK, "ok").await;
    let repeat_hook = Receiver::start(axum::http::StatusCode::OK, "ok").await;
    // The SMTP server is down when the alert fires; it comes up two minutes later on this port.
    let smtp_port = common::receivers::free_port().await;
    let mail_cfg = ChannelConfig::Email(sightline::notify::EmailConfig {
        host: "127.0.0.1".into(),
        port: smtp_port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Sightline <alerts@sightline.test>".into(),
        to: vec!["oncall@example.test".into()],
        accept_invalid_certs: false,
    });
    let webhook = |url: &str| {
        ChannelConfig::Webhook(WebhookConfig {
            url: url.into(),
            secret: Some(SECRET.into()),
        })
    };
    store
        .create_channel("hook", &webhook(&hook.url), Source::Ui, BASE_MS)
        .await
        .unwrap();
    store
        .create_channel("mail", &mail_cfg, Source::Ui, BASE_MS)
        .await
        .unwrap();
    store
        .create_channel("muted", &webhook(&muted_hook.url), Source::Ui, BASE_MS)
        .await
        .unwrap();
    store
        .create_channel("repeat", &webhook(&repeat_hook.url), Source::Ui, BASE_MS)
        .await
        .unwrap();

    let slow = RuleSpec {
        name: "P95 latency".into(),
        threshold,
        window: Span::minutes(2),
        for_: Span::minutes(2),
        min_samples: 20,
        channels: vec!["hook".into(), "mail".into()],
        ..presets()[0].clone()
    };
    let rule_id = store.create_rule(&slow, Source::Ui, BASE_MS).await.unwrap();
    // A 2-minute window holds 60 traces: a rule wanting 1,000 never has enough.
    let sparse = RuleSpec {
        name: "P95 latency, sparse".into(),
        min_samples: 1000,
        ..slow.clone()
    };
    let sparse_id = store
        .create_rule(&sparse, Source::Ui, BASE_MS)
        .await
        .unwrap();
    // Same condition, silenced: history is kept, nothing is sent.
    let silenced = RuleSpec {
        name: "P95 latency, silenced".into(),
        channels: vec!["muted".into()],
        ..slow.clone()
    };
    let silenced_id = store
        .create_rule(&silenced, Source::Ui, BASE_MS)
        .await
        .unwrap();
    // Same condition, re-notifying every 2 minutes while it fires.
    let repeating = RuleSpec {
        name: "P95 latency, repeating".into(),
        channels: vec!["repeat".into()],
        repeat_interval: Span::minutes(2),
        ..slow.clone()
    };
    store
        .create_rule(&repeating, Source::Ui, BASE_MS)
        .await
        .unwrap();
    store
        .create_silence(
            &[Matcher {
                name: "alertname".into(),
                value: "P95 latency, silenced".into(),
                regex: false,
            }],
            BASE_MS,
            BASE_MS + 3_600_000,
            "maintenance",
            BASE_MS,
        )
        .await
        .unwrap();

    let public = "http://sightline.test:5000".to_string();
    let mut engine = Engine::new(s.backend.clone(), cfg.clone(), public.clone());
    let mut sender = Sender::new(store.clone());
    let mut smtp = None;
    let mut phases = Vec::new();
    for minute in 1..=20 {
        if minute == 15 {
            // SMTP comes back; and the process "restarts": fresh evaluator and sender that
            // know only what the database holds.
            smtp = Some(
                SmtpSink::start(SinkOptions {
                    port: Some(smtp_port),
                    ..SinkOptions::default()
                })
                .await,
            );
            engine = Engine::new(s.backend.clone(), cfg.clone(), public.clone());
            sender = Sender::new(store.clone());
        }
        let round = engine.evaluate_due(at(minute)).await.unwrap();
        assert!(round.leader);
        assert_eq!(round.failed, 0, "minute {minute}");
        sender.deliver_due(at(minute)).await.unwrap();
        let state = store.states(Some(rule_id)).await.unwrap();
        phases.push((minute, state[0].state.phase));
    }
    let phase_at = |m: i64| phases.iter().find(|(k, _)| *k == m).unwrap().1;
    assert_eq!(phase_at(10), Phase::Inactive, "{phases:?}");
    assert_eq!(phase_at(11), Phase::Pending, "{phases:?}");
    assert_eq!(phase_at(12), Phase::Pending, "{phases:?}");
    assert_eq!(phase_at(13), Phase::Firing, "{phases:?}");
    assert_eq!(phase_at(17), Phase::Firing, "{phases:?}");
    assert_eq!(phase_at(18), Phase::Resolved, "{phases:?}");
    assert_eq!(phase_at(19), Phase::Inactive, "{phases:?}");

    // Exactly one firing and one resolved webhook, signed, in order.
    let got = hook.requests();
    assert_eq!(got.len(), 2, "{got:#?}");
    for r in &got {
        verify_hmac(&r.body, r.header("x-sightline-signature").unwrap());
    }
    let (firing, resolved) = (got[0].json(), got[1].json());
    assert_eq!(firing["status"], "firing");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(firing["alerts"][0]["labels"]["alertname"], "P95 latency");
    let msg = &firing["sightline"];
    assert_eq!(msg["window"], "2m");
    assert!(
        msg["dashboard_url"]
            .as_str()
            .unwrap()
            .starts_with("http://sightline.test:5000/?"),
        "{msg}"
    );
    assert_eq!(
        msg["rule_url"],
        format!("http://sightline.test:5000/alerts/{rule_id}")
    );
    // The exemplar is the slowest trace of the window, linked with the span to blame: the
    // spike slowed the LLM call and the reranker.
    let ex = &msg["exemplars"][0];
    let url = ex["url"].as_str().unwrap();
    assert!(url.contains("/traces/") && url.contains("?span="), "{url}");
    let culprit = ex["culprit_span"].as_str().unwrap();
    assert!(["llm_call", "rerank"].contains(&culprit), "{culprit}");
    assert!(ex["duration_ms"].as_f64().unwrap() > threshold);

    // Email: refused while the server was down, then delivered exactly once each, in order.
    let mails = smtp.as_ref().unwrap().received();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert!(mails[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("[FIRING] P95 latency"));
    assert!(mails[1]["subject"]
        .as_str()
        .unwrap()
        .starts_with("[RESOLVED] P95 latency"));
    let history = store.events(Some(rule_id), None, 50).await.unwrap();
    let fired = history
        .iter()
        .find(|e| e.notice.as_deref() == Some("firing"))
        .unwrap();
    let mail = fired
        .deliveries
        .iter()
        .find(|d| d.channel_name == "mail")
        .unwrap();
    assert_eq!(mail.status, Delivery::Delivered);
    assert_eq!(
        mail.attempts, 3,
        "two refused attempts (minutes 13, 14), then delivered"
    );
    assert_eq!(fired.at_ms, at(13));
    assert_eq!(mail.done_ms, Some(at(15)));
    let transitions: Vec<(Phase, Phase)> = history.iter().rev().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        transitions,
        [
            (Phase::Inactive, Phase::Pending),
            (Phase::Pending, Phase::Firing),
            (Phase::Firing, Phase::Resolved),
            (Phase::Resolved, Phase::Inactive),
        ]
    );

    // Too few samples: no data, no transition, no page.
    assert!(store
        .events(Some(sparse_id), None, 50)
        .await
        .unwrap()
        .is_empty());
    let st = store.states(Some(sparse_id)).await.unwrap();
    assert_eq!(st[0].state.phase, Phase::Inactive);
    assert_eq!(st[0].samples, 60);

    // Silenced: the transitions are in history, the deliveries muted, nothing sent.
    let muted = store.events(Some(silenced_id), None, 50).await.unwrap();
    let notices: Vec<_> = muted.iter().filter_map(|e| e.notice.clone()).collect();
    assert_eq!(notices, ["resolved", "firing"]);
    for e in muted.iter().filter(|e| e.notice.is_some()) {
        assert_eq!(e.deliveries.len(), 1);
        assert_eq!(e.deliveries[0].status, Delivery::Silenced);
    }
    assert!(muted_hook.requests().is_empty());

    // Fired at 13, repeated at 15 and 17 (every 2 minutes), resolved at 18.
    let repeats: Vec<String> = repeat_hook
        .requests()
        .iter()
        .map(|r| r.json()["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(repeats, ["firing", "firing", "firing", "resolved"]);

    // The backtest replays the same rule over the same half hour and finds the same firing
    // period as the live evaluation did: minutes 13 to 18.
    let bt = sightline::alerts::backtest::backtest(&*s.backend, &cfg, &slow, at(25), 30 * MIN_MS)
        .await
        .unwrap();
    assert_eq!(
        bt.firing,
        [(BASE_MS + 13 * MIN_MS, Some(BASE_MS + 18 * MIN_MS))]
    );
    assert_eq!(bt.steps, 31);
    let line = &bt.lines[&Default::default()];
    let p13 = line
        .iter()
        .find(|p| p.t_ms == BASE_MS + 13 * MIN_MS)
        .unwrap();
    assert_eq!(p13.threshold, Some(threshold));
    assert!(p13.value.unwrap() > threshold);
}

#[tokio::test]
async fn latency_spike_pages_once_then_resolves_sqlite() {
    latency_spike_pages_once_then_resolves(TestDb::sqlite()).await;
}

#[tokio::test]
async fn latency_spike_pages_once_then_resolves_postgres() {
    latency_spike_pages_once_then_resolves(TestDb::postgres().await).await;
}

/// An evaluation error is the rule's visible state, and the next good one clears it.
async fn evaluation_errors_are_visible(db: TestDb) {
    let s = TestServer::start(db).await;
    let store = s.backend.alerts();
    let rule = RuleSpec {
        name: "cost".into(),
        channels: vec!["nowhere".into()],
        ..presets()[4].clone()
    };
    let id = store.create_rule(&rule, Source::Ui, BASE_MS).await.unwrap();
    let engine = Engine::new(
        s.backend.clone(),
        RollupConfig::default(),
        "http://x".into(),
    );
    let round = engine.evaluate_due(at(1)).await.unwrap();
    assert_eq!((round.evaluated, round.failed), (1, 1));
    let stored = store.get_rule(id).await.unwrap().unwrap();
    assert_eq!(
        stored.eval_error.as_deref(),
        Some("channels: no channel named \"nowhere\"")
    );
    assert_eq!(stored.last_eval_ms, Some(at(1)));
    // Not due again until its interval has passed.
    assert_eq!(
        engine.evaluate_due(at(1) + 1000).await.unwrap().evaluated,
        0
    );
    store
        .create_channel(
            "nowhere",
            &ChannelConfig::Webhook(WebhookConfig {
                url: "http://127.0.0.1:9/".into(),
                secret: None,
            }),
            Source::Ui,
            BASE_MS,
        )
        .await
        .unwrap();
    let round = engine.evaluate_due(at(2)).await.unwrap();
    assert_eq!((round.evaluated, round.failed), (1, 0));
    assert_eq!(store.get_rule(id).await.unwrap().unwrap().eval_error, None);
    // Disabled rules are not evaluated.
    let off = RuleSpec {
        enabled: false,
        ..rule
    };
    assert!(store.update_rule(id, &off, BASE_MS).await.unwrap());
    assert_eq!(engine.evaluate_due(at(5)).await.unwrap().evaluated, 0);
}

#[tokio::test]
async fn evaluation_errors_are_visible_sqlite() {
    evaluation_errors_are_visible(TestDb::sqlite()).await;
}

#[tokio::test]
async fn evaluation_errors_are_visible_postgres() {
    evaluation_errors_are_visible(TestDb::postgres().await).await;
}

/// Rules and channels from a file replace what the file defined before, leave UI ones alone,
/// and a name taken twice is a conflict.
#[tokio::test]
async fn file_rules_sync_and_names_are_unique() {
    let s = TestServer::start(TestDb::sqlite()).await;
    let store = s.backend.alerts();
    let p = presets();
    let ui = store.create_rule(&p[0], Source::Ui, 1).await.unwrap();
    let err = store.create_rule(&p[0], Source::Ui, 1).await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(store.sync_file_rules(&p[1..3], 2).await.unwrap(), (2, 0, 0));
    assert_eq!(store.sync_file_rules(&p[1..3], 3).await.unwrap(), (0, 0, 0));
    let changed = RuleSpec {
        threshold: 0.05,
        ..p[1].clone()
    };
    assert_eq!(
        store
            .sync_file_rules(&[changed, p[3].clone()], 4)
            .await
            .unwrap(),
        (1, 1, 1)
    );
    let rules = store.list_rules().await.unwrap();
    let names: Vec<_> = rules
        .iter()
        .map(|r| (r.spec.name.as_str(), r.source))
        .collect();
    assert_eq!(
        names,
        [
            ("Cache-hit rate below 30%", Source::File),
            ("Error rate above 1%", Source::File),
            ("P95 latency above 1.5 s", Source::Ui),
        ]
    );
    assert!(rules.iter().any(|r| r.id == ui));
}

/// Replicas starting together with the same `--rules-file` on one PostgreSQL: each syncs in
/// its own transaction; they take turns, so neither fails on a rule name the other just
/// inserted, and the rules exist once.
#[tokio::test]
async fn replicas_syncing_one_rules_file_together_both_succeed() {
    let db = TestDb::postgres().await;
    let presets = presets();
    let url = db.url();
    let (a, b) = tokio::join!(
        sightline::store::connect(&url),
        sightline::store::connect(&url)
    );
    let (a, b) = (a.unwrap().alerts(), b.unwrap().alerts());
    for round in 0..5 {
        // Each round renames the rules, so each is a fresh set of inserts that can collide.
        let specs: Vec<RuleSpec> = presets
            .iter()
            .map(|p| RuleSpec {
                name: format!("{} ({round})", p.name),
                ..p.clone()
            })
            .collect();
        let (ra, rb) = tokio::join!(a.sync_file_rules(&specs, 1), b.sync_file_rules(&specs, 1));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        // One created them (and removed the previous round's), the other found them synced.
        assert_eq!(ra.0 + rb.0, specs.len(), "round {round}: {ra:?} {rb:?}");
        let names: Vec<String> = a
            .list_rules()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.spec.name)
            .collect();
        assert_eq!(names.len(), specs.len(), "round {round}: {names:?}");
    }
}
