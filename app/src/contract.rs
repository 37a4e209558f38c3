//! What the pages need from the backend (server side only). `server` implements it and hands
//! it to Leptos with `provide_context(Arc<dyn Contract>)`; `#[server]` functions fetch it with
//! [`contract`]. Keeping this a trait keeps SQL out of this crate.

use std::sync::Arc;

use crate::types::{TraceListQuery, TraceSummary};
use crate::AppError;

#[async_trait::async_trait]
pub trait Contract: Send + Sync + 'static {
    /// Newest traces first.
    async fn list_traces(&self, query: TraceListQuery) -> Result<Vec<TraceSummary>, AppError>;
}

/// The backend provided by the server for this request.
pub fn contract() -> Result<Arc<dyn Contract>, AppError> {
    leptos::prelude::use_context::<Arc<dyn Contract>>()
        .ok_or_else(|| AppError::Unavailable("BUG: no Contract in the Leptos context".into()))
}
