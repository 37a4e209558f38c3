use super::*;
use crate::model::{SpanKind, StatusCode};

const T: TraceId = [9; 16];
const MIN0: i64 = 1_700_000_040; // a minute boundary (epoch s)

fn span(id: u8, parent: Option<u8>, name: &str, start_ms: i64, end_ms: i64) -> SpanRow {
    let ns = |ms: i64| (MIN0 * 1000 + ms) * 1_000_000;
    SpanRow::bare(T, id, parent, name, ns(start_ms), ns(end_ms))
}

/// Runs one batch through merge + rollup plan as the store does; returns the new record.
fn write(
    existing: Option<TraceRecord>,
    spans: Vec<SpanRow>,
    tags: &[(&str, &str)],
    stored: &[SpanRow],
) -> (TraceRecord, Rollup) {
    let batch = PreparedBatch {
        spans,
        patches: vec![crate::model::TracePatch {
            trace_id: T,
            experiment_id: 0,
            service_name: Some("shop".into()),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            redactions: 0,
        }],
        infos: vec![],
    };
    let inserted = batch
        .spans
        .iter()
        .map(|s| (s.trace_id, s.span_id))
        .collect();
    let before: HashMap<TraceId, Before> = existing
        .iter()
        .map(|r| (r.trace_id, Before::of(r)))
        .collect();
    let ex = existing.into_iter().map(|r| (r.trace_id, r)).collect();
    let mut records = crate::store::merge::merge_batch(ex, &batch, &inserted);
    let tags = crate::store::merge::batch_tags(&batch);
    let (_, prior) = rolling_now(&before, &records);
    let stored_spans: HashMap<TraceId, Vec<SpanFacts>> = prior
        .iter()
        .map(|id| {
            let all = stored
                .iter()
                .chain(batch.spans.iter())
                .map(SpanFacts::of)
                .collect();
            (*id, all)
        })
        .collect();
    let r = plan_batch(
        &before,
        &mut records,
        &batch,
        &inserted,
        &tags,
        &HashMap::new(),
        &stored_spans,
        &RollupConfig::default(),
    );
    (records.pop().unwrap(), r)
}

fn cells(r: &Rollup, level: Level, wildcard: bool) -> Vec<(&SeriesKey, &Cell)> {
    let mut v: Vec<_> = r
        .cells
        .iter()
        .filter(|((_, _, k), _)| k.level == level && k.is_wildcard() == wildcard)
        .map(|((_, _, k), c)| (k, c))
        .collect();
    v.sort_by(|a, b| a.0.span_name.cmp(&b.0.span_name));
    v
}

#[test]
fn a_whole_trace_rolls_up_once_with_its_tags_and_a_wildcard_copy() {
    let mut llm = span(2, Some(1), "llm", 10, 510);
    llm.kind = SpanKind::ChatModel;
    llm.model = Some("gpt-4o".into());
    llm.input_tokens = Some(100);
    llm.cost_input = Some(0.5);
    let mut guard = span(3, Some(1), "hallucination_check", 520, 540);
    guard.kind = SpanKind::Guardrail;
    guard.flags = FLAG_BLOCKED;
    let root = span(1, None, "chat", 0, 600);
    let (rec, r) = write(
        None,
        vec![llm, guard, root],
        &[
            ("intent", "recommend"),
            ("cache_hit", "false"),
            ("region", "eu"),
        ],
        &[],
    );
    let dims = TraceDims::from_json(rec.rollup_dims.as_deref().unwrap()).unwrap();
    // `region` is not a dimension: it would multiply series for nothing.
    assert_eq!(dims.tags.len(), 2);
    assert_eq!(dims.service, "shop");

    for wildcard in [false, true] {
        let traces = cells(&r, Level::Trace, wildcard);
        assert_eq!(traces.len(), 1);
        let t = traces[0].1;
        assert_eq!(
            (t.count, t.error_count, t.blocked_count, t.guarded_count),
            (1, 0, 1, 1)
        );
        assert!((t.latency.quantile(0.5).unwrap() - 600.0).abs() < 6.0);
        let spans = cells(&r, Level::Span, wildcard);
        assert_eq!(spans.len(), 3);
        let (k, c) = spans.iter().find(|(k, _)| k.span_name == "llm").unwrap();
        assert_eq!(
            (k.model.as_str(), k.kind.as_str()),
            ("gpt-4o", "CHAT_MODEL")
        );
        assert_eq!((c.count, c.input_tokens), (1, 100));
        assert!((c.cost_input - 0.5).abs() < 1e-12);
        let (_, g) = spans
            .iter()
            .find(|(k, _)| k.span_name == "hallucination_check")
            .unwrap();
        assert_eq!(g.blocked_count, 1);
    }
    // Tagged span cells are hour cells; everything else minute cells of the trace's start.
    for (res, bucket, key) in r.cells.keys() {
        let hourly = key.level == Level::Span && !key.is_wildcard();
        assert_eq!(*res, if hourly { HOUR } else { MINUTE }, "{key:?}");
        assert_eq!(*bucket, MIN0.div_euclid(*res) * *res, "{key:?}");
    }
}

#[test]
fn children_wait_for_their_root_then_roll_up_with_it() {
    let (rec, r) = write(None, vec![span(2, Some(1), "retrieve", 5, 50)], &[], &[]);
    assert!(r.is_empty(), "no root yet: nothing rolled up");
    assert!(rec.rollup_dims.is_none());

    let (rec, r) = write(
        Some(rec),
        vec![span(1, None, "chat", 0, 100)],
        &[("intent", "faq")],
        &[span(2, Some(1), "retrieve", 5, 50)],
    );
    assert!(rec.rollup_dims.is_some());
    let spans = cells(&r, Level::Span, false);
    assert_eq!(
        spans
            .iter()
            .map(|(k, c)| (k.span_name.as_str(), c.count))
            .collect::<Vec<_>>(),
        vec![("chat", 1), ("retrieve", 1)]
    );
    assert!(spans.iter().all(|(k, _)| k.tag_map()["intent"] == "faq"));
}

#[test]
fn late_spans_add_themselves_and_flip_the_trace_error_once() {
    let (rec, _) = write(None, vec![span(1, None, "chat", 0, 100)], &[], &[]);
    let mut bad = span(3, Some(1), "tool", 10, 20);
    bad.status = StatusCode::Error;
    let (rec, r) = write(Some(rec), vec![bad], &[], &[]);
    let traces = cells(&r, Level::Trace, true);
    assert_eq!(traces.len(), 1);
    let t = traces[0].1;
    assert_eq!((t.count, t.error_count, t.latency.count()), (0, 1, 0));
    assert_eq!(cells(&r, Level::Span, true)[0].1.error_count, 1);

    // A second error span does not count the trace twice.
    let mut bad2 = span(4, Some(1), "tool", 30, 40);
    bad2.status = StatusCode::Error;
    let (_, r) = write(Some(rec), vec![bad2], &[], &[]);
    assert!(cells(&r, Level::Trace, true).is_empty());
}

#[test]
fn aggregators_keep_their_latency_but_not_their_tokens() {
    let mut chain = span(1, None, "agent", 0, 100);
    chain.kind = SpanKind::Agent;
    chain.input_tokens = Some(70);
    let (_, r) = write(None, vec![chain], &[], &[]);
    let c = cells(&r, Level::Span, true)[0].1;
    assert_eq!((c.count, c.input_tokens, c.latency.count()), (1, 0, 1));
}

#[test]
fn hours_merge_minutes() {
    let key = |tags: &str| SeriesKey {
        level: Level::Trace,
        service: String::new(),
        trace_name: String::new(),
        span_name: String::new(),
        kind: String::new(),
        model: String::new(),
        tags: tags.into(),
    };
    let mut c = Cell {
        count: 2,
        ..Cell::default()
    };
    c.latency.add(5.0);
    let h = coarsen(
        [
            ((7200, key("*")), c.clone()),
            ((7260, key("*")), c.clone()),
            ((10800, key("*")), c.clone()),
        ],
        HOUR,
    );
    assert_eq!(h[&(7200, key("*"))].count, 4);
    assert_eq!(h[&(7200, key("*"))].latency.count(), 2);
    assert_eq!(h[&(10800, key("*"))].count, 2);
    // Hours fold into quarter days the same way: 02:00 and 03:00 share the 00:00 quarter.
    let q = coarsen(h, QUARTER_DAY);
    assert_eq!(q.len(), 1);
    assert_eq!(q[&(0, key("*"))].count, 6);
    assert_eq!(q[&(0, key("*"))].latency.count(), 3);
}

#[test]
fn numbered_names_share_a_series() {
    assert_eq!(series_name("batch_017"), "batch_{n}");
    assert_eq!(series_name("item-0042"), "item-{n}");
    assert_eq!(series_name("chunk.12.embed"), "chunk.{n}.embed");
    assert_eq!(series_name("42"), "{n}");
    // Digits that are part of a word are part of the name.
    assert_eq!(series_name("gpt4o_call"), "gpt4o_call");
    assert_eq!(series_name("step_3"), "step_3");
    assert_eq!(series_name("v2024x"), "v2024x");
    assert_eq!(series_name(&"é".repeat(300)).chars().count(), 100);
}
