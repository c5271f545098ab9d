//! `mlsec init`: a first `mlsec.toml` for a folder, from what it holds.
//!
//! Files are told apart by extension only (nothing is opened): model files
//! make their folder a `[[model]]` (or, at the top, each file), data files a
//! `[[dataset]]` (a folder of several, one dataset), with the manifests,
//! signatures, public keys and policies found beside them filled in, and an
//! ONNX file a commented `[[validate]]`. The result is a starting point,
//! commented so a person can finish it.

use crate::project::short_name;
use crate::CheckError;
use mlsec_core::walk::{walk, EntryKind, WalkError, WalkOptions};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Model files the scanner does not name by extension (it judges content)
/// but that loaders take: SavedModel and TFLite graphs, TorchServe archives,
/// Flax checkpoints. The rest is `mlsec_scan`'s list.
const MORE_MODEL_EXTENSIONS: &[&str] = &["pb", "tflite", "mar", "msgpack"];

fn is_model_extension(ext: &str) -> bool {
    mlsec_scan::rules::general::MODEL_EXTENSIONS.contains(&ext)
        || MORE_MODEL_EXTENSIONS.contains(&ext)
}

/// Extensions of data files (as `mlsec data` reads them).
pub const DATA_EXTENSIONS: &[&str] = &["csv", "tsv", "jsonl", "ndjson", "parquet"];

/// Folders never looked into: tools' caches, environments and our own evidence.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".mlsec",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".tox",
    ".cache",
    "target",
];

/// More entries than this is not a model project to guess at.
pub const MAX_ENTRIES: usize = 200_000;

/// A folder holding this many data files or more is one dataset.
const DATA_FOLDER: usize = 3;

/// What `init` proposes: the file's text, and what it found.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub text: String,
    pub models: usize,
    pub datasets: usize,
    pub policies: usize,
}

/// Looks through `root` and writes the text of an `mlsec.toml` for it.
pub fn init(root: &Path) -> Result<Proposal, CheckError> {
    let options = WalkOptions {
        skip_dirs: SKIP_DIRS,
        max_depth: 16,
        max_entries: MAX_ENTRIES,
        ..WalkOptions::default()
    };
    let entries = walk(root, &options).map_err(|e| match e {
        WalkError::TooMany(path, n) => CheckError::Project(format!(
            "{}: more than {n} files; too many to guess at: write mlsec.toml by hand (see `mlsec check --help`)",
            path.display()
        )),
        other => CheckError::Project(other.to_string()),
    })?;
    let mut files: Vec<Vec<String>> = entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::File))
        .filter_map(|e| {
            e.rel_utf8()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
        })
        .collect();
    files.sort();
    let ext = |rel: &[String]| -> String {
        rel.last()
            .and_then(|n| Path::new(n).extension())
            .map(|x| x.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let join = |rel: &[String]| rel.join("/");
    let parent = |rel: &[String]| -> Vec<String> {
        rel.split_last()
            .map(|(_, p)| p.to_vec())
            .unwrap_or_default()
    };
    let exists = |rel: &str| files.iter().any(|f| join(f) == rel);

    // Public keys and policies anywhere in the project.
    let keys: Vec<String> = files
        .iter()
        .filter(|f| ext(f) == "pub" || (ext(f) == "pem" && is_public_key(&root.join(join(f)))))
        .map(|f| join(f))
        .collect();
    let key = keys.first().cloned();
    let mut policy_dirs: Vec<String> = files
        .iter()
        .filter(|f| ext(f) == "rego")
        .map(|f| join(&parent(f)))
        .collect();
    policy_dirs.dedup();

    // Models: the folders that hold model files, or top-level files.
    let mut model_paths: Vec<String> = Vec::new();
    for f in files.iter().filter(|f| is_model_extension(&ext(f))) {
        let dir = parent(f);
        let path = if dir.is_empty() { join(f) } else { join(&dir) };
        // A model folder inside another model folder is part of it.
        if !model_paths
            .iter()
            .any(|m| path == *m || path.starts_with(&format!("{m}/")))
        {
            model_paths.push(path);
        }
    }
    // SavedModel folders hold saved_model.pb: the folder is the model either way.

    // Datasets: a folder of several data files is one, else each file; a
    // file pinned by a manifest of its own stays a dataset of its own, so
    // that its manifest is checked.
    let pinned = |f: &[String]| {
        let d = join(f);
        exists(&format!("{}.manifest.json", strip_ext(&d))) || exists(&format!("{d}.manifest.json"))
    };
    let mut per_dir: BTreeMap<Vec<String>, Vec<&Vec<String>>> = BTreeMap::new();
    for f in files
        .iter()
        .filter(|f| DATA_EXTENSIONS.contains(&ext(f).as_str()))
    {
        per_dir.entry(parent(f)).or_default().push(f);
    }
    let mut datasets: Vec<String> = Vec::new();
    for (dir, data) in &per_dir {
        if data.len() >= DATA_FOLDER && !dir.is_empty() && !data.iter().any(|f| pinned(f)) {
            datasets.push(join(dir));
        } else {
            datasets.extend(data.iter().map(|f| join(f)));
        }
    }

    let name = short_name(&std::path::absolute(root).unwrap_or_else(|_| PathBuf::from(root)));
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# mlsec.toml: what `mlsec check` checks (written by `mlsec init`; edit freely).\n\
         # Paths are relative to this file. Reference: docs/check.md\n\n\
         [project]\nname = {}\n# evidence = \".mlsec/evidence\"   # where the evidence and the report go\n",
        toml_str(&name)
    );
    if model_paths.is_empty() {
        let _ = writeln!(
            t,
            "# No model files found (by extension: {}).\n# [[model]]\n# path = \"models/my-model\"\n",
            [mlsec_scan::rules::general::MODEL_EXTENSIONS, MORE_MODEL_EXTENSIONS]
                .concat()
                .join(", ")
        );
    }
    for m in &model_paths {
        let sig = mlsec_sign::default_signature(&root.join(m)).is_file();
        let _ = writeln!(t, "[[model]]\npath = {}", toml_str(m));
        match (sig, &key) {
            (true, Some(k)) => {
                let _ = writeln!(t, "key = {}  # model.sig is there: verify it", toml_str(k));
            }
            (true, None) => {
                let _ = writeln!(t, "# key = \"keys/release.pub\"   # model.sig is there: name the key that must have signed it");
            }
            (false, _) => {
                let _ = writeln!(t, "# key = \"keys/release.pub\"   # after `mlsec sign {m} --key ...`, verify the signature");
            }
        }
        t.push('\n');
    }
    for d in &datasets {
        let manifest = [
            format!("{}.manifest.json", strip_ext(d)),
            format!("{d}.manifest.json"),
            format!("{d}/manifest.json"),
        ]
        .into_iter()
        .find(|m| exists(m));
        let _ = writeln!(t, "[[dataset]]\npath = {}", toml_str(d));
        match &manifest {
            Some(m) => {
                let _ = writeln!(t, "manifest = {}", toml_str(m));
                match (exists(&format!("{m}.sig")), &key) {
                    (true, Some(k)) => {
                        let _ = writeln!(t, "key = {}", toml_str(k));
                    }
                    (true, None) => {
                        let _ = writeln!(
                            t,
                            "# key = \"keys/release.pub\"   # the manifest is signed: name the key"
                        );
                    }
                    (false, _) => {}
                }
            }
            None => {
                let _ = writeln!(
                    t,
                    "# manifest = \"{}.manifest.json\"   # pin it: mlsec data manifest {d} -o ...",
                    strip_ext(d)
                );
            }
        }
        let _ = writeln!(
            t,
            "# pii = false                     # leave it out of the PII scan\n"
        );
    }
    if datasets.is_empty() {
        let _ = writeln!(
            t,
            "# No data files found (by extension: {}).\n# [[dataset]]\n# path = \"data/train.csv\"\n",
            DATA_EXTENSIONS.join(", ")
        );
    }
    // An ONNX classifier can be tested before it ships, given labelled rows
    // it never trained on: which ones, only a person knows.
    for onnx in files.iter().filter(|f| ext(f) == "onnx") {
        let _ = writeln!(
            t,
            "# [[validate]]                     # test it before it ships: mlsec redteam, explain, privacy\n\
             # model = {}\n\
             # data = \"data/holdout.csv\"        # labelled rows it never trained on\n\
             # label = \"label\"\n",
            toml_str(&join(onnx))
        );
    }
    let _ = writeln!(
        t,
        "[policy]\npacks = [\"baseline\"]              # or add \"strict\""
    );
    if policy_dirs.is_empty() {
        let _ = writeln!(
            t,
            "# paths = [\"policy\"]              # your own .rego rules"
        );
    } else {
        let list: Vec<String> = policy_dirs
            .iter()
            .map(|p| toml_str(if p.is_empty() { "." } else { p }))
            .collect();
        let _ = writeln!(t, "paths = [{}]", list.join(", "));
    }
    let _ = writeln!(
        t,
        "# skip = [\"MLP005\"]               # bundled rules not to apply"
    );
    Ok(Proposal {
        text: t,
        models: model_paths.len(),
        datasets: datasets.len(),
        policies: policy_dirs.len(),
    })
}

/// A PEM file whose first block is a public key (never a private one: a
/// private key is not what a verifier should name).
fn is_public_key(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head.get(..n)
        .is_some_and(|h| h.starts_with(b"-----BEGIN PUBLIC KEY-----"))
}

fn strip_ext(path: &str) -> &str {
    match path.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') && !stem.is_empty() => stem,
        _ => path,
    }
}

/// A TOML basic string: quoted, with quotes, backslashes and control
/// characters escaped.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_round_trip() {
        for s in [
            "plain",
            "a \"quoted\" \\ path",
            "tab\there",
            "new\nline",
            "ünï",
        ] {
            let doc = format!("v = {}", toml_str(s));
            let parsed: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(parsed["v"].as_str(), Some(s));
        }
    }

    #[test]
    fn stems() {
        assert_eq!(strip_ext("data/train.csv"), "data/train");
        assert_eq!(strip_ext("data/shards"), "data/shards");
        assert_eq!(strip_ext("a.b/shards"), "a.b/shards");
    }
}
