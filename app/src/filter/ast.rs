//! What a parsed filter means: the AST the browser validates and the server plans from, and
//! which operators and values each field accepts. It holds no SQL and no column names;
//! `server`'s query planner turns it into bound queries.
//! `Display` prints the canonical spelling, which parses back to the same tree.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A filter expression. The parser flattens nested `And`/`Or` and never yields one with fewer
/// than two children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Comparison),
}

/// `field op value`. The parser has checked that `op` applies to `field` and that `value` has
/// the field's type; see [`Value`] for the normalisations it applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub field: Field,
    pub op: Op,
    pub value: Value,
}

/// What a comparison looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Field {
    /// `attributes.`/`attribute.`/`trace.` followed by a trace key, or a bare trace key.
    Trace(TraceField),
    /// `tags.<k>` / `tag.<k>`.
    Tag(String),
    /// `metadata.<k>` / `request_metadata.<k>`.
    Metadata(String),
    /// `span.name`, `span.type` (alias `span.kind`), `span.status`, `span.content`, `span.model`,
    /// `span.duration`: true when *some* span of the trace matches.
    Span(SpanField),
    /// `span.attributes.<k>`, and `attributes.<k>` when `<k>` is not a trace key (a Sightline
    /// extension; MLflow only knows trace keys after `attributes.`).
    SpanAttribute(String),
    /// `feedback.<name>` (MLflow assessments). Parsed for compatibility; the server may refuse it.
    Feedback(String),
    /// `expectation.<name>` (MLflow assessments). Parsed for compatibility; the server may refuse it.
    Expectation(String),
}

/// Keys of the trace itself. Each has one canonical spelling ([`TraceField::name`]) and a few
/// accepted aliases, MLflow's among them (PROTOCOL.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TraceField {
    /// `trace_id`, `request_id`.
    TraceId,
    ClientRequestId,
    /// The trace name (MLflow: tag `mlflow.traceName`).
    Name,
    /// `status`, `state`. Values: OK, ERROR, IN_PROGRESS, STATE_UNSPECIFIED.
    Status,
    /// Start time, epoch ms: `timestamp`, `timestamp_ms`, `start_time`, `start_time_ms`.
    Timestamp,
    /// Duration in ms: `duration`, `duration_ms`, `execution_time`, `execution_time_ms`.
    ExecutionTime,
    /// End time, epoch ms: `end_time`, `end_time_ms`.
    EndTime,
    RunId,
    /// Full-text search over span content (MLflow's `trace.text`); LIKE/ILIKE/RLIKE only.
    Text,
    Model,
    /// `session`, `session_id`.
    Session,
    /// `user`, `user_id`.
    User,
    /// Total tokens: `tokens`, `total_tokens`.
    Tokens,
    InputTokens,
    OutputTokens,
    Cost,
    SpanCount,
    ErrorCount,
    /// Values PII redaction replaced at ingest.
    Redactions,
    /// `experiment_id`, `experiment`.
    Experiment,
    /// `service`, `service_name`.
    Service,
}

/// Keys of a span, after `span.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpanField {
    Name,
    /// `span.type`, `span.kind`. Values: the MLflow span types ([`SPAN_TYPES`]).
    Type,
    /// Values: OK, ERROR, UNSET.
    Status,
    /// Inputs and outputs; LIKE/ILIKE/RLIKE only.
    Content,
    Model,
    /// `span.duration`, `span.duration_ms`; in ms.
    Duration,
}

/// A comparison operator. `NOT IN`, `IS NULL` and `IS NOT NULL` are operators of their own;
/// `x NOT LIKE p` parses as `NOT (x LIKE p)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// SQL LIKE, `%` and `_` wildcards, case-sensitive.
    Like,
    ILike,
    /// A regular expression. Parsed only: the server decides how (and whether) to run it.
    RLike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

/// A comparison's right-hand side, normalised by the parser: statuses and span types are upper
/// case; durations (`1.5s`) and ISO-8601 times are `Int` milliseconds; a number given for
/// `experiment_id` is its `Str` text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Str(String),
    Int(i64),
    /// Always finite.
    Float(f64),
    /// For `IN`/`NOT IN`; never nested, never empty.
    List(Vec<Value>),
    /// For `IS NULL`/`IS NOT NULL`.
    Null,
}

/// Trace status values, as MLflow's TraceInfoV3 `state` spells them.
pub const TRACE_STATUSES: &[&str] = &["OK", "ERROR", "IN_PROGRESS", "STATE_UNSPECIFIED"];

/// Span status codes, as MLflow's span status spells them.
pub const SPAN_STATUSES: &[&str] = &["OK", "ERROR", "UNSET"];

/// MLflow span types.
pub const SPAN_TYPES: &[&str] = &[
    "LLM",
    "CHAT_MODEL",
    "CHAIN",
    "AGENT",
    "TOOL",
    "RETRIEVER",
    "EMBEDDING",
    "RERANKER",
    "PARSER",
    "MEMORY",
    "WORKFLOW",
    "TASK",
    "GUARDRAIL",
    "EVALUATOR",
    "UNKNOWN",
];

impl TraceField {
    pub const ALL: [TraceField; 21] = [
        TraceField::TraceId,
        TraceField::ClientRequestId,
        TraceField::Name,
        TraceField::Status,
        TraceField::Timestamp,
        TraceField::ExecutionTime,
        TraceField::EndTime,
        TraceField::RunId,
        TraceField::Text,
        TraceField::Model,
        TraceField::Session,
        TraceField::User,
        TraceField::Tokens,
        TraceField::InputTokens,
        TraceField::OutputTokens,
        TraceField::Cost,
        TraceField::SpanCount,
        TraceField::ErrorCount,
        TraceField::Redactions,
        TraceField::Experiment,
        TraceField::Service,
    ];

    /// The canonical key, as [`Display`](fmt::Display) prints it.
    pub fn name(self) -> &'static str {
        self.spellings()[0]
    }

    /// Every accepted spelling, canonical first; matched case-insensitively.
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            TraceField::TraceId => &["trace_id", "request_id"],
            TraceField::ClientRequestId => &["client_request_id"],
            TraceField::Name => &["name"],
            TraceField::Status => &["status", "state"],
            TraceField::Timestamp => &["timestamp", "timestamp_ms", "start_time", "start_time_ms"],
            TraceField::ExecutionTime => &[
                "duration",
                "duration_ms",
                "execution_time",
                "execution_time_ms",
            ],
            TraceField::EndTime => &["end_time", "end_time_ms"],
            TraceField::RunId => &["run_id"],
            TraceField::Text => &["text"],
            TraceField::Model => &["model"],
            TraceField::Session => &["session", "session_id"],
            TraceField::User => &["user", "user_id"],
            TraceField::Tokens => &["tokens", "total_tokens"],
            TraceField::InputTokens => &["input_tokens"],
            TraceField::OutputTokens => &["output_tokens"],
            TraceField::Cost => &["cost"],
            TraceField::SpanCount => &["span_count"],
            TraceField::ErrorCount => &["error_count"],
            TraceField::Redactions => &["redactions"],
            TraceField::Experiment => &["experiment_id", "experiment"],
            TraceField::Service => &["service", "service_name"],
        }
    }

    /// Looks a key up by any spelling, ignoring ASCII case.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.spellings().iter().any(|s| s.eq_ignore_ascii_case(key)))
    }
}

impl SpanField {
    pub const ALL: [SpanField; 6] = [
        SpanField::Name,
        SpanField::Type,
        SpanField::Status,
        SpanField::Content,
        SpanField::Model,
        SpanField::Duration,
    ];

    /// The canonical key after `span.`.
    pub fn name(self) -> &'static str {
        self.spellings()[0]
    }

    /// Every accepted spelling after `span.`, canonical first; matched case-insensitively.
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            SpanField::Name => &["name"],
            SpanField::Type => &["type", "kind", "span_type"],
            SpanField::Status => &["status"],
            SpanField::Content => &["content"],
            SpanField::Model => &["model"],
            SpanField::Duration => &["duration", "duration_ms"],
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.spellings().iter().any(|s| s.eq_ignore_ascii_case(key)))
    }
}

impl Op {
    /// The operator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::RLike => "RLIKE",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::IsNull => "IS NULL",
            Op::IsNotNull => "IS NOT NULL",
        }
    }
}

/// What a field accepts, and what to call it in messages.
pub(crate) struct Rules {
    pub noun: &'static str,
    pub ops: &'static [Op],
    pub values: Values,
}

pub(crate) enum Values {
    Text,
    /// Text, or an integer taken as its text (`experiment_id = 0`).
    Id,
    /// One of a fixed set, matched ignoring case, stored upper case.
    Choice(&'static [&'static str]),
    Number(NumberKind),
    /// A string or a plain number.
    Any,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberKind {
    Plain,
    /// Milliseconds; duration literals allowed.
    Duration,
    /// Epoch milliseconds; ISO-8601 strings allowed.
    Instant,
}

const TEXT_OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Like,
    Op::ILike,
    Op::RLike,
    Op::In,
    Op::NotIn,
];
const NULLABLE_TEXT_OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Like,
    Op::ILike,
    Op::RLike,
    Op::In,
    Op::NotIn,
    Op::IsNull,
    Op::IsNotNull,
];
const SEARCH_OPS: &[Op] = &[Op::Like, Op::ILike, Op::RLike];
const CHOICE_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::In, Op::NotIn];
const NUMBER_OPS: &[Op] = &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge];
const ALL_OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::Like,
    Op::ILike,
    Op::RLike,
    Op::In,
    Op::NotIn,
    Op::IsNull,
    Op::IsNotNull,
];

impl Field {
    /// The operators this field accepts, for autocomplete and help.
    pub fn operators(&self) -> &'static [Op] {
        self.rules().ops
    }

    pub(crate) fn rules(&self) -> Rules {
        let text = |ops| Rules {
            noun: "text field",
            ops,
            values: Values::Text,
        };
        let number = |kind| Rules {
            noun: "numeric field",
            ops: NUMBER_OPS,
            values: Values::Number(kind),
        };
        let choice = |set| Rules {
            noun: "field",
            ops: CHOICE_OPS,
            values: Values::Choice(set),
        };
        let search = Rules {
            noun: "search field",
            ops: SEARCH_OPS,
            values: Values::Text,
        };
        match self {
            Field::Trace(t) => match t {
                TraceField::TraceId
                | TraceField::ClientRequestId
                | TraceField::Name
                | TraceField::RunId
                | TraceField::Service => text(TEXT_OPS),
                TraceField::Model | TraceField::Session | TraceField::User => {
                    text(NULLABLE_TEXT_OPS)
                }
                TraceField::Experiment => Rules {
                    values: Values::Id,
                    ..text(TEXT_OPS)
                },
                TraceField::Text => search,
                TraceField::Status => choice(TRACE_STATUSES),
                TraceField::Timestamp | TraceField::EndTime => number(NumberKind::Instant),
                TraceField::ExecutionTime => number(NumberKind::Duration),
                TraceField::Tokens
                | TraceField::InputTokens
                | TraceField::OutputTokens
                | TraceField::Cost
                | TraceField::SpanCount
                | TraceField::ErrorCount
                | TraceField::Redactions => number(NumberKind::Plain),
            },
            Field::Span(s) => match s {
                SpanField::Name => text(TEXT_OPS),
                SpanField::Model => text(NULLABLE_TEXT_OPS),
                SpanField::Type => choice(SPAN_TYPES),
                SpanField::Status => choice(SPAN_STATUSES),
                SpanField::Content => search,
                SpanField::Duration => number(NumberKind::Duration),
            },
            Field::Tag(_) | Field::Metadata(_) => text(NULLABLE_TEXT_OPS),
            Field::SpanAttribute(_) | Field::Feedback(_) | Field::Expectation(_) => Rules {
                noun: "field",
                ops: ALL_OPS,
                values: Values::Any,
            },
        }
    }
}

/// True when `c` may appear in an unquoted key segment. Shared by the lexer and by `Display`,
/// which must backtick exactly the keys the lexer would not read back bare.
pub(crate) fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '/' | '@')
}

/// True when `c` may start a key (a number cannot).
pub(crate) fn is_key_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// Writes a free-form key (tag, metadata, attribute, assessment name) so the lexer reads it back:
/// bare when every dot-separated segment is plain, otherwise in backticks with `` ` `` doubled.
fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    let plain = key
        .split('.')
        .all(|seg| !seg.is_empty() && seg.chars().all(is_key_char));
    if plain {
        f.write_str(key)
    } else {
        write!(f, "`{}`", key.replace('`', "``"))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, key) = match self {
            Field::Trace(t) => return f.write_str(t.name()),
            Field::Span(s) => return write!(f, "span.{}", s.name()),
            Field::Tag(k) => ("tags.", k),
            Field::Metadata(k) => ("metadata.", k),
            // Never `attributes.<k>`: that spelling means a trace field when <k> is one.
            Field::SpanAttribute(k) => ("span.attributes.", k),
            Field::Feedback(k) => ("feedback.", k),
            Field::Expectation(k) => ("expectation.", k),
        };
        f.write_str(prefix)?;
        write_key(f, key)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Backslashes are doubled because `\'` is an escape; quotes are doubled SQL-style.
            Value::Str(s) => write!(f, "'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
            Value::Int(i) => write!(f, "{i}"),
            // `{:?}` keeps a `.0` or an exponent, so the text lexes back as a float, not an int.
            Value::Float(x) => write!(f, "{x:?}"),
            Value::List(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Value::Null => f.write_str("NULL"),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Op::IsNull | Op::IsNotNull => write!(f, "{} {}", self.field, self.op),
            _ => write!(f, "{} {} {}", self.field, self.op, self.value),
        }
    }
}

impl Expr {
    /// `prec`: 0 = anywhere, 1 = operand of AND, 2 = operand of NOT.
    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, prec: u8) -> fmt::Result {
        let (items, sep, own) = match self {
            Expr::Cmp(c) => return write!(f, "{c}"),
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                return inner.fmt_prec(f, 2);
            }
            Expr::Or(items) => (items, " OR ", 0),
            Expr::And(items) => (items, " AND ", 1),
        };
        let parens = prec > own;
        if parens {
            f.write_str("(")?;
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            item.fmt_prec(f, own + 1)?;
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The canonical spelling: keywords upper case, canonical keys, single-quoted strings, and
/// parentheses only where precedence needs them.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0)
    }
}
