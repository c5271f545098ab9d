//! Listing a model's files the way model_signing does: every regular file under
//! the root, named by its POSIX path relative to the root; ignored paths match by
//! leading path components; symlinks are an error unless allowed.

use crate::SignError;
use mlsec_core::walk::{EntryKind, WalkError, WalkOptions};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// One file to hash.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// POSIX path relative to the model root; `.` when the model is one file.
    pub name: String,
    /// Where to read it (a symlink's target when links are allowed).
    pub path: PathBuf,
    pub size: u64,
}

/// A path to leave out, as components relative to the model root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IgnorePath(Vec<String>);

impl IgnorePath {
    /// Parses a relative POSIX path such as `.git` or `tokenizer/extra`.
    pub fn parse(text: &str) -> Result<IgnorePath, String> {
        let parts = name_components(text)?;
        Ok(IgnorePath(parts.into_iter().map(str::to_string).collect()))
    }

    /// `path` relative to `root`, or `None` when it lies outside the root.
    pub fn from_path(root: &Path, path: &Path) -> Option<IgnorePath> {
        let abs = |p: &Path| std::path::absolute(p).ok().map(|p| normalize(&p));
        let rel = abs(path)?.strip_prefix(abs(root)?).ok()?.to_path_buf();
        let parts: Option<Vec<String>> = rel
            .components()
            .map(|c| c.as_os_str().to_str().map(str::to_string))
            .collect();
        let parts = parts?;
        (!parts.is_empty()).then_some(IgnorePath(parts))
    }

    pub fn as_posix(&self) -> String {
        self.0.join("/")
    }
}

/// Removes `.` and resolves `..` lexically (the paths come from the user).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Splits an untrusted resource name into its components, rejecting absolute
/// paths, `.` and `..` components, empty components, backslashes and NUL.
pub fn name_components(name: &str) -> Result<Vec<&str>, String> {
    if name.is_empty() {
        return Err("an empty path".into());
    }
    if name.starts_with('/') {
        return Err(format!("`{name}` is an absolute path"));
    }
    if name.contains('\0') {
        return Err(format!("`{}` contains a NUL byte", name.escape_debug()));
    }
    if name.contains('\\') {
        return Err(format!("`{name}` contains a backslash"));
    }
    let parts: Vec<&str> = name.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(format!("`{name}` has an empty, `.` or `..` component"));
    }
    Ok(parts)
}

/// Lists the files of the model at `root`, sorted in model_signing's order.
pub fn list(
    root: &Path,
    ignore: &[IgnorePath],
    allow_symlinks: bool,
) -> Result<Vec<ModelFile>, SignError> {
    let show = |p: &Path| p.display().to_string();
    let io = |e: std::io::Error| SignError::io(root, &e);
    let meta = fs::symlink_metadata(root).map_err(io)?;
    if meta.file_type().is_symlink() && !allow_symlinks {
        return Err(SignError::Model(format!(
            "{}: is a symbolic link (use --allow-symlinks to follow links)",
            show(root)
        )));
    }
    let meta = fs::metadata(root).map_err(io)?;
    if meta.is_file() {
        return Ok(vec![ModelFile {
            name: ".".into(),
            path: root.to_path_buf(),
            size: meta.len(),
        }]);
    }
    if !meta.is_dir() {
        return Err(SignError::Model(format!(
            "{}: not a regular file or folder",
            show(root)
        )));
    }
    let real_root = fs::canonicalize(root).map_err(io)?;
    let ignore: Vec<Vec<String>> = ignore.iter().map(|i| i.0.clone()).collect();
    let options = WalkOptions {
        // model_signing leaves out only the paths it is told to (`.git` at the
        // root by default, through `ignore`).
        skip_dirs: &[],
        ignore: &ignore,
        follow_links_inside: allow_symlinks,
        max_depth: MAX_DEPTH,
        max_entries: usize::MAX,
    };
    let entries = mlsec_core::walk::walk(root, &options).map_err(|e| match e {
        WalkError::Root(path, e) => SignError::io(&path, &e),
        e => SignError::Model(e.to_string()),
    })?;
    let mut files = Vec::with_capacity(entries.len());
    for entry in entries {
        let show = entry.path.display();
        let Some(parts) = entry.rel_utf8() else {
            return Err(SignError::Model(format!(
                "{show}: the file name is not valid UTF-8"
            )));
        };
        match &entry.kind {
            EntryKind::File => {
                let meta = fs::metadata(&entry.path).map_err(|e| SignError::io(&entry.path, &e))?;
                files.push(ModelFile {
                    name: parts.join("/"),
                    path: entry.path.clone(),
                    size: meta.len(),
                });
            }
            EntryKind::Link { .. } if !allow_symlinks => {
                return Err(SignError::Model(format!(
                    "{show}: is a symbolic link (use --allow-symlinks to follow links)"
                )))
            }
            EntryKind::Link { resolved: None, .. } => {
                return Err(SignError::Model(format!("{show}: broken symbolic link")))
            }
            EntryKind::Link {
                resolved: Some(target),
                ..
            } if !target.starts_with(&real_root) => {
                return Err(SignError::Model(format!(
                    "{show}: symbolic link points outside the model folder, to {}",
                    target.display()
                )))
            }
            // A link inside the folder that the walk did not follow leads to
            // neither a file nor a folder.
            EntryKind::Link { .. } | EntryKind::Special(_) => {
                return Err(SignError::Model(format!(
                    "{show}: not a regular file (a device, socket or pipe cannot be signed)"
                )))
            }
            EntryKind::Unreadable(e) => return Err(SignError::io(&entry.path, e)),
            EntryKind::TooDeep => {
                return Err(SignError::Model(format!(
                    "{show}: folders nested too deeply"
                )))
            }
        }
    }
    files.sort_by(|a, b| sort_key(&a.name).cmp(&sort_key(&b.name)));
    Ok(files)
}

/// model_signing's order: by path components, compared as strings.
pub fn sort_key(name: &str) -> Vec<&str> {
    name.split('/').collect()
}

/// Guards against absurd trees (and link mazes that canonicalize differently).
const MAX_DEPTH: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_by_components_not_bytes() {
        let mut names = vec!["weights.index.json", "weights/x", "a", "weights/a/b"];
        names.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        assert_eq!(
            names,
            ["a", "weights/a/b", "weights/x", "weights.index.json"]
        );
    }

    #[test]
    fn untrusted_names_are_checked() {
        assert!(name_components("a/b.bin").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/./b",
            "a\0b",
            "a\\b",
        ] {
            assert!(name_components(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ignore_paths_are_relative_to_the_root() {
        let root = Path::new("/m");
        assert_eq!(
            IgnorePath::from_path(root, Path::new("/m/sub/../model.sig")),
            Some(IgnorePath::parse("model.sig").unwrap())
        );
        assert_eq!(
            IgnorePath::from_path(root, Path::new("/other/model.sig")),
            None
        );
    }

    #[test]
    fn walks_nested_folders_and_ignores() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("sub/deep")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        // Ignored paths match whole leading components: `.gitfoo` and
        // `sub/.git` stay.
        fs::create_dir_all(root.join("sub/.git")).unwrap();
        for f in [
            "a.bin",
            "sub/deep/c",
            "sub.json",
            ".git/HEAD",
            "model.sig",
            ".gitfoo",
            "sub/.git/x",
        ] {
            fs::write(root.join(f), f).unwrap();
        }
        let ignore = [
            IgnorePath::parse(".git").unwrap(),
            IgnorePath::parse("model.sig").unwrap(),
        ];
        let names: Vec<String> = list(root, &ignore, false)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [".gitfoo", "a.bin", "sub/.git/x", "sub/deep/c", "sub.json"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_fail_unless_allowed_and_never_escape() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("m");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("real"), b"x").unwrap();
        std::os::unix::fs::symlink("real", root.join("link")).unwrap();
        let err = list(&root, &[], false).unwrap_err();
        assert!(matches!(err, SignError::Model(_)), "{err:?}");
        let err = err.to_string();
        assert!(
            err.contains("link") && err.contains("--allow-symlinks"),
            "{err}"
        );
        let files = list(&root, &[], true).unwrap();
        assert_eq!(files.len(), 2);

        fs::write(dir.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink("../secret", root.join("escape")).unwrap();
        let err = list(&root, &[], true).unwrap_err().to_string();
        assert!(err.contains("outside"), "{err}");
        fs::remove_file(root.join("escape")).unwrap();

        std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
        let err = list(&root, &[], true).unwrap_err().to_string();
        assert!(err.contains("loop"), "{err}");
    }
}
