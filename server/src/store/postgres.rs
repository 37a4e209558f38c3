//! PostgreSQL backend: one pool; bulk writes are multi-row `INSERT … ON CONFLICT` (shared
//! with SQLite in `portable.rs`), which on this workload is within a few percent of `COPY`
//! because the writer already batches thousands of rows per statement group.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::model::{Experiment, ModelPrice};
use crate::store::{Backend, StoreStats, StoredTrace, TraceQuery};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

crate::store::portable::portable_sql!(Postgres);
crate::store::span_text::span_text_sql!(sqlx::Postgres);
crate::store::search_sql::search_sql!(sqlx::Postgres, crate::store::search_sql::Dialect::Postgres);
// Replicas sharing one database take turns merging rollup cells (read-merge-write of sketches).
crate::store::rollup_sql::rollup_sql!(
    sqlx::Postgres,
    Some("SELECT pg_advisory_xact_lock(7431)"),
    crate::store::rollup_sql::CellLookup::Lateral
);
crate::store::alert_sql::alert_sql!(sqlx::Postgres, Some("SELECT pg_advisory_xact_lock(7433)"));
crate::store::access_sql::access_sql!(sqlx::Postgres);
crate::store::retention_sql::retention_sql!(
    sqlx::Postgres,
    "SELECT pg_database_size(current_database())"
);

pub struct PgBackend {
    pool: PgPool,
    rollups: crate::rollup::RollupConfig,
    alerts: std::sync::Arc<alert_sql_impl::AlertTables>,
    access: std::sync::Arc<access_sql_impl::AccessTables>,
    retention: std::sync::Arc<retention_sql_impl::RetentionTables>,
}

impl PgBackend {
    pub async fn connect(url: &str) -> Result<PgBackend> {
        // No JIT: searches are short, but a walk's EXISTS makes the planner's cost estimate
        // huge, and compiling it took 50 ms of an 80 ms first page (30,000 traces).
        let options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let alerts = std::sync::Arc::new(alert_sql_impl::AlertTables {
            write: pool.clone(),
            read: pool.clone(),
            leader: crate::store::alert_sql::Leader::Postgres {
                url: url.to_string(),
                held: Default::default(),
            },
        });
        Ok(PgBackend {
            alerts,
            access: std::sync::Arc::new(access_sql_impl::AccessTables {
                write: pool.clone(),
                read: pool.clone(),
            }),
            retention: std::sync::Arc::new(retention_sql_impl::RetentionTables {
                write: pool.clone(),
                read: pool.clone(),
            }),
            pool,
            rollups: Default::default(),
        })
    }

    pub fn with_rollups(mut self, rollups: crate::rollup::RollupConfig) -> Self {
        self.rollups = rollups;
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Board reads use `rollups_by_series` (migration 0010) only when the planner has
    /// statistics on rollups. Without any it took a 57,000-cell range for 20 rows, read on
    /// the bucket key, and a 7-day board's cell read went from 22 to 50 ms (30k traces).
    /// Autovacuum keeps them fresh where it runs, but it can be turned off (it is on the
    /// benchmark machine's server), and then the table never gets any. So after each
    /// compaction that folded hours (about hourly) this applies autovacuum's default analyze
    /// threshold: ANALYZE once more than 50 rows plus a tenth of the table changed, or if it
    /// never ran (those counts reach the view up to seconds late). A failure only costs plan
    /// quality: logged, not returned.
    async fn refresh_rollup_statistics(&self) {
        if let Err(e) = self.analyze_rollups_if_stale().await {
            tracing::warn!(error = %e, "Could not refresh statistics on rollups.");
        }
    }

    async fn analyze_rollups_if_stale(&self) -> sqlx::Result<()> {
        let stale: Option<bool> = sqlx::query_scalar(
            "SELECT (last_analyze IS NULL AND last_autoanalyze IS NULL) \
             OR n_mod_since_analyze > 50 + n_live_tup / 10 \
             FROM pg_stat_user_tables WHERE relid = 'rollups'::regclass",
        )
        .fetch_optional(&self.pool)
        .await?;
        if stale == Some(true) {
            sqlx::query("ANALYZE rollups, rollup_series")
                .execute(&self.pool)
                .await?;
            tracing::debug!("Refreshed the planner's statistics on rollups.");
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Backend for PgBackend {
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
        "postgres"
    }

    async fn rollup_series(
        &self,
    ) -> Result<std::collections::HashMap<i64, crate::rollup::SeriesKey>> {
        rollup_sql_impl::all_series(&self.pool).await
    }

    async fn rollup_cells(
        &self,
        resolution: i64,
        from_s: i64,
        to_s: i64,
        series: Option<&[i64]>,
        part: crate::rollup::CellPart,
    ) -> Result<Vec<crate::rollup::StoredCell>> {
        rollup_sql_impl::cells(&self.pool, resolution, from_s, to_s, series, part).await
    }

    async fn rollup_compacted_until(&self, resolution: i64) -> Result<i64> {
        rollup_sql_impl::compacted_until(&self.pool, resolution).await
    }

    async fn compact_rollups(&self, until_s: i64, max_hours: i64) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let n = rollup_sql_impl::compact(&mut tx, until_s, max_hours).await?;
        tx.commit().await?;
        if n > 0 {
            self.refresh_rollup_statistics().await;
        }
        Ok(n)
    }

    async fn sweep_rollups(&self, older_than_ns: i64, limit: i64) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let n = rollup_sql_impl::sweep(&mut tx, older_than_ns, limit, &self.rollups).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn write_batch(&self, batch: &PreparedBatch) -> Result<WriteOutcome> {
        let mut tx = self.pool.begin().await?;
        let outcome = write_batch_in(&mut tx, batch, &self.rollups).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn list_traces(&self, query: &TraceQuery) -> Result<Vec<TraceRecord>> {
        list_traces_in(&self.pool, query).await
    }

    async fn search_traces(
        &self,
        plan: &crate::store::search::SearchPlan,
    ) -> Result<Vec<crate::store::search::FoundTrace>> {
        search_sql::search_traces_in(&self.pool, plan).await
    }

    async fn trace_tags(
        &self,
        row_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, std::collections::BTreeMap<String, String>>> {
        trace_tags_in(&self.pool, row_ids).await
    }

    async fn get_trace(&self, trace_id: &TraceId) -> Result<Option<StoredTrace>> {
        get_trace_in(&self.pool, trace_id).await
    }

    async fn trace_tree(&self, trace_id: &TraceId) -> Result<Option<StoredTrace>> {
        trace_tree_in(&self.pool, trace_id).await
    }

    async fn get_span(
        &self,
        trace_id: &TraceId,
        span_id: &SpanId,
    ) -> Result<Option<crate::store::SpanInTrace>> {
        get_span_in(&self.pool, trace_id, span_id).await
    }

    async fn list_sessions(
        &self,
        query: &crate::store::sessions::SessionQuery,
    ) -> Result<Vec<crate::store::sessions::SessionRecord>> {
        list_sessions_in(&self.pool, query).await
    }

    async fn session_traces(&self, session_id: &str) -> Result<Vec<TraceRecord>> {
        session_traces_in(&self.pool, session_id).await
    }

    async fn get_experiment(&self, id: i64) -> Result<Option<Experiment>> {
        get_experiment_in(&self.pool, Some(id), None).await
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        get_experiment_in(&self.pool, None, Some(name)).await
    }

    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Experiment> {
        create_experiment_in(
            &self.pool,
            name,
            artifact_location,
            tags,
            crate::store::now_ms(),
        )
        .await
    }

    async fn load_prices(&self) -> Result<Vec<ModelPrice>> {
        load_prices_in(&self.pool).await
    }

    async fn seed_prices(&self, prices: &[ModelPrice]) -> Result<usize> {
        seed_prices_in(&self.pool, prices).await
    }

    async fn upsert_price(&self, price: &ModelPrice) -> Result<()> {
        upsert_price_in(&self.pool, price).await
    }

    async fn delete_price(&self, model: &str, effective_from_ms: i64) -> Result<bool> {
        delete_price_in(&self.pool, model, effective_from_ms).await
    }

    async fn stats(&self) -> Result<StoreStats> {
        stats_in(&self.pool).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn set_trace_tag(&self, trace_id: &TraceId, key: &str, value: &str) -> Result<bool> {
        set_trace_tag_in(&self.pool, trace_id, key, value).await
    }

    async fn delete_trace_tag(&self, trace_id: &TraceId, key: &str) -> Result<bool> {
        delete_trace_tag_in(&self.pool, trace_id, key).await
    }

    async fn delete_traces(
        &self,
        experiment_id: i64,
        which: &crate::store::TraceDeletion,
    ) -> Result<usize> {
        delete_traces_in(&self.pool, experiment_id, which).await
    }
}
