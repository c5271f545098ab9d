//! Rules for GGUF files (llama.cpp, Ollama, LM Studio, llama-cpp-python).

use crate::rules::template::{self, TemplateSite};
use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Rule};
use mlsec_formats::gguf::{self, TensorFault, Value};
use serde_json::json;

declare_rule! {
    /// ## What it does
    /// Reports a GGUF file that cannot be read completely: wrong magic or
    /// version, counts or string and array lengths that run past the end of
    /// the file, unknown value types, arrays nested too deeply, a bad
    /// `general.alignment`, a tensor with more than 4 dimensions, or a chat
    /// template key that does not hold a string.
    ///
    /// ## Why is this bad?
    /// A scanner that stops at the first thing it does not understand and
    /// reports nothing is easy to bypass: put the payload after the fault.
    /// mlsec judges what it read before the fault (chat templates included)
    /// and reports the file as an error, never as clean.
    ///
    /// ## Example
    /// A metadata string whose declared length is 2^63 bytes.
    ///
    /// ## How to fix
    /// Re-convert the model with llama.cpp's `convert_hf_to_gguf.py` from
    /// trusted weights.
    pub const MALFORMED = Rule {
        id: "GGF001", name: "gguf-malformed", severity: High, category: Error,
        summary: "GGUF file is malformed or could not be read completely",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports tensor infos that do not describe the data section: dimensions
    /// or sizes that overflow, a first dimension that is not a whole number
    /// of quantization blocks, data offsets not aligned to `general.alignment`,
    /// data past the end of the file, overlapping tensors, or two tensors with
    /// one name.
    ///
    /// ## Why is this bad?
    /// GGUF loaders map tensor data straight from these offsets. Wrong ones
    /// read out of bounds (llama.cpp has had several such CVEs), and duplicate
    /// names or overlaps let different loaders see different weights.
    ///
    /// ## Example
    /// `blk.0.attn_q.weight` of type Q4_K with offset 3 (not a multiple of 32).
    ///
    /// ## How to fix
    /// Re-convert the model from trusted weights.
    pub const TENSOR_LAYOUT = Rule {
        id: "GGF002", name: "gguf-bad-tensor-layout", severity: High, category: Error,
        summary: "GGUF tensor infos do not match the data section",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a metadata key that appears more than once.
    ///
    /// ## Why is this bad?
    /// llama.cpp refuses such files, but other readers keep the first or the
    /// last value; two `tokenizer.chat_template` entries let a reviewer see a
    /// harmless template while another loader renders a hostile one.
    ///
    /// ## Example
    /// `tokenizer.chat_template` stored twice with different templates.
    ///
    /// ## How to fix
    /// Do not trust the file; re-convert the model from its source.
    pub const DUPLICATE_KEY = Rule {
        id: "GGF003", name: "gguf-duplicate-key", severity: High, category: Suspicious,
        summary: "GGUF metadata repeats a key (parser-differential trick)",
    };
}

declare_rule! {
    /// ## What it does
    /// Notes a tensor whose ggml type mlsec does not know, so its size could
    /// not be checked against the data section (its alignment and start were).
    ///
    /// ## Why is this bad?
    /// Usually it is not: new quantization types appear often. The note says
    /// which part of the file was not checked.
    ///
    /// ## Example
    /// A tensor of ggml type 57.
    ///
    /// ## How to fix
    /// Nothing, if the file comes from a current llama.cpp; otherwise check
    /// where it came from.
    pub const UNKNOWN_TENSOR_TYPE = Rule {
        id: "GGF004", name: "gguf-unknown-tensor-type", severity: Low, category: Info,
        summary: "GGUF tensor has a ggml type unknown to mlsec; its size was not checked",
    };
}

pub const RULES: &[Rule] = &[MALFORMED, TENSOR_LAYOUT, DUPLICATE_KEY, UNKNOWN_TENSOR_TYPE];

/// Most tensor findings reported per file; the rest are counted.
const MAX_TENSOR_FINDINGS: usize = 20;

fn is_template_key(key: &[u8]) -> bool {
    key == b"tokenizer.chat_template" || key.starts_with(b"tokenizer.chat_template.")
}

/// Judges a GGUF file.
pub fn scan(ctx: &Ctx, data: &[u8], report: &mut Report) {
    report.recognise("gguf");
    let g = gguf::parse(data);
    let len_size: u64 = if g.version >= 2 { 8 } else { 4 };

    // Repeats are found by sorting the parser's index, not by hashing every
    // key here: a file of 3 million tiny keys would need a map several times
    // its size. `repeated` gives the second entry of each repeated key, where
    // the finding goes.
    let mut repeats = g.kvs.repeated().into_iter().peekable();
    for i in 0..g.kvs.len() {
        let repeated = repeats.next_if_eq(&i).is_some();
        let Some(kv) = g.kvs.get(i) else {
            unreadable(ctx, &g, "metadata entry", i, report);
            continue;
        };
        if repeated {
            report.push(
                ctx.finding(
                    &DUPLICATE_KEY,
                    Some(kv.offset),
                    format!("metadata key `{}` appears more than once", kv.key_str()),
                )
                .with_evidence(json!({ "key": kv.key_str() })),
            );
        }
        if !is_template_key(kv.key) {
            continue;
        }
        let key = kv.key_str();
        match &kv.value {
            Value::Str(text) => {
                let site = TemplateSite {
                    key: &key,
                    offset: Some(kv.value_offset + len_size),
                    sandboxed: false,
                };
                template::check(ctx, &site, &String::from_utf8_lossy(text), report);
            }
            other => {
                report.push(ctx.finding(
                    &MALFORMED,
                    Some(kv.offset),
                    format!("`{key}` holds {} instead of a string", other.type_name()),
                ));
                // Some loaders print arrays of strings into one string and render that.
                if let Value::Array(items) = other {
                    for text in items.strings() {
                        let site = TemplateSite {
                            key: &key,
                            offset: None,
                            sandboxed: false,
                        };
                        template::check(ctx, &site, &String::from_utf8_lossy(text), report);
                    }
                }
            }
        }
    }

    if let Some(e) = &g.error {
        report.push(
            ctx.finding(
                &MALFORMED,
                Some(e.offset),
                format!("GGUF v{}: {}", g.version, e.reason),
            )
            .with_evidence(json!({
                "metadata_read": g.kvs.len(),
                "metadata_declared": g.kv_count,
                "tensors_read": g.tensors.len(),
                "tensors_declared": g.tensor_count,
            })),
        );
    }
    check_tensors(ctx, &g, data.len() as u64, report);
}

/// An entry the parser read but that cannot be decoded again: cannot happen,
/// since both read the same bytes with the same code, but if it did the file
/// would be judged incompletely, so it is an error, never a silent skip.
fn unreadable(ctx: &Ctx, g: &gguf::Gguf, what: &str, i: usize, report: &mut Report) {
    report.push(ctx.finding(
        &MALFORMED,
        None,
        format!("GGUF v{}: {what} {i} could not be read again", g.version),
    ));
}

fn check_tensors(ctx: &Ctx, g: &gguf::Gguf, file_len: u64, report: &mut Report) {
    let mut reported = 0usize;
    let mut push = |report: &mut Report, finding| {
        reported += 1;
        if reported <= MAX_TENSOR_FINDINGS {
            report.push(finding);
        } else if reported == MAX_TENSOR_FINDINGS + 1 {
            report.push(ctx.finding(&TENSOR_LAYOUT, None, "more tensor problems were not listed"));
        }
    };
    // As for keys: repeats come from sorting the index, and the ranges hold
    // tensor indices, not names, so memory stays a few words per tensor.
    let mut repeats = g.tensors.repeated().into_iter().peekable();
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    for i in 0..g.tensors.len() {
        let repeated = repeats.next_if_eq(&i).is_some();
        let Some(t) = g.tensors.get(i) else {
            unreadable(ctx, g, "tensor info", i, report);
            continue;
        };
        let name = t.name_str();
        if repeated {
            push(
                report,
                ctx.finding(
                    &TENSOR_LAYOUT,
                    Some(t.offset),
                    format!("tensor name `{name}` appears more than once"),
                ),
            );
        }
        match gguf::tensor_range(g, &t, file_len) {
            Ok(Some((start, end))) => ranges.push((start, end, i)),
            Ok(None) => report.push(ctx.finding(
                &UNKNOWN_TENSOR_TYPE,
                Some(t.offset),
                format!(
                    "tensor `{name}` has ggml type {}, unknown to mlsec: its size was not checked",
                    t.ggml_type
                ),
            )),
            Err(fault) => {
                let why = match fault {
                    TensorFault::BadDimension(d) => format!("has the dimension {d}, beyond ggml's signed 64-bit range"),
                    TensorFault::Overflow => format!("dims {:?} overflow the element count or byte size", t.dims),
                    TensorFault::PartialBlock { ne0, block } => format!(
                        "first dimension {ne0} is not a multiple of the {block}-element blocks of its type"
                    ),
                    TensorFault::Misaligned => format!(
                        "data offset {} is not a multiple of the alignment {}",
                        t.data_offset, g.alignment
                    ),
                    TensorFault::PastEnd { end, file_len } => format!(
                        "data ends at byte {end}, past the end of the {file_len}-byte file"
                    ),
                };
                push(
                    report,
                    ctx.finding(&TENSOR_LAYOUT, Some(t.offset), format!("tensor `{name}` {why}"))
                        .with_evidence(json!({ "tensor": name, "dims": t.dims, "ggml_type": t.ggml_type, "data_offset": t.data_offset })),
                );
            }
        }
    }
    let name = |i: usize| g.tensors.name(i).unwrap_or_default();
    ranges.sort_unstable_by(|a, b| (a.0, a.1, name(a.2), a.2).cmp(&(b.0, b.1, name(b.2), b.2)));
    for (&(_, a_end, a), &(b_start, b_end, b)) in ranges.iter().zip(ranges.iter().skip(1)) {
        if b_start < a_end && b_start < b_end {
            let (a, b) = (
                String::from_utf8_lossy(name(a)),
                String::from_utf8_lossy(name(b)),
            );
            push(
                report,
                ctx.finding(
                    &TENSOR_LAYOUT,
                    Some(b_start),
                    format!("tensors `{a}` and `{b}` share bytes"),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanConfig;
    use mlsec_core::{Severity, Verdict};

    /// Writes little-endian GGUF v3 (or v1) files.
    struct W {
        out: Vec<u8>,
        v1: bool,
    }

    impl W {
        fn new(version: u32, tensors: u64, kvs: u64) -> Self {
            let mut w = W {
                out: b"GGUF".to_vec(),
                v1: version == 1,
            };
            w.out.extend(version.to_le_bytes());
            w.len(tensors).len(kvs);
            w
        }
        fn len(&mut self, n: u64) -> &mut Self {
            if self.v1 {
                self.out.extend((n as u32).to_le_bytes());
            } else {
                self.out.extend(n.to_le_bytes());
            }
            self
        }
        fn u32(&mut self, n: u32) -> &mut Self {
            self.out.extend(n.to_le_bytes());
            self
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.len(s.len() as u64);
            self.out.extend(s.as_bytes());
            self
        }
        fn kv_str(&mut self, k: &str, v: &str) -> &mut Self {
            self.str(k).u32(8).str(v)
        }
        fn kv_u32(&mut self, k: &str, v: u32) -> &mut Self {
            self.str(k).u32(4).u32(v)
        }
        fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
            self.str(name).u32(dims.len() as u32);
            for d in dims {
                self.len(*d);
            }
            self.u32(ty);
            self.out.extend(offset.to_le_bytes());
            self
        }
        fn finish(&self, data: usize) -> Vec<u8> {
            let mut out = self.out.clone();
            out.resize(out.len().div_ceil(32) * 32, 0);
            out.extend(vec![0x22; data]);
            out
        }
    }

    /// A llama-style v3 file: typical metadata, a chat template, three tensors.
    fn llama(template: &str) -> Vec<u8> {
        let mut w = W::new(3, 3, 8);
        w.kv_str("general.architecture", "llama")
            .kv_str("general.name", "TinyLlama 1.1B Chat")
            .kv_u32("general.file_type", 7)
            .kv_u32("llama.context_length", 2048)
            .kv_u32("llama.embedding_length", 64)
            .kv_str("tokenizer.ggml.model", "llama")
            .kv_u32("tokenizer.ggml.bos_token_id", 1)
            .kv_str("tokenizer.chat_template", template)
            .tensor("token_embd.weight", &[64, 2], 8, 0)
            .tensor("blk.0.attn_norm.weight", &[64], 0, 160)
            .tensor("output.weight", &[256, 1], 12, 416);
        // Q8_0 64x2: 4 blocks of 34 = 136 bytes (padded to 160); F32 64: 256 (to 416); Q4_K 256: 144.
        w.finish(416 + 144)
    }

    fn scan_file(data: &[u8]) -> Report {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "model.gguf", None);
        let mut report = Report::default();
        scan(&ctx, data, &mut report);
        report
    }

    fn ids(r: &Report) -> Vec<&str> {
        r.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn real_templates_in_a_real_layout_are_clean() {
        for (name, template) in template::tests::BENIGN {
            let r = scan_file(&llama(template));
            assert!(r.findings.is_empty(), "{name}: {:?}", r.findings);
            assert_eq!(r.verdict(), Verdict::Clean);
            assert_eq!(r.format.as_deref(), Some("gguf"));
        }
    }

    #[test]
    fn hostile_template_is_critical_and_located() {
        let payload =
            "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}";
        let f = llama(payload);
        let r = scan_file(&f);
        assert_eq!(ids(&r), ["TPL001", "TPL003"]);
        assert_eq!(r.findings[0].severity, Severity::Critical);
        assert_eq!(r.verdict(), Verdict::Malicious);
        let at = r.findings[0].offset.unwrap() as usize;
        assert!(f[at..].starts_with(b"__init__"), "{:?}", &f[at..at + 8]);
    }

    #[test]
    fn named_templates_and_arrays_are_checked() {
        let mut w = W::new(3, 0, 2);
        w.kv_str("tokenizer.chat_template", "{{ messages }}")
            .kv_str(
                "tokenizer.chat_template.tool_use",
                "{{ cycler.__init__.__globals__.os.popen }}",
            );
        assert_eq!(ids(&scan_file(&w.out)), ["TPL001", "TPL003"]);
        let mut w = W::new(3, 0, 1);
        w.str("tokenizer.chat_template")
            .u32(9)
            .u32(8)
            .len(1)
            .str("{{ ''.__class__ }}");
        assert_eq!(ids(&scan_file(&w.out)), ["GGF001", "TPL001"]);
    }

    #[test]
    fn duplicate_keys_and_tensor_names() {
        let mut w = W::new(3, 0, 2);
        w.kv_str("tokenizer.chat_template", "{{ messages }}")
            .kv_str("tokenizer.chat_template", "{{ messages }}");
        assert_eq!(ids(&scan_file(&w.out)), ["GGF003"]);
        let mut w = W::new(3, 2, 0);
        w.tensor("w", &[8], 0, 0).tensor("w", &[8], 0, 32);
        assert_eq!(ids(&scan_file(&w.finish(64))), ["GGF002"]);
    }

    #[test]
    fn a_key_repeated_thrice_is_one_finding_a_name_thrice_two() {
        let mut w = W::new(3, 0, 4);
        w.kv_u32("a", 1)
            .kv_u32("b", 1)
            .kv_u32("a", 2)
            .kv_u32("a", 3);
        let f = w.out.clone();
        let r = scan_file(&f);
        assert_eq!(ids(&r), ["GGF003"]);
        // At the second `a`: after the 24-byte header and two 17-byte entries.
        assert_eq!(r.findings[0].offset, Some(24 + 2 * 17));
        let mut w = W::new(3, 3, 0);
        w.tensor("w", &[8], 0, 0)
            .tensor("w", &[8], 0, 32)
            .tensor("w", &[8], 0, 64);
        assert_eq!(ids(&scan_file(&w.finish(96))), ["GGF002", "GGF002"]);
    }

    #[test]
    fn tensor_layout_problems() {
        let mut w = W::new(3, 1, 0);
        w.tensor("w", &[8], 0, 3);
        assert_eq!(ids(&scan_file(&w.finish(64))), ["GGF002"]);
        let mut w = W::new(3, 1, 0);
        w.tensor("w", &[1 << 20], 0, 0);
        assert_eq!(ids(&scan_file(&w.finish(64))), ["GGF002"]);
        let mut w = W::new(3, 2, 0);
        w.tensor("a", &[16], 0, 0).tensor("b", &[16], 0, 32);
        assert_eq!(ids(&scan_file(&w.finish(96))), ["GGF002"]);
        let mut w = W::new(3, 1, 0);
        w.tensor("q", &[32], 999, 0);
        let r = scan_file(&w.finish(64));
        assert_eq!(ids(&r), ["GGF004"]);
        assert_eq!(r.verdict(), Verdict::Clean);
    }

    #[test]
    fn version_1_files_are_read() {
        let mut w = W::new(1, 1, 1);
        w.kv_str("tokenizer.chat_template", "{{ ''.__class__.__mro__ }}")
            .tensor("w", &[4], 0, 0);
        let r = scan_file(&w.finish(16));
        assert_eq!(ids(&r), ["TPL001"]);
        let at = r.findings[0].offset.unwrap() as usize;
        assert!(w.out[at..].starts_with(b"__class__"));
    }

    #[test]
    fn template_before_a_fault_is_still_judged() {
        let mut w = W::new(3, 0, 3);
        w.kv_str("tokenizer.chat_template", "{{ ''.__class__ }}");
        w.str("broken").u32(8).len(1 << 63);
        assert_eq!(ids(&scan_file(&w.out)), ["TPL001", "GGF001"]);
    }

    #[test]
    fn huge_declared_lengths_and_nesting() {
        let mut w = W::new(3, 0, 1);
        w.str("k").u32(8).len(1 << 63);
        assert_eq!(ids(&scan_file(&w.out)), ["GGF001"]);
        let mut w = W::new(3, 0, 1);
        w.str("k").u32(9);
        for _ in 0..100_000 {
            w.u32(9).len(1);
        }
        assert_eq!(ids(&scan_file(&w.out)), ["GGF001"]);
    }

    #[test]
    fn the_dispatcher_routes_gguf_here() {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "renamed.bin", None);
        let mut report = Report::default();
        crate::scan_bytes(&ctx, &llama("{{ ''.__class__ }}"), &mut report);
        assert_eq!(report.format.as_deref(), Some("gguf"));
        assert_eq!(report.verdict(), Verdict::Malicious);
    }

    #[test]
    fn every_prefix_is_an_error_never_clean() {
        let f = llama("{% for m in messages %}{{ m['content'] }}{% endfor %}");
        assert_eq!(scan_file(&f).verdict(), Verdict::Clean);
        for cut in 0..f.len() {
            assert_eq!(
                scan_file(&f[..cut]).verdict(),
                Verdict::Error,
                "prefix {cut}"
            );
        }
    }
}
