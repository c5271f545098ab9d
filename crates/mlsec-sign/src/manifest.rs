//! The model manifest: one digest per file (or per shard of a file), in
//! model_signing's order, and the root digest over all of them.

use crate::hash::{hash_file, HashAlgo};
use crate::walk::{self, IgnorePath, ModelFile};
use crate::SignError;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// model_signing's default shard size (decimal, 1 GB).
pub const DEFAULT_SHARD_SIZE: u64 = 1_000_000_000;

/// How the model was turned into resources: recorded in the predicate so a
/// verifier can do the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serialization {
    /// `files` or `shards`.
    pub method: Method,
    pub hash_type: HashAlgo,
    pub allow_symlinks: bool,
    /// Relative paths left out, sorted.
    pub ignore_paths: Vec<IgnorePath>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Files,
    Shards { shard_size: u64 },
}

/// One hashed item: a whole file, or bytes `start..end` of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub path: String,
    /// Byte range for shards.
    pub range: Option<(u64, u64)>,
    /// `sha256`, `blake2b`, `blake3`, or `<hash>-sharded-<size>`.
    pub algorithm: String,
    pub digest: Vec<u8>,
}

impl Resource {
    /// The resource's name in the predicate: `path` or `path:start:end`.
    pub fn name(&self) -> String {
        match self.range {
            Some((s, e)) => format!("{}:{s}:{e}", self.path),
            None => self.path.clone(),
        }
    }

    fn sort_key(&self) -> (Vec<&str>, u64, u64) {
        let (s, e) = self.range.unwrap_or((0, 0));
        (walk::sort_key(&self.path), s, e)
    }
}

/// What a signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Informational: the folder's (or file's) name.
    pub model_name: String,
    pub serialization: Serialization,
    /// In model_signing's order: path components, then shard start and end.
    pub resources: Vec<Resource>,
}

impl Manifest {
    /// SHA-256 over the raw digests of all resources, in order: the subject digest.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for r in &self.resources {
            h.update(&r.digest);
        }
        h.finalize().into()
    }

    pub fn sort(&mut self) {
        self.resources
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }
}

/// The algorithm label of a resource hashed with `algo` under `method`.
pub fn algorithm_label(algo: HashAlgo, method: Method) -> String {
    match method {
        Method::Files => algo.as_str().to_string(),
        Method::Shards { shard_size } => format!("{}-sharded-{shard_size}", algo.as_str()),
    }
}

/// The work items for `files`: whole files, or shards `[0,S) [S,2S) …`
/// (an empty file has no shard, as in model_signing).
pub fn plan(files: &[ModelFile], method: Method) -> Vec<(usize, Option<(u64, u64)>)> {
    let mut items = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match method {
            Method::Files => items.push((i, None)),
            Method::Shards { shard_size } => {
                let mut start = 0;
                while start < f.size {
                    let end = start.saturating_add(shard_size).min(f.size);
                    items.push((i, Some((start, end))));
                    start = end;
                }
            }
        }
    }
    items
}

/// Hashes the model at `root` (a folder or one file) with `serialization`.
/// `only` restricts hashing to these resource paths (verify's
/// `--ignore-unsigned-files`). `progress` is called with the bytes done.
pub fn hash_model(
    root: &Path,
    serialization: &Serialization,
    only: Option<&std::collections::BTreeSet<String>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Manifest, SignError> {
    let mut files = walk::list(
        root,
        &serialization.ignore_paths,
        serialization.allow_symlinks,
    )?;
    if let Some(only) = only {
        files.retain(|f| only.contains(&f.name));
    }
    let items = plan(&files, serialization.method);
    let label = algorithm_label(serialization.hash_type, serialization.method);
    let resources: Result<Vec<Resource>, SignError> = items
        .par_iter()
        .map(|&(i, range)| {
            let f = files.get(i).ok_or_else(|| {
                SignError::Internal(format!(
                    "the hashing plan names file {i} of {}",
                    files.len()
                ))
            })?;
            let digest = hash_file(&f.path, serialization.hash_type, range)
                .map_err(|e| SignError::io(&f.path, &e))?;
            progress(range.map_or(f.size, |(s, e)| e - s));
            Ok(Resource {
                path: f.name.clone(),
                range,
                algorithm: label.clone(),
                digest,
            })
        })
        .collect();
    let mut manifest = Manifest {
        model_name: model_name(root),
        serialization: serialization.clone(),
        resources: resources?,
    };
    manifest.sort();
    Ok(manifest)
}

/// The subject name: the folder's or file's own name.
pub fn model_name(root: &Path) -> String {
    std::path::absolute(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string())
}

/// How a local model differs from a signed manifest, file by file.
#[derive(
    Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Diff {
    /// Signed files whose content differs.
    pub changed: Vec<String>,
    /// Signed files that are gone.
    pub missing: Vec<String>,
    /// Local files the signature does not cover.
    pub extra: Vec<String>,
    /// `(signed name, local name)`: a file gone and an unsigned one with its digests.
    pub renamed: Vec<(String, String)>,
    /// Signed with other parameters than the local hashing used (should not happen).
    pub algorithm_mismatch: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && self.renamed.is_empty()
            && self.algorithm_mismatch.is_empty()
    }
}

/// Compares resources as sets (what model_signing does), then explains the
/// differences per file, pairing a missing and an extra file with the same
/// digests as a rename.
pub fn diff(signed: &Manifest, local: &Manifest) -> Diff {
    type PerFile = BTreeMap<String, Vec<(Option<(u64, u64)>, String, Vec<u8>)>>;
    let group = |m: &Manifest| {
        let mut map = PerFile::new();
        for r in &m.resources {
            map.entry(r.path.clone()).or_default().push((
                r.range,
                r.algorithm.clone(),
                r.digest.clone(),
            ));
        }
        for v in map.values_mut() {
            v.sort();
        }
        map
    };
    let (signed, local) = (group(signed), group(local));
    let mut d = Diff::default();
    for (path, items) in &signed {
        match local.get(path) {
            None => d.missing.push(path.clone()),
            Some(local_items) if local_items == items => {}
            Some(local_items) => {
                let same_algorithms = local_items
                    .iter()
                    .map(|i| &i.1)
                    .eq(items.iter().map(|i| &i.1));
                if same_algorithms || local_items.len() != items.len() {
                    d.changed.push(path.clone());
                } else {
                    d.algorithm_mismatch.push(path.clone());
                }
            }
        }
    }
    // A missing file whose exact content turns up under a new name was renamed.
    let mut extra_by_content: BTreeMap<&Vec<_>, Vec<String>> = BTreeMap::new();
    for (path, content) in &local {
        if !signed.contains_key(path) {
            d.extra.push(path.clone());
            extra_by_content
                .entry(content)
                .or_default()
                .push(path.clone());
        }
    }
    let mut renamed = Vec::new();
    d.missing.retain(|path| {
        // Every missing path is a key of `signed`.
        let Some(content) = signed.get(path) else {
            return true;
        };
        if content.is_empty() {
            return true; // an empty file has no shards to match on
        }
        match extra_by_content
            .get_mut(content)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
        {
            Some(new) => {
                renamed.push((path.clone(), new));
                false
            }
            None => true,
        }
    });
    d.extra.retain(|p| !renamed.iter().any(|(_, new)| new == p));
    d.renamed = renamed;
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str, range: Option<(u64, u64)>, d: u8) -> Resource {
        Resource {
            path: path.into(),
            range,
            algorithm: "sha256".into(),
            digest: vec![d; 32],
        }
    }

    fn manifest(resources: Vec<Resource>) -> Manifest {
        Manifest {
            model_name: "m".into(),
            serialization: Serialization {
                method: Method::Files,
                hash_type: HashAlgo::Sha256,
                allow_symlinks: false,
                ignore_paths: vec![],
            },
            resources,
        }
    }

    #[test]
    fn shards_sort_numerically_and_cover_the_file() {
        let files = [
            ModelFile {
                name: "w".into(),
                path: "w".into(),
                size: 25,
            },
            ModelFile {
                name: "e".into(),
                path: "e".into(),
                size: 0,
            },
        ];
        let items = plan(&files, Method::Shards { shard_size: 10 });
        assert_eq!(
            items,
            [(0, Some((0, 10))), (0, Some((10, 20))), (0, Some((20, 25)))]
        );
        let mut m = manifest(vec![
            res("w", Some((9, 10)), 1),
            res("w", Some((1048576, 2)), 2),
        ]);
        m.sort();
        assert_eq!(m.resources[0].name(), "w:9:10");
    }

    #[test]
    fn root_digest_is_sha256_of_raw_digests_in_order() {
        let m = manifest(vec![res("a", None, 1), res("b", None, 2)]);
        let mut raw = vec![1u8; 32];
        raw.extend([2u8; 32]);
        assert_eq!(m.root_digest().to_vec(), HashAlgo::Sha256.digest(&raw));
    }

    #[test]
    fn diff_names_changed_missing_extra_and_renamed_files() {
        let signed = manifest(vec![
            res("a", None, 1),
            res("b", None, 2),
            res("c", None, 3),
            res("d", None, 4),
        ]);
        let local = manifest(vec![
            res("a", None, 1),
            res("b", None, 9),
            res("c2", None, 3),
            res("e", None, 5),
        ]);
        let d = diff(&signed, &local);
        assert_eq!(d.changed, ["b"]);
        assert_eq!(d.missing, ["d"]);
        assert_eq!(d.extra, ["e"]);
        assert_eq!(d.renamed, [("c".to_string(), "c2".to_string())]);
        assert!(diff(&signed, &signed).is_empty());
    }
}
