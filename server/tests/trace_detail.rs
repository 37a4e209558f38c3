//! The trace page's reads through the app's `Contract`, against both databases: the span
//! tree without payloads, one span's detail with the conversation recovered from the demo's
//! `llm_call`, an exception with its stack trace, and missing or malformed ids.

mod common;

use app::contract::Contract;
use app::AppError;
use common::{TestDb, TestServer};
use sightline::demo::{resource, DemoTrace, Knobs, Workload};
use sightline::query::Query;

/// 2026-11-23, the time of the protocol captures.
const T0: i64 = 1_795_464_000_000_000_000;

async fn ingest(s: &TestServer, traces: &[DemoTrace]) {
    s.ingest_demo(traces, &resource("mangaassist")).await;
}

async fn demo_trace_tree_and_llm_span_detail(db: TestDb) {
    let s = TestServer::start(db).await;
    let traces = Workload::new(42).traces(40, T0, 1_000_000_000);
    ingest(&s, &traces).await;
    let q = Query::new(s.backend.clone());
    let miss = traces
        .iter()
        .find(|t| !t.meta.cache_hit && !t.meta.error)
        .expect("a cache miss in 40 traces");
    let id = hex::encode(miss.trace_id);

    let tree = q.get_trace_tree(id.clone()).await.unwrap();
    assert_eq!(tree.summary.trace_id, id);
    assert_eq!(tree.spans.len(), 20);
    let root = &tree.spans[0];
    assert_eq!(
        (root.name.as_str(), root.parent_span_id.as_deref()),
        ("chat_request", None)
    );
    assert_eq!(root.start_offset_ms, 0.0);
    assert!((root.duration_ms - miss.meta.duration_ms()).abs() < 0.01);
    assert!(
        tree.spans
            .windows(2)
            .all(|w| w[0].start_offset_ms <= w[1].start_offset_ms),
        "spans come ordered by start"
    );
    for sp in &tree.spans[1..] {
        let parent = sp.parent_span_id.as_deref().expect("one root");
        assert!(
            tree.spans.iter().any(|p| p.span_id == parent),
            "{}",
            sp.name
        );
        assert!(
            sp.start_offset_ms > 0.0 && sp.duration_ms > 0.0,
            "{}",
            sp.name
        );
    }
    assert!(tree
        .tags
        .contains(&("intent".to_string(), miss.meta.intent.to_string())));
    let llm_id = hex::encode(miss.meta.llm_span_id.unwrap());
    let llm = tree.spans.iter().find(|n| n.span_id == llm_id).unwrap();
    assert_eq!(
        (llm.name.as_str(), llm.kind.as_str()),
        ("llm_call", "CHAT_MODEL")
    );
    assert_eq!(llm.input_tokens, Some(miss.meta.input_tokens));
    assert!(llm.model.is_some() && llm.cost.unwrap_or(0.0) > 0.0);
    // MLflow's id form names the same trace.
    let again = q.get_trace_tree(format!("tr-{id}")).await.unwrap();
    assert_eq!(again.spans.len(), 20);

    let d = q.get_span(id.clone(), llm_id.clone()).await.unwrap();
    assert_eq!(&d.node, llm, "the detail's node matches the tree's");
    let chat = d.chat.expect("the llm_call holds a conversation");
    let roles: Vec<&str> = chat.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles.first(), Some(&"system"), "{roles:?}");
    assert_eq!(roles.last(), Some(&"assistant"), "{roles:?}");
    assert!(roles.contains(&"user"), "{roles:?}");
    assert!(chat.iter().all(|m| !m.content.is_empty()));
    assert!(d.inputs.as_deref().unwrap().contains("\"messages\": ["));
    assert!(d.outputs.as_deref().unwrap().contains("\"choices\""));
    assert!(d
        .attributes
        .iter()
        .any(|(k, v)| k == "gen_ai.request.model" && v.starts_with('"')));
    assert!(
        d.attributes.windows(2).all(|w| w[0].0 < w[1].0),
        "sorted by key"
    );
    assert!(d.events.is_empty());
    assert!(d.provider.is_some());

    // A span without chat inputs has none.
    let root_detail = q.get_span(id, root.span_id.clone()).await.unwrap();
    assert!(root_detail.chat.is_none());
    assert!(root_detail.inputs.is_some());
    s.shutdown().await;
}

async fn exception_event_comes_with_its_stack_trace(db: TestDb) {
    let s = TestServer::start(db).await;
    let traces = Workload::new(42)
        .with_knobs(Knobs {
            latency_factor: 1.0,
            error_rate: Some(1.0),
        })
        .traces(3, T0, 1_000_000_000);
    ingest(&s, &traces).await;
    let q = Query::new(s.backend.clone());
    let t = &traces[0];
    let id = hex::encode(t.trace_id);
    let tree = q.get_trace_tree(id.clone()).await.unwrap();
    let failed = tree
        .spans
        .iter()
        .find(|n| Some(n.name.as_str()) == t.meta.error_span)
        .expect("the failing span");
    assert!(failed.is_error() && tree.spans[0].is_error());
    let d = q.get_span(id, failed.span_id.clone()).await.unwrap();
    assert!(d.status_message.contains(": "), "{}", d.status_message);
    let exception = d
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    assert!(exception.offset_ms >= 0.0);
    assert!(exception
        .attribute("exception.stacktrace")
        .unwrap()
        .starts_with("Traceback (most recent call last):"));
    assert!(exception.attribute("exception.type").is_some());
    s.shutdown().await;
}

async fn missing_and_malformed_ids_are_named(db: TestDb) {
    let s = TestServer::start(db).await;
    let traces = Workload::new(7).traces(1, T0, 0);
    ingest(&s, &traces).await;
    let q = Query::new(s.backend.clone());
    let id = hex::encode(traces[0].trace_id);
    assert!(matches!(
        q.get_trace_tree("0".repeat(32)).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        q.get_trace_tree("xyz".into()).await,
        Err(AppError::Invalid { field, .. }) if field == "trace_id"
    ));
    assert!(matches!(
        q.get_span(id.clone(), "zz".into()).await,
        Err(AppError::Invalid { field, .. }) if field == "span_id"
    ));
    assert!(matches!(
        q.get_span(id, "00000000000000ff".into()).await,
        Err(AppError::NotFound(_))
    ));
    s.shutdown().await;
}

both_backends!(
    demo_trace_tree_and_llm_span_detail,
    exception_event_comes_with_its_stack_trace,
    missing_and_malformed_ids_are_named,
);
