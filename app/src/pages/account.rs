//! `/account`: who you are signed in as, and changing your password. Someone signed in
//! with a one-time password lands here first and may go nowhere else until they choose one.

use leptos::prelude::*;

use crate::api::access::{whoami, ChangePassword};

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let me = Resource::new(move || change.version().get(), |_| whoami());
    let result = change.value();
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));
    view! {
        <section class="page account-page" id="account-page"
            data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head"><h1>"Account"</h1></div>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match me.await {
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                        Ok(p) if !p.auth_enabled => view! {
                            <p class="notice" id="auth-off">
                                "Authentication is off: this server trusts everyone who can reach "
                                "it, and listens on loopback only. Start it with "
                                <code>"--auth=on"</code> " to require sign-in."
                            </p>
                        }.into_any(),
                        Ok(p) => view! {
                            <p id="account-who">
                                "Signed in as " <strong>{p.username.clone()}</strong>
                                " (" {p.role.as_str()} ")."
                            </p>
                            {p.must_change_password.then(|| view! {
                                <p class="notice" id="must-change">
                                    "You signed in with a one-time password. Choose your own "
                                    "password to continue."
                                </p>
                            })}
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=change attr:id="password-form" attr:class="account-form">
                <h2>"Change password"</h2>
                <label>
                    <span>"Current password"</span>
                    <input id="password-current" name="current" type="password"
                        autocomplete="current-password" required=true/>
                </label>
                <label>
                    <span>"New password " <em>"(10 characters or more)"</em></span>
                    <input id="password-new" name="new" type="password"
                        autocomplete="new-password" required=true/>
                </label>
                <label>
                    <span>"New password again"</span>
                    <input id="password-confirm" name="confirm" type="password"
                        autocomplete="new-password" required=true/>
                </label>
                <div class="form-actions">
                    <button type="submit" class="btn primary" id="password-save"
                        disabled=move || change.pending().get()>"Change password"</button>
                </div>
                {move || match result.get() {
                    Some(Err(e)) => Some(view! {
                        <p class="error" id="password-error" role="alert">{e.to_string()}</p>
                    }.into_any()),
                    Some(Ok(())) => Some(view! {
                        <p class="saved" id="password-saved" role="status">
                            "Password changed; your other sessions were signed out. "
                            <a href="/" rel="external">"Continue"</a>
                        </p>
                    }.into_any()),
                    None => None,
                }}
            </ActionForm>
        </section>
    }
}
