//! The price table in force for ingest, replaceable while the server runs: the prices page
//! swaps in a new [`PriceTable`] after an edit and the next ingest batch prices with it, no
//! restart. Holds no I/O: whoever edits the stored table builds the new one and calls
//! [`LivePrices::replace`].

use std::sync::{Arc, RwLock};

use super::PriceTable;

/// A shared, swappable handle to the current [`PriceTable`]. Clones share one table.
///
/// Readers take one `Arc` clone under a read lock per batch ([`LivePrices::current`]) and
/// price every span of the batch from that snapshot, so the hot path never holds the lock
/// while normalising and an edit never changes prices halfway through a batch.
#[derive(Debug, Clone, Default)]
pub struct LivePrices {
    table: Arc<RwLock<Arc<PriceTable>>>,
}

impl LivePrices {
    pub fn new(table: PriceTable) -> LivePrices {
        LivePrices {
            table: Arc::new(RwLock::new(Arc::new(table))),
        }
    }

    /// The table in force now: a snapshot that later edits do not change.
    pub fn current(&self) -> Arc<PriceTable> {
        // A poisoned lock only means a writer panicked between two whole-table swaps; the
        // `Arc` inside is always a complete table, so keep serving it.
        match self.table.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Makes `table` the one every later [`LivePrices::current`] returns. Spans already
    /// priced keep their cost: stored spans are never repriced.
    pub fn replace(&self, table: PriceTable) {
        let table = Arc::new(table);
        match self.table.write() {
            Ok(mut t) => *t = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelPrice;

    fn table(input: f64) -> PriceTable {
        PriceTable::new(vec![ModelPrice {
            model: "m".into(),
            provider: None,
            input_per_mtok: input,
            output_per_mtok: 0.0,
            cached_input_per_mtok: None,
            effective_from_ms: 0,
        }])
    }

    fn rate(t: &PriceTable) -> Option<f64> {
        t.lookup("m", None, 1).map(|p| p.input_per_mtok)
    }

    #[test]
    fn replace_is_seen_by_every_clone_but_not_by_taken_snapshots() {
        let live = LivePrices::new(table(1.0));
        let ingest_side = live.clone();
        let snapshot = ingest_side.current();
        live.replace(table(2.0));
        assert_eq!(rate(&ingest_side.current()), Some(2.0));
        assert_eq!(
            rate(&snapshot),
            Some(1.0),
            "a batch in flight keeps its prices"
        );
    }
}
