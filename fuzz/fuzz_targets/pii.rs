//! PII detector on arbitrary UTF-8, with and without a field name: spans are
//! in bounds, on char boundaries, sorted and disjoint, and masking what was
//! found never panics nor returns the value itself.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mlsec_pii::{mask, Detector};

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new(&[]))
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // The first line, when short, doubles as a field name.
    let (field, text) = match input.split_once('\n') {
        Some((f, t)) if f.len() <= 32 => (Some(f), t),
        _ => (None, input),
    };
    for spans in [detector().detect(text), detector().detect_in_field(field, text)] {
        let mut last_end = 0;
        for s in &spans {
            assert!(s.start < s.end && s.end <= text.len(), "{s:?}");
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end), "{s:?}");
            assert!(s.start >= last_end, "overlap {s:?}");
            assert!((0.0..=1.0).contains(&s.confidence));
            last_end = s.end;
            let value = &text[s.start..s.end];
            // A value may already look masked (`ws://A****`, which the
            // preview leaves as it is): the check is on the same value with
            // its stars made letters.
            let probe = value.replace('*', "x");
            let preview = mask(s.entity, &probe);
            assert!(probe.chars().count() < 2 || preview != probe, "{s:?} not masked");
        }
    }
});
