//! `#[server]` functions: the only door from pages to data. Each one validates its arguments,
//! calls one [`crate::contract::Contract`] method and maps the error.

pub mod access;
pub mod alerts;
pub mod overview;
pub mod prices;
pub mod retention;
pub mod sessions;
pub mod trace;
pub mod traces;

use crate::AppError;

/// Gives the HTTP response the error's status (400 for a bad field, 404 for a missing row,
/// 503 for a channel that refused a test) instead of server functions' blanket 500, so API
/// clients can tell their mistakes from ours.
#[cfg(feature = "ssr")]
pub(crate) fn answered<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    use leptos::prelude::use_context;
    if let Err(e) = &result {
        if let (Some(options), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(e.status_code()),
        ) {
            options.set_status(status);
        }
    }
    result
}

pub(crate) fn invalid(field: &str, message: &str) -> AppError {
    AppError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Who is asking, as the server's access layer found them. A request that did not pass
/// through it (there is none in the app) counts as signed out.
#[cfg(feature = "ssr")]
pub(crate) fn principal() -> Result<crate::types::Principal, AppError> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::types::Principal>().cloned())
        .ok_or(AppError::Unauthorized)
}

/// The caller, if their role is at least `role`.
///
/// # Errors
/// `Unauthorized` when signed out, `Forbidden` naming the role needed.
#[cfg(feature = "ssr")]
pub(crate) fn require(role: crate::types::Role) -> Result<crate::types::Principal, AppError> {
    let who = principal()?;
    if who.may(role) {
        Ok(who)
    } else {
        Err(AppError::Forbidden(format!(
            "{} is a {}; this needs the {} role",
            who.username,
            who.role.as_str(),
            role.as_str()
        )))
    }
}
