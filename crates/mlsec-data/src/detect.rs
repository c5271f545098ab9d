//! The seam between the readers and the PII/secret detectors (crate `mlsec-pii`):
//! text in, typed spans out, no I/O. Keeping it a trait lets the readers, the
//! scanner and the redactor be tested without the detectors and lets the gateway
//! reuse the same detectors later.

use mlsec_core::DataLocation;

/// One detected value: its entity name (`EMAIL`, `AWS_ACCESS_KEY`, ...), whether
/// it is a secret (credential) rather than personal data, its byte range in the
/// text (end exclusive) and the detector's confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub entity: String,
    pub secret: bool,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

/// Detectors as the data commands use them.
pub trait Detect: Sync {
    /// Spans in `text`; `field` is the column name (or notebook field), a hint
    /// for context-dependent entities (a column named `password`).
    fn detect(&self, field: Option<&str>, text: &str) -> Vec<Hit>;
    /// The value with most characters masked, safe to print.
    fn mask(&self, entity: &str, value: &str) -> String;
}

/// A hit located in a file: the place in code points, and a masked preview.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub entity: String,
    pub secret: bool,
    pub confidence: f32,
    pub location: DataLocation,
    pub preview: String,
}

/// Hits sorted by start, overlapping ones dropped (the earlier, then longer, wins),
/// and ranges that are not on character boundaries of `text` dropped.
pub fn normalise(text: &str, mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.retain(|h| {
        h.start < h.end
            && text.is_char_boundary(h.start)
            && text.is_char_boundary(h.end)
            && h.end <= text.len()
    });
    hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
    for h in hits {
        if out.last().is_none_or(|last| h.start >= last.end) {
            out.push(h);
        }
    }
    out
}

/// Converts normalised hits' byte offsets into code-point offsets and locates
/// them at `row`/`column` or `line`.
pub fn locate(
    detector: &dyn Detect,
    text: &str,
    hits: Vec<Hit>,
    row: Option<u64>,
    column: Option<&str>,
    line: Option<u64>,
) -> Vec<Located> {
    let mut out = Vec::with_capacity(hits.len());
    let mut byte = 0usize;
    let mut chars = 0u64;
    for h in normalise(text, hits) {
        chars += text
            .get(byte..h.start)
            .map_or(0, |s| s.chars().count() as u64);
        let len = text
            .get(h.start..h.end)
            .map_or(0, |s| s.chars().count() as u64);
        let value = text.get(h.start..h.end).unwrap_or_default();
        out.push(Located {
            preview: detector.mask(&h.entity, value),
            entity: h.entity,
            secret: h.secret,
            confidence: h.confidence,
            location: DataLocation {
                row,
                column: column.map(str::to_string),
                line,
                start: chars,
                end: chars + len,
            },
        });
        chars += len;
        byte = h.end;
    }
    out
}

#[cfg(test)]
pub(crate) mod testing {
    //! A tiny detector for tests: emails (`x@y.z` words) and `AKIA` + 16 upper-case
    //! alphanumerics, enough to exercise readers, scanning and redaction.
    use super::*;

    pub struct Toy;

    impl Detect for Toy {
        fn detect(&self, _field: Option<&str>, text: &str) -> Vec<Hit> {
            let mut hits = Vec::new();
            let mut pos = 0;
            for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '"' || c == '\'')
            {
                let start = word.as_ptr() as usize - text.as_ptr() as usize;
                pos = pos.max(start);
                let end = start + word.len();
                if word.contains('@') && word.contains('.') {
                    hits.push(Hit {
                        entity: "EMAIL".into(),
                        secret: false,
                        start,
                        end,
                        confidence: 0.9,
                    });
                } else if word.len() == 20
                    && word.starts_with("AKIA")
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    hits.push(Hit {
                        entity: "AWS_ACCESS_KEY".into(),
                        secret: true,
                        start,
                        end,
                        confidence: 0.95,
                    });
                }
            }
            hits
        }

        fn mask(&self, _entity: &str, value: &str) -> String {
            let first: String = value.chars().take(2).collect();
            format!("{first}***")
        }
    }

    #[test]
    fn code_point_offsets_follow_multibyte_text() {
        let text = "Zoë — zoë@example.org, AKIAABCDEFGHIJKLMNOP";
        let located = locate(
            &Toy,
            text,
            Toy.detect(None, text),
            Some(3),
            Some("note"),
            None,
        );
        assert_eq!(located.len(), 2);
        assert_eq!(
            (located[0].location.start, located[0].location.end),
            (6, 21)
        );
        assert_eq!(located[0].preview, "zo***");
        let chars: Vec<char> = text.chars().collect();
        let s: String = chars[6..21].iter().collect();
        assert_eq!(s, "zoë@example.org");
        assert_eq!(located[1].location.start, 23);
    }
}
