//! Sightline: a self-hosted LLM observability server. Data flows one way:
//! receive → normalize → store (writer) → query → app pages; see DESIGN.md.

pub mod config;
pub mod demo;
pub mod error;
pub mod http;
pub mod model;
pub mod normalize;
pub mod query;
pub mod receive;
pub mod store;
