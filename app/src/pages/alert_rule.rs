//! `/alerts/:id` and `/alerts/new` (`?preset=N` starts from one of the presets): the rule
//! editor. Every field of the rule as typed; under the form the backtest — the rule's metric
//! over the last 24 h with its threshold and when it would have fired — recomputed on the
//! server a moment after each change, so a rule is judged before it is saved. The server
//! names the field of every problem; the editor marks those inputs. A saved rule shows its
//! TOML (for a rules file) and its recent transitions. Rules from the rules file can be
//! previewed but are edited in the file.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::alerts::{get_alert_rule, get_alerts, preview_rule, DeleteRule, SaveRule};
use crate::components::alerts::{labels_text, span_text, time_text, EventsTable, StateBadge};
use crate::types::{AlertRuleDetail, AlertsOverview, RuleForm, RulePreview};
use crate::AppError;

/// How long editing must pause before the backtest is recomputed.
const EDIT_PAUSE: std::time::Duration = std::time::Duration::from_millis(600);

const METRICS: &[(&str, &str)] = &[
    ("latency_p50", "P50 latency"),
    ("latency_p95", "P95 latency"),
    ("latency_p99", "P99 latency"),
    ("error_rate", "Error rate"),
    ("guardrail_block_rate", "Guardrail block rate"),
    ("cache_hit_rate", "Cache-hit rate"),
    ("cost_per_request", "Cost per request"),
    ("cost_per_window", "Cost over the window"),
    ("trace_volume", "Trace volume"),
];
const OPS: &[(&str, &str)] = &[(">", ">"), (">=", "≥"), ("<", "<"), ("<=", "≤")];
const BASELINES: &[(&str, &str)] = &[
    ("", "absolute threshold"),
    ("week_ago", "× same window a week ago"),
    ("median_7d", "× median of the last 7 days"),
];
const SEVERITIES: &[(&str, &str)] = &[
    ("info", "info"),
    ("warning", "warning"),
    ("critical", "critical"),
];
const NO_DATA: &[(&str, &str)] = &[
    ("ok", "counts as OK"),
    ("keep_state", "keeps the state"),
    ("alerting", "counts as alerting"),
];

/// Every field of [`RuleForm`] as the server's problems name it.
const FIELDS: &[&str] = &[
    "name",
    "metric",
    "span",
    "scope",
    "op",
    "threshold",
    "baseline",
    "window",
    "interval",
    "for",
    "keep_firing_for",
    "min_samples",
    "severity",
    "channels",
    "repeat_interval",
    "split_by",
    "no_data",
    "enabled",
];

/// A new rule's starting point.
pub fn blank_rule() -> RuleForm {
    RuleForm {
        metric: "latency_p95".into(),
        op: ">".into(),
        window: "5m".into(),
        interval: "1m".into(),
        for_: "5m".into(),
        keep_firing_for: "0s".into(),
        min_samples: "20".into(),
        severity: "warning".into(),
        repeat_interval: "4h".into(),
        no_data: "ok".into(),
        enabled: true,
        ..Default::default()
    }
}

/// The problems in an error answer, one per line, each starting with its field where the
/// server named one (`window: "5x": unknown unit …`).
pub fn problem_lines(e: &AppError) -> Vec<String> {
    match e {
        AppError::Invalid { field, message } if field == "rule" => message
            .split('\n')
            .flat_map(|l| l.split("; "))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        AppError::Invalid { field, message } => vec![format!("{field}: {message}")],
        other => vec![other.to_string()],
    }
}

/// The form field a problem line names, if any.
pub fn problem_field(line: &str) -> Option<&'static str> {
    let head = line.split(':').next()?.trim();
    FIELDS.iter().copied().find(|f| *f == head)
}

/// What the threshold means for this metric and baseline.
fn threshold_hint(metric: &str, baseline: &str) -> &'static str {
    if !baseline.is_empty() {
        return "ratio of the baseline: 1.5 = 150%";
    }
    match metric {
        m if m.starts_with("latency_") => "milliseconds",
        "error_rate" | "guardrail_block_rate" | "cache_hit_rate" => "fraction: 0.01 = 1%",
        "cost_per_request" | "cost_per_window" => "US dollars",
        "trace_volume" => "traces in the window",
        _ => "",
    }
}

#[component]
pub fn AlertRulePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    // `None` on /alerts/new.
    let rule_id = Memo::new(move |_| params.with(|p| p.get("id")));
    let preset =
        Memo::new(move |_| query.with(|q| q.get("preset").and_then(|p| p.parse::<usize>().ok())));
    // Bumped after a save of this rule, to reload its TOML, state and history.
    let saved = RwSignal::new(0u32);
    let data = Resource::new(
        move || (rule_id.get(), saved.get()),
        |(id, _)| async move {
            let overview = get_alerts().await?;
            let detail = match id {
                Some(id) => Some(get_alert_rule(id).await?),
                None => None,
            };
            Ok::<_, AppError>((overview, detail))
        },
    );
    let save = ServerAction::<SaveRule>::new();
    let delete = ServerAction::<DeleteRule>::new();
    let navigate = use_navigate();
    let nav = navigate.clone();
    Effect::new(move |_| {
        if let Some(Ok(id)) = save.value().get() {
            if rule_id.get_untracked().as_deref() == Some(id.to_string().as_str()) {
                saved.update(|s| *s += 1);
            } else {
                nav(&format!("/alerts/{id}"), Default::default());
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/alerts", Default::default());
        }
    });
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <section class="page alert-rule-page" id="alert-rule-page"
            data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/alerts">"← Alerts"</a></p>
            <Transition fallback=|| view! { <p class="empty">"Loading the rule…"</p> }>
                <ErrorBoundary fallback=|errors| {
                    super::trace::set_error_status(&errors);
                    view! { <p class="error" id="rule-load-error">{move || super::trace::error_text(&errors)}</p> }
                }>
                    {move || Suspend::new(async move {
                        let (overview, detail) = data.await?;
                        let initial = match (&detail, preset.get()) {
                            (Some(d), _) => d.form.clone(),
                            (None, Some(n)) => overview.presets.get(n).cloned().unwrap_or_else(blank_rule),
                            (None, None) => blank_rule(),
                        };
                        Ok::<_, AppError>(view! {
                            <RuleEditor initial overview detail save delete/>
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn RuleEditor(
    initial: RuleForm,
    overview: AlertsOverview,
    detail: Option<AlertRuleDetail>,
    save: ServerAction<SaveRule>,
    delete: ServerAction<DeleteRule>,
) -> impl IntoView {
    let id = detail.as_ref().map(|d| d.rule.id);
    let from_file = detail.as_ref().is_some_and(|d| d.rule.source == "file");
    let form = RwSignal::new(initial.clone());
    // The form the backtest shows: follows `form` after a typing pause, or on "Preview".
    let committed = RwSignal::new(initial);
    let preview = LocalResource::new(move || preview_rule(committed.get()));
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let cancel = move || {
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        pending.set_value(None);
    };
    // A save's problems stay on screen until the form changes.
    let show_save_error = RwSignal::new(false);
    Effect::new(move |first: Option<()>| {
        let f = form.get();
        if first.is_some() {
            show_save_error.set(false);
            cancel();
            let handle = set_timeout_with_handle(move || committed.set(f), EDIT_PAUSE);
            pending.set_value(handle.ok());
        }
    });
    let preview_now = move |_| {
        cancel();
        committed.set(form.get_untracked());
    };

    // Problems the server named: from the last save, and from the backtest of the form.
    let save_error = Memo::new(move |_| {
        if !show_save_error.get() {
            return None;
        }
        save.value().get().and_then(Result::err)
    });
    let save_problems =
        Memo::new(move |_| save_error.with(|e| e.as_ref().map(problem_lines).unwrap_or_default()));
    let preview_problems = Memo::new(move |_| {
        preview
            .get()
            .map(|p| match p {
                Ok(p) => p.problems,
                Err(e) => problem_lines(&e),
            })
            .unwrap_or_default()
    });
    let bad = move |field: &'static str| {
        move || {
            save_problems.with(|l| l.iter().any(|p| problem_field(p) == Some(field)))
                || preview_problems.with(|l| l.iter().any(|p| problem_field(p) == Some(field)))
        }
    };

    let text = move |label: &'static str,
                     field: &'static str,
                     get: fn(&RuleForm) -> String,
                     set: fn(&mut RuleForm, String),
                     placeholder: &'static str| {
        view! {
            <label class=format!("field field-{field}")>
                <span>{label}</span>
                <input
                    id=format!("rule-{}", field.replace('_', "-"))
                    name=field
                    type="text"
                    placeholder=placeholder
                    autocomplete="off"
                    spellcheck="false"
                    class:invalid=bad(field)
                    aria-invalid=move || bad(field)().to_string()
                    prop:value=move || form.with(get)
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
                />
            </label>
        }
    };
    let select = move |label: &'static str,
                       field: &'static str,
                       options: Vec<(String, String)>,
                       get: fn(&RuleForm) -> String,
                       set: fn(&mut RuleForm, String)| {
        view! {
            <label class=format!("field field-{field}")>
                <span>{label}</span>
                <select
                    id=format!("rule-{}", field.replace('_', "-"))
                    name=field
                    class:invalid=bad(field)
                    prop:value=move || form.with(get)
                    on:change=move |ev| form.update(|f| set(f, event_target_value(&ev)))
                >
                    {options.into_iter().map(|(value, text)| {
                        let v = value.clone();
                        view! {
                            <option value=value selected=move || form.with(get) == v>{text}</option>
                        }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    let opts = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(v, t)| (v.to_string(), t.to_string()))
            .collect::<Vec<_>>()
    };
    let mut splits = vec![
        (String::new(), "— one alert for the whole scope".to_string()),
        ("service".into(), "service".into()),
        ("name".into(), "trace name".into()),
        ("model".into(), "model (span metrics)".into()),
        ("span_name".into(), "span name (span metrics)".into()),
    ];
    splits.extend(
        overview
            .tag_keys
            .iter()
            .map(|k| (format!("tags.{k}"), format!("tags.{k}"))),
    );
    // Channels the rule names that no longer exist stay selectable, so saving keeps them.
    let mut channel_names: Vec<String> = overview.channels.iter().map(|c| c.name.clone()).collect();
    for c in &form.get_untracked().channels {
        if !channel_names.contains(c) {
            channel_names.push(c.clone());
        }
    }
    let scope_error = Memo::new(move |_| {
        form.with(|f| crate::filter::parse(&f.scope).err().map(|e| e.to_string()))
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        show_save_error.set(true);
        save.dispatch(SaveRule {
            id: id.map(|i| i.to_string()).unwrap_or_default(),
            form: form.get_untracked(),
        });
    };
    let confirming = RwSignal::new(false);
    let title = detail
        .as_ref()
        .map_or_else(|| "New alert rule".to_string(), |d| d.rule.name.clone());

    view! {
        <div class="page-head">
            <h1 id="rule-title">{title}</h1>
            {detail.as_ref().map(|d| view! {
                <div class="head-actions">
                    <StateBadge state=d.rule.state.clone()/>
                    <a class="btn" href=format!("/alerts/history?rule={}", d.rule.id)>"History"</a>
                </div>
            })}
        </div>
        {detail.as_ref().map(|d| view! { <RuleStatus d=d.clone()/> })}
        {from_file.then(|| view! {
            <p class="rule-notice" id="rule-from-file">
                "This rule comes from the rules file: edit it there. It can be previewed, and "
                "enabled or disabled on " <a href="/alerts">"the alerts page"</a> "."
            </p>
        })}
        <form class="panel rule-form" id="rule-form" on:submit=on_submit>
            <div class="form-grid">
                <div class="wide">{text("Name", "name", |f| f.name.clone(), |f, v| f.name = v, "e.g. P95 latency above 1.5 s")}</div>
                {select("Metric", "metric", opts(METRICS), |f| f.metric.clone(), |f, v| f.metric = v)}
                {text("Span (latency only)", "span", |f| f.span.clone(), |f, v| f.span = v, "whole trace")}
                <div class="wide">
                    <label class="field field-scope">
                        <span>"Scope " <em>"(filter grammar over service, name and rollup tags; empty = all traffic)"</em></span>
                        <input
                            id="rule-scope"
                            name="scope"
                            type="text"
                            class="mono"
                            placeholder="e.g. service = 'mangaassist-chatbot' AND tags.intent = 'recommendation'"
                            autocomplete="off"
                            spellcheck="false"
                            class:invalid=move || bad("scope")() || scope_error.with(Option::is_some)
                            prop:value=move || form.with(|f| f.scope.clone())
                            on:input=move |ev| form.update(|f| f.scope = event_target_value(&ev))
                        />
                    </label>
                    {move || scope_error.get().map(|e| view! {
                        <p class="filter-error" id="rule-scope-error" role="alert">{e}</p>
                    })}
                </div>
                {select("Operator", "op", opts(OPS), |f| f.op.clone(), |f, v| f.op = v)}
                <label class="field field-threshold">
                    <span>"Threshold " <em>{move || form.with(|f| threshold_hint(&f.metric, &f.baseline))}</em></span>
                    <input
                        id="rule-threshold"
                        name="threshold"
                        type="text"
                        inputmode="decimal"
                        autocomplete="off"
                        class:invalid=bad("threshold")
                        prop:value=move || form.with(|f| f.threshold.clone())
                        on:input=move |ev| form.update(|f| f.threshold = event_target_value(&ev))
                    />
                </label>
                {select("Baseline", "baseline", opts(BASELINES), |f| f.baseline.clone(), |f, v| f.baseline = v)}
                {text("Window", "window", |f| f.window.clone(), |f, v| f.window = v, "5m")}
                {text("For", "for", |f| f.for_.clone(), |f, v| f.for_ = v, "5m")}
                {text("Keep firing for", "keep_firing_for", |f| f.keep_firing_for.clone(), |f, v| f.keep_firing_for = v, "0s")}
                {text("Evaluate every", "interval", |f| f.interval.clone(), |f, v| f.interval = v, "1m")}
                {text("Min. samples", "min_samples", |f| f.min_samples.clone(), |f, v| f.min_samples = v, "20")}
                {select("Severity", "severity", opts(SEVERITIES), |f| f.severity.clone(), |f, v| f.severity = v)}
                {text("Repeat every", "repeat_interval", |f| f.repeat_interval.clone(), |f, v| f.repeat_interval = v, "4h")}
                {select("Split by", "split_by", splits, |f| f.split_by.clone(), |f, v| f.split_by = v)}
                {select("No data", "no_data", opts(NO_DATA), |f| f.no_data.clone(), |f, v| f.no_data = v)}
                <fieldset class="wide field field-channels" class:invalid=bad("channels")>
                    <legend>"Notify"</legend>
                    {if channel_names.is_empty() {
                        view! {
                            <span class="muted">"No channels yet: add one on " <a href="/alerts">"the alerts page"</a> "."</span>
                        }.into_any()
                    } else {
                        channel_names.into_iter().map(|name| {
                            let n1 = name.clone();
                            let n2 = name.clone();
                            view! {
                                <label class="check channel-choice">
                                    <input type="checkbox" name="channels" value=name.clone()
                                        prop:checked=move || form.with(|f| f.channels.contains(&n1))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            let n = n2.clone();
                                            form.update(|f| {
                                                f.channels.retain(|c| *c != n);
                                                if on { f.channels.push(n); }
                                            });
                                        }/>
                                    " " {name}
                                </label>
                            }
                        }).collect_view().into_any()
                    }}
                </fieldset>
                <label class="check field-enabled">
                    <input type="checkbox" id="rule-enabled" name="enabled"
                        prop:checked=move || form.with(|f| f.enabled)
                        on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))/>
                    " Enabled"
                </label>
            </div>
            {move || save_error.get().map(|e| view! {
                <div class="error rule-error" id="rule-error" role="alert">
                    <strong>"Not saved:"</strong>
                    <ul>{problem_lines(&e).into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                </div>
            })}
            <div class="form-actions">
                {id.filter(|_| !from_file).map(|id| view! {
                    <Show when=move || confirming.get() fallback=move || view! {
                        <button type="button" class="btn danger" id="rule-delete"
                            on:click=move |_| confirming.set(true)>"Delete rule"</button>
                    }>
                        <span class="confirm-text">"Delete this rule?"</span>
                        <button type="button" class="btn danger" id="rule-delete-confirm" on:click=move |_| {
                            confirming.set(false);
                            delete.dispatch(DeleteRule { id: id.to_string() });
                        }>"Confirm"</button>
                        <button type="button" class="btn" id="rule-delete-cancel"
                            on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </Show>
                })}
                <span class="spacer"></span>
                <button type="button" class="btn" id="rule-preview" on:click=preview_now>"Preview"</button>
                <button type="submit" class="btn primary" id="rule-save"
                    disabled=move || from_file || save.pending().get()>
                    {if id.is_some() { "Save rule" } else { "Create rule" }}
                </button>
            </div>
            {move || delete.value().get().and_then(Result::err).map(|e| view! {
                <p class="error" id="rule-delete-error" role="alert">{e.to_string()}</p>
            })}
        </form>

        <div class="panel backtest" id="backtest">
            <h2>"Backtest: the last 24 hours"</h2>
            <Transition fallback=|| view! { <p class="panel-empty">"Computing the backtest…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(p) => view! { <Backtest p/> }.into_any(),
                        Err(e) => view! {
                            <p class="error" id="preview-error" role="alert">{e.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>

        {detail.map(|d| view! {
            <div class="rule-extras">
                <div class="panel" id="rule-history-panel">
                    <h2>"Recent transitions"</h2>
                    <EventsTable events=d.history show_rule=false/>
                    <p class="more"><a href=format!("/alerts/history?rule={}", d.rule.id)>"All transitions of this rule →"</a></p>
                </div>
                <div class="panel" id="rule-toml-panel">
                    <h2>"As a rules-file entry"</h2>
                    <pre class="toml" id="rule-toml">{d.toml}</pre>
                </div>
            </div>
        })}
    }
}

/// The saved rule's live state: its instances with their values, the last evaluation and
/// why it failed.
#[component]
fn RuleStatus(d: AlertRuleDetail) -> impl IntoView {
    let r = d.rule;
    view! {
        <div class="rule-status" id="rule-status">
            <span class="condition">{r.condition.clone()}</span>
            <span class="muted">
                {r.last_eval_ms.map(|ms| format!("last evaluated {}", time_text(ms)))
                    .unwrap_or_else(|| "not evaluated yet".into())}
            </span>
            <ul class="instance-list">
                {r.instances.into_iter().map(|i| {
                    let labels = labels_text(&i.labels);
                    let value = i.value.clone().unwrap_or_else(|| "no data".into());
                    view! {
                        <li class=format!("instance phase-{}", i.phase) data-phase=i.phase.clone()>
                            <StateBadge state=i.phase.clone()/>
                            " "
                            {if labels.is_empty() { value } else { format!("{labels}: {value}") }}
                            <span class="muted">{format!(" · {} samples", i.samples)}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {r.eval_error.map(|e| view! {
                <p class="eval-error" role="alert">"Evaluation failed: " {e}</p>
            })}
        </div>
    }
}

#[component]
fn Backtest(p: RulePreview) -> impl IntoView {
    if !p.problems.is_empty() {
        return view! {
            <div class="preview-problems" id="preview-problems" role="alert">
                <p>"Fix these to see the backtest:"</p>
                <ul>{p.problems.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            </div>
        }
        .into_any();
    }
    let coverage = format!(
        "{} of {} simulated evaluations had enough data.",
        p.steps_with_data, p.steps
    );
    let summary = match p.firing.len() {
        0 => "It would not have fired.".to_string(),
        1 => "It would have fired once:".to_string(),
        n => format!("It would have fired {n} times:"),
    };
    view! {
        <p class="backtest-condition" id="backtest-condition">{p.condition.clone()}</p>
        <div class="chart-box" id="backtest-chart" inner_html=p.chart_svg></div>
        <p class="backtest-steps" id="backtest-steps">{coverage}</p>
        <p class="backtest-summary" id="backtest-summary">{summary}</p>
        <ul class="firing-periods" id="firing-periods">
            {p.firing.into_iter().map(|(start, end)| {
                let text = match end {
                    Some(end) => format!(
                        "{} → {} ({})",
                        &time_text(start)[..16],
                        &time_text(end)[11..],
                        span_text(end - start)
                    ),
                    None => format!("{} → still firing", time_text(start)),
                };
                view! { <li class="firing-period">{text}</li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_fields() {
        let e = AppError::Invalid {
            field: "rule".into(),
            message: "window: \"5x\": unknown unit \"x\" (use s, m, h or d)\nfor: 40d must be between 0s and 30d".into(),
        };
        let lines = problem_lines(&e);
        assert_eq!(lines.len(), 2);
        assert_eq!(problem_field(&lines[0]), Some("window"));
        assert_eq!(problem_field(&lines[1]), Some("for"));
        let taken = AppError::Invalid {
            field: "name".into(),
            message: "is taken".into(),
        };
        assert_eq!(problem_field(&problem_lines(&taken)[0]), Some("name"));
        assert_eq!(problem_field("database: gone"), None);
    }

    #[test]
    fn a_blank_rule_has_every_timing_filled() {
        let r = blank_rule();
        assert!(r.enabled);
        for v in [
            &r.window,
            &r.interval,
            &r.for_,
            &r.keep_firing_for,
            &r.repeat_interval,
        ] {
            assert!(crate::api::alerts::parse_duration(v).is_ok(), "{v}");
        }
    }
}
