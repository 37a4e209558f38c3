//! What the pages need from the backend (server side only). `server` implements it and hands
//! it to Leptos with `provide_context(Arc<dyn Contract>)`; `#[server]` functions fetch it with
//! [`contract`]. Keeping this a trait keeps SQL out of this crate.

use std::sync::Arc;

use crate::filter::Expr;
use crate::types::{TraceListQuery, TracePage};
use crate::AppError;

#[async_trait::async_trait]
pub trait Contract: Send + Sync + 'static {
    /// One page of the traces matching `filter` (already parsed from `query.filter`) within
    /// the query's time range, in its order. `Invalid` for what the filter grammar accepts
    /// but the server cannot search (yet), or for a bad cursor.
    async fn search_traces(
        &self,
        query: TraceListQuery,
        filter: Option<Expr>,
    ) -> Result<TracePage, AppError>;

    /// One trace with every span, without payloads (the waterfall). `trace_id` is 32 hex
    /// digits, optionally `tr-` prefixed: `Invalid` otherwise, `NotFound` when absent.
    async fn get_trace_tree(&self, trace_id: String) -> Result<crate::types::TraceTree, AppError>;

    /// One span with its payload (the detail panel). `span_id` is 16 hex digits.
    async fn get_span(
        &self,
        trace_id: String,
        span_id: String,
    ) -> Result<crate::types::SpanDetail, AppError>;

    /// One page of sessions, newest activity first, after `cursor` (a
    /// [`crate::types::SessionPage::next_cursor`]); `Invalid` for a cursor that is not one.
    async fn list_sessions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<crate::types::SessionPage, AppError>;

    /// One session's totals and its traces in start order; `NotFound` when it has none.
    async fn get_session(
        &self,
        session_id: String,
    ) -> Result<crate::types::SessionDetail, AppError>;

    /// The overview board for a window, from rollups. `scope` is `query.scope` parsed;
    /// `Invalid` when it names something that is not a rollup dimension, or for a window
    /// that ends before it starts or spans more than 90 days.
    async fn overview(
        &self,
        query: crate::types::OverviewQuery,
        scope: Option<Expr>,
    ) -> Result<crate::types::Overview, AppError>;

    /// The model price table grouped by model, for models whose name contains
    /// `model_filter` (lowercase; empty lists every model).
    async fn list_prices(&self, model_filter: String) -> Result<crate::types::PriceList, AppError>;

    /// Stores `price` (checked with [`crate::api::prices::check_price`]): the row with the
    /// same model and effective date is updated in place, otherwise one is added. Spans
    /// ingested from then on are priced with the new table; stored spans keep their cost.
    async fn save_price(&self, price: crate::types::PriceRow) -> Result<(), AppError>;

    /// Deletes one price row; `NotFound` when there is none.
    async fn delete_price(&self, model: String, effective_from_ms: i64) -> Result<(), AppError>;
}

/// The backend provided by the server for this request.
pub fn contract() -> Result<Arc<dyn Contract>, AppError> {
    leptos::prelude::use_context::<Arc<dyn Contract>>()
        .ok_or_else(|| AppError::Unavailable("BUG: no Contract in the Leptos context".into()))
}
