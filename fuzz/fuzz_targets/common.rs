//! What the OTLP targets share: a decoded request through the request checks and the whole
//! normalisation, with the price table and redactor built once (compiling the redaction
//! regexes per input would dwarf the work under test).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use sightline::normalize::{GuardrailKeys, PriceTable, RedactionConfig, Redactor};
use sightline::receive::{otlp, prepare, Limits};

fn fixtures() -> &'static (PriceTable, Redactor) {
    static FIXTURES: std::sync::OnceLock<(PriceTable, Redactor)> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(|| {
        (
            PriceTable::new(sightline::normalize::pricing::seed_prices()),
            Redactor::new(&RedactionConfig::standard()).expect("standard redaction"),
        )
    })
}

pub fn normalise(req: ExportTraceServiceRequest) {
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
}
