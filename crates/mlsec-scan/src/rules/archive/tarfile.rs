//! Tar archives.

use super::*;

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
