//! Rollups: per-minute pre-aggregates written by the writer in the same transaction as the
//! spans, so dashboards, `/metrics` and alert rules read a few hundred rows instead of
//! scanning raw spans, and cover 100% of traffic even after payloads are sampled or expired.
//!
//! A rollup cell is (bucket, series): a series is a set of dimension values — for traces the
//! service, trace name and configured tags; for spans also the span name, kind and model.
//! Every cell is written twice: once with its tag values and once under the tag wildcard `*`,
//! so an unscoped board reads the small `*` series and a tag-scoped board the tagged ones.
//!
//! A trace is rolled up when its root span arrives (then its duration, status and tags are
//! known), together with every span stored so far; spans that arrive later are rolled up on
//! arrival under the dimensions fixed then (kept in `traces.rollup_dims`). Traces whose root
//! never arrives are rolled up by the sweep once they are older than a grace period.

pub mod exemplar;
pub mod latency;
pub mod read;
pub mod scope;
pub mod worker;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{SpanId, SpanKind, StatusCode, TraceId, TraceStatus};
use crate::store::{PreparedBatch, SpanRow, TraceRecord};

pub use exemplar::Exemplars;
pub use latency::Latency;

/// Minute, hour and quarter-day buckets, in seconds. Minute cells are written at ingest;
/// the worker compacts complete hours into hour cells and complete quarter days into
/// quarter cells, so a 30-day board reads 120 cells per series instead of 720 or 43,200.
pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const QUARTER_DAY: i64 = 6 * HOUR;
/// The coarsest cells there are: what a read of window totals asks for.
pub const COARSEST: i64 = QUARTER_DAY;

/// The `rollup_state` key of a compacted resolution's watermark: buckets before it have
/// cells at that resolution. The hour key predates the quarter-day tier.
pub fn watermark_key(resolution: i64) -> &'static str {
    if resolution == QUARTER_DAY {
        "compacted_until_quarter_day"
    } else {
        "compacted_until"
    }
}

/// `spans.flags` bit: a guardrail span that blocked (see `normalize::conventions`).
pub const FLAG_BLOCKED: i64 = 1;

/// Which tags are dimensions, which one marks a cache hit, and which span attributes mark a
/// guardrail block.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupConfig {
    /// Trace tags kept as rollup dimensions. Keep them few and low-cardinality: every
    /// combination of values is its own series.
    pub tag_keys: Vec<String>,
    /// The trace tag whose value `true` (also `1`, `yes`, `hit`) marks a cache hit; always a
    /// dimension, so the cache-hit rate is the share of its true values.
    pub cache_hit_key: String,
    /// Tag values longer than this are cut, so a free-text tag cannot blow up the series.
    pub max_value_chars: usize,
    /// The span attributes that say a guardrail blocked. Read at ingest (normalisation sets
    /// [`FLAG_BLOCKED`]), not here: a span's flag is fixed when it is stored.
    pub guardrails: crate::normalize::GuardrailKeys,
    /// Which traces keep their span payloads; applied in the same write, after the rollup
    /// has counted the trace.
    pub payload_sampling: crate::store::sampling::PayloadSampling,
}

impl Default for RollupConfig {
    fn default() -> Self {
        RollupConfig {
            tag_keys: vec!["intent".into(), "model_used".into()],
            cache_hit_key: "cache_hit".into(),
            max_value_chars: 64,
            guardrails: Default::default(),
            payload_sampling: Default::default(),
        }
    }
}

impl RollupConfig {
    /// The tag keys kept, the cache-hit key included, sorted and unique.
    pub fn dimension_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.tag_keys.clone();
        keys.push(self.cache_hit_key.clone());
        keys.sort();
        keys.dedup();
        keys
    }
}

/// A span or trace name as a rollup dimension: numbered names from loops and batches
/// (`batch_017`, `item-0042`, `chunk.12`) share one series (`batch_{n}`), and long names are
/// cut. Otherwise a 10,000-item loop would make 10,000 series and bury the bottleneck.
pub fn series_name(name: &str) -> String {
    const MAX_CHARS: usize = 100;
    let chars: Vec<char> = name.chars().take(MAX_CHARS).collect();
    let mut out = String::with_capacity(name.len().min(MAX_CHARS));
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i > start {
            // A run of 2+ digits standing alone between separators is a counter.
            let before_ok = start == 0 || !chars[start - 1].is_alphanumeric();
            let after_ok = i == chars.len() || !chars[i].is_alphanumeric();
            if i - start >= 2 && before_ok && after_ok {
                out.push_str("{n}");
            } else {
                out.extend(&chars[start..i]);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Whether a tag value reads as "yes".
pub fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "hit"
    )
}

/// The trace-level dimensions, fixed when the trace is rolled up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TraceDims {
    pub service: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

impl TraceDims {
    pub fn of(rec: &TraceRecord, tags: &BTreeMap<String, String>, cfg: &RollupConfig) -> Self {
        let keys = cfg.dimension_keys();
        let tags = tags
            .iter()
            .filter(|(k, _)| keys.binary_search(k).is_ok())
            .map(|(k, v)| {
                let v: String = v.chars().take(cfg.max_value_chars).collect();
                (k.clone(), v)
            })
            .collect();
        TraceDims {
            service: rec.service_name.clone().unwrap_or_default(),
            name: rec.name.as_deref().map(series_name).unwrap_or_default(),
            tags,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Option<TraceDims> {
        serde_json::from_str(s).ok()
    }

    fn tags_key(&self) -> String {
        serde_json::to_string(&self.tags).unwrap_or_default()
    }
}

/// `tags` of the wildcard series: every tag value together.
pub const ANY_TAGS: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Span,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Span => "span",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "trace" => Some(Level::Trace),
            "span" => Some(Level::Span),
            _ => None,
        }
    }
}

/// The dimensions of one series. Absent values are empty strings (they are part of a
/// unique key, where NULLs would never be equal).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub level: Level,
    pub service: String,
    pub trace_name: String,
    pub span_name: String,
    pub kind: String,
    pub model: String,
    /// Canonical JSON of the tag dimensions, or [`ANY_TAGS`].
    pub tags: String,
}

impl SeriesKey {
    pub fn is_wildcard(&self) -> bool {
        self.tags == ANY_TAGS
    }

    /// The tag values of a tagged series (empty for the wildcard).
    pub fn tag_map(&self) -> BTreeMap<String, String> {
        if self.is_wildcard() {
            return BTreeMap::new();
        }
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

/// The aggregates of one cell. For trace series `blocked_count` counts traces in which a
/// guardrail blocked and `guarded_count` traces that ran a guardrail; for span series
/// `blocked_count` counts blocking guardrail spans. Tokens and cost are summed over spans
/// that are not aggregators (agent/chain/workflow repeat their children's usage).
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub count: i64,
    pub error_count: i64,
    pub blocked_count: i64,
    pub guarded_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_input: f64,
    pub cost_output: f64,
    pub latency: Latency,
    /// Trace cells: the slowest and the latest failed traces (what a board links to and an
    /// alert names), so nobody scans the trace table to find them.
    pub exemplars: Exemplars,
}

impl Cell {
    pub fn merge(&mut self, o: &Cell) {
        self.count += o.count;
        self.error_count += o.error_count;
        self.blocked_count += o.blocked_count;
        self.guarded_count += o.guarded_count;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cached_tokens += o.cached_tokens;
        self.cost_input += o.cost_input;
        self.cost_output += o.cost_output;
        self.latency.merge(&o.latency);
        self.exemplars.merge(&o.exemplars);
    }
}

/// What the rollup needs of a span; read from a [`SpanRow`] or from the spans table.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanFacts {
    pub span_id: SpanId,
    pub name: String,
    pub kind: SpanKind,
    pub model: Option<String>,
    pub duration_ms: f64,
    pub error: bool,
    pub flags: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_input: f64,
    pub cost_output: f64,
}

impl SpanFacts {
    pub fn of(s: &SpanRow) -> SpanFacts {
        SpanFacts {
            span_id: s.span_id,
            name: s.name.clone(),
            kind: s.kind,
            model: s.model.clone(),
            duration_ms: (s.end_ns - s.start_ns).max(0) as f64 / 1e6,
            error: s.status == StatusCode::Error,
            flags: s.flags,
            input_tokens: s.input_tokens.unwrap_or(0),
            output_tokens: s.output_tokens.unwrap_or(0),
            cached_tokens: s.cached_tokens.unwrap_or(0),
            cost_input: s.cost_input.unwrap_or(0.0),
            cost_output: s.cost_output.unwrap_or(0.0),
        }
    }
}

fn is_aggregator(kind: SpanKind) -> bool {
    matches!(kind, SpanKind::Agent | SpanKind::Chain | SpanKind::Workflow)
}

/// A trace's rollup-relevant state before a batch is merged into it.
#[derive(Debug, Clone, Default)]
pub struct Before {
    pub is_error: bool,
    pub blocked: bool,
    pub guarded: bool,
    pub rollup_dims: Option<String>,
    pub span_count: i64,
}

pub fn is_error(r: &TraceRecord) -> bool {
    r.error_count > 0 || r.status == TraceStatus::Error
}

impl Before {
    pub fn of(r: &TraceRecord) -> Before {
        Before {
            is_error: is_error(r),
            blocked: r.blocked_count > 0,
            guarded: r.guardrail_count > 0,
            rollup_dims: r.rollup_dims.clone(),
            span_count: r.span_count,
        }
    }
}

/// Minute bucket (epoch seconds) of a time in ns.
pub fn minute_of(ns: i64) -> i64 {
    ns.div_euclid(60_000_000_000) * MINUTE
}

/// Cells to add, by (resolution, bucket, series).
#[derive(Debug, Default)]
pub struct Rollup {
    pub cells: HashMap<(i64, i64, SeriesKey), Cell>,
}

impl Rollup {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Adds to the series' cell and to its wildcard's. Span cells per tag combination are
    /// hour cells: at low traffic a minute cell per span name and tag combination would be
    /// about one row per span; per hour they stay a few hundred rows whatever the traffic.
    fn add(&mut self, minute: i64, key: SeriesKey, f: impl Fn(&mut Cell)) {
        let mut wildcard = key.clone();
        wildcard.tags = ANY_TAGS.to_string();
        let res = if key.level == Level::Span {
            HOUR
        } else {
            MINUTE
        };
        let bucket = minute.div_euclid(res) * res;
        f(self.cells.entry((res, bucket, key)).or_default());
        f(self.cells.entry((MINUTE, minute, wildcard)).or_default());
    }

    fn trace_key(dims: &TraceDims) -> SeriesKey {
        SeriesKey {
            level: Level::Trace,
            service: dims.service.clone(),
            trace_name: dims.name.clone(),
            span_name: String::new(),
            kind: String::new(),
            model: String::new(),
            tags: dims.tags_key(),
        }
    }

    /// A whole trace, once: one count, its latency and flags.
    pub fn add_trace(&mut self, bucket: i64, dims: &TraceDims, rec: &TraceRecord) {
        let latency = rec.duration_ns().map(|d| d as f64 / 1e6);
        let (err, blocked, guarded) = (
            is_error(rec),
            rec.blocked_count > 0,
            rec.guardrail_count > 0,
        );
        let start_ms = rec.start_ns / 1_000_000;
        self.add(bucket, Self::trace_key(dims), |c| {
            c.count += 1;
            c.error_count += i64::from(err);
            c.blocked_count += i64::from(blocked);
            c.guarded_count += i64::from(guarded);
            if let Some(ms) = latency {
                c.latency.add(ms);
                c.exemplars.offer_slow(rec.trace_id, ms, start_ms);
            }
            if err {
                c.exemplars
                    .offer_failed(rec.trace_id, latency.unwrap_or(0.0), start_ms);
            }
        });
    }

    /// A trace already counted whose late spans flipped its error or guardrail state.
    pub fn add_trace_flags(
        &mut self,
        rec: &TraceRecord,
        dims: &TraceDims,
        err: i64,
        blocked: i64,
        guarded: i64,
    ) {
        if err == 0 && blocked == 0 && guarded == 0 {
            return;
        }
        let latency = rec.duration_ns().map_or(0.0, |d| d as f64 / 1e6);
        self.add(minute_of(rec.start_ns), Self::trace_key(dims), |c| {
            if err > 0 {
                c.exemplars
                    .offer_failed(rec.trace_id, latency, rec.start_ns / 1_000_000);
            }
            c.error_count += err;
            c.blocked_count += blocked;
            c.guarded_count += guarded;
        });
    }

    pub fn add_span(&mut self, bucket: i64, dims: &TraceDims, s: &SpanFacts) {
        let key = SeriesKey {
            level: Level::Span,
            service: dims.service.clone(),
            trace_name: dims.name.clone(),
            span_name: series_name(&s.name),
            kind: s.kind.as_str().to_string(),
            model: s.model.clone().unwrap_or_default(),
            tags: dims.tags_key(),
        };
        let priced = !is_aggregator(s.kind);
        self.add(bucket, key, |c| {
            c.count += 1;
            c.error_count += i64::from(s.error);
            c.blocked_count += i64::from(s.flags & FLAG_BLOCKED != 0);
            c.latency.add(s.duration_ms);
            if priced {
                c.input_tokens += s.input_tokens;
                c.output_tokens += s.output_tokens;
                c.cached_tokens += s.cached_tokens;
                c.cost_input += s.cost_input;
                c.cost_output += s.cost_output;
            }
        });
    }

    /// Rolls up a trace now: the trace itself and all of `spans`; returns its dims JSON.
    pub fn roll_trace(
        &mut self,
        rec: &TraceRecord,
        tags: &BTreeMap<String, String>,
        spans: &[SpanFacts],
        cfg: &RollupConfig,
    ) -> Option<String> {
        if rec.start_ns == i64::MAX {
            return None;
        }
        let dims = TraceDims::of(rec, tags, cfg);
        let bucket = minute_of(rec.start_ns);
        self.add_trace(bucket, &dims, rec);
        for s in spans {
            self.add_span(bucket, &dims, s);
        }
        Some(dims.to_json())
    }
}

/// Traces of the batch whose root is present now but that were not rolled up before: they
/// roll up in this batch. Those with spans stored by earlier batches need them (and their
/// stored tags) read back first: the second set.
pub fn rolling_now(
    before: &HashMap<TraceId, Before>,
    records: &[TraceRecord],
) -> (HashSet<TraceId>, Vec<TraceId>) {
    let mut now = HashSet::new();
    let mut prior = Vec::new();
    for r in records {
        let b = before.get(&r.trace_id);
        if b.is_some_and(|b| b.rollup_dims.is_some()) || r.root_span_id.is_none() {
            continue;
        }
        now.insert(r.trace_id);
        if b.is_some_and(|b| b.span_count > 0) {
            prior.push(r.trace_id);
        }
    }
    (now, prior)
}

/// The rollup of one batch, after the trace merge. Sets `rollup_dims` on the records that
/// roll up now (the caller writes them back with the trace rows).
///
/// - `batch_tags`: the tags this batch sets ([`crate::store::merge::batch_tags`]);
/// - `stored_tags` / `stored_spans`: for the traces [`rolling_now`] listed as having prior
///   spans, their stored tags and **all** their spans (this batch's included).
#[allow(clippy::too_many_arguments)]
pub fn plan_batch(
    before: &HashMap<TraceId, Before>,
    records: &mut [TraceRecord],
    batch: &PreparedBatch,
    inserted: &HashSet<(TraceId, SpanId)>,
    batch_tags: &BTreeMap<(TraceId, String), String>,
    stored_tags: &HashMap<TraceId, BTreeMap<String, String>>,
    stored_spans: &HashMap<TraceId, Vec<SpanFacts>>,
    cfg: &RollupConfig,
) -> Rollup {
    let mut new_spans: HashMap<TraceId, Vec<SpanFacts>> = HashMap::new();
    for s in batch
        .spans
        .iter()
        .filter(|s| inserted.contains(&(s.trace_id, s.span_id)))
    {
        new_spans
            .entry(s.trace_id)
            .or_default()
            .push(SpanFacts::of(s));
    }
    let (now, _) = rolling_now(before, records);
    let mut out = Rollup::default();
    for rec in records.iter_mut() {
        let b = before.get(&rec.trace_id).cloned().unwrap_or_default();
        if let Some(json) = &b.rollup_dims {
            // Rolled up earlier: only what this batch added.
            let Some(dims) = TraceDims::from_json(json) else {
                tracing::warn!(trace = %hex::encode(rec.trace_id), "Unreadable rollup_dims; late spans not rolled up.");
                continue;
            };
            let bucket = minute_of(rec.start_ns);
            for s in new_spans.get(&rec.trace_id).into_iter().flatten() {
                out.add_span(bucket, &dims, s);
            }
            out.add_trace_flags(
                rec,
                &dims,
                i64::from(is_error(rec) && !b.is_error),
                i64::from(rec.blocked_count > 0 && !b.blocked),
                i64::from(rec.guardrail_count > 0 && !b.guarded),
            );
        } else if now.contains(&rec.trace_id) {
            let mut tags = stored_tags.get(&rec.trace_id).cloned().unwrap_or_default();
            tags.extend(
                batch_tags
                    .range((rec.trace_id, String::new())..)
                    .take_while(|((t, _), _)| *t == rec.trace_id)
                    .map(|((_, k), v)| (k.clone(), v.clone())),
            );
            let spans = match stored_spans.get(&rec.trace_id) {
                Some(all) => all.as_slice(),
                None => new_spans
                    .get(&rec.trace_id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            };
            rec.rollup_dims = out.roll_trace(rec, &tags, spans, cfg);
        }
    }
    out
}

/// What of the stored cells a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellPart {
    /// Each cell whole.
    Whole,
    /// Counts, tokens and cost added over the read's series: one cell per bucket (`series`
    /// 0), no latency or exemplars. The database adds them up, so a chart of sums costs one
    /// row per step instead of one per series and step, and no sketch is decoded.
    Summed,
}

/// A cell as read back.
#[derive(Debug, Clone)]
pub struct StoredCell {
    pub bucket: i64,
    pub series: i64,
    pub cell: Cell,
}

/// Groups cells into cells of a coarser `resolution` (compaction, and late data for
/// compacted periods).
pub fn coarsen(
    cells: impl IntoIterator<Item = ((i64, SeriesKey), Cell)>,
    resolution: i64,
) -> HashMap<(i64, SeriesKey), Cell> {
    let mut out: HashMap<(i64, SeriesKey), Cell> = HashMap::new();
    for ((bucket, key), cell) in cells {
        out.entry((bucket.div_euclid(resolution) * resolution, key))
            .or_default()
            .merge(&cell);
    }
    out
}

#[cfg(test)]
mod tests;
