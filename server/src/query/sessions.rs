//! The sessions pages: one page of sessions with the cursor of the next, and one session as
//! its traces in order with totals. Holds the session cursor's encoding; no SQL.

use std::sync::Arc;

use app::types::{SessionDetail, SessionPage, SessionSummary, SessionTurn};
use app::AppError;
use base64::Engine;

use crate::store::sessions::{SessionQuery, SessionRecord};
use crate::store::{Backend, TraceRecord};

const CURSOR_VERSION: u8 = 1;

pub(super) async fn list_sessions(
    backend: &Arc<dyn Backend>,
    cursor: Option<String>,
    limit: u32,
) -> Result<SessionPage, AppError> {
    let after = cursor.as_deref().map(decode_cursor).transpose()?;
    let query = SessionQuery {
        after,
        limit: limit.saturating_add(1),
    };
    let mut rows = backend
        .list_sessions(&query)
        .await
        .map_err(super::app_error)?;
    // One row more than a page was asked for: its presence is the "next page" signal.
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.last_ns, &r.session_id))
    } else {
        None
    };
    Ok(SessionPage {
        sessions: rows.into_iter().map(summary).collect(),
        next_cursor,
    })
}

pub(super) async fn get_session(
    backend: &Arc<dyn Backend>,
    session_id: String,
) -> Result<SessionDetail, AppError> {
    let traces = backend
        .session_traces(&session_id)
        .await
        .map_err(super::app_error)?;
    if traces.is_empty() {
        return Err(AppError::NotFound(format!("session {session_id:?}")));
    }
    let record = rollup(&session_id, &traces);
    Ok(SessionDetail {
        summary: summary(record),
        turns: traces
            .into_iter()
            .map(|mut r| SessionTurn {
                response_preview: r.response_preview.take(),
                trace: super::summary(r),
            })
            .collect(),
    })
}

/// The same totals the store's `GROUP BY` computes for the list, from rows already read.
fn rollup(session_id: &str, traces: &[TraceRecord]) -> SessionRecord {
    let priced: Vec<f64> = traces.iter().filter_map(|t| t.cost).collect();
    SessionRecord {
        session_id: session_id.to_string(),
        user_id: traces.iter().filter_map(|t| t.user_id.clone()).max(),
        trace_count: traces.len() as i64,
        first_ns: traces.iter().map(|t| t.start_ns).min().unwrap_or(0),
        last_ns: traces
            .iter()
            .map(|t| t.end_ns.max(t.start_ns))
            .max()
            .unwrap_or(0),
        input_tokens: traces.iter().map(|t| t.input_tokens).sum(),
        output_tokens: traces.iter().map(|t| t.output_tokens).sum(),
        cost: (!priced.is_empty()).then(|| priced.iter().sum()),
        error_count: traces
            .iter()
            .filter(|t| t.status == crate::model::TraceStatus::Error)
            .count() as i64,
    }
}

fn summary(r: SessionRecord) -> SessionSummary {
    SessionSummary {
        session_id: r.session_id,
        user_id: r.user_id,
        trace_count: r.trace_count,
        first_ms: r.first_ns / 1_000_000,
        last_ms: r.last_ns / 1_000_000,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cost: r.cost,
        error_count: r.error_count,
    }
}

/// Version byte, `last_ns` big-endian, then the session id's bytes; URL-safe base64.
fn encode_cursor(last_ns: i64, session_id: &str) -> String {
    let mut bytes = Vec::with_capacity(9 + session_id.len());
    bytes.push(CURSOR_VERSION);
    bytes.extend_from_slice(&last_ns.to_be_bytes());
    bytes.extend_from_slice(session_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), AppError> {
    let bad = || AppError::Invalid {
        field: "cursor".into(),
        message: "not a cursor from this list; start again from the first page".into(),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| bad())?;
    if bytes.len() < 9 || bytes[0] != CURSOR_VERSION {
        return Err(bad());
    }
    let last_ns = i64::from_be_bytes(bytes[1..9].try_into().map_err(|_| bad())?);
    let session_id = String::from_utf8(bytes[9..].to_vec()).map_err(|_| bad())?;
    Ok((last_ns, session_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_strangers() {
        let c = encode_cursor(1_795_464_000_000_000_000, "sess-2a-0000007");
        assert_eq!(
            decode_cursor(&c).unwrap(),
            (1_795_464_000_000_000_000, "sess-2a-0000007".to_string())
        );
        assert!(decode_cursor("not-a-cursor!").is_err());
        assert!(decode_cursor("AQ").is_err());
    }
}
