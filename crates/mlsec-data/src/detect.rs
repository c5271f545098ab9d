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
    pub entity: &'static str,
    pub secret: bool,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

/// What a detector makes of a field name (see [`Detect::field`]); opaque to
/// the readers and scanners, which only pass it back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldHint(pub u32);

/// Detectors as the data commands use them.
pub trait Detect: Sync {
    /// Appends the spans in `text` to `out`; `field` is the column name (or
    /// notebook field), a hint for context-dependent entities (a column named
    /// `password`). Scanners reuse one `out` for many cells.
    fn detect(&self, field: Option<&str>, text: &str, out: &mut Vec<Hit>) {
        self.detect_in(self.field(field), text, out)
    }
    /// Works out once what a field name means, for [`Detect::detect_in`]: a
    /// table's columns are read once, not on every row.
    fn field(&self, name: Option<&str>) -> FieldHint;
    /// Like [`Detect::detect`], for a value of the field `field` was made from.
    fn detect_in(&self, field: FieldHint, text: &str, out: &mut Vec<Hit>);
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
/// and ranges that are not on character boundaries of `text` dropped. Hits
/// that already are so (the usual case) are left as they are.
pub fn normalise(text: &str, hits: &mut Vec<Hit>) {
    let fine = |h: &Hit| {
        h.start < h.end
            && h.end <= text.len()
            && text.is_char_boundary(h.start)
            && text.is_char_boundary(h.end)
    };
    if hits.iter().all(fine)
        && hits
            .iter()
            .zip(hits.iter().skip(1))
            .all(|(a, b)| a.end <= b.start)
    {
        return;
    }
    hits.retain(fine);
    hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut last_end = 0;
    hits.retain(|h| {
        let keep = h.start >= last_end;
        if keep {
            last_end = h.end;
        }
        keep
    });
}

/// Locates one hit of a normalised set in `text`: code-point offsets, the
/// place and a masked preview.
pub fn locate_one(
    detector: &dyn Detect,
    text: &str,
    hit: &Hit,
    row: Option<u64>,
    column: Option<&str>,
    line: Option<u64>,
) -> Located {
    let start = text
        .get(..hit.start)
        .map_or(0, |s| s.chars().count() as u64);
    let value = text.get(hit.start..hit.end).unwrap_or_default();
    let len = value.chars().count() as u64;
    Located {
        preview: detector.mask(hit.entity, value),
        entity: hit.entity.to_string(),
        secret: hit.secret,
        confidence: hit.confidence,
        location: DataLocation {
            row,
            column: column.map(str::to_string),
            line,
            start,
            end: start + len,
        },
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A tiny detector for tests: emails (`x@y.z` words) and `AKIA` + 16 upper-case
    //! alphanumerics, enough to exercise readers, scanning and redaction.
    use super::*;

    pub struct Toy;

    impl Detect for Toy {
        fn field(&self, _name: Option<&str>) -> FieldHint {
            FieldHint::default()
        }

        fn detect_in(&self, _field: FieldHint, text: &str, hits: &mut Vec<Hit>) {
            for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '"' || c == '\'')
            {
                let start = word.as_ptr() as usize - text.as_ptr() as usize;
                let end = start + word.len();
                if word.contains('@') && word.contains('.') {
                    hits.push(Hit {
                        entity: "EMAIL",
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
                        entity: "AWS_ACCESS_KEY",
                        secret: true,
                        start,
                        end,
                        confidence: 0.95,
                    });
                }
            }
        }

        fn mask(&self, _entity: &str, value: &str) -> String {
            let first: String = value.chars().take(2).collect();
            format!("{first}***")
        }
    }

    #[test]
    fn code_point_offsets_follow_multibyte_text() {
        let text = "Zoë — zoë@example.org, AKIAABCDEFGHIJKLMNOP";
        let mut hits = Vec::new();
        Toy.detect(None, text, &mut hits);
        normalise(text, &mut hits);
        let located: Vec<Located> = hits
            .iter()
            .map(|h| locate_one(&Toy, text, h, Some(3), Some("note"), None))
            .collect();
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
