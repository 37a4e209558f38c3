//! Storage: the [`Backend`] trait in domain language, its SQLite and PostgreSQL
//! implementations (the only places with SQL), the batching writer, and the shared rules that
//! sit above the dialects (row preparation, trace merge). Knows no HTTP.

pub mod access;
pub(crate) mod access_sql;
pub(crate) mod alert_sql;
pub mod alerts;
pub mod merge;
pub mod payload;
pub(crate) mod portable;
pub mod postgres;
pub mod retention;
pub(crate) mod retention_sql;
pub(crate) mod rollup_sql;
pub mod sampling;
pub mod search;
pub(crate) mod search_sql;
pub mod sessions;
pub mod span_text;
pub mod sqlite;
pub mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::{
    Experiment, ModelPrice, SpanId, SpanKind, StatusCode, TraceId, TraceInfo, TracePatch,
    TraceStatus,
};

pub use payload::{SpanPayload, SpanRow};

/// Storage errors. Callers never look at SQLSTATE or message text: each backend maps its own
/// constraint codes to `Conflict`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Work for one transaction: spans ready to insert and trace-level facts.
#[derive(Debug, Default, Clone)]
pub struct PreparedBatch {
    pub spans: Vec<SpanRow>,
    pub patches: Vec<TracePatch>,
    pub infos: Vec<TraceInfo>,
}

impl PreparedBatch {
    pub fn extend(&mut self, other: PreparedBatch) {
        self.spans.extend(other.spans);
        self.patches.extend(other.patches);
        self.infos.extend(other.infos);
    }
}

/// What a committed batch changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Spans newly stored (re-sent duplicates are not counted).
    pub inserted_spans: usize,
    pub traces_touched: usize,
}

/// A trace row: everything the list and the MLflow API show without reading spans.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRecord {
    pub trace_id: TraceId,
    pub experiment_id: i64,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: TraceStatus,
    pub root_span_id: Option<SpanId>,
    pub name: Option<String>,
    pub service_name: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub models: Vec<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost: Option<f64>,
    pub span_count: i64,
    pub error_count: i64,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    pub client_request_id: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// StartTraceV3 arrived: its trace-level fields win over ones derived from spans.
    pub info_finalized: bool,
    /// Guardrail spans, and the ones among them that blocked (rollups: block rate).
    pub guardrail_count: i64,
    pub blocked_count: i64,
    /// The dimensions the trace was rolled up under (JSON of `rollup::TraceDims`); `None`
    /// until its root span arrives (or the sweep gives up waiting for it).
    pub rollup_dims: Option<String>,
    /// Values replaced by PII redaction at ingest, over all of the trace's pieces.
    pub redactions: i64,
    /// Tail sampling did not keep the payloads of the trace's spans ([`sampling`]).
    pub payload_dropped: bool,
}

impl TraceRecord {
    pub fn new(trace_id: TraceId, experiment_id: i64) -> TraceRecord {
        TraceRecord {
            trace_id,
            experiment_id,
            start_ns: i64::MAX,
            end_ns: 0,
            status: TraceStatus::InProgress,
            root_span_id: None,
            name: None,
            service_name: None,
            session_id: None,
            user_id: None,
            models: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            cached_tokens: 0,
            cost: None,
            span_count: 0,
            error_count: 0,
            request_preview: None,
            response_preview: None,
            client_request_id: None,
            metadata: BTreeMap::new(),
            info_finalized: false,
            guardrail_count: 0,
            blocked_count: 0,
            rollup_dims: None,
            redactions: 0,
            payload_dropped: false,
        }
    }

    pub fn duration_ns(&self) -> Option<i64> {
        (self.end_ns >= self.start_ns && self.start_ns != i64::MAX)
            .then(|| self.end_ns - self.start_ns)
    }
}

/// A trace with its tags and spans, as read back.
#[derive(Debug, Clone)]
pub struct StoredTrace {
    pub record: TraceRecord,
    pub tags: BTreeMap<String, String>,
    pub spans: Vec<StoredSpan>,
}

/// A span as read back: indexed columns plus the decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: SpanKind,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: StatusCode,
    pub status_message: String,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub cost: Option<f64>,
    pub payload: SpanPayload,
}

/// A span read on its own: its offsets are measured from `trace_start_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanInTrace {
    pub span: StoredSpan,
    pub trace_start_ns: i64,
}

/// Which traces to list.
#[derive(Debug, Clone, Default)]
pub struct TraceQuery {
    pub experiment_id: Option<i64>,
    pub limit: u32,
}

/// Sizes for figures and the settings page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub traces: i64,
    pub spans: i64,
}

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn name(&self) -> &'static str;
    /// Alert rules, states, history, channels, silences and the outbox.
    fn alerts(&self) -> Arc<dyn alerts::AlertStore>;
    /// Users, sessions and API keys.
    fn access(&self) -> Arc<dyn access::AccessStore>;
    /// Sizes, and deleting what is past retention.
    fn retention(&self) -> Arc<dyn retention::RetentionStore>;

    /// Commits `batch` in one transaction: spans upserted (re-sent ones ignored), trace rows
    /// merged, tags upserted. All or nothing.
    async fn write_batch(&self, batch: &PreparedBatch) -> Result<WriteOutcome>;

    async fn list_traces(&self, query: &TraceQuery) -> Result<Vec<TraceRecord>>;
    /// The traces a [`search::SearchPlan`] selects, in its order, at most `plan.fetch`.
    async fn search_traces(&self, plan: &search::SearchPlan) -> Result<Vec<search::FoundTrace>>;
    /// The tags of many traces at once, by trace row id (`FoundTrace::row_id`): one query
    /// for a whole search page instead of one per trace.
    async fn trace_tags(&self, row_ids: &[i64]) -> Result<HashMap<i64, BTreeMap<String, String>>>;
    async fn get_trace(&self, trace_id: &TraceId) -> Result<Option<StoredTrace>>;
    /// The trace row, its tags and every span ordered by start, with **empty payloads**: the
    /// payload column is not read, so a 10,000-span trace costs no decompression.
    async fn trace_tree(&self, trace_id: &TraceId) -> Result<Option<StoredTrace>>;
    /// One span with its payload, and its trace's start.
    async fn get_span(&self, trace_id: &TraceId, span_id: &SpanId) -> Result<Option<SpanInTrace>>;
    /// Sessions by latest activity, newest first, after `query.after`, at most `query.limit`.
    async fn list_sessions(
        &self,
        query: &sessions::SessionQuery,
    ) -> Result<Vec<sessions::SessionRecord>>;
    /// The traces of one session in start order (empty when there is no such session).
    async fn session_traces(&self, session_id: &str) -> Result<Vec<TraceRecord>>;

    async fn get_experiment(&self, id: i64) -> Result<Option<Experiment>>;
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>>;
    /// `Conflict` when the name is taken.
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Experiment>;

    async fn load_prices(&self) -> Result<Vec<ModelPrice>>;
    /// Inserts the seed list when the price table is empty; returns how many were inserted.
    async fn seed_prices(&self, prices: &[ModelPrice]) -> Result<usize>;
    /// Stores one price row keyed by model and effective date: a row with the same key is
    /// updated in place (provider and rates), otherwise a new row is added.
    async fn upsert_price(&self, price: &ModelPrice) -> Result<()>;
    /// Deletes the price row of `model` effective from `effective_from_ms`; false when there
    /// is none.
    async fn delete_price(&self, model: &str, effective_from_ms: i64) -> Result<bool>;

    async fn stats(&self) -> Result<StoreStats>;
    /// Is the database reachable (for /readyz)?
    async fn ping(&self) -> Result<()>;

    /// Sets (or replaces) one trace tag; false when the trace does not exist.
    async fn set_trace_tag(&self, trace_id: &TraceId, key: &str, value: &str) -> Result<bool>;
    /// Deletes one trace tag; false when the trace or the tag does not exist.
    async fn delete_trace_tag(&self, trace_id: &TraceId, key: &str) -> Result<bool>;
    /// Every rollup series by id (one row per dimension combination: a small table).
    async fn rollup_series(&self) -> Result<HashMap<i64, crate::rollup::SeriesKey>>;
    /// Rollup cells at `resolution` seconds with `from_s <= bucket < to_s`, of `series`
    /// (every series when `None`), whole or summed per bucket (`CellPart`).
    async fn rollup_cells(
        &self,
        resolution: i64,
        from_s: i64,
        to_s: i64,
        series: Option<&[i64]>,
        part: crate::rollup::CellPart,
    ) -> Result<Vec<crate::rollup::StoredCell>>;
    /// Buckets before this (epoch seconds) have rows at `resolution` (`rollup::HOUR` or
    /// `rollup::QUARTER_DAY`).
    async fn rollup_compacted_until(&self, resolution: i64) -> Result<i64>;
    /// Folds complete hours before `until_s` (at most `max_hours`) into hour rows, and the
    /// complete quarter days before the hour watermark (at most `max_hours` of time) into
    /// quarter-day rows; returns the hours of time folded (0 when caught up).
    async fn compact_rollups(&self, until_s: i64, max_hours: i64) -> Result<i64>;
    /// Rolls up traces whose root never came and that started before `older_than_ns` (at
    /// most `limit`); returns how many.
    async fn sweep_rollups(&self, older_than_ns: i64, limit: i64) -> Result<usize>;

    /// Deletes traces of one experiment with their spans and tags, in one transaction;
    /// returns how many traces were deleted.
    async fn delete_traces(&self, experiment_id: i64, which: &TraceDeletion) -> Result<usize>;
}

/// Which traces of an experiment MLflow's DeleteTraces removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceDeletion {
    /// These traces (ids of other experiments are ignored).
    Ids(Vec<TraceId>),
    /// The oldest traces that started at or before `max_timestamp_ms`, at most `max_traces`.
    OlderThan {
        max_timestamp_ms: i64,
        max_traces: u32,
    },
}

/// Connects to `url`, applies migrations and seeds prices on an empty table.
pub async fn connect(url: &str) -> Result<Arc<dyn Backend>> {
    connect_with(url, crate::rollup::RollupConfig::default()).await
}

/// [`connect`] with the rollup dimensions to write.
pub async fn connect_with(
    url: &str,
    rollups: crate::rollup::RollupConfig,
) -> Result<Arc<dyn Backend>> {
    let backend: Arc<dyn Backend> = if url.starts_with("sqlite:") {
        Arc::new(
            sqlite::SqliteBackend::connect(url)
                .await?
                .with_rollups(rollups),
        )
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Arc::new(
            postgres::PgBackend::connect(url)
                .await?
                .with_rollups(rollups),
        )
    } else {
        return Err(Error::UnsupportedUrl(url.to_string()));
    };
    backend
        .seed_prices(&crate::normalize::pricing::seed_prices())
        .await?;
    Ok(backend)
}

/// Distinct trace ids touched by a batch, in first-seen order.
pub(crate) fn touched_traces(batch: &PreparedBatch) -> Vec<TraceId> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let ids = batch
        .spans
        .iter()
        .map(|s| s.trace_id)
        .chain(batch.patches.iter().map(|p| p.trace_id))
        .chain(batch.infos.iter().map(|i| i.trace_id));
    for id in ids {
        if seen.insert(id) {
            out.push(id);
        }
    }
    out
}

pub(crate) fn span_id_from(bytes: &[u8], what: &str) -> Result<SpanId> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("{what} has {} bytes, expected 8", bytes.len())))
}

pub(crate) fn trace_id_from(bytes: &[u8]) -> Result<TraceId> {
    bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("trace id has {} bytes, expected 16", bytes.len())))
}

pub(crate) fn status_to_str(s: TraceStatus) -> &'static str {
    s.as_str()
}

pub(crate) fn status_from_str(s: &str) -> TraceStatus {
    TraceStatus::parse(s).unwrap_or(TraceStatus::Unspecified)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
