//! OTLP/HTTP protobuf: any bytes through the decoder, the request checks and the whole
//! normalisation (LLM conventions, cost, redaction) must answer a value or an error, never
//! panic, whatever a client sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use sightline::normalize::{GuardrailKeys, PriceTable, RedactionConfig, Redactor};
use sightline::receive::{otlp, prepare, Limits};

/// Built once: compiling the redaction regexes per input would dwarf the work under test.
fn fixtures() -> &'static (PriceTable, Redactor) {
    static FIXTURES: std::sync::OnceLock<(PriceTable, Redactor)> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(|| {
        (
            PriceTable::new(sightline::normalize::pricing::seed_prices()),
            Redactor::new(&RedactionConfig::standard()).expect("standard redaction"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = ExportTraceServiceRequest::decode(data) else {
        return;
    };
    if let Ok(decoded) = otlp::decode_request(req, &Limits::default()) {
        let (prices, redactor) = fixtures();
        let _ = prepare(
            0,
            decoded.groups,
            prices,
            &GuardrailKeys::default(),
            redactor,
        );
    }
});
