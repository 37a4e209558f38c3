//! Command line and environment configuration: one clap struct per subcommand, parsed once in
//! `main`, checked by `validate()`, handed down as values. No other code reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sightline",
    version,
    about = "Self-hosted LLM observability server"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Without a subcommand, `sightline` serves (as `cargo leptos serve` runs it).
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: web app, MLflow REST API and OTLP/HTTP on --listen, OTLP/HTTP on
    /// --otlp-http-listen, OTLP/gRPC on --otlp-grpc-listen.
    Serve(Box<ServeConfig>),
    /// Apply database migrations and exit.
    Migrate(DatabaseConfig),
    /// Send the built-in chatbot workload to a running server over OTLP/HTTP.
    Demo(DemoConfig),
    /// Validate an alert rules file (TOML `[[rule]]` tables): prints every problem with its
    /// rule and field, exits non-zero when there is one.
    CheckRules(CheckRulesArgs),
    /// Manage users (for the first admin, or when locked out): add, reset-password, list.
    User(UserArgs),
}

#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserAction {
    /// Add a user; prints a one-time password they replace at first sign-in.
    Add {
        name: String,
        /// viewer, editor or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Print a new one-time password for a user; their sessions end.
    ResetPassword {
        name: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// List users with their roles.
    List {
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

impl UserAction {
    pub fn database(&self) -> &DatabaseConfig {
        match self {
            UserAction::Add { database, .. }
            | UserAction::ResetPassword { database, .. }
            | UserAction::List { database } => database,
        }
    }
}

/// Whether people sign in and clients send keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    On,
    Off,
}

#[derive(Debug, Clone, Args)]
pub struct CheckRulesArgs {
    /// The rules file.
    pub file: PathBuf,
    #[command(flatten)]
    pub rollups: RollupArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: `sqlite://path/file.db` or `postgres://user@host/db`. Default: a SQLite
    /// file in --data-dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory for the default SQLite database.
    #[arg(long, env = "SIGHTLINE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl DatabaseConfig {
    /// The URL to connect to, with the SQLite default filled in.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.is_empty() => u.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("sightline.db").display()),
        }
    }
}

/// A secret whose `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address of the web app, MLflow REST API and OTLP/HTTP `/v1/traces`.
    #[arg(long, env = "SIGHTLINE_LISTEN", default_value = "127.0.0.1:5000")]
    pub listen: SocketAddr,

    /// Address of the OTLP/HTTP-only listener (the OpenTelemetry default port); `off` disables.
    #[arg(
        long,
        env = "SIGHTLINE_OTLP_HTTP_LISTEN",
        default_value = "127.0.0.1:4318"
    )]
    pub otlp_http_listen: String,

    /// Address of the OTLP/gRPC listener; `off` disables.
    #[arg(
        long,
        env = "SIGHTLINE_OTLP_GRPC_LISTEN",
        default_value = "127.0.0.1:4317"
    )]
    pub otlp_grpc_listen: String,

    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Sign-in for pages and API keys for clients. `off` (the default) is for one user on
    /// this machine: everyone is admin, so the server then listens on loopback only.
    #[arg(long, env = "SIGHTLINE_AUTH", value_enum, default_value_t = AuthMode::Off)]
    pub auth: AuthMode,

    /// With --auth=off, listen beyond loopback anyway (a proxy in front authenticates).
    #[arg(long, env = "SIGHTLINE_ALLOW_OPEN_ACCESS")]
    pub allow_open_access: bool,

    /// API keys with every scope (comma-separated), besides those made on the Access page.
    /// With --auth=off, ingest requires one of these when any is given, and is open otherwise.
    #[arg(long = "api-key", env = "SIGHTLINE_API_KEYS", value_delimiter = ',')]
    pub api_keys: Vec<Secret>,

    #[command(flatten)]
    pub ingest: IngestConfig,

    #[command(flatten)]
    pub rollups: RollupArgs,

    #[command(flatten)]
    pub alerts: AlertArgs,

    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Also feed the built-in chatbot workload to this server, so a first run shows live data.
    #[arg(long, env = "SIGHTLINE_DEMO")]
    pub demo: bool,

    /// Demo traffic rate, traces per second (with --demo).
    #[arg(long, env = "SIGHTLINE_DEMO_RATE", default_value_t = 5.0)]
    pub demo_rate: f64,
}

/// How long data is kept; each unset kind is kept forever. Runs every 15 minutes.
#[derive(Debug, Clone, Args)]
pub struct RetentionArgs {
    /// Drop span payloads (inputs, outputs, attributes, events) and previews of traces older
    /// than this, e.g. `30d`; their trees, timings, models, tokens and cost stay.
    #[arg(long, env = "SIGHTLINE_RETAIN_PAYLOADS")]
    pub retain_payloads: Option<crate::alerts::rule::Span>,
    /// Delete traces (with their spans and tags) older than this, e.g. `90d`.
    #[arg(long, env = "SIGHTLINE_RETAIN_SPANS")]
    pub retain_spans: Option<crate::alerts::rule::Span>,
    /// Delete rollup cells (dashboards, alert baselines, `/metrics`) older than this, e.g. `400d`.
    #[arg(long, env = "SIGHTLINE_RETAIN_ROLLUPS")]
    pub retain_rollups: Option<crate::alerts::rule::Span>,
}

impl RetentionArgs {
    pub fn policy(&self) -> crate::retention::Policy {
        crate::retention::Policy {
            payloads: self.retain_payloads,
            spans: self.retain_spans,
            rollups: self.retain_rollups,
        }
    }
}

/// Alert evaluation and notification.
#[derive(Debug, Clone, Args)]
pub struct AlertArgs {
    /// Rules (and channels) kept in version control: `[[rule]]` and `[[channel]]` tables.
    /// Loaded at start, replacing the rules the file defined before; an invalid file stops
    /// the server with every problem listed (`sightline check-rules` checks it beforehand).
    #[arg(long, env = "SIGHTLINE_RULES_FILE")]
    pub rules_file: Option<PathBuf>,

    /// The URL users reach Sightline at, for links in notifications
    /// (default: `http://<--listen>`).
    #[arg(long, env = "SIGHTLINE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How often the scheduler looks for due rules and pending notifications. Each rule
    /// runs on its own `interval`; this is only the resolution.
    #[arg(long, env = "SIGHTLINE_ALERT_TICK", default_value = "5s")]
    pub alert_tick: crate::alerts::rule::Span,
}

#[derive(Debug, Clone, Args)]
pub struct IngestConfig {
    /// Largest request body accepted, in bytes, as sent (compressed). Larger → 413.
    #[arg(long, env = "SIGHTLINE_MAX_REQUEST_BYTES", default_value_t = 32 << 20)]
    pub max_request_bytes: usize,

    /// Largest request body after decompression, in bytes (guards against zip bombs).
    #[arg(long, env = "SIGHTLINE_MAX_DECODED_BYTES", default_value_t = 128 << 20)]
    pub max_decoded_bytes: usize,

    /// OTLP/HTTP request bodies held at once, in bytes; beyond it a request is refused with
    /// 503 + Retry-After before its body is read (memory stays bounded under any load).
    #[arg(long, env = "SIGHTLINE_MAX_INFLIGHT_BYTES", default_value_t = 256 << 20)]
    pub max_inflight_bytes: usize,

    /// Spans that may wait for the writer; beyond it ingest answers 503 with Retry-After.
    #[arg(long, env = "SIGHTLINE_QUEUE_SPANS", default_value_t = 200_000)]
    pub queue_spans: usize,

    /// Most spans committed in one transaction (group commit).
    #[arg(long, env = "SIGHTLINE_BATCH_SPANS", default_value_t = 20_000)]
    pub batch_spans: usize,

    /// PII detectors applied at ingest, before anything is stored, to every attribute, event,
    /// status message and MLflow trace info value whose key has no --redact-key policy
    /// (comma-separated): email, phone, credit_card, ip, secret, --redact-pattern names,
    /// `all` or `none`.
    #[arg(
        long = "redact",
        env = "SIGHTLINE_REDACT",
        value_delimiter = ',',
        default_value = crate::normalize::redact::DEFAULT_DETECTORS
    )]
    pub redact: Vec<String>,

    /// A custom PII detector, `name=regex` (repeatable; in the environment, one per line).
    #[arg(
        long = "redact-pattern",
        env = "SIGHTLINE_REDACT_PATTERNS",
        value_delimiter = '\n'
    )]
    pub redact_patterns: Vec<String>,

    /// The detectors for keys matching a glob, `glob=detector|detector`, `glob=all` or
    /// `glob=none` (repeatable or comma-separated; the first matching glob wins), e.g.
    /// `user.email=none` or `http.client_ip=ip`.
    #[arg(
        long = "redact-key",
        env = "SIGHTLINE_REDACT_KEYS",
        value_delimiter = ','
    )]
    pub redact_keys: Vec<String>,
}

impl IngestConfig {
    pub fn redaction(&self) -> crate::normalize::RedactionConfig {
        crate::normalize::RedactionConfig {
            detectors: self.redact.clone(),
            patterns: self.redact_patterns.clone(),
            keys: self.redact_keys.clone(),
        }
    }
}

/// What the per-minute rollups keep as dimensions (dashboards, `/metrics`, alert rules).
#[derive(Debug, Clone, Args)]
pub struct RollupArgs {
    /// Trace tags kept as rollup dimensions (comma-separated). Every combination of their
    /// values is a series: keep them few and low-cardinality.
    #[arg(
        long = "rollup-tags",
        env = "SIGHTLINE_ROLLUP_TAGS",
        value_delimiter = ',',
        default_value = "intent,model_used"
    )]
    pub tags: Vec<String>,

    /// The trace tag whose value `true` (or 1, yes, hit) marks a cache hit.
    #[arg(long, env = "SIGHTLINE_CACHE_HIT_TAG", default_value = "cache_hit")]
    pub cache_hit_tag: String,

    /// Span attributes whose true value (a boolean or its text) marks a guardrail block
    /// (comma-separated). Applies to spans ingested from then on.
    #[arg(
        long,
        env = "SIGHTLINE_GUARDRAIL_BLOCKED_KEYS",
        value_delimiter = ',',
        default_value = crate::normalize::conventions::DEFAULT_GUARDRAIL_BLOCKED_KEYS
    )]
    pub guardrail_blocked_keys: Vec<String>,

    /// Span attributes whose false value (a boolean or its text) marks a guardrail block
    /// (comma-separated). Applies to spans ingested from then on.
    #[arg(
        long,
        env = "SIGHTLINE_GUARDRAIL_PASSED_KEYS",
        value_delimiter = ',',
        default_value = crate::normalize::conventions::DEFAULT_GUARDRAIL_PASSED_KEYS
    )]
    pub guardrail_passed_keys: Vec<String>,

    /// Tail sampling: the share of traces, neither errors nor slow, that keep their span
    /// payloads (inputs, outputs, attributes, events), 0 to 1. Error traces and slow traces
    /// always keep them; rollups, dashboards and alerts count every trace either way.
    #[arg(long, env = "SIGHTLINE_PAYLOAD_SAMPLE_RATIO", default_value_t = 1.0)]
    pub payload_sample_ratio: f64,

    /// Traces at least this long (root span) keep their payloads whatever the ratio.
    #[arg(long, env = "SIGHTLINE_PAYLOAD_KEEP_SLOWER_THAN", default_value = "5s")]
    pub payload_keep_slower_than: crate::alerts::rule::Span,
}

impl RollupArgs {
    pub fn to_config(&self) -> crate::rollup::RollupConfig {
        crate::rollup::RollupConfig {
            tag_keys: self
                .tags
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            cache_hit_key: self.cache_hit_tag.trim().to_string(),
            guardrails: crate::normalize::GuardrailKeys::new(
                &self.guardrail_blocked_keys,
                &self.guardrail_passed_keys,
            ),
            payload_sampling: crate::store::sampling::PayloadSampling {
                keep_ratio: self.payload_sample_ratio,
                slow_ns: self.payload_keep_slower_than.0.saturating_mul(1_000_000),
            },
            ..Default::default()
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_request_bytes: 32 << 20,
            max_decoded_bytes: 128 << 20,
            max_inflight_bytes: 256 << 20,
            queue_spans: 200_000,
            batch_spans: 20_000,
            redact: crate::normalize::RedactionConfig::standard().detectors,
            redact_patterns: Vec::new(),
            redact_keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DemoConfig {
    /// Base URL of the Sightline (or any OTLP/HTTP) server.
    #[arg(
        long,
        env = "SIGHTLINE_DEMO_TARGET",
        default_value = "http://127.0.0.1:5000"
    )]
    pub target: String,

    /// Traces per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,

    /// Traces per OTLP request.
    #[arg(long, default_value_t = 5)]
    pub batch: usize,

    /// Stop after this many traces (default: run until interrupted).
    #[arg(long)]
    pub total: Option<u64>,

    /// Workload seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Before going live, send traces spread over this many past minutes.
    #[arg(long, default_value_t = 0)]
    pub backfill_minutes: u32,

    /// Experiment to send to (`x-mlflow-experiment-id`); default experiment 0.
    #[arg(long)]
    pub experiment_id: Option<String>,

    /// API key sent as `Authorization: Bearer`.
    #[arg(long, env = "SIGHTLINE_DEMO_API_KEY")]
    pub api_key: Option<Secret>,
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{flag}: {message}")]
    Invalid { flag: &'static str, message: String },
}

/// Parses a listener flag: an address, or `off`.
pub fn optional_addr(flag: &'static str, v: &str) -> Result<Option<SocketAddr>, Error> {
    if v.eq_ignore_ascii_case("off") || v.is_empty() {
        return Ok(None);
    }
    v.parse().map(Some).map_err(|e| Error::Invalid {
        flag,
        message: format!("{v:?} is not an address like 127.0.0.1:4318 or `off` ({e})"),
    })
}

impl ServeConfig {
    pub fn public_url(&self) -> String {
        match &self.alerts.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// With authentication off everyone who can connect is admin: refuse to listen beyond
    /// loopback unless told (`--allow-open-access`). The OTLP-only ports may when
    /// `--api-key` guards them.
    fn check_exposure(
        &self,
        otlp_http: Option<SocketAddr>,
        otlp_grpc: Option<SocketAddr>,
    ) -> Result<(), Error> {
        if self.auth == AuthMode::On || self.allow_open_access {
            return Ok(());
        }
        let mut open = vec![("--listen", self.listen)];
        if self.api_keys.is_empty() {
            open.extend(otlp_http.map(|a| ("--otlp-http-listen", a)));
            open.extend(otlp_grpc.map(|a| ("--otlp-grpc-listen", a)));
        }
        if let Some((flag, addr)) = open.into_iter().find(|(_, a)| !a.ip().is_loopback()) {
            return Err(Error::Invalid {
                flag,
                message: format!(
                    "refusing to listen on {addr} with --auth=off: anyone who can reach it \
                     could read every trace and change every rule. Use --auth=on, a loopback \
                     address, or --allow-open-access if a proxy in front authenticates"
                ),
            });
        }
        Ok(())
    }

    /// Fails fast on settings that cannot work, with the flag named.
    pub fn validate(&self) -> Result<(), Error> {
        let otlp_http = optional_addr("--otlp-http-listen", &self.otlp_http_listen)?;
        let otlp_grpc = optional_addr("--otlp-grpc-listen", &self.otlp_grpc_listen)?;
        self.check_exposure(otlp_http, otlp_grpc)?;
        let url = self.database.url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return Err(Error::Invalid {
                flag: "--database-url",
                message: format!("unsupported scheme in {url:?}: use sqlite:// or postgres://"),
            });
        }
        if self.ingest.queue_spans == 0 || self.ingest.batch_spans == 0 {
            return Err(Error::Invalid {
                flag: "--queue-spans/--batch-spans",
                message: "must be at least 1".into(),
            });
        }
        crate::normalize::Redactor::new(&self.ingest.redaction()).map_err(|e| Error::Invalid {
            flag: "--redact",
            message: e.to_string(),
        })?;
        if self.api_keys.iter().any(|k| k.0.trim().len() < 8) {
            return Err(Error::Invalid {
                flag: "--api-key",
                message: "API keys must be at least 8 characters".into(),
            });
        }
        if !(0.0..=1.0).contains(&self.rollups.payload_sample_ratio) {
            return Err(Error::Invalid {
                flag: "--payload-sample-ratio",
                message: format!(
                    "{} is not a share between 0 and 1",
                    self.rollups.payload_sample_ratio
                ),
            });
        }
        for (flag, age) in [
            ("--retain-payloads", self.retention.retain_payloads),
            ("--retain-spans", self.retention.retain_spans),
            ("--retain-rollups", self.retention.retain_rollups),
        ] {
            if age.is_some_and(|a| a < crate::alerts::rule::Span(3_600_000)) {
                return Err(Error::Invalid {
                    flag,
                    message: "must be at least 1h (e.g. 30d)".into(),
                });
            }
        }
        if self.alerts.alert_tick < crate::alerts::rule::Span(1000) {
            return Err(Error::Invalid {
                flag: "--alert-tick",
                message: "must be at least 1s".into(),
            });
        }
        if let Some(u) = &self.alerts.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(Error::Invalid {
                    flag: "--public-url",
                    message: format!("{u:?} must start with http:// or https://"),
                });
            }
        }
        if !(self.demo_rate > 0.0 && self.demo_rate <= 10_000.0) {
            return Err(Error::Invalid {
                flag: "--demo-rate",
                message: "must be in (0, 10000] traces per second".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeConfig {
        let mut argv = vec!["sightline", "serve"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).expect("parses").command {
            Some(Command::Serve(cfg)) => *cfg,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn auth_off_refuses_to_listen_beyond_loopback() {
        assert!(serve(&[]).validate().is_ok());
        let err = serve(&["--listen", "0.0.0.0:5000"])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--listen") && err.contains("--auth=on"),
            "{err}"
        );
        assert!(serve(&["--listen", "0.0.0.0:5000", "--auth", "on"])
            .validate()
            .is_ok());
        assert!(serve(&["--listen", "0.0.0.0:5000", "--allow-open-access"])
            .validate()
            .is_ok());
        // An OTLP-only port beyond loopback needs a key to guard it.
        let err = serve(&["--otlp-grpc-listen", "0.0.0.0:4317"])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("--otlp-grpc-listen"), "{err}");
        assert!(serve(&[
            "--otlp-grpc-listen",
            "0.0.0.0:4317",
            "--api-key",
            "a-long-ingest-key"
        ])
        .validate()
        .is_ok());
        assert!(serve(&["--listen", "[::1]:5000"]).validate().is_ok());
    }
}
