//! `/alerts/history`: every transition of every alert instance, newest first, with the
//! deliveries of its notification (channel, status, attempts, last error). `?rule=<id>`
//! keeps one rule's; `?before=<event id>` is the next (older) page. Both live in the URL, so
//! a link reproduces the view; the pager is plain links.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::alerts::get_alert_history;
use crate::components::alerts::EventsTable;

/// `/alerts/history?…` for a rule filter and a page start, leaving out empty parts.
pub fn history_url(rule: &str, before: Option<i64>) -> String {
    let mut q = ParamsMap::new();
    if !rule.is_empty() {
        q.insert("rule", rule.to_string());
    }
    if let Some(b) = before {
        q.insert("before", b.to_string());
    }
    format!("/alerts/history{}", q.to_query_string())
}

#[component]
pub fn AlertHistoryPage() -> impl IntoView {
    let query = use_query_map();
    let rule = Memo::new(move |_| query.with(|q| q.get("rule").unwrap_or_default()));
    let before = Memo::new(move |_| query.with(|q| q.get("before").unwrap_or_default()));
    let history = Resource::new(
        move || (rule.get(), before.get()),
        |(rule, before)| get_alert_history(rule, before),
    );
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <section class="page alert-history-page" id="alert-history-page"
            data-hydrated=move || hydrated.get().to_string()>
            <p class="crumbs"><a href="/alerts">"← Alerts"</a></p>
            <div class="page-head">
                <h1>"Alert history"</h1>
                {move || (!rule.get().is_empty()).then(|| view! {
                    <p class="history-filter" id="history-filter">
                        "One rule only · " <a href="/alerts/history">"show every rule"</a>
                    </p>
                })}
            </div>
            <Transition fallback=|| view! { <p class="empty">"Loading the history…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error" id="history-error">{move || super::trace::error_text(&errors)}</p>
                }>
                    {move || Suspend::new(async move {
                        history.await.map(|h| {
                            let rule = rule.get_untracked();
                            let newer = (!before.get_untracked().is_empty())
                                .then(|| history_url(&rule, None));
                            let older = h.next_before_id.map(|b| history_url(&rule, Some(b)));
                            view! {
                                <EventsTable events=h.events show_rule=true/>
                                <nav class="pager">
                                    {newer.map(|href| view! { <a class="btn" id="history-newest" href=href>"Newest"</a> })}
                                    {older.map(|href| view! { <a class="btn" id="history-older" href=href>"Older →"</a> })}
                                </nav>
                            }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_urls_leave_out_empty_parts() {
        assert_eq!(history_url("", None), "/alerts/history");
        assert_eq!(
            history_url("7", Some(120)),
            "/alerts/history?rule=7&before=120"
        );
        assert_eq!(history_url("", Some(3)), "/alerts/history?before=3");
    }
}
