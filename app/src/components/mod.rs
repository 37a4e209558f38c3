//! Reusable view pieces.

pub mod span_detail;
pub mod status;
pub mod waterfall;
