//! Trace search end to end on both databases: demo traces in over OTLP/HTTP, the `list_traces`
//! server function out (filter grammar → plan → SQL). Every filter's answer is checked against
//! the same question asked in Rust of the stored traces, so the SQL and the planner are tested
//! together against an independent reading of the data.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use app::types::{TraceListQuery, TracePage, TraceSort, TraceStatus};
use app::AppError;
use common::{TestDb, TestServer};
use sightline::demo::{resource, Knobs, Workload};
use sightline::model::{SpanKind, StatusCode, TraceInfo};
use sightline::store::{PreparedBatch, StoredTrace};

/// 2023-11-14T22:13:20Z.
const BASE_NS: i64 = 1_700_000_000_000_000_000;
const SEC: i64 = 1_000_000_000;

/// 36 traces a second apart (a quarter of them failing), plus 10 that all start at the same
/// nanosecond (so pagination must break ties by row id). Returns what the store holds.
async fn ingest(s: &TestServer) -> Vec<StoredTrace> {
    let wl = Workload::new(42).with_knobs(Knobs {
        error_rate: Some(0.25),
        ..Knobs::default()
    });
    let spaced = wl.traces(36, BASE_NS, SEC);
    let tied = Workload::new(43).traces(10, BASE_NS + 5 * SEC, 0);
    let res = resource("search-test");
    let mut ids = Vec::new();
    for batch in [spaced, tied] {
        ids.extend(batch.iter().map(|t| t.trace_id));
        s.ingest_demo(&batch, &res).await;
    }
    // Request metadata arrives with MLflow's StartTraceV3; give two traces some, with keys
    // that a JSON path would trip over.
    let infos = ids[..2]
        .iter()
        .map(|id| TraceInfo {
            trace_id: *id,
            experiment_id: 0,
            client_request_id: None,
            request_time_ms: None,
            execution_duration_ms: None,
            state: None,
            metadata: BTreeMap::from([
                ("team".to_string(), "search-infra".to_string()),
                ("odd \"key\".x".to_string(), "it's 100%".to_string()),
            ]),
            tags: BTreeMap::new(),
            request_preview: None,
            response_preview: None,
            redactions: 0,
        })
        .collect();
    s.backend
        .write_batch(&PreparedBatch {
            infos,
            ..PreparedBatch::default()
        })
        .await
        .unwrap();
    let mut truth = Vec::new();
    for id in &ids {
        truth.push(s.backend.get_trace(id).await.unwrap().expect("stored"));
    }
    truth
}

use common::list_traces as list;

fn query(filter: &str) -> TraceListQuery {
    TraceListQuery {
        filter: filter.into(),
        limit: 500,
        ..TraceListQuery::default()
    }
}

async fn ids(s: &TestServer, filter: &str) -> BTreeSet<String> {
    let page = list(s, query(filter))
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(
        page.next_cursor, None,
        "{filter}: one page holds everything"
    );
    page.traces.into_iter().map(|t| t.trace_id).collect()
}

fn expect(truth: &[StoredTrace], keep: impl Fn(&StoredTrace) -> bool) -> BTreeSet<String> {
    truth
        .iter()
        .filter(|t| keep(t))
        .map(|t| hex::encode(t.record.trace_id))
        .collect()
}

/// The filter finds exactly the traces `keep` picks. `nontrivial` also demands that it
/// picks some but not all, so the check cannot pass by accident.
async fn check(
    s: &TestServer,
    truth: &[StoredTrace],
    filter: &str,
    nontrivial: bool,
    keep: impl Fn(&StoredTrace) -> bool,
) {
    let want = expect(truth, keep);
    if nontrivial {
        assert!(
            !want.is_empty() && want.len() < truth.len(),
            "{filter}: the data should make this check meaningful ({} of {})",
            want.len(),
            truth.len()
        );
    }
    let got = ids(s, filter).await;
    assert_eq!(got, want, "{filter}");
}

fn tag<'a>(t: &'a StoredTrace, k: &str) -> Option<&'a str> {
    t.tags.get(k).map(String::as_str)
}

fn has_span(t: &StoredTrace, f: impl Fn(&sightline::store::StoredSpan) -> bool) -> bool {
    t.spans.iter().any(f)
}

fn duration_ns(t: &StoredTrace) -> i64 {
    t.record.end_ns - t.record.start_ns
}

/// A word of at least five ASCII letters that some request previews hold and others do not
/// (previews are JSON, so `message` is in all of them).
fn preview_word(truth: &[StoredTrace]) -> String {
    let holding = |w: &str| {
        truth
            .iter()
            .filter(|t| {
                t.record
                    .request_preview
                    .as_deref()
                    .is_some_and(|p| p.contains(w))
            })
            .count()
    };
    truth
        .iter()
        .filter_map(|t| t.record.request_preview.as_deref())
        .flat_map(|p| p.split(|c: char| !c.is_ascii_alphabetic()))
        .find(|w| {
            w.len() >= 5
                && w.chars().all(|c| c.is_ascii_lowercase())
                && (1..truth.len() / 2).contains(&holding(w))
        })
        .expect("previews have distinctive words")
        .to_string()
}

async fn filters_match_what_is_stored(db: TestDb) {
    let s = TestServer::start(db).await;
    let truth = ingest(&s).await;
    let ok = |t: &StoredTrace| t.record.status == TraceStatus::Ok;

    check(&s, &truth, "", false, |_| true).await;
    check(&s, &truth, "status = 'OK'", true, ok).await;
    check(&s, &truth, "status = 'error'", true, |t| !ok(t)).await;
    check(&s, &truth, "tags.intent = 'recommendation'", true, |t| {
        tag(t, "intent") == Some("recommendation")
    })
    .await;
    check(
        &s,
        &truth,
        "status = 'OK' AND tags.intent = 'recommendation'",
        true,
        |t| ok(t) && tag(t, "intent") == Some("recommendation"),
    )
    .await;
    check(
        &s,
        &truth,
        "tags.intent IN ('search', 'chitchat')",
        true,
        |t| matches!(tag(t, "intent"), Some("search" | "chitchat")),
    )
    .await;
    check(
        &s,
        &truth,
        "tags.intent NOT IN ('search', 'chitchat')",
        true,
        |t| tag(t, "intent").is_some_and(|i| i != "search" && i != "chitchat"),
    )
    .await;
    check(&s, &truth, "tags.intent != 'search'", true, |t| {
        tag(t, "intent").is_some_and(|i| i != "search")
    })
    .await;
    check(
        &s,
        &truth,
        "tags.intent RLIKE '^(search|chitchat)$'",
        true,
        |t| matches!(tag(t, "intent"), Some("search" | "chitchat")),
    )
    .await;
    check(&s, &truth, "tags.no_such_tag IS NULL", false, |_| true).await;
    check(&s, &truth, "tags.intent IS NULL", false, |t| {
        tag(t, "intent").is_none()
    })
    .await;

    // Session: the column, whether asked as a trace key or as MLflow's request metadata.
    let session = truth[3]
        .record
        .session_id
        .clone()
        .expect("demo traces have sessions");
    let in_session = |t: &StoredTrace| t.record.session_id.as_deref() == Some(session.as_str());
    check(
        &s,
        &truth,
        &format!("session = '{session}'"),
        true,
        in_session,
    )
    .await;
    check(
        &s,
        &truth,
        &format!("metadata.`mlflow.trace.session` = '{session}'"),
        true,
        in_session,
    )
    .await;
    check(&s, &truth, "user IS NULL", true, |t| {
        t.record.user_id.is_none()
    })
    .await;
    // NOT is the complement: traces without a user are kept, not lost to SQL's NULL logic.
    let user = truth
        .iter()
        .find_map(|t| t.record.user_id.clone())
        .expect("some signed-in user");
    check(&s, &truth, &format!("NOT user = '{user}'"), true, |t| {
        t.record.user_id.as_deref() != Some(user.as_str())
    })
    .await;

    // Other metadata keys: read from the JSON object, keys bound as values.
    let meta = |t: &StoredTrace, k: &str| t.record.metadata.get(k).cloned();
    check(&s, &truth, "metadata.team = 'search-infra'", true, |t| {
        meta(t, "team").as_deref() == Some("search-infra")
    })
    .await;
    check(
        &s,
        &truth,
        r#"metadata.`odd "key".x` LIKE '%100\\%'"#,
        true,
        |t| meta(t, "odd \"key\".x").is_some(),
    )
    .await;
    check(&s, &truth, "metadata.team IS NULL", true, |t| {
        meta(t, "team").is_none()
    })
    .await;

    // Spans: true when some span matches.
    check(&s, &truth, "span.name = 'cache_lookup'", true, |t| {
        has_span(t, |sp| sp.name == "cache_lookup")
    })
    .await;
    check(&s, &truth, "span.type = 'retriever'", true, |t| {
        has_span(t, |sp| sp.kind == SpanKind::Retriever)
    })
    .await;
    check(&s, &truth, "span.status = 'ERROR'", true, |t| {
        has_span(t, |sp| sp.status == StatusCode::Error)
    })
    .await;
    check(&s, &truth, "span.duration > 500ms", true, |t| {
        has_span(t, |sp| sp.end_ns - sp.start_ns >= 501_000_000)
    })
    .await;
    check(&s, &truth, "NOT span.name = 'cache_lookup'", true, |t| {
        !has_span(t, |sp| sp.name == "cache_lookup")
    })
    .await;

    // Models: some model the trace used; `!=` means none of them.
    let model = truth
        .iter()
        .flat_map(|t| t.record.models.iter())
        .find(|m| m.starts_with("claude-"))
        .expect("a chat model")
        .clone();
    check(&s, &truth, &format!("model = '{model}'"), true, |t| {
        t.record.models.contains(&model)
    })
    .await;
    check(&s, &truth, &format!("model != '{model}'"), true, |t| {
        !t.record.models.is_empty() && !t.record.models.contains(&model)
    })
    .await;
    check(&s, &truth, "model IS NULL", false, |t| {
        t.record.models.is_empty()
    })
    .await;
    check(&s, &truth, &format!("span.model = '{model}'"), true, |t| {
        has_span(t, |sp| sp.model.as_deref() == Some(model.as_str()))
    })
    .await;

    // Durations and counts.
    check(
        &s,
        &truth,
        "duration >= 300 AND duration < 800",
        true,
        |t| (300_000_000..800_000_000).contains(&duration_ns(t)),
    )
    .await;
    check(
        &s,
        &truth,
        "duration > 1.5s OR error_count > 0",
        true,
        |t| duration_ns(t) >= 1_501_000_000 || t.record.error_count > 0,
    )
    .await;
    check(&s, &truth, "span_count < 15", true, |t| {
        t.record.span_count < 15
    })
    .await;
    check(&s, &truth, "tokens > 0", false, |t| {
        t.record.input_tokens + t.record.output_tokens > 0
    })
    .await;
    check(
        &s,
        &truth,
        &format!("timestamp >= {}", BASE_NS / 1_000_000 + 20_000),
        true,
        |t| t.record.start_ns >= BASE_NS + 20 * SEC,
    )
    .await;
    check(&s, &truth, "experiment_id = 0", false, |_| true).await;
    check(&s, &truth, "experiment_id = 7", false, |_| false).await;
    let some_id = hex::encode(truth[5].record.trace_id);
    check(
        &s,
        &truth,
        &format!("trace_id = 'tr-{some_id}'"),
        true,
        |t| hex::encode(t.record.trace_id) == some_id,
    )
    .await;
    check(
        &s,
        &truth,
        &format!("trace_id LIKE '{}%'", &some_id[..6]),
        true,
        |t| hex::encode(t.record.trace_id).starts_with(&some_id[..6]),
    )
    .await;

    // Text: the root request and response previews and every span's inputs and outputs.
    // LIKE is case-sensitive, ILIKE is not.
    let word = preview_word(&truth);
    let previews = |t: &StoredTrace| {
        [&t.record.request_preview, &t.record.response_preview]
            .into_iter()
            .flatten()
            .cloned()
            .chain(span_texts(t))
            .collect::<Vec<_>>()
    };
    let upper = word.to_uppercase();
    check(&s, &truth, &format!("text LIKE '%{word}%'"), true, |t| {
        previews(t).iter().any(|p| p.contains(&word))
    })
    .await;
    check(&s, &truth, &format!("text LIKE '%{upper}%'"), false, |t| {
        previews(t).iter().any(|p| p.contains(&upper))
    })
    .await;
    check(&s, &truth, &format!("text ILIKE '%{upper}%'"), true, |t| {
        previews(t)
            .iter()
            .any(|p| p.to_lowercase().contains(&word.to_lowercase()))
    })
    .await;
    check(&s, &truth, "name LIKE 'CHAT%'", false, |_| false).await;
    check(&s, &truth, "name ILIKE 'CHAT%'", false, |t| {
        t.record.name.as_deref() == Some("chat_request")
    })
    .await;
    // `\` escapes LIKE's wildcards: `\_` is a literal underscore, `\%` a literal percent.
    check(&s, &truth, r"name LIKE 'chat\\_request'", false, |t| {
        t.record.name.as_deref() == Some("chat_request")
    })
    .await;
    check(&s, &truth, r"name LIKE 'chat\\%'", false, |_| false).await;

    // SQL in values is only ever data.
    check(
        &s,
        &truth,
        "name = 'x''; DROP TABLE traces; --'",
        false,
        |_| false,
    )
    .await;
    check(
        &s,
        &truth,
        "tags.`a'; DELETE FROM trace_tags; --` IS NOT NULL",
        false,
        |_| false,
    )
    .await;
    check(&s, &truth, r"text LIKE '%'' OR ''1''=''1'", false, |_| {
        false
    })
    .await;
    let stats = s.backend.stats().await.unwrap();
    assert_eq!(
        stats.traces,
        truth.len() as i64,
        "the traces table is intact"
    );
    check(&s, &truth, "tags.intent IS NOT NULL", false, |t| {
        tag(t, "intent").is_some()
    })
    .await;

    // Time range on the start.
    let page = list(
        &s,
        TraceListQuery {
            from_ms: Some(BASE_NS / 1_000_000 + 10_000),
            to_ms: Some(BASE_NS / 1_000_000 + 20_000),
            ..query("")
        },
    )
    .await
    .unwrap();
    let got: BTreeSet<_> = page.traces.into_iter().map(|t| t.trace_id).collect();
    let want = expect(&truth, |t| {
        (BASE_NS + 10 * SEC..BASE_NS + 20 * SEC).contains(&t.record.start_ns)
    });
    assert!(!want.is_empty());
    assert_eq!(got, want, "from_ms/to_ms");

    s.shutdown().await;
}

/// Pages of 7 cover every match exactly once, in order, for every sort.
async fn pages_cover_every_match_once(db: TestDb) {
    let s = TestServer::start(db).await;
    let truth = ingest(&s).await;
    let starts: BTreeMap<String, (i64, i64)> = truth
        .iter()
        .map(|t| {
            (
                hex::encode(t.record.trace_id),
                (t.record.start_ns, duration_ns(t)),
            )
        })
        .collect();
    // A tag on 12 of the 46 traces, some of them tied on start time: rare enough that the
    // search reads it through the tag index and sorts (`search_sql::rare_tag`: under
    // sqrt(8 * 46) = 19 rows for pages of 7), where the others walk the list in order.
    for t in truth.iter().step_by(4) {
        assert!(s
            .backend
            .set_trace_tag(&t.record.trace_id, "rare", "yes")
            .await
            .unwrap());
    }
    for filter in [
        "",
        "status = 'OK'",
        "span.name = 'cache_lookup' OR tags.intent = 'search'",
        "span.content LIKE '%MangaAssist%' AND NOT tags.intent = 'chitchat'",
        "tags.rare = 'yes'",
        "tags.rare = 'yes' AND (status = 'OK' OR status = 'ERROR')",
    ] {
        let want = ids(&s, filter).await;
        assert!(want.len() > 7, "{filter}: more than one page");
        for sort in TraceSort::ALL {
            let mut seen = Vec::new();
            let mut cursor = None;
            let mut pages = 0;
            loop {
                let page = list(
                    &s,
                    TraceListQuery {
                        sort,
                        cursor: cursor.take(),
                        limit: 7,
                        ..query(filter)
                    },
                )
                .await
                .unwrap();
                pages += 1;
                assert!(page.traces.len() <= 7);
                seen.extend(page.traces.into_iter().map(|t| t.trace_id));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
                assert!(pages < 100, "pagination does not end");
            }
            let unique: BTreeSet<_> = seen.iter().cloned().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{filter} {sort:?}: a trace came twice"
            );
            assert_eq!(unique, want, "{filter} {sort:?}: every match, once");
            assert_eq!(pages, want.len().div_ceil(7).max(1), "{filter} {sort:?}");
            let keys: Vec<i64> = seen
                .iter()
                .map(|id| {
                    let (start, dur) = starts[id];
                    match sort {
                        TraceSort::StartDesc | TraceSort::StartAsc => start,
                        TraceSort::DurationDesc | TraceSort::DurationAsc => dur,
                    }
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if matches!(sort, TraceSort::StartDesc | TraceSort::DurationDesc) {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{filter} {sort:?}: in order");
        }
    }
    s.shutdown().await;
}

fn invalid(r: Result<TracePage, AppError>) -> (String, String) {
    match r {
        Err(AppError::Invalid { field, message }) => (field, message),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn bad_searches_are_invalid_with_a_reason(db: TestDb) {
    let s = TestServer::start(db).await;
    ingest(&s).await;
    let (field, message) = invalid(list(&s, query("status = ")).await);
    assert_eq!(field, "filter");
    assert!(message.contains("column 10"), "{message}");
    let (field, message) = invalid(list(&s, query("feedback.relevance = 'yes'")).await);
    assert_eq!(field, "filter");
    assert!(message.contains("cannot be searched yet"), "{message}");
    let (field, message) = invalid(list(&s, query("span.attributes.k > 'v'")).await);
    assert_eq!(field, "filter");
    assert!(message.contains("needs a number"), "{message}");
    let (field, message) = invalid(list(&s, query("name RLIKE '('")).await);
    assert_eq!(field, "filter");
    assert!(message.contains("invalid regular expression"), "{message}");
    let (field, _) = invalid(
        list(
            &s,
            TraceListQuery {
                cursor: Some("garbage".into()),
                ..query("")
            },
        )
        .await,
    );
    assert_eq!(field, "cursor");
    // A cursor from one order replayed in another.
    let first = list(
        &s,
        TraceListQuery {
            limit: 3,
            ..query("")
        },
    )
    .await
    .unwrap();
    let (field, message) = invalid(
        list(
            &s,
            TraceListQuery {
                limit: 3,
                sort: TraceSort::DurationAsc,
                cursor: first.next_cursor,
                ..query("")
            },
        )
        .await,
    );
    assert_eq!(field, "cursor");
    assert!(message.contains("another sort order"), "{message}");
    let (field, _) = invalid(
        list(
            &s,
            TraceListQuery {
                limit: 0,
                ..query("")
            },
        )
        .await,
    );
    assert_eq!(field, "limit");
    s.shutdown().await;
}

/// The text of each span's inputs and outputs as the normaliser reads them from its stored
/// attributes: every string (and number) leaf, so patterns match what a user reads, not JSON.
fn span_texts(t: &StoredTrace) -> Vec<String> {
    fn leaves(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Number(n) => out.push(n.to_string()),
            serde_json::Value::Bool(b) => out.push(b.to_string()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
            serde_json::Value::Object(m) => m.values().for_each(|x| leaves(x, out)),
            serde_json::Value::Null => {}
        }
    }
    let mut out = Vec::new();
    for span in &t.spans {
        let facts = sightline::normalize::conventions::llm_facts(&span.payload.attributes);
        for v in [facts.inputs, facts.outputs].iter().flatten() {
            leaves(v, &mut out);
        }
    }
    out
}

fn some_span_text(t: &StoredTrace, f: impl Fn(&str) -> bool) -> bool {
    span_texts(t).iter().any(|s| f(s))
}

fn some_attribute(t: &StoredTrace, key: &str, f: impl Fn(&serde_json::Value) -> bool) -> bool {
    has_span(t, |s| s.payload.attributes.get(key).is_some_and(&f))
}

/// `span.content`, `text` and `span.attributes.*` search the spans' own payloads: text only a
/// child span holds, case, wildcards as data, numbers, combined with tags.
async fn span_content_and_attributes_match_what_is_stored(db: TestDb) {
    let s = TestServer::start(db).await;
    let truth = ingest(&s).await;
    let in_preview = |t: &StoredTrace, w: &str| {
        [&t.record.request_preview, &t.record.response_preview]
            .into_iter()
            .flatten()
            .any(|p| p.contains(w))
    };
    // The system prompt goes to the LLM span only: never in the root's request or response.
    let prompt = "MangaAssist";
    assert!(truth.iter().all(|t| !in_preview(t, prompt)));
    let llm_text = |t: &StoredTrace| some_span_text(t, |x| x.contains(prompt));
    check(
        &s,
        &truth,
        &format!("span.content LIKE '%{prompt}%'"),
        true,
        llm_text,
    )
    .await;
    check(
        &s,
        &truth,
        &format!("text LIKE '%{prompt}%'"),
        true,
        llm_text,
    )
    .await;
    // Case: LIKE is case-sensitive, ILIKE is not, on both databases.
    check(
        &s,
        &truth,
        "span.content LIKE '%mangaassist%'",
        false,
        |_| false,
    )
    .await;
    check(
        &s,
        &truth,
        "span.content ILIKE '%mangaassist%'",
        true,
        llm_text,
    )
    .await;
    check(&s, &truth, "text ILIKE '%MANGAASSIST%'", true, llm_text).await;
    check(
        &s,
        &truth,
        "span.content RLIKE 'Manga[A]ssist'",
        true,
        llm_text,
    )
    .await;
    check(
        &s,
        &truth,
        &format!("NOT span.content LIKE '%{prompt}%'"),
        true,
        |t| !llm_text(t),
    )
    .await;

    // Wildcards and quotes in values are data: `\%` and `\_` are literal, `''` is a quote.
    check(&s, &truth, r"span.content LIKE '%\\% off%'", true, |t| {
        some_span_text(t, |x| x.contains("% off"))
    })
    .await;
    check(
        &s,
        &truth,
        r"span.content LIKE '%order\\_status%'",
        true,
        |t| some_span_text(t, |x| x.contains("order_status")),
    )
    .await;
    // An unescaped `_` still matches any one character; an escaped `%` only itself.
    check(
        &s,
        &truth,
        r"span.content LIKE '%order\\_st_tus%'",
        true,
        |t| some_span_text(t, |x| x.contains("order_status")),
    )
    .await;
    check(
        &s,
        &truth,
        r"span.content LIKE '%order\\%status%'",
        false,
        |_| false,
    )
    .await;
    check(&s, &truth, "text LIKE '%customer''s taste%'", true, |t| {
        some_span_text(t, |x| x.contains("customer's taste")) || in_preview(t, "customer's taste")
    })
    .await;
    check(
        &s,
        &truth,
        "span.content LIKE '%'' OR 1=1 --%'",
        false,
        |_| false,
    )
    .await;

    // Attributes: text equality and patterns, dotted keys, numbers, absence.
    let path = |v: &str| {
        let v = v.to_string();
        move |t: &StoredTrace| some_attribute(t, "classification_path", |x| x.as_str() == Some(&v))
    };
    check(
        &s,
        &truth,
        "span.attributes.classification_path = 'llm_fallback'",
        false,
        path("llm_fallback"),
    )
    .await;
    check(
        &s,
        &truth,
        "attributes.classification_path = 'embedding_knn'",
        true,
        path("embedding_knn"),
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.classification_path LIKE 'rule%'",
        false,
        path("rule_based"),
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.classification_path LIKE 'RULE%'",
        false,
        |_| false,
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.classification_path ILIKE 'RULE%'",
        false,
        path("rule_based"),
    )
    .await;
    // Every demo trace loads its context from DynamoDB: all match, and `!=` none.
    check(
        &s,
        &truth,
        "span.attributes.`db.system` = 'dynamodb'",
        false,
        |t| some_attribute(t, "db.system", |x| x.as_str() == Some("dynamodb")),
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.`db.system` != 'dynamodb'",
        false,
        |t| {
            some_attribute(t, "db.system", |x| {
                x.as_str().is_some_and(|v| v != "dynamodb")
            })
        },
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.guardrail.score > 0.5",
        true,
        |t| {
            some_attribute(t, "guardrail.score", |x| {
                x.as_f64().is_some_and(|f| f > 0.5)
            })
        },
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.guardrail.score <= 0.5",
        false,
        |t| {
            some_attribute(t, "guardrail.score", |x| {
                x.as_f64().is_some_and(|f| f <= 0.5)
            })
        },
    )
    .await;
    let has_path = |t: &StoredTrace| {
        has_span(t, |s| {
            s.payload.attributes.contains_key("classification_path")
        })
    };
    check(
        &s,
        &truth,
        "span.attributes.classification_path IS NULL",
        false,
        |t| !has_path(t),
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.classification_path IS NOT NULL",
        false,
        has_path,
    )
    .await;
    check(
        &s,
        &truth,
        "span.attributes.no_such_key IS NULL",
        false,
        |_| true,
    )
    .await;
    // The input and output attributes are searched as content, not as attributes.
    check(
        &s,
        &truth,
        "span.attributes.`input.value` IS NOT NULL",
        false,
        |_| false,
    )
    .await;

    // Combined with a tag filter.
    check(
        &s,
        &truth,
        &format!("tags.intent = 'recommendation' AND span.content LIKE '%{prompt}%'"),
        true,
        |t| tag(t, "intent") == Some("recommendation") && llm_text(t),
    )
    .await;
    s.shutdown().await;
}

/// A trace deleted through MLflow's API takes its span text with it: a new trace that reuses
/// its row id must not inherit it.
async fn deleted_traces_leave_no_span_text(db: TestDb) {
    let s = TestServer::start(db).await;
    let truth = ingest(&s).await;
    let all: Vec<_> = truth.iter().map(|t| t.record.trace_id).collect();
    let n = s
        .backend
        .delete_traces(0, &sightline::store::TraceDeletion::Ids(all))
        .await
        .unwrap();
    assert_eq!(n, truth.len());
    s.ingest_demo(
        &Workload::new(44).traces(3, BASE_NS, SEC),
        &resource("search-test"),
    )
    .await;
    let fresh = Workload::new(44).traces(3, BASE_NS, SEC);
    let want: BTreeSet<String> = fresh.iter().map(|t| hex::encode(t.trace_id)).collect();
    assert_eq!(ids(&s, "").await, want);
    // A word the first deleted traces (the row ids SQLite hands out again) held and the new
    // traces do not: finding it would mean deleted text came back under a new trace.
    let mut kept = Vec::new();
    for t in &fresh {
        kept.push(s.backend.get_trace(&t.trace_id).await.unwrap().unwrap());
    }
    let new_text = kept
        .iter()
        .flat_map(span_texts)
        .collect::<Vec<_>>()
        .join("\n");
    let gone = truth[..3]
        .iter()
        .flat_map(span_texts)
        .flat_map(|x| {
            x.split(|c: char| !c.is_ascii_alphabetic())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|w| w.len() >= 5 && !new_text.contains(w.as_str()))
        .expect("the deleted traces had words the new ones lack");
    check(
        &s,
        &kept,
        &format!("span.content LIKE '%{gone}%'"),
        false,
        |_| false,
    )
    .await;
    check(&s, &kept, "span.content LIKE '%'", false, |t| {
        !span_texts(t).is_empty()
    })
    .await;
    let db = s.shutdown().await;
    // The trigram index follows its content table through deletes and reused row ids: a
    // stale entry would only cost a candidate the exact test drops, so the searches above
    // cannot tell; FTS5's own check compares the index with the text.
    if let Some(file) = db.file() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        // rank = 1: also compare with the external content table.
        let check = "INSERT INTO span_search_trigram (span_search_trigram, rank) \
                     VALUES ('integrity-check', 1)";
        sqlx::query(check)
            .execute(&mut conn)
            .await
            .expect("the trigram index matches span_search");
        // And the check does see a delete the index missed.
        sqlx::raw_sql(
            "DROP TRIGGER span_search_trigram_delete; \
             DELETE FROM span_search WHERE rowid = (SELECT MIN(rowid) FROM span_search)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        assert!(sqlx::query(check).execute(&mut conn).await.is_err());
    }
}

both_backends!(
    span_content_and_attributes_match_what_is_stored,
    deleted_traces_leave_no_span_text,
    filters_match_what_is_stored,
    pages_cover_every_match_once,
    bad_searches_are_invalid_with_a_reason,
);
