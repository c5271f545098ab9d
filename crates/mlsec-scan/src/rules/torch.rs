//! PyTorch containers: the zip checkpoint (`torch.save` since 1.6, TorchScript
//! archives) and the legacy tar checkpoint. These decide which members are
//! pickles the loader will unpickle, which are raw tensor bytes never worth
//! reading, and report what a container holds besides weights.

use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Rule};
use serde_json::json;

declare_rule! {
    /// ## What it does
    /// Lists the TorchScript source members (`code/`) of a PyTorch zip archive.
    ///
    /// ## Why is this bad?
    /// It is not bad by itself: `torch.jit.save` writes the model's compiled
    /// program as Python-like TorchScript under `code/`, and `torch.jit.load`
    /// runs it when the model is called. The program can only use TorchScript
    /// operators, but custom operators registered by installed extensions are
    /// reachable too, so what the code does deserves the same review as any
    /// other code you run.
    ///
    /// ## Example
    /// `model.pt` holding `model/code/__torch__/model.py` and
    /// `model/code/__torch__/model.py.debug_pkl`.
    ///
    /// ## How to fix
    /// Nothing to fix when you expected a TorchScript model. If you expected
    /// plain weights, ask for a `state_dict` saved as safetensors instead.
    pub const TORCHSCRIPT_CODE = Rule {
        id: "TOR001", name: "torchscript-code", severity: Info, category: Info,
        summary: "PyTorch archive contains TorchScript code",
    };
}

pub const RULES: &[Rule] = &[TORCHSCRIPT_CODE];

/// At most this many code members are named in a TOR001 finding.
const LISTED_CODE_MEMBERS: usize = 50;

/// A PyTorch zip checkpoint: every record lives under one top-level folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchZip {
    /// The folder, with its trailing `/` (usually `archive/` or the file stem).
    prefix: String,
}

impl TorchZip {
    /// Recognises a PyTorch zip the way its reader does: the folder is the
    /// first member's top-level directory, and `<folder>/data.pkl` must exist.
    /// Member lookups in PyTorch's miniz are case-insensitive, so these are too.
    pub fn detect(names: &[&str]) -> Option<TorchZip> {
        let first = names.first()?;
        let prefix = first.get(..=first.find('/')?)?.to_string();
        let data_pkl = format!("{prefix}data.pkl");
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&data_pkl))
            .then_some(TorchZip { prefix })
    }

    /// The record name inside the folder, or `None` for members outside it.
    fn record<'n>(&self, name: &'n str) -> Option<&'n str> {
        strip_prefix_ignore_case(name, &self.prefix)
    }

    /// `data/<N>`: raw tensor storage bytes. The loader copies them into
    /// tensors and never interprets them, so they are never read: a 10 GB
    /// checkpoint is judged from its directory and its pickles alone.
    pub fn is_tensor_payload(&self, name: &str) -> bool {
        self.record(name)
            .and_then(|r| strip_prefix_ignore_case(r, "data/"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }

    /// Members the loader unpickles: `data.pkl`, `constants.pkl` and any other
    /// `*.pkl`. They are judged as pickles whatever their first bytes say, so
    /// a protocol-0 pickle without the `\x80` magic is not waved through.
    pub fn is_pickle(name: &str) -> bool {
        name.len() > 4
            && name
                .get(name.len() - 4..)
                .is_some_and(|ext| ext.eq_ignore_ascii_case(".pkl"))
    }

    /// Reports the TorchScript `code/` members, if any (TOR001).
    pub fn report_code(&self, ctx: &Ctx, names: &[&str], report: &mut Report) {
        let code: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !n.ends_with('/'))
            .filter(|n| {
                self.record(n)
                    .and_then(|r| strip_prefix_ignore_case(r, "code/"))
                    .is_some()
            })
            .collect();
        if code.is_empty() {
            return;
        }
        let listed: Vec<&str> = code.iter().copied().take(LISTED_CODE_MEMBERS).collect();
        report.push(
            ctx.finding(
                &TORCHSCRIPT_CODE,
                None,
                format!(
                    "TorchScript archive with {} code member(s) under {}code/, run when the model is called",
                    code.len(),
                    self.prefix
                ),
            )
            .with_evidence(json!({"count": code.len(), "members": listed})),
        );
    }
}

/// `name` without `prefix`, compared ignoring ASCII case as miniz does.
fn strip_prefix_ignore_case<'n>(name: &'n str, prefix: &str) -> Option<&'n str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| name.get(prefix.len()..))
        .flatten()
}

/// Members of a legacy (pre-1.6) tar checkpoint; each starts with a pickle
/// the loader unpickles (`storages` and `tensors` continue with raw records).
const LEGACY_TAR_MEMBERS: [&str; 4] = ["sys_info", "pickle", "storages", "tensors"];

/// A legacy tar checkpoint: `pickle` plus at least two of its companions.
pub fn is_legacy_tar(names: &[&str]) -> bool {
    let has = |m: &str| names.iter().any(|n| legacy_name(n) == m);
    has("pickle") && LEGACY_TAR_MEMBERS.iter().filter(|m| has(m)).count() >= 3
}

/// The legacy checkpoint members the loader unpickles.
pub fn is_legacy_tar_pickle(name: &str) -> bool {
    LEGACY_TAR_MEMBERS.contains(&legacy_name(name))
}

fn legacy_name(name: &str) -> &str {
    name.strip_prefix("./").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::archive::testkit::{scan, ZipBuilder};

    fn checkpoint() -> ZipBuilder {
        ZipBuilder::new()
            .stored("archive/data.pkl", b"\x80\x02}q\x00.")
            .stored("archive/byteorder", b"little")
            .stored("archive/data/0", &[0u8; 64])
            .stored("archive/version", b"3\n")
            .stored("archive/.data/serialization_id", b"1234")
    }

    /// A zip holding one traversal member: scanning it yields ARC001, which
    /// tells whether a member was read and scanned by content.
    fn tracer() -> Vec<u8> {
        ZipBuilder::new().stored("../escape", b"x").build()
    }

    #[test]
    fn recognises_a_checkpoint() {
        let r = scan(&checkpoint().build());
        assert_eq!(r.format.as_deref(), Some("pytorch-zip"));
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
    }

    #[test]
    fn needs_data_pkl_under_the_first_members_folder() {
        let z = ZipBuilder::new()
            .stored("other/x", b"1")
            .stored("archive/data.pkl", b"\x80\x02N.")
            .build();
        assert_eq!(scan(&z).format.as_deref(), Some("zip"));
        let names = ["archive/DATA.PKL", "archive/data/0"];
        assert!(TorchZip::detect(&names).is_some());
        assert!(TorchZip::detect(&["data.pkl"]).is_none());
        assert!(TorchZip::detect(&[]).is_none());
    }

    #[test]
    fn never_reads_tensor_payloads() {
        // A payload that would be a finding if it were read...
        let z = checkpoint().stored("archive/data/1", &tracer()).build();
        let r = scan(&z);
        assert!(r.findings.is_empty(), "{:#?}", r.findings);
        // Not even hashed: a wrong CRC on a payload goes unseen.
        let z = checkpoint()
            .entry("archive/data/3", &[1u8; 4096], |e| e.crc = Some(1))
            .build();
        assert!(scan(&z).findings.is_empty());
        // The same member outside a checkpoint is read and its CRC checked.
        let z = ZipBuilder::new()
            .entry("archive/data/3", &[1u8; 4096], |e| e.crc = Some(1))
            .build();
        assert_eq!(crate::rules::archive::testkit::rules(&scan(&z)), ["ARC008"]);
        // A payload whose data would lie past the end of the file is judged
        // from the directory alone.
        let z = checkpoint()
            .entry("archive/data/2", b"xyz", |e| {
                e.central_compressed = Some(u32::MAX - 1)
            })
            .build();
        let r = scan(&z);
        assert_eq!(crate::rules::archive::testkit::rules(&r), ["ARC013"]);
    }

    #[test]
    fn scans_other_members_by_content() {
        let z = checkpoint()
            .stored("archive/extra/notes", &tracer())
            .build();
        let r = scan(&z);
        assert!(r
            .findings
            .iter()
            .any(|f| f.rule == "ARC001"
                && f.member.as_deref() == Some("archive/extra/notes!../escape")));
    }

    #[test]
    fn pkl_members_go_to_the_pickle_judge_not_the_sniffer() {
        // A `.pkl` is unpickled by the loader, so it is judged as a pickle even
        // when its bytes look like something else: the zip inside is not walked.
        let z = checkpoint()
            .stored("archive/constants.pkl", &tracer())
            .build();
        let r = scan(&z);
        assert!(
            !r.findings.iter().any(|f| f.rule == "ARC001"),
            "{:#?}",
            r.findings
        );
        assert!(TorchZip::is_pickle("archive/Constants.PKL"));
        assert!(!TorchZip::is_pickle("archive/data/0"));
        assert!(!TorchZip::is_pickle(".pkl"));
    }

    #[test]
    fn payload_names_are_exact() {
        let t = TorchZip::detect(&["archive/data.pkl"]).unwrap();
        assert!(t.is_tensor_payload("archive/data/0"));
        assert!(t.is_tensor_payload("archive/data/123"));
        assert!(!t.is_tensor_payload("archive/data/"));
        assert!(!t.is_tensor_payload("archive/data/0.pkl"));
        assert!(!t.is_tensor_payload("archive/data.pkl"));
        assert!(!t.is_tensor_payload("other/data/0"));
        assert!(!t.is_tensor_payload("archive/code/data/0"));
    }

    #[test]
    fn malicious_data_pkl_is_judged() {
        let evil = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
        let z = ZipBuilder::new()
            .stored("archive/data.pkl", evil)
            .stored("archive/version", b"3\n")
            .build();
        let r = scan(&z);
        assert!(
            r.findings.iter().any(|f| f.rule.starts_with("PKL")),
            "{:#?}",
            r.findings
        );
        // A protocol-0 pickle (no magic) in constants.pkl is judged as a pickle too.
        let z = checkpoint()
            .stored("archive/constants.pkl", b"cos\nsystem\n(S'id'\ntR.")
            .build();
        let r = scan(&z);
        assert!(
            r.findings.iter().any(|f| f.rule.starts_with("PKL")),
            "{:#?}",
            r.findings
        );
    }

    #[test]
    fn reports_torchscript_code() {
        let z = checkpoint()
            .stored("archive/code/", b"")
            .stored(
                "archive/code/__torch__/m.py",
                b"def forward(self, x):\n  return x\n",
            )
            .stored("archive/constants.pkl", b"\x80\x02).")
            .build();
        let r = scan(&z);
        let tor: Vec<_> = r.findings.iter().filter(|f| f.rule == "TOR001").collect();
        assert_eq!(tor.len(), 1, "{:#?}", r.findings);
        assert_eq!(tor[0].evidence["count"], 1);
        assert_eq!(r.verdict(), mlsec_core::Verdict::Clean);
        // No code, no finding.
        assert!(!scan(&checkpoint().build())
            .findings
            .iter()
            .any(|f| f.rule == "TOR001"));
    }

    #[test]
    fn legacy_tar_names() {
        assert!(is_legacy_tar(&[
            "sys_info", "pickle", "storages", "tensors"
        ]));
        assert!(is_legacy_tar(&["./pickle", "./storages", "./tensors"]));
        assert!(!is_legacy_tar(&["pickle", "notes"]));
        assert!(is_legacy_tar_pickle("./sys_info"));
        assert!(!is_legacy_tar_pickle("weights.bin"));
    }
}
