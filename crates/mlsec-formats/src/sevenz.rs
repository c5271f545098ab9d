//! 7z archives through `sevenz-rust2`, single-threaded and bounded: every
//! member is read in chunks against an absolute cap, and the archive's total
//! output against a ratio to its size, so a solid block of zeros stops after
//! a few megabytes.

use crate::compress::{self, Bounds, Inflated, Outcome};
use sevenz_rust2::{Archive, ArchiveReader, Password};
use std::cell::Cell;
use std::io::Cursor;

/// Windows attribute bit that says the high 16 bits hold a Unix mode.
const UNIX_EXTENSION: u32 = 0x8000;
/// Windows reparse point (symbolic links and junctions).
const REPARSE_POINT: u32 = 0x400;

/// One member of a 7z archive.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub size: u64,
    pub is_dir: bool,
    /// Anti-items delete a path when an update is applied.
    pub is_anti: bool,
    pub attributes: Option<u32>,
}

impl Member {
    fn of(f: &sevenz_rust2::ArchiveEntry) -> Self {
        Member {
            name: f.name.clone(),
            size: f.size,
            is_dir: f.is_directory,
            is_anti: f.is_anti_item,
            attributes: f.has_windows_attributes.then_some(f.windows_attributes),
        }
    }

    /// A Unix symlink (mode in the high attribute bits) or a Windows reparse point.
    pub fn is_symlink(&self) -> bool {
        self.attributes.is_some_and(|a| {
            (a & UNIX_EXTENSION != 0 && (a >> 16) & 0o170000 == 0o120000) || a & REPARSE_POINT != 0
        })
    }
}

/// What walking an archive found before it ended or stopped.
#[derive(Debug, Default)]
pub struct Walk {
    /// Every member the header lists (at most `max_members`).
    pub members: Vec<Member>,
    pub members_truncated: bool,
    /// Why decoding stopped early (corrupt data, unsupported coder, password).
    pub error: Option<String>,
}

/// Lists `data`'s members and hands each file's content to `visit`, with how
/// its decompression ended. Visiting stops after the first member that hits a
/// bound or fails to decode, since later members of a solid block depend on it.
/// Fails only when the archive header itself cannot be read.
pub fn walk(
    data: &[u8],
    max_members: usize,
    bounds: Bounds,
    mut visit: impl FnMut(&Member, Inflated),
) -> Result<Walk, String> {
    let mut cursor = Cursor::new(data);
    let archive = Archive::read(&mut cursor, &Password::empty()).map_err(|e| e.to_string())?;
    let mut walk = Walk {
        members_truncated: archive.files.len() > max_members,
        members: archive
            .files
            .iter()
            .take(max_members)
            .map(Member::of)
            .collect(),
        error: None,
    };
    let mut reader = ArchiveReader::from_archive(archive, cursor, Password::empty());
    reader.set_thread_count(1);

    // The archive as a whole must stay within the ratio; one member within the cap.
    let archive_len = data.len() as u64;
    let mut produced = 0u64;
    let mut seen = 0usize;
    let result = reader.for_each_entries(|entry, content| {
        if seen >= max_members {
            return Ok(false);
        }
        seen += 1;
        if entry.is_directory || !entry.has_stream {
            return Ok(true);
        }
        let member = Member::of(entry);
        let budget = archive_len
            .saturating_mul(bounds.max_ratio)
            .max(compress::RATIO_FLOOR)
            .saturating_sub(produced);
        let member_bounds = Bounds {
            max_output: bounds.max_output.min(budget),
            max_ratio: u64::MAX,
        };
        let mut out = compress::read_bounded(content, &Cell::new(archive_len), member_bounds);
        if out.outcome == Outcome::TooLarge && budget < bounds.max_output {
            out.outcome = Outcome::RatioExceeded;
        }
        produced = produced.saturating_add(out.data.len() as u64);
        let go_on = out.outcome == Outcome::Complete;
        visit(&member, out);
        Ok(go_on)
    });
    if let Err(e) = result {
        walk.error = Some(e.to_string());
    }
    Ok(walk)
}
