//! Dataset manifests (`mlsec.data-manifest/v1`): per file its SHA-256 and size,
//! and for tables (CSV, JSONL, Parquet) the row and column counts, the schema, a
//! 16-byte digest per row and a Merkle root over those digests.
//!
//! ## Row digests
//! A row's digest is the first 16 bytes of SHA-256 over an unambiguous encoding of
//! its cells, prefixed by the domain tag `mlsec-row/v1\0`:
//! - CSV and Parquet (positional columns): for each cell in column order, a tag
//!   byte (0 null, 1 string, 2 other value) then the value's UTF-8 length as u64
//!   little-endian then its bytes. Column names are not part of the row (a renamed
//!   column is a schema change, not a change of every row).
//! - JSONL (named columns): for each key in byte order of the key, the key's length
//!   (u64 LE) and bytes, then the cell encoded as above. Key order in the line and
//!   whitespace do not matter; a string `"1"` and a number `1` differ.
//!
//! Parquet non-string values are encoded as Arrow displays them; JSON non-string
//! values as compact JSON. The encoding does not depend on how the file quotes or
//! escapes a value: `a,"b"` and `a,b` are the same row.
//!
//! ## Merkle root
//! RFC 6962 (Certificate Transparency) hashing over the row digests: a leaf is
//! SHA-256(0x00 ‖ digest16), an inner node SHA-256(0x01 ‖ left ‖ right), the
//! left subtree holding the largest power of two below the count; an empty table's
//! root is SHA-256 of nothing. It is computed streaming in O(log n) memory.
//!
//! ## Size
//! Row digests are stored as one base64 string per table: 16 bytes per row, so
//! 1 M rows take 21 MB of manifest and 100 M rows 2.1 GB. Pass `--no-row-digests`
//! for such tables: the Merkle root and counts are kept, and verification then says
//! that rows differ without saying which.

use crate::read::{ipynb, Cell, ReadOptions, Row, Skipped, Table};
use crate::{DataError, DataFormat, DatasetError};
use base64::Engine;
pub(crate) use mlsec_core::digest::hex;
use mlsec_core::digest::sha256_stream;
use mlsec_core::walk::{EntryKind, WalkError, WalkOptions};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Schema id of a data manifest.
pub const MANIFEST_SCHEMA: &str = "mlsec.data-manifest/v1";
/// Name of the row digest scheme recorded in manifests.
pub const ROW_DIGEST_SCHEME: &str = "mlsec-row/v1:sha256-128";
/// Bytes kept of each row's SHA-256.
pub const ROW_DIGEST_BYTES: usize = 16;

pub type RowDigest = [u8; ROW_DIGEST_BYTES];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub created: String,
    pub tool: mlsec_core::Tool,
    /// Where the data came from (a URI given with `--source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub row_digest: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the folder given (or the file name of a file given), `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub format: DataFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    pub rows: u64,
    pub columns: u64,
    pub schema: Vec<Column>,
    /// RFC 6962 Merkle root over the row digests, hex.
    pub merkle_root: String,
    /// The row digests, 16 bytes each, concatenated and base64-encoded; absent
    /// when written with `--no-row-digests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_digests: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// `integer`, `float`, `boolean`, `string`, `null`, JSON kinds, `a|b` when
    /// mixed; for Parquet the Arrow type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// How a manifest is built.
#[derive(Debug, Clone, Default)]
pub struct ManifestOptions {
    pub source: Option<String>,
    pub read: ReadOptions,
    pub no_row_digests: bool,
    /// Files to leave out (the manifest being written, when inside a folder given).
    pub exclude: Vec<PathBuf>,
}

/// A file found under the paths given, with its manifest key.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub key: String,
    pub path: PathBuf,
}

/// A symbolic link found in a folder given, with its manifest key and where it
/// points (as stored in the link, not resolved).
///
/// Links are never followed: what one points to can change (or point outside
/// the dataset, or back to a folder above) without anything in the folder
/// changing, so a manifest cannot pin it. They are not skipped either: a
/// training loader reading the folder follows them, so `build` refuses a
/// folder holding one and `verify` reports each as [`rules::SYMLINK`].
///
/// [`rules::SYMLINK`]: crate::rules::SYMLINK
#[derive(Debug, Clone)]
pub struct DataLink {
    pub key: String,
    pub path: PathBuf,
    pub target: String,
}

/// What the walk found under the paths given.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub files: Vec<DataFile>,
    pub links: Vec<DataLink>,
}

/// One entry the walk found: a regular file, or a link and its target.
enum Found {
    File,
    Link(String),
}

/// The regular files under `paths`, keyed relative to the folder given (a file
/// given by itself is keyed by its name), and the symbolic links met in the
/// folders, which are not followed. Other entries (FIFOs, sockets, devices)
/// are left out.
pub fn collect(paths: &[PathBuf], exclude: &[PathBuf]) -> Result<Collected, DatasetError> {
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    let mut out: BTreeMap<String, (PathBuf, Found)> = BTreeMap::new();
    for root in paths {
        let meta = std::fs::symlink_metadata(root).map_err(|e| DatasetError::io(root, &e))?;
        let mut found = Vec::new();
        if meta.is_dir() {
            walk(root, &mut found)?;
        } else if meta.is_file() {
            let name = root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    DatasetError::Usage(format!("{}: not a file name", root.display()))
                })?;
            found.push((name, root.clone(), Found::File));
        } else {
            return Err(DatasetError::Usage(format!(
                "{}: not a regular file or folder",
                root.display()
            )));
        }
        for (key, path, kind) in found {
            // A link is never the manifest being written (that is a file), and
            // resolving it to compare would follow it.
            if matches!(kind, Found::File)
                && path.canonicalize().is_ok_and(|c| exclude.contains(&c))
            {
                continue;
            }
            if let Some((other, _)) = out.insert(key.clone(), (path.clone(), kind)) {
                return Err(DatasetError::Usage(format!(
                    "{} and {} both have the manifest name `{key}`; give their common folder instead",
                    other.display(),
                    path.display()
                )));
            }
        }
    }
    let mut collected = Collected::default();
    for (key, (path, kind)) in out {
        match kind {
            Found::File => collected.files.push(DataFile { key, path }),
            Found::Link(target) => collected.links.push(DataLink { key, path, target }),
        }
    }
    Ok(collected)
}

/// The regular files of [`collect`], for readers that only look at content
/// (`mlsec data pii`); links are left out.
pub fn collect_files(
    paths: &[PathBuf],
    exclude: &[PathBuf],
) -> Result<Vec<DataFile>, DatasetError> {
    Ok(collect(paths, exclude)?.files)
}

fn walk(root: &Path, out: &mut Vec<(String, PathBuf, Found)>) -> Result<(), DatasetError> {
    let options = WalkOptions {
        // A manifest pins every file a loader could read, `.git` included.
        skip_dirs: &[],
        ..WalkOptions::default()
    };
    let entries = mlsec_core::walk::walk(root, &options).map_err(|e| match e {
        WalkError::Root(path, e) => DatasetError::io(&path, &e),
        e => DatasetError::Usage(e.to_string()),
    })?;
    for entry in entries {
        let found = match &entry.kind {
            EntryKind::File => Found::File,
            EntryKind::Link { target, .. } => Found::Link(target.to_string_lossy().into_owned()),
            EntryKind::Unreadable(e) => return Err(DatasetError::io(&entry.path, e)),
            EntryKind::TooDeep => {
                return Err(DatasetError::Usage(format!(
                    "{}: nested deeper than {} folders",
                    entry.path.display(),
                    options.max_depth
                )))
            }
            // FIFOs, sockets and devices hold no data to pin; never opened.
            EntryKind::Special(_) => continue,
        };
        out.push((entry.rel_posix(), entry.path, found));
    }
    Ok(())
}

/// Most links named in the error of [`build`].
const LINKS_NAMED: usize = 10;

/// Why [`build`] refuses a dataset holding symbolic links, naming them.
fn links_refused(links: &[DataLink]) -> String {
    let mut s = format!(
        "{} symbolic link(s) in the data ({}): mlsec does not follow links, so a manifest cannot pin what they point to; replace each with a copy of its target, or remove it",
        links.len(),
        crate::rules::SYMLINK.id
    );
    for l in links.iter().take(LINKS_NAMED) {
        s.push_str(&format!("\n  {} -> {}", l.path.display(), l.target));
    }
    if links.len() > LINKS_NAMED {
        s.push_str(&format!("\n  and {} more", links.len() - LINKS_NAMED));
    }
    s
}

/// SHA-256 of a whole file, hex.
pub fn file_sha256(path: &Path) -> Result<(String, u64), DataError> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, &e))?;
    let (digest, size) = sha256_stream(&[], file).map_err(|e| DataError::io(path, &e))?;
    Ok((hex(&digest), size))
}

fn put_cell(hasher: &mut Sha256, cell: &Cell) {
    let (tag, bytes): (u8, &[u8]) = match cell {
        Cell::Null => (0, b""),
        Cell::Text(s) => (1, s.as_bytes()),
        Cell::Other(s) => (2, s.as_bytes()),
    };
    hasher.update([tag]);
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// The digest of one row (see the module docs for the encoding).
pub fn row_digest(format: DataFormat, row: &Row) -> RowDigest {
    let mut hasher = Sha256::new();
    hasher.update(b"mlsec-row/v1\0");
    if format == DataFormat::Jsonl {
        let mut cells: Vec<&(std::sync::Arc<str>, Cell)> = row.cells.iter().collect();
        cells.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (name, cell) in cells {
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            put_cell(&mut hasher, cell);
        }
    } else {
        for (_, cell) in &row.cells {
            put_cell(&mut hasher, cell);
        }
    }
    let full = hasher.finalize();
    let mut out = [0u8; ROW_DIGEST_BYTES];
    out.copy_from_slice(
        full.get(..ROW_DIGEST_BYTES)
            .unwrap_or(&[0; ROW_DIGEST_BYTES]),
    );
    out
}

/// RFC 6962 Merkle tree hash built leaf by leaf in O(log n) memory.
#[derive(Debug, Default, Clone)]
pub struct MerkleBuilder {
    /// Roots of complete subtrees, largest first, with their heights.
    stack: Vec<(u32, [u8; 32])>,
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

impl MerkleBuilder {
    pub fn push(&mut self, leaf: &[u8]) {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(leaf);
        let mut current: (u32, [u8; 32]) = (0, h.finalize().into());
        while let Some(&(height, left)) = self.stack.last() {
            if height != current.0 {
                break;
            }
            self.stack.pop();
            current = (height + 1, node(&left, &current.1));
        }
        self.stack.push(current);
    }

    /// The root: complete subtrees folded right to left.
    pub fn root(&self) -> [u8; 32] {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return Sha256::digest(b"").into();
        };
        for (_, left) in iter {
            acc = node(left, &acc);
        }
        acc
    }
}

/// Merkle root of a sequence of row digests.
pub fn merkle_root(digests: &[RowDigest]) -> [u8; 32] {
    let mut m = MerkleBuilder::default();
    digests.iter().for_each(|d| m.push(d));
    m.root()
}

/// Kinds of values seen in a column, for the schema.
#[derive(Debug, Default, Clone, Copy)]
struct Kinds(u16);

const KIND_NAMES: [&str; 8] = [
    "null", "boolean", "integer", "float", "string", "array", "object", "number",
];

impl Kinds {
    fn add(&mut self, i: usize) {
        self.0 |= 1 << i;
    }

    fn add_text(&mut self, s: &str, csv: bool) {
        if !csv {
            return self.add(4);
        }
        let t = s.trim();
        if t.is_empty() {
            self.add(0)
        } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
            self.add(1)
        } else if t.parse::<i64>().is_ok() {
            self.add(2)
        } else if t.parse::<f64>().is_ok() {
            self.add(3)
        } else {
            self.add(4)
        }
    }

    fn add_json(&mut self, s: &str) {
        match s.as_bytes().first() {
            Some(b'[') => self.add(5),
            Some(b'{') => self.add(6),
            Some(b't') | Some(b'f') => self.add(1),
            _ if s.parse::<i64>().is_ok() => self.add(2),
            _ => self.add(3),
        }
    }

    fn name(self) -> String {
        let mut bits = self.0;
        // CSV: integers among floats are floats.
        if bits & (1 << 3) != 0 {
            bits &= !(1 << 2);
        }
        let names: Vec<&str> = KIND_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        if names.is_empty() {
            "null".to_string()
        } else {
            names.join("|")
        }
    }
}

/// What reading a table yields for a manifest.
#[derive(Debug, Clone)]
pub struct TableDigest {
    pub entry: TableEntry,
    pub digests: Vec<RowDigest>,
    pub skipped: Skipped,
}

/// Reads every row of the table at `path`: digests, Merkle root, counts, schema.
pub fn digest_table(
    path: &Path,
    format: DataFormat,
    opts: &ReadOptions,
    keep_digests: bool,
) -> Result<TableDigest, DataError> {
    let mut table = Table::open(path, format, opts)?;
    let mut merkle = MerkleBuilder::default();
    let mut digests = Vec::new();
    let mut rows = 0u64;
    let mut kinds: BTreeMap<std::sync::Arc<str>, Kinds> = BTreeMap::new();
    for row in table.by_ref() {
        let row = row?;
        let d = row_digest(format, &row);
        merkle.push(&d);
        if keep_digests {
            digests.push(d);
        }
        rows += 1;
        if format != DataFormat::Parquet {
            for (name, cell) in &row.cells {
                let k = kinds.entry(name.clone()).or_default();
                match cell {
                    Cell::Null => k.add(0),
                    Cell::Text(s) => k.add_text(s, format == DataFormat::Csv),
                    Cell::Other(s) => k.add_json(s),
                }
            }
        }
    }
    let schema: Vec<Column> = match &table {
        Table::Parquet(p) => p
            .file()
            .schema()
            .fields()
            .iter()
            .map(|f| Column {
                name: f.name().clone(),
                kind: f.data_type().to_string(),
            })
            .collect(),
        _ => table
            .columns()
            .iter()
            .map(|name| Column {
                name: name.to_string(),
                kind: kinds.get(name).copied().unwrap_or_default().name(),
            })
            .collect(),
    };
    let row_digests = keep_digests.then(|| {
        let mut raw = Vec::with_capacity(digests.len() * ROW_DIGEST_BYTES);
        digests.iter().for_each(|d| raw.extend_from_slice(d));
        base64::engine::general_purpose::STANDARD.encode(raw)
    });
    Ok(TableDigest {
        entry: TableEntry {
            rows,
            columns: schema.len() as u64,
            schema,
            merkle_root: hex(&merkle.root()),
            row_digests,
        },
        digests,
        skipped: table.skipped(),
    })
}

/// Decodes a table entry's row digests, checking them against its row count and
/// Merkle root. `Ok(None)` when the manifest holds none.
pub fn decode_row_digests(entry: &TableEntry) -> Result<Option<Vec<RowDigest>>, String> {
    let Some(b64) = &entry.row_digests else {
        return Ok(None);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("row digests are not base64: {e}"))?;
    if raw.len() % ROW_DIGEST_BYTES != 0 || (raw.len() / ROW_DIGEST_BYTES) as u64 != entry.rows {
        return Err(format!(
            "row digests hold {} bytes, not {} rows of {ROW_DIGEST_BYTES}",
            raw.len(),
            entry.rows
        ));
    }
    let digests: Vec<RowDigest> = raw
        .chunks_exact(ROW_DIGEST_BYTES)
        .map(|c| {
            let mut d = [0u8; ROW_DIGEST_BYTES];
            d.copy_from_slice(c);
            d
        })
        .collect();
    if hex(&merkle_root(&digests)) != entry.merkle_root {
        return Err("row digests do not match the Merkle root".into());
    }
    Ok(Some(digests))
}

/// What one file contributes to a manifest, and the rows skipped reading it.
#[derive(Debug, Clone)]
pub struct FileDigest {
    pub entry: FileEntry,
    pub digests: Vec<RowDigest>,
    pub skipped: Skipped,
}

/// Hashes one file and, for a table, its rows.
pub fn digest_file(
    file: &DataFile,
    opts: &ReadOptions,
    keep_digests: bool,
) -> Result<FileDigest, DataError> {
    let format = crate::detect(&file.path)?;
    let (sha256, size) = file_sha256(&file.path)?;
    let (table, digests, skipped) = if format.is_table() {
        let t = digest_table(&file.path, format, opts, keep_digests)?;
        (Some(t.entry), t.digests, t.skipped)
    } else {
        if format == DataFormat::Ipynb {
            // Check it parses, so a manifest never pins an unreadable notebook silently.
            ipynb::load(&file.path, opts)?;
        }
        (None, Vec::new(), Skipped::default())
    };
    Ok(FileDigest {
        entry: FileEntry {
            path: file.key.clone(),
            size,
            sha256,
            format,
            table,
        },
        digests,
        skipped,
    })
}

/// Builds the manifest of `paths`, files in parallel. Fails on the first file that
/// cannot be read (a manifest never pins a file it could not read), and on
/// symbolic links in a folder given (it cannot pin what they point to; see
/// [`DataLink`]). Returns the skipped rows per file too.
pub fn build(
    paths: &[PathBuf],
    opts: &ManifestOptions,
) -> Result<(Manifest, Vec<(String, Skipped)>), DatasetError> {
    let Collected { files, links } = collect(paths, &opts.exclude)?;
    if !links.is_empty() {
        return Err(DatasetError::Usage(links_refused(&links)));
    }
    let digests: Vec<FileDigest> = files
        .par_iter()
        .map(|f| digest_file(f, &opts.read, !opts.no_row_digests))
        .collect::<Result<_, _>>()?;
    let mut skipped = Vec::new();
    let mut entries = Vec::with_capacity(digests.len());
    for d in digests {
        if d.skipped.count > 0 {
            skipped.push((d.entry.path.clone(), d.skipped));
        }
        entries.push(d.entry);
    }
    Ok((
        Manifest {
            schema: MANIFEST_SCHEMA.to_string(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            tool: mlsec_core::Tool {
                name: "mlsec".into(),
                version: mlsec_core::TOOL_VERSION.into(),
            },
            source: opts.source.clone(),
            row_digest: ROW_DIGEST_SCHEME.to_string(),
            files: entries,
        },
        skipped,
    ))
}

impl Manifest {
    /// The manifest as written to disk: pretty JSON, newline-terminated. These are
    /// the bytes a signature (DSSE payload) covers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = serde_json::to_vec_pretty(self).unwrap_or_default();
        s.push(b'\n');
        s
    }

    /// Parses manifest bytes, checking the schema id.
    pub fn from_bytes(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not a data manifest: {e}"))?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(format!(
                "unknown manifest schema `{}` (expected {MANIFEST_SCHEMA})",
                m.schema
            ));
        }
        if m.row_digest != ROW_DIGEST_SCHEME {
            return Err(format!(
                "unknown row digest scheme `{}` (expected {ROW_DIGEST_SCHEME})",
                m.row_digest
            ));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(i: u8) -> RowDigest {
        [i; ROW_DIGEST_BYTES]
    }

    /// The recursive RFC 6962 definition, to check the streaming builder against.
    fn mth(leaves: &[RowDigest]) -> [u8; 32] {
        match leaves.len() {
            0 => Sha256::digest(b"").into(),
            1 => {
                let mut h = Sha256::new();
                h.update([0u8]);
                h.update(leaves[0]);
                h.finalize().into()
            }
            n => {
                let k = (n - 1).next_power_of_two() / if (n - 1).is_power_of_two() { 1 } else { 2 };
                let k = if k >= n { k / 2 } else { k };
                node(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn streaming_merkle_matches_rfc6962_for_every_size() {
        for n in 0..40u8 {
            let leaves: Vec<RowDigest> = (0..n).map(d).collect();
            assert_eq!(merkle_root(&leaves), mth(&leaves), "n={n}");
        }
    }

    #[test]
    fn row_encoding_is_unambiguous() {
        let row = |cells: Vec<Cell>| Row {
            number: 1,
            line: None,
            cells: cells
                .into_iter()
                .map(|c| (std::sync::Arc::from("c"), c))
                .collect(),
        };
        let ab = row(vec![Cell::Text("ab".into()), Cell::Text("".into())]);
        let a_b = row(vec![Cell::Text("a".into()), Cell::Text("b".into())]);
        let null = row(vec![Cell::Null, Cell::Text("".into())]);
        let empty = row(vec![Cell::Text("".into()), Cell::Text("".into())]);
        let num = row(vec![Cell::Other("1".into())]);
        let str1 = row(vec![Cell::Text("1".into())]);
        assert_ne!(
            row_digest(DataFormat::Csv, &ab),
            row_digest(DataFormat::Csv, &a_b)
        );
        assert_ne!(
            row_digest(DataFormat::Csv, &null),
            row_digest(DataFormat::Csv, &empty)
        );
        assert_ne!(
            row_digest(DataFormat::Jsonl, &num),
            row_digest(DataFormat::Jsonl, &str1)
        );
    }
}
