//! The searchable text of a span, kept beside its compressed payload so that `span.content`,
//! `text` and `span.attributes.<key>` filters can run in SQL.
//!
//! Span payloads are stored as zstd-compressed JSON, which no database can look into. At
//! ingest, on the request's task (next to the compression, outside the single writer),
//! [`SpanText::of`] extracts two small uncompressed documents per span:
//!
//! - `content`: the string leaves of the span's inputs and outputs (as normalisation read
//!   them from whichever convention the client used), joined by newlines, so a search for
//!   `it's "quoted"` matches the text a user sees rather than its JSON escaping;
//! - `attributes`: a JSON object of the span's attributes (numbers and booleans keep their
//!   JSON type, so `span.attributes.temperature > 0.5` compares numbers).
//!
//! Both are capped (see the constants) so a 1 MB prompt costs at most a few KiB of index.
//! The writer inserts one `span_search` row per newly stored span that has either, in the
//! batch's transaction ([`span_text_sql!`]); re-sent spans are not indexed twice because
//! only spans the `spans` insert reported as new are indexed.

use serde_json::{Map, Value};

use crate::model::Attributes;

/// Most bytes of a span's inputs and outputs text that are searchable. Text past the cap is
/// still stored in the payload and shown, but `span.content` and `text` do not find it.
pub const CONTENT_CAP_BYTES: usize = 8 * 1024;

/// Most bytes of one string attribute value that are searchable.
pub const ATTRIBUTE_CAP_BYTES: usize = 1024;

/// Attributes that carry the span's inputs and outputs: already searchable as `content`, and
/// usually the largest values of a span, so they are not indexed twice.
const CONTENT_KEYS: [&str; 10] = [
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "input.value",
    "output.value",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "gen_ai.prompt",
    "gen_ai.completion",
];

/// Prefixes of flattened message lists (`llm.input_messages.0.message.content`, …): content.
const CONTENT_PREFIXES: [&str; 4] = [
    "llm.input_messages.",
    "llm.output_messages.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
];

/// What of one span is searchable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanText {
    /// Inputs and outputs text, at most [`CONTENT_CAP_BYTES`].
    pub content: String,
    /// A JSON object of attribute values, `{}` when the span has no indexed attribute (always
    /// valid JSON: PostgreSQL casts it to `jsonb` for every row a search reads).
    pub attributes: String,
}

impl SpanText {
    pub fn of(
        inputs: Option<&Value>,
        outputs: Option<&Value>,
        attributes: &Attributes,
    ) -> SpanText {
        let mut content = String::new();
        for v in [inputs, outputs].into_iter().flatten() {
            push_leaves(&mut content, v);
        }
        let mut indexed = Map::new();
        for (key, value) in attributes {
            if CONTENT_KEYS.contains(&key.as_str())
                || CONTENT_PREFIXES.iter().any(|p| key.starts_with(p))
            {
                continue;
            }
            let value = match value {
                Value::Null => continue,
                Value::String(s) => {
                    Value::String(truncate_bytes(s, ATTRIBUTE_CAP_BYTES).to_owned())
                }
                Value::Number(_) | Value::Bool(_) => value.clone(),
                // Arrays and maps are searched as their compact JSON text.
                other => Value::String(
                    truncate_bytes(&other.to_string(), ATTRIBUTE_CAP_BYTES).to_owned(),
                ),
            };
            indexed.insert(key.clone(), value);
        }
        SpanText {
            content,
            attributes: Value::Object(indexed).to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.content.is_empty() && (self.attributes.is_empty() || self.attributes == "{}")
    }
}

/// Appends the string leaves of `v` (numbers and booleans as text, object keys skipped),
/// one per line, stopping at [`CONTENT_CAP_BYTES`].
fn push_leaves(out: &mut String, v: &Value) {
    if out.len() >= CONTENT_CAP_BYTES {
        return;
    }
    let leaf = |out: &mut String, s: &str| {
        if s.is_empty() {
            return;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        let room = CONTENT_CAP_BYTES.saturating_sub(out.len());
        out.push_str(truncate_bytes(s, room));
    };
    match v {
        Value::Null => {}
        Value::String(s) => leaf(out, s),
        Value::Number(n) => leaf(out, &n.to_string()),
        Value::Bool(b) => leaf(out, if *b { "true" } else { "false" }),
        Value::Array(items) => items.iter().for_each(|i| push_leaves(out, i)),
        Value::Object(map) => map.values().for_each(|i| push_leaves(out, i)),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Expands `mod span_text_sql { index_new_spans(tx, batch, inserted, trace_rows) }` for one
/// sqlx database type inside `sqlite.rs` and `postgres.rs`; the statement is the same in both.
macro_rules! span_text_sql {
    ($db:ty) => {
        /// Writes the `span_search` rows of a batch's newly stored spans.
        pub(crate) mod span_text_sql {
            use std::collections::{HashMap, HashSet};

            use sqlx::QueryBuilder;

            use crate::model::{SpanId, TraceId};
            use crate::store::portable::ROWS_PER_STATEMENT;
            use crate::store::{PreparedBatch, Result};

            /// In the batch's transaction: one row per span in `inserted` with searchable
            /// text, keyed by its trace's row id (insertion-ordered, like the tag rows).
            pub(crate) async fn index_new_spans(
                tx: &mut sqlx::Transaction<'_, $db>,
                batch: &PreparedBatch,
                inserted: &HashSet<(TraceId, SpanId)>,
                trace_rows: &HashMap<TraceId, i64>,
                dropped: &HashSet<TraceId>,
            ) -> Result<()> {
                let rows: Vec<(i64, &str, &str)> = batch
                    .spans
                    .iter()
                    .filter(|s| !s.search.is_empty() && inserted.contains(&(s.trace_id, s.span_id)))
                    .filter(|s| !dropped.contains(&s.trace_id))
                    .filter_map(|s| {
                        trace_rows.get(&s.trace_id).map(|row| {
                            (
                                *row,
                                s.search.content.as_str(),
                                s.search.attributes.as_str(),
                            )
                        })
                    })
                    .collect();
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO span_search (trace_row, content, attributes) ",
                    );
                    qb.push_values(chunk, |mut b, (row, content, attributes)| {
                        b.push_bind(*row).push_bind(*content).push_bind(*attributes);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use span_text_sql;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attributes {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn content_is_the_text_of_inputs_and_outputs_not_their_json() {
        let t = SpanText::of(
            Some(&json!([{"role": "user", "content": "it's \"quoted\" 100%"}])),
            Some(&json!({"answer": "One Piece", "score": 0.5, "ok": true})),
            &Attributes::new(),
        );
        // Object values in key order (serde_json maps are sorted).
        assert_eq!(
            t.content,
            "it's \"quoted\" 100%\nuser\nOne Piece\ntrue\n0.5"
        );
        assert_eq!(t.attributes, "{}");
        assert!(SpanText::of(None, None, &Attributes::new()).is_empty());
    }

    #[test]
    fn attributes_keep_number_types_and_skip_what_content_holds() {
        let t = SpanText::of(
            None,
            None,
            &attrs(json!({
                "temperature": 0.7,
                "cache.hit": true,
                "db.system": "pgvector",
                "input.value": "the question",
                "llm.input_messages.0.message.content": "hi",
                "tags": ["a", "b"],
                "nothing": null,
            })),
        );
        let back: Value = serde_json::from_str(&t.attributes).unwrap();
        assert_eq!(
            back,
            json!({"temperature": 0.7, "cache.hit": true, "db.system": "pgvector", "tags": "[\"a\",\"b\"]"})
        );
    }

    #[test]
    fn caps_cut_on_character_boundaries() {
        let long = "é".repeat(CONTENT_CAP_BYTES);
        let t = SpanText::of(
            Some(&json!(long)),
            Some(&json!("never reached")),
            &attrs(json!({"k": long})),
        );
        assert!(t.content.len() <= CONTENT_CAP_BYTES && t.content.len() > CONTENT_CAP_BYTES - 2);
        assert!(!t.content.contains("never"));
        let back: Value = serde_json::from_str(&t.attributes).unwrap();
        assert!(back["k"].as_str().unwrap().len() <= ATTRIBUTE_CAP_BYTES);
    }
}
