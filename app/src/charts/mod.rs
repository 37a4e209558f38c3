//! The overview board's charts. The SVG is drawn on the server with plotters (behind `ssr`, so
//! the wasm bundle carries no chart code) inside the `#[server]` fn and crosses the wire as
//! text; the browser only inserts it. This module must not fetch data or compute metrics: it
//! draws what [`crate::types::Overview`] says.
//!
//! Text: plotters' SVG backend writes `<text>` elements and leaves glyphs to the browser; without
//! the `ttf`/`ab_glyph` features it estimates label widths from the character count, which is
//! all the layout needs, so no font file or system font library is involved.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
mod axis;
#[cfg(feature = "ssr")]
pub mod backtest;
#[cfg(all(test, feature = "ssr"))]
pub(crate) mod fixture;
#[cfg(feature = "ssr")]
mod heatmap;
#[cfg(feature = "ssr")]
mod series;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum Chart {
    /// A standalone `<svg>` scaled to its container's width (viewBox, `width="100%"`).
    Svg(String),
    /// Nothing to draw in this window: the page shows its empty state.
    #[default]
    Empty,
    /// The drawing failed (a bug, never bad input): the page shows this message.
    Failed(String),
}

/// Every chart of the overview board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Charts {
    /// Trace latency P50/P95/P99 per step.
    pub latency: Chart,
    /// Trace latency distribution per step on a log scale.
    pub heatmap: Chart,
    /// Traces per minute.
    pub traces: Chart,
    /// Share of traces with an error span, per step.
    pub error_rate: Chart,
    /// Cache hits among traces that carried the cache-hit tag, per step.
    pub cache_hit_rate: Chart,
    /// Blocking guardrail checks among all checks, per step.
    pub guardrail_block_rate: Chart,
}

/// Draws every chart of `overview`.
#[cfg(feature = "ssr")]
pub fn render(overview: &crate::types::Overview) -> Charts {
    use crate::types::ratio;
    let o = overview;
    let per_minute = 60_000.0 / o.step_ms.max(1) as f64;
    let rate = |num: fn(&crate::types::SeriesPoint) -> u64,
                den: fn(&crate::types::SeriesPoint) -> u64| {
        move |p: &crate::types::SeriesPoint| ratio(num(p), den(p)).map(|r| r * 100.0)
    };
    Charts {
        latency: series::latency(o),
        heatmap: heatmap::heatmap(o),
        // A quiet step is a real zero here (unlike a rate, which has no value without
        // traffic); a window without any traffic is the empty state.
        traces: if o.series.iter().all(|p| p.traces == 0) {
            Chart::Empty
        } else {
            series::small(
                o,
                "Traces per minute",
                "traces / min",
                series::Palette::Accent,
                |p| Some(p.traces as f64 * per_minute),
            )
        },
        error_rate: series::small(
            o,
            "Error rate",
            "% of traces",
            series::Palette::Error,
            rate(|p| p.error_traces, |p| p.traces),
        ),
        cache_hit_rate: series::small(
            o,
            "Cache-hit rate",
            "% of tagged traces",
            series::Palette::Ok,
            rate(|p| p.cache_hits, |p| p.cache_known),
        ),
        guardrail_block_rate: series::small(
            o,
            "Guardrail block rate",
            "% of checks",
            series::Palette::Progress,
            rate(|p| p.guardrail_blocks, |p| p.guardrail_checks),
        ),
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::types::Overview;

    #[test]
    fn a_window_without_traffic_renders_every_chart_empty() {
        let o = Overview {
            from_ms: 0,
            to_ms: 3_600_000,
            step_ms: 60_000,
            series: (0..60)
                .map(|i| crate::types::SeriesPoint {
                    t_ms: i * 60_000,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let c = render(&o);
        for chart in [
            &c.latency,
            &c.heatmap,
            &c.traces,
            &c.error_rate,
            &c.cache_hit_rate,
            &c.guardrail_block_rate,
        ] {
            assert_eq!(chart, &Chart::Empty);
        }
        assert_eq!(render(&Overview::default()), Charts::default());
    }

    #[test]
    fn the_demo_day_renders_every_chart() {
        let c = render(&fixture::demo_day(1_795_392_000_000));
        for (name, chart) in [
            ("latency", &c.latency),
            ("heatmap", &c.heatmap),
            ("traces", &c.traces),
            ("error_rate", &c.error_rate),
            ("cache_hit_rate", &c.cache_hit_rate),
            ("guardrail_block_rate", &c.guardrail_block_rate),
        ] {
            let Chart::Svg(svg) = chart else {
                panic!("{name}: {chart:?}")
            };
            fixture::assert_well_formed(svg);
            // Eyeballing aid: SIGHTLINE_CHART_DIR=/tmp/charts cargo nextest run -p app charts
            if let Ok(dir) = std::env::var("SIGHTLINE_CHART_DIR") {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(format!("{dir}/{name}.svg"), svg).unwrap();
            }
        }
    }
}
