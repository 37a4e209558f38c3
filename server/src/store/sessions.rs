//! What the store answers about sessions: one row per `session_id`, aggregated over its
//! traces. Plain data; the SQL lives in `portable.rs`, the cursor encoding in `query`.

/// One session, rolled up from its traces (traces without spans yet are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub session_id: String,
    /// Any user id the session's traces carry (a session belongs to one user).
    pub user_id: Option<String>,
    pub trace_count: i64,
    /// Earliest trace start.
    pub first_ns: i64,
    /// Latest trace end (its start while the trace has no end yet).
    pub last_ns: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// `None` when no trace of the session has a price.
    pub cost: Option<f64>,
    /// Traces whose status is `ERROR`.
    pub error_count: i64,
}

/// Which sessions to list: newest activity first, after a keyset position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionQuery {
    /// `(last_ns, session_id)` of the previous page's last row; `None` for the first page.
    pub after: Option<(i64, String)>,
    /// Rows to return; callers ask for one more than a page to learn whether another follows.
    pub limit: u32,
}
