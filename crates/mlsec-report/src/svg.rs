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
