//! `/traces`: the trace explorer. The view (filter, time range, order, page) lives in the URL
//! query, `?filter=…&range=…&sort=…&cursor=…`, so a link reproduces it; the list resource is
//! keyed on it. The search bar parses as you type (the grammar runs in the browser) and
//! applies a valid filter after a short pause or on Enter; an invalid one is shown with its
//! column and never sent. Before hydration the bar is a plain GET form with the same URL.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use leptos_router::NavigateOptions;

use crate::api::traces::list_traces;
use crate::components::filter_draft::FilterDraft;
use crate::components::status::StatusBadge;
use crate::format;
use crate::types::{TraceListQuery, TracePage, TraceSort, TraceSummary};

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// The time-range menu: how far back from now the list reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeRange {
    M15,
    H1,
    H6,
    H24,
    D7,
    #[default]
    All,
}

impl TimeRange {
    pub const ALL: [TimeRange; 6] = [
        TimeRange::M15,
        TimeRange::H1,
        TimeRange::H6,
        TimeRange::H24,
        TimeRange::D7,
        TimeRange::All,
    ];

    /// The spelling in URLs (`?range=1h`).
    pub fn as_str(self) -> &'static str {
        match self {
            TimeRange::M15 => "15m",
            TimeRange::H1 => "1h",
            TimeRange::H6 => "6h",
            TimeRange::H24 => "24h",
            TimeRange::D7 => "7d",
            TimeRange::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeRange::M15 => "Last 15 minutes",
            TimeRange::H1 => "Last hour",
            TimeRange::H6 => "Last 6 hours",
            TimeRange::H24 => "Last 24 hours",
            TimeRange::D7 => "Last 7 days",
            TimeRange::All => "All time",
        }
    }

    /// The range's length in ms; `None` for all time.
    pub fn span_ms(self) -> Option<i64> {
        const MIN: i64 = 60_000;
        Some(match self {
            TimeRange::M15 => 15 * MIN,
            TimeRange::H1 => 60 * MIN,
            TimeRange::H6 => 360 * MIN,
            TimeRange::H24 => 1440 * MIN,
            TimeRange::D7 => 7 * 1440 * MIN,
            TimeRange::All => return None,
        })
    }
}

/// What the URL query says the list shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListView {
    pub filter: String,
    pub range: TimeRange,
    pub sort: TraceSort,
    pub cursor: Option<String>,
}

impl ListView {
    /// Unknown `range`/`sort` values fall back to the defaults rather than failing the page.
    pub fn from_query(q: &ParamsMap) -> ListView {
        ListView {
            filter: q.get("filter").unwrap_or_default(),
            range: q
                .get_str("range")
                .and_then(TimeRange::parse)
                .unwrap_or_default(),
            sort: q
                .get_str("sort")
                .and_then(TraceSort::parse)
                .unwrap_or_default(),
            cursor: q.get("cursor").filter(|c| !c.is_empty()),
        }
    }

    /// `/traces?…`, leaving out defaults so the plain list stays `/traces`.
    pub fn url(&self) -> String {
        let mut q = ParamsMap::new();
        if !self.filter.trim().is_empty() {
            q.insert("filter", self.filter.clone());
        }
        if self.range != TimeRange::default() {
            q.insert("range", self.range.as_str().to_string());
        }
        if self.sort != TraceSort::default() {
            q.insert("sort", self.sort.as_str().to_string());
        }
        if let Some(c) = &self.cursor {
            q.insert("cursor", c.clone());
        }
        format!("/traces{}", q.to_query_string())
    }

    /// The server function's argument, with the range resolved against `now_ms`.
    pub fn list_query(&self, now_ms: i64) -> TraceListQuery {
        TraceListQuery {
            experiment_id: None,
            filter: self.filter.clone(),
            from_ms: self.range.span_ms().map(|span| now_ms - span),
            to_ms: None,
            sort: self.sort,
            cursor: self.cursor.clone(),
            limit: PAGE_SIZE,
        }
    }
}

/// Wall-clock ms: the browser's clock once hydrated, the server's during SSR (`SystemTime`
/// panics on wasm32-unknown-unknown).
pub(crate) fn now_ms() -> i64 {
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

/// `/traces`: the matching traces, refreshed every few seconds on the first page.
#[component]
pub fn TracesPage() -> impl IntoView {
    let query = use_query_map();
    let view = Memo::new(move |_| query.with(ListView::from_query));
    let tick = RwSignal::new(0u64);
    let traces = Resource::new(
        move || (view.get(), tick.get()),
        |(v, _)| list_traces(v.list_query(now_ms())),
    );
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration and starts the live refresh.
    Effect::new(move |_| {
        hydrated.set(true);
        let handle = set_interval_with_handle(
            // A later page stays put: new traces would shift it under the reader.
            move || {
                if view.with_untracked(|v| v.cursor.is_none()) {
                    tick.update(|t| *t += 1)
                }
            },
            std::time::Duration::from_secs(3),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });

    let navigate = use_navigate();
    let go = Callback::new(move |v: ListView| {
        navigate(
            &v.url(),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        )
    });

    view! {
        <section class="page" id="traces-page" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head">
                <h1>"Traces"</h1>
                <button id="refresh" class="btn" on:click=move |_| tick.update(|t| *t += 1)>
                    "Refresh"
                </button>
            </div>
            <SearchBar view go/>
            <Transition fallback=|| view! { <p class="empty">"Loading traces…"</p> }>
                <ErrorBoundary fallback=|errors| view! {
                    <p class="error">{move || errors.get().into_iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; ")}</p>
                }>
                    {move || Suspend::new(async move {
                        traces.await.map(|page| {
                            let filtered = view.with_untracked(|v| {
                                !v.filter.trim().is_empty() || v.range != TimeRange::All
                            });
                            view! { <TraceList page view=view.get_untracked() filtered/> }
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

/// The filter input, time range and order. Reads the view from the URL and writes it back
/// with `go`; a new filter, range or order starts again at the first page.
#[component]
fn SearchBar(view: Memo<ListView>, go: Callback<ListView>) -> impl IntoView {
    let url_filter = Memo::new(move |_| view.with(|v| v.filter.clone()));
    let filter = FilterDraft::new(
        url_filter,
        Callback::new(move |text| {
            go.run(ListView {
                filter: text,
                cursor: None,
                ..view.get_untracked()
            })
        }),
    );
    let (draft, error) = (filter.draft, filter.error);
    let on_input = move |ev| filter.on_input(ev);
    let on_submit = move |ev| filter.on_submit(ev);
    let on_range = move |ev| {
        let range = TimeRange::parse(&event_target_value(&ev)).unwrap_or_default();
        go.run(ListView {
            range,
            cursor: None,
            ..view.get_untracked()
        });
    };
    let on_sort = move |ev| {
        let sort = TraceSort::parse(&event_target_value(&ev)).unwrap_or_default();
        go.run(ListView {
            sort,
            cursor: None,
            ..view.get_untracked()
        });
    };

    view! {
        // Without wasm this is a plain GET form: submitting it builds the same URL.
        <form class="search" method="get" action="/traces" on:submit=on_submit>
            <div class="search-row">
                <input
                    id="filter"
                    name="filter"
                    type="search"
                    class="filter-input"
                    class:invalid=move || error.with(Option::is_some)
                    aria-invalid=move || error.with(Option::is_some).to_string()
                    aria-describedby="filter-error"
                    placeholder="status = 'ERROR' AND tags.intent = 'recommendation' AND duration > 1s"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || draft.get()
                    value=url_filter.get_untracked()
                    on:input=on_input
                />
                <select id="range" name="range" class="btn" on:change=on_range
                    prop:value=move || view.with(|v| v.range.as_str())>
                    {TimeRange::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=move || view.with(|v| v.range == r)>
                            {r.label()}
                        </option>
                    }).collect_view()}
                </select>
                <select id="sort" name="sort" class="btn" on:change=on_sort
                    prop:value=move || view.with(|v| v.sort.as_str())>
                    {TraceSort::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || view.with(|v| v.sort == s)>
                            {s.label()}
                        </option>
                    }).collect_view()}
                </select>
                <button type="submit" class="btn" id="search">"Search"</button>
            </div>
            {move || error.get().map(|e| view! {
                <p id="filter-error" class="filter-error" role="alert">{e.to_string()}</p>
            })}
        </form>
    }
}

#[component]
fn TraceList(page: TracePage, view: ListView, filtered: bool) -> impl IntoView {
    let TracePage {
        traces,
        next_cursor,
    } = page;
    let on_later_page = view.cursor.is_some();
    let first = on_later_page.then(|| {
        ListView {
            cursor: None,
            ..view.clone()
        }
        .url()
    });
    let next = next_cursor.map(|c| {
        ListView {
            cursor: Some(c),
            ..view.clone()
        }
        .url()
    });
    let pager = (first.is_some() || next.is_some()).then(|| {
        view! {
            <nav class="pager">
                {first.map(|href| view! { <a id="first-page" class="btn" href=href>"First page"</a> })}
                {next.map(|href| view! { <a id="next-page" class="btn" href=href>"Next page"</a> })}
            </nav>
        }
    });
    let empty = if filtered || on_later_page {
        view! { <p class="empty" id="no-traces">"No traces match this search."</p> }.into_any()
    } else {
        view! {
            <p class="empty" id="no-traces">
                "No traces yet. Point an OpenTelemetry exporter at /v1/traces, set "
                <code>"MLFLOW_TRACKING_URI"</code> " to this server, or run "
                <code>"sightline demo"</code> "."
            </p>
        }
        .into_any()
    };
    view! {
        {if traces.is_empty() { empty } else { view! { <TraceTable rows=traces/> }.into_any() }}
        {pager}
    }
}

#[component]
fn TraceTable(rows: Vec<TraceSummary>) -> impl IntoView {
    view! {
        <table class="traces" id="trace-table">
            <colgroup>
                <col class="c-start"/>
                <col class="c-name"/>
                <col class="c-dur"/>
                <col class="c-status"/>
                <col class="c-model"/>
                <col class="c-tokens"/>
                <col class="c-cost"/>
                <col class="c-spans"/>
                <col/>
                <col class="c-session"/>
            </colgroup>
            <thead>
                <tr>
                    <th>"Start (UTC)"</th>
                    <th>"Name"</th>
                    <th class="num">"Duration"</th>
                    <th>"Status"</th>
                    <th>"Model"</th>
                    <th class="num">"Tokens in / out"</th>
                    <th class="num">"Cost"</th>
                    <th class="num">"Spans"</th>
                    <th>"Request"</th>
                    <th>"Session"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|t| view! { <TraceRow t/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn TraceRow(t: TraceSummary) -> impl IntoView {
    let duration = t
        .duration_ms
        .map(format::duration_ms)
        .unwrap_or_else(|| "…".into());
    // The chat model comes first; embedders and rerankers are in the tooltip.
    let models_all = t.models.join(", ");
    let models = match t.models.len() {
        0 => "—".to_string(),
        1 => t.models[0].clone(),
        n => format!("{} +{}", t.models[0], n - 1),
    };
    let cost = t.total_cost.map(format::usd).unwrap_or_else(|| "—".into());
    let tokens = format!(
        "{} / {}",
        format::count(t.input_tokens),
        format::count(t.output_tokens)
    );
    let title = t.request_preview.clone().unwrap_or_default();
    let preview = format::preview_text(&title);
    let session = t.session_id.clone().unwrap_or_default();
    let row_class = if t.status == crate::types::TraceStatus::Error {
        "trace-row is-error"
    } else {
        "trace-row"
    };
    view! {
        <tr class=row_class data-trace-id=t.trace_id.clone()>
            <td class="mono">{format::utc_ms(t.start_ms)}</td>
            <td class="name">
                <a href=format!("/traces/{}", t.trace_id)>
                    {t.name.clone().unwrap_or_else(|| "(root pending)".into())}
                </a>
            </td>
            <td class="num">{duration}</td>
            <td><StatusBadge status=t.status/></td>
            <td class="model" title=models_all>{models}</td>
            <td class="num">{tokens}</td>
            <td class="num">{cost}</td>
            <td class="num">{t.span_count}</td>
            <td class="preview" title=title>{preview}</td>
            <td class="session mono" title=session.clone()>{session.clone()}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_leaves_out_defaults() {
        assert_eq!(ListView::default().url(), "/traces");
        let v = ListView {
            filter: "status = 'OK' AND tags.intent = 'recommendation'".into(),
            range: TimeRange::H1,
            sort: TraceSort::DurationDesc,
            cursor: Some("AQIAAAAA".into()),
        };
        let url = v.url();
        assert!(url.starts_with("/traces?"), "{url}");
        assert!(!url.contains(' '), "{url}");
        let query = url.split_once('?').unwrap().1;
        let parsed = ParamsMap::from_iter(query.split('&').map(|kv| {
            let (k, val) = kv.split_once('=').unwrap();
            (k.to_string(), percent_decode(val))
        }));
        assert_eq!(ListView::from_query(&parsed), v);
    }

    #[test]
    fn unknown_range_and_sort_fall_back_to_defaults() {
        let q = ParamsMap::from_iter([("range", "2y"), ("sort", "sideways"), ("cursor", "")]);
        assert_eq!(ListView::from_query(&q), ListView::default());
    }

    #[test]
    fn the_range_resolves_against_now() {
        let v = ListView {
            range: TimeRange::M15,
            ..ListView::default()
        };
        let q = v.list_query(1_000_000_000);
        assert_eq!(q.from_ms, Some(1_000_000_000 - 900_000));
        assert_eq!(q.limit, PAGE_SIZE);
        assert_eq!(ListView::default().list_query(5).from_ms, None);
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
