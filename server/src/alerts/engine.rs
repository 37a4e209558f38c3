//! The evaluator: for every enabled rule that is due, measure it from rollups, step each
//! alert instance's state machine, and commit the new states, a history row per change and
//! the notices to send — one transaction per rule (the outbox). Only the elected process
//! evaluates (`AlertStore::lead`), so two replicas never page twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::culprit;
use super::measure::{measure, Measurement};
use super::render;
use super::rule::RuleSpec;
use super::state::{step, AlertState, Notice, Observation, Phase};
use crate::notify::{ExemplarLink, Message, Status};
use crate::rollup::RollupConfig;
use crate::store::alerts::{AlertStore, Evaluation, InstanceState, NewEvent, StoredRule};
use crate::store::Backend;

/// What the evaluator needs; cheap to clone into scheduled jobs.
#[derive(Clone)]
pub struct Engine {
    pub backend: Arc<dyn Backend>,
    pub store: Arc<dyn AlertStore>,
    pub rollups: RollupConfig,
    /// Scheme, host and port users reach Sightline at, for links in notifications.
    pub public_url: String,
}

/// What one round did (logged, and read by tests).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Round {
    pub leader: bool,
    pub evaluated: usize,
    pub failed: usize,
    pub notices: usize,
}

impl Engine {
    pub fn new(backend: Arc<dyn Backend>, rollups: RollupConfig, public_url: String) -> Engine {
        Engine {
            store: backend.alerts(),
            backend,
            rollups,
            public_url,
        }
    }

    /// Evaluates every enabled rule due at `now_ms` (never evaluated, or its interval has
    /// passed since the last evaluation). Not the leader: does nothing.
    pub async fn evaluate_due(&self, now_ms: i64) -> crate::store::Result<Round> {
        let mut round = Round {
            leader: self.store.lead().await?,
            ..Round::default()
        };
        if !round.leader {
            return Ok(round);
        }
        let channels: HashMap<String, i64> = self
            .store
            .list_channels()
            .await?
            .into_iter()
            .map(|c| (c.name, c.id))
            .collect();
        for rule in self.store.list_rules().await? {
            let due = rule
                .last_eval_ms
                .is_none_or(|t| now_ms - t >= rule.spec.interval.0);
            if !rule.spec.enabled || !due {
                continue;
            }
            let eval = self.evaluate(&rule, &channels, now_ms).await;
            round.evaluated += 1;
            if eval.error.is_some() {
                round.failed += 1;
            }
            round.notices += eval.events.iter().filter(|e| e.notice.is_some()).count();
            self.store.commit_evaluation(&eval).await?;
        }
        Ok(round)
    }

    /// One rule at `now_ms`: the writes, or the error as the rule's visible state.
    pub async fn evaluate(
        &self,
        rule: &StoredRule,
        channels: &HashMap<String, i64>,
        now_ms: i64,
    ) -> Evaluation {
        let mut eval = Evaluation {
            rule_id: rule.id,
            rule_name: rule.spec.name.clone(),
            at_ms: now_ms,
            states: Vec::new(),
            forget: Vec::new(),
            events: Vec::new(),
            error: None,
        };
        match self.transitions(rule, channels, now_ms, &mut eval).await {
            Ok(()) => eval,
            Err(e) => Evaluation {
                states: Vec::new(),
                forget: Vec::new(),
                events: Vec::new(),
                error: Some(e),
                ..eval
            },
        }
    }

    async fn transitions(
        &self,
        rule: &StoredRule,
        channels: &HashMap<String, i64>,
        now_ms: i64,
        eval: &mut Evaluation,
    ) -> Result<(), String> {
        let spec = &rule.spec;
        let mut targets = Vec::new();
        for name in &spec.channels {
            match channels.get(name) {
                Some(id) => targets.push((*id, name.clone())),
                None => return Err(format!("channels: no channel named {name:?}")),
            }
        }
        let measured = measure(&*self.backend, &self.rollups, spec, now_ms)
            .await
            .map_err(|e| e.to_string())?;
        let prior: BTreeMap<BTreeMap<String, String>, InstanceState> = self
            .store
            .states(Some(rule.id))
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| (s.labels.clone(), s))
            .collect();
        let mut by_labels: BTreeMap<BTreeMap<String, String>, Measurement> = measured
            .into_iter()
            .map(|m| (m.labels.clone(), m))
            .collect();
        // An instance seen before but absent now (a split value with no traffic) is
        // observed as no data, so a firing one still resolves.
        for labels in prior.keys() {
            by_labels
                .entry(labels.clone())
                .or_insert_with(|| Measurement {
                    labels: labels.clone(),
                    value: None,
                    samples: 0,
                    baseline: None,
                    exemplars: Default::default(),
                });
        }
        let timing = spec.timing();
        for (labels, m) in by_labels {
            let before = prior
                .get(&labels)
                .map(|s| s.state.clone())
                .unwrap_or_default();
            let obs = match (m.value, m.breaching(spec)) {
                (Some(value), Some(breaching)) => Observation::Value { value, breaching },
                _ => Observation::NoData,
            };
            let (after, notice) = step(&before, obs, now_ms, &timing);
            // A split value never seen and without data is not an instance yet. An unsplit
            // rule always keeps its one state row: "no data, 3 samples" is worth showing.
            let quiet = after.phase == Phase::Inactive && m.value.is_none() && !labels.is_empty();
            if quiet && !prior.contains_key(&labels) {
                continue;
            }
            if after.phase != before.phase || notice.is_some() {
                let message = match notice {
                    Some(n) => Some(
                        self.message(rule, &labels, &m, &before, &after, n, now_ms)
                            .await,
                    ),
                    None => None,
                };
                eval.events.push(NewEvent {
                    labels: labels.clone(),
                    from: before.phase,
                    to: after.phase,
                    value: m.value,
                    notice,
                    message,
                    channels: if notice.is_some() {
                        targets.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
            if quiet {
                eval.forget.push(labels);
            } else {
                eval.states.push(InstanceState {
                    rule_id: rule.id,
                    labels,
                    state: after,
                    samples: m.samples,
                    updated_ms: now_ms,
                });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn message(
        &self,
        rule: &StoredRule,
        labels: &BTreeMap<String, String>,
        m: &Measurement,
        before: &AlertState,
        after: &AlertState,
        notice: Notice,
        now_ms: i64,
    ) -> Message {
        let spec: &RuleSpec = &rule.spec;
        let to_ms = now_ms.div_euclid(60_000) * 60_000;
        let from_ms = to_ms - spec.window.0;
        let status = match notice {
            Notice::Resolved => Status::Resolved,
            Notice::Firing | Notice::Repeat => Status::Firing,
        };
        let value = m
            .value
            .map(|v| render::value(spec.metric, v))
            .unwrap_or_else(|| "no data".into());
        let threshold = render::condition(spec, m.baseline);
        let split = labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let summary = match status {
            Status::Firing => format!(
                "{}: {} {value}, {threshold} over {}{}",
                spec.name,
                render::metric_name(spec),
                spec.window,
                if split.is_empty() {
                    String::new()
                } else {
                    format!(" ({split})")
                }
            ),
            Status::Resolved => format!(
                "{}: resolved, {} now {value}{}",
                spec.name,
                render::metric_name(spec),
                if split.is_empty() {
                    String::new()
                } else {
                    format!(" ({split})")
                }
            ),
        };
        let mut all_labels = labels.clone();
        all_labels.insert("alertname".into(), spec.name.clone());
        all_labels.insert("severity".into(), severity(spec).into());
        let dedup_key = format!(
            "sightline-{}-{}",
            rule.id,
            crate::store::alert_sql::labels_json(labels)
        );
        Message {
            notification_id: 0,
            rule_id: rule.id,
            rule_name: spec.name.clone(),
            status,
            severity: severity(spec).into(),
            labels: all_labels,
            summary,
            value,
            threshold,
            window: spec.window.to_string(),
            starts_at_ms: before
                .active_since
                .or(after.active_since)
                .or(before.firing_since)
                .unwrap_or(now_ms),
            ends_at_ms: (status == Status::Resolved).then_some(now_ms),
            dashboard_url: render::dashboard_url(&self.public_url, spec, from_ms, to_ms),
            rule_url: render::rule_url(&self.public_url, rule.id),
            exemplars: self.exemplar_links(spec, m).await,
            dedup_key,
        }
    }

    /// The exemplar traces with their culprit span. A trace that cannot be read (deleted by
    /// retention since) is linked without a span rather than dropped.
    async fn exemplar_links(&self, spec: &RuleSpec, m: &Measurement) -> Vec<ExemplarLink> {
        let mut out = Vec::new();
        for e in culprit::pick(spec, &m.exemplars) {
            let trace_hex = hex::encode(e.trace_id);
            let trace = self.backend.trace_tree(&e.trace_id).await.ok().flatten();
            let blame = trace.as_ref().and_then(|t| culprit::culprit(spec, t));
            let error = trace
                .as_ref()
                .is_some_and(|t| crate::rollup::is_error(&t.record));
            out.push(ExemplarLink {
                url: render::trace_url(
                    &self.public_url,
                    &trace_hex,
                    blame.as_ref().map(|(id, _)| id.as_str()),
                ),
                trace_id: trace_hex,
                duration_ms: e.latency_ms,
                error,
                culprit_span: blame.map(|(_, name)| name),
            });
        }
        out
    }
}

fn severity(spec: &RuleSpec) -> &'static str {
    match spec.severity {
        super::rule::Severity::Info => "info",
        super::rule::Severity::Warning => "warning",
        super::rule::Severity::Critical => "critical",
    }
}
