//! What access control keeps in the database (migration 0009): users, their sign-in sessions
//! and API keys. One trait; the SQL, the same for both backends, is in `access_sql.rs`.
//! Secrets never reach this layer in clear: it stores and looks up hashes.

use app::types::{KeyScopes, Role};

use super::Result;

/// A user as stored, with the password hash (never leaves the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub must_change_password: bool,
    pub created_ms: i64,
    pub disabled_ms: Option<i64>,
}

/// An API key as stored: its hash, never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: KeyScopes,
    pub created_by: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

#[async_trait::async_trait]
pub trait AccessStore: Send + Sync {
    async fn count_users(&self) -> Result<i64>;
    /// `Conflict` when the name is taken.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        must_change_password: bool,
        now_ms: i64,
    ) -> Result<i64>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>>;
    async fn user(&self, id: i64) -> Result<Option<UserRow>>;
    /// Every user, by name.
    async fn users(&self) -> Result<Vec<UserRow>>;
    /// `NotFound` for an unknown id.
    async fn set_role(&self, id: i64, role: Role) -> Result<()>;
    /// Replaces the password; every session of the user but `keep` (a token hash) ends, so a
    /// reset locks out whoever knew the old one.
    async fn set_password(
        &self,
        id: i64,
        password_hash: &str,
        must_change: bool,
        keep: Option<&str>,
    ) -> Result<()>;
    /// Disables (`Some`) or re-enables (`None`) an account; disabling ends its sessions.
    async fn set_disabled(&self, id: i64, disabled_ms: Option<i64>) -> Result<()>;
    /// Deletes a user and their sessions.
    async fn delete_user(&self, id: i64) -> Result<()>;

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<()>;
    /// The enabled user a live session belongs to.
    async fn session_user(&self, token_hash: &str, now_ms: i64) -> Result<Option<UserRow>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Removes expired sessions; answers how many.
    async fn sweep_sessions(&self, now_ms: i64) -> Result<u64>;

    async fn create_api_key(
        &self,
        name: &str,
        prefix: &str,
        key_hash: &str,
        scopes: KeyScopes,
        created_by: &str,
        now_ms: i64,
    ) -> Result<i64>;
    /// Every key, revoked ones included (the UI shows when they were revoked), newest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRow>>;
    /// A key that is not revoked.
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>>;
    /// `NotFound` for an unknown or already revoked key.
    async fn revoke_api_key(&self, id: i64, now_ms: i64) -> Result<()>;
    async fn touch_api_key(&self, id: i64, now_ms: i64) -> Result<()>;
}
