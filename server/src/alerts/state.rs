//! The alert state machine, as Prometheus runs it: a rule's condition must hold for `for`
//! before it fires, keeps firing `keep_firing_for` after it stops holding, and says so once
//! when it resolves. Pure: the evaluator feeds it one observation per evaluation and persists
//! what it returns; notifications are derived from the transitions, never from the state.

use serde::{Deserialize, Serialize};

/// What one evaluation saw for one alert instance (a rule, or one label of a split rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// The metric had enough samples; `breaching` says whether the condition held.
    Value { value: f64, breaching: bool },
    /// No data, or fewer samples than the rule's minimum: a rate over three requests
    /// pages nobody.
    NoData,
}

/// What a rule does without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataPolicy {
    /// Treat as not breaching: a pending alert goes back to inactive, a firing one resolves
    /// (after `keep_firing_for`).
    #[default]
    Ok,
    /// Keep the current state until data returns.
    KeepState,
    /// Treat as breaching: silence itself is the incident (a pipeline that stopped).
    Alerting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Inactive,
    Pending,
    Firing,
    /// Resolved by the last evaluation; the next one moves on as from inactive.
    Resolved,
}

/// Persisted per alert instance. Times are epoch ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub phase: Phase,
    /// When the condition started holding (pending and firing).
    pub active_since: Option<i64>,
    /// When it started firing.
    pub firing_since: Option<i64>,
    /// While firing: when the condition stopped holding (`keep_firing_for` runs from here).
    pub clear_since: Option<i64>,
    /// Last firing notification (for `repeat_interval`).
    pub last_notified: Option<i64>,
    pub last_value: Option<f64>,
}

impl Default for AlertState {
    fn default() -> Self {
        AlertState {
            phase: Phase::Inactive,
            active_since: None,
            firing_since: None,
            clear_since: None,
            last_notified: None,
            last_value: None,
        }
    }
}

/// The timing of a rule, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    pub repeat_interval_ms: i64,
    pub no_data: NoDataPolicy,
}

/// What an evaluation asks the notifier to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Firing,
    /// Still firing, repeat interval elapsed.
    Repeat,
    Resolved,
}

/// The next state after observing `obs` at `now`, and the notice to send, if any.
pub fn step(
    state: &AlertState,
    obs: Observation,
    now: i64,
    t: &Timing,
) -> (AlertState, Option<Notice>) {
    let breaching = match (obs, t.no_data) {
        (Observation::Value { breaching, .. }, _) => breaching,
        (Observation::NoData, NoDataPolicy::Ok) => false,
        (Observation::NoData, NoDataPolicy::Alerting) => true,
        (Observation::NoData, NoDataPolicy::KeepState) => {
            // Nothing moves, not even timers: a gap in data is not evidence either way.
            let mut s = state.clone();
            s.last_value = None;
            if s.phase == Phase::Resolved {
                s.phase = Phase::Inactive;
            }
            return (s, None);
        }
    };
    let mut s = state.clone();
    s.last_value = match obs {
        Observation::Value { value, .. } => Some(value),
        Observation::NoData => None,
    };
    let mut notice = None;
    match (state.phase, breaching) {
        (Phase::Inactive | Phase::Resolved, false) => {
            s = AlertState {
                last_value: s.last_value,
                ..AlertState::default()
            };
        }
        (Phase::Inactive | Phase::Resolved, true) => {
            s.phase = Phase::Pending;
            s.active_since = Some(now);
            s.firing_since = None;
            s.clear_since = None;
            s.last_notified = None;
            if t.for_ms <= 0 {
                fire(&mut s, now, &mut notice);
            }
        }
        (Phase::Pending, true) => {
            if now - s.active_since.unwrap_or(now) >= t.for_ms {
                fire(&mut s, now, &mut notice);
            }
        }
        (Phase::Pending, false) => {
            s = AlertState {
                last_value: s.last_value,
                ..AlertState::default()
            };
        }
        (Phase::Firing, true) => {
            s.clear_since = None;
            if t.repeat_interval_ms > 0
                && now - s.last_notified.unwrap_or(now) >= t.repeat_interval_ms
            {
                s.last_notified = Some(now);
                notice = Some(Notice::Repeat);
            }
        }
        (Phase::Firing, false) => {
            let since = *s.clear_since.get_or_insert(now);
            if now - since >= t.keep_firing_for_ms {
                s.phase = Phase::Resolved;
                s.active_since = None;
                s.clear_since = None;
                notice = Some(Notice::Resolved);
            }
        }
    }
    (s, notice)
}

fn fire(s: &mut AlertState, now: i64, notice: &mut Option<Notice>) {
    s.phase = Phase::Firing;
    s.firing_since = Some(now);
    s.last_notified = Some(now);
    *notice = Some(Notice::Firing);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn v(breaching: bool) -> Observation {
        Observation::Value {
            value: if breaching { 2.0 } else { 1.0 },
            breaching,
        }
    }

    /// Runs observations one minute apart; returns the phases and notices.
    fn run(t: &Timing, obs: &[Observation]) -> Vec<(Phase, Option<Notice>)> {
        let mut s = AlertState::default();
        obs.iter()
            .enumerate()
            .map(|(i, o)| {
                let (next, n) = step(&s, *o, i as i64 * MIN, t);
                s = next;
                (s.phase, n)
            })
            .collect()
    }

    #[test]
    fn pending_for_the_for_duration_then_one_firing_notice_then_one_resolved() {
        let t = Timing {
            for_ms: 2 * MIN,
            ..Timing::default()
        };
        let got = run(
            &t,
            &[v(true), v(true), v(true), v(true), v(false), v(false)],
        );
        use Phase::*;
        assert_eq!(
            got,
            vec![
                (Pending, None),
                (Pending, None),
                (Firing, Some(Notice::Firing)),
                (Firing, None),
                (Resolved, Some(Notice::Resolved)),
                (Inactive, None),
            ]
        );
    }

    #[test]
    fn a_blip_shorter_than_for_never_fires() {
        let t = Timing {
            for_ms: 3 * MIN,
            ..Timing::default()
        };
        let got = run(&t, &[v(true), v(true), v(false), v(true), v(true)]);
        assert!(
            got.iter().all(|(p, n)| *p != Phase::Firing && n.is_none()),
            "{got:?}"
        );
    }

    #[test]
    fn keep_firing_for_bridges_gaps_and_repeat_interval_renotifies() {
        let t = Timing {
            for_ms: 0,
            keep_firing_for_ms: 2 * MIN,
            repeat_interval_ms: 3 * MIN,
            ..Timing::default()
        };
        let got = run(
            &t,
            &[
                v(true),
                v(false),
                v(true),
                v(true),
                v(true),
                v(false),
                v(false),
                v(false),
            ],
        );
        let notices: Vec<_> = got.iter().map(|(_, n)| *n).collect();
        assert_eq!(
            notices,
            vec![
                Some(Notice::Firing),
                None, // cleared for 0 min < 2 min: still firing
                None,
                Some(Notice::Repeat), // 3 min after the first notice
                None,
                None,
                None,
                Some(Notice::Resolved), // clear since minute 5, two minutes later
            ]
        );
    }

    #[test]
    fn no_data_follows_the_policy() {
        let base = Timing {
            for_ms: 0,
            ..Timing::default()
        };
        let nd = Observation::NoData;
        let ok = run(&base, &[v(true), nd]);
        assert_eq!(ok[1], (Phase::Resolved, Some(Notice::Resolved)));
        let keep = run(
            &Timing {
                no_data: NoDataPolicy::KeepState,
                ..base
            },
            &[v(true), nd, nd],
        );
        assert!(keep.iter().all(|(p, _)| *p == Phase::Firing), "{keep:?}");
        assert_eq!(keep.iter().filter(|(_, n)| n.is_some()).count(), 1);
        let alerting = run(
            &Timing {
                no_data: NoDataPolicy::Alerting,
                ..base
            },
            &[nd],
        );
        assert_eq!(alerting[0], (Phase::Firing, Some(Notice::Firing)));
    }
}
