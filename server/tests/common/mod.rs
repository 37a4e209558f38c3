//! Test harness: a fresh database per test (a SQLite file in a temp dir, or a new database
//! on the local PostgreSQL), and a real Sightline server on ephemeral ports.
#![allow(dead_code)]

pub mod python;
pub mod receivers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use sightline::http::{self, AppState};
use sightline::receive::{ApiKeys, Limits};
use sightline::store::{self, writer::WriterSettings, Backend};
use tokio::sync::watch;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The PostgreSQL server tests use; a missing server fails the test (never skipped).
pub fn pg_admin_url() -> String {
    std::env::var("SIGHTLINE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub enum TestDb {
    Sqlite { dir: PathBuf },
    Postgres { name: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sightline-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TestDb::Sqlite { dir }
    }

    pub async fn postgres() -> TestDb {
        use sqlx::Connection;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("sightline_test_{}_{n}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&pg_admin_url())
            .await
            .expect("PostgreSQL must be running at SIGHTLINE_TEST_PG (127.0.0.1:5432)");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut conn)
            .await
            .expect("drop db");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create db");
        TestDb::Postgres { name }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { dir } => format!("sqlite://{}", dir.join("sightline.db").display()),
            TestDb::Postgres { name } => {
                let admin = pg_admin_url();
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin);
                format!("{base}/{name}")
            }
        }
    }

    pub fn file(&self) -> Option<PathBuf> {
        match self {
            TestDb::Sqlite { dir } => Some(dir.join("sightline.db")),
            TestDb::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { name } => {
                let name = name.clone();
                // Drop runs inside the test's runtime: use a thread with its own runtime.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async move {
                            use sqlx::Connection;
                            if let Ok(mut c) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                                let _ = sqlx::query(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .execute(&mut c)
                                .await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

/// A running server.
pub struct TestServer {
    pub db: TestDb,
    pub base: String,
    pub addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub backend: Arc<dyn Backend>,
    pub state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub limits: Limits,
    pub writer: WriterSettings,
    pub api_keys: Vec<String>,
    /// PII redaction at ingest; none by default, so fixtures are stored as sent.
    pub redaction: sightline::normalize::RedactionConfig,
    /// Sign-in and API keys required (`--auth=on`).
    pub auth: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            writer: WriterSettings {
                queue_spans: 200_000,
                batch_spans: 20_000,
            },
            api_keys: Vec::new(),
            redaction: Default::default(),
            auth: false,
        }
    }
}

/// Also prints a test's panic message on stdout. A server test's stderr can be pages of
/// Leptos reactive-graph warnings, and CI shows only the start of a failed test's output:
/// stdout comes first there, so the reason a test failed stays in view.
fn panic_message_on_stdout() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            println!("TEST PANIC: {info}");
            default(info);
        }));
    });
}

impl TestServer {
    pub async fn start(db: TestDb) -> TestServer {
        Self::start_with(db, Options::default()).await
    }

    pub async fn start_with(db: TestDb, opts: Options) -> TestServer {
        let backend = store::connect(&db.url()).await.expect("connect + migrate");
        Self::start_backend(db, backend, opts).await
    }

    pub async fn start_backend(db: TestDb, backend: Arc<dyn Backend>, opts: Options) -> TestServer {
        panic_message_on_stdout();
        let keys: Vec<_> = opts
            .api_keys
            .iter()
            .map(|k| sightline::config::Secret(k.clone()))
            .collect();
        let redactor =
            sightline::normalize::Redactor::new(&opts.redaction).expect("redaction config");
        let (state, writer) = http::build_state_with(
            backend.clone(),
            opts.limits,
            opts.writer,
            http::AuthSettings {
                enabled: opts.auth,
                static_keys: ApiKeys::new(&keys),
            },
            Default::default(),
            redactor,
        )
        .await
        .expect("state");
        let (stop, stop_rx) = watch::channel(false);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let g = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_addr = g.local_addr().unwrap();
        let options = http::leptos_options(addr).unwrap();
        let tasks = vec![
            tokio::spawn(http::serve_http(
                l,
                http::app(state.clone(), options),
                stop_rx.clone(),
            )),
            tokio::spawn(http::serve_grpc(g, state.ingest.clone(), stop_rx)),
        ];
        TestServer {
            db,
            base: format!("http://{addr}"),
            addr,
            grpc_addr,
            backend,
            state,
            stop,
            tasks,
            writer: Some(writer),
        }
    }

    /// Stops listeners and drains the writer (a graceful shutdown).
    pub async fn shutdown(mut self) -> TestDb {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        let writer = self.writer.take();
        let TestServer {
            db, state, backend, ..
        } = self;
        drop(state);
        drop(backend);
        if let Some(w) = writer {
            let _ = w.await;
        }
        db
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder().build().unwrap()
    }
}

impl TestServer {
    /// Posts demo traces over OTLP/HTTP protobuf (with `resource`) and expects a 200.
    pub async fn ingest_demo(
        &self,
        traces: &[sightline::demo::DemoTrace],
        resource: &opentelemetry_proto::tonic::resource::v1::Resource,
    ) {
        use prost::Message;
        let body = sightline::demo::encode_request(traces, resource).encode_to_vec();
        let r = TestServer::client()
            .post(format!("{}/v1/traces", self.base))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
}

/// Calls the `list_traces` server function as the web app does, with the server's contract
/// in the Leptos context.
pub async fn list_traces(
    s: &TestServer,
    query: app::types::TraceListQuery,
) -> Result<app::types::TracePage, app::AppError> {
    use leptos::prelude::{provide_context, Owner};
    use leptos::reactive::computed::ScopedFuture;
    let owner = Owner::new();
    let fut = owner.with(|| {
        let contract: Arc<dyn app::contract::Contract> =
            Arc::new(sightline::query::Query::new(s.backend.clone()));
        provide_context(contract);
        ScopedFuture::new(app::api::traces::list_traces(query))
    });
    fut.await
}

pub fn fixture(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Expands `async fn name(db: TestDb)` into `name::sqlite` and `name::postgres` tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::TestDb::sqlite()).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::common::TestDb::postgres().await).await
                }
            }
        )*
    };
}

/// A port free at the time of asking (for a child process to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the `sightline serve` binary on `port` and `db` (web app and OTLP/HTTP on the one
/// port, the OTLP-only listeners off, logs discarded) with `extra` flags, and waits until it
/// answers `/healthz`.
pub async fn spawn_sightline(db: &TestDb, port: u16, extra: &[&str]) -> tokio::process::Child {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .current_dir(python::workspace())
        .args([
            "serve",
            &format!("--listen=127.0.0.1:{port}"),
            "--otlp-http-listen=off",
            "--otlp-grpc-listen=off",
            "--database-url",
            &db.url(),
        ])
        .args(extra)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start sightline");
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return child;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("sightline exited before it was healthy: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("sightline on port {port} not healthy within 30 s");
}
