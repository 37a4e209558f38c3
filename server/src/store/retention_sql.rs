//! Retention SQL, the same text for SQLite and PostgreSQL but for `$size_sql` (the database
//! size), expanded per backend by [`retention_sql!`] into `RetentionTables`.

macro_rules! retention_sql {
    ($db:ty, $size_sql:expr) => {
        pub(crate) mod retention_sql_impl {
            use sqlx::{Pool, QueryBuilder, Row};

            use crate::store::retention::*;
            use crate::store::Result;

            pub struct RetentionTables {
                pub write: Pool<$db>,
                pub read: Pool<$db>,
            }

            /// Binds `ids` as a parenthesised list after `sql`.
            fn in_list<'a, T>(sql: &str, ids: &'a [T]) -> QueryBuilder<'a, $db>
            where
                T: 'a + sqlx::Encode<'a, $db> + sqlx::Type<$db> + Send + Clone,
            {
                let mut qb: QueryBuilder<'a, $db> = QueryBuilder::new(sql);
                let mut sep = qb.separated(", ");
                for id in ids {
                    sep.push_bind(id.clone());
                }
                qb.push(")");
                qb
            }

            impl RetentionTables {
                /// The oldest `batch` traces before `before_ns` (with `payload` only those
                /// still holding payloads): (row id, trace id, span count).
                async fn victims(
                    &self,
                    before_ns: i64,
                    payload_only: bool,
                    batch: i64,
                ) -> Result<Vec<(i64, Vec<u8>, i64)>> {
                    let sql = format!(
                        "SELECT id, trace_id, span_count FROM traces WHERE start_ns < $1{} \
                         ORDER BY start_ns, id LIMIT $2",
                        if payload_only { " AND payload_dropped = FALSE" } else { "" }
                    );
                    let rows = sqlx::query(&sql)
                        .bind(before_ns)
                        .bind(batch)
                        .fetch_all(&self.read)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                        .collect()
                }

                async fn delete_traces(&self, victims: &[(i64, Vec<u8>, i64)]) -> Result<()> {
                    let rows: Vec<(i64, Vec<u8>)> =
                        victims.iter().map(|v| (v.0, v.1.clone())).collect();
                    let mut tx = self.write.begin().await?;
                    super::delete_trace_rows(&mut tx, &rows).await?;
                    tx.commit().await?;
                    Ok(())
                }

                /// Keeps the trees, timings, models, tokens and costs; drops what was said.
                async fn drop_payloads(&self, victims: &[(i64, Vec<u8>, i64)]) -> Result<()> {
                    let ids: Vec<i64> = victims.iter().map(|v| v.0).collect();
                    let trace_ids = victims
                        .iter()
                        .map(|v| crate::store::trace_id_from(&v.1))
                        .collect::<Result<Vec<_>>>()?;
                    let mut tx = self.write.begin().await?;
                    super::drop_payloads(&mut tx, &trace_ids).await?;
                    in_list(
                        "UPDATE traces SET payload_dropped = TRUE, request_preview = NULL, \
                         response_preview = NULL WHERE id IN (",
                        &ids,
                    )
                    .build()
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl RetentionStore for RetentionTables {
                async fn sizes(&self) -> Result<Sizes> {
                    let bytes: i64 = sqlx::query_scalar($size_sql).fetch_one(&self.read).await?;
                    let row = sqlx::query(
                        "SELECT COUNT(*), CAST(COALESCE(SUM(span_count), 0) AS BIGINT), \
                         CAST(COALESCE(SUM(CASE WHEN payload_dropped THEN 0 ELSE 1 END), 0) AS BIGINT), \
                         MIN(start_ns) FROM traces",
                    )
                    .fetch_one(&self.read)
                    .await?;
                    let rollup_cells: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollups")
                        .fetch_one(&self.read)
                        .await?;
                    Ok(Sizes {
                        bytes,
                        traces: row.try_get(0)?,
                        spans: row.try_get(1)?,
                        payload_traces: row.try_get(2)?,
                        oldest_trace_ns: row.try_get(3)?,
                        rollup_cells,
                    })
                }

                async fn preview(&self, c: &Cutoffs) -> Result<Sweep> {
                    let mut out = Sweep::default();
                    let trace_ns = c.trace_ns.unwrap_or(i64::MIN);
                    if c.trace_ns.is_some() {
                        let row = sqlx::query(
                            "SELECT COUNT(*), CAST(COALESCE(SUM(span_count), 0) AS BIGINT) \
                             FROM traces WHERE start_ns < $1",
                        )
                        .bind(trace_ns)
                        .fetch_one(&self.read)
                        .await?;
                        out.traces = row.try_get(0)?;
                        out.spans = row.try_get(1)?;
                    }
                    if let Some(p) = c.payload_ns {
                        out.payload_traces = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM traces WHERE start_ns < $1 AND start_ns >= $2 \
                             AND payload_dropped = FALSE",
                        )
                        .bind(p)
                        .bind(trace_ns)
                        .fetch_one(&self.read)
                        .await?;
                    }
                    if let Some(r) = c.rollup_s {
                        out.rollup_cells =
                            sqlx::query_scalar("SELECT COUNT(*) FROM rollups WHERE bucket < $1")
                                .bind(r)
                                .fetch_one(&self.read)
                                .await?;
                    }
                    Ok(out)
                }

                async fn sweep(&self, c: &Cutoffs, batch: i64, max_batches: usize) -> Result<Sweep> {
                    let mut out = Sweep::default();
                    // Whole traces first: their payloads need no separate dropping.
                    if let Some(before) = c.trace_ns {
                        for _ in 0..max_batches {
                            let victims = self.victims(before, false, batch).await?;
                            if victims.is_empty() {
                                break;
                            }
                            self.delete_traces(&victims).await?;
                            out.traces += victims.len() as i64;
                            out.spans += victims.iter().map(|v| v.2).sum::<i64>();
                        }
                    }
                    if let Some(before) = c.payload_ns {
                        for _ in 0..max_batches {
                            let victims = self.victims(before, true, batch).await?;
                            if victims.is_empty() {
                                break;
                            }
                            self.drop_payloads(&victims).await?;
                            out.payload_traces += victims.len() as i64;
                        }
                    }
                    if let Some(before) = c.rollup_s {
                        for _ in 0..max_batches {
                            let done = sqlx::query(
                                "DELETE FROM rollups WHERE (resolution, bucket, series) IN \
                                 (SELECT resolution, bucket, series FROM rollups \
                                  WHERE bucket < $1 LIMIT $2)",
                            )
                            .bind(before)
                            .bind(batch)
                            .execute(&self.write)
                            .await?
                            .rows_affected() as i64;
                            out.rollup_cells += done;
                            if done < batch {
                                break;
                            }
                        }
                    }
                    Ok(out)
                }
            }
        }
    };
}

pub(crate) use retention_sql;
