//! 7z archives.

use super::*;

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
