//! OTLP/HTTP protobuf: any bytes through the decoder, the request checks and the whole
//! normalisation (LLM conventions, cost, redaction) must answer a value or an error, never
//! panic, whatever a client sends.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ExportTraceServiceRequest::decode(data) {
        common::normalise(req);
    }
});
