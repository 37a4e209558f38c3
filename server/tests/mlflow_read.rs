//! MLflow's trace read and manage API (PROTOCOL.md §4.5, §4.6) on both databases: response
//! shapes against the captured samples in `fixtures/mlflow_read/`, and the real
//! `mlflow-tracing` client (`tests/python/mlflow_read_app.py`).

mod common;

use std::collections::BTreeSet;

use base64::Engine;
use common::{fixture, TestDb, TestServer};
use serde_json::{json, Value};

const T0_NS: i64 = 1_795_464_082_000_000_000;

fn sample(name: &str) -> Value {
    serde_json::from_slice(&fixture(&format!("mlflow_read/{name}"))).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn kv(key: &str, value: Value) -> Value {
    json!({ "key": key, "value": value })
}

fn s(v: &str) -> Value {
    json!({ "stringValue": v })
}

fn trace_hex(i: u8) -> String {
    format!("{:032x}", 0xabc0_0000_u128 + u128::from(i))
}

/// An OTLP/JSON span.
#[allow(clippy::too_many_arguments)]
fn span(
    trace: &str,
    id: &str,
    parent: Option<&str>,
    name: &str,
    start: i64,
    end: i64,
    attrs: Vec<Value>,
    error: bool,
) -> Value {
    let mut sp = json!({
        "traceId": trace, "spanId": id, "name": name,
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string(),
        "attributes": attrs,
        "status": if error { json!({"code": 2, "message": "RuntimeError: llm exploded"}) } else { json!({"code": 1}) },
    });
    if let Some(p) = parent {
        sp["parentSpanId"] = json!(p);
    }
    if error {
        sp["events"] = json!([{"name": "exception", "timeUnixNano": (end - 10).to_string(),
            "attributes": [kv("exception.message", s("llm exploded"))]}]);
    }
    sp
}

/// Trace `i` (0, 1, 2) starts at T0 + i s: root `chat_turn` (CHAIN) and an LLM child with
/// token usage; trace 1 also has an OpenInference retriever (no `mlflow.*` keys); trace 2's
/// LLM span fails.
fn trace_spans(i: u8) -> Vec<Value> {
    let t = trace_hex(i);
    let start = T0_NS + i64::from(i) * 1_000_000_000;
    let root = format!("{:016x}", 0x100 + u64::from(i));
    let child = format!("{:016x}", 0x200 + u64::from(i));
    let mut spans = vec![
        span(
            &t,
            &root,
            None,
            "chat_turn",
            start,
            start + 32_000_000,
            vec![
                kv("mlflow.spanType", s("CHAIN")),
                kv(
                    "mlflow.spanInputs",
                    json!({"kvlistValue": {"values": [kv("q", s(&format!("q{i}"))), kv("fail", json!({"boolValue": i == 2}))]}}),
                ),
                kv("mlflow.spanOutputs", s(&format!("ok q{i}"))),
            ],
            false,
        ),
        span(
            &t,
            &child,
            Some(&root),
            "gen",
            start + 1_000_000,
            start + 20_000_000,
            vec![
                kv("mlflow.spanType", s("LLM")),
                kv(
                    "mlflow.chat.tokenUsage",
                    json!({"kvlistValue": {"values": [
                        kv("input_tokens", json!({"intValue": "5"})),
                        kv("output_tokens", json!({"intValue": "3"})),
                        kv("total_tokens", json!({"intValue": "8"}))]}}),
                ),
                kv("mlflow.llm.model", s("gpt-4o-mini")),
            ],
            i == 2,
        ),
    ];
    if i == 1 {
        spans.push(span(
            &t,
            "0000000000000301",
            Some(&root),
            "retrieve",
            start + 500_000,
            start + 900_000,
            vec![
                kv("openinference.span.kind", s("RETRIEVER")),
                kv("input.value", s("Capital of France?")),
            ],
            false,
        ));
    }
    spans
}

async fn post(c: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let r = c.post(url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!(text)),
    )
}

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!(text)),
    )
}

async fn send_json(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: &Value,
) -> (u16, Value) {
    let r = c.request(method, url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!(text)),
    )
}

/// Creates experiment "read" and stores the three traces; trace 0 also gets StartTraceV3
/// (tags env=test, session sess-A). Returns the experiment id.
async fn seed(srv: &TestServer, c: &reqwest::Client) -> String {
    let (st, v) = post(
        c,
        format!("{}/api/2.0/mlflow/experiments/create", srv.base),
        &json!({"name": "read"}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let exp = v["experiment_id"].as_str().unwrap().to_string();
    for i in 0..3u8 {
        let body = json!({"resourceSpans": [{
            "resource": {"attributes": [kv("service.name", s("read-test"))]},
            "scopeSpans": [{"spans": trace_spans(i)}]}]});
        let r = c
            .post(format!("{}/v1/traces", srv.base))
            .header("content-type", "application/json")
            .header("x-mlflow-experiment-id", &exp)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let info = json!({"trace": {"trace_info": {
        "trace_id": format!("tr-{}", trace_hex(0)),
        "client_request_id": "req-0",
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
        "request_time": "2026-11-23T20:01:22.000Z",
        "execution_duration": "0.032s",
        "state": "OK",
        "trace_metadata": {"mlflow.trace.session": "sess-A", "mlflow.trace.user": "alice",
            "mlflow.trace_schema.version": "3",
            "mlflow.trace.tokenUsage": "{\"input_tokens\": 5, \"output_tokens\": 3, \"total_tokens\": 8}"},
        "tags": {"env": "test", "mlflow.traceName": "chat_turn"},
        "request_preview": "{\"q\": \"q0\"}",
        "response_preview": "\"ok q0\""}}});
    let (st, v) = post(c, format!("{}/api/3.0/mlflow/traces", srv.base), &info).await;
    assert_eq!(st, 200, "{v}");
    exp
}

fn search_req(exp: &str) -> Value {
    let mut req = sample("01_search_traces_v3.req.json");
    req["locations"][0]["mlflow_experiment"]["experiment_id"] = json!(exp);
    req
}

async fn read_api_shapes(db: TestDb) {
    let srv = TestServer::start(db).await;
    let c = TestServer::client();
    let exp = seed(&srv, &c).await;
    let base = format!("{}/api/3.0/mlflow/traces", srv.base);
    let ids: Vec<String> = (0..3).map(|i| format!("tr-{}", trace_hex(i))).collect();

    // SearchTracesV3: newest first, TraceInfoV3 keys as the real server's.
    let (st, v) = post(&c, format!("{base}/search"), &search_req(&exp)).await;
    assert_eq!(st, 200, "{v}");
    let traces = v["traces"].as_array().expect("traces");
    let got: Vec<&str> = traces
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec![&ids[2], &ids[1], &ids[0]]);
    assert!(v.get("next_page_token").is_none(), "{v}");
    let real = &sample("01_search_traces_v3.resp.json")["traces"][1];
    let mut want = keys(real);
    want.insert("client_request_id".into());
    assert_eq!(keys(&traces[2]), want, "{}", traces[2]);
    let t0 = &traces[2];
    assert_eq!(
        t0["trace_location"],
        json!({"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}})
    );
    assert_eq!(t0["request_time"], "2026-11-23T20:01:22.000Z");
    assert_eq!(t0["execution_duration"], "0.032s");
    assert_eq!(t0["state"], "OK");
    assert_eq!(t0["tags"]["env"], "test");
    assert_eq!(t0["tags"]["mlflow.traceName"], "chat_turn");
    assert_eq!(t0["tags"]["mlflow.trace.spansLocation"], "TRACKING_STORE");
    assert_eq!(
        t0["tags"]["mlflow.artifactLocation"],
        format!("mlflow-artifacts:/{exp}/traces/{}/artifacts", ids[0])
    );
    assert_eq!(t0["trace_metadata"]["mlflow.trace.session"], "sess-A");
    assert_eq!(t0["trace_metadata"]["mlflow.trace_schema.version"], "3");
    // OTLP-only traces get token usage and the schema version from the stored row.
    let t2 = &traces[0];
    let usage: Value = serde_json::from_str(
        t2["trace_metadata"]["mlflow.trace.tokenUsage"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        usage,
        json!({"input_tokens": 5, "output_tokens": 3, "total_tokens": 8})
    );
    assert_eq!(t2["tags"]["mlflow.traceName"], "chat_turn");
    assert_eq!(t2["tags"]["service.name"], "read-test");

    // Filters, the /ajax-api alias, errors and the empty answer.
    let mut req = sample("02_search_filter_tag.req.json");
    req["locations"][0]["mlflow_experiment"]["experiment_id"] = json!(exp);
    req["filter"] = json!("tags.env = 'test'");
    let (st, v) = post(
        &c,
        format!("{}/ajax-api/3.0/mlflow/traces/search", srv.base),
        &req,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["traces"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["traces"][0]["trace_id"], ids[0].as_str());
    req["filter"] = json!("metadata.`mlflow.trace.session` = 'sess-A' AND trace.status = 'OK'");
    let (_, v) = post(&c, format!("{base}/search"), &req).await;
    assert_eq!(v["traces"].as_array().map(Vec::len), Some(1), "{v}");
    req["filter"] = json!("tags.env = 'nope'");
    let (st, v) = post(&c, format!("{base}/search"), &req).await;
    assert_eq!((st, v), (200, json!({})));
    req["filter"] = json!("tags.env = ");
    let (st, v) = post(&c, format!("{base}/search"), &req).await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE");
    let mut big = search_req(&exp);
    big["max_results"] = json!(501);
    let (st, v) = post(&c, format!("{base}/search"), &big).await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );

    // Several experiments in one search: their traces together, the filter still applied.
    let mut multi = search_req(&exp);
    multi["experiment_ids"] = json!(["0"]);
    let (st, v) = post(&c, format!("{base}/search"), &multi).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["traces"].as_array().map(Vec::len), Some(3), "{v}");
    multi["filter"] = json!("tags.env = 'test'");
    let (_, v) = post(&c, format!("{base}/search"), &multi).await;
    assert_eq!(v["traces"].as_array().map(Vec::len), Some(1), "{v}");
    multi["experiment_ids"] = json!(["0", "999"]);
    multi["locations"] = json!([]);
    let (st, v) = post(&c, format!("{base}/search"), &multi).await;
    assert_eq!((st, v), (200, json!({})), "other experiments hold nothing");

    // Pages of one, oldest first, chained by next_page_token.
    let mut page = search_req(&exp);
    page["max_results"] = json!(1);
    page["order_by"] = json!(["timestamp_ms ASC"]);
    let mut seen = Vec::new();
    loop {
        let (st, v) = post(&c, format!("{base}/search"), &page).await;
        assert_eq!(st, 200, "{v}");
        let t = v["traces"].as_array().expect("a page");
        assert_eq!(t.len(), 1);
        seen.push(t[0]["trace_id"].as_str().unwrap().to_string());
        match v.get("next_page_token").and_then(Value::as_str) {
            Some(tok) => page["page_token"] = json!(tok),
            None => break,
        }
        assert!(seen.len() < 5, "paging does not end");
    }
    assert_eq!(seen, ids);
    page["order_by"] = json!(["execution_time_ms DESC"]);
    page["page_token"] = json!("garbage");
    let (st, _) = post(&c, format!("{base}/search"), &page).await;
    assert_eq!(st, 400);

    // GetTraceInfoV3.
    let (st, v) = get(&c, format!("{base}/{}?trace_id={}", ids[0], ids[0])).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(keys(&v), keys(&sample("06_get_trace_info_v3.resp.json")));
    assert_eq!(v["trace"]["trace_info"]["trace_id"], ids[0].as_str());
    assert_eq!(v["trace"]["trace_info"]["client_request_id"], "req-0");
    let missing = format!("tr-{}", "0".repeat(32));
    let (st, v) = get(&c, format!("{base}/{missing}")).await;
    assert_eq!(st, 404);
    assert_eq!(
        v,
        json!({"error_code": "RESOURCE_DOES_NOT_EXIST",
               "message": format!("Trace with ID '{missing}' not found.")})
    );

    // GetTrace: span proto-JSON (§5.4c), root first.
    let (st, v) = get(
        &c,
        format!("{base}/get?trace_id={}&allow_partial=False", ids[2]),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let real = sample("07_get_trace.resp.json");
    assert_eq!(keys(&v["trace"]), keys(&real["trace"]));
    let spans = v["trace"]["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    let (root, child) = (&spans[0], &spans[1]);
    assert_eq!(keys(root), keys(&real["trace"]["spans"][0]), "{root}");
    assert_eq!(root["name"], "chat_turn");
    assert_eq!(root["kind"], "SPAN_KIND_INTERNAL");
    let b64 = |hex_id: &str| {
        base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_id).unwrap())
    };
    assert_eq!(root["trace_id"], b64(&trace_hex(2)));
    assert_eq!(root["span_id"], b64("0000000000000102"));
    assert_eq!(child["parent_span_id"], b64("0000000000000102"));
    assert_eq!(root["start_time_unix_nano"], json!(T0_NS + 2_000_000_000));
    assert_eq!(root["status"], json!({"code": "STATUS_CODE_OK"}));
    let attr = |sp: &Value, k: &str| -> Value {
        sp["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"].clone())
            .unwrap_or_else(|| panic!("no attribute {k} in {sp}"))
    };
    assert_eq!(
        attr(root, "mlflow.spanType"),
        json!({"string_value": "CHAIN"})
    );
    assert_eq!(
        attr(root, "mlflow.spanInputs"),
        // Key order is not meaningful (the client builds a dict); stored maps are sorted.
        json!({"kvlist_value": {"values": [
            {"key": "fail", "value": {"bool_value": true}},
            {"key": "q", "value": {"string_value": "q2"}}]}})
    );
    assert_eq!(
        attr(root, "mlflow.traceRequestId"),
        json!({"string_value": ids[2]})
    );
    assert_eq!(
        attr(child, "mlflow.chat.tokenUsage")["kvlist_value"]["values"][0],
        json!({"key": "input_tokens", "value": {"int_value": 5}})
    );
    assert_eq!(
        child["status"],
        json!({"code": "STATUS_CODE_ERROR", "message": "RuntimeError: llm exploded"})
    );
    assert_eq!(child["events"][0]["name"], "exception");
    assert_eq!(
        child["events"][0]["attributes"][0],
        json!({"key": "exception.message", "value": {"string_value": "llm exploded"}})
    );
    let (st, _) = get(
        &c,
        format!("{base}/get?trace_id={missing}&allow_partial=true"),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = get(
        &c,
        format!("{base}/get?trace_id={}&allow_partial=maybe", ids[0]),
    )
    .await;
    assert_eq!(st, 400);

    // An OpenInference span gets the mlflow.* keys MLflow adds (sample 12).
    let (_, v) = get(
        &c,
        format!("{base}/get?trace_id={}&allow_partial=true", ids[1]),
    )
    .await;
    let retr = v["trace"]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["name"] == "retrieve")
        .cloned()
        .expect("retrieve span");
    assert_eq!(
        attr(&retr, "mlflow.spanType"),
        json!({"string_value": "RETRIEVER"})
    );
    assert_eq!(
        attr(&retr, "mlflow.spanInputs"),
        json!({"string_value": "Capital of France?"})
    );

    // batchGet (repeated params; unknown ids left out) and batchGetInfos.
    let (st, v) = get(
        &c,
        format!(
            "{base}/batchGet?trace_ids={}&trace_ids={missing}&trace_ids={}",
            ids[0], ids[1]
        ),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let got: Vec<&Value> = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["trace_info"]["trace_id"])
        .collect();
    assert_eq!(got, vec![&json!(ids[0]), &json!(ids[1])]);
    assert_eq!(v["traces"][1]["spans"].as_array().unwrap().len(), 3);
    let (st, v) = post(
        &c,
        format!("{base}/batchGetInfos"),
        &json!({"trace_ids": [ids[2], missing]}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["trace_infos"].as_array().unwrap().len(), 1);

    // Tags: v2 and v3 paths, DELETE with a JSON body.
    let v2 = |id: &str| format!("{}/api/2.0/mlflow/traces/{id}/tags", srv.base);
    let (st, v) = send_json(
        &c,
        reqwest::Method::PATCH,
        v2(&ids[1]),
        &sample("08_set_trace_tag.req.json"),
    )
    .await;
    assert_eq!((st, v), (200, json!({})));
    let (_, v) = get(&c, format!("{base}/{}", ids[1])).await;
    assert_eq!(v["trace"]["trace_info"]["tags"]["reviewed"], "yes");
    let (st, v) = send_json(
        &c,
        reqwest::Method::DELETE,
        format!("{base}/{}/tags", ids[1]),
        &sample("09_delete_trace_tag.req.json"),
    )
    .await;
    assert_eq!((st, v), (200, json!({})));
    let (_, v) = get(&c, format!("{base}/{}", ids[1])).await;
    assert!(v["trace"]["trace_info"]["tags"].get("reviewed").is_none());
    let (st, v) = send_json(
        &c,
        reqwest::Method::DELETE,
        v2(&ids[1]),
        &json!({"key": "reviewed"}),
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(
        v["message"],
        format!(
            "No trace tag with key 'reviewed' for trace with ID '{}'",
            ids[1]
        )
    );
    let (st, _) = send_json(
        &c,
        reqwest::Method::PATCH,
        v2(&missing),
        &json!({"key": "a", "value": "b"}),
    )
    .await;
    assert_eq!(st, 404);

    // DeleteTraces: by id (the v2 path), then by age (the v3 path).
    let mut by_id = sample("10_delete_traces_ids.req.json");
    by_id["experiment_id"] = json!(exp);
    by_id["request_ids"] = json!([ids[2], missing]);
    let (st, v) = post(
        &c,
        format!("{}/api/2.0/mlflow/traces/delete-traces", srv.base),
        &by_id,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v, sample("10_delete_traces.resp.json"));
    let mut by_ts = sample("11_delete_traces_ts.req.json");
    by_ts["experiment_id"] = json!(exp);
    by_ts["max_timestamp_millis"] = json!(T0_NS / 1_000_000 + 1_500);
    by_ts["max_traces"] = json!(1);
    let (st, v) = post(&c, format!("{base}/delete-traces"), &by_ts).await;
    assert_eq!((st, v), (200, json!({"traces_deleted": 1})));
    let (st, _) = post(
        &c,
        format!("{base}/delete-traces"),
        &json!({"experiment_id": exp}),
    )
    .await;
    assert_eq!(st, 400);
    let (_, v) = post(&c, format!("{base}/search"), &search_req(&exp)).await;
    let left: Vec<&Value> = v["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["trace_id"])
        .collect();
    assert_eq!(left, vec![&json!(ids[1])]);
    let stats = srv.backend.stats().await.unwrap();
    assert_eq!(
        (stats.traces, stats.spans),
        (1, 3),
        "spans deleted with their traces"
    );
    srv.shutdown().await;
}

both_backends!(read_api_shapes);

// ---- the real client ----

async fn run_read_app(base: &str, async_logging: bool) -> Value {
    let mode = if async_logging { "true" } else { "false" };
    let env = [
        ("MLFLOW_TRACKING_URI", base.to_string()),
        ("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", mode.to_string()),
    ];
    common::python::run_script("mlflow_read_app.py", &[], &env)
        .await
        .out
}

async fn real_client_reads(db: TestDb) {
    real_client(db, false).await
}

/// Async export (the SDK default): reads right after `flush_trace_async_logging`.
async fn real_client_reads_async(db: TestDb) {
    real_client(db, true).await
}

async fn real_client(db: TestDb, async_logging: bool) {
    let srv = TestServer::start(db).await;
    let out = run_read_app(&srv.base, async_logging).await;
    let ok = out["ok_trace_id"].as_str().unwrap();
    let err = out["error_trace_id"].as_str().unwrap();

    // mlflow.search_traces(filter_string="tags.env = 'test'", return_type="list")
    let found: Vec<&str> = out["search_env_test"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(found, vec![err, ok], "newest first: {out}");
    assert_eq!(
        out["search_spans"],
        json!([2, 3]),
        "batchGet brought spans: {out}"
    );
    // Ordered, one per page, through TracingClient's page_token.
    assert_eq!(
        out["paged_asc"],
        json!([ok, err, out["third_trace_id"]]),
        "{out}"
    );
    assert_eq!(out["pages"], json!(3));
    assert_eq!(out["order_desc_first"], out["third_trace_id"]);

    // mlflow.get_trace: spans with span types, inputs and token usage.
    let g = &out["get_trace"];
    assert_eq!(g["trace_id"], ok);
    assert_eq!(g["state"], "OK");
    assert_eq!(g["span_count"], 3);
    assert_eq!(g["root_name"], "rag_pipeline");
    assert_eq!(g["span_types"]["rag_pipeline"], "CHAIN");
    assert_eq!(g["span_types"]["retrieve_docs"], "RETRIEVER");
    assert_eq!(g["span_types"]["chat_completion"], "CHAT_MODEL");
    assert_eq!(
        g["root_inputs"],
        json!({"question": "Where does Sightline store traces?"})
    );
    assert_eq!(g["llm_usage"]["input_tokens"], 52);
    assert_eq!(
        g["token_usage"],
        json!({"input_tokens": 52, "output_tokens": 22, "total_tokens": 74})
    );
    assert_eq!(g["tags"]["env"], "test");
    assert_eq!(g["session"], "sess-read-1");

    // Tags through the fluent API, and deletes through TracingClient.
    assert_eq!(out["tag_after_set"], "yes");
    assert_eq!(out["tag_after_delete"], Value::Null);
    assert_eq!(out["deleted_by_id"], 1);
    assert_eq!(out["deleted_by_age"], 1);
    assert_eq!(out["left_after_delete"], json!([err]));
    let stats = srv.backend.stats().await.unwrap();
    assert_eq!(stats.traces, 1);
    srv.shutdown().await;
}

both_backends!(real_client_reads, real_client_reads_async);
