//! Archives and compressed wrappers: zip (read the way PyTorch's miniz reads
//! it), tar, 7z, and gzip / bzip2 / xz / lzma / zlib / lz4 / joblib zfile
//! streams. Every structural oddity is a finding; members are judged by
//! content through [`crate::scan_bytes`], except where the container says
//! how its loader reads a member (PyTorch pickles, the Keras config).

use crate::rules::{general, keras, pickle, torch::TorchZip};
use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Finding, Rule};
use mlsec_formats::compress::{self, Bounds, Codec, Outcome};
use mlsec_formats::paths::{self, Rooted};
use mlsec_formats::{sevenz, tar, zip, Format};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

declare_rule! {
    /// ## What it does
    /// Flags an archive member whose name climbs out of the extraction folder
    /// with `..` components (backslashes count as separators).
    ///
    /// ## Why is this bad?
    /// Extracting the archive (`unzip`, `tar -x`, `tarfile.extractall` before
    /// Python 3.12's filters, many model hubs' unpackers) writes the member
    /// wherever the name points: over `~/.bashrc`, into a `site-packages`
    /// folder, or over another model. No legitimate model archive needs it.
    ///
    /// ## Example
    /// A `model.zip` with the member `../../.config/autostart/update.desktop`.
    ///
    /// ## How to fix
    /// Do not extract the archive. Rebuild it from the original files with a
    /// normal archiver, which only writes relative names without `..`.
    pub const PATH_TRAVERSAL = Rule {
        id: "ARC001", name: "archive-path-traversal", severity: High, category: Malicious,
        summary: "Archive member name escapes the extraction folder with `..`",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags an archive member whose name is absolute (`/etc/...`, `\\server\...`),
    /// starts with a Windows drive (`C:`), or holds control characters such as NUL.
    ///
    /// ## Why is this bad?
    /// Absolute names make naive extractors write outside the target folder.
    /// Control characters make tools disagree about the name: Python's old
    /// `zipfile` cut names at NUL, so the member a scanner judged and the one
    /// a loader opened could differ.
    ///
    /// ## Example
    /// A tar member named `/usr/lib/python3/sitecustomize.py`.
    ///
    /// ## How to fix
    /// Rebuild the archive with relative member names.
    pub const UNSAFE_NAME = Rule {
        id: "ARC002", name: "archive-unsafe-member-name", severity: High, category: Suspicious,
        summary: "Archive member name is absolute or holds control characters",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags symbolic links and hard links stored in an archive (zip members
    /// with a Unix symlink mode, tar symlink and hard-link members, 7z links),
    /// when their target stays inside the archive.
    ///
    /// ## Why is this bad?
    /// A link in a model archive has no use for the model, and extraction
    /// recreates it: a later member written through the link lands where the
    /// link points, and a loader that follows it reads whatever is there.
    ///
    /// ## Example
    /// A tar with `weights.bin -> shared/weights.bin`.
    ///
    /// ## How to fix
    /// Store the file itself instead of a link.
    pub const LINK_MEMBER = Rule {
        id: "ARC003", name: "archive-link-member", severity: High, category: Suspicious,
        summary: "Archive contains a symbolic or hard link",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a link member whose target is absolute or climbs out of the
    /// archive with `..`.
    ///
    /// ## Why is this bad?
    /// After extraction the link points at a file outside the model: a
    /// `tokenizer.json -> /home/user/.ssh/id_rsa` leaks a key to whoever the
    /// extracted folder is shared with, and a directory link lets the next
    /// member overwrite files anywhere (the tar "link then write" trick).
    ///
    /// ## Example
    /// A zip member `config.json` with mode `lrwxrwxrwx` and target `/etc/passwd`.
    ///
    /// ## How to fix
    /// Do not extract the archive; rebuild it from real files.
    pub const LINK_ESCAPES = Rule {
        id: "ARC004", name: "archive-link-escapes", severity: High, category: Malicious,
        summary: "Archive link points outside the archive",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags tar members that are character devices, block devices or FIFOs.
    ///
    /// ## Why is this bad?
    /// Extracting as root recreates the device node (for example a raw disk),
    /// and opening a FIFO blocks a loader forever. Model archives hold files.
    ///
    /// ## Example
    /// A tar member `model/cache` of type block device 8,0 (`/dev/sda`).
    ///
    /// ## How to fix
    /// Rebuild the archive with regular files only.
    pub const SPECIAL_FILE = Rule {
        id: "ARC005", name: "archive-special-file", severity: High, category: Suspicious,
        summary: "Archive contains a device or FIFO member",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags member names that appear more than once in an archive, including
    /// names that differ only in letter case.
    ///
    /// ## Why is this bad?
    /// Readers disagree on which copy wins: Python's `zipfile` takes the last,
    /// others the first, and PyTorch's miniz looks names up case-insensitively.
    /// A benign `data.pkl` for the scanner and a malicious one for the loader
    /// is the classic use.
    ///
    /// ## Example
    /// A checkpoint with two `archive/data.pkl` members.
    ///
    /// ## How to fix
    /// Rebuild the archive so each name appears once.
    pub const DUPLICATE_NAME = Rule {
        id: "ARC006", name: "archive-duplicate-member", severity: High, category: Suspicious,
        summary: "Archive member name appears more than once",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a zip member whose local header names it (or compresses it)
    /// differently from its central-directory record (CVE-2025-1944).
    ///
    /// ## Why is this bad?
    /// Loaders such as PyTorch's miniz use the central directory and never
    /// look at the local name, while Python's `zipfile` refuses the member.
    /// Scanners built on `zipfile` crash or skip it; the loader reads it anyway.
    /// No archiver writes mismatching headers: the file was edited to evade.
    ///
    /// ## Example
    /// Central directory `archive/data.pkl`, local header `archive/data.pkX`.
    ///
    /// ## How to fix
    /// Treat the file as hostile. Re-save the model from a trusted source.
    pub const LOCAL_MISMATCH = Rule {
        id: "ARC007", name: "zip-local-header-mismatch", severity: High, category: Malicious,
        summary: "Zip local header disagrees with the central directory",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a zip member whose decompressed size or CRC-32 differs from what
    /// the central directory declares (and a joblib zfile whose data length
    /// differs from its header). The member is still read and judged.
    ///
    /// ## Why is this bad?
    /// PyTorch ignores CRCs, so a member with a wrong CRC loads fine, while
    /// scanners built on Python's `zipfile` raise and report nothing
    /// (CVE-2025-10156). Size mismatches make readers see different bytes.
    ///
    /// ## Example
    /// `archive/data.pkl` declared with CRC `0x00000000`, actual `0x5a1c93e2`.
    ///
    /// ## How to fix
    /// Treat the file as tampered with; re-save it from a trusted source.
    pub const INTEGRITY_MISMATCH = Rule {
        id: "ARC008", name: "archive-integrity-mismatch", severity: High, category: Suspicious,
        summary: "Member CRC or size does not match the archive's record",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags zip general-purpose flag bits that ordinary writers never set on
    /// model files: encryption (bit 0), strong encryption (bit 6), masked
    /// headers (bit 13) and reserved bits, in the central or local header.
    ///
    /// ## Why is this bad?
    /// PyTorch reads such members as if the bit were clear; scanners that
    /// honour it crash or skip the member (CVE-2025-1945). mlsec reads the data
    /// anyway and judges it.
    ///
    /// ## Example
    /// `archive/data.pkl` with flag `0x0001` ("encrypted") whose bytes are a
    /// plain pickle.
    ///
    /// ## How to fix
    /// Treat the file as tampered with; re-save it from a trusted source.
    pub const FLAG_ANOMALY = Rule {
        id: "ARC009", name: "zip-flag-anomaly", severity: High, category: Suspicious,
        summary: "Zip member sets encryption or reserved flag bits",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags zip layouts no archiver writes: bytes before the first member
    /// (prepended data or a hidden local header), members whose data overlap
    /// each other or the central directory, an entry count that disagrees with
    /// the directory, or an end record that is not at the end of the file.
    ///
    /// ## Why is this bad?
    /// Readers that walk local headers and readers that trust the central
    /// directory then see different members, so what was scanned is not what
    /// loads. Overlapping members are also how non-recursive zip bombs reach
    /// huge sizes.
    ///
    /// ## Example
    /// A zip whose first 4 KiB are a pickle, followed by the real archive.
    ///
    /// ## How to fix
    /// Rebuild the archive with a normal archiver.
    pub const LAYOUT_ANOMALY = Rule {
        id: "ARC010", name: "zip-layout-anomaly", severity: High, category: Suspicious,
        summary: "Zip members overlap, or data hides outside any member",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a member mlsec could not read: a compression method it does
    /// not decode (zstd, deflate64, PPMd...), an encrypted 7z, or a GNU sparse
    /// tar member.
    ///
    /// ## Why is this bad?
    /// The member was not judged. mlsec fails closed: the file is an error,
    /// not clean.
    ///
    /// ## Example
    /// `model.zip: weights.pkl: compression method 93 (zstd)`.
    ///
    /// ## How to fix
    /// Re-create the archive with deflate or no compression.
    pub const UNREADABLE_MEMBER = Rule {
        id: "ARC011", name: "archive-unreadable-member", severity: High, category: Error,
        summary: "Archive member uses a compression or encryption mlsec cannot read",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a decompression bomb: a member or compressed stream that
    /// expands past the decompressed-size limit, or by more than the
    /// compression-ratio limit once past 1 MiB.
    ///
    /// ## Why is this bad?
    /// A few kilobytes that inflate to terabytes exhaust the memory or disk of
    /// whatever unpacks them. mlsec stops at the limit, judges what it
    /// decompressed so far, and reports the rest as not judged.
    ///
    /// ## Example
    /// `42.zip`, or a 10 KiB `model.joblib` (zlib) that inflates to 5 GB.
    ///
    /// ## How to fix
    /// Treat the file as hostile. If it is legitimate and large, store it
    /// uncompressed or raise the limits.
    pub const DECOMPRESSION_BOMB = Rule {
        id: "ARC012", name: "decompression-bomb", severity: High, category: Error,
        summary: "Decompression exceeds the size or ratio limit",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports an archive or compressed stream that cannot be fully parsed:
    /// truncated, missing its central directory, corrupt compressed data,
    /// records pointing past the end of the file.
    ///
    /// ## Why is this bad?
    /// What could not be parsed was not judged, and parser failures are a
    /// favourite scanner bypass: a scanner that turns the exception into "no
    /// issues" passes the file while a lenient loader still opens it. mlsec
    /// fails closed and judges whatever it could read.
    ///
    /// ## Example
    /// A checkpoint cut off mid-upload, or a gzip whose stream ends early.
    ///
    /// ## How to fix
    /// Download or re-create the file; if it came like this, treat it as hostile.
    pub const MALFORMED = Rule {
        id: "ARC013", name: "malformed-archive", severity: High, category: Error,
        summary: "Archive or compressed stream is malformed or truncated",
    };
}

pub const RULES: &[Rule] = &[
    PATH_TRAVERSAL,
    UNSAFE_NAME,
    LINK_MEMBER,
    LINK_ESCAPES,
    SPECIAL_FILE,
    DUPLICATE_NAME,
    LOCAL_MISMATCH,
    INTEGRITY_MISMATCH,
    FLAG_ANOMALY,
    LAYOUT_ANOMALY,
    UNREADABLE_MEMBER,
    DECOMPRESSION_BOMB,
    MALFORMED,
];

/// Link targets longer than this are not paths anyone means.
const MAX_LINK_TARGET: usize = 4096;
/// At most this many member names are listed in one finding's evidence.
const LISTED_MEMBERS: usize = 20;

/// Decompression bounds for one member: the per-member limits, clamped to
/// what is left of the file's budget (one byte more, to see it run out).
fn bounds(ctx: &Ctx, report: &Report) -> Bounds {
    Bounds {
        max_output: ctx
            .limits()
            .max_decompressed_bytes
            .min(report.decompressed_left().saturating_add(1)),
        max_ratio: ctx.limits().max_compression_ratio,
    }
}

/// Charges `out_len` decompressed bytes to the file's budget. False when
/// the budget ran out, in which case the output is not judged further (one
/// finding says so).
fn charge(ctx: &Ctx, report: &mut Report, outcome: &Outcome, out_len: usize) -> bool {
    let out_len = out_len as u64;
    let cut = *outcome == Outcome::TooLarge && out_len > report.decompressed_left();
    report.spend_decompressed(ctx, out_len, cut)
}

/// A finding about member `name`, located at the member; `offset` is where
/// its header sits in the containing archive, when the format has one.
fn at_member(
    ctx: &Ctx,
    rule: &Rule,
    name: &str,
    offset: Option<u64>,
    message: String,
    mut evidence: Value,
) -> Finding {
    let message = match offset {
        Some(offset) => {
            if let Value::Object(map) = &mut evidence {
                map.insert("archive_offset".into(), offset.into());
            } else {
                evidence = json!({ "archive_offset": offset });
            }
            format!("{message} (header at offset {offset})")
        }
        None => message,
    };
    ctx.child(name)
        .finding(rule, None, message)
        .with_evidence(evidence)
}

// ---------------------------------------------------------------- names

/// Judges a member name (ARC001, ARC002). Backslashes count as separators,
/// as Windows extractors treat them.
fn check_name(ctx: &Ctx, name: &str, offset: Option<u64>, report: &mut Report) {
    let evidence = json!({ "name": name, "backslashes": name.contains('\\') });
    if paths::climbs(name) {
        report.push(at_member(
            ctx,
            &PATH_TRAVERSAL,
            name,
            offset,
            format!(
                "member name `{}` climbs out of the extraction folder",
                name.escape_debug()
            ),
            evidence.clone(),
        ));
    }
    let why = match paths::rooted(name) {
        Some(Rooted::Absolute) => Some("is an absolute path"),
        Some(Rooted::WindowsDrive) => Some("starts with a Windows drive"),
        None if name.chars().any(char::is_control) => Some("holds control characters"),
        None => None,
    };
    if let Some(why) = why {
        report.push(at_member(
            ctx,
            &UNSAFE_NAME,
            name,
            offset,
            format!("member name `{}` {why}", name.escape_debug()),
            evidence,
        ));
    }
}

/// Whether a link target leaves the archive: absolute, or `..` past the
/// root. `base` is the folder the target is relative to.
fn link_escapes(base: &str, target: &str) -> bool {
    if paths::rooted(target).is_some() {
        return true;
    }
    let target = target.replace('\\', "/");
    let mut depth = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .count();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

/// Reports a link member (ARC003, or ARC004 when it escapes). `target` is
/// `None` when it could not be read.
fn check_link(
    ctx: &Ctx,
    name: &str,
    offset: Option<u64>,
    kind: &str,
    base: &str,
    target: Option<&str>,
    report: &mut Report,
) {
    let evidence = json!({ "kind": kind, "target": target });
    match target {
        Some(t) if link_escapes(base, t) => report.push(at_member(
            ctx,
            &LINK_ESCAPES,
            name,
            offset,
            format!(
                "{kind} points outside the archive, to `{}`",
                t.escape_debug()
            ),
            evidence,
        )),
        Some(t) => report.push(at_member(
            ctx,
            &LINK_MEMBER,
            name,
            offset,
            format!("{kind} to `{}`", t.escape_debug()),
            evidence,
        )),
        None => report.push(at_member(
            ctx,
            &LINK_MEMBER,
            name,
            offset,
            format!("{kind} whose target could not be read"),
            evidence,
        )),
    }
}

/// The folder part of a member name, against which a symlink target resolves.
fn parent(name: &str) -> &str {
    name.trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir)
}

/// Reports names that occur more than once, exactly or ignoring case (ARC006).
fn check_duplicates<'n>(
    ctx: &Ctx,
    members: impl Iterator<Item = (&'n str, Option<u64>)>,
    report: &mut Report,
) {
    let mut exact: HashMap<&str, Vec<Option<u64>>> = HashMap::new();
    let mut folded: HashMap<String, Vec<&str>> = HashMap::new();
    let mut order = Vec::new();
    for (name, offset) in members {
        let seen = exact.entry(name).or_default();
        if seen.is_empty() {
            order.push(name);
            folded
                .entry(name.to_ascii_lowercase())
                .or_default()
                .push(name);
        }
        seen.push(offset);
    }
    for name in order {
        let offsets = exact.get(name).map(Vec::as_slice).unwrap_or_default();
        if let [first, ..] = offsets {
            if offsets.len() > 1 {
                report.push(at_member(
                    ctx,
                    &DUPLICATE_NAME,
                    name,
                    *first,
                    format!(
                        "member name appears {} times; readers disagree on which copy wins",
                        offsets.len()
                    ),
                    json!({ "offsets": offsets }),
                ));
            }
        }
        let variants = folded
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if variants.len() > 1 && variants.first() == Some(&name) {
            let first = offsets.first().copied().flatten();
            report.push(at_member(
                ctx,
                &DUPLICATE_NAME,
                name,
                first,
                format!(
                    "member names {variants:?} differ only in case; case-insensitive readers (PyTorch's miniz) may pick either"
                ),
                json!({ "names": variants }),
            ));
        }
    }
}

/// Reports a stream that stopped at a bound (ARC012) or failed (ARC013).
/// The caller judges whatever was produced either way.
fn check_outcome(
    ctx: &Ctx,
    outcome: &Outcome,
    produced: usize,
    consumed: u64,
    what: &str,
    report: &mut Report,
) {
    let limits = ctx.limits();
    let (rule, message) = match outcome {
        Outcome::Complete => return,
        Outcome::TooLarge => (
            &DECOMPRESSION_BOMB,
            format!(
                "{what} decompresses to more than {} bytes (max_decompressed_bytes); only the first {produced} bytes were judged",
                limits.max_decompressed_bytes
            ),
        ),
        Outcome::RatioExceeded => (
            &DECOMPRESSION_BOMB,
            format!(
                "{what} expands more than {}x (max_compression_ratio): {produced} bytes from {consumed}; only those bytes were judged",
                limits.max_compression_ratio
            ),
        ),
        Outcome::Corrupt(msg) => (
            &MALFORMED,
            format!("{what} is corrupt after {produced} decompressed bytes: {msg}"),
        ),
    };
    report.push(
        ctx.finding(rule, None, message)
            .with_evidence(json!({ "produced": produced, "consumed": consumed })),
    );
}

fn limit_members(ctx: &Ctx, report: &mut Report) {
    report.push(ctx.finding(
        &general::LIMIT_EXCEEDED,
        None,
        format!(
            "archive has more than {} members (max_members); the rest were not judged",
            ctx.limits().max_members
        ),
    ));
}

mod sevenzip;
mod tarfile;
mod wrapper;
mod zipfile;

pub use sevenzip::scan_7z;
pub use tarfile::scan_tar;
pub use wrapper::scan_compressed;
pub use zipfile::scan_zip;

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
