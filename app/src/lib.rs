//! Sightline's web app: pages, components, the `#[server]` functions they call, the wire types
//! that cross to the browser and — behind `ssr` — the [`contract::Contract`] the server
//! implements. This crate knows no SQL and no HTTP routing.

pub mod api;
pub mod charts;
pub mod components;
#[cfg(feature = "ssr")]
pub mod contract;
pub mod error;
pub mod filter;
pub mod format;
pub mod pages;
pub mod span_tree;
pub mod types;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};

pub use error::AppError;

/// The HTML document around [`App`]; used by the SSR handler.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // No favicon request (and no 404 in the console).
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        // name = "sightline" in [[workspace.metadata.leptos]] => /pkg/sightline.css
        <Stylesheet id="leptos" href="/pkg/sightline.css"/>
        <Title text="Sightline"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"Sightline"</A>
                <nav>
                    <A href="/" exact=true>"Overview"</A>
                    <A href="/traces">"Traces"</A>
                    <A href="/sessions">"Sessions"</A>
                    <A href="/alerts">"Alerts"</A>
                    <A href="/prices">"Prices"</A>
                    <A href="/settings/retention">"Storage"</A>
                </nav>
                <UserMenu/>
            </header>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=path!("") view=pages::overview::OverviewPage/>
                    <Route path=path!("/traces") view=pages::traces::TracesPage/>
                    // Async: the whole tree is needed before the first row anyway, and a missing
                    // trace can then answer 404 (the status is set before streaming starts).
                    <Route
                        path=path!("/traces/:id")
                        view=pages::trace::TracePage
                        ssr=leptos_router::SsrMode::Async
                    />
                    <Route path=path!("/sessions") view=pages::sessions::SessionsPage/>
                    // Async for the same reason as the trace page: a missing session answers 404.
                    <Route
                        path=path!("/sessions/:id")
                        view=pages::session::SessionPage
                        ssr=leptos_router::SsrMode::Async
                    />
                    <Route path=path!("/prices") view=pages::prices::PricesPage/>
                    <Route path=path!("/login") view=pages::login::LoginPage/>
                    <Route path=path!("/account") view=pages::account::AccountPage/>
                    <Route path=path!("/settings/access") view=pages::access::AccessPage/>
                    <Route path=path!("/settings/retention") view=pages::retention::RetentionPage/>
                    <Route path=path!("/alerts") view=pages::alerts::AlertsPage/>
                    <Route path=path!("/alerts/history") view=pages::alert_history::AlertHistoryPage/>
                    <Route path=path!("/alerts/new") view=pages::alert_rule::AlertRulePage/>
                    // Async like the trace page: a missing rule answers 404.
                    <Route
                        path=path!("/alerts/:id")
                        view=pages::alert_rule::AlertRulePage
                        ssr=leptos_router::SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}

/// The right end of the top bar: the Access page for admins, who is signed in, and signing
/// out (a plain form post). Nothing on the sign-in page, where nobody is yet.
#[component]
fn UserMenu() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let on_login = move || location.pathname.get() == "/login";
    let me = Resource::new(on_login, |login| async move {
        if login {
            None
        } else {
            api::access::whoami().await.ok()
        }
    });
    view! {
        <div class="user-menu">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.map(|p| view! {
                        {p.may(types::Role::Admin).then(|| view! {
                            <A href="/settings/access" attr:id="nav-access">"Access"</A>
                        })}
                        {p.auth_enabled.then(|| view! {
                            <A href="/account" attr:id="nav-account" attr:class="who">
                                {p.username.clone()} <span class="role">{p.role.as_str()}</span>
                            </A>
                            <form method="post" action="/auth/logout" class="inline-form">
                                <button type="submit" class="btn small" id="sign-out">"Sign out"</button>
                            </form>
                        })}
                    })
                })}
            </Transition>
        </div>
    }
}
