//! Renders a [`SearchPlan`](super::search::SearchPlan) as SQL for one backend. The
//! [`search_sql!`] macro expands a `search_sql` module inside `sqlite.rs` and `postgres.rs`
//! (as `portable_sql!` does for the shared statements); the few places where the dialects
//! differ are the [`Dialect`] fragments below. It decides no meaning (that belongs to
//! `query::plan`), only the access path: whether a rare tag or text drives the search. Every
//! fragment pushed is a `&'static str` from this file; every user value goes through
//! `push_bind`.
//!
//! Shapes (SQLite spelling; PostgreSQL differs only where [`Dialect`] says):
//!
//! ```sql
//! SELECT traces.id AS row_id, traces.start_ns AS sort_key, <TRACE_COLUMNS> FROM traces
//!   -- or, for a rare tag or text (`driver`): FROM trace_tags AS drive CROSS JOIN traces
//!   --   WHERE drive.key = ? AND drive.value = ? AND traces.id = drive.trace_row
//!   -- or FROM (SELECT DISTINCT trace_row FROM <trigram candidates>) AS drive
//!   --   CROSS JOIN traces WHERE traces.id = drive.trace_row
//! WHERE 1 = 1 [AND traces.experiment_id = ?]
//!   [AND traces.start_ns >= ?] [AND traces.start_ns < ?]   -- from_ms / to_ms
//!   [AND (traces.start_ns, traces.id) < (?, ?)]            -- keyset: the last row shown
//!   [AND (<filter>)]
//! ORDER BY traces.start_ns DESC, traces.id DESC LIMIT ?    -- page size + 1
//!
//! -- filter leaves
//! traces.status = ?                                         -- a trace column
//! EXISTS (SELECT 1 FROM trace_tags AS tt
//!         WHERE tt.trace_row = traces.id AND tt.key = ? AND tt.value = ?)
//! EXISTS (SELECT 1 FROM json_each(traces.metadata) AS m WHERE m.key = ? AND m.value = ?)
//! EXISTS (SELECT 1 FROM json_each(traces.models) AS m WHERE m.value = ?)
//! EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = traces.trace_id AND s.kind = ?)
//! (traces.request_preview LIKE ? ESCAPE '\' OR traces.response_preview LIKE ? ESCAPE '\')
//! EXISTS (SELECT 1 FROM span_search AS ss WHERE ss.trace_row = traces.id AND ss.content LIKE ?)
//!                                                  -- PostgreSQL: (ss.content || ''), OFFSET 0
//! EXISTS (SELECT 1 FROM span_search AS ss, json_each(ss.attributes) AS a
//!         WHERE ss.trace_row = traces.id AND a.key = ? AND <a's text or number> = ?)
//! NOT COALESCE((<cond>), FALSE)                              -- NOT: unknown counts as false
//! ```

use super::search::{CmpOp, SortKey, SpanCol, TraceCol};

/// What differs between the two SQL dialects for a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn trace_col(self, col: TraceCol) -> &'static str {
        match col {
            TraceCol::TraceId => "traces.trace_id",
            TraceCol::TraceIdHex => match self {
                Dialect::Sqlite => "lower(hex(traces.trace_id))",
                Dialect::Postgres => "encode(traces.trace_id, 'hex')",
            },
            TraceCol::ClientRequestId => "traces.client_request_id",
            TraceCol::Name => "traces.name",
            TraceCol::Status => "traces.status",
            TraceCol::StartNs => "traces.start_ns",
            TraceCol::EndNs => "traces.end_ns",
            TraceCol::DurationNs => "traces.duration_ns",
            TraceCol::SessionId => "traces.session_id",
            TraceCol::UserId => "traces.user_id",
            TraceCol::TotalTokens => "(traces.input_tokens + traces.output_tokens)",
            TraceCol::InputTokens => "traces.input_tokens",
            TraceCol::OutputTokens => "traces.output_tokens",
            TraceCol::Cost => "traces.cost",
            TraceCol::SpanCount => "traces.span_count",
            TraceCol::ErrorCount => "traces.error_count",
            TraceCol::Redactions => "traces.redactions",
            TraceCol::ExperimentId => "traces.experiment_id",
            TraceCol::ExperimentIdText => "CAST(traces.experiment_id AS TEXT)",
            TraceCol::ServiceName => "traces.service_name",
        }
    }

    pub fn span_col(self, col: SpanCol) -> &'static str {
        match col {
            SpanCol::Name => "s.name",
            SpanCol::Kind => "s.kind",
            SpanCol::Status => "s.status",
            SpanCol::Model => "s.model",
            SpanCol::DurationNs => "(s.end_ns - s.start_ns)",
        }
    }

    pub fn sort_key(self, key: SortKey) -> &'static str {
        match key {
            SortKey::Start => "traces.start_ns",
            SortKey::Duration => "traces.duration_ns",
        }
    }

    /// The trace's models (a JSON array in a TEXT column) as rows of [`Self::model_value`].
    pub fn models_each(self) -> &'static str {
        match self {
            Dialect::Sqlite => "json_each(traces.models) AS m",
            Dialect::Postgres => "jsonb_array_elements_text(traces.models::jsonb) AS m(v)",
        }
    }

    pub fn model_value(self) -> &'static str {
        match self {
            Dialect::Sqlite => "m.value",
            Dialect::Postgres => "m.v",
        }
    }

    /// The trace's request metadata (a JSON object of strings in a TEXT column) as rows of
    /// [`Self::metadata_key`], [`Self::metadata_value`]. Keys are compared as bound values,
    /// never spliced into a JSON path, so any key (dots, quotes) is safe.
    pub fn metadata_each(self) -> &'static str {
        match self {
            Dialect::Sqlite => "json_each(traces.metadata) AS m",
            Dialect::Postgres => "jsonb_each_text(traces.metadata::jsonb) AS m(k, v)",
        }
    }

    pub fn metadata_key(self) -> &'static str {
        match self {
            Dialect::Sqlite => "m.key",
            Dialect::Postgres => "m.k",
        }
    }

    pub fn metadata_value(self) -> &'static str {
        match self {
            Dialect::Sqlite => "m.value",
            Dialect::Postgres => "m.v",
        }
    }

    /// `(before, between, after)` around the column and the bound pattern of an ILIKE.
    /// SQLite has no ILIKE (and its LIKE is made case-sensitive by `PRAGMA
    /// case_sensitive_like`), so both sides are lower-cased; `lower` there folds ASCII only.
    pub fn ilike(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Dialect::Sqlite => ("lower(", ") LIKE lower(", ") ESCAPE '\\'"),
            Dialect::Postgres => ("", " ILIKE ", " ESCAPE '\\'"),
        }
    }

    /// Each span's attributes (a JSON object in `span_search.attributes`) as rows of
    /// [`Self::attribute_key`] and a value, for the spans of the trace row being tested.
    pub fn span_attributes_each(self) -> &'static str {
        match self {
            Dialect::Sqlite => "span_search AS ss, json_each(ss.attributes) AS a",
            Dialect::Postgres => "span_search AS ss, jsonb_each(ss.attributes::jsonb) AS a(k, v)",
        }
    }

    pub fn attribute_key(self) -> &'static str {
        match self {
            Dialect::Sqlite => "a.key",
            Dialect::Postgres => "a.k",
        }
    }

    /// An attribute value as text: strings as they are, numbers and `true`/`false` as JSON
    /// writes them (both databases agree on every number JSON round-trips exactly).
    pub fn attribute_text(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "(CASE a.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                 ELSE CAST(a.value AS TEXT) END)"
            }
            Dialect::Postgres => "(a.v #>> '{}')",
        }
    }

    /// An attribute value as a number, NULL (so no comparison holds) when it is not one.
    pub fn attribute_number(self) -> &'static str {
        match self {
            Dialect::Sqlite => "(CASE WHEN a.type IN ('integer', 'real') THEN a.value END)",
            Dialect::Postgres => {
                "(CASE WHEN jsonb_typeof(a.v) = 'number' THEN (a.v #>> '{}')::float8 END)"
            }
        }
    }

    /// `SELECT <trace_row> FROM <spans whose content may match the pattern>`, through the
    /// trigram index (migration 0006), then the value of [`Self::content_probe`]. A superset
    /// of the spans a `span.content LIKE` or `ILIKE` with that pattern matches: the search
    /// re-tests the exact condition on each trace it keeps.
    pub fn content_hits(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT ss.trace_row AS trace_row FROM span_search_trigram \
                 JOIN span_search AS ss ON ss.rowid = span_search_trigram.rowid \
                 WHERE span_search_trigram MATCH "
            }
            Dialect::Postgres => {
                "SELECT ss.trace_row AS trace_row FROM span_search AS ss WHERE ss.content ILIKE "
            }
        }
    }

    /// How many spans [`Self::content_hits`] finds for `$1` (a [`Self::content_probe`]),
    /// counting at most `$2`.
    pub fn count_content_hits(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM span_search_trigram \
                 WHERE span_search_trigram MATCH $1 LIMIT $2) AS hits"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM (SELECT 1 FROM span_search \
                 WHERE content ILIKE $1 LIMIT $2) AS hits"
            }
        }
    }

    /// What [`Self::content_hits`] binds for a LIKE pattern. SQLite: every trigram of the
    /// pattern's literal runs, ANDed, as an FTS5 query; the index answers it from its lists
    /// alone, where a LIKE on the FTS table reads and tests each candidate's text (11 ms
    /// to count a common word's first 2,300 spans at 100,000 traces). PostgreSQL: the pattern (`pg_trgm`
    /// rechecks it).
    pub fn content_probe(self, pattern: &str) -> String {
        match self {
            Dialect::Sqlite => trigram_query(pattern),
            Dialect::Postgres => pattern.to_string(),
        }
    }

    /// The span text a per-trace `EXISTS` tests. On PostgreSQL not the bare column: the
    /// planner would answer each trace's probe with a bitmap of the trigram index, a scan of
    /// every matching span per trace walked (1.1 s for a first page at 30,000 traces). The
    /// index serves the drive (`content_hits`); the probe reads one trace's rows.
    pub fn span_content(self) -> &'static str {
        match self {
            Dialect::Sqlite => "ss.content",
            Dialect::Postgres => "(ss.content || '')",
        }
    }

    /// Closes an `EXISTS` probed per trace (span text, span attributes, tags). PostgreSQL
    /// turns a plain `EXISTS` into a semi join, which for span text means testing every span
    /// of every trace before sorting (1.5 s for a first page at 100,000 traces), and for a
    /// common tag hashing all its rows; `OFFSET 0` keeps it a per-trace probe while the list
    /// is walked in its order, stopping after one page, as SQLite always does.
    pub fn probe_end(self) -> &'static str {
        match self {
            Dialect::Sqlite => ")",
            Dialect::Postgres => " OFFSET 0)",
        }
    }

    /// SQLite's `REGEXP` is the `regexp()` function sqlx registers (Rust `regex` syntax);
    /// PostgreSQL's `~` is its own POSIX ARE engine.
    pub fn regex_op(self) -> &'static str {
        match self {
            Dialect::Sqlite => " REGEXP ",
            Dialect::Postgres => " ~ ",
        }
    }
}

/// Most trigrams an FTS5 probe ANDs: a few spread over a long pattern select as well as all.
const MAX_TRIGRAMS: usize = 24;

/// `"abc" AND "bcd" AND …`: the trigrams of the literal runs (3+ characters between `%` and
/// `_`) of a LIKE pattern as an FTS5 query for the trigram tokenizer. Each is a quoted
/// string (a `"` in it doubled), so no character of the pattern is FTS5 syntax. Only called
/// for patterns with such a run and no escapes (`trigram_pattern` in the macro).
pub fn trigram_query(pattern: &str) -> String {
    let mut grams: Vec<String> = Vec::new();
    for run in pattern.split(['%', '_']) {
        let chars: Vec<char> = run.chars().collect();
        for w in chars.windows(3) {
            let g: String = w.iter().collect();
            if !grams.contains(&g) {
                grams.push(g);
            }
        }
    }
    if grams.len() > MAX_TRIGRAMS {
        let step = grams.len() as f64 / MAX_TRIGRAMS as f64;
        grams = (0..MAX_TRIGRAMS)
            .map(|i| grams[(i as f64 * step) as usize].clone())
            .collect();
    }
    grams
        .iter()
        .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

impl CmpOp {
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => " = ",
            CmpOp::Ne => " <> ",
            CmpOp::Lt => " < ",
            CmpOp::Le => " <= ",
            CmpOp::Gt => " > ",
            CmpOp::Ge => " >= ",
        }
    }
}

/// Expands `mod search_sql { search_traces_in(pool, plan) }` for one sqlx database type and
/// [`Dialect`]. Uses the enclosing module's `trace_from_row` (from `portable_sql!`).
macro_rules! search_sql {
    ($db:ty, $dialect:expr) => {
        /// Trace search, rendered from a [`SearchPlan`](crate::store::search::SearchPlan).
        pub(crate) mod search_sql {
            use sqlx::{QueryBuilder, Row};

            use super::trace_from_row;
            use crate::store::portable::TRACE_COLUMNS;
            use crate::store::search::{Bind, CmpOp, Cond, FoundTrace, Pred, SearchPlan, Test};
            use crate::store::search_sql::Dialect;
            use crate::store::Result;

            const DIALECT: Dialect = $dialect;

            type Qb<'a> = QueryBuilder<'a, $db>;

            pub(crate) async fn search_traces_in(
                pool: &sqlx::Pool<$db>,
                plan: &SearchPlan,
            ) -> Result<Vec<FoundTrace>> {
                let key = DIALECT.sort_key(plan.order.key());
                let mut qb: Qb<'_> = QueryBuilder::new(format!(
                    "SELECT traces.id AS row_id, {key} AS sort_key, {TRACE_COLUMNS} FROM "
                ));
                // The driving condition stays in the filter too: re-testing it is cheap, and
                // the trigram index only finds a case-insensitive superset.
                match driver(pool, plan).await? {
                    None => {
                        qb.push("traces WHERE 1 = 1");
                    }
                    Some(Drive::Tag(k, v)) => {
                        qb.push("trace_tags AS drive CROSS JOIN traces WHERE drive.key = ")
                            .push_bind(k)
                            .push(" AND drive.value = ")
                            .push_bind(v)
                            .push(" AND traces.id = drive.trace_row");
                    }
                    Some(Drive::Content(pattern)) => {
                        qb.push("(SELECT DISTINCT hits.trace_row FROM (")
                            .push(DIALECT.content_hits())
                            .push_bind(DIALECT.content_probe(pattern))
                            .push(
                                ") AS hits) AS drive CROSS JOIN traces \
                                 WHERE traces.id = drive.trace_row",
                            );
                    }
                }
                if let Some(e) = plan.experiment_id {
                    qb.push(" AND traces.experiment_id = ").push_bind(e);
                }
                if let Some(from) = plan.start_from_ns {
                    qb.push(" AND traces.start_ns >= ").push_bind(from);
                }
                if let Some(to) = plan.start_to_ns {
                    qb.push(" AND traces.start_ns < ").push_bind(to);
                }
                let (dir, cmp) = if plan.order.descending() {
                    (" DESC", " < ")
                } else {
                    (" ASC", " > ")
                };
                if let Some(after) = plan.after {
                    // A row value compares lexicographically, which is the keyset order; both
                    // databases walk the (key, id) index from that point.
                    qb.push(" AND (")
                        .push(key)
                        .push(", traces.id)")
                        .push(cmp)
                        .push("(");
                    qb.push_bind(after.key)
                        .push(", ")
                        .push_bind(after.row_id)
                        .push(")");
                }
                if let Some(filter) = &plan.filter {
                    qb.push(" AND ");
                    push_cond(&mut qb, filter);
                }
                qb.push(" ORDER BY ")
                    .push(key)
                    .push(dir)
                    .push(", traces.id")
                    .push(dir);
                qb.push(" LIMIT ").push_bind(i64::from(plan.fetch.max(1)));
                let rows = qb.build().fetch_all(pool).await?;
                rows.iter()
                    .map(|row| {
                        Ok(FoundTrace {
                            row_id: row.try_get("row_id")?,
                            sort_key: row.try_get("sort_key")?,
                            record: trace_from_row(row)?,
                        })
                    })
                    .collect()
            }

            /// A condition that reads a search's candidates from an index instead of
            /// walking the trace list.
            enum Drive<'p> {
                /// `tags.k = 'v'`: the tag index.
                Tag(&'p str, &'p str),
                /// `span.content [I]LIKE '%…%'`: the trigram index (the LIKE pattern).
                Content(&'p str),
            }

            /// A top-level condition that so few traces meet that reading them through an
            /// index and sorting them beats walking the list in its order until a page is
            /// found: the walk probes about `fetch * total / n` traces, the drive reads and
            /// sorts `n` rows, so it drives when `n < sqrt(fetch * total)`. (At 1M traces a
            /// session tag held by 20 traces took 3.7 s p95 walked, and a text found nowhere
            /// read all 17M span texts: the SQLite planner has no statistics and always
            /// prefers the sort index.) Each count stops at that bound, so probing never
            /// costs more than driving.
            async fn driver<'p>(
                pool: &sqlx::Pool<$db>,
                plan: &'p SearchPlan,
            ) -> Result<Option<Drive<'p>>> {
                fn conjuncts<'c>(c: &'c Cond, out: &mut Vec<&'c Cond>) {
                    match c {
                        Cond::And(items) => items.iter().for_each(|i| conjuncts(i, out)),
                        c => out.push(c),
                    }
                }
                let Some(filter) = &plan.filter else {
                    return Ok(None);
                };
                let mut all = Vec::new();
                conjuncts(filter, &mut all);
                let candidates: Vec<Drive<'p>> = all
                    .into_iter()
                    .filter_map(|c| match c {
                        Cond::Pred(Pred::Tag {
                            key,
                            test: Test::Cmp(CmpOp::Eq, Bind::Text(v)),
                        }) => Some(Drive::Tag(key.as_str(), v.as_str())),
                        Cond::Pred(Pred::SpanContent(Test::Like(p) | Test::ILike(p)))
                            if trigram_pattern(p) =>
                        {
                            Some(Drive::Content(p.as_str()))
                        }
                        _ => None,
                    })
                    .collect();
                if candidates.is_empty() {
                    return Ok(None);
                }
                // Row ids are assigned in insertion order: the largest is about the count.
                let total: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM traces")
                    .fetch_one(pool)
                    .await?
                    .try_get(0)?;
                let bound = (f64::from(plan.fetch.max(1)) * total as f64).sqrt() as i64;
                let mut best: Option<(i64, Drive<'p>)> = None;
                for d in candidates {
                    let n: i64 = match d {
                        Drive::Tag(k, v) => sqlx::query(
                            "SELECT COUNT(*) FROM (SELECT 1 FROM trace_tags \
                             WHERE key = $1 AND value = $2 LIMIT $3) AS hits",
                        )
                        .bind(k)
                        .bind(v)
                        .bind(bound + 1),
                        Drive::Content(p) => sqlx::query(DIALECT.count_content_hits())
                            .bind(DIALECT.content_probe(p))
                            .bind(bound + 1),
                    }
                    .fetch_one(pool)
                    .await?
                    .try_get(0)?;
                    if n <= bound && best.as_ref().is_none_or(|(m, _)| n < *m) {
                        best = Some((n, d));
                    }
                }
                Ok(best.map(|(_, d)| d))
            }

            /// Whether the trigram index can answer a LIKE pattern: it needs three
            /// characters in a row that are not wildcards, and no escapes (`50\%` is the
            /// text `50%`, which splitting the pattern at `%` would get wrong).
            fn trigram_pattern(p: &str) -> bool {
                !p.contains('\\') && p.split(['%', '_']).any(|run| run.chars().count() >= 3)
            }

            fn push_cond<'a>(qb: &mut Qb<'a>, cond: &'a Cond) {
                match cond {
                    Cond::And(items) => push_joined(qb, items, " AND ", "1 = 1"),
                    Cond::Or(items) => push_joined(qb, items, " OR ", "1 = 0"),
                    Cond::Not(inner) => {
                        qb.push("NOT COALESCE((");
                        push_cond(qb, inner);
                        qb.push("), FALSE)");
                    }
                    Cond::Pred(p) => push_pred(qb, p),
                }
            }

            fn push_joined<'a>(
                qb: &mut Qb<'a>,
                items: &'a [Cond],
                sep: &'static str,
                empty: &'static str,
            ) {
                qb.push("(");
                if items.is_empty() {
                    qb.push(empty);
                }
                for (i, c) in items.iter().enumerate() {
                    if i > 0 {
                        qb.push(sep);
                    }
                    push_cond(qb, c);
                }
                qb.push(")");
            }

            fn push_pred<'a>(qb: &mut Qb<'a>, pred: &'a Pred) {
                match pred {
                    Pred::Trace { col, test } => push_test(qb, DIALECT.trace_col(*col), test),
                    Pred::Preview(test) => {
                        qb.push("(");
                        push_test(qb, "traces.request_preview", test);
                        qb.push(" OR ");
                        push_test(qb, "traces.response_preview", test);
                        qb.push(")");
                    }
                    Pred::Model(test) => {
                        let each = DIALECT.models_each();
                        match test {
                            Test::IsNull => {
                                qb.push("NOT EXISTS (SELECT 1 FROM ").push(each).push(")");
                            }
                            Test::IsNotNull => {
                                qb.push("EXISTS (SELECT 1 FROM ").push(each).push(")");
                            }
                            t => {
                                qb.push("EXISTS (SELECT 1 FROM ").push(each).push(" WHERE ");
                                push_test(qb, DIALECT.model_value(), t);
                                qb.push(")");
                            }
                        }
                    }
                    Pred::Tag { key, test } => push_keyed(
                        qb,
                        ("trace_tags AS tt", "tt.trace_row = traces.id AND "),
                        ("tt.key", "tt.value"),
                        (key, test),
                        DIALECT.probe_end(),
                    ),
                    Pred::Metadata { key, test } => push_keyed(
                        qb,
                        (DIALECT.metadata_each(), ""),
                        (DIALECT.metadata_key(), DIALECT.metadata_value()),
                        (key, test),
                        ")",
                    ),
                    Pred::SpanContent(test) => {
                        qb.push(
                            "EXISTS (SELECT 1 FROM span_search AS ss \
                             WHERE ss.trace_row = traces.id AND ",
                        );
                        push_test(qb, DIALECT.span_content(), test);
                        qb.push(DIALECT.probe_end());
                    }
                    Pred::SpanAttribute { key, test } => push_keyed(
                        qb,
                        (
                            DIALECT.span_attributes_each(),
                            "ss.trace_row = traces.id AND ",
                        ),
                        (DIALECT.attribute_key(), DIALECT.attribute_text()),
                        (key, test),
                        DIALECT.probe_end(),
                    ),
                    Pred::SpanAttributeNumber { key, test } => push_keyed(
                        qb,
                        (
                            DIALECT.span_attributes_each(),
                            "ss.trace_row = traces.id AND ",
                        ),
                        (DIALECT.attribute_key(), DIALECT.attribute_number()),
                        (key, test),
                        DIALECT.probe_end(),
                    ),
                    Pred::Span { col, test } => {
                        qb.push(
                            "EXISTS (SELECT 1 FROM spans AS s \
                             WHERE s.trace_id = traces.trace_id AND ",
                        );
                        push_test(qb, DIALECT.span_col(*col), test);
                        qb.push(")");
                    }
                }
            }

            /// `[NOT] EXISTS (SELECT 1 FROM <from> WHERE <link><key> = ? [AND <value test>]<end>`:
            /// `IsNull` is "no entry with this key", `IsNotNull` "some entry".
            fn push_keyed<'a>(
                qb: &mut Qb<'a>,
                (from, link): (&'static str, &'static str),
                (key_col, value_col): (&'static str, &'static str),
                (key, test): (&'a str, &'a Test),
                end: &'static str,
            ) {
                let exists = !matches!(test, Test::IsNull);
                qb.push(if exists { "EXISTS" } else { "NOT EXISTS" });
                qb.push(" (SELECT 1 FROM ")
                    .push(from)
                    .push(" WHERE ")
                    .push(link);
                qb.push(key_col).push(" = ").push_bind(key);
                if !matches!(test, Test::IsNull | Test::IsNotNull) {
                    qb.push(" AND ");
                    push_test(qb, value_col, test);
                }
                qb.push(end);
            }

            fn push_test<'a>(qb: &mut Qb<'a>, lhs: &'static str, test: &'a Test) {
                match test {
                    Test::Cmp(op, v) => {
                        qb.push(lhs).push(op.sql());
                        push_value(qb, v);
                    }
                    Test::Like(p) => {
                        qb.push(lhs)
                            .push(" LIKE ")
                            .push_bind(p.as_str())
                            .push(" ESCAPE '\\'");
                    }
                    Test::ILike(p) => {
                        let (before, between, after) = DIALECT.ilike();
                        qb.push(before).push(lhs).push(between);
                        qb.push_bind(p.as_str()).push(after);
                    }
                    Test::Regex(p) => {
                        qb.push(lhs).push(DIALECT.regex_op()).push_bind(p.as_str());
                    }
                    Test::In(vs) | Test::NotIn(vs) => {
                        qb.push(lhs);
                        qb.push(if matches!(test, Test::In(_)) {
                            " IN ("
                        } else {
                            " NOT IN ("
                        });
                        for (i, v) in vs.iter().enumerate() {
                            if i > 0 {
                                qb.push(", ");
                            }
                            push_value(qb, v);
                        }
                        qb.push(")");
                    }
                    Test::InRange(lo, hi) => {
                        qb.push("(").push(lhs).push(" >= ").push_bind(*lo);
                        qb.push(" AND ")
                            .push(lhs)
                            .push(" < ")
                            .push_bind(*hi)
                            .push(")");
                    }
                    Test::OutOfRange(lo, hi) => {
                        qb.push("(").push(lhs).push(" < ").push_bind(*lo);
                        qb.push(" OR ")
                            .push(lhs)
                            .push(" >= ")
                            .push_bind(*hi)
                            .push(")");
                    }
                    Test::IsNull => {
                        qb.push(lhs).push(" IS NULL");
                    }
                    Test::IsNotNull => {
                        qb.push(lhs).push(" IS NOT NULL");
                    }
                }
            }

            fn push_value<'a>(qb: &mut Qb<'a>, v: &'a Bind) {
                match v {
                    Bind::Text(s) => qb.push_bind(s.as_str()),
                    Bind::Int(i) => qb.push_bind(*i),
                    Bind::Float(f) => qb.push_bind(*f),
                    Bind::Bytes(b) => qb.push_bind(b.as_slice()),
                };
            }
        }
    };
}

pub(crate) use search_sql;

#[cfg(test)]
mod tests {
    use super::trigram_query;

    #[test]
    fn trigram_queries_quote_every_trigram_of_the_literal_runs() {
        assert_eq!(
            trigram_query("%Naruto%"),
            r#""Nar" AND "aru" AND "rut" AND "uto""#
        );
        // Runs shorter than three characters add nothing; `_` is a wildcard; repeats once.
        assert_eq!(trigram_query("ab_cdef%gh"), r#""cde" AND "def""#);
        assert_eq!(trigram_query("%aaaa%"), r#""aaa""#);
        // FTS5 syntax inside the text stays text.
        assert_eq!(
            trigram_query(r#"%a"b*c%"#),
            r#""a""b" AND """b*" AND "b*c""#
        );
        assert_eq!(trigram_query("%ナルト%"), r#""ナルト""#);
        let text: String = (0..100)
            .filter_map(|i| char::from_u32(0x4E00 + i))
            .collect();
        let long = trigram_query(&format!("%{text}%"));
        assert_eq!(long.matches(" AND ").count(), super::MAX_TRIGRAMS - 1);
    }
}
