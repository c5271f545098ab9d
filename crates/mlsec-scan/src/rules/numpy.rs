//! Rules for NumPy `.npy` arrays (and the members of `.npz` archives, which
//! the archive walker hands here by content).

use crate::rules::pickle;
use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Rule};
use mlsec_formats::npy;
use serde_json::json;

declare_rule! {
    /// ## What it does
    /// Reports a `.npy` file (or `.npz` member) whose preamble or header
    /// cannot be read the way numpy reads it: wrong magic or version, a header
    /// length past the end of the file, a header that is not a plain dict
    /// literal with exactly `descr`, `fortran_order` and `shape`, a negative
    /// dimension, or a dtype numpy does not write.
    ///
    /// ## Why is this bad?
    /// A scanner that gives up on a header it does not understand and says
    /// "clean" is the easiest bypass there is. mlsec reads the header with a
    /// bounded literal parser and never evaluates it; what it cannot read, it
    /// does not call safe.
    ///
    /// ## Example
    /// `{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}`: numpy reads
    /// every remaining byte for a `-1` dimension.
    ///
    /// ## How to fix
    /// Re-save the array with `numpy.save` from trusted data.
    pub const MALFORMED = Rule {
        id: "NPY001", name: "npy-malformed", severity: High, category: Error,
        summary: "NumPy array file is malformed or could not be read",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a NumPy array with an object dtype (`O`, or a structured dtype
    /// with an object field). Its payload is a pickle, which mlsec judges with
    /// the pickle rules (`PKL...`).
    ///
    /// ## Why is this bad?
    /// `numpy.load` refuses object arrays unless called with
    /// `allow_pickle=True`, and with it unpickles whatever the file holds: a
    /// crafted pickle runs code on load. Numeric model weights never need
    /// object arrays; their presence means someone must opt in to pickle.
    ///
    /// ## Example
    /// ```python
    /// np.save("weights.npy", np.array([Payload()], dtype=object))
    /// np.load("weights.npy", allow_pickle=True)  # runs Payload's __reduce__
    /// ```
    ///
    /// ## How to fix
    /// Store numeric arrays (or safetensors). If the objects are needed, keep
    /// `allow_pickle=False` and load them only from a trusted source, after
    /// checking the pickle findings for this file.
    pub const OBJECT_ARRAY = Rule {
        id: "NPY002", name: "npy-object-array", severity: Medium, category: Info,
        summary: "NumPy object array: its payload is a pickle and needs allow_pickle=True",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a NumPy array whose payload size is not `product(shape) ×
    /// itemsize`, or whose declared size overflows 64 bits.
    ///
    /// ## Why is this bad?
    /// Short payloads fail to load or, through memory-mapping, read past what
    /// the header promised; extra bytes after the array are ignored by numpy
    /// and are room to smuggle a second payload (for example a pickle) past
    /// tools that trust the header.
    ///
    /// ## Example
    /// A header declaring shape `(1152921504606846976,)` of `<f8` over a
    /// 16-byte payload.
    ///
    /// ## How to fix
    /// Re-save the array with `numpy.save`; do not append data to `.npy` files.
    pub const SIZE_MISMATCH = Rule {
        id: "NPY003", name: "npy-payload-size-mismatch", severity: High, category: Error,
        summary: "NumPy array payload size does not match its shape and dtype",
    };
}

pub const RULES: &[Rule] = &[MALFORMED, OBJECT_ARRAY, SIZE_MISMATCH];

/// Judges a `.npy` stream.
pub fn scan_npy(ctx: &Ctx, data: &[u8], report: &mut Report) {
    report.recognise("numpy");
    let header = match npy::parse_header(data, ctx.limits().max_metadata_bytes) {
        Ok(h) => h,
        Err(e) => {
            report.push(ctx.finding(
                &MALFORMED,
                Some(e.offset),
                format!("unreadable .npy: {}", e.reason),
            ));
            return;
        }
    };
    let off = header.data_offset;
    // data_offset <= data.len(): the parser checked the header fits.
    let body = usize::try_from(off)
        .ok()
        .and_then(|off| data.get(off..))
        .unwrap_or_default();
    let payload = body.len() as u64;
    if header.dtype.has_object() {
        report.push(
            ctx.finding(
                &OBJECT_ARRAY,
                Some(off),
                format!(
                    "array of shape {:?} has an object dtype: its payload is a pickle that numpy.load only reads with allow_pickle=True",
                    header.shape
                ),
            )
            .with_evidence(json!({ "dtype": format!("{:?}", header.dtype), "shape": header.shape })),
        );
        pickle::scan_embedded(ctx, body, off, report);
        return;
    }
    match header.payload_len() {
        Some(expected) if expected == payload => {}
        expected => report.push(
            ctx.finding(
                &SIZE_MISMATCH,
                Some(off),
                match expected {
                    Some(e) => format!(
                        "shape {:?} needs {e} payload bytes but the file has {payload}",
                        header.shape
                    ),
                    None => format!(
                        "shape {:?} with itemsize {:?} overflows 64 bits; the file has {payload} payload bytes",
                        header.shape,
                        header.dtype.itemsize()
                    ),
                },
            )
            .with_evidence(json!({ "shape": header.shape, "expected": expected, "actual": payload })),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanConfig;

    fn npy_file(header: &str, payload: &[u8]) -> Vec<u8> {
        let mut h = header.as_bytes().to_vec();
        let unpadded = 10 + h.len() + 1;
        h.resize(h.len() + (64 - unpadded % 64) % 64, b' ');
        h.push(b'\n');
        let mut out = npy::MAGIC.to_vec();
        out.extend([1, 0]);
        out.extend((h.len() as u16).to_le_bytes());
        out.extend(h);
        out.extend(payload);
        out
    }

    fn scan(data: &[u8]) -> Report {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "a.npy", None);
        let mut report = Report::default();
        scan_npy(&ctx, data, &mut report);
        report
    }

    fn ids(r: &Report) -> Vec<&str> {
        r.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn numeric_array_is_clean() {
        let f = npy_file(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 24],
        );
        let r = scan(&f);
        assert_eq!(ids(&r), Vec::<&str>::new());
        assert_eq!(r.format.as_deref(), Some("numpy"));
        assert_eq!(r.verdict(), mlsec_core::Verdict::Clean);
    }

    #[test]
    fn object_array_is_reported_and_its_pickle_handed_on() {
        // numpy.save of np.array([1], dtype=object): a protocol 3 pickle.
        let pickle = b"\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00.";
        let f = npy_file(
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            pickle,
        );
        let r = scan(&f);
        assert_eq!(ids(&r)[0], "NPY002");
        let off = r.findings[0].offset.unwrap() as usize;
        assert_eq!(&f[off..off + 2], b"\x80\x03");
    }

    #[test]
    fn the_dispatcher_routes_npy_here() {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "weights.txt", None);
        let mut report = Report::default();
        let f = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
            &[0; 8],
        );
        crate::scan_bytes(&ctx, &f, &mut report);
        assert_eq!(report.format.as_deref(), Some("numpy"));
        assert_eq!(report.findings[0].rule, "NPY003");
    }

    #[test]
    fn size_mismatches() {
        let short = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            &[0; 16],
        );
        assert_eq!(ids(&scan(&short)), ["NPY003"]);
        let long = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
            &[0; 16],
        );
        assert_eq!(ids(&scan(&long)), ["NPY003"]);
        let huge = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976, 16), }",
            &[0; 16],
        );
        let r = scan(&huge);
        assert_eq!(ids(&r), ["NPY003"]);
        assert!(
            r.findings[0].message.contains("overflows"),
            "{}",
            r.findings[0].message
        );
    }

    #[test]
    fn malformed_headers_fail_closed() {
        let f = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",
            &[0; 16],
        );
        let r = scan(&f);
        assert_eq!(ids(&r), ["NPY001"]);
        assert_eq!(r.findings[0].severity, mlsec_core::Severity::High);
        assert_eq!(r.verdict(), mlsec_core::Verdict::Error);
    }

    #[test]
    fn every_prefix_is_an_error_never_clean() {
        let f = npy_file(
            "{'descr': '<i2', 'fortran_order': True, 'shape': (4, 2), }",
            &[1; 16],
        );
        for cut in 0..f.len() {
            let r = scan(&f[..cut]);
            assert_eq!(r.verdict(), mlsec_core::Verdict::Error, "prefix {cut}");
        }
        assert_eq!(scan(&f).verdict(), mlsec_core::Verdict::Clean);
    }
}
