//! How a trace row is built from pieces that arrive in any order: spans (children before
//! roots, one trace over several requests, re-sent batches) and MLflow's StartTraceV3 info
//! (before or after its spans). Pure, shared by both backends: each backend only loads the
//! existing rows and writes back what this returns.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::model::{SpanId, SpanKind, StatusCode, TraceId, TraceInfo, TracePatch, TraceStatus};

use super::{touched_traces, PreparedBatch, SpanRow, TraceRecord};

/// Kinds whose token counts repeat their children's (a chain or agent that reports the sum):
/// counting them would double the trace's usage.
fn is_aggregator(kind: SpanKind) -> bool {
    matches!(kind, SpanKind::Agent | SpanKind::Chain | SpanKind::Workflow)
}

/// Merges a batch into the existing trace rows. `inserted` holds the spans this transaction
/// actually inserted: spans already stored (a re-sent batch) must not be counted twice.
pub fn merge_batch(
    mut existing: HashMap<TraceId, TraceRecord>,
    batch: &PreparedBatch,
    inserted: &HashSet<(TraceId, SpanId)>,
) -> Vec<TraceRecord> {
    // Group once: a batch holds thousands of spans over hundreds of traces.
    let mut spans: HashMap<TraceId, Vec<&SpanRow>> = HashMap::new();
    for s in batch
        .spans
        .iter()
        .filter(|s| inserted.contains(&(s.trace_id, s.span_id)))
    {
        spans.entry(s.trace_id).or_default().push(s);
    }
    let mut patches: HashMap<TraceId, Vec<&TracePatch>> = HashMap::new();
    for p in &batch.patches {
        patches.entry(p.trace_id).or_default().push(p);
    }
    let mut infos: HashMap<TraceId, Vec<&TraceInfo>> = HashMap::new();
    for i in &batch.infos {
        infos.entry(i.trace_id).or_default().push(i);
    }
    let mut out = Vec::new();
    for trace_id in touched_traces(batch) {
        let trace_infos = infos.remove(&trace_id).unwrap_or_default();
        let trace_patches = patches.remove(&trace_id).unwrap_or_default();
        let experiment_id = trace_infos
            .first()
            .map(|i| i.experiment_id)
            .or_else(|| trace_patches.first().map(|p| p.experiment_id))
            .unwrap_or(0);
        let mut rec = existing
            .remove(&trace_id)
            .unwrap_or_else(|| TraceRecord::new(trace_id, experiment_id));
        // Roots are applied last so that a root's session beats a child's in the same batch.
        let mut trace_spans = spans.remove(&trace_id).unwrap_or_default();
        trace_spans.sort_by_key(|s| s.parent_span_id.is_none());
        for s in trace_spans {
            apply_span(&mut rec, s);
        }
        for p in trace_patches {
            rec.redactions += p.redactions;
            if rec.service_name.is_none() {
                rec.service_name = p.service_name.clone();
            }
        }
        for info in trace_infos {
            apply_info(&mut rec, info);
        }
        out.push(rec);
    }
    out
}

fn apply_span(rec: &mut TraceRecord, s: &SpanRow) {
    rec.span_count += 1;
    rec.redactions += s.redactions;
    if s.status == StatusCode::Error {
        rec.error_count += 1;
    }
    if s.kind == SpanKind::Guardrail {
        rec.guardrail_count += 1;
    }
    if s.flags & crate::rollup::FLAG_BLOCKED != 0 {
        rec.blocked_count += 1;
    }
    if !is_aggregator(s.kind) {
        rec.input_tokens += s.input_tokens.unwrap_or(0);
        rec.output_tokens += s.output_tokens.unwrap_or(0);
        rec.cached_tokens += s.cached_tokens.unwrap_or(0);
        if let Some(c) = s.cost() {
            rec.cost = Some(rec.cost.unwrap_or(0.0) + c);
        }
    }
    if let Some(m) = &s.model {
        if !rec.models.contains(m) {
            // The chat model is what people look for in a list; embedders and rerankers follow.
            if matches!(s.kind, SpanKind::Llm | SpanKind::ChatModel) {
                rec.models.insert(0, m.clone());
            } else {
                rec.models.push(m.clone());
            }
        }
    }
    let is_root = s.parent_span_id.is_none();
    if is_root || rec.session_id.is_none() {
        rec.session_id = s.session_id.clone().or(rec.session_id.take());
    }
    if is_root || rec.user_id.is_none() {
        rec.user_id = s.user_id.clone().or(rec.user_id.take());
    }
    if is_root {
        rec.root_span_id = Some(s.span_id);
        if rec.name.is_none() || !rec.info_finalized {
            rec.name = Some(s.name.clone());
        }
    }
    if rec.info_finalized {
        return;
    }
    // Trace-level fields come from spans only until StartTraceV3 says otherwise.
    rec.start_ns = rec.start_ns.min(s.start_ns);
    rec.end_ns = rec.end_ns.max(s.end_ns);
    if is_root {
        rec.status = if s.status == StatusCode::Error {
            TraceStatus::Error
        } else {
            TraceStatus::Ok
        };
        rec.request_preview = s.request_preview.clone().or(rec.request_preview.take());
        rec.response_preview = s.response_preview.clone().or(rec.response_preview.take());
    }
}

fn apply_info(rec: &mut TraceRecord, info: &TraceInfo) {
    rec.info_finalized = true;
    rec.redactions += info.redactions;
    // The trace location MLflow sends is authoritative for where the trace lives.
    rec.experiment_id = info.experiment_id;
    if let Some(ms) = info.request_time_ms {
        rec.start_ns = ms.saturating_mul(1_000_000);
        if let Some(d) = info.execution_duration_ms {
            rec.end_ns = rec.start_ns.saturating_add((d * 1e6) as i64);
        }
    }
    if let Some(state) = info.state {
        rec.status = state;
    }
    if info.client_request_id.is_some() {
        rec.client_request_id = info.client_request_id.clone();
    }
    if info.request_preview.is_some() {
        rec.request_preview = info.request_preview.clone();
    }
    if info.response_preview.is_some() {
        rec.response_preview = info.response_preview.clone();
    }
    if let Some(name) = info.tags.get("mlflow.traceName") {
        rec.name = Some(name.clone());
    }
    if let Some(s) = info.metadata.get("mlflow.trace.session") {
        rec.session_id = Some(s.clone());
    }
    if let Some(u) = info.metadata.get("mlflow.trace.user") {
        rec.user_id = Some(u.clone());
    }
    for (k, v) in &info.metadata {
        rec.metadata.insert(k.clone(), v.clone());
    }
}

/// Tags to upsert, in order (later wins): resource and root-span tags, then StartTraceV3 tags.
pub fn batch_tags(batch: &PreparedBatch) -> BTreeMap<(TraceId, String), String> {
    let mut out = BTreeMap::new();
    for p in &batch.patches {
        for (k, v) in &p.tags {
            out.insert((p.trace_id, k.clone()), v.clone());
        }
    }
    for i in &batch.infos {
        for (k, v) in &i.tags {
            out.insert((i.trace_id, k.clone()), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TraceId = [7; 16];

    fn span(id: u8, parent: Option<u8>, start: i64, end: i64) -> SpanRow {
        SpanRow::bare(T, id, parent, &format!("s{id}"), start, end)
    }

    fn all(b: &PreparedBatch) -> HashSet<(TraceId, SpanId)> {
        b.spans.iter().map(|s| (s.trace_id, s.span_id)).collect()
    }

    fn run(existing: Option<TraceRecord>, b: &PreparedBatch) -> TraceRecord {
        let ex = existing.into_iter().map(|r| (r.trace_id, r)).collect();
        merge_batch(ex, b, &all(b)).pop().unwrap()
    }

    #[test]
    fn child_before_root_yields_one_trace_in_progress_then_ok() {
        let mut child = span(2, Some(1), 20, 30);
        child.kind = SpanKind::Llm;
        child.model = Some("gpt-4o".into());
        child.input_tokens = Some(100);
        child.output_tokens = Some(10);
        child.cost_input = Some(0.001);
        child.cost_output = Some(0.002);
        let b1 = PreparedBatch {
            spans: vec![child],
            ..Default::default()
        };
        let r1 = run(None, &b1);
        assert_eq!(r1.status, TraceStatus::InProgress);
        assert_eq!(
            (r1.span_count, r1.input_tokens, r1.output_tokens),
            (1, 100, 10)
        );
        assert!(r1.name.is_none());

        let mut root = span(1, None, 10, 40);
        root.request_preview = Some("hi".into());
        root.session_id = Some("sess".into());
        let b2 = PreparedBatch {
            spans: vec![root],
            ..Default::default()
        };
        let r2 = run(Some(r1), &b2);
        assert_eq!(r2.status, TraceStatus::Ok);
        assert_eq!((r2.start_ns, r2.end_ns, r2.span_count), (10, 40, 2));
        assert_eq!(r2.name.as_deref(), Some("s1"));
        assert_eq!(r2.request_preview.as_deref(), Some("hi"));
        assert_eq!(r2.session_id.as_deref(), Some("sess"));
        assert!((r2.cost.unwrap() - 0.003).abs() < 1e-12);
        assert_eq!(r2.models, vec!["gpt-4o".to_string()]);
    }

    #[test]
    fn resent_spans_are_not_counted_twice() {
        let b = PreparedBatch {
            spans: vec![span(1, None, 0, 5)],
            ..Default::default()
        };
        let first = run(None, &b);
        let ex = [(T, first)].into_iter().collect();
        let again = merge_batch(ex, &b, &HashSet::new()).pop().unwrap();
        assert_eq!(again.span_count, 1);
    }

    #[test]
    fn start_trace_info_wins_whether_it_comes_before_or_after_spans() {
        let info = TraceInfo {
            trace_id: T,
            experiment_id: 3,
            request_time_ms: Some(1_000),
            execution_duration_ms: Some(7.0),
            state: Some(TraceStatus::Error),
            tags: [("mlflow.traceName".to_string(), "pipeline".to_string())].into(),
            metadata: [("mlflow.trace.session".to_string(), "s-9".to_string())].into(),
            ..Default::default()
        };
        let spans = PreparedBatch {
            spans: vec![span(1, None, 5, 9)],
            ..Default::default()
        };
        let infos = PreparedBatch {
            infos: vec![info],
            ..Default::default()
        };

        let info_first = run(Some(run(None, &infos)), &spans);
        let spans_first = run(Some(run(None, &spans)), &infos);
        for r in [info_first, spans_first] {
            assert_eq!(r.experiment_id, 3);
            assert_eq!((r.start_ns, r.end_ns), (1_000_000_000, 1_007_000_000));
            assert_eq!(r.status, TraceStatus::Error);
            assert_eq!(r.name.as_deref(), Some("pipeline"));
            assert_eq!(r.session_id.as_deref(), Some("s-9"));
            assert_eq!(r.span_count, 1);
            assert!(r.info_finalized);
        }
    }

    #[test]
    fn aggregator_tokens_are_not_double_counted() {
        let mut chain = span(1, None, 0, 10);
        chain.kind = SpanKind::Chain;
        chain.input_tokens = Some(50);
        let mut llm = span(2, Some(1), 1, 9);
        llm.kind = SpanKind::ChatModel;
        llm.input_tokens = Some(50);
        let r = run(
            None,
            &PreparedBatch {
                spans: vec![chain, llm],
                ..Default::default()
            },
        );
        assert_eq!(r.input_tokens, 50);
    }

    #[test]
    fn error_root_marks_trace_error_and_counts_error_spans() {
        let mut root = span(1, None, 0, 10);
        root.status = StatusCode::Error;
        let mut child = span(2, Some(1), 1, 2);
        child.status = StatusCode::Error;
        let r = run(
            None,
            &PreparedBatch {
                spans: vec![child, root],
                ..Default::default()
            },
        );
        assert_eq!(r.status, TraceStatus::Error);
        assert_eq!(r.error_count, 2);
    }

    #[test]
    fn later_tags_win_and_patches_set_service() {
        let patch = TracePatch {
            trace_id: T,
            experiment_id: 0,
            service_name: Some("svc".into()),
            tags: [("env".to_string(), "a".to_string())].into(),
            redactions: 0,
        };
        let info = TraceInfo {
            trace_id: T,
            tags: [("env".to_string(), "b".to_string())].into(),
            ..Default::default()
        };
        let b = PreparedBatch {
            patches: vec![patch],
            infos: vec![info],
            ..Default::default()
        };
        assert_eq!(
            batch_tags(&b)
                .get(&(T, "env".to_string()))
                .map(String::as_str),
            Some("b")
        );
        assert_eq!(run(None, &b).service_name.as_deref(), Some("svc"));
    }
}
