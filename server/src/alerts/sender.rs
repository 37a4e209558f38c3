//! The outbox sender: delivers pending notifications, oldest first per channel, retrying
//! with exponential backoff until the channel accepts. A row is marked delivered only after
//! the channel said yes, so a crash in between sends it again on restart (at least once;
//! receivers get `notification_id` / PagerDuty's `dedup_key` to drop the repeat). Silences
//! are applied here, at delivery, so a silence created while a page is being retried still
//! mutes it; the history keeps the muted row.

use std::sync::Arc;

use regex::Regex;

use crate::notify::{self, DeliveryError};
use crate::store::alerts::{AlertStore, Attempt, Matcher, Notification, Silence};

/// First retry after this, doubling up to [`MAX_BACKOFF_MS`].
pub const FIRST_BACKOFF_MS: i64 = 5_000;
pub const MAX_BACKOFF_MS: i64 = 10 * 60_000;
/// A notice still refused after this long is given up (the channel's history shows why).
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3_600_000;

#[derive(Clone)]
pub struct Sender {
    pub store: Arc<dyn AlertStore>,
    pub http: reqwest::Client,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sent {
    pub delivered: usize,
    pub silenced: usize,
    pub retrying: usize,
    pub failed: usize,
}

pub fn backoff_ms(attempts: i64) -> i64 {
    let shift = attempts.clamp(0, 20) as u32;
    FIRST_BACKOFF_MS
        .saturating_mul(1i64 << shift)
        .min(MAX_BACKOFF_MS)
}

/// Does a silence active at `now_ms` match these labels? Every matcher must hold; a regex
/// matches the whole value, as in Alertmanager.
pub fn silenced_by<'a>(
    silences: &'a [Silence],
    labels: &std::collections::BTreeMap<String, String>,
    now_ms: i64,
) -> Option<&'a Silence> {
    silences.iter().find(|s| {
        s.starts_ms <= now_ms
            && now_ms < s.ends_ms
            && !s.matchers.is_empty()
            && s.matchers.iter().all(|m| matches(m, labels))
    })
}

fn matches(m: &Matcher, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let v = labels.get(&m.name).map(String::as_str).unwrap_or("");
    if m.regex {
        Regex::new(&format!("^(?:{})$", m.value)).is_ok_and(|r| r.is_match(v))
    } else {
        v == m.value
    }
}

impl Sender {
    pub fn new(store: Arc<dyn AlertStore>) -> Sender {
        Sender {
            store,
            http: notify::http_client(),
        }
    }

    /// Delivers what is due at `now_ms`, if this process is the leader.
    pub async fn deliver_due(&self, now_ms: i64) -> crate::store::Result<Sent> {
        let mut sent = Sent::default();
        if !self.store.lead().await? {
            return Ok(sent);
        }
        let due = self.store.due_notifications(now_ms, 100).await?;
        if due.is_empty() {
            return Ok(sent);
        }
        let silences = self.store.list_silences().await?;
        let channels = self.store.list_channels().await?;
        for n in due {
            let attempt = self.attempt(&n, &silences, &channels, now_ms).await;
            match &attempt {
                Attempt::Delivered => sent.delivered += 1,
                Attempt::Silenced { .. } => sent.silenced += 1,
                Attempt::Retry { error, .. } => {
                    sent.retrying += 1;
                    tracing::warn!(notification = n.id, channel = %n.channel_name, %error,
                        "Notification not accepted; will retry.");
                }
                Attempt::GiveUp { error } => {
                    sent.failed += 1;
                    tracing::error!(notification = n.id, channel = %n.channel_name, %error,
                        "Notification given up.");
                }
            }
            self.store.record_attempt(n.id, &attempt, now_ms).await?;
        }
        Ok(sent)
    }

    async fn attempt(
        &self,
        n: &Notification,
        silences: &[Silence],
        channels: &[crate::store::alerts::StoredChannel],
        now_ms: i64,
    ) -> Attempt {
        // A test send is never muted: it checks the channel, not the alert.
        if n.notice != "test" {
            if let Some(s) = silenced_by(silences, &n.message.labels, now_ms) {
                return Attempt::Silenced { silence_id: s.id };
            }
        }
        let Some(channel) = channels.iter().find(|c| c.id == n.channel_id) else {
            return Attempt::GiveUp {
                error: format!("channel {:?} was deleted", n.channel_name),
            };
        };
        match notify::deliver(&channel.config, &n.message, &self.http).await {
            Ok(()) => Attempt::Delivered,
            Err(e) => {
                let error = e.to_string();
                let give_up = matches!(e, DeliveryError::Config(_))
                    || now_ms - n.created_ms >= GIVE_UP_AFTER_MS;
                if give_up {
                    Attempt::GiveUp { error }
                } else {
                    Attempt::Retry {
                        next_attempt_ms: now_ms + backoff_ms(n.attempts),
                        error,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(0), 5_000);
        assert_eq!(backoff_ms(1), 10_000);
        assert_eq!(backoff_ms(3), 40_000);
        assert_eq!(backoff_ms(30), MAX_BACKOFF_MS);
    }

    #[test]
    fn silences_match_every_matcher_within_their_time() {
        let labels: BTreeMap<String, String> = [
            ("alertname".to_string(), "P95 latency".to_string()),
            ("model".to_string(), "gpt-4o".to_string()),
        ]
        .into();
        let s = |matchers: Vec<Matcher>| Silence {
            id: 1,
            matchers,
            starts_ms: 100,
            ends_ms: 200,
            comment: String::new(),
            created_ms: 0,
        };
        let m = |name: &str, value: &str, regex| Matcher {
            name: name.into(),
            value: value.into(),
            regex,
        };
        let exact = [s(vec![m("alertname", "P95 latency", false)])];
        assert!(silenced_by(&exact, &labels, 150).is_some());
        assert!(silenced_by(&exact, &labels, 200).is_none(), "ended");
        assert!(silenced_by(&exact, &labels, 99).is_none(), "not started");
        let both = [s(vec![
            m("alertname", "P95 latency", false),
            m("model", "gpt-.*", true),
        ])];
        assert!(silenced_by(&both, &labels, 150).is_some());
        let partial = [s(vec![m("model", "gpt", true)])];
        assert!(
            silenced_by(&partial, &labels, 150).is_none(),
            "regex is anchored"
        );
        let other = [s(vec![
            m("alertname", "P95 latency", false),
            m("model", "claude", false),
        ])];
        assert!(silenced_by(&other, &labels, 150).is_none());
        assert!(
            silenced_by(&[s(vec![])], &labels, 150).is_none(),
            "empty silences nothing"
        );
    }
}
