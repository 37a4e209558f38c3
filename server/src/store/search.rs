//! What a trace search asks of the store: a typed tree of conditions over known columns, with
//! the user's values held as data. `query::plan` builds it from the filter grammar's AST and
//! decides what each filter means; `search_sql` renders it for one dialect, choosing SQL
//! fragments from these enums and binding every value. Nothing here holds SQL text.

/// One trace search: base restrictions, the filter, order and keyset position.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPlan {
    pub experiment_id: Option<i64>,
    /// `start_ns >= from`.
    pub start_from_ns: Option<i64>,
    /// `start_ns < to`.
    pub start_to_ns: Option<i64>,
    pub filter: Option<Cond>,
    pub order: SearchOrder,
    /// Rows strictly after this position in `order` (keyset pagination, never OFFSET).
    pub after: Option<Keyset>,
    /// Rows to fetch: the page size plus one, so the caller knows whether a next page exists.
    pub fetch: u32,
}

/// The sort key and the direction; ties are broken by the row id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchOrder {
    StartDesc,
    StartAsc,
    DurationDesc,
    DurationAsc,
}

impl SearchOrder {
    pub fn key(self) -> SortKey {
        match self {
            SearchOrder::StartDesc | SearchOrder::StartAsc => SortKey::Start,
            SearchOrder::DurationDesc | SearchOrder::DurationAsc => SortKey::Duration,
        }
    }

    pub fn descending(self) -> bool {
        matches!(self, SearchOrder::StartDesc | SearchOrder::DurationDesc)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `traces.start_ns`.
    Start,
    /// `traces.duration_ns`: `end_ns - start_ns`, or -1 while the trace has no extent.
    Duration,
}

/// A position in the result order: the last row's sort key and row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Keyset {
    pub key: i64,
    pub row_id: i64,
}

/// A boolean condition on a trace row. `Not` is a two-valued complement: a condition that is
/// unknown for a row (a NULL column) counts as false before it is negated, so `NOT x` keeps
/// exactly the rows `x` drops.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Pred(Pred),
}

/// One test against one part of a trace.
#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// A column (or fixed expression) of the trace row.
    Trace { col: TraceCol, test: Test },
    /// The root request or response preview; true when either passes.
    Preview(Test),
    /// Some model the trace used passes; `IsNull` = the trace used none.
    Model(Test),
    /// The tag `key` exists with a value that passes; `IsNull` = no such tag.
    Tag { key: String, test: Test },
    /// The request-metadata entry `key` exists with a value that passes; `IsNull` = absent.
    Metadata { key: String, test: Test },
    /// Some span of the trace passes.
    Span { col: SpanCol, test: Test },
    /// Some span's inputs and outputs text (`store::span_text`) passes.
    SpanContent(Test),
    /// Some span has the attribute `key` and its value, as text, passes; `IsNull` = no span
    /// of the trace has it.
    SpanAttribute { key: String, test: Test },
    /// Some span has the attribute `key` holding a number that passes.
    SpanAttributeNumber { key: String, test: Test },
}

/// Searchable trace columns. Which SQL each one is belongs to the renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceCol {
    /// The 16 id bytes (bind [`Bind::Bytes`]).
    TraceId,
    /// The id as 32 lowercase hex digits, for pattern tests.
    TraceIdHex,
    ClientRequestId,
    Name,
    Status,
    StartNs,
    EndNs,
    DurationNs,
    SessionId,
    UserId,
    /// `input_tokens + output_tokens`.
    TotalTokens,
    InputTokens,
    OutputTokens,
    Cost,
    SpanCount,
    ErrorCount,
    Redactions,
    ExperimentId,
    /// The experiment id as text, for pattern tests.
    ExperimentIdText,
    ServiceName,
}

/// Searchable span columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanCol {
    Name,
    /// The MLflow span type (`LLM`, `RETRIEVER`, …).
    Kind,
    /// The OTLP status code: 0 unset, 1 ok, 2 error.
    Status,
    Model,
    /// `end_ns - start_ns`.
    DurationNs,
}

/// What a value must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Cmp(CmpOp, Bind),
    /// SQL LIKE, case-sensitive, `\` escapes `%`, `_` and itself.
    Like(String),
    /// LIKE ignoring case.
    ILike(String),
    /// A regular expression (already checked to compile).
    Regex(String),
    In(Vec<Bind>),
    NotIn(Vec<Bind>),
    /// `lo <= x < hi`.
    InRange(i64, i64),
    /// `x < lo OR x >= hi`.
    OutOfRange(i64, i64),
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
}

/// A row a search found: the trace, its row id and its sort key (for the next cursor).
#[derive(Debug, Clone, PartialEq)]
pub struct FoundTrace {
    pub row_id: i64,
    pub sort_key: i64,
    pub record: super::TraceRecord,
}
