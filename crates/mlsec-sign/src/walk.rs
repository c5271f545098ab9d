//! Listing a model's files the way model_signing does: every regular file under
//! the root, named by its POSIX path relative to the root; ignored paths match by
//! leading path components; symlinks are an error unless allowed.

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

    fn covers(&self, name: &[&str]) -> bool {
        self.0.len() <= name.len() && self.0.iter().zip(name).all(|(a, b)| a == b)
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
) -> Result<Vec<ModelFile>, String> {
    let show = |p: &Path| p.display().to_string();
    let meta = fs::symlink_metadata(root).map_err(|e| format!("{}: {e}", show(root)))?;
    if meta.file_type().is_symlink() && !allow_symlinks {
        return Err(format!(
            "{}: is a symbolic link (use --allow-symlinks to follow links)",
            show(root)
        ));
    }
    let meta = fs::metadata(root).map_err(|e| format!("{}: {e}", show(root)))?;
    if meta.is_file() {
        return Ok(vec![ModelFile {
            name: ".".into(),
            path: root.to_path_buf(),
            size: meta.len(),
        }]);
    }
    if !meta.is_dir() {
        return Err(format!("{}: not a regular file or folder", show(root)));
    }
    let real_root = fs::canonicalize(root).map_err(|e| format!("{}: {e}", show(root)))?;
    let mut files = Vec::new();
    let mut walker = Walker {
        real_root: &real_root,
        ignore,
        allow_symlinks,
        files: &mut files,
        ancestors: vec![real_root.clone()],
    };
    walker.dir(root, &mut Vec::new())?;
    files.sort_by(|a, b| sort_key(&a.name).cmp(&sort_key(&b.name)));
    Ok(files)
}

/// model_signing's order: by path components, compared as strings.
pub fn sort_key(name: &str) -> Vec<&str> {
    name.split('/').collect()
}

struct Walker<'a> {
    real_root: &'a Path,
    ignore: &'a [IgnorePath],
    allow_symlinks: bool,
    files: &'a mut Vec<ModelFile>,
    /// Real paths of the folders being walked, to stop symlink loops.
    ancestors: Vec<PathBuf>,
}

/// Guards against absurd trees (and link mazes that canonicalize differently).
const MAX_DEPTH: usize = 256;

impl Walker<'_> {
    fn dir(&mut self, dir: &Path, prefix: &mut Vec<String>) -> Result<(), String> {
        if prefix.len() > MAX_DEPTH {
            return Err(format!("{}: folders nested too deeply", dir.display()));
        }
        let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = entry.path();
            let Some(component) = entry.file_name().to_str().map(str::to_string) else {
                return Err(format!(
                    "{}: the file name is not valid UTF-8",
                    path.display()
                ));
            };
            prefix.push(component);
            let parts: Vec<&str> = prefix.iter().map(String::as_str).collect();
            if !self.ignore.iter().any(|i| i.covers(&parts)) {
                self.entry(&path, prefix)?;
            }
            prefix.pop();
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, prefix: &mut Vec<String>) -> Result<(), String> {
        let show = path.display();
        let link = fs::symlink_metadata(path).map_err(|e| format!("{show}: {e}"))?;
        let meta = if link.file_type().is_symlink() {
            if !self.allow_symlinks {
                return Err(format!(
                    "{show}: is a symbolic link (use --allow-symlinks to follow links)"
                ));
            }
            let target =
                fs::canonicalize(path).map_err(|e| format!("{show}: broken symbolic link: {e}"))?;
            if !target.starts_with(self.real_root) {
                return Err(format!(
                    "{show}: symbolic link points outside the model folder, to {}",
                    target.display()
                ));
            }
            fs::metadata(path).map_err(|e| format!("{show}: {e}"))?
        } else {
            link
        };
        if meta.is_dir() {
            let real = fs::canonicalize(path).map_err(|e| format!("{show}: {e}"))?;
            if self.ancestors.contains(&real) {
                return Err(format!("{show}: symbolic link loop"));
            }
            self.ancestors.push(real);
            self.dir(path, prefix)?;
            self.ancestors.pop();
        } else if meta.is_file() {
            self.files.push(ModelFile {
                name: prefix.join("/"),
                path: path.to_path_buf(),
                size: meta.len(),
            });
        } else {
            return Err(format!(
                "{show}: not a regular file (a device, socket or pipe cannot be signed)"
            ));
        }
        Ok(())
    }
}

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
    fn ignore_paths_match_whole_components() {
        let git = IgnorePath::parse(".git").unwrap();
        assert!(git.covers(&[".git", "HEAD"]));
        assert!(!git.covers(&[".gitfoo"]));
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
        for f in ["a.bin", "sub/deep/c", "sub.json", ".git/HEAD", "model.sig"] {
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
        assert_eq!(names, ["a.bin", "sub/deep/c", "sub.json"]);
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
        assert!(
            err.contains("link") && err.contains("--allow-symlinks"),
            "{err}"
        );
        let files = list(&root, &[], true).unwrap();
        assert_eq!(files.len(), 2);

        fs::write(dir.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink("../secret", root.join("escape")).unwrap();
        assert!(list(&root, &[], true).unwrap_err().contains("outside"));
        fs::remove_file(root.join("escape")).unwrap();

        std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
        assert!(list(&root, &[], true).unwrap_err().contains("loop"));
    }
}
