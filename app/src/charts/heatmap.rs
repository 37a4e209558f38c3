//! The trace latency heatmap: one column per step, one row per latency bucket. The buckets are
//! log-spaced, so drawing them as equal rows *is* the log scale; cells are coloured by count on
//! a log ramp (a heavy tail of a few traces must stay visible next to thousands), with a
//! legend. Empty cells are not drawn.

use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{self, TimeAxis};
use super::series::LABEL_SIZE;
use super::Chart;
use crate::types::Overview;

pub const SIZE: (u32, u32) = (760, 280);
/// Width kept right of the plot for the colour legend.
const LEGEND_WIDTH: u32 = 84;
/// Swatches in the legend (counted by the tests: every other `<rect>` is a cell).
pub const LEGEND_STEPS: usize = 6;

/// Light to dark, through the app's accent colour.
const RAMP: [RGBColor; 3] = [
    RGBColor(0xdb, 0xe4, 0xff),
    axis::ACCENT,
    RGBColor(0x14, 0x1f, 0x66),
];

/// The cell colour of `count` when the busiest cell holds `max`.
fn color(count: u64, max: u64) -> RGBColor {
    let t = if max <= 1 {
        1.0
    } else {
        ((count as f64).ln_1p() / (max as f64).ln_1p()).clamp(0.0, 1.0)
    };
    let (a, b, u) = if t < 0.5 {
        (RAMP[0], RAMP[1], t * 2.0)
    } else {
        (RAMP[1], RAMP[2], (t - 0.5) * 2.0)
    };
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `10 ms`, `250 ms`, `1.8 s`: a bucket bound as an axis label.
fn bound_label(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", axis::short_number(ms / 1000.0))
    } else {
        format!("{} ms", axis::short_number(ms))
    }
}

pub fn heatmap(o: &Overview) -> Chart {
    let h = &o.heatmap;
    let buckets = h.bounds_ms.len();
    let max = h.counts.iter().flatten().copied().max().unwrap_or(0);
    if buckets == 0 || max == 0 {
        return Chart::Empty;
    }
    let mut svg = String::new();
    match plot(&mut svg, o, max) {
        Ok(()) => Chart::Svg(axis::responsive(
            svg,
            "Trace latency heatmap: traces per step and latency bucket",
        )),
        Err(e) => Chart::Failed(format!("latency heatmap: {e}")),
    }
}

fn plot(svg: &mut String, o: &Overview, max: u64) -> Result<(), Box<dyn std::error::Error>> {
    let h = &o.heatmap;
    let buckets = h.bounds_ms.len();
    let step = o.step_ms.max(1);
    let time = TimeAxis::of(o);
    let (ticks, tick_step) = time.ticks(7);
    let muted = (axis::FONT, LABEL_SIZE).into_font().color(&axis::MUTED);

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    let (plot_area, legend) = root.split_horizontally((SIZE.0 - LEGEND_WIDTH) as i32);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_top(10)
        .margin_right(8)
        .margin_left(4)
        .margin_bottom(2)
        .x_label_area_size(40)
        .y_label_area_size(74)
        .build_cartesian_2d(
            (time.from..time.to).with_key_points(ticks),
            0f64..buckets as f64,
        )?;
    let x_fmt = |t: &i64| time.label(*t, tick_step);
    // Row `j` spans `[j, j+1)`; a label sits on a row's lower edge, so only whole values
    // name a bound.
    let y_fmt = |j: &f64| {
        let at = j.round();
        match h.bounds_ms.get(at as usize) {
            Some(b) if (j - at).abs() < 1e-9 && at >= 0.0 => bound_label(*b),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .y_labels(8)
        .axis_style(axis::MUTED.mix(0.5))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(muted.clone())
        .axis_desc_style(muted.clone())
        .x_desc("Time (UTC)")
        .y_desc("Trace latency (log scale)")
        .draw()?;

    let cells = h.t_ms.iter().zip(&h.counts).flat_map(|(t, column)| {
        column
            .iter()
            .take(buckets)
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(move |(j, c)| {
                Rectangle::new(
                    [(*t, j as f64), (t + step, j as f64 + 1.0)],
                    color(*c, max).filled(),
                )
            })
    });
    chart.draw_series(cells)?;

    // Legend: the busiest count on top, one swatch per step of the ramp.
    let title = (axis::FONT, LABEL_SIZE)
        .into_font()
        .color(&axis::INK)
        .pos(Pos::new(HPos::Left, VPos::Top));
    legend.draw(&Text::new("Traces", (10, 10), title))?;
    let label = muted.pos(Pos::new(HPos::Left, VPos::Center));
    let swatch_h = 26;
    for k in 0..LEGEND_STEPS {
        // Top swatch = max, bottom = 1, evenly spaced on the same log ramp as the cells.
        let t = 1.0 - k as f64 / (LEGEND_STEPS - 1) as f64;
        let count = ((max as f64).ln_1p() * t).exp_m1().round().max(1.0) as u64;
        let y = 34 + k as i32 * swatch_h;
        legend.draw(&Rectangle::new(
            [(10, y), (26, y + swatch_h - 2)],
            color(count, max).filled(),
        ))?;
        legend.draw(&Text::new(
            axis::short_number(count as f64),
            (32, y + swatch_h / 2),
            label.clone(),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::fixture::{assert_well_formed, demo_day};
    use crate::types::Heatmap;

    #[test]
    fn one_rect_per_non_empty_cell_plus_the_legend() {
        let o = demo_day(1_795_392_000_000);
        let Chart::Svg(s) = heatmap(&o) else { panic!() };
        assert_well_formed(&s);
        let cells = o
            .heatmap
            .counts
            .iter()
            .flatten()
            .filter(|c| **c > 0)
            .count();
        assert!(cells > 1000, "{cells}");
        assert_eq!(s.matches("<rect").count(), cells + LEGEND_STEPS);
        for text in [
            "Time (UTC)",
            "Trace latency (log scale)",
            "10 ms",
            "1 s",
            "Traces",
        ] {
            assert!(s.contains(text), "{text}");
        }
    }

    #[test]
    fn the_ramp_runs_light_to_dark() {
        assert_eq!(color(1, 1), RAMP[2]);
        assert_eq!(color(0, 100), RAMP[0]);
        assert_eq!(color(100, 100), RAMP[2]);
        let (lo, hi) = (color(2, 1000), color(500, 1000));
        assert!(lo.0 as u32 + lo.1 as u32 + lo.2 as u32 > hi.0 as u32 + hi.1 as u32 + hi.2 as u32);
    }

    #[test]
    fn ragged_or_empty_heatmaps_do_not_panic() {
        let mut o = demo_day(1_795_392_000_000);
        // More counts than bounds in one column, and a column without a time.
        o.heatmap.counts[0].push(7);
        o.heatmap.counts.push(vec![1, 2, 3]);
        let Chart::Svg(s) = heatmap(&o) else { panic!() };
        assert_well_formed(&s);
        o.heatmap = Heatmap {
            bounds_ms: vec![10.0, 100.0],
            t_ms: vec![o.from_ms],
            counts: vec![vec![0, 0]],
        };
        assert_eq!(heatmap(&o), Chart::Empty);
        o.heatmap.bounds_ms.clear();
        o.heatmap.counts = vec![vec![5]];
        assert_eq!(heatmap(&o), Chart::Empty);
        assert_eq!(heatmap(&Overview::default()), Chart::Empty);
    }

    #[test]
    fn one_column_in_a_zero_width_window() {
        let o = Overview {
            from_ms: 60_000,
            to_ms: 60_000,
            step_ms: 60_000,
            heatmap: Heatmap {
                bounds_ms: vec![10.0, 100.0, 1000.0],
                t_ms: vec![60_000],
                counts: vec![vec![0, 4, 1]],
            },
            ..Default::default()
        };
        let Chart::Svg(s) = heatmap(&o) else { panic!() };
        assert_eq!(s.matches("<rect").count(), 2 + LEGEND_STEPS);
    }
}
