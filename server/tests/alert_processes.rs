//! Alerting across real `sightline serve` processes on the wall clock: a server killed with
//! SIGKILL while an alert fires does not page again after its restart, and two replicas on
//! one PostgreSQL elect one evaluator — one page — with the survivor taking over when the
//! leader dies. Rules and the webhook channel come from a `--rules-file`.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::receivers::{free_port, Receiver};
use common::TestDb;
use prost::Message as _;
use sightline::alerts::rule::RuleSpec;
use sightline::demo::{resource, Knobs, Workload};
use sightline::store::alerts::Source;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A `sightline serve` child process; killed (SIGKILL) when dropped.
struct Replica {
    base: String,
    child: tokio::process::Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    async fn start(db_url: &str, rules: &std::path::Path) -> Replica {
        let port = free_port().await;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
            .current_dir(common::python::workspace())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,sqlx=warn")
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--otlp-http-listen", "off", "--otlp-grpc-listen", "off"])
            .args(["--database-url", db_url, "--alert-tick", "1s"])
            .args(["--public-url", "http://sightline.test:5000"])
            .arg("--rules-file")
            .arg(rules)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start sightline");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let stdout = child.stdout.take().unwrap();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = r.next_line().await {
                lines.lock().unwrap().push(l);
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let t0 = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("sightline exited before it was ready: {status}");
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Replica { base, child, log }
    }

    fn leads(&self) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("now evaluates alert rules"))
    }

    async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// SIGTERM, then the exit status.
    async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("no exit within 60 s of SIGTERM")
            .unwrap()
    }

    /// Spiked demo traces that all started in the previous minute, so they stay inside a
    /// 2-minute window for at least a minute from now.
    async fn post_spike(&self) {
        let now_ns = sightline::store::now_ms() * 1_000_000;
        let minute_ns = 60_000_000_000;
        let start = (now_ns / minute_ns - 1) * minute_ns + 1_000_000_000;
        let traces = Workload::new(now_ns as u64)
            .with_knobs(Knobs {
                latency_factor: 6.0,
                error_rate: Some(0.0),
            })
            .traces(30, start, 500_000_000);
        let body = sightline::demo::encode_request(&traces, &resource("chatbot")).encode_to_vec();
        let r = reqwest::Client::new()
            .post(format!("{}/v1/traces", self.base))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

fn rules_file(hook_url: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sightline-rules-{}-{}",
        std::process::id(),
        common::free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[channel]]
name = "hook"
kind = "webhook"
url = "{hook_url}"
secret = "s3cret-key"

[[rule]]
name = "slow-1"
metric = "latency_p95"
op = ">"
threshold = 50
window = "2m"
for = "2s"
interval = "1s"
min_samples = 5
channels = ["hook"]
"#
        ),
    )
    .unwrap();
    path
}

/// Waits until the receiver holds `n` requests, then a few more evaluation rounds, and
/// returns the alert names paged, in order.
async fn pages_after_settling(hook: &Receiver, n: usize) -> Vec<String> {
    let t0 = Instant::now();
    while hook.requests().len() < n {
        assert!(
            t0.elapsed() < Duration::from_secs(45),
            "expected {n} pages, got {:?}",
            hook.requests().len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Four more ticks: any duplicate would have been sent by now.
    tokio::time::sleep(Duration::from_secs(4)).await;
    hook.requests()
        .iter()
        .map(|r| {
            let v = r.json();
            format!(
                "{} {}",
                v["alerts"][0]["labels"]["alertname"].as_str().unwrap(),
                v["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn killed_while_firing_does_not_page_again_after_restart() {
    let hook = Receiver::start(axum::http::StatusCode::OK, "ok").await;
    let rules = rules_file(&hook.url);
    let db = TestDb::sqlite();
    let url = db.url();
    let a = Replica::start(&url, &rules).await;
    a.post_spike().await;
    assert_eq!(pages_after_settling(&hook, 1).await, ["slow-1 firing"]);
    a.kill().await;

    let b = Replica::start(&url, &rules).await;
    let restarted = sightline::store::now_ms();
    tokio::time::sleep(Duration::from_secs(5)).await;
    // It did evaluate, and found the alert already firing.
    let store = sightline::store::connect(&url).await.unwrap().alerts();
    let rule = store.list_rules().await.unwrap().remove(0);
    assert!(
        rule.last_eval_ms.unwrap() > restarted,
        "not evaluated since restart"
    );
    let state = store.states(Some(rule.id)).await.unwrap().remove(0);
    assert_eq!(state.state.phase, sightline::alerts::state::Phase::Firing);
    assert_eq!(
        pages_after_settling(&hook, 1).await,
        ["slow-1 firing"],
        "the restarted server paged again"
    );
    b.kill().await;
}

#[tokio::test]
async fn two_replicas_on_postgres_elect_one_evaluator_and_fail_over() {
    let hook = Receiver::start(axum::http::StatusCode::OK, "ok").await;
    let rules = rules_file(&hook.url);
    let db = TestDb::postgres().await;
    let url = db.url();
    let a = Replica::start(&url, &rules).await;
    // A holds the evaluator lock before B exists.
    let t0 = Instant::now();
    while !a.leads() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "A never took the lead"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = Replica::start(&url, &rules).await;
    a.post_spike().await;
    assert_eq!(pages_after_settling(&hook, 1).await, ["slow-1 firing"]);
    assert!(!b.leads(), "both replicas evaluated");

    // The leader dies; a rule created meanwhile (as from B's UI) fires once, from B.
    a.kill().await;
    let store = sightline::store::connect(&url).await.unwrap().alerts();
    let rule: RuleSpec = toml::from_str::<sightline::alerts::rule::RulesFile>(
        &std::fs::read_to_string(&rules).unwrap(),
    )
    .unwrap()
    .rule
    .remove(0);
    let second = RuleSpec {
        name: "slow-2".into(),
        ..rule
    };
    store
        .create_rule(&second, Source::Ui, sightline::store::now_ms())
        .await
        .unwrap();
    assert_eq!(
        pages_after_settling(&hook, 2).await,
        ["slow-1 firing", "slow-2 firing"]
    );
    assert!(b.leads());
    b.kill().await;
}

/// SIGTERM while a notification is on its way (the webhook answers 3 s after it receives):
/// the process waits for the answer and records the delivery before it exits, so the next
/// start does not send it again.
#[tokio::test]
async fn sigterm_while_notifying_finishes_the_delivery() {
    let hook = Receiver::start_slow(axum::http::StatusCode::OK, "ok", Duration::from_secs(3)).await;
    let rules = rules_file(&hook.url);
    let db = TestDb::sqlite();
    let url = db.url();
    let a = Replica::start(&url, &rules).await;
    a.post_spike().await;
    let t0 = Instant::now();
    while hook.requests().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(45),
            "no page within 45 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrived = Instant::now();
    let status = a.terminate().await;
    assert!(status.success(), "exit status {status}");
    // It exited only after the receiver answered.
    assert!(
        arrived.elapsed() >= Duration::from_millis(2_500),
        "exited {:?} after the page arrived, before the receiver answered",
        arrived.elapsed()
    );

    let b = Replica::start(&url, &rules).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        hook.requests().len(),
        1,
        "the page was sent again after the restart"
    );
    b.kill().await;
}
