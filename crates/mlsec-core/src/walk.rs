//! The one directory walker every producer uses (`scan`, `bom`, `sign`,
//! `data`), so that all of them agree on what a folder holds.
//!
//! The walk lists every entry under a root in one order (folders depth first,
//! the entries of each folder sorted by name, which orders full paths by their
//! components) and decides nothing about them: regular files, symbolic links
//! (not followed unless [`WalkOptions::follow_links_inside`] says so), special
//! files and folders it could not list or enter are all reported, and each
//! producer applies its own rule (a scan finding, a BOM error, a manifest
//! entry). Only the bounds (depth, entry count) and the ignore list are
//! applied here.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What to walk and how far.
#[derive(Debug, Clone)]
pub struct WalkOptions<'a> {
    /// Folder names never entered, wherever they are (`.git`).
    pub skip_dirs: &'a [&'a str],
    /// Paths relative to the root, as components, left out with everything
    /// below them (`[".git"]`, `["model.sig"]`).
    pub ignore: &'a [Vec<String>],
    /// Follow a symbolic link whose target lies inside the root: a file is
    /// listed under the link's name, a folder is walked. Other links (and all
    /// links when this is off) are listed as [`EntryKind::Link`].
    pub follow_links_inside: bool,
    /// Folders nested deeper than this are not entered ([`EntryKind::TooDeep`]).
    pub max_depth: usize,
    /// More entries than this stop the walk with [`WalkError::TooMany`].
    pub max_entries: usize,
}

impl Default for WalkOptions<'_> {
    fn default() -> Self {
        WalkOptions {
            skip_dirs: &[".git"],
            ignore: &[],
            follow_links_inside: false,
            max_depth: 256,
            max_entries: usize::MAX,
        }
    }
}

/// One entry under the root.
#[derive(Debug)]
pub struct Entry {
    /// The path's components relative to the root (empty for a root that is
    /// itself a file).
    pub rel: Vec<OsString>,
    /// Where to open it: the root joined with `rel`.
    pub path: PathBuf,
    pub kind: EntryKind,
}

impl Entry {
    /// `rel` joined with `/`, with any non-UTF-8 byte shown as U+FFFD.
    pub fn rel_posix(&self) -> String {
        let parts: Vec<_> = self.rel.iter().map(|c| c.to_string_lossy()).collect();
        parts.join("/")
    }

    /// `rel` as UTF-8 components, or `None` when a name is not UTF-8.
    pub fn rel_utf8(&self) -> Option<Vec<&str>> {
        self.rel.iter().map(|c| c.to_str()).collect()
    }
}

#[derive(Debug)]
pub enum EntryKind {
    /// A regular file (or, when links are followed, a link to one inside the
    /// root). Its size is not read here: most producers open it anyway.
    File,
    /// A symbolic link that was not followed: its target as stored in the
    /// link, and where it finally resolves (`None` when it dangles or loops).
    Link {
        target: PathBuf,
        resolved: Option<PathBuf>,
    },
    /// A FIFO, socket or device: never opened (a FIFO blocks, a device never ends).
    Special(&'static str),
    /// A folder that could not be listed.
    Unreadable(io::Error),
    /// A folder deeper than [`WalkOptions::max_depth`], not entered.
    TooDeep,
}

/// Why a walk stopped.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{}: {}", .0.display(), .1)]
    Root(PathBuf, io::Error),
    #[error("{}: more than {} entries", .0.display(), .1)]
    TooMany(PathBuf, usize),
    #[error("{}: symbolic link loop", .0.display())]
    LinkLoop(PathBuf),
}

/// Lists everything under `root` (a folder, or a single file, which is listed
/// alone with an empty `rel`).
pub fn walk(root: &Path, options: &WalkOptions) -> Result<Vec<Entry>, WalkError> {
    let meta = fs::metadata(root).map_err(|e| WalkError::Root(root.to_path_buf(), e))?;
    if !meta.is_dir() {
        let kind = if meta.is_file() {
            EntryKind::File
        } else {
            EntryKind::Special(special_kind(meta.file_type()))
        };
        return Ok(vec![Entry {
            rel: Vec::new(),
            path: root.to_path_buf(),
            kind,
        }]);
    }
    let real_root = fs::canonicalize(root).map_err(|e| WalkError::Root(root.to_path_buf(), e))?;
    let mut walker = Walker {
        root,
        options,
        ancestors: vec![real_root.clone()],
        real_root,
        entries: Vec::new(),
    };
    walker.folder(root, &mut Vec::new())?;
    Ok(walker.entries)
}

struct Walker<'a> {
    root: &'a Path,
    options: &'a WalkOptions<'a>,
    real_root: PathBuf,
    /// Real paths of the folders being walked, to stop link loops.
    ancestors: Vec<PathBuf>,
    entries: Vec<Entry>,
}

impl Walker<'_> {
    fn folder(&mut self, dir: &Path, rel: &mut Vec<OsString>) -> Result<(), WalkError> {
        // The type of each entry comes from the listing itself (no `lstat`
        // per file on Linux), and one folder's entries sort by name alone.
        let listed = fs::read_dir(dir).and_then(|rd| {
            rd.map(|e| e.and_then(|e| Ok((e.file_name(), e.file_type()?))))
                .collect::<io::Result<Vec<_>>>()
        });
        let mut names = match listed {
            Ok(names) => names,
            Err(e) => return self.push(dir.to_path_buf(), rel.clone(), EntryKind::Unreadable(e)),
        };
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, file_type) in names {
            let path = dir.join(&name);
            rel.push(name);
            let result = self.entry(path, rel, file_type);
            rel.pop();
            result?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        path: PathBuf,
        rel: &mut Vec<OsString>,
        file_type: fs::FileType,
    ) -> Result<(), WalkError> {
        if self.ignored(rel) {
            return Ok(());
        }
        if file_type.is_dir() {
            let skipped = rel
                .last()
                .is_some_and(|name| self.options.skip_dirs.iter().any(|s| name == *s));
            if skipped {
                return Ok(());
            }
            return self.enter(path, rel, None);
        }
        if file_type.is_file() {
            return self.push(path, rel.clone(), EntryKind::File);
        }
        if file_type.is_symlink() {
            return self.link(path, rel);
        }
        self.push(
            path,
            rel.clone(),
            EntryKind::Special(special_kind(file_type)),
        )
    }

    fn link(&mut self, path: PathBuf, rel: &mut Vec<OsString>) -> Result<(), WalkError> {
        let target = fs::read_link(&path).unwrap_or_default();
        let resolved = fs::canonicalize(&path).ok();
        if self.options.follow_links_inside {
            if let Some(real) = resolved.as_ref().filter(|r| r.starts_with(&self.real_root)) {
                match fs::metadata(real) {
                    Ok(m) if m.is_dir() => return self.enter(path, rel, Some(real.clone())),
                    Ok(m) if m.is_file() => return self.push(path, rel.clone(), EntryKind::File),
                    _ => {}
                }
            }
        }
        self.push(path, rel.clone(), EntryKind::Link { target, resolved })
    }

    /// Walks the folder at `path`; `real` is its resolved path when it was
    /// reached through a link (a link back to a folder being walked is a loop).
    fn enter(
        &mut self,
        path: PathBuf,
        rel: &mut Vec<OsString>,
        real: Option<PathBuf>,
    ) -> Result<(), WalkError> {
        if rel.len() > self.options.max_depth {
            return self.push(path, rel.clone(), EntryKind::TooDeep);
        }
        let real = match real {
            Some(r) => r,
            // Only walks that follow links can meet a folder twice.
            None if !self.options.follow_links_inside => return self.folder(&path, rel),
            None => match fs::canonicalize(&path) {
                Ok(r) => r,
                Err(e) => return self.push(path, rel.clone(), EntryKind::Unreadable(e)),
            },
        };
        if self.ancestors.contains(&real) {
            return Err(WalkError::LinkLoop(path));
        }
        self.ancestors.push(real);
        let result = self.folder(&path, rel);
        self.ancestors.pop();
        result
    }

    fn ignored(&self, rel: &[OsString]) -> bool {
        self.options.ignore.iter().any(|prefix| {
            prefix.len() <= rel.len() && prefix.iter().zip(rel).all(|(p, r)| r == p.as_str())
        })
    }

    fn push(
        &mut self,
        path: PathBuf,
        rel: Vec<OsString>,
        kind: EntryKind,
    ) -> Result<(), WalkError> {
        if self.entries.len() >= self.options.max_entries {
            return Err(WalkError::TooMany(
                self.root.to_path_buf(),
                self.options.max_entries,
            ));
        }
        self.entries.push(Entry { rel, path, kind });
        Ok(())
    }
}

/// A name for a file type that is neither a file, a folder nor a link.
pub fn special_kind(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "FIFO";
        }
        if file_type.is_socket() {
            return "socket";
        }
        if file_type.is_char_device() {
            return "character device";
        }
        if file_type.is_block_device() {
            return "block device";
        }
    }
    if file_type.is_dir() {
        "directory"
    } else if file_type.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entries: &[Entry]) -> Vec<String> {
        entries.iter().map(Entry::rel_posix).collect()
    }

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, f).unwrap();
        }
        dir
    }

    #[test]
    fn lists_files_depth_first_in_component_order_and_skips_git() {
        let dir = tree(&["b", "a.txt", "a/z", "a/b/c", ".git/HEAD", "sub/.git/x"]);
        let entries = walk(dir.path(), &WalkOptions::default()).unwrap();
        // `a/...` before `a.txt`: paths are ordered by their components.
        assert_eq!(names(&entries), ["a/b/c", "a/z", "a.txt", "b"]);
        assert!(entries.iter().all(|e| matches!(e.kind, EntryKind::File)));
        assert_eq!(entries[0].path, dir.path().join("a/b/c"));
        let all = walk(
            dir.path(),
            &WalkOptions {
                skip_dirs: &[],
                ..WalkOptions::default()
            },
        )
        .unwrap();
        assert_eq!(all.len(), 6);
    }

    #[test]
    fn ignore_matches_whole_leading_components() {
        let dir = tree(&[
            "model.sig",
            "model.sigx",
            "sub/model.sig",
            "keep/x",
            "drop/x",
        ]);
        let ignore = [vec!["model.sig".to_string()], vec!["drop".to_string()]];
        let options = WalkOptions {
            ignore: &ignore,
            ..WalkOptions::default()
        };
        let entries = walk(dir.path(), &options).unwrap();
        assert_eq!(names(&entries), ["keep/x", "model.sigx", "sub/model.sig"]);
    }

    #[test]
    fn a_single_file_is_listed_alone() {
        let dir = tree(&["w.bin"]);
        let file = dir.path().join("w.bin");
        let entries = walk(&file, &WalkOptions::default()).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].rel.is_empty());
        assert_eq!(entries[0].path, file);
        let missing = walk(&dir.path().join("nope"), &WalkOptions::default()).unwrap_err();
        assert!(matches!(missing, WalkError::Root(..)), "{missing}");
    }

    #[test]
    fn depth_and_count_are_bounded() {
        let dir = tree(&["1/2/3/4/deep", "1/shallow", "top"]);
        let options = WalkOptions {
            max_depth: 2,
            ..WalkOptions::default()
        };
        let entries = walk(dir.path(), &options).unwrap();
        assert_eq!(names(&entries), ["1/2/3", "1/shallow", "top"]);
        assert!(matches!(entries[0].kind, EntryKind::TooDeep));
        let options = WalkOptions {
            max_entries: 2,
            ..WalkOptions::default()
        };
        let err = walk(dir.path(), &options).unwrap_err();
        assert!(matches!(err, WalkError::TooMany(_, 2)), "{err}");
        assert!(err.to_string().ends_with("more than 2 entries"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn links_and_special_files_are_reported_not_opened() {
        use std::os::unix::fs::symlink;
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("m");
        fs::create_dir_all(root.join("dir")).unwrap();
        fs::write(root.join("dir/real"), b"x").unwrap();
        fs::write(outer.path().join("secret"), b"s").unwrap();
        symlink("dir/real", root.join("inside")).unwrap();
        symlink("../secret", root.join("outside")).unwrap();
        symlink("nowhere", root.join("dangling")).unwrap();
        symlink("dir", root.join("dirlink")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .unwrap();
        assert!(made.success());

        let entries = walk(&root, &WalkOptions::default()).unwrap();
        let kinds: Vec<(String, String)> = entries
            .iter()
            .map(|e| {
                let kind = match &e.kind {
                    EntryKind::File => "file".to_string(),
                    EntryKind::Link { target, resolved } => {
                        format!("link {} {}", target.display(), resolved.is_some())
                    }
                    EntryKind::Special(k) => k.to_string(),
                    other => format!("{other:?}"),
                };
                (e.rel_posix(), kind)
            })
            .collect();
        let expected = [
            ("dangling", "link nowhere false"),
            ("dir/real", "file"),
            ("dirlink", "link dir true"),
            ("inside", "link dir/real true"),
            ("outside", "link ../secret true"),
            ("pipe", "FIFO"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(kinds, expected);

        // Following links inside the root: a file under the link's name, a
        // folder walked again under its name; links leaving the root stay links.
        let follow = WalkOptions {
            follow_links_inside: true,
            ..WalkOptions::default()
        };
        let entries = walk(&root, &follow).unwrap();
        let files: Vec<String> = entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File))
            .map(Entry::rel_posix)
            .collect();
        assert_eq!(files, ["dir/real", "dirlink/real", "inside"]);
        assert!(entries
            .iter()
            .any(|e| e.rel_posix() == "outside" && matches!(e.kind, EntryKind::Link { .. })));

        // A link back to a folder being walked is a loop, not an endless walk.
        symlink("..", root.join("dir/up")).unwrap();
        let err = walk(&root, &follow).unwrap_err();
        assert!(matches!(err, WalkError::LinkLoop(_)), "{err}");
    }
}
