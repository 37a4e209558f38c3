//! The MLflow SDK's JSON bodies: StartTraceV3's `trace.trace_info` and the legacy
//! `traces.json` artifact upload, parsed as the handlers do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline::receive::mlflow;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Some(info) = v.get("trace").and_then(|t| t.get("trace_info")) {
            let _ = mlflow::parse_trace_info(info);
        }
        let _ = mlflow::parse_trace_info(&v);
    }
    let _ = mlflow::parse_artifact(&bytes::Bytes::copy_from_slice(data), [7u8; 16]);
});
