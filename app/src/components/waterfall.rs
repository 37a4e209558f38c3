//! The trace waterfall: one row per span on a shared time axis, collapsible, keyboard-driven
//! and virtualised — only the rows in view (plus a margin) exist in the DOM, so a
//! 10,000-span trace scrolls like a 20-span one. Geometry and key handling live in
//! [`crate::span_tree`]; this file renders and dispatches.

use std::collections::HashSet;

use leptos::prelude::*;

use crate::format;
use crate::span_tree::{self, Key, Move, SpanTree};
use crate::types::SpanNode;

/// Every row is this tall (px); the stylesheet's `.span-row` height must match.
pub const ROW_HEIGHT: f64 = 26.0;
/// The sticky time ruler above the rows (px); `.wf-ruler` height must match.
const RULER_HEIGHT: f64 = 28.0;
/// Rows rendered above and below the viewport, so a fast wheel never shows a gap.
const OVERSCAN: usize = 12;
/// The rows area's height before the browser has measured it (SSR and the first hydrated
/// frame must agree, so this is a constant, not a guess from the window).
const DEFAULT_VIEWPORT: f64 = 640.0;
/// Indentation per depth level (px), capped so deep chains keep their names readable.
const INDENT: usize = 14;
const MAX_INDENT_LEVELS: usize = 24;

/// The coloured letter badge of a span kind: (letters, CSS class).
pub fn kind_badge(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "LLM" => ("L", "k-llm"),
        "CHAT_MODEL" => ("M", "k-llm"),
        "EMBEDDING" => ("E", "k-embed"),
        "RETRIEVER" => ("R", "k-retr"),
        "RERANKER" => ("Rk", "k-retr"),
        "TOOL" => ("T", "k-tool"),
        "AGENT" => ("A", "k-agent"),
        "CHAIN" => ("C", "k-chain"),
        "WORKFLOW" => ("W", "k-chain"),
        "TASK" => ("Tk", "k-chain"),
        "GUARDRAIL" => ("G", "k-guard"),
        "EVALUATOR" => ("Ev", "k-guard"),
        "PARSER" => ("P", "k-other"),
        "MEMORY" => ("Me", "k-other"),
        _ => ("·", "k-unknown"),
    }
}

/// Retries `measure` on the next animation frames until it succeeds or `tries` run out.
fn measure_when_laid_out(measure: impl Fn() -> bool + Copy + 'static, tries: u32) {
    if !measure() && tries > 0 {
        request_animation_frame(move || measure_when_laid_out(measure, tries - 1));
    }
}

fn tick_label(ms: f64) -> String {
    if ms == 0.0 {
        "0".into()
    } else {
        format::duration_ms(ms)
    }
}

/// The waterfall of one trace. `selected` is shared with the page, which shows that span's
/// detail.
#[component]
pub fn Waterfall(
    spans: StoredValue<Vec<SpanNode>>,
    tree: StoredValue<SpanTree>,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    let collapsed = RwSignal::new(HashSet::<usize>::new());
    let rows = Memo::new(move |_| collapsed.with(|c| tree.with_value(|t| t.visible_rows(c))));
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = RwSignal::new(DEFAULT_VIEWPORT);
    let window = Memo::new(move |_| {
        span_tree::visible_window(
            scroll_top.get(),
            viewport.get(),
            ROW_HEIGHT,
            rows.with(Vec::len),
            OVERSCAN,
        )
    });
    let scroller = NodeRef::<leptos::html::Div>::new();

    // False while the element is not laid out (a Suspense may build it detached).
    let measure = move || match scroller.get_untracked() {
        Some(el) if el.client_height() > 0 => {
            viewport.set((el.client_height() as f64 - RULER_HEIGHT).max(ROW_HEIGHT));
            scroll_top.set(el.scroll_top() as f64);
            true
        }
        _ => false,
    };
    let toggle = move |node: usize| {
        let closing = collapsed.with_untracked(|c| !c.contains(&node));
        collapsed.update(|c| {
            if !c.remove(&node) {
                c.insert(node);
            }
        });
        // The selection must stay on a visible row.
        if closing {
            if let Some(sel) = selected.get_untracked() {
                if tree.with_value(|t| t.is_descendant(sel, node)) {
                    selected.set(Some(node));
                }
            }
        }
    };

    let reveal = move |node: usize| {
        let Some(pos) = rows.with_untracked(|r| r.iter().position(|n| *n == node)) else {
            return;
        };
        let target = span_tree::reveal(
            pos,
            scroll_top.get_untracked(),
            viewport.get_untracked(),
            ROW_HEIGHT,
        );
        if let (Some(top), Some(el)) = (target, scroller.get_untracked()) {
            el.set_scroll_top(top.round() as i32);
            scroll_top.set(top);
        }
    };

    // Effects run in the browser only: measure once laid out (then scroll a span selected
    // by the URL into view) and whenever the window resizes.
    Effect::new(move |_| {
        if scroller.get().is_some() {
            measure_when_laid_out(
                move || {
                    let laid_out = measure();
                    if let (true, Some(node)) = (laid_out, selected.get_untracked()) {
                        reveal(node);
                    }
                    laid_out
                },
                120,
            );
        }
        let handle = window_event_listener(leptos::ev::resize, move |_| {
            measure();
        });
        on_cleanup(move || handle.remove());
    });

    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = match ev.key().as_str() {
            "ArrowDown" => Key::Down,
            "ArrowUp" => Key::Up,
            "ArrowLeft" => Key::Left,
            "ArrowRight" => Key::Right,
            "Home" => Key::Home,
            "End" => Key::End,
            "Enter" | " " => {
                ev.prevent_default();
                if selected.get_untracked().is_none() {
                    selected.set(rows.with_untracked(|r| r.first().copied()));
                }
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        let step = rows.with_untracked(|r| {
            collapsed.with_untracked(|c| {
                tree.with_value(|t| span_tree::key_move(t, r, c, selected.get_untracked(), key))
            })
        });
        match step {
            Some(Move::Select(node)) => {
                selected.set(Some(node));
                reveal(node);
            }
            Some(Move::Collapse(node) | Move::Expand(node)) => toggle(node),
            None => {}
        }
    };

    let on_scroll = move |_: leptos::ev::Event| {
        measure();
    };

    let (axis_start, axis_end) = tree.with_value(|t| (t.axis_start_ms, t.axis_end_ms));
    let range = (axis_end - axis_start).max(f64::MIN_POSITIVE);
    let ticks = span_tree::ticks(axis_end - axis_start)
        .into_iter()
        .map(|t| {
            let left = t / range * 100.0;
            // Labels are centred on their tick; the edge ones are anchored inside the axis.
            let (class, style) = if t == 0.0 {
                ("tick-label first", format!("left:{left:.3}%"))
            } else if left > 92.0 {
                ("tick-label last", format!("right:{:.3}%", 100.0 - left))
            } else {
                ("tick-label", format!("left:{left:.3}%"))
            };
            view! {
                <span class="tick" style=format!("left:{left:.3}%")></span>
                <span class=class style=style>{tick_label(t)}</span>
            }
        })
        .collect_view();

    let items = move || {
        let w = window.get();
        rows.with(|r| {
            r[w.clone()]
                .iter()
                .enumerate()
                .map(|(k, node)| (w.start + k, *node))
                .collect::<Vec<_>>()
        })
    };

    view! {
        <div
            id="waterfall"
            class="waterfall"
            tabindex="0"
            role="tree"
            aria-label="Spans"
            node_ref=scroller
            on:scroll=on_scroll
            on:keydown=on_key
        >
            <div class="wf-ruler">
                <div class="wf-name">"Span"</div>
                <div class="wf-axis">{ticks}</div>
            </div>
            <div
                class="wf-rows"
                style=move || format!("height:{}px", rows.with(Vec::len) as f64 * ROW_HEIGHT)
            >
                <For
                    each=items
                    key=|item| *item
                    children=move |(pos, node)| {
                        view! {
                            <SpanRow
                                node
                                pos
                                spans
                                tree
                                selected
                                collapsed
                                on_toggle=toggle
                            />
                        }
                    }
                />
            </div>
        </div>
    }
}

#[component]
fn SpanRow(
    node: usize,
    pos: usize,
    spans: StoredValue<Vec<SpanNode>>,
    tree: StoredValue<SpanTree>,
    selected: RwSignal<Option<usize>>,
    collapsed: RwSignal<HashSet<usize>>,
    on_toggle: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (depth, critical, has_children, hidden, subtree_error, (left, width), segments) = tree
        .with_value(|t| {
            let span = spans.with_value(|s| t.bar(&s[node]));
            let segments: Vec<(f64, f64)> = t.critical_segments[node]
                .iter()
                .map(|(start, end)| t.place(*start, *end))
                .collect();
            (
                t.depth[node],
                t.critical[node],
                t.has_children(node),
                t.subtree_size[node] - 1,
                t.subtree_error[node],
                span,
                segments,
            )
        });
    let s = spans.with_value(|s| s[node].clone());
    let (letters, kind_class) = kind_badge(&s.kind);
    let mut class = String::from("span-row");
    if s.is_error() {
        class.push_str(" error");
    }
    if critical {
        class.push_str(" critical");
    }
    let is_collapsed = move || collapsed.with(|c| c.contains(&node));
    let caret = if has_children {
        view! {
            <span
                class="caret"
                class:closed=is_collapsed
                title=move || if is_collapsed() { "Expand" } else { "Collapse" }
                on:click=move |ev| {
                    ev.stop_propagation();
                    on_toggle(node);
                }
            >
                {move || if is_collapsed() { "▸" } else { "▾" }}
            </span>
        }
        .into_any()
    } else {
        view! { <span class="caret-space"></span> }.into_any()
    };
    let indent = 4 + depth.min(MAX_INDENT_LEVELS) * INDENT;
    let duration = format::duration_ms(s.duration_ms);
    let title = format!(
        "{} · {} · starts at {}",
        s.name,
        duration,
        format::duration_ms(s.start_offset_ms.max(0.0))
    );
    view! {
        <div
            class=class
            class:selected=move || selected.get() == Some(node)
            role="treeitem"
            aria-selected=move || (selected.get() == Some(node)).to_string()
            aria-expanded=move || has_children.then(|| (!is_collapsed()).to_string())
            data-span-id=s.span_id.clone()
            data-depth=depth
            style=format!("top:{}px", pos as f64 * ROW_HEIGHT)
            on:click=move |_| selected.set(Some(node))
        >
            <div class="wf-name" style=format!("padding-left:{indent}px")>
                {caret}
                <span class=format!("kind {kind_class}") title=s.kind.clone()>{letters}</span>
                <span class="span-name" title=s.name.clone()>{s.name.clone()}</span>
                {move || {
                    (is_collapsed() && hidden > 0)
                        .then(|| {
                            view! {
                                <span
                                    class="hidden-count"
                                    class:has-error=subtree_error
                                    title="spans hidden in this subtree"
                                >
                                    {format!("+{hidden}")}
                                </span>
                            }
                        })
                }}
                <span class="span-dur">{duration}</span>
            </div>
            <div class="wf-axis" title=title>
                <div class="bar" style=format!("left:{left:.3}%;width:max({width:.3}%, 2px)")></div>
                {segments
                    .into_iter()
                    .map(|(l, w)| {
                        view! {
                            <div
                                class="crit"
                                style=format!("left:{l:.3}%;width:max({w:.3}%, 2px)")
                            ></div>
                        }
                    })
                    .collect_view()}
            </div>
        </div>
    }
}
