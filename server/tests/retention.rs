//! Retention on both databases: with payloads kept 7 days, traces 30 days and rollups 30
//! days, a run deletes traces (spans, tags) older than 30 days and rollup cells before then,
//! drops the payloads of traces between 7 and 30 days old, keeps the rest whole, and the
//! preview counted exactly what the run then deleted.

mod common;

use common::{TestDb, TestServer};
use sightline::alerts::rule::Span;
use sightline::retention::{Policy, Retention};
use sightline::store::retention::Sweep;

const DAY_MS: i64 = 86_400_000;

async fn ingest_at(s: &TestServer, seed: u64, start_ns: i64) -> Vec<[u8; 16]> {
    let traces = sightline::demo::Workload::new(seed).traces(5, start_ns, 1_000_000_000);
    s.ingest_demo(&traces, &sightline::demo::resource("retention-test"))
        .await;
    traces.iter().map(|t| t.trace_id).collect()
}

async fn deletes_by_age(db: TestDb) {
    let s = TestServer::start(db).await;
    let now = sightline::store::now_ms();
    let old = ingest_at(&s, 1, (now - 40 * DAY_MS) * 1_000_000).await;
    let mid = ingest_at(&s, 2, (now - 10 * DAY_MS) * 1_000_000).await;
    let new = ingest_at(&s, 3, (now - 3_600_000) * 1_000_000).await;
    let mut old_spans = 0;
    for t in &old {
        old_spans += s.backend.get_trace(t).await.unwrap().unwrap().spans.len() as i64;
    }

    let retention = Retention::new(
        s.backend.retention(),
        Policy {
            payloads: Some(Span(7 * DAY_MS)),
            spans: Some(Span(30 * DAY_MS)),
            rollups: Some(Span(30 * DAY_MS)),
        },
        now,
    );
    let before = retention.sizes().await.unwrap();
    assert_eq!(before.traces, 15);
    assert_eq!(before.payload_traces, 15);
    assert!(before.bytes > 0);
    let preview = retention.preview(now).await.unwrap();
    assert_eq!(preview.traces, 5);
    assert_eq!(preview.spans, old_spans);
    assert_eq!(preview.payload_traces, 5);
    assert!(preview.rollup_cells > 0, "old traces made rollup cells");

    let deleted = retention.run(now).await.unwrap();
    assert_eq!(deleted, preview, "the run deletes what the preview counted");
    assert_eq!(retention.last().unwrap().deleted, deleted);

    for t in &old {
        assert!(s.backend.get_trace(t).await.unwrap().is_none());
    }
    for t in &mid {
        let trace = s.backend.get_trace(t).await.unwrap().unwrap();
        assert!(trace.record.payload_dropped);
        assert!(trace.record.request_preview.is_none());
        assert!(!trace.spans.is_empty());
        assert!(trace
            .spans
            .iter()
            .all(|sp| sp.payload.attributes.is_empty() && sp.payload.events.is_empty()));
        // What the trace was stays: its tree, timings and tags.
        assert!(trace.record.root_span_id.is_some());
    }
    for t in &new {
        let trace = s.backend.get_trace(t).await.unwrap().unwrap();
        assert!(!trace.record.payload_dropped);
        assert!(trace
            .spans
            .iter()
            .any(|sp| !sp.payload.attributes.is_empty()));
    }
    let after = retention.sizes().await.unwrap();
    assert_eq!(after.traces, 10);
    assert_eq!(after.payload_traces, 5);
    assert_eq!(
        after.rollup_cells,
        before.rollup_cells - deleted.rollup_cells
    );
    // Nothing is left to delete; a second run deletes nothing.
    assert_eq!(retention.preview(now).await.unwrap(), Sweep::default());
    assert_eq!(retention.run(now).await.unwrap(), Sweep::default());
    s.shutdown().await;
}

crate::both_backends!(deletes_by_age);
