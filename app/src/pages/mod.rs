//! One module per route; route components end in `Page`.

pub mod access;
pub mod account;
pub mod alert_history;
pub mod alert_rule;
pub mod alerts;
pub mod login;
pub mod overview;
pub mod prices;
pub mod retention;
pub mod session;
pub mod sessions;
pub mod trace;
pub mod traces;
