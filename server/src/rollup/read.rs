//! Reading a window's cells — the one place that knows which resolution holds what. Used by
//! the board, alert rules and anything else that aggregates rollups.

use std::collections::HashMap;

use super::{Level, SeriesKey, StoredCell, HOUR, MINUTE};
use crate::store::{Backend, Result};

/// The cells of `series` with buckets in `[from_s, to_s)`:
/// - trace series and wildcard span series: minute cells, or with `hours`, hour cells up to
///   the compaction watermark and minute cells after it (so the last hour is included);
/// - tagged span series, which only have hour cells: the hours overlapping the window.
pub async fn cells(
    backend: &dyn Backend,
    series: &HashMap<i64, SeriesKey>,
    from_s: i64,
    to_s: i64,
    hours: bool,
) -> Result<Vec<StoredCell>> {
    let (mut hourly, mut ids) = (Vec::new(), Vec::new());
    for (id, k) in series {
        if k.level == Level::Span && !k.is_wildcard() {
            hourly.push(*id);
        } else {
            ids.push(*id);
        }
    }
    let mut out = Vec::new();
    if !ids.is_empty() {
        if hours {
            let split = backend.rollup_compacted_until().await?.clamp(from_s, to_s);
            out = backend
                .rollup_cells(HOUR, from_s, split, Some(&ids))
                .await?;
            out.extend(
                backend
                    .rollup_cells(MINUTE, split, to_s, Some(&ids))
                    .await?,
            );
        } else {
            out = backend
                .rollup_cells(MINUTE, from_s, to_s, Some(&ids))
                .await?;
        }
    }
    if !hourly.is_empty() {
        let from = from_s.div_euclid(HOUR) * HOUR;
        out.extend(
            backend
                .rollup_cells(HOUR, from, to_s, Some(&hourly))
                .await?,
        );
    }
    Ok(out)
}
