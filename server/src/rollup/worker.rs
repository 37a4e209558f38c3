//! Rollup housekeeping, run every minute by the scheduler: rolls up traces whose root never
//! came, and compacts complete hours into hour rows and complete quarter days into
//! quarter-day rows, so long windows read 60x and 360x fewer cells.

use std::time::Duration;

use crate::store::Backend;

/// How long a trace may wait for its root span before it is rolled up without one. OTel
/// batch exporters flush every 5 s; a root that is 10 minutes late is not coming.
pub const ROOT_GRACE: Duration = Duration::from_secs(600);

/// Late minute data for a compacted hour still reaches its hour row (the writer adds it
/// there too); this margin only keeps the common case, data a few seconds late, cheap.
const COMPACT_AFTER: i64 = 120;

/// How often `once` runs (scheduled in `crate::schedule`).
pub const EVERY: Duration = Duration::from_secs(60);

/// One round at `now_ms`: sweep every overdue trace, then compact up to a day of hours and
/// a day of quarter days.
pub async fn once(backend: &dyn Backend, now_ms: i64) -> crate::store::Result<()> {
    let older_than_ns = (now_ms - ROOT_GRACE.as_millis() as i64).saturating_mul(1_000_000);
    loop {
        let n = backend.sweep_rollups(older_than_ns, 500).await?;
        if n > 0 {
            tracing::info!(
                traces = n,
                "Rolled up traces whose root span never arrived."
            );
        }
        if n < 500 {
            break;
        }
    }
    let hours = backend
        .compact_rollups(now_ms / 1000 - COMPACT_AFTER, 24)
        .await?;
    if hours > 0 {
        tracing::debug!(hours, "Compacted rollups into hour rows.");
    }
    Ok(())
}
