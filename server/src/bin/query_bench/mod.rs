//! `sightline-bench --queries 100000,1000000 [--postgres] [--no-sqlite]`: the trace
//! explorer's query benchmark. For each size it loads that many demo traces into a fresh
//! SQLite file (and PostgreSQL database), then times the pages an on-call engineer opens:
//! the first page unfiltered, filtered by a common and a rare tag, by span text, by status,
//! by a span attribute, sorted by duration, and the detail of a random trace and span.
//!
//! Loading goes through the real write path without HTTP: the demo workload is encoded as
//! OTLP, decoded, normalised and prepared (`receive::prepare`, payload compression included)
//! on producer threads, and committed by `Backend::write_batch` in batches of
//! [`LOAD_BATCH_TRACES`] traces. Queries go through the same `Contract` the web app calls
//! (filter parse, plan, SQL, tags of the page). The data is deleted afterwards unless `--keep`.
//! On PostgreSQL they are timed twice: as loaded, when the tables have planner statistics
//! only if autovacuum got to them, and after an ANALYZE.
//!
//! Then the overview board ([`time_board`]): once the hours are compacted as the rollup worker
//! would have done, each window and scope is timed as the page's server function runs it
//! (scope parse, `Contract::overview`, SVG charts) and part by part: the one cell read, each
//! panel computed alone from it, the exemplar lookup and the charts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use app::contract::Contract;
use app::types::{TraceListQuery, TraceSort};
use sightline::demo::{into_request, resource, Workload};
use sightline::normalize::pricing::{seed_prices, PriceTable};
use sightline::normalize::GuardrailKeys;
use sightline::receive::{otlp::decode_request, prepare, Limits};
use sightline::store::{Backend, PreparedBatch};
use sqlx::Connection;

use super::{mb, thousands, unique_name, Args};

/// Traces per write transaction while loading (≈8,500 spans).
const LOAD_BATCH_TRACES: usize = 500;
/// SQLite: fold the WAL back into the database after this many load batches. The server's
/// checkpoints never catch up with a writer that never pauses (a RESTART gives up after the
/// busy timeout), so a bulk load grew the WAL to 28 GB at 600,000 traces; between two batches
/// nothing writes, so TRUNCATE can.
const CHECKPOINT_EVERY_BATCHES: usize = 20;
/// A load batch the database refused as busy (SQLite: a WAL checkpoint held the writer past
/// its busy timeout) is retried this many times, as a client retries a 503.
const BUSY_RETRIES: usize = 5;
/// Load batches queued between the producers and the writer.
const QUEUE_BATCHES: usize = 4;
/// Traces remembered for the detail queries and the rare-tag filter.
const SAMPLES: usize = 1_000;
/// A query kind stops after this long even if it has not run `--query-runs` times.
const KIND_BUDGET: Duration = Duration::from_secs(20);
/// Runs of a search that matches nothing: it reads every span's text, the worst case.
const FULL_SCAN_RUNS: usize = 3;
/// The demo traces are spread over this window, ending now.
const WINDOW_NS: i64 = 30 * 86_400 * 1_000_000_000;
/// The goal for a filtered first page.
const GOAL_P95_MS: f64 = 30.0;
/// Timed runs of each board part (after one warm-up run).
const BOARD_RUNS: usize = 20;
/// The goals for the board, server-side: each panel's query, the whole page.
const BOARD_PANEL_GOAL_MS: f64 = 50.0;
const BOARD_PAGE_GOAL_MS: f64 = 300.0;

const INTENTS: [&str; 6] = [
    "product_question",
    "recommendation",
    "order_status",
    "search",
    "return_policy",
    "chitchat",
];
/// Phrases of the demo's sentence pool, each in a few percent of the spans.
const TITLES: [&str; 6] = [
    "Vinland Saga",
    "Kagurabachi",
    "Witch Hat Atelier",
    "Sakamoto Days",
    "Blue Period",
    "Dandadan",
];

/// A trace remembered while loading.
struct Sample {
    trace_id: String,
    span_id: String,
    session_id: String,
}

pub(crate) async fn run(args: &Args, sizes: &str) -> anyhow::Result<()> {
    let sizes: Vec<usize> = sizes
        .split(',')
        .map(|s| s.trim().replace('_', "").parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!("--queries takes trace counts like 100000,1000000, got {sizes:?}")
        })?;
    if sizes.iter().any(|n| *n < SAMPLES) {
        bail!("--queries: each size must be at least {SAMPLES} traces");
    }
    for n in sizes {
        if !args.no_sqlite {
            run_one(args, n, false).await?;
        }
        if args.postgres.is_some() {
            run_one(args, n, true).await?;
        }
    }
    Ok(())
}

async fn run_one(args: &Args, n: usize, postgres: bool) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(unique_name("sightline-query-bench"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db_file = dir.join("bench.db");
    let mut pg: Option<(String, String)> = None; // (admin url, database name)
    let url = if postgres {
        let (admin, name, url) =
            super::create_pg_db(args.postgres.as_deref(), "sightline_query_bench").await?;
        pg = Some((admin, name));
        url
    } else {
        format!("sqlite://{}", db_file.display())
    };
    let result = load_and_query(args, n, &url, postgres, &db_file).await;
    if args.keep {
        eprintln!("kept {} / {url}", dir.display());
    } else {
        if let Some((admin, name)) = &pg {
            super::drop_pg_db(admin, name).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

async fn load_and_query(
    args: &Args,
    n: usize,
    url: &str,
    postgres: bool,
    db_file: &std::path::Path,
) -> anyhow::Result<()> {
    let label = if postgres { "postgres" } else { "sqlite" };
    let backend = sightline::store::connect(url)
        .await
        .with_context(|| format!("opening {url}"))?;
    println!(
        "== {label}, {} traces (loadavg {})",
        thousands(n as f64),
        super::loadavg()
    );
    let (samples, spans, load) = load(&backend, n, args.seed, (!postgres).then_some(url)).await?;
    println!(
        "loaded {} traces / {} spans in {:.1} s: {} traces/s, {} spans/s (write_batch, {LOAD_BATCH_TRACES} traces per transaction)",
        thousands(n as f64),
        thousands(spans as f64),
        load.as_secs_f64(),
        thousands(n as f64 / load.as_secs_f64()),
        thousands(spans as f64 / load.as_secs_f64()),
    );
    let size = if postgres {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        bytes as u64
    } else {
        super::measure_sqlite(db_file).await?.2
    };
    println!(
        "database size {} ({:.0} B/span)",
        mb(size),
        size as f64 / spans.max(1) as f64
    );
    let contract = sightline::query::Query::new(backend.clone());
    time_queries(&contract, &samples, args.query_runs.max(1)).await?;
    if postgres {
        // Right after a bulk load the tables have no planner statistics unless autovacuum
        // got to them (on the benchmark machine it is off). Time again with statistics, as
        // autovacuum leaves a database in service.
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let autovacuum: String = sqlx::query_scalar("SHOW autovacuum")
            .fetch_one(&mut conn)
            .await?;
        let t = Instant::now();
        sqlx::query("ANALYZE").execute(&mut conn).await?;
        conn.close().await?;
        println!(
            "\nagain after ANALYZE ({:.1} s; autovacuum is {autovacuum} on this server):",
            t.elapsed().as_secs_f64()
        );
        time_queries(&contract, &samples, args.query_runs.max(1)).await?;
    }
    time_board(&backend, &contract).await
}

/// Loads `n` traces; returns the samples, the span count and the wall time. `sqlite_url`:
/// checkpoint that database's WAL every [`CHECKPOINT_EVERY_BATCHES`].
async fn load(
    backend: &Arc<dyn Backend>,
    n: usize,
    seed: u64,
    sqlite_url: Option<&str>,
) -> anyhow::Result<(Vec<Sample>, u64, Duration)> {
    let mut checkpointer = match sqlite_url {
        Some(url) => Some(sqlx::SqliteConnection::connect(url).await?),
        None => None,
    };
    let started = Instant::now();
    let end_ns = super::now_ns();
    let first = end_ns - WINDOW_NS;
    let spacing = WINDOW_NS / n as i64;
    let chunks = n.div_ceil(LOAD_BATCH_TRACES);
    let producers = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .saturating_sub(1)
        .max(1);
    let every = (n / SAMPLES).max(1);
    // Producer k prepares chunks k, k + P, …; the writer takes them round robin, so traces
    // are committed in start order, as live traffic would be.
    let mut queues = Vec::new();
    let mut threads = Vec::new();
    for k in 0..producers {
        let (tx, rx) = tokio::sync::mpsc::channel::<(PreparedBatch, Vec<Sample>)>(QUEUE_BATCHES);
        queues.push(rx);
        threads.push(std::thread::spawn(move || {
            let workload = Workload::new(seed);
            let res = resource(sightline::demo::workload::DEFAULT_PROJECT);
            let prices = PriceTable::new(seed_prices());
            let guardrails = GuardrailKeys::default();
            // As `sightline serve` runs by default.
            let redactor = sightline::normalize::Redactor::new(
                &sightline::normalize::RedactionConfig::standard(),
            )
            .expect("the standard redaction configuration");
            let mut sessions = workload.sessions().take(n);
            let mut skip = k * LOAD_BATCH_TRACES;
            for chunk in (k..chunks).step_by(producers) {
                let traces: Vec<_> = sessions
                    .by_ref()
                    .skip(skip)
                    .take(LOAD_BATCH_TRACES)
                    .map(|(index, message_no, session)| {
                        workload.trace(index, first + index as i64 * spacing, &session, message_no)
                    })
                    .collect();
                skip = (producers - 1) * LOAD_BATCH_TRACES;
                debug_assert!(traces
                    .first()
                    .is_none_or(|t| t.meta.index as usize == chunk * LOAD_BATCH_TRACES));
                let samples = traces
                    .iter()
                    .filter(|t| (t.meta.index as usize).is_multiple_of(every))
                    .map(|t| Sample {
                        trace_id: hex::encode(t.trace_id),
                        span_id: hex::encode(t.meta.llm_span_id.unwrap_or(t.meta.root_span_id)),
                        session_id: t.meta.session_id.clone(),
                    })
                    .collect();
                let decoded = match decode_request(into_request(traces, &res), &Limits::default()) {
                    Ok(d) => d,
                    Err(e) => panic!("the demo workload does not decode: {e:?}"),
                };
                if tx
                    .blocking_send((
                        prepare(0, decoded.groups, &prices, &guardrails, &redactor),
                        samples,
                    ))
                    .is_err()
                {
                    return; // the writer stopped on an error
                }
            }
        }));
    }
    let mut samples = Vec::new();
    let mut spans = 0u64;
    let mut last_report = Instant::now();
    for chunk in 0..chunks {
        let Some((batch, s)) = queues[chunk % producers].recv().await else {
            bail!("a load producer stopped early (see its panic above)");
        };
        spans += batch.spans.len() as u64;
        samples.extend(s);
        let mut tries = 0;
        loop {
            match backend.write_batch(&batch).await {
                Ok(_) => break,
                Err(sightline::store::Error::Database(sqlx::Error::Database(e)))
                    if tries < BUSY_RETRIES && e.code().as_deref() == Some("5") =>
                {
                    tries += 1;
                    eprintln!("  batch {chunk} refused as busy ({e}); retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e).context("loading"),
            }
        }
        if let Some(c) = checkpointer.as_mut() {
            if (chunk + 1) % CHECKPOINT_EVERY_BATCHES == 0 {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *c)
                    .await?;
            }
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "  loaded {} traces, {} spans/s so far",
                thousands(((chunk + 1) * LOAD_BATCH_TRACES).min(n) as f64),
                thousands(spans as f64 / started.elapsed().as_secs_f64())
            );
        }
    }
    for t in threads {
        if t.join().is_err() {
            bail!("a load producer panicked");
        }
    }
    Ok((samples, spans, started.elapsed()))
}

/// One kind of request the benchmark times.
enum Kind {
    /// A first page of 50: the filter for run `i`, and the order.
    Page(fn(usize, &[Sample]) -> String, TraceSort),
    TraceTree,
    SpanDetail,
}

async fn time_queries(
    contract: &dyn Contract,
    samples: &[Sample],
    runs: usize,
) -> anyhow::Result<()> {
    let kinds: [(&str, Kind, bool); 12] = [
        (
            "first page",
            Kind::Page(|_, _| String::new(), TraceSort::StartDesc),
            false,
        ),
        (
            "tags.intent = <common>",
            Kind::Page(
                |i, _| format!("tags.intent = '{}'", INTENTS[i % INTENTS.len()]),
                TraceSort::StartDesc,
            ),
            true,
        ),
        (
            "tags.session_id = <rare>",
            Kind::Page(
                |i, s| format!("tags.session_id = '{}'", s[i * 7919 % s.len()].session_id),
                TraceSort::StartDesc,
            ),
            true,
        ),
        (
            "status = 'ERROR'",
            Kind::Page(|_, _| "status = 'ERROR'".into(), TraceSort::StartDesc),
            true,
        ),
        (
            "span.content LIKE",
            Kind::Page(
                |i, _| format!("span.content LIKE '%{}%'", TITLES[i % TITLES.len()]),
                TraceSort::StartDesc,
            ),
            true,
        ),
        (
            "text ILIKE",
            Kind::Page(
                |i, _| format!("text ILIKE '%{}%'", TITLES[i % TITLES.len()].to_lowercase()),
                TraceSort::StartDesc,
            ),
            true,
        ),
        (
            "span.attributes =",
            Kind::Page(
                |_, _| "span.attributes.classification_path = 'llm_fallback'".into(),
                TraceSort::StartDesc,
            ),
            true,
        ),
        (
            "tag + span.content",
            Kind::Page(
                |i, _| {
                    format!(
                        "tags.intent = '{}' AND span.content LIKE '%{}%'",
                        INTENTS[i % INTENTS.len()],
                        TITLES[i % TITLES.len()]
                    )
                },
                TraceSort::StartDesc,
            ),
            true,
        ),
        (
            "sorted by duration",
            Kind::Page(|_, _| String::new(), TraceSort::DurationDesc),
            false,
        ),
        (
            "span.content no match",
            Kind::Page(
                |_, _| "span.content LIKE '%no such phrase%'".into(),
                TraceSort::StartDesc,
            ),
            true,
        ),
        ("trace detail (tree)", Kind::TraceTree, false),
        ("span detail", Kind::SpanDetail, false),
    ];
    println!(
        "{:<26} {:>5} {:>9} {:>9} {:>9} {:>7}  goal",
        "query", "runs", "p50 ms", "p95 ms", "max ms", "rows"
    );
    let mut missed = Vec::new();
    for (name, kind, filtered) in &kinds {
        let runs = if *name == "span.content no match" {
            runs.min(FULL_SCAN_RUNS)
        } else {
            runs
        };
        let mut ms = Vec::with_capacity(runs);
        let mut rows = 0usize;
        let started = Instant::now();
        // Run 0 warms the caches and is not counted.
        for i in 0..=runs {
            let t = Instant::now();
            let got = run_kind(contract, kind, i, samples)
                .await
                .with_context(|| format!("{name}, run {i}"))?;
            if i > 0 {
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                rows += got;
            }
            if started.elapsed() > KIND_BUDGET && !ms.is_empty() {
                break;
            }
        }
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
        let p95 = pct(0.95);
        let goal = if *filtered {
            if p95 <= GOAL_P95_MS {
                "met"
            } else {
                missed.push(*name);
                "MISSED"
            }
        } else {
            ""
        };
        println!(
            "{name:<26} {:>5} {:>9.2} {:>9.2} {:>9.2} {:>7.1}  {goal}",
            ms.len(),
            pct(0.5),
            p95,
            ms[ms.len() - 1],
            rows as f64 / ms.len() as f64
        );
    }
    if !missed.is_empty() {
        println!(
            "filtered first pages over {GOAL_P95_MS} ms p95: {}",
            missed.join(", ")
        );
    }
    Ok(())
}

/// Runs one request; returns how many rows (traces or spans) it returned.
async fn run_kind(
    contract: &dyn Contract,
    kind: &Kind,
    i: usize,
    samples: &[Sample],
) -> anyhow::Result<usize> {
    let sample = &samples[i * 104_729 % samples.len()];
    Ok(match kind {
        Kind::Page(filter, sort) => {
            let filter = filter(i, samples);
            let expr = app::filter::parse(&filter).map_err(|e| anyhow::anyhow!("{filter}: {e}"))?;
            let page = contract
                .search_traces(
                    TraceListQuery {
                        filter,
                        sort: *sort,
                        limit: 50,
                        ..TraceListQuery::default()
                    },
                    expr,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            page.traces.len()
        }
        Kind::TraceTree => contract
            .get_trace_tree(sample.trace_id.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .spans
            .len(),
        Kind::SpanDetail => {
            contract
                .get_span(sample.trace_id.clone(), sample.span_id.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            1
        }
    })
}

/// p50, p95 and max of `ms` (sorted in place).
fn percentiles(ms: &mut [f64]) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    (pct(0.5), pct(0.95), ms[ms.len() - 1])
}

/// Times `f` [`BOARD_RUNS`] times after one warm-up run; milliseconds.
async fn time_runs<F, Fut>(mut f: F) -> anyhow::Result<Vec<f64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut ms = Vec::with_capacity(BOARD_RUNS);
    for i in 0..=BOARD_RUNS {
        let t = Instant::now();
        f().await?;
        if i > 0 {
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(ms)
}

/// `--board-on URL`: the board timings alone, on a database loaded earlier.
pub(crate) async fn board_on(url: &str) -> anyhow::Result<()> {
    let backend = sightline::store::connect(url)
        .await
        .with_context(|| format!("opening {url}"))?;
    println!("== board on {url} (loadavg {})", super::loadavg());
    let contract = sightline::query::Query::new(backend.clone());
    time_board(&backend, &contract).await
}

/// The overview board at each window (1 h, 24 h, 7 d, 30 d, ending now: the data spans the
/// last 30 days) unscoped, and 24 h scoped by a tag and by the service: the whole server
/// function, then its parts.
async fn time_board(
    backend: &Arc<dyn Backend>,
    contract: &sightline::query::Query,
) -> anyhow::Result<()> {
    // The rollup worker folds complete hours every minute; a bulk load leaves them to do.
    let now_ms = super::now_ns() / 1_000_000;
    let t = Instant::now();
    let mut hours = 0;
    loop {
        let h = backend
            .compact_rollups(now_ms / 1000 - 120, 24 * 7)
            .await
            .context("compacting hours")?;
        hours += h;
        if h == 0 {
            break;
        }
    }
    println!(
        "\ncompacted {hours} hours of rollups (hour and quarter-day cells) in {:.1} s; overview board, {BOARD_RUNS} runs each, ms:",
        t.elapsed().as_secs_f64()
    );
    const H: i64 = 3_600_000;
    let boards: [(&str, i64, String); 6] = [
        ("1h", H, String::new()),
        ("24h", 24 * H, String::new()),
        ("7d", 7 * 24 * H, String::new()),
        ("30d", 30 * 24 * H, String::new()),
        ("24h", 24 * H, "tags.intent = 'order_status'".into()),
        (
            "24h",
            24 * H,
            format!("service = '{}'", sightline::demo::workload::SERVICE_NAME),
        ),
    ];
    let mut summary = Vec::new();
    let mut missed = Vec::new();
    for (label, span_ms, scope) in &boards {
        // Relative windows end at the current minute, as the page's `range=` does.
        let to_ms = now_ms / 60_000 * 60_000 + 60_000;
        let query = app::types::OverviewQuery {
            from_ms: to_ms - span_ms,
            to_ms,
            scope: scope.clone(),
        };
        let expr = app::filter::parse(scope).map_err(|e| anyhow::anyhow!("{scope}: {e}"))?;
        let read = contract
            .board_cells(query.clone(), expr.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let board = contract
            .overview(query.clone(), expr.clone())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let name = if scope.is_empty() {
            label.to_string()
        } else {
            format!("{label}, {scope}")
        };
        let (whole, part) = read.len();
        println!(
            "\n-- board {name}: {} cells whole + {} in part, step {} s, {} traces",
            thousands(whole as f64),
            thousands(part as f64),
            board.step_ms / 1000,
            thousands(board.totals.traces as f64),
        );
        println!(
            "{:<30} {:>5} {:>9} {:>9} {:>9}  goal",
            "part", "runs", "p50 ms", "p95 ms", "max ms"
        );
        let mut row = |part: &str, mut ms: Vec<f64>, goal: Option<f64>| {
            let (p50, p95, max) = percentiles(&mut ms);
            let verdict = match goal {
                Some(g) if p95 <= g => format!("< {g} met"),
                Some(g) => {
                    missed.push(format!("{name}: {part}"));
                    format!("< {g} MISSED")
                }
                None => String::new(),
            };
            println!(
                "{part:<30} {:>5} {p50:>9.2} {p95:>9.2} {max:>9.2}  {verdict}",
                ms.len()
            );
            p95
        };

        // (a) Exactly what `get_overview` does: parse, one contract call, the charts.
        let page = time_runs(|| async {
            let scope = app::filter::parse(&query.scope).map_err(|e| anyhow::anyhow!("{e}"))?;
            let data = contract
                .overview(query.clone(), scope)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::hint::black_box(app::charts::render(&data));
            Ok(())
        })
        .await?;
        let page_p95 = row("page (server fn)", page, Some(BOARD_PAGE_GOAL_MS));
        let q = time_runs(|| async {
            contract
                .overview(query.clone(), expr.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
        .await?;
        row("  overview query", q, None);
        let charts = time_runs(|| async {
            std::hint::black_box(app::charts::render(&board));
            Ok(())
        })
        .await?;
        row("  charts (SVG)", charts, None);

        // (b) The parts: the shared read, each panel alone from it, the exemplar lookup.
        let cells = time_runs(|| async {
            contract
                .board_cells(query.clone(), expr.clone())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
        .await?;
        row("  cell read (shared)", cells, Some(BOARD_PANEL_GOAL_MS));
        for panel in sightline::query::Query::board_panels() {
            let ms = time_runs(|| async {
                std::hint::black_box(contract.board_panel(&read, panel));
                Ok(())
            })
            .await?;
            row(
                &format!("  {}", panel.name()),
                ms,
                Some(BOARD_PANEL_GOAL_MS),
            );
        }
        let ex = time_runs(|| async {
            contract
                .board_exemplars(&read)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        })
        .await?;
        row("  slowest/failed lookup", ex, Some(BOARD_PANEL_GOAL_MS));
        summary.push(format!("{name} {page_p95:.1}"));
    }
    println!("\nboard page p95 ms: {}", summary.join(" | "));
    if !missed.is_empty() {
        println!("board goals missed: {}", missed.join(", "));
    }
    Ok(())
}
