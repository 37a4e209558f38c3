//! `#[server]` functions: the only door from pages to data. Each one validates its arguments,
//! calls one [`crate::contract::Contract`] method and maps the error.

pub mod overview;
pub mod prices;
pub mod sessions;
pub mod trace;
pub mod traces;
