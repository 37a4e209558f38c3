//! Bad input and overload: every case gets a 4xx (or 503 + Retry-After) whose message names
//! the problem, nothing is half-written, and the server keeps serving.

mod common;

use std::sync::Arc;

use common::{fixture, Options, TestDb, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use prost::Message;
use sightline::error::RpcStatus;
use sightline::receive::Limits;
use sightline::store::writer::WriterSettings;

fn sample() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::decode(&fixture("otlp/01_python_http_protobuf.req.pb")[..]).unwrap()
}

async fn post(
    s: &TestServer,
    ctype: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .header("content-type", ctype)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    (status, h, r.bytes().await.unwrap().to_vec())
}

fn message(body: &[u8]) -> String {
    RpcStatus::decode(body)
        .map(|s| s.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into())
}

/// (case, content type, extra headers, body, expected status, expected words in the message)
type Case = (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
    &'static str,
);

fn cases() -> Vec<Case> {
    let good = sample().encode_to_vec();
    let mut bad_id = sample();
    bad_id.resource_spans[0].scope_spans[0].spans[1].span_id = vec![1, 2, 3];
    let mut zero_trace = sample();
    zero_trace.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![0; 16];
    let mut absurd = sample();
    absurd.resource_spans[0].scope_spans[0].spans[0].attributes = (0..20_000)
        .map(|i| KeyValue {
            key: format!("k{i}"),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(i)),
            }),
            ..Default::default()
        })
        .collect();
    // A protobuf string field (span name) holding invalid UTF-8.
    let mut bad_utf8 = sample();
    bad_utf8.resource_spans[0].scope_spans[0].spans[0].name = "XXXX".into();
    let mut bad_utf8 = bad_utf8.encode_to_vec();
    let pos = bad_utf8.windows(4).position(|w| w == b"XXXX").unwrap();
    bad_utf8[pos] = 0xff;
    vec![
        ("truncated protobuf", "application/x-protobuf", vec![], good[..good.len() / 2].to_vec(), 400, "invalid OTLP protobuf"),
        ("wrong content type", "text/plain", vec![], good.clone(), 415, "unsupported content type \"text/plain\""),
        ("unknown encoding", "application/x-protobuf", vec![("content-encoding", "br")], good.clone(), 415, "unsupported content encoding \"br\""),
        ("not gzip", "application/x-protobuf", vec![("content-encoding", "gzip")], good.clone(), 400, "invalid gzip body"),
        ("short span id", "application/x-protobuf", vec![], bad_id.encode_to_vec(), 400, "spans[1].spanId must be 8 bytes, got 3"),
        ("zero trace id", "application/x-protobuf", vec![], zero_trace.encode_to_vec(), 400, "traceId is all zeros"),
        ("invalid UTF-8 in protobuf", "application/x-protobuf", vec![], bad_utf8, 400, "UTF-8"),
        ("invalid UTF-8 in JSON", "application/json", vec![], b"{\"resourceSpans\":[{\"x\":\"\xff\"}]}".to_vec(), 400, "invalid OTLP/JSON"),
        ("bad hex id in JSON", "application/json", vec![], br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708","name":"x"}]}]}]}"#.to_vec(), 400, "traceId"),
        ("absurd attribute count", "application/x-protobuf", vec![], absurd.encode_to_vec(), 400, "has 20000 attributes; the limit is 10000"),
        ("unknown experiment", "application/x-protobuf", vec![("x-mlflow-experiment-id", "98765")], good.clone(), 404, "no experiment with id=98765"),
        ("non-numeric experiment", "application/x-protobuf", vec![("x-mlflow-experiment-id", "abc")], good, 400, "experiment id \"abc\" is not an integer"),
    ]
}

async fn bad_inputs_get_named_4xx_and_store_nothing(db: TestDb) {
    let s = TestServer::start(db).await;
    for (case, ctype, headers, body, status, words) in cases() {
        let (got, _, resp) = post(&s, ctype, &headers, body).await;
        let msg = if ctype == "application/json" {
            serde_json::from_slice::<serde_json::Value>(&resp)
                .map(|v| v["message"].as_str().unwrap_or("").to_string())
                .unwrap_or_default()
        } else {
            message(&resp)
        };
        assert_eq!(got, status, "{case}: {msg}");
        assert!(
            msg.contains(words),
            "{case}: message {msg:?} should contain {words:?}"
        );
    }
    assert_eq!(
        s.backend.stats().await.unwrap().spans,
        0,
        "nothing half-written"
    );
    // Still serving.
    let (ok, _, _) = post(&s, "application/x-protobuf", &[], sample().encode_to_vec()).await;
    assert_eq!(ok, 200);
    assert_eq!(s.backend.stats().await.unwrap().spans, 10);
    s.shutdown().await;
}

async fn oversized_bodies_get_413(db: TestDb) {
    let opts = Options {
        limits: Limits {
            max_request_bytes: 1024,
            max_decoded_bytes: 4096,
            ..Limits::default()
        },
        ..Options::default()
    };
    let s = TestServer::start_with(db, opts).await;
    let (status, _, body) = post(&s, "application/x-protobuf", &[], vec![0u8; 5000]).await;
    assert_eq!(status, 413);
    assert!(message(&body).contains("larger than 1024 bytes"));
    // A small gzip body that inflates past the decoded limit (a zip bomb in miniature).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, &vec![0u8; 100_000]).unwrap();
    let (status, _, body) = post(
        &s,
        "application/x-protobuf",
        &[("content-encoding", "gzip")],
        gz.finish().unwrap(),
    )
    .await;
    assert_eq!(status, 413, "{}", message(&body));
    assert!(message(&body).contains("larger than 4096 bytes"));
    assert_eq!(s.backend.stats().await.unwrap().spans, 0);
    s.shutdown().await;
}

async fn spans_ending_before_they_start_are_rejected_as_partial_success(db: TestDb) {
    let s = TestServer::start(db).await;
    let mut req = sample();
    let sp = &mut req.resource_spans[0].scope_spans[0].spans[0];
    sp.end_time_unix_nano = sp.start_time_unix_nano - 1;
    let (status, _, body) = post(&s, "application/x-protobuf", &[], req.encode_to_vec()).await;
    assert_eq!(status, 200);
    let resp = ExportTraceServiceResponse::decode(&body[..]).unwrap();
    let ExportTracePartialSuccess {
        rejected_spans,
        error_message,
    } = resp.partial_success.expect("partial_success");
    assert_eq!(rejected_spans, 1);
    assert!(
        error_message.contains("ends before it starts"),
        "{error_message}"
    );
    assert_eq!(s.backend.stats().await.unwrap().spans, 9);
    s.shutdown().await;
}

async fn api_keys_are_required_when_configured(db: TestDb) {
    let opts = Options {
        api_keys: vec!["sk-test-123456".into()],
        ..Options::default()
    };
    let s = TestServer::start_with(db, opts).await;
    let (status, _, body) = post(&s, "application/x-protobuf", &[], sample().encode_to_vec()).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("API key"));
    let (status, _, _) = post(
        &s,
        "application/x-protobuf",
        &[("authorization", "Bearer wrong-key-000")],
        sample().encode_to_vec(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = post(
        &s,
        "application/x-protobuf",
        &[("authorization", "Bearer sk-test-123456")],
        sample().encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let c = TestServer::client();
    let r = c
        .get(format!(
            "{}/api/2.0/mlflow/experiments/get?experiment_id=0",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "UNAUTHENTICATED");
    let r = c
        .get(format!("{}/version", s.base))
        .bearer_auth("sk-test-123456")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "3.18.0");
    s.shutdown().await;
}

async fn mlflow_errors_use_mlflow_shape(db: TestDb) {
    let s = TestServer::start(db).await;
    let c = TestServer::client();
    let r = c
        .get(format!(
            "{}/api/2.0/mlflow/experiments/get-by-name?experiment_name=nope",
            s.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error_code"],
        "RESOURCE_DOES_NOT_EXIST"
    );
    let create = |name: &'static str| {
        c.post(format!("{}/ajax-api/2.0/mlflow/experiments/create", s.base))
            .json(&serde_json::json!({"name": name}))
            .send()
    };
    assert_eq!(create("exp").await.unwrap().status(), 200);
    let dup = create("exp").await.unwrap();
    assert_eq!(dup.status(), 400);
    assert_eq!(
        dup.json::<serde_json::Value>().await.unwrap()["error_code"],
        "RESOURCE_ALREADY_EXISTS"
    );
    let r = c
        .get(format!(
            "{}/api/2.0/mlflow/experiments/get-by-name?experiment_name=exp",
            s.base
        ))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["experiment"]["lifecycle_stage"], "active");
    assert_eq!(v["experiment"]["artifact_location"], "mlflow-artifacts:/1");
    let r = c
        .post(format!("{}/api/3.0/mlflow/traces", s.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(v["message"].as_str().unwrap().contains("malformed JSON"));
    let r = c
        .post(format!("{}/api/3.0/mlflow/traces", s.base))
        .json(&serde_json::json!({"trace": {"trace_info": {"trace_id": "tr-xyz"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Invalid trace id"));
    let r = c
        .get(format!("{}/api/2.0/mlflow/no-such-thing", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error_code"],
        "ENDPOINT_NOT_FOUND"
    );
    s.shutdown().await;
}

async fn artifact_upload_fallback_stores_spans(db: TestDb) {
    let s = TestServer::start(db).await;
    let c = TestServer::client();
    c.post(format!("{}/api/2.0/mlflow/experiments/create", s.base))
        .json(&serde_json::json!({"name": "e1"}))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&fixture("mlflow/11_artifact_traces_json.req.json")).unwrap();
    let n = doc["spans"].as_array().unwrap().len();
    let tid = base64_hex(doc["spans"][0]["trace_id"].as_str().unwrap());
    let r = c
        .put(format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/1/traces/tr-{tid}/artifacts/traces.json",
            s.base
        ))
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let t = s
        .backend
        .get_trace(&sightline::model::parse_trace_id(&tid).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.spans.len(), n);
    assert!(t.record.root_span_id.is_some());
    s.shutdown().await;
}

fn base64_hex(b64: &str) -> String {
    use base64::Engine;
    hex::encode(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
}

/// A backend whose writes wait for a signal: fills the queue deterministically.
struct Gate {
    inner: Arc<dyn sightline::store::Backend>,
    open: tokio::sync::watch::Receiver<bool>,
}

#[async_trait::async_trait]
impl sightline::store::Backend for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn alerts(&self) -> Arc<dyn sightline::store::alerts::AlertStore> {
        self.inner.alerts()
    }
    fn access(&self) -> Arc<dyn sightline::store::access::AccessStore> {
        self.inner.access()
    }
    fn retention(&self) -> Arc<dyn sightline::store::retention::RetentionStore> {
        self.inner.retention()
    }
    async fn write_batch(
        &self,
        b: &sightline::store::PreparedBatch,
    ) -> sightline::store::Result<sightline::store::WriteOutcome> {
        let mut open = self.open.clone();
        let _ = open.wait_for(|o| *o).await;
        self.inner.write_batch(b).await
    }
    async fn list_traces(
        &self,
        q: &sightline::store::TraceQuery,
    ) -> sightline::store::Result<Vec<sightline::store::TraceRecord>> {
        self.inner.list_traces(q).await
    }
    async fn search_traces(
        &self,
        p: &sightline::store::search::SearchPlan,
    ) -> sightline::store::Result<Vec<sightline::store::search::FoundTrace>> {
        self.inner.search_traces(p).await
    }
    async fn trace_tags(
        &self,
        rows: &[i64],
    ) -> sightline::store::Result<
        std::collections::HashMap<i64, std::collections::BTreeMap<String, String>>,
    > {
        self.inner.trace_tags(rows).await
    }
    async fn get_trace(
        &self,
        t: &sightline::model::TraceId,
    ) -> sightline::store::Result<Option<sightline::store::StoredTrace>> {
        self.inner.get_trace(t).await
    }
    async fn trace_tree(
        &self,
        t: &sightline::model::TraceId,
    ) -> sightline::store::Result<Option<sightline::store::StoredTrace>> {
        self.inner.trace_tree(t).await
    }
    async fn get_span(
        &self,
        t: &sightline::model::TraceId,
        s: &sightline::model::SpanId,
    ) -> sightline::store::Result<Option<sightline::store::SpanInTrace>> {
        self.inner.get_span(t, s).await
    }
    async fn list_sessions(
        &self,
        q: &sightline::store::sessions::SessionQuery,
    ) -> sightline::store::Result<Vec<sightline::store::sessions::SessionRecord>> {
        self.inner.list_sessions(q).await
    }
    async fn session_traces(
        &self,
        s: &str,
    ) -> sightline::store::Result<Vec<sightline::store::TraceRecord>> {
        self.inner.session_traces(s).await
    }
    async fn get_experiment(
        &self,
        id: i64,
    ) -> sightline::store::Result<Option<sightline::model::Experiment>> {
        self.inner.get_experiment(id).await
    }
    async fn get_experiment_by_name(
        &self,
        n: &str,
    ) -> sightline::store::Result<Option<sightline::model::Experiment>> {
        self.inner.get_experiment_by_name(n).await
    }
    async fn create_experiment(
        &self,
        n: &str,
        a: Option<&str>,
        t: &std::collections::BTreeMap<String, String>,
    ) -> sightline::store::Result<sightline::model::Experiment> {
        self.inner.create_experiment(n, a, t).await
    }
    async fn load_prices(&self) -> sightline::store::Result<Vec<sightline::model::ModelPrice>> {
        self.inner.load_prices().await
    }
    async fn seed_prices(
        &self,
        p: &[sightline::model::ModelPrice],
    ) -> sightline::store::Result<usize> {
        self.inner.seed_prices(p).await
    }
    async fn upsert_price(&self, p: &sightline::model::ModelPrice) -> sightline::store::Result<()> {
        self.inner.upsert_price(p).await
    }
    async fn delete_price(&self, model: &str, from_ms: i64) -> sightline::store::Result<bool> {
        self.inner.delete_price(model, from_ms).await
    }
    async fn set_trace_tag(
        &self,
        t: &sightline::model::TraceId,
        k: &str,
        v: &str,
    ) -> sightline::store::Result<bool> {
        self.inner.set_trace_tag(t, k, v).await
    }
    async fn delete_trace_tag(
        &self,
        t: &sightline::model::TraceId,
        k: &str,
    ) -> sightline::store::Result<bool> {
        self.inner.delete_trace_tag(t, k).await
    }
    async fn delete_traces(
        &self,
        e: i64,
        w: &sightline::store::TraceDeletion,
    ) -> sightline::store::Result<usize> {
        self.inner.delete_traces(e, w).await
    }
    async fn stats(&self) -> sightline::store::Result<sightline::store::StoreStats> {
        self.inner.stats().await
    }
    async fn ping(&self) -> sightline::store::Result<()> {
        self.inner.ping().await
    }
    async fn rollup_series(
        &self,
    ) -> sightline::store::Result<std::collections::HashMap<i64, sightline::rollup::SeriesKey>>
    {
        self.inner.rollup_series().await
    }
    async fn rollup_cells(
        &self,
        resolution: i64,
        from_s: i64,
        to_s: i64,
        series: Option<&[i64]>,
        part: sightline::rollup::CellPart,
    ) -> sightline::store::Result<Vec<sightline::rollup::StoredCell>> {
        self.inner
            .rollup_cells(resolution, from_s, to_s, series, part)
            .await
    }
    async fn rollup_compacted_until(&self, resolution: i64) -> sightline::store::Result<i64> {
        self.inner.rollup_compacted_until(resolution).await
    }
    async fn compact_rollups(&self, until_s: i64, max_hours: i64) -> sightline::store::Result<i64> {
        self.inner.compact_rollups(until_s, max_hours).await
    }
    async fn sweep_rollups(
        &self,
        older_than_ns: i64,
        limit: i64,
    ) -> sightline::store::Result<usize> {
        self.inner.sweep_rollups(older_than_ns, limit).await
    }
}

async fn a_full_queue_answers_503_with_retry_after_and_drops_nothing(db: TestDb) {
    let inner = sightline::store::connect(&db.url()).await.unwrap();
    let (open_tx, open) = tokio::sync::watch::channel(false);
    let gate: Arc<dyn sightline::store::Backend> = Arc::new(Gate { inner, open });
    let opts = Options {
        writer: WriterSettings {
            queue_spans: 15,
            batch_spans: 100,
        },
        ..Options::default()
    };
    let s = TestServer::start_backend(db, gate, opts).await;
    let body = sample().encode_to_vec(); // 10 spans
    let first = {
        let base = s.base.clone();
        let body = body.clone();
        tokio::spawn(async move {
            TestServer::client()
                .post(format!("{base}/v1/traces"))
                .header("content-type", "application/x-protobuf")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // Wait until the first request holds its 10 queue slots.
    for _ in 0..100 {
        if s.state.ingest.writer.queued_spans() >= 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, headers, resp) = post(&s, "application/x-protobuf", &[], body.clone()).await;
    assert_eq!(status, 503, "{}", message(&resp));
    assert_eq!(headers["retry-after"], "1");
    assert!(message(&resp).contains("write queue is full"));
    open_tx.send(true).unwrap();
    assert_eq!(
        first.await.unwrap(),
        200,
        "the queued request is answered once committed"
    );
    // The refused request, retried, is stored: every span is either stored or refused.
    let (status, _, _) = post(&s, "application/x-protobuf", &[], body).await;
    assert_eq!(status, 200);
    assert_eq!(
        s.backend.stats().await.unwrap().spans,
        10,
        "same spans re-sent: no duplicates"
    );
    s.shutdown().await;
}

async fn grpc_refuses_bad_input_and_missing_keys_with_status_codes(db: TestDb) {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    let opts = Options {
        api_keys: vec!["sk-grpc-123456".into()],
        ..Options::default()
    };
    let s = TestServer::start_with(db, opts).await;
    let mut client = TraceServiceClient::connect(format!("http://{}", s.grpc_addr))
        .await
        .unwrap();
    let err = client.export(sample()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    let with_key = |req: ExportTraceServiceRequest| {
        let mut r = tonic::Request::new(req);
        r.metadata_mut()
            .insert("authorization", "Bearer sk-grpc-123456".parse().unwrap());
        r
    };
    let mut bad = sample();
    bad.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![9; 3];
    let err = client.export(with_key(bad)).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().contains("traceId must be 16 bytes, got 3"),
        "{}",
        err.message()
    );
    let mut r = with_key(sample());
    r.metadata_mut()
        .insert("x-mlflow-experiment-id", "424242".parse().unwrap());
    assert_eq!(
        client.export(r).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    assert_eq!(s.backend.stats().await.unwrap().spans, 0);
    client.export(with_key(sample())).await.unwrap();
    assert_eq!(s.backend.stats().await.unwrap().spans, 10);
    s.shutdown().await;
}

/// An API client calling an endpoint we do not have gets a JSON 404 naming it, not the web
/// app's HTML 404 page (a browser's GET still gets the page: end2end/tests/sessions.spec.ts).
#[tokio::test]
async fn unknown_endpoints_get_a_json_404_naming_them() {
    let s = TestServer::start(TestDb::sqlite()).await;
    let client = TestServer::client();
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let r = client
            .request(method.clone(), format!("{}/no/such/endpoint", s.base))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method}");
        let body: serde_json::Value = r.json().await.expect("a JSON body");
        assert_eq!(
            body["message"],
            format!("No endpoint {method} /no/such/endpoint on this server")
        );
    }
    s.shutdown().await;
}

both_backends!(
    grpc_refuses_bad_input_and_missing_keys_with_status_codes,
    bad_inputs_get_named_4xx_and_store_nothing,
    oversized_bodies_get_413,
    spans_ending_before_they_start_are_rejected_as_partial_success,
    api_keys_are_required_when_configured,
    mlflow_errors_use_mlflow_shape,
    artifact_upload_fallback_stores_spans,
    a_full_queue_answers_503_with_retry_after_and_drops_nothing,
);
