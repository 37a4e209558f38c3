use leptos::prelude::*;

use crate::types::{TraceListQuery, TracePage};
use crate::AppError;

/// One page of the trace list: the traces matching `query.filter` (the filter grammar), in
/// `query.sort` order, after `query.cursor`.
#[server]
pub async fn list_traces(query: TraceListQuery) -> Result<TracePage, AppError> {
    if !(1..=500).contains(&query.limit) {
        return Err(AppError::Invalid {
            field: "limit".into(),
            message: format!("must be between 1 and 500, got {}", query.limit),
        });
    }
    let filter = crate::filter::parse(&query.filter).map_err(|e| AppError::Invalid {
        field: "filter".into(),
        message: e.to_string(),
    })?;
    let query = TraceListQuery {
        experiment_id: query.experiment_id.filter(|e| !e.is_empty()),
        cursor: query.cursor.filter(|c| !c.is_empty()),
        ..query
    };
    let backend = crate::contract::contract()?;
    backend.search_traces(query, filter).await
}
