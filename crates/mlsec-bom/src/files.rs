//! Walking a model folder: every regular file with its SHA-256, size and the
//! format detected from its content.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// A folder with more files than this is not a model folder; refuse rather
/// than produce a BOM nobody can read.
pub const MAX_FILES: usize = 100_000;
/// Folders nested deeper than this are not walked.
const MAX_DEPTH: usize = 64;
/// Format detection looks at this many leading bytes: an HDF5 superblock may
/// follow a user block of up to 1 MiB. The prefix is hashed like the rest.
const SNIFF_BYTES: usize = 1 << 20;

/// One file of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the model folder, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    /// The format `mlsec_formats::detect` recognised (`unknown` when none).
    pub format: &'static str,
}

/// Lists every regular file under `root` in path order, skipping `.git`. A
/// symbolic link is an error naming it (as model_signing does by default): what
/// it points at may lie outside the folder, and a BOM that silently left it out
/// would not describe what a loader reads.
pub fn walk(root: &Path) -> Result<Vec<FileEntry>, String> {
    let mut out = Vec::new();
    visit(root, root, 0, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn visit(root: &Path, dir: &Path, depth: usize, out: &mut Vec<FileEntry>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{}: nested deeper than {MAX_DEPTH} folders",
            dir.display()
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if kind.is_dir() {
            if entry.file_name() == ".git" {
                continue;
            }
            visit(root, &path, depth + 1, out)?;
        } else if kind.is_file() {
            if out.len() >= MAX_FILES {
                return Err(format!("{}: more than {MAX_FILES} files", root.display()));
            }
            out.push(describe(root, &path)?);
        } else if kind.is_symlink() {
            return Err(format!(
                "{}: symbolic link; a BOM lists only files inside the model folder \
                 (copy the target in, or point mlsec at the real folder)",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Hashes `path` in one streaming pass and detects its format from the first
/// bytes; the relative name is taken from `root`.
pub fn describe(root: &Path, path: &Path) -> Result<FileEntry, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(err)?;
    hasher.update(&head);
    let mut size = head.len() as u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
        size = size.saturating_add(n as u64);
    }
    let rel = path.strip_prefix(root).unwrap_or(path);
    let rel = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Ok(FileEntry {
        path: rel,
        size,
        sha256: hex(&hasher.finalize()),
        format: mlsec_formats::detect(&head).name(),
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
