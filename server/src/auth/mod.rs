//! Access control: who may do what. Users with argon2-hashed passwords and roles (viewer,
//! editor, admin) sign in to sessions held in HttpOnly cookies; clients send API keys with
//! scopes (ingest, read). With authentication off — the default, for a loopback
//! single-user setup — everyone is the local admin, and the server refuses to listen beyond
//! loopback unless told to.
//!
//! - `secret`: hashing and generating passwords, tokens and keys;
//! - `gate`: the checks (keys, sessions, sign-in);
//! - `middleware`: the access layer of the main port, with CSRF refusal;
//! - `routes`: the sign-in and sign-out form handlers;
//! - `accounts`: managing users and keys (the access page);
//! - `static_keys`: keys given with `--api-key`;
//! - `cli`: `sightline user ...`.

pub mod accounts;
pub mod cli;
pub mod gate;
pub mod middleware;
pub mod routes;
pub mod secret;
pub mod static_keys;

pub use gate::{Gate, Scope};
pub use static_keys::ApiKeys;
