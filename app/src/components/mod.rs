//! Reusable view pieces.

pub mod span_detail;
pub mod stat;
pub mod status;
pub mod waterfall;
