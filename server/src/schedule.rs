//! The periodic jobs of `sightline serve`, on one tokio-cron-scheduler: alert evaluation,
//! the notification sender, rollup housekeeping and retention. Each job skips a tick while its
//! previous run is still going (a slow database must not stack evaluations), and shutdown
//! waits for running ones, so a notification being sent is recorded before exit.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::alerts::engine::Engine;
use crate::alerts::sender::Sender;
use crate::store::{now_ms, Backend};

pub struct Jobs {
    scheduler: JobScheduler,
    /// One per job; held while it runs.
    running: Vec<Arc<Mutex<()>>>,
}

/// Adds a job running `f` every `every`, never two at once.
async fn every<F, Fut>(
    scheduler: &JobScheduler,
    every: Duration,
    name: &'static str,
    f: F,
) -> anyhow::Result<Arc<Mutex<()>>>
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let running = Arc::new(Mutex::new(()));
    let guard = running.clone();
    let job = Job::new_repeated_async(every, move |_, _| {
        let (f, guard) = (f.clone(), guard.clone());
        Box::pin(async move {
            let Ok(_held) = guard.try_lock() else {
                tracing::debug!(job = name, "Previous run still going; skipping this tick.");
                return;
            };
            if let Err(e) = f().await {
                tracing::warn!(job = name, error = %e, "Scheduled job failed; retrying next tick.");
            }
        })
    })?;
    scheduler.add(job).await?;
    Ok(running)
}

impl Jobs {
    pub async fn start(
        backend: Arc<dyn Backend>,
        engine: Engine,
        tick: Duration,
        retention: Arc<crate::retention::Retention>,
    ) -> anyhow::Result<Jobs> {
        let scheduler = JobScheduler::new().await?;
        let sender = Sender::new(engine.store.clone());
        let leader = backend.alerts();
        let mut running = Vec::new();
        running.push(
            every(&scheduler, tick, "alert evaluation", move || {
                let engine = engine.clone();
                async move {
                    let round = engine.evaluate_due(now_ms()).await?;
                    if round.evaluated > 0 {
                        tracing::debug!(?round, "Alert rules evaluated.");
                    }
                    Ok(())
                }
            })
            .await?,
        );
        running.push(
            every(&scheduler, tick, "notification sender", move || {
                let sender = sender.clone();
                async move {
                    sender.deliver_due(now_ms()).await?;
                    Ok(())
                }
            })
            .await?,
        );
        running.push(
            every(
                &scheduler,
                crate::rollup::worker::EVERY,
                "rollup housekeeping",
                move || {
                    let backend = backend.clone();
                    async move {
                        crate::rollup::worker::once(&*backend, now_ms()).await?;
                        Ok(())
                    }
                },
            )
            .await?,
        );
        if !retention.policy.is_empty() {
            // Replicas sharing a PostgreSQL: only the elected one deletes, as only it pages.
            let alerts = leader.clone();
            running.push(
                every(
                    &scheduler,
                    crate::retention::EVERY,
                    "retention",
                    move || {
                        let (retention, alerts) = (retention.clone(), alerts.clone());
                        async move {
                            if alerts.lead().await? {
                                retention.run(now_ms()).await?;
                            }
                            Ok(())
                        }
                    },
                )
                .await?,
            );
        }
        scheduler.start().await?;
        Ok(Jobs { scheduler, running })
    }

    /// Stops scheduling and waits for the runs in progress.
    pub async fn stop(mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = %e, "Scheduler shutdown failed.");
        }
        for r in &self.running {
            let _ = r.lock().await;
        }
    }
}
