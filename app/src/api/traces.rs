use leptos::prelude::*;

use crate::types::TraceSummary;
use crate::AppError;

/// The newest traces, for the trace list.
#[server]
pub async fn list_traces(
    experiment_id: Option<String>,
    limit: Option<u32>,
) -> Result<Vec<TraceSummary>, AppError> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::Invalid {
            field: "limit".into(),
            message: format!("must be between 1 and 500, got {limit}"),
        });
    }
    let backend = crate::contract::contract()?;
    backend
        .list_traces(crate::types::TraceListQuery {
            experiment_id: experiment_id.filter(|e| !e.is_empty()),
            limit,
        })
        .await
}
