//! What retention reads and deletes (`crate::retention` decides when): the sizes the
//! settings page shows, a preview of what a run would delete, and the deletion itself, in
//! small transactions so ingest keeps its turn at the single writer. The SQL, the same for
//! both backends but for the database size, is in `retention_sql.rs`.

use super::Result;

/// Where each kind of data ends: everything older goes. `None` keeps it forever.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cutoffs {
    /// Traces starting before this (ns) lose their span payloads and previews.
    pub payload_ns: Option<i64>,
    /// Traces starting before this (ns) are deleted with their spans and tags.
    pub trace_ns: Option<i64>,
    /// Rollup cells of buckets before this (epoch seconds) are deleted.
    pub rollup_s: Option<i64>,
}

/// What a run deleted, or would delete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    pub traces: i64,
    pub spans: i64,
    /// Traces whose payloads are dropped (and that are not deleted outright).
    pub payload_traces: i64,
    pub rollup_cells: i64,
}

impl Sweep {
    pub fn add(&mut self, other: Sweep) {
        self.traces += other.traces;
        self.spans += other.spans;
        self.payload_traces += other.payload_traces;
        self.rollup_cells += other.rollup_cells;
    }
    pub fn is_empty(&self) -> bool {
        *self == Sweep::default()
    }
}

/// How much is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// The database on disk (SQLite: pages in use and free; PostgreSQL: `pg_database_size`).
    pub bytes: i64,
    pub traces: i64,
    pub spans: i64,
    pub payload_traces: i64,
    pub rollup_cells: i64,
    pub oldest_trace_ns: Option<i64>,
}

#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    async fn sizes(&self) -> Result<Sizes>;
    /// What [`RetentionStore::sweep`] would delete now, counted without deleting.
    async fn preview(&self, cutoffs: &Cutoffs) -> Result<Sweep>;
    /// Deletes past the cutoffs, `batch` traces (or rollup cells) per transaction, at most
    /// `max_batches` transactions of each kind; answers what went.
    async fn sweep(&self, cutoffs: &Cutoffs, batch: i64, max_batches: usize) -> Result<Sweep>;
}
