//! Overload: 32 clients post OTLP batches back to back at a `sightline serve` child process,
//! re-sending a refused batch at once (no back-off), far beyond what the single writer
//! commits. Every request is answered 200 (committed) or 503 with `Retry-After` (nothing
//! written): after the run the database holds exactly the spans of the 200s, none of the
//! rest. Prints the offered load as a multiple of what was stored, the refusals and the
//! server's peak RSS next to its RSS when idle (the README reports them); memory stays
//! bounded by `--queue-spans`, not by the offered load.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestDb;
use prost::Message;

const SENDERS: usize = 32;
const LOAD: Duration = Duration::from_secs(8);

fn rss_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Tally {
    ok: usize,
    refused: usize,
    offered_spans: usize,
    /// trace id → spans, of batches answered 200.
    acked: HashMap<[u8; 16], usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_refuses_with_retry_after_and_loses_nothing() {
    let db = TestDb::sqlite();
    let port = common::free_port();
    // A small queue and small commits, so that clients on the same 2 cores, which also
    // prepare every request, outrun the writer: the memory bound scales with the queue (the
    // default is 200,000 spans). 8 MiB of bodies in flight: about 24 of these requests.
    let mut child = common::spawn_sightline(
        &db,
        port,
        &[
            "--queue-spans=3000",
            "--batch-spans=1000",
            "--max-inflight-bytes=8388608",
        ],
    )
    .await;
    let pid = child.id().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let idle_kb = rss_kb(pid, "VmRSS:");

    // Bodies made before the load, so the clients only send.
    let resource = sightline::demo::resource("overload-test");
    let now_ns = sightline::store::now_ms() * 1_000_000;
    let batches: Vec<Vec<_>> = (0..SENDERS)
        .map(|n| {
            (0..40)
                .map(|b| {
                    let traces = sightline::demo::Workload::new((n * 1_000 + b) as u64)
                        .traces(20, now_ns, 1_000_000);
                    let body = bytes::Bytes::from(
                        sightline::demo::encode_request(&traces, &resource).encode_to_vec(),
                    );
                    let ids: Vec<_> = traces.iter().map(|t| (t.trace_id, t.spans.len())).collect();
                    (body, ids)
                })
                .collect()
        })
        .collect();
    let tally: Arc<Mutex<Tally>> = Arc::default();
    let deadline = Instant::now() + LOAD;
    let senders: Vec<_> = batches
        .into_iter()
        .map(|bodies| {
            let (tally, base) = (tally.clone(), base.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for (body, ids) in bodies {
                    let spans: usize = ids.iter().map(|(_, n)| n).sum();
                    // The same batch until it is taken (or the load ends).
                    loop {
                        if Instant::now() > deadline {
                            return;
                        }
                        let r = client
                            .post(format!("{base}/v1/traces"))
                            .header("content-type", "application/x-protobuf")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("the server answers every request");
                        let status = r.status().as_u16();
                        let retry_after = r.headers().contains_key("retry-after");
                        let mut t = tally.lock().unwrap();
                        t.offered_spans += spans;
                        match status {
                            200 => {
                                t.ok += 1;
                                t.acked.extend(ids.iter().copied());
                                break;
                            }
                            429 | 503 => {
                                assert!(retry_after, "{status} without Retry-After");
                                t.refused += 1;
                            }
                            other => panic!("answered {other} under load"),
                        }
                    }
                }
            })
        })
        .collect();
    let mut peak_sampled = 0;
    while Instant::now() < deadline {
        peak_sampled = peak_sampled.max(rss_kb(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for s in senders {
        s.await.unwrap();
    }
    let peak_kb = rss_kb(pid, "VmHWM:").max(peak_sampled);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().await.unwrap().success());

    let t = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    let acked_spans: usize = t.acked.values().sum();
    let backend = sightline::store::connect(&db.url()).await.unwrap();
    let stats = backend.stats().await.unwrap();
    println!(
        "OVERLOAD FIGURES: {SENDERS} clients for {}s offered {} spans, {:.1}x the {} stored; \
         {} requests answered 200, {} refused with 503 + Retry-After, 0 other; \
         server RSS idle {} MB, peak {} MB",
        LOAD.as_secs(),
        t.offered_spans,
        t.offered_spans as f64 / acked_spans.max(1) as f64,
        acked_spans,
        t.ok,
        t.refused,
        idle_kb / 1024,
        peak_kb / 1024
    );
    assert_eq!(
        stats.spans as usize, acked_spans,
        "stored spans differ from the spans of requests answered 200"
    );
    assert_eq!(stats.traces as usize, t.acked.len());
    assert!(
        t.refused > 0,
        "the load never exceeded capacity: {} requests all answered 200",
        t.ok
    );
}
