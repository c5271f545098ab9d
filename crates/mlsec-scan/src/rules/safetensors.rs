//! Rules for safetensors files.

use crate::rules::general::LIMIT_EXCEEDED;
use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Rule};
use mlsec_formats::safetensors::{self as st, HeaderError, Problem, REFERENCE_MAX_HEADER};
use serde_json::json;

declare_rule! {
    /// ## What it does
    /// Reports a safetensors file whose header cannot be read as the format
    /// requires: a header length larger than the reference loader's 100 MB
    /// cap or the file, a header that is not UTF-8 JSON starting with `{`,
    /// a tensor entry without a known `dtype`, a `shape` of non-negative
    /// integers and two `data_offsets`, or a `__metadata__` that is not a map
    /// of strings to strings.
    ///
    /// ## Why is this bad?
    /// safetensors is safe because its header is plain data that loaders
    /// check strictly. A header the reference loader would refuse is either
    /// broken or made to confuse some other, laxer reader; either way the file
    /// was not judged, and mlsec does not call it clean.
    ///
    /// ## Example
    /// A file whose first 8 bytes declare a header of 2^64-1 bytes, or whose
    /// tensor entry says `"dtype": "Q4"`.
    ///
    /// ## How to fix
    /// Re-save the tensors with the `safetensors` library.
    pub const MALFORMED = Rule {
        id: "SFT001", name: "safetensors-malformed-header", severity: High, category: Error,
        summary: "safetensors header is malformed",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a key that appears more than once in the safetensors header: two
    /// tensors with one name, two `__metadata__` maps, or a repeated field
    /// inside an entry.
    ///
    /// ## Why is this bad?
    /// JSON parsers disagree on duplicate keys: the reference loader (Rust
    /// `serde`, into a `HashMap`) keeps the last, others keep the first or
    /// refuse. A file with two entries for one tensor shows one set of weights
    /// to a reviewer or scanner and another to the model that loads it. No
    /// writer produces duplicates by accident.
    ///
    /// ## Example
    /// `{"lm_head.weight": {...offsets [0, 64]...}, "lm_head.weight": {...offsets [64, 128]...}}`
    ///
    /// ## How to fix
    /// Do not trust the file; re-export the model from its source.
    pub const DUPLICATE_KEY = Rule {
        id: "SFT002", name: "safetensors-duplicate-key", severity: High, category: Suspicious,
        summary: "safetensors header repeats a key (parser-differential trick)",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports tensors whose `data_offsets` are reversed (`begin > end`), run
    /// past the end of the data area, or overlap another tensor's bytes.
    ///
    /// ## Why is this bad?
    /// Loaders that trust offsets read out of bounds, and overlapping tensors
    /// let one write alias another. The reference loader refuses such files;
    /// other readers may not.
    ///
    /// ## Example
    /// `"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}`
    ///
    /// ## How to fix
    /// Re-save the tensors with the `safetensors` library.
    pub const BAD_OFFSETS = Rule {
        id: "SFT003", name: "safetensors-bad-offsets", severity: High, category: Error,
        summary: "safetensors tensor offsets are reversed, out of bounds or overlapping",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a tensor whose byte range does not hold exactly
    /// `product(shape) × dtype size` bytes, or whose size overflows.
    ///
    /// ## Why is this bad?
    /// The header then lies about the data; readers that trust the shape read
    /// beyond the tensor, and ones that trust the offsets misinterpret it.
    ///
    /// ## Example
    /// `"w": {"dtype": "F32", "shape": [1024, 1024], "data_offsets": [0, 4]}`
    ///
    /// ## How to fix
    /// Re-save the tensors with the `safetensors` library.
    pub const SIZE_MISMATCH = Rule {
        id: "SFT004", name: "safetensors-size-mismatch", severity: High, category: Error,
        summary: "safetensors tensor size does not match its dtype and shape",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags bytes of the data area that belong to no tensor: holes between
    /// tensors, or data after the last one.
    ///
    /// ## Why is this bad?
    /// The format requires the data area to be fully indexed precisely so that
    /// a safetensors file cannot also be another file (a polyglot) or carry a
    /// hidden payload; the reference loader refuses such files. Unindexed
    /// bytes are where a pickle, a zip or a script hides.
    ///
    /// ## Example
    /// One 16-byte tensor followed by 4 KB of bytes no tensor mentions.
    ///
    /// ## How to fix
    /// Re-save the tensors with the `safetensors` library; investigate what
    /// the extra bytes hold.
    pub const UNCOVERED_BYTES = Rule {
        id: "SFT005", name: "safetensors-unindexed-bytes", severity: High, category: Suspicious,
        summary: "safetensors data area holds bytes that belong to no tensor",
    };
}

pub const RULES: &[Rule] = &[
    MALFORMED,
    DUPLICATE_KEY,
    BAD_OFFSETS,
    SIZE_MISMATCH,
    UNCOVERED_BYTES,
];

/// Most problems of one kind reported for a file; the rest are counted.
const MAX_REPORTED: usize = 20;
// Past MAX_REPORTED a kind gets one "not listed" note; the parser must keep
// enough problems of each kind for that note to appear.
const _: () = assert!(st::MAX_PROBLEMS_PER_KIND > MAX_REPORTED);

/// Judges a safetensors file.
pub fn scan(ctx: &Ctx, data: &[u8], report: &mut Report) {
    report.recognise("safetensors");
    let limit = REFERENCE_MAX_HEADER.min(ctx.limits().max_metadata_bytes);
    let header = match st::parse(data, limit) {
        Ok(h) => h,
        Err(e) => {
            let (rule, offset) = match &e {
                HeaderError::TooLarge { declared, .. } if *declared <= REFERENCE_MAX_HEADER => {
                    (&LIMIT_EXCEEDED, Some(0))
                }
                HeaderError::TooShort { .. }
                | HeaderError::TooLarge { .. }
                | HeaderError::PastEnd { .. } => (&MALFORMED, Some(0)),
                HeaderError::NotUtf8 { offset } => (&MALFORMED, Some(*offset)),
                _ => (&MALFORMED, Some(8)),
            };
            report.push(ctx.finding(rule, offset, format!("unreadable safetensors header: {e}")));
            return;
        }
    };
    // The parser keeps up to `st::MAX_PROBLEMS_PER_KIND` (over MAX_REPORTED)
    // problems of each kind and counts the rest, so every kind with more than
    // MAX_REPORTED problems still gets the "more ... not listed" note here.
    let mut counts = [0usize; 6];
    for problem in &header.problems {
        let (slot, rule, offset) = match problem {
            Problem::BadEntry { .. } => (0, &MALFORMED, Some(8)),
            Problem::DuplicateKey { .. } => (1, &DUPLICATE_KEY, Some(8)),
            Problem::BadOffsets { .. } | Problem::Overlap { .. } => (2, &BAD_OFFSETS, Some(8)),
            Problem::SizeMismatch { .. } => (3, &SIZE_MISMATCH, Some(8)),
            Problem::Uncovered { start, .. } => {
                (4, &UNCOVERED_BYTES, Some(header.data_start + start))
            }
            // A bound of the parser, not a fault of the format: the rest of
            // the map was not judged.
            Problem::TooManyMetadata { .. } => (5, &LIMIT_EXCEEDED, Some(8)),
        };
        // Every slot above is an index of `counts`.
        let Some(count) = counts.get_mut(slot) else {
            continue;
        };
        *count += 1;
        if *count == MAX_REPORTED + 1 {
            report.push(ctx.finding(rule, None, "more problems of this kind were not listed"));
        }
        if *count > MAX_REPORTED {
            continue;
        }
        let evidence = match problem {
            Problem::DuplicateKey { path, key, count } => {
                json!({"object": path, "key": key, "count": count})
            }
            Problem::Uncovered { start, end } => {
                json!({"data_start": header.data_start, "start": start, "end": end})
            }
            Problem::SizeMismatch {
                name,
                expected,
                actual,
            } => json!({"tensor": name, "expected": expected, "actual": actual}),
            Problem::TooManyMetadata { limit } => json!({"limit": limit}),
            _ => serde_json::Value::Null,
        };
        report.push(
            ctx.finding(rule, offset, problem.to_string())
                .with_evidence(evidence),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanConfig;
    use mlsec_core::Verdict;

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.as_bytes().to_vec();
        h.resize(h.len().div_ceil(8) * 8, b' ');
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend(h);
        out.extend(data);
        out
    }

    fn realistic() -> Vec<u8> {
        file(
            r#"{"__metadata__":{"format":"pt"},"model.embed_tokens.weight":{"dtype":"BF16","shape":[8,4],"data_offsets":[0,64]},"model.norm.weight":{"dtype":"F32","shape":[4],"data_offsets":[64,80]},"lm_head.weight":{"dtype":"F16","shape":[8,4],"data_offsets":[80,144]},"model.layers.0.mlp.gate_proj.weight":{"dtype":"F8_E4M3","shape":[4,4],"data_offsets":[144,160]},"position_ids":{"dtype":"I64","shape":[1,2],"data_offsets":[160,176]}}"#,
            &[3; 176],
        )
    }

    fn scan_with(data: &[u8], config: &ScanConfig) -> Report {
        let ctx = Ctx::new(config, "model.safetensors", None);
        let mut report = Report::default();
        scan(&ctx, data, &mut report);
        report
    }

    fn ids(data: &[u8]) -> Vec<String> {
        scan_with(data, &ScanConfig::default())
            .findings
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn realistic_file_is_clean() {
        let r = scan_with(&realistic(), &ScanConfig::default());
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.verdict(), Verdict::Clean);
        assert_eq!(r.format.as_deref(), Some("safetensors"));
    }

    #[test]
    fn the_dispatcher_routes_safetensors_here() {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "model.bin", None);
        let mut report = Report::default();
        crate::scan_bytes(&ctx, &realistic(), &mut report);
        assert_eq!(report.format.as_deref(), Some("safetensors"));
        assert_eq!(report.verdict(), Verdict::Clean);
    }

    #[test]
    fn each_rule_fires() {
        let dup = r#"{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
        assert!(ids(&file(dup, &[0])).contains(&"SFT002".to_string()));
        let bad = r#"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#;
        assert!(ids(&file(bad, &[0])).contains(&"SFT001".to_string()));
        let offsets = r#"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"v":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#;
        assert_eq!(ids(&file(offsets, &[0; 4])), ["SFT003"]);
        let size = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,4]}}"#;
        assert_eq!(ids(&file(size, &[0; 4])), ["SFT004"]);
        let trailing = r#"{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#;
        let f = file(trailing, b"\0\0\0\0\x80\x04payload");
        let r = scan_with(&f, &ScanConfig::default());
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, "SFT005");
        assert_eq!(
            &f[r.findings[0].offset.unwrap() as usize..][..2],
            b"\x80\x04"
        );
    }

    #[test]
    fn header_limits() {
        let mut f = u64::MAX.to_le_bytes().to_vec();
        f.extend(b"{}");
        assert_eq!(ids(&f), ["SFT001"]);
        let mut config = ScanConfig::default();
        config.limits.max_metadata_bytes = 16;
        let r = scan_with(&realistic(), &config);
        assert_eq!(r.findings[0].rule, "SCN003");
        assert_eq!(r.verdict(), Verdict::Error);
    }

    #[test]
    fn deeply_nested_header_is_an_error() {
        let deep = format!("{{\"w\":{}{}}}", "[".repeat(50_000), "]".repeat(50_000));
        assert_eq!(ids(&file(&deep, &[])), ["SFT001"]);
    }

    #[test]
    fn many_problems_are_capped() {
        let entries: Vec<String> = (0..50)
            .map(|i| format!(r#""t{i}":{{"dtype":"F32","shape":[2],"data_offsets":[0,1]}}"#))
            .collect();
        let f = file(&format!("{{{}}}", entries.join(",")), &[0; 1]);
        let r = scan_with(&f, &ScanConfig::default());
        assert!(r.findings.len() < 50, "{}", r.findings.len());
    }

    #[test]
    fn a_huge_metadata_map_is_a_limit_finding() {
        let entries: Vec<String> = (0..=st::MAX_METADATA_ENTRIES)
            .map(|i| format!(r#""k{i}":"v""#))
            .collect();
        let h = format!(
            r#"{{"__metadata__":{{{}}},"w":{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#,
            entries.join(",")
        );
        let r = scan_with(&file(&h, &[0]), &ScanConfig::default());
        assert_eq!(
            r.findings
                .iter()
                .map(|f| f.rule.as_str())
                .collect::<Vec<_>>(),
            ["SCN003"]
        );
        assert!(r.findings[0].message.contains("10000 entries"));
        assert_eq!(r.verdict(), Verdict::Error);
    }

    #[test]
    fn every_prefix_is_an_error_never_clean() {
        let f = realistic();
        for cut in 0..f.len() {
            let v = scan_with(&f[..cut], &ScanConfig::default()).verdict();
            assert_eq!(v, Verdict::Error, "prefix {cut}");
        }
    }
}
