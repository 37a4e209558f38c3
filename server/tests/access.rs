//! Access control against a real server on both databases: signing in (argon2 passwords,
//! HttpOnly session cookies), one-time passwords that must be replaced, roles enforced by
//! every server function that changes something, API keys with scopes, stored hashed and
//! revocable, CSRF refusal, and the first admin from the CLI and at first start.

mod common;

use std::time::Duration;

use app::types::OneTimeSecret;
use common::{Options, TestDb, TestServer};
use leptos::server_fn::ServerFn;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// A browser: follows no redirects (tests look at them), keeps the session cookie.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new(s: &TestServer) -> Browser {
        Browser {
            base: s.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    fn with_cookie(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => r.header("cookie", c),
            None => r,
        }
    }

    /// Posts the sign-in form; answers where it sent us. Keeps the cookie it set.
    async fn sign_in(&mut self, user: &str, password: &str, next: &str) -> String {
        let r = self
            .client
            .post(format!("{}/auth/login", self.base))
            .form(&[("username", user), ("password", password), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        if let Some(c) = r.headers().get("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax"), "{c}");
            self.cookie = Some(c.split(';').next().unwrap().to_string());
        }
        location(&r)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.with_cookie(self.client.get(format!("{}{path}", self.base)))
            .send()
            .await
            .unwrap()
    }

    async fn call<F: ServerFn>(&self, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let r = self
            .with_cookie(self.client.post(format!("{}{}", self.base, F::PATH)))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, body)
    }

    async fn secret<F: ServerFn>(&self, fields: &[(&str, &str)]) -> String {
        let (status, body) = self.call::<F>(fields).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value::<OneTimeSecret>(body)
            .unwrap()
            .secret
    }

    /// Signs in with a one-time password and replaces it with `new`.
    async fn first_sign_in(&mut self, user: &str, one_time: &str, new: &str) {
        assert_eq!(self.sign_in(user, one_time, "/traces").await, "/traces");
        // Until a new password is chosen, pages lead to the account page and server
        // functions other than changing it are refused.
        assert_eq!(location(&self.get("/traces").await), "/account");
        let (status, body) = self
            .call::<app::api::prices::ListPrices>(&[("model", "")])
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body.to_string().contains("one-time password"), "{body}");
        let (status, body) = self
            .call::<app::api::access::ChangePassword>(&[
                ("current", one_time),
                ("new", new),
                ("confirm", new),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn auth_server(db: TestDb) -> TestServer {
    TestServer::start_with(
        db,
        Options {
            auth: true,
            ..Options::default()
        },
    )
    .await
}

async fn first_admin(s: &TestServer) -> String {
    let (user, password) = sightline::auth::accounts::first_admin(s.backend.access().as_ref())
        .await
        .unwrap()
        .expect("no user yet");
    assert_eq!(user, "admin");
    // Once only.
    assert!(
        sightline::auth::accounts::first_admin(s.backend.access().as_ref())
            .await
            .unwrap()
            .is_none()
    );
    password
}

fn price(model: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("model", model),
        ("provider", "acme"),
        ("input_per_mtok", "1"),
        ("output_per_mtok", "2"),
        ("cached_input_per_mtok", ""),
        ("effective_from", "2026-01-01"),
    ]
}

async fn roles_and_sessions(db: TestDb) {
    let s = auth_server(db).await;
    let mut nobody = Browser::new(&s);
    // Signed out: pages lead to the sign-in page and back, server functions answer 401.
    let r = nobody.get("/traces?q=status%3Aerror").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?next=/traces%3Fq%3Dstatus%253Aerror");
    let (status, _) = nobody.call::<app::api::access::Whoami>(&[]).await;
    assert_eq!(status, 401);
    assert_eq!(nobody.get("/healthz").await.status(), 200);

    let one_time = first_admin(&s).await;
    // A wrong password says so, without a session.
    assert_eq!(
        nobody.sign_in("admin", "wrong password", "/").await,
        "/login?error=invalid&next=/"
    );
    assert!(nobody.cookie.is_none());
    // Redirects after sign-in stay on this server.
    let mut admin = Browser::new(&s);
    assert_eq!(
        admin.sign_in("admin", &one_time, "//evil.example/").await,
        "/"
    );
    admin
        .first_sign_in("admin", &one_time, "admin password 1")
        .await;
    // (Pages render only in the browser tests: the workspace build hydrates `app`.)
    assert_eq!(admin.call::<app::api::access::Whoami>(&[]).await.0, 200);
    assert_eq!(
        admin
            .call::<app::api::prices::SavePrice>(&price("m-admin"))
            .await
            .0,
        200
    );

    // The admin adds a viewer and an editor; each signs in with a one-time password.
    let viewer_otp = admin
        .secret::<app::api::access::CreateUser>(&[("username", "vera"), ("role", "viewer")])
        .await;
    let editor_otp = admin
        .secret::<app::api::access::CreateUser>(&[("username", "ed"), ("role", "editor")])
        .await;
    let (status, body) = admin
        .call::<app::api::access::CreateUser>(&[("username", "vera"), ("role", "viewer")])
        .await;
    assert_eq!(status, 400, "{body}");
    let mut viewer = Browser::new(&s);
    viewer
        .first_sign_in("vera", &viewer_otp, "viewer password 1")
        .await;
    let mut editor = Browser::new(&s);
    editor
        .first_sign_in("ed", &editor_otp, "editor password 1")
        .await;

    // Viewers read; editors change prices and rules; only admins manage access.
    assert_eq!(
        viewer
            .call::<app::api::prices::ListPrices>(&[("model", "")])
            .await
            .0,
        200
    );
    let (status, body) = viewer
        .call::<app::api::prices::SavePrice>(&price("m-viewer"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("editor role"), "{body}");
    let (status, _) = viewer
        .call::<app::api::alerts::DeleteChannel>(&[("id", "1")])
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        editor
            .call::<app::api::prices::SavePrice>(&price("m-editor"))
            .await
            .0,
        200
    );
    assert_eq!(editor.call::<app::api::access::GetAccess>(&[]).await.0, 403);
    let prices = s.backend.load_prices().await.unwrap();
    assert!(prices.iter().any(|p| p.model == "m-editor"));
    assert!(!prices.iter().any(|p| p.model == "m-viewer"));

    // The last enabled admin cannot be demoted, disabled or deleted, even by themselves.
    let (status, body) = admin.call::<app::api::access::GetAccess>(&[]).await;
    assert_eq!(status, 200);
    let overview: app::types::AccessOverview = serde_json::from_value(body).unwrap();
    let id_of = |name: &str| {
        overview
            .users
            .iter()
            .find(|u| u.username == name)
            .unwrap()
            .id
            .to_string()
    };
    let (admin_id, viewer_id) = (id_of("admin"), id_of("vera"));
    let (status, body) = admin
        .call::<app::api::access::SetUserRole>(&[("id", &admin_id), ("role", "viewer")])
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("last enabled admin"), "{body}");
    assert_eq!(
        admin
            .call::<app::api::access::DeleteUser>(&[("id", &admin_id)])
            .await
            .0,
        400
    );

    // Disabling a user ends their session at once.
    assert_eq!(
        admin
            .call::<app::api::access::SetUserDisabled>(&[("id", &viewer_id), ("disabled", "true")])
            .await
            .0,
        200
    );
    assert_eq!(viewer.call::<app::api::access::Whoami>(&[]).await.0, 401);
    assert_eq!(
        viewer.sign_in("vera", "viewer password 1", "/").await,
        "/login?error=invalid&next=/"
    );

    // A password change keeps this session and ends the others.
    let mut admin2 = Browser::new(&s);
    admin2.sign_in("admin", "admin password 1", "/").await;
    assert_eq!(admin2.call::<app::api::access::Whoami>(&[]).await.0, 200);
    let (status, body) = admin
        .call::<app::api::access::ChangePassword>(&[
            ("current", "admin password 1"),
            ("new", "short"),
            ("confirm", "short"),
        ])
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        admin
            .call::<app::api::access::ChangePassword>(&[
                ("current", "admin password 1"),
                ("new", "admin password 2"),
                ("confirm", "admin password 2"),
            ])
            .await
            .0,
        200
    );
    assert_eq!(admin.call::<app::api::access::Whoami>(&[]).await.0, 200);
    assert_eq!(admin2.call::<app::api::access::Whoami>(&[]).await.0, 401);

    // Signing out ends the session on the server, not only in the browser.
    let stolen = admin.cookie.clone();
    let r = admin
        .with_cookie(admin.client.post(format!("{}/auth/logout", s.base)))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login");
    let thief = Browser {
        cookie: stolen,
        ..Browser::new(&s)
    };
    assert_eq!(thief.call::<app::api::access::Whoami>(&[]).await.0, 401);

    // Passwords are stored as argon2id hashes.
    let users = s.backend.access().users().await.unwrap();
    assert!(users
        .iter()
        .all(|u| u.password_hash.starts_with("$argon2id$")));
    s.shutdown().await;
}

fn otlp_body() -> Vec<u8> {
    let now_ns = sightline::store::now_ms() * 1_000_000;
    let traces = sightline::demo::Workload::new(7).traces(1, now_ns, 1_000_000);
    let resource = sightline::demo::resource("access-test");
    sightline::demo::encode_request(&traces, &resource).encode_to_vec()
}

async fn otlp(s: &TestServer, key: Option<&str>) -> u16 {
    let mut r = TestServer::client()
        .post(format!("{}/v1/traces", s.base))
        .header("content-type", "application/x-protobuf")
        .body(otlp_body());
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    r.send().await.unwrap().status().as_u16()
}

async fn search(s: &TestServer, key: Option<&str>) -> (u16, String) {
    let mut r = TestServer::client()
        .post(format!("{}/api/3.0/mlflow/traces/search", s.base))
        .json(
            &serde_json::json!({"locations": [{"type": "MLFLOW_EXPERIMENT",
            "mlflow_experiment": {"experiment_id": "0"}}]}),
        );
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn api_keys(db: TestDb) {
    let s = auth_server(db).await;
    let one_time = first_admin(&s).await;
    let mut admin = Browser::new(&s);
    admin
        .first_sign_in("admin", &one_time, "admin password 1")
        .await;
    let ingest = admin
        .secret::<app::api::access::CreateApiKey>(&[("name", "chatbot"), ("ingest", "on")])
        .await;
    let read = admin
        .secret::<app::api::access::CreateApiKey>(&[("name", "notebook"), ("read", "on")])
        .await;
    let (status, body) = admin
        .call::<app::api::access::CreateApiKey>(&[("name", "nothing")])
        .await;
    assert_eq!(status, 400, "{body}");

    // With authentication on, ingest needs a key with the ingest scope.
    assert_eq!(otlp(&s, None).await, 401);
    assert_eq!(otlp(&s, Some("sl_not-a-key")).await, 401);
    assert_eq!(otlp(&s, Some(&read)).await, 403);
    assert_eq!(otlp(&s, Some(&ingest)).await, 200);
    // gRPC checks the same keys.
    let mut grpc = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(
        format!("http://{}", s.grpc_addr),
    )
    .await
    .unwrap();
    let req = ExportTraceServiceRequest::decode(otlp_body().as_slice()).unwrap();
    let mut unauth = tonic::Request::new(req.clone());
    unauth
        .metadata_mut()
        .insert("authorization", format!("Bearer {read}").parse().unwrap());
    let err = grpc.export(unauth).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let mut ok = tonic::Request::new(req);
    ok.metadata_mut()
        .insert("authorization", format!("Bearer {ingest}").parse().unwrap());
    grpc.export(ok).await.unwrap();

    // Reading back through the MLflow API needs the read scope (or a signed-in person).
    let (status, body) = search(&s, Some(&ingest)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("PERMISSION_DENIED") && body.contains("read scope"),
        "{body}"
    );
    assert_eq!(search(&s, None).await.0, 401);
    let (status, body) = search(&s, Some(&read)).await;
    assert_eq!(status, 200, "{body}");
    let r = admin
        .with_cookie(
            admin
                .client
                .post(format!("{}/api/3.0/mlflow/traces/search", s.base)),
        )
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 401);
    // /metrics too.
    let metrics = |key: Option<String>| {
        let mut r = TestServer::client().get(format!("{}/metrics", s.base));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(metrics(None).await, 401);
    assert_eq!(metrics(Some(read.clone())).await, 200);

    // Keys are stored as hashes only, listed by prefix, and record their last use.
    let stored = s.backend.access().api_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    let chatbot = stored.iter().find(|k| k.name == "chatbot").unwrap();
    assert!(ingest.starts_with(&chatbot.prefix) && chatbot.prefix.len() < 16);
    if let Some(file) = s.db.file() {
        let bytes = std::fs::read(&file).unwrap();
        let wal = std::fs::read(file.with_extension("db-wal")).unwrap_or_default();
        for hay in [&bytes, &wal] {
            assert!(
                !hay.windows(ingest.len()).any(|w| w == ingest.as_bytes()),
                "the key is in the database file"
            );
        }
    }
    let mut used = false;
    for _ in 0..50 {
        let keys = s.backend.access().api_keys().await.unwrap();
        if keys
            .iter()
            .any(|k| k.name == "chatbot" && k.last_used_ms.is_some())
        {
            used = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(used, "last use not recorded");

    // Revoking takes effect on the next request.
    let (status, _) = admin
        .call::<app::api::access::RevokeApiKey>(&[("id", &chatbot.id.to_string())])
        .await;
    assert_eq!(status, 200);
    assert_eq!(otlp(&s, Some(&ingest)).await, 401);
    // Viewers cannot make keys.
    let viewer_otp = admin
        .secret::<app::api::access::CreateUser>(&[("username", "vera"), ("role", "viewer")])
        .await;
    let mut viewer = Browser::new(&s);
    viewer
        .first_sign_in("vera", &viewer_otp, "viewer password 1")
        .await;
    let (status, _) = viewer
        .call::<app::api::access::CreateApiKey>(&[("name", "mine"), ("ingest", "on")])
        .await;
    assert_eq!(status, 403);
    s.shutdown().await;
}

crate::both_backends!(roles_and_sessions, api_keys);

/// Cross-site writes are refused in every mode: a page elsewhere cannot drive the loopback
/// server's forms through the user's browser. Same-origin and non-browser requests pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_writes_are_refused() {
    let s = TestServer::start(TestDb::sqlite()).await;
    let post = |origin: Option<&'static str>, site: Option<&'static str>| {
        let mut r = TestServer::client()
            .post(format!("{}{}", s.base, app::api::prices::SavePrice::PATH))
            .form(&price("m-csrf"));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(v) = site {
            r = r.header("sec-fetch-site", v);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(post(Some("https://evil.example"), None).await, 403);
    assert_eq!(post(None, Some("cross-site")).await, 403);
    assert_eq!(post(Some("null"), None).await, 403);
    assert!(!s
        .backend
        .load_prices()
        .await
        .unwrap()
        .iter()
        .any(|p| p.model == "m-csrf"));
    let own = format!("http://{}", s.addr);
    let own: &'static str = Box::leak(own.into_boxed_str());
    assert_eq!(post(Some(own), Some("same-origin")).await, 200);
    assert_eq!(post(None, None).await, 200);
    s.shutdown().await;
}

/// The first admin: printed once at the first start with authentication on, or made with
/// `sightline user add`; both sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_from_first_start_and_cli() {
    use tokio::io::AsyncBufReadExt;
    let db = TestDb::sqlite();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .current_dir(common::python::workspace())
        .args([
            "serve",
            "--auth=on",
            "--listen=127.0.0.1:0",
            "--otlp-http-listen=off",
            "--otlp-grpc-listen=off",
            "--database-url",
            &db.url(),
        ])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut printed = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while printed.is_none() {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("no one-time password printed within 60 s")
            .unwrap()
            .expect("server exited before printing a one-time password");
        if let Some(p) = line.trim().strip_prefix("one-time password:") {
            printed = Some(p.trim().to_string());
        }
    }
    child.kill().await.unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "user",
            "add",
            "ops-lead",
            "--role",
            "admin",
            "--database-url",
            &db.url(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let cli_password = stdout.rsplit(": ").next().unwrap().trim().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["user", "list", "--database-url", &db.url()])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed.contains("admin\tadmin\tone-time password"),
        "{listed}"
    );
    assert!(listed.contains("ops-lead\tadmin"), "{listed}");

    let s = auth_server(db).await;
    let mut first = Browser::new(&s);
    first
        .first_sign_in("admin", &printed.unwrap(), "first admin pw 1")
        .await;
    let mut second = Browser::new(&s);
    second
        .first_sign_in("ops-lead", &cli_password, "second admin pw 1")
        .await;
    assert_eq!(second.call::<app::api::access::GetAccess>(&[]).await.0, 200);
    s.shutdown().await;
}
