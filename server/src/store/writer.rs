//! The batching writer (group commit). Requests submit prepared batches; one task commits
//! whatever has queued up, up to a span budget, in one transaction, then acknowledges every
//! request in it. A request is answered only once its spans are committed. The queue is
//! bounded in spans: when it is full, `submit` fails at once with `Overloaded` and the
//! receiver answers 503 + Retry-After (never a silent drop).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::{Backend, PreparedBatch, WriteOutcome};

/// Why a batch was not committed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SubmitError {
    #[error("the write queue is full ({queued} spans waiting); retry after {retry_after_secs}s")]
    Overloaded {
        queued: usize,
        retry_after_secs: u64,
    },
    #[error("the request has {spans} spans; at most {limit} can be queued at once")]
    TooLarge { spans: usize, limit: usize },
    #[error("the server is shutting down")]
    Closed,
    /// The database refused or failed; `transient` errors are worth retrying.
    #[error("storage failed: {message}")]
    Store { message: String, transient: bool },
}

#[derive(Debug, Clone, Copy)]
pub struct WriterSettings {
    pub queue_spans: usize,
    pub batch_spans: usize,
}

struct Job {
    batch: PreparedBatch,
    /// Held until the job is answered: queued + in-flight spans stay within the budget.
    permit: OwnedSemaphorePermit,
    done: oneshot::Sender<Result<(), SubmitError>>,
}

/// Counters for figures and `/metrics`.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub committed_spans: AtomicU64,
    pub refused_spans: AtomicU64,
    pub failed_batches: AtomicU64,
}

/// Cheap to clone; every receiver holds one.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::UnboundedSender<Job>,
    budget: Arc<Semaphore>,
    capacity: usize,
    pub stats: Arc<WriterStats>,
}

/// Starts the writer task. It ends when every [`WriterHandle`] is dropped and the queue is
/// drained, so awaiting the join handle after dropping the handles is a graceful shutdown.
pub fn spawn(
    backend: Arc<dyn Backend>,
    settings: WriterSettings,
) -> (WriterHandle, JoinHandle<()>) {
    // Unbounded in jobs, bounded in spans by the semaphore: a job holds its permits until it is
    // committed, so queued + in-flight spans never exceed `queue_spans`.
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(WriterStats::default());
    let handle = WriterHandle {
        tx,
        budget: Arc::new(Semaphore::new(settings.queue_spans)),
        capacity: settings.queue_spans,
        stats: stats.clone(),
    };
    let task = tokio::spawn(run(backend, rx, settings.batch_spans, stats));
    (handle, task)
}

impl WriterHandle {
    /// Queues `batch` and waits until it is committed.
    pub async fn submit(&self, batch: PreparedBatch) -> Result<(), SubmitError> {
        // Trace-info-only batches still cost one slot, so they are bounded too.
        let n = batch.spans.len().max(1);
        if n > self.capacity {
            return Err(SubmitError::TooLarge {
                spans: n,
                limit: self.capacity,
            });
        }
        let permit = match self.budget.clone().try_acquire_many_owned(n as u32) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                self.stats
                    .refused_spans
                    .fetch_add(batch.spans.len() as u64, Ordering::Relaxed);
                return Err(SubmitError::Overloaded {
                    queued: self.capacity - self.budget.available_permits(),
                    retry_after_secs: 1,
                });
            }
            Err(tokio::sync::TryAcquireError::Closed) => return Err(SubmitError::Closed),
        };
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job {
                batch,
                permit,
                done,
            })
            .map_err(|_| SubmitError::Closed)?;
        wait.await.map_err(|_| SubmitError::Closed)?
    }

    /// Spans queued or being committed now.
    pub fn queued_spans(&self) -> usize {
        self.capacity - self.budget.available_permits()
    }
}

async fn run(
    backend: Arc<dyn Backend>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    batch_spans: usize,
    stats: Arc<WriterStats>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let mut spans = jobs[0].batch.spans.len();
        while spans < batch_spans {
            match rx.try_recv() {
                Ok(job) => {
                    spans += job.batch.spans.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        commit(&*backend, jobs, &stats).await;
    }
    tracing::info!("Writer drained and stopped.");
}

#[tracing::instrument(skip_all, fields(jobs = jobs.len()))]
async fn commit(backend: &dyn Backend, jobs: Vec<Job>, stats: &WriterStats) {
    let started = Instant::now();
    // Move every job's rows into one batch (no copies), remembering where each job's rows
    // are, so a failed group can be split back into its requests.
    let mut all = PreparedBatch::default();
    let mut ends = Vec::with_capacity(jobs.len());
    let mut senders = Vec::with_capacity(jobs.len());
    for j in jobs {
        all.extend(j.batch);
        ends.push((all.spans.len(), all.patches.len(), all.infos.len()));
        senders.push((j.done, j.permit));
    }
    match backend.write_batch(&all).await {
        Ok(outcome) => {
            record(stats, outcome);
            tracing::debug!(
                spans = outcome.inserted_spans,
                traces = outcome.traces_touched,
                ms = started.elapsed().as_millis() as u64,
                "Batch committed."
            );
            for (done, _permit) in senders {
                let _ = done.send(Ok(()));
            }
        }
        Err(err) if senders.len() > 1 => {
            // One request's data must not fail the others that shared its transaction:
            // commit each alone so only the culprit sees the error.
            tracing::warn!(error = %err, jobs = senders.len(), "Group commit failed; retrying requests one by one.");
            let mut parts = split(all, &ends).into_iter();
            for (done, _permit) in senders {
                let batch = parts.next().unwrap_or_default();
                let r = backend.write_batch(&batch).await;
                let _ = done.send(finish(stats, r));
            }
        }
        Err(err) => {
            if let Some((done, _permit)) = senders.into_iter().next() {
                let _ = done.send(finish(stats, Err(err)));
            }
        }
    }
}

/// Splits a combined batch back at the recorded end offsets of each job.
fn split(mut all: PreparedBatch, ends: &[(usize, usize, usize)]) -> Vec<PreparedBatch> {
    let mut out = Vec::with_capacity(ends.len());
    let mut prev = (0, 0, 0);
    let mut spans = std::mem::take(&mut all.spans).into_iter();
    let mut patches = std::mem::take(&mut all.patches).into_iter();
    let mut infos = std::mem::take(&mut all.infos).into_iter();
    for &(s, p, i) in ends {
        out.push(PreparedBatch {
            spans: spans.by_ref().take(s - prev.0).collect(),
            patches: patches.by_ref().take(p - prev.1).collect(),
            infos: infos.by_ref().take(i - prev.2).collect(),
        });
        prev = (s, p, i);
    }
    out
}

fn record(stats: &WriterStats, outcome: WriteOutcome) {
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats
        .committed_spans
        .fetch_add(outcome.inserted_spans as u64, Ordering::Relaxed);
}

fn finish(stats: &WriterStats, r: super::Result<WriteOutcome>) -> Result<(), SubmitError> {
    match r {
        Ok(outcome) => {
            record(stats, outcome);
            Ok(())
        }
        Err(err) => {
            stats.failed_batches.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %err, "Batch not committed.");
            Err(SubmitError::Store {
                transient: is_transient(&err),
                message: err.to_string(),
            })
        }
    }
}

/// Errors a client should retry: the database was unreachable or busy, not the data bad.
fn is_transient(err: &super::Error) -> bool {
    match err {
        super::Error::Database(e) => {
            matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            ) || e.as_database_error().is_some_and(|d| {
                // SQLite BUSY/LOCKED, PostgreSQL serialization/deadlock/connection classes.
                matches!(
                    d.code().as_deref(),
                    Some("5" | "6" | "40001" | "40P01" | "57P01" | "08006")
                )
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TraceInfo, TracePatch};

    #[test]
    fn split_undoes_the_group_concatenation() {
        let info = |n: u8| TraceInfo {
            trace_id: [n; 16],
            ..Default::default()
        };
        let patch = |n: u8| TracePatch {
            trace_id: [n; 16],
            ..Default::default()
        };
        let jobs = vec![
            PreparedBatch {
                infos: vec![info(1)],
                patches: vec![patch(1), patch(2)],
                ..Default::default()
            },
            PreparedBatch::default(),
            PreparedBatch {
                infos: vec![info(3)],
                ..Default::default()
            },
        ];
        let mut all = PreparedBatch::default();
        let mut ends = Vec::new();
        for j in jobs.clone() {
            all.extend(j);
            ends.push((all.spans.len(), all.patches.len(), all.infos.len()));
        }
        let parts = split(all, &ends);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].patches, jobs[0].patches);
        assert_eq!(parts[0].infos, jobs[0].infos);
        assert!(parts[1].infos.is_empty() && parts[1].patches.is_empty());
        assert_eq!(parts[2].infos, jobs[2].infos);
    }
}
