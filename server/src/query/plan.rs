//! What a trace search means: the filter grammar's AST plus the list query (time range, order,
//! cursor, page size) become a typed [`SearchPlan`] the store renders. Pure and dialect-free;
//! all meaning lives here (which column a key reads, how a millisecond compares with stored
//! nanoseconds, what `!=` means on a multi-valued field), so it is tested once for both
//! databases. It must not build SQL.
//!
//! Semantics worth knowing:
//! - Times and durations are stored in ns and written in ms: an integer `n` ms stands for the
//!   whole millisecond `[n, n + 1)`, so `duration = 500` matches 500.0–500.999 ms and
//!   `duration <= 500` includes 500.7 ms.
//! - Multi-valued fields match when *some* value does: `span.name = 'x'` is "some span is
//!   named x"; `model = 'x'` "some model the trace used is x". `model != 'x'` is "used models,
//!   none of them x"; to exclude spans use `NOT span.name = 'x'`.
//! - Tags and metadata: `tags.k != 'v'` needs the tag to exist; `tags.k IS NULL` is "no tag k".
//! - `NOT` is the complement: rows where the inner condition is unknown (NULL) are kept.
//! - `text` matches a trace when its root request or response preview does, or when some
//!   span's inputs/outputs text does; `span.content` is the spans' text alone. That text is
//!   the first 8 KiB of each span's inputs and outputs (`store::span_text`).
//! - `span.attributes.<k>` (also `attributes.<k>`): some span has attribute `k` whose value
//!   passes. A number on the right compares numerically with attributes that hold numbers
//!   (`span.attributes.temperature > 0.5`); a string compares with the value's text. String
//!   values are searchable up to their first 1 KiB. Assessments are refused with a message.
//! - LIKE is case-sensitive and ILIKE is not, on both databases; `\` escapes `%`, `_` and `\`.
//! - RLIKE patterns must compile with Rust's `regex` syntax. SQLite runs them with that crate;
//!   PostgreSQL with its own POSIX engine, which agrees on the common syntax.

use app::filter::{Comparison, Expr, Field, Op, SpanField, TraceField, Value};
use app::types::{TraceListQuery, TraceSort};
use app::AppError;
use base64::Engine;

use crate::store::search::{
    Bind, CmpOp, Cond, Keyset, Pred, SearchOrder, SearchPlan, SpanCol, Test, TraceCol,
};

/// Largest page the list serves.
pub const MAX_PAGE: u32 = 500;

/// Compiled-size cap for an RLIKE pattern: a short pattern with large counted repetitions can
/// otherwise compile to megabytes per connection.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

const NS_PER_MS: i64 = 1_000_000;

/// Why a search cannot be planned: a field the grammar accepts but this server cannot search
/// yet, a value that cannot match its column, or a bad cursor or time range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    /// Which part of the query is wrong: `filter`, `cursor`, `experiment_id`, `to_ms`, ….
    pub field: &'static str,
    pub message: String,
}

impl PlanError {
    fn filter(message: impl Into<String>) -> PlanError {
        PlanError {
            field: "filter",
            message: message.into(),
        }
    }

    fn cursor(message: impl Into<String>) -> PlanError {
        PlanError {
            field: "cursor",
            message: message.into(),
        }
    }
}

impl From<PlanError> for AppError {
    fn from(e: PlanError) -> AppError {
        AppError::Invalid {
            field: e.field.into(),
            message: e.message,
        }
    }
}

type Result<T, E = PlanError> = std::result::Result<T, E>;

/// Plans one page of a trace search.
///
/// # Errors
/// [`PlanError`] for: fields that cannot be searched yet (`feedback.*`, `expectation.*`,
/// `run_id`); an order comparison of a span attribute with a string; values that cannot match (a trace id that is not
/// 32 hex digits, a non-numeric experiment id, an RLIKE pattern that does not compile, times
/// out of range); a cursor from another sort order or not made by us; `from_ms` after `to_ms`.
pub fn plan_search(filter: Option<&Expr>, query: &TraceListQuery) -> Result<SearchPlan> {
    let experiment_id = match query.experiment_id.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(e.trim().parse::<i64>().map_err(|_| PlanError {
            field: "experiment_id",
            message: format!("{e:?} is not an integer"),
        })?),
        None => None,
    };
    let start_from_ns = query
        .from_ms
        .map(|ms| ms_to_ns(ms, "from_ms"))
        .transpose()?;
    let start_to_ns = query.to_ms.map(|ms| ms_to_ns(ms, "to_ms")).transpose()?;
    if let (Some(from), Some(to)) = (query.from_ms, query.to_ms) {
        if from > to {
            return Err(PlanError {
                field: "to_ms",
                message: format!("the range ends ({to}) before it starts ({from})"),
            });
        }
    }
    let order = order(query.sort);
    let after = query
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| decode_cursor(c, order))
        .transpose()?;
    Ok(SearchPlan {
        experiment_id,
        start_from_ns,
        start_to_ns,
        filter: filter.map(cond).transpose()?,
        order,
        after,
        fetch: query.limit.clamp(1, MAX_PAGE) + 1,
    })
}

pub fn order(sort: TraceSort) -> SearchOrder {
    match sort {
        TraceSort::StartDesc => SearchOrder::StartDesc,
        TraceSort::StartAsc => SearchOrder::StartAsc,
        TraceSort::DurationDesc => SearchOrder::DurationDesc,
        TraceSort::DurationAsc => SearchOrder::DurationAsc,
    }
}

const CURSOR_VERSION: u8 = 1;

fn order_tag(order: SearchOrder) -> u8 {
    match order {
        SearchOrder::StartDesc => 0,
        SearchOrder::StartAsc => 1,
        SearchOrder::DurationDesc => 2,
        SearchOrder::DurationAsc => 3,
    }
}

/// The opaque cursor after a row: version, order, sort key and row id, base64url. The order
/// is inside so a cursor cannot be replayed against another sort, where it would skip rows.
pub fn encode_cursor(order: SearchOrder, key: i64, row_id: i64) -> String {
    let mut bytes = Vec::with_capacity(18);
    bytes.push(CURSOR_VERSION);
    bytes.push(order_tag(order));
    bytes.extend_from_slice(&key.to_be_bytes());
    bytes.extend_from_slice(&row_id.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// # Errors
/// A cursor that is not ours, or was made for another order.
pub fn decode_cursor(cursor: &str, order: SearchOrder) -> Result<Keyset> {
    let bad = || PlanError::cursor("not a cursor from this list; start again from the first page");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| bad())?;
    if bytes.len() != 18 || bytes[0] != CURSOR_VERSION {
        return Err(bad());
    }
    if bytes[1] != order_tag(order) {
        return Err(PlanError::cursor(
            "the cursor belongs to another sort order; start again from the first page",
        ));
    }
    let key = i64::from_be_bytes(bytes[2..10].try_into().map_err(|_| bad())?);
    let row_id = i64::from_be_bytes(bytes[10..18].try_into().map_err(|_| bad())?);
    Ok(Keyset { key, row_id })
}

fn ms_to_ns(ms: i64, field: &'static str) -> Result<i64> {
    ms.checked_mul(NS_PER_MS).ok_or_else(|| PlanError {
        field,
        message: format!("{ms} ms is out of range"),
    })
}

fn cond(e: &Expr) -> Result<Cond> {
    Ok(match e {
        Expr::And(items) => Cond::And(items.iter().map(cond).collect::<Result<_>>()?),
        Expr::Or(items) => Cond::Or(items.iter().map(cond).collect::<Result<_>>()?),
        Expr::Not(inner) => Cond::Not(Box::new(cond(inner)?)),
        Expr::Cmp(c) => comparison(c)?,
    })
}

fn trace(col: TraceCol, test: Test) -> Cond {
    Cond::Pred(Pred::Trace { col, test })
}

fn comparison(c: &Comparison) -> Result<Cond> {
    let Comparison { field, op, value } = c;
    let (op, value) = (*op, value);
    match field {
        Field::Trace(t) => trace_comparison(*t, op, value),
        Field::Tag(key) => Ok(Cond::Pred(Pred::Tag {
            key: key.clone(),
            test: text_test(op, value)?,
        })),
        // MLflow keeps the session and user in request metadata; we keep them in columns.
        Field::Metadata(key) if key == "mlflow.trace.session" => {
            Ok(trace(TraceCol::SessionId, text_test(op, value)?))
        }
        Field::Metadata(key) if key == "mlflow.trace.user" => {
            Ok(trace(TraceCol::UserId, text_test(op, value)?))
        }
        Field::Metadata(key) => Ok(Cond::Pred(Pred::Metadata {
            key: key.clone(),
            test: text_test(op, value)?,
        })),
        Field::Span(s) => span_comparison(*s, op, value),
        Field::SpanAttribute(key) => span_attribute(field, key, op, value),
        Field::Feedback(_) | Field::Expectation(_) => Err(PlanError::filter(format!(
            "{field} cannot be searched yet: this server does not store assessments"
        ))),
    }
}

fn trace_comparison(t: TraceField, op: Op, value: &Value) -> Result<Cond> {
    use TraceField as F;
    Ok(match t {
        F::TraceId => match op {
            Op::Like | Op::ILike | Op::RLike => trace(TraceCol::TraceIdHex, text_test(op, value)?),
            _ => trace(TraceCol::TraceId, map_test(op, value, trace_id_bytes)?),
        },
        F::ClientRequestId => trace(TraceCol::ClientRequestId, text_test(op, value)?),
        F::Name => trace(TraceCol::Name, text_test(op, value)?),
        F::Status => trace(TraceCol::Status, text_test(op, value)?),
        F::Timestamp => trace(TraceCol::StartNs, ms_test(op, value)?),
        F::EndTime => trace(TraceCol::EndNs, ms_test(op, value)?),
        // A trace without an extent yet has duration -1: no duration comparison matches it.
        F::ExecutionTime => Cond::And(vec![
            trace(TraceCol::DurationNs, Test::Cmp(CmpOp::Ge, Bind::Int(0))),
            trace(TraceCol::DurationNs, ms_test(op, value)?),
        ]),
        F::RunId => {
            return Err(PlanError::filter(
                "run_id cannot be searched yet: this server does not link traces to runs",
            ))
        }
        // Previews stay searched: a trace whose spans predate the span index, or whose
        // preview came from MLflow's StartTraceV3, is still found by its request.
        F::Text => {
            let test = text_test(op, value)?;
            Cond::Or(vec![
                Cond::Pred(Pred::Preview(test.clone())),
                Cond::Pred(Pred::SpanContent(test)),
            ])
        }
        F::Model => model_cond(op, value)?,
        F::Session => trace(TraceCol::SessionId, text_test(op, value)?),
        F::User => trace(TraceCol::UserId, text_test(op, value)?),
        F::Tokens => trace(TraceCol::TotalTokens, number_test(op, value)?),
        F::InputTokens => trace(TraceCol::InputTokens, number_test(op, value)?),
        F::OutputTokens => trace(TraceCol::OutputTokens, number_test(op, value)?),
        F::Cost => trace(TraceCol::Cost, number_test(op, value)?),
        F::SpanCount => trace(TraceCol::SpanCount, number_test(op, value)?),
        F::ErrorCount => trace(TraceCol::ErrorCount, number_test(op, value)?),
        F::Redactions => trace(TraceCol::Redactions, number_test(op, value)?),
        F::Experiment => match op {
            Op::Like | Op::ILike | Op::RLike => {
                trace(TraceCol::ExperimentIdText, text_test(op, value)?)
            }
            _ => trace(TraceCol::ExperimentId, map_test(op, value, experiment_id)?),
        },
        F::Service => trace(TraceCol::ServiceName, text_test(op, value)?),
    })
}

/// `model` is the list of models a trace used.
fn model_cond(op: Op, value: &Value) -> Result<Cond> {
    let model = |test| Cond::Pred(Pred::Model(test));
    Ok(match op {
        // "Used models, none of them these": `!=` on a list would otherwise be true for
        // every trace that used two models.
        Op::Ne | Op::NotIn => {
            let positive = if op == Op::Ne { Op::Eq } else { Op::In };
            Cond::And(vec![
                model(Test::IsNotNull),
                Cond::Not(Box::new(model(text_test(positive, value)?))),
            ])
        }
        _ => model(text_test(op, value)?),
    })
}

fn span_comparison(s: SpanField, op: Op, value: &Value) -> Result<Cond> {
    let span = |col, test| Cond::Pred(Pred::Span { col, test });
    Ok(match s {
        SpanField::Name => span(SpanCol::Name, text_test(op, value)?),
        SpanField::Type => span(SpanCol::Kind, text_test(op, value)?),
        SpanField::Status => span(SpanCol::Status, map_test(op, value, span_status)?),
        SpanField::Model => span(SpanCol::Model, text_test(op, value)?),
        SpanField::Duration => span(SpanCol::DurationNs, ms_test(op, value)?),
        SpanField::Content => Cond::Pred(Pred::SpanContent(text_test(op, value)?)),
    })
}

/// `span.attributes.<key>`: numbers compare as numbers, everything else as text.
fn span_attribute(field: &Field, key: &str, op: Op, value: &Value) -> Result<Cond> {
    let key = key.to_string();
    let numeric = matches!(value, Value::Int(_) | Value::Float(_));
    if numeric && cmp_op(op).is_some() {
        return Ok(Cond::Pred(Pred::SpanAttributeNumber {
            key,
            test: number_test(op, value)?,
        }));
    }
    if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) {
        return Err(PlanError::filter(format!(
            "{field} {op} needs a number on the right, got {value}"
        )));
    }
    Ok(Cond::Pred(Pred::SpanAttribute {
        key,
        test: text_test(op, value)?,
    }))
}

fn str_of(v: &Value) -> Result<String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::List(_) | Value::Null => {
            Err(PlanError::filter(format!("expected a value, got {v}")))
        }
    }
}

fn list_of(v: &Value) -> &[Value] {
    match v {
        Value::List(items) => items,
        one => std::slice::from_ref(one),
    }
}

fn cmp_op(op: Op) -> Option<CmpOp> {
    Some(match op {
        Op::Eq => CmpOp::Eq,
        Op::Ne => CmpOp::Ne,
        Op::Lt => CmpOp::Lt,
        Op::Le => CmpOp::Le,
        Op::Gt => CmpOp::Gt,
        Op::Ge => CmpOp::Ge,
        _ => return None,
    })
}

fn unexpected(op: Op) -> PlanError {
    // The parser checks operators per field; reaching this is a grammar/planner mismatch.
    PlanError::filter(format!("the operator {op} cannot be used here"))
}

/// A test on a text value.
fn text_test(op: Op, value: &Value) -> Result<Test> {
    map_test(op, value, |v| Ok(Bind::Text(str_of(v)?)))
}

/// A test whose equality values go through `bind` (patterns stay text).
fn map_test(op: Op, value: &Value, bind: impl Fn(&Value) -> Result<Bind>) -> Result<Test> {
    Ok(match op {
        Op::Like => Test::Like(str_of(value)?),
        Op::ILike => Test::ILike(str_of(value)?),
        Op::RLike => Test::Regex(checked_regex(str_of(value)?)?),
        Op::In => Test::In(list_of(value).iter().map(&bind).collect::<Result<_>>()?),
        Op::NotIn => Test::NotIn(list_of(value).iter().map(&bind).collect::<Result<_>>()?),
        Op::IsNull => Test::IsNull,
        Op::IsNotNull => Test::IsNotNull,
        other => Test::Cmp(
            cmp_op(other).ok_or_else(|| unexpected(other))?,
            bind(value)?,
        ),
    })
}

fn checked_regex(pattern: String) -> Result<String> {
    match regex::RegexBuilder::new(&pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(_) => Ok(pattern),
        Err(regex::Error::CompiledTooBig(_)) => Err(PlanError::filter(format!(
            "the regular expression {pattern:?} is too large"
        ))),
        Err(e) => {
            // The syntax error's last line says what is wrong; the lines above draw the pattern.
            let text = e.to_string();
            let why = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            Err(PlanError::filter(format!(
                "invalid regular expression {pattern:?}: {}",
                why.trim().trim_start_matches("error: ")
            )))
        }
    }
}

fn number_test(op: Op, value: &Value) -> Result<Test> {
    let bind = match value {
        Value::Int(i) => Bind::Int(*i),
        Value::Float(f) => Bind::Float(*f),
        other => return Err(PlanError::filter(format!("expected a number, got {other}"))),
    };
    Ok(Test::Cmp(cmp_op(op).ok_or_else(|| unexpected(op))?, bind))
}

/// A comparison of a nanosecond column with a millisecond value: an integer stands for its
/// whole millisecond, a fraction for that exact instant.
fn ms_test(op: Op, value: &Value) -> Result<Test> {
    let cmp = cmp_op(op).ok_or_else(|| unexpected(op))?;
    let out_of_range = || PlanError::filter(format!("{value} ms is out of range"));
    match value {
        Value::Int(ms) => {
            let lo = ms.checked_mul(NS_PER_MS).ok_or_else(out_of_range)?;
            let hi = lo.checked_add(NS_PER_MS).ok_or_else(out_of_range)?;
            let at = |op, ns| Test::Cmp(op, Bind::Int(ns));
            Ok(match cmp {
                CmpOp::Eq => Test::InRange(lo, hi),
                CmpOp::Ne => Test::OutOfRange(lo, hi),
                CmpOp::Lt => at(CmpOp::Lt, lo),
                CmpOp::Le => at(CmpOp::Lt, hi),
                CmpOp::Gt => at(CmpOp::Ge, hi),
                CmpOp::Ge => at(CmpOp::Ge, lo),
            })
        }
        Value::Float(ms) => {
            let ns = (ms * NS_PER_MS as f64).round();
            if !(i64::MIN as f64..=i64::MAX as f64).contains(&ns) {
                return Err(out_of_range());
            }
            Ok(Test::Cmp(cmp, Bind::Int(ns as i64)))
        }
        other => Err(PlanError::filter(format!(
            "expected milliseconds, got {other}"
        ))),
    }
}

/// `trace_id` values: 32 hex digits, optionally `tr-` prefixed (MLflow's request id).
fn trace_id_bytes(v: &Value) -> Result<Bind> {
    let s = str_of(v)?;
    let hex_part = s.strip_prefix("tr-").unwrap_or(&s);
    match hex::decode(hex_part) {
        Ok(bytes) if bytes.len() == 16 => Ok(Bind::Bytes(bytes)),
        _ => Err(PlanError::filter(format!(
            "trace_id must be 32 hex digits, optionally prefixed by tr-; got {v}"
        ))),
    }
}

fn experiment_id(v: &Value) -> Result<Bind> {
    let s = str_of(v)?;
    s.trim()
        .parse::<i64>()
        .map(Bind::Int)
        .map_err(|_| PlanError::filter(format!("experiment_id must be an integer, got {v}")))
}

/// OTLP status codes, as stored.
fn span_status(v: &Value) -> Result<Bind> {
    Ok(Bind::Int(match str_of(v)?.as_str() {
        "UNSET" => 0,
        "OK" => 1,
        "ERROR" => 2,
        _ => {
            return Err(PlanError::filter(format!(
                "span.status is OK, ERROR or UNSET, got {v}"
            )))
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> TraceListQuery {
        TraceListQuery {
            limit: 50,
            ..TraceListQuery::default()
        }
    }

    fn plan(filter: &str) -> Result<SearchPlan> {
        let expr = app::filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        plan_search(expr.as_ref(), &q())
    }

    fn filter(f: &str) -> Cond {
        plan(f).unwrap().filter.expect("a filter")
    }

    fn err(f: &str) -> PlanError {
        plan(f).expect_err(f)
    }

    fn text(s: &str) -> Bind {
        Bind::Text(s.into())
    }

    #[test]
    fn empty_filter_plans_no_condition_and_fetches_one_extra_row() {
        let p = plan("").unwrap();
        assert_eq!(p.filter, None);
        assert_eq!(p.fetch, 51);
        assert_eq!(p.order, SearchOrder::StartDesc);
        assert_eq!(p.after, None);
    }

    #[test]
    fn trace_columns_map_to_typed_tests() {
        assert_eq!(
            filter("status = 'ok'"),
            trace(TraceCol::Status, Test::Cmp(CmpOp::Eq, text("OK")))
        );
        assert_eq!(
            filter("name != 'chat_request'"),
            trace(TraceCol::Name, Test::Cmp(CmpOp::Ne, text("chat_request")))
        );
        assert_eq!(
            filter("tokens > 1000"),
            trace(TraceCol::TotalTokens, Test::Cmp(CmpOp::Gt, Bind::Int(1000)))
        );
        assert_eq!(
            filter("cost >= 0.5"),
            trace(TraceCol::Cost, Test::Cmp(CmpOp::Ge, Bind::Float(0.5)))
        );
        assert_eq!(
            filter("service IN ('a', 'b')"),
            trace(TraceCol::ServiceName, Test::In(vec![text("a"), text("b")]))
        );
        assert_eq!(
            filter("session IS NULL"),
            trace(TraceCol::SessionId, Test::IsNull)
        );
        assert_eq!(
            filter("experiment_id = 0"),
            trace(TraceCol::ExperimentId, Test::Cmp(CmpOp::Eq, Bind::Int(0)))
        );
    }

    #[test]
    fn milliseconds_cover_their_whole_millisecond() {
        let ms = NS_PER_MS;
        let dur = |t| {
            Cond::And(vec![
                trace(TraceCol::DurationNs, Test::Cmp(CmpOp::Ge, Bind::Int(0))),
                trace(TraceCol::DurationNs, t),
            ])
        };
        assert_eq!(
            filter("duration = 500"),
            dur(Test::InRange(500 * ms, 501 * ms))
        );
        assert_eq!(
            filter("duration != 500"),
            dur(Test::OutOfRange(500 * ms, 501 * ms))
        );
        assert_eq!(
            filter("duration < 500"),
            dur(Test::Cmp(CmpOp::Lt, Bind::Int(500 * ms)))
        );
        assert_eq!(
            filter("duration <= 500"),
            dur(Test::Cmp(CmpOp::Lt, Bind::Int(501 * ms)))
        );
        assert_eq!(
            filter("duration > 1.5s"),
            dur(Test::Cmp(CmpOp::Ge, Bind::Int(1501 * ms)))
        );
        assert_eq!(
            filter("duration >= 2m"),
            dur(Test::Cmp(CmpOp::Ge, Bind::Int(120_000 * ms)))
        );
        assert_eq!(
            filter("duration > 0.25"),
            dur(Test::Cmp(CmpOp::Gt, Bind::Int(250_000)))
        );
        assert_eq!(
            filter("timestamp >= '2024-01-01T00:00:00Z'"),
            trace(
                TraceCol::StartNs,
                Test::Cmp(CmpOp::Ge, Bind::Int(1_704_067_200_000 * ms))
            )
        );
        assert_eq!(
            filter("span.duration > 100ms"),
            Cond::Pred(Pred::Span {
                col: SpanCol::DurationNs,
                test: Test::Cmp(CmpOp::Ge, Bind::Int(101 * ms))
            })
        );
        assert_eq!(err("timestamp > 9223372036854775807").field, "filter");
    }

    #[test]
    fn tags_metadata_and_mlflow_session_keys() {
        assert_eq!(
            filter("tags.intent = 'recommendation'"),
            Cond::Pred(Pred::Tag {
                key: "intent".into(),
                test: Test::Cmp(CmpOp::Eq, text("recommendation"))
            })
        );
        assert_eq!(
            filter("tags.`mlflow.traceName` IS NULL"),
            Cond::Pred(Pred::Tag {
                key: "mlflow.traceName".into(),
                test: Test::IsNull
            })
        );
        assert_eq!(
            filter("metadata.`mlflow.trace.session` = 's-1'"),
            trace(TraceCol::SessionId, Test::Cmp(CmpOp::Eq, text("s-1")))
        );
        assert_eq!(
            filter("metadata.mlflow.trace.user LIKE 'user-%'"),
            trace(TraceCol::UserId, Test::Like("user-%".into()))
        );
        assert_eq!(
            filter("request_metadata.`it's` ILIKE '%X%'"),
            Cond::Pred(Pred::Metadata {
                key: "it's".into(),
                test: Test::ILike("%X%".into())
            })
        );
    }

    #[test]
    fn span_fields_become_span_predicates() {
        let span = |col, test| Cond::Pred(Pred::Span { col, test });
        assert_eq!(
            filter("span.name = 'llm_call'"),
            span(SpanCol::Name, Test::Cmp(CmpOp::Eq, text("llm_call")))
        );
        assert_eq!(
            filter("span.type IN ('llm', 'retriever')"),
            span(
                SpanCol::Kind,
                Test::In(vec![text("LLM"), text("RETRIEVER")])
            )
        );
        assert_eq!(
            filter("span.status = 'ERROR'"),
            span(SpanCol::Status, Test::Cmp(CmpOp::Eq, Bind::Int(2)))
        );
        assert_eq!(
            filter("span.status NOT IN ('OK', 'UNSET')"),
            span(
                SpanCol::Status,
                Test::NotIn(vec![Bind::Int(1), Bind::Int(0)])
            )
        );
        assert_eq!(
            filter("span.model IS NOT NULL"),
            span(SpanCol::Model, Test::IsNotNull)
        );
    }

    #[test]
    fn model_inequality_means_none_of_the_models() {
        let model = |t| Cond::Pred(Pred::Model(t));
        assert_eq!(
            filter("model = 'gpt-4o'"),
            model(Test::Cmp(CmpOp::Eq, text("gpt-4o")))
        );
        assert_eq!(
            filter("model != 'gpt-4o'"),
            Cond::And(vec![
                model(Test::IsNotNull),
                Cond::Not(Box::new(model(Test::Cmp(CmpOp::Eq, text("gpt-4o"))))),
            ])
        );
        assert_eq!(filter("model IS NULL"), model(Test::IsNull));
    }

    #[test]
    fn boolean_structure_is_kept() {
        let c = filter("status = 'OK' AND (tags.a = 'x' OR NOT span.name = 'y')");
        let Cond::And(items) = c else { panic!("{c:?}") };
        assert_eq!(items.len(), 2);
        let Cond::Or(alts) = &items[1] else {
            panic!("{items:?}")
        };
        assert!(matches!(alts[1], Cond::Not(_)));
    }

    #[test]
    fn text_searches_previews_and_span_content_and_patterns_are_kept_verbatim() {
        let both = |t: Test| {
            Cond::Or(vec![
                Cond::Pred(Pred::Preview(t.clone())),
                Cond::Pred(Pred::SpanContent(t)),
            ])
        };
        assert_eq!(
            filter(r"text LIKE '%50\\%%'"),
            both(Test::Like(r"%50\%%".into()))
        );
        assert_eq!(
            filter("text RLIKE 'one (piece|punch)'"),
            both(Test::Regex("one (piece|punch)".into()))
        );
        assert_eq!(
            filter("span.content ILIKE '%Refund%'"),
            Cond::Pred(Pred::SpanContent(Test::ILike("%Refund%".into())))
        );
    }

    #[test]
    fn span_attributes_compare_numbers_as_numbers_and_the_rest_as_text() {
        assert_eq!(
            filter("span.attributes.temperature > 0.5"),
            Cond::Pred(Pred::SpanAttributeNumber {
                key: "temperature".into(),
                test: Test::Cmp(CmpOp::Gt, Bind::Float(0.5))
            })
        );
        assert_eq!(
            filter("attributes.`db.system` = 'pgvector'"),
            Cond::Pred(Pred::SpanAttribute {
                key: "db.system".into(),
                test: Test::Cmp(CmpOp::Eq, text("pgvector"))
            })
        );
        assert_eq!(
            filter("span.attributes.k LIKE 'a%'"),
            Cond::Pred(Pred::SpanAttribute {
                key: "k".into(),
                test: Test::Like("a%".into())
            })
        );
        assert_eq!(
            filter("span.attributes.k IS NULL"),
            Cond::Pred(Pred::SpanAttribute {
                key: "k".into(),
                test: Test::IsNull
            })
        );
        let e = err("span.attributes.k > 'b'");
        assert!(e.message.contains("needs a number"), "{e}");
    }

    #[test]
    fn trace_ids_are_bytes_for_equality_and_hex_for_patterns() {
        let hex = "0123456789abcdef0123456789abcdef";
        let bytes = hex::decode(hex).unwrap();
        assert_eq!(
            filter(&format!("trace_id = 'tr-{hex}'")),
            trace(TraceCol::TraceId, Test::Cmp(CmpOp::Eq, Bind::Bytes(bytes)))
        );
        assert_eq!(
            filter("trace_id LIKE '0123%'"),
            trace(TraceCol::TraceIdHex, Test::Like("0123%".into()))
        );
        let e = err("trace_id = 'nope'");
        assert!(e.message.contains("32 hex digits"), "{e}");
    }

    #[test]
    fn what_cannot_be_searched_yet_is_refused_with_a_reason() {
        for (f, words) in [
            ("feedback.relevance = 'yes'", "does not store assessments"),
            ("expectation.answer = 'x'", "does not store assessments"),
            ("run_id = 'abc'", "run_id cannot be searched yet"),
        ] {
            let e = err(f);
            assert_eq!(e.field, "filter");
            assert!(e.message.contains(words), "{f}: {e}");
            let app: AppError = e.into();
            assert!(matches!(app, AppError::Invalid { .. }));
        }
    }

    #[test]
    fn bad_values_are_refused() {
        let e = err("text RLIKE 'a(b'");
        assert!(
            e.message.starts_with("invalid regular expression \"a(b\""),
            "{e}"
        );
        assert!(!e.message.contains('\n'), "{e}");
        let e = err("text RLIKE 'a{1000}{1000}'");
        assert!(e.message.contains("too large"), "{e}");
        let e = err("experiment_id IN ('1', 'x')");
        assert!(e.message.contains("must be an integer"), "{e}");
    }

    #[test]
    fn time_range_and_experiment_are_base_conditions() {
        let p = plan_search(
            None,
            &TraceListQuery {
                experiment_id: Some("3".into()),
                from_ms: Some(1_000),
                to_ms: Some(2_000),
                ..q()
            },
        )
        .unwrap();
        assert_eq!(p.experiment_id, Some(3));
        assert_eq!(p.start_from_ns, Some(1_000 * NS_PER_MS));
        assert_eq!(p.start_to_ns, Some(2_000 * NS_PER_MS));
        let bad = |query| plan_search(None, &query).unwrap_err().field;
        assert_eq!(
            bad(TraceListQuery {
                from_ms: Some(2),
                to_ms: Some(1),
                ..q()
            }),
            "to_ms"
        );
        assert_eq!(
            bad(TraceListQuery {
                experiment_id: Some("x".into()),
                ..q()
            }),
            "experiment_id"
        );
        assert_eq!(
            bad(TraceListQuery {
                from_ms: Some(i64::MAX),
                ..q()
            }),
            "from_ms"
        );
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_order() {
        for order in [
            SearchOrder::StartDesc,
            SearchOrder::StartAsc,
            SearchOrder::DurationDesc,
            SearchOrder::DurationAsc,
        ] {
            let c = encode_cursor(order, -1, i64::MAX);
            assert!(c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_".contains(ch)));
            assert_eq!(
                decode_cursor(&c, order),
                Ok(Keyset {
                    key: -1,
                    row_id: i64::MAX
                })
            );
        }
        let c = encode_cursor(SearchOrder::StartDesc, 5, 6);
        let e = decode_cursor(&c, SearchOrder::DurationDesc).unwrap_err();
        assert!(e.message.contains("another sort order"), "{e}");
        for junk in ["", "!!!", "AAAA", &c[..c.len() - 2]] {
            assert_eq!(
                decode_cursor(junk, SearchOrder::StartDesc)
                    .unwrap_err()
                    .field,
                "cursor"
            );
        }
        let p = plan_search(
            None,
            &TraceListQuery {
                sort: TraceSort::DurationAsc,
                cursor: Some(encode_cursor(SearchOrder::DurationAsc, 7, 8)),
                limit: 500,
                ..q()
            },
        )
        .unwrap();
        assert_eq!(p.order, SearchOrder::DurationAsc);
        assert_eq!(p.after, Some(Keyset { key: 7, row_id: 8 }));
        assert_eq!(p.fetch, 501);
    }
}
