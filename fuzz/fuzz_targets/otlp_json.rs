//! OTLP/HTTP JSON: any bytes through the JSON decoder (hex or base64 ids, int64 as strings,
//! nested AnyValues), then the request checks and normalisation.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = sightline::receive::otlp_json::decode(data) {
        common::normalise(req);
    }
});
