//! The MLflow tracing SDK's write path (PROTOCOL.md §1.1, §2, §4): experiments get-by-name /
//! create / get, `/version`, StartTraceV3 and the `traces.json` artifact upload fallback.
//! Trace info and spans may arrive in either order; the writer merges them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::MlflowError;
use crate::model::{
    mlflow_trace_id, parse_trace_id, Experiment, RawSpan, ResourceGroup, SpanEvent,
    StatusCode as SpanStatus, TraceInfo, TraceStatus,
};

use super::Ingest;

/// Advertised MLflow version: ≥ 3.4 makes the SDK send spans over OTLP (`/v1/traces`).
pub const MLFLOW_VERSION: &str = "3.18.0";

type MlResult<T = Response> = Result<T, MlflowError>;

fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> MlResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| MlflowError::invalid(format!("malformed JSON request body: {e}")))
}

pub fn experiment_json(e: &Experiment) -> Value {
    json!({
        "experiment_id": e.experiment_id.to_string(),
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": e.last_update_time_ms,
        "creation_time": e.creation_time_ms,
        "tags": e.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
pub struct ByName {
    experiment_name: Option<String>,
}

/// `GET /api/2.0/mlflow/experiments/get-by-name`.
pub async fn get_experiment_by_name(
    State(ingest): State<Arc<Ingest>>,
    Query(q): Query<ByName>,
) -> MlResult {
    let name = q.experiment_name.filter(|n| !n.is_empty()).ok_or_else(|| {
        MlflowError::invalid("Missing value for required parameter 'experiment_name'")
    })?;
    match ingest.backend.get_experiment_by_name(&name).await? {
        Some(e) => Ok(Json(json!({ "experiment": experiment_json(&e) })).into_response()),
        None => Err(MlflowError::not_found(format!(
            "Could not find experiment with name '{name}'"
        ))),
    }
}

#[derive(Deserialize)]
pub struct ById {
    experiment_id: Option<String>,
}

/// `GET /api/2.0/mlflow/experiments/get`.
pub async fn get_experiment(State(ingest): State<Arc<Ingest>>, Query(q): Query<ById>) -> MlResult {
    let raw = q.experiment_id.ok_or_else(|| {
        MlflowError::invalid("Missing value for required parameter 'experiment_id'")
    })?;
    let id: i64 = raw
        .parse()
        .map_err(|_| MlflowError::invalid(format!("Invalid experiment id {raw:?}")))?;
    match ingest.backend.get_experiment(id).await? {
        Some(e) => Ok(Json(json!({ "experiment": experiment_json(&e) })).into_response()),
        None => Err(MlflowError::not_found(format!(
            "No Experiment with id={id} exists"
        ))),
    }
}

#[derive(Deserialize)]
struct CreateExperiment {
    name: Option<String>,
    artifact_location: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: String,
}

/// `POST /api/2.0/mlflow/experiments/create`.
pub async fn create_experiment(State(ingest): State<Arc<Ingest>>, body: Bytes) -> MlResult {
    let req: CreateExperiment = parse_json(&body)?;
    let name = req
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| MlflowError::invalid("Missing value for required parameter 'name'"))?;
    let tags: BTreeMap<String, String> = req.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let e = ingest
        .backend
        .create_experiment(&name, req.artifact_location.as_deref(), &tags)
        .await
        .map_err(|e| match e {
            crate::store::Error::Conflict(_) => MlflowError::new(
                "RESOURCE_ALREADY_EXISTS",
                format!("Experiment '{name}' already exists."),
            ),
            other => other.into(),
        })?;
    Ok(Json(json!({ "experiment_id": e.experiment_id.to_string() })).into_response())
}

/// `GET /version`: plain text.
pub async fn version() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        MLFLOW_VERSION,
    )
}

/// `GET /api/3.0/mlflow/server-info` (the 3.18 client asks before artifact uploads).
pub async fn server_info() -> impl IntoResponse {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "multipart_uploads_enabled": false,
        "artifact_serving_enabled": true,
    }))
}

/// `POST /api/3.0/mlflow/traces` (StartTraceV3: "this trace has finished").
pub async fn start_trace_v3(State(ingest): State<Arc<Ingest>>, body: Bytes) -> MlResult {
    let req: Value = parse_json(&body)?;
    let info = req
        .get("trace")
        .and_then(|t| t.get("trace_info"))
        .ok_or_else(|| {
            MlflowError::invalid("Missing value for required parameter 'trace.trace_info'")
        })?;
    let parsed = parse_trace_info(info)?;
    let experiment = ingest
        .experiment(Some(&parsed.experiment_id.to_string()))
        .await
        .map_err(|_| {
            MlflowError::not_found(format!(
                "No Experiment with id={} exists",
                parsed.experiment_id
            ))
        })?;
    let mut parsed = parsed;
    parsed.experiment_id = experiment;
    let trace_id = parsed.trace_id;
    ingest.ingest_info(parsed).await?;

    // Echo the info as stored, plus the two tags the client reads: spans are in our store, so
    // it must not upload traces.json (PROTOCOL.md §1.1 (b)).
    let mut echoed = info.clone();
    if let Some(obj) = echoed.as_object_mut() {
        let tags = obj.entry("tags").or_insert_with(|| json!({}));
        if let Some(t) = tags.as_object_mut() {
            t.insert(
                "mlflow.artifactLocation".into(),
                json!(format!(
                    "mlflow-artifacts:/{experiment}/traces/{}/artifacts",
                    mlflow_trace_id(&trace_id)
                )),
            );
            t.insert("mlflow.trace.spansLocation".into(), json!("TRACKING_STORE"));
        }
        let meta = obj.entry("trace_metadata").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.insert("mlflow.trace.infoFinalized".into(), json!("true"));
        }
    }
    Ok(Json(json!({ "trace": { "trace_info": echoed } })).into_response())
}

fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Parses TraceInfoV3 proto-JSON (snake_case or camelCase).
pub fn parse_trace_info(info: &Value) -> MlResult<TraceInfo> {
    let get = |snake: &str, camel: &str| info.get(snake).or_else(|| info.get(camel));
    let raw_id = get("trace_id", "traceId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            MlflowError::invalid("Missing value for required parameter 'trace_info.trace_id'")
        })?;
    let trace_id = parse_trace_id(raw_id).ok_or_else(|| {
        MlflowError::invalid(format!("Invalid trace id {raw_id:?}: expected tr-<32 hex>"))
    })?;
    let location = get("trace_location", "traceLocation");
    let experiment_id = location
        .and_then(|l| {
            l.get("mlflow_experiment")
                .or_else(|| l.get("mlflowExperiment"))
        })
        .and_then(|m| m.get("experiment_id").or_else(|| m.get("experimentId")))
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .unwrap_or_else(|| "0".into());
    let experiment_id: i64 = experiment_id
        .parse()
        .map_err(|_| MlflowError::invalid(format!("Invalid experiment id {experiment_id:?}")))?;
    let request_time_ms = match get("request_time", "requestTime") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_rfc3339_ms(s)?),
        Some(Value::Number(n)) => n.as_i64(),
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "Invalid request_time {other}"
            )))
        }
    };
    let execution_duration_ms = match get("execution_duration", "executionDuration") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_duration_ms(s)?),
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "Invalid execution_duration {other}"
            )))
        }
    };
    let state = match get("state", "state").and_then(Value::as_str) {
        None => None,
        Some(s) => Some(TraceStatus::parse(s).ok_or_else(|| {
            MlflowError::invalid(format!(
                "Invalid state {s:?}: expected OK, ERROR, IN_PROGRESS or STATE_UNSPECIFIED"
            ))
        })?),
    };
    let text = |snake: &str, camel: &str| {
        get(snake, camel)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(TraceInfo {
        trace_id,
        experiment_id,
        client_request_id: text("client_request_id", "clientRequestId"),
        request_time_ms,
        execution_duration_ms,
        state: state.filter(|s| *s != TraceStatus::Unspecified),
        metadata: str_map(get("trace_metadata", "traceMetadata")),
        tags: str_map(get("tags", "tags")),
        request_preview: text("request_preview", "requestPreview"),
        response_preview: text("response_preview", "responsePreview"),
        redactions: 0,
    })
}

fn parse_rfc3339_ms(s: &str) -> MlResult<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| MlflowError::invalid(format!("Invalid timestamp {s:?}: {e}")))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Proto Duration JSON: `"0.007s"`, `"1.5s"`, `"3s"`.
fn parse_duration_ms(s: &str) -> MlResult<f64> {
    s.strip_suffix('s')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|secs| secs * 1000.0)
        .ok_or_else(|| {
            MlflowError::invalid(format!("Invalid duration {s:?}: expected e.g. \"1.5s\""))
        })
}

/// `PUT /api/2.0/mlflow-artifacts/artifacts/<E>/traces/<T>/artifacts/traces.json`: the legacy
/// upload, stored like OTLP spans (every attribute value is JSON text, ids base64;
/// PROTOCOL.md §5.4b).
pub async fn put_artifact(
    State(ingest): State<Arc<Ingest>>,
    Path(path): Path<String>,
    _headers: HeaderMap,
    body: Bytes,
) -> MlResult {
    let parts: Vec<&str> = path.split('/').collect();
    let (exp, trace) = match parts.as_slice() {
        [exp, "traces", trace, "artifacts", "traces.json"] => (*exp, *trace),
        _ => {
            return Err(MlflowError::invalid(format!(
                "Unsupported artifact path {path:?}: only <experiment>/traces/<trace_id>/artifacts/traces.json is stored"
            )))
        }
    };
    let experiment = ingest.experiment(Some(exp)).await?;
    let trace_id = parse_trace_id(trace)
        .ok_or_else(|| MlflowError::invalid(format!("Invalid trace id {trace:?}")))?;
    let group = parse_artifact(&body, trace_id)?;
    ingest
        .ingest_groups(experiment, vec![group], Vec::new())
        .await?;
    Ok(StatusCode::OK.into_response())
}

/// A `traces.json` body: its spans, all of trace `trace_id`.
///
/// # Errors
/// `INVALID_PARAMETER_VALUE` naming the first bad span and field.
pub fn parse_artifact(body: &Bytes, trace_id: crate::model::TraceId) -> MlResult<ResourceGroup> {
    let doc: Value = parse_json(body)?;
    let spans = doc.get("spans").and_then(Value::as_array).ok_or_else(|| {
        MlflowError::invalid("traces.json must be an object with a \"spans\" array")
    })?;
    let mut group = ResourceGroup::default();
    for (i, s) in spans.iter().enumerate() {
        let span = artifact_span(s, trace_id)
            .map_err(|m| MlflowError::invalid(format!("spans[{i}]: {m}")))?;
        group.spans.push(span);
    }
    Ok(group)
}

fn b64_id<const N: usize>(v: Option<&Value>, what: &str) -> Result<Option<[u8; N]>, String> {
    let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("{what} is not base64: {e}"))?;
    bytes
        .try_into()
        .map(Some)
        .map_err(|b: Vec<u8>| format!("{what} must be {N} bytes, got {}", b.len()))
}

fn json_text_attrs(v: Option<&Value>) -> Map<String, Value> {
    // traces.json writes every attribute value as JSON text; undo that.
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let decoded = match v {
                        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
                        other => other.clone(),
                    };
                    (k.clone(), decoded)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn artifact_span(s: &Value, trace_id: [u8; 16]) -> Result<RawSpan, String> {
    let num = |k: &str| -> Result<i64, String> {
        match s.get(k) {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("{k} is not an integer")),
            Some(Value::String(x)) => x.parse().map_err(|_| format!("{k} is not an integer")),
            _ => Err(format!("{k} is missing")),
        }
    };
    let span_id = b64_id::<8>(s.get("span_id"), "span_id")?.ok_or("span_id is missing")?;
    let status = s.get("status");
    let code = status.and_then(|st| st.get("code")).map(|c| match c {
        Value::String(x) if x.ends_with("ERROR") => SpanStatus::Error,
        Value::String(x) if x.ends_with("OK") => SpanStatus::Ok,
        Value::Number(n) => SpanStatus::from_i32(n.as_i64().unwrap_or(0) as i32),
        _ => SpanStatus::Unset,
    });
    let events = s
        .get("events")
        .and_then(Value::as_array)
        .map(|evs| {
            evs.iter()
                .map(|e| SpanEvent {
                    name: e
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    time_ns: e.get("time_unix_nano").and_then(Value::as_i64).unwrap_or(0),
                    attributes: e
                        .get("attributes")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let start_ns = num("start_time_unix_nano")?;
    let end_ns = num("end_time_unix_nano").unwrap_or(start_ns);
    Ok(RawSpan {
        trace_id: b64_id::<16>(s.get("trace_id"), "trace_id")?.unwrap_or(trace_id),
        span_id,
        parent_span_id: b64_id::<8>(s.get("parent_span_id"), "parent_span_id")?,
        name: s
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        otel_kind: 1,
        start_ns,
        end_ns: end_ns.max(start_ns),
        status: code.unwrap_or_default(),
        status_message: status
            .and_then(|st| st.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        attributes: json_text_attrs(s.get("attributes")),
        events,
        links: Vec::new(),
        scope_name: None,
        scope_version: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_real_start_trace_v3_request() {
        let body: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/mlflow/08_start_trace_v3.req.json"
        ))
        .unwrap();
        let info = parse_trace_info(&body["trace"]["trace_info"]).unwrap();
        assert_eq!(
            mlflow_trace_id(&info.trace_id),
            "tr-f65abff69882f71aad5cfd3edd2bd6b1"
        );
        assert_eq!(info.experiment_id, 2);
        assert_eq!(info.state, Some(TraceStatus::Ok));
        assert_eq!(info.execution_duration_ms, Some(185.0));
        assert_eq!(
            info.metadata
                .get("mlflow.trace.session")
                .map(String::as_str),
            Some("sess-42")
        );
        assert_eq!(
            info.tags.get("mlflow.traceName").map(String::as_str),
            Some("rag_pipeline")
        );
    }

    #[test]
    fn durations_and_times_follow_proto_json() {
        assert_eq!(parse_duration_ms("1.5s").unwrap(), 1500.0);
        assert!(parse_duration_ms("15ms").is_err());
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.250Z").unwrap(), 1250);
    }

    #[test]
    fn artifact_spans_decode_json_text_attributes() {
        let doc: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/mlflow/11_artifact_traces_json.req.json"
        ))
        .unwrap();
        let s = artifact_span(&doc["spans"][0], [0; 16]).unwrap();
        assert!(s
            .attributes
            .get("mlflow.spanType")
            .is_some_and(|v| v.is_string()));
        assert!(s.end_ns >= s.start_ns);
    }
}
