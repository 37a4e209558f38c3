//! `/login`: the sign-in form. A plain form post to `/auth/login` (it works before the app
//! hydrates, and the password goes straight to the handler that checks it); the server
//! answers with a session cookie and the page the user came for (`?next=`), or back here
//! with `?error=`.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

fn error_message(code: &str) -> &'static str {
    match code {
        "invalid" => "Wrong user name or password.",
        "locked" => "Too many failed sign-ins for this user; try again in 15 minutes.",
        "unavailable" => "Signing in is unavailable right now; see the server log.",
        _ => "Signing in failed.",
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.with_untracked(|q| q.get("next").unwrap_or_else(|| "/".into()));
    let error = move || query.with(|q| q.get("error"));
    view! {
        <section class="page login-page" id="login-page">
            <form class="login-card" method="post" action="/auth/login" id="login-form">
                <h1>"Sign in to Sightline"</h1>
                {move || error().map(|code| view! {
                    <p class="error" id="login-error" role="alert">{error_message(&code)}</p>
                })}
                <label>
                    <span>"User name"</span>
                    <input id="login-username" name="username" type="text"
                        autocomplete="username" autofocus=true required=true/>
                </label>
                <label>
                    <span>"Password"</span>
                    <input id="login-password" name="password" type="password"
                        autocomplete="current-password" required=true/>
                </label>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="btn primary" id="login-submit">"Sign in"</button>
                <p class="form-note">
                    "No account? An admin creates one on the Access page. The first admin's "
                    "one-time password is printed in the server log at first start, or made "
                    "with " <code>"sightline user add NAME --role admin"</code> "."
                </p>
            </form>
        </section>
    }
}
