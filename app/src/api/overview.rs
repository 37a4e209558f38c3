//! The overview board's server function: the board's figures from the backend's rollups, with
//! the charts already drawn (SVG), so client-side navigation gets them too and the wasm bundle
//! carries no chart code.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::charts::Charts;
use crate::types::{Overview, OverviewQuery};
use crate::AppError;

/// What the overview page shows: the figures and their charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OverviewView {
    pub data: Overview,
    pub charts: Charts,
}

/// The overview board for `[query.from_ms, query.to_ms)`, restricted to `query.scope` (the
/// filter grammar). `Invalid` naming the column for a scope that does not parse.
#[server]
pub async fn get_overview(query: OverviewQuery) -> Result<OverviewView, AppError> {
    let scope = crate::filter::parse(&query.scope).map_err(|e| AppError::Invalid {
        field: "scope".into(),
        message: e.to_string(),
    })?;
    let backend = crate::contract::contract()?;
    let data = backend.overview(query, scope).await?;
    let charts = crate::charts::render(&data);
    Ok(OverviewView { data, charts })
}
