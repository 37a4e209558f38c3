//! What the pages need from the backend (server side only). `server` implements it and hands
//! it to Leptos with `provide_context(Arc<dyn Contract>)`; `#[server]` functions fetch it with
//! [`contract`]. Keeping this a trait keeps SQL out of this crate.

use std::sync::Arc;

use crate::filter::Expr;
use crate::types::{TraceListQuery, TracePage};
use crate::AppError;

#[async_trait::async_trait]
pub trait Contract: Send + Sync + 'static {
    /// One page of the traces matching `filter` (already parsed from `query.filter`) within
    /// the query's time range, in its order. `Invalid` for what the filter grammar accepts
    /// but the server cannot search (yet), or for a bad cursor.
    async fn search_traces(
        &self,
        query: TraceListQuery,
        filter: Option<Expr>,
    ) -> Result<TracePage, AppError>;

    /// One trace with every span, without payloads (the waterfall). `trace_id` is 32 hex
    /// digits, optionally `tr-` prefixed: `Invalid` otherwise, `NotFound` when absent.
    async fn get_trace_tree(&self, trace_id: String) -> Result<crate::types::TraceTree, AppError>;

    /// One span with its payload (the detail panel). `span_id` is 16 hex digits.
    async fn get_span(
        &self,
        trace_id: String,
        span_id: String,
    ) -> Result<crate::types::SpanDetail, AppError>;

    /// One page of sessions, newest activity first, after `cursor` (a
    /// [`crate::types::SessionPage::next_cursor`]); `Invalid` for a cursor that is not one.
    async fn list_sessions(
        &self,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<crate::types::SessionPage, AppError>;

    /// One session's totals and its traces in start order; `NotFound` when it has none.
    async fn get_session(
        &self,
        session_id: String,
    ) -> Result<crate::types::SessionDetail, AppError>;

    /// The overview board for a window, from rollups. `scope` is `query.scope` parsed;
    /// `Invalid` when it names something that is not a rollup dimension, or for a window
    /// that ends before it starts or spans more than 90 days.
    async fn overview(
        &self,
        query: crate::types::OverviewQuery,
        scope: Option<Expr>,
    ) -> Result<crate::types::Overview, AppError>;

    /// The model price table grouped by model, for models whose name contains
    /// `model_filter` (lowercase; empty lists every model).
    async fn list_prices(&self, model_filter: String) -> Result<crate::types::PriceList, AppError>;

    /// Stores `price` (checked with [`crate::api::prices::check_price`]): the row with the
    /// same model and effective date is updated in place, otherwise one is added. Spans
    /// ingested from then on are priced with the new table; stored spans keep their cost.
    async fn save_price(&self, price: crate::types::PriceRow) -> Result<(), AppError>;

    /// Deletes one price row; `NotFound` when there is none.
    async fn delete_price(&self, model: String, effective_from_ms: i64) -> Result<(), AppError>;

    /// `/alerts`: rules with their state, channels, silences, presets.
    async fn alerts_overview(&self) -> Result<crate::types::AlertsOverview, AppError>;

    /// One rule with its form, TOML and recent history; `NotFound` when absent.
    async fn alert_rule(&self, id: i64) -> Result<crate::types::AlertRuleDetail, AppError>;

    /// Creates (`id` `None`) or replaces a rule. `Invalid` (field `rule`) listing every
    /// problem; `Invalid` (field `name`) when the name is taken; `Invalid` (field `source`)
    /// for a rule from the rules file, which is edited there.
    async fn save_rule(
        &self,
        id: Option<i64>,
        form: crate::types::RuleForm,
    ) -> Result<i64, AppError>;

    /// Enables or disables a rule (file rules too: muting one is an operational act).
    async fn set_rule_enabled(&self, id: i64, enabled: bool) -> Result<(), AppError>;

    /// Deletes a UI rule and its states (history stays); `Invalid` for a file rule.
    async fn delete_rule(&self, id: i64) -> Result<(), AppError>;

    /// The backtest: the form's metric over the last 24 h, its threshold, and when it would
    /// have fired. Problems with the form are returned in the preview, not as an error.
    async fn preview_rule(
        &self,
        form: crate::types::RuleForm,
    ) -> Result<crate::types::RulePreview, AppError>;

    /// Transitions and deliveries, newest first, optionally of one rule, older than
    /// `before_id`.
    async fn alert_history(
        &self,
        rule_id: Option<i64>,
        before_id: Option<i64>,
    ) -> Result<crate::types::AlertHistory, AppError>;

    /// Creates (`id` `None`) or replaces a channel from its name and settings JSON;
    /// `Invalid` naming the field that is wrong.
    async fn save_channel(
        &self,
        id: Option<i64>,
        name: String,
        config: String,
    ) -> Result<i64, AppError>;

    async fn delete_channel(&self, id: i64) -> Result<(), AppError>;

    /// Sends a test notification to the channel now and says what it answered: `Ok` with a
    /// description when accepted, `Unavailable` with the channel's refusal otherwise.
    async fn test_channel(&self, id: i64) -> Result<String, AppError>;

    /// Mutes notifications whose labels match every matcher, from `starts_ms` to `ends_ms`.
    async fn create_silence(
        &self,
        matchers: Vec<crate::types::SilenceMatcher>,
        starts_ms: i64,
        ends_ms: i64,
        comment: String,
    ) -> Result<i64, AppError>;

    /// Ends a silence now.
    async fn expire_silence(&self, id: i64) -> Result<(), AppError>;

    /// The retention policy, storage sizes, and what retention runs delete.
    async fn retention_status(&self) -> Result<crate::types::RetentionStatus, AppError>;
}

/// The backend provided by the server for this request.
pub fn contract() -> Result<Arc<dyn Contract>, AppError> {
    leptos::prelude::use_context::<Arc<dyn Contract>>()
        .ok_or_else(|| AppError::Unavailable("BUG: no Contract in the Leptos context".into()))
}

/// The hash of the session token a request came with (set by the server's access layer), so
/// changing one's password can keep this session while ending the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken(pub String);

/// Users, API keys and one's own password: what the access page and the account page need.
/// Callers have checked the role; implementations keep the invariants (an enabled admin
/// always remains, no one disables or deletes themselves).
#[async_trait::async_trait]
pub trait Accounts: Send + Sync + 'static {
    async fn access_overview(&self) -> Result<crate::types::AccessOverview, AppError>;
    /// A new user with a one-time password, which is answered.
    async fn create_user(
        &self,
        username: String,
        role: crate::types::Role,
    ) -> Result<crate::types::OneTimeSecret, AppError>;
    async fn set_role(
        &self,
        by: &crate::types::Principal,
        id: i64,
        role: crate::types::Role,
    ) -> Result<(), AppError>;
    /// A new one-time password for a user; their sessions end.
    async fn reset_password(&self, id: i64) -> Result<crate::types::OneTimeSecret, AppError>;
    async fn set_disabled(
        &self,
        by: &crate::types::Principal,
        id: i64,
        disabled: bool,
    ) -> Result<(), AppError>;
    async fn delete_user(&self, by: &crate::types::Principal, id: i64) -> Result<(), AppError>;
    /// Checks `current`, sets `new`; other sessions of the user end, `keep` stays.
    async fn change_password(
        &self,
        who: &crate::types::Principal,
        current: String,
        new: String,
        keep: Option<SessionToken>,
    ) -> Result<(), AppError>;
    /// A new API key, answered once.
    async fn create_api_key(
        &self,
        by: &crate::types::Principal,
        name: String,
        scopes: crate::types::KeyScopes,
    ) -> Result<crate::types::OneTimeSecret, AppError>;
    async fn revoke_api_key(&self, id: i64) -> Result<(), AppError>;
}

/// The accounts backend provided by the server for this request.
pub fn accounts() -> Result<Arc<dyn Accounts>, AppError> {
    leptos::prelude::use_context::<Arc<dyn Accounts>>()
        .ok_or_else(|| AppError::Unavailable("BUG: no Accounts in the Leptos context".into()))
}
