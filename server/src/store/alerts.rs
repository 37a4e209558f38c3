//! What alerting keeps in the database (migration 0005): rules, per-instance states, the
//! history of transitions, channels, silences and the notification outbox. One trait, the
//! SQL in `alert_sql.rs` shared by both backends. An evaluation's state changes, history rows
//! and outbox rows are committed together (`commit_evaluation`): that transaction is what
//! makes "a restart neither loses a page nor sends it twice" true.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Result;
use crate::alerts::rule::RuleSpec;
use crate::alerts::state::{AlertState, Notice, Phase};
use crate::notify::{ChannelConfig, Message};

/// Where a rule or channel came from. File-managed ones are replaced at each start from the
/// file and are read-only in the UI (the file in version control is the truth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Ui,
    File,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Ui => "ui",
            Source::File => "file",
        }
    }
    pub fn parse(s: &str) -> Source {
        if s == "file" {
            Source::File
        } else {
            Source::Ui
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub id: i64,
    pub spec: RuleSpec,
    pub source: Source,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_eval_ms: Option<i64>,
    /// Why the last evaluation failed (shown on the rule); `None` after a good one.
    pub eval_error: Option<String>,
}

/// One alert instance: a rule, or one value of its `split_by`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceState {
    pub rule_id: i64,
    pub labels: BTreeMap<String, String>,
    pub state: AlertState,
    pub samples: u64,
    pub updated_ms: i64,
}

/// A transition (or a repeat notice) to record, with what to send.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub labels: BTreeMap<String, String>,
    pub from: Phase,
    pub to: Phase,
    pub value: Option<f64>,
    pub notice: Option<Notice>,
    /// With `notice`: the rendered message and the channels (id, name) it goes to.
    pub message: Option<Message>,
    pub channels: Vec<(i64, String)>,
}

/// Everything one evaluation of one rule writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub rule_id: i64,
    pub rule_name: String,
    pub at_ms: i64,
    /// Upserted.
    pub states: Vec<InstanceState>,
    /// Instances that went quiet (inactive, no data): their rows are deleted so a split
    /// rule's old labels do not pile up.
    pub forget: Vec<BTreeMap<String, String>>,
    pub events: Vec<NewEvent>,
    /// `None`: the evaluation succeeded. A failed one writes only this.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredChannel {
    pub id: i64,
    pub name: String,
    pub config: ChannelConfig,
    pub source: Source,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A label matcher of a silence: exact, or a regex anchored at both ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub regex: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: i64,
    pub matchers: Vec<Matcher>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub comment: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Pending,
    Delivered,
    /// Muted by a silence: recorded, not sent.
    Silenced,
    /// Given up after the retry deadline, or the channel no longer exists.
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Silenced => "silenced",
            Delivery::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Delivery {
        match s {
            "delivered" => Delivery::Delivered,
            "silenced" => Delivery::Silenced,
            "failed" => Delivery::Failed,
            _ => Delivery::Pending,
        }
    }
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub event_id: Option<i64>,
    pub channel_id: i64,
    pub channel_name: String,
    /// `firing`, `repeat`, `resolved` or `test`.
    pub notice: String,
    pub message: Message,
    pub status: Delivery,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub done_ms: Option<i64>,
}

/// A history row with its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub labels: BTreeMap<String, String>,
    pub at_ms: i64,
    pub from: Phase,
    pub to: Phase,
    pub value: Option<f64>,
    pub notice: Option<String>,
    pub deliveries: Vec<Notification>,
}

/// What a delivery attempt found.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered,
    Silenced { silence_id: i64 },
    Retry { next_attempt_ms: i64, error: String },
    GiveUp { error: String },
}

pub fn notice_str(n: Notice) -> &'static str {
    match n {
        Notice::Firing => "firing",
        Notice::Repeat => "repeat",
        Notice::Resolved => "resolved",
    }
}

pub fn phase_str(p: Phase) -> &'static str {
    match p {
        Phase::Inactive => "inactive",
        Phase::Pending => "pending",
        Phase::Firing => "firing",
        Phase::Resolved => "resolved",
    }
}

pub fn phase_parse(s: &str) -> Phase {
    match s {
        "pending" => Phase::Pending,
        "firing" => Phase::Firing,
        "resolved" => Phase::Resolved,
        _ => Phase::Inactive,
    }
}

#[async_trait::async_trait]
pub trait AlertStore: Send + Sync {
    /// Try to be (or stay) the one evaluator and sender. PostgreSQL: a session advisory lock
    /// held on a dedicated connection, released by the server when this process dies, so
    /// another takes over. SQLite: always (one process owns the file).
    async fn lead(&self) -> Result<bool>;

    async fn list_rules(&self) -> Result<Vec<StoredRule>>;
    async fn get_rule(&self, id: i64) -> Result<Option<StoredRule>>;
    /// `Conflict` when the name is taken.
    async fn create_rule(&self, spec: &RuleSpec, source: Source, now_ms: i64) -> Result<i64>;
    /// Replaces the spec; `false` when there is no such rule.
    async fn update_rule(&self, id: i64, spec: &RuleSpec, now_ms: i64) -> Result<bool>;
    /// Deletes the rule and its states; history stays.
    async fn delete_rule(&self, id: i64) -> Result<bool>;
    /// Makes the file-managed rules exactly `specs` (matched by name); UI rules with a name
    /// in the file are taken over by the file. Returns (created, updated, removed).
    async fn sync_file_rules(
        &self,
        specs: &[RuleSpec],
        now_ms: i64,
    ) -> Result<(usize, usize, usize)>;

    async fn states(&self, rule_id: Option<i64>) -> Result<Vec<InstanceState>>;
    async fn commit_evaluation(&self, eval: &Evaluation) -> Result<()>;

    async fn list_channels(&self) -> Result<Vec<StoredChannel>>;
    async fn create_channel(
        &self,
        name: &str,
        config: &ChannelConfig,
        source: Source,
        now_ms: i64,
    ) -> Result<i64>;
    async fn update_channel(
        &self,
        id: i64,
        name: &str,
        config: &ChannelConfig,
        now_ms: i64,
    ) -> Result<bool>;
    async fn delete_channel(&self, id: i64) -> Result<bool>;
    /// As `sync_file_rules`, for `[[channel]]` tables.
    async fn sync_file_channels(
        &self,
        channels: &[(String, ChannelConfig)],
        now_ms: i64,
    ) -> Result<(usize, usize, usize)>;

    async fn list_silences(&self) -> Result<Vec<Silence>>;
    async fn create_silence(
        &self,
        matchers: &[Matcher],
        starts_ms: i64,
        ends_ms: i64,
        comment: &str,
        now_ms: i64,
    ) -> Result<i64>;
    /// Ends a silence now (kept for history).
    async fn expire_silence(&self, id: i64, now_ms: i64) -> Result<bool>;

    /// Queues a "send test" message to one channel; returns the outbox id.
    async fn queue_test(
        &self,
        channel_id: i64,
        channel_name: &str,
        message: &Message,
        now_ms: i64,
    ) -> Result<i64>;
    /// Pending rows due at `now_ms`, only the oldest pending row of each channel (a channel
    /// receives its notices in order: never a resolved before its firing).
    async fn due_notifications(&self, now_ms: i64, limit: i64) -> Result<Vec<Notification>>;
    async fn record_attempt(&self, id: i64, attempt: &Attempt, now_ms: i64) -> Result<()>;
    async fn get_notification(&self, id: i64) -> Result<Option<Notification>>;

    /// History, newest first, optionally of one rule; `before_id` pages.
    async fn events(
        &self,
        rule_id: Option<i64>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AlertEvent>>;
}
