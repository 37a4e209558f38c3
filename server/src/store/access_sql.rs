//! Access-control SQL, the same text for SQLite and PostgreSQL, expanded per backend by
//! [`access_sql!`] into `AccessTables`, the backend's [`AccessStore`].
//!
//! [`AccessStore`]: super::access::AccessStore

use app::types::{KeyScopes, Role};

use super::{Error, Result};

pub(crate) fn role_from(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| Error::Corrupt(format!("stored role {s:?}")))
}

pub(crate) fn scopes_from(s: &str) -> Result<KeyScopes> {
    KeyScopes::parse(s).map_err(|e| Error::Corrupt(format!("stored key scopes {s:?}: {e}")))
}

macro_rules! access_sql {
    ($db:ty) => {
        pub(crate) mod access_sql_impl {
            use sqlx::{Pool, Row};

            use app::types::{KeyScopes, Role};
            use crate::store::access::*;
            use crate::store::access_sql::{role_from, scopes_from};
            use crate::store::alert_sql::conflict;
            use crate::store::{Error, Result};

            type Row_ = <$db as sqlx::Database>::Row;

            pub struct AccessTables {
                pub write: Pool<$db>,
                pub read: Pool<$db>,
            }

            const USER_COLUMNS: &str = "id, username, password_hash, role, \
                 must_change_password, created_ms, disabled_ms";
            const KEY_COLUMNS: &str =
                "id, name, prefix, scopes, created_by, created_ms, last_used_ms, revoked_ms";

            fn user(row: &Row_) -> Result<UserRow> {
                let role: String = row.try_get(3)?;
                Ok(UserRow {
                    id: row.try_get(0)?,
                    username: row.try_get(1)?,
                    password_hash: row.try_get(2)?,
                    role: role_from(&role)?,
                    must_change_password: row.try_get(4)?,
                    created_ms: row.try_get(5)?,
                    disabled_ms: row.try_get(6)?,
                })
            }

            fn key(row: &Row_) -> Result<ApiKeyRow> {
                let scopes: String = row.try_get(3)?;
                Ok(ApiKeyRow {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    prefix: row.try_get(2)?,
                    scopes: scopes_from(&scopes)?,
                    created_by: row.try_get(4)?,
                    created_ms: row.try_get(5)?,
                    last_used_ms: row.try_get(6)?,
                    revoked_ms: row.try_get(7)?,
                })
            }

            fn found(rows: u64, what: String) -> Result<()> {
                if rows == 0 {
                    Err(Error::NotFound(what))
                } else {
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl AccessStore for AccessTables {
                async fn count_users(&self) -> Result<i64> {
                    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
                        .fetch_one(&self.read)
                        .await?)
                }

                async fn create_user(
                    &self,
                    username: &str,
                    password_hash: &str,
                    role: Role,
                    must_change_password: bool,
                    now_ms: i64,
                ) -> Result<i64> {
                    sqlx::query_scalar(
                        "INSERT INTO users (username, password_hash, role, \
                         must_change_password, created_ms) VALUES ($1, $2, $3, $4, $5) \
                         RETURNING id",
                    )
                    .bind(username)
                    .bind(password_hash)
                    .bind(role.as_str())
                    .bind(must_change_password)
                    .bind(now_ms)
                    .fetch_one(&self.write)
                    .await
                    .map_err(|e| conflict(e, format!("user {username:?}")))
                }

                async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
                    let row = sqlx::query(&sql).bind(username).fetch_optional(&self.read).await?;
                    row.as_ref().map(user).transpose()
                }

                async fn user(&self, id: i64) -> Result<Option<UserRow>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                    let row = sqlx::query(&sql).bind(id).fetch_optional(&self.read).await?;
                    row.as_ref().map(user).transpose()
                }

                async fn users(&self) -> Result<Vec<UserRow>> {
                    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
                    let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
                    rows.iter().map(user).collect()
                }

                async fn set_role(&self, id: i64, role: Role) -> Result<()> {
                    let r = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                        .bind(role.as_str())
                        .bind(id)
                        .execute(&self.write)
                        .await?;
                    found(r.rows_affected(), format!("user {id}"))
                }

                async fn set_password(
                    &self,
                    id: i64,
                    password_hash: &str,
                    must_change: bool,
                    keep: Option<&str>,
                ) -> Result<()> {
                    let mut tx = self.write.begin().await?;
                    let r = sqlx::query(
                        "UPDATE users SET password_hash = $1, must_change_password = $2 \
                         WHERE id = $3",
                    )
                    .bind(password_hash)
                    .bind(must_change)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    found(r.rows_affected(), format!("user {id}"))?;
                    sqlx::query(
                        "DELETE FROM user_sessions WHERE user_id = $1 AND token_hash <> $2",
                    )
                    .bind(id)
                    .bind(keep.unwrap_or(""))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn set_disabled(&self, id: i64, disabled_ms: Option<i64>) -> Result<()> {
                    let mut tx = self.write.begin().await?;
                    let r = sqlx::query("UPDATE users SET disabled_ms = $1 WHERE id = $2")
                        .bind(disabled_ms)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    found(r.rows_affected(), format!("user {id}"))?;
                    if disabled_ms.is_some() {
                        sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn delete_user(&self, id: i64) -> Result<()> {
                    let mut tx = self.write.begin().await?;
                    sqlx::query("DELETE FROM user_sessions WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let r = sqlx::query("DELETE FROM users WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    found(r.rows_affected(), format!("user {id}"))?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn create_session(
                    &self,
                    token_hash: &str,
                    user_id: i64,
                    now_ms: i64,
                    expires_ms: i64,
                ) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO user_sessions (token_hash, user_id, created_ms, expires_ms) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(token_hash)
                    .bind(user_id)
                    .bind(now_ms)
                    .bind(expires_ms)
                    .execute(&self.write)
                    .await?;
                    Ok(())
                }

                async fn session_user(
                    &self,
                    token_hash: &str,
                    now_ms: i64,
                ) -> Result<Option<UserRow>> {
                    // Every page view asks this: one fixed statement.
                    const SQL: &str = "SELECT u.id, u.username, u.password_hash, u.role, \
                         u.must_change_password, u.created_ms, u.disabled_ms \
                         FROM user_sessions s JOIN users u ON u.id = s.user_id \
                         WHERE s.token_hash = $1 AND s.expires_ms > $2 AND u.disabled_ms IS NULL";
                    let row = sqlx::query(SQL)
                        .bind(token_hash)
                        .bind(now_ms)
                        .fetch_optional(&self.read)
                        .await?;
                    row.as_ref().map(user).transpose()
                }

                async fn delete_session(&self, token_hash: &str) -> Result<()> {
                    sqlx::query("DELETE FROM user_sessions WHERE token_hash = $1")
                        .bind(token_hash)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                async fn sweep_sessions(&self, now_ms: i64) -> Result<u64> {
                    let r = sqlx::query("DELETE FROM user_sessions WHERE expires_ms <= $1")
                        .bind(now_ms)
                        .execute(&self.write)
                        .await?;
                    Ok(r.rows_affected())
                }

                async fn create_api_key(
                    &self,
                    name: &str,
                    prefix: &str,
                    key_hash: &str,
                    scopes: KeyScopes,
                    created_by: &str,
                    now_ms: i64,
                ) -> Result<i64> {
                    sqlx::query_scalar(
                        "INSERT INTO api_keys (name, prefix, key_hash, scopes, created_by, \
                         created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(name)
                    .bind(prefix)
                    .bind(key_hash)
                    .bind(scopes.to_string())
                    .bind(created_by)
                    .bind(now_ms)
                    .fetch_one(&self.write)
                    .await
                    .map_err(|e| conflict(e, "API key".into()))
                }

                async fn api_keys(&self) -> Result<Vec<ApiKeyRow>> {
                    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id DESC");
                    let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
                    rows.iter().map(key).collect()
                }

                async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>> {
                    let sql = format!(
                        "SELECT {KEY_COLUMNS} FROM api_keys \
                         WHERE key_hash = $1 AND revoked_ms IS NULL"
                    );
                    let row = sqlx::query(&sql).bind(key_hash).fetch_optional(&self.read).await?;
                    row.as_ref().map(key).transpose()
                }

                async fn revoke_api_key(&self, id: i64, now_ms: i64) -> Result<()> {
                    let r = sqlx::query(
                        "UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL",
                    )
                    .bind(now_ms)
                    .bind(id)
                    .execute(&self.write)
                    .await?;
                    found(r.rows_affected(), format!("API key {id}"))
                }

                async fn touch_api_key(&self, id: i64, now_ms: i64) -> Result<()> {
                    sqlx::query("UPDATE api_keys SET last_used_ms = $1 WHERE id = $2")
                        .bind(now_ms)
                        .bind(id)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use access_sql;
