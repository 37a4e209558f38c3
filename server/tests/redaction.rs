//! PII redaction at ingest, end to end: OTLP spans (attributes, events, status, resource) and
//! MLflow trace info go in with personal data; what is stored, indexed, searched and shown
//! holds only `[REDACTED:<detector>]`, and each trace counts its redactions.

mod common;

use app::types::TraceListQuery;
use common::{list_traces, Options, TestDb, TestServer};
use serde_json::{json, Value};
use sightline::model::parse_trace_id;
use sightline::normalize::RedactionConfig;
use sightline::store::StoredTrace;

const TRACE_HEX: &str = "5b8efff798038103d269b633813fc60c";
const INFO_TRACE: &str = "6c9f0008a9149214e37ac744924ad71d";
const EMAIL: &str = "jane.doe@example.com";
const CARD: &str = "4111 1111 1111 1111";
/// Strings that must not be found anywhere once stored.
const SECRETS: [&str; 8] = [
    EMAIL,
    CARD,
    "415-555-0132",
    "ORD-123456",
    "bob@example.org",
    "sk-abcdefghijklmnopqrstuvwx",
    "carol@example.net",
    "dave@example.io",
];

fn redaction() -> RedactionConfig {
    RedactionConfig {
        patterns: vec![r"order=ORD-\d{6}".into()],
        detectors: vec![
            "email".into(),
            "credit_card".into(),
            "phone".into(),
            "secret".into(),
            "order".into(),
        ],
        keys: vec!["contact.*=none".into()],
    }
}

fn otlp_request() -> Value {
    let kv = |k: &str, v: Value| json!({"key": k, "value": v});
    json!({"resourceSpans": [{
        "resource": {"attributes": [
            kv("service.name", json!({"stringValue": "manga-bot"})),
            kv("enduser.id", json!({"stringValue": "carol@example.net"})),
        ]},
        "scopeSpans": [{"spans": [{
            "traceId": TRACE_HEX,
            "spanId": "a1a2a3a4a5a6a7a8",
            "name": "chat",
            "kind": 3,
            "startTimeUnixNano": "1795464324982330845",
            "endTimeUnixNano": "1795464325982330845",
            "attributes": [
                kv("openinference.span.kind", json!({"stringValue": "LLM"})),
                kv("input.value", json!({"stringValue": format!(
                    "My card is {CARD}, mail {EMAIL}, call +1 415-555-0132, order ORD-123456"
                )})),
                kv("output.value", json!({"stringValue": format!("Noted, {EMAIL}")})),
                kv("contact.email", json!({"stringValue": "ops@example.com"})),
                kv("llm.token_count.prompt", json!({"intValue": "12"})),
            ],
            "events": [{
                "name": "exception",
                "timeUnixNano": "1795464325000000000",
                "attributes": [kv("exception.message", json!({"stringValue": "user bob@example.org failed"}))],
            }],
            "status": {"code": 2, "message": "token sk-abcdefghijklmnopqrstuvwx leaked"},
        }]}],
    }]})
}

/// The whole database as text, for "nowhere" checks: every table of the SQLite file (span
/// payloads are compressed, so the search table and previews are what could leak), or every
/// row of PostgreSQL's tables.
async fn all_text(s: &TestServer) -> String {
    let url = s.db.url();
    let mut out = String::new();
    if url.starts_with("sqlite") {
        use sqlx::{Connection, Row};
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for table in ["traces", "trace_tags", "span_search"] {
            let cols: Vec<String> =
                sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&mut c)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect();
            for col in cols {
                for r in sqlx::query(&format!(
                    "SELECT CASE WHEN typeof({col}) = 'text' THEN {col} END FROM {table}"
                ))
                .fetch_all(&mut c)
                .await
                .unwrap()
                {
                    out.push_str(&r.get::<Option<String>, _>(0).unwrap_or_default());
                    out.push('\n');
                }
            }
        }
    } else {
        use sqlx::{Connection, Row};
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        for table in ["traces", "trace_tags", "span_search"] {
            for r in sqlx::query(&format!("SELECT x::text FROM {table} x"))
                .fetch_all(&mut c)
                .await
                .unwrap()
            {
                out.push_str(&r.get::<String, _>(0));
                out.push('\n');
            }
        }
    }
    out
}

async fn stored(s: &TestServer, trace_hex: &str) -> StoredTrace {
    s.backend
        .get_trace(&parse_trace_id(trace_hex).unwrap())
        .await
        .unwrap()
        .expect("stored")
}

async fn ids(s: &TestServer, filter: &str) -> Vec<String> {
    let page = list_traces(
        s,
        TraceListQuery {
            filter: filter.into(),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut ids: Vec<String> = page.traces.into_iter().map(|t| t.trace_id).collect();
    ids.sort();
    ids
}

async fn pii_is_redacted_before_anything_is_stored(db: TestDb) {
    let s = TestServer::start_with(
        db,
        Options {
            redaction: redaction(),
            ..Options::default()
        },
    )
    .await;
    let c = TestServer::client();
    let r = c
        .post(format!("{}/v1/traces", s.base))
        .json(&otlp_request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let r = c
        .post(format!("{}/api/3.0/mlflow/traces", s.base))
        .json(&json!({"trace": {"trace_info": {
            "trace_id": format!("tr-{INFO_TRACE}"),
            "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}},
            "request_time": "2026-11-24T10:00:00Z",
            "execution_duration": "1.5s",
            "state": "OK",
            "request_preview": "{\"question\": \"is dave@example.io subscribed?\"}",
            "trace_metadata": {"mlflow.trace.user": "dave@example.io"},
            "tags": {"callback": "+1 415-555-0132"},
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // --- the OTLP trace: every string went through the detectors
    let t = stored(&s, TRACE_HEX).await;
    let span = &t.spans[0];
    let a = &span.payload.attributes;
    assert_eq!(
        a["input.value"],
        "My card is [REDACTED:credit_card], mail [REDACTED:email], call [REDACTED:phone], \
         order [REDACTED:order]"
    );
    assert_eq!(a["output.value"], "Noted, [REDACTED:email]");
    assert_eq!(a["contact.email"], "ops@example.com", "a `none` key policy");
    assert_eq!(a["llm.token_count.prompt"], 12);
    assert_eq!(a["sightline.redactions"], 7, "4 + 1 + event + status");
    assert_eq!(
        span.payload.events[0].attributes["exception.message"],
        "user [REDACTED:email] failed"
    );
    assert_eq!(span.status_message, "token [REDACTED:secret] leaked");
    assert_eq!(span.input_tokens, Some(12), "facts still derive");
    assert_eq!(t.record.redactions, 8, "the span's 7 and the resource's 1");
    assert_eq!(
        t.tags.get("enduser.id").map(String::as_str),
        Some("[REDACTED:email]"),
        "resource attributes become tags after redaction"
    );
    let preview = t.record.request_preview.clone().unwrap_or_default();
    assert!(preview.contains("[REDACTED:credit_card]"), "{preview}");

    // --- the MLflow trace info: previews, metadata and tags
    let info = stored(&s, INFO_TRACE).await;
    assert_eq!(
        info.record.request_preview.as_deref(),
        Some("{\"question\": \"is [REDACTED:email] subscribed?\"}")
    );
    assert_eq!(info.record.user_id.as_deref(), Some("[REDACTED:email]"));
    assert_eq!(
        info.tags.get("callback").map(String::as_str),
        Some("[REDACTED:phone]")
    );
    assert_eq!(info.record.redactions, 3);

    // --- a tag set later through the MLflow API is redacted too
    let r = c
        .patch(format!(
            "{}/api/3.0/mlflow/traces/tr-{INFO_TRACE}/tags",
            s.base
        ))
        .json(&json!({"key": "note", "value": "ask dave@example.io"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let info = stored(&s, INFO_TRACE).await;
    assert_eq!(
        info.tags.get("note").map(String::as_str),
        Some("ask [REDACTED:email]")
    );

    // --- search finds the redacted text, never the original; redacted traces are findable
    assert_eq!(
        ids(&s, "span.content LIKE '%jane.doe%'").await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&s, "span.content LIKE '%REDACTED:credit_card%'").await,
        vec![TRACE_HEX.to_string()]
    );
    let mut both = vec![TRACE_HEX.to_string(), INFO_TRACE.to_string()];
    both.sort();
    assert_eq!(ids(&s, "redactions > 0").await, both);
    assert_eq!(
        ids(&s, "redactions >= 8").await,
        vec![TRACE_HEX.to_string()]
    );

    // --- and nowhere in the database
    let text = all_text(&s).await;
    assert!(
        text.contains("[REDACTED:email]"),
        "the check reads the tables"
    );
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret:?} was stored");
    }
    s.shutdown().await;
}

async fn without_redaction_values_are_stored_as_sent(db: TestDb) {
    let s = TestServer::start(db).await;
    let r = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .json(&otlp_request())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = stored(&s, TRACE_HEX).await;
    let a = &t.spans[0].payload.attributes;
    assert!(a["input.value"].as_str().unwrap().contains(EMAIL));
    assert!(!a.contains_key("sightline.redactions"));
    assert_eq!(t.record.redactions, 0);
    assert_eq!(ids(&s, "redactions > 0").await, Vec::<String>::new());
    s.shutdown().await;
}

both_backends!(
    pii_is_redacted_before_anything_is_stored,
    without_redaction_values_are_stored_as_sent,
);
