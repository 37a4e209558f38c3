//! Exemplars: a few concrete traces kept in each trace cell — the slowest, and the latest
//! that failed — so a board or an alert can link to the trace to look at without scanning
//! the trace table. Merging two cells keeps the best of both, so any window's exemplars are
//! exact for its slowest traces (the top [`KEEP`] of each minute survive).

use crate::model::TraceId;

/// Per kind and cell.
pub const KEEP: usize = 5;
const ENTRY: usize = 16 + 8 + 8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    pub trace_id: TraceId,
    /// Trace latency (ms).
    pub latency_ms: f64,
    /// Trace start (epoch ms).
    pub start_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exemplars {
    /// Slowest first.
    pub slowest: Vec<Exemplar>,
    /// Latest first.
    pub failed: Vec<Exemplar>,
}

fn keep(list: &mut Vec<Exemplar>, by_latency: bool) {
    if by_latency {
        list.sort_by(|a, b| {
            b.latency_ms
                .total_cmp(&a.latency_ms)
                .then(a.trace_id.cmp(&b.trace_id))
        });
    } else {
        list.sort_by(|a, b| {
            b.start_ms
                .cmp(&a.start_ms)
                .then(a.trace_id.cmp(&b.trace_id))
        });
    }
    list.dedup_by_key(|e| e.trace_id);
    list.truncate(KEEP);
}

impl Exemplars {
    pub fn offer_slow(&mut self, trace_id: TraceId, latency_ms: f64, start_ms: i64) {
        self.slowest.push(Exemplar {
            trace_id,
            latency_ms,
            start_ms,
        });
        keep(&mut self.slowest, true);
    }

    pub fn offer_failed(&mut self, trace_id: TraceId, latency_ms: f64, start_ms: i64) {
        self.failed.push(Exemplar {
            trace_id,
            latency_ms,
            start_ms,
        });
        keep(&mut self.failed, false);
    }

    pub fn merge(&mut self, o: &Exemplars) {
        if !o.slowest.is_empty() {
            self.slowest.extend_from_slice(&o.slowest);
            keep(&mut self.slowest, true);
        }
        if !o.failed.is_empty() {
            self.failed.extend_from_slice(&o.failed);
            keep(&mut self.failed, false);
        }
    }

    /// Two counted lists of (trace id, latency f64 LE, start i64 LE).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + (self.slowest.len() + self.failed.len()) * ENTRY);
        for list in [&self.slowest, &self.failed] {
            out.push(list.len() as u8);
            for e in list.iter() {
                out.extend_from_slice(&e.trace_id);
                out.extend_from_slice(&e.latency_ms.to_le_bytes());
                out.extend_from_slice(&e.start_ms.to_le_bytes());
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Exemplars, String> {
        let mut out = Exemplars::default();
        if bytes.is_empty() {
            return Ok(out);
        }
        let mut at = 0;
        for list in [&mut out.slowest, &mut out.failed] {
            let n = *bytes.get(at).ok_or("exemplars: truncated")? as usize;
            at += 1;
            for _ in 0..n {
                let e = bytes
                    .get(at..at + ENTRY)
                    .ok_or("exemplars: truncated entry")?;
                list.push(Exemplar {
                    trace_id: e[..16].try_into().map_err(|_| "exemplars: id")?,
                    latency_ms: f64::from_le_bytes(
                        e[16..24].try_into().map_err(|_| "exemplars: latency")?,
                    ),
                    start_ms: i64::from_le_bytes(
                        e[24..32].try_into().map_err(|_| "exemplars: start")?,
                    ),
                });
                at += ENTRY;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_slowest_and_latest_across_merges_and_round_trips() {
        let mut a = Exemplars::default();
        let mut b = Exemplars::default();
        for i in 0..20u8 {
            let target = if i % 2 == 0 { &mut a } else { &mut b };
            target.offer_slow([i; 16], i as f64 * 10.0, 1000 + i as i64);
            if i % 3 == 0 {
                target.offer_failed([i; 16], 1.0, 1000 + i as i64);
            }
        }
        let mut m = Exemplars::decode(&a.encode()).unwrap();
        m.merge(&Exemplars::decode(&b.encode()).unwrap());
        let slow: Vec<u8> = m.slowest.iter().map(|e| e.trace_id[0]).collect();
        assert_eq!(slow, vec![19, 18, 17, 16, 15]);
        let failed: Vec<u8> = m.failed.iter().map(|e| e.trace_id[0]).collect();
        assert_eq!(failed, vec![18, 15, 12, 9, 6]);
        // The same trace offered twice (a re-merge) is kept once.
        m.merge(&m.clone());
        assert_eq!(m.slowest.len(), KEEP);
        assert!(Exemplars::decode(&[1, 2, 3]).is_err());
    }
}
