//! The latency of one rollup cell: a DDSketch (percentiles within 1% relative error, mergeable)
//! and a fixed log-scale histogram (the heatmap's cells and Prometheus `le` buckets, which a
//! sketch cannot give exactly). Both are stored as compact bytes.

use sketches_ddsketch::{Config, DDSketch};

/// Histogram buckets: bucket 0 is `[0, 1 ms)`, bucket `k >= 1` starts at `2^((k-1)/2)` ms, so
/// consecutive bounds differ by sqrt(2) and the last one (131 s) is open-ended.
pub const BUCKETS: usize = 36;

/// The sketch's relative accuracy: any percentile is within 1% of the exact value.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Lower bound (ms) of histogram bucket `k`.
pub fn bucket_lower_ms(k: usize) -> f64 {
    if k == 0 {
        0.0
    } else {
        2f64.powf((k - 1) as f64 / 2.0)
    }
}

/// The histogram bucket of a latency in ms.
pub fn bucket_of(ms: f64) -> usize {
    // NaN lands here too.
    if ms.is_nan() || ms < 1.0 {
        return 0;
    }
    // log_sqrt2(ms) = 2 * log2(ms); floor, then guard against float error at exact bounds.
    let mut k = (2.0 * ms.log2()).floor() as usize + 1;
    while k > 1 && bucket_lower_ms(k) > ms {
        k -= 1;
    }
    while k + 1 < BUCKETS && bucket_lower_ms(k + 1) <= ms {
        k += 1;
    }
    k.min(BUCKETS - 1)
}

/// The crate's defaults (1% accuracy, 2,048 bins: 1 µs .. days without collapsing). They
/// must be the defaults: a decoded sketch carries only gamma and gets the default bin limit
/// and minimum back, and sketches merge only under equal configs.
fn config() -> Config {
    Config::defaults()
}

#[derive(Clone)]
pub struct Latency {
    sketch: DDSketch,
    histogram: [u64; BUCKETS],
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latency")
            .field("count", &self.count())
            .finish()
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            sketch: DDSketch::new(config()),
            histogram: [0; BUCKETS],
        }
    }
}

impl Latency {
    pub fn add(&mut self, ms: f64) {
        let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
        self.sketch.add(ms);
        self.histogram[bucket_of(ms)] += 1;
    }

    pub fn merge(&mut self, other: &Latency) {
        if self.sketch.merge(&other.sketch).is_err() {
            // Only a sketch written by another configuration gets here; losing its
            // percentiles is better than failing the board (its counts still add up).
            tracing::warn!("Rollup latency sketch with a foreign configuration skipped.");
        }
        for (a, b) in self.histogram.iter_mut().zip(other.histogram.iter()) {
            *a += b;
        }
    }

    pub fn count(&self) -> u64 {
        self.sketch.count() as u64
    }

    /// The `q` quantile (0..=1) in ms; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.sketch.quantile(q.clamp(0.0, 1.0)).ok().flatten()
    }

    pub fn histogram(&self) -> &[u64; BUCKETS] {
        &self.histogram
    }

    /// Sum of the latencies (ms), for Prometheus `_sum`.
    pub fn sum_ms(&self) -> f64 {
        self.sketch.sum().unwrap_or(0.0)
    }

    pub fn sketch_bytes(&self) -> Vec<u8> {
        self.sketch.to_java_bytes()
    }

    /// Non-empty buckets as (index, count) pairs, each a byte and an LEB128 count.
    pub fn histogram_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        for (k, &n) in self.histogram.iter().enumerate() {
            if n == 0 {
                continue;
            }
            out.push(k as u8);
            let mut v = n;
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out
    }

    /// Reads what [`Latency::sketch_bytes`] and [`Latency::histogram_bytes`] wrote. Empty
    /// sketch bytes are an empty latency.
    pub fn decode(sketch: &[u8], histogram: &[u8]) -> Result<Latency, String> {
        let mut out = Latency::default();
        if !sketch.is_empty() {
            out.sketch = DDSketch::from_java_bytes(sketch).map_err(|e| format!("sketch: {e}"))?;
        }
        let mut i = 0;
        while i < histogram.len() {
            let k = histogram[i] as usize;
            i += 1;
            let (mut v, mut shift) = (0u64, 0u32);
            loop {
                let Some(&b) = histogram.get(i) else {
                    return Err("histogram: truncated count".into());
                };
                i += 1;
                if shift > 63 {
                    return Err("histogram: count overflows".into());
                }
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if k >= BUCKETS {
                return Err(format!("histogram: bucket {k} out of range"));
            }
            out.histogram[k] += v;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_sqrt2_apart_and_cover_every_value() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(0.99), 0);
        assert_eq!(bucket_of(1.0), 1);
        assert_eq!(bucket_of(1.41), 1);
        assert_eq!(bucket_of(1.42), 2);
        assert_eq!(bucket_of(2.0), 3);
        assert_eq!(bucket_of(1e12), BUCKETS - 1);
        assert_eq!(bucket_of(f64::NAN), 0);
        for k in 1..BUCKETS {
            assert_eq!(bucket_of(bucket_lower_ms(k)), k, "bound of bucket {k}");
        }
    }

    #[test]
    fn round_trips_and_merges_within_one_percent() {
        let mut a = Latency::default();
        let mut b = Latency::default();
        let mut exact = Vec::new();
        for i in 0..5000u32 {
            let ms = 5.0 + (i % 997) as f64 * 3.1;
            exact.push(ms);
            if i % 2 == 0 {
                a.add(ms)
            } else {
                b.add(ms)
            }
        }
        let a = Latency::decode(&a.sketch_bytes(), &a.histogram_bytes()).unwrap();
        let b = Latency::decode(&b.sketch_bytes(), &b.histogram_bytes()).unwrap();
        // An empty accumulator merges decoded sketches (what every query does).
        let mut m = Latency::default();
        m.merge(&a);
        m.merge(&b);
        assert_eq!(m.count(), 5000);
        assert_eq!(m.histogram().iter().sum::<u64>(), 5000);
        exact.sort_by(f64::total_cmp);
        for q in [0.5, 0.95, 0.99] {
            let want = exact[((q * 5000.0) as usize).min(4999)];
            let got = m.quantile(q).unwrap();
            assert!((got - want).abs() / want <= 0.011, "q{q}: {got} vs {want}");
        }
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        assert!(Latency::decode(&[], &[3]).is_err());
        assert!(Latency::decode(&[], &[200, 1]).is_err());
        assert!(Latency::decode(&[1, 2, 3], &[]).is_err());
        assert_eq!(Latency::decode(&[], &[]).unwrap().count(), 0);
    }
}
