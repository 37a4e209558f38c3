//! The built-in demo: a MangaAssist chatbot workload (a port of `shared/bench/workload.py`)
//! and a sender that feeds it to a Sightline server over OTLP/HTTP, so a first run shows live
//! dashboards. It talks to the server only through the public ingest endpoint.

mod catalog;
mod rag;
pub mod sender;
mod tree;
pub mod workload;

pub use sender::{run, run_with_knobs, DemoReport, DemoSettings};
pub use workload::{
    encode_request, into_request, resource, Conventions, DemoTrace, Knobs, Session, Sessions,
    TraceMeta, Workload,
};
