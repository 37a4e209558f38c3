//! Real receivers for notification tests: an HTTP server that records every request, and an
//! SMTP server (aiosmtpd, tests/python/smtp_sink.py) that records every message.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::Value;
use sightline::notify::{EmailConfig, SmtpSecurity};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::python::{python, workspace};

/// A port nothing listens on (free a moment ago).
pub async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// An HTTP server on 127.0.0.1 that records every request and answers each with `status`
/// and `reply`; it stops when dropped.
pub struct Receiver {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: StatusCode, reply: &'static str) -> Receiver {
        Self::start_slow(status, reply, std::time::Duration::ZERO).await
    }

    /// As [`Receiver::start`], answering each request `delay` after it arrived (it is
    /// recorded at once): a receiver still busy when the sender is asked to stop.
    pub async fn start_slow(
        status: StatusCode,
        reply: &'static str,
        delay: std::time::Duration,
    ) -> Receiver {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(Request {
                        method,
                        path: uri.path().to_string(),
                        headers,
                        body,
                    });
                    tokio::time::sleep(delay).await;
                    (status, reply)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            requests,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn only_request(&self) -> Request {
        let r = self.requests();
        assert_eq!(r.len(), 1, "expected exactly one request, got {r:?}");
        r.into_iter().next().unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL on which nothing listens: the port was free a moment ago and is closed now.
pub async fn closed_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/hook")
}

pub static DIRS: AtomicU32 = AtomicU32::new(0);

pub fn temp_dir(what: &str) -> PathBuf {
    let n = DIRS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "sightline-notify-{}-{what}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A self-signed certificate for `localhost`/127.0.0.1, made with the `openssl` CLI.
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl CLI is needed to make a test certificate");
    assert!(
        out.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[derive(Default)]
pub struct SinkOptions {
    /// A fixed port (to come up where a channel already points); default any free one.
    pub port: Option<u16>,
    pub starttls: bool,
    pub implicit_tls: bool,
    pub auth: Option<(&'static str, &'static str)>,
}

/// tests/python/smtp_sink.py, running until dropped.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    _child: tokio::process::Child,
}

impl SmtpSink {
    pub async fn start(opts: SinkOptions) -> SmtpSink {
        let dir = temp_dir("smtp");
        let script = workspace().join("tests/python/smtp_sink.py");
        let mut cmd = tokio::process::Command::new(python());
        cmd.arg(&script)
            .arg("--dir")
            .arg(dir.join("mail"))
            .arg("--port")
            .arg(opts.port.unwrap_or(0).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if opts.starttls || opts.implicit_tls {
            let (cert, key) = self_signed_cert(&dir);
            cmd.arg(if opts.starttls {
                "--starttls"
            } else {
                "--implicit-tls"
            })
            .arg(cert)
            .arg(key);
        }
        if let Some((user, password)) = opts.auth {
            cmd.args(["--user", user, "--password", password]);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python().display()));
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("smtp_sink.py did not report its port within 30 s")
            .expect("reading smtp_sink.py's stdout");
        let Some(first) = first else {
            let status = child.wait().await;
            panic!(
                "smtp_sink.py exited ({status:?}) before listening: is aiosmtpd installed in \
                 the venv? (scripts/setup.sh installs tests/python/requirements.txt)"
            );
        };
        let ready: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("smtp_sink.py's first line is not JSON ({e}): {first}"));
        let port = ready["port"].as_u64().expect("port") as u16;
        SmtpSink {
            port,
            dir: dir.join("mail"),
            _child: child,
        }
    }

    pub fn config(&self, security: SmtpSecurity) -> EmailConfig {
        EmailConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            security,
            username: None,
            password: None,
            from: "Sightline <alerts@sightline.test>".into(),
            to: vec![
                "oncall@example.test".into(),
                "Lead <lead@example.test>".into(),
            ],
            accept_invalid_certs: false,
        }
    }

    /// The messages received so far, in arrival order.
    pub fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|rd| rd.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort_by_key(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u32>().ok())
        });
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}
