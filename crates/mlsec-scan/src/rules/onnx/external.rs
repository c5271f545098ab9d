//! External data: where a tensor's `location` leads, judged on its face and
//! on disk.

use super::*;

/// What is known about one external data file.
#[derive(Clone)]
pub(super) enum Resolved {
    /// Inside the folder: its size and number of hard links.
    File {
        size: u64,
        links: u64,
    },
    Escapes(PathBuf),
    NotRegular,
    Missing,
}

/// Why a location escapes the model folder on its face, if it does.
pub(super) fn lexical_escape(location: &str) -> Option<&'static str> {
    if location.contains('\0') {
        return Some("which contains a NUL byte (the path is cut short when opened)");
    }
    match paths::rooted(location) {
        Some(Rooted::Absolute) => Some("an absolute path"),
        Some(Rooted::WindowsDrive) => Some("an absolute Windows path"),
        None if paths::climbs(location) => Some("which climbs out of the model folder with `..`"),
        None => None,
    }
}

/// Resolves `location` under `dir` with every symbolic link followed.
pub(super) fn resolve_in(dir: &Path, root: &Path, location: &str) -> Resolved {
    let joined = dir.join(location);
    match fs::canonicalize(&joined) {
        Ok(real) if !real.starts_with(root) => Resolved::Escapes(real),
        Ok(real) => match fs::metadata(&real) {
            Ok(meta) if meta.is_file() => Resolved::File {
                size: meta.len(),
                links: hard_links(&meta),
            },
            _ => Resolved::NotRegular,
        },
        // The file is missing; a linked parent folder may still point out.
        Err(_) => match joined.parent().map(fs::canonicalize) {
            Some(Ok(parent)) if !parent.starts_with(root) => Resolved::Escapes(parent),
            _ => Resolved::Missing,
        },
    }
}

#[cfg(unix)]
fn hard_links(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn hard_links(_meta: &fs::Metadata) -> u64 {
    1
}
