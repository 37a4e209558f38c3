//! Tail sampling of payloads, end to end on both databases: error and slow traces keep their
//! payloads, a share of the rest does, the others keep their span tree, timings, tokens and
//! cost; rollups (here `/metrics`) count every trace; searches see only kept text.

mod common;

use std::sync::Arc;

use app::types::TraceListQuery;
use common::{list_traces, Options, TestDb, TestServer};
use serde_json::json;
use sightline::demo::{resource, Knobs, Workload};
use sightline::model::parse_trace_id;
use sightline::rollup::RollupConfig;
use sightline::store::sampling::PayloadSampling;
use sightline::store::{Backend, StoredTrace};

const BASE_NS: i64 = 1_767_607_200_000_000_000;
const SEC: i64 = 1_000_000_000;
const N: usize = 300;
const RATIO: f64 = 0.25;
const SLOW_NS: i64 = 3 * SEC;

/// The demo workload's 90th percentile trace latency: the slowest tenth counts as slow.
fn p90_ns(traces: &[sightline::demo::DemoTrace]) -> i64 {
    let mut d: Vec<i64> = traces
        .iter()
        .map(|t| t.meta.end_ns - t.meta.start_ns)
        .collect();
    d.sort_unstable();
    d[d.len() * 9 / 10]
}

async fn start(db: TestDb, sampling: PayloadSampling) -> TestServer {
    let cfg = RollupConfig {
        payload_sampling: sampling,
        ..RollupConfig::default()
    };
    let backend: Arc<dyn Backend> = sightline::store::connect_with(&db.url(), cfg)
        .await
        .expect("connect + migrate");
    TestServer::start_backend(db, backend, Options::default()).await
}

fn has_payload(t: &StoredTrace) -> bool {
    t.spans.iter().any(|s| !s.payload.attributes.is_empty())
}

async fn search(s: &TestServer, filter: &str) -> Vec<String> {
    list_traces(
        s,
        TraceListQuery {
            filter: filter.into(),
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{filter}: {e}"))
    .traces
    .into_iter()
    .map(|t| t.trace_id)
    .collect()
}

async fn errors_and_slow_traces_keep_payloads_a_share_of_the_rest_does(db: TestDb) {
    let traces = Workload::new(5)
        .with_knobs(Knobs {
            error_rate: Some(0.1),
            ..Knobs::default()
        })
        .traces(N, BASE_NS, SEC / 2);
    let slow_ns = p90_ns(&traces);
    let s = start(
        db,
        PayloadSampling {
            keep_ratio: RATIO,
            slow_ns,
        },
    )
    .await;
    let res = resource("sampling-test");
    for chunk in traces.chunks(30) {
        s.ingest_demo(chunk, &res).await;
    }
    let mut stored = Vec::new();
    for t in &traces {
        stored.push(s.backend.get_trace(&t.trace_id).await.unwrap().unwrap());
    }

    let (mut errors, mut slow, mut ordinary, mut kept) = (0, 0, 0, 0);
    let (mut dropped_tokens, mut dropped_models) = (0, 0);
    for t in &stored {
        let r = &t.record;
        assert_eq!(
            r.span_count as usize,
            t.spans.len(),
            "the span tree is whole"
        );
        assert_eq!(r.payload_dropped, !has_payload(t), "flag and payload agree");
        if r.error_count > 0 {
            errors += 1;
            assert!(has_payload(t), "error traces keep their payloads");
        } else if r.duration_ns().unwrap() >= slow_ns {
            slow += 1;
            assert!(has_payload(t), "slow traces keep their payloads");
        } else {
            ordinary += 1;
            kept += usize::from(has_payload(t));
        }
        if r.payload_dropped {
            assert_eq!(r.request_preview, None);
            assert!(t.spans.iter().all(|s| s.payload.events.is_empty()));
            // What the waterfall, the totals and the cost columns need is all there.
            dropped_tokens += r.input_tokens;
            dropped_models += t.spans.iter().filter(|s| s.model.is_some()).count();
        }
    }
    assert!(
        errors > 5 && slow > 5 && ordinary > 100,
        "the workload has all three kinds: {errors} errors, {slow} slow, {ordinary} ordinary"
    );
    assert!(dropped_tokens > 0 && dropped_models > 0);
    let share = kept as f64 / ordinary as f64;
    assert!(
        (RATIO - 0.1..=RATIO + 0.1).contains(&share),
        "kept {kept} of {ordinary} ordinary traces"
    );

    // Rollups count every trace, sampled or not.
    let text = TestServer::client()
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total: f64 = text
        .lines()
        .filter(|l| l.starts_with("sightline_traces_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total as usize, N);

    // Span text search sees only kept payloads; the flag is a filter.
    let found = search(&s, "span.content LIKE '%e%'").await;
    let dropped: Vec<String> = stored
        .iter()
        .filter(|t| t.record.payload_dropped)
        .map(|t| hex::encode(t.record.trace_id))
        .collect();
    assert!(!found.is_empty());
    assert!(found.iter().all(|id| !dropped.contains(id)));
    s.shutdown().await;
}

fn span(trace: &str, id: &str, parent: Option<&str>, name: &str, error: bool) -> serde_json::Value {
    let start = BASE_NS + SEC;
    json!({
        "traceId": trace,
        "spanId": id,
        "parentSpanId": parent.unwrap_or(""),
        "name": name,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + SEC / 10).to_string(),
        "attributes": [{"key": "input.value", "value": {"stringValue": format!("question for {name}")}}],
        "status": {"code": if error { 2 } else { 1 }},
    })
}

async fn post(s: &TestServer, spans: Vec<serde_json::Value>) {
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]});
    let r = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn pieces_before_and_after_the_root_follow_the_decision(db: TestDb) {
    let s = start(
        db,
        PayloadSampling {
            keep_ratio: 0.0,
            slow_ns: SLOW_NS,
        },
    )
    .await;
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let id = parse_trace_id(trace).unwrap();
    // A child first: nothing is decided without the root, so it is stored and searchable.
    post(
        &s,
        vec![span(
            trace,
            "00f067aa0ba902b1",
            Some("00f067aa0ba902b0"),
            "early",
            false,
        )],
    )
    .await;
    assert_eq!(search(&s, "span.content LIKE '%for early%'").await, [trace]);
    // The root: an ordinary trace, ratio 0, so the early child loses its payload too.
    post(
        &s,
        vec![span(trace, "00f067aa0ba902b0", None, "root", false)],
    )
    .await;
    let t = s.backend.get_trace(&id).await.unwrap().unwrap();
    assert!(t.record.payload_dropped);
    assert!(!has_payload(&t), "{:?}", t.spans);
    assert_eq!(
        search(&s, "span.content LIKE '%for early%'").await,
        Vec::<String>::new()
    );
    // A late ordinary child is stored without payload; a late failing one keeps it.
    post(
        &s,
        vec![span(
            trace,
            "00f067aa0ba902b2",
            Some("00f067aa0ba902b0"),
            "late",
            false,
        )],
    )
    .await;
    post(
        &s,
        vec![span(
            trace,
            "00f067aa0ba902b3",
            Some("00f067aa0ba902b0"),
            "failed",
            true,
        )],
    )
    .await;
    let t = s.backend.get_trace(&id).await.unwrap().unwrap();
    assert_eq!(t.spans.len(), 4);
    for sp in &t.spans {
        assert_eq!(
            sp.payload.attributes.is_empty(),
            sp.name != "failed",
            "{}",
            sp.name
        );
    }
    assert_eq!(t.record.error_count, 1);
    s.shutdown().await;
}

both_backends!(
    errors_and_slow_traces_keep_payloads_a_share_of_the_rest_does,
    pieces_before_and_after_the_root_follow_the_decision,
);
