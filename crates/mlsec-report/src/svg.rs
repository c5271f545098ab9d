//! Small inline SVG charts: no script, no fonts or images fetched, so the
//! report stays one file that opens anywhere.

use crate::escape;
use std::fmt::Write as _;

/// One bar: its label, value and fill colour (a CSS colour of ours, never
/// text from evidence).
pub struct Bar {
    pub label: String,
    pub value: usize,
    pub colour: &'static str,
}

const WIDTH: usize = 640;
const LABEL: usize = 260;
const ROW: usize = 22;

/// A horizontal bar chart, one row per bar, the value written after it.
/// `title` names the chart for screen readers.
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = bars.len() * ROW + 8;
    let room = WIDTH - LABEL - 60;
    let mut out = open(title, height);
    for (i, bar) in bars.iter().enumerate() {
        let y = i * ROW + 4;
        let w = if bar.value == 0 {
            0
        } else {
            (bar.value * room / max).max(2)
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect><text x=\"{}\" y=\"{}\">{}</text>",
            LABEL - 8,
            y + 14,
            escape(&shorten(&bar.label, 38)),
            ROW - 6,
            bar.colour,
            escape(&bar.label),
            bar.value,
            LABEL + w + 6,
            y + 14,
            bar.value
        );
    }
    out.push_str("</svg>");
    out
}

/// One stacked bar per row: the parts side by side, scaled to the row's total.
pub fn stacked(title: &str, rows: &[(String, Vec<Bar>)]) -> String {
    let height = rows.len() * ROW + 8;
    let room = WIDTH - LABEL - 20;
    let mut out = open(title, height);
    for (i, (label, parts)) in rows.iter().enumerate() {
        let y = i * ROW + 4;
        let total: usize = parts.iter().map(|p| p.value).sum::<usize>().max(1);
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 8,
            y + 14,
            escape(&shorten(label, 38))
        );
        let mut x = LABEL;
        for part in parts.iter().filter(|p| p.value > 0) {
            let w = part.value * room / total;
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>",
                ROW - 6,
                part.colour,
                escape(&part.label),
                part.value
            );
            x += w;
        }
    }
    out.push_str("</svg>");
    out
}

/// Reference against current, bin by bin: two bars per bin (grey the
/// reference, orange the current data), heights the shares, `labels` under
/// the bins (or, for numeric bins, the range's ends: `ends`).
pub fn histogram(
    title: &str,
    labels: &[String],
    ends: Option<(f64, f64)>,
    reference: &[f64],
    current: &[f64],
) -> String {
    const HEIGHT: usize = 150;
    const PLOT: usize = 110;
    let n = reference.len().min(current.len()).clamp(1, 50);
    let share = |v: &[f64], i: usize| -> f64 {
        v.get(i)
            .copied()
            .filter(|x| x.is_finite())
            .unwrap_or(0.0)
            .clamp(0.0, 1.0)
    };
    let max = (0..n)
        .map(|i| share(reference, i).max(share(current, i)))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let slot = (WIDTH - 20) / n;
    let bar = (slot / 2).max(1);
    let mut out = open(title, HEIGHT);
    for i in 0..n {
        let x = 10 + i * slot;
        for (k, (v, colour, who)) in [
            (share(reference, i), "#8c959f", "reference"),
            (share(current, i), "#fb8500", "current"),
        ]
        .into_iter()
        .enumerate()
        {
            let h = ((v / max) * PLOT as f64).round() as usize;
            let label = labels.get(i).map_or(String::new(), |l| format!("{l}: "));
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\" fill=\"{colour}\"><title>{}{who} {:.1}%</title></rect>",
                x + k * bar,
                10 + PLOT - h,
                bar.saturating_sub(1).max(1),
                escape(&label),
                v * 100.0
            );
        }
        if ends.is_none() && n <= 20 {
            if let Some(l) = labels.get(i) {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    x + slot / 2,
                    HEIGHT - 12,
                    escape(&shorten(l, (slot / 7).max(3)))
                );
            }
        }
    }
    if let Some((lo, hi)) = ends {
        let _ = write!(
            out,
            "<text x=\"10\" y=\"{0}\">{1}</text><text x=\"{2}\" y=\"{0}\" text-anchor=\"end\">{3}</text>",
            HEIGHT - 12,
            number(lo),
            WIDTH - 10,
            number(hi)
        );
    }
    out.push_str("</svg>");
    out
}

/// One measured value (a rate, an AUC, an importance) for [`measures`].
pub struct Measure {
    pub label: String,
    pub value: f64,
    /// Shown on hover, e.g. a confidence interval.
    pub note: String,
    pub colour: &'static str,
}

/// A horizontal bar per measure, `full` the value of a full-width bar
/// (negative and non-finite values draw no bar), the value written after
/// it; `mark` draws a dashed line at a value with its name (guessing, a
/// threshold).
pub fn measures(title: &str, rows: &[Measure], full: f64, mark: Option<(f64, &str)>) -> String {
    let height = rows.len() * ROW + 8 + if mark.is_some() { 16 } else { 0 };
    let room = (WIDTH - LABEL - 70) as f64;
    let full = if full.is_finite() && full > 0.0 {
        full
    } else {
        1.0
    };
    let width = |v: f64| -> usize {
        if v.is_finite() && v > 0.0 {
            ((v.min(full) / full) * room).round() as usize
        } else {
            0
        }
    };
    let mut out = open(title, height);
    for (i, m) in rows.iter().enumerate() {
        let y = i * ROW + 4;
        let w = width(m.value);
        let note = if m.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.note)
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{}: {}{}</title></rect><text x=\"{}\" y=\"{}\">{}</text>",
            LABEL - 8,
            y + 14,
            escape(&shorten(&m.label, 38)),
            ROW - 6,
            m.colour,
            escape(&m.label),
            number(m.value),
            escape(&note),
            LABEL + w + 6,
            y + 14,
            number(m.value)
        );
    }
    if let Some((at, name)) = mark {
        let x = LABEL + width(at);
        let bottom = rows.len() * ROW + 6;
        let _ = write!(
            out,
            "<line x1=\"{x}\" y1=\"2\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"#59636e\" stroke-dasharray=\"4 3\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            bottom + 14,
            escape(&format!("{name} {}", number(at)))
        );
    }
    out.push_str("</svg>");
    out
}

/// One line of [`curves`]: its name, colour and points.
pub struct Curve {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// Lines through points whose y is a share (0 to 1), x labelled at every
/// x a curve has (a robustness curve's radii); the names are the caller's
/// legend.
pub fn curves(title: &str, x_name: &str, y_name: &str, lines: &[Curve]) -> String {
    const HEIGHT: usize = 236;
    const LEFT: f64 = 48.0;
    // Room above the plot for the y axis's name.
    const TOP: f64 = 26.0;
    const PLOT_H: f64 = 160.0;
    let plot_w = WIDTH as f64 - LEFT - 20.0;
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let mut xs: Vec<f64> = lines
        .iter()
        .flat_map(|c| c.points.iter().filter(finite).map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.truncate(40);
    let (lo, hi) = match (xs.first(), xs.last()) {
        (Some(&a), Some(&b)) if b > a => (a, b),
        (Some(&a), _) => (a - 1.0, a + 1.0),
        _ => (0.0, 1.0),
    };
    let px = |x: f64| LEFT + (x - lo) / (hi - lo) * plot_w;
    let py = |y: f64| TOP + (1.0 - y.clamp(0.0, 1.0)) * PLOT_H;
    let mut out = open(title, HEIGHT);
    for y in [0.0, 0.5, 1.0] {
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#d1d9e0\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{4}%</text>",
            py(y),
            LEFT + plot_w,
            LEFT - 6.0,
            py(y) + 4.0,
            (y * 100.0) as u32
        );
    }
    for &x in &xs {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            px(x),
            TOP + PLOT_H + 16.0,
            number(x)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text><text x=\"4\" y=\"14\">{}</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 4,
        escape(x_name),
        escape(y_name)
    );
    for c in lines {
        let mut points: Vec<(f64, f64)> = c.points.iter().filter(finite).copied().collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.truncate(40);
        let path: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"><title>{}</title></polyline>",
            path.join(" "),
            c.colour,
            escape(&c.name)
        );
        for &(x, y) in &points {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"><title>{}: {} at {}</title></circle>",
                px(x),
                py(y),
                c.colour,
                escape(&c.name),
                number(y),
                number(x)
            );
        }
    }
    out.push_str("</svg>");
    out
}

fn number(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e6 || x.abs() < 1e-3) {
        format!("{x:.3e}")
    } else {
        format!("{x:.3}")
    }
}

/// The `<svg>` element of a chart `height` high, titled for screen readers.
fn open(title: &str, height: usize) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" aria-label=\"{0}\"><title>{0}</title>",
        escape(title)
    )
}

/// At most `n` characters, with an ellipsis where cut (at a character, never
/// inside one).
fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let svg = bars(
            "t",
            &[
                Bar {
                    label: "<b>".into(),
                    value: 10,
                    colour: "#000",
                },
                Bar {
                    label: "ünïcødé label that is much longer than the room it has".into(),
                    value: 5,
                    colour: "#111",
                },
                Bar {
                    label: "zero".into(),
                    value: 0,
                    colour: "#222",
                },
            ],
        );
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("width=\"320\""), "{svg}");
        assert!(svg.contains("width=\"160\""), "{svg}");
        assert!(svg.contains("width=\"0\""), "{svg}");
        assert!(svg.contains('…'));
    }

    #[test]
    fn measures_scale_to_full_and_mark_a_reference() {
        let m = |label: &str, value: f64| Measure {
            label: label.into(),
            value,
            note: String::new(),
            colour: "#000",
        };
        let svg = measures(
            "auc",
            &[
                m("a", 1.0),
                m("b", 0.5),
                m("neg", -0.2),
                m("nan", f64::NAN),
                m("over", 7.0),
            ],
            1.0,
            Some((0.5, "guessing")),
        );
        assert!(svg.contains("width=\"310\""), "{svg}");
        assert!(svg.contains("width=\"155\""), "{svg}");
        assert_eq!(svg.matches("width=\"0\"").count(), 2, "{svg}");
        assert!(svg.contains("x1=\"415\""), "{svg}");
        assert!(svg.contains("guessing 0.500"), "{svg}");
    }

    #[test]
    fn curves_place_points_on_the_axes() {
        let svg = curves(
            "robustness",
            "eps",
            "robust accuracy",
            &[Curve {
                name: "<square>".into(),
                colour: "#000",
                points: vec![(0.1, 0.5), (0.05, 1.0), (f64::NAN, 0.2), (0.2, 0.0)],
            }],
        );
        // x from 0.05 (left edge) to 0.2 (right edge), y 100% at the top.
        assert!(
            svg.contains("points=\"48.0,26.0 238.7,106.0 620.0,186.0\""),
            "{svg}"
        );
        assert!(svg.contains("&lt;square&gt;") && !svg.contains("<square>"));
        assert_eq!(svg.matches("<circle").count(), 3);
    }
}
