//! The sessions pages' reads through the app's `Contract`, against both databases: demo
//! traces ingested over OTLP/HTTP come back grouped by session with the right counts and
//! sums, newest activity first, every session exactly once across pages, and one session's
//! traces in start order.

mod common;

use std::collections::{BTreeMap, HashSet};

use app::contract::Contract;
use app::AppError;
use common::{TestDb, TestServer};
use sightline::demo::{resource, DemoTrace, Workload};
use sightline::query::Query;

/// 2026-11-23, the time of the protocol captures.
const T0: i64 = 1_795_464_000_000_000_000;

async fn ingest(s: &TestServer, traces: &[DemoTrace]) {
    s.ingest_demo(traces, &resource("mangaassist")).await;
}

/// What the demo says each session holds, in trace order.
fn expected(traces: &[DemoTrace]) -> BTreeMap<String, Vec<&DemoTrace>> {
    let mut by_session: BTreeMap<String, Vec<&DemoTrace>> = BTreeMap::new();
    for t in traces {
        by_session
            .entry(t.meta.session_id.clone())
            .or_default()
            .push(t);
    }
    by_session
}

async fn sessions_roll_up_their_traces_and_page_once(db: TestDb) {
    let s = TestServer::start(db).await;
    // 0.7 s apart: shorter than many traces, so a session's last trace can end after the
    // next session has started (`last_ms` is the latest end, not the latest start).
    let traces = Workload::new(42).traces(60, T0, 700_000_000);
    ingest(&s, &traces).await;
    let want = expected(&traces);
    assert!(want.len() > 5, "the demo makes several sessions");
    assert!(
        want.values().any(|v| v.len() > 1),
        "some with several messages"
    );
    let q = Query::new(s.backend.clone());

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = q.list_sessions(cursor.clone(), 4).await.unwrap();
        assert!(page.sessions.len() <= 4);
        seen.extend(page.sessions);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let ids: Vec<&str> = seen.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(
        ids.iter().copied().collect::<HashSet<_>>().len(),
        ids.len(),
        "no session twice: {ids:?}"
    );
    assert_eq!(ids.len(), want.len(), "every session once");
    assert!(
        seen.windows(2)
            .all(|w| (w[0].last_ms, &w[0].session_id) >= (w[1].last_ms, &w[1].session_id)),
        "newest activity first"
    );

    for got in &seen {
        let msgs = &want[&got.session_id];
        assert_eq!(got.trace_count, msgs.len() as i64, "{}", got.session_id);
        assert_eq!(got.user_id, msgs[0].meta.user_id, "{}", got.session_id);
        assert_eq!(
            got.first_ms,
            msgs.iter().map(|t| t.meta.start_ns).min().unwrap() / 1_000_000
        );
        assert_eq!(
            got.last_ms,
            msgs.iter().map(|t| t.meta.end_ns).max().unwrap() / 1_000_000
        );
        assert_eq!(
            got.input_tokens,
            msgs.iter().map(|t| t.meta.input_tokens).sum::<i64>()
        );
        assert_eq!(
            got.output_tokens,
            msgs.iter().map(|t| t.meta.output_tokens).sum::<i64>()
        );
        assert_eq!(
            got.error_count,
            msgs.iter().filter(|t| t.meta.error).count() as i64,
            "{}",
            got.session_id
        );

        // The session page agrees with the list and replays the messages in order.
        let detail = q.get_session(got.session_id.clone()).await.unwrap();
        assert_eq!(&detail.summary.session_id, &got.session_id);
        assert_eq!(detail.summary.trace_count, got.trace_count);
        assert_eq!(detail.summary.input_tokens, got.input_tokens);
        assert_eq!(detail.summary.last_ms, got.last_ms);
        assert_eq!(detail.summary.error_count, got.error_count);
        match (detail.summary.cost, got.cost) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
            (a, b) => assert_eq!(a, b),
        }
        let order: Vec<String> = detail
            .turns
            .iter()
            .map(|t| t.trace.trace_id.clone())
            .collect();
        let want_order: Vec<String> = msgs.iter().map(|t| hex::encode(t.trace_id)).collect();
        assert_eq!(order, want_order, "turns in start order");
        assert!(detail
            .turns
            .iter()
            .all(|t| t.trace.session_id.as_deref() == Some(got.session_id.as_str())));
        assert!(detail
            .turns
            .iter()
            .all(|t| t.trace.request_preview.is_some()));
        assert!(
            detail
                .turns
                .iter()
                .filter(|t| !t.trace.status.eq(&app::types::TraceStatus::Error))
                .all(|t| t.response_preview.is_some()),
            "answered turns carry their response"
        );
    }
    assert!(seen.iter().any(|s| s.cost.is_some_and(|c| c > 0.0)));
    s.shutdown().await;
}

async fn unknown_session_and_bad_cursor_are_errors(db: TestDb) {
    let s = TestServer::start(db).await;
    ingest(&s, &Workload::new(42).traces(5, T0, 1_000_000_000)).await;
    let q = Query::new(s.backend.clone());
    assert!(matches!(
        q.get_session("sess-nope".into()).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        q.list_sessions(Some("not a cursor".into()), 10).await,
        Err(AppError::Invalid { .. })
    ));
    let all = q.list_sessions(None, 500).await.unwrap();
    assert!(all.next_cursor.is_none());
    assert!(!all.sessions.is_empty());
    s.shutdown().await;
}

both_backends!(
    sessions_roll_up_their_traces_and_page_once,
    unknown_session_and_bad_cursor_are_errors,
);
