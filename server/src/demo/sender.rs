//! Sends the demo workload to a Sightline server as real OTLP/HTTP protobuf, paced to a target
//! rate, so a first run shows live dashboards. It only generates and POSTs; it never reaches
//! into the server's stages, so the demo exercises exactly the path a real client takes.
//!
//! Retry policy follows the OTLP/HTTP spec: 429, 502, 503 and 504 are transient and retried
//! (honouring `Retry-After` in seconds); connection errors are retried with jittered
//! exponential backoff; any other status is permanent and the batch is dropped and counted.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn};

use super::workload::{into_request, resource, DemoTrace, Knobs, Sessions, Workload};

const PROTOBUF: &str = "application/x-protobuf";
const MAX_RETRIES: u32 = 10;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
const LOG_EVERY: Duration = Duration::from_secs(10);
/// Backfill is capped so a large rate × window cannot keep a first start busy for minutes.
const MAX_BACKFILL_TRACES: u64 = 100_000;
/// Live ticks are at least this far apart (so a high rate still batches) and at most one second
/// apart (so a low rate still updates dashboards every second).
const MIN_TICK: f64 = 0.05;
const MAX_TICK: f64 = 1.0;

/// How the demo traffic is sent; built by `main` from the `demo` command's flags.
#[derive(Clone)]
pub struct DemoSettings {
    /// Base URL of the server, e.g. `http://127.0.0.1:5000`; traces go to `{target}/v1/traces`.
    pub target: String,
    /// Traces per second in live mode.
    pub rate: f64,
    /// Traces per request.
    pub batch: usize,
    pub seed: u64,
    /// Stop after this many traces (backfill included); `None` runs until shutdown.
    pub total: Option<u64>,
    /// Sent as `Authorization: Bearer …`.
    pub api_key: Option<String>,
    /// Sent as `x-mlflow-experiment-id`.
    pub experiment_id: Option<String>,
    /// Before going live, send `rate × 60 × N` traces spread over the last N minutes (0 = none).
    pub backfill_minutes: u32,
}

impl fmt::Debug for DemoSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoSettings")
            .field("target", &self.target)
            .field("rate", &self.rate)
            .field("batch", &self.batch)
            .field("seed", &self.seed)
            .field("total", &self.total)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("experiment_id", &self.experiment_id)
            .field("backfill_minutes", &self.backfill_minutes)
            .finish()
    }
}

/// What a run delivered. A trace is counted once in `traces_sent`, however often it was retried.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoReport {
    pub traces_sent: u64,
    pub spans_sent: u64,
    /// Traces in requests that got a 2xx.
    pub traces_accepted: u64,
    /// Spans in 2xx requests minus the spans the server reported as rejected (partial success).
    pub spans_accepted: u64,
    pub spans_rejected: u64,
    pub requests: u64,
    /// Extra attempts after a transient failure.
    pub retries: u64,
    /// Batches given up: permanent status, retries exhausted, or interrupted by shutdown.
    pub batches_failed: u64,
    pub traces_failed: u64,
}

/// Sends demo traffic until `shutdown` becomes `true` or `settings.total` traces are sent.
///
/// # Errors
/// Invalid settings (rate, batch size, target URL, header values); delivery problems are
/// counted in the report, never returned.
pub async fn run(
    settings: DemoSettings,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<DemoReport> {
    let (_keep, knobs) = watch::channel(Knobs::default());
    run_with_knobs(settings, knobs, shutdown).await
}

/// [`run`] with knobs that can be turned while it runs (e.g. a latency spike for alerting
/// tests); each batch is generated with the knobs current at that moment.
///
/// # Errors
/// As [`run`].
pub async fn run_with_knobs(
    settings: DemoSettings,
    knobs: watch::Receiver<Knobs>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<DemoReport> {
    let mut sender = Sender::new(&settings, shutdown)?;
    let mut workload = Workload::new(settings.seed);
    let mut sessions = workload.sessions();
    let mut budget = settings.total.unwrap_or(u64::MAX);
    let batch = settings.batch as u64;
    let spacing_ns = 1e9 / settings.rate;
    info!(url = %sender.url, rate = settings.rate, batch, "Demo traffic started.");

    if settings.backfill_minutes > 0 {
        let window_ns = f64::from(settings.backfill_minutes) * 60e9;
        let count = ((settings.rate * window_ns / 1e9) as u64)
            .clamp(1, MAX_BACKFILL_TRACES)
            .min(budget);
        let step_ns = window_ns / count as f64;
        let first_ns = now_ns() - window_ns as i64;
        let mut done = 0;
        while done < count && !sender.stopping() {
            workload.set_knobs(*knobs.borrow());
            let n = batch.min(count - done);
            let traces = generate(&workload, &mut sessions, n, |j| {
                first_ns + ((done + j) as f64 * step_ns) as i64
            });
            sender.send(traces).await;
            done += n;
            sender.maybe_log();
        }
        budget -= done;
    }

    let tick = Duration::from_secs_f64((batch as f64 / settings.rate).clamp(MIN_TICK, MAX_TICK));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // When the server is slower than the rate, generation is shed instead of building an
    // ever-larger burst to send once it recovers.
    let max_backlog = (batch * 10).max((settings.rate * 2.0) as u64);
    let live_start = Instant::now();
    let mut scheduled: u64 = 0;
    while budget > 0 && !sender.stopping() {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown_requested(&mut sender.shutdown) => break,
        }
        // `+ 1` sends the first trace at once instead of after 1/rate seconds.
        let due_total = (settings.rate * live_start.elapsed().as_secs_f64()) as u64 + 1;
        let mut due = due_total.saturating_sub(scheduled);
        scheduled += due;
        due = due.min(max_backlog).min(budget);
        budget -= due;
        let now = now_ns();
        // Spread the tick's traces over the time since the previous tick, ending now.
        let start_of = |j: u64| now - ((due - 1 - j) as f64 * spacing_ns) as i64;
        let mut done = 0;
        while done < due && !sender.stopping() {
            workload.set_knobs(*knobs.borrow());
            let n = batch.min(due - done);
            let traces = generate(&workload, &mut sessions, n, |j| start_of(done + j));
            sender.send(traces).await;
            done += n;
        }
        sender.maybe_log();
    }

    let report = sender.report;
    info!(
        traces = report.traces_sent,
        spans = report.spans_sent,
        accepted = report.traces_accepted,
        failed = report.traces_failed,
        retries = report.retries,
        "Demo traffic stopped."
    );
    Ok(report)
}

fn generate(
    workload: &Workload,
    sessions: &mut Sessions,
    n: u64,
    start_of: impl Fn(u64) -> i64,
) -> Vec<DemoTrace> {
    sessions
        .take(n as usize)
        .zip(0..)
        .map(|((index, message_no, session), j)| {
            workload.trace(index, start_of(j), &session, message_no)
        })
        .collect()
}

/// Resolves once shutdown is requested. A dropped sender can never request it, so that case
/// waits forever rather than stopping the demo by accident.
async fn shutdown_requested(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Problems worth one warning each; repeating them per request would flood the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Problem {
    Status(u16),
    Unreachable,
    GaveUp,
}

enum Attempt {
    Accepted {
        rejected: u64,
    },
    Busy {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    Refused(StatusCode),
    Unreachable(reqwest::Error),
}

struct Sender {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    resource: Resource,
    shutdown: watch::Receiver<bool>,
    report: DemoReport,
    warned: HashSet<Problem>,
    jitter: SmallRng,
    last_log: Instant,
}

impl Sender {
    fn new(settings: &DemoSettings, shutdown: watch::Receiver<bool>) -> anyhow::Result<Self> {
        if !(settings.rate.is_finite() && settings.rate > 0.0) {
            bail!("demo rate must be a positive number of traces per second");
        }
        if settings.batch == 0 {
            bail!("demo batch must be at least one trace");
        }
        let base = reqwest::Url::parse(&settings.target)
            .with_context(|| format!("demo target {:?} is not a URL", settings.target))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!(
                "demo target must be an http:// URL, got {}",
                settings.target
            );
        }
        let url = format!("{}/v1/traces", settings.target.trim_end_matches('/'));
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF));
        if let Some(id) = &settings.experiment_id {
            let value = HeaderValue::from_str(id).context("demo experiment id is not a header")?;
            headers.insert(HeaderName::from_static("x-mlflow-experiment-id"), value);
        }
        if let Some(key) = &settings.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                .context("demo API key is not a valid header value")?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the demo HTTP client")?;
        Ok(Self {
            client,
            url,
            headers,
            resource: resource(super::workload::DEFAULT_PROJECT),
            shutdown,
            report: DemoReport::default(),
            warned: HashSet::new(),
            jitter: SmallRng::seed_from_u64(settings.seed),
            last_log: Instant::now(),
        })
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Delivers one batch, retrying transient failures; the outcome lands in the report.
    async fn send(&mut self, traces: Vec<DemoTrace>) {
        let n_traces = traces.len() as u64;
        let n_spans: u64 = traces.iter().map(|t| t.spans.len() as u64).sum();
        let body = Bytes::from(into_request(traces, &self.resource).encode_to_vec());
        self.report.traces_sent += n_traces;
        self.report.spans_sent += n_spans;
        let mut attempt = 0;
        loop {
            self.report.requests += 1;
            let request = post(&self.client, &self.url, &self.headers, body.clone());
            let outcome = tokio::select! {
                outcome = request => outcome,
                () = shutdown_requested(&mut self.shutdown) => return self.fail(n_traces),
            };
            let wait = match outcome {
                Attempt::Accepted { rejected } => {
                    self.report.traces_accepted += n_traces;
                    self.report.spans_rejected += rejected;
                    self.report.spans_accepted += n_spans.saturating_sub(rejected);
                    return;
                }
                Attempt::Refused(status) => {
                    if self.warned.insert(Problem::Status(status.as_u16())) {
                        warn!(status = status.as_u16(), url = %self.url, "Demo batch refused; dropping it.");
                    }
                    return self.fail(n_traces);
                }
                Attempt::Busy {
                    status,
                    retry_after,
                } => {
                    if self.warned.insert(Problem::Status(status.as_u16())) {
                        warn!(
                            status = status.as_u16(),
                            "Server busy with demo traffic; retrying."
                        );
                    }
                    retry_after.unwrap_or_else(|| self.backoff(attempt))
                }
                Attempt::Unreachable(error) => {
                    if self.warned.insert(Problem::Unreachable) {
                        warn!(error = %error, url = %self.url, "Demo traffic cannot reach the server; retrying.");
                    }
                    self.backoff(attempt)
                }
            };
            if attempt >= MAX_RETRIES {
                if self.warned.insert(Problem::GaveUp) {
                    warn!(
                        retries = MAX_RETRIES,
                        "Demo batch still failing after retries; dropping it."
                    );
                }
                return self.fail(n_traces);
            }
            attempt += 1;
            self.report.retries += 1;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                () = shutdown_requested(&mut self.shutdown) => return self.fail(n_traces),
            }
        }
    }

    fn fail(&mut self, n_traces: u64) {
        self.report.batches_failed += 1;
        self.report.traces_failed += n_traces;
    }

    /// 100 ms doubling to 5 s, with jitter so many demo senders do not retry in step.
    fn backoff(&mut self, attempt: u32) -> Duration {
        let base = (0.1 * 2f64.powi(attempt.min(6) as i32)).min(5.0);
        Duration::from_secs_f64(base * self.jitter.random_range(0.5..1.0))
    }

    fn maybe_log(&mut self) {
        if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            info!(
                traces = self.report.traces_sent,
                spans = self.report.spans_sent,
                failed = self.report.traces_failed,
                "Demo traffic sent."
            );
        }
    }
}

async fn post(client: &reqwest::Client, url: &str, headers: &HeaderMap, body: Bytes) -> Attempt {
    let response = match client
        .post(url)
        .headers(headers.clone())
        .body(body)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error) => return Attempt::Unreachable(error),
    };
    let status = response.status();
    if status.is_success() {
        let protobuf = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("protobuf"));
        // The data is already committed on a 2xx; an unreadable body only loses the
        // partial-success count.
        let body = response.bytes().await.unwrap_or_default();
        let rejected = if protobuf {
            ExportTraceServiceResponse::decode(body)
                .ok()
                .and_then(|r| r.partial_success)
                .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0))
        } else {
            0
        };
        return Attempt::Accepted { rejected };
    }
    match status.as_u16() {
        429 | 502 | 503 | 504 => Attempt::Busy {
            status,
            retry_after: retry_after(response.headers()),
        },
        _ => Attempt::Refused(status),
    }
}

/// `Retry-After` in seconds; the HTTP-date form falls back to backoff, and a huge value is
/// capped so one answer cannot park the demo.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes as AxumBytes;
    use axum::extract::State;
    use axum::http::{HeaderMap as AxumHeaders, StatusCode as AxumStatus};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post as axum_post;
    use axum::Router;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    /// A fake OTLP endpoint: the first `busy` requests get 503 + `Retry-After: 0`, then every
    /// request gets `status`.
    #[derive(Clone)]
    struct Inbox {
        busy: usize,
        status: AxumStatus,
        calls: Arc<AtomicUsize>,
        bodies: Arc<Mutex<Vec<(AxumHeaders, AxumBytes)>>>,
    }

    async fn receive(
        State(inbox): State<Inbox>,
        headers: AxumHeaders,
        body: AxumBytes,
    ) -> Response {
        if inbox.calls.fetch_add(1, Ordering::SeqCst) < inbox.busy {
            return (AxumStatus::SERVICE_UNAVAILABLE, [("retry-after", "0")]).into_response();
        }
        if !inbox.status.is_success() {
            return inbox.status.into_response();
        }
        inbox.bodies.lock().unwrap().push((headers, body));
        (
            [("content-type", PROTOBUF)],
            ExportTraceServiceResponse::default().encode_to_vec(),
        )
            .into_response()
    }

    async fn serve(busy: usize, status: AxumStatus) -> (String, Inbox) {
        let inbox = Inbox {
            busy,
            status,
            calls: Arc::default(),
            bodies: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/traces", axum_post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), inbox)
    }

    fn settings(target: String, total: u64) -> DemoSettings {
        DemoSettings {
            target,
            rate: 1_000.0,
            batch: 10,
            seed: 9,
            total: Some(total),
            api_key: Some("secret".into()),
            experiment_id: Some("7".into()),
            backfill_minutes: 0,
        }
    }

    /// (trace id → spans) of every span the inbox accepted.
    fn received(
        inbox: &Inbox,
    ) -> HashMap<Vec<u8>, Vec<opentelemetry_proto::tonic::trace::v1::Span>> {
        let mut traces: HashMap<_, Vec<_>> = HashMap::new();
        for (_, body) in inbox.bodies.lock().unwrap().iter() {
            let req = ExportTraceServiceRequest::decode(body.clone()).unwrap();
            for rs in req.resource_spans {
                for ss in rs.scope_spans {
                    for span in ss.spans {
                        traces.entry(span.trace_id.clone()).or_default().push(span);
                    }
                }
            }
        }
        traces
    }

    #[tokio::test]
    async fn retries_busy_answer_and_delivers_every_trace_once() {
        let (target, inbox) = serve(1, AxumStatus::OK).await;
        let (_tx, rx) = watch::channel(false);
        let started = Instant::now();
        let report = run(settings(target, 45), rx).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );

        assert_eq!(report.traces_sent, 45);
        assert_eq!(report.traces_accepted, 45);
        assert_eq!(report.retries, 1);
        assert_eq!(report.traces_failed, 0);
        assert_eq!(report.spans_accepted, report.spans_sent);
        let traces = received(&inbox);
        assert_eq!(traces.len(), 45);
        let spans: usize = traces.values().map(Vec::len).sum();
        assert_eq!(spans as u64, report.spans_sent);
        for spans in traces.values() {
            let roots = spans.iter().filter(|s| s.parent_span_id.is_empty()).count();
            assert_eq!(roots, 1, "each trace arrives exactly once");
            assert!(spans.len() == 13 || spans.len() == 20);
        }
        let bodies = inbox.bodies.lock().unwrap();
        let (headers, _) = &bodies[0];
        assert_eq!(headers["authorization"], "Bearer secret");
        assert_eq!(headers["x-mlflow-experiment-id"], "7");
        assert_eq!(headers["content-type"], PROTOBUF);
    }

    #[tokio::test]
    async fn backfill_spreads_traces_over_the_window() {
        let (target, inbox) = serve(0, AxumStatus::OK).await;
        let (_tx, rx) = watch::channel(false);
        let mut s = settings(target, 30);
        s.rate = 10.0;
        s.backfill_minutes = 2;
        let before = now_ns();
        let report = run(s, rx).await.unwrap();
        assert_eq!(report.traces_accepted, 30);
        let mut starts: Vec<i64> = received(&inbox)
            .values()
            .flat_map(|spans| spans.iter().filter(|s| s.parent_span_id.is_empty()))
            .map(|root| root.start_time_unix_nano as i64)
            .collect();
        starts.sort_unstable();
        assert_eq!(starts.len(), 30);
        let first = starts[0];
        assert!(first >= before - 121_000_000_000 && first <= before - 119_000_000_000);
        assert!(
            starts[29] - first > 110_000_000_000,
            "spread over the window"
        );
    }

    #[tokio::test]
    async fn permanent_error_is_counted_not_retried() {
        let (target, inbox) = serve(0, AxumStatus::BAD_REQUEST).await;
        let (_tx, rx) = watch::channel(false);
        let report = run(settings(target, 20), rx).await.unwrap();
        assert_eq!(report.traces_failed, 20);
        assert_eq!(report.traces_accepted, 0);
        assert_eq!(report.retries, 0);
        assert_eq!(report.requests, report.batches_failed);
        assert_eq!(inbox.calls.load(Ordering::SeqCst) as u64, report.requests);
    }

    #[tokio::test]
    async fn shutdown_stops_an_endless_run() {
        let (target, _inbox) = serve(0, AxumStatus::OK).await;
        let (tx, rx) = watch::channel(false);
        let mut s = settings(target, 0);
        s.total = None;
        s.rate = 50.0;
        let task = tokio::spawn(run(s, rx));
        tokio::time::sleep(Duration::from_millis(150)).await;
        tx.send(true).unwrap();
        let report = tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("run stops promptly")
            .unwrap()
            .unwrap();
        assert!(report.traces_accepted >= 1, "{report:?}");
    }

    #[test]
    fn invalid_settings_fail_fast() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (target, rate, batch) in [
            ("http://127.0.0.1:1", 0.0, 10),
            ("http://127.0.0.1:1", 5.0, 0),
            ("not a url", 5.0, 10),
        ] {
            let (_tx, rx) = watch::channel(false);
            let mut s = settings(target.into(), 1);
            s.rate = rate;
            s.batch = batch;
            assert!(rt.block_on(run(s, rx)).is_err(), "{target} {rate} {batch}");
        }
    }

    #[test]
    fn debug_hides_the_api_key() {
        let s = settings("http://x".into(), 1);
        assert!(!format!("{s:?}").contains("secret"));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
