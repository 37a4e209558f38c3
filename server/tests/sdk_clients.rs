//! The real client SDKs against a live server, on both databases: the MLflow tracing SDK
//! (`mlflow-tracing`, sync and async export) and the OpenTelemetry Python SDK (OTLP/HTTP
//! protobuf, plain and gzip, and OTLP/gRPC). Each test runs a script from `tests/python/` in the
//! workspace venv (`scripts/setup.sh` creates it; `SIGHTLINE_PYTHON` overrides the interpreter),
//! then checks what was stored.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::python::run_script;
use common::{TestDb, TestServer};
use sightline::model::{SpanKind, StatusCode, TraceId, TraceStatus};
use sightline::store::{StoredSpan, StoredTrace};

const POLL_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls until the trace has `spans` spans and (when asked) its StartTraceV3 info, for up to
/// `timeout` (zero: look once); returns what is stored then, complete or not, for the asserts
/// to explain.
async fn wait_for_trace(
    s: &TestServer,
    id: &TraceId,
    spans: usize,
    finalized: bool,
    timeout: Duration,
) -> StoredTrace {
    let deadline = Instant::now() + timeout;
    loop {
        let t = s.backend.get_trace(id).await.expect("get_trace");
        if let Some(t) = &t {
            if t.spans.len() >= spans && (!finalized || t.record.info_finalized) {
                return t.clone();
            }
        }
        if Instant::now() >= deadline {
            return t.unwrap_or_else(|| panic!("trace {} was never stored", hex::encode(id)));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn span<'a>(t: &'a StoredTrace, name: &str) -> &'a StoredSpan {
    t.spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name:?}; stored: {:?}",
            t.spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

fn names(t: &StoredTrace) -> Vec<&str> {
    let mut v: Vec<&str> = t.spans.iter().map(|s| s.name.as_str()).collect();
    v.sort();
    v
}

/// One root, every other span's parent stored in the same trace, no span twice, and the
/// trace row's counters agree with the spans.
fn assert_tree(t: &StoredTrace, root_name: &str) {
    let ids: HashSet<_> = t.spans.iter().map(|s| s.span_id).collect();
    assert_eq!(ids.len(), t.spans.len(), "duplicate spans: {:?}", names(t));
    assert_eq!(t.record.span_count as usize, t.spans.len(), "span_count");
    let roots: Vec<_> = t
        .spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .collect();
    assert_eq!(roots.len(), 1, "exactly one root: {:?}", names(t));
    assert_eq!(roots[0].name, root_name);
    assert_eq!(t.record.root_span_id, Some(roots[0].span_id));
    assert_eq!(
        t.record.name.as_deref(),
        Some(root_name),
        "trace name is the root's"
    );
    for s in &t.spans {
        assert_eq!(s.trace_id, t.record.trace_id);
        if let Some(p) = s.parent_span_id {
            assert!(
                ids.contains(&p),
                "parent of {:?} is not in the trace",
                s.name
            );
        }
        assert!(
            s.start_ns > 0 && s.end_ns >= s.start_ns,
            "{:?} times",
            s.name
        );
    }
}

fn parent<'a>(t: &'a StoredTrace, s: &StoredSpan) -> &'a StoredSpan {
    let p = s
        .parent_span_id
        .unwrap_or_else(|| panic!("{:?} has no parent", s.name));
    t.spans
        .iter()
        .find(|x| x.span_id == p)
        .expect("parent stored")
}

/// An OTel `exception` event with the exception's type and message.
fn assert_exception_event(s: &StoredSpan, ty: &str, msg: &str) {
    let ev = s
        .payload
        .events
        .iter()
        .find(|e| e.name == "exception")
        .unwrap_or_else(|| {
            panic!(
                "{:?} has no exception event: {:?}",
                s.name, s.payload.events
            )
        });
    assert_eq!(
        ev.attributes.get("exception.type").and_then(|v| v.as_str()),
        Some(ty),
        "{ev:?}"
    );
    let message = ev
        .attributes
        .get("exception.message")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    assert!(
        message.contains(msg),
        "exception.message {message:?} lacks {msg:?}"
    );
    assert!(ev.time_ns > 0);
}

// ------------------------------------------------------------------------------------------
// MLflow tracing SDK
// ------------------------------------------------------------------------------------------

const MLFLOW_EXPERIMENT: &str = "sdk-clients";
const MLFLOW_SESSION: &str = "sess-sdk-1";

async fn mlflow_sdk(db: TestDb, async_logging: bool) {
    let s = TestServer::start(db).await;
    let run = run_script(
        "mlflow_app.py",
        &[],
        &[
            ("MLFLOW_TRACKING_URI", s.base.clone()),
            (
                "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING",
                async_logging.to_string(),
            ),
            ("SIGHTLINE_EXPERIMENT", MLFLOW_EXPERIMENT.into()),
            ("SIGHTLINE_SESSION_ID", MLFLOW_SESSION.into()),
        ],
    )
    .await;
    // The SDK logs export failures as warnings instead of raising.
    for bad in ["Failed to", "Traceback", "No active trace"] {
        assert!(
            !run.stderr.contains(bad),
            "client stderr mentions {bad:?}:\n{}",
            run.stderr
        );
    }
    assert_eq!(run.out["ok_last_active"], run.out["ok_trace_id"]);
    assert_eq!(run.out["error_last_active"], run.out["error_trace_id"]);

    let exp = s
        .backend
        .get_experiment_by_name(MLFLOW_EXPERIMENT)
        .await
        .unwrap()
        .expect("set_experiment created the experiment");
    assert_eq!(run.str("experiment_id"), exp.experiment_id.to_string());
    assert_eq!(exp.lifecycle_stage, "active");

    let ok_id = run.trace_id("ok_trace_id");
    let err_id = run.trace_id("error_trace_id");
    assert_ne!(ok_id, err_id);
    // Sync export has sent every span and both StartTraceV3 calls before the process exits,
    // and the server answers only once a batch is committed: everything is stored now. Async
    // export flushes at exit from background threads: give it a moment.
    let wait = if async_logging {
        POLL_TIMEOUT
    } else {
        Duration::ZERO
    };
    let ok = wait_for_trace(&s, &ok_id, 3, true, wait).await;
    let err = wait_for_trace(&s, &err_id, 2, true, wait).await;

    // --- the good trace: rag_pipeline -> retrieve_docs, chat_completion
    assert_eq!(
        names(&ok),
        ["chat_completion", "rag_pipeline", "retrieve_docs"]
    );
    assert_tree(&ok, "rag_pipeline");
    assert!(ok.record.info_finalized, "StartTraceV3 arrived");
    assert_eq!(ok.record.experiment_id, exp.experiment_id);
    assert_eq!(ok.record.status, TraceStatus::Ok);
    assert_eq!(ok.record.error_count, 0);
    let root = span(&ok, "rag_pipeline");
    let retriever = span(&ok, "retrieve_docs");
    let chat = span(&ok, "chat_completion");
    assert_eq!(root.kind, SpanKind::Chain);
    assert_eq!(retriever.kind, SpanKind::Retriever);
    assert_eq!(chat.kind, SpanKind::ChatModel);
    assert_eq!(parent(&ok, retriever).name, "rag_pipeline");
    assert_eq!(parent(&ok, chat).name, "rag_pipeline");
    for sp in &ok.spans {
        assert_ne!(sp.status, StatusCode::Error, "{:?}", sp.name);
    }
    assert_eq!(chat.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(chat.provider.as_deref(), Some("openai"));
    assert_eq!(chat.input_tokens, Some(52));
    assert_eq!(chat.output_tokens, Some(22));
    assert!(
        chat.cost.unwrap_or(0.0) > 0.0,
        "gpt-4o-mini is in the seeded price table: {:?}",
        chat.cost
    );
    assert_eq!(retriever.input_tokens, None);
    assert_eq!(ok.record.input_tokens, 52);
    assert_eq!(ok.record.output_tokens, 22);
    assert_eq!(ok.record.models, vec!["gpt-4o-mini".to_string()]);
    assert!(
        ok.record.cost.unwrap_or(0.0) > 0.0,
        "trace cost: {:?}",
        ok.record.cost
    );
    assert_eq!(
        ok.tags.get("env").map(String::as_str),
        Some("test"),
        "tags: {:?}",
        ok.tags
    );
    assert_eq!(
        ok.tags.get("session_id").map(String::as_str),
        Some(MLFLOW_SESSION)
    );
    assert_eq!(ok.record.session_id.as_deref(), Some(MLFLOW_SESSION));
    assert_eq!(ok.record.user_id.as_deref(), Some("user-7"));
    assert_eq!(
        ok.record.metadata.get("app.version").map(String::as_str),
        Some("1.2.3")
    );
    let preview = ok.record.request_preview.as_deref().unwrap_or("");
    assert!(
        preview.contains("Where does Sightline store traces?"),
        "request_preview {preview:?}"
    );
    let preview = ok.record.response_preview.as_deref().unwrap_or("");
    assert!(
        preview.contains("SQLite or PostgreSQL"),
        "response_preview {preview:?}"
    );
    assert!(ok.record.duration_ns().unwrap_or(0) > 0);
    // The SDK's inputs and outputs survive as span attributes.
    let a = &chat.payload.attributes;
    assert!(
        a.contains_key("mlflow.spanInputs"),
        "{:?}",
        a.keys().collect::<Vec<_>>()
    );
    assert!(a.contains_key("mlflow.spanOutputs"));

    // --- the failing trace: failing_pipeline -> lookup_tool, which raised
    assert_eq!(names(&err), ["failing_pipeline", "lookup_tool"]);
    assert_tree(&err, "failing_pipeline");
    assert!(err.record.info_finalized, "StartTraceV3 arrived");
    assert_eq!(err.record.experiment_id, exp.experiment_id);
    assert_eq!(err.record.status, TraceStatus::Error);
    let tool = span(&err, "lookup_tool");
    let froot = span(&err, "failing_pipeline");
    assert_eq!(tool.kind, SpanKind::Tool);
    assert_eq!(froot.kind, SpanKind::Chain);
    assert_eq!(parent(&err, tool).name, "failing_pipeline");
    assert_eq!(tool.status, StatusCode::Error);
    assert!(
        tool.status_message.contains("no such key"),
        "{:?}",
        tool.status_message
    );
    assert_exception_event(tool, "ValueError", "no such key: missing");
    // The exception went on through the root span.
    assert_eq!(froot.status, StatusCode::Error);
    assert_exception_event(froot, "ValueError", "no such key: missing");
    assert_eq!(err.record.error_count, 2);
    assert_eq!(err.record.input_tokens, 0);
    assert_eq!(err.tags.get("env").map(String::as_str), Some("test"));

    // Nothing else, nothing twice.
    let stats = s.backend.stats().await.unwrap();
    assert_eq!((stats.traces, stats.spans), (2, 5), "{stats:?}");
    s.shutdown().await;
}

async fn mlflow_sdk_sync_export_is_stored(db: TestDb) {
    mlflow_sdk(db, false).await
}

async fn mlflow_sdk_async_export_is_stored(db: TestDb) {
    mlflow_sdk(db, true).await
}

// ------------------------------------------------------------------------------------------
// OpenTelemetry Python SDK
// ------------------------------------------------------------------------------------------

const OTEL_SESSION: &str = "otel-sess-1";

/// Runs `otel_app.py <mode>`; with `experiment`, an experiment is created first and its id
/// sent as `x-mlflow-experiment-id` (HTTP header or gRPC metadata).
async fn otel_sdk(db: TestDb, mode: &str, experiment: bool) {
    let s = TestServer::start(db).await;
    let experiment_id = if experiment {
        let e = s
            .backend
            .create_experiment(&format!("otel-{mode}"), None, &BTreeMap::new())
            .await
            .unwrap();
        Some(e.experiment_id)
    } else {
        None
    };
    let mut env = vec![
        ("SIGHTLINE_BASE", s.base.clone()),
        ("SIGHTLINE_GRPC", s.grpc_addr.to_string()),
        ("SIGHTLINE_SESSION_ID", OTEL_SESSION.to_string()),
    ];
    if let Some(id) = experiment_id {
        env.push(("SIGHTLINE_EXPERIMENT_ID", id.to_string()));
    }
    let run = run_script("otel_app.py", &[mode], &env).await;
    assert_eq!(run.out["spans"], 3, "{}", run.stdout);
    let id = run.trace_id("trace_id");
    // The exporter reported SUCCESS, and the server answers only after the commit: the
    // spans are stored now, no polling.
    let t = wait_for_trace(&s, &id, 3, false, Duration::ZERO).await;

    assert_eq!(
        names(&t),
        ["agent_run", "chat gpt-4o", "tool lookup_weather"]
    );
    assert_tree(&t, "agent_run");
    assert!(
        !t.record.info_finalized,
        "no StartTraceV3 from an OTel client"
    );
    assert_eq!(t.record.experiment_id, experiment_id.unwrap_or(0));
    let root = span(&t, "agent_run");
    let chat = span(&t, "chat gpt-4o");
    let tool = span(&t, "tool lookup_weather");
    assert_eq!(parent(&t, chat).name, "agent_run");
    assert_eq!(parent(&t, tool).name, "agent_run");

    assert_eq!(root.kind, SpanKind::Agent);
    assert_eq!(chat.kind, SpanKind::ChatModel);
    assert_eq!(tool.kind, SpanKind::Tool);
    assert_eq!(chat.payload.otel_kind, 3, "SPAN_KIND_CLIENT");
    assert_eq!(
        chat.payload.attributes.get("gen_ai.operation.name"),
        Some(&serde_json::json!("chat"))
    );
    assert_eq!(
        chat.payload.scope_name.as_deref(),
        Some("sightline.sdk_clients")
    );
    assert_eq!(chat.payload.scope_version.as_deref(), Some("0.1.0"));

    assert_eq!(chat.model.as_deref(), Some("gpt-4o"));
    assert_eq!(chat.provider.as_deref(), Some("openai"));
    assert_eq!(chat.input_tokens, Some(120));
    assert_eq!(chat.output_tokens, Some(30));
    assert_eq!(chat.cached_tokens, Some(20));
    let cost = chat.cost.unwrap_or(0.0);
    assert!(cost > 0.0, "gpt-4o is in the seeded price table");
    // 120 input (20 of them cache reads) and 30 output at $2.50 / $1.25 / $10 per Mtok:
    // between 0.000575 (cache discount) and 0.0006 (none).
    assert!((0.0005..=0.00061).contains(&cost), "chat cost {cost}");
    assert_eq!(
        root.input_tokens.unwrap_or(0),
        0,
        "the agent reports no usage of its own"
    );

    assert_eq!(t.record.input_tokens, 120);
    assert_eq!(t.record.output_tokens, 30);
    assert_eq!(t.record.cached_tokens, 20);
    assert_eq!(t.record.models, vec!["gpt-4o".to_string()]);
    let tcost = t.record.cost.unwrap_or(0.0);
    assert!(
        (tcost - cost).abs() < 1e-12,
        "trace cost {tcost} = the chat span's {cost}"
    );
    assert_eq!(t.record.session_id.as_deref(), Some(OTEL_SESSION));
    assert_eq!(t.record.user_id.as_deref(), Some("otel-user-9"));
    assert_eq!(t.record.service_name.as_deref(), Some("otel-test-app"));
    assert_eq!(
        t.tags.get("service.name").map(String::as_str),
        Some("otel-test-app"),
        "{:?}",
        t.tags
    );

    // The tool failed and the agent recovered: the trace takes the root's status.
    assert_eq!(tool.status, StatusCode::Error);
    assert!(
        tool.status_message.contains("weather service timed out"),
        "{:?}",
        tool.status_message
    );
    assert_exception_event(tool, "TimeoutError", "weather service timed out");
    assert_ne!(root.status, StatusCode::Error);
    assert_ne!(chat.status, StatusCode::Error);
    assert!(root.payload.events.is_empty());
    assert_eq!(t.record.error_count, 1);
    assert_eq!(t.record.status, TraceStatus::Ok);
    let preview = t.record.request_preview.as_deref().unwrap_or("");
    assert!(
        preview.contains("weather in Paris"),
        "request_preview {preview:?}"
    );
    assert!(t.record.duration_ns().unwrap_or(0) > 0);

    let stats = s.backend.stats().await.unwrap();
    assert_eq!((stats.traces, stats.spans), (1, 3), "{stats:?}");
    s.shutdown().await;
}

async fn otel_sdk_http_protobuf_is_stored(db: TestDb) {
    otel_sdk(db, "http", false).await
}

async fn otel_sdk_http_gzip_is_stored(db: TestDb) {
    otel_sdk(db, "http-gzip", true).await
}

async fn otel_sdk_grpc_is_stored(db: TestDb) {
    otel_sdk(db, "grpc", true).await
}

both_backends!(
    mlflow_sdk_sync_export_is_stored,
    mlflow_sdk_async_export_is_stored,
    otel_sdk_http_protobuf_is_stored,
    otel_sdk_http_gzip_is_stored,
    otel_sdk_grpc_is_stored,
);
