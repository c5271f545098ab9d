//! Zip archives, read the way PyTorch's miniz reads them.

use super::*;

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
    let mut mismatch = |message: String, evidence| {
        report.push(at_member(
            ctx,
            &LOCAL_MISMATCH,
            name,
            Some(entry.local_offset),
            message,
            evidence,
        ))
    };
    if local.raw_name != entry.raw_name {
        let local_name = String::from_utf8_lossy(&local.raw_name);
        mismatch(
            format!(
                "local header names the member `{}`, the central directory `{}`",
                local_name.escape_debug(),
                name.escape_debug()
            ),
            json!({ "local_name": local_name, "central_name": name }),
        );
    }
    if local.method != entry.method {
        mismatch(
            format!(
                "local header says compression method {}, the central directory {}",
                local.method, entry.method
            ),
            json!({ "local_method": local.method, "central_method": entry.method }),
        );
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
