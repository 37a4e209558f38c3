//! MLflow's trace read and manage API (PROTOCOL.md §1.2, §4.5, §4.6): SearchTracesV3,
//! GetTraceInfoV3, GetTrace, BatchGetTraces, BatchGetTraceInfos, trace tags and DeleteTraces,
//! with the TraceInfoV3 and span proto-JSON renderers (§5.3, §5.4c). Mounted under `/api` and
//! `/ajax-api` next to the write path.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Map, Value};

use app::types::{TraceListQuery, TraceSort};

use crate::error::MlflowError;
use crate::model::{mlflow_trace_id, parse_trace_id, StatusCode as SpanStatus, TraceId};
use crate::query::plan;
use crate::store::{StoredSpan, StoredTrace, TraceDeletion, TraceRecord};

use super::Ingest;

type MlResult<T = Response> = Result<T, MlflowError>;

/// SearchTracesV3's largest page (the real server answers 400 above it).
pub const MAX_SEARCH_RESULTS: i64 = 500;
const DEFAULT_SEARCH_RESULTS: i64 = 100;
/// Longest wait for spans still being exported when `allow_partial=false`.
const PARTIAL_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

fn parse_json(body: &Bytes) -> MlResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| MlflowError::invalid(format!("malformed JSON request body: {e}")))
}

fn not_found(id: &str) -> MlflowError {
    MlflowError::not_found(format!("Trace with ID '{id}' not found."))
}

fn trace_id_arg(raw: &str) -> MlResult<TraceId> {
    parse_trace_id(raw).ok_or_else(|| not_found(raw))
}

/// Decodes `a=1&b=2&a=3` into ordered pairs (repeated keys kept).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    })
    .unwrap_or_default()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && s.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Python renders booleans as `True`/`False`; accept any case, and 1/0.
fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Renderers
// ---------------------------------------------------------------------------------------------

/// Proto Timestamp JSON with millisecond precision: `2026-11-23T19:58:53.151Z`.
pub fn rfc3339_ms(ns: i64) -> String {
    let ms = ns.div_euclid(1_000_000);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Proto Duration JSON with millisecond precision: `"0.032s"`.
pub fn duration_secs(ns: i64) -> String {
    let ms = ns.max(0) / 1_000_000;
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// TraceInfoV3 (PROTOCOL.md §5.3) of a stored trace.
pub fn trace_info_json(record: &TraceRecord, stored_tags: &BTreeMap<String, String>) -> Value {
    let id = mlflow_trace_id(&record.trace_id);
    let mut info = Map::new();
    info.insert("trace_id".into(), json!(id));
    if let Some(c) = &record.client_request_id {
        info.insert("client_request_id".into(), json!(c));
    }
    info.insert(
        "trace_location".into(),
        json!({"type": "MLFLOW_EXPERIMENT",
               "mlflow_experiment": {"experiment_id": record.experiment_id.to_string()}}),
    );
    if record.start_ns != i64::MAX {
        info.insert("request_time".into(), json!(rfc3339_ms(record.start_ns)));
    }
    if let Some(d) = record.duration_ns() {
        info.insert("execution_duration".into(), json!(duration_secs(d)));
    }
    info.insert("state".into(), json!(record.status.as_str()));

    let mut meta = record.metadata.clone();
    if let Some(s) = &record.session_id {
        meta.entry("mlflow.trace.session".into())
            .or_insert_with(|| s.clone());
    }
    if let Some(u) = &record.user_id {
        meta.entry("mlflow.trace.user".into())
            .or_insert_with(|| u.clone());
    }
    if record.input_tokens > 0 || record.output_tokens > 0 {
        meta.entry("mlflow.trace.tokenUsage".into())
            .or_insert_with(|| {
                let mut u = json!({
                    "input_tokens": record.input_tokens,
                    "output_tokens": record.output_tokens,
                    "total_tokens": record.input_tokens + record.output_tokens,
                });
                if record.cached_tokens > 0 {
                    u["cache_read_input_tokens"] = json!(record.cached_tokens);
                }
                u.to_string()
            });
    }
    if let Some(c) = record.cost {
        meta.entry("mlflow.trace.cost".into())
            .or_insert_with(|| json!({ "total_cost": c }).to_string());
    }
    meta.entry("mlflow.trace_schema.version".into())
        .or_insert_with(|| "3".into());
    info.insert("trace_metadata".into(), json!(meta));

    let mut tags = stored_tags.clone();
    if let Some(n) = &record.name {
        tags.entry("mlflow.traceName".into())
            .or_insert_with(|| n.clone());
    }
    tags.insert("mlflow.trace.spansLocation".into(), "TRACKING_STORE".into());
    tags.entry("mlflow.artifactLocation".into())
        .or_insert_with(|| {
            format!(
                "mlflow-artifacts:/{}/traces/{id}/artifacts",
                record.experiment_id
            )
        });
    info.insert("tags".into(), json!(tags));
    if let Some(p) = &record.request_preview {
        info.insert("request_preview".into(), json!(p));
    }
    if let Some(p) = &record.response_preview {
        info.insert("response_preview".into(), json!(p));
    }
    Value::Object(info)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An OTLP AnyValue in proto-JSON from a stored (decoded) attribute value.
pub fn any_value(v: &Value) -> Value {
    match v {
        Value::Null => json!({}),
        Value::Bool(b) => json!({ "bool_value": b }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => json!({ "int_value": i }),
            None => json!({ "double_value": n.as_f64().unwrap_or(0.0) }),
        },
        Value::String(s) => json!({ "string_value": s }),
        Value::Array(items) => {
            json!({ "array_value": { "values": items.iter().map(any_value).collect::<Vec<_>>() } })
        }
        Value::Object(m) => json!({ "kvlist_value": { "values": key_values(m) } }),
    }
}

fn key_values(m: &Map<String, Value>) -> Vec<Value> {
    m.iter()
        .map(|(k, v)| json!({ "key": k, "value": any_value(v) }))
        .collect()
}

fn otel_kind_name(kind: i32) -> &'static str {
    match kind {
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        // MLflow's own spans are sent with kind unset; its server shows them as INTERNAL.
        _ => "SPAN_KIND_INTERNAL",
    }
}

fn status_code_name(s: SpanStatus) -> &'static str {
    match s {
        SpanStatus::Unset => "STATUS_CODE_UNSET",
        SpanStatus::Ok => "STATUS_CODE_OK",
        SpanStatus::Error => "STATUS_CODE_ERROR",
    }
}

/// One span in MLflow's proto-JSON (PROTOCOL.md §5.4c). Spans ingested over plain OTel get
/// the `mlflow.*` keys MLflow's client reads (span type, inputs, outputs, token usage), as
/// the real server adds them.
pub fn span_json(s: &StoredSpan) -> Value {
    let mut attrs = s.payload.attributes.clone();
    if !attrs.contains_key("mlflow.traceRequestId") {
        attrs.insert(
            "mlflow.traceRequestId".into(),
            json!(mlflow_trace_id(&s.trace_id)),
        );
    }
    if !attrs.contains_key("mlflow.spanType") {
        attrs.insert("mlflow.spanType".into(), json!(s.kind.as_str()));
    }
    let need_io =
        !attrs.contains_key("mlflow.spanInputs") || !attrs.contains_key("mlflow.spanOutputs");
    if need_io {
        let facts = crate::normalize::conventions::llm_facts(&s.payload.attributes);
        if let Some(i) = facts.inputs {
            attrs.entry("mlflow.spanInputs").or_insert(i);
        }
        if let Some(o) = facts.outputs {
            attrs.entry("mlflow.spanOutputs").or_insert(o);
        }
    }
    if !attrs.contains_key("mlflow.chat.tokenUsage")
        && (s.input_tokens.is_some() || s.output_tokens.is_some())
    {
        let (i, o) = (s.input_tokens.unwrap_or(0), s.output_tokens.unwrap_or(0));
        attrs.insert(
            "mlflow.chat.tokenUsage".into(),
            json!({"input_tokens": i, "output_tokens": o, "total_tokens": i + o}),
        );
    }
    let mut out = Map::new();
    out.insert("trace_id".into(), json!(b64(&s.trace_id)));
    out.insert("span_id".into(), json!(b64(&s.span_id)));
    if let Some(p) = &s.parent_span_id {
        out.insert("parent_span_id".into(), json!(b64(p)));
    }
    out.insert("name".into(), json!(s.name));
    out.insert("kind".into(), json!(otel_kind_name(s.payload.otel_kind)));
    out.insert("start_time_unix_nano".into(), json!(s.start_ns));
    out.insert("end_time_unix_nano".into(), json!(s.end_ns));
    out.insert("attributes".into(), json!(key_values(&attrs)));
    let events: Vec<Value> = s
        .payload
        .events
        .iter()
        .map(|e| {
            json!({"time_unix_nano": e.time_ns, "name": e.name,
                   "attributes": key_values(&e.attributes)})
        })
        .collect();
    if !events.is_empty() {
        out.insert("events".into(), json!(events));
    }
    // Proto3 JSON leaves out an empty message, as the real server does.
    let mut status = json!({ "code": status_code_name(s.status) });
    if !s.status_message.is_empty() {
        status["message"] = json!(s.status_message);
    }
    out.insert("status".into(), status);
    Value::Object(out)
}

/// `{"trace_info", "spans"}`: spans root first, then by start time.
pub fn trace_json(t: &StoredTrace) -> Value {
    let mut spans: Vec<&StoredSpan> = t.spans.iter().collect();
    let is_root =
        |s: &StoredSpan| s.parent_span_id.is_none() || t.record.root_span_id == Some(s.span_id);
    spans.sort_by_key(|s| (!is_root(s), s.start_ns));
    json!({
        "trace_info": trace_info_json(&t.record, &t.tags),
        "spans": spans.into_iter().map(span_json).collect::<Vec<_>>(),
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// The experiments a SearchTracesV3 request names (`locations` or `experiment_ids`), sorted
/// and distinct; empty means every experiment.
fn search_experiments(req: &Value) -> MlResult<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    if let Some(locs) = req.get("locations").and_then(Value::as_array) {
        for l in locs {
            let e = l
                .get("mlflow_experiment")
                .or_else(|| l.get("mlflowExperiment"))
                .and_then(|m| m.get("experiment_id").or_else(|| m.get("experimentId")))
                .and_then(text_of);
            match e {
                Some(e) => ids.push(e),
                None => {
                    return Err(MlflowError::invalid(format!(
                        "Unsupported trace location {l}: only MLFLOW_EXPERIMENT locations are stored here"
                    )))
                }
            }
        }
    }
    if let Some(es) = req
        .get("experiment_ids")
        .or_else(|| req.get("experimentIds"))
        .and_then(Value::as_array)
    {
        ids.extend(es.iter().filter_map(text_of));
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Several experiments search as one filter, `experiment_id IN (…)` ANDed with the client's;
/// one experiment is the query's own (indexed) experiment scope.
fn scope_to_experiments(
    mut ids: Vec<String>,
    filter: Option<app::filter::Expr>,
) -> (Option<String>, Option<app::filter::Expr>) {
    use app::filter::{Comparison, Expr, Field, Op, TraceField, Value as V};
    if ids.len() <= 1 {
        return (ids.pop(), filter);
    }
    let within = Expr::Cmp(Comparison {
        field: Field::Trace(TraceField::Experiment),
        op: Op::In,
        value: V::List(ids.into_iter().map(V::Str).collect()),
    });
    let filter = match filter {
        None => within,
        Some(Expr::And(mut v)) => {
            v.push(within);
            Expr::And(v)
        }
        Some(other) => Expr::And(vec![other, within]),
    };
    (None, Some(filter))
}

/// MLflow `order_by` items this server can sort by: start time and duration.
fn search_order(req: &Value) -> MlResult<TraceSort> {
    let items: Vec<String> = match req.get("order_by").or_else(|| req.get("orderBy")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().filter_map(text_of).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "Invalid order_by {other}: expected a list of strings"
            )))
        }
    };
    let Some(first) = items.iter().find(|s| !s.trim().is_empty()) else {
        return Ok(TraceSort::StartDesc);
    };
    let mut words = first.split_whitespace();
    let key = words.next().unwrap_or_default();
    let dir = words.next().map(str::to_ascii_uppercase);
    let key = key
        .strip_prefix("attributes.")
        .or_else(|| key.strip_prefix("attribute."))
        .or_else(|| key.strip_prefix("trace."))
        .unwrap_or(key)
        .trim_matches('`');
    let desc = match dir.as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(d) => {
            return Err(MlflowError::invalid(format!(
                "Invalid order_by clause {first:?}: direction {d:?} is not ASC or DESC"
            )))
        }
    };
    if words.next().is_some() {
        return Err(MlflowError::invalid(format!(
            "Invalid order_by clause {first:?}"
        )));
    }
    Ok(match (key, desc) {
        ("timestamp_ms" | "timestamp" | "start_time", true) => TraceSort::StartDesc,
        ("timestamp_ms" | "timestamp" | "start_time", false) => TraceSort::StartAsc,
        ("execution_time_ms" | "execution_time" | "duration", true) => TraceSort::DurationDesc,
        ("execution_time_ms" | "execution_time" | "duration", false) => TraceSort::DurationAsc,
        _ => {
            return Err(MlflowError::invalid(format!(
                "Invalid order_by clause {first:?}: this server sorts by timestamp_ms or execution_time_ms"
            )))
        }
    })
}

/// `POST /api/3.0/mlflow/traces/search` (SearchTracesV3).
pub async fn search_traces(State(ingest): State<Arc<Ingest>>, body: Bytes) -> MlResult {
    let req = parse_json(&body)?;
    let experiments = search_experiments(&req)?;
    let max_results = match req.get("max_results").or_else(|| req.get("maxResults")) {
        None | Some(Value::Null) => DEFAULT_SEARCH_RESULTS,
        Some(v) => text_of(v)
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| MlflowError::invalid(format!("Invalid max_results {v}")))?,
    };
    if max_results > MAX_SEARCH_RESULTS {
        return Err(MlflowError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at most {MAX_SEARCH_RESULTS}."
        )));
    }
    if max_results < 1 {
        return Err(MlflowError::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer."
        )));
    }
    let filter_text = req
        .get("filter")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let filter = app::filter::parse(&filter_text)
        .map_err(|e| MlflowError::invalid(format!("Invalid filter string {filter_text:?}: {e}")))?;
    let (experiment_id, filter) = scope_to_experiments(experiments, filter);
    let sort = search_order(&req)?;
    let cursor = req
        .get("page_token")
        .or_else(|| req.get("pageToken"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let query = TraceListQuery {
        experiment_id,
        filter: filter_text.clone(),
        from_ms: None,
        to_ms: None,
        sort,
        cursor,
        limit: max_results as u32,
    };
    let plan = plan::plan_search(filter.as_ref(), &query).map_err(|e| {
        let what = if e.field == "cursor" {
            "page_token"
        } else {
            e.field
        };
        MlflowError::invalid(format!("Invalid {what}: {}", e.message))
    })?;
    let mut rows = ingest.backend.search_traces(&plan).await?;
    let next = crate::query::search::cut_page(&plan, &mut rows);
    if rows.is_empty() {
        return Ok(Json(json!({})).into_response());
    }
    // Tags are not on the search row: one batched read for the whole page.
    let ids: Vec<i64> = rows.iter().map(|r| r.row_id).collect();
    let mut tags = ingest.backend.trace_tags(&ids).await?;
    let traces: Vec<Value> = rows
        .iter()
        .map(|r| trace_info_json(&r.record, &tags.remove(&r.row_id).unwrap_or_default()))
        .collect();
    let mut out = json!({ "traces": traces });
    if let Some(n) = next {
        out["next_page_token"] = json!(n);
    }
    Ok(Json(out).into_response())
}

/// `GET /api/3.0/mlflow/traces/<T>` (GetTraceInfoV3).
pub async fn get_trace_info(State(ingest): State<Arc<Ingest>>, Path(id): Path<String>) -> MlResult {
    let trace_id = trace_id_arg(&id)?;
    let t = ingest
        .backend
        .trace_tree(&trace_id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({"trace": {"trace_info": trace_info_json(&t.record, &t.tags)}})).into_response())
}

fn expected_spans(t: &StoredTrace) -> Option<usize> {
    let stats = t.record.metadata.get("mlflow.trace.sizeStats")?;
    let v: Value = serde_json::from_str(stats).ok()?;
    v.get("num_spans")?.as_u64().map(|n| n as usize)
}

/// `GET /api/3.0/mlflow/traces/get?trace_id=<T>&allow_partial=False` (GetTrace).
pub async fn get_trace(State(ingest): State<Arc<Ingest>>, RawQuery(q): RawQuery) -> MlResult {
    let pairs = query_pairs(q.as_deref());
    let id = pairs
        .iter()
        .find(|(k, _)| k == "trace_id")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| MlflowError::invalid("Missing value for required parameter 'trace_id'"))?;
    let allow_partial = match pairs.iter().find(|(k, _)| k == "allow_partial") {
        None => false,
        Some((_, v)) => parse_bool(v).ok_or_else(|| {
            MlflowError::invalid(format!(
                "Invalid value {v:?} for parameter 'allow_partial': expected true or false"
            ))
        })?,
    };
    let trace_id = trace_id_arg(&id)?;
    let deadline = tokio::time::Instant::now() + PARTIAL_WAIT;
    loop {
        let t = ingest
            .backend
            .get_trace(&trace_id)
            .await?
            .ok_or_else(|| not_found(&id))?;
        let complete = expected_spans(&t).is_none_or(|n| t.spans.len() >= n);
        if allow_partial || complete {
            return Ok(Json(json!({ "trace": trace_json(&t) })).into_response());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(MlflowError::not_found(format!(
                "Trace with ID '{id}' is not fully exported yet."
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `GET /api/3.0/mlflow/traces/batchGet?trace_ids=a&trace_ids=b` (BatchGetTraces); unknown
/// ids are left out.
pub async fn batch_get_traces(
    State(ingest): State<Arc<Ingest>>,
    RawQuery(q): RawQuery,
) -> MlResult {
    let mut traces = Vec::new();
    for (k, v) in query_pairs(q.as_deref()) {
        if k != "trace_ids" {
            continue;
        }
        let Some(id) = parse_trace_id(&v) else {
            continue;
        };
        if let Some(t) = ingest.backend.get_trace(&id).await? {
            traces.push(trace_json(&t));
        }
    }
    Ok(Json(json!({ "traces": traces })).into_response())
}

/// `POST /api/3.0/mlflow/traces/batchGetInfos` `{"trace_ids": […]}`.
pub async fn batch_get_trace_infos(State(ingest): State<Arc<Ingest>>, body: Bytes) -> MlResult {
    let req = parse_json(&body)?;
    let ids: Vec<String> = req
        .get("trace_ids")
        .or_else(|| req.get("traceIds"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(text_of).collect())
        .unwrap_or_default();
    let mut infos = Vec::new();
    for raw in ids {
        let Some(id) = parse_trace_id(&raw) else {
            continue;
        };
        if let Some(t) = ingest.backend.trace_tree(&id).await? {
            infos.push(trace_info_json(&t.record, &t.tags));
        }
    }
    Ok(Json(json!({ "trace_infos": infos })).into_response())
}

fn required_key(req: &Value) -> MlResult<String> {
    req.get("key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .ok_or_else(|| MlflowError::invalid("Missing value for required parameter 'key'"))
}

/// `PATCH /api/2.0|3.0/mlflow/traces/<T>/tags` `{"key","value"}`.
pub async fn set_trace_tag(
    State(ingest): State<Arc<Ingest>>,
    Path(id): Path<String>,
    body: Bytes,
) -> MlResult {
    let req = parse_json(&body)?;
    let key = required_key(&req)?;
    if key.len() > 250 {
        return Err(MlflowError::invalid(format!(
            "Tag key '{key}' is longer than 250 characters"
        )));
    }
    let mut value = req
        .get("value")
        .map(|v| text_of(v).unwrap_or_else(|| v.to_string()))
        .unwrap_or_default();
    ingest.redactor.redact_text(&key, &mut value);
    let trace_id = trace_id_arg(&id)?;
    if !ingest
        .backend
        .set_trace_tag(&trace_id, &key, &value)
        .await?
    {
        return Err(not_found(&id));
    }
    Ok(Json(json!({})).into_response())
}

/// `DELETE /api/2.0|3.0/mlflow/traces/<T>/tags` with the body `{"key"}`.
pub async fn delete_trace_tag(
    State(ingest): State<Arc<Ingest>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> MlResult {
    let req = parse_json(&body)?;
    // The body is what clients send; the query string is accepted too.
    let key = match required_key(&req) {
        Ok(k) => k,
        Err(e) => query_pairs(q.as_deref())
            .into_iter()
            .find(|(k, v)| k == "key" && !v.is_empty())
            .map(|(_, v)| v)
            .ok_or(e)?,
    };
    let trace_id = trace_id_arg(&id)?;
    if !ingest.backend.delete_trace_tag(&trace_id, &key).await? {
        return Err(MlflowError::not_found(format!(
            "No trace tag with key '{key}' for trace with ID '{id}'"
        )));
    }
    Ok(Json(json!({})).into_response())
}

/// `POST /api/2.0|3.0/mlflow/traces/delete-traces` (DeleteTraces): by `request_ids`, or by
/// `max_timestamp_millis` (+ `max_traces`).
pub async fn delete_traces(State(ingest): State<Arc<Ingest>>, body: Bytes) -> MlResult {
    let req = parse_json(&body)?;
    let raw_exp = req
        .get("experiment_id")
        .or_else(|| req.get("experimentId"))
        .and_then(text_of)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            MlflowError::invalid("Missing value for required parameter 'experiment_id'")
        })?;
    let experiment_id: i64 = raw_exp
        .parse()
        .map_err(|_| MlflowError::invalid(format!("Invalid experiment id {raw_exp:?}")))?;
    let ids: Option<Vec<String>> = req
        .get("request_ids")
        .or_else(|| req.get("trace_ids"))
        .or_else(|| req.get("requestIds"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(text_of).collect());
    let int = |snake: &str, camel: &str| -> MlResult<Option<i64>> {
        match req.get(snake).or_else(|| req.get(camel)) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => text_of(v)
                .and_then(|s| s.parse::<i64>().ok())
                .map(Some)
                .ok_or_else(|| MlflowError::invalid(format!("Invalid {snake} {v}"))),
        }
    };
    let max_ts = int("max_timestamp_millis", "maxTimestampMillis")?;
    let max_traces = int("max_traces", "maxTraces")?;
    let which = match (ids.filter(|i| !i.is_empty()), max_ts) {
        (Some(_), Some(_)) => {
            return Err(MlflowError::invalid(
                "Only one of `max_timestamp_millis` and `request_ids` can be specified.",
            ))
        }
        (Some(ids), None) => {
            if max_traces.is_some() {
                return Err(MlflowError::invalid(
                    "`max_traces` can't be specified if `request_ids` is specified.",
                ));
            }
            TraceDeletion::Ids(ids.iter().filter_map(|i| parse_trace_id(i)).collect())
        }
        (None, Some(ts)) => {
            let n = max_traces.unwrap_or(i64::from(u32::MAX));
            if n < 1 {
                return Err(MlflowError::invalid(format!(
                    "Invalid value {n} for parameter 'max_traces': it must be positive"
                )));
            }
            TraceDeletion::OlderThan {
                max_timestamp_ms: ts,
                max_traces: u32::try_from(n).unwrap_or(u32::MAX),
            }
        }
        (None, None) => {
            return Err(MlflowError::invalid(
                "Either `max_timestamp_millis` or `request_ids` must be specified.",
            ))
        }
    };
    let n = ingest.backend.delete_traces(experiment_id, &which).await?;
    Ok(Json(json!({ "traces_deleted": n })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_values_are_typed() {
        let v = json!({"q": "x", "k": 2, "f": 0.5, "b": true, "l": [1, "a"], "n": null});
        let a = any_value(&v);
        let kv: BTreeMap<String, Value> = a["kvlist_value"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["key"].as_str().unwrap().to_string(), e["value"].clone()))
            .collect();
        assert_eq!(kv["q"], json!({"string_value": "x"}));
        assert_eq!(kv["k"], json!({"int_value": 2}));
        assert_eq!(kv["f"], json!({"double_value": 0.5}));
        assert_eq!(kv["b"], json!({"bool_value": true}));
        assert_eq!(
            kv["l"],
            json!({"array_value": {"values": [{"int_value": 1}, {"string_value": "a"}]}})
        );
        assert_eq!(kv["n"], json!({}));
    }

    #[test]
    fn times_render_like_mlflow() {
        assert_eq!(
            rfc3339_ms(1_795_464_082_530_732_218),
            "2026-11-23T20:01:22.530Z"
        );
        assert_eq!(duration_secs(32_598_783), "0.032s");
        assert_eq!(duration_secs(1_500_000_000), "1.500s");
    }

    #[test]
    fn order_by_items() {
        let o = |s: &str| search_order(&json!({ "order_by": [s] }));
        assert_eq!(o("timestamp_ms DESC").unwrap(), TraceSort::StartDesc);
        assert_eq!(o("timestamp ASC").unwrap(), TraceSort::StartAsc);
        assert_eq!(o("timestamp_ms").unwrap(), TraceSort::StartAsc);
        assert_eq!(
            o("attributes.execution_time_ms desc").unwrap(),
            TraceSort::DurationDesc
        );
        assert!(o("name ASC").is_err());
        assert_eq!(search_order(&json!({})).unwrap(), TraceSort::StartDesc);
    }

    #[test]
    fn booleans_and_repeated_params() {
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("TRUE"), Some(true));
        let p = query_pairs(Some("trace_ids=a&trace_ids=b&x=%20y"));
        assert_eq!(p.len(), 3);
        assert_eq!(p[1], ("trace_ids".into(), "b".into()));
        assert_eq!(p[2].1, " y");
    }
}
