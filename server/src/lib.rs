//! Sightline: a self-hosted LLM observability server. Data flows one way:
//! receive → normalize → store (writer) → query → app pages; see DESIGN.md.

// The overview page's view type (Leptos 0.8 without `erase_components`, as release and
// cargo-leptos build it) is deeper than the default query depth of 128.
#![recursion_limit = "256"]

pub mod alerts;
pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod http;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod notify;
pub mod query;
pub mod receive;
pub mod retention;
pub mod rollup;
pub mod schedule;
pub mod store;
