//! The run's plot as a hand-written SVG: acknowledged answers per second and live
//! connections on top, acknowledgement latency (p50, p99 per period) below, over time.

use std::fmt::Write as _;

use crate::timeline::Sample;

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 220.0;
const MARGIN_LEFT: f64 = 70.0;
const MARGIN_RIGHT: f64 = 70.0;
const MARGIN_TOP: f64 = 40.0;
const GAP: f64 = 50.0;

/// One line of a panel.
struct Series<'a> {
    label: &'a str,
    colour: &'a str,
    values: Vec<f64>,
    /// Drawn against the right-hand axis.
    right_axis: bool,
}

/// The SVG document for a timeline, titled `title`.
pub fn svg(title: &str, samples: &[Sample]) -> String {
    let height = MARGIN_TOP + 2.0 * PANEL_HEIGHT + GAP + 40.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" "#
    );
    let _ = writeln!(
        out,
        r#"font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{MARGIN_LEFT}" y="20" font-size="15">{}</text>"#,
        escape(title)
    );
    let times: Vec<f64> = samples.iter().map(|s| s.at_s).collect();
    let throughput = [
        Series {
            label: "acknowledged answers/s",
            colour: "#1f77b4",
            values: samples.iter().map(|s| s.acks_per_s).collect(),
            right_axis: false,
        },
        Series {
            label: "live connections (right axis)",
            colour: "#2ca02c",
            values: samples.iter().map(|s| s.connected as f64).collect(),
            right_axis: true,
        },
    ];
    panel(
        &mut out,
        MARGIN_TOP,
        &times,
        &throughput,
        "answers/s",
        "connections",
    );
    let latency = [
        Series {
            label: "ack p50 ms",
            colour: "#ff7f0e",
            values: samples.iter().map(|s| s.ack_p50_ms).collect(),
            right_axis: false,
        },
        Series {
            label: "ack p99 ms",
            colour: "#d62728",
            values: samples.iter().map(|s| s.ack_p99_ms).collect(),
            right_axis: false,
        },
    ];
    panel(
        &mut out,
        MARGIN_TOP + PANEL_HEIGHT + GAP,
        &times,
        &latency,
        "ms",
        "",
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">seconds since T0</text></svg>"#,
        WIDTH / 2.0,
        height - 8.0
    );
    out
}

fn panel(out: &mut String, top: f64, times: &[f64], series: &[Series], left: &str, right: &str) {
    let plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let x_max = times.iter().copied().fold(1.0, f64::max);
    let y_max = |right_axis: bool| {
        let max = series
            .iter()
            .filter(|s| s.right_axis == right_axis)
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max);
        nice_ceiling(max)
    };
    let (left_max, right_max) = (y_max(false), y_max(true));
    let _ = writeln!(
        out,
        r##"<rect x="{MARGIN_LEFT}" y="{top}" width="{plot_width}" height="{PANEL_HEIGHT}" "##
    );
    let _ = writeln!(out, r##"fill="none" stroke="#999"/>"##);
    for step in 0..=4 {
        let fraction = f64::from(step) / 4.0;
        let y = top + PANEL_HEIGHT * (1.0 - fraction);
        let _ = writeln!(
            out,
            r##"<line x1="{MARGIN_LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#eee"/>"##,
            MARGIN_LEFT + plot_width,
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            MARGIN_LEFT - 6.0,
            y + 4.0,
            short(left_max * fraction)
        );
        if right_max > 0.0 {
            let _ = writeln!(
                out,
                r#"<text x="{}" y="{:.1}">{}</text>"#,
                MARGIN_LEFT + plot_width + 6.0,
                y + 4.0,
                short(right_max * fraction)
            );
        }
        let x = MARGIN_LEFT + plot_width * fraction;
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{:.0}</text>"#,
            top + PANEL_HEIGHT + 14.0,
            x_max * fraction
        );
    }
    let _ = writeln!(out, r#"<text x="8" y="{:.1}">{left}</text>"#, top - 6.0);
    if !right.is_empty() {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}">{right}</text>"#,
            WIDTH - 80.0,
            top - 6.0
        );
    }
    for (index, line) in series.iter().enumerate() {
        let y_max = if line.right_axis { right_max } else { left_max };
        let points: Vec<String> = times
            .iter()
            .zip(&line.values)
            .map(|(t, v)| {
                let x = MARGIN_LEFT + plot_width * t / x_max;
                let y = top + PANEL_HEIGHT * (1.0 - v / y_max.max(f64::MIN_POSITIVE));
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            line.colour,
            points.join(" ")
        );
        let legend_x = MARGIN_LEFT + 10.0 + 230.0 * index as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{legend_x}" y="{:.1}" width="12" height="3" fill="{}"/>"#,
            top + 12.0,
            line.colour,
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}">{}</text>"#,
            legend_x + 16.0,
            top + 16.0,
            escape(line.label)
        );
    }
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 0.0;
    }
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= value)
        .unwrap_or(10.0 * power)
}

fn short(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1_000.0)
    } else if value >= 10.0 || value == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_becomes_a_closed_svg_with_both_panels() {
        let samples: Vec<Sample> = (1..=5)
            .map(|i| Sample {
                at_s: f64::from(i),
                acks_per_s: 100.0 * f64::from(i),
                connected: 10,
                errors: 0,
                ack_p50_ms: 1.0,
                ack_p99_ms: 4.0,
            })
            .collect();
        let svg = svg("run <1>", &samples);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("run &lt;1&gt;"));
        assert_eq!(nice_ceiling(430.0), 500.0);
    }
}
