//! Rollup SQL, the same text for SQLite and PostgreSQL, expanded per backend by
//! [`rollup_sql!`] (as `portable_sql!` does for the trace tables). The dialect differences
//! are its two parameters: `$lock`, a statement that serialises rollup merges between
//! processes sharing one PostgreSQL (a transaction-scoped advisory lock), or nothing on
//! SQLite, where the single writer connection already serialises them; and `$lookup`, how
//! the writer finds the cells already stored ([`CellLookup`]).

/// Rollup cells per multi-row statement (15 columns each).
pub const CELLS_PER_STATEMENT: usize = 400;

pub const ROLLUP_VALUE_COLUMNS: &str = "count, error_count, blocked_count, guarded_count, \
     input_tokens, output_tokens, cached_tokens, cost_input, cost_output, latency, histogram, \
     exemplars";
/// The leading columns of [`ROLLUP_VALUE_COLUMNS`] (counts and sums, no blobs), added up
/// over a group. The casts keep the types both backends decode as i64 / f64 (PostgreSQL's
/// SUM of a BIGINT is a NUMERIC).
pub const ROLLUP_SUMMED_COLUMNS: &str = "CAST(SUM(count) AS BIGINT), \
     CAST(SUM(error_count) AS BIGINT), CAST(SUM(blocked_count) AS BIGINT), \
     CAST(SUM(guarded_count) AS BIGINT), CAST(SUM(input_tokens) AS BIGINT), \
     CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(cached_tokens) AS BIGINT), \
     CAST(SUM(cost_input) AS DOUBLE PRECISION), CAST(SUM(cost_output) AS DOUBLE PRECISION)";

/// How the writer reads the cells already stored for a batch: one primary-key lookup per
/// cell of a VALUES list `k (bucket, series)`, whatever the planner's estimates.
/// - SQLite plans `(bucket, series) IN (VALUES …)` as a scan of every cell of the resolution
///   (1.2 s per batch at 1M traces), but a join on the VALUES list as lookups ([`Join`]).
/// - PostgreSQL plans both forms from its estimate of the resolution's cells. With statistics
///   older than that resolution's first cells (say, taken before the first compaction into
///   quarter days) it estimated one and joined every stored cell of the resolution against
///   the list: 2.2 s per statement while compacting 30k traces. A LATERAL lookup with
///   LIMIT 1 cannot be flattened into a join, so it stays a lookup per cell ([`Lateral`]).
///
/// [`Join`]: CellLookup::Join
/// [`Lateral`]: CellLookup::Lateral
pub enum CellLookup {
    Join,
    Lateral,
}

impl CellLookup {
    /// The statement's tail after the VALUES list `k`.
    pub fn select(&self, resolution: i64) -> String {
        match self {
            CellLookup::Join => format!(
                "SELECT r.bucket, r.series, {ROLLUP_VALUE_COLUMNS} FROM k \
                 JOIN rollups r ON r.resolution = {resolution} \
                 AND r.series = k.series AND r.bucket = k.bucket"
            ),
            CellLookup::Lateral => format!(
                "SELECT r.* FROM k CROSS JOIN LATERAL (\
                 SELECT bucket, series, {ROLLUP_VALUE_COLUMNS} FROM rollups \
                 WHERE resolution = {resolution} AND bucket = k.bucket \
                 AND series = k.series LIMIT 1) r"
            ),
        }
    }
}

macro_rules! rollup_sql {
    ($db:ty, $lock:expr, $lookup:expr) => {
        pub(crate) mod rollup_sql_impl {
            use std::collections::{BTreeMap, HashMap, HashSet};

            use sqlx::{QueryBuilder, Row};

            use crate::model::{SpanKind, StatusCode, TraceId};
            use crate::rollup::{self, Cell, Latency, Level, Rollup, RollupConfig, SeriesKey, SpanFacts};
            use crate::store::rollup_sql::{CELLS_PER_STATEMENT, ROLLUP_SUMMED_COLUMNS, ROLLUP_VALUE_COLUMNS};
            use crate::store::{span_id_from, trace_id_from, Error, Result};

            type Tx<'c> = sqlx::Transaction<'c, $db>;
            type Row_ = <$db as sqlx::Database>::Row;

            const LOCK: Option<&str> = $lock;
            const LOOKUP: crate::store::rollup_sql::CellLookup = $lookup;
            const ROWS: usize = crate::store::portable::ROWS_PER_STATEMENT;

            /// Every span of these traces, as the rollup needs them.
            pub(crate) async fn load_span_facts(
                tx: &mut Tx<'_>,
                ids: &[TraceId],
            ) -> Result<HashMap<TraceId, Vec<SpanFacts>>> {
                let mut out: HashMap<TraceId, Vec<SpanFacts>> = HashMap::new();
                for chunk in ids.chunks(ROWS) {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT trace_id, span_id, name, kind, model, start_ns, end_ns, status, flags, \
                         input_tokens, output_tokens, cached_tokens, cost_input, cost_output \
                         FROM spans WHERE trace_id IN (",
                    );
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(&id[..]);
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&mut **tx).await? {
                        let t: Vec<u8> = row.try_get(0)?;
                        let s: Vec<u8> = row.try_get(1)?;
                        let kind: String = row.try_get(3)?;
                        let (start, end): (i64, i64) = (row.try_get(5)?, row.try_get(6)?);
                        let status: i16 = row.try_get(7)?;
                        out.entry(trace_id_from(&t)?).or_default().push(SpanFacts {
                            span_id: span_id_from(&s, "span id")?,
                            name: row.try_get(2)?,
                            kind: SpanKind::parse(&kind).unwrap_or(SpanKind::Unknown),
                            model: row.try_get(4)?,
                            duration_ms: (end - start).max(0) as f64 / 1e6,
                            error: status == StatusCode::Error as i16,
                            flags: row.try_get(8)?,
                            input_tokens: row.try_get::<Option<i64>, _>(9)?.unwrap_or(0),
                            output_tokens: row.try_get::<Option<i64>, _>(10)?.unwrap_or(0),
                            cached_tokens: row.try_get::<Option<i64>, _>(11)?.unwrap_or(0),
                            cost_input: row.try_get::<Option<f64>, _>(12)?.unwrap_or(0.0),
                            cost_output: row.try_get::<Option<f64>, _>(13)?.unwrap_or(0.0),
                        });
                    }
                }
                Ok(out)
            }

            /// The stored tags of these traces, by trace id.
            pub(crate) async fn load_tags(
                tx: &mut Tx<'_>,
                ids: &[TraceId],
            ) -> Result<HashMap<TraceId, BTreeMap<String, String>>> {
                let mut out: HashMap<TraceId, BTreeMap<String, String>> = HashMap::new();
                for chunk in ids.chunks(ROWS) {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT t.trace_id, g.key, g.value FROM trace_tags g \
                         JOIN traces t ON t.id = g.trace_row WHERE t.trace_id IN (",
                    );
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(&id[..]);
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&mut **tx).await? {
                        let t: Vec<u8> = row.try_get(0)?;
                        out.entry(trace_id_from(&t)?)
                            .or_default()
                            .insert(row.try_get(1)?, row.try_get(2)?);
                    }
                }
                Ok(out)
            }

            async fn lock(tx: &mut Tx<'_>) -> Result<()> {
                if let Some(sql) = LOCK {
                    sqlx::query(sql).execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Buckets before this have cells at `resolution` (0: nothing compacted yet).
            async fn watermark(tx: &mut Tx<'_>, resolution: i64) -> Result<i64> {
                let row = sqlx::query("SELECT value FROM rollup_state WHERE key = $1")
                    .bind(rollup::watermark_key(resolution))
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(match row {
                    Some(r) => r.try_get(0)?,
                    None => 0,
                })
            }

            async fn set_watermark(tx: &mut Tx<'_>, resolution: i64, value: i64) -> Result<()> {
                sqlx::query(
                    "INSERT INTO rollup_state (key, value) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(rollup::watermark_key(resolution))
                .bind(value)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Adds a batch's cells to the stored ones. Cells of periods already compacted
            /// also go to the coarser rows (minutes to hours, hours to quarter days), so long
            /// windows miss no late data.
            pub(crate) async fn apply(tx: &mut Tx<'_>, rollup: Rollup) -> Result<()> {
                if rollup.is_empty() {
                    return Ok(());
                }
                lock(tx).await?;
                let hours_until = watermark(tx, rollup::HOUR).await?;
                let quarters_until = watermark(tx, rollup::QUARTER_DAY).await?;
                let mut minutes = HashMap::new();
                let mut hours = HashMap::new();
                let mut late = Vec::new();
                for ((res, bucket, key), cell) in rollup.cells {
                    if res == rollup::HOUR {
                        hours.insert((bucket, key), cell);
                        continue;
                    }
                    if bucket < hours_until {
                        late.push(((bucket, key.clone()), cell.clone()));
                    }
                    minutes.insert((bucket, key), cell);
                }
                for (k, c) in rollup::coarsen(late, rollup::HOUR) {
                    hours.entry(k).or_insert_with(Cell::default).merge(&c);
                }
                let late: Vec<_> = hours
                    .iter()
                    .filter(|((bucket, _), _)| *bucket < quarters_until)
                    .map(|(k, c)| (k.clone(), c.clone()))
                    .collect();
                let quarters = rollup::coarsen(late, rollup::QUARTER_DAY);
                merge_cells(tx, rollup::MINUTE, minutes).await?;
                if !hours.is_empty() {
                    merge_cells(tx, rollup::HOUR, hours).await?;
                }
                if !quarters.is_empty() {
                    merge_cells(tx, rollup::QUARTER_DAY, quarters).await?;
                }
                Ok(())
            }

            /// Series ids for these keys, creating the missing series.
            async fn series_ids(
                tx: &mut Tx<'_>,
                keys: &[&SeriesKey],
            ) -> Result<HashMap<SeriesKey, i64>> {
                let mut out = HashMap::with_capacity(keys.len());
                for chunk in keys.chunks(ROWS) {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO rollup_series (level, service, trace_name, span_name, kind, model, tags) ",
                    );
                    qb.push_values(chunk, |mut b, k| {
                        b.push_bind(k.level.as_str())
                            .push_bind(&k.service)
                            .push_bind(&k.trace_name)
                            .push_bind(&k.span_name)
                            .push_bind(&k.kind)
                            .push_bind(&k.model)
                            .push_bind(&k.tags);
                    });
                    qb.push(" ON CONFLICT DO NOTHING");
                    qb.build().execute(&mut **tx).await?;

                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT id, level, service, trace_name, span_name, kind, model, tags \
                         FROM rollup_series WHERE (level, service, trace_name, span_name, kind, model, tags) IN (VALUES ",
                    );
                    let mut first = true;
                    for k in chunk {
                        qb.push(if first { "(" } else { ", (" });
                        first = false;
                        let mut sep = qb.separated(", ");
                        sep.push_bind(k.level.as_str())
                            .push_bind(&k.service)
                            .push_bind(&k.trace_name)
                            .push_bind(&k.span_name)
                            .push_bind(&k.kind)
                            .push_bind(&k.model)
                            .push_bind(&k.tags);
                        qb.push(")");
                    }
                    qb.push(")");
                    for row in qb.build().fetch_all(&mut **tx).await? {
                        let (id, key) = series_from_row(&row)?;
                        out.insert(key, id);
                    }
                }
                Ok(out)
            }

            fn series_from_row(row: &Row_) -> Result<(i64, SeriesKey)> {
                let level: String = row.try_get(1)?;
                Ok((
                    row.try_get(0)?,
                    SeriesKey {
                        level: Level::parse(&level)
                            .ok_or_else(|| Error::Corrupt(format!("rollup_series.level {level:?}")))?,
                        service: row.try_get(2)?,
                        trace_name: row.try_get(3)?,
                        span_name: row.try_get(4)?,
                        kind: row.try_get(5)?,
                        model: row.try_get(6)?,
                        tags: row.try_get(7)?,
                    },
                ))
            }

            /// A stored cell's values (columns in [`ROLLUP_VALUE_COLUMNS`] order from `at`).
            fn cell_from_row(row: &Row_, at: usize) -> Result<Cell> {
                let sketch: &[u8] = row.try_get(at + 9)?;
                let histogram: &[u8] = row.try_get(at + 10)?;
                let exemplars: &[u8] = row.try_get(at + 11)?;
                Ok(Cell {
                    latency: Latency::decode(sketch, histogram)
                        .map_err(|e| Error::Corrupt(format!("rollups.latency: {e}")))?,
                    exemplars: crate::rollup::Exemplars::decode(exemplars)
                        .map_err(|e| Error::Corrupt(format!("rollups.exemplars: {e}")))?,
                    ..sums_from_row(row, at)?
                })
            }

            /// A cell's counts and sums: the first nine columns of [`ROLLUP_VALUE_COLUMNS`] (or
            /// of [`ROLLUP_SUMMED_COLUMNS`]) starting at column `at`.
            fn sums_from_row(row: &Row_, at: usize) -> Result<Cell> {
                Ok(Cell {
                    count: row.try_get(at)?,
                    error_count: row.try_get(at + 1)?,
                    blocked_count: row.try_get(at + 2)?,
                    guarded_count: row.try_get(at + 3)?,
                    input_tokens: row.try_get(at + 4)?,
                    output_tokens: row.try_get(at + 5)?,
                    cached_tokens: row.try_get(at + 6)?,
                    cost_input: row.try_get(at + 7)?,
                    cost_output: row.try_get(at + 8)?,
                    ..Cell::default()
                })
            }

            /// Read-merge-write of cells at one resolution (the caller holds the lock).
            async fn merge_cells(
                tx: &mut Tx<'_>,
                resolution: i64,
                cells: HashMap<(i64, SeriesKey), Cell>,
            ) -> Result<()> {
                let keys: Vec<&SeriesKey> = {
                    let set: HashSet<&SeriesKey> = cells.keys().map(|(_, k)| k).collect();
                    set.into_iter().collect()
                };
                let ids = series_ids(tx, &keys).await?;
                let mut rows: Vec<(i64, i64, Cell)> = Vec::with_capacity(cells.len());
                for ((bucket, key), cell) in cells {
                    let id = *ids.get(&key).ok_or_else(|| {
                        Error::Corrupt(format!("rollup series {key:?} has no id after insert"))
                    })?;
                    rows.push((bucket, id, cell));
                }
                for chunk in rows.chunks_mut(CELLS_PER_STATEMENT) {
                    // What is stored already for these cells (`CellLookup`).
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("WITH k (bucket, series) AS (VALUES ");
                    let mut first = true;
                    for (bucket, id, _) in chunk.iter() {
                        qb.push(if first { "(" } else { ", (" });
                        first = false;
                        qb.push_bind(*bucket);
                        qb.push(", ");
                        qb.push_bind(*id);
                        qb.push(")");
                    }
                    qb.push(") ").push(LOOKUP.select(resolution));
                    let mut stored: HashMap<(i64, i64), Cell> = HashMap::new();
                    for row in qb.build().fetch_all(&mut **tx).await? {
                        stored.insert((row.try_get(0)?, row.try_get(1)?), cell_from_row(&row, 2)?);
                    }
                    for (bucket, id, cell) in chunk.iter_mut() {
                        if let Some(old) = stored.get(&(*bucket, *id)) {
                            cell.merge(old);
                        }
                    }
                    upsert_cells(tx, resolution, chunk).await?;
                }
                Ok(())
            }

            /// Writes whole cells (already merged with what was stored).
            async fn upsert_cells(
                tx: &mut Tx<'_>,
                resolution: i64,
                cells: &[(i64, i64, Cell)],
            ) -> Result<()> {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "INSERT INTO rollups (resolution, bucket, series, {ROLLUP_VALUE_COLUMNS}) "
                ));
                qb.push_values(cells, |mut b, (bucket, id, c)| {
                    b.push_bind(resolution)
                        .push_bind(*bucket)
                        .push_bind(*id)
                        .push_bind(c.count)
                        .push_bind(c.error_count)
                        .push_bind(c.blocked_count)
                        .push_bind(c.guarded_count)
                        .push_bind(c.input_tokens)
                        .push_bind(c.output_tokens)
                        .push_bind(c.cached_tokens)
                        .push_bind(c.cost_input)
                        .push_bind(c.cost_output)
                        .push_bind(c.latency.sketch_bytes())
                        .push_bind(c.latency.histogram_bytes())
                        .push_bind(c.exemplars.encode());
                });
                // The primary key's column order differs per backend (series first on
                // SQLite, migrations/sqlite/0010); a conflict target may name them in any order.
                qb.push(
                    " ON CONFLICT (resolution, series, bucket) DO UPDATE SET count = excluded.count, \
                     error_count = excluded.error_count, blocked_count = excluded.blocked_count, \
                     guarded_count = excluded.guarded_count, input_tokens = excluded.input_tokens, \
                     output_tokens = excluded.output_tokens, cached_tokens = excluded.cached_tokens, \
                     cost_input = excluded.cost_input, cost_output = excluded.cost_output, \
                     latency = excluded.latency, histogram = excluded.histogram, \
                     exemplars = excluded.exemplars",
                );
                qb.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// Folds the minute rows of complete hours (ending at or before `until`, at most
            /// `max_hours` of them) into hour rows, then the hour rows of complete quarter
            /// days (up to the hour watermark, at most `max_hours` of time) into quarter-day
            /// rows, and moves the watermarks. Returns the hours of time folded at either
            /// resolution (0 when both are caught up). Finer rows stay (retention removes
            /// them); queries use coarse rows only below their watermark.
            pub(crate) async fn compact(tx: &mut Tx<'_>, until: i64, max_hours: i64) -> Result<i64> {
                lock(tx).await?;
                let series = all_series_in(&mut **tx).await?;
                let until = until.div_euclid(rollup::HOUR) * rollup::HOUR;
                let hours = compact_one(tx, &series, rollup::MINUTE, rollup::HOUR, until, max_hours).await?;
                let hours_until = watermark(tx, rollup::HOUR).await?;
                let quarters = compact_one(
                    tx,
                    &series,
                    rollup::HOUR,
                    rollup::QUARTER_DAY,
                    hours_until,
                    max_hours,
                )
                .await?;
                Ok((hours + quarters) / rollup::HOUR)
            }

            /// Folds `fine` rows into `coarse` rows for complete periods from the coarse
            /// watermark up to `until` (at most `max_hours` of time); returns the seconds
            /// folded. The first run starts at the oldest fine row.
            async fn compact_one(
                tx: &mut Tx<'_>,
                series: &HashMap<i64, SeriesKey>,
                fine: i64,
                coarse: i64,
                until: i64,
                max_hours: i64,
            ) -> Result<i64> {
                let until = until.div_euclid(coarse) * coarse;
                let mut from = watermark(tx, coarse).await?;
                if from == 0 {
                    let row = sqlx::query("SELECT MIN(bucket) FROM rollups WHERE resolution = $1")
                        .bind(fine)
                        .fetch_one(&mut **tx)
                        .await?;
                    let oldest: Option<i64> = row.try_get(0)?;
                    from = oldest.map_or(until, |b| b.div_euclid(coarse) * coarse);
                }
                let budget = (max_hours * rollup::HOUR).div_euclid(coarse).max(1) * coarse;
                let to = until.min(from + budget);
                if to <= from {
                    return Ok(0);
                }
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT bucket, series, {ROLLUP_VALUE_COLUMNS} FROM rollups WHERE resolution = "
                ));
                qb.push_bind(fine)
                    .push(" AND bucket >= ")
                    .push_bind(from)
                    .push(" AND bucket < ")
                    .push_bind(to);
                let mut rows = Vec::new();
                for row in qb.build().fetch_all(&mut **tx).await? {
                    let id: i64 = row.try_get(1)?;
                    let key = series
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| Error::Corrupt(format!("rollups.series {id} has no series row")))?;
                    rows.push(((row.try_get::<i64, _>(0)?, key), cell_from_row(&row, 2)?));
                }
                let cells = rollup::coarsen(rows, coarse);
                if !cells.is_empty() {
                    merge_cells(tx, coarse, cells).await?;
                }
                set_watermark(tx, coarse, to).await?;
                Ok(to - from)
            }

            async fn all_series_in<'e, E>(ex: E) -> Result<HashMap<i64, SeriesKey>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let rows = sqlx::query(
                    "SELECT id, level, service, trace_name, span_name, kind, model, tags FROM rollup_series",
                )
                .fetch_all(ex)
                .await?;
                rows.iter().map(series_from_row).collect()
            }

            /// Every series (a small table: one row per dimension combination).
            pub(crate) async fn all_series(pool: &sqlx::Pool<$db>) -> Result<HashMap<i64, SeriesKey>> {
                all_series_in(pool).await
            }

            /// The compaction watermark of `resolution`, read outside a transaction.
            pub(crate) async fn compacted_until(pool: &sqlx::Pool<$db>, resolution: i64) -> Result<i64> {
                let row = sqlx::query("SELECT value FROM rollup_state WHERE key = $1")
                    .bind(rollup::watermark_key(resolution))
                    .fetch_optional(pool)
                    .await?;
                Ok(match row {
                    Some(r) => r.try_get(0)?,
                    None => 0,
                })
            }

            /// Cells at `resolution` with `from <= bucket < to`, for `series` (all when None):
            /// whole, or summed per bucket.
            pub(crate) async fn cells(
                pool: &sqlx::Pool<$db>,
                resolution: i64,
                from: i64,
                to: i64,
                series: Option<&[i64]>,
                part: crate::rollup::CellPart,
            ) -> Result<Vec<crate::rollup::StoredCell>> {
                use crate::rollup::CellPart;
                let mut out = Vec::new();
                let chunks: Vec<Option<&[i64]>> = match series {
                    None => vec![None],
                    Some([]) => vec![],
                    Some(ids) => ids.chunks(ROWS).map(Some).collect(),
                };
                let (select, group) = match part {
                    CellPart::Whole => (format!("bucket, series, {ROLLUP_VALUE_COLUMNS}"), ""),
                    // `+bucket`: grouped by a plain `bucket`, SQLite walks the bucket index
                    // for its order and looks every series' cell up (230 ms for a 7-day
                    // read at 1M traces) instead of seeking the wanted series' cells (1 ms).
                    CellPart::Summed => (
                        format!("+bucket AS b, {ROLLUP_SUMMED_COLUMNS}"),
                        " GROUP BY b",
                    ),
                };
                for chunk in chunks {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                        "SELECT {select} FROM rollups WHERE resolution = "
                    ));
                    qb.push_bind(resolution)
                        .push(" AND bucket >= ")
                        .push_bind(from)
                        .push(" AND bucket < ")
                        .push_bind(to);
                    if let Some(ids) = chunk {
                        qb.push(" AND series IN (");
                        let mut sep = qb.separated(", ");
                        for id in ids {
                            sep.push_bind(*id);
                        }
                        qb.push(")");
                    }
                    qb.push(group);
                    for row in qb.build().fetch_all(pool).await? {
                        let (series, cell) = match part {
                            CellPart::Whole => (row.try_get(1)?, cell_from_row(&row, 2)?),
                            CellPart::Summed => (0, sums_from_row(&row, 1)?),
                        };
                        out.push(crate::rollup::StoredCell {
                            bucket: row.try_get(0)?,
                            series,
                            cell,
                        });
                    }
                }
                Ok(out)
            }

            /// Rolls up traces still waiting for their root that started before
            /// `older_than_ns` (at most `limit`); returns how many.
            pub(crate) async fn sweep(
                tx: &mut Tx<'_>,
                older_than_ns: i64,
                limit: i64,
                cfg: &RollupConfig,
            ) -> Result<usize> {
                let cols = crate::store::portable::TRACE_COLUMNS;
                let rows = sqlx::query(&format!(
                    "SELECT {cols} FROM traces WHERE rollup_dims IS NULL AND start_ns < $1 \
                     ORDER BY start_ns LIMIT $2"
                ))
                .bind(older_than_ns)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
                let records = rows
                    .iter()
                    .map(super::trace_from_row)
                    .collect::<Result<Vec<_>>>()?;
                if records.is_empty() {
                    return Ok(0);
                }
                let ids: Vec<TraceId> = records.iter().map(|r| r.trace_id).collect();
                let tags = load_tags(tx, &ids).await?;
                let spans = load_span_facts(tx, &ids).await?;
                let mut out = Rollup::default();
                for rec in &records {
                    let dims = out
                        .roll_trace(
                            rec,
                            tags.get(&rec.trace_id).unwrap_or(&BTreeMap::new()),
                            spans.get(&rec.trace_id).map(Vec::as_slice).unwrap_or(&[]),
                            cfg,
                        )
                        // A trace with no time at all (trace info only) rolls up nowhere.
                        .unwrap_or_else(|| "{}".to_string());
                    sqlx::query("UPDATE traces SET rollup_dims = $1 WHERE trace_id = $2")
                        .bind(dims)
                        .bind(&rec.trace_id[..])
                        .execute(&mut **tx)
                        .await?;
                }
                apply(tx, out).await?;
                Ok(records.len())
            }
        }
    };
}

pub(crate) use rollup_sql;
