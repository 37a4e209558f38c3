//! Alerting: rules on trace-derived metrics read from rollups (`rule`), and the state
//! machine that turns evaluations into firing and resolved notices (`state`). Evaluation
//! and notification are separate, as in Prometheus and Alertmanager.

pub mod measure;
pub mod rule;
pub mod state;
