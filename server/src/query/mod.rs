//! Reads for the pages: implements the app's [`Contract`] on top of a [`Backend`], turning
//! stored rows into wire types. One file per area (`list`, …); this file holds the
//! `Contract` impl, whose methods each delegate to one of them.

mod alerts;
pub(crate) mod detail;
mod overview;
pub mod plan;
mod prices;
pub(crate) mod search;
mod sessions;

use std::sync::Arc;

use app::contract::Contract;
use app::filter::Expr;
use app::types::{TraceListQuery, TracePage, TraceSummary};
use app::AppError;

use crate::store::{self, Backend, TraceRecord};

pub struct Query {
    backend: Arc<dyn Backend>,
    prices: prices::PriceEditing,
    /// The rollup dimensions the writer keeps: what a dashboard scope may name.
    rollups: crate::rollup::RollupConfig,
    /// Where users reach Sightline (links in test notifications).
    public_url: String,
    /// The retention job (its policy and last run), for the settings page.
    retention: Arc<crate::retention::Retention>,
}

impl Query {
    /// A `Query` whose price edits reach no ingest until [`Query::sharing_prices`].
    pub fn new(backend: Arc<dyn Backend>) -> Query {
        Query {
            prices: prices::PriceEditing::default(),
            rollups: crate::rollup::RollupConfig::default(),
            public_url: "http://127.0.0.1:5000".into(),
            retention: Arc::new(crate::retention::Retention::new(
                backend.retention(),
                Default::default(),
                store::now_ms(),
            )),
            backend,
        }
    }

    /// Shows the server's retention job on the settings page.
    pub fn with_retention(mut self, retention: Arc<crate::retention::Retention>) -> Query {
        self.retention = retention;
        self
    }

    pub fn with_public_url(mut self, public_url: String) -> Query {
        self.public_url = public_url;
        self
    }

    /// Scopes dashboards by the tag dimensions the writer was configured with.
    pub fn with_rollups(mut self, rollups: crate::rollup::RollupConfig) -> Query {
        self.rollups = rollups;
        self
    }
}

fn app_error(e: store::Error) -> AppError {
    match e {
        store::Error::NotFound(what) => AppError::NotFound(what),
        other => {
            tracing::error!(error = %other, "Page query failed.");
            AppError::Unavailable("storage unavailable; see the server log".into())
        }
    }
}

pub fn summary(r: TraceRecord) -> TraceSummary {
    TraceSummary {
        trace_id: hex::encode(r.trace_id),
        experiment_id: r.experiment_id.to_string(),
        duration_ms: r
            .duration_ns()
            .filter(|_| r.root_span_id.is_some() || r.info_finalized)
            .map(|d| d as f64 / 1e6),
        start_ms: if r.start_ns == i64::MAX {
            0
        } else {
            r.start_ns / 1_000_000
        },
        name: r.name,
        status: r.status,
        models: r.models,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        total_cost: r.cost,
        span_count: r.span_count,
        error_count: r.error_count,
        redactions: r.redactions,
        payload_dropped: r.payload_dropped,
        session_id: r.session_id,
        request_preview: r.request_preview,
    }
}

#[async_trait::async_trait]
impl Contract for Query {
    async fn search_traces(
        &self,
        query: TraceListQuery,
        filter: Option<Expr>,
    ) -> Result<TracePage, AppError> {
        search::search_traces(&self.backend, query, filter).await
    }

    async fn get_trace_tree(&self, trace_id: String) -> Result<app::types::TraceTree, AppError> {
        detail::trace_tree(&self.backend, trace_id).await
    }

    async fn get_span(
        &self,
        trace_id: String,
        span_id: String,
    ) -> Result<app::types::SpanDetail, AppError> {
        detail::span_detail(&self.backend, trace_id, span_id).await
    }

    async fn list_sessions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<app::types::SessionPage, AppError> {
        sessions::list_sessions(&self.backend, cursor, limit).await
    }

    async fn get_session(&self, session_id: String) -> Result<app::types::SessionDetail, AppError> {
        sessions::get_session(&self.backend, session_id).await
    }

    async fn overview(
        &self,
        query: app::types::OverviewQuery,
        scope: Option<Expr>,
    ) -> Result<app::types::Overview, AppError> {
        overview::overview(&self.backend, &self.rollups, query, scope).await
    }

    async fn list_prices(&self, model_filter: String) -> Result<app::types::PriceList, AppError> {
        prices::list_prices(&self.backend, model_filter).await
    }

    async fn save_price(&self, price: app::types::PriceRow) -> Result<(), AppError> {
        prices::save_price(&self.backend, &self.prices, price).await
    }

    async fn delete_price(&self, model: String, effective_from_ms: i64) -> Result<(), AppError> {
        prices::delete_price(&self.backend, &self.prices, model, effective_from_ms).await
    }

    async fn alerts_overview(&self) -> Result<app::types::AlertsOverview, AppError> {
        alerts::overview(self).await
    }

    async fn alert_rule(&self, id: i64) -> Result<app::types::AlertRuleDetail, AppError> {
        alerts::rule(self, id).await
    }

    async fn save_rule(
        &self,
        id: Option<i64>,
        form: app::types::RuleForm,
    ) -> Result<i64, AppError> {
        alerts::save_rule(self, id, form).await
    }

    async fn set_rule_enabled(&self, id: i64, enabled: bool) -> Result<(), AppError> {
        alerts::set_enabled(self, id, enabled).await
    }

    async fn delete_rule(&self, id: i64) -> Result<(), AppError> {
        alerts::delete_rule(self, id).await
    }

    async fn preview_rule(
        &self,
        form: app::types::RuleForm,
    ) -> Result<app::types::RulePreview, AppError> {
        alerts::preview(self, form).await
    }

    async fn alert_history(
        &self,
        rule_id: Option<i64>,
        before_id: Option<i64>,
    ) -> Result<app::types::AlertHistory, AppError> {
        alerts::history(self, rule_id, before_id).await
    }

    async fn save_channel(
        &self,
        id: Option<i64>,
        name: String,
        config: String,
    ) -> Result<i64, AppError> {
        alerts::save_channel(self, id, name, config).await
    }

    async fn delete_channel(&self, id: i64) -> Result<(), AppError> {
        alerts::delete_channel(self, id).await
    }

    async fn test_channel(&self, id: i64) -> Result<String, AppError> {
        alerts::test_channel(self, id).await
    }

    async fn create_silence(
        &self,
        matchers: Vec<app::types::SilenceMatcher>,
        starts_ms: i64,
        ends_ms: i64,
        comment: String,
    ) -> Result<i64, AppError> {
        alerts::create_silence(self, matchers, starts_ms, ends_ms, comment).await
    }

    async fn expire_silence(&self, id: i64) -> Result<(), AppError> {
        alerts::expire_silence(self, id).await
    }

    async fn retention_status(&self) -> Result<app::types::RetentionStatus, AppError> {
        retention_status(self).await
    }
}

async fn retention_status(q: &Query) -> Result<app::types::RetentionStatus, AppError> {
    let r = &q.retention;
    let now = store::now_ms();
    let sizes = r.sizes().await.map_err(app_error)?;
    let next = r.preview(now).await.map_err(app_error)?;
    let counts = |s: store::retention::Sweep| app::types::RetentionCounts {
        traces: s.traces,
        spans: s.spans,
        payload_traces: s.payload_traces,
        rollup_cells: s.rollup_cells,
    };
    let last = r.last();
    Ok(app::types::RetentionStatus {
        payloads: r.policy.payloads.map(|a| a.to_string()),
        spans: r.policy.spans.map(|a| a.to_string()),
        rollups: r.policy.rollups.map(|a| a.to_string()),
        database: q.backend.name().to_string(),
        bytes: sizes.bytes,
        traces: sizes.traces,
        spans_stored: sizes.spans,
        payload_traces: sizes.payload_traces,
        rollup_cells: sizes.rollup_cells,
        oldest_trace_ms: sizes.oldest_trace_ns.map(|ns| ns / 1_000_000),
        now_ms: now,
        next_run_ms: r.next_run_ms(now),
        next: counts(next),
        last_run_ms: last.map(|l| l.at_ms),
        last_took_ms: last.map(|l| l.took_ms),
        last: last.map(|l| counts(l.deleted)),
    })
}
