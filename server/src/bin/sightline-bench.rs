//! `sightline-bench`: the ingest benchmark. Sends the shared chatbot workload (the Rust port
//! in `sightline::demo`, same shape as `shared/bench/gen.py`) over OTLP/HTTP protobuf and
//! prints end-to-end spans/s (accepted *and* committed: Sightline answers 200 only after the
//! commit), peak RSS of the server process and bytes per span on disk.
//!
//! Machines running this are noisy, so every figure comes with a baseline measured in the same
//! run: an in-process null sink that reads each body, decodes it with prost and answers 200.
//! The ratio Sightline / baseline is the number to compare across machines.
//!
//! Steps:
//! 1. pre-encode `--traces` traces into request bodies of `--batch` traces (timed apart);
//! 2. baseline: send every body to the null sink with `--concurrency` keep-alive connections,
//!    in whole passes for at least `--baseline-secs`, before and after the server runs of each
//!    round; the mean of the two is the reference;
//! 3. for SQLite (and PostgreSQL with `--postgres`): start the release `sightline` binary as a
//!    child on a fresh database, send the same bodies the same way (retrying 429/502/503/504,
//!    honouring `Retry-After`), sample its RSS, stop it with SIGTERM (graceful shutdown drains
//!    the writer), check the stored span count and measure the database size;
//! 4. print a table and one `RESULT` line per database: spans/s, ratio to the baseline, peak
//!    RSS, bytes/span, next to the MLflow and Phoenix figures of `shared/bench/README.md`.
//!    The exit status is non-zero when any span was lost or a request finally failed.
//!
//! Run it with `scripts/bench.sh` (builds both binaries in release first).
//!
//! `--queries 100000,1000000` runs the query benchmark of the trace explorer instead
//! (`query_bench`): load that many traces, time the explorer's pages, p50/p95/max.

mod query_bench;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use sightline::demo::{into_request, resource, Workload};
use sqlx::{ConnectOptions, Connection};
use tokio::process::{Child, Command};

const PROTOBUF: &str = "application/x-protobuf";
const RETRY_STATUSES: [u16; 4] = [429, 502, 503, 504];
const MAX_RETRIES: u32 = 50;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const GOAL_SPANS_PER_S: f64 = 30_000.0;
/// Reference figures from `shared/bench/README.md` (same workload, same machine kind, SQLite).
const REFERENCES: [(&str, f64, f64); 2] = [
    ("MLflow tracking server 3.x", 1_040.0, 2_100.0),
    ("Arize Phoenix", 180.0, 1_300.0),
];
/// Writer commit logs are parsed from the server's log (the figure "writer busy").
const DEFAULT_SERVER_LOG: &str = "info,sqlx=warn,tower_http=warn,sightline::store::writer=debug";

#[derive(Debug, Parser)]
#[command(
    name = "sightline-bench",
    about = "Ingest benchmark: end-to-end spans/s, peak RSS and bytes/span vs a null-sink baseline"
)]
struct Args {
    /// Traces to send (≈17 spans each).
    #[arg(short = 'n', long = "traces", default_value_t = 20_000)]
    traces: usize,

    /// Traces per OTLP request.
    #[arg(long, default_value_t = 20)]
    batch: usize,

    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,

    /// Also run on PostgreSQL. The optional value is the server URL (without database); a
    /// fresh database is created on it and dropped afterwards.
    #[arg(
        long,
        num_args = 0..=1,
        default_missing_value = "postgres://postgres@127.0.0.1:5432",
        value_name = "URL"
    )]
    postgres: Option<String>,

    /// Skip the SQLite run (e.g. with --postgres alone).
    #[arg(long)]
    no_sqlite: bool,

    /// The `sightline` binary to start (default: next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// Extra argument for `sightline serve` (repeatable), e.g. `--server-arg=--batch-spans=5000`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// Workload seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Run baseline and server this many times, interleaved; the median is reported.
    #[arg(long, default_value_t = 1)]
    repeat: usize,

    /// The baseline repeats the workload until it has run this long (a single pass takes well
    /// under a second, too short to be a steady reference); it runs before and after the
    /// server runs of each round, and their mean is the reference.
    #[arg(long, default_value_t = 3.0)]
    baseline_secs: f64,

    /// Keep the temporary directory (database, server log) and the PostgreSQL database.
    #[arg(long)]
    keep: bool,

    /// Also print the results as one JSON line.
    #[arg(long)]
    json: bool,

    /// Run the query benchmark instead: load each of these trace counts (comma-separated,
    /// e.g. 100000,1000000) into a fresh database through the store's write path and time
    /// the trace explorer's pages. Honours --postgres, --no-sqlite, --seed and --keep.
    #[arg(long, value_name = "TRACES")]
    queries: Option<String>,

    /// Timed runs of each query kind in the query benchmark (each stops after 20 s).
    #[arg(long, default_value_t = 200)]
    query_runs: usize,

    /// Time only the overview board, on an existing database (e.g. one the query benchmark
    /// kept with --keep), windows ending now.
    #[arg(long, value_name = "DATABASE_URL", conflicts_with = "queries")]
    board_on: Option<String>,
}

/// The pre-encoded workload.
struct Bodies {
    bodies: Vec<Bytes>,
    spans: Vec<u64>,
    traces: usize,
    build: Duration,
}

impl Bodies {
    fn total_spans(&self) -> u64 {
        self.spans.iter().sum()
    }
    fn total_bytes(&self) -> u64 {
        self.bodies.iter().map(|b| b.len() as u64).sum()
    }
}

fn build_bodies(n: usize, batch: usize, seed: u64) -> Bodies {
    let started = Instant::now();
    let workload = Workload::new(seed);
    let res = resource(sightline::demo::workload::DEFAULT_PROJECT);
    // Like gen.py: a 24-hour window ending at the current minute.
    let window_ns: i64 = 86_400_000_000_000;
    let end_ns = now_ns() / 60_000_000_000 * 60_000_000_000;
    let spacing = window_ns / n.max(1) as i64;
    let first = end_ns - window_ns;
    let mut out = Bodies {
        bodies: Vec::with_capacity(n.div_ceil(batch)),
        spans: Vec::with_capacity(n.div_ceil(batch)),
        traces: 0,
        build: Duration::ZERO,
    };
    let mut sessions = workload.sessions().take(n).peekable();
    while sessions.peek().is_some() {
        let chunk: Vec<_> = sessions
            .by_ref()
            .take(batch)
            .map(|(index, message_no, session)| {
                workload.trace(index, first + index as i64 * spacing, &session, message_no)
            })
            .collect();
        out.traces += chunk.len();
        out.spans
            .push(chunk.iter().map(|t| t.spans.len() as u64).sum());
        out.bodies
            .push(Bytes::from(into_request(chunk, &res).encode_to_vec()));
    }
    out.build = started.elapsed();
    out
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

// ---- sending ---------------------------------------------------------------------------------

#[derive(Debug, Default, Clone)]
struct SendResult {
    wall: Duration,
    ok_requests: u64,
    ok_spans: u64,
    rejected_spans: u64,
    failed_requests: u64,
    retries: u64,
    statuses: BTreeMap<String, u64>,
    errors: Vec<String>,
    latencies_ms: Vec<f64>,
}

impl SendResult {
    fn accepted_spans(&self) -> u64 {
        self.ok_spans - self.rejected_spans
    }
    fn spans_per_s(&self) -> f64 {
        self.accepted_spans() as f64 / self.wall.as_secs_f64()
    }
    fn latency(&self, p: f64) -> f64 {
        let mut l = self.latencies_ms.clone();
        l.sort_by(f64::total_cmp);
        if l.is_empty() {
            return f64::NAN;
        }
        l[((l.len() - 1) as f64 * p / 100.0).round() as usize]
    }
    fn merge(&mut self, o: SendResult) {
        self.ok_requests += o.ok_requests;
        self.ok_spans += o.ok_spans;
        self.rejected_spans += o.rejected_spans;
        self.failed_requests += o.failed_requests;
        self.retries += o.retries;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.errors.extend(o.errors.into_iter().take(3));
        self.latencies_ms.extend(o.latencies_ms);
    }
}

/// POSTs every body once (retrying transient answers) with `concurrency` workers, each with its
/// own keep-alive connection.
async fn send_all(
    url: &str,
    bodies: &Arc<Bodies>,
    concurrency: usize,
) -> anyhow::Result<SendResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..concurrency.max(1) {
        clients.push(
            reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .timeout(REQUEST_TIMEOUT)
                .build()
                .context("building the HTTP client")?,
        );
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let (url, bodies, next) = (url.to_string(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = SendResult::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.bodies.len() {
                    break;
                }
                send_one(&client, &url, &bodies.bodies[i], bodies.spans[i], &mut r).await;
            }
            r
        }));
    }
    let mut total = SendResult::default();
    for t in tasks {
        total.merge(t.await.context("sender task panicked")?);
    }
    total.wall = started.elapsed();
    Ok(total)
}

async fn send_one(
    client: &reqwest::Client,
    url: &str,
    body: &Bytes,
    spans: u64,
    r: &mut SendResult,
) {
    let mut attempt = 0u32;
    loop {
        let t = Instant::now();
        let outcome = client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF))
            .body(body.clone())
            .send()
            .await;
        let (status, retry_after, data) = match outcome {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(30.0)));
                match resp.bytes().await {
                    Ok(b) => (Some(status), retry_after, b),
                    Err(e) => (None, None, Bytes::from(e.to_string())),
                }
            }
            Err(e) => (None, None, Bytes::from(e.to_string())),
        };
        r.latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let transient = status.is_none_or(|s| RETRY_STATUSES.contains(&s));
        if transient && attempt < MAX_RETRIES {
            attempt += 1;
            r.retries += 1;
            let key = status.map_or("conn-error".to_string(), |s| s.to_string());
            *r.statuses.entry(format!("{key} (retried)")).or_default() += 1;
            let backoff = Duration::from_secs_f64((0.05 * 2f64.powi(attempt as i32)).min(2.0));
            tokio::time::sleep(retry_after.unwrap_or(backoff)).await;
            continue;
        }
        let key = status.map_or("conn-error".to_string(), |s| s.to_string());
        *r.statuses.entry(key).or_default() += 1;
        match status {
            Some(s) if (200..300).contains(&s) => {
                r.ok_requests += 1;
                r.ok_spans += spans;
                r.rejected_spans += ExportTraceServiceResponse::decode(data)
                    .ok()
                    .and_then(|x| x.partial_success)
                    .map_or(0, |p| p.rejected_spans.max(0) as u64);
            }
            _ => {
                r.failed_requests += 1;
                if r.errors.len() < 3 {
                    let text = String::from_utf8_lossy(&data[..data.len().min(300)]).to_string();
                    r.errors.push(format!("{status:?}: {text}"));
                }
            }
        }
        return;
    }
}

// ---- baseline: the null sink -----------------------------------------------------------------

/// A server that does the least an OTLP receiver must: read the body, decode it, answer 200.
/// It runs on its own runtime (its own threads), as a separate server process would.
struct Sink {
    addr: SocketAddr,
    spans: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    fn start() -> anyhow::Result<Sink> {
        let spans = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let counter = spans.clone();
        let thread = std::thread::Builder::new()
            .name("null-sink".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name("null-sink-rt")
                    .build()
                    .expect("null sink runtime");
                rt.block_on(async move {
                    let app = axum::Router::new()
                        .route("/v1/traces", axum::routing::post(sink_export))
                        .layer(axum::extract::DefaultBodyLimit::disable())
                        .with_state(counter);
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(listener.local_addr());
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        let addr = ready_rx
            .recv()
            .context("null sink thread died")?
            .context("binding the null sink")?;
        Ok(Sink {
            addr,
            spans,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn sink_export(
    axum::extract::State(spans): axum::extract::State<Arc<AtomicU64>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match ExportTraceServiceRequest::decode(body) {
        Ok(req) => {
            let n: usize = req
                .resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .map(|ss| ss.spans.len())
                .sum();
            spans.fetch_add(n as u64, Ordering::Relaxed);
            (
                [(axum::http::header::CONTENT_TYPE, PROTOBUF)],
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
                .into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// Sends the workload to the null sink, whole passes, until `--baseline-secs` have passed.
async fn baseline(
    sink: &Sink,
    url: &str,
    bodies: &Arc<Bodies>,
    args: &Args,
    failures: &mut Vec<String>,
) -> anyhow::Result<SendResult> {
    let mut total = SendResult::default();
    let started = Instant::now();
    loop {
        let before = sink.spans.load(Ordering::Relaxed);
        let b = send_all(url, bodies, args.concurrency).await?;
        let decoded = sink.spans.load(Ordering::Relaxed) - before;
        if decoded != bodies.total_spans() || b.failed_requests > 0 {
            failures.push(format!(
                "baseline: sink decoded {decoded} spans of {}; {} requests failed",
                bodies.total_spans(),
                b.failed_requests
            ));
        }
        total.merge(b);
        if started.elapsed().as_secs_f64() >= args.baseline_secs {
            break;
        }
    }
    total.wall = started.elapsed();
    Ok(total)
}

// ---- the server under test -------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    fn label(self) -> &'static str {
        match self {
            Db::Sqlite => "sightline-sqlite",
            Db::Postgres => "sightline-postgres",
        }
    }
}

/// What one server run measured.
#[derive(Debug, Clone)]
struct ServerRun {
    db: Db,
    round: usize,
    send: SendResult,
    stored_spans: i64,
    stored_traces: i64,
    /// VmHWM at the end of the send (kernel-tracked peak), bytes.
    peak_rss: u64,
    /// Highest VmRSS sampled every 50 ms, bytes (cross-check of `peak_rss`).
    max_sampled_rss: u64,
    idle_rss: u64,
    /// Server CPU time (user + system) during the send.
    server_cpu: Duration,
    /// This process (sender) CPU time during the send.
    bench_cpu: Duration,
    /// Per server thread name during the send: CPU time and time waiting for a CPU.
    threads: Vec<(String, Duration, Duration)>,
    /// Share of all CPUs busy (any process) and in iowait during the send.
    machine_busy: f64,
    machine_iowait: f64,
    /// Database bytes after shutdown (SQLite: file + -wal + -shm after a TRUNCATE checkpoint;
    /// PostgreSQL: pg_database_size minus its size right after migrations).
    db_bytes: u64,
    db_detail: String,
    shutdown: Duration,
    writer: Option<WriterLog>,
    log_path: PathBuf,
}

impl ServerRun {
    fn bytes_per_span(&self) -> f64 {
        self.db_bytes as f64 / self.stored_spans.max(1) as f64
    }
}

/// Group-commit figures parsed from the server's debug log ("Batch committed." lines).
#[derive(Debug, Clone, Default)]
struct WriterLog {
    commits: u64,
    spans: u64,
    busy_ms: u64,
    max_ms: u64,
    max_spans: u64,
}

fn parse_writer_log(log: &str) -> Option<WriterLog> {
    let mut w = WriterLog::default();
    for line in log.lines().filter(|l| l.contains("Batch committed.")) {
        let field = |key: &str| -> u64 {
            line.split_whitespace()
                .find_map(|tok| tok.strip_prefix(key))
                .and_then(|v| v.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
                .unwrap_or(0)
        };
        let (spans, ms) = (field("spans="), field("ms="));
        w.commits += 1;
        w.spans += spans;
        w.busy_ms += ms;
        w.max_ms = w.max_ms.max(ms);
        w.max_spans = w.max_spans.max(spans);
    }
    (w.commits > 0).then_some(w)
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn server_bin(args: &Args) -> anyhow::Result<PathBuf> {
    let bin = match &args.server_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name(format!("sightline{}", std::env::consts::EXE_SUFFIX)),
    };
    if !bin.is_file() {
        bail!(
            "server binary {} not found: build it (cargo build --release -p server --bins) or pass --server-bin",
            bin.display()
        );
    }
    Ok(bin)
}

/// `Vm…:   1234 kB` from /proc/<pid>/status, in bytes.
fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

/// utime + stime of a process (`self` or a pid) from /proc/<pid>/stat.
fn proc_cpu(pid: &str) -> Duration {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the `(comm)`, which may contain spaces.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime is field 14, stime 15 (1-based); `rest` starts at field 3.
    let total = ticks(11) + ticks(12);
    Duration::from_secs_f64(total as f64 / clock_ticks())
}

/// Per thread name of a process: (time on CPU, time runnable but waiting for a CPU), from
/// /proc/<pid>/task/*/schedstat. Threads that already exited are not listed.
fn thread_sched(pid: u32) -> BTreeMap<String, (Duration, Duration)> {
    let mut out: BTreeMap<String, (Duration, Duration)> = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let tid = entry.file_name().to_string_lossy().to_string();
        let task = format!("/proc/{pid}/task/{tid}");
        let (Ok(comm), Ok(sched)) = (
            std::fs::read_to_string(format!("{task}/comm")),
            std::fs::read_to_string(format!("{task}/schedstat")),
        ) else {
            continue;
        };
        let f: Vec<u64> = sched
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let e = out.entry(comm.trim().to_string()).or_default();
        e.0 += Duration::from_nanos(f.first().copied().unwrap_or(0));
        e.1 += Duration::from_nanos(f.get(1).copied().unwrap_or(0));
    }
    out
}

/// Machine-wide (busy, iowait, total) jiffies from the first line of /proc/stat.
fn machine_cpu() -> (u64, u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = (0..8).map(get).sum();
    let idle = get(3) + get(4);
    (total - idle, get(4), total)
}

fn clock_ticks() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A fresh database on the PostgreSQL server `base` (default the local one):
/// (admin URL, database name, database URL).
async fn create_pg_db(
    base: Option<&str>,
    prefix: &str,
) -> anyhow::Result<(String, String, String)> {
    let base = base
        .unwrap_or("postgres://postgres@127.0.0.1:5432")
        .trim_end_matches('/')
        .to_string();
    let name = unique_name(prefix);
    let admin = format!("{base}/postgres");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .with_context(|| format!("connecting to {admin}"))?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .context("creating the bench database")?;
    conn.close().await?;
    let url = format!("{base}/{name}");
    Ok((admin, name, url))
}

/// Drops a database made by [`create_pg_db`]; best effort (a bench must not fail on cleanup).
async fn drop_pg_db(admin: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    )
}

async fn wait_healthy(child: &mut Child, base: &str, log: &Path) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "sightline exited during startup ({status}); log {}:\n{}",
                log.display(),
                tail(log, 30)
            );
        }
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!(
                "sightline not healthy after 120 s; log {}:\n{}",
                log.display(),
                tail(log, 30)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tail(path: &Path, n: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

async fn sigterm_and_wait(child: &mut Child) -> anyhow::Result<ExitStatus> {
    let pid = child.id().context("server already reaped")?;
    let st = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .context("running kill -TERM")?;
    if !st.success() {
        bail!("kill -TERM {pid} failed");
    }
    match tokio::time::timeout(Duration::from_secs(300), child.wait()).await {
        Ok(s) => Ok(s?),
        Err(_) => {
            let _ = child.kill().await;
            bail!("sightline did not exit within 300 s of SIGTERM")
        }
    }
}

/// One run of the real server on a fresh database.
async fn run_server(
    args: &Args,
    db: Db,
    bodies: &Arc<Bodies>,
    run_no: usize,
) -> anyhow::Result<ServerRun> {
    let bin = server_bin(args)?;
    let dir = std::env::temp_dir().join(unique_name(&format!("sightline-bench-{run_no}")));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let db_file = dir.join("bench.db");
    let log_path = dir.join("server.log");
    let mut pg: Option<(String, String, String)> = None; // (admin url, db name, db url)
    let database_url = match db {
        Db::Sqlite => format!("sqlite://{}", db_file.display()),
        Db::Postgres => {
            let created = create_pg_db(args.postgres.as_deref(), "sightline_bench").await?;
            let url = created.2.clone();
            pg = Some(created);
            url
        }
    };
    let result = run_server_on(
        args,
        db,
        bodies,
        &bin,
        &database_url,
        &db_file,
        &log_path,
        pg.as_ref(),
    )
    .await;
    if !args.keep {
        if let Some((admin, name, _)) = &pg {
            drop_pg_db(admin, name).await;
        }
        if result.is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            eprintln!("kept {} for inspection", dir.display());
        }
    } else {
        eprintln!("kept {}", dir.display());
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_server_on(
    args: &Args,
    db: Db,
    bodies: &Arc<Bodies>,
    bin: &Path,
    database_url: &str,
    db_file: &Path,
    log_path: &Path,
    pg: Option<&(String, String, String)>,
) -> anyhow::Result<ServerRun> {
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(log_path)?;
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--otlp-http-listen", "off", "--otlp-grpc-listen", "off"])
        .args(["--database-url", database_url])
        .args(&args.server_args)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| DEFAULT_SERVER_LOG.into()),
        )
        .env("NO_COLOR", "1")
        .env_remove("SIGHTLINE_DEMO")
        .env_remove("SIGHTLINE_API_KEYS")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id().context("no pid for the server")?;
    wait_healthy(&mut child, &base, log_path).await?;

    let pg_empty_size = match pg {
        Some((_, _, url)) => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            let s: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut c)
                .await?;
            c.close().await?;
            s as u64
        }
        None => 0,
    };

    let idle_rss = proc_status_kb(pid, "VmRSS:").unwrap_or(0);
    let sampling = Arc::new(AtomicU64::new(idle_rss));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let sampler = {
        let max = sampling.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop_rx.changed() => break,
                }
                if let Some(rss) = proc_status_kb(pid, "VmRSS:") {
                    max.fetch_max(rss, Ordering::Relaxed);
                }
            }
        })
    };
    let cpu0 = (proc_cpu(&pid.to_string()), proc_cpu("self"));
    let (threads0, machine0) = (thread_sched(pid), machine_cpu());
    let send = send_all(&format!("{base}/v1/traces"), bodies, args.concurrency).await;
    let cpu1 = (proc_cpu(&pid.to_string()), proc_cpu("self"));
    let (threads1, machine1) = (thread_sched(pid), machine_cpu());
    let mut threads: Vec<(String, Duration, Duration)> = threads1
        .into_iter()
        .map(|(name, (run, wait))| {
            let (run0, wait0) = threads0.get(&name).copied().unwrap_or_default();
            (name, run.saturating_sub(run0), wait.saturating_sub(wait0))
        })
        .collect();
    let listed: Duration = threads.iter().map(|(_, t, _)| *t).sum();
    threads.push((
        "(exited threads)".into(),
        cpu1.0.saturating_sub(cpu0.0).saturating_sub(listed),
        Duration::ZERO,
    ));
    threads.sort_by_key(|t| std::cmp::Reverse(t.1));
    threads.retain(|(_, t, _)| t.as_millis() >= 50);
    let jiffies = (machine1.2 - machine0.2).max(1) as f64;
    let machine_busy = (machine1.0 - machine0.0) as f64 / jiffies;
    let machine_iowait = (machine1.1 - machine0.1) as f64 / jiffies;
    let _ = stop_tx.send(true);
    let _ = sampler.await;
    let peak_rss = proc_status_kb(pid, "VmHWM:").unwrap_or(0);
    let send = match send {
        Ok(s) => s,
        Err(e) => {
            let _ = child.kill().await;
            return Err(e);
        }
    };

    let t = Instant::now();
    let status = sigterm_and_wait(&mut child).await?;
    let shutdown = t.elapsed();
    if !status.success() {
        eprintln!(
            "warning: sightline exited with {status}; log tail:\n{}",
            tail(log_path, 20)
        );
    }
    let log_text = std::fs::read_to_string(log_path).unwrap_or_default();

    let (stored_traces, stored_spans, db_bytes, db_detail) = match (db, pg) {
        (Db::Sqlite, _) => measure_sqlite(db_file).await?,
        (Db::Postgres, Some((_, _, url))) => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            let traces: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM traces")
                .fetch_one(&mut c)
                .await?;
            let spans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spans")
                .fetch_one(&mut c)
                .await?;
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&mut c)
                .await?;
            let tables: Vec<(String, i64)> = sqlx::query_as(
                "SELECT relname::text, pg_total_relation_size(relid) FROM pg_stat_user_tables \
                 ORDER BY 2 DESC LIMIT 4",
            )
            .fetch_all(&mut c)
            .await?;
            c.close().await?;
            let net = (size as u64).saturating_sub(pg_empty_size);
            let detail = format!(
                "pg_database_size {} − {} empty; {}",
                mb(size as u64),
                mb(pg_empty_size),
                tables
                    .iter()
                    .map(|(t, s)| format!("{t} {}", mb(*s as u64)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (traces, spans, net, detail)
        }
        (Db::Postgres, None) => unreachable!("postgres run without a database"),
    };

    Ok(ServerRun {
        db,
        round: 0,
        send,
        stored_spans,
        stored_traces,
        peak_rss,
        max_sampled_rss: sampling.load(Ordering::Relaxed),
        idle_rss,
        server_cpu: cpu1.0.saturating_sub(cpu0.0),
        bench_cpu: cpu1.1.saturating_sub(cpu0.1),
        threads,
        machine_busy,
        machine_iowait,
        db_bytes,
        db_detail,
        shutdown,
        writer: parse_writer_log(&log_text),
        log_path: log_path.to_path_buf(),
    })
}

/// Span/trace counts and on-disk size of a SQLite database whose server has exited.
async fn measure_sqlite(db_file: &Path) -> anyhow::Result<(i64, i64, u64, String)> {
    let opts =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", db_file.display()))?
            .create_if_missing(false);
    let mut c = opts.connect().await.context("opening the bench database")?;
    // Fold the WAL into the main file so the size is the data, not the log.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_all(&mut c)
        .await?;
    let traces: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM traces")
        .fetch_one(&mut c)
        .await?;
    let spans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spans")
        .fetch_one(&mut c)
        .await?;
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut c)
        .await?;
    let freelist: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(&mut c)
        .await?;
    // Per-table sizes when the dbstat virtual table is compiled in (it usually is not).
    let tables: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6",
    )
    .fetch_all(&mut c)
    .await
    .unwrap_or_default();
    c.close().await?;
    let mut total = 0;
    let mut parts = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db_file.display()));
        if let Ok(m) = std::fs::metadata(&p) {
            total += m.len();
            parts.push(format!("db{suffix} {}", mb(m.len())));
        }
    }
    let mut detail = format!(
        "{}; page {page_size} B, {freelist} free pages",
        parts.join(" + ")
    );
    if !tables.is_empty() {
        detail.push_str("; ");
        detail.push_str(
            &tables
                .iter()
                .map(|(t, s)| format!("{t} {}", mb(*s as u64)))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    Ok((traces, spans, total, detail))
}

// ---- report ----------------------------------------------------------------------------------

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn thousands(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn print_send_row(label: &str, s: &SendResult) {
    println!(
        "{label:<22} {:>9} {:>8.2} {:>10} {:>7} {:>7.1} {:>7.1} {:>7.1}",
        s.accepted_spans(),
        s.wall.as_secs_f64(),
        thousands(s.spans_per_s()),
        s.retries,
        s.latency(50.0),
        s.latency(95.0),
        s.latency(99.0),
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(sizes) = &args.queries {
        return query_bench::run(&args, sizes).await;
    }
    if let Some(url) = &args.board_on {
        return query_bench::board_on(url).await;
    }
    if args.traces == 0 || args.batch == 0 || args.concurrency == 0 || args.repeat == 0 {
        bail!("--traces, --batch, --concurrency and --repeat must be at least 1");
    }
    let mut dbs = Vec::new();
    if !args.no_sqlite {
        dbs.push(Db::Sqlite);
    }
    if args.postgres.is_some() {
        dbs.push(Db::Postgres);
    }
    if !dbs.is_empty() {
        server_bin(&args)?;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());

    println!(
        "sightline-bench: {} traces, batch {}, concurrency {}, seed {}, {} CPUs, loadavg {}",
        args.traces,
        args.batch,
        args.concurrency,
        args.seed,
        cpus,
        loadavg()
    );
    let bodies = Arc::new(build_bodies(args.traces, args.batch, args.seed));
    println!(
        "pre-encoded {} traces / {} spans into {} requests, {} ({:.0} B/span on the wire) in {:.2} s (not counted)",
        bodies.traces,
        bodies.total_spans(),
        bodies.bodies.len(),
        mb(bodies.total_bytes()),
        bodies.total_bytes() as f64 / bodies.total_spans() as f64,
        bodies.build.as_secs_f64()
    );

    let sink = Sink::start()?;
    let sink_url = format!("http://{}/v1/traces", sink.addr);
    let mut baselines: Vec<SendResult> = Vec::new();
    let mut runs: Vec<ServerRun> = Vec::new();
    let mut failures = Vec::new();
    for round in 0..args.repeat {
        eprintln!("[round {}] baseline: null sink at {}", round + 1, sink.addr);
        let pre = baseline(&sink, &sink_url, &bodies, &args, &mut failures).await?;
        for &db in &dbs {
            eprintln!("[round {}] {}: starting the server", round + 1, db.label());
            let mut r = run_server(&args, db, &bodies, round + 1)
                .await
                .with_context(|| format!("{} run", db.label()))?;
            r.round = round + 1;
            let sent = bodies.total_spans();
            if r.send.failed_requests > 0 {
                failures.push(format!(
                    "{}: {} requests failed: {:?}",
                    db.label(),
                    r.send.failed_requests,
                    r.send.errors
                ));
            }
            if r.stored_spans as u64 != r.send.accepted_spans() || r.send.accepted_spans() != sent {
                failures.push(format!(
                    "{}: sent {sent} spans, {} acknowledged, {} stored",
                    db.label(),
                    r.send.accepted_spans(),
                    r.stored_spans
                ));
            }
            runs.push(r);
        }
        let b = if dbs.is_empty() {
            pre
        } else {
            eprintln!("[round {}] baseline again", round + 1);
            let post = baseline(&sink, &sink_url, &bodies, &args, &mut failures).await?;
            println!(
                "baseline #{}: {} spans/s before, {} after the server runs; mean {}",
                round + 1,
                thousands(pre.spans_per_s()),
                thousands(post.spans_per_s()),
                thousands((pre.spans_per_s() + post.spans_per_s()) / 2.0)
            );
            // The mean of the two rates: `wall` chosen so spans_per_s() returns it.
            let mut both = pre.clone();
            both.merge(post.clone());
            let spans = both.accepted_spans() as f64;
            both.wall =
                Duration::from_secs_f64(spans / ((pre.spans_per_s() + post.spans_per_s()) / 2.0));
            both
        };
        baselines.push(b);
    }
    drop(sink);

    // ---- table ----
    println!();
    println!(
        "{:<22} {:>9} {:>8} {:>10} {:>7} {:>7} {:>7} {:>7}",
        "run", "spans", "wall s", "spans/s", "retries", "p50 ms", "p95 ms", "p99 ms"
    );
    for (i, b) in baselines.iter().enumerate() {
        let passes = b.accepted_spans() / bodies.total_spans().max(1);
        print_send_row(&format!("baseline #{} ({passes}x)", i + 1), b);
        for r in runs.iter().skip(i * dbs.len()).take(dbs.len()) {
            print_send_row(&format!("{} #{}", r.db.label(), i + 1), &r.send);
        }
    }
    println!();
    println!(
        "{:<22} {:>9} {:>9} {:>10} {:>11} {:>11} {:>11} {:>9} {:>10}",
        "server",
        "stored",
        "traces",
        "peak RSS",
        "idle RSS",
        "disk",
        "B/span",
        "srv CPU",
        "bench CPU"
    );
    for r in &runs {
        println!(
            "{:<22} {:>9} {:>9} {:>10} {:>11} {:>11} {:>11.0} {:>8.1}s {:>9.1}s",
            format!("{} #{}", r.db.label(), r.round),
            r.stored_spans,
            r.stored_traces,
            mb(r.peak_rss.max(r.max_sampled_rss)),
            mb(r.idle_rss),
            mb(r.db_bytes),
            r.bytes_per_span(),
            r.server_cpu.as_secs_f64(),
            r.bench_cpu.as_secs_f64(),
        );
    }
    for r in &runs {
        let wall = r.send.wall.as_secs_f64();
        println!(
            "  {} #{}: {}; server CPU {:.0}% of one core over the send ({:.0}% of {cpus}); shutdown {:.2} s",
            r.db.label(),
            r.round,
            r.db_detail,
            100.0 * r.server_cpu.as_secs_f64() / wall,
            100.0 * r.server_cpu.as_secs_f64() / wall / cpus as f64,
            r.shutdown.as_secs_f64()
        );
        println!(
            "    machine during the send: {:.0}% of {cpus} CPUs busy (all processes), {:.0}% iowait; server threads: {}",
            100.0 * r.machine_busy,
            100.0 * r.machine_iowait,
            r.threads
                .iter()
                .take(6)
                .map(|(n, t, w)| format!(
                    "{n} {:.1}s on CPU + {:.1}s waiting for one",
                    t.as_secs_f64(),
                    w.as_secs_f64()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(w) = &r.writer {
            println!(
                "    writer: {} commits, {:.0} spans/commit (max {}), busy {:.2} s = {:.0}% of the send, {:.1} ms/commit (max {} ms), {} spans/s while committing",
                w.commits,
                w.spans as f64 / w.commits as f64,
                w.max_spans,
                w.busy_ms as f64 / 1e3,
                100.0 * w.busy_ms as f64 / 1e3 / wall,
                w.busy_ms as f64 / w.commits as f64,
                w.max_ms,
                thousands(w.spans as f64 / (w.busy_ms.max(1) as f64 / 1e3)),
            );
        }
        if !r.send.statuses.is_empty() {
            println!(
                "    statuses: {:?}; log {}",
                r.send.statuses,
                r.log_path.display()
            );
        }
    }

    // ---- summary ----
    let base = median(baselines.iter().map(SendResult::spans_per_s).collect());
    println!();
    println!(
        "baseline (null sink, decode only): {} spans/s",
        thousands(base)
    );
    let mut json_runs = Vec::new();
    for &db in &dbs {
        let mine: Vec<&ServerRun> = runs.iter().filter(|r| r.db == db).collect();
        let sps = median(mine.iter().map(|r| r.send.spans_per_s()).collect());
        let ratios = median(
            mine.iter()
                .enumerate()
                .map(|(i, r)| r.send.spans_per_s() / baselines[i].spans_per_s())
                .collect(),
        );
        let rss = mine
            .iter()
            .map(|r| r.peak_rss.max(r.max_sampled_rss))
            .max()
            .unwrap_or(0);
        let bps = median(mine.iter().map(|r| r.bytes_per_span()).collect());
        let refs = REFERENCES
            .iter()
            .map(|(name, s, b)| {
                format!(
                    "{name} {} spans/s, {:.1} KB/span (Sightline {:.1}x faster, {:.2}x the disk)",
                    thousands(*s),
                    b / 1e3,
                    sps / s,
                    bps / b
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        println!(
            "RESULT {}: {} spans/s accepted+committed = {:.3} x baseline ({} spans/s); goal {} spans/s: {}; peak RSS {}; {:.0} B/span on disk",
            db.label(),
            thousands(sps),
            ratios,
            thousands(base),
            thousands(GOAL_SPANS_PER_S),
            if sps >= GOAL_SPANS_PER_S { "met" } else { "NOT met" },
            mb(rss),
            bps
        );
        println!("  reference (shared/bench README, same workload and machine kind): {refs}");
        json_runs.push(serde_json::json!({
            "db": db.label(),
            "spans_per_s": sps,
            "ratio_to_baseline": ratios,
            "peak_rss_bytes": rss,
            "bytes_per_span": bps,
        }));
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "traces": bodies.traces,
                "spans": bodies.total_spans(),
                "batch": args.batch,
                "concurrency": args.concurrency,
                "cpus": cpus,
                "baseline_spans_per_s": base,
                "runs": json_runs,
                "loadavg_after": loadavg(),
            })
        );
    }
    println!("loadavg after: {}", loadavg());
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("FAILED: {f}");
        }
        bail!("{} check(s) failed", failures.len());
    }
    Ok(())
}
