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
    Overloaded { queued: usize, retry_after_secs: u64 },
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
    _permit: OwnedSemaphorePermit,
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
pub fn spawn(backend: Arc<dyn Backend>, settings: WriterSettings) -> (WriterHandle, JoinHandle<()>) {
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
            return Err(SubmitError::TooLarge { spans: n, limit: self.capacity });
        }
        let permit = match self.budget.clone().try_acquire_many_owned(n as u32) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                self.stats.refused_spans.fetch_add(batch.spans.len() as u64, Ordering::Relaxed);
                return Err(SubmitError::Overloaded {
                    queued: self.capacity - self.budget.available_permits(),
                    retry_after_secs: 1,
                });
            }
            Err(tokio::sync::TryAcquireError::Closed) => return Err(SubmitError::Closed),
        };
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Job { batch, _permit: permit, done })
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
    let result = if jobs.len() == 1 {
        backend.write_batch(&jobs[0].batch).await
    } else {
        let mut all = PreparedBatch::default();
        for j in &jobs {
            all.extend(j.batch.clone());
        }
        backend.write_batch(&all).await
    };
    match result {
        Ok(outcome) => {
            record(stats, outcome);
            tracing::debug!(
                spans = outcome.inserted_spans,
                traces = outcome.traces_touched,
                ms = started.elapsed().as_millis() as u64,
                "Batch committed."
            );
            for j in jobs {
                let _ = j.done.send(Ok(()));
            }
        }
        Err(err) if jobs.len() > 1 => {
            // One request's data must not fail the others that shared its transaction:
            // commit each alone so only the culprit sees the error.
            tracing::warn!(error = %err, jobs = jobs.len(), "Group commit failed; retrying requests one by one.");
            for j in jobs {
                let r = backend.write_batch(&j.batch).await;
                let _ = j.done.send(finish(stats, r));
            }
        }
        Err(err) => {
            let j = jobs.into_iter().next();
            if let Some(j) = j {
                let _ = j.done.send(finish(stats, Err(err)));
            }
        }
    }
}

fn record(stats: &WriterStats, outcome: WriteOutcome) {
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats.committed_spans.fetch_add(outcome.inserted_spans as u64, Ordering::Relaxed);
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
            Err(SubmitError::Store { transient: is_transient(&err), message: err.to_string() })
        }
    }
}

/// Errors a client should retry: the database was unreachable or busy, not the data bad.
fn is_transient(err: &super::Error) -> bool {
    match err {
        super::Error::Database(e) => matches!(
            e,
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        ) || e.as_database_error().is_some_and(|d| {
            // SQLite BUSY/LOCKED, PostgreSQL serialization/deadlock/connection classes.
            matches!(d.code().as_deref(), Some("5" | "6" | "40001" | "40P01" | "57P01" | "08006"))
        }),
        _ => false,
    }
}
