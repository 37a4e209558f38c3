//! The trace filter grammar: text typed in a search bar → a checked [`Expr`]. One grammar for
//! the trace explorer, dashboards and alert rules; MLflow's `filter_string` (PROTOCOL.md §8) is
//! a subset of it. It runs in the browser for instant feedback, so it is pure and small: no
//! SQL, no regex engine, no I/O. `server` turns the AST into bound SQL per backend.
//!
//! ```text
//! filter     := ε | or
//! or         := and ("OR" and)*
//! and        := unary ("AND" unary)*
//! unary      := "NOT" unary | "(" or ")" | comparison
//! comparison := key ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
//!             | key ["NOT"] ("LIKE" | "ILIKE" | "RLIKE") string
//!             | key ["NOT"] "IN" "(" value ("," value)* ")"
//!             | key "IS" ["NOT"] "NULL"
//! key        := segment ("." segment)*          -- no spaces around the dots
//! segment    := [A-Za-z_][A-Za-z0-9_:/@-]*  |  "`" (any | "``")+ "`"
//! value      := string | number | duration
//! string     := "'" (any | "''" | "\'" | "\"" | "\\")* "'"  |  the same with '"'
//! number     := "-"? digits ("." digits)? ([eE] [+-]? digits)?
//! duration   := number ("ms" | "s" | "m" | "h")
//! ```
//!
//! Keywords are case-insensitive. `NOT` binds tighter than `AND`, which binds tighter than `OR`.
//! See [`parse`] for what keys mean and which operators and values each accepts.

mod ast;
mod lexer;
mod parser;

pub use ast::{
    Comparison, Expr, Field, Op, SpanField, TraceField, Value, SPAN_STATUSES, SPAN_TYPES,
    TRACE_STATUSES,
};

/// Longest accepted filter, in bytes. The parser is reachable over HTTP.
pub const MAX_INPUT_BYTES: usize = 4096;

/// Deepest accepted nesting of parentheses and `NOT`s; keeps recursion far from the stack limit.
pub const MAX_DEPTH: usize = 32;

/// Why a filter was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct ParseError {
    /// Byte offset into the input.
    pub offset: usize,
    /// 1-based character (not byte) column, for people.
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(input: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = floor_char_boundary(input, offset);
        ParseError {
            offset,
            column: input[..offset].chars().count() + 1,
            message: message.into(),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Parses and type-checks a filter. Empty or whitespace-only input matches everything
/// (`Ok(None)`).
///
/// Keys:
/// - a bare trace key (`status`, `duration`, `model`, …; [`TraceField::spellings`]), or the
///   same after `trace.`, `attributes.` or `attribute.`;
/// - `tags.<k>`/`tag.<k>`, `metadata.<k>`/`request_metadata.<k>`, `span.attributes.<k>`,
///   `feedback.<k>`, `expectation.<k>`, where `<k>` is the rest of the key, dots included, or
///   backticked (`` tags.`mlflow.traceName` ``);
/// - `attributes.<k>` when `<k>` is not a trace key means `span.attributes.<k>`;
/// - `span.name`, `span.type`, `span.status`, `span.content`, `span.model`, `span.duration`.
///
/// Operators and values by field kind:
/// - text (ids, name, model, session, user, service, tags, metadata, span name and model):
///   `= != LIKE ILIKE RLIKE IN NOT IN` with strings; tags, metadata, model, session, user and
///   span model also `IS [NOT] NULL`;
/// - search (`text`, `span.content`): `LIKE ILIKE RLIKE`;
/// - status and span type: `= != IN NOT IN` with one of [`TRACE_STATUSES`], [`SPAN_STATUSES`] or
///   [`SPAN_TYPES`], any case, stored upper case;
/// - numeric (times, durations, token counts, cost, span and error counts): `= != < <= > >=`
///   with numbers; durations also take `1.5s`/`200ms`/`2m`/`1h` (→ ms), and `timestamp`/`end_time`
///   an ISO-8601 string (→ epoch ms, UTC unless an offset is given);
/// - span attributes and assessments: every operator, strings or numbers (LIKE needs a string).
///
/// # Errors
/// A [`ParseError`] naming the column and what was expected and found, for: bad syntax, unknown
/// keys, operators or values that do not fit the field, input over [`MAX_INPUT_BYTES`], nesting
/// over [`MAX_DEPTH`].
pub fn parse(input: &str) -> Result<Option<Expr>, ParseError> {
    parser::parse(input)
}

/// The known keys, canonical spelling, for autocomplete and help: bare trace keys, then
/// `span.*` keys, then the prefixes that take a free-form key (ending in `.`).
pub fn field_names() -> &'static [&'static str] {
    &[
        "trace_id",
        "client_request_id",
        "name",
        "status",
        "timestamp",
        "duration",
        "end_time",
        "run_id",
        "text",
        "model",
        "session",
        "user",
        "tokens",
        "input_tokens",
        "output_tokens",
        "cost",
        "span_count",
        "error_count",
        "redactions",
        "experiment_id",
        "service",
        "span.name",
        "span.type",
        "span.status",
        "span.content",
        "span.model",
        "span.duration",
        "tags.",
        "metadata.",
        "attributes.",
        "span.attributes.",
        "feedback.",
        "expectation.",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Expr {
        match parse(src) {
            Ok(Some(e)) => e,
            other => panic!("{src:?} → {other:?}"),
        }
    }

    fn err(src: &str) -> String {
        match parse(src) {
            Err(e) => e.to_string(),
            other => panic!("{src:?} should fail, got {other:?}"),
        }
    }

    fn cmp(field: Field, op: Op, value: Value) -> Expr {
        Expr::Cmp(Comparison { field, op, value })
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn trace(f: TraceField) -> Field {
        Field::Trace(f)
    }

    fn eq_name(v: &str) -> Expr {
        cmp(trace(TraceField::Name), Op::Eq, s(v))
    }

    #[test]
    fn empty_input_matches_everything() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("  \n\t "), Ok(None));
    }

    #[test]
    fn mlflow_examples_from_protocol_section_8() {
        use TraceField as T;
        let cases: Vec<(&str, Expr)> = vec![
            (
                "tags.session_id = 'sess-A'",
                cmp(Field::Tag("session_id".into()), Op::Eq, s("sess-A")),
            ),
            (
                "attributes.status = 'ERROR'",
                cmp(trace(T::Status), Op::Eq, s("ERROR")),
            ),
            (
                "trace.status IN ('OK','ERROR')",
                cmp(
                    trace(T::Status),
                    Op::In,
                    Value::List(vec![s("OK"), s("ERROR")]),
                ),
            ),
            (
                "attributes.timestamp_ms > 1795464081138",
                cmp(trace(T::Timestamp), Op::Gt, Value::Int(1795464081138)),
            ),
            (
                "metadata.`mlflow.trace.session` = 'sess-B'",
                cmp(
                    Field::Metadata("mlflow.trace.session".into()),
                    Op::Eq,
                    s("sess-B"),
                ),
            ),
            (
                "metadata.`mlflow.trace.user` IS NOT NULL",
                cmp(
                    Field::Metadata("mlflow.trace.user".into()),
                    Op::IsNotNull,
                    Value::Null,
                ),
            ),
            (
                "metadata.`mlflow.trace.session` RLIKE '^sess-'",
                cmp(
                    Field::Metadata("mlflow.trace.session".into()),
                    Op::RLike,
                    s("^sess-"),
                ),
            ),
            ("trace.name = 'chat_turn'", eq_name("chat_turn")),
            (
                "span.name = 'gen'",
                cmp(Field::Span(SpanField::Name), Op::Eq, s("gen")),
            ),
            (
                "span.type = 'LLM'",
                cmp(Field::Span(SpanField::Type), Op::Eq, s("LLM")),
            ),
            (
                "trace.text LIKE '%Paris%'",
                cmp(trace(T::Text), Op::Like, s("%Paris%")),
            ),
            (
                "span.content ILIKE '%paris%'",
                cmp(Field::Span(SpanField::Content), Op::ILike, s("%paris%")),
            ),
            (
                "tag.env LIKE 'te%'",
                cmp(Field::Tag("env".into()), Op::Like, s("te%")),
            ),
            (
                "tags.`mlflow.traceName` = 'rag_pipeline' AND trace.timestamp_ms > 0",
                Expr::And(vec![
                    cmp(
                        Field::Tag("mlflow.traceName".into()),
                        Op::Eq,
                        s("rag_pipeline"),
                    ),
                    cmp(trace(T::Timestamp), Op::Gt, Value::Int(0)),
                ]),
            ),
        ];
        for (src, want) in cases {
            assert_eq!(ok(src), want, "{src}");
        }
    }

    #[test]
    fn mlflow_entities_and_key_aliases() {
        use TraceField as T;
        let field = |src: &str| match ok(src) {
            Expr::Cmp(c) => c.field,
            e => panic!("{e:?}"),
        };
        for (src, want) in [
            ("attribute.request_id = 'tr-1'", trace(T::TraceId)),
            ("trace_id = 'x'", trace(T::TraceId)),
            ("client_request_id = 'x'", trace(T::ClientRequestId)),
            ("run_id = 'x'", trace(T::RunId)),
            ("timestamp > 0", trace(T::Timestamp)),
            ("execution_time_ms > 0", trace(T::ExecutionTime)),
            ("execution_time > 0", trace(T::ExecutionTime)),
            ("end_time_ms > 0", trace(T::EndTime)),
            ("end_time > 0", trace(T::EndTime)),
            ("STATE = 'ok'", trace(T::Status)),
            ("session_id = 'x'", trace(T::Session)),
            ("attributes.user_id = 'x'", trace(T::User)),
            ("total_tokens > 5", trace(T::Tokens)),
            ("experiment_id = '0'", trace(T::Experiment)),
            ("request_metadata.k = 'x'", Field::Metadata("k".into())),
            ("TAGS.Env = 'x'", Field::Tag("Env".into())),
            ("span.kind = 'tool'", Field::Span(SpanField::Type)),
            ("span.status = 'ok'", Field::Span(SpanField::Status)),
            ("span.model IS NULL", Field::Span(SpanField::Model)),
            ("span.duration > 1s", Field::Span(SpanField::Duration)),
            (
                "span.attributes.`mlflow.spanInputs` LIKE '%x%'",
                Field::SpanAttribute("mlflow.spanInputs".into()),
            ),
            (
                "span.attributes.gen_ai.system = 'openai'",
                Field::SpanAttribute("gen_ai.system".into()),
            ),
            (
                "attributes.llm.model_name = 'gpt-4o'",
                Field::SpanAttribute("llm.model_name".into()),
            ),
            (
                "feedback.correct = 'yes'",
                Field::Feedback("correct".into()),
            ),
            (
                "expectation.`expected.answer` IS NULL",
                Field::Expectation("expected.answer".into()),
            ),
        ] {
            assert_eq!(field(src), want, "{src}");
        }
    }

    #[test]
    fn bare_trace_keys() {
        assert_eq!(
            ok("status = 'error'"),
            cmp(trace(TraceField::Status), Op::Eq, s("ERROR"))
        );
        assert_eq!(
            ok("duration > 1500"),
            cmp(trace(TraceField::ExecutionTime), Op::Gt, Value::Int(1500))
        );
        assert_eq!(ok("name = 'chat_request'"), eq_name("chat_request"));
        assert_eq!(
            ok("model = 'gpt-4o'"),
            cmp(trace(TraceField::Model), Op::Eq, s("gpt-4o"))
        );
        assert_eq!(
            ok("cost >= 0.25"),
            cmp(trace(TraceField::Cost), Op::Ge, Value::Float(0.25))
        );
        assert_eq!(
            ok("experiment_id = 12"),
            cmp(trace(TraceField::Experiment), Op::Eq, s("12"))
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let (a, b, c) = (eq_name("a"), eq_name("b"), eq_name("c"));
        assert_eq!(
            ok("name = 'a' AND name = 'b' OR name = 'c'"),
            Expr::Or(vec![Expr::And(vec![a.clone(), b.clone()]), c.clone()])
        );
        assert_eq!(
            ok("name = 'a' OR name = 'b' AND name = 'c'"),
            Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])
        );
        assert_eq!(
            ok("name = 'a' and (name = 'b' or name = 'c')"),
            Expr::And(vec![a.clone(), Expr::Or(vec![b.clone(), c.clone()])])
        );
    }

    #[test]
    fn nested_and_or_are_flattened() {
        let (a, b, c, d) = (eq_name("a"), eq_name("b"), eq_name("c"), eq_name("d"));
        assert_eq!(
            ok("(name = 'a' AND name = 'b') AND (name = 'c' AND name = 'd')"),
            Expr::And(vec![a.clone(), b.clone(), c.clone(), d.clone()])
        );
        assert_eq!(
            ok("name = 'a' OR (name = 'b' OR (name = 'c')) OR name = 'd'"),
            Expr::Or(vec![a.clone(), b, c, d])
        );
        assert_eq!(ok("((((name = 'a'))))"), a);
    }

    #[test]
    fn not_binds_tighter_than_and() {
        let (a, b) = (eq_name("a"), eq_name("b"));
        let not = |e: Expr| Expr::Not(Box::new(e));
        assert_eq!(
            ok("NOT name = 'a' AND name = 'b'"),
            Expr::And(vec![not(a.clone()), b.clone()])
        );
        assert_eq!(
            ok("not (name = 'a' AND name = 'b')"),
            not(Expr::And(vec![a.clone(), b.clone()]))
        );
        assert_eq!(ok("NOT NOT name = 'a'"), not(not(a.clone())));
        assert_eq!(
            ok("name NOT LIKE 'a%'"),
            not(cmp(trace(TraceField::Name), Op::Like, s("a%")))
        );
    }

    #[test]
    fn in_and_not_in_lists() {
        assert_eq!(
            ok("span.type not in ('llm', \"Tool\")"),
            cmp(
                Field::Span(SpanField::Type),
                Op::NotIn,
                Value::List(vec![s("LLM"), s("TOOL")])
            )
        );
        assert_eq!(
            ok("tags.env IN ('prod')"),
            cmp(
                Field::Tag("env".into()),
                Op::In,
                Value::List(vec![s("prod")])
            )
        );
        assert_eq!(
            ok("span.attributes.retries IN (1, 2.5, 'x')"),
            cmp(
                Field::SpanAttribute("retries".into()),
                Op::In,
                Value::List(vec![Value::Int(1), Value::Float(2.5), s("x")])
            )
        );
        assert_eq!(
            err("tags.env IN ()"),
            "at column 14: expected a value after '(', found ')'"
        );
        assert_eq!(
            err("tags.env IN ('a',)"),
            "at column 18: expected a value after ',', found ')'"
        );
        assert_eq!(
            err("tags.env IN 'a'"),
            "at column 13: expected '(' after 'IN', found string 'a'"
        );
        assert_eq!(
            err("tags.env IN ('a' 'b')"),
            "at column 18: expected ',' or ')' in the list, found string 'b'"
        );
        assert_eq!(
            err("status IN ('OK', 'BAD')"),
            "at column 18: 'status' takes OK, ERROR, IN_PROGRESS or STATE_UNSPECIFIED, not 'BAD'"
        );
    }

    #[test]
    fn quoting_styles_escapes_and_backticks() {
        for (src, want) in [
            ("name = 'plain'", "plain"),
            ("name = \"double\"", "double"),
            ("name = 'it''s'", "it's"),
            ("name = \"say \"\"hi\"\"\"", "say \"hi\""),
            (r"name = 'it\'s'", "it's"),
            (r#"name = "a\"b""#, "a\"b"),
            (r"name = 'back\\slash'", r"back\slash"),
            (r"name = 'keep \% and \n'", r"keep \% and \n"),
            ("name = ''", ""),
            ("name = 'héllo wörld ✓'", "héllo wörld ✓"),
        ] {
            assert_eq!(ok(src), eq_name(want), "{src}");
        }
        assert_eq!(
            ok("tags.`key with spaces and ``ticks``` = 'v'"),
            cmp(
                Field::Tag("key with spaces and `ticks`".into()),
                Op::Eq,
                s("v")
            )
        );
        assert_eq!(
            ok("metadata.mlflow.trace.session = 'v'"),
            cmp(
                Field::Metadata("mlflow.trace.session".into()),
                Op::Eq,
                s("v")
            )
        );
    }

    #[test]
    fn sql_metacharacters_stay_inside_values() {
        for v in [
            "x'; DROP TABLE traces; --",
            "100%",
            "a_b",
            "%_%",
            r"C:\path\",
            "\" OR 1=1 --",
            "$1 ? :name @p",
            "/* comment */",
            "\0nul",
        ] {
            let quoted = Value::Str(v.into()).to_string();
            let src = format!("name = {quoted}");
            assert_eq!(ok(&src), eq_name(v), "{src}");
        }
        assert_eq!(
            ok("name = 'x''; DROP TABLE traces; --'"),
            eq_name("x'; DROP TABLE traces; --")
        );
        assert_eq!(
            ok("tags.env LIKE '100\\%' OR tags.env ILIKE '_x%'"),
            Expr::Or(vec![
                cmp(Field::Tag("env".into()), Op::Like, s("100\\%")),
                cmp(Field::Tag("env".into()), Op::ILike, s("_x%")),
            ])
        );
        // Outside quotes the same characters are syntax errors, never SQL.
        assert_eq!(
            err("name = 'x'; DROP TABLE traces"),
            "at column 11: unexpected character ';'"
        );
        assert_eq!(
            err("name = 'x' -- comment"),
            "at column 12: unexpected character '-'"
        );
    }

    #[test]
    fn durations_become_milliseconds() {
        let dur = |src: &str| match ok(src) {
            Expr::Cmp(Comparison { value, .. }) => value,
            e => panic!("{e:?}"),
        };
        assert_eq!(dur("duration > 1.5s"), Value::Int(1_500));
        assert_eq!(dur("duration > 200ms"), Value::Int(200));
        assert_eq!(dur("duration > 2m"), Value::Int(120_000));
        assert_eq!(dur("duration < 1h"), Value::Int(3_600_000));
        assert_eq!(dur("execution_time_ms <= 1.1s"), Value::Int(1_100));
        assert_eq!(dur("span.duration > 0.25s"), Value::Int(250));
        assert_eq!(dur("duration > 1500"), Value::Int(1_500));
        assert_eq!(
            err("tokens > 2m"),
            "at column 10: 'tokens' takes a plain number, not the duration 2m"
        );
        assert_eq!(
            err("duration > 5d"),
            "at column 12: unknown unit 'd' in 5d; durations use ms, s, m or h"
        );
        assert_eq!(
            err("duration > 1.5ms"),
            "at column 12: duration 1.5ms is not a whole number of milliseconds"
        );
        assert_eq!(
            err("duration > '1s'"),
            "at column 12: 'duration' takes milliseconds or a duration like 1.5s (unquoted), not '1s'"
        );
        assert_eq!(
            err("span.attributes.x = 5s"),
            "at column 21: 'span.attributes.x' takes a string or a plain number, not the duration 5s"
        );
    }

    #[test]
    fn iso_timestamps_become_epoch_milliseconds() {
        assert_eq!(
            ok("timestamp >= '2026-11-23T20:00:00Z'"),
            cmp(
                trace(TraceField::Timestamp),
                Op::Ge,
                Value::Int(1_795_464_000_000)
            )
        );
        assert_eq!(
            ok("end_time < '2026-11-23'"),
            cmp(
                trace(TraceField::EndTime),
                Op::Lt,
                Value::Int(1_795_392_000_000)
            )
        );
        assert_eq!(
            err("timestamp > 'yesterday'"),
            "at column 13: 'timestamp' takes epoch milliseconds or an ISO-8601 time like \
             '2026-11-23T20:00:00Z', not 'yesterday'"
        );
        assert_eq!(
            err("timestamp > 1s"),
            "at column 13: 'timestamp' takes a plain number, not the duration 1s"
        );
    }

    #[test]
    fn type_errors_name_the_field_and_the_choices() {
        assert_eq!(
            err("status = 'BROKEN'"),
            "at column 10: 'status' takes OK, ERROR, IN_PROGRESS or STATE_UNSPECIFIED, not 'BROKEN'"
        );
        assert_eq!(
            err("span.type = 'robot'"),
            "at column 13: 'span.type' takes LLM, CHAT_MODEL, CHAIN, AGENT, TOOL, RETRIEVER, \
             EMBEDDING, RERANKER, PARSER, MEMORY, WORKFLOW, TASK, GUARDRAIL, EVALUATOR or \
             UNKNOWN, not 'robot'"
        );
        assert_eq!(
            err("span.status = 'IN_PROGRESS'"),
            "at column 15: 'span.status' takes OK, ERROR or UNSET, not 'IN_PROGRESS'"
        );
        assert_eq!(
            err("name > 'x'"),
            "at column 6: '>' does not apply to text field 'name'; use = != LIKE ILIKE RLIKE IN NOT IN"
        );
        assert_eq!(
            err("tokens LIKE '1%'"),
            "at column 8: 'LIKE' does not apply to numeric field 'tokens'; use = != < <= > >="
        );
        assert_eq!(
            err("status LIKE 'E%'"),
            "at column 8: 'LIKE' does not apply to field 'status'; use = != IN NOT IN"
        );
        assert_eq!(
            err("span.content = 'x'"),
            "at column 14: '=' does not apply to search field 'span.content'; use LIKE ILIKE RLIKE"
        );
        assert_eq!(
            err("trace_id IS NULL"),
            "at column 10: 'IS NULL' does not apply to text field 'trace_id'; \
             use = != LIKE ILIKE RLIKE IN NOT IN"
        );
        assert_eq!(
            err("tokens NOT IN (1)"),
            "at column 8: 'NOT IN' does not apply to numeric field 'tokens'; use = != < <= > >="
        );
        assert_eq!(
            err("name = 5"),
            "at column 8: 'name' takes a quoted string, not 5; write '5'"
        );
        assert_eq!(
            err("tokens > 'many'"),
            "at column 10: 'tokens' takes a number, not 'many'"
        );
        assert_eq!(
            err("span.attributes.x LIKE 5"),
            "at column 24: LIKE needs a quoted pattern, not the number 5"
        );
        assert_eq!(
            err("tokens > 99999999999999999999"),
            "at column 10: number 99999999999999999999 is out of range"
        );
        assert_eq!(
            err("cost > 1e999"),
            "at column 8: number 1e999 is out of range"
        );
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        assert_eq!(
            err("attributes.status ="),
            "at column 20: expected a value after '=', found end of input"
        );
        assert_eq!(
            err("attributes.status = "),
            "at column 21: expected a value after '=', found end of input"
        );
        assert!(err("foo = 1").starts_with(
            "at column 1: unknown field 'foo'; known fields: trace_id, client_request_id, name,"
        ));
        assert!(
            err("foo = 1").ends_with("span.attributes.<key>, feedback.<key>, expectation.<key>")
        );
        assert_eq!(err("name = 'abc"), "at column 8: unterminated string");
        assert_eq!(
            err("span.foo = 'x'"),
            "at column 1: unknown span field 'span.foo'; known: span.name, span.type, \
             span.status, span.content, span.model, span.duration, span.attributes.<key>"
        );
        assert!(err("trace.cost_usd > 1")
            .starts_with("at column 1: unknown trace field 'cost_usd'; known: trace_id,"));
        assert!(err("tags = 'x'").starts_with("at column 1: 'tags' needs a key: tags.<key>;"));
        assert_eq!(
            err("status 'OK'"),
            "at column 8: expected an operator (= != < <= > >= LIKE ILIKE RLIKE IN NOT IN \
             IS NULL IS NOT NULL) after 'status', found string 'OK'"
        );
        assert_eq!(
            err("status = OK"),
            "at column 10: expected a value after '=', found 'OK'; quote text values: 'OK'"
        );
        assert_eq!(
            err("model = NULL"),
            "at column 9: expected a value after '=', found 'NULL'; \
             use IS NULL or IS NOT NULL to test for a missing value"
        );
        assert_eq!(
            err("model IS 'x'"),
            "at column 10: expected NULL or NOT NULL after 'IS', found string 'x'"
        );
        assert_eq!(
            err("name NOT = 'x'"),
            "at column 10: expected IN, LIKE, ILIKE or RLIKE after 'NOT', found '='"
        );
        assert_eq!(
            err("name = 'a' name = 'b'"),
            "at column 12: expected AND, OR or end of input, found 'name'"
        );
        assert_eq!(
            err("name = 'a' AND"),
            "at column 15: expected a field after 'AND', found end of input"
        );
        assert_eq!(
            err("(name = 'a'"),
            "at column 12: expected AND, OR or ')' to close the '(' at column 1, found end of input"
        );
        assert_eq!(
            err("name = 'a')"),
            "at column 11: ')' without a matching '('"
        );
        assert_eq!(
            err("()"),
            "at column 2: expected a field after '(', found ')'"
        );
        assert_eq!(err("AND"), "at column 1: expected a field, found 'AND'");
        // The first error in reading order wins.
        assert!(err("näme = 'x' AND ñ = 1").starts_with("at column 1: unknown field 'näme';"));
        // Columns count characters, not bytes.
        assert!(err("name = 'é' AND ñ = 1").starts_with("at column 16: unknown field 'ñ'"));
    }

    #[test]
    fn error_carries_byte_offset_and_char_column() {
        let e = parse("name = 'é' AND ñ = 1").unwrap_err();
        // 'é' is two bytes and one column: byte 16 is the 16th character, column 16.
        assert_eq!((e.offset, e.column), (16, 16));
        let e = parse("name = 'é' AND ñ = 1").unwrap_err();
        assert_eq!(&"name = 'é' AND ñ = 1"[e.offset..e.offset + 2], "ñ");
    }

    #[test]
    fn input_length_is_limited() {
        let long = format!("name = '{}'", "x".repeat(MAX_INPUT_BYTES));
        assert_eq!(
            err(&long),
            format!(
                "at column 4097: the filter is {} bytes long; the limit is 4096",
                long.len()
            )
        );
        let fits = format!("name = '{}'", "x".repeat(MAX_INPUT_BYTES - 10));
        assert!(parse(&fits).is_ok());
        // The limit may fall inside a multi-byte character.
        let wide = "é".repeat(MAX_INPUT_BYTES);
        let e = parse(&wide).unwrap_err();
        assert_eq!((e.offset, e.column), (4096, 2049));
    }

    #[test]
    fn nesting_depth_is_limited() {
        let nested = |n: usize| format!("{}name = 'a'{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            err(&nested(MAX_DEPTH + 1)),
            "at column 33: nested too deeply (more than 32 levels of parentheses and NOT)"
        );
        let nots = |n: usize| format!("{}name = 'a'", "NOT ".repeat(n));
        assert!(parse(&nots(MAX_DEPTH)).is_ok());
        assert!(err(&nots(MAX_DEPTH + 1)).contains("nested too deeply"));
        // Deep input near the byte limit fails fast instead of overflowing the stack.
        assert!(err(&"(".repeat(4000)).contains("nested too deeply"));
        assert!(err(&"NOT ".repeat(1000)).contains("nested too deeply"));
        // Long flat chains are fine: AND/OR are loops, not recursion.
        let chain = vec!["tokens > 1"; 200].join(" AND ");
        match ok(&chain) {
            Expr::And(items) => assert_eq!(items.len(), 200),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn display_round_trips() {
        for src in [
            "status = 'OK'",
            "trace.status IN ('OK','ERROR')",
            "name = 'a' AND name = 'b' OR name = 'c'",
            "name = 'a' AND (name = 'b' OR name = 'c')",
            "NOT (name = 'a' OR NOT name = 'b') AND tokens >= 3",
            "name NOT LIKE 'x%' AND tags.env NOT IN ('a', 'b')",
            "tags.`mlflow.traceName` = 'x' AND tags.`weird key` = 'y' AND tags.`back``tick` = 'z'",
            "metadata.`mlflow.trace.user` IS NOT NULL OR model IS NULL",
            "attributes.llm.model_name = 'gpt-4o' AND attributes.status = 'ERROR'",
            "span.attributes.status = 'x' AND span.attributes.n > -2.5e-7",
            "cost > 1.0 AND cost < 1e300 AND tokens = -9223372036854775808",
            "name = 'it''s \\\\ \"q\" \\% x''; DROP TABLE t; --'",
            "duration > 1.5s AND timestamp > '2026-11-23T20:00:00Z'",
            "span.type IN ('llm', 'tool') AND span.status != 'error'",
            "feedback.score >= 0.5 AND expectation.answer RLIKE '^a'",
            "experiment_id = 7",
            "text ILIKE '%paris%' AND span.content LIKE '%x%'",
        ] {
            let first = ok(src);
            let printed = first.to_string();
            let second = ok(&printed);
            assert_eq!(second, first, "{src} → {printed}");
            assert_eq!(second.to_string(), printed, "printing is stable");
        }
        assert_eq!(
            ok("attributes.a.b = 1 or (NOT name = 'x' and tokens > 2)").to_string(),
            "span.attributes.a.b = 1 OR NOT name = 'x' AND tokens > 2"
        );
        assert_eq!(
            ok("not (status = 'ok' and duration > 2m)").to_string(),
            "NOT (status = 'OK' AND duration > 120000)"
        );
    }

    #[test]
    fn operators_per_field_for_autocomplete() {
        let tag = Field::Tag("env".into());
        assert!(tag.operators().contains(&Op::IsNull));
        assert!(!tag.operators().contains(&Op::Gt));
        assert_eq!(
            Field::Trace(TraceField::Tokens).operators(),
            &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]
        );
        assert_eq!(
            Field::Span(SpanField::Content).operators(),
            &[Op::Like, Op::ILike, Op::RLike]
        );
    }

    #[test]
    fn ast_serializes() {
        fn assert_serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
        assert_serde::<Expr>();
        assert_serde::<ParseError>();
    }

    #[test]
    fn field_names_all_parse() {
        for name in field_names() {
            let key = if name.ends_with('.') {
                format!("{name}k")
            } else {
                name.to_string()
            };
            let e = parse(&format!("{key} = 'x'"))
                .or_else(|_| parse(&format!("{key} = 1")))
                .or_else(|_| parse(&format!("{key} = 'OK'")))
                .or_else(|_| parse(&format!("{key} = 'LLM'")))
                .or_else(|_| parse(&format!("{key} LIKE 'x'")));
            assert!(matches!(e, Ok(Some(_))), "{name}: {e:?}");
        }
    }

    /// Inserts and deletes characters in valid filters with a fixed-seed LCG: nothing may
    /// panic, and whatever parses must print back to the same AST.
    #[test]
    fn fuzzed_inputs_never_panic() {
        let seeds = [
            "tags.`mlflow.traceName` = 'rag_pipeline' AND trace.timestamp_ms > 0",
            "NOT (status IN ('OK', 'ERROR') OR duration >= 1.5s) AND name LIKE 'a%'",
            "metadata.`mlflow.trace.user` IS NOT NULL OR span.type NOT IN ('LLM')",
            "timestamp > '2026-11-23T20:00:00+01:00' and cost < 0.5 and tokens != 3",
            "span.attributes.x.y = -1e5 OR attributes.k RLIKE '^\\\\d+' OR text ILIKE \"%é%\"",
        ];
        let alphabet: Vec<char> = "()'\"`\\., =!<>-+_%;:eE0123456789abnotANDORNOTINLIKEISNULL\
                                   ms é\u{0}\u{200b}\t\n"
            .chars()
            .collect();
        let mut state: u64 = 0x5eed_1234_abcd_0001;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let mut parsed = 0;
        for i in 0..10_000 {
            let mut chars: Vec<char> = seeds[i % seeds.len()].chars().collect();
            for _ in 0..1 + next() % 4 {
                let at = next() % (chars.len() + 1);
                if next() % 2 == 0 || chars.is_empty() {
                    chars.insert(at, alphabet[next() % alphabet.len()]);
                } else if at < chars.len() {
                    chars.remove(at);
                }
            }
            let input: String = chars.into_iter().collect();
            match parse(&input) {
                Ok(Some(e)) => {
                    parsed += 1;
                    let printed = e.to_string();
                    assert_eq!(ok(&printed), e, "{input:?} → {printed:?}");
                }
                Ok(None) => {}
                Err(err) => {
                    assert!(err.offset <= input.len() && input.is_char_boundary(err.offset));
                    assert_eq!(err.column, input[..err.offset].chars().count() + 1);
                }
            }
        }
        assert!(
            parsed > 500,
            "fuzzing should also exercise valid inputs ({parsed})"
        );
    }

    #[test]
    fn readme_examples_parse() {
        for f in [
            "status = 'ERROR' AND duration > 1.5s",
            "tags.intent = 'recommendation' AND NOT tags.cache_hit = 'true'",
            "span.type = 'RERANKER' AND span.duration > 100",
            "model IN ('claude-sonnet', 'gpt-4o') OR cost > 0.01",
            "metadata.`mlflow.trace.session` = 'sess-42'",
            "text ILIKE '%one piece%'",
        ] {
            assert!(matches!(parse(f), Ok(Some(_))), "{f}: {:?}", parse(f));
        }
    }
}
