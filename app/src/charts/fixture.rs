//! Test data: a realistic [`Overview`] of one day of the demo chatbot (the proportions of
//! `server/src/demo`: 42% cache hits, 0.3% errors with one burst, 3% of messages blocked by one
//! of six guardrail stages, the reranker the slowest step), and small SVG checks. Pure and
//! deterministic, so chart tests can count what they expect.

use crate::types::{
    GuardrailStat, Heatmap, ModelUsage, Overview, OverviewTotals, SeriesPoint, SpanBreakdown,
    TraceStatus, TraceSummary,
};

const STEP: i64 = 5 * 60_000;
const STEPS: i64 = 288;

/// Log-spaced bucket bounds: four per decade from 10 ms to about 32 s.
fn bounds() -> Vec<f64> {
    (0..15).map(|k| 10.0 * 10f64.powf(k as f64 / 4.0)).collect()
}

/// A deterministic 0..1 wobble for step `i` (no RNG: tests count exact values).
fn wobble(i: i64, salt: i64) -> f64 {
    let x = (i * 7919 + salt * 104_729).rem_euclid(1000);
    x as f64 / 1000.0
}

/// 24 hours from `from_ms` in five-minute steps.
pub fn demo_day(from_ms: i64) -> Overview {
    let bounds = bounds();
    let mut series = vec![];
    let mut heat = vec![];
    let mut totals = OverviewTotals::default();
    for i in 0..STEPS {
        let t_ms = from_ms + i * STEP;
        let hour = i as f64 * STEP as f64 / 3_600_000.0;
        // Busy afternoons (UTC), quiet nights: 150..600 messages a minute.
        let per_min = 375.0 - 225.0 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos();
        let traces = (per_min * 5.0 * (0.95 + 0.1 * wobble(i, 1))) as u64;
        let burst = (14.0..14.5).contains(&hour);
        let error_traces = (traces as f64 * if burst { 0.04 } else { 0.003 }) as u64;
        let cache_hits = (traces as f64 * (0.40 + 0.04 * wobble(i, 2))) as u64;
        let blocks = (traces as f64 * 0.03) as u64;
        let slow = burst || wobble(i, 3) > 0.97;
        let p50 = 780.0 + 60.0 * wobble(i, 4);
        let p95 = 1250.0 + 120.0 * wobble(i, 5) + if slow { 250.0 } else { 0.0 };
        let p99 = p95 + 150.0 + 150.0 * wobble(i, 6);
        series.push(SeriesPoint {
            t_ms,
            traces,
            error_traces,
            p50_ms: Some(p50),
            p95_ms: Some(p95),
            p99_ms: Some(p99),
            cache_hits,
            cache_known: traces,
            guardrail_checks: traces * 6,
            guardrail_blocks: blocks,
            cost: traces as f64 * 0.0041,
        });
        // Cache hits around 100–180 ms, misses around 0.56–1.8 s, a slow tail beyond.
        let hits = cache_hits as f64;
        let misses = (traces - cache_hits) as f64;
        let tail = if slow { 0.08 } else { 0.02 };
        let mut column = vec![0u64; bounds.len()];
        column[3] = (hits * 0.15) as u64;
        column[4] = (hits * 0.6) as u64;
        column[5] = (hits * 0.25) as u64;
        column[7] = (misses * 0.2) as u64;
        column[8] = (misses * 0.5) as u64;
        column[9] = (misses * (0.3 - tail)) as u64;
        column[10] = (misses * tail * 0.8) as u64;
        column[11] = (misses * tail * 0.2) as u64;
        heat.push(column);

        totals.traces += traces;
        totals.error_traces += error_traces;
        totals.cache_hits += cache_hits;
        totals.cache_known += traces;
        totals.guardrail_checks += traces * 6;
        totals.guardrail_blocks += blocks;
    }
    totals.p50_ms = Some(812.0);
    totals.p95_ms = Some(1_318.0);
    totals.p99_ms = Some(1_702.0);
    let misses = (totals.traces - totals.cache_hits) as i64;
    totals.input_tokens = misses * 1_900;
    totals.output_tokens = misses * 240;
    totals.cached_tokens = misses * 600;
    totals.cost_input = totals.input_tokens as f64 * 1.8e-6;
    totals.cost_output = totals.output_tokens as f64 * 9.0e-6;

    let guardrails = [
        ("content_moderation", 0.30),
        ("pii_detection", 0.25),
        ("prompt_injection", 0.25),
        ("hallucination_check", 0.15),
        ("response_length", 0.03),
        ("format_validation", 0.02),
    ]
    .into_iter()
    .map(|(name, w)| GuardrailStat {
        name: name.into(),
        checks: totals.traces,
        blocks: (totals.guardrail_blocks as f64 * w) as u64,
    })
    .collect();

    let n = totals.traces;
    let m = n - totals.cache_hits;
    let p95 = 1_318.0;
    let span = |name: &str, kind: &str, count: u64, p50: f64, p95_ms: f64| SpanBreakdown {
        name: name.into(),
        kind: kind.into(),
        count,
        error_count: count / 700,
        p50_ms: Some(p50),
        p95_ms: Some(p95_ms),
        share_of_trace_p95: Some(p95_ms / p95),
    };
    let breakdown = vec![
        span("rerank", "RERANKER", m, 240.0, 553.0),
        span("llm_call", "LLM", m, 320.0, 410.0),
        span("vector_search", "RETRIEVER", m, 45.0, 96.0),
        span("hallucination_check", "GUARDRAIL", n, 28.0, 52.0),
        span("embed_query", "EMBEDDING", m, 25.0, 47.0),
        span("content_moderation", "GUARDRAIL", n, 22.0, 41.0),
        span("parse_output", "PARSER", m, 25.0, 38.0),
        span("classify_intent", "CHAIN", n, 15.0, 30.0),
        span("cache_lookup", "RETRIEVER", n - m, 18.0, 29.0),
        span("prompt_injection", "GUARDRAIL", n, 15.0, 28.0),
        span("receive_message", "CHAIN", n, 12.0, 22.0),
        span("pii_detection", "GUARDRAIL", n, 12.0, 22.0),
        span("save_return", "CHAIN", n, 12.0, 21.0),
        span("load_context", "CHAIN", n, 8.0, 15.0),
        span("build_prompt", "CHAIN", m, 5.0, 9.0),
    ];

    let model = |name: &str, calls: u64, tin: i64, tout: i64, pin: f64, pout: f64| ModelUsage {
        model: name.into(),
        calls,
        input_tokens: tin,
        output_tokens: tout,
        cached_tokens: tin / 4,
        cost_input: tin as f64 * pin,
        cost_output: tout as f64 * pout,
        p95_ms: Some(400.0),
    };
    let mi = m as i64;
    let models = vec![
        model("bge-m3", m, mi * 40, 0, 0.02e-6, 0.0),
        model(
            "claude-sonnet",
            m * 45 / 100,
            mi * 855,
            mi * 108,
            3e-6,
            15e-6,
        ),
        model(
            "claude-haiku",
            m * 40 / 100,
            mi * 760,
            mi * 96,
            0.8e-6,
            4e-6,
        ),
        model("vllm-lora", m * 15 / 100, mi * 285, mi * 36, 0.0, 0.0),
    ];

    let trace = |k: i64, status: TraceStatus, ms: f64| TraceSummary {
        trace_id: format!("{:032x}", 0xabc0_0000 + k),
        experiment_id: "0".into(),
        name: Some("chat_request".into()),
        start_ms: from_ms + k * 331_000,
        duration_ms: Some(ms),
        status,
        models: vec!["claude-sonnet".into(), "bge-m3".into()],
        input_tokens: 2_100,
        output_tokens: 260,
        total_cost: Some(0.0102),
        span_count: 20,
        error_count: (status == TraceStatus::Error) as i64,
        redactions: 0,
        payload_dropped: false,
        session_id: Some(format!("sess-{k}")),
        request_preview: Some(r#"{"message":"Is volume 3 of One Piece in stock?"}"#.into()),
    };
    Overview {
        from_ms,
        to_ms: from_ms + STEPS * STEP,
        step_ms: STEP,
        totals,
        heatmap: Heatmap {
            bounds_ms: bounds,
            t_ms: series.iter().map(|p| p.t_ms).collect(),
            counts: heat,
        },
        series,
        guardrails,
        breakdown,
        models,
        slowest: (0..10)
            .map(|k| trace(k, TraceStatus::Ok, 3_400.0 - k as f64 * 150.0))
            .collect(),
        failed: (10..20)
            .map(|k| trace(k, TraceStatus::Error, 900.0))
            .collect(),
    }
}

/// Panics unless `svg` is one well-formed element tree: every tag closed in order, quoted
/// attributes, no stray `<` or `&` in text.
#[track_caller]
pub fn assert_well_formed(svg: &str) {
    let mut open: Vec<&str> = vec![];
    let mut rest = svg.trim();
    assert!(
        rest.starts_with("<svg"),
        "does not start with <svg: {}",
        &rest[..40.min(rest.len())]
    );
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(
            !open.is_empty() || text.trim().is_empty(),
            "text outside the root: {text:?}"
        );
        check_entities(text);
        let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().expect("empty tag");
        assert!(
            body.matches('"').count().is_multiple_of(2) && !body.contains('<'),
            "bad attributes in <{body}>"
        );
        check_entities(body);
        if !self_closing {
            open.push(name);
        }
        if open.is_empty() {
            assert!(rest.trim().is_empty(), "content after the root");
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    assert!(rest.trim().is_empty());
}

fn check_entities(s: &str) {
    for (i, _) in s.match_indices('&') {
        let entity = &s[i..s[i..].find(';').map_or(s.len(), |j| i + j + 1)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity)
                || entity.starts_with("&#"),
            "bad entity {entity:?}"
        );
    }
}

/// The vertices of every data line: plotters draws a line series as one `<polyline>`; the
/// series are the 2 px ones (axis ticks are 1 px, legend keys 3 px).
pub fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
    svg.match_indices("<polyline")
        .map(|(i, _)| &svg[i..i + svg[i..].find('>').unwrap()])
        .filter(|tag| tag.contains("stroke-width=\"2\""))
        .map(|tag| {
            let at = tag.find("points=\"").unwrap() + 8;
            let pts = &tag[at..at + tag[at..].find('"').unwrap()];
            pts.split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_day_has_the_demo_proportions() {
        let o = demo_day(0);
        assert_eq!(o.series.len(), 288);
        let hit = o.totals.cache_hit_rate().unwrap();
        assert!((0.40..0.44).contains(&hit), "{hit}");
        let blocked = o.totals.guardrail_blocks as f64 / o.totals.traces as f64;
        assert!((0.029..0.031).contains(&blocked), "{blocked}");
        assert_eq!(o.breakdown[0].name, "rerank");
        assert_eq!(o.models.len(), 4);
    }

    #[test]
    #[should_panic(expected = "mismatched")]
    fn mismatched_tags_are_caught() {
        assert_well_formed("<svg><g></svg></g>");
    }

    #[test]
    #[should_panic(expected = "bad entity")]
    fn raw_ampersands_are_caught() {
        assert_well_formed("<svg><text>a & b</text></svg>");
    }
}
