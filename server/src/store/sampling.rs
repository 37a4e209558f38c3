//! Tail sampling of payloads: once a trace's root has arrived (its outcome is known), keep the
//! inputs, outputs, attributes and events of every error trace, of every trace slower than a
//! threshold, and of a fixed share of the rest; drop the others' payloads. The span rows
//! themselves (tree, names, kinds, timings, status, model, tokens, cost) stay, and the rollups
//! were built from them before: dashboards and alerts still count 100% of traffic.
//!
//! The share is decided by a hash of the trace id, so every replica and every piece of a
//! trace agrees without shared state. Spans of a dropped trace that arrive later are stored
//! without payload too, unless they turn the trace into an error trace.

use std::collections::{HashMap, HashSet};

use crate::model::TraceId;

use super::{merge, PreparedBatch, TraceRecord};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PayloadSampling {
    /// Share of ordinary traces (neither error nor slow) whose payloads are kept, 0..=1.
    pub keep_ratio: f64,
    /// Traces at least this long (root duration) keep their payloads.
    pub slow_ns: i64,
}

impl Default for PayloadSampling {
    fn default() -> Self {
        PayloadSampling {
            keep_ratio: 1.0,
            slow_ns: 5_000_000_000,
        }
    }
}

/// A trace id as a fraction in [0, 1). Ids are random by spec, but a client may send
/// sequential ones: mix the bits (splitmix64's finaliser) so the share holds anyway.
fn fraction(id: &TraceId) -> f64 {
    let (a, b) = id.split_at(8);
    let mut x = u64::from_be_bytes(a.try_into().expect("8 bytes"))
        ^ u64::from_be_bytes(b.try_into().expect("8 bytes"));
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl PayloadSampling {
    pub fn keeps_all(&self) -> bool {
        self.keep_ratio >= 1.0
    }

    /// Whether a trace whose root has arrived keeps its payloads.
    pub fn keeps(&self, r: &TraceRecord) -> bool {
        crate::rollup::is_error(r)
            || r.duration_ns().is_some_and(|d| d >= self.slow_ns)
            || fraction(&r.trace_id) < self.keep_ratio
    }

    /// The traces of `batch` whose spans are stored without payload: those whose root arrives
    /// now and that [`keeps`](Self::keeps) refuses, and later pieces of traces dropped before
    /// (unless the piece makes the trace an error trace). `existing` holds the stored rows of
    /// the batch's traces.
    pub fn dropped(
        &self,
        existing: &HashMap<TraceId, TraceRecord>,
        batch: &PreparedBatch,
    ) -> HashSet<TraceId> {
        if self.keeps_all() {
            return HashSet::new();
        }
        // The trace rows as they will be once this batch is merged. Re-sent spans count
        // twice here, which changes counts but neither the error state nor the duration.
        let all = batch
            .spans
            .iter()
            .map(|s| (s.trace_id, s.span_id))
            .collect();
        merge::merge_batch(existing.clone(), batch, &all)
            .into_iter()
            .filter(|after| {
                let before = existing.get(&after.trace_id);
                if before.is_some_and(|b| b.payload_dropped) {
                    return !crate::rollup::is_error(after)
                        || before.is_some_and(crate::rollup::is_error);
                }
                let root_now =
                    after.root_span_id.is_some() && before.is_none_or(|b| b.root_span_id.is_none());
                root_now && !self.keeps(after)
            })
            .map(|r| r.trace_id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SpanRow;

    fn id(n: u32) -> TraceId {
        let mut t = [0u8; 16];
        t[12..].copy_from_slice(&n.to_be_bytes());
        t
    }

    #[test]
    fn the_share_holds_even_for_sequential_ids() {
        let kept = (0..10_000).filter(|n| fraction(&id(*n)) < 0.2).count();
        assert!((1_800..2_200).contains(&kept), "{kept}");
    }

    #[test]
    fn errors_and_slow_traces_keep_payloads_the_rest_by_share() {
        let s = PayloadSampling {
            keep_ratio: 0.0,
            slow_ns: 1_000,
        };
        let batch = |t: TraceId, end: i64, error: bool| {
            let mut root = SpanRow::bare(t, 1, None, "root", 0, end);
            if error {
                root.status = crate::model::StatusCode::Error;
            }
            PreparedBatch {
                spans: vec![root],
                ..Default::default()
            }
        };
        let none = HashMap::new();
        assert_eq!(s.dropped(&none, &batch(id(1), 10, false)), [id(1)].into());
        assert!(s.dropped(&none, &batch(id(1), 10, true)).is_empty());
        assert!(s.dropped(&none, &batch(id(1), 1_000, false)).is_empty());
        let all = PayloadSampling {
            keep_ratio: 1.0,
            ..s
        };
        assert!(all.dropped(&none, &batch(id(1), 10, false)).is_empty());

        // A child after its trace was dropped is dropped too, unless it is an error.
        let mut dropped = TraceRecord::new(id(2), 0);
        dropped.payload_dropped = true;
        dropped.root_span_id = Some([1; 8]);
        let existing = HashMap::from([(id(2), dropped)]);
        let child = |error: bool| {
            let mut c = SpanRow::bare(id(2), 3, Some(1), "late", 0, 5);
            if error {
                c.status = crate::model::StatusCode::Error;
            }
            PreparedBatch {
                spans: vec![c],
                ..Default::default()
            }
        };
        assert_eq!(s.dropped(&existing, &child(false)), [id(2)].into());
        assert!(s.dropped(&existing, &child(true)).is_empty());
    }
}
