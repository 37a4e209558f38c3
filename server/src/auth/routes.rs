//! Signing in and out: plain HTML form posts (they work before the app hydrates, and a
//! password never passes through a server function's logged arguments).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::gate::{Gate, SignInError, SESSION_COOKIE, SESSION_TTL};
use super::middleware::{percent_encode, session_cookie};

#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: only a path on this server (no open redirect).
fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if ok {
        next
    } else {
        "/"
    }
}

/// `POST /auth/login`: a session cookie and back to `next`, or the sign-in page with why.
pub async fn sign_in(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(&form.next).to_string();
    if !gate.enabled() {
        return Redirect::to(&next).into_response();
    }
    match gate.sign_in(&form.username, &form.password).await {
        Ok(token) => {
            let mut resp = Redirect::to(&next).into_response();
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
                SESSION_TTL.as_secs(),
                if secure(&headers) { "; Secure" } else { "" }
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            let code = match e {
                SignInError::Invalid => "invalid",
                SignInError::Locked(_) => "locked",
                SignInError::Unavailable(_) => {
                    tracing::error!(error = %e, "Sign-in failed.");
                    "unavailable"
                }
            };
            Redirect::to(&format!(
                "/login?error={code}&next={}",
                percent_encode(&next)
            ))
            .into_response()
        }
    }
}

/// `POST /auth/logout`: ends the session, clears the cookie.
pub async fn sign_out(State(gate): State<Arc<Gate>>, headers: HeaderMap) -> Response {
    if let Some(token) = session_cookie(&headers) {
        gate.sign_out(&token).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        ))
        .expect("static cookie"),
    );
    resp
}

/// Whether the browser reached us over HTTPS (directly or through a proxy that says so):
/// the cookie is then never sent over plain HTTP.
fn secure(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
        || headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|o| o.starts_with("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/traces?q=1"), "/traces?q=1");
        assert_eq!(local_path("//evil.example/x"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path(""), "/");
    }
}
