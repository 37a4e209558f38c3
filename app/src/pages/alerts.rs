//! `/alerts`: every rule with its state (firing, pending, inactive, error, disabled), its
//! condition and per-instance values, when it was last evaluated and why that failed; a
//! menu to start a new rule, blank or from a preset; the notification channels (add, edit,
//! delete, send a test and see what the channel answered); and the silences (create with
//! label matchers and a duration or end time, expire). Rules and channels from the rules
//! file are read-only here. The page refreshes every 30 s. Every form is an `ActionForm`, so
//! it works before hydration.

use leptos::prelude::*;

use crate::api::alerts::{
    get_alerts, ChannelForm, CreateSilence, DeleteChannel, ExpireSilence, SaveChannel,
    SetRuleEnabled, TestChannel,
};
use crate::components::alerts::{ago_text, labels_text, span_text, time_text, StateBadge};
use crate::types::{AlertRuleRow, AlertsOverview, ChannelRow, SilenceRow};
use crate::AppError;

/// The list follows rule evaluations at this pace.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

/// The channel kinds and how the form names them.
pub const CHANNEL_KINDS: [(&str, &str); 4] = [
    ("webhook", "Webhook"),
    ("email", "Email (SMTP)"),
    ("slack", "Slack"),
    ("pager_duty", "PagerDuty"),
];

/// The writes of this page; the list refetches after each.
#[derive(Clone, Copy)]
struct Actions {
    toggle: ServerAction<SetRuleEnabled>,
    save_channel: ServerAction<SaveChannel>,
    delete_channel: ServerAction<DeleteChannel>,
    test_channel: ServerAction<TestChannel>,
    create_silence: ServerAction<CreateSilence>,
    expire_silence: ServerAction<ExpireSilence>,
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let actions = Actions {
        toggle: ServerAction::new(),
        save_channel: ServerAction::new(),
        delete_channel: ServerAction::new(),
        test_channel: ServerAction::new(),
        create_silence: ServerAction::new(),
        expire_silence: ServerAction::new(),
    };
    let tick = RwSignal::new(0u64);
    let overview = Resource::new(
        move || {
            (
                actions.toggle.version().get(),
                actions.save_channel.version().get(),
                actions.delete_channel.version().get(),
                actions.create_silence.version().get(),
                actions.expire_silence.version().get(),
                tick.get(),
            )
        },
        |_| get_alerts(),
    );
    let channel_form = ChannelFields::default();
    // Which channel "Send test" was last pressed for: its answer shows on that row.
    let tested = RwSignal::new(None::<i64>);
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration and follows evaluations.
    Effect::new(move |_| {
        hydrated.set(true);
        let handle = set_interval_with_handle(move || tick.update(|t| *t += 1), REFRESH);
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    // A saved channel empties the form for the next one.
    Effect::new(move |_| {
        if let Some(Ok(_)) = actions.save_channel.value().get() {
            channel_form.fill(&ChannelForm {
                kind: "webhook".into(),
                ..Default::default()
            });
        }
    });

    view! {
        <section class="page alerts-page" id="alerts-page" data-hydrated=move || hydrated.get().to_string()>
            <Transition fallback=|| view! { <p class="empty">"Loading alert rules…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error" id="alerts-error">{move || super::trace::error_text(&errors)}</p>
                }>
                    {move || Suspend::new(async move {
                        overview.await.map(|o| view! {
                            <AlertsView o actions channel_form tested/>
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn AlertsView(
    o: AlertsOverview,
    actions: Actions,
    channel_form: ChannelFields,
    tested: RwSignal<Option<i64>>,
) -> impl IntoView {
    let AlertsOverview {
        rules,
        channels,
        silences,
        presets,
        ..
    } = o;
    let firing = rules.iter().filter(|r| r.state == "firing").count();
    let now = super::traces::now_ms();
    view! {
        <div class="page-head">
            <h1>"Alerts"</h1>
            <div class="head-actions">
                <a class="btn" href="/alerts/history" id="history-link">"History"</a>
                <details class="menu" id="new-rule-menu">
                    <summary class="btn primary" id="new-rule">"New rule"</summary>
                    <div class="menu-items">
                        <a href="/alerts/new" id="new-blank">"Blank rule"</a>
                        <div class="menu-label">"From a preset"</div>
                        {presets.into_iter().enumerate().map(|(i, p)| view! {
                            <a href=format!("/alerts/new?preset={i}") class="preset" data-preset=i.to_string()>
                                {p.name}
                            </a>
                        }).collect_view()}
                    </div>
                </details>
            </div>
        </div>
        <p class="alerts-summary" id="alerts-summary">
            {match (rules.len(), firing) {
                (0, _) => "No rules yet: start one from a preset.".to_string(),
                (n, 0) => format!("{n} rules, none firing."),
                (n, f) => format!("{n} rules, {f} firing."),
            }}
        </p>
        <RulesTable rules now toggle=actions.toggle/>
        <div class="alerts-columns">
            <ChannelsSection channels actions form=channel_form tested/>
            <SilencesSection silences actions now/>
        </div>
    }
}

#[component]
fn RulesTable(
    rules: Vec<AlertRuleRow>,
    now: i64,
    toggle: ServerAction<SetRuleEnabled>,
) -> impl IntoView {
    if rules.is_empty() {
        return view! { <p class="empty" id="no-rules">"No alert rules."</p> }.into_any();
    }
    view! {
        {move || toggle.value().get().and_then(Result::err).map(|e| view! {
            <p class="error" id="toggle-error" role="alert">{e.to_string()}</p>
        })}
        <table class="traces alert-rules" id="alert-rules">
            <thead>
                <tr>
                    <th class="c-name">"Rule"</th>
                    <th class="c-state">"State"</th>
                    <th class="c-condition">"Condition"</th>
                    <th class="c-severity">"Severity"</th>
                    <th class="c-channels">"Channels"</th>
                    <th class="c-instances">"Values"</th>
                    <th class="c-eval">"Evaluated"</th>
                    <th class="c-actions"></th>
                </tr>
            </thead>
            <tbody>
                {rules.into_iter().map(|r| view! { <RuleRow r now toggle/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn RuleRow(r: AlertRuleRow, now: i64, toggle: ServerAction<SetRuleEnabled>) -> impl IntoView {
    let from_file = r.source == "file";
    let split = r.instances.len() > 1
        || r.instances
            .iter()
            .any(|i| !labels_text(&i.labels).is_empty());
    let instances = r
        .instances
        .iter()
        .map(|i| {
            let labels = labels_text(&i.labels);
            let value = i.value.clone().unwrap_or_else(|| "no data".into());
            let text = if split && !labels.is_empty() {
                format!("{labels}: {value}")
            } else {
                value
            };
            let title = format!("{} · {} samples", i.phase, i.samples);
            view! {
                <li class=format!("instance phase-{}", i.phase) data-phase=i.phase.clone() title=title>
                    {text}
                </li>
            }
        })
        .collect_view();
    view! {
        <tr class=format!("rule-row state-{}", r.state) data-rule-id=r.id.to_string()
            data-rule-name=r.name.clone() data-state=r.state.clone()>
            <td class="name">
                <a href=format!("/alerts/{}", r.id)>{r.name.clone()}</a>
                {from_file.then(|| view! { <span class="source-file">"from rules file"</span> })}
            </td>
            <td class="state"><StateBadge state=r.state.clone()/></td>
            <td class="condition">
                {r.condition.clone()}
                {r.eval_error.clone().map(|e| view! {
                    <div class="eval-error" role="alert">"Evaluation failed: " {e}</div>
                })}
            </td>
            <td class=format!("severity sev-{}", r.severity)>{r.severity.clone()}</td>
            <td class="channels">
                {if r.channels.is_empty() { "—".to_string() } else { r.channels.join(", ") }}
            </td>
            <td class="instances">
                {if r.instances.is_empty() {
                    view! { <span class="muted">"—"</span> }.into_any()
                } else {
                    view! { <ul class="instance-list">{instances}</ul> }.into_any()
                }}
            </td>
            <td class="eval" title=r.last_eval_ms.map(time_text).unwrap_or_default()>
                {r.last_eval_ms.map(|ms| ago_text(ms, now)).unwrap_or_else(|| "never".into())}
            </td>
            <td class="actions">
                <ActionForm action=toggle attr:class="toggle-form">
                    <input type="hidden" name="id" value=r.id.to_string()/>
                    <input type="hidden" name="enabled" value=(!r.enabled).to_string()/>
                    <button type="submit" class="btn small toggle"
                        data-enabled=r.enabled.to_string()>
                        {if r.enabled { "Disable" } else { "Enable" }}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// The channel form's fields, owned by the page so "Edit" on a row can fill them.
#[derive(Clone, Copy)]
struct ChannelFields {
    id: RwSignal<String>,
    name: RwSignal<String>,
    kind: RwSignal<String>,
    url: RwSignal<String>,
    secret: RwSignal<String>,
    host: RwSignal<String>,
    port: RwSignal<String>,
    security: RwSignal<String>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    from: RwSignal<String>,
    to: RwSignal<String>,
    accept_invalid_certs: RwSignal<bool>,
    routing_key: RwSignal<String>,
}

impl Default for ChannelFields {
    fn default() -> Self {
        let s = || RwSignal::new(String::new());
        ChannelFields {
            id: s(),
            name: s(),
            kind: RwSignal::new("webhook".into()),
            url: s(),
            secret: s(),
            host: s(),
            port: RwSignal::new("587".into()),
            security: RwSignal::new("start_tls".into()),
            username: s(),
            password: s(),
            from: s(),
            to: s(),
            accept_invalid_certs: RwSignal::new(false),
            routing_key: s(),
        }
    }
}

impl ChannelFields {
    fn fill(&self, f: &ChannelForm) {
        self.id.set(f.id.clone());
        self.name.set(f.name.clone());
        self.kind.set(f.kind.clone());
        self.url.set(f.url.clone());
        self.secret.set(f.secret.clone());
        self.host.set(f.host.clone());
        self.port.set(if f.port.is_empty() {
            "587".into()
        } else {
            f.port.clone()
        });
        self.security.set(if f.security.is_empty() {
            "start_tls".into()
        } else {
            f.security.clone()
        });
        self.username.set(f.username.clone());
        self.password.set(f.password.clone());
        self.from.set(f.from.clone());
        self.to.set(f.to.clone());
        self.accept_invalid_certs
            .set(f.accept_invalid_certs == "true");
        self.routing_key.set(f.routing_key.clone());
    }
}

#[component]
fn ChannelsSection(
    channels: Vec<ChannelRow>,
    actions: Actions,
    form: ChannelFields,
    tested: RwSignal<Option<i64>>,
) -> impl IntoView {
    let list = if channels.is_empty() {
        view! { <p class="panel-empty" id="no-channels">"No channels yet."</p> }.into_any()
    } else {
        view! {
            <table class="board-table channels" id="channels">
                <thead>
                    <tr>
                        <th>"Channel"</th>
                        <th>"Kind"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {channels.into_iter().map(|c| view! { <ChannelItem c actions form tested/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <div class="panel alerts-panel" id="channels-panel">
            <h2>"Channels"</h2>
            {list}
            {move || actions.delete_channel.value().get().and_then(Result::err).map(|e| view! {
                <p class="error" id="channel-delete-error" role="alert">{e.to_string()}</p>
            })}
            <ChannelEditor save=actions.save_channel form/>
        </div>
    }
}

#[component]
fn ChannelItem(
    c: ChannelRow,
    actions: Actions,
    form: ChannelFields,
    tested: RwSignal<Option<i64>>,
) -> impl IntoView {
    let id = c.id;
    let from_file = c.source == "file";
    let edit = ChannelForm::from_config(c.id, &c.name, &c.kind, &c.config);
    let kind_label = CHANNEL_KINDS
        .iter()
        .find(|(k, _)| *k == c.kind)
        .map_or(c.kind.clone(), |(_, l)| l.to_string());
    let confirming = RwSignal::new(false);
    let test = actions.test_channel;
    let result = move || {
        (tested.get() == Some(id)).then(|| {
            if test.pending().get() {
                view! { <span class="test-result pending">"Sending…"</span> }.into_any()
            } else {
                match test.value().get() {
                    Some(Ok(answer)) => view! {
                        <span class="test-result ok" role="status">"✓ " {answer}</span>
                    }
                    .into_any(),
                    Some(Err(e)) => view! {
                        <span class="test-result failed" role="alert">"✗ " {e.to_string()}</span>
                    }
                    .into_any(),
                    None => ().into_any(),
                }
            }
        })
    };
    view! {
        <tr class="channel-row" data-channel-id=id.to_string() data-channel-name=c.name.clone()>
            <td class="name">
                {c.name.clone()}
                <div class="summary mono" title=c.summary.clone()>{c.summary.clone()}</div>
            </td>
            <td class="channel-kind">{kind_label}</td>
            <td class="actions">
                <button type="button" class="btn small send-test"
                    disabled=move || test.pending().get()
                    on:click=move |_| {
                        tested.set(Some(id));
                        test.dispatch(TestChannel { id: id.to_string() });
                    }>
                    "Send test"
                </button>
                {if from_file {
                    view! { <span class="source-file">"from rules file"</span> }.into_any()
                } else {
                    view! {
                        <Show when=move || confirming.get() fallback=move || {
                            let edit = edit.clone();
                            view! {
                                <button type="button" class="btn small edit" on:click=move |_| {
                                    form.fill(&edit);
                                }>"Edit"</button>
                                <button type="button" class="btn small delete"
                                    on:click=move |_| confirming.set(true)>"Delete"</button>
                            }
                        }>
                            <span class="confirm-text">"Delete?"</span>
                            <button type="button" class="btn small danger confirm-delete" on:click=move |_| {
                                confirming.set(false);
                                actions.delete_channel.dispatch(DeleteChannel { id: id.to_string() });
                            }>"Confirm"</button>
                            <button type="button" class="btn small cancel-delete"
                                on:click=move |_| confirming.set(false)>"Cancel"</button>
                        </Show>
                    }
                    .into_any()
                }}
            </td>
        </tr>
        <tr class="channel-test" data-channel-id=id.to_string()>
            <td colspan="3">{result}</td>
        </tr>
    }
}

/// Adds or changes a channel; the kind picks which fields show (before hydration the page
/// renders the webhook fields, and the form still posts).
#[component]
fn ChannelEditor(save: ServerAction<SaveChannel>, form: ChannelFields) -> impl IntoView {
    let result = save.value();
    // The server names a settings problem as `config` with the field first in each part
    // (`url: …; secret: …`).
    let bad_fields = Memo::new(move |_| match result.get() {
        Some(Err(AppError::Invalid { field, message })) if field == "config" => message
            .split("; ")
            .filter_map(|p| p.split_once(':').map(|(f, _)| f.trim().to_string()))
            .collect(),
        Some(Err(AppError::Invalid { field, .. })) => vec![field],
        _ => Vec::new(),
    });
    let text = move |label: &'static str,
                     field: &'static str,
                     value: RwSignal<String>,
                     placeholder: &'static str| {
        let invalid = move || bad_fields.with(|f| f.iter().any(|b| b == field));
        view! {
            <label class=format!("field-{field}")>
                <span>{label}</span>
                <input
                    id=format!("channel-{}", field.replace('_', "-"))
                    name=format!("channel[{field}]")
                    type=if field == "password" { "password" } else { "text" }
                    placeholder=placeholder
                    autocomplete="off"
                    spellcheck="false"
                    class:invalid=invalid
                    aria-invalid=move || invalid().to_string()
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </label>
        }
    };
    let kind = form.kind;
    let is = move |k: &'static str| move || kind.get() == k;
    view! {
        <div class="alert-form channel-editor">
            <h3>{move || if form.id.get().is_empty() { "Add a channel" } else { "Edit channel" }}</h3>
            <ActionForm action=save attr:id="channel-form">
                <input type="hidden" name="channel[id]" prop:value=move || form.id.get()/>
                <div class="form-row">
                    {text("Name", "name", form.name, "e.g. oncall-webhook")}
                    <label>
                        <span>"Kind"</span>
                        <select id="channel-kind" name="channel[kind]"
                            prop:value=move || kind.get()
                            on:change=move |ev| kind.set(event_target_value(&ev))>
                            {CHANNEL_KINDS.into_iter().map(|(k, label)| view! {
                                <option value=k selected=move || kind.get() == k>{label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                <Show when=is("webhook")>
                    {text("URL", "url", form.url, "https://hooks.example.com/sightline")}
                    {text("Signing secret (optional)", "secret", form.secret, "HMAC-SHA256 key")}
                </Show>
                <Show when=is("slack")>
                    {text("Incoming-webhook URL", "url", form.url, "https://hooks.slack.com/services/…")}
                </Show>
                <Show when=is("pager_duty")>
                    {text("Routing key", "routing_key", form.routing_key, "Events API v2 integration key")}
                    {text("Endpoint (optional)", "url", form.url, "https://events.pagerduty.com/v2/enqueue")}
                </Show>
                <Show when=is("email")>
                    <div class="form-row">
                        {text("SMTP host", "host", form.host, "smtp.example.com")}
                        {text("Port", "port", form.port, "587")}
                        <label>
                            <span>"Security"</span>
                            <select id="channel-security" name="channel[security]"
                                prop:value=move || form.security.get()
                                on:change=move |ev| form.security.set(event_target_value(&ev))>
                                <option value="start_tls">"STARTTLS"</option>
                                <option value="tls">"TLS"</option>
                                <option value="none">"None"</option>
                            </select>
                        </label>
                    </div>
                    <div class="form-row">
                        {text("Username (optional)", "username", form.username, "")}
                        {text("Password (optional)", "password", form.password, "")}
                    </div>
                    {text("From", "from", form.from, "sightline@example.com")}
                    {text("To (comma-separated)", "to", form.to, "oncall@example.com, sre@example.com")}
                    <label class="check">
                        <input type="checkbox" id="channel-accept-invalid-certs"
                            name="channel[accept_invalid_certs]" value="true"
                            prop:checked=move || form.accept_invalid_certs.get()
                            on:change=move |ev| form.accept_invalid_certs.set(event_target_checked(&ev))/>
                        " Accept a self-signed server certificate"
                    </label>
                </Show>
                <div class="form-actions">
                    <Show when=move || !form.id.get().is_empty()>
                        <button type="button" class="btn" id="channel-new" on:click=move |_| {
                            form.fill(&ChannelForm { kind: "webhook".into(), ..Default::default() })
                        }>"New channel"</button>
                    </Show>
                    <button type="submit" class="btn primary" id="channel-save"
                        disabled=move || save.pending().get()>
                        "Save channel"
                    </button>
                </div>
                {move || match result.get() {
                    Some(Err(e)) => Some(view! {
                        <p class="error" id="channel-error" role="alert">{e.to_string()}</p>
                    }.into_any()),
                    Some(Ok(_)) => Some(view! {
                        <p class="saved" id="channel-saved" role="status">"Channel saved."</p>
                    }.into_any()),
                    None => None,
                }}
            </ActionForm>
        </div>
    }
}

#[component]
fn SilencesSection(silences: Vec<SilenceRow>, actions: Actions, now: i64) -> impl IntoView {
    let list = if silences.is_empty() {
        view! { <p class="panel-empty" id="no-silences">"No silences."</p> }.into_any()
    } else {
        view! {
            <table class="board-table silences" id="silences">
                <thead>
                    <tr>
                        <th>"Matchers"</th>
                        <th>"Until (UTC)"</th>
                        <th>"Comment"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {silences.into_iter().map(|s| {
                        let matchers = s.matchers.iter().map(|m| {
                            format!("{}{}{}", m.name, if m.regex { "=~" } else { "=" }, m.value)
                        }).collect::<Vec<_>>().join(", ");
                        let state = if s.active { "active" } else { "expired" };
                        let id = s.id;
                        view! {
                            <tr class=format!("silence-row {state}") data-silence-id=id.to_string()>
                                <td class="mono matchers" title=matchers.clone()>{matchers.clone()}</td>
                                <td class="mono until" title=format!("from {}", time_text(s.starts_ms))>
                                    {time_text(s.ends_ms)[..16].to_string()}
                                    {(s.active && s.ends_ms > now).then(|| view! {
                                        <span class="muted">" (" {span_text(s.ends_ms - now)} " left)"</span>
                                    })}
                                </td>
                                <td class="comment">{s.comment.clone()}</td>
                                <td class="actions">
                                    {if s.active {
                                        view! {
                                            <ActionForm action=actions.expire_silence attr:class="expire-form">
                                                <input type="hidden" name="id" value=id.to_string()/>
                                                <button type="submit" class="btn small expire">"Expire"</button>
                                            </ActionForm>
                                        }.into_any()
                                    } else {
                                        view! { <span class="badge">"expired"</span> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <div class="panel alerts-panel" id="silences-panel">
            <h2>"Silences"</h2>
            {list}
            {move || actions.expire_silence.value().get().and_then(Result::err).map(|e| view! {
                <p class="error" role="alert">{e.to_string()}</p>
            })}
            <SilenceEditor create=actions.create_silence/>
        </div>
    }
}

/// Mutes notifications whose labels match every matcher (`alertname`, `severity`, or the
/// rule's split label), from now for a duration or until a time.
#[component]
fn SilenceEditor(create: ServerAction<CreateSilence>) -> impl IntoView {
    let rows = RwSignal::new(1usize);
    let result = create.value();
    let bad_field = Memo::new(move |_| match result.get() {
        Some(Err(AppError::Invalid { field, .. })) => Some(field),
        _ => None,
    });
    let invalid = move |name: &'static str| move || bad_field.with(|f| f.as_deref() == Some(name));
    view! {
        <div class="alert-form silence-editor">
            <h3>"Add a silence"</h3>
            <ActionForm action=create attr:id="silence-form">
                <div class="matchers" class:invalid=invalid("matchers")>
                    {move || (0..rows.get()).map(|i| view! {
                        <div class="form-row matcher">
                            <label>
                                <span>"Label"</span>
                                <input type="text" class="matcher-name"
                                    name=format!("silence[matchers][{i}][name]")
                                    placeholder="alertname" autocomplete="off" spellcheck="false"
                                    value=if i == 0 { "alertname" } else { "" }/>
                            </label>
                            <label class="grow">
                                <span>"Value"</span>
                                <input type="text" class="matcher-value"
                                    name=format!("silence[matchers][{i}][value]")
                                    placeholder="P95 latency above 1.5 s" autocomplete="off" spellcheck="false"/>
                            </label>
                            <label class="check">
                                <input type="checkbox" class="matcher-regex"
                                    name=format!("silence[matchers][{i}][regex]") value="true"/>
                                " regex"
                            </label>
                        </div>
                    }).collect_view()}
                    <button type="button" class="btn small" id="add-matcher"
                        on:click=move |_| rows.update(|r| *r += 1)>"+ matcher"</button>
                </div>
                <div class="form-row">
                    <label>
                        <span>"For"</span>
                        <input type="text" id="silence-duration" name="silence[duration]" value="2h"
                            placeholder="2h" autocomplete="off"
                            class:invalid=invalid("duration")/>
                    </label>
                    <label>
                        <span>"or until (UTC)"</span>
                        <input type="datetime-local" id="silence-ends-at" name="silence[ends_at]"
                            class:invalid=invalid("ends_at")/>
                    </label>
                </div>
                <label>
                    <span>"Comment"</span>
                    <input type="text" id="silence-comment" name="silence[comment]"
                        placeholder="Deploying the new reranker" autocomplete="off"/>
                </label>
                <div class="form-actions">
                    <button type="submit" class="btn primary" id="silence-save"
                        disabled=move || create.pending().get()>"Create silence"</button>
                </div>
                {move || match result.get() {
                    Some(Err(e)) => Some(view! {
                        <p class="error" id="silence-error" role="alert">{e.to_string()}</p>
                    }.into_any()),
                    Some(Ok(_)) => Some(view! {
                        <p class="saved" id="silence-saved" role="status">"Silence created."</p>
                    }.into_any()),
                    None => None,
                }}
            </ActionForm>
        </div>
    }
}
