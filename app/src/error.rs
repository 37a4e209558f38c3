//! The one error type pages and `#[server]` functions share; it crosses the wire as JSON and
//! carries its own HTTP status for SSR.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("sign-in required")]
    Unauthorized,
    /// Signed in, but the role does not allow it; says what would.
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    ServerFn(#[from] ServerFnErrorErr),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value)
    }
}

impl AppError {
    /// The HTTP status an SSR response carrying this error should have.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::NotFound(_) => 404,
            AppError::Invalid { .. } => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::Unavailable(_) => 503,
            AppError::ServerFn(_) => 500,
        }
    }
}
