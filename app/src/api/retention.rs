//! Server function of the storage page: the retention policy, sizes, what runs delete.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::answered;
use crate::types::RetentionStatus;
use crate::AppError;

/// Every role may read it; the policy itself is set by flags at start.
#[server]
pub async fn get_retention() -> Result<RetentionStatus, AppError> {
    answered(async move { crate::contract::contract()?.retention_status().await }.await)
}
