//! The routers and listeners: the main port (web app, MLflow REST API, OTLP/HTTP, health),
//! the OTLP/HTTP-only port and the OTLP/gRPC port; graceful shutdown that drains the writer.
//! Routes only: handlers live in `receive/*`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{middleware::Access, Gate};
use crate::config::{optional_addr, ServeConfig};
use crate::error::MlflowError;
use crate::normalize::{LivePrices, PriceTable, Redactor};
use crate::receive::{mlflow, mlflow_read, otlp_grpc, otlp_http, ApiKeys, Ingest, Limits};
use crate::store::{self, writer, Backend};

/// Shared by every route.
#[derive(Clone)]
pub struct AppState {
    pub ingest: Arc<Ingest>,
    pub backend: Arc<dyn Backend>,
    /// The dimensions the backend's writer rolls up (what dashboards may scope by).
    pub rollups: crate::rollup::RollupConfig,
    /// Where users reach this server (links in notifications and test sends).
    pub public_url: String,
    /// Who may do what (keys, sessions).
    pub gate: Arc<Gate>,
    /// The retention job, shown on the settings page.
    pub retention: Arc<crate::retention::Retention>,
}

/// Access control: whether people sign in and clients send keys (`--auth`), and the keys
/// given with `--api-key`. From bare keys: authentication off, keys required for ingest if
/// any are given.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub enabled: bool,
    pub static_keys: ApiKeys,
}

impl From<ApiKeys> for AuthSettings {
    fn from(static_keys: ApiKeys) -> Self {
        AuthSettings {
            enabled: false,
            static_keys,
        }
    }
}

/// Builds the ingest state: prices loaded, writer started. The join handle ends after every
/// `Ingest` clone is dropped and the queue is drained.
pub async fn build_state(
    backend: Arc<dyn Backend>,
    limits: Limits,
    settings: writer::WriterSettings,
    api_keys: ApiKeys,
) -> anyhow::Result<(AppState, tokio::task::JoinHandle<()>)> {
    build_state_with(
        backend,
        limits,
        settings,
        api_keys,
        Default::default(),
        Redactor::off(),
    )
    .await
}

/// [`build_state`] for `rollups` (the dimensions dashboards may scope by, and the guardrail
/// keys ingest marks blocks with) and PII redaction by `redactor`.
pub async fn build_state_with(
    backend: Arc<dyn Backend>,
    limits: Limits,
    settings: writer::WriterSettings,
    auth: impl Into<AuthSettings>,
    rollups: crate::rollup::RollupConfig,
    redactor: Redactor,
) -> anyhow::Result<(AppState, tokio::task::JoinHandle<()>)> {
    let auth = auth.into();
    let gate = Arc::new(Gate::new(auth.enabled, auth.static_keys, backend.access()));
    let prices = LivePrices::new(PriceTable::new(
        backend
            .load_prices()
            .await
            .context("loading model prices")?,
    ));
    let (writer, task) = writer::spawn(backend.clone(), settings);
    let ingest = Arc::new(
        Ingest::new(writer, backend.clone(), prices, limits, gate.clone())
            .with_guardrails(rollups.guardrails.clone())
            .with_redactor(redactor),
    );
    Ok((
        AppState {
            ingest,
            retention: Arc::new(crate::retention::Retention::new(
                backend.retention(),
                Default::default(),
                store::now_ms(),
            )),
            backend,
            rollups,
            public_url: "http://127.0.0.1:5000".into(),
            gate,
        },
        task,
    ))
}

/// OTLP/HTTP alone (the :4318 listener).
pub fn otlp_router(state: &AppState) -> Router {
    Router::new()
        .route("/v1/traces", post(otlp_http::export))
        .layer(DefaultBodyLimit::disable())
        .with_state(state.ingest.clone())
}

/// MLflow's REST write path, mounted under `/api` and `/ajax-api`.
fn mlflow_router(state: &AppState) -> Router {
    let max = state.ingest.limits.max_request_bytes;
    Router::new()
        .route(
            "/2.0/mlflow/experiments/get-by-name",
            get(mlflow::get_experiment_by_name),
        )
        .route("/2.0/mlflow/experiments/get", get(mlflow::get_experiment))
        .route(
            "/2.0/mlflow/experiments/create",
            post(mlflow::create_experiment),
        )
        .route("/3.0/mlflow/server-info", get(mlflow::server_info))
        .route("/3.0/mlflow/traces", post(mlflow::start_trace_v3))
        // Read and manage (receive/mlflow_read.rs). The static `search`, `get`, `batchGet`
        // and `batchGetInfos` segments take precedence over `{id}`.
        .route(
            "/3.0/mlflow/traces/search",
            post(mlflow_read::search_traces),
        )
        .route("/3.0/mlflow/traces/get", get(mlflow_read::get_trace))
        .route(
            "/3.0/mlflow/traces/batchGet",
            get(mlflow_read::batch_get_traces),
        )
        .route(
            "/3.0/mlflow/traces/batchGetInfos",
            post(mlflow_read::batch_get_trace_infos),
        )
        .route("/3.0/mlflow/traces/{id}", get(mlflow_read::get_trace_info))
        .route(
            "/2.0/mlflow/traces/{id}/tags",
            patch(mlflow_read::set_trace_tag).delete(mlflow_read::delete_trace_tag),
        )
        .route(
            "/3.0/mlflow/traces/{id}/tags",
            patch(mlflow_read::set_trace_tag).delete(mlflow_read::delete_trace_tag),
        )
        .route(
            "/2.0/mlflow/traces/delete-traces",
            post(mlflow_read::delete_traces),
        )
        .route(
            "/3.0/mlflow/traces/delete-traces",
            post(mlflow_read::delete_traces),
        )
        .route(
            "/2.0/mlflow-artifacts/artifacts/{*path}",
            put(mlflow::put_artifact),
        )
        .fallback(|| async {
            MlflowError::new(
                "ENDPOINT_NOT_FOUND",
                "No such MLflow endpoint on this server",
            )
        })
        .layer(DefaultBodyLimit::max(max))
        .with_state(state.ingest.clone())
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.backend.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Readiness check failed.");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// The main router: pages, server functions, MLflow API, OTLP/HTTP and health.
pub fn app(state: AppState, leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(app::App);
    // The prices page edits the same table ingest prices with.
    let contract: Arc<dyn app::contract::Contract> = Arc::new(
        crate::query::Query::new(state.backend.clone())
            .sharing_prices(state.ingest.prices.clone())
            .with_rollups(state.rollups.clone())
            .with_public_url(state.public_url.clone())
            .with_retention(state.retention.clone()),
    );
    let accounts: Arc<dyn app::contract::Accounts> =
        Arc::new(crate::auth::accounts::Accounts::new(state.gate.clone()));
    let pages = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            {
                let contract = contract.clone();
                move || {
                    provide_context(contract.clone());
                    provide_context(accounts.clone());
                }
            },
            {
                let options = leptos_options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(pages_fallback)
        .with_state(leptos_options);
    let mlflow = mlflow_router(&state);
    let sign_in = Router::new()
        .route("/auth/login", post(crate::auth::routes::sign_in))
        .route("/auth/logout", post(crate::auth::routes::sign_out))
        .with_state(state.gate.clone());
    let access = Access {
        gate: state.gate.clone(),
        public_url: state.public_url.clone(),
    };
    let router = Router::new()
        .nest("/api", mlflow.clone())
        .nest("/ajax-api", mlflow)
        .route("/version", get(mlflow::version))
        .merge(sign_in)
        .merge(otlp_router(&state))
        .route("/health", get(|| async { "OK" }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz).with_state(state.clone()))
        .route(
            "/metrics",
            get(crate::metrics::handler).with_state(crate::metrics::Metrics::new(
                state.backend.clone(),
                state.rollups.clone(),
            )),
        )
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            access,
            crate::auth::middleware::guard,
        ))
        .layer(TraceLayer::new_for_http());
    SECURITY_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

/// Unknown paths: a GET is a browser's (a static file, or the app's 404 page); any other
/// method is an API client's, which gets a JSON 404 that names what it asked for rather than
/// an HTML page it cannot parse, and a warning in the log (a client expecting an endpoint
/// we do not have).
async fn pages_fallback(
    uri: axum::http::Uri,
    state: State<LeptosOptions>,
    req: Request,
) -> Response {
    let method = req.method().clone();
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return leptos_axum::file_and_error_handler(app::shell)(uri, state, req).await;
    }
    tracing::warn!(%method, path = %uri.path(), "Request for an endpoint this server does not have.");
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error_code": "ENDPOINT_NOT_FOUND",
            "message": format!("No endpoint {method} {} on this server", uri.path()),
        })),
    )
        .into_response()
}

/// Headers on every response of the web app and its APIs: no MIME sniffing (a span's text
/// served as JSON must never run as a page), no framing by other sites (clickjacking), no
/// plugins, no `<base>` rewriting, and no referrer leaking trace URLs to other sites. The
/// policy leaves scripts alone: Leptos hydrates from an inline script.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
    ),
    (header::REFERRER_POLICY, "same-origin"),
];

/// Runs `sightline serve` until SIGINT/SIGTERM, then drains: listeners stop accepting,
/// in-flight requests finish, the writer commits what is queued.
pub async fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    let url = cfg.database.url();
    let rollups = cfg.rollups.to_config();
    let redactor = Redactor::new(&cfg.ingest.redaction())?;
    tracing::info!(
        detectors = ?redactor.default_detectors(),
        key_policies = cfg.ingest.redact_keys.len(),
        "PII redaction at ingest."
    );
    let backend = store::connect_with(&url, rollups.clone())
        .await
        .with_context(|| format!("opening database {url}"))?;
    tracing::info!(
        backend = backend.name(),
        "Database ready, migrations applied."
    );
    let limits = Limits {
        max_request_bytes: cfg.ingest.max_request_bytes,
        max_decoded_bytes: cfg.ingest.max_decoded_bytes,
        max_inflight_bytes: cfg.ingest.max_inflight_bytes,
        ..Limits::default()
    };
    let settings = writer::WriterSettings {
        queue_spans: cfg.ingest.queue_spans,
        batch_spans: cfg.ingest.batch_spans,
    };
    load_rules_file(&*backend, &cfg).await?;
    let engine =
        crate::alerts::engine::Engine::new(backend.clone(), rollups.clone(), cfg.public_url());
    let retention = Arc::new(crate::retention::Retention::new(
        backend.retention(),
        cfg.retention.policy(),
        store::now_ms(),
    ));
    tracing::info!(policy = ?retention.policy, "Retention.");
    let jobs = crate::schedule::Jobs::start(
        backend.clone(),
        engine,
        std::time::Duration::from_millis(cfg.alerts.alert_tick.0 as u64),
        retention.clone(),
    )
    .await
    .context("starting the scheduler")?;
    let auth = AuthSettings {
        enabled: cfg.auth == crate::config::AuthMode::On,
        static_keys: ApiKeys::new(&cfg.api_keys),
    };
    if auth.enabled {
        announce_first_admin(backend.access().as_ref()).await?;
    } else {
        tracing::info!("Authentication is off: everyone who can connect is admin.");
    }
    let (mut state, writer_task) =
        build_state_with(backend, limits, settings, auth, rollups, redactor).await?;
    state.public_url = cfg.public_url();
    state.retention = retention;

    let options = leptos_options(cfg.listen)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let main_listener = bind(cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "Web app, MLflow API and OTLP/HTTP listening.");
    tasks.push(tokio::spawn(serve_http(
        main_listener,
        app(state.clone(), options),
        stop_rx.clone(),
    )));
    if let Some(addr) = optional_addr("--otlp-http-listen", &cfg.otlp_http_listen)? {
        let l = bind(addr).await?;
        tracing::info!(%addr, "OTLP/HTTP listening.");
        tasks.push(tokio::spawn(serve_http(
            l,
            otlp_router(&state).layer(TraceLayer::new_for_http()),
            stop_rx.clone(),
        )));
    }
    if let Some(addr) = optional_addr("--otlp-grpc-listen", &cfg.otlp_grpc_listen)? {
        let l = bind(addr).await?;
        tracing::info!(%addr, "OTLP/gRPC listening.");
        tasks.push(tokio::spawn(serve_grpc(
            l,
            state.ingest.clone(),
            stop_rx.clone(),
        )));
    }
    let demo = cfg.demo.then(|| {
        let settings = crate::demo::sender::DemoSettings {
            target: format!("http://{}", cfg.listen),
            rate: cfg.demo_rate,
            batch: 5,
            seed: 42,
            total: None,
            api_key: cfg.api_keys.first().map(|k| k.0.clone()),
            experiment_id: None,
            backfill_minutes: 10,
        };
        tracing::info!(rate = cfg.demo_rate, "Demo traffic enabled.");
        tokio::spawn(crate::demo::sender::run(settings, stop_rx.clone()))
    });
    drop(state);

    shutdown_signal().await;
    tracing::info!("Shutting down: draining requests and the write queue.");
    let _ = stop_tx.send(true);
    if let Some(d) = demo {
        let _ = d.await;
    }
    for t in tasks {
        t.await.context("listener task panicked")??;
    }
    writer_task.await.context("writer task panicked")?;
    // Lets a notification being sent be recorded as sent, so a restart does not send it again.
    jobs.stop().await;
    tracing::info!("Stopped.");
    Ok(())
}

/// With authentication on and no user yet: makes `admin` and prints its one-time password
/// once, on stderr, outside the log format so it stands out.
async fn announce_first_admin(store: &dyn store::access::AccessStore) -> anyhow::Result<()> {
    if let Some((user, password)) = crate::auth::accounts::first_admin(store)
        .await
        .context("creating the first admin")?
    {
        eprintln!(
            "\n  Sightline: first admin created.\n    user:              {user}\n    \
             one-time password: {password}\n  Sign in and choose a new password; this one \
             is not shown again\n  (`sightline user reset-password {user}` makes another).\n"
        );
    }
    Ok(())
}

/// Applies `--rules-file`: its channels and rules replace those it defined before. An
/// invalid file stops the start with every problem listed.
async fn load_rules_file(backend: &dyn store::Backend, cfg: &ServeConfig) -> anyhow::Result<()> {
    let Some(path) = &cfg.alerts.rules_file else {
        return Ok(());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --rules-file {}", path.display()))?;
    let keys = cfg.rollups.to_config().dimension_keys();
    let file = crate::alerts::rule::RulesFile::parse(&text, &keys)
        .map_err(|problems| anyhow::anyhow!("--rules-file {}:\n{problems}", path.display()))?;
    let store = backend.alerts();
    let now = store::now_ms();
    let channels: Vec<_> = file
        .channel
        .iter()
        .map(|c| (c.name.clone(), c.config.clone()))
        .collect();
    let c = store.sync_file_channels(&channels, now).await?;
    let r = store.sync_file_rules(&file.rule, now).await?;
    tracing::info!(
        file = %path.display(),
        rules = file.rule.len(),
        channels = channels.len(),
        "Rules file loaded (rules created/updated/removed {:?}, channels {:?}).",
        r,
        c
    );
    Ok(())
}

/// Leptos settings: from cargo-leptos' environment when it runs us, else the workspace
/// defaults (site in `target/site`), with the site address set to `--listen`.
pub fn leptos_options(listen: SocketAddr) -> anyhow::Result<LeptosOptions> {
    let mut options = get_configuration(None)
        .context("reading Leptos configuration")?
        .leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "sightline".into();
    }
    options.site_addr = listen;
    Ok(options)
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

async fn wait_stop(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

pub async fn serve_http(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(wait_stop(stop))
        .await
        .context("HTTP server failed")
}

pub async fn serve_grpc(
    listener: tokio::net::TcpListener,
    ingest: Arc<Ingest>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tonic::transport::Server::builder()
        .add_service(otlp_grpc::service(ingest))
        .serve_with_incoming_shutdown(incoming, wait_stop(stop))
        .await
        .context("gRPC server failed")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
