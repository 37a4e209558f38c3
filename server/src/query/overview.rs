//! The overview board, from rollups only: the series matching the scope are picked from the
//! small series table, their cells in the window are read (minute cells for windows up to
//! six hours; beyond, hour or quarter-day cells as the chart step allows, plus finer cells
//! after the last compaction), and merged here. Only the two exemplar lists touch the trace table, through indexed searches.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use app::filter::{Comparison, Expr, Field, Op, TraceField, Value};
use app::types::{
    GuardrailStat, Heatmap, ModelUsage, Overview, OverviewQuery, OverviewTotals, SeriesPoint,
    SpanBreakdown, TraceListQuery,
};
use app::AppError;

use crate::rollup::latency::{bucket_lower_ms, BUCKETS};
use crate::rollup::scope::Scope;
use crate::rollup::{self, Cell, CellPart, Latency, Level, RollupConfig, SeriesKey, StoredCell};
use crate::store::Backend;

/// Longest window a board reads (hour cells: 2,160 per series).
const MAX_WINDOW_MS: i64 = 90 * 24 * 3_600_000;
/// Windows up to this read minute cells; longer ones hour cells.
const MINUTE_CELLS_UP_TO_MS: i64 = 6 * 3_600_000;
/// Charts get about this many points at most.
const MAX_POINTS: i64 = 180;
/// Exemplars per list: exact, as no cell keeps fewer (`rollup::exemplar::KEEP`).
/// Rows of the span breakdown (the slowest first).
const MAX_BREAKDOWN_ROWS: usize = 40;
const EXEMPLARS: u32 = rollup::exemplar::KEEP as u32;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: "scope".into(),
        message: message.into(),
    }
}

pub(super) async fn overview(
    backend: &Arc<dyn Backend>,
    cfg: &RollupConfig,
    query: OverviewQuery,
    scope_expr: Option<Expr>,
) -> Result<Overview, AppError> {
    let read = read_cells(backend, cfg, query, scope_expr).await?;
    let board = Board::build(cfg, &read);
    let (slowest, failed) = exemplars(backend, &read.window, &read.series, &read.traces).await?;
    let window = read.window;
    Ok(Overview {
        from_ms: window.from_s * 1000,
        to_ms: window.to_s * 1000,
        step_ms: window.step_s * 1000,
        slowest,
        failed,
        ..board
    })
}

/// What a board reads: its window, the series matching its scope and their cells.
///
/// A read costs per row it returns (it seeks the wanted series' ranges: SQLite keys cells
/// series first, PostgreSQL has an index so), and most for a row whose sketch it decodes; so
/// each figure reads the fewest rows that give it. Only the trace series need their sketches per chart step
/// (the latency chart, the heatmap). Span series need theirs
/// for window totals alone (breakdown, models), read from the coarsest cells the window
/// holds — quarter-day cells inside it, finer ones at its edges. Per-step sums (the cost
/// chart, the cache-hit rate) are added up by the database into one row per step.
pub struct BoardCells {
    window: Window,
    series: HashMap<i64, SeriesKey>,
    /// Trace series, whole, at the chart's resolution.
    traces: Vec<StoredCell>,
    /// Span series, whole, at the coarsest resolution: for window totals only.
    span_totals: Vec<StoredCell>,
    /// Span series summed per bucket at the chart's resolution: cost per step and the
    /// token and cost totals.
    span_steps: Vec<StoredCell>,
    /// When `traces` has the wildcard trace series (an unscoped or untagged scope), the
    /// tagged trace series summed per bucket, those whose cache tag is true and those whose
    /// cache tag is false, for the cache-hit rate; else empty.
    cache_hits: Vec<StoredCell>,
    cache_misses: Vec<StoredCell>,
}

/// The one read behind a board: checks the window and scope, picks the series, reads their
/// cells.
async fn read_cells(
    backend: &Arc<dyn Backend>,
    cfg: &RollupConfig,
    query: OverviewQuery,
    scope_expr: Option<Expr>,
) -> Result<BoardCells, AppError> {
    let span = query.to_ms - query.from_ms;
    if span <= 0 || span > MAX_WINDOW_MS {
        return Err(AppError::Invalid {
            field: "window".into(),
            message: format!(
                "the window must end after it starts and span at most 90 days (got {} ms)",
                span
            ),
        });
    }
    let scope = Scope::compile(scope_expr.as_ref(), &cfg.dimension_keys()).map_err(invalid)?;
    let window = Window::plan(query.from_ms, query.to_ms);

    let series = backend.rollup_series().await.map_err(super::app_error)?;
    // The wildcard series unless the scope needs tags: one trace series per service and
    // name instead of one per tag combination. The cache-hit rate still needs the cache
    // tag's values: the tagged trace series' counts, summed per bucket for hits and misses.
    let mut traces: HashMap<i64, SeriesKey> = HashMap::new();
    let mut spans: HashMap<i64, SeriesKey> = HashMap::new();
    let (mut hits, mut misses) = (HashMap::new(), HashMap::new());
    for (id, key) in series {
        if scope.matches(&key) {
            match key.level {
                Level::Trace => traces.insert(id, key),
                Level::Span => spans.insert(id, key),
            };
        } else if key.level == Level::Trace && !scope.uses_tags() && scope.matches_dims(&key) {
            match key
                .tag_map()
                .get(&cfg.cache_hit_key)
                .map(|v| rollup::truthy(v))
            {
                Some(true) => hits.insert(id, key),
                Some(false) => misses.insert(id, key),
                None => None,
            };
        }
    }
    let (from, to, res) = (window.from_s, window.to_s, window.resolution);
    let b = &**backend;
    let (traces_cells, span_totals, span_steps, cache_hits, cache_misses) =
        futures::future::try_join5(
            rollup::read::cells(b, &traces, from, to, res, CellPart::Whole),
            rollup::read::cells(b, &spans, from, to, rollup::COARSEST, CellPart::Whole),
            rollup::read::cells(b, &spans, from, to, res, CellPart::Summed),
            rollup::read::cells(b, &hits, from, to, res, CellPart::Summed),
            rollup::read::cells(b, &misses, from, to, res, CellPart::Summed),
        )
        .await
        .map_err(super::app_error)?;
    traces.extend(spans);
    Ok(BoardCells {
        window,
        series: traces,
        traces: traces_cells,
        span_totals,
        span_steps,
        cache_hits,
        cache_misses,
    })
}

/// One panel of the board, for the query benchmark's per-panel timings
/// (`sightline-bench --queries`). The page computes them all in one pass over the cells
/// (`Board::build`); `Query::board_panel` computes one alone: its share of that pass (only
/// the merges it needs) and its own figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Trace latency tiles (P50/P95/P99) and the latency chart's series.
    Latency,
    /// The trace latency heatmap (the same merged sketches as `Latency`).
    Heatmap,
    /// Throughput, error, cache-hit and guardrail-block rates (counts only).
    Rates,
    /// Cost per step and the token and cost totals.
    Cost,
    /// The per-span breakdown. Alone, its share-of-trace-P95 column is empty: that P95
    /// belongs to `Latency`.
    Breakdown,
    /// Checks and blocks per guardrail stage.
    Guardrails,
    /// Calls, tokens, cost and P95 per model.
    Models,
}

impl Panel {
    pub const ALL: [Panel; 7] = [
        Panel::Latency,
        Panel::Heatmap,
        Panel::Rates,
        Panel::Cost,
        Panel::Breakdown,
        Panel::Guardrails,
        Panel::Models,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Panel::Latency => "latency tiles + chart",
            Panel::Heatmap => "heatmap",
            Panel::Rates => "traffic/error/cache/guard",
            Panel::Cost => "cost + tokens",
            Panel::Breakdown => "span breakdown",
            Panel::Guardrails => "guardrail stages",
            Panel::Models => "model usage",
        }
    }

    fn folds(self) -> Folds {
        let none = Folds::default();
        match self {
            Panel::Latency | Panel::Heatmap => Folds {
                latency: true,
                ..none
            },
            Panel::Rates => Folds {
                rates: true,
                ..none
            },
            Panel::Cost => Folds { cost: true, ..none },
            Panel::Breakdown => Folds {
                breakdown: true,
                ..none
            },
            Panel::Guardrails => Folds {
                guardrails: true,
                ..none
            },
            Panel::Models => Folds {
                models: true,
                ..none
            },
        }
    }
}

impl BoardCells {
    /// Rows read whole (with their sketches), and rows of sums.
    pub fn len(&self) -> (usize, usize) {
        (
            self.traces.len() + self.span_totals.len(),
            self.span_steps.len() + self.cache_hits.len() + self.cache_misses.len(),
        )
    }
}

impl super::Query {
    /// Every panel, in the order the page shows them.
    pub fn board_panels() -> [Panel; 7] {
        Panel::ALL
    }

    /// The board's cell read alone (series list, scope match, cells), as `overview` does it.
    pub async fn board_cells(
        &self,
        query: OverviewQuery,
        scope_expr: Option<Expr>,
    ) -> Result<BoardCells, AppError> {
        read_cells(&self.backend, &self.rollups, query, scope_expr).await
    }

    /// One panel computed alone from `read`; returns how many values it produced (so the
    /// work is observable).
    pub fn board_panel(&self, read: &BoardCells, panel: Panel) -> usize {
        let (w, cfg) = (&read.window, &self.rollups);
        let f = Fold::new(cfg, read, panel.folds());
        match panel {
            Panel::Latency | Panel::Rates | Panel::Cost => {
                let totals = f.totals();
                f.series_points(w).len() + usize::from(totals.traces > 0)
            }
            Panel::Heatmap => f.heatmap(w).counts.len(),
            Panel::Breakdown => f.breakdown(None).len(),
            Panel::Guardrails => f.guardrails().len(),
            Panel::Models => f.models().len(),
        }
    }

    /// The slowest and failed exemplar lookup alone; returns the rows found.
    pub async fn board_exemplars(&self, read: &BoardCells) -> Result<usize, AppError> {
        let (slow, failed) =
            exemplars(&self.backend, &read.window, &read.series, &read.traces).await?;
        Ok(slow.len() + failed.len())
    }
}

/// Which cells a window reads and how it is cut into chart steps.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    from_s: i64,
    to_s: i64,
    step_s: i64,
    /// The coarsest cells read: minute, hour, or quarter-day cells when a chart step holds
    /// whole quarter days (windows over 22.5 days).
    resolution: i64,
}

impl Window {
    fn plan(from_ms: i64, to_ms: i64) -> Window {
        let hours = to_ms - from_ms > MINUTE_CELLS_UP_TO_MS;
        let unit = if hours { rollup::HOUR } else { rollup::MINUTE };
        let from_s = from_ms.div_euclid(1000).div_euclid(unit) * unit;
        let to_s = (to_ms.div_euclid(1000) + unit - 1).div_euclid(unit) * unit;
        let raw = ((to_s - from_s) / MAX_POINTS).max(unit);
        let step_s = [
            60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
        ]
        .into_iter()
        .find(|s| *s >= raw && s % unit == 0)
        .unwrap_or(86400);
        let resolution = if !hours {
            rollup::MINUTE
        } else if step_s % rollup::QUARTER_DAY == 0 {
            rollup::QUARTER_DAY
        } else {
            rollup::HOUR
        };
        Window {
            from_s: from_s.div_euclid(step_s) * step_s,
            to_s,
            step_s,
            resolution,
        }
    }

    fn steps(&self) -> usize {
        ((self.to_s - self.from_s + self.step_s - 1) / self.step_s).max(0) as usize
    }

    fn step_of(&self, bucket: i64) -> Option<usize> {
        (bucket >= self.from_s && bucket < self.to_s)
            .then(|| ((bucket - self.from_s) / self.step_s) as usize)
    }
}

#[derive(Default)]
struct StepAcc {
    trace: Cell,
    cache_hits: u64,
    cache_known: u64,
    cost: f64,
}

#[derive(Default)]
struct SpanAcc {
    cell: Cell,
    kinds: BTreeMap<String, i64>,
}

/// Which accumulations a fold does: all of them for the page.
#[derive(Debug, Clone, Copy, Default)]
struct Folds {
    /// Trace cells' latency sketches, per step and in total.
    latency: bool,
    /// Trace cells' counts (traces, errors, guardrail checks/blocks) and cache hits.
    rates: bool,
    /// Span cells' cost per step, token and cost totals.
    cost: bool,
    breakdown: bool,
    guardrails: bool,
    models: bool,
}

impl Folds {
    const ALL: Folds = Folds {
        latency: true,
        rates: true,
        cost: true,
        breakdown: true,
        guardrails: true,
        models: true,
    };
}

/// The window's cells merged per step and in total: what every panel reads.
struct Fold {
    steps: Vec<StepAcc>,
    total: StepAcc,
    by_span: BTreeMap<String, SpanAcc>,
    by_guard: BTreeMap<String, (u64, u64)>,
    by_model: BTreeMap<String, Cell>,
}

impl Fold {
    fn new(cfg: &RollupConfig, read: &BoardCells, folds: Folds) -> Fold {
        let (w, series) = (&read.window, &read.series);
        let mut steps: Vec<StepAcc> = (0..w.steps()).map(|_| StepAcc::default()).collect();
        let mut total = StepAcc::default();
        let mut by_span: BTreeMap<String, SpanAcc> = BTreeMap::new();
        let mut by_guard: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut by_model: BTreeMap<String, Cell> = BTreeMap::new();
        // Cells of the window: an hour cell that starts before a short window counts in
        // its first step.
        let in_window = |sc: &StoredCell| w.step_of(sc.bucket.max(w.from_s));
        // The cache-hit rate from the tagged series' sums (`BoardCells::cache_hits`).
        let cache = [(true, &read.cache_hits), (false, &read.cache_misses)];
        for (hit, sc) in cache
            .into_iter()
            .flat_map(|(hit, cells)| cells.iter().map(move |sc| (hit, sc)))
        {
            let Some(step) = in_window(sc).filter(|_| folds.rates) else {
                continue;
            };
            let n = sc.cell.count.max(0) as u64;
            for acc in [&mut steps[step], &mut total] {
                acc.cache_known += n;
                if hit {
                    acc.cache_hits += n;
                }
            }
        }
        for sc in read.traces.iter().filter(|_| folds.latency || folds.rates) {
            let (Some(key), Some(step)) = (series.get(&sc.series), in_window(sc)) else {
                continue;
            };
            let c = &sc.cell;
            let cache = key
                .tag_map()
                .get(&cfg.cache_hit_key)
                .map(|v| rollup::truthy(v));
            for acc in [&mut steps[step], &mut total] {
                match (folds.latency, folds.rates) {
                    (true, true) => acc.trace.merge(c),
                    (true, false) => acc.trace.latency.merge(&c.latency),
                    _ => {
                        acc.trace.count += c.count;
                        acc.trace.error_count += c.error_count;
                        acc.trace.blocked_count += c.blocked_count;
                        acc.trace.guarded_count += c.guarded_count;
                    }
                }
                if let (Some(hit), true) = (cache, folds.rates) {
                    acc.cache_known += c.count.max(0) as u64;
                    if hit {
                        acc.cache_hits += c.count.max(0) as u64;
                    }
                }
            }
        }
        for sc in read.span_steps.iter().filter(|_| folds.cost) {
            let Some(step) = in_window(sc) else {
                continue;
            };
            let c = &sc.cell;
            let cost = c.cost_input + c.cost_output;
            steps[step].cost += cost;
            total.cost += cost;
            // Token and cost totals come from span cells (the trace cells carry none), so
            // they share one definition with the per-model table.
            total.trace.input_tokens += c.input_tokens;
            total.trace.output_tokens += c.output_tokens;
            total.trace.cached_tokens += c.cached_tokens;
            total.trace.cost_input += c.cost_input;
            total.trace.cost_output += c.cost_output;
        }
        let span_totals = folds.breakdown || folds.guardrails || folds.models;
        for sc in read.span_totals.iter().filter(|_| span_totals) {
            let (Some(key), Some(_)) = (series.get(&sc.series), in_window(sc)) else {
                continue;
            };
            let c = &sc.cell;
            if folds.breakdown {
                let s = by_span.entry(key.span_name.clone()).or_default();
                s.cell.merge(c);
                *s.kinds.entry(key.kind.clone()).or_default() += c.count;
            }
            if folds.guardrails && key.kind == "GUARDRAIL" {
                let g = by_guard.entry(key.span_name.clone()).or_default();
                g.0 += c.count.max(0) as u64;
                g.1 += c.blocked_count.max(0) as u64;
            }
            if folds.models
                && !key.model.is_empty()
                && !matches!(key.kind.as_str(), "AGENT" | "CHAIN" | "WORKFLOW")
            {
                by_model.entry(key.model.clone()).or_default().merge(c);
            }
        }
        Fold {
            steps,
            total,
            by_span,
            by_guard,
            by_model,
        }
    }

    fn totals(&self) -> OverviewTotals {
        let t = &self.total.trace;
        OverviewTotals {
            traces: t.count.max(0) as u64,
            error_traces: t.error_count.max(0) as u64,
            p50_ms: t.latency.quantile(0.5),
            p95_ms: t.latency.quantile(0.95),
            p99_ms: t.latency.quantile(0.99),
            cache_hits: self.total.cache_hits,
            cache_known: self.total.cache_known,
            guardrail_checks: t.guarded_count.max(0) as u64,
            guardrail_blocks: t.blocked_count.max(0) as u64,
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
            cached_tokens: t.cached_tokens,
            cost_input: t.cost_input,
            cost_output: t.cost_output,
        }
    }

    fn series_points(&self, w: &Window) -> Vec<SeriesPoint> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| SeriesPoint {
                t_ms: (w.from_s + i as i64 * w.step_s) * 1000,
                traces: s.trace.count.max(0) as u64,
                error_traces: s.trace.error_count.max(0) as u64,
                p50_ms: s.trace.latency.quantile(0.5),
                p95_ms: s.trace.latency.quantile(0.95),
                p99_ms: s.trace.latency.quantile(0.99),
                cache_hits: s.cache_hits,
                cache_known: s.cache_known,
                guardrail_checks: s.trace.guarded_count.max(0) as u64,
                guardrail_blocks: s.trace.blocked_count.max(0) as u64,
                cost: s.cost,
            })
            .collect()
    }

    fn heatmap(&self, w: &Window) -> Heatmap {
        heatmap(
            w,
            &self
                .steps
                .iter()
                .map(|s| &s.trace.latency)
                .collect::<Vec<_>>(),
        )
    }

    /// The span rows, the bottleneck first; `trace_p95` gives each its share.
    fn breakdown(&self, trace_p95: Option<f64>) -> Vec<SpanBreakdown> {
        let mut breakdown: Vec<SpanBreakdown> = self
            .by_span
            .iter()
            .map(|(name, s)| {
                let p95 = s.cell.latency.quantile(0.95);
                SpanBreakdown {
                    kind: s
                        .kinds
                        .iter()
                        .max_by_key(|(_, n)| **n)
                        .map(|(k, _)| k.clone())
                        .unwrap_or_default(),
                    name: name.clone(),
                    count: s.cell.count.max(0) as u64,
                    error_count: s.cell.error_count.max(0) as u64,
                    p50_ms: s.cell.latency.quantile(0.5),
                    p95_ms: p95,
                    share_of_trace_p95: match (p95, trace_p95) {
                        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                        _ => None,
                    },
                }
            })
            .collect();
        // The bottleneck first: the slowest span that does work itself. Spans that only
        // wrap others (agent, chain, workflow kinds, and anything at ~100% of the trace, the
        // root) are as slow as what they wrap by construction: below the rest.
        breakdown.sort_by(|a, b| {
            let wraps = |s: &SpanBreakdown| {
                matches!(s.kind.as_str(), "AGENT" | "CHAIN" | "WORKFLOW")
                    || s.share_of_trace_p95.is_some_and(|x| x >= 0.9)
            };
            wraps(a)
                .cmp(&wraps(b))
                .then(b.p95_ms.unwrap_or(0.0).total_cmp(&a.p95_ms.unwrap_or(0.0)))
        });

        // The table is for finding the bottleneck, not an inventory.
        breakdown.truncate(MAX_BREAKDOWN_ROWS);
        breakdown
    }

    fn models(&self) -> Vec<ModelUsage> {
        let mut models: Vec<ModelUsage> = self
            .by_model
            .iter()
            .map(|(model, c)| ModelUsage {
                model: model.clone(),
                calls: c.count.max(0) as u64,
                input_tokens: c.input_tokens,
                output_tokens: c.output_tokens,
                cached_tokens: c.cached_tokens,
                cost_input: c.cost_input,
                cost_output: c.cost_output,
                p95_ms: c.latency.quantile(0.95),
            })
            .collect();
        models.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.model.cmp(&b.model)));
        models
    }

    fn guardrails(&self) -> Vec<GuardrailStat> {
        self.by_guard
            .iter()
            .map(|(name, (checks, blocks))| GuardrailStat {
                name: name.clone(),
                checks: *checks,
                blocks: *blocks,
            })
            .collect()
    }
}

struct Board;

impl Board {
    fn build(cfg: &RollupConfig, read: &BoardCells) -> Overview {
        let w = &read.window;
        let f = Fold::new(cfg, read, Folds::ALL);
        let totals = f.totals();
        Overview {
            breakdown: f.breakdown(totals.p95_ms),
            totals,
            series: f.series_points(w),
            heatmap: f.heatmap(w),
            guardrails: f.guardrails(),
            models: f.models(),
            ..Default::default()
        }
    }
}

/// Columns of the trace latency histogram, trimmed to the buckets that hold anything.
fn heatmap(w: &Window, columns: &[&Latency]) -> Heatmap {
    let used: Vec<usize> = (0..BUCKETS)
        .filter(|k| columns.iter().any(|c| c.histogram()[*k] > 0))
        .collect();
    let (Some(&lo), Some(&hi)) = (used.first(), used.last()) else {
        return Heatmap::default();
    };
    Heatmap {
        bounds_ms: (lo..=hi).map(bucket_lower_ms).collect(),
        t_ms: (0..columns.len())
            .map(|i| (w.from_s + i as i64 * w.step_s) * 1000)
            .collect(),
        counts: columns
            .iter()
            .map(|c| c.histogram()[lo..=hi].to_vec())
            .collect(),
    }
}

/// The slowest and the latest failed traces of the window, from the trace cells'
/// exemplars (no scan of the trace table), as list rows: one lookup by trace id.
async fn exemplars(
    backend: &Arc<dyn Backend>,
    w: &Window,
    series: &HashMap<i64, SeriesKey>,
    cells: &[StoredCell],
) -> Result<(Vec<app::types::TraceSummary>, Vec<app::types::TraceSummary>), AppError> {
    let in_window = |e: &&rollup::exemplar::Exemplar| {
        e.start_ms >= w.from_s * 1000 && e.start_ms < w.to_s * 1000
    };
    let mut slow = Vec::new();
    let mut failed = Vec::new();
    for sc in cells {
        if series
            .get(&sc.series)
            .is_some_and(|k| k.level == Level::Trace)
        {
            slow.extend(sc.cell.exemplars.slowest.iter().filter(in_window).copied());
            failed.extend(sc.cell.exemplars.failed.iter().filter(in_window).copied());
        }
    }
    slow.sort_by(|a, b| b.latency_ms.total_cmp(&a.latency_ms));
    slow.dedup_by_key(|e| e.trace_id);
    slow.truncate(EXEMPLARS as usize);
    failed.sort_by_key(|e| std::cmp::Reverse(e.start_ms));
    failed.dedup_by_key(|e| e.trace_id);
    failed.truncate(EXEMPLARS as usize);
    let ids: Vec<Value> = slow
        .iter()
        .chain(failed.iter())
        .map(|e| Value::Str(hex::encode(e.trace_id)))
        .collect();
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let by_id = Expr::Cmp(Comparison {
        field: Field::Trace(TraceField::TraceId),
        op: Op::In,
        value: Value::List(ids),
    });
    let query = TraceListQuery {
        limit: EXEMPLARS * 2,
        ..TraceListQuery::default()
    };
    let found: HashMap<String, app::types::TraceSummary> =
        super::search::search_traces(backend, query, Some(by_id))
            .await?
            .traces
            .into_iter()
            .map(|t| (t.trace_id.clone(), t))
            .collect();
    let pick = |list: &[rollup::exemplar::Exemplar]| {
        list.iter()
            .filter_map(|e| found.get(&hex::encode(e.trace_id)).cloned())
            .collect::<Vec<_>>()
    };
    Ok((pick(&slow), pick(&failed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_windows_read_minutes_and_long_ones_coarser_cells_with_bounded_points() {
        let h = 3_600_000;
        let w = Window::plan(10 * h + 17 * 60_000, 11 * h + 17 * 60_000);
        assert_eq!(w.resolution, rollup::MINUTE);
        assert_eq!((w.step_s, w.steps()), (60, 60));
        let w = Window::plan(0, 24 * h);
        assert_eq!(w.resolution, rollup::HOUR);
        assert_eq!(w.step_s, 3600);
        // 30 days in 6-hour steps: each step is one quarter-day cell per series, and the
        // window starts on a quarter-day boundary.
        let w = Window::plan(5 * h, 5 * h + 30 * 24 * h);
        assert_eq!((w.resolution, w.step_s), (rollup::QUARTER_DAY, 21_600));
        assert_eq!(w.from_s % 21_600, 0);
        assert!(w.steps() as i64 <= MAX_POINTS);
        let w = Window::plan(0, 7 * 24 * h);
        assert_eq!(w.resolution, rollup::HOUR);
        assert!(w.steps() as i64 <= MAX_POINTS);
        assert_eq!(w.step_of(-1), None);
        assert_eq!(w.step_of(0), Some(0));
    }

    /// The per-panel folds the query benchmark times compute exactly the page's figures.
    #[test]
    fn each_panel_alone_gives_the_page_figures() {
        let key = |level, span: &str, kind: &str, model: &str, tags: &str| SeriesKey {
            level,
            service: "svc".into(),
            trace_name: "chat".into(),
            span_name: span.into(),
            kind: kind.into(),
            model: model.into(),
            tags: tags.into(),
        };
        let series: HashMap<i64, SeriesKey> = [
            (1, key(Level::Trace, "", "", "", r#"{"cache_hit":"true"}"#)),
            (2, key(Level::Trace, "", "", "", r#"{"cache_hit":"false"}"#)),
            (3, key(Level::Span, "llm", "LLM", "gpt", rollup::ANY_TAGS)),
            (
                4,
                key(Level::Span, "pii", "GUARDRAIL", "", rollup::ANY_TAGS),
            ),
            (
                5,
                key(Level::Span, "agent", "AGENT", "gpt", rollup::ANY_TAGS),
            ),
        ]
        .into();
        let mut cells = Vec::new();
        for minute in 0..30i64 {
            for id in 1..=5i64 {
                // Trace cells carry no tokens or cost (the writer puts them on span cells).
                let span = i64::from(id >= 3);
                let mut c = Cell {
                    count: 3 + id + minute % 4,
                    error_count: minute % 3,
                    blocked_count: i64::from(id == 4 || (id < 3 && minute % 5 == 0)),
                    guarded_count: i64::from(id < 3),
                    input_tokens: 10 * id * span,
                    output_tokens: id * span,
                    cached_tokens: minute % 2 * span,
                    cost_input: 0.01 * (id * span) as f64,
                    cost_output: 0.002 * (minute * span) as f64,
                    ..Cell::default()
                };
                for k in 0..c.count {
                    c.latency.add((10 + 7 * k + 13 * minute + 100 * id) as f64);
                }
                cells.push(StoredCell {
                    bucket: minute * 60,
                    series: id,
                    cell: c,
                });
            }
        }
        let w = Window::plan(0, 3_600_000);
        let cfg = RollupConfig::default();

        // The same traffic as an unscoped board reads it: the wildcard trace series (the
        // two tagged ones merged) whole, and the tagged ones' counts for the cache-hit rate.
        let mut wildcard_series = series.clone();
        wildcard_series.insert(6, key(Level::Trace, "", "", "", rollup::ANY_TAGS));
        let mut wildcard_cells: Vec<StoredCell> = Vec::new();
        let mut tagged = Vec::new();
        for sc in &cells {
            if sc.series > 2 {
                wildcard_cells.push(sc.clone());
                continue;
            }
            tagged.push(sc.clone());
            match wildcard_cells
                .iter_mut()
                .find(|c| c.series == 6 && c.bucket == sc.bucket)
            {
                Some(c) => c.cell.merge(&sc.cell),
                None => wildcard_cells.push(StoredCell {
                    series: 6,
                    ..sc.clone()
                }),
            }
        }
        // What the store's `CellPart::Summed` returns: one cell of sums per bucket.
        let summed = |cells: &mut dyn Iterator<Item = &StoredCell>| {
            let mut by_bucket: BTreeMap<i64, Cell> = BTreeMap::new();
            for sc in cells {
                by_bucket.entry(sc.bucket).or_default().merge(&sc.cell);
            }
            let sums = |(bucket, c): (i64, Cell)| StoredCell {
                bucket,
                series: 0,
                cell: Cell {
                    latency: Default::default(),
                    exemplars: Default::default(),
                    ..c
                },
            };
            by_bucket.into_iter().map(sums).collect::<Vec<_>>()
        };
        let hit = |sc: &&StoredCell| {
            let tags = series[&sc.series].tag_map();
            rollup::truthy(&tags[&cfg.cache_hit_key])
        };
        let cache_hits = summed(&mut tagged.iter().filter(hit));
        let cache_misses = summed(&mut tagged.iter().filter(|sc| !hit(sc)));
        assert!(!cache_hits.is_empty() && !cache_misses.is_empty());
        // Span cells feed totals whole (here the same minute cells; the store reads them
        // coarser) and steps summed per bucket.
        let split = |cells: Vec<StoredCell>, series: HashMap<i64, SeriesKey>, cache| {
            let (spans, traces): (Vec<_>, Vec<_>) = cells
                .into_iter()
                .partition(|c| series[&c.series].level == Level::Span);
            let (cache_hits, cache_misses) = cache;
            BoardCells {
                window: w.clone(),
                series,
                traces,
                span_steps: summed(&mut spans.iter()),
                span_totals: spans,
                cache_hits,
                cache_misses,
            }
        };
        let wildcard = split(wildcard_cells, wildcard_series, (cache_hits, cache_misses));
        let read = split(cells, series.clone(), (Vec::new(), Vec::new()));
        let page = Board::build(&cfg, &read);
        assert!(page.totals.traces > 0 && page.totals.cache_hits > 0);
        assert!(!page.guardrails.is_empty() && !page.models.is_empty());
        assert_eq!(Board::build(&cfg, &wildcard), page);
        let alone = |p: Panel| Fold::new(&cfg, &read, p.folds());

        let (f, t) = (alone(Panel::Latency), &page.totals);
        let ft = f.totals();
        assert_eq!(
            (ft.p50_ms, ft.p95_ms, ft.p99_ms),
            (t.p50_ms, t.p95_ms, t.p99_ms)
        );
        let quantiles = |s: &[SeriesPoint]| {
            s.iter()
                .map(|p| (p.p50_ms, p.p95_ms, p.p99_ms))
                .collect::<Vec<_>>()
        };
        assert_eq!(quantiles(&f.series_points(&w)), quantiles(&page.series));
        assert_eq!(alone(Panel::Heatmap).heatmap(&w), page.heatmap);

        let ft = alone(Panel::Rates).totals();
        assert_eq!(
            (ft.traces, ft.error_traces, ft.cache_hits, ft.cache_known),
            (t.traces, t.error_traces, t.cache_hits, t.cache_known)
        );
        assert_eq!(
            (ft.guardrail_checks, ft.guardrail_blocks),
            (t.guardrail_checks, t.guardrail_blocks)
        );
        let counts = |s: &[SeriesPoint]| {
            s.iter()
                .map(|p| {
                    let rates = (p.traces, p.error_traces, p.cache_hits, p.cache_known);
                    (rates, p.guardrail_checks, p.guardrail_blocks)
                })
                .collect::<Vec<_>>()
        };
        let f = alone(Panel::Rates);
        assert_eq!(counts(&f.series_points(&w)), counts(&page.series));

        let f = alone(Panel::Cost);
        let ft = f.totals();
        assert_eq!(
            (ft.input_tokens, ft.output_tokens, ft.cached_tokens),
            (t.input_tokens, t.output_tokens, t.cached_tokens)
        );
        assert_eq!(
            (ft.cost_input, ft.cost_output),
            (t.cost_input, t.cost_output)
        );
        let costs = |s: &[SeriesPoint]| s.iter().map(|p| p.cost).collect::<Vec<_>>();
        assert_eq!(costs(&f.series_points(&w)), costs(&page.series));

        assert_eq!(alone(Panel::Breakdown).breakdown(t.p95_ms), page.breakdown);
        assert_eq!(alone(Panel::Guardrails).guardrails(), page.guardrails);
        assert_eq!(alone(Panel::Models).models(), page.models);
    }
}
