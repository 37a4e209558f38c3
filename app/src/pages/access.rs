//! `/settings/access` (admins): users with their roles, and API keys. New users get a
//! one-time password and new keys are shown once, here, in a box to copy; afterwards the
//! server holds only their hashes. Every form works as a plain post before hydration.

use leptos::prelude::*;

use crate::api::access::{
    get_access, CreateApiKey, CreateUser, DeleteUser, ResetUserPassword, RevokeApiKey,
    SetUserDisabled, SetUserRole,
};
use crate::format::utc_ms;
use crate::types::{AccessOverview, ApiKeyView, OneTimeSecret, Role, UserView};
use crate::AppError;

/// The actions of the page, shared by the tables and forms (each refetches the overview).
#[derive(Clone, Copy)]
struct Actions {
    create_user: ServerAction<CreateUser>,
    set_role: ServerAction<SetUserRole>,
    reset: ServerAction<ResetUserPassword>,
    disable: ServerAction<SetUserDisabled>,
    delete: ServerAction<DeleteUser>,
    create_key: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
}

impl Actions {
    fn new() -> Actions {
        Actions {
            create_user: ServerAction::new(),
            set_role: ServerAction::new(),
            reset: ServerAction::new(),
            disable: ServerAction::new(),
            delete: ServerAction::new(),
            create_key: ServerAction::new(),
            revoke: ServerAction::new(),
        }
    }

    fn version(&self) -> usize {
        self.create_user.version().get()
            + self.set_role.version().get()
            + self.reset.version().get()
            + self.disable.version().get()
            + self.delete.version().get()
            + self.create_key.version().get()
            + self.revoke.version().get()
    }

    /// The error of whichever row action failed last.
    fn row_error(&self) -> Option<AppError> {
        [
            self.set_role.value().get().and_then(Result::err),
            self.disable.value().get().and_then(Result::err),
            self.delete.value().get().and_then(Result::err),
            self.revoke.value().get().and_then(Result::err),
            self.reset.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    }
}

#[component]
pub fn AccessPage() -> impl IntoView {
    let actions = Actions::new();
    let overview = Resource::new(move || actions.version(), |_| get_access());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <section class="page access-page" id="access-page"
            data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head"><h1>"Access"</h1></div>
            {move || actions.row_error().map(|e| view! {
                <p class="error" id="access-error" role="alert">{e.to_string()}</p>
            })}
            <Secret result=Signal::derive(move || actions.reset.value().get()) id="reset-secret"/>
            <Transition fallback=|| view! { <p class="empty">"Loading…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error">{move || super::trace::error_text(&errors)}</p>
                }>
                    {move || Suspend::new(async move {
                        overview.await.map(|o| view! { <Overview o actions/> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn Overview(o: AccessOverview, actions: Actions) -> impl IntoView {
    view! {
        {(!o.auth_enabled).then(|| view! {
            <p class="notice" id="auth-off">
                "Authentication is off: this server trusts everyone who can reach it, and "
                "listens on loopback only. Users and keys made here take effect once it runs "
                "with " <code>"--auth=on"</code> "."
            </p>
        })}
        <h2>"Users"</h2>
        <table class="traces access-table" id="user-table">
            <thead>
                <tr>
                    <th>"User"</th><th>"Role"</th><th>"Status"</th><th>"Created (UTC)"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {o.users.into_iter().map(|u| view! { <UserRow u actions/> }).collect_view()}
            </tbody>
        </table>
        <NewUser actions/>
        <h2>"API keys"</h2>
        <p class="form-note">
            "Clients send a key as " <code>"Authorization: Bearer <key>"</code>
            " (OTLP exporters: " <code>"OTEL_EXPORTER_OTLP_HEADERS"</code>
            "; the MLflow SDK: " <code>"MLFLOW_TRACKING_TOKEN"</code> "). "
            <em>"ingest"</em> " sends traces; " <em>"read"</em>
            " reads them back through the MLflow API and " <code>"/metrics"</code> "."
            {(o.static_keys > 0).then(|| format!(
                " {} more key(s) come from --api-key and are not listed.", o.static_keys
            ))}
        </p>
        <table class="traces access-table" id="key-table">
            <thead>
                <tr>
                    <th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Created"</th>
                    <th>"Last used (UTC)"</th><th>"Status"</th><th></th>
                </tr>
            </thead>
            <tbody>
                {o.api_keys.into_iter().map(|k| view! { <KeyRow k actions/> }).collect_view()}
            </tbody>
        </table>
        <NewKey actions/>
    }
}

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|r| {
            view! { <option value=r.as_str() selected=r == selected>{r.as_str()}</option> }
        })
        .collect_view()
}

#[component]
fn UserRow(u: UserView, actions: Actions) -> impl IntoView {
    let id = u.id.to_string();
    let (id2, id3, id4) = (id.clone(), id.clone(), id.clone());
    let status = if u.disabled {
        "disabled"
    } else if u.must_change_password {
        "one-time password"
    } else {
        "active"
    };
    view! {
        <tr class="user-row" data-user=u.username.clone()>
            <td class="name">{u.username.clone()}</td>
            <td>
                <ActionForm action=actions.set_role attr:class="inline-form">
                    <input type="hidden" name="id" value=id/>
                    <select name="role" class="role-select">{role_options(u.role)}</select>
                    <button type="submit" class="btn small">"Set"</button>
                </ActionForm>
            </td>
            <td class=format!("status {}", status.replace(' ', "-"))>{status}</td>
            <td>{utc_ms(u.created_ms)[..16].to_string()}</td>
            <td class="actions">
                <ActionForm action=actions.reset attr:class="inline-form">
                    <input type="hidden" name="id" value=id4/>
                    <button type="submit" class="btn small reset">"Reset password"</button>
                </ActionForm>
                <ActionForm action=actions.disable attr:class="inline-form">
                    <input type="hidden" name="id" value=id2/>
                    <input type="hidden" name="disabled" value=(!u.disabled).to_string()/>
                    <button type="submit" class="btn small toggle">
                        {if u.disabled { "Enable" } else { "Disable" }}
                    </button>
                </ActionForm>
                <ActionForm action=actions.delete attr:class="inline-form">
                    <input type="hidden" name="id" value=id3/>
                    <button type="submit" class="btn small danger delete">"Delete"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn KeyRow(k: ApiKeyView, actions: Actions) -> impl IntoView {
    let revoked = k.revoked_ms.is_some();
    view! {
        <tr class="key-row" class:revoked=revoked data-key=k.name.clone()>
            <td class="name">{k.name.clone()}</td>
            <td class="mono">{format!("{}…", k.prefix)}</td>
            <td>{k.scopes.to_string()}</td>
            <td>{format!("{} by {}", &utc_ms(k.created_ms)[..10], k.created_by)}</td>
            <td>{k.last_used_ms.map_or("never".to_string(), |t| utc_ms(t)[..16].to_string())}</td>
            <td class="status">
                {k.revoked_ms.map_or("active".to_string(), |t| format!("revoked {}", &utc_ms(t)[..10]))}
            </td>
            <td class="actions">
                {(!revoked).then(|| view! {
                    <ActionForm action=actions.revoke attr:class="inline-form">
                        <input type="hidden" name="id" value=k.id.to_string()/>
                        <button type="submit" class="btn small danger revoke">"Revoke"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

/// A secret shown once: copy it now.
#[component]
fn Secret(
    result: Signal<Option<Result<OneTimeSecret, AppError>>>,
    id: &'static str,
) -> impl IntoView {
    move || {
        result.get().and_then(Result::ok).map(|s| {
            view! {
                <div class="secret-box" id=id role="status">
                    <span>{s.label.clone()} " — shown once, copy it now:"</span>
                    <code class="secret">{s.secret.clone()}</code>
                </div>
            }
        })
    }
}

fn form_error<T: Clone + Send + Sync + 'static>(
    result: Signal<Option<Result<T, AppError>>>,
    id: &'static str,
) -> impl IntoView {
    move || {
        result.get().and_then(Result::err).map(|e| {
            view! { <p class="error" id=id role="alert">{e.to_string()}</p> }
        })
    }
}

#[component]
fn NewUser(actions: Actions) -> impl IntoView {
    view! {
        <ActionForm action=actions.create_user attr:id="user-form" attr:class="access-form">
            <h3>"Add a user"</h3>
            <label>
                <span>"User name"</span>
                <input id="user-name" name="username" type="text" autocomplete="off" required=true/>
            </label>
            <label>
                <span>"Role"</span>
                <select id="user-role" name="role">{role_options(Role::Viewer)}</select>
            </label>
            <button type="submit" class="btn primary" id="user-create">"Add user"</button>
            <p class="form-note">
                "Viewers read every page; editors also change alert rules, channels, silences "
                "and prices; admins also manage users and keys. The new user signs in with a "
                "one-time password and then chooses their own."
            </p>
            {form_error(Signal::derive(move || actions.create_user.value().get()), "user-error")}
        </ActionForm>
        <Secret result=Signal::derive(move || actions.create_user.value().get()) id="user-secret"/>
    }
}

#[component]
fn NewKey(actions: Actions) -> impl IntoView {
    view! {
        <ActionForm action=actions.create_key attr:id="key-form" attr:class="access-form">
            <h3>"Create an API key"</h3>
            <label>
                <span>"Name"</span>
                <input id="key-name" name="name" type="text" autocomplete="off" required=true
                    placeholder="e.g. chatbot-prod"/>
            </label>
            <label class="check">
                <input id="key-ingest" name="ingest" type="checkbox" value="on" checked=true/>
                <span>"ingest"</span>
            </label>
            <label class="check">
                <input id="key-read" name="read" type="checkbox" value="on"/>
                <span>"read"</span>
            </label>
            <button type="submit" class="btn primary" id="key-create">"Create key"</button>
            {form_error(Signal::derive(move || actions.create_key.value().get()), "key-error")}
        </ActionForm>
        <Secret result=Signal::derive(move || actions.create_key.value().get()) id="key-secret"/>
    }
}
