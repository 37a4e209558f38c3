//! One module per route; route components end in `Page`.

pub mod overview;
pub mod prices;
pub mod session;
pub mod sessions;
pub mod trace;
pub mod traces;
