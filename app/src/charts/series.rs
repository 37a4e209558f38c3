//! Time series line charts: trace latency P50/P95/P99, and the small per-signal charts (traces
//! per minute, error, cache-hit and guardrail block rates). A step without a value (no traffic,
//! a rate without a denominator, a non-finite number) is a gap in the line, never a zero.

use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{self, LatencyUnit, TimeAxis};
use super::Chart;
use crate::types::{Overview, SeriesPoint};

/// Drawn size of the latency chart (the viewBox; it scales to its panel).
pub const LATENCY_SIZE: (u32, u32) = (760, 280);
/// Drawn size of a small per-signal chart.
pub const SMALL_SIZE: (u32, u32) = (380, 170);
/// Plotters writes `font-size = size / 1.24`: this is a 12 px label.
pub const LABEL_SIZE: f64 = 15.0;

/// A small chart's line colour, one per signal as on the tiles.
#[derive(Debug, Clone, Copy)]
pub enum Palette {
    Accent,
    Error,
    Ok,
    Progress,
}

impl Palette {
    fn color(self) -> RGBColor {
        match self {
            Palette::Accent => axis::ACCENT,
            Palette::Error => axis::ERROR,
            Palette::Ok => axis::OK,
            Palette::Progress => axis::PROGRESS,
        }
    }
}

/// One line: its legend label, colour and per-step values (`None` = gap).
struct Line {
    label: &'static str,
    color: RGBColor,
    points: Vec<(i64, Option<f64>)>,
}

/// Trace latency P50/P95/P99 per step, in ms or s depending on the largest value.
pub fn latency(o: &Overview) -> Chart {
    type Pick = fn(&SeriesPoint) -> Option<f64>;
    let pick: [(&'static str, RGBColor, Pick); 3] = [
        ("P50", axis::ACCENT, |p| p.p50_ms),
        ("P95", axis::PROGRESS, |p| p.p95_ms),
        ("P99", axis::ERROR, |p| p.p99_ms),
    ];
    let max_ms = o
        .series
        .iter()
        .flat_map(|p| [p.p50_ms, p.p95_ms, p.p99_ms])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(f64::NAN, f64::max);
    if max_ms.is_nan() {
        return Chart::Empty;
    }
    let unit = LatencyUnit::for_max(max_ms);
    let lines: Vec<Line> = pick
        .into_iter()
        .map(|(label, color, value)| Line {
            label,
            color,
            points: points(o, |p| value(p).map(|ms| unit.scale(ms))),
        })
        .collect();
    draw(
        o,
        &lines,
        Frame {
            size: LATENCY_SIZE,
            y_desc: &format!("Trace latency ({})", unit.name()),
            legend: true,
            area: false,
            max_ticks: 7,
            y_labels: 6,
            aria: "Trace latency P50, P95 and P99 over time",
        },
    )
}

/// One signal per step as a small filled line chart; `value` is `None` for a step without
/// data. Empty when no step has a value.
pub fn small(
    o: &Overview,
    title: &'static str,
    y_desc: &str,
    palette: Palette,
    value: impl Fn(&SeriesPoint) -> Option<f64>,
) -> Chart {
    let line = Line {
        label: title,
        color: palette.color(),
        points: points(o, value),
    };
    if line.points.iter().all(|(_, v)| v.is_none()) {
        return Chart::Empty;
    }
    draw(
        o,
        &[line],
        Frame {
            size: SMALL_SIZE,
            y_desc,
            legend: false,
            area: true,
            max_ticks: 4,
            y_labels: 4,
            aria: title,
        },
    )
}

/// Each step's value at the middle of its step (where the heatmap's column is), with
/// non-finite values turned into gaps.
fn points(o: &Overview, value: impl Fn(&SeriesPoint) -> Option<f64>) -> Vec<(i64, Option<f64>)> {
    let half = o.step_ms.max(0) / 2;
    o.series
        .iter()
        .map(|p| (p.t_ms + half, value(p).filter(|v| v.is_finite())))
        .collect()
}

/// The stretches of consecutive steps with values.
fn runs(points: &[(i64, Option<f64>)]) -> Vec<Vec<(i64, f64)>> {
    let mut out = vec![];
    let mut run = vec![];
    for (t, v) in points {
        match v {
            Some(v) => run.push((*t, *v)),
            None if !run.is_empty() => out.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

struct Frame<'a> {
    size: (u32, u32),
    y_desc: &'a str,
    /// Series labels above the plot (several lines share the chart).
    legend: bool,
    /// Fill under the line (a single signal).
    area: bool,
    max_ticks: usize,
    y_labels: usize,
    aria: &'a str,
}

fn draw(o: &Overview, lines: &[Line], f: Frame<'_>) -> Chart {
    let mut svg = String::new();
    match plot(&mut svg, o, lines, &f) {
        Ok(()) => Chart::Svg(axis::responsive(svg, f.aria)),
        Err(e) => Chart::Failed(format!("{}: {e}", f.aria)),
    }
}

fn plot(
    svg: &mut String,
    o: &Overview,
    lines: &[Line],
    f: &Frame<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let time = TimeAxis::of(o);
    let (ticks, tick_step) = time.ticks(f.max_ticks);
    let max = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|(_, v)| *v))
        .fold(0.0, f64::max);
    let label = (axis::FONT, LABEL_SIZE).into_font().color(&axis::MUTED);

    let root = SVGBackend::with_string(svg, f.size).into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .margin_top(if f.legend { 30 } else { 10 })
        .margin_right(16)
        .margin_left(4)
        .margin_bottom(2)
        .x_label_area_size(40)
        .y_label_area_size(if f.legend { 62 } else { 56 })
        .build_cartesian_2d(
            (time.from..time.to).with_key_points(ticks),
            0f64..axis::value_top(max),
        )?;
    let x_fmt = |t: &i64| time.label(*t, tick_step);
    let y_fmt = |v: &f64| axis::short_number(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(axis::LINE)
        .light_line_style(TRANSPARENT)
        .axis_style(axis::MUTED.mix(0.5))
        .y_labels(f.y_labels)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(label.clone())
        .axis_desc_style(label.clone())
        .x_desc("Time (UTC)")
        .y_desc(f.y_desc)
        .draw()?;

    for line in lines {
        for run in runs(&line.points) {
            if let [only] = run.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(*only, 2, line.color.filled())))?;
                continue;
            }
            if f.area {
                // The filled area under the line (plotters' AreaSeries needs another feature;
                // a polygon down to the baseline is the same shape).
                let (first, last) = (run[0].0, run[run.len() - 1].0);
                let mut outline = run.clone();
                outline.extend([(last, 0.0), (first, 0.0)]);
                chart.draw_series(std::iter::once(Polygon::new(
                    outline,
                    line.color.mix(0.12).filled(),
                )))?;
            }
            chart.draw_series(LineSeries::new(run, line.color.stroke_width(2)))?;
        }
    }

    if f.legend {
        let ink = (axis::FONT, LABEL_SIZE)
            .into_font()
            .color(&axis::INK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, line) in lines.iter().enumerate() {
            let x = 70 + 70 * i as i32;
            root.draw(&PathElement::new(
                vec![(x, 14), (x + 18, 14)],
                line.color.stroke_width(3),
            ))?;
            root.draw(&Text::new(line.label, (x + 24, 14), ink.clone()))?;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::fixture::{assert_well_formed, demo_day, polylines};

    fn svg(c: Chart) -> String {
        match c {
            Chart::Svg(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn latency_draws_three_lines_with_one_point_per_step() {
        let o = demo_day(1_795_392_000_000);
        let s = svg(latency(&o));
        assert_well_formed(&s);
        let lines = polylines(&s);
        assert_eq!(lines.len(), 3, "{lines:?}");
        for l in &lines {
            assert_eq!(l.len(), o.series.len());
        }
        for text in [
            "P50",
            "P95",
            "P99",
            "Time (UTC)",
            "Trace latency (ms)",
            "12:00",
        ] {
            assert!(
                s.contains(&format!(">{text}<")) || s.contains(text),
                "{text}"
            );
        }
        assert!(s.contains("width=\"100%\""));
        assert!(s.contains("fill=\"#697386\""), "labels in the muted ink");
    }

    #[test]
    fn slow_windows_switch_the_axis_to_seconds() {
        let mut o = demo_day(1_795_392_000_000);
        o.series[10].p99_ms = Some(4_500.0);
        assert!(svg(latency(&o)).contains("Trace latency (s)"));
    }

    #[test]
    fn gaps_and_non_finite_values_split_the_line_without_panicking() {
        let mut o = demo_day(1_795_392_000_000);
        o.series[100].p50_ms = None;
        o.series[101].p50_ms = Some(f64::NAN);
        o.series[200].p50_ms = Some(f64::INFINITY);
        let s = svg(latency(&o));
        assert_well_formed(&s);
        // P50 is now three runs; P95 and P99 one each.
        assert_eq!(polylines(&s).len(), 5);
        assert!(!s.contains("NaN") && !s.contains("inf"));
    }

    #[test]
    fn a_lone_step_is_a_dot_and_a_zero_width_window_still_draws() {
        let o = Overview {
            from_ms: 1_795_392_000_000,
            to_ms: 1_795_392_000_000,
            step_ms: 0,
            series: vec![SeriesPoint {
                t_ms: 1_795_392_000_000,
                traces: 3,
                p50_ms: Some(120.0),
                ..Default::default()
            }],
            ..Default::default()
        };
        let s = svg(latency(&o));
        assert_well_formed(&s);
        assert!(s.contains("<circle"));
        let traces = small(
            &o,
            "Traces per minute",
            "traces / min",
            Palette::Accent,
            |p| Some(p.traces as f64),
        );
        assert_well_formed(&svg(traces));
    }

    #[test]
    fn a_signal_without_values_is_empty() {
        let o = demo_day(1_795_392_000_000);
        assert_eq!(
            small(&o, "Error rate", "%", Palette::Error, |_| None),
            Chart::Empty
        );
        assert_eq!(
            small(&o, "Error rate", "%", Palette::Error, |_| Some(f64::NAN)),
            Chart::Empty
        );
        assert_eq!(latency(&Overview::default()), Chart::Empty);
    }

    #[test]
    fn runs_split_at_gaps() {
        let pts = [
            (0, Some(1.0)),
            (1, None),
            (2, Some(2.0)),
            (3, Some(3.0)),
            (4, None),
        ];
        assert_eq!(runs(&pts), vec![vec![(0, 1.0)], vec![(2, 2.0), (3, 3.0)]]);
        assert!(runs(&[]).is_empty());
    }
}
