//! Managing users and API keys ([`app::contract::Accounts`]): validation, the invariants
//! (an enabled admin always remains; no one locks themselves out), hashing. Roles were
//! checked by the server function that called.

use std::sync::Arc;

use app::contract::SessionToken;
use app::types::{AccessOverview, ApiKeyView, KeyScopes, OneTimeSecret, Principal, Role, UserView};
use app::AppError;

use super::gate::Gate;
use super::secret;
use crate::store::access::{AccessStore, UserRow};
use crate::store::{self, now_ms};

pub struct Accounts {
    gate: Arc<Gate>,
}

impl Accounts {
    pub fn new(gate: Arc<Gate>) -> Accounts {
        Accounts { gate }
    }

    fn store(&self) -> &Arc<dyn AccessStore> {
        self.gate.store()
    }

    async fn user(&self, id: i64) -> Result<UserRow, AppError> {
        self.store()
            .user(id)
            .await
            .map_err(storage)?
            .ok_or_else(|| AppError::NotFound(format!("user {id}")))
    }

    /// Refuses a change that would leave no enabled admin.
    async fn keeps_an_admin(&self, changed: &UserRow) -> Result<(), AppError> {
        let users = self.store().users().await.map_err(storage)?;
        let others = users
            .iter()
            .filter(|u| u.id != changed.id && u.role == Role::Admin && u.disabled_ms.is_none())
            .count();
        if others == 0 && changed.role == Role::Admin && changed.disabled_ms.is_none() {
            return Err(invalid(
                "user",
                &format!("{} is the last enabled admin", changed.username),
            ));
        }
        Ok(())
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn storage(e: store::Error) -> AppError {
    match e {
        store::Error::NotFound(what) => AppError::NotFound(what),
        store::Error::Conflict(what) => invalid("name", &format!("{what} already exists")),
        other => {
            tracing::error!(error = %other, "Access storage failed.");
            AppError::Unavailable("storage unavailable; see the server log".into())
        }
    }
}

/// User names: what people type at sign-in; no spaces or control characters.
pub fn check_username(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > 64 {
        return Err(invalid("username", "1 to 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(invalid("username", "letters, digits and . _ - @ only"));
    }
    Ok(name.to_string())
}

async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .map_err(|e| AppError::Unavailable(format!("password hashing failed: {e}")))
}

fn user_view(u: UserRow) -> UserView {
    UserView {
        id: u.id,
        username: u.username,
        role: u.role,
        created_ms: u.created_ms,
        disabled: u.disabled_ms.is_some(),
        must_change_password: u.must_change_password,
    }
}

#[async_trait::async_trait]
impl app::contract::Accounts for Accounts {
    async fn access_overview(&self) -> Result<AccessOverview, AppError> {
        let users = self.store().users().await.map_err(storage)?;
        let keys = self.store().api_keys().await.map_err(storage)?;
        Ok(AccessOverview {
            auth_enabled: self.gate.enabled(),
            users: users.into_iter().map(user_view).collect(),
            api_keys: keys
                .into_iter()
                .map(|k| ApiKeyView {
                    id: k.id,
                    name: k.name,
                    prefix: k.prefix,
                    scopes: k.scopes,
                    created_by: k.created_by,
                    created_ms: k.created_ms,
                    last_used_ms: k.last_used_ms,
                    revoked_ms: k.revoked_ms,
                })
                .collect(),
            static_keys: self.gate.static_key_count(),
        })
    }

    async fn create_user(&self, username: String, role: Role) -> Result<OneTimeSecret, AppError> {
        let username = check_username(&username)?;
        let password = secret::one_time_password();
        let h = hash(password.clone()).await?;
        self.store()
            .create_user(&username, &h, role, true, now_ms())
            .await
            .map_err(|e| match e {
                store::Error::Conflict(_) => invalid("username", &format!("{username} is taken")),
                other => storage(other),
            })?;
        tracing::info!(user = %username, role = role.as_str(), "User created.");
        Ok(OneTimeSecret {
            label: format!("One-time password for {username}"),
            secret: password,
        })
    }

    async fn set_role(&self, by: &Principal, id: i64, role: Role) -> Result<(), AppError> {
        let user = self.user(id).await?;
        if role != Role::Admin {
            self.keeps_an_admin(&user).await?;
        }
        if user.username == by.username && by.auth_enabled && role < by.role {
            return Err(invalid("role", "you cannot lower your own role"));
        }
        self.store().set_role(id, role).await.map_err(storage)?;
        tracing::info!(user = %user.username, role = role.as_str(), by = %by.username, "Role changed.");
        Ok(())
    }

    async fn reset_password(&self, id: i64) -> Result<OneTimeSecret, AppError> {
        let user = self.user(id).await?;
        let password = secret::one_time_password();
        let h = hash(password.clone()).await?;
        self.store()
            .set_password(id, &h, true, None)
            .await
            .map_err(storage)?;
        tracing::info!(user = %user.username, "Password reset.");
        Ok(OneTimeSecret {
            label: format!("One-time password for {}", user.username),
            secret: password,
        })
    }

    async fn set_disabled(&self, by: &Principal, id: i64, disabled: bool) -> Result<(), AppError> {
        let user = self.user(id).await?;
        if disabled {
            if user.username == by.username && by.auth_enabled {
                return Err(invalid("user", "you cannot disable yourself"));
            }
            self.keeps_an_admin(&user).await?;
        }
        self.store()
            .set_disabled(id, disabled.then(now_ms))
            .await
            .map_err(storage)?;
        tracing::info!(user = %user.username, disabled, by = %by.username, "Account changed.");
        Ok(())
    }

    async fn delete_user(&self, by: &Principal, id: i64) -> Result<(), AppError> {
        let user = self.user(id).await?;
        if user.username == by.username && by.auth_enabled {
            return Err(invalid("user", "you cannot delete yourself"));
        }
        self.keeps_an_admin(&user).await?;
        self.store().delete_user(id).await.map_err(storage)?;
        tracing::info!(user = %user.username, by = %by.username, "User deleted.");
        Ok(())
    }

    async fn change_password(
        &self,
        who: &Principal,
        current: String,
        new: String,
        keep: Option<SessionToken>,
    ) -> Result<(), AppError> {
        if !who.auth_enabled {
            return Err(invalid(
                "current",
                "authentication is off: there is no password to change",
            ));
        }
        secret::check_new_password(&new).map_err(|m| invalid("new", &m))?;
        if new == current {
            return Err(invalid("new", "must differ from the current password"));
        }
        let user = self
            .store()
            .user_by_name(&who.username)
            .await
            .map_err(storage)?
            .ok_or(AppError::Unauthorized)?;
        let phc = user.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || secret::verify_password(&current, &phc))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(invalid("current", "wrong password"));
        }
        let h = hash(new).await?;
        self.store()
            .set_password(user.id, &h, false, keep.as_ref().map(|k| k.0.as_str()))
            .await
            .map_err(storage)?;
        tracing::info!(user = %user.username, "Password changed.");
        Ok(())
    }

    async fn create_api_key(
        &self,
        by: &Principal,
        name: String,
        scopes: KeyScopes,
    ) -> Result<OneTimeSecret, AppError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(invalid("name", "1 to 100 characters"));
        }
        let (key, shown) = secret::new_api_key();
        self.store()
            .create_api_key(
                &name,
                &shown,
                &secret::token_hash(&key),
                scopes,
                &by.username,
                now_ms(),
            )
            .await
            .map_err(storage)?;
        tracing::info!(key = %name, scopes = %scopes, by = %by.username, "API key created.");
        Ok(OneTimeSecret {
            label: format!("API key {name} ({scopes})"),
            secret: key,
        })
    }

    async fn revoke_api_key(&self, id: i64) -> Result<(), AppError> {
        self.store()
            .revoke_api_key(id, now_ms())
            .await
            .map_err(storage)?;
        self.gate.forget_keys();
        tracing::info!(key = id, "API key revoked.");
        Ok(())
    }
}

/// The first admin, when authentication is on and there is no user yet: `admin` with a
/// one-time password, answered so the caller prints it once.
pub async fn first_admin(store: &dyn AccessStore) -> anyhow::Result<Option<(String, String)>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let password = secret::one_time_password();
    let h = hash(password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match store
        .create_user("admin", &h, Role::Admin, true, now_ms())
        .await
    {
        Ok(_) => Ok(Some(("admin".into(), password))),
        // Another process sharing the database made it first.
        Err(store::Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
