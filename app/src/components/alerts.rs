//! View pieces shared by the alerting pages: a rule's state badge, an alert instance's
//! labels, and the table of transitions with their deliveries (the history page and a
//! rule's recent history). They render what the server sent; no alerting logic here.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::format;
use crate::types::{AlertEventRow, DeliveryRow};

/// A rule's overall state (or an instance's phase) as a coloured pill: firing red, pending
/// amber, error red outline, inactive/resolved/disabled grey.
#[component]
pub fn StateBadge(state: String) -> impl IntoView {
    let class = format!("badge state state-{}", state.replace(' ', "-"));
    view! { <span class=class data-state=state.clone()>{state.to_uppercase()}</span> }
}

/// `model=gpt-4o, tags.intent=faq`: the labels that tell instances of one rule apart (the
/// rule's name and severity, on every instance, are left out). Empty for an unsplit rule.
pub fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `2026-11-24 14:05:09 UTC`.
pub fn time_text(ms: i64) -> String {
    format!("{} UTC", &format::utc_ms(ms)[..19])
}

/// `3 min ago`, `2 h ago` relative to `now_ms`; the exact time goes in a title.
pub fn ago_text(ms: i64, now_ms: i64) -> String {
    let s = (now_ms - ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// `1 h 5 min`, `45 s`: the length of a firing period.
pub fn span_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s % 3600 < 60 {
        format!("{} h", s / 3600)
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

/// A raw metric value as the history stores it: four significant digits, no unit.
pub fn value_text(v: Option<f64>) -> String {
    match v {
        None => "no data".into(),
        Some(v) if !v.is_finite() => v.to_string(),
        Some(0.0) => "0".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) => {
            let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
            let s = format!("{v:.digits$}");
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            }
        }
    }
}

/// Transitions, newest first, each with its deliveries. `show_rule` adds the rule column
/// (the history page; a rule's own page leaves it out).
#[component]
pub fn EventsTable(events: Vec<AlertEventRow>, show_rule: bool) -> impl IntoView {
    if events.is_empty() {
        return view! {
            <p class="empty" id="no-events">"No transitions yet."</p>
        }
        .into_any();
    }
    view! {
        <table class="traces alert-events" id="alert-events">
            <thead>
                <tr>
                    <th class="c-time">"Time (UTC)"</th>
                    {show_rule.then(|| view! { <th class="c-rule">"Rule"</th> })}
                    <th class="c-labels">"Labels"</th>
                    <th class="c-change">"Change"</th>
                    <th class="c-value num">"Value"</th>
                    <th class="c-notice">"Notice"</th>
                    <th class="c-deliveries">"Deliveries"</th>
                </tr>
            </thead>
            <tbody>
                {events.into_iter().map(|e| view! { <EventRow e show_rule/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn EventRow(e: AlertEventRow, show_rule: bool) -> impl IntoView {
    let labels = labels_text(&e.labels);
    let rule_href = format!("/alerts/{}", e.rule_id);
    view! {
        <tr class="alert-event" data-event-id=e.id.to_string() data-to=e.to.clone()>
            <td class="mono time" title=e.at_ms.to_string()>{time_text(e.at_ms)}</td>
            {show_rule.then(|| view! {
                <td class="name rule"><a href=rule_href.clone()>{e.rule_name.clone()}</a></td>
            })}
            <td class="mono labels" title=labels.clone()>
                {if labels.is_empty() { "—".to_string() } else { labels.clone() }}
            </td>
            <td class="change">
                <StateBadge state=e.from.clone()/>
                <span class="arrow">" → "</span>
                <StateBadge state=e.to.clone()/>
            </td>
            <td class="num value">{e.value_text.clone().unwrap_or_else(|| value_text(e.value))}</td>
            <td class="notice-kind">{e.notice.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="deliveries">
                {if e.deliveries.is_empty() {
                    view! { <span class="muted">"—"</span> }.into_any()
                } else {
                    view! {
                        <ul class="delivery-list">
                            {e.deliveries.into_iter().map(|d| view! { <Delivery d/> }).collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
            </td>
        </tr>
    }
}

#[component]
fn Delivery(d: DeliveryRow) -> impl IntoView {
    let attempts = match d.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    view! {
        <li class="delivery" data-status=d.status.clone()>
            <span class="channel">{d.channel.clone()}</span>
            <span class=format!("badge delivery-{}", d.status)>{d.status.clone()}</span>
            <span class="attempts">{attempts}</span>
            {d.last_error.map(|err| view! { <span class="delivery-error" title=err.clone()>{err.clone()}</span> })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_leave_out_what_every_instance_has() {
        let labels = BTreeMap::from([
            ("alertname".to_string(), "P95".to_string()),
            ("severity".to_string(), "critical".to_string()),
            ("model".to_string(), "gpt-4o".to_string()),
        ]);
        assert_eq!(labels_text(&labels), "model=gpt-4o");
        assert_eq!(labels_text(&BTreeMap::new()), "");
    }

    #[test]
    fn values_and_lengths_read_naturally() {
        assert_eq!(value_text(Some(1532.4)), "1532");
        assert_eq!(value_text(Some(0.0123456)), "0.01235");
        assert_eq!(value_text(Some(2.5)), "2.5");
        assert_eq!(value_text(None), "no data");
        assert_eq!(span_text(45_000), "45 s");
        assert_eq!(span_text(65 * 60_000), "1 h 5 min");
        assert_eq!(span_text(2 * 3_600_000), "2 h");
        assert_eq!(ago_text(0, 125_000), "2 min ago");
    }
}
