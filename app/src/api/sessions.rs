//! Server functions of the sessions pages: the list of conversations and one conversation.

use leptos::prelude::*;

use crate::types::{SessionDetail, SessionPage};
use crate::AppError;

/// One page of sessions, newest activity first, after `cursor`.
#[server]
pub async fn list_sessions(cursor: Option<String>, limit: u32) -> Result<SessionPage, AppError> {
    if !(1..=500).contains(&limit) {
        return Err(AppError::Invalid {
            field: "limit".into(),
            message: format!("must be between 1 and 500, got {limit}"),
        });
    }
    let cursor = cursor.filter(|c| !c.is_empty());
    let backend = crate::contract::contract()?;
    backend.list_sessions(cursor, limit).await
}

/// One session's totals and its traces in start order.
#[server]
pub async fn get_session(session_id: String) -> Result<SessionDetail, AppError> {
    let session_id = session_id.trim().to_string();
    if session_id.is_empty() || session_id.len() > 1024 {
        return Err(AppError::Invalid {
            field: "session_id".into(),
            message: "must be 1 to 1024 characters".into(),
        });
    }
    let backend = crate::contract::contract()?;
    backend.get_session(session_id).await
}
