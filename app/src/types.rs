//! Types that cross between server and browser. Plain data: no behaviour beyond formatting.

use serde::{Deserialize, Serialize};

/// Trace status as users see it (MLflow's TraceInfoV3 `state` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceStatus {
    Ok,
    Error,
    InProgress,
    Unspecified,
}

impl TraceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceStatus::Ok => "OK",
            TraceStatus::Error => "ERROR",
            TraceStatus::InProgress => "IN_PROGRESS",
            TraceStatus::Unspecified => "STATE_UNSPECIFIED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OK" => TraceStatus::Ok,
            "ERROR" => TraceStatus::Error,
            "IN_PROGRESS" => TraceStatus::InProgress,
            "STATE_UNSPECIFIED" => TraceStatus::Unspecified,
            _ => return None,
        })
    }
}

/// One row of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// 32 lowercase hex characters (the OTel trace id); MLflow shows it as `tr-<hex>`.
    pub trace_id: String,
    pub experiment_id: String,
    pub name: Option<String>,
    pub start_ms: i64,
    /// `None` while the root span has not arrived.
    pub duration_ms: Option<f64>,
    pub status: TraceStatus,
    pub models: Vec<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost: Option<f64>,
    pub span_count: i64,
    pub error_count: i64,
    pub session_id: Option<String>,
    pub request_preview: Option<String>,
}

/// What the trace list asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TraceListQuery {
    pub experiment_id: Option<String>,
    pub limit: u32,
}
