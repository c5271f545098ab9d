//! The threat model for people: the components, the trust boundaries, a
//! table of threats with the rules that cover each or GAP, the rules, and
//! a summary line like every other command's.

use crate::model::{Boundary, Direction, Status, ThreatModelDetails};
use crate::Match;
use mlsec_core::render::{fit, printable, Paint};
use mlsec_core::Evidence;
use std::fmt::Write;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";

/// The widest title column; longer titles end in `…` (the JSON has them whole).
const TITLE_WIDTH: usize = 48;
/// Places named per threat; the rest are counted.
const PLACES: usize = 3;

/// The widest of `texts`, in characters.
fn width<'a>(texts: impl Iterator<Item = &'a str>) -> usize {
    texts.map(|t| t.chars().count()).max().unwrap_or(0)
}

/// The threat model of `evidence` (whose details are `details`) for a
/// terminal; `colour` adds ANSI colours.
pub fn human(evidence: &Evidence, details: &ThreatModelDetails, colour: bool) -> String {
    let paint = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  {}",
        paint.p(BOLD, "threat model:"),
        paint.p(BOLD, &printable(&details.system)),
        paint.p(DIM, &format!("({})", printable(&details.file)))
    );
    if let Some(d) = &details.description {
        let _ = writeln!(out, "  {}", printable(d.trim()));
    }

    let _ = writeln!(out, "\n{}", paint.p(BOLD, "components"));
    let id_width = details
        .components
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0);
    let traits: Vec<String> = details
        .components
        .iter()
        .map(|c| {
            let mut t = vec![c.trust.as_str()];
            if c.exposure == Some(crate::Exposure::Public) {
                t.push("public");
            } else if c.exposed {
                t.push("exposed");
            }
            if let Some(m) = c.model_type {
                t.push(m.as_str());
            }
            t.join(", ")
        })
        .collect();
    let kind_width = width(details.components.iter().map(|c| c.kind.as_str()));
    let trait_width = width(traits.iter().map(String::as_str));
    for (c, traits) in details.components.iter().zip(&traits) {
        let paths: Vec<String> = c.paths.iter().map(|p| printable(p).into_owned()).collect();
        let line = format!(
            "  {}  {}  {}  {}",
            fit(&c.id, id_width),
            fit(c.kind.as_str(), kind_width),
            fit(traits, trait_width),
            paint.p(DIM, &paths.join(", "))
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }

    let _ = writeln!(out, "\n{}", paint.p(BOLD, "trust boundaries"));
    if details.boundaries.is_empty() {
        let _ = writeln!(
            out,
            "  none: every component is internal and none is public"
        );
    }
    let crossing = |b: &Boundary| match b {
        Boundary::Flow { from, to, .. } => format!("{from} → {to}"),
        Boundary::PublicExposure { component } => component.clone(),
    };
    let crossings: Vec<String> = details.boundaries.iter().map(crossing).collect();
    let crossing_width = width(crossings.iter().map(String::as_str));
    for (b, crossing) in details.boundaries.iter().zip(&crossings) {
        let (side, what) = match b {
            Boundary::Flow {
                data, direction, ..
            } => (
                match direction {
                    Direction::Inbound => "inbound",
                    Direction::Outbound => "outbound",
                },
                data.as_str(),
            ),
            Boundary::PublicExposure { .. } => ("public", "exposure: public"),
        };
        let _ = writeln!(
            out,
            "  {}  {}  {}",
            fit(side, 8),
            fit(crossing, crossing_width),
            paint.p(DIM, what)
        );
    }

    let frameworks: Vec<String> = details
        .frameworks
        .iter()
        .map(|f| format!("{} {}", f.name, f.version))
        .collect();
    let _ = writeln!(
        out,
        "\n{}  {}",
        paint.p(BOLD, "threats"),
        paint.p(DIM, &frameworks.join("; "))
    );
    let covered = |t: &crate::Threat| -> String {
        if t.status == Status::Gap {
            return "GAP".into();
        }
        t.covered_by
            .iter()
            .map(|c| {
                if c.matches == Match::Exact {
                    c.rule.clone()
                } else {
                    format!("({})", c.rule)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let cover_width = details
        .threats
        .iter()
        .map(|t| covered(t).chars().count())
        .max()
        .unwrap_or(0)
        .max("covered by".len());
    let title_width = details
        .threats
        .iter()
        .map(|t| t.title.chars().count())
        .max()
        .unwrap_or(0)
        .clamp("title".len(), TITLE_WIDTH);
    let header = format!(
        "  {}  {}  {}  where",
        fit("id", 13),
        fit("covered by", cover_width),
        fit("title", title_width)
    );
    let _ = writeln!(out, "{}", paint.p(DIM, &header));
    for t in &details.threats {
        let cover = fit(&covered(t), cover_width);
        let cover = match t.status {
            Status::Gap => paint.p(YELLOW, &cover),
            Status::Partial => cover,
            Status::Covered => paint.p(GREEN, &cover),
        };
        let places = t.places();
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}",
            fit(&t.id, 13),
            cover,
            fit(&t.title, title_width),
            crate::list_places(&places, PLACES)
        );
    }

    // The rules named above, with the checks whose evidence they read.
    let named: std::collections::BTreeSet<&str> = details
        .threats
        .iter()
        .flat_map(|t| t.covered_by.iter().map(|c| c.rule.as_str()))
        .collect();
    if !named.is_empty() {
        let _ = writeln!(
            out,
            "\n{}  {}",
            paint.p(BOLD, "rules"),
            paint.p(
                DIM,
                "(RULE): names only the parent technique, or only some sub-techniques"
            )
        );
        let shown: Vec<_> = details
            .rules
            .iter()
            .filter(|r| named.contains(r.id.as_str()))
            .map(|r| {
                let checks = if r.checks.is_empty() {
                    "-".to_string()
                } else {
                    r.checks.join(", ")
                };
                (r, checks)
            })
            .collect();
        let checks_width = width(shown.iter().map(|(_, c)| c.as_str())).clamp(5, 16);
        for (r, checks) in &shown {
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                fit(&r.id, 7),
                fit(checks, checks_width),
                fit(&printable(&r.source), 8),
                printable(&r.title)
            );
        }
    }
    for note in &details.notes {
        let _ = writeln!(
            out,
            "{}",
            paint.p(DIM, &format!("note: {}", printable(note)))
        );
    }

    let c = &details.counts;
    let _ = writeln!(
        out,
        "\n{}: {} threat(s): {} covered, {} partly, {} not covered; {} finding(s) — {} (fail on {} and above)",
        evidence.kind,
        c.threats,
        paint.p(GREEN, &c.covered.to_string()),
        c.partial,
        paint.p(YELLOW, &c.gaps.to_string()),
        evidence.findings.len(),
        evidence.summary.verdict.to_uppercase(),
        evidence.summary.threshold
    );
    out
}
