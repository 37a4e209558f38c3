use leptos::prelude::*;

use crate::types::TraceStatus;

/// A coloured status pill: OK, ERROR, IN PROGRESS.
#[component]
pub fn StatusBadge(status: TraceStatus) -> impl IntoView {
    let (class, label) = match status {
        TraceStatus::Ok => ("badge ok", "OK"),
        TraceStatus::Error => ("badge error", "ERROR"),
        TraceStatus::InProgress => ("badge progress", "IN PROGRESS"),
        TraceStatus::Unspecified => ("badge", "—"),
    };
    view! { <span class=class>{label}</span> }
}
