//! Reusable view pieces.

pub mod alerts;
pub mod filter_draft;
pub mod overview;
pub mod span_detail;
pub mod stat;
pub mod status;
pub mod waterfall;
