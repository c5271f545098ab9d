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
}
