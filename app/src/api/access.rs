//! Server functions of access control: who am I, the access page (users and API keys,
//! admins only) and the account page (one's own password). Secrets created here (a new
//! key, a one-time password) are answered once and never stored in clear.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::answered;
use super::invalid;
#[cfg(feature = "ssr")]
use super::{principal, require};
use crate::types::{AccessOverview, OneTimeSecret, Principal};
#[cfg(feature = "ssr")]
use crate::types::{KeyScopes, Role};
use crate::AppError;

/// The signed-in user (the local admin with authentication off).
#[server]
pub async fn whoami() -> Result<Principal, AppError> {
    answered(principal())
}

/// Users and API keys.
#[server]
pub async fn get_access() -> Result<AccessOverview, AppError> {
    answered(
        async move {
            require(Role::Admin)?;
            crate::contract::accounts()?.access_overview().await
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn parse_role(text: &str) -> Result<Role, AppError> {
    Role::parse(text).ok_or_else(|| {
        invalid(
            "role",
            &format!("must be viewer, editor or admin, got {text:?}"),
        )
    })
}

/// A new user with a one-time password (answered once; they choose their own at first
/// sign-in).
#[server]
pub async fn create_user(username: String, role: String) -> Result<OneTimeSecret, AppError> {
    answered(
        async move {
            require(Role::Admin)?;
            let role = parse_role(&role)?;
            crate::contract::accounts()?
                .create_user(username, role)
                .await
        }
        .await,
    )
}

#[server]
pub async fn set_user_role(id: String, role: String) -> Result<(), AppError> {
    answered(
        async move {
            let by = require(Role::Admin)?;
            let id = super::alerts::parse_id("id", &id)?;
            let role = parse_role(&role)?;
            crate::contract::accounts()?.set_role(&by, id, role).await
        }
        .await,
    )
}

/// A new one-time password; the user's sessions end.
#[server]
pub async fn reset_user_password(id: String) -> Result<OneTimeSecret, AppError> {
    answered(
        async move {
            require(Role::Admin)?;
            let id = super::alerts::parse_id("id", &id)?;
            crate::contract::accounts()?.reset_password(id).await
        }
        .await,
    )
}

/// Disables (`disabled` = `true`) or re-enables an account.
#[server]
pub async fn set_user_disabled(id: String, disabled: String) -> Result<(), AppError> {
    answered(
        async move {
            let by = require(Role::Admin)?;
            let id = super::alerts::parse_id("id", &id)?;
            let disabled = disabled.trim() == "true";
            crate::contract::accounts()?
                .set_disabled(&by, id, disabled)
                .await
        }
        .await,
    )
}

#[server]
pub async fn delete_user(id: String) -> Result<(), AppError> {
    answered(
        async move {
            let by = require(Role::Admin)?;
            let id = super::alerts::parse_id("id", &id)?;
            crate::contract::accounts()?.delete_user(&by, id).await
        }
        .await,
    )
}

/// A new API key; the form's checkboxes (`ingest`, `read`) are present when ticked.
#[server]
pub async fn create_api_key(
    name: String,
    ingest: Option<String>,
    read: Option<String>,
) -> Result<OneTimeSecret, AppError> {
    answered(
        async move {
            let by = require(Role::Admin)?;
            let scopes = KeyScopes {
                ingest: ingest.is_some(),
                read: read.is_some(),
            };
            if !scopes.ingest && !scopes.read {
                return Err(invalid("scopes", "choose at least one: ingest, read"));
            }
            crate::contract::accounts()?
                .create_api_key(&by, name, scopes)
                .await
        }
        .await,
    )
}

#[server]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    answered(
        async move {
            require(Role::Admin)?;
            let id = super::alerts::parse_id("id", &id)?;
            crate::contract::accounts()?.revoke_api_key(id).await
        }
        .await,
    )
}

/// Changes one's own password; other sessions end, this one stays.
#[server]
pub async fn change_password(
    current: String,
    new: String,
    confirm: String,
) -> Result<(), AppError> {
    answered(
        async move {
            let who = principal()?;
            if new != confirm {
                return Err(invalid("confirm", "the two new passwords differ"));
            }
            let keep = use_context::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<crate::contract::SessionToken>().cloned());
            crate::contract::accounts()?
                .change_password(&who, current, new, keep)
                .await
        }
        .await,
    )
}
