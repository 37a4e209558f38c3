//! OTLP ingest end to end (HTTP protobuf/JSON, gzip/deflate, chunked, gRPC) against a real
//! server and both databases, with the captured client payloads in `fixtures/`.

mod common;

use std::io::Write;

use common::{fixture, TestDb, TestServer};
use opentelemetry_proto::tonic::collector::trace::v1::{
    trace_service_client::TraceServiceClient, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use sightline::model::{parse_trace_id, SpanKind, TraceStatus};
use sightline::store::TraceQuery;

async fn post(
    s: &TestServer,
    ctype: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut req = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .header("content-type", ctype)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    req.send().await.unwrap()
}

async fn all_traces(s: &TestServer) -> Vec<sightline::store::TraceRecord> {
    s.backend
        .list_traces(&TraceQuery {
            experiment_id: None,
            limit: 500,
        })
        .await
        .unwrap()
}

async fn python_protobuf_export_is_stored_with_llm_facts(db: TestDb) {
    let s = TestServer::start(db).await;
    let r = post(
        &s,
        "application/x-protobuf",
        None,
        fixture("otlp/01_python_http_protobuf.req.pb"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    let body = r.bytes().await.unwrap();
    assert_eq!(
        ExportTraceServiceResponse::decode(&body[..])
            .unwrap()
            .partial_success,
        None
    );
    let traces = all_traces(&s).await;
    assert_eq!(traces.len(), 3, "10 spans in 3 traces");
    assert_eq!(traces.iter().map(|t| t.span_count).sum::<i64>(), 10);
    for t in &traces {
        assert!(t.root_span_id.is_some() && t.name.is_some());
        let stored = s.backend.get_trace(&t.trace_id).await.unwrap().unwrap();
        assert_eq!(stored.spans.len() as i64, t.span_count);
        assert!(
            stored.tags.contains_key("service.name"),
            "resource attributes become tags"
        );
    }
    // The GenAI trace: session from gen_ai.conversation.id, tokens summed over model calls.
    let genai = traces
        .iter()
        .find(|t| t.session_id.as_deref() == Some("conv-555"))
        .expect("GenAI trace");
    assert_eq!(genai.input_tokens, 128, "120 (chat) + 8 (embeddings)");
    assert!(
        genai.models.iter().any(|m| m.starts_with("gpt-4o")),
        "{:?}",
        genai.models
    );
    assert!(
        genai.cost.unwrap_or(0.0) > 0.0,
        "priced from the seeded price table"
    );
    let stored = s.backend.get_trace(&genai.trace_id).await.unwrap().unwrap();
    assert!(stored.spans.iter().any(|sp| sp.kind == SpanKind::ChatModel));
    s.shutdown().await;
}

async fn gzip_deflate_and_json_bodies_are_accepted(db: TestDb) {
    let s = TestServer::start(db).await;
    let r = post(
        &s,
        "application/x-protobuf",
        Some("gzip"),
        fixture("otlp/02_python_http_protobuf_gzip.req.pb.gz"),
    )
    .await;
    assert_eq!(r.status(), 200);
    // deflate, zlib-wrapped, of the JS protobuf body
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&fixture("otlp/06_js_http_protobuf.req.pb"))
        .unwrap();
    let r = post(
        &s,
        "application/x-protobuf",
        Some("deflate"),
        z.finish().unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // real JS OTLP/JSON, sent chunked (no Content-Length), as the JS exporter does
    let body = fixture("otlp/04_js_http_json.req.json");
    let stream = tokio_stream::iter(
        body.chunks(700)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .header("content-type", "application/json; charset=utf-8")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "{}");
    let r = post(
        &s,
        "application/json",
        Some("gzip"),
        fixture("otlp/05_js_http_json_gzip.req.json.gz"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(s.backend.stats().await.unwrap().spans > 0);
    s.shutdown().await;
}

async fn grpc_export_is_stored(db: TestDb) {
    let s = TestServer::start(db).await;
    let req = ExportTraceServiceRequest::decode(&fixture("otlp/03_python_grpc_export.req.pb")[..])
        .unwrap();
    let n: usize = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    let mut client = TraceServiceClient::connect(format!("http://{}", s.grpc_addr))
        .await
        .unwrap();
    let resp = client.export(req.clone()).await.unwrap().into_inner();
    assert_eq!(resp.partial_success, None);
    assert_eq!(s.backend.stats().await.unwrap().spans as usize, n);
    // Re-sent batch: no duplicates.
    client.export(req).await.unwrap();
    assert_eq!(s.backend.stats().await.unwrap().spans as usize, n);
    s.shutdown().await;
}

async fn mlflow_async_batches_and_start_trace_merge_into_one_trace(db: TestDb) {
    let s = TestServer::start(db).await;
    let c = TestServer::client();
    for (name, id) in [("first", "1"), ("demo-demo", "2")] {
        let r = c
            .post(format!("{}/api/2.0/mlflow/experiments/create", s.base))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["experiment_id"],
            id
        );
    }
    // The real async capture: 5 children of trace e676…; the root comes in a later request.
    let children =
        ExportTraceServiceRequest::decode(&fixture("mlflow/06_v1_traces_batched_async.req.pb")[..])
            .unwrap();
    let first = &children.resource_spans[0].scope_spans[0].spans[0];
    let mut root_req = children.clone();
    let root = &mut root_req.resource_spans[0].scope_spans[0].spans;
    let mut r0 = first.clone();
    r0.span_id = first.parent_span_id.clone();
    r0.parent_span_id.clear();
    r0.name = "rag_pipeline".into();
    r0.start_time_unix_nano -= 1_000;
    r0.end_time_unix_nano += 50_000_000;
    *root = vec![r0];
    let trace_hex = hex::encode(&first.trace_id);

    // StartTraceV3 first (as async mode usually does), then children, then the root.
    let mut start: serde_json::Value =
        serde_json::from_slice(&fixture("mlflow/08_start_trace_v3.req.json")).unwrap();
    start["trace"]["trace_info"]["trace_id"] = serde_json::json!(format!("tr-{trace_hex}"));
    let r = c
        .post(format!("{}/api/3.0/mlflow/traces", s.base))
        .json(&start)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["trace"]["trace_info"]["tags"]["mlflow.trace.spansLocation"],
        "TRACKING_STORE"
    );
    let send = |req: ExportTraceServiceRequest| {
        let c = c.clone();
        let url = format!("{}/v1/traces", s.base);
        async move {
            let r = c
                .post(url)
                .header("content-type", "application/x-protobuf")
                .header("x-mlflow-experiment-id", "2")
                .body(req.encode_to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
    };
    send(children.clone()).await;
    let id = parse_trace_id(&trace_hex).unwrap();
    let partial = s.backend.get_trace(&id).await.unwrap().expect("trace row");
    assert_eq!(partial.record.span_count, 5);
    send(root_req.clone()).await;
    let t = s.backend.get_trace(&id).await.unwrap().expect("trace row");
    assert_eq!(t.record.experiment_id, 2);
    assert!(t.record.info_finalized);
    assert_eq!(t.record.span_count, 6);
    assert_eq!(t.spans.len(), 6);
    assert_eq!(
        t.record.status,
        TraceStatus::Ok,
        "StartTraceV3's state wins"
    );
    assert_eq!(t.record.name.as_deref(), Some("rag_pipeline"));
    assert_eq!(t.record.session_id.as_deref(), Some("sess-42"));
    assert_eq!(t.tags.get("env").map(String::as_str), Some("test"));
    assert_eq!(
        t.record.duration_ns(),
        Some(185_000_000),
        "execution_duration 0.185s wins over span times"
    );

    // Re-sending every batch changes nothing.
    let before = s.backend.stats().await.unwrap();
    send(children).await;
    send(root_req).await;
    assert_eq!(s.backend.stats().await.unwrap(), before);
    assert_eq!(
        s.backend
            .get_trace(&id)
            .await
            .unwrap()
            .unwrap()
            .record
            .span_count,
        6
    );
    s.shutdown().await;
}

both_backends!(
    python_protobuf_export_is_stored_with_llm_facts,
    gzip_deflate_and_json_bodies_are_accepted,
    grpc_export_is_stored,
    mlflow_async_batches_and_start_trace_merge_into_one_trace,
);
