//! The rule editor's backtest: the rule's metric over the last day, one line per alert
//! instance, the threshold as a dashed line (a relative rule's follows its baseline), and the
//! periods the rule would have been firing shaded red, so "would this have paged, and when"
//! is answered before the rule is saved.

use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;

use super::axis::{self, TimeAxis};
use super::Chart;

/// Drawn size (the viewBox; it scales to its panel).
pub const SIZE: (u32, u32) = (760, 260);
const LABEL_SIZE: f64 = 15.0;
/// Colours of the instance lines, in order; more instances reuse them.
const LINES: [RGBColor; 4] = [axis::ACCENT, axis::PROGRESS, axis::OK, axis::MUTED];

/// `(t_ms, value)` points of one line; `None` is a gap (no data).
pub type Points = Vec<(i64, Option<f64>)>;

/// What to draw; values are already in the unit named by `y_desc`.
pub struct Backtest<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    pub y_desc: &'a str,
    /// Per instance: its label and `(t_ms, value)` points (`None` = no data, a gap).
    pub lines: Vec<(String, Points)>,
    pub threshold: Points,
    /// `[start, end)`, end `None` = still firing at `to_ms`.
    pub firing: &'a [(i64, Option<i64>)],
}

pub fn backtest(b: &Backtest<'_>) -> Chart {
    if b.lines
        .iter()
        .all(|(_, p)| p.iter().all(|(_, v)| v.is_none()))
    {
        return Chart::Empty;
    }
    let mut svg = String::new();
    match plot(&mut svg, b) {
        Ok(()) => Chart::Svg(axis::responsive(
            svg,
            "The rule's metric over the last 24 hours with its threshold",
        )),
        Err(e) => Chart::Failed(format!("backtest chart: {e}")),
    }
}

fn runs(points: &[(i64, Option<f64>)]) -> Vec<Vec<(i64, f64)>> {
    let mut out = vec![];
    let mut run = vec![];
    for (t, v) in points {
        match v.filter(|v| v.is_finite()) {
            Some(v) => run.push((*t, v)),
            None if !run.is_empty() => out.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

fn plot(svg: &mut String, b: &Backtest<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let time = TimeAxis {
        from: b.from_ms,
        to: b.to_ms.max(b.from_ms + 60_000),
    };
    let (ticks, tick_step) = time.ticks(7);
    let max = b
        .lines
        .iter()
        .flat_map(|(_, p)| p.iter())
        .chain(b.threshold.iter())
        .filter_map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let top = axis::value_top(max);
    let label = (axis::FONT, LABEL_SIZE).into_font().color(&axis::MUTED);
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .margin_top(12)
        .margin_right(16)
        .margin_left(4)
        .margin_bottom(2)
        .x_label_area_size(40)
        .y_label_area_size(62)
        .build_cartesian_2d((time.from..time.to).with_key_points(ticks), 0f64..top)?;
    for (start, end) in b.firing {
        let end = end.unwrap_or(time.to);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(*start, 0.0), (end, top)],
            axis::ERROR.mix(0.14).filled(),
        )))?;
    }
    let x_fmt = |t: &i64| time.label(*t, tick_step);
    let y_fmt = |v: &f64| axis::short_number(*v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(axis::LINE)
        .light_line_style(TRANSPARENT)
        .axis_style(axis::MUTED.mix(0.5))
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(label.clone())
        .axis_desc_style(label)
        .x_desc("Time (UTC)")
        .y_desc(b.y_desc)
        .draw()?;
    for (i, (_, points)) in b.lines.iter().enumerate() {
        let color = LINES[i % LINES.len()];
        for run in runs(points) {
            if let [only] = run.as_slice() {
                chart.draw_series(std::iter::once(Circle::new(*only, 2, color.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(run, color.stroke_width(2)))?;
            }
        }
    }
    for run in runs(&b.threshold) {
        // Dashes by hand: plotters' DashedLineSeries needs a newer feature set.
        let (t0, t1) = (run[0].0, run[run.len() - 1].0);
        let dash = ((t1 - t0) / 60).max(60_000);
        let mut t = t0;
        let at = |t: i64| {
            run.iter()
                .rev()
                .find(|(x, _)| *x <= t)
                .map_or(run[0].1, |(_, v)| *v)
        };
        while t < t1 {
            let e = (t + dash).min(t1);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(t, at(t)), (e, at(t))],
                axis::ERROR.stroke_width(2),
            )))?;
            t += 2 * dash;
        }
        if run.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(
                run[0],
                3,
                axis::ERROR.filled(),
            )))?;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lines_threshold_and_firing_periods() {
        let pts: Vec<(i64, Option<f64>)> = (0..100)
            .map(|i| {
                (
                    i * 60_000,
                    (i % 10 != 3).then_some(if i > 50 { 2000.0 } else { 500.0 }),
                )
            })
            .collect();
        let firing = [(55 * 60_000, Some(70 * 60_000)), (90 * 60_000, None)];
        let c = backtest(&Backtest {
            from_ms: 0,
            to_ms: 100 * 60_000,
            y_desc: "P95 latency (ms)",
            lines: vec![("all".into(), pts.clone())],
            threshold: pts.iter().map(|(t, _)| (*t, Some(1500.0))).collect(),
            firing: &firing,
        });
        let Chart::Svg(svg) = c else { panic!("{c:?}") };
        assert!(svg.starts_with("<svg class=\"chart\""));
        // Two shaded firing periods, in the error colour at low opacity.
        assert_eq!(
            svg.matches("opacity=\"0.14\" fill=\"#C92A2A\"").count(),
            2,
            "{svg}"
        );
        assert!(svg.contains("<polyline"), "the metric line");
    }

    #[test]
    fn no_data_is_the_empty_state() {
        let c = backtest(&Backtest {
            from_ms: 0,
            to_ms: 60_000,
            y_desc: "x",
            lines: vec![("all".into(), vec![(0, None)])],
            threshold: vec![],
            firing: &[],
        });
        assert_eq!(c, Chart::Empty);
    }
}
