//! Alerting SQL, the same text for SQLite and PostgreSQL, expanded per backend by
//! [`alert_sql!`] into `AlertTables`, the backend's [`AlertStore`]. Rules, channels and
//! messages are stored as JSON of their Rust types: they are read whole and never queried by
//! field, and a field added later needs no migration.
//!
//! [`AlertStore`]: super::alerts::AlertStore

use std::collections::BTreeMap;

use sqlx::Connection;

use super::{Error, Result};

/// Who evaluates. Only one process may: two evaluators would each page.
pub enum Leader {
    /// SQLite: the one process that owns the file.
    Always,
    /// PostgreSQL: a session-level advisory lock held on a dedicated connection. If this
    /// process dies, its connection drops and the server releases the lock.
    Postgres {
        url: String,
        held: tokio::sync::Mutex<Option<sqlx::PgConnection>>,
    },
}

/// Arbitrary, stable: the advisory lock key of the alert evaluator.
const LEADER_LOCK: i64 = 7432;

impl Leader {
    pub async fn lead(&self) -> Result<bool> {
        let (url, held) = match self {
            Leader::Always => return Ok(true),
            Leader::Postgres { url, held } => (url, held),
        };
        let mut held = held.lock().await;
        if let Some(conn) = held.as_mut() {
            // Still ours only while the session lives.
            if conn.ping().await.is_ok() {
                return Ok(true);
            }
            tracing::warn!("Lost the alert evaluator's database session; re-electing.");
            *held = None;
        }
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if got {
            tracing::info!("This process now evaluates alert rules and sends notifications.");
            *held = Some(conn);
        }
        Ok(got)
    }
}

pub(crate) fn labels_json(labels: &BTreeMap<String, String>) -> String {
    // BTreeMap: keys sorted, so equal label sets are equal strings (the primary key).
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn labels_from(s: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("alert labels {s:?}: {e}")))
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("alert types serialise")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("stored {what}: {e}")))
}

/// Maps a unique violation to `Conflict` naming the thing.
pub(crate) fn conflict(e: sqlx::Error, what: String) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::Conflict(what),
        _ => Error::Database(e),
    }
}

/// `$sync_lock`: a statement that serialises the `--rules-file` sync between processes
/// starting together on one PostgreSQL (a transaction-scoped advisory lock: otherwise both
/// see a rule missing and the second insert fails on its unique name), or nothing on
/// SQLite, where one process owns the file.
macro_rules! alert_sql {
    ($db:ty, $sync_lock:expr) => {
        pub(crate) mod alert_sql_impl {
            use std::collections::{BTreeMap, HashMap};

            use sqlx::{Pool, QueryBuilder, Row};

            use crate::alerts::rule::RuleSpec;
            use crate::alerts::state::AlertState;
            use crate::notify::{ChannelConfig, Message};
            use crate::store::alert_sql::{conflict, from_json, json, labels_from, labels_json, Leader};
            use crate::store::alerts::*;
            use crate::store::Result;

            const SYNC_LOCK: Option<&str> = $sync_lock;

            async fn sync_lock(tx: &mut sqlx::Transaction<'_, $db>) -> Result<()> {
                if let Some(sql) = SYNC_LOCK {
                    sqlx::query(sql).execute(&mut **tx).await?;
                }
                Ok(())
            }

            type Row_ = <$db as sqlx::Database>::Row;

            pub struct AlertTables {
                /// Writes (SQLite: the single writer connection).
                pub write: Pool<$db>,
                pub read: Pool<$db>,
                pub leader: Leader,
            }

            const RULE_COLUMNS: &str =
                "id, spec, source, created_ms, updated_ms, last_eval_ms, eval_error";
            const NOTIFICATION_COLUMNS: &str = "id, event_id, channel_id, channel_name, notice, \
                 message, status, attempts, next_attempt_ms, last_error, created_ms, done_ms";

            fn rule(row: &Row_) -> Result<StoredRule> {
                let spec: String = row.try_get(1)?;
                let source: String = row.try_get(2)?;
                Ok(StoredRule {
                    id: row.try_get(0)?,
                    spec: from_json("rule", &spec)?,
                    source: Source::parse(&source),
                    created_ms: row.try_get(3)?,
                    updated_ms: row.try_get(4)?,
                    last_eval_ms: row.try_get(5)?,
                    eval_error: row.try_get(6)?,
                })
            }

            fn notification(row: &Row_) -> Result<Notification> {
                let id: i64 = row.try_get(0)?;
                let message: String = row.try_get(5)?;
                let mut message: Message = from_json("notification", &message)?;
                // Written before the row had an id.
                message.notification_id = id;
                let status: String = row.try_get(6)?;
                Ok(Notification {
                    id,
                    event_id: row.try_get(1)?,
                    channel_id: row.try_get(2)?,
                    channel_name: row.try_get(3)?,
                    notice: row.try_get(4)?,
                    message,
                    status: Delivery::parse(&status),
                    attempts: row.try_get(7)?,
                    next_attempt_ms: row.try_get(8)?,
                    last_error: row.try_get(9)?,
                    created_ms: row.try_get(10)?,
                    done_ms: row.try_get(11)?,
                })
            }

            fn channel(row: &Row_) -> Result<StoredChannel> {
                let config: String = row.try_get(2)?;
                let source: String = row.try_get(3)?;
                Ok(StoredChannel {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    config: from_json("channel", &config)?,
                    source: Source::parse(&source),
                    created_ms: row.try_get(4)?,
                    updated_ms: row.try_get(5)?,
                })
            }

            #[async_trait::async_trait]
            impl AlertStore for AlertTables {
                async fn lead(&self) -> Result<bool> {
                    self.leader.lead().await
                }

                async fn list_rules(&self) -> Result<Vec<StoredRule>> {
                    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY name");
                    sqlx::query(&sql)
                        .fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(rule)
                        .collect()
                }

                async fn get_rule(&self, id: i64) -> Result<Option<StoredRule>> {
                    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1");
                    sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&self.read)
                        .await?
                        .as_ref()
                        .map(rule)
                        .transpose()
                }

                async fn create_rule(
                    &self,
                    spec: &RuleSpec,
                    source: Source,
                    now_ms: i64,
                ) -> Result<i64> {
                    sqlx::query_scalar(
                        "INSERT INTO alert_rules (name, spec, source, created_ms, updated_ms) \
                         VALUES ($1, $2, $3, $4, $4) RETURNING id",
                    )
                    .bind(&spec.name)
                    .bind(json(spec))
                    .bind(source.as_str())
                    .bind(now_ms)
                    .fetch_one(&self.write)
                    .await
                    .map_err(|e| conflict(e, format!("a rule named {:?}", spec.name)))
                }

                async fn update_rule(&self, id: i64, spec: &RuleSpec, now_ms: i64) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE alert_rules SET name = $1, spec = $2, updated_ms = $3 WHERE id = $4",
                    )
                    .bind(&spec.name)
                    .bind(json(spec))
                    .bind(now_ms)
                    .bind(id)
                    .execute(&self.write)
                    .await
                    .map_err(|e| conflict(e, format!("a rule named {:?}", spec.name)))?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_rule(&self, id: i64) -> Result<bool> {
                    let mut tx = self.write.begin().await?;
                    sqlx::query("DELETE FROM alert_states WHERE rule_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let done = sqlx::query("DELETE FROM alert_rules WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn sync_file_rules(
                    &self,
                    specs: &[RuleSpec],
                    now_ms: i64,
                ) -> Result<(usize, usize, usize)> {
                    let mut tx = self.write.begin().await?;
                    sync_lock(&mut tx).await?;
                    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules");
                    let existing: Vec<StoredRule> = sqlx::query(&sql)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(rule)
                        .collect::<Result<_>>()?;
                    let by_name: HashMap<&str, &StoredRule> =
                        existing.iter().map(|r| (r.spec.name.as_str(), r)).collect();
                    let (mut created, mut updated, mut removed) = (0, 0, 0);
                    for spec in specs {
                        match by_name.get(spec.name.as_str()) {
                            Some(r) if r.spec == *spec && r.source == Source::File => {}
                            Some(r) => {
                                sqlx::query(
                                    "UPDATE alert_rules SET spec = $1, source = 'file', \
                                     updated_ms = $2 WHERE id = $3",
                                )
                                .bind(json(spec))
                                .bind(now_ms)
                                .bind(r.id)
                                .execute(&mut *tx)
                                .await?;
                                updated += 1;
                            }
                            None => {
                                sqlx::query(
                                    "INSERT INTO alert_rules (name, spec, source, created_ms, \
                                     updated_ms) VALUES ($1, $2, 'file', $3, $3)",
                                )
                                .bind(&spec.name)
                                .bind(json(spec))
                                .bind(now_ms)
                                .execute(&mut *tx)
                                .await?;
                                created += 1;
                            }
                        }
                    }
                    for r in &existing {
                        if r.source == Source::File && !specs.iter().any(|s| s.name == r.spec.name) {
                            sqlx::query("DELETE FROM alert_states WHERE rule_id = $1")
                                .bind(r.id)
                                .execute(&mut *tx)
                                .await?;
                            sqlx::query("DELETE FROM alert_rules WHERE id = $1")
                                .bind(r.id)
                                .execute(&mut *tx)
                                .await?;
                            removed += 1;
                        }
                    }
                    tx.commit().await?;
                    Ok((created, updated, removed))
                }

                async fn states(&self, rule_id: Option<i64>) -> Result<Vec<InstanceState>> {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT rule_id, labels, phase, active_since, firing_since, clear_since, \
                         last_notified, last_value, samples, updated_ms FROM alert_states",
                    );
                    if let Some(id) = rule_id {
                        qb.push(" WHERE rule_id = ").push_bind(id);
                    }
                    qb.push(" ORDER BY rule_id, labels");
                    qb.build()
                        .fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(|row| {
                            let labels: String = row.try_get(1)?;
                            let phase: String = row.try_get(2)?;
                            let samples: i64 = row.try_get(8)?;
                            Ok(InstanceState {
                                rule_id: row.try_get(0)?,
                                labels: labels_from(&labels)?,
                                state: AlertState {
                                    phase: phase_parse(&phase),
                                    active_since: row.try_get(3)?,
                                    firing_since: row.try_get(4)?,
                                    clear_since: row.try_get(5)?,
                                    last_notified: row.try_get(6)?,
                                    last_value: row.try_get(7)?,
                                },
                                samples: samples.max(0) as u64,
                                updated_ms: row.try_get(9)?,
                            })
                        })
                        .collect()
                }

                async fn commit_evaluation(&self, eval: &Evaluation) -> Result<()> {
                    let mut tx = self.write.begin().await?;
                    // A rule deleted while it was being evaluated leaves nothing behind.
                    let exists: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM alert_rules WHERE id = $1")
                            .bind(eval.rule_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if exists.is_none() {
                        return Ok(());
                    }
                    sqlx::query(
                        "UPDATE alert_rules SET last_eval_ms = $1, eval_error = $2 WHERE id = $3",
                    )
                    .bind(eval.at_ms)
                    .bind(eval.error.as_deref())
                    .bind(eval.rule_id)
                    .execute(&mut *tx)
                    .await?;
                    if eval.error.is_some() {
                        tx.commit().await?;
                        return Ok(());
                    }
                    for s in &eval.states {
                        sqlx::query(
                            "INSERT INTO alert_states (rule_id, labels, phase, active_since, \
                             firing_since, clear_since, last_notified, last_value, samples, \
                             updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                             ON CONFLICT (rule_id, labels) DO UPDATE SET phase = excluded.phase, \
                             active_since = excluded.active_since, \
                             firing_since = excluded.firing_since, \
                             clear_since = excluded.clear_since, \
                             last_notified = excluded.last_notified, \
                             last_value = excluded.last_value, samples = excluded.samples, \
                             updated_ms = excluded.updated_ms",
                        )
                        .bind(s.rule_id)
                        .bind(labels_json(&s.labels))
                        .bind(phase_str(s.state.phase))
                        .bind(s.state.active_since)
                        .bind(s.state.firing_since)
                        .bind(s.state.clear_since)
                        .bind(s.state.last_notified)
                        .bind(s.state.last_value)
                        .bind(s.samples.min(i64::MAX as u64) as i64)
                        .bind(s.updated_ms)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for labels in &eval.forget {
                        sqlx::query("DELETE FROM alert_states WHERE rule_id = $1 AND labels = $2")
                            .bind(eval.rule_id)
                            .bind(labels_json(labels))
                            .execute(&mut *tx)
                            .await?;
                    }
                    for e in &eval.events {
                        let event_id: i64 = sqlx::query_scalar(
                            "INSERT INTO alert_events (rule_id, rule_name, labels, at_ms, \
                             from_phase, to_phase, value, notice, message) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                        )
                        .bind(eval.rule_id)
                        .bind(&eval.rule_name)
                        .bind(labels_json(&e.labels))
                        .bind(eval.at_ms)
                        .bind(phase_str(e.from))
                        .bind(phase_str(e.to))
                        .bind(e.value)
                        .bind(e.notice.map(notice_str))
                        .bind(e.message.as_ref().map(json))
                        .fetch_one(&mut *tx)
                        .await?;
                        let (Some(notice), Some(message)) = (e.notice, &e.message) else {
                            continue;
                        };
                        for (channel_id, channel_name) in &e.channels {
                            sqlx::query(
                                "INSERT INTO notifications (event_id, channel_id, channel_name, \
                                 notice, message, status, next_attempt_ms, created_ms) \
                                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
                            )
                            .bind(event_id)
                            .bind(channel_id)
                            .bind(channel_name)
                            .bind(notice_str(notice))
                            .bind(json(message))
                            .bind(eval.at_ms)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn list_channels(&self) -> Result<Vec<StoredChannel>> {
                    sqlx::query(
                        "SELECT id, name, config, source, created_ms, updated_ms FROM channels \
                         ORDER BY name",
                    )
                    .fetch_all(&self.read)
                    .await?
                    .iter()
                    .map(channel)
                    .collect()
                }

                async fn create_channel(
                    &self,
                    name: &str,
                    config: &ChannelConfig,
                    source: Source,
                    now_ms: i64,
                ) -> Result<i64> {
                    sqlx::query_scalar(
                        "INSERT INTO channels (name, config, source, created_ms, updated_ms) \
                         VALUES ($1, $2, $3, $4, $4) RETURNING id",
                    )
                    .bind(name)
                    .bind(json(config))
                    .bind(source.as_str())
                    .bind(now_ms)
                    .fetch_one(&self.write)
                    .await
                    .map_err(|e| conflict(e, format!("a channel named {name:?}")))
                }

                async fn update_channel(
                    &self,
                    id: i64,
                    name: &str,
                    config: &ChannelConfig,
                    now_ms: i64,
                ) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE channels SET name = $1, config = $2, updated_ms = $3 WHERE id = $4",
                    )
                    .bind(name)
                    .bind(json(config))
                    .bind(now_ms)
                    .bind(id)
                    .execute(&self.write)
                    .await
                    .map_err(|e| conflict(e, format!("a channel named {name:?}")))?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_channel(&self, id: i64) -> Result<bool> {
                    let done = sqlx::query("DELETE FROM channels WHERE id = $1")
                        .bind(id)
                        .execute(&self.write)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn sync_file_channels(
                    &self,
                    wanted: &[(String, ChannelConfig)],
                    now_ms: i64,
                ) -> Result<(usize, usize, usize)> {
                    let mut tx = self.write.begin().await?;
                    sync_lock(&mut tx).await?;
                    let existing: Vec<StoredChannel> = sqlx::query(
                        "SELECT id, name, config, source, created_ms, updated_ms FROM channels",
                    )
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(channel)
                    .collect::<Result<_>>()?;
                    let (mut created, mut updated, mut removed) = (0, 0, 0);
                    for (name, config) in wanted {
                        match existing.iter().find(|c| &c.name == name) {
                            Some(c) if c.config == *config && c.source == Source::File => {}
                            Some(c) => {
                                sqlx::query(
                                    "UPDATE channels SET config = $1, source = 'file', \
                                     updated_ms = $2 WHERE id = $3",
                                )
                                .bind(json(config))
                                .bind(now_ms)
                                .bind(c.id)
                                .execute(&mut *tx)
                                .await?;
                                updated += 1;
                            }
                            None => {
                                sqlx::query(
                                    "INSERT INTO channels (name, config, source, created_ms, \
                                     updated_ms) VALUES ($1, $2, 'file', $3, $3)",
                                )
                                .bind(name)
                                .bind(json(config))
                                .bind(now_ms)
                                .execute(&mut *tx)
                                .await?;
                                created += 1;
                            }
                        }
                    }
                    for c in &existing {
                        if c.source == Source::File && !wanted.iter().any(|(n, _)| n == &c.name) {
                            sqlx::query("DELETE FROM channels WHERE id = $1")
                                .bind(c.id)
                                .execute(&mut *tx)
                                .await?;
                            removed += 1;
                        }
                    }
                    tx.commit().await?;
                    Ok((created, updated, removed))
                }

                async fn list_silences(&self) -> Result<Vec<Silence>> {
                    sqlx::query(
                        "SELECT id, matchers, starts_ms, ends_ms, comment, created_ms \
                         FROM silences ORDER BY ends_ms DESC, id DESC",
                    )
                    .fetch_all(&self.read)
                    .await?
                    .iter()
                    .map(|row| {
                        let matchers: String = row.try_get(1)?;
                        Ok(Silence {
                            id: row.try_get(0)?,
                            matchers: from_json("silence", &matchers)?,
                            starts_ms: row.try_get(2)?,
                            ends_ms: row.try_get(3)?,
                            comment: row.try_get(4)?,
                            created_ms: row.try_get(5)?,
                        })
                    })
                    .collect()
                }

                async fn create_silence(
                    &self,
                    matchers: &[Matcher],
                    starts_ms: i64,
                    ends_ms: i64,
                    comment: &str,
                    now_ms: i64,
                ) -> Result<i64> {
                    Ok(sqlx::query_scalar(
                        "INSERT INTO silences (matchers, starts_ms, ends_ms, comment, created_ms) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    )
                    .bind(json(&matchers))
                    .bind(starts_ms)
                    .bind(ends_ms)
                    .bind(comment)
                    .bind(now_ms)
                    .fetch_one(&self.write)
                    .await?)
                }

                async fn expire_silence(&self, id: i64, now_ms: i64) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE silences SET ends_ms = $1 WHERE id = $2 AND ends_ms > $1",
                    )
                    .bind(now_ms)
                    .bind(id)
                    .execute(&self.write)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn queue_test(
                    &self,
                    channel_id: i64,
                    channel_name: &str,
                    message: &Message,
                    now_ms: i64,
                ) -> Result<i64> {
                    Ok(sqlx::query_scalar(
                        "INSERT INTO notifications (event_id, channel_id, channel_name, notice, \
                         message, status, next_attempt_ms, created_ms) \
                         VALUES (NULL, $1, $2, 'test', $3, 'pending', $4, $4) RETURNING id",
                    )
                    .bind(channel_id)
                    .bind(channel_name)
                    .bind(json(message))
                    .bind(now_ms)
                    .fetch_one(&self.write)
                    .await?)
                }

                async fn due_notifications(
                    &self,
                    now_ms: i64,
                    limit: i64,
                ) -> Result<Vec<Notification>> {
                    let sql = format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n \
                         WHERE n.status = 'pending' AND n.next_attempt_ms <= $1 \
                         AND n.id = (SELECT MIN(p.id) FROM notifications p \
                                     WHERE p.channel_id = n.channel_id AND p.status = 'pending') \
                         ORDER BY n.id LIMIT $2"
                    );
                    // Read from the writer's side: a row the last round just updated must
                    // not be seen pending again through a lagging reader snapshot.
                    sqlx::query(&sql)
                        .bind(now_ms)
                        .bind(limit)
                        .fetch_all(&self.write)
                        .await?
                        .iter()
                        .map(notification)
                        .collect()
                }

                async fn record_attempt(&self, id: i64, attempt: &Attempt, now_ms: i64) -> Result<()> {
                    let q = match attempt {
                        Attempt::Delivered => sqlx::query(
                            "UPDATE notifications SET status = 'delivered', attempts = attempts + 1, \
                             last_error = NULL, done_ms = $1 WHERE id = $2",
                        )
                        .bind(now_ms)
                        .bind(id),
                        Attempt::Silenced { silence_id } => sqlx::query(
                            "UPDATE notifications SET status = 'silenced', last_error = $1, \
                             done_ms = $2 WHERE id = $3",
                        )
                        .bind(format!("muted by silence #{silence_id}"))
                        .bind(now_ms)
                        .bind(id),
                        Attempt::Retry { next_attempt_ms, error } => sqlx::query(
                            "UPDATE notifications SET attempts = attempts + 1, \
                             next_attempt_ms = $1, last_error = $2 WHERE id = $3",
                        )
                        .bind(*next_attempt_ms)
                        .bind(error.clone())
                        .bind(id),
                        Attempt::GiveUp { error } => sqlx::query(
                            "UPDATE notifications SET status = 'failed', attempts = attempts + 1, \
                             last_error = $1, done_ms = $2 WHERE id = $3",
                        )
                        .bind(error.clone())
                        .bind(now_ms)
                        .bind(id),
                    };
                    q.execute(&self.write).await?;
                    Ok(())
                }

                async fn get_notification(&self, id: i64) -> Result<Option<Notification>> {
                    let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
                    sqlx::query(&sql)
                        .bind(id)
                        .fetch_optional(&self.write)
                        .await?
                        .as_ref()
                        .map(notification)
                        .transpose()
                }

                async fn events(
                    &self,
                    rule_id: Option<i64>,
                    before_id: Option<i64>,
                    limit: i64,
                ) -> Result<Vec<AlertEvent>> {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT id, rule_id, rule_name, labels, at_ms, from_phase, to_phase, \
                         value, notice FROM alert_events WHERE 1 = 1",
                    );
                    if let Some(r) = rule_id {
                        qb.push(" AND rule_id = ").push_bind(r);
                    }
                    if let Some(b) = before_id {
                        qb.push(" AND id < ").push_bind(b);
                    }
                    qb.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
                    let mut events: Vec<AlertEvent> = qb
                        .build()
                        .fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(|row| {
                            let labels: String = row.try_get(3)?;
                            let from: String = row.try_get(5)?;
                            let to: String = row.try_get(6)?;
                            Ok(AlertEvent {
                                id: row.try_get(0)?,
                                rule_id: row.try_get(1)?,
                                rule_name: row.try_get(2)?,
                                labels: labels_from(&labels)?,
                                at_ms: row.try_get(4)?,
                                from: phase_parse(&from),
                                to: phase_parse(&to),
                                value: row.try_get(7)?,
                                notice: row.try_get(8)?,
                                deliveries: Vec::new(),
                            })
                        })
                        .collect::<Result<_>>()?;
                    if events.is_empty() {
                        return Ok(events);
                    }
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE event_id IN ("
                    ));
                    let mut sep = qb.separated(", ");
                    for e in &events {
                        sep.push_bind(e.id);
                    }
                    qb.push(") ORDER BY id");
                    let mut by_event: BTreeMap<i64, Vec<Notification>> = BTreeMap::new();
                    for row in qb.build().fetch_all(&self.read).await? {
                        let n = notification(&row)?;
                        by_event.entry(n.event_id.unwrap_or(0)).or_default().push(n);
                    }
                    for e in &mut events {
                        e.deliveries = by_event.remove(&e.id).unwrap_or_default();
                    }
                    Ok(events)
                }
            }
        }
    };
}

pub(crate) use alert_sql;
