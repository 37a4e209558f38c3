//! Retention: how long each kind of data is kept (`--retain-payloads`, `--retain-spans`,
//! `--retain-rollups`), the scheduled run that deletes what is older, and what the settings
//! page shows about it (sizes, what the next run deletes, what the last one did).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::alerts::rule::Span;
use crate::store::retention::{Cutoffs, RetentionStore, Sizes, Sweep};

/// How often retention runs. Each run is bounded, so a backlog (a policy newly set on a big
/// database) is worked off over a few runs while ingest keeps its turn at the writer.
pub const EVERY: Duration = Duration::from_secs(15 * 60);
/// Traces (or rollup cells) per transaction, and transactions per kind per run.
const BATCH: i64 = 500;
const MAX_BATCHES: usize = 400;

/// Ages past which data goes; `None` keeps it forever (the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub payloads: Option<Span>,
    pub spans: Option<Span>,
    pub rollups: Option<Span>,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }

    pub fn cutoffs(&self, now_ms: i64) -> Cutoffs {
        let before_ms = |age: Option<Span>| age.map(|a| now_ms - a.0);
        Cutoffs {
            payload_ns: before_ms(self.payloads).map(|ms| ms * 1_000_000),
            trace_ns: before_ms(self.spans).map(|ms| ms * 1_000_000),
            rollup_s: before_ms(self.rollups).map(|ms| ms.div_euclid(1000)),
        }
    }
}

/// A finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastRun {
    pub at_ms: i64,
    pub took_ms: i64,
    pub deleted: Sweep,
}

/// The retention job and what it knows, shared by the scheduler and the settings page.
pub struct Retention {
    store: Arc<dyn RetentionStore>,
    pub policy: Policy,
    started_ms: i64,
    last: Mutex<Option<LastRun>>,
}

impl Retention {
    pub fn new(store: Arc<dyn RetentionStore>, policy: Policy, now_ms: i64) -> Retention {
        Retention {
            store,
            policy,
            started_ms: now_ms,
            last: Mutex::new(None),
        }
    }

    /// One run: deletes what is past the policy at `now_ms`.
    pub async fn run(&self, now_ms: i64) -> crate::store::Result<Sweep> {
        if self.policy.is_empty() {
            return Ok(Sweep::default());
        }
        let t0 = std::time::Instant::now();
        let deleted = self
            .store
            .sweep(&self.policy.cutoffs(now_ms), BATCH, MAX_BATCHES)
            .await?;
        let took_ms = t0.elapsed().as_millis() as i64;
        if !deleted.is_empty() {
            tracing::info!(?deleted, took_ms, "Retention run deleted old data.");
        }
        *self.last.lock().expect("retention state") = Some(LastRun {
            at_ms: now_ms,
            took_ms,
            deleted,
        });
        Ok(deleted)
    }

    pub fn last(&self) -> Option<LastRun> {
        *self.last.lock().expect("retention state")
    }

    /// When the scheduler runs next (it runs every [`EVERY`] from start).
    pub fn next_run_ms(&self, now_ms: i64) -> i64 {
        let every = EVERY.as_millis() as i64;
        let runs = (now_ms - self.started_ms).div_euclid(every) + 1;
        self.started_ms + runs * every
    }

    pub async fn sizes(&self) -> crate::store::Result<Sizes> {
        self.store.sizes().await
    }

    /// What the next run would delete, were it now.
    pub async fn preview(&self, now_ms: i64) -> crate::store::Result<Sweep> {
        if self.policy.is_empty() {
            return Ok(Sweep::default());
        }
        self.store.preview(&self.policy.cutoffs(now_ms)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_follow_the_policy() {
        let day = 86_400_000;
        let p = Policy {
            payloads: Some(Span(7 * day)),
            spans: Some(Span(30 * day)),
            rollups: None,
        };
        let now = 100 * day;
        let c = p.cutoffs(now);
        assert_eq!(c.payload_ns, Some(93 * day * 1_000_000));
        assert_eq!(c.trace_ns, Some(70 * day * 1_000_000));
        assert_eq!(c.rollup_s, None);
        assert!(Policy::default().is_empty());
    }
}
