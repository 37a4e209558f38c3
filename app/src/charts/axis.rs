//! What every chart shares: the stylesheet's colours, the label font, time ticks on whole UTC
//! minutes/hours/days, latency units, and turning plotters' fixed-size SVG into one that
//! scales with its panel.

use plotters::style::RGBColor;

use crate::types::Overview;

// style/main.scss: $ink, $muted, $line, $accent, $ok, $error, $progress.
pub const INK: RGBColor = RGBColor(0x1d, 0x23, 0x30);
pub const MUTED: RGBColor = RGBColor(0x69, 0x73, 0x86);
pub const LINE: RGBColor = RGBColor(0xe3, 0xe6, 0xeb);
pub const ACCENT: RGBColor = RGBColor(0x3b, 0x5b, 0xdb);
pub const OK: RGBColor = RGBColor(0x2b, 0x8a, 0x3e);
pub const ERROR: RGBColor = RGBColor(0xc9, 0x2a, 0x2a);
pub const PROGRESS: RGBColor = RGBColor(0xe6, 0x77, 0x00);

/// The app's font stack; the browser resolves it (see the module doc of `charts`).
pub const FONT: &str = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The drawn time axis: `[from, to)` in epoch ms, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeAxis {
    pub from: i64,
    pub to: i64,
}

impl TimeAxis {
    /// The overview's window, widened to cover every step it returned and to at least one
    /// step, so a zero-width or inverted window still gives plotters a non-empty range.
    pub fn of(o: &Overview) -> TimeAxis {
        let step = o.step_ms.max(1);
        let first = o.series.first().map_or(o.from_ms, |p| p.t_ms);
        let last = o.series.last().map_or(o.to_ms, |p| p.t_ms + step);
        let from = o.from_ms.min(first);
        let to = o.to_ms.max(last).max(from.saturating_add(step));
        TimeAxis { from, to }
    }

    /// Tick positions on whole UTC units, at most about `max_ticks` of them.
    pub fn ticks(self, max_ticks: usize) -> (Vec<i64>, i64) {
        const STEPS: [i64; 15] = [
            MINUTE,
            2 * MINUTE,
            5 * MINUTE,
            10 * MINUTE,
            15 * MINUTE,
            30 * MINUTE,
            HOUR,
            2 * HOUR,
            3 * HOUR,
            6 * HOUR,
            12 * HOUR,
            DAY,
            2 * DAY,
            7 * DAY,
            30 * DAY,
        ];
        let span = self.to - self.from;
        let max_ticks = max_ticks.max(2) as i64;
        let step = STEPS
            .into_iter()
            .find(|s| span / s < max_ticks)
            .unwrap_or_else(|| (span / max_ticks).max(1));
        let first = self.from.div_euclid(step) * step
            + if self.from.rem_euclid(step) == 0 {
                0
            } else {
                step
            };
        let ticks = (0..)
            .map(|i| first + i * step)
            .take_while(|t| *t < self.to)
            .collect();
        (ticks, step)
    }

    /// A tick label: `14:30` within a day, `11-24 06:00` across days, `11-24` for day ticks.
    pub fn label(self, t: i64, tick_step: i64) -> String {
        // `YYYY-MM-DD HH:MM:SS.mmm`
        let s = crate::format::utc_ms(t);
        if tick_step >= DAY {
            s[5..10].to_string()
        } else if self.to - self.from > DAY {
            format!("{} {}", &s[5..10], &s[11..16])
        } else {
            s[11..16].to_string()
        }
    }
}

/// Latency values in the unit that keeps axis labels short: seconds once the largest value
/// passes two seconds, milliseconds below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyUnit {
    Ms,
    S,
}

impl LatencyUnit {
    pub fn for_max(max_ms: f64) -> LatencyUnit {
        if max_ms >= 2000.0 {
            LatencyUnit::S
        } else {
            LatencyUnit::Ms
        }
    }
    pub fn scale(self, ms: f64) -> f64 {
        match self {
            LatencyUnit::Ms => ms,
            LatencyUnit::S => ms / 1000.0,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            LatencyUnit::Ms => "ms",
            LatencyUnit::S => "s",
        }
    }
}

/// A short axis number: `0`, `2.5`, `120`, `1.2k`.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if a >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        // `0.5`, not `0.50`: plotters' ticks are round numbers already.
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The top of a value axis: a little headroom over `max`, never zero, never NaN.
pub fn value_top(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.12
    } else {
        1.0
    }
}

/// Plotters writes `width`/`height` in pixels; the board wants the chart as wide as its panel
/// with the drawn aspect ratio, so keep the viewBox and set `width="100%"`. Also names the
/// chart for screen readers.
pub fn responsive(svg: String, label: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg;
    };
    let head = &svg[..end];
    let Some(vb_at) = head.find("viewBox=") else {
        return svg;
    };
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        "<svg class=\"chart\" width=\"100%\" {} role=\"img\" aria-label=\"{label}\" \
         preserveAspectRatio=\"xMidYMid meet\"{}",
        &head[vb_at..],
        &svg[end..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_whole_units_of_utc() {
        // 2026-11-23 10:07 .. 11:07
        let from = 1_795_392_000_000 + 10 * HOUR + 7 * MINUTE;
        let axis = TimeAxis {
            from,
            to: from + HOUR,
        };
        let (ticks, step) = axis.ticks(6);
        assert_eq!(step, 15 * MINUTE);
        assert_eq!(
            ticks
                .iter()
                .map(|t| axis.label(*t, step))
                .collect::<Vec<_>>(),
            ["10:15", "10:30", "10:45", "11:00"]
        );
        let week = TimeAxis {
            from: 1_795_392_000_000,
            to: 1_795_392_000_000 + 7 * DAY,
        };
        let (ticks, step) = week.ticks(8);
        assert_eq!(step, DAY);
        assert_eq!(week.label(ticks[0], step), "11-23");
        let two_days = TimeAxis {
            from: week.from,
            to: week.from + 2 * DAY,
        };
        let (ticks, step) = two_days.ticks(6);
        assert_eq!(step, 12 * HOUR);
        assert_eq!(two_days.label(ticks[1], step), "11-23 12:00");
    }

    #[test]
    fn a_degenerate_window_still_has_a_width() {
        let o = Overview {
            from_ms: 5_000,
            to_ms: 5_000,
            step_ms: 0,
            ..Default::default()
        };
        let axis = TimeAxis::of(&o);
        assert!(axis.to > axis.from);
        let (ticks, _) = axis.ticks(5);
        assert!(ticks.len() <= 5);
    }

    #[test]
    fn the_svg_scales_with_its_panel() {
        let svg = "<svg width=\"300\" height=\"100\" viewBox=\"0 0 300 100\" \
                   xmlns=\"http://www.w3.org/2000/svg\">\n<rect/></svg>"
            .to_string();
        let out = responsive(svg, "P95 <\"latency\">");
        assert!(
            out.starts_with("<svg class=\"chart\" width=\"100%\" viewBox=\"0 0 300 100\" xmlns=")
        );
        assert!(out.contains("aria-label=\"P95 &lt;&quot;latency&quot;>\""));
        assert!(!out.contains("height=\"100\""));
        assert!(out.ends_with("<rect/></svg>"));
    }

    #[test]
    fn numbers_and_units_stay_short() {
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(2.5), "2.5");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(0.5), "0.5");
        assert_eq!(short_number(1260.0), "1.3k");
        assert_eq!(LatencyUnit::for_max(1999.0), LatencyUnit::Ms);
        assert_eq!(LatencyUnit::for_max(2500.0).scale(2500.0), 2.5);
        assert_eq!(value_top(f64::NAN), 1.0);
        assert_eq!(value_top(0.0), 1.0);
    }
}
