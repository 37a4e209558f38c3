//! The access layer in front of every route of the main port: refuses cross-site writes
//! (CSRF), then lets each kind of route through only for whom it is for. Pages and server
//! functions need a person (a session cookie); the MLflow API and `/metrics` need a key with
//! the right scope, or a signed-in person for reads; OTLP checks its key in its handler (the
//! same check serves the OTLP-only and gRPC ports). The signed-in [`Principal`] travels to
//! server functions as a request extension.

use std::sync::Arc;

use app::contract::SessionToken;
use app::types::Principal;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::gate::{Denied, Gate, Scope, SESSION_COOKIE};
use super::secret::token_hash;
use crate::error::MlflowError;

/// What the middleware needs: the gate, and the origin users reach us at (behind a proxy the
/// browser's `Origin` is that, not our `Host`).
#[derive(Clone)]
pub struct Access {
    pub gate: Arc<Gate>,
    pub public_url: String,
}

/// The kinds of route, by who may use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Health checks, the sign-in page and its form, static files.
    Public,
    /// `/v1/traces`: its handler checks the key.
    Otlp,
    /// The MLflow REST API and `/version`: a key with this scope, or a person for reads.
    Api(Scope),
    /// `/metrics`: read scope; open with authentication off (a local Prometheus).
    Metrics,
    /// Leptos server functions: a signed-in person.
    ServerFn,
    /// Everything else is a page: a signed-in person, or the sign-in page.
    Page,
}

fn classify(method: &Method, path: &str) -> Class {
    const PUBLIC: [&str; 7] = [
        "/health",
        "/healthz",
        "/readyz",
        "/login",
        "/auth/login",
        "/auth/logout",
        "/robots.txt",
    ];
    if PUBLIC.contains(&path) || path.starts_with("/pkg/") {
        return Class::Public;
    }
    if path == "/v1/traces" {
        return Class::Otlp;
    }
    if path == "/metrics" {
        return Class::Metrics;
    }
    let mlflow = ["/api/2.0/", "/api/3.0/", "/ajax-api/"]
        .iter()
        .any(|p| path.starts_with(p));
    if mlflow || path == "/version" {
        // The SDK's logging flow looks up its experiment and the server's abilities first,
        // so those reads are open to ingest keys too.
        let lookup = path.ends_with("/experiments/get-by-name")
            || path.ends_with("/experiments/get")
            || path.ends_with("/server-info")
            || path == "/version";
        let read_post = path.ends_with("/traces/search") || path.ends_with("/batchGetInfos");
        return Class::Api(if lookup {
            Scope::Any
        } else if method == Method::GET || read_post {
            Scope::Read
        } else {
            Scope::Ingest
        });
    }
    if path.starts_with("/api/") {
        return Class::ServerFn;
    }
    Class::Page
}

/// Server functions a user holding a one-time password may still call.
const BEFORE_NEW_PASSWORD: [&str; 2] = ["/api/change_password", "/api/whoami"];

pub async fn guard(State(access): State<Access>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS)
        && cross_site(req.headers(), &access.public_url)
    {
        tracing::warn!(%method, %path, "Refused a cross-site request (CSRF).");
        return (
            StatusCode::FORBIDDEN,
            "cross-site request refused: state-changing requests must come from this server's own pages",
        )
            .into_response();
    }
    let gate = &access.gate;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let session = session_cookie(req.headers());
    match classify(&method, &path) {
        Class::Public | Class::Otlp => next.run(req).await,
        Class::Metrics if !gate.enabled() => next.run(req).await,
        Class::Metrics => api(gate, authorization, session, Scope::Read, req, next).await,
        Class::Api(scope) => api(gate, authorization, session, scope, req, next).await,
        class @ (Class::ServerFn | Class::Page) => {
            let principal = if gate.enabled() {
                match &session {
                    Some(token) => match gate.session(token).await {
                        Ok(p) => p,
                        Err(e) => return unavailable(e),
                    },
                    None => None,
                }
            } else {
                Some(Gate::local_user())
            };
            let Some(principal) = principal else {
                return signed_out(class, &method, &req);
            };
            if principal.must_change_password {
                if class == Class::Page && method == Method::GET && path != "/account" {
                    return Redirect::to("/account").into_response();
                }
                if class == Class::ServerFn
                    && !BEFORE_NEW_PASSWORD.iter().any(|p| path.starts_with(p))
                {
                    return app_error(app::AppError::Forbidden(
                        "change your one-time password first".into(),
                    ));
                }
            }
            if let Some(token) = &session {
                req.extensions_mut().insert(SessionToken(token_hash(token)));
            }
            req.extensions_mut().insert::<Principal>(principal);
            next.run(req).await
        }
    }
}

/// A client's MLflow or metrics call: its key, else (for reads) a signed-in person.
async fn api(
    gate: &Gate,
    authorization: Option<String>,
    session: Option<String>,
    scope: Scope,
    req: Request,
    next: Next,
) -> Response {
    let keyless = !Gate::has_bearer(authorization.as_deref());
    if gate.enabled() && keyless && scope != Scope::Ingest {
        if let Some(token) = session {
            match gate.session(&token).await {
                Ok(Some(_)) => return next.run(req).await,
                Ok(None) => {}
                Err(e) => return unavailable(e),
            }
        }
    }
    match gate.check_key(authorization.as_deref(), scope).await {
        Ok(()) => next.run(req).await,
        Err(e @ Denied::Unavailable(_)) => unavailable(e),
        // 401 or 403 in MLflow's error shape, as the receivers answer them.
        Err(e) => MlflowError::from(crate::receive::Error::from(e)).into_response(),
    }
}

fn unavailable(e: Denied) -> Response {
    tracing::error!(error = %e, "Access check failed.");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        "access check unavailable; retry shortly",
    )
        .into_response()
}

fn app_error(e: app::AppError) -> Response {
    let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::FORBIDDEN);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(&e).unwrap_or_default(),
    )
        .into_response()
}

/// No session: pages go to the sign-in page (coming back here after), server functions
/// answer 401 in their error encoding.
fn signed_out(class: Class, method: &Method, req: &Request) -> Response {
    if class == Class::Page && (method == Method::GET || method == Method::HEAD) {
        let back = req
            .uri()
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        let to = format!("/login?next={}", percent_encode(&back));
        return Redirect::to(&to).into_response();
    }
    app_error(app::AppError::Unauthorized)
}

/// Percent-encodes a path and query for use as a query value.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The session token of the request's cookie, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether a browser sent this request from another site. Browsers say so in
/// `Sec-Fetch-Site`, or at least send `Origin` with every non-GET request; clients that are
/// not browsers send neither and are let through (they carry no ambient cookie to abuse).
/// A page on another port of the same host is another origin, so `same-site` is refused too.
fn cross_site(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(origin_host) = host_of(origin) else {
        // "null" (a sandboxed frame, a file) or garbage.
        return true;
    };
    let ours = [
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        headers
            .get("x-forwarded-host")
            .and_then(|v| v.to_str().ok()),
        host_of(public_url),
    ];
    !ours
        .into_iter()
        .flatten()
        .any(|h| h.eq_ignore_ascii_case(origin_host))
}

/// `host[:port]` of an `http(s)://host[:port][/...]` URL.
fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn routes_are_classified_by_who_may_use_them() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(classify(&get, "/healthz"), Class::Public);
        assert_eq!(classify(&get, "/pkg/sightline.wasm"), Class::Public);
        assert_eq!(classify(&post, "/v1/traces"), Class::Otlp);
        assert_eq!(classify(&get, "/metrics"), Class::Metrics);
        assert_eq!(
            classify(&post, "/api/3.0/mlflow/traces"),
            Class::Api(Scope::Ingest)
        );
        assert_eq!(
            classify(&post, "/ajax-api/3.0/mlflow/traces/search"),
            Class::Api(Scope::Read)
        );
        assert_eq!(
            classify(&get, "/api/3.0/mlflow/traces/tr-1"),
            Class::Api(Scope::Read)
        );
        assert_eq!(
            classify(&get, "/api/2.0/mlflow/experiments/get-by-name"),
            Class::Api(Scope::Any)
        );
        assert_eq!(
            classify(&post, "/api/2.0/mlflow/traces/delete-traces"),
            Class::Api(Scope::Ingest)
        );
        assert_eq!(classify(&post, "/api/save_rule123"), Class::ServerFn);
        assert_eq!(classify(&get, "/traces/abc"), Class::Page);
        assert_eq!(classify(&get, "/"), Class::Page);
    }

    #[test]
    fn cross_site_writes_are_recognised() {
        let url = "https://sightline.example.com";
        // Non-browser clients send neither header.
        assert!(!cross_site(&headers(&[("host", "127.0.0.1:5000")]), url));
        assert!(!cross_site(
            &headers(&[
                ("host", "127.0.0.1:5000"),
                ("origin", "http://127.0.0.1:5000")
            ]),
            url
        ));
        assert!(cross_site(
            &headers(&[
                ("host", "127.0.0.1:5000"),
                ("origin", "http://127.0.0.1:3000")
            ]),
            url
        ));
        assert!(cross_site(
            &headers(&[
                ("host", "127.0.0.1:5000"),
                ("origin", "https://evil.example")
            ]),
            url
        ));
        assert!(cross_site(
            &headers(&[("host", "127.0.0.1:5000"), ("origin", "null")]),
            url
        ));
        // Behind a proxy: the browser's origin is the public URL.
        assert!(!cross_site(
            &headers(&[
                ("host", "127.0.0.1:5000"),
                ("origin", "https://sightline.example.com")
            ]),
            url
        ));
        assert!(cross_site(
            &headers(&[("host", "127.0.0.1:5000"), ("sec-fetch-site", "same-site")]),
            url
        ));
        assert!(!cross_site(
            &headers(&[
                ("host", "127.0.0.1:5000"),
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://127.0.0.1:5000")
            ]),
            url
        ));
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; sightline_session=tok123; b=2")]);
        assert_eq!(session_cookie(&h).as_deref(), Some("tok123"));
        assert_eq!(session_cookie(&headers(&[("cookie", "a=1")])), None);
        assert_eq!(
            session_cookie(&headers(&[("cookie", "sightline_session=")])),
            None
        );
    }

    #[test]
    fn sign_in_redirect_keeps_the_page() {
        assert_eq!(
            percent_encode("/traces?q=a b&x=1"),
            "/traces%3Fq%3Da%20b%26x%3D1"
        );
    }
}
