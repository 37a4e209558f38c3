//! The waterfall's geometry and navigation as pure functions: the span tree in display order,
//! depths, the critical path, collapsed subtrees, the rows in view, the time ruler and what
//! an arrow key does. No Leptos here, so all of it is unit-tested natively and runs the same
//! in the browser. Everything is iterative: a 10,000-deep chain must not overflow the wasm
//! stack.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::types::SpanNode;

/// Two spans whose times differ by less than this (ms) touch: offsets are rounded to the
/// microsecond on the server.
const EPSILON_MS: f64 = 0.002;

/// The spans of one trace arranged for display. Nodes are indices into the `spans` slice the
/// tree was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanTree {
    /// Every node in display order: depth-first, siblings by start time.
    pub order: Vec<usize>,
    /// Per node: its index in `order`.
    pub position: Vec<usize>,
    pub depth: Vec<usize>,
    /// `None` for roots, including spans whose parent never arrived.
    pub parent: Vec<Option<usize>>,
    /// Per node: its children by start time.
    pub children: Vec<Vec<usize>>,
    /// Per node: nodes in its subtree, itself included.
    pub subtree_size: Vec<usize>,
    /// Per node: a span in its subtree (itself included) failed.
    pub subtree_error: Vec<bool>,
    /// Per node: on the critical path (see [`critical_path`]).
    pub critical: Vec<bool>,
    /// Per node: the stretches (start, end in ms) during which the trace was waiting on this
    /// span itself rather than on one of its children; empty off the critical path.
    pub critical_segments: Vec<Vec<(f64, f64)>>,
    /// The time axis every bar is drawn on, in ms from the trace start.
    pub axis_start_ms: f64,
    pub axis_end_ms: f64,
}

impl SpanTree {
    pub fn build(spans: &[SpanNode]) -> SpanTree {
        let n = spans.len();
        let index: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let mut parent: Vec<Option<usize>> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parent_span_id
                    .as_deref()
                    .and_then(|p| index.get(p).copied())
                    .filter(|p| *p != i)
            })
            .collect();
        let by_start = |a: &usize, b: &usize| {
            spans[*a]
                .start_offset_ms
                .total_cmp(&spans[*b].start_offset_ms)
                .then(a.cmp(b))
        };
        let mut sorted: Vec<usize> = (0..n).collect();
        sorted.sort_by(by_start);

        let mut order = Vec::with_capacity(n);
        let mut depth = vec![0usize; n];
        let mut visited = vec![false; n];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        loop {
            children.iter_mut().for_each(Vec::clear);
            for &i in &sorted {
                if let Some(p) = parent[i] {
                    children[p].push(i);
                }
            }
            order.clear();
            visited.iter_mut().for_each(|v| *v = false);
            let mut stack: Vec<(usize, usize)> = sorted
                .iter()
                .rev()
                .filter(|i| parent[**i].is_none())
                .map(|i| (*i, 0))
                .collect();
            while let Some((node, d)) = stack.pop() {
                visited[node] = true;
                depth[node] = d;
                order.push(node);
                stack.extend(children[node].iter().rev().map(|c| (*c, d + 1)));
            }
            // Spans whose parents form a cycle are reachable from no root: the earliest one
            // becomes a root and the walk runs again. Real traces never loop; bad input must
            // still show every span.
            match sorted.iter().find(|i| !visited[**i]) {
                Some(&orphan) => parent[orphan] = None,
                None => break,
            }
        }

        let mut position = vec![0usize; n];
        for (pos, node) in order.iter().enumerate() {
            position[*node] = pos;
        }
        let mut subtree_size = vec![1usize; n];
        let mut subtree_error: Vec<bool> = spans.iter().map(SpanNode::is_error).collect();
        for &node in order.iter().rev() {
            if let Some(p) = parent[node] {
                subtree_size[p] += subtree_size[node];
                subtree_error[p] |= subtree_error[node];
            }
        }
        let roots: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| parent[*i].is_none())
            .collect();
        let (critical, critical_segments) = critical_path(spans, &children, &roots);
        let axis_start_ms = spans.iter().map(|s| s.start_offset_ms).fold(0.0, f64::min);
        let axis_end_ms = spans
            .iter()
            .map(SpanNode::end_offset_ms)
            .fold(axis_start_ms, f64::max);
        SpanTree {
            order,
            position,
            depth,
            parent,
            children,
            subtree_size,
            subtree_error,
            critical,
            critical_segments,
            axis_start_ms,
            axis_end_ms,
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn has_children(&self, node: usize) -> bool {
        !self.children[node].is_empty()
    }

    /// Is `node` inside the subtree of `ancestor` (itself excluded)?
    pub fn is_descendant(&self, node: usize, ancestor: usize) -> bool {
        let (p, a) = (self.position[node], self.position[ancestor]);
        p > a && p < a + self.subtree_size[ancestor]
    }

    /// The rows shown: display order without the descendants of collapsed nodes.
    pub fn visible_rows(&self, collapsed: &HashSet<usize>) -> Vec<usize> {
        if collapsed.is_empty() {
            return self.order.clone();
        }
        let mut rows = Vec::with_capacity(self.order.len());
        let mut k = 0;
        while k < self.order.len() {
            let node = self.order[k];
            rows.push(node);
            k += if collapsed.contains(&node) {
                self.subtree_size[node]
            } else {
                1
            };
        }
        rows
    }

    /// A bar's left edge and width as percentages of the axis.
    pub fn bar(&self, span: &SpanNode) -> (f64, f64) {
        self.place(span.start_offset_ms, span.end_offset_ms())
    }

    /// The interval `start..end` (ms) as a left edge and width in percent of the axis.
    pub fn place(&self, start_ms: f64, end_ms: f64) -> (f64, f64) {
        let range = (self.axis_end_ms - self.axis_start_ms).max(f64::MIN_POSITIVE);
        let left = ((start_ms - self.axis_start_ms) / range * 100.0).clamp(0.0, 100.0);
        let width = ((end_ms - start_ms).max(0.0) / range * 100.0).clamp(0.0, 100.0 - left);
        (left, width)
    }
}

/// The spans that determined when the trace ended. From the root that ends last, take the
/// child that ends last; then, going back in time, the child that ended last before that one
/// started, and so on — each one kept its parent waiting. Every chosen child is walked the
/// same way, within the time its parent was waiting for it.
///
/// Following only the child that ends last (the simplest rule) marks one chain, which for a
/// sequential pipeline is the root and its final step; the backward walk also marks the
/// earlier steps that each had to finish first, while a span that ran in parallel with a
/// longer sibling stays unmarked. This is Jaeger's critical path.
///
/// Returns, per node, whether it is on the path and its own critical stretches: the parts of
/// its waited-on time not covered by a chosen child, where the span's own work was the
/// bottleneck.
pub fn critical_path(
    spans: &[SpanNode],
    children: &[Vec<usize>],
    roots: &[usize],
) -> (Vec<bool>, Vec<Vec<(f64, f64)>>) {
    let mut on = vec![false; spans.len()];
    let mut segments = vec![Vec::new(); spans.len()];
    let end = |i: usize| spans[i].end_offset_ms();
    let Some(&last_root) = roots.iter().max_by(|a, b| end(**a).total_cmp(&end(**b))) else {
        return (on, segments);
    };
    let mut stack = vec![(last_root, f64::INFINITY)];
    while let Some((node, bound)) = stack.pop() {
        on[node] = true;
        let start = spans[node].start_offset_ms;
        let mut kids = children[node].clone();
        // Latest end first; among equal ends the later start, which is the one waited on.
        kids.sort_by(|a, b| {
            end(*b).total_cmp(&end(*a)).then(
                spans[*b]
                    .start_offset_ms
                    .total_cmp(&spans[*a].start_offset_ms),
            )
        });
        let mut until = end(node).min(bound);
        let mut first = true;
        let own = &mut segments[node];
        for c in kids {
            // The first pick may outlast its parent (work left running); later ones must
            // have finished before the span picked after them started.
            if !first && end(c) > until + EPSILON_MS {
                continue;
            }
            if spans[c].start_offset_ms > until + EPSILON_MS {
                continue;
            }
            let waited_until = end(c).min(until);
            if until - waited_until > EPSILON_MS {
                own.push((waited_until, until));
            }
            stack.push((c, until));
            until = spans[c].start_offset_ms;
            first = false;
        }
        if until - start > EPSILON_MS {
            own.push((start, until));
        }
        own.reverse();
    }
    (on, segments)
}

/// The rows to render for a scroll position: those in the viewport plus `overscan` on each
/// side. `scroll_top` and `viewport_h` are in pixels of the rows area.
pub fn visible_window(
    scroll_top: f64,
    viewport_h: f64,
    row_h: f64,
    total: usize,
    overscan: usize,
) -> Range<usize> {
    if total == 0 || row_h <= 0.0 {
        return 0..0;
    }
    let top = scroll_top.max(0.0);
    let first = ((top / row_h).floor() as usize).min(total.saturating_sub(1));
    let last = (((top + viewport_h.max(0.0)) / row_h).ceil() as usize).max(first + 1);
    first.saturating_sub(overscan)..last.saturating_add(overscan).min(total)
}

/// The scroll position that brings `row` fully into view, or `None` when it already is.
pub fn reveal(row: usize, scroll_top: f64, viewport_h: f64, row_h: f64) -> Option<f64> {
    let top = row as f64 * row_h;
    if top < scroll_top {
        Some(top)
    } else if top + row_h > scroll_top + viewport_h {
        Some((top + row_h - viewport_h).max(0.0))
    } else {
        None
    }
}

/// Ruler ticks in ms: 0 and every multiple of a round step (1, 2 or 5 × 10ⁿ) up to `range_ms`,
/// at most about six of them.
pub fn ticks(range_ms: f64) -> Vec<f64> {
    if !(range_ms > 0.0 && range_ms.is_finite()) {
        return vec![0.0];
    }
    let raw = range_ms / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let count = (range_ms / step + 1e-9).floor() as usize;
    (0..=count).map(|k| k as f64 * step).collect()
}

/// The keys the waterfall understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
}

/// What a key press does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Select(usize),
    Collapse(usize),
    Expand(usize),
}

/// Up/down move among the visible `rows`; left collapses an open node or goes to the parent;
/// right expands a collapsed node or goes to the first child. With nothing selected, any key
/// selects the first row.
pub fn key_move(
    tree: &SpanTree,
    rows: &[usize],
    collapsed: &HashSet<usize>,
    selected: Option<usize>,
    key: Key,
) -> Option<Move> {
    let pos = selected.and_then(|s| rows.iter().position(|r| *r == s));
    let (Some(sel), Some(pos)) = (selected, pos) else {
        return rows.first().map(|r| Move::Select(*r));
    };
    match key {
        Key::Down => rows.get(pos + 1).map(|r| Move::Select(*r)),
        Key::Up => pos
            .checked_sub(1)
            .and_then(|p| rows.get(p))
            .map(|r| Move::Select(*r)),
        Key::Home => rows.first().map(|r| Move::Select(*r)),
        Key::End => rows.last().map(|r| Move::Select(*r)),
        Key::Left => {
            if tree.has_children(sel) && !collapsed.contains(&sel) {
                Some(Move::Collapse(sel))
            } else {
                tree.parent[sel].map(Move::Select)
            }
        }
        Key::Right => {
            if !tree.has_children(sel) {
                None
            } else if collapsed.contains(&sel) {
                Some(Move::Expand(sel))
            } else {
                tree.children[sel].first().map(|c| Move::Select(*c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, start: f64, end: f64) -> SpanNode {
        SpanNode {
            span_id: id.into(),
            parent_span_id: parent.map(str::to_string),
            name: id.into(),
            kind: "CHAIN".into(),
            start_offset_ms: start,
            duration_ms: end - start,
            status: 1,
            model: None,
            input_tokens: None,
            output_tokens: None,
            cost: None,
        }
    }

    fn names(spans: &[SpanNode], nodes: impl IntoIterator<Item = usize>) -> Vec<&str> {
        nodes.into_iter().map(|i| spans[i].name.as_str()).collect()
    }

    fn critical_names(spans: &[SpanNode]) -> Vec<&str> {
        let t = SpanTree::build(spans);
        names(spans, t.order.iter().copied().filter(|i| t.critical[*i]))
    }

    /// root ─┬ a ─┬ a1
    ///       │    └ a2
    ///       └ b
    fn sample() -> Vec<SpanNode> {
        vec![
            span("b", Some("root"), 50.0, 90.0),
            span("a2", Some("a"), 20.0, 40.0),
            span("root", None, 0.0, 100.0),
            span("a", Some("root"), 5.0, 45.0),
            span("a1", Some("a"), 6.0, 18.0),
        ]
    }

    #[test]
    fn display_order_is_depth_first_by_start_time() {
        let spans = sample();
        let t = SpanTree::build(&spans);
        assert_eq!(
            names(&spans, t.order.clone()),
            ["root", "a", "a1", "a2", "b"]
        );
        let depth: Vec<usize> = t.order.iter().map(|i| t.depth[*i]).collect();
        assert_eq!(depth, [0, 1, 2, 2, 1]);
        assert_eq!(t.subtree_size[2], 5);
        assert_eq!(t.subtree_size[3], 3);
        assert!(t.is_descendant(4, 3) && !t.is_descendant(3, 3) && !t.is_descendant(0, 3));
    }

    #[test]
    fn collapsing_hides_exactly_the_subtree() {
        let spans = sample();
        let t = SpanTree::build(&spans);
        let collapsed: HashSet<usize> = [3].into();
        assert_eq!(
            names(&spans, t.visible_rows(&collapsed)),
            ["root", "a", "b"]
        );
        let all: HashSet<usize> = [2, 3].into();
        assert_eq!(names(&spans, t.visible_rows(&all)), ["root"]);
    }

    #[test]
    fn orphans_and_cycles_still_show_every_span() {
        let spans = vec![
            span("x", Some("missing"), 5.0, 6.0),
            span("p", Some("q"), 1.0, 2.0),
            span("q", Some("p"), 2.0, 3.0),
            span("self", Some("self"), 0.0, 1.0),
        ];
        let t = SpanTree::build(&spans);
        assert_eq!(t.len(), 4);
        assert_eq!(names(&spans, t.order.clone()), ["self", "p", "q", "x"]);
        assert_eq!(t.depth[2], 1);
    }

    #[test]
    fn a_ten_thousand_deep_chain_does_not_overflow() {
        let spans: Vec<SpanNode> = (0..10_000)
            .map(|i| {
                let parent = (i > 0).then(|| format!("s{}", i - 1));
                span(
                    &format!("s{i}"),
                    parent.as_deref(),
                    i as f64,
                    20_000.0 - i as f64,
                )
            })
            .collect();
        let t = SpanTree::build(&spans);
        assert_eq!(t.depth[9_999], 9_999);
        assert!(t.critical.iter().all(|c| *c));
    }

    #[test]
    fn critical_path_follows_the_child_that_ends_last() {
        // Parallel children: `slow` ends last; `fast` ran beside it and did not matter.
        let spans = vec![
            span("root", None, 0.0, 100.0),
            span("fast", Some("root"), 10.0, 50.0),
            span("slow", Some("root"), 0.0, 95.0),
            span("leaf_early", Some("slow"), 1.0, 30.0),
            span("leaf_late", Some("slow"), 20.0, 94.0),
        ];
        assert_eq!(critical_names(&spans), ["root", "slow", "leaf_late"]);
    }

    #[test]
    fn critical_path_walks_back_through_sequential_steps() {
        // A pipeline: each step waited for the one before; `side` overlapped `step2`.
        let spans = vec![
            span("root", None, 0.0, 100.0),
            span("step1", Some("root"), 0.0, 30.0),
            span("side", Some("root"), 25.0, 40.0),
            span("step2", Some("root"), 30.0, 60.0),
            span("step3", Some("root"), 60.0, 99.0),
        ];
        assert_eq!(critical_names(&spans), ["root", "step1", "step2", "step3"]);
        // The root's own critical time is the last millisecond; each step's is all of it.
        let t = SpanTree::build(&spans);
        assert_eq!(t.critical_segments[0], [(99.0, 100.0)]);
        assert_eq!(t.critical_segments[3], [(30.0, 60.0)]);
        assert!(t.critical_segments[2].is_empty(), "side is off the path");
    }

    #[test]
    fn critical_segments_are_the_gaps_between_chosen_children() {
        let spans = vec![
            span("root", None, 0.0, 100.0),
            span("a", Some("root"), 10.0, 40.0),
            span("b", Some("root"), 50.0, 120.0),
        ];
        let t = SpanTree::build(&spans);
        // `b` outlasts the root: only its part until the root's end counts.
        assert_eq!(t.critical_segments[0], [(0.0, 10.0), (40.0, 50.0)]);
        assert_eq!(t.critical_segments[1], [(10.0, 40.0)]);
        assert_eq!(t.critical_segments[2], [(50.0, 100.0)]);
    }

    #[test]
    fn critical_path_starts_at_the_root_that_ends_last() {
        let spans = vec![
            span("early_root", None, 0.0, 10.0),
            span("late_root", None, 5.0, 50.0),
            span("child", Some("late_root"), 6.0, 49.0),
        ];
        assert_eq!(critical_names(&spans), ["late_root", "child"]);
        assert!(critical_path(&[], &[], &[]).0.is_empty());
    }

    #[test]
    fn window_covers_the_viewport_plus_overscan() {
        assert_eq!(visible_window(0.0, 520.0, 26.0, 10_000, 10), 0..30);
        assert_eq!(visible_window(2600.0, 520.0, 26.0, 10_000, 10), 90..130);
        // The bottom: the last row is in the window.
        let bottom = 10_000.0 * 26.0 - 520.0;
        assert_eq!(
            visible_window(bottom, 520.0, 26.0, 10_000, 10),
            9_970..10_000
        );
        // Overscrolled or tiny.
        assert_eq!(visible_window(1e9, 520.0, 26.0, 5, 10), 0..5);
        assert_eq!(visible_window(-50.0, 0.0, 26.0, 3, 0), 0..1);
        assert_eq!(visible_window(0.0, 520.0, 26.0, 0, 10), 0..0);
    }

    #[test]
    fn reveal_scrolls_only_when_the_row_is_out_of_view() {
        assert_eq!(reveal(5, 0.0, 260.0, 26.0), None);
        assert_eq!(reveal(10, 0.0, 260.0, 26.0), Some(26.0));
        assert_eq!(reveal(2, 130.0, 260.0, 26.0), Some(52.0));
    }

    #[test]
    fn ticks_use_round_steps() {
        assert_eq!(ticks(1000.0), [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
        assert_eq!(ticks(1234.0), [0.0, 500.0, 1000.0]);
        let small = ticks(0.9);
        assert_eq!(small.len(), 5);
        assert!((small[4] - 0.8).abs() < 1e-9);
        assert_eq!(ticks(0.0), [0.0]);
    }

    #[test]
    fn bars_are_placed_on_the_shared_axis() {
        let spans = sample();
        let t = SpanTree::build(&spans);
        assert_eq!(t.bar(&spans[2]), (0.0, 100.0));
        assert_eq!(t.bar(&spans[0]), (50.0, 40.0));
    }

    #[test]
    fn keys_move_collapse_and_expand() {
        let spans = sample();
        let t = SpanTree::build(&spans);
        let (root, a, a1, a2, b) = (2, 3, 4, 1, 0);
        let none = HashSet::new();
        let rows = t.visible_rows(&none);
        let mv = |sel, key, collapsed: &HashSet<usize>| {
            key_move(&t, &t.visible_rows(collapsed), collapsed, Some(sel), key)
        };
        assert_eq!(
            key_move(&t, &rows, &none, None, Key::Down),
            Some(Move::Select(root))
        );
        assert_eq!(mv(root, Key::Down, &none), Some(Move::Select(a)));
        assert_eq!(mv(a2, Key::Down, &none), Some(Move::Select(b)));
        assert_eq!(mv(b, Key::Down, &none), None);
        assert_eq!(mv(a1, Key::Up, &none), Some(Move::Select(a)));
        assert_eq!(mv(root, Key::Up, &none), None);
        assert_eq!(mv(a, Key::Left, &none), Some(Move::Collapse(a)));
        assert_eq!(mv(a1, Key::Left, &none), Some(Move::Select(a)));
        assert_eq!(mv(a, Key::Right, &none), Some(Move::Select(a1)));
        assert_eq!(mv(a1, Key::Right, &none), None);
        assert_eq!(mv(root, Key::End, &none), Some(Move::Select(b)));
        let closed: HashSet<usize> = [a].into();
        assert_eq!(mv(a, Key::Down, &closed), Some(Move::Select(b)));
        assert_eq!(mv(a, Key::Right, &closed), Some(Move::Expand(a)));
        assert_eq!(mv(a, Key::Left, &closed), Some(Move::Select(root)));
    }
}
