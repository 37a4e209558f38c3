//! OTLP/HTTP JSON: any bytes through the JSON decoder (hex or base64 ids, int64 as strings,
//! nested AnyValues), then the request checks and normalisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline::normalize::{GuardrailKeys, PriceTable, RedactionConfig, Redactor};
use sightline::receive::{otlp, otlp_json, prepare, Limits};

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
    let Ok(req) = otlp_json::decode(data) else {
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
