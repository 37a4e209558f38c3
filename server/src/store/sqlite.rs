//! SQLite backend: one writer connection (SQLite allows one writer at a time anyway) and a
//! pool of readers, WAL journal. `synchronous=NORMAL`: in WAL mode a commit survives a process
//! crash (`kill -9`); only an OS crash or power loss can roll back the last transactions,
//! which is the usual trade for a 10x faster commit.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use crate::model::{Experiment, ModelPrice};
use crate::store::{Backend, StoreStats, StoredTrace, TraceQuery};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

crate::store::portable::portable_sql!(Sqlite);
crate::store::span_text::span_text_sql!(sqlx::Sqlite);
crate::store::search_sql::search_sql!(sqlx::Sqlite, crate::store::search_sql::Dialect::Sqlite);
// The single writer connection already serialises rollup merges.
crate::store::rollup_sql::rollup_sql!(
    sqlx::Sqlite,
    None,
    crate::store::rollup_sql::CellLookup::Join
);
crate::store::alert_sql::alert_sql!(sqlx::Sqlite, None);
crate::store::access_sql::access_sql!(sqlx::Sqlite);
crate::store::retention_sql::retention_sql!(
    sqlx::Sqlite,
    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
);

pub struct SqliteBackend {
    writer: SqlitePool,
    readers: SqlitePool,
    /// Dropped with the backend, which stops the checkpoint task.
    _alive: std::sync::Arc<()>,
    rollups: crate::rollup::RollupConfig,
    alerts: std::sync::Arc<alert_sql_impl::AlertTables>,
    access: std::sync::Arc<access_sql_impl::AccessTables>,
    retention: std::sync::Arc<retention_sql_impl::RetentionTables>,
}

/// How often the WAL is folded back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// WAL size (4 KiB pages: 256 MiB) past which the checkpointer makes the writer wait.
const WAL_RESTART_FRAMES: i64 = 65_536;

impl SqliteBackend {
    pub async fn connect(url: &str) -> Result<SqliteBackend> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // Big batches: keep their pages in memory (64 MiB per connection, negative = KiB).
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            // LIKE is case-sensitive in PostgreSQL and in the filter grammar; SQLite's is not
            // unless told. No index or constraint in our schema uses LIKE, which is what makes
            // changing its meaning safe (SQLite's PRAGMA docs).
            .pragma("case_sensitive_like", "ON")
            // `REGEXP` for the filter's RLIKE, backed by the `regex` crate (linear time).
            .with_regexp()
            // Automatic checkpoints ran inside nearly every commit of the single writer
            // (~1,000-page threshold); a separate connection checkpoints on a timer instead,
            // so the writer only appends to the WAL. Hot pages are then copied once per
            // checkpoint rather than once per commit.
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", "67108864");
        if let Some(dir) = opts.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| crate::store::Error::Database(sqlx::Error::Io(e)))?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(opts.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.read_only(true))
            .await?;
        let alive = std::sync::Arc::new(());
        tokio::spawn(checkpoint_loop(
            checkpointer,
            std::sync::Arc::downgrade(&alive),
        ));
        let alerts = std::sync::Arc::new(alert_sql_impl::AlertTables {
            write: writer.clone(),
            read: readers.clone(),
            leader: crate::store::alert_sql::Leader::Always,
        });
        Ok(SqliteBackend {
            alerts,
            access: std::sync::Arc::new(access_sql_impl::AccessTables {
                write: writer.clone(),
                read: readers.clone(),
            }),
            retention: std::sync::Arc::new(retention_sql_impl::RetentionTables {
                write: writer.clone(),
                read: readers.clone(),
            }),
            writer,
            readers,
            _alive: alive,
            rollups: Default::default(),
        })
    }

    pub fn with_rollups(mut self, rollups: crate::rollup::RollupConfig) -> Self {
        self.rollups = rollups;
        self
    }
}

/// PASSIVE checkpoints never block the writer or readers; the last one at shutdown folds
/// the whole WAL in (TRUNCATE) so the database is one file again.
async fn checkpoint_loop(pool: SqlitePool, alive: std::sync::Weak<()>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.upgrade().is_none() {
            break;
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        {
            // (busy, frames in the WAL, frames checkpointed)
            Ok(row) => {
                let log: i64 = sqlx::Row::try_get(&row, 1).unwrap_or(0);
                let done: i64 = sqlx::Row::try_get(&row, 2).unwrap_or(0);
                // Under sustained ingest the writer never pauses, a passive checkpoint never
                // catches up and the WAL grows without bound (25 GB seen at 540k traces in
                // the load benchmark). Past a limit, RESTART makes the writer wait until the
                // WAL is folded in and can start over: a pause instead of a full disk.
                if log > WAL_RESTART_FRAMES && done < log {
                    tracing::info!(frames = log, "WAL large; checkpointing with RESTART.");
                    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                        .execute(&pool)
                        .await
                    {
                        tracing::warn!(error = %e, "WAL RESTART checkpoint failed.");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed."),
        }
    }
    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await;
    pool.close().await;
}

#[async_trait::async_trait]
impl Backend for SqliteBackend {
    fn alerts(&self) -> std::sync::Arc<dyn crate::store::alerts::AlertStore> {
        self.alerts.clone()
    }

    fn access(&self) -> std::sync::Arc<dyn crate::store::access::AccessStore> {
        self.access.clone()
    }

    fn retention(&self) -> std::sync::Arc<dyn crate::store::retention::RetentionStore> {
        self.retention.clone()
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn rollup_series(
        &self,
    ) -> Result<std::collections::HashMap<i64, crate::rollup::SeriesKey>> {
        rollup_sql_impl::all_series(&self.readers).await
    }

    async fn rollup_cells(
        &self,
        resolution: i64,
        from_s: i64,
        to_s: i64,
        series: Option<&[i64]>,
        part: crate::rollup::CellPart,
    ) -> Result<Vec<crate::rollup::StoredCell>> {
        rollup_sql_impl::cells(&self.readers, resolution, from_s, to_s, series, part).await
    }

    async fn rollup_compacted_until(&self, resolution: i64) -> Result<i64> {
        rollup_sql_impl::compacted_until(&self.readers, resolution).await
    }

    async fn compact_rollups(&self, until_s: i64, max_hours: i64) -> Result<i64> {
        let mut tx = self.writer.begin().await?;
        let n = rollup_sql_impl::compact(&mut tx, until_s, max_hours).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn sweep_rollups(&self, older_than_ns: i64, limit: i64) -> Result<usize> {
        let mut tx = self.writer.begin().await?;
        let n = rollup_sql_impl::sweep(&mut tx, older_than_ns, limit, &self.rollups).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn write_batch(&self, batch: &PreparedBatch) -> Result<WriteOutcome> {
        let mut tx = self.writer.begin().await?;
        let outcome = write_batch_in(&mut tx, batch, &self.rollups).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn list_traces(&self, query: &TraceQuery) -> Result<Vec<TraceRecord>> {
        list_traces_in(&self.readers, query).await
    }

    async fn search_traces(
        &self,
        plan: &crate::store::search::SearchPlan,
    ) -> Result<Vec<crate::store::search::FoundTrace>> {
        search_sql::search_traces_in(&self.readers, plan).await
    }

    async fn trace_tags(
        &self,
        row_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, std::collections::BTreeMap<String, String>>> {
        trace_tags_in(&self.readers, row_ids).await
    }

    async fn get_trace(&self, trace_id: &TraceId) -> Result<Option<StoredTrace>> {
        get_trace_in(&self.readers, trace_id).await
    }

    async fn trace_tree(&self, trace_id: &TraceId) -> Result<Option<StoredTrace>> {
        trace_tree_in(&self.readers, trace_id).await
    }

    async fn get_span(
        &self,
        trace_id: &TraceId,
        span_id: &SpanId,
    ) -> Result<Option<crate::store::SpanInTrace>> {
        get_span_in(&self.readers, trace_id, span_id).await
    }

    async fn list_sessions(
        &self,
        query: &crate::store::sessions::SessionQuery,
    ) -> Result<Vec<crate::store::sessions::SessionRecord>> {
        list_sessions_in(&self.readers, query).await
    }

    async fn session_traces(&self, session_id: &str) -> Result<Vec<TraceRecord>> {
        session_traces_in(&self.readers, session_id).await
    }

    async fn get_experiment(&self, id: i64) -> Result<Option<Experiment>> {
        get_experiment_in(&self.readers, Some(id), None).await
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        get_experiment_in(&self.readers, None, Some(name)).await
    }

    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Experiment> {
        create_experiment_in(
            &self.writer,
            name,
            artifact_location,
            tags,
            crate::store::now_ms(),
        )
        .await
    }

    async fn load_prices(&self) -> Result<Vec<ModelPrice>> {
        load_prices_in(&self.readers).await
    }

    async fn seed_prices(&self, prices: &[ModelPrice]) -> Result<usize> {
        seed_prices_in(&self.writer, prices).await
    }

    async fn upsert_price(&self, price: &ModelPrice) -> Result<()> {
        upsert_price_in(&self.writer, price).await
    }

    async fn delete_price(&self, model: &str, effective_from_ms: i64) -> Result<bool> {
        delete_price_in(&self.writer, model, effective_from_ms).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        stats_in(&self.readers).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    async fn set_trace_tag(&self, trace_id: &TraceId, key: &str, value: &str) -> Result<bool> {
        set_trace_tag_in(&self.writer, trace_id, key, value).await
    }

    async fn delete_trace_tag(&self, trace_id: &TraceId, key: &str) -> Result<bool> {
        delete_trace_tag_in(&self.writer, trace_id, key).await
    }

    async fn delete_traces(
        &self,
        experiment_id: i64,
        which: &crate::store::TraceDeletion,
    ) -> Result<usize> {
        delete_traces_in(&self.writer, experiment_id, which).await
    }
}
