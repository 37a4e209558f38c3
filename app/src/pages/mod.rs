//! One module per route; route components end in `Page`.

pub mod trace;
pub mod traces;
