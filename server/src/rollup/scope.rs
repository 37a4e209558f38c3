//! A dashboard scope: the trace filter grammar, restricted to what rollups keep — the
//! service, the trace name and the configured tag dimensions — and evaluated against a
//! series' dimensions (there are no rows to run SQL on: cells are pre-aggregated).

use std::collections::BTreeMap;

use app::filter::{Comparison, Expr, Field, Op, TraceField, Value};
use regex::Regex;

use super::SeriesKey;

/// A scope ready to test series; built by [`Scope::compile`].
#[derive(Debug, Clone)]
pub struct Scope {
    root: Option<Node>,
    uses_tags: bool,
}

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Test(Dim, Test),
}

#[derive(Debug, Clone)]
enum Dim {
    Service,
    Name,
    Tag(String),
}

#[derive(Debug, Clone)]
enum Test {
    Cmp(Op, String),
    Pattern(Regex),
    In(Vec<String>, bool),
    Null(bool),
}

impl Scope {
    /// Everything.
    pub fn all() -> Scope {
        Scope {
            root: None,
            uses_tags: false,
        }
    }

    /// Checks that `expr` only names rollup dimensions (`tag_keys`); the error names the
    /// first field that is not one and says what is.
    pub fn compile(expr: Option<&Expr>, tag_keys: &[String]) -> Result<Scope, String> {
        let Some(expr) = expr else {
            return Ok(Scope::all());
        };
        let mut uses_tags = false;
        let root = node(expr, tag_keys, &mut uses_tags)?;
        Ok(Scope {
            root: Some(root),
            uses_tags,
        })
    }

    /// Does the scope look at tags? Then it must read tagged series; otherwise the
    /// wildcard series hold the same totals in far fewer cells.
    pub fn uses_tags(&self) -> bool {
        self.uses_tags
    }

    /// Is `key` one of the series this scope reads: the wildcard series when the scope
    /// names no tag, the tagged ones when it does, and matching?
    pub fn matches(&self, key: &SeriesKey) -> bool {
        key.is_wildcard() != self.uses_tags && self.matches_dims(key)
    }

    /// Do `key`'s dimensions match (whatever kind of series it is)?
    pub fn matches_dims(&self, key: &SeriesKey) -> bool {
        match &self.root {
            None => true,
            Some(n) => eval(n, key, &key.tag_map()),
        }
    }
}

fn node(expr: &Expr, tag_keys: &[String], uses_tags: &mut bool) -> Result<Node, String> {
    Ok(match expr {
        Expr::And(v) => Node::And(
            v.iter()
                .map(|e| node(e, tag_keys, uses_tags))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(v) => Node::Or(
            v.iter()
                .map(|e| node(e, tag_keys, uses_tags))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(e) => Node::Not(Box::new(node(e, tag_keys, uses_tags)?)),
        Expr::Cmp(c) => comparison(c, tag_keys, uses_tags)?,
    })
}

fn comparison(c: &Comparison, tag_keys: &[String], uses_tags: &mut bool) -> Result<Node, String> {
    let dim = match &c.field {
        Field::Trace(TraceField::Service) => Dim::Service,
        Field::Trace(TraceField::Name) => Dim::Name,
        Field::Tag(k) if tag_keys.iter().any(|t| t == k) => {
            *uses_tags = true;
            Dim::Tag(k.clone())
        }
        other => {
            return Err(format!(
                "{} is not a dashboard dimension; dashboards read rollups, which keep service, \
                 name and the tags {}",
                field_name(other),
                tag_keys
                    .iter()
                    .map(|k| format!("tags.{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let text = |v: &Value| -> String {
        match v {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::List(_) | Value::Null => String::new(),
        }
    };
    let test = match c.op {
        Op::Like | Op::ILike | Op::RLike => {
            let pattern = text(&c.value);
            let re = match c.op {
                Op::RLike => pattern,
                Op::ILike => format!("(?is)^{}$", like_to_regex(&pattern)),
                _ => format!("(?s)^{}$", like_to_regex(&pattern)),
            };
            Test::Pattern(
                regex::RegexBuilder::new(&re)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("bad pattern {:?}: {e}", text(&c.value)))?,
            )
        }
        Op::In | Op::NotIn => {
            let Value::List(items) = &c.value else {
                return Err("IN needs a list".into());
            };
            Test::In(items.iter().map(text).collect(), c.op == Op::NotIn)
        }
        Op::IsNull => Test::Null(true),
        Op::IsNotNull => Test::Null(false),
        op => Test::Cmp(op, text(&c.value)),
    };
    Ok(Node::Test(dim, test))
}

fn field_name(f: &Field) -> String {
    match f {
        Field::Trace(t) => t.name().to_string(),
        Field::Tag(k) => format!("tags.{k}"),
        Field::Metadata(k) => format!("metadata.{k}"),
        Field::Span(_) => "a span field".to_string(),
        Field::SpanAttribute(k) => format!("span.attributes.{k}"),
        Field::Feedback(k) => format!("feedback.{k}"),
        Field::Expectation(k) => format!("expectation.{k}"),
    }
}

/// SQL LIKE (`%`, `_`, no escape character, as the grammar defines it) as a regex body.
fn like_to_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len() * 2);
    for ch in p.chars() {
        match ch {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

fn eval(n: &Node, key: &SeriesKey, tags: &BTreeMap<String, String>) -> bool {
    match n {
        Node::And(v) => v.iter().all(|n| eval(n, key, tags)),
        Node::Or(v) => v.iter().any(|n| eval(n, key, tags)),
        Node::Not(n) => !eval(n, key, tags),
        Node::Test(dim, test) => {
            // An absent dimension is NULL: only IS NULL (and NOT of something) matches it.
            let value = match dim {
                Dim::Service => Some(key.service.as_str()).filter(|s| !s.is_empty()),
                Dim::Name => Some(key.trace_name.as_str()).filter(|s| !s.is_empty()),
                Dim::Tag(k) => tags.get(k).map(String::as_str),
            };
            match (test, value) {
                (Test::Null(want_null), v) => v.is_none() == *want_null,
                (_, None) => false,
                (Test::Pattern(re), Some(v)) => re.is_match(v),
                (Test::In(items, negated), Some(v)) => items.iter().any(|i| i == v) != *negated,
                (Test::Cmp(op, want), Some(v)) => match op {
                    Op::Eq => v == want,
                    Op::Ne => v != want,
                    Op::Lt => v < want.as_str(),
                    Op::Le => v <= want.as_str(),
                    Op::Gt => v > want.as_str(),
                    Op::Ge => v >= want.as_str(),
                    _ => false,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::{Level, ANY_TAGS};

    fn series(service: &str, tags: &[(&str, &str)]) -> SeriesKey {
        let map: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SeriesKey {
            level: Level::Trace,
            service: service.into(),
            trace_name: "chat".into(),
            span_name: String::new(),
            kind: String::new(),
            model: String::new(),
            tags: serde_json::to_string(&map).unwrap(),
        }
    }

    fn scope(text: &str) -> Result<Scope, String> {
        let keys = vec!["intent".to_string(), "cache_hit".to_string()];
        let expr = app::filter::parse(text).map_err(|e| e.to_string())?;
        Scope::compile(expr.as_ref(), &keys)
    }

    #[test]
    fn tag_scopes_read_tagged_series_and_others_the_wildcard() {
        let tagged = series("shop", &[("intent", "recommend"), ("cache_hit", "false")]);
        let mut wildcard = tagged.clone();
        wildcard.tags = ANY_TAGS.into();

        let s = scope("tags.intent = 'recommend' AND tags.cache_hit != 'true'").unwrap();
        assert!(s.uses_tags());
        assert!(s.matches(&tagged));
        assert!(!s.matches(&wildcard));
        assert!(!scope("tags.intent IN ('faq', 'order')")
            .unwrap()
            .matches(&tagged));

        let s = scope("service = 'shop'").unwrap();
        assert!(!s.uses_tags());
        assert!(s.matches(&wildcard) && !s.matches(&tagged));
        assert!(Scope::all().matches(&wildcard));
    }

    #[test]
    fn like_ilike_and_null_follow_the_grammar() {
        let k = series("Shop-EU", &[("intent", "recommend_manga")]);
        assert!(scope("tags.intent LIKE 'recommend%'").unwrap().matches(&k));
        assert!(!scope("tags.intent LIKE 'RECOMMEND%'").unwrap().matches(&k));
        assert!(scope("tags.intent ILIKE 'RECOMMEND_manga'")
            .unwrap()
            .matches(&k));
        // `.` in a LIKE pattern is a literal, not a regex wildcard.
        assert!(!scope("tags.intent LIKE 'recommend.manga'")
            .unwrap()
            .matches(&k));
        assert!(scope("tags.cache_hit IS NULL").unwrap().matches(&k));
        assert!(!scope("tags.cache_hit = 'true'").unwrap().matches(&k));
        assert!(scope("NOT tags.cache_hit = 'true'").unwrap().matches(&k));
    }

    #[test]
    fn fields_that_are_not_dimensions_are_named_in_the_error() {
        let err = scope("span.name = 'rerank'").unwrap_err();
        assert!(err.contains("a span field"), "{err}");
        let err = scope("tags.region = 'eu'").unwrap_err();
        assert!(
            err.contains("tags.region") && err.contains("tags.intent"),
            "{err}"
        );
        assert!(scope("status = 'ERROR'").unwrap_err().contains("status"));
    }
}
