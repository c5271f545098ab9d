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

// ---------------------------------------------------------------- zip

/// What a zip is, from its member names: decides the reported format and
/// how members are judged.
enum ZipKind {
    Torch(TorchZip),
    Keras,
    Npz,
    Plain,
}

impl ZipKind {
    fn of(names: &[&str]) -> ZipKind {
        if let Some(t) = TorchZip::detect(names) {
            return ZipKind::Torch(t);
        }
        let has = |n: &str| names.contains(&n);
        if has("config.json") && (has("metadata.json") || has("model.weights.h5")) {
            return ZipKind::Keras;
        }
        let mut files = names.iter().filter(|n| !n.ends_with('/')).peekable();
        if files.peek().is_some() && files.all(|n| n.ends_with(".npy")) {
            return ZipKind::Npz;
        }
        ZipKind::Plain
    }

    fn format(&self) -> &'static str {
        match self {
            ZipKind::Torch(_) => "pytorch-zip",
            ZipKind::Keras => "keras",
            ZipKind::Npz => "numpy-npz",
            ZipKind::Plain => "zip",
        }
    }
}

/// Judges a zip: structure, every member's headers, and every member's content.
pub fn scan_zip(ctx: &Ctx, data: &[u8], report: &mut Report) {
    let archive = match zip::parse(data, ctx.limits().max_members) {
        Ok(archive) => archive,
        Err(problem) => {
            report.recognise("zip");
            report.push(ctx.finding(
                &MALFORMED,
                Some(problem.offset),
                format!("zip cannot be opened: {}", problem.message),
            ));
            return;
        }
    };
    let names: Vec<&str> = archive.entries.iter().map(|e| e.name.as_str()).collect();
    let kind = ZipKind::of(&names);
    report.recognise(kind.format());

    for p in &archive.problems {
        let rule = match p.kind {
            zip::ProblemKind::Malformed => &MALFORMED,
            zip::ProblemKind::Layout => &LAYOUT_ANOMALY,
        };
        report.push(ctx.finding(rule, Some(p.offset), p.message.clone()));
    }
    if archive.members_truncated {
        limit_members(ctx, report);
    }
    check_duplicates(
        ctx,
        archive
            .entries
            .iter()
            .map(|e| (e.name.as_str(), Some(e.central_offset))),
        report,
    );
    check_zip_layout(ctx, &archive, report);
    if let ZipKind::Torch(t) = &kind {
        t.report_code(ctx, &names, report);
    }
    for entry in &archive.entries {
        if !report.open_member(ctx) {
            break;
        }
        check_zip_headers(ctx, entry, report);
        scan_zip_member(ctx, &archive, entry, &kind, report);
    }
}

/// Names, flags, and the local header against the central record.
fn check_zip_headers(ctx: &Ctx, entry: &zip::Entry, report: &mut Report) {
    let name = entry.name.as_str();
    check_name(ctx, name, Some(entry.central_offset), report);
    let local = match &entry.local {
        Ok(local) => Some(local),
        Err(msg) => {
            report.push(at_member(
                ctx,
                &MALFORMED,
                name,
                Some(entry.local_offset),
                format!("local header is unreadable: {msg}"),
                json!({}),
            ));
            None
        }
    };
    let local_flags = local.map_or(0, |l| l.flags);
    let odd = (entry.flags | local_flags) & !zip::ORDINARY_FLAGS;
    if odd != 0 {
        let mut meaning = Vec::new();
        if odd & zip::FLAG_ENCRYPTED != 0 {
            meaning.push("encrypted");
        }
        if odd & (1 << 6) != 0 {
            meaning.push("strong encryption");
        }
        if odd & (1 << 13) != 0 {
            meaning.push("masked local headers");
        }
        if odd & !(zip::FLAG_ENCRYPTED | 1 << 6 | 1 << 13) != 0 {
            meaning.push("reserved bits");
        }
        report.push(at_member(
            ctx,
            &FLAG_ANOMALY,
            name,
            Some(entry.central_offset),
            format!(
                "general-purpose flags {:#06x} (central) / {:#06x} (local) set {}; loaders such as PyTorch read the member anyway",
                entry.flags,
                local_flags,
                meaning.join(", ")
            ),
            json!({ "central_flags": entry.flags, "local_flags": local_flags }),
        ));
    }
    let Some(local) = local else { return };
    if local.raw_name != entry.raw_name {
        let local_name = String::from_utf8_lossy(&local.raw_name);
        report.push(at_member(
            ctx,
            &LOCAL_MISMATCH,
            name,
            Some(entry.local_offset),
            format!(
                "local header names the member `{}`, the central directory `{}`",
                local_name.escape_debug(),
                name.escape_debug()
            ),
            json!({ "local_name": local_name, "central_name": name }),
        ));
    }
    if local.method != entry.method {
        report.push(at_member(
            ctx,
            &LOCAL_MISMATCH,
            name,
            Some(entry.local_offset),
            format!(
                "local header says compression method {}, the central directory {}",
                local.method, entry.method
            ),
            json!({ "local_method": local.method, "central_method": entry.method }),
        ));
    }
}

/// Data before the first member, and members overlapping each other or the
/// central directory (ARC010).
fn check_zip_layout(ctx: &Ctx, archive: &zip::Zip, report: &mut Report) {
    let file_len = archive.bytes().len() as u64;
    let mut spans: Vec<(std::ops::Range<u64>, &str)> = Vec::new();
    for entry in archive.entries.iter().filter(|e| e.local.is_ok()) {
        match entry.span() {
            Some(span) if span.end <= file_len => spans.push((span, entry.name.as_str())),
            // Judged from the directory alone: PyTorch tensor payloads are never read.
            _ => report.push(at_member(
                ctx,
                &MALFORMED,
                &entry.name,
                Some(entry.local_offset),
                format!(
                    "member declares {} bytes of data, past the end of the {file_len}-byte archive",
                    entry.compressed_size
                ),
                json!({ "compressed_size": entry.compressed_size }),
            )),
        }
    }
    spans.sort_by_key(|(span, _)| (span.start, span.end));
    if let Some((first, _)) = spans.first() {
        if first.start > archive.shift {
            let gap = first.start - archive.shift;
            report.push(
                ctx.finding(
                    &LAYOUT_ANOMALY,
                    Some(archive.shift),
                    format!("{gap} bytes before the first member belong to no member"),
                )
                .with_evidence(json!({ "bytes": gap })),
            );
        }
    }
    let mut overlapping = Vec::new();
    let mut reach: Option<(u64, &str)> = None;
    for (span, name) in &spans {
        match reach {
            Some((end, other)) if span.start < end => overlapping.push(json!([name, other])),
            _ => {}
        }
        if reach.is_none_or(|(end, _)| span.end > end) {
            reach = Some((span.end, name));
        }
    }
    if !overlapping.is_empty() {
        report.push(
            ctx.finding(
                &LAYOUT_ANOMALY,
                None,
                format!(
                    "{} member(s) overlap another member's data (a non-recursive zip bomb, or two names for one payload)",
                    overlapping.len()
                ),
            )
            .with_evidence(json!({
                "count": overlapping.len(),
                "pairs": overlapping.iter().take(LISTED_MEMBERS).collect::<Vec<_>>(),
            })),
        );
    }
    let cd = &archive.central_directory;
    let into_cd: Vec<&str> = spans
        .iter()
        .filter(|(span, _)| span.start < cd.end && span.end > cd.start)
        .map(|(_, name)| *name)
        .take(LISTED_MEMBERS)
        .collect();
    if !into_cd.is_empty() {
        report.push(
            ctx.finding(
                &LAYOUT_ANOMALY,
                Some(cd.start),
                format!("member data overlaps the central directory: {into_cd:?}"),
            )
            .with_evidence(json!({ "members": into_cd })),
        );
    }
}

/// Reads one member (never a PyTorch tensor payload) and judges its content.
fn scan_zip_member(
    ctx: &Ctx,
    archive: &zip::Zip,
    entry: &zip::Entry,
    kind: &ZipKind,
    report: &mut Report,
) {
    let name = entry.name.as_str();
    if entry.is_dir() && entry.compressed_size == 0 {
        return;
    }
    if let ZipKind::Torch(t) = kind {
        if t.is_tensor_payload(name) {
            return;
        }
    }
    if entry.local.is_err() {
        return; // reported by check_zip_headers
    }
    let content = match archive.read(entry, bounds(ctx, report)) {
        Ok(content) => content,
        Err(zip::ReadError::UnsupportedMethod(m)) => {
            report.push(at_member(
                ctx,
                &UNREADABLE_MEMBER,
                name,
                Some(entry.local_offset),
                format!(
                    "compression method {m} ({}) is not supported; member not judged",
                    zip::method_name(m)
                ),
                json!({ "method": m }),
            ));
            return;
        }
        // Reported by check_zip_layout, from the directory alone.
        Err(zip::ReadError::OutOfBounds(_)) => return,
    };
    let mctx = ctx.child(name);
    if matches!(content.data, std::borrow::Cow::Owned(_))
        && !charge(&mctx, report, &content.outcome, content.data.len())
    {
        return;
    }
    check_outcome(
        &mctx,
        &content.outcome,
        content.data.len(),
        content.consumed,
        "member",
        report,
    );
    if content.outcome == Outcome::Complete {
        check_zip_integrity(ctx, entry, content.data.len() as u64, content.crc32, report);
    }
    if entry.is_symlink() {
        let target = (content.data.len() <= MAX_LINK_TARGET)
            .then(|| String::from_utf8_lossy(&content.data).into_owned());
        check_link(
            ctx,
            name,
            Some(entry.central_offset),
            "symbolic link",
            parent(name),
            target.as_deref(),
            report,
        );
        return;
    }
    match kind {
        ZipKind::Torch(_) if TorchZip::is_pickle(name) => {
            pickle::scan(&mctx, &content.data, report)
        }
        ZipKind::Keras if name == "config.json" => {
            keras::scan_keras_config(&mctx, &content.data, report)
        }
        _ => crate::scan_bytes(&mctx, &content.data, report),
    }
}

/// Size and CRC of what was read against the central record (ARC008).
fn check_zip_integrity(ctx: &Ctx, entry: &zip::Entry, size: u64, crc: u32, report: &mut Report) {
    let name = entry.name.as_str();
    if size != entry.uncompressed_size {
        report.push(at_member(
            ctx,
            &INTEGRITY_MISMATCH,
            name,
            Some(entry.local_offset),
            format!(
                "member holds {size} bytes, the central directory declares {}",
                entry.uncompressed_size
            ),
            json!({ "declared_size": entry.uncompressed_size, "actual_size": size }),
        ));
    }
    if crc != entry.crc32 {
        report.push(at_member(
            ctx,
            &INTEGRITY_MISMATCH,
            name,
            Some(entry.local_offset),
            format!(
                "CRC-32 is {crc:#010x}, the central directory declares {:#010x}; loaders such as PyTorch do not check it",
                entry.crc32
            ),
            json!({ "declared_crc32": entry.crc32, "actual_crc32": crc }),
        ));
    }
}

// ---------------------------------------------------------------- tar

/// Judges a tar: member names and kinds, then every regular member's content.
pub fn scan_tar(ctx: &Ctx, data: &[u8], report: &mut Report) {
    let archive = tar::parse(data, ctx.limits().max_members);
    let names: Vec<&str> = archive.members.iter().map(|m| m.name.as_str()).collect();
    let legacy_torch = crate::rules::torch::is_legacy_tar(&names);
    report.recognise(if legacy_torch { "pytorch-tar" } else { "tar" });
    if let Some((offset, msg)) = &archive.error {
        report.push(ctx.finding(
            &MALFORMED,
            Some(*offset),
            format!("tar is unreadable from here on: {msg}"),
        ));
    }
    if archive.members_truncated {
        limit_members(ctx, report);
    }
    check_duplicates(
        ctx,
        archive
            .members
            .iter()
            .filter(|m| m.kind != tar::Kind::Dir)
            .map(|m| (m.name.as_str(), Some(m.header_offset))),
        report,
    );
    for member in &archive.members {
        if !report.open_member(ctx) {
            break;
        }
        let (name, offset) = (member.name.as_str(), Some(member.header_offset));
        check_name(ctx, name, offset, report);
        match member.kind {
            tar::Kind::File => {}
            tar::Kind::Symlink => {
                check_link(
                    ctx,
                    name,
                    offset,
                    "symbolic link",
                    parent(name),
                    member.link.as_deref(),
                    report,
                );
                continue;
            }
            tar::Kind::Hardlink => {
                check_link(
                    ctx,
                    name,
                    offset,
                    "hard link",
                    "",
                    member.link.as_deref(),
                    report,
                );
                continue;
            }
            tar::Kind::CharDevice | tar::Kind::BlockDevice | tar::Kind::Fifo => {
                report.push(at_member(
                    ctx,
                    &SPECIAL_FILE,
                    name,
                    offset,
                    format!("member is a {:?}, not a file", member.kind),
                    json!({ "kind": format!("{:?}", member.kind) }),
                ));
                continue;
            }
            tar::Kind::Sparse => {
                report.push(at_member(
                    ctx,
                    &UNREADABLE_MEMBER,
                    name,
                    offset,
                    "GNU sparse members are not supported; member not judged".into(),
                    json!({}),
                ));
                continue;
            }
            tar::Kind::Dir | tar::Kind::Other(_) => continue,
        }
        // A member whose data is missing stopped the listing; reported above.
        let Ok(content) = archive.data(member) else {
            continue;
        };
        let mctx = ctx.child(name);
        if legacy_torch && crate::rules::torch::is_legacy_tar_pickle(name) {
            pickle::scan(&mctx, content, report);
        } else {
            crate::scan_bytes(&mctx, content, report);
        }
    }
}

// ---------------------------------------------------------------- 7z

/// Judges a 7z: names and links from its header, then members' content,
/// decoded within the limits.
pub fn scan_7z(ctx: &Ctx, data: &[u8], report: &mut Report) {
    report.recognise("7z");
    let mut links_read = HashSet::new();
    let walked = sevenz::walk(
        data,
        ctx.limits().max_members,
        bounds(ctx, report),
        |member, out| {
            let mctx = ctx.child(&member.name);
            if !report.open_member(ctx) || !charge(&mctx, report, &out.outcome, out.data.len()) {
                return;
            }
            check_outcome(
                &mctx,
                &out.outcome,
                out.data.len(),
                out.consumed,
                "member",
                report,
            );
            if member.is_symlink() {
                let target = (out.data.len() <= MAX_LINK_TARGET)
                    .then(|| String::from_utf8_lossy(&out.data).into_owned());
                check_link(
                    ctx,
                    &member.name,
                    None,
                    "symbolic link",
                    parent(&member.name),
                    target.as_deref(),
                    report,
                );
                links_read.insert(member.name.clone());
                return;
            }
            crate::scan_bytes(&mctx, &out.data, report);
        },
    );
    let walk = match walked {
        Ok(walk) => walk,
        Err(msg) => {
            report.push(ctx.finding(&MALFORMED, None, format!("7z header cannot be read: {msg}")));
            return;
        }
    };
    if let Some(msg) = &walk.error {
        let lower = msg.to_ascii_lowercase();
        let rule = if lower.contains("password") || lower.contains("unsupported") {
            &UNREADABLE_MEMBER
        } else {
            &MALFORMED
        };
        report.push(ctx.finding(
            rule,
            None,
            format!("7z members could not all be decoded: {msg}"),
        ));
    }
    if walk.members_truncated {
        limit_members(ctx, report);
    }
    check_duplicates(
        ctx,
        walk.members
            .iter()
            .filter(|m| !m.is_dir)
            .map(|m| (m.name.as_str(), None)),
        report,
    );
    for member in &walk.members {
        check_name(ctx, &member.name, None, report);
        if member.is_symlink() && !links_read.contains(&member.name) {
            check_link(ctx, &member.name, None, "symbolic link", "", None, report);
        }
    }
}

// ---------------------------------------------------------------- wrappers

/// Judges a compressed stream (gzip, bzip2, xz, lzma, zlib, lz4, joblib
/// zfile): decompresses it within the limits and judges what comes out as
/// the same member.
pub fn scan_compressed(ctx: &Ctx, data: &[u8], format: Format, report: &mut Report) {
    report.recognise(format.name());
    let (codec, payload, declared_len) = match format {
        Format::Gzip => (Codec::Gzip, data, None),
        Format::Bzip2 => (Codec::Bzip2, data, None),
        Format::Xz => (Codec::Xz, data, None),
        Format::Lzma => (Codec::LzmaAlone, data, None),
        Format::Zlib => (Codec::Zlib, data, None),
        Format::Lz4 => (Codec::Lz4Frame, data, None),
        Format::JoblibZfile => match compress::parse_zfile(data) {
            Ok(z) => (
                Codec::Zlib,
                data.get(z.payload_offset..).unwrap_or_default(),
                Some(z.declared_len),
            ),
            Err(msg) => {
                report.push(ctx.finding(&MALFORMED, Some(0), msg));
                return;
            }
        },
        other => {
            report.push(ctx.finding(
                &MALFORMED,
                None,
                format!("{} is not a compressed stream", other.name()),
            ));
            return;
        }
    };
    if !report.open_member(ctx) {
        return;
    }
    let out = compress::decompress(codec, payload, bounds(ctx, report));
    if !charge(ctx, report, &out.outcome, out.data.len()) {
        return;
    }
    let what = format!("{} stream", format.name());
    check_outcome(
        ctx,
        &out.outcome,
        out.data.len(),
        out.consumed,
        &what,
        report,
    );
    if let Some(declared) = declared_len.filter(|_| out.outcome == Outcome::Complete) {
        let actual = out.data.len() as u64;
        if actual != declared {
            report.push(
                ctx.finding(
                    &INTEGRITY_MISMATCH,
                    Some(0),
                    format!("zfile header declares {declared} bytes, the stream holds {actual}"),
                )
                .with_evidence(json!({ "declared_size": declared, "actual_size": actual })),
            );
        }
    }
    crate::scan_bytes(&ctx.child(""), &out.data, report);
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
