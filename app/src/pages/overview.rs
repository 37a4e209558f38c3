//! `/`: the overview board. The view (time window and scope) lives in the URL,
//! `/?range=1h&scope=…` or `/?from=…&to=…&scope=…` for a custom window, so a link reproduces
//! it; the board resource is keyed on it. Relative windows refresh every 30 s. The scope bar
//! parses as you type, like the trace list's search bar; an invalid scope shows its column
//! and is never sent. Before hydration the pickers are plain links and GET forms.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

use crate::api::overview::get_overview;
use crate::components::filter_draft::FilterDraft;
use crate::components::overview::Board;
use crate::types::OverviewQuery;
use crate::AppError;

/// Relative windows follow the clock at this pace.
const REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

const MINUTE: i64 = 60_000;

/// A window ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastSpan {
    M15,
    #[default]
    H1,
    H6,
    H24,
    D7,
}

impl LastSpan {
    pub const ALL: [LastSpan; 5] = [
        LastSpan::M15,
        LastSpan::H1,
        LastSpan::H6,
        LastSpan::H24,
        LastSpan::D7,
    ];

    /// The spelling in URLs (`?range=1h`), shared with the trace list.
    pub fn as_str(self) -> &'static str {
        match self {
            LastSpan::M15 => "15m",
            LastSpan::H1 => "1h",
            LastSpan::H6 => "6h",
            LastSpan::H24 => "24h",
            LastSpan::D7 => "7d",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            LastSpan::M15 => "15 min",
            LastSpan::H1 => "1 h",
            LastSpan::H6 => "6 h",
            LastSpan::H24 => "24 h",
            LastSpan::D7 => "7 d",
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            LastSpan::M15 => 15 * MINUTE,
            LastSpan::H1 => 60 * MINUTE,
            LastSpan::H6 => 360 * MINUTE,
            LastSpan::H24 => 1440 * MINUTE,
            LastSpan::D7 => 7 * 1440 * MINUTE,
        }
    }
}

/// The board's time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last span of time, following the clock.
    Last(LastSpan),
    /// A fixed window `[from_ms, to_ms)`.
    Between { from_ms: i64, to_ms: i64 },
}

impl Default for Window {
    fn default() -> Self {
        Window::Last(LastSpan::default())
    }
}

impl Window {
    /// `[from, to)` in epoch ms. A relative window ends at the end of the current minute, so
    /// every refresh within a minute asks for the same rollup steps.
    pub fn resolve(self, now_ms: i64) -> (i64, i64) {
        match self {
            Window::Last(span) => {
                let to = now_ms.div_euclid(MINUTE) * MINUTE + MINUTE;
                (to - span.ms(), to)
            }
            Window::Between { from_ms, to_ms } => (from_ms, to_ms),
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, Window::Last(_))
    }
}

/// What the URL query says the board shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoardView {
    pub window: Window,
    /// Filter grammar text; empty means all traffic.
    pub scope: String,
}

impl BoardView {
    /// An unknown `range` falls back to the default (as on the trace list); a custom window
    /// must have both ends, each an ISO date-time (UTC) or epoch ms, and end after it starts.
    ///
    /// # Errors
    /// `Invalid` naming `from` or `to` and what was wrong with it.
    pub fn from_query(q: &ParamsMap) -> Result<BoardView, AppError> {
        let scope = q.get("scope").unwrap_or_default();
        let from = q.get("from").filter(|s| !s.trim().is_empty());
        let to = q.get("to").filter(|s| !s.trim().is_empty());
        let window = if from.is_none() && to.is_none() {
            Window::Last(
                q.get_str("range")
                    .and_then(LastSpan::parse)
                    .unwrap_or_default(),
            )
        } else {
            let end = |field: &str, v: Option<String>| {
                let invalid = |message: String| AppError::Invalid {
                    field: field.into(),
                    message,
                };
                let v =
                    v.ok_or_else(|| invalid("a custom window needs both from and to".into()))?;
                parse_instant(&v).ok_or_else(|| {
                    invalid(format!(
                        "expected a UTC date-time like 2026-11-23T14:05 or epoch milliseconds, got '{v}'"
                    ))
                })
            };
            let (from_ms, to_ms) = (end("from", from)?, end("to", to)?);
            if to_ms <= from_ms {
                return Err(AppError::Invalid {
                    field: "to".into(),
                    message: "the window must end after it starts".into(),
                });
            }
            Window::Between { from_ms, to_ms }
        };
        Ok(BoardView { window, scope })
    }

    /// `/?…`, leaving out defaults so the plain board stays `/`.
    pub fn url(&self) -> String {
        let mut q = ParamsMap::new();
        match self.window {
            Window::Last(span) if span == LastSpan::default() => {}
            Window::Last(span) => q.insert("range", span.as_str().to_string()),
            Window::Between { from_ms, to_ms } => {
                q.insert("from", instant_param(from_ms));
                q.insert("to", instant_param(to_ms));
            }
        }
        if !self.scope.trim().is_empty() {
            q.insert("scope", self.scope.clone());
        }
        format!("/{}", q.to_query_string())
    }

    /// The server function's argument, with a relative window resolved against `now_ms`.
    pub fn query(&self, now_ms: i64) -> OverviewQuery {
        let (from_ms, to_ms) = self.window.resolve(now_ms);
        OverviewQuery {
            from_ms,
            to_ms,
            scope: self.scope.clone(),
        }
    }
}

/// Epoch ms from `2026-11-23T14:05`, `2026-11-23 14:05:30.250Z`, `2026-11-23` (all UTC) or
/// `1795464008869`. No offsets other than `Z`: the board speaks UTC throughout.
pub fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 || m.len() != 2 || day.len() != 2 {
        return None;
    }
    let (y, m, day): (i64, u32, u32) = (num(y)?, num(m)?, num(day)?);
    if !(1..=12).contains(&m) || day == 0 || day > days_in_month(y, m) {
        return None;
    }
    let mut ms = days_from_civil(y, m, day) * 86_400_000;
    if let Some(t) = time {
        let (hms, frac) = match t.split_once('.') {
            Some((hms, f)) => (hms, Some(f)),
            None => (t, None),
        };
        let mut parts = hms.split(':');
        let h: i64 = num(parts.next()?)?;
        let min: i64 = num(parts.next()?)?;
        let sec: i64 = parts.next().map_or(Some(0), num)?;
        if parts.next().is_some() || h > 23 || min > 59 || sec > 59 {
            return None;
        }
        let milli = match frac {
            Some(f) if !f.is_empty() && f.len() <= 3 => {
                num::<i64>(f)? * 10i64.pow(3 - f.len() as u32)
            }
            Some(_) => return None,
            None => 0,
        };
        ms += ((h * 60 + min) * 60 + sec) * 1000 + milli;
    }
    Some(ms)
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil (the inverse of `format::utc_ms`'s date part).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// How a window end is written in the URL: readable ISO when it is a whole second.
fn instant_param(ms: i64) -> String {
    let s = crate::format::utc_ms(ms); // YYYY-MM-DD HH:MM:SS.mmm
    if ms.rem_euclid(60_000) == 0 {
        format!("{}T{}Z", &s[..10], &s[11..16])
    } else if ms.rem_euclid(1000) == 0 {
        format!("{}T{}Z", &s[..10], &s[11..19])
    } else {
        ms.to_string()
    }
}

/// The value of an `<input type="datetime-local">` (minutes, read as UTC).
fn local_input_value(ms: i64) -> String {
    let s = crate::format::utc_ms(ms);
    format!("{}T{}", &s[..10], &s[11..16])
}

/// Wall-clock ms: the browser's clock once hydrated, the server's during SSR.
fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        leptos::web_sys::js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = use_query_map();
    let parsed = Memo::new(move |_| query.with(BoardView::from_query));
    // The pickers show the default window while the URL's custom one is invalid.
    let view = Memo::new(move |_| parsed.with(|p| p.clone().unwrap_or_default()));
    let tick = RwSignal::new(0u64);
    let board = Resource::new(
        move || (parsed.get(), tick.get()),
        |(parsed, _)| async move {
            match parsed {
                Ok(v) => get_overview(v.query(now_ms())).await,
                Err(e) => Err(e),
            }
        },
    );
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration and follows the clock.
    Effect::new(move |_| {
        hydrated.set(true);
        let handle = set_interval_with_handle(
            move || {
                if view.with_untracked(|v| v.window.is_live()) {
                    tick.update(|t| *t += 1)
                }
            },
            REFRESH,
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });

    let navigate = use_navigate();
    let go = Callback::new(move |v: BoardView| {
        navigate(
            &v.url(),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        )
    });

    view! {
        <section class="page" id="overview-page" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head">
                <h1>"Overview"</h1>
                <WindowPicker view go/>
            </div>
            <ScopeBar view go/>
            <Transition fallback=|| view! { <p class="empty">"Loading the overview…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error" id="overview-error">{move || super::trace::error_text(&errors)}</p>
                }>
                    {move || Suspend::new(async move {
                        board.await.map(|b| view! { <Board board=b/> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

/// The relative windows as links (they work before hydration) and a custom from/to form.
#[component]
fn WindowPicker(view: Memo<BoardView>, go: Callback<BoardView>) -> impl IntoView {
    let custom_open = RwSignal::new(view.with_untracked(|v| !v.window.is_live()));
    let href = move |span: LastSpan| {
        view.with(|v| {
            BoardView {
                window: Window::Last(span),
                scope: v.scope.clone(),
            }
            .url()
        })
    };
    // The inputs start at the window on screen, so "Custom" refines it.
    let initial = move || view.with(|v| v.window.resolve(now_ms()));
    let from = RwSignal::new(local_input_value(initial().0));
    let to = RwSignal::new(local_input_value(initial().1));
    let open_custom = move |_| {
        let (f, t) = initial();
        from.set(local_input_value(f));
        to.set(local_input_value(t));
        custom_open.update(|o| *o = !*o);
    };
    let custom_error = RwSignal::new(None::<String>);
    let on_apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = ParamsMap::from_iter([
            ("from", from.get_untracked()),
            ("to", to.get_untracked()),
            ("scope", view.with_untracked(|v| v.scope.clone())),
        ]);
        match BoardView::from_query(&q) {
            Ok(v) => {
                custom_error.set(None);
                go.run(v)
            }
            Err(e) => custom_error.set(Some(e.to_string())),
        }
    };
    view! {
        <div class="window-picker">
            <nav class="segmented" id="range" aria-label="Time window">
                {LastSpan::ALL.into_iter().map(|span| view! {
                    <a
                        href=move || href(span)
                        data-range=span.as_str()
                        class:active=move || view.with(|v| v.window == Window::Last(span))
                    >
                        {span.label()}
                    </a>
                }).collect_view()}
                <button
                    type="button"
                    id="custom-range"
                    class:active=move || view.with(|v| !v.window.is_live())
                    aria-expanded=move || custom_open.get().to_string()
                    on:click=open_custom
                >
                    "Custom"
                </button>
            </nav>
            <Show when=move || custom_open.get()>
                // Without wasm this is a plain GET form building the same URL.
                <form class="custom-window" method="get" action="/" on:submit=on_apply>
                    <label>"From (UTC) "
                        <input id="from" name="from" type="datetime-local"
                            prop:value=move || from.get()
                            on:input=move |ev| from.set(event_target_value(&ev))/>
                    </label>
                    <label>"To (UTC) "
                        <input id="to" name="to" type="datetime-local"
                            prop:value=move || to.get()
                            on:input=move |ev| to.set(event_target_value(&ev))/>
                    </label>
                    <input type="hidden" name="scope" prop:value=move || view.with(|v| v.scope.clone())/>
                    <button type="submit" class="btn" id="apply-window">"Apply"</button>
                    {move || custom_error.get().map(|e| view! { <span class="filter-error" role="alert">{e}</span> })}
                </form>
            </Show>
        </div>
    }
}

/// The scope input: the trace filter grammar, parsed on every keystroke; a valid scope is
/// applied after a pause or on Enter.
#[component]
fn ScopeBar(view: Memo<BoardView>, go: Callback<BoardView>) -> impl IntoView {
    let url_scope = Memo::new(move |_| view.with(|v| v.scope.clone()));
    let scope = FilterDraft::new(
        url_scope,
        Callback::new(move |text| {
            go.run(BoardView {
                scope: text,
                ..view.get_untracked()
            })
        }),
    );
    let (draft, error) = (scope.draft, scope.error);
    let on_input = move |ev| scope.on_input(ev);
    let on_submit = move |ev| scope.on_submit(ev);
    // The window rides along in the plain GET form.
    let hidden = move || {
        view.with(|v| match v.window {
            Window::Last(span) => vec![("range", span.as_str().to_string())],
            Window::Between { from_ms, to_ms } => vec![
                ("from", instant_param(from_ms)),
                ("to", instant_param(to_ms)),
            ],
        })
        .into_iter()
        .map(|(name, value)| view! { <input type="hidden" name=name value=value/> })
        .collect_view()
    };

    view! {
        <form class="search" method="get" action="/" on:submit=on_submit>
            <div class="search-row">
                <input
                    id="scope"
                    name="scope"
                    type="search"
                    class="filter-input"
                    class:invalid=move || error.with(Option::is_some)
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    aria-describedby="scope-error"
                    aria-label="Scope"
                    placeholder="Scope, e.g. tags.intent = 'recommendation' AND model = 'claude-sonnet'"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || draft.get()
                    value=url_scope.get_untracked()
                    on:input=on_input
                />
                {hidden}
                <button type="submit" class="btn" id="apply-scope">"Apply"</button>
            </div>
            {move || error.get().map(|e| view! {
                <p id="scope-error" class="filter-error" role="alert">{e.to_string()}</p>
            })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `url()` → the query map the router would give the page.
    fn reparse(url: &str) -> Result<BoardView, AppError> {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let q = ParamsMap::from_iter(query.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), percent_decode(v))
        }));
        BoardView::from_query(&q)
    }

    #[test]
    fn relative_views_round_trip_through_the_url() {
        assert_eq!(BoardView::default().url(), "/");
        for span in LastSpan::ALL {
            let v = BoardView {
                window: Window::Last(span),
                scope: "tags.intent = 'recommendation' AND model IN ('claude-sonnet')".into(),
            };
            let url = v.url();
            assert!(!url.contains(' '), "{url}");
            assert_eq!(reparse(&url).unwrap(), v, "{url}");
        }
        assert_eq!(
            BoardView {
                window: Window::Last(LastSpan::H6),
                scope: String::new()
            }
            .url(),
            "/?range=6h"
        );
    }

    #[test]
    fn custom_windows_round_trip_as_iso_or_epoch_ms() {
        let from_ms = parse_instant("2026-11-23T14:05").unwrap();
        for (to_ms, spelled) in [
            (from_ms + 3_600_000, "to=2026-11-23T15:05Z"),
            (from_ms + 3_601_000, "to=2026-11-23T15:05:01Z"),
            (from_ms + 3_601_234, "to=1795446301234"),
        ] {
            let v = BoardView {
                window: Window::Between { from_ms, to_ms },
                scope: "status = 'ERROR'".into(),
            };
            let url = v.url();
            assert!(percent_decode(&url).contains(spelled), "{url}");
            assert_eq!(reparse(&url).unwrap(), v, "{url}");
        }
    }

    #[test]
    fn instants_parse_as_utc() {
        assert_eq!(parse_instant("1970-01-01"), Some(0));
        assert_eq!(
            parse_instant("2000-02-29T00:00:00.123Z"),
            Some(951_782_400_123)
        );
        assert_eq!(
            parse_instant("2026-11-23 20:00:08.869"),
            Some(1_795_464_008_869)
        );
        assert_eq!(
            parse_instant("2026-11-23T20:00:08.8"),
            Some(1_795_464_008_800)
        );
        assert_eq!(parse_instant("1795464008869"), Some(1_795_464_008_869));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-29",
            "2026-11-23T24:00",
            "2026-11-23T10",
            "2026-11-23T10:00+02:00",
            "-5",
            "2026-1-23",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
        for ms in [0, 951_782_400_123, 1_795_464_008_869] {
            let s = crate::format::utc_ms(ms).replace(' ', "T");
            assert_eq!(parse_instant(&s), Some(ms));
        }
    }

    #[test]
    fn a_bad_custom_window_names_the_field() {
        let err = |pairs: &[(&str, &str)]| {
            BoardView::from_query(&ParamsMap::from_iter(
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            ))
            .unwrap_err()
        };
        let e = err(&[("from", "2026-11-23T10:00"), ("to", "soon")]);
        assert!(
            matches!(&e, AppError::Invalid { field, message } if field == "to" && message.contains("'soon'")),
            "{e:?}"
        );
        let e = err(&[("from", "2026-11-23T10:00")]);
        assert!(
            matches!(&e, AppError::Invalid { field, .. } if field == "to"),
            "{e:?}"
        );
        let e = err(&[("from", "2026-11-23T10:00"), ("to", "2026-11-23T09:00")]);
        assert!(e.to_string().contains("end after it starts"), "{e}");
    }

    #[test]
    fn relative_windows_end_at_the_next_whole_minute() {
        let now = parse_instant("2026-11-23T14:05:30").unwrap();
        let q = BoardView {
            window: Window::Last(LastSpan::M15),
            scope: "x = 1".into(),
        }
        .query(now);
        assert_eq!(q.to_ms, parse_instant("2026-11-23T14:06").unwrap());
        assert_eq!(q.from_ms, parse_instant("2026-11-23T13:51").unwrap());
        assert_eq!(q.scope, "x = 1");
        // Unknown ranges fall back to the default rather than failing the page.
        let v = BoardView::from_query(&ParamsMap::from_iter([("range", "2y")])).unwrap();
        assert_eq!(v.window, Window::default());
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }
}
