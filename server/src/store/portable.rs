//! SQL that is byte-for-byte the same in SQLite and PostgreSQL, written once. The
//! [`portable_sql!`] macro expands these functions for one sqlx database type inside
//! `sqlite.rs` and `postgres.rs`; only placeholders differ (QueryBuilder renders `?` or `$n`).
//! A generic function over `sqlx::Database` would need a dozen higher-ranked `Encode`/`Decode`
//! bounds on every item; the macro keeps the SQL readable and in one place.

/// Rows per multi-row statement: stays under SQLite's 32,766 bind variables and PostgreSQL's
/// 65,535 with 17 columns, while amortising the statement round trip.
pub const ROWS_PER_STATEMENT: usize = 500;

pub const TRACE_COLUMNS: &str = "trace_id, experiment_id, start_ns, end_ns, status, root_span_id, \
     name, service_name, session_id, user_id, models, input_tokens, output_tokens, cached_tokens, \
     cost, span_count, error_count, request_preview, response_preview, client_request_id, \
     metadata, info_finalized, guardrail_count, blocked_count, rollup_dims, redactions, payload_dropped";

pub const SPAN_COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, \
     status, status_message, model, provider, input_tokens, output_tokens, cached_tokens, \
     cost_input, cost_output, payload, flags";

macro_rules! portable_sql {
    ($db:ty) => {
        use std::collections::{BTreeMap, HashMap, HashSet};

        use sqlx::{QueryBuilder, Row};

        use crate::model::{SpanId, SpanKind, StatusCode, TraceId};
        use crate::store::portable::{ROWS_PER_STATEMENT, SPAN_COLUMNS, TRACE_COLUMNS};
        use crate::store::{
            merge, span_id_from, status_from_str, status_to_str, trace_id_from, PreparedBatch,
            Result, SpanPayload, StoredSpan, TraceRecord, WriteOutcome,
        };

        type Tx<'c> = sqlx::Transaction<'c, $db>;

        /// The whole write path of one batch, in the caller's transaction.
        pub(crate) async fn write_batch_in(
            tx: &mut Tx<'_>,
            batch: &PreparedBatch,
            rollups: &crate::rollup::RollupConfig,
        ) -> Result<WriteOutcome> {
            use crate::rollup;
            let touched = crate::store::touched_traces(batch);
            let existing = load_traces(tx, &touched).await?;
            let dropped = rollups.payload_sampling.dropped(&existing, batch);
            let inserted = insert_spans(tx, batch, &dropped).await?;
            // Earlier pieces of traces dropped now lose their payloads too.
            let earlier: Vec<TraceId> = dropped
                .iter()
                .filter(|t| existing.get(*t).is_some_and(|r| r.span_count > 0 && !r.payload_dropped))
                .copied()
                .collect();
            drop_payloads(tx, &earlier).await?;
            let before: HashMap<TraceId, rollup::Before> =
                existing.iter().map(|(id, r)| (*id, rollup::Before::of(r))).collect();
            let mut records = merge::merge_batch(existing, batch, &inserted);
            for r in records.iter_mut().filter(|r| dropped.contains(&r.trace_id)) {
                r.payload_dropped = true;
                r.request_preview = None;
                r.response_preview = None;
            }
            let tags = merge::batch_tags(batch);
            // Traces whose root arrives now after spans of earlier batches: their rollup needs
            // every stored span and tag, read back here (rare: most traces come whole).
            let (_, prior) = rollup::rolling_now(&before, &records);
            let (stored_tags, stored_spans) = if prior.is_empty() {
                Default::default()
            } else {
                (
                    rollup_sql_impl::load_tags(tx, &prior).await?,
                    rollup_sql_impl::load_span_facts(tx, &prior).await?,
                )
            };
            let cells = rollup::plan_batch(
                &before,
                &mut records,
                batch,
                &inserted,
                &tags,
                &stored_tags,
                &stored_spans,
                rollups,
            );
            let rows = upsert_traces(tx, &records).await?;
            upsert_tags(tx, &rows, &tags).await?;
            rollup_sql_impl::apply(tx, cells).await?;
            span_text_sql::index_new_spans(tx, batch, &inserted, &rows, &dropped).await?;
            Ok(WriteOutcome { inserted_spans: inserted.len(), traces_touched: records.len() })
        }

        /// Inserts new spans; those of `dropped` traces without payload.
        async fn insert_spans(
            tx: &mut Tx<'_>,
            batch: &PreparedBatch,
            dropped: &HashSet<TraceId>,
        ) -> Result<HashSet<(TraceId, SpanId)>> {
            const NO_PAYLOAD: &[u8] = &[];
            let mut inserted = HashSet::with_capacity(batch.spans.len());
            for chunk in batch.spans.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new(format!("INSERT INTO spans ({SPAN_COLUMNS}) "));
                qb.push_values(chunk, |mut b, s| {
                    b.push_bind(&s.trace_id[..])
                        .push_bind(&s.span_id[..])
                        .push_bind(s.parent_span_id.as_ref().map(|p| &p[..]))
                        .push_bind(&s.name)
                        .push_bind(s.kind.as_str())
                        .push_bind(s.start_ns)
                        .push_bind(s.end_ns)
                        .push_bind(s.status as i16)
                        .push_bind(&s.status_message)
                        .push_bind(&s.model)
                        .push_bind(&s.provider)
                        .push_bind(s.input_tokens)
                        .push_bind(s.output_tokens)
                        .push_bind(s.cached_tokens)
                        .push_bind(s.cost_input)
                        .push_bind(s.cost_output)
                        .push_bind(if dropped.contains(&s.trace_id) {
                            NO_PAYLOAD
                        } else {
                            &s.payload[..]
                        })
                        .push_bind(s.flags);
                });
                qb.push(" ON CONFLICT (trace_id, span_id) DO NOTHING RETURNING trace_id, span_id");
                for row in qb.build().fetch_all(&mut **tx).await? {
                    let t: Vec<u8> = row.try_get(0)?;
                    let s: Vec<u8> = row.try_get(1)?;
                    inserted.insert((trace_id_from(&t)?, span_id_from(&s, "span id")?));
                }
            }
            Ok(inserted)
        }

        /// Empties the stored payloads and search text of `traces` (tail sampling, retention).
        pub(crate) async fn drop_payloads(tx: &mut Tx<'_>, traces: &[TraceId]) -> Result<()> {
            for chunk in traces.chunks(ROWS_PER_STATEMENT) {
                let mut spans: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE spans SET payload = ");
                spans.push_bind(Vec::<u8>::new()).push(" WHERE trace_id IN (");
                let mut search: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "DELETE FROM span_search WHERE trace_row IN \
                     (SELECT id FROM traces WHERE trace_id IN (",
                );
                for qb in [&mut spans, &mut search] {
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(&id[..]);
                    }
                    sep.push_unseparated(")");
                }
                search.push(")");
                spans.build().execute(&mut **tx).await?;
                search.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        async fn load_traces(
            tx: &mut Tx<'_>,
            ids: &[TraceId],
        ) -> Result<HashMap<TraceId, TraceRecord>> {
            let mut out = HashMap::with_capacity(ids.len());
            for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                    "SELECT {TRACE_COLUMNS} FROM traces WHERE trace_id IN ("
                ));
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(&id[..]);
                }
                qb.push(")");
                for row in qb.build().fetch_all(&mut **tx).await? {
                    let rec = trace_from_row(&row)?;
                    out.insert(rec.trace_id, rec);
                }
            }
            Ok(out)
        }

        /// Writes the merged rows; returns each trace's row id (the key of its tags).
        async fn upsert_traces(
            tx: &mut Tx<'_>,
            records: &[TraceRecord],
        ) -> Result<HashMap<TraceId, i64>> {
            let mut ids = HashMap::with_capacity(records.len());
            for chunk in records.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new(format!("INSERT INTO traces ({TRACE_COLUMNS}) "));
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.trace_id[..])
                        .push_bind(r.experiment_id)
                        .push_bind(r.start_ns)
                        .push_bind(r.end_ns)
                        .push_bind(status_to_str(r.status))
                        .push_bind(r.root_span_id.as_ref().map(|s| &s[..]))
                        .push_bind(&r.name)
                        .push_bind(&r.service_name)
                        .push_bind(&r.session_id)
                        .push_bind(&r.user_id)
                        .push_bind(serde_json::to_string(&r.models).unwrap_or_else(|_| "[]".into()))
                        .push_bind(r.input_tokens)
                        .push_bind(r.output_tokens)
                        .push_bind(r.cached_tokens)
                        .push_bind(r.cost)
                        .push_bind(r.span_count)
                        .push_bind(r.error_count)
                        .push_bind(&r.request_preview)
                        .push_bind(&r.response_preview)
                        .push_bind(&r.client_request_id)
                        .push_bind(serde_json::to_string(&r.metadata).unwrap_or_else(|_| "{}".into()))
                        .push_bind(r.info_finalized)
                        .push_bind(r.guardrail_count)
                        .push_bind(r.blocked_count)
                        .push_bind(&r.rollup_dims)
                        .push_bind(r.redactions)
                        .push_bind(r.payload_dropped);
                });
                // The merge already combined old and new values; the row is written whole.
                qb.push(
                    " ON CONFLICT (trace_id) DO UPDATE SET experiment_id = excluded.experiment_id, \
                     start_ns = excluded.start_ns, end_ns = excluded.end_ns, \
                     status = excluded.status, root_span_id = excluded.root_span_id, \
                     name = excluded.name, service_name = excluded.service_name, \
                     session_id = excluded.session_id, user_id = excluded.user_id, \
                     models = excluded.models, input_tokens = excluded.input_tokens, \
                     output_tokens = excluded.output_tokens, cached_tokens = excluded.cached_tokens, \
                     cost = excluded.cost, span_count = excluded.span_count, \
                     error_count = excluded.error_count, request_preview = excluded.request_preview, \
                     response_preview = excluded.response_preview, \
                     client_request_id = excluded.client_request_id, metadata = excluded.metadata, \
                     info_finalized = excluded.info_finalized, \
                     guardrail_count = excluded.guardrail_count, \
                     blocked_count = excluded.blocked_count, rollup_dims = excluded.rollup_dims, \
                     redactions = excluded.redactions, payload_dropped = excluded.payload_dropped \
                     RETURNING id, trace_id",
                );
                for row in qb.build().fetch_all(&mut **tx).await? {
                    let t: Vec<u8> = row.try_get(1)?;
                    ids.insert(trace_id_from(&t)?, row.try_get::<i64, _>(0)?);
                }
            }
            Ok(ids)
        }

        async fn upsert_tags(
            tx: &mut Tx<'_>,
            trace_rows: &HashMap<TraceId, i64>,
            tags: &BTreeMap<(TraceId, String), String>,
        ) -> Result<()> {
            let rows: Vec<_> = tags
                .iter()
                .filter_map(|((t, k), v)| trace_rows.get(t).map(|id| (*id, k.as_str(), v.as_str())))
                .collect();
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new("INSERT INTO trace_tags (trace_row, key, value) ");
                qb.push_values(chunk, |mut b, (id, k, v)| {
                    b.push_bind(*id).push_bind(*k).push_bind(*v);
                });
                qb.push(" ON CONFLICT (trace_row, key) DO UPDATE SET value = excluded.value");
                qb.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        fn trace_from_row(row: &<$db as sqlx::Database>::Row) -> Result<TraceRecord> {
            let trace_id: Vec<u8> = row.try_get("trace_id")?;
            let root: Option<Vec<u8>> = row.try_get("root_span_id")?;
            let models: String = row.try_get("models")?;
            let metadata: String = row.try_get("metadata")?;
            let status: String = row.try_get("status")?;
            Ok(TraceRecord {
                trace_id: trace_id_from(&trace_id)?,
                experiment_id: row.try_get("experiment_id")?,
                start_ns: row.try_get("start_ns")?,
                end_ns: row.try_get("end_ns")?,
                status: status_from_str(&status),
                root_span_id: root.map(|r| span_id_from(&r, "root span id")).transpose()?,
                name: row.try_get("name")?,
                service_name: row.try_get("service_name")?,
                session_id: row.try_get("session_id")?,
                user_id: row.try_get("user_id")?,
                models: serde_json::from_str(&models)
                    .map_err(|e| crate::store::Error::Corrupt(format!("traces.models: {e}")))?,
                input_tokens: row.try_get("input_tokens")?,
                output_tokens: row.try_get("output_tokens")?,
                cached_tokens: row.try_get("cached_tokens")?,
                cost: row.try_get("cost")?,
                span_count: row.try_get("span_count")?,
                error_count: row.try_get("error_count")?,
                request_preview: row.try_get("request_preview")?,
                response_preview: row.try_get("response_preview")?,
                client_request_id: row.try_get("client_request_id")?,
                metadata: serde_json::from_str(&metadata)
                    .map_err(|e| crate::store::Error::Corrupt(format!("traces.metadata: {e}")))?,
                info_finalized: row.try_get("info_finalized")?,
                guardrail_count: row.try_get("guardrail_count")?,
                blocked_count: row.try_get("blocked_count")?,
                rollup_dims: row.try_get("rollup_dims")?,
                redactions: row.try_get("redactions")?,
                payload_dropped: row.try_get("payload_dropped")?,
            })
        }

        fn span_from_row(row: &<$db as sqlx::Database>::Row) -> Result<StoredSpan> {
            let trace_id: Vec<u8> = row.try_get("trace_id")?;
            let span_id: Vec<u8> = row.try_get("span_id")?;
            let parent: Option<Vec<u8>> = row.try_get("parent_span_id")?;
            let kind: String = row.try_get("kind")?;
            let status: i16 = row.try_get("status")?;
            // The waterfall reads spans without their payload column (`trace_tree_in`).
            let payload: Vec<u8> = match row.try_get("payload") {
                Err(sqlx::Error::ColumnNotFound(_)) => Vec::new(),
                other => other?,
            };
            Ok(StoredSpan {
                trace_id: trace_id_from(&trace_id)?,
                span_id: span_id_from(&span_id, "span id")?,
                parent_span_id: parent.map(|p| span_id_from(&p, "parent span id")).transpose()?,
                name: row.try_get("name")?,
                kind: SpanKind::parse(&kind).unwrap_or(SpanKind::Unknown),
                start_ns: row.try_get("start_ns")?,
                end_ns: row.try_get("end_ns")?,
                status: StatusCode::from_i32(status as i32),
                status_message: row.try_get("status_message")?,
                model: row.try_get("model")?,
                provider: row.try_get("provider")?,
                input_tokens: row.try_get("input_tokens")?,
                output_tokens: row.try_get("output_tokens")?,
                cached_tokens: row.try_get("cached_tokens")?,
                cost: {
                    let i: Option<f64> = row.try_get("cost_input")?;
                    let o: Option<f64> = row.try_get("cost_output")?;
                    if i.is_none() && o.is_none() { None } else { Some(i.unwrap_or(0.0) + o.unwrap_or(0.0)) }
                },
                payload: SpanPayload::decode(&payload).map_err(crate::store::Error::Corrupt)?,
            })
        }

        pub(crate) async fn list_traces_in(
            pool: &sqlx::Pool<$db>,
            q: &crate::store::TraceQuery,
        ) -> Result<Vec<TraceRecord>> {
            let mut qb: QueryBuilder<'_, $db> =
                QueryBuilder::new(format!("SELECT {TRACE_COLUMNS} FROM traces"));
            if let Some(e) = q.experiment_id {
                qb.push(" WHERE experiment_id = ").push_bind(e);
            }
            qb.push(" ORDER BY start_ns DESC LIMIT ").push_bind(q.limit.max(1) as i64);
            qb.build().fetch_all(pool).await?.iter().map(trace_from_row).collect()
        }

        pub(crate) async fn get_trace_in(
            pool: &sqlx::Pool<$db>,
            trace_id: &TraceId,
        ) -> Result<Option<crate::store::StoredTrace>> {
            load_trace(pool, trace_id, SPAN_COLUMNS).await
        }

        pub(crate) async fn trace_tags_in(
            pool: &sqlx::Pool<$db>,
            row_ids: &[i64],
        ) -> Result<HashMap<i64, BTreeMap<String, String>>> {
            let mut out: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
            for chunk in row_ids.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT trace_row, key, value FROM trace_tags WHERE trace_row IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                qb.push(")");
                for row in qb.build().fetch_all(pool).await? {
                    out.entry(row.try_get::<i64, _>(0)?)
                        .or_default()
                        .insert(row.try_get::<String, _>(1)?, row.try_get::<String, _>(2)?);
                }
            }
            Ok(out)
        }

        /// The trace row, its tags and its spans with `span_columns` (with or without payload).
        async fn load_trace(
            pool: &sqlx::Pool<$db>,
            trace_id: &TraceId,
            span_columns: &str,
        ) -> Result<Option<crate::store::StoredTrace>> {
            let mut qb: QueryBuilder<'_, $db> =
                QueryBuilder::new(format!("SELECT id, {TRACE_COLUMNS} FROM traces WHERE trace_id = "));
            qb.push_bind(&trace_id[..]);
            let Some(row) = qb.build().fetch_optional(pool).await? else {
                return Ok(None);
            };
            let record = trace_from_row(&row)?;
            let mut qb: QueryBuilder<'_, $db> =
                QueryBuilder::new("SELECT key, value FROM trace_tags WHERE trace_row = ");
            qb.push_bind(row.try_get::<i64, _>("id")?);
            let mut tags = BTreeMap::new();
            for row in qb.build().fetch_all(pool).await? {
                tags.insert(row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?);
            }
            let mut qb: QueryBuilder<'_, $db> =
                QueryBuilder::new(format!("SELECT {span_columns} FROM spans WHERE trace_id = "));
            qb.push_bind(&trace_id[..]);
            qb.push(" ORDER BY start_ns, span_id");
            let spans = qb.build().fetch_all(pool).await?.iter().map(span_from_row).collect::<Result<Vec<_>>>()?;
            Ok(Some(crate::store::StoredTrace { record, tags, spans }))
        }

        fn experiment_from_row(row: &<$db as sqlx::Database>::Row) -> Result<crate::model::Experiment> {
            let tags: String = row.try_get("tags")?;
            Ok(crate::model::Experiment {
                experiment_id: row.try_get("experiment_id")?,
                name: row.try_get("name")?,
                artifact_location: row.try_get("artifact_location")?,
                lifecycle_stage: row.try_get("lifecycle_stage")?,
                creation_time_ms: row.try_get("creation_time")?,
                last_update_time_ms: row.try_get("last_update_time")?,
                tags: serde_json::from_str(&tags)
                    .map_err(|e| crate::store::Error::Corrupt(format!("experiments.tags: {e}")))?,
            })
        }

        const EXPERIMENT_COLUMNS: &str =
            "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time, tags";

        pub(crate) async fn get_experiment_in(
            pool: &sqlx::Pool<$db>,
            id: Option<i64>,
            name: Option<&str>,
        ) -> Result<Option<crate::model::Experiment>> {
            let mut qb: QueryBuilder<'_, $db> =
                QueryBuilder::new(format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE "));
            match (id, name) {
                (Some(id), _) => qb.push("experiment_id = ").push_bind(id),
                (None, Some(n)) => qb.push("name = ").push_bind(n.to_string()),
                (None, None) => return Ok(None),
            };
            qb.build().fetch_optional(pool).await?.as_ref().map(experiment_from_row).transpose()
        }

        pub(crate) async fn create_experiment_in(
            pool: &sqlx::Pool<$db>,
            name: &str,
            artifact_location: Option<&str>,
            tags: &BTreeMap<String, String>,
            now_ms: i64,
        ) -> Result<crate::model::Experiment> {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO experiments (name, artifact_location, creation_time, last_update_time, tags) \
                 VALUES ($1, '', $2, $2, $3) RETURNING experiment_id",
            )
            .bind(name)
            .bind(now_ms)
            .bind(serde_json::to_string(tags).unwrap_or_else(|_| "{}".into()))
            .fetch_one(&mut *tx)
            .await;
            let id: i64 = match inserted {
                Ok(row) => row.try_get(0)?,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(crate::store::Error::Conflict(format!("experiment {name:?}")))
                }
                Err(e) => return Err(e.into()),
            };
            // MLflow's default artifact root; the location is only echoed to clients.
            let location = artifact_location
                .map(str::to_string)
                .unwrap_or_else(|| format!("mlflow-artifacts:/{id}"));
            sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
                .bind(&location)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            get_experiment_in(pool, Some(id), None)
                .await?
                .ok_or_else(|| crate::store::Error::NotFound(format!("experiment {id}")))
        }

        pub(crate) async fn load_prices_in(
            pool: &sqlx::Pool<$db>,
        ) -> Result<Vec<crate::model::ModelPrice>> {
            let rows = sqlx::query(
                "SELECT model, provider, input_per_mtok, output_per_mtok, cached_input_per_mtok, \
                 effective_from_ms FROM model_prices ORDER BY model, effective_from_ms",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(crate::model::ModelPrice {
                        model: r.try_get(0)?,
                        provider: r.try_get(1)?,
                        input_per_mtok: r.try_get(2)?,
                        output_per_mtok: r.try_get(3)?,
                        cached_input_per_mtok: r.try_get(4)?,
                        effective_from_ms: r.try_get(5)?,
                    })
                })
                .collect()
        }

        pub(crate) async fn seed_prices_in(
            pool: &sqlx::Pool<$db>,
            prices: &[crate::model::ModelPrice],
        ) -> Result<usize> {
            let mut tx = pool.begin().await?;
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM model_prices")
                .fetch_one(&mut *tx)
                .await?;
            if n > 0 || prices.is_empty() {
                return Ok(0);
            }
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                "INSERT INTO model_prices (model, provider, input_per_mtok, output_per_mtok, \
                 cached_input_per_mtok, effective_from_ms) ",
            );
            qb.push_values(prices, |mut b, p| {
                b.push_bind(&p.model)
                    .push_bind(&p.provider)
                    .push_bind(p.input_per_mtok)
                    .push_bind(p.output_per_mtok)
                    .push_bind(p.cached_input_per_mtok)
                    .push_bind(p.effective_from_ms);
            });
            qb.push(" ON CONFLICT (model, effective_from_ms) DO NOTHING");
            qb.build().execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(prices.len())
        }

        pub(crate) async fn upsert_price_in(
            pool: &sqlx::Pool<$db>,
            p: &crate::model::ModelPrice,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO model_prices (model, provider, input_per_mtok, output_per_mtok, \
                 cached_input_per_mtok, effective_from_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (model, effective_from_ms) DO UPDATE SET \
                 provider = excluded.provider, input_per_mtok = excluded.input_per_mtok, \
                 output_per_mtok = excluded.output_per_mtok, \
                 cached_input_per_mtok = excluded.cached_input_per_mtok",
            )
            .bind(&p.model)
            .bind(&p.provider)
            .bind(p.input_per_mtok)
            .bind(p.output_per_mtok)
            .bind(p.cached_input_per_mtok)
            .bind(p.effective_from_ms)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(crate) async fn delete_price_in(
            pool: &sqlx::Pool<$db>,
            model: &str,
            effective_from_ms: i64,
        ) -> Result<bool> {
            let done = sqlx::query(
                "DELETE FROM model_prices WHERE model = $1 AND effective_from_ms = $2",
            )
            .bind(model)
            .bind(effective_from_ms)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() > 0)
        }

        pub(crate) async fn stats_in(pool: &sqlx::Pool<$db>) -> Result<crate::store::StoreStats> {
            let traces: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM traces").fetch_one(pool).await?;
            let spans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM spans").fetch_one(pool).await?;
            Ok(crate::store::StoreStats { traces, spans })
        }

        /// Every span column but `payload`: the waterfall skips decompressing payloads and,
        /// for large ones, reading their overflow (SQLite) or TOAST (PostgreSQL) pages.
        const SPAN_HEADER_COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, start_ns, \
             end_ns, status, status_message, model, provider, input_tokens, output_tokens, \
             cached_tokens, cost_input, cost_output";

        pub(crate) async fn trace_tree_in(
            pool: &sqlx::Pool<$db>,
            trace_id: &TraceId,
        ) -> Result<Option<crate::store::StoredTrace>> {
            load_trace(pool, trace_id, SPAN_HEADER_COLUMNS).await
        }

        pub(crate) async fn get_span_in(
            pool: &sqlx::Pool<$db>,
            trace_id: &TraceId,
            span_id: &SpanId,
        ) -> Result<Option<crate::store::SpanInTrace>> {
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                "SELECT {SPAN_COLUMNS}, (SELECT t.start_ns FROM traces t WHERE t.trace_id = spans.trace_id) \
                 AS trace_start_ns FROM spans WHERE trace_id = "
            ));
            qb.push_bind(&trace_id[..]).push(" AND span_id = ").push_bind(&span_id[..]);
            let Some(row) = qb.build().fetch_optional(pool).await? else {
                return Ok(None);
            };
            let span = span_from_row(&row)?;
            let trace_start_ns = row
                .try_get::<Option<i64>, _>("trace_start_ns")?
                .filter(|t| *t != i64::MAX)
                .unwrap_or(span.start_ns);
            Ok(Some(crate::store::SpanInTrace { span, trace_start_ns }))
        }

        /// One row per session; `last_ns` is the latest end (or start, for a trace still open).
        /// The keyset condition sits in `HAVING` because it is on aggregates: every page
        /// groups all sessions first. Fine up to a few hundred thousand traces; beyond that a
        /// per-session rollup table maintained by the writer would be needed.
        pub(crate) async fn list_sessions_in(
            pool: &sqlx::Pool<$db>,
            q: &crate::store::sessions::SessionQuery,
        ) -> Result<Vec<crate::store::sessions::SessionRecord>> {
            const LAST: &str = "MAX(CASE WHEN end_ns > start_ns THEN end_ns ELSE start_ns END)";
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                "SELECT session_id, MAX(user_id) AS user_id, COUNT(*) AS trace_count, \
                 MIN(start_ns) AS first_ns, {LAST} AS last_ns, \
                 CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
                 CAST(SUM(output_tokens) AS BIGINT) AS output_tokens, SUM(cost) AS cost, \
                 CAST(SUM(CASE WHEN status = 'ERROR' THEN 1 ELSE 0 END) AS BIGINT) AS error_count \
                 FROM traces WHERE session_id IS NOT NULL AND start_ns < "
            ));
            // Traces known only from StartTraceV3 or a child span have no start yet.
            qb.push_bind(i64::MAX);
            qb.push(" GROUP BY session_id");
            if let Some((last_ns, session_id)) = &q.after {
                qb.push(format!(" HAVING {LAST} < "))
                    .push_bind(*last_ns)
                    .push(format!(" OR ({LAST} = "))
                    .push_bind(*last_ns)
                    .push(" AND session_id < ")
                    .push_bind(session_id.clone())
                    .push(")");
            }
            qb.push(" ORDER BY last_ns DESC, session_id DESC LIMIT ")
                .push_bind(q.limit.max(1) as i64);
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| {
                    Ok(crate::store::sessions::SessionRecord {
                        session_id: row.try_get("session_id")?,
                        user_id: row.try_get("user_id")?,
                        trace_count: row.try_get("trace_count")?,
                        first_ns: row.try_get("first_ns")?,
                        last_ns: row.try_get("last_ns")?,
                        input_tokens: row.try_get("input_tokens")?,
                        output_tokens: row.try_get("output_tokens")?,
                        cost: row.try_get("cost")?,
                        error_count: row.try_get("error_count")?,
                    })
                })
                .collect()
        }

        /// Uses the `traces_session (session_id, start_ns)` index.
        pub(crate) async fn session_traces_in(
            pool: &sqlx::Pool<$db>,
            session_id: &str,
        ) -> Result<Vec<TraceRecord>> {
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                "SELECT {TRACE_COLUMNS} FROM traces WHERE session_id = "
            ));
            qb.push_bind(session_id.to_string()).push(" AND start_ns < ").push_bind(i64::MAX);
            qb.push(" ORDER BY start_ns, id");
            qb.build().fetch_all(pool).await?.iter().map(trace_from_row).collect()
        }
        // ---- MLflow trace management (tags, deletion) ----

        async fn trace_row_of(tx: &mut Tx<'_>, trace_id: &TraceId) -> Result<Option<i64>> {
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT id FROM traces WHERE trace_id = ");
            qb.push_bind(&trace_id[..]);
            Ok(match qb.build().fetch_optional(&mut **tx).await? {
                Some(row) => Some(row.try_get::<i64, _>(0)?),
                None => None,
            })
        }

        /// Sets one tag; false when the trace does not exist.
        pub(crate) async fn set_trace_tag_in(
            pool: &sqlx::Pool<$db>,
            trace_id: &TraceId,
            key: &str,
            value: &str,
        ) -> Result<bool> {
            let mut tx = pool.begin().await?;
            let Some(row) = trace_row_of(&mut tx, trace_id).await? else {
                return Ok(false);
            };
            let mut qb: QueryBuilder<'_, $db> =
                QueryBuilder::new("INSERT INTO trace_tags (trace_row, key, value) VALUES (");
            qb.push_bind(row).push(", ").push_bind(key).push(", ").push_bind(value);
            qb.push(") ON CONFLICT (trace_row, key) DO UPDATE SET value = excluded.value");
            qb.build().execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Deletes one tag; false when the trace or the tag does not exist.
        pub(crate) async fn delete_trace_tag_in(
            pool: &sqlx::Pool<$db>,
            trace_id: &TraceId,
            key: &str,
        ) -> Result<bool> {
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                "DELETE FROM trace_tags WHERE trace_row = (SELECT id FROM traces WHERE trace_id = ",
            );
            qb.push_bind(&trace_id[..]).push(") AND key = ").push_bind(key);
            Ok(qb.build().execute(pool).await?.rows_affected() > 0)
        }

        /// Deletes the selected traces of one experiment with their spans and tags, in one
        /// transaction; returns how many traces went.
        pub(crate) async fn delete_traces_in(
            pool: &sqlx::Pool<$db>,
            experiment_id: i64,
            which: &crate::store::TraceDeletion,
        ) -> Result<usize> {
            let mut tx = pool.begin().await?;
            let mut victims: Vec<(i64, Vec<u8>)> = Vec::new();
            match which {
                crate::store::TraceDeletion::Ids(ids) => {
                    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                        let mut qb: QueryBuilder<'_, $db> =
                            QueryBuilder::new("SELECT id, trace_id FROM traces WHERE experiment_id = ");
                        qb.push_bind(experiment_id).push(" AND trace_id IN (");
                        let mut sep = qb.separated(", ");
                        for id in chunk {
                            sep.push_bind(&id[..]);
                        }
                        qb.push(")");
                        for row in qb.build().fetch_all(&mut *tx).await? {
                            victims.push((row.try_get(0)?, row.try_get(1)?));
                        }
                    }
                }
                crate::store::TraceDeletion::OlderThan { max_timestamp_ms, max_traces } => {
                    // `timestamp_ms <= max` on whole milliseconds: start before the next one.
                    let before_ns = max_timestamp_ms.saturating_add(1).saturating_mul(1_000_000);
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT id, trace_id FROM traces WHERE experiment_id = ");
                    qb.push_bind(experiment_id)
                        .push(" AND start_ns < ")
                        .push_bind(before_ns)
                        .push(" ORDER BY start_ns, id LIMIT ")
                        .push_bind(i64::from(*max_traces));
                    for row in qb.build().fetch_all(&mut *tx).await? {
                        victims.push((row.try_get(0)?, row.try_get(1)?));
                    }
                }
            }
            delete_trace_rows(&mut tx, &victims).await?;
            tx.commit().await?;
            Ok(victims.len())
        }

        /// Deletes traces, given as (row id, trace id), with their spans, tags and search
        /// entries, in the caller's transaction (MLflow's DeleteTraces, retention).
        pub(crate) async fn delete_trace_rows(
            tx: &mut Tx<'_>,
            victims: &[(i64, Vec<u8>)],
        ) -> Result<()> {
            for chunk in victims.chunks(ROWS_PER_STATEMENT) {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("DELETE FROM spans WHERE trace_id IN (");
                let mut sep = qb.separated(", ");
                for (_, t) in chunk {
                    sep.push_bind(&t[..]);
                }
                qb.push(")");
                qb.build().execute(&mut **tx).await?;
                for stmt in [
                    "DELETE FROM trace_tags WHERE trace_row IN (",
                    "DELETE FROM span_search WHERE trace_row IN (",
                    "DELETE FROM traces WHERE id IN (",
                ] {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(stmt);
                    let mut sep = qb.separated(", ");
                    for (id, _) in chunk {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                    qb.build().execute(&mut **tx).await?;
                }
            }
            Ok(())
        }

    };
}

pub(crate) use portable_sql;
