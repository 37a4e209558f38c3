//! The trace list: plans a search (`plan`), runs it on the store and cuts one page, with the
//! cursor of the next. Holds no filter meaning and no SQL.

use std::sync::Arc;

use app::filter::Expr;
use app::types::{TraceListQuery, TracePage};
use app::AppError;

use super::plan;
use crate::store::search::{FoundTrace, SearchPlan};
use crate::store::Backend;

pub(super) async fn search_traces(
    backend: &Arc<dyn Backend>,
    query: TraceListQuery,
    filter: Option<Expr>,
) -> Result<TracePage, AppError> {
    let plan = plan::plan_search(filter.as_ref(), &query)?;
    let mut rows = backend
        .search_traces(&plan)
        .await
        .map_err(super::app_error)?;
    let next_cursor = cut_page(&plan, &mut rows);
    Ok(TracePage {
        traces: rows.into_iter().map(|r| super::summary(r.record)).collect(),
        next_cursor,
    })
}

/// Cuts the rows of a plan to one page and returns the next page's cursor. The plan fetched
/// one row more than a page: its presence is the "next page" signal.
pub(crate) fn cut_page(plan: &SearchPlan, rows: &mut Vec<FoundTrace>) -> Option<String> {
    let page = plan.fetch.saturating_sub(1) as usize;
    if rows.len() <= page {
        return None;
    }
    rows.truncate(page);
    rows.last()
        .map(|r| plan::encode_cursor(plan.order, r.sort_key, r.row_id))
}
