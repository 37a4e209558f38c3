//! Types that cross between server and browser. Plain data: no behaviour beyond formatting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Trace status as users see it (MLflow's TraceInfoV3 `state` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TraceStatus {
    Ok,
    Error,
    InProgress,
    Unspecified,
}

impl TraceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceStatus::Ok => "OK",
            TraceStatus::Error => "ERROR",
            TraceStatus::InProgress => "IN_PROGRESS",
            TraceStatus::Unspecified => "STATE_UNSPECIFIED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OK" => TraceStatus::Ok,
            "ERROR" => TraceStatus::Error,
            "IN_PROGRESS" => TraceStatus::InProgress,
            "STATE_UNSPECIFIED" => TraceStatus::Unspecified,
            _ => return None,
        })
    }
}

/// One row of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// 32 lowercase hex characters (the OTel trace id); MLflow shows it as `tr-<hex>`.
    pub trace_id: String,
    pub experiment_id: String,
    pub name: Option<String>,
    pub start_ms: i64,
    /// `None` while the root span has not arrived.
    pub duration_ms: Option<f64>,
    pub status: TraceStatus,
    pub models: Vec<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost: Option<f64>,
    pub span_count: i64,
    pub error_count: i64,
    /// Values PII redaction replaced at ingest.
    #[serde(default)]
    pub redactions: i64,
    /// Tail sampling kept the trace's structure, timings, tokens and cost, not its payloads.
    #[serde(default)]
    pub payload_dropped: bool,
    pub session_id: Option<String>,
    pub request_preview: Option<String>,
}

/// What the trace list asks for: one page of the traces matching a filter, in one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TraceListQuery {
    pub experiment_id: Option<String>,
    /// Filter grammar text ([`crate::filter::parse`]); empty matches everything.
    #[serde(default)]
    pub filter: String,
    /// Start time at or after this (epoch ms).
    pub from_ms: Option<i64>,
    /// Start time before this (epoch ms).
    pub to_ms: Option<i64>,
    #[serde(default)]
    pub sort: TraceSort,
    /// [`TracePage::next_cursor`] of the previous page; `None` for the first page.
    pub cursor: Option<String>,
    /// Page size, 1..=500.
    pub limit: u32,
}

/// The trace list's order. Ties are broken by arrival order, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum TraceSort {
    #[default]
    StartDesc,
    StartAsc,
    DurationDesc,
    DurationAsc,
}

impl TraceSort {
    pub const ALL: [TraceSort; 4] = [
        TraceSort::StartDesc,
        TraceSort::StartAsc,
        TraceSort::DurationDesc,
        TraceSort::DurationAsc,
    ];

    /// The spelling in URLs (`?sort=start_desc`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraceSort::StartDesc => "start_desc",
            TraceSort::StartAsc => "start_asc",
            TraceSort::DurationDesc => "duration_desc",
            TraceSort::DurationAsc => "duration_asc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// For the sort menu.
    pub fn label(self) -> &'static str {
        match self {
            TraceSort::StartDesc => "Newest first",
            TraceSort::StartAsc => "Oldest first",
            TraceSort::DurationDesc => "Slowest first",
            TraceSort::DurationAsc => "Fastest first",
        }
    }
}

/// One page of the trace list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TracePage {
    pub traces: Vec<TraceSummary>,
    /// Opaque; pass it back as [`TraceListQuery::cursor`] for the next page. `None` on the
    /// last page.
    pub next_cursor: Option<String>,
}

/// One row of the sessions list: a conversation rolled up from its traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub user_id: Option<String>,
    pub trace_count: i64,
    /// Earliest trace start (epoch ms).
    pub first_ms: i64,
    /// Latest trace end (epoch ms).
    pub last_ms: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// `None` when no trace has a price.
    pub cost: Option<f64>,
    /// Traces whose status is `ERROR`.
    pub error_count: i64,
}

/// One page of the sessions list, newest activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    /// Opaque; pass it back to get the next page. `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A session as a conversation: its totals and its traces in start order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    pub summary: SessionSummary,
    pub turns: Vec<SessionTurn>,
}

/// One message of a session: the trace (its request preview is the user's text) and what
/// the assistant answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTurn {
    pub trace: TraceSummary,
    pub response_preview: Option<String>,
}

/// A whole trace for the waterfall: the list row, its tags and every span without payload,
/// ordered by start time. Payloads (attributes, events, inputs) come one span at a time as
/// [`SpanDetail`], so a 10,000-span trace stays a few megabytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceTree {
    pub summary: TraceSummary,
    pub tags: Vec<(String, String)>,
    pub spans: Vec<SpanNode>,
}

/// One waterfall row's worth of a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanNode {
    /// 16 lowercase hex characters.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    /// MLflow span type: `LLM`, `CHAT_MODEL`, `RETRIEVER`, … `UNKNOWN`.
    pub kind: String,
    /// Milliseconds from the trace's start.
    pub start_offset_ms: f64,
    pub duration_ms: f64,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    pub status: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl SpanNode {
    pub const STATUS_ERROR: u8 = 2;

    pub fn end_offset_ms(&self) -> f64 {
        self.start_offset_ms + self.duration_ms
    }

    pub fn is_error(&self) -> bool {
        self.status == Self::STATUS_ERROR
    }
}

/// Everything about one span, for the detail panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanDetail {
    pub node: SpanNode,
    pub status_message: String,
    pub provider: Option<String>,
    pub cached_tokens: Option<i64>,
    /// Key and value as JSON text, sorted by key.
    pub attributes: Vec<(String, String)>,
    pub events: Vec<SpanEventView>,
    /// Pretty-printed JSON, or the text itself when the input is a string.
    pub inputs: Option<String>,
    pub outputs: Option<String>,
    /// The conversation, when the inputs/outputs hold chat messages in a known shape.
    pub chat: Option<Vec<ChatMessage>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEventView {
    pub name: String,
    /// Milliseconds from the span's start.
    pub offset_ms: f64,
    /// Key and value as JSON text.
    pub attributes: Vec<(String, String)>,
}

impl SpanEventView {
    /// An attribute's text: strings unquoted, anything else as its JSON.
    pub fn attribute(&self, key: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| json_text(v))
    }
}

/// One chat turn. `role` is normalised to `system`, `user`, `assistant` or `tool` (other
/// roles pass through in lower case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

/// Shows a JSON-text attribute value: a JSON string without its quotes, anything else as sent.
pub fn json_text(v: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => v.to_string(),
    }
}

/// What the overview board asks for: a window and a scope in the trace filter grammar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OverviewQuery {
    /// Window start (epoch ms, inclusive).
    pub from_ms: i64,
    /// Window end (epoch ms, exclusive).
    pub to_ms: i64,
    /// Filter grammar text restricted to rollup dimensions (service, root name, configured
    /// tags, span name, kind, model); empty means all traffic.
    #[serde(default)]
    pub scope: String,
}

/// The overview board, computed from rollups only (never from raw spans), except the two
/// short exemplar lists which are index lookups on the trace table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Overview {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Width of one point of `series` and one heatmap column (ms): a minute for short
    /// windows, up to hours for long ones so a chart has at most a few hundred points.
    pub step_ms: i64,
    /// Whole-window figures.
    pub totals: OverviewTotals,
    /// One point per `step_ms`, oldest first; steps without traffic are present with zeros.
    pub series: Vec<SeriesPoint>,
    /// Trace latency heatmap: `columns[i][j]` counts traces of step `i` whose latency fell in
    /// `[bounds_ms[j], bounds_ms[j+1])` (the last bucket is open-ended).
    pub heatmap: Heatmap,
    /// Per guardrail stage (span name of guardrail spans): checks and blocks.
    pub guardrails: Vec<GuardrailStat>,
    /// Per span name: latency and share of the trace P95, the bottleneck first.
    pub breakdown: Vec<SpanBreakdown>,
    /// Per model: calls, tokens and cost, most calls first.
    pub models: Vec<ModelUsage>,
    /// The slowest traces of the window (at most 5).
    pub slowest: Vec<TraceSummary>,
    /// The most recent failed traces of the window (at most 5).
    pub failed: Vec<TraceSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OverviewTotals {
    /// Traces (root spans) in the window.
    pub traces: u64,
    /// Traces with at least one error span.
    pub error_traces: u64,
    /// Trace latency percentiles (root span duration), ms; `None` without traces.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Traces whose cache-hit tag was true, and traces that had the tag at all.
    pub cache_hits: u64,
    pub cache_known: u64,
    /// Guardrail checks (guardrail spans) and the ones that blocked.
    pub guardrail_checks: u64,
    pub guardrail_blocks: u64,
    /// Token and cost sums over non-aggregator spans (as on the trace list).
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_input: f64,
    pub cost_output: f64,
}

impl OverviewTotals {
    pub fn error_rate(&self) -> Option<f64> {
        ratio(self.error_traces, self.traces)
    }
    pub fn cache_hit_rate(&self) -> Option<f64> {
        ratio(self.cache_hits, self.cache_known)
    }
    pub fn guardrail_block_rate(&self) -> Option<f64> {
        ratio(self.guardrail_blocks, self.guardrail_checks)
    }
    pub fn cost(&self) -> f64 {
        self.cost_input + self.cost_output
    }
    /// Dollars per trace: (input, output, total); `None` without traces.
    pub fn cost_per_request(&self) -> Option<(f64, f64, f64)> {
        (self.traces > 0).then(|| {
            let n = self.traces as f64;
            (self.cost_input / n, self.cost_output / n, self.cost() / n)
        })
    }
}

/// `num / den`, `None` when `den` is zero.
pub fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SeriesPoint {
    /// Step start (epoch ms).
    pub t_ms: i64,
    pub traces: u64,
    pub error_traces: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cache_hits: u64,
    pub cache_known: u64,
    pub guardrail_checks: u64,
    pub guardrail_blocks: u64,
    pub cost: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Heatmap {
    /// Lower bounds of the latency buckets (ms), ascending, log-spaced.
    pub bounds_ms: Vec<f64>,
    /// Step start (epoch ms) of each column, as in `series`.
    pub t_ms: Vec<i64>,
    /// `counts[column][bucket]`.
    pub counts: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GuardrailStat {
    pub name: String,
    pub checks: u64,
    pub blocks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SpanBreakdown {
    pub name: String,
    /// MLflow span type of the spans with this name (the most frequent one).
    pub kind: String,
    pub count: u64,
    pub error_count: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    /// This span's P95 as a share of the trace P95 (0..=1, can exceed 1 for the root).
    pub share_of_trace_p95: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelUsage {
    pub model: String,
    /// LLM / chat-model / embedding / reranker spans with this model.
    pub calls: u64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cached_tokens: i64,
    pub cost_input: f64,
    pub cost_output: f64,
    pub p95_ms: Option<f64>,
}

/// One row of the model price table: USD per million tokens, in force from the start (00:00
/// UTC) of a date until the model's next row. Keyed by model and effective date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PriceRow {
    /// Lowercase; a span's model matches the longest listed name it extends at a `-`, `@` or
    /// `:` boundary (`gpt-4o-2024-08-06` → `gpt-4o`).
    pub model: String,
    /// Preferred for spans from this provider when a model is listed for several.
    pub provider: Option<String>,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// `None`: cached input tokens cost the input price.
    pub cached_input_per_mtok: Option<f64>,
    /// 00:00 UTC of the effective date (epoch ms).
    pub effective_from_ms: i64,
}

/// One model's price rows as the prices page lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelPriceHistory {
    pub model: String,
    /// The row in force now (latest effective date not after now); `None` while every row
    /// is scheduled for later.
    pub current: Option<PriceRow>,
    /// Every row of the model, latest effective date first, scheduled ones included.
    pub history: Vec<PriceRow>,
}

/// The price table, grouped by model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PriceList {
    /// The server's clock (epoch ms): rows effective after it are scheduled.
    pub now_ms: i64,
    /// Models whose name contains the filter, by name.
    pub models: Vec<ModelPriceHistory>,
}

// ----- Alerting (`/alerts`) -----

/// A rule as the editor shows and sends it: every field as typed, so the server can name
/// the field that is wrong. Durations are written `90s`, `5m`, `2h`, `1d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RuleForm {
    pub name: String,
    /// `latency_p50`, `latency_p95`, `latency_p99`, `error_rate`, `guardrail_block_rate`,
    /// `cache_hit_rate`, `cost_per_request`, `cost_per_window`, `trace_volume`.
    pub metric: String,
    /// Latency metrics: a span name instead of the whole trace; empty for traces.
    pub span: String,
    /// Filter grammar over rollup dimensions; empty = all traffic.
    pub scope: String,
    /// `>`, `>=`, `<`, `<=`.
    pub op: String,
    /// Absolute (ms for latency, 0.01 = 1% for rates, dollars for cost), or with a baseline
    /// a ratio (1.5 = 150%).
    pub threshold: String,
    /// Empty, `week_ago` or `median_7d`.
    pub baseline: String,
    pub window: String,
    pub interval: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub keep_firing_for: String,
    pub min_samples: String,
    /// `info`, `warning`, `critical`.
    pub severity: String,
    pub channels: Vec<String>,
    pub repeat_interval: String,
    /// Empty, `model`, `service`, `name`, `span_name` or `tags.<rollup tag>`.
    pub split_by: String,
    /// `ok`, `keep_state`, `alerting`.
    pub no_data: String,
    pub enabled: bool,
}

/// One alert instance of a rule (the rule itself, or one value of its `split_by`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertInstanceRow {
    pub labels: BTreeMap<String, String>,
    /// `inactive`, `pending`, `firing`, `resolved`.
    pub phase: String,
    /// Pending/firing: since when (epoch ms).
    pub since_ms: Option<i64>,
    /// The last value with its unit ("2.31 s", "4.2%"), or `None` for no data.
    pub value: Option<String>,
    pub samples: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertRuleRow {
    pub id: i64,
    pub name: String,
    /// `ui`, or `file` (from `--rules-file`: read-only here).
    pub source: String,
    pub enabled: bool,
    /// One line: "P95 latency > 1.50 s over 5m, for 5m".
    pub condition: String,
    pub severity: String,
    pub channels: Vec<String>,
    /// The rule's overall state: `firing` if any instance fires, else `pending`, else
    /// `inactive`; `error` when the last evaluation failed; `disabled`.
    pub state: String,
    pub instances: Vec<AlertInstanceRow>,
    pub last_eval_ms: Option<i64>,
    /// Why the last evaluation failed.
    pub eval_error: Option<String>,
}

/// One delivery of a notification to a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DeliveryRow {
    pub id: i64,
    pub channel: String,
    /// `pending`, `delivered`, `silenced`, `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub done_ms: Option<i64>,
}

/// A state change of an alert instance (or a repeat notice), with its deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertEventRow {
    pub id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub labels: BTreeMap<String, String>,
    pub at_ms: i64,
    pub from: String,
    pub to: String,
    pub value: Option<f64>,
    /// `value` with its unit ("2.31 s", "4.2%") while the rule exists.
    pub value_text: Option<String>,
    /// `firing`, `repeat`, `resolved` when it notified.
    pub notice: Option<String>,
    pub deliveries: Vec<DeliveryRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertHistory {
    pub events: Vec<AlertEventRow>,
    /// Pass as `before_id` for the next (older) page.
    pub next_before_id: Option<i64>,
}

/// A channel's settings, as the channel form edits them. `config` is the kind's settings as
/// JSON (see `notify::ChannelConfig` in the server: `{"kind": "webhook", "url": ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    /// `email`, `webhook`, `slack`, `pager_duty`.
    pub kind: String,
    pub source: String,
    /// Pretty JSON of the settings.
    pub config: String,
    /// One line: "webhook → https://hooks.example.com/…", "email → oncall@x (smtp.x:587)".
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    pub regex: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SilenceRow {
    pub id: i64,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_ms: i64,
    pub ends_ms: i64,
    pub comment: String,
    pub active: bool,
}

/// `/alerts`: every rule with its state, the channels, the silences, and the presets the
/// "new rule" menu offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertsOverview {
    pub rules: Vec<AlertRuleRow>,
    pub channels: Vec<ChannelRow>,
    pub silences: Vec<SilenceRow>,
    pub presets: Vec<RuleForm>,
    /// Rollup tag dimensions a scope or `split_by` may use.
    pub tag_keys: Vec<String>,
}

/// `/alerts/:id`: the rule, its form, its recent history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertRuleDetail {
    pub rule: AlertRuleRow,
    pub form: RuleForm,
    /// The rule as a `[[rule]]` table, for pasting into a rules file.
    pub toml: String,
    pub history: Vec<AlertEventRow>,
}

/// What a rule would have done over the last 24 h, computed before it is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RulePreview {
    /// Every problem with the form, each naming its field; when not empty nothing else is
    /// filled.
    pub problems: Vec<String>,
    pub condition: String,
    /// Plotters SVG: the metric over 24 h, the threshold line, firing periods shaded.
    pub chart_svg: String,
    /// When it would have fired: `[start, end)` epoch ms (end `None`: still firing).
    pub firing: Vec<(i64, Option<i64>)>,
    /// Evaluations simulated, and how many had enough samples.
    pub steps: u32,
    pub steps_with_data: u32,
}

/// What a signed-in user may do. Ordered: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Reads every page.
    Viewer,
    /// Also changes alert rules, channels, silences and prices.
    Editor,
    /// Also manages users and API keys.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// What an API key may do: send traces (OTLP, the MLflow SDK's logging calls), read them
/// back (MLflow search and get, `/metrics`), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyScopes {
    pub ingest: bool,
    pub read: bool,
}

impl KeyScopes {
    pub const ALL: KeyScopes = KeyScopes {
        ingest: true,
        read: true,
    };

    /// `ingest`, `read` or both, comma-separated.
    ///
    /// # Errors
    /// An unknown or missing scope, named.
    pub fn parse(s: &str) -> Result<KeyScopes, String> {
        let mut scopes = KeyScopes {
            ingest: false,
            read: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "ingest" => scopes.ingest = true,
                "read" => scopes.read = true,
                other => return Err(format!("unknown scope {other:?} (ingest, read)")),
            }
        }
        if !scopes.ingest && !scopes.read {
            return Err("choose at least one scope: ingest, read".into());
        }
        Ok(scopes)
    }
}

impl std::fmt::Display for KeyScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.ingest, self.read) {
            (true, true) => f.write_str("ingest,read"),
            (true, false) => f.write_str("ingest"),
            (false, true) => f.write_str("read"),
            (false, false) => f.write_str(""),
        }
    }
}

/// Who is asking: the signed-in user, or — with authentication off — the local user, who
/// may do everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub username: String,
    pub role: Role,
    /// False in the loopback single-user mode: there is nobody to sign out.
    pub auth_enabled: bool,
    /// Signed in with a one-time password: pages ask for a new one first.
    pub must_change_password: bool,
}

impl Principal {
    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// A user as the admin page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_ms: i64,
    pub disabled: bool,
    pub must_change_password: bool,
}

/// An API key as the admin page lists it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    pub scopes: KeyScopes,
    pub created_by: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
}

/// The access page: users and API keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessOverview {
    pub auth_enabled: bool,
    pub users: Vec<UserView>,
    pub api_keys: Vec<ApiKeyView>,
    /// Keys given with `--api-key` (not managed here): how many.
    pub static_keys: usize,
}

/// Shown once, when made: the key itself, or a user's one-time password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneTimeSecret {
    pub label: String,
    pub secret: String,
}

/// Counts of data a retention run deletes (or would).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionCounts {
    pub traces: i64,
    pub spans: i64,
    /// Traces whose payloads are dropped.
    pub payload_traces: i64,
    pub rollup_cells: i64,
}

/// The retention settings page: the policy, what is stored, and what runs delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionStatus {
    /// Ages as written (`30d`), `None` when kept forever.
    pub payloads: Option<String>,
    pub spans: Option<String>,
    pub rollups: Option<String>,
    pub database: String,
    pub bytes: i64,
    pub traces: i64,
    pub spans_stored: i64,
    /// Traces that still hold their payloads.
    pub payload_traces: i64,
    pub rollup_cells: i64,
    pub oldest_trace_ms: Option<i64>,
    pub now_ms: i64,
    pub next_run_ms: i64,
    /// What the next run would delete, were it now.
    pub next: RetentionCounts,
    /// The last run: when, how long, what it deleted.
    pub last_run_ms: Option<i64>,
    pub last_took_ms: Option<i64>,
    pub last: Option<RetentionCounts>,
}
