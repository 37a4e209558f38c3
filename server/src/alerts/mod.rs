//! Alerting: rules on trace-derived metrics read from rollups (`rule`, `measure`), the state
//! machine that turns evaluations into firing and resolved notices (`state`), the evaluator
//! that persists them with their outbox rows (`engine`, rendering in `render`, the span to
//! blame in `culprit`), and the sender that delivers the outbox (`sender`). Evaluation and
//! notification are separate, as in Prometheus and Alertmanager.

pub mod backtest;
pub mod culprit;
pub mod engine;
pub mod measure;
pub mod render;
pub mod rule;
pub mod sender;
pub mod state;
