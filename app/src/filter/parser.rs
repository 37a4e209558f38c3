//! Recursive descent over the lexer's tokens: resolves keys to [`Field`]s, checks each operator
//! and value against the field's rules (`Field::rules`), and normalises values (statuses upper
//! case, durations and ISO-8601 times to ms). It must not panic on any input:
//! the text comes from HTTP. Input size and nesting are bounded before recursion can hurt.

use super::ast::{
    Comparison, Expr, Field, NumberKind, Op, Rules, SpanField, TraceField, Value, Values,
};
use super::lexer::{
    duration_ms, n_text, number, parse_iso8601, shorten, unit_ms, CmpOp, Keyword, Lexer, Number,
    Segment, Tok, Token,
};
use super::{field_names, ParseError, MAX_DEPTH, MAX_INPUT_BYTES};

pub(crate) fn parse(input: &str) -> Result<Option<Expr>, ParseError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(ParseError::new(
            input,
            MAX_INPUT_BYTES,
            format!(
                "the filter is {} bytes long; the limit is {MAX_INPUT_BYTES}",
                input.len()
            ),
        ));
    }
    if input.trim().is_empty() {
        return Ok(None);
    }
    let mut p = Parser {
        src: input,
        lexer: Lexer::new(input),
        peeked: None,
        last: None,
        depth: 0,
    };
    let expr = p.or()?;
    let t = p.peek()?;
    let start = t.start;
    match t.kind {
        Tok::Eof => Ok(Some(expr)),
        Tok::RParen => Err(p.error_at(start, "')' without a matching '('")),
        _ => Err(p.expected("AND, OR or end of input")),
    }
}

struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// Byte span of the last consumed token, for "after '='" in messages.
    last: Option<(usize, usize)>,
    depth: usize,
}

/// A value as written, before it meets its field.
enum Literal {
    Str(String),
    Number(Number),
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<&Token, ParseError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(t))
    }

    fn bump(&mut self) -> Result<Token, ParseError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token()?,
        };
        self.last = Some((t.start, t.end));
        Ok(t)
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.src, offset, message)
    }

    fn text(&self, start: usize, end: usize) -> &'a str {
        &self.src[start..end]
    }

    /// How the peeked token reads in "found …".
    fn found(&self) -> String {
        let Some(t) = &self.peeked else {
            return "end of input".into();
        };
        let shown = shorten(self.text(t.start, t.end));
        match t.kind {
            Tok::Eof => "end of input".into(),
            Tok::Str(_) => format!("string {shown}"),
            Tok::Number(_) => format!("number {shown}"),
            _ => format!("'{shown}'"),
        }
    }

    /// "expected {what}, found …" at the peeked token.
    fn expected(&self, what: &str) -> ParseError {
        let at = self.peeked.as_ref().map_or(self.src.len(), |t| t.start);
        self.error_at(at, format!("expected {what}, found {}", self.found()))
    }

    /// "expected {what} after '<last token>', found …" at the peeked token.
    fn expected_after(&self, what: &str) -> ParseError {
        let at = self.peeked.as_ref().map_or(self.src.len(), |t| t.start);
        let after = match self.last {
            Some((s, e)) => format!(" after '{}'", shorten(self.text(s, e))),
            None => String::new(),
        };
        self.error_at(
            at,
            format!("expected {what}{after}, found {}", self.found()),
        )
    }

    fn enter(&mut self, offset: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                offset,
                format!("nested too deeply (more than {MAX_DEPTH} levels of parentheses and NOT)"),
            ));
        }
        Ok(())
    }

    fn at_keyword(&mut self, kw: Keyword) -> Result<bool, ParseError> {
        Ok(self.peek()?.kind == Tok::Keyword(kw))
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.and()?, true);
        while self.at_keyword(Keyword::Or)? {
            self.bump()?;
            push_flat(&mut items, self.and()?, true);
        }
        Ok(join(items, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.unary()?, false);
        while self.at_keyword(Keyword::And)? {
            self.bump()?;
            push_flat(&mut items, self.unary()?, false);
        }
        Ok(join(items, Expr::And))
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek()?;
        let start = t.start;
        match t.kind {
            Tok::Keyword(Keyword::Not) => {
                self.enter(start)?;
                self.bump()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.enter(start)?;
                self.bump()?;
                let inner = self.or()?;
                if self.peek()?.kind != Tok::RParen {
                    let opened = self.src[..start].chars().count() + 1;
                    return Err(self.expected(&format!(
                        "AND, OR or ')' to close the '(' at column {opened}"
                    )));
                }
                self.bump()?;
                self.depth -= 1;
                Ok(inner)
            }
            _ => self.comparison(),
        }
    }

    /// `key op value`. `NOT LIKE` and friends come back as `Not(Cmp(..))`.
    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek()?;
        let Tok::Key(segments) = &t.kind else {
            return Err(self.expected_after("a field"));
        };
        let (key_start, key_end) = (t.start, t.end);
        let field = resolve(segments).map_err(|m| self.error_at(key_start, m))?;
        self.bump()?;
        let key = self.text(key_start, key_end);
        let rules = field.rules();

        let op_start = self.peek()?.start;
        let (op, negated) = self.operator()?;
        if !rules.ops.contains(&op) {
            let shown = if negated {
                format!("NOT {op}")
            } else {
                op.to_string()
            };
            let allowed: Vec<&str> = rules.ops.iter().map(|o| o.as_str()).collect();
            return Err(self.error_at(
                op_start,
                format!(
                    "'{shown}' does not apply to {} '{key}'; use {}",
                    rules.noun,
                    allowed.join(" ")
                ),
            ));
        }

        let value = match op {
            Op::IsNull | Op::IsNotNull => Value::Null,
            Op::In | Op::NotIn => self.list(&rules, key, op)?,
            _ => {
                let (lit, start) = self.literal()?;
                self.convert(&rules, key, op, lit, start)?
            }
        };
        let cmp = Expr::Cmp(Comparison { field, op, value });
        Ok(if negated {
            Expr::Not(Box::new(cmp))
        } else {
            cmp
        })
    }

    /// The operator after a key. The flag is set for `NOT LIKE`/`NOT ILIKE`/`NOT RLIKE`,
    /// which have no operator of their own.
    fn operator(&mut self) -> Result<(Op, bool), ParseError> {
        let t = self.peek()?;
        let op = match t.kind {
            Tok::Cmp(c) => match c {
                CmpOp::Eq => Op::Eq,
                CmpOp::Ne => Op::Ne,
                CmpOp::Lt => Op::Lt,
                CmpOp::Le => Op::Le,
                CmpOp::Gt => Op::Gt,
                CmpOp::Ge => Op::Ge,
            },
            Tok::Keyword(Keyword::Like) => Op::Like,
            Tok::Keyword(Keyword::ILike) => Op::ILike,
            Tok::Keyword(Keyword::RLike) => Op::RLike,
            Tok::Keyword(Keyword::In) => Op::In,
            Tok::Keyword(Keyword::Not) => {
                self.bump()?;
                let op = match self.peek()?.kind {
                    Tok::Keyword(Keyword::In) => return self.bump().map(|_| (Op::NotIn, false)),
                    Tok::Keyword(Keyword::Like) => Op::Like,
                    Tok::Keyword(Keyword::ILike) => Op::ILike,
                    Tok::Keyword(Keyword::RLike) => Op::RLike,
                    _ => return Err(self.expected_after("IN, LIKE, ILIKE or RLIKE")),
                };
                self.bump()?;
                return Ok((op, true));
            }
            Tok::Keyword(Keyword::Is) => {
                self.bump()?;
                let not = self.at_keyword(Keyword::Not)?;
                if not {
                    self.bump()?;
                }
                if !self.at_keyword(Keyword::Null)? {
                    return Err(self.expected_after(if not { "NULL" } else { "NULL or NOT NULL" }));
                }
                self.bump()?;
                return Ok((if not { Op::IsNotNull } else { Op::IsNull }, false));
            }
            _ => {
                return Err(self.expected_after(
                    "an operator (= != < <= > >= LIKE ILIKE RLIKE IN NOT IN IS NULL IS NOT NULL)",
                ))
            }
        };
        self.bump()?;
        Ok((op, false))
    }

    /// A string or number, with hints for the usual slips (`= NULL`, unquoted text).
    fn literal(&mut self) -> Result<(Literal, usize), ParseError> {
        let t = self.peek()?.clone();
        let start = t.start;
        let hint = match &t.kind {
            Tok::Str(_) | Tok::Number(_) => None,
            Tok::Keyword(Keyword::Null) => {
                Some("; use IS NULL or IS NOT NULL to test for a missing value".to_string())
            }
            Tok::Key(_) => Some(format!(
                "; quote text values: '{}'",
                shorten(self.text(t.start, t.end))
            )),
            _ => Some(String::new()),
        };
        if let Some(hint) = hint {
            let e = self.expected_after("a value");
            return Err(self.error_at(e.offset, e.message + &hint));
        }
        let t = self.bump()?;
        match t.kind {
            Tok::Str(s) => Ok((Literal::Str(s), start)),
            Tok::Number(n) => Ok((Literal::Number(n), start)),
            _ => Err(self.error_at(start, "BUG: literal token changed")),
        }
    }

    /// `( value, value, … )` after IN / NOT IN.
    fn list(&mut self, rules: &Rules, key: &str, op: Op) -> Result<Value, ParseError> {
        if self.peek()?.kind != Tok::LParen {
            return Err(self.expected_after("'('"));
        }
        self.bump()?;
        let mut items = Vec::new();
        loop {
            let (lit, start) = self.literal()?;
            items.push(self.convert(rules, key, op, lit, start)?);
            match self.peek()?.kind {
                Tok::Comma => {
                    self.bump()?;
                }
                Tok::RParen => {
                    self.bump()?;
                    return Ok(Value::List(items));
                }
                _ => return Err(self.expected("',' or ')' in the list")),
            }
        }
    }

    /// Checks a literal against the field and normalises it.
    fn convert(
        &self,
        rules: &Rules,
        key: &str,
        op: Op,
        lit: Literal,
        at: usize,
    ) -> Result<Value, ParseError> {
        let err = |m: String| Err(self.error_at(at, m));
        let like = matches!(op, Op::Like | Op::ILike | Op::RLike);
        match (&rules.values, lit) {
            (Values::Text | Values::Id | Values::Any, Literal::Str(s)) => Ok(Value::Str(s)),
            (Values::Id, Literal::Number(n)) if n.unit.is_empty() && !n.float && !like => {
                Ok(Value::Str(n.text))
            }
            (Values::Text | Values::Id, Literal::Number(n)) => err(format!(
                "'{key}' takes a quoted string, not {}; write '{}'",
                n_text(&n),
                n_text(&n)
            )),
            (Values::Choice(set), lit) => {
                let given = match lit {
                    Literal::Str(s) => s,
                    Literal::Number(n) => n_text(&n),
                };
                let upper = given.to_ascii_uppercase();
                if set.contains(&upper.as_str()) {
                    Ok(Value::Str(upper))
                } else {
                    err(format!(
                        "'{key}' takes {}, not '{}'",
                        one_of(set),
                        shorten(&given)
                    ))
                }
            }
            (Values::Any, Literal::Number(n)) => {
                if like {
                    err(format!(
                        "{op} needs a quoted pattern, not the number {}",
                        n_text(&n)
                    ))
                } else if !n.unit.is_empty() {
                    err(format!(
                        "'{key}' takes a string or a plain number, not the duration {}",
                        n_text(&n)
                    ))
                } else {
                    number(&n).map_err(|m| self.error_at(at, m))
                }
            }
            (Values::Number(kind), Literal::Number(n)) => {
                if n.unit.is_empty() {
                    number(&n).map_err(|m| self.error_at(at, m))
                } else {
                    let factor = unit_ms(&n).map_err(|m| self.error_at(at, m))?;
                    if *kind != NumberKind::Duration {
                        return err(format!(
                            "'{key}' takes a plain number, not the duration {}",
                            n_text(&n)
                        ));
                    }
                    duration_ms(&n, factor)
                        .map(Value::Int)
                        .map_err(|m| self.error_at(at, m))
                }
            }
            (Values::Number(kind), Literal::Str(s)) => match kind {
                NumberKind::Instant => match parse_iso8601(&s) {
                    Some(ms) => Ok(Value::Int(ms)),
                    None => err(format!(
                        "'{key}' takes epoch milliseconds or an ISO-8601 time like \
                         '2026-11-23T20:00:00Z', not '{}'",
                        shorten(&s)
                    )),
                },
                NumberKind::Duration => err(format!(
                    "'{key}' takes milliseconds or a duration like 1.5s (unquoted), not '{}'",
                    shorten(&s)
                )),
                NumberKind::Plain => err(format!("'{key}' takes a number, not '{}'", shorten(&s))),
            },
        }
    }
}

/// Appends `e`, splicing in the children of a same-kind `And`/`Or` so the tree stays flat.
fn push_flat(items: &mut Vec<Expr>, e: Expr, or: bool) {
    match e {
        Expr::Or(inner) if or => items.extend(inner),
        Expr::And(inner) if !or => items.extend(inner),
        e => items.push(e),
    }
}

fn join(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.remove(0)
    } else {
        make(items)
    }
}

fn one_of(set: &[&str]) -> String {
    match set.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => set.join(""),
    }
}

/// Resolves a key's segments to a field; the error is the message (the caller adds the column).
fn resolve(segments: &[Segment]) -> Result<Field, String> {
    let joined = |segs: &[Segment]| {
        segs.iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(".")
    };
    let Some((first, rest)) = segments.split_first() else {
        return Err("empty key".into());
    };
    let entity = first.text.to_ascii_lowercase();
    let free = |make: fn(String) -> Field| {
        if rest.is_empty() {
            Err(format!(
                "'{}' needs a key: {}.<key>",
                first.text, first.text
            ))
        } else {
            Ok(make(joined(rest)))
        }
    };
    match entity.as_str() {
        _ if rest.is_empty() => TraceField::from_key(&first.text)
            .map(Field::Trace)
            .ok_or_else(|| {
                let hint = match entity.as_str() {
                    "tags" | "tag" | "metadata" | "request_metadata" | "attributes"
                    | "attribute" | "feedback" | "expectation" | "span" | "trace" => {
                        format!("'{}' needs a key: {}.<key>", first.text, first.text)
                    }
                    _ => format!("unknown field '{}'", shorten(&first.text)),
                };
                format!("{hint}; known fields: {}", known_fields())
            }),
        "trace" => {
            let key = joined(rest);
            TraceField::from_key(&key).map(Field::Trace).ok_or_else(|| {
                format!(
                    "unknown trace field '{}'; known: {}",
                    shorten(&key),
                    trace_names()
                )
            })
        }
        "attributes" | "attribute" => {
            let key = joined(rest);
            Ok(TraceField::from_key(&key)
                .map(Field::Trace)
                .unwrap_or(Field::SpanAttribute(key)))
        }
        "tags" | "tag" => free(Field::Tag),
        "metadata" | "request_metadata" => free(Field::Metadata),
        "feedback" => free(Field::Feedback),
        "expectation" => free(Field::Expectation),
        "span" => {
            let (second, more) = rest.split_first().ok_or("BUG")?;
            if second.text.eq_ignore_ascii_case("attributes") && !more.is_empty() {
                return Ok(Field::SpanAttribute(joined(more)));
            }
            match SpanField::from_key(&second.text) {
                Some(s) if more.is_empty() => Ok(Field::Span(s)),
                _ => Err(format!(
                    "unknown span field 'span.{}'; known: {}, span.attributes.<key>",
                    shorten(&joined(rest)),
                    SpanField::ALL
                        .iter()
                        .map(|s| format!("span.{}", s.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        _ => Err(format!(
            "unknown field '{}'; known fields: {}",
            shorten(&joined(segments)),
            known_fields()
        )),
    }
}

fn trace_names() -> String {
    TraceField::ALL
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_fields() -> String {
    field_names()
        .iter()
        .map(|n| {
            if n.ends_with('.') {
                format!("{n}<key>")
            } else {
                n.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
