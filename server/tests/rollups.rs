//! Rollups end to end on both databases: demo traces in over OTLP/HTTP, the overview board
//! out. Every figure is checked against the same figure computed exactly from the stored
//! traces and spans: counts, token and cost sums agree exactly; percentiles within the
//! sketch's stated 1% relative error.

mod common;

use std::collections::BTreeMap;

use app::contract::Contract;
use app::types::{Overview, OverviewQuery};
use common::{TestDb, TestServer};
use sightline::demo::{resource, DemoTrace, Knobs, Workload};
use sightline::model::SpanKind;
use sightline::query::Query;
use sightline::rollup::latency::RELATIVE_ACCURACY as ALPHA;
use sightline::rollup::QUARTER_DAY;
use sightline::store::StoredTrace;

/// 2026-01-05T10:00:00Z: an hour boundary well in the past, so hours can be compacted.
const BASE_NS: i64 = 1_767_607_200_000_000_000;
const SEC: i64 = 1_000_000_000;
const N: usize = 400;

fn workload() -> Vec<DemoTrace> {
    let wl = Workload::new(11).with_knobs(Knobs {
        error_rate: Some(0.05),
        ..Knobs::default()
    });
    // 400 traces, 0.6 s apart: four minutes of traffic.
    wl.traces(N, BASE_NS + 90 * SEC, 6 * SEC / 10)
}

async fn ingest(s: &TestServer, traces: &[DemoTrace]) -> Vec<StoredTrace> {
    let res = resource("rollup-test");
    for chunk in traces.chunks(40) {
        s.ingest_demo(chunk, &res).await;
    }
    let mut out = Vec::new();
    for t in traces {
        out.push(s.backend.trace_tree(&t.trace_id).await.unwrap().unwrap());
    }
    out
}

async fn board(s: &TestServer, from_ns: i64, to_ns: i64, scope: &str) -> Overview {
    let q = Query::new(s.backend.clone());
    let expr = app::filter::parse(scope).unwrap();
    q.overview(
        OverviewQuery {
            from_ms: from_ns / 1_000_000,
            to_ms: to_ns / 1_000_000,
            scope: scope.into(),
        },
        expr,
    )
    .await
    .unwrap()
}

/// The exact `q` quantile by DDSketch's rank convention, and its neighbours' range: the
/// sketch answers within `ALPHA` of a value at that rank.
fn assert_quantile(label: &str, got: Option<f64>, values: &mut [f64], q: f64) {
    values.sort_by(f64::total_cmp);
    let got = got.unwrap_or_else(|| panic!("{label}: no value"));
    let rank = (q * (values.len() - 1) as f64).floor() as usize;
    let lo = values[rank.saturating_sub(1)] * (1.0 - ALPHA) - 1e-9;
    let hi = values[(rank + 1).min(values.len() - 1)] * (1.0 + ALPHA) + 1e-9;
    assert!(
        (lo..=hi).contains(&got),
        "{label} q{q}: {got} outside [{lo}, {hi}] (exact {})",
        values[rank]
    );
}

fn ms(a: i64, b: i64) -> f64 {
    (b - a) as f64 / 1e6
}

fn is_aggregator(k: SpanKind) -> bool {
    matches!(k, SpanKind::Agent | SpanKind::Chain | SpanKind::Workflow)
}

fn check_board(
    label: &str,
    b: &Overview,
    truth: &[&StoredTrace],
    meta: &BTreeMap<[u8; 16], &DemoTrace>,
) {
    let t = &b.totals;
    assert_eq!(t.traces as usize, truth.len(), "{label}: traces");
    let errors = truth
        .iter()
        .filter(|s| {
            s.record.error_count > 0 || s.record.status == sightline::model::TraceStatus::Error
        })
        .count();
    assert_eq!(t.error_traces as usize, errors, "{label}: error traces");
    let hits = truth
        .iter()
        .filter(|s| meta[&s.record.trace_id].meta.cache_hit)
        .count();
    assert_eq!(
        (t.cache_hits as usize, t.cache_known as usize),
        (hits, truth.len()),
        "{label}: cache"
    );
    let blocked = truth
        .iter()
        .filter(|s| meta[&s.record.trace_id].meta.blocked)
        .count();
    assert_eq!(
        t.guardrail_blocks as usize, blocked,
        "{label}: blocked traces"
    );
    assert_eq!(
        t.guardrail_checks as usize,
        truth.len(),
        "{label}: every trace runs guardrails"
    );

    let mut durations: Vec<f64> = truth
        .iter()
        .map(|s| ms(s.record.start_ns, s.record.end_ns))
        .collect();
    for q in [0.5, 0.95, 0.99] {
        let got = match q {
            0.5 => t.p50_ms,
            0.95 => t.p95_ms,
            _ => t.p99_ms,
        };
        assert_quantile(&format!("{label} trace"), got, &mut durations, q);
    }

    let spans: Vec<_> = truth.iter().flat_map(|s| s.spans.iter()).collect();
    let priced: Vec<_> = spans.iter().filter(|s| !is_aggregator(s.kind)).collect();
    let sum =
        |f: &dyn Fn(&&&sightline::store::StoredSpan) -> i64| priced.iter().map(f).sum::<i64>();
    assert_eq!(
        t.input_tokens,
        sum(&|s| s.input_tokens.unwrap_or(0)),
        "{label}: input tokens"
    );
    assert_eq!(
        t.output_tokens,
        sum(&|s| s.output_tokens.unwrap_or(0)),
        "{label}: output tokens"
    );
    let cost: f64 = priced.iter().map(|s| s.cost.unwrap_or(0.0)).sum();
    assert!(
        (t.cost() - cost).abs() <= 1e-9 * cost.max(1.0),
        "{label}: cost {} vs {cost}",
        t.cost()
    );

    // Per span name: exact counts, sketch percentiles.
    let mut by_name: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in &spans {
        by_name
            .entry(sightline::rollup::series_name(&s.name))
            .or_default()
            .push(ms(s.start_ns, s.end_ns));
    }
    assert_eq!(b.breakdown.len(), by_name.len(), "{label}: span names");
    for row in &b.breakdown {
        let values = by_name.get_mut(row.name.as_str()).unwrap();
        assert_eq!(
            row.count as usize,
            values.len(),
            "{label}: count of {}",
            row.name
        );
        assert_quantile(&format!("{label} {}", row.name), row.p95_ms, values, 0.95);
    }
    // Per model: calls of non-aggregator spans with that model.
    for m in &b.models {
        let calls = priced
            .iter()
            .filter(|s| s.model.as_deref() == Some(&m.model))
            .count();
        assert_eq!(m.calls as usize, calls, "{label}: calls of {}", m.model);
    }
    // Per guardrail stage: checks and blocks.
    for g in &b.guardrails {
        let stage: Vec<_> = spans
            .iter()
            .filter(|s| s.kind == SpanKind::Guardrail && s.name == g.name)
            .collect();
        assert_eq!(
            g.checks as usize,
            stage.len(),
            "{label}: checks of {}",
            g.name
        );
        let blocks = truth
            .iter()
            .filter(|s| meta[&s.record.trace_id].meta.blocked_by == Some(g.name.as_str()))
            .count();
        assert_eq!(g.blocks as usize, blocks, "{label}: blocks by {}", g.name);
    }
    let series_total: u64 = b.series.iter().map(|p| p.traces).sum();
    assert_eq!(series_total, t.traces, "{label}: series add up");
    let heat: u64 = b.heatmap.counts.iter().flatten().sum();
    assert_eq!(heat, t.traces, "{label}: heatmap adds up");

    // Exemplars: exactly the five slowest and the five latest failed traces.
    let mut by_duration: Vec<&&StoredTrace> = truth.iter().collect();
    by_duration.sort_by_key(|s| std::cmp::Reverse(s.record.end_ns - s.record.start_ns));
    let want: Vec<String> = by_duration
        .iter()
        .take(5)
        .map(|s| hex::encode(s.record.trace_id))
        .collect();
    let got: Vec<String> = b.slowest.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(got, want, "{label}: slowest");
    let mut failed: Vec<&&StoredTrace> =
        truth.iter().filter(|s| s.record.error_count > 0).collect();
    failed.sort_by_key(|s| std::cmp::Reverse(s.record.start_ns));
    let want: Vec<String> = failed
        .iter()
        .take(5)
        .map(|s| hex::encode(s.record.trace_id))
        .collect();
    let got: Vec<String> = b.failed.iter().map(|s| s.trace_id.clone()).collect();
    assert_eq!(got, want, "{label}: failed");
}

async fn rollups_agree_with_raw_spans(db: TestDb) {
    let s = TestServer::start(db).await;
    let traces = workload();
    let truth = ingest(&s, &traces).await;
    let meta: BTreeMap<_, _> = traces.iter().map(|t| (t.trace_id, t)).collect();
    let all: Vec<&StoredTrace> = truth.iter().collect();
    assert!(
        all.iter().any(|t| t.record.error_count > 0),
        "the workload has errors"
    );

    let (from, to) = (BASE_NS, BASE_NS + 10 * 60 * SEC);
    let b = board(&s, from, to, "").await;
    check_board("all", &b, &all, &meta);
    assert_eq!(b.step_ms, 60_000);
    assert!(!b.slowest.is_empty() && !b.failed.is_empty());
    assert!(b
        .slowest
        .windows(2)
        .all(|w| w[0].duration_ms >= w[1].duration_ms));

    // A tag scope reads the tagged series and agrees with the matching traces.
    let intent = traces[0].meta.intent;
    let scoped = board(&s, from, to, &format!("tags.intent = '{intent}'")).await;
    let subset: Vec<&StoredTrace> = all
        .iter()
        .copied()
        .filter(|t| meta[&t.record.trace_id].meta.intent == intent)
        .collect();
    assert!(subset.len() < all.len());
    check_board("scoped", &scoped, &subset, &meta);

    // Compacted into hour cells, a long window reads them and still agrees.
    let hours = s
        .backend
        .compact_rollups(BASE_NS / SEC + 3 * 3600, 48)
        .await
        .unwrap();
    assert!(hours >= 1);
    let long = board(&s, BASE_NS - 3 * 3600 * SEC, BASE_NS + 5 * 3600 * SEC, "").await;
    assert_eq!(long.step_ms, 3_600_000);
    check_board("hourly", &long, &all, &meta);

    // Late data for a compacted hour reaches the hour cells too.
    let late = Workload::new(12).traces(5, BASE_NS + 20 * 60 * SEC, SEC);
    let late_truth = ingest(&s, &late).await;
    let mut with_late = all.clone();
    with_late.extend(late_truth.iter());
    let mut meta2 = meta.clone();
    meta2.extend(late.iter().map(|t| (t.trace_id, t)));
    let long = board(&s, BASE_NS - 3 * 3600 * SEC, BASE_NS + 5 * 3600 * SEC, "").await;
    check_board("hourly+late", &long, &with_late, &meta2);

    // The same compaction folded the hours of the quarter day holding the data (BASE is
    // 04:00 UTC) into quarter-day cells, and the late data reached them too: a 30-day window
    // reads them (6-hour steps) and still agrees, unscoped and scoped by a tag.
    let quarter_start = (BASE_NS / SEC).div_euclid(QUARTER_DAY) * QUARTER_DAY;
    assert_eq!(
        s.backend.rollup_compacted_until(QUARTER_DAY).await.unwrap(),
        quarter_start + QUARTER_DAY
    );
    let to = BASE_NS + 5 * 3600 * SEC;
    let month = board(&s, to - 30 * 24 * 3600 * SEC, to, "").await;
    assert_eq!(month.step_ms, QUARTER_DAY * 1000);
    check_board("quarter-day", &month, &with_late, &meta2);
    let scope = format!("tags.intent = '{intent}'");
    let month = board(&s, to - 30 * 24 * 3600 * SEC, to, &scope).await;
    let subset: Vec<&StoredTrace> = with_late
        .iter()
        .copied()
        .filter(|t| meta2[&t.record.trace_id].meta.intent == intent)
        .collect();
    check_board("quarter-day scoped", &month, &subset, &meta2);
    s.shutdown().await;
}

async fn traces_in_pieces_roll_up_once_and_orphans_after_the_sweep(db: TestDb) {
    let s = TestServer::start(db).await;
    let res = resource("rollup-test");
    let mut traces = Workload::new(13).traces(3, BASE_NS, SEC);
    // Trace 0: children first, root in a second request. Trace 1: never gets its root.
    let split = |t: &DemoTrace, roots: bool| DemoTrace {
        trace_id: t.trace_id,
        spans: t
            .spans
            .iter()
            .filter(|sp| sp.parent_span_id.is_empty() == roots)
            .cloned()
            .collect(),
        meta: t.meta.clone(),
    };
    s.ingest_demo(&[split(&traces[0], false), split(&traces[1], false)], &res)
        .await;
    let b = board(&s, BASE_NS, BASE_NS + 600 * SEC, "").await;
    assert_eq!(b.totals.traces, 0, "no root yet: nothing rolled up");
    s.ingest_demo(&[split(&traces[0], true), traces[2].clone()], &res)
        .await;
    let b = board(&s, BASE_NS, BASE_NS + 600 * SEC, "").await;
    assert_eq!(b.totals.traces, 2);
    let spans_0_2 = traces[0].spans.len() + traces[2].spans.len();
    assert_eq!(
        b.breakdown.iter().map(|r| r.count as usize).sum::<usize>(),
        spans_0_2
    );

    // The sweep gives up on trace 1's root: its spans count, and it counts as a trace.
    let now_ns = (BASE_NS / SEC + 3600) * SEC;
    assert_eq!(s.backend.sweep_rollups(now_ns, 100).await.unwrap(), 1);
    assert_eq!(
        s.backend.sweep_rollups(now_ns, 100).await.unwrap(),
        0,
        "idempotent"
    );
    let b = board(&s, BASE_NS, BASE_NS + 600 * SEC, "").await;
    assert_eq!(b.totals.traces, 3);
    let orphan_spans = traces[1].spans.len() - 1;
    assert_eq!(
        b.breakdown.iter().map(|r| r.count as usize).sum::<usize>(),
        spans_0_2 + orphan_spans
    );
    // Re-sending a whole trace changes nothing.
    traces.truncate(1);
    s.ingest_demo(&traces, &res).await;
    let again = board(&s, BASE_NS, BASE_NS + 600 * SEC, "").await;
    assert_eq!(again.totals.traces, 3);
    assert_eq!(again.breakdown, b.breakdown);
    s.shutdown().await;
}

async fn a_scope_outside_the_dimensions_is_a_clear_error(db: TestDb) {
    let s = TestServer::start(db).await;
    let q = Query::new(s.backend.clone());
    let scope = "span.name = 'rerank'";
    let err = q
        .overview(
            OverviewQuery {
                from_ms: 0,
                to_ms: 60_000,
                scope: scope.into(),
            },
            app::filter::parse(scope).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), 400);
    assert!(
        err.to_string().contains("not a dashboard dimension"),
        "{err}"
    );
    let err = q
        .overview(
            OverviewQuery {
                from_ms: 5,
                to_ms: 5,
                scope: String::new(),
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), 400);
    s.shutdown().await;
}

/// `/metrics` sums the same rollups: totals agree with the stored traces, histograms are
/// cumulative, and a second scrape (from the settled cache) says the same.
async fn metrics_expose_the_rollups_in_prometheus_format(db: TestDb) {
    let s = TestServer::start(db).await;
    let traces = workload();
    let truth = ingest(&s, &traces).await;
    let sum = |text: &str, family: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(&format!("{family}{{")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum()
    };
    for scrape in 0..2 {
        let r = TestServer::client()
            .get(format!("{}/metrics", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = r.text().await.unwrap();
        assert_eq!(
            sum(&text, "sightline_traces_total") as usize,
            N,
            "scrape {scrape}"
        );
        let spans: usize = truth.iter().map(|t| t.spans.len()).sum();
        assert_eq!(sum(&text, "sightline_spans_total") as usize, spans);
        let errors = truth.iter().filter(|t| t.record.error_count > 0).count();
        assert_eq!(sum(&text, "sightline_trace_errors_total") as usize, errors);
        let hits = traces.iter().filter(|t| t.meta.cache_hit).count();
        assert_eq!(sum(&text, "sightline_cache_hits_total") as usize, hits);
        assert_eq!(
            sum(&text, "sightline_trace_duration_seconds_count") as usize,
            N
        );
        assert!(text.contains("# TYPE sightline_span_duration_seconds histogram"));
        assert!(text.contains("le=\"+Inf\""));
        let tokens = sum(&text, "sightline_tokens_total");
        assert!(tokens > 0.0);
    }
    s.shutdown().await;
}

/// PostgreSQL plans board reads on `rollups_by_series` only with statistics on rollups
/// (migrations/postgres/0010); the server refreshes them after a compaction, so they exist
/// whether autovacuum runs or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_compaction_refreshes_the_rollup_statistics() {
    use sqlx::Connection;
    async fn ask<T>(conn: &mut sqlx::PgConnection, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
    }
    const TABLE: &str = "FROM pg_stat_user_tables WHERE relid = 'rollups'::regclass";
    let db = TestDb::postgres().await;
    let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let s = TestServer::start(db).await;
    ingest(&s, &workload()).await;
    let analyzed = format!("SELECT last_analyze IS NOT NULL {TABLE}");
    assert!(!ask::<bool>(&mut conn, &analyzed).await, "not analyzed yet");

    let compact = || s.backend.compact_rollups(BASE_NS / SEC + 3 * 3600, 48);
    assert!(compact().await.unwrap() >= 1);
    assert!(ask::<bool>(&mut conn, &analyzed).await, "analyzed");
    let stats = "SELECT count(*) FROM pg_stats WHERE tablename = 'rollups'";
    assert!(ask::<i64>(&mut conn, stats).await > 0, "column statistics");
    let index = "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'rollups_by_series')";
    assert!(
        ask::<bool>(&mut conn, index).await,
        "the series-first index"
    );

    // Caught up, a compaction folds nothing and leaves the statistics alone.
    let count = format!("SELECT analyze_count {TABLE}");
    let n: i64 = ask(&mut conn, &count).await;
    assert_eq!(compact().await.unwrap(), 0);
    assert_eq!(ask::<i64>(&mut conn, &count).await, n);
    conn.close().await.unwrap();
    s.shutdown().await;
}

both_backends!(
    metrics_expose_the_rollups_in_prometheus_format,
    rollups_agree_with_raw_spans,
    traces_in_pieces_roll_up_once_and_orphans_after_the_sweep,
    a_scope_outside_the_dimensions_is_a_clear_error,
);

/// The demo's guardrail verdicts moved to a key of another library: each stage says
/// `moderation.flagged = !passed`, and no built-in key (`guardrail.passed`,
/// `guardrail.blocked`) remains.
fn moderated(mut t: DemoTrace) -> DemoTrace {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    for span in &mut t.spans {
        let passed = span
            .attributes
            .iter()
            .find(|kv| kv.key == "guardrail.passed")
            .and_then(|kv| kv.value.as_ref()?.value.clone());
        span.attributes
            .retain(|kv| kv.key != "guardrail.passed" && kv.key != "guardrail.blocked");
        if let Some(any_value::Value::BoolValue(passed)) = passed {
            span.attributes.push(KeyValue {
                key: "moderation.flagged".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::BoolValue(!passed)),
                }),
                ..Default::default()
            });
        }
    }
    t
}

/// Ingests `traces` over OTLP/HTTP (the router, no socket) into a server configured with
/// `cfg`, then reads the board of the test window as that server would.
async fn board_configured(
    db: &TestDb,
    cfg: sightline::rollup::RollupConfig,
    traces: &[DemoTrace],
) -> Overview {
    use prost::Message;
    use tower::ServiceExt;
    let backend = sightline::store::connect_with(&db.url(), cfg.clone())
        .await
        .expect("connect + migrate");
    let (state, _writer) = sightline::http::build_state_with(
        backend.clone(),
        sightline::receive::Limits::default(),
        sightline::store::writer::WriterSettings {
            queue_spans: 200_000,
            batch_spans: 20_000,
        },
        sightline::receive::ApiKeys::new(&[]),
        cfg.clone(),
        sightline::normalize::Redactor::off(),
    )
    .await
    .expect("state");
    let options = sightline::http::leptos_options("127.0.0.1:0".parse().unwrap()).unwrap();
    let app = sightline::http::app(state, options);
    let res = resource("rollup-test");
    for chunk in traces.chunks(40) {
        let body = sightline::demo::encode_request(chunk, &res).encode_to_vec();
        let request = axum::http::Request::post("/v1/traces")
            .header("content-type", "application/x-protobuf")
            .body(axum::body::Body::from(body))
            .unwrap();
        // A 200 means committed, rollups included.
        let r = app.clone().oneshot(request).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let q = Query::new(backend).with_rollups(cfg);
    q.overview(
        OverviewQuery {
            from_ms: BASE_NS / 1_000_000,
            to_ms: (BASE_NS + 10 * 60 * SEC) / 1_000_000,
            scope: String::new(),
        },
        None,
    )
    .await
    .unwrap()
}

/// `--guardrail-blocked-keys moderation.flagged`: a true `moderation.flagged` is a block in
/// the rollups (totals, per step, per stage); with the default keys the same spans are
/// checks that never block.
async fn configured_guardrail_keys_mark_blocks(db: TestDb) {
    let traces: Vec<DemoTrace> = workload().into_iter().map(moderated).collect();
    let blocked = traces.iter().filter(|t| t.meta.blocked).count();
    assert!(blocked > 0, "the workload has blocked traces");

    let default = board_configured(&db, Default::default(), &traces).await;
    assert_eq!(default.totals.traces as usize, N);
    assert_eq!(default.totals.guardrail_checks as usize, N);
    assert_eq!(default.totals.guardrail_blocks, 0, "default keys");
    assert!(default.guardrails.iter().all(|g| g.blocks == 0));

    let other = match &db {
        TestDb::Sqlite { .. } => TestDb::sqlite(),
        TestDb::Postgres { .. } => TestDb::postgres().await,
    };
    let cfg = sightline::rollup::RollupConfig {
        guardrails: sightline::normalize::GuardrailKeys::new(
            ["moderation.flagged"],
            sightline::normalize::conventions::DEFAULT_GUARDRAIL_PASSED_KEYS.split(','),
        ),
        ..Default::default()
    };
    let custom = board_configured(&other, cfg, &traces).await;
    assert_eq!(custom.totals.guardrail_checks as usize, N);
    assert_eq!(custom.totals.guardrail_blocks as usize, blocked);
    let per_step: u64 = custom.series.iter().map(|p| p.guardrail_blocks).sum();
    assert_eq!(per_step as usize, blocked);
    assert!(!custom.guardrails.is_empty());
    for g in &custom.guardrails {
        let want = traces
            .iter()
            .filter(|t| t.meta.blocked_by == Some(g.name.as_str()))
            .count();
        assert_eq!(
            (g.checks as usize, g.blocks as usize),
            (N, want),
            "{}",
            g.name
        );
    }
}

both_backends!(configured_guardrail_keys_mark_blocks);

/// Alert metrics read the same rollups: each rule's value agrees with the stored traces,
/// splits give one instance per value, and too few traces is no data.
async fn alert_rules_measure_their_metric_from_rollups(db: TestDb) {
    use sightline::alerts::measure::measure;
    use sightline::alerts::rule::{presets, Metric, RuleSpec, Span};
    let s = TestServer::start(db).await;
    let traces = workload();
    let truth = ingest(&s, &traces).await;
    // Evaluated right after the last trace's minute: a 10-minute window holds them all.
    let now_ms = BASE_NS / 1_000_000 + 8 * 60_000;
    let cfg = sightline::rollup::RollupConfig::default();
    let rule = |metric| RuleSpec {
        metric,
        window: Span::minutes(10),
        ..presets()[0].clone()
    };
    let one = |v: Vec<sightline::alerts::measure::Measurement>| {
        assert_eq!(v.len(), 1);
        v.into_iter().next().unwrap()
    };

    let m = one(measure(&*s.backend, &cfg, &rule(Metric::ErrorRate), now_ms)
        .await
        .unwrap());
    let errors = truth.iter().filter(|t| t.record.error_count > 0).count();
    assert_eq!(m.samples as usize, N);
    assert!((m.value.unwrap() - errors as f64 / N as f64).abs() < 1e-12);

    let m = one(
        measure(&*s.backend, &cfg, &rule(Metric::CacheHitRate), now_ms)
            .await
            .unwrap(),
    );
    let hits = traces.iter().filter(|t| t.meta.cache_hit).count();
    assert!((m.value.unwrap() - hits as f64 / N as f64).abs() < 1e-12);

    let m = one(
        measure(&*s.backend, &cfg, &rule(Metric::TraceVolume), now_ms)
            .await
            .unwrap(),
    );
    assert_eq!(m.value, Some(N as f64));

    let mut durations: Vec<f64> = truth
        .iter()
        .map(|t| ms(t.record.start_ns, t.record.end_ns))
        .collect();
    let m = one(
        measure(&*s.backend, &cfg, &rule(Metric::LatencyP95), now_ms)
            .await
            .unwrap(),
    );
    assert_quantile("alert p95", m.value, &mut durations, 0.95);
    assert_eq!(
        m.breaching(&rule(Metric::LatencyP95)),
        Some(m.value.unwrap() > 1500.0)
    );

    // One instance per intent, each with its own traces.
    let split = RuleSpec {
        split_by: Some("tags.intent".into()),
        min_samples: 1,
        ..rule(Metric::TraceVolume)
    };
    let per_intent = measure(&*s.backend, &cfg, &split, now_ms).await.unwrap();
    assert!(per_intent.len() > 1);
    for m in &per_intent {
        let intent = &m.labels["tags.intent"];
        let n = traces.iter().filter(|t| t.meta.intent == intent).count();
        assert_eq!(m.value, Some(n as f64), "{intent}");
    }

    // A window with fewer traces than min_samples is no data, not a rate.
    let sparse = RuleSpec {
        min_samples: 10_000,
        ..rule(Metric::ErrorRate)
    };
    let m = one(measure(&*s.backend, &cfg, &sparse, now_ms).await.unwrap());
    assert_eq!((m.value, m.breaching(&sparse)), (None, None));

    // Relative to a baseline: last week's same window held a quarter of the traffic.
    let week_ns = 7 * 86_400 * SEC;
    let last_week = Workload::new(21).traces(N / 4, BASE_NS + 90 * SEC - week_ns, 2 * SEC);
    ingest(&s, &last_week).await;
    let relative = RuleSpec {
        baseline: Some(sightline::alerts::rule::Baseline::WeekAgo),
        threshold: 3.0,
        min_samples: 1,
        ..rule(Metric::TraceVolume)
    };
    let m = one(measure(&*s.backend, &cfg, &relative, now_ms).await.unwrap());
    assert_eq!(
        (m.value, m.baseline),
        (Some(N as f64), Some((N / 4) as f64))
    );
    assert_eq!(m.breaching(&relative), Some(true), "4x last week > 3x");
    let median = RuleSpec {
        baseline: Some(sightline::alerts::rule::Baseline::Median7d),
        ..relative.clone()
    };
    // Six of the seven days are empty (0 traces): the median day is empty too.
    let m = one(measure(&*s.backend, &cfg, &median, now_ms).await.unwrap());
    assert_eq!(m.baseline, Some(0.0));
    s.shutdown().await;
}

both_backends!(alert_rules_measure_their_metric_from_rollups);
