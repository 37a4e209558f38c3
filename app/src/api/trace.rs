//! Server functions of the trace page: the span tree for the waterfall and one span's detail.

use leptos::prelude::*;

use crate::types::{SpanDetail, TraceTree};
use crate::AppError;

/// Every span of a trace without payloads: one call draws the whole waterfall.
#[server]
pub async fn get_trace_tree(trace_id: String) -> Result<TraceTree, AppError> {
    let trace_id = hex_id("trace_id", &trace_id, 32)?;
    let backend = crate::contract::contract()?;
    backend.get_trace_tree(trace_id).await
}

/// One span with attributes, events, inputs/outputs and the chat they hold.
#[server]
pub async fn get_span(trace_id: String, span_id: String) -> Result<SpanDetail, AppError> {
    let trace_id = hex_id("trace_id", &trace_id, 32)?;
    let span_id = hex_id("span_id", &span_id, 16)?;
    let backend = crate::contract::contract()?;
    backend.get_span(trace_id, span_id).await
}

/// `digits` lowercase hex digits; a trace id may carry MLflow's `tr-` prefix.
pub fn hex_id(field: &str, value: &str, digits: usize) -> Result<String, AppError> {
    let v = value.trim();
    let v = match v.strip_prefix("tr-") {
        Some(hex) if digits == 32 => hex,
        _ => v,
    }
    .to_ascii_lowercase();
    if v.len() == digits && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v)
    } else {
        Err(AppError::Invalid {
            field: field.into(),
            message: format!("{value:?} is not {digits} hex digits"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_of_the_right_length() {
        assert_eq!(
            hex_id("trace_id", "tr-0123456789ABCDEF0123456789abcdef", 32).unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        assert!(hex_id("span_id", "0123456789abcdef", 16).is_ok());
        assert!(hex_id("span_id", "0123456789abcdeg", 16).is_err());
        assert!(hex_id("span_id", "tr-0123456789abcd", 16).is_err());
        assert!(hex_id("trace_id", "", 32).is_err());
    }
}
