//! Reading a window's cells — the one place that knows which resolution holds what. Used by
//! the board, alert rules and anything else that aggregates rollups.

use std::collections::HashMap;

use super::{CellPart, Level, SeriesKey, StoredCell, HOUR, MINUTE, QUARTER_DAY};
use crate::store::{Backend, Result};

/// The cells of `series` with buckets in `[from_s, to_s)`, each period read at the coarsest
/// resolution up to `coarsest` that has it:
/// - trace series and wildcard span series are written as minute cells; below a compaction
///   watermark they also have hour (and quarter-day) cells. A window reads coarse cells for
///   the whole periods below the watermark and finer ones around them, so the edges and the
///   last hour are exact;
/// - tagged span series are written as hour cells: the hours overlapping the window, and
///   quarter days below their watermark.
///
/// `part`: whole cells, or only their counts.
pub async fn cells(
    backend: &dyn Backend,
    series: &HashMap<i64, SeriesKey>,
    from_s: i64,
    to_s: i64,
    coarsest: i64,
    part: CellPart,
) -> Result<Vec<StoredCell>> {
    let (mut hourly, mut ids) = (Vec::new(), Vec::new());
    for (id, k) in series {
        if k.level == Level::Span && !k.is_wildcard() {
            hourly.push(*id);
        } else {
            ids.push(*id);
        }
    }
    let mut hours_until = 0;
    let mut quarters_until = 0;
    if coarsest >= HOUR && !ids.is_empty() {
        hours_until = backend.rollup_compacted_until(HOUR).await?;
    }
    if coarsest >= QUARTER_DAY {
        quarters_until = backend.rollup_compacted_until(QUARTER_DAY).await?;
    }
    let mut reads = Vec::new();
    if !ids.is_empty() {
        let tiers = [
            (MINUTE, i64::MAX),
            (HOUR, hours_until),
            (QUARTER_DAY, quarters_until),
        ];
        let tiers: Vec<_> = tiers.into_iter().filter(|t| t.0 <= coarsest).collect();
        reads.extend(
            plan(from_s, to_s, &tiers)
                .into_iter()
                .map(|r| (r, ids.as_slice())),
        );
    }
    if !hourly.is_empty() {
        let from = from_s.div_euclid(HOUR) * HOUR;
        let tiers = [(HOUR, i64::MAX), (QUARTER_DAY, quarters_until)];
        let tiers: Vec<_> = tiers
            .into_iter()
            .filter(|t| t.0 <= coarsest.max(HOUR))
            .collect();
        reads.extend(
            plan(from, to_s, &tiers)
                .into_iter()
                .map(|r| (r, hourly.as_slice())),
        );
    }
    let mut out = Vec::new();
    for (r, ids) in reads {
        out.extend(
            backend
                .rollup_cells(r.resolution, r.from, r.to, Some(ids), part)
                .await?,
        );
    }
    Ok(out)
}

/// One read: cells at `resolution` with `from <= bucket < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    resolution: i64,
    from: i64,
    to: i64,
}

/// Cuts `[from, to)` into reads: the coarsest tier (last of `tiers`, finest first, each with
/// the watermark below which it is complete) for the whole periods it holds, the finer
/// tiers for the rest. The finest tier reads whatever is left.
fn plan(from: i64, to: i64, tiers: &[(i64, i64)]) -> Vec<Range> {
    let Some((&(resolution, until), finer)) = tiers.split_last() else {
        return Vec::new();
    };
    if from >= to {
        return Vec::new();
    }
    if finer.is_empty() {
        return vec![Range {
            resolution,
            from,
            to,
        }];
    }
    let lo = (from + resolution - 1).div_euclid(resolution) * resolution;
    let hi = to.min(until).div_euclid(resolution) * resolution;
    if lo >= hi {
        return plan(from, to, finer);
    }
    let mut out = plan(from, lo, finer);
    out.push(Range {
        resolution,
        from: lo,
        to: hi,
    });
    out.extend(plan(hi, to, finer));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(resolution: i64, from: i64, to: i64) -> Range {
        Range {
            resolution,
            from,
            to,
        }
    }

    const D: i64 = 4 * QUARTER_DAY;

    #[test]
    fn coarse_cells_for_whole_periods_below_the_watermark() {
        let tiers = [(MINUTE, i64::MAX), (HOUR, D + 5 * HOUR), (QUARTER_DAY, D)];
        // 30 minutes into day 0 .. 20 minutes into hour 7 of day 1.
        let got = plan(1800, D + 7 * HOUR + 1200, &tiers);
        assert_eq!(
            got,
            vec![
                r(MINUTE, 1800, HOUR),
                r(HOUR, HOUR, QUARTER_DAY),
                r(QUARTER_DAY, QUARTER_DAY, D),
                r(HOUR, D, D + 5 * HOUR),
                r(MINUTE, D + 5 * HOUR, D + 7 * HOUR + 1200),
            ]
        );
    }

    #[test]
    fn nothing_compacted_reads_minutes() {
        let tiers = [(MINUTE, i64::MAX), (HOUR, 0), (QUARTER_DAY, 0)];
        assert_eq!(plan(60, 7200, &tiers), vec![r(MINUTE, 60, 7200)]);
        assert_eq!(plan(7200, 7200, &tiers), vec![]);
    }

    #[test]
    fn a_window_shorter_than_a_period_reads_the_finer_tier() {
        let tiers = [(HOUR, i64::MAX), (QUARTER_DAY, 10 * D)];
        assert_eq!(plan(HOUR, 4 * HOUR, &tiers), vec![r(HOUR, HOUR, 4 * HOUR)]);
        // Hourly series: whole quarter days in the middle, hours at the edges.
        assert_eq!(
            plan(5 * HOUR, 13 * HOUR, &tiers),
            vec![
                r(HOUR, 5 * HOUR, 6 * HOUR),
                r(QUARTER_DAY, 6 * HOUR, 12 * HOUR),
                r(HOUR, 12 * HOUR, 13 * HOUR),
            ]
        );
    }
}
