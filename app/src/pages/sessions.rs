//! `/sessions`: conversations, newest activity first, with their trace count, time span,
//! tokens, cost and errors. The page position lives in the URL (`?cursor=…`), which keys
//! the list resource, so a link reproduces the page.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::sessions::list_sessions;
use crate::format;
use crate::types::{SessionPage, SessionSummary};

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// `/sessions/<id>`, the id percent-encoded as one path segment.
pub fn session_href(session_id: &str) -> String {
    format!("/sessions/{}", encode_segment(session_id))
}

fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let cursor = Memo::new(move |_| query.with(|q| q.get("cursor").filter(|c| !c.is_empty())));
    let sessions = Resource::new(move || cursor.get(), |c| list_sessions(c, PAGE_SIZE));
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));

    view! {
        <section class="page" id="sessions-page" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head">
                <h1>"Sessions"</h1>
            </div>
            <Transition fallback=|| view! { <p class="empty">"Loading sessions…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error">{move || super::trace::error_text(&errors)}</p>
                }>
                    {move || Suspend::new(async move {
                        sessions.await.map(|page| {
                            let later = cursor.get_untracked().is_some();
                            view! { <SessionList page later/> }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn SessionList(page: SessionPage, later: bool) -> impl IntoView {
    let SessionPage {
        sessions,
        next_cursor,
    } = page;
    let first = later.then_some("/sessions".to_string());
    let next = next_cursor.map(|c| format!("/sessions?cursor={}", encode_segment(&c)));
    let pager = (first.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="pager">
                {first.map(|href| view! { <a id="first-page" class="btn" href=href>"First page"</a> })}
                {next.map(|href| view! { <a id="next-page" class="btn" href=href>"Next page"</a> })}
            </nav>
        }
    });
    let body = if sessions.is_empty() {
        view! {
            <p class="empty" id="no-sessions">
                "No sessions yet. Traces join a session when they carry "
                <code>"session.id"</code> " (or MLflow's " <code>"mlflow.trace.session"</code> ")."
            </p>
        }
        .into_any()
    } else {
        view! {
            <table class="traces sessions" id="session-table">
                <colgroup>
                    <col class="c-sess"/>
                    <col class="c-user"/>
                    <col class="c-count"/>
                    <col class="c-start"/>
                    <col class="c-start"/>
                    <col class="c-dur"/>
                    <col class="c-tokens"/>
                    <col class="c-cost"/>
                    <col class="c-count"/>
                </colgroup>
                <thead>
                    <tr>
                        <th>"Session"</th>
                        <th>"User"</th>
                        <th class="num">"Traces"</th>
                        <th>"First (UTC)"</th>
                        <th>"Last (UTC)"</th>
                        <th class="num">"Span"</th>
                        <th class="num">"Tokens in / out"</th>
                        <th class="num">"Cost"</th>
                        <th class="num">"Errors"</th>
                    </tr>
                </thead>
                <tbody>
                    {sessions.into_iter().map(|s| view! { <SessionRow s/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        {body}
        {pager}
    }
}

#[component]
fn SessionRow(s: SessionSummary) -> impl IntoView {
    let span = format::duration_ms((s.last_ms - s.first_ms).max(0) as f64);
    let tokens = format!(
        "{} / {}",
        format::count(s.input_tokens),
        format::count(s.output_tokens)
    );
    let cost = s.cost.map(format::usd).unwrap_or_else(|| "—".into());
    let user = s.user_id.clone().unwrap_or_else(|| "—".into());
    let row_class = if s.error_count > 0 {
        "session-row has-errors"
    } else {
        "session-row"
    };
    view! {
        <tr class=row_class data-session-id=s.session_id.clone()>
            <td class="name mono" title=s.session_id.clone()>
                <a href=session_href(&s.session_id)>{s.session_id.clone()}</a>
            </td>
            <td class="mono user" title=user.clone()>{user.clone()}</td>
            <td class="num trace-count">{s.trace_count}</td>
            <td class="mono">{format::utc_ms(s.first_ms)}</td>
            <td class="mono">{format::utc_ms(s.last_ms)}</td>
            <td class="num">{span}</td>
            <td class="num">{tokens}</td>
            <td class="num">{cost}</td>
            <td class="num errors">{s.error_count}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_links_escape_the_id() {
        assert_eq!(session_href("sess-2a-0000001"), "/sessions/sess-2a-0000001");
        assert_eq!(session_href("a b/c"), "/sessions/a%20b%2Fc");
    }
}
