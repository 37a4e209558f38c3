//! The price table through the prices page's server functions, over HTTP, against a real
//! server and both databases: an edit prices the next ingested span at once (no restart),
//! spans already stored keep their cost, a price effective later does not apply now, and bad
//! fields are refused with a 400 naming them.

mod common;

use app::types::{PriceList, PriceRow};
use common::{TestDb, TestServer};
use leptos::server_fn::ServerFn;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use sightline::model::TraceId;

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Posts a server function's form fields; answers the status and the JSON body.
async fn call<F: ServerFn>(s: &TestServer, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let r = TestServer::client()
        .post(format!("{}{}", s.base, F::PATH))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, body)
}

async fn save(
    s: &TestServer,
    model: &str,
    rates: [&str; 3],
    date: &str,
) -> (u16, serde_json::Value) {
    call::<app::api::prices::SavePrice>(
        s,
        &[
            ("model", model),
            ("provider", "acme"),
            ("input_per_mtok", rates[0]),
            ("output_per_mtok", rates[1]),
            ("cached_input_per_mtok", rates[2]),
            ("effective_from", date),
        ],
    )
    .await
}

async fn list(s: &TestServer, filter: &str) -> PriceList {
    let (status, body) = call::<app::api::prices::ListPrices>(s, &[("model", filter)]).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

fn date(ms: i64) -> String {
    app::api::prices::date_of(ms)
}

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Sends one LLM span of `model` that started just now: 1,000 input tokens of which 100
/// were cache reads, and 500 output tokens. Answers its trace id.
async fn ingest_llm_call(s: &TestServer, model: &str, seed: u8) -> TraceId {
    let trace_id: TraceId = [seed; 16];
    let start_ns = (now_ms() as u64 - 1_000) * 1_000_000;
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![seed; 8],
        name: "chat".into(),
        start_time_unix_nano: start_ns,
        end_time_unix_nano: start_ns + 500_000_000,
        attributes: vec![
            attr(
                "gen_ai.operation.name",
                any_value::Value::StringValue("chat".into()),
            ),
            attr(
                "gen_ai.request.model",
                any_value::Value::StringValue(model.into()),
            ),
            attr(
                "gen_ai.usage.input_tokens",
                any_value::Value::IntValue(1_000),
            ),
            attr(
                "gen_ai.usage.output_tokens",
                any_value::Value::IntValue(500),
            ),
            attr(
                "gen_ai.usage.cache_read_input_tokens",
                any_value::Value::IntValue(100),
            ),
        ],
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource::default()),
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let r = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    trace_id
}

/// The stored cost of the trace's one span and of the trace.
async fn costs(s: &TestServer, trace_id: &TraceId) -> (Option<f64>, Option<f64>) {
    let trace = s
        .backend
        .get_trace(trace_id)
        .await
        .unwrap()
        .expect("trace stored");
    assert_eq!(trace.spans.len(), 1);
    (trace.spans[0].cost, trace.record.cost)
}

/// (1000 − 100) × input + 100 × cached + 500 × output, per million tokens.
fn expected(input: f64, output: f64, cached: f64) -> f64 {
    (900.0 * input + 100.0 * cached + 500.0 * output) / 1e6
}

fn assert_cost(got: Option<f64>, want: f64) {
    let got = got.expect("span is priced");
    assert!((got - want).abs() < 1e-12, "cost {got}, expected {want}");
}

async fn edited_price_prices_the_next_span_without_a_restart(db: TestDb) {
    let s = TestServer::start(db).await;
    let model = "acme-chat-1";
    let before = ingest_llm_call(&s, model, 1).await;
    assert_eq!(
        costs(&s, &before).await,
        (None, None),
        "unknown model: no cost"
    );

    let from = date(now_ms() - 30 * DAY_MS);
    let (status, body) = save(&s, "  Acme-Chat-1 ", ["2", "8", "0.5"], &from).await;
    assert_eq!(status, 200, "{body}");
    let row: PriceRow = serde_json::from_value(body).unwrap();
    assert_eq!(row.model, model, "stored lowercase and trimmed");

    let first = ingest_llm_call(&s, "acme-chat-1-2026-06-01", 2).await;
    let (span_cost, trace_cost) = costs(&s, &first).await;
    assert_cost(span_cost, expected(2.0, 8.0, 0.5));
    assert_cost(trace_cost, expected(2.0, 8.0, 0.5));

    // Same model and date: the row is updated in place, not duplicated.
    let (status, body) = save(&s, model, ["4", "16", ""], &from).await;
    assert_eq!(status, 200, "{body}");
    let listed = list(&s, "acme").await;
    assert_eq!(listed.models.len(), 1);
    assert_eq!(listed.models[0].history.len(), 1, "{listed:?}");
    let current = listed.models[0].current.as_ref().unwrap();
    assert_eq!(
        (current.input_per_mtok, current.cached_input_per_mtok),
        (4.0, None)
    );
    assert_eq!(current.provider.as_deref(), Some("acme"));

    let second = ingest_llm_call(&s, model, 3).await;
    // No cached rate: cache reads cost the input price.
    assert_cost(costs(&s, &second).await.0, expected(4.0, 16.0, 4.0));
    // Stored spans are not repriced.
    assert_cost(costs(&s, &first).await.0, expected(2.0, 8.0, 0.5));
    assert_eq!(costs(&s, &before).await, (None, None));

    // Deleting the only row stops pricing new spans of the model at once, too.
    let (status, body) =
        call::<app::api::prices::DeletePrice>(&s, &[("model", model), ("effective_from", &from)])
            .await;
    assert_eq!(status, 200, "{body}");
    assert!(list(&s, "acme").await.models.is_empty());
    let third = ingest_llm_call(&s, model, 4).await;
    assert_eq!(costs(&s, &third).await, (None, None));
    s.shutdown().await;
}

async fn price_effective_later_does_not_apply_to_a_span_now(db: TestDb) {
    let s = TestServer::start(db).await;
    let model = "acme-chat-2";
    let past = date(now_ms() - 10 * DAY_MS);
    let later = date(now_ms() + 2 * DAY_MS);
    assert_eq!(save(&s, model, ["1", "2", "0.1"], &past).await.0, 200);
    assert_eq!(save(&s, model, ["100", "200", "10"], &later).await.0, 200);

    let t = ingest_llm_call(&s, model, 5).await;
    assert_cost(costs(&s, &t).await.0, expected(1.0, 2.0, 0.1));

    let listed = list(&s, "chat-2").await;
    let m = &listed.models[0];
    assert_eq!(
        m.history
            .iter()
            .map(|r| date(r.effective_from_ms))
            .collect::<Vec<_>>(),
        [later, past.clone()],
        "latest effective date first"
    );
    assert_eq!(
        m.current.as_ref().map(|c| date(c.effective_from_ms)),
        Some(past)
    );
    s.shutdown().await;
}

async fn bad_fields_are_refused_with_400_naming_them(db: TestDb) {
    let s = TestServer::start(db).await;
    let long = "m".repeat(201);
    let cases: [(&str, [&str; 3], &str, &str); 7] = [
        ("   ", ["1", "1", ""], "2026-01-01", "model"),
        (&long, ["1", "1", ""], "2026-01-01", "model"),
        ("acme-x", ["abc", "1", ""], "2026-01-01", "input_per_mtok"),
        ("acme-x", ["1", "-2", ""], "2026-01-01", "output_per_mtok"),
        (
            "acme-x",
            ["1", "1", "NaN"],
            "2026-01-01",
            "cached_input_per_mtok",
        ),
        ("acme-x", ["1", "1", ""], "2026-02-30", "effective_from"),
        ("acme-x", ["1", "1", ""], "tomorrow", "effective_from"),
    ];
    for (model, rates, day, field) in cases {
        let (status, body) = save(&s, model, rates, day).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["Invalid"]["field"], field, "{body}");
        assert!(
            !body["Invalid"]["message"].as_str().unwrap_or("").is_empty(),
            "{body}"
        );
    }
    assert!(list(&s, "acme").await.models.is_empty(), "nothing stored");

    let (status, body) = call::<app::api::prices::DeletePrice>(
        &s,
        &[("model", "acme-x"), ("effective_from", "2026-01-01")],
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call::<app::api::prices::DeletePrice>(
        &s,
        &[("model", "acme-x"), ("effective_from", "01/01/2026")],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["Invalid"]["field"], "effective_from");
    s.shutdown().await;
}

both_backends!(
    edited_price_prices_the_next_span_without_a_restart,
    price_effective_later_does_not_apply_to_a_span_now,
    bad_fields_are_refused_with_400_naming_them,
);
