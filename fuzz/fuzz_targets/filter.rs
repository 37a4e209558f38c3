//! The trace filter grammar, as typed into the explorer's search box (and sent in URLs):
//! any text parses to an expression or a positioned error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = app::filter::parse(text);
    }
});
