use leptos::prelude::*;

/// One labelled figure of a page header (start, duration, tokens, cost…).
pub fn stat(label: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="stat">
            <div class="stat-label">{label}</div>
            <div class="stat-value">{value}</div>
        </div>
    }
}
