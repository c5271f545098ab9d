//! Walking a model folder: every regular file with its SHA-256, size and the
//! format detected from its content.

use crate::BomError;
use mlsec_core::digest::{hex, sha256_stream};
use mlsec_core::walk::{EntryKind, WalkError, WalkOptions};
use mlsec_core::Limits;
use std::io::Read;
use std::path::Path;

/// A folder with more entries than this is not a model folder; refuse rather
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
    /// For safetensors files whose header fits the sniffed prefix: the number
    /// of tensors and of parameters (elements) they declare.
    pub tensors: Option<TensorStats>,
    /// What the file says about the model, as model card property names and
    /// values: GGUF `general.*` metadata (`mlsec:gguf:general.name`), an ONNX
    /// model's inputs, outputs and opsets (`mlsec:onnx:input`).
    pub card: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorStats {
    pub tensors: u64,
    pub parameters: u64,
}

/// Counts tensors and parameters from a safetensors header. `None` when the
/// header is not fully in `head` or cannot be read; counts saturate.
fn safetensors_stats(head: &[u8]) -> Option<TensorStats> {
    let header = mlsec_formats::safetensors::parse(head, head.len() as u64).ok()?;
    let parameters = header.tensors.iter().fold(0u64, |sum, t| {
        let elements = t
            .shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .unwrap_or(u64::MAX);
        sum.saturating_add(elements)
    });
    Some(TensorStats {
        tensors: header.tensors.len() as u64,
        parameters,
    })
}

/// ONNX files up to this size are read whole for their signature (it lies in
/// the graph, and the opsets follow the graph); bigger ones are left out.
const MAX_ONNX_BYTES: u64 = 256 << 20;
/// At most this many characters of one GGUF metadata value go into the BOM.
const MAX_VALUE_CHARS: usize = 1024;
/// At most this many elements of a GGUF string array are listed.
const MAX_ARRAY_ITEMS: usize = 64;

/// The `general.*` entries of a GGUF header (`general.name`,
/// `general.architecture`, `general.license`, ...). Reading stops where the
/// prefix ends; what was read before stays. Values are shortened to
/// [`MAX_VALUE_CHARS`]; arrays other than of strings are left out.
fn gguf_general(head: &[u8]) -> Vec<(String, String)> {
    use mlsec_formats::gguf::{parse, Value};
    let g = parse(head);
    g.kvs
        .iter()
        .filter(|kv| kv.key.starts_with(b"general."))
        .filter_map(|kv| {
            let text = match &kv.value {
                Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
                Value::Uint(_, n) => n.to_string(),
                Value::Int(_, n) => n.to_string(),
                Value::Float(_, x) => x.to_string(),
                Value::Bool(b) => (*b != 0).to_string(),
                Value::Array(a) => {
                    let items: Vec<_> = a
                        .strings()
                        .take(MAX_ARRAY_ITEMS)
                        .map(String::from_utf8_lossy)
                        .collect();
                    if items.is_empty() {
                        return None;
                    }
                    items.join(", ")
                }
            };
            Some((
                format!("mlsec:gguf:{}", kv.key_str()),
                text.chars().take(MAX_VALUE_CHARS).collect(),
            ))
        })
        .collect()
}

/// Lists every regular file under `root` in path order, skipping `.git`. A
/// symbolic link is an error naming it (as model_signing does by default): what
/// it points at may lie outside the folder, and a BOM that silently left it out
/// would not describe what a loader reads.
///
/// `skip` (the BOM's own output file, when it is written into the folder) is
/// left out, so that writing a BOM twice gives the same file list.
pub fn walk(root: &Path, skip: Option<&Path>, limits: &Limits) -> Result<Vec<FileEntry>, BomError> {
    let skip = skip.and_then(|p| Some((p.file_name()?.to_owned(), std::fs::canonicalize(p).ok()?)));
    let options = WalkOptions {
        max_depth: MAX_DEPTH,
        max_entries: MAX_FILES,
        ..WalkOptions::default()
    };
    let entries = mlsec_core::walk::walk(root, &options).map_err(|e| match e {
        WalkError::Root(path, e) => BomError::io(&path, &e),
        e => BomError::Usage(e.to_string()),
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let path = &entry.path;
        match entry.kind {
            EntryKind::File => {
                let is_skipped = skip.as_ref().is_some_and(|(name, target)| {
                    entry.rel.last() == Some(name)
                        && std::fs::canonicalize(path).is_ok_and(|p| p == *target)
                });
                if !is_skipped {
                    out.push(describe(root, path, limits)?);
                }
            }
            EntryKind::Link { .. } => {
                return Err(BomError::Usage(format!(
                    "{}: symbolic link; a BOM lists only files inside the model folder \
                     (copy the target in, or point mlsec at the real folder)",
                    path.display()
                )))
            }
            EntryKind::Unreadable(e) => return Err(BomError::io(path, &e)),
            EntryKind::TooDeep => {
                return Err(BomError::Usage(format!(
                    "{}: nested deeper than {MAX_DEPTH} folders",
                    path.display()
                )))
            }
            // A FIFO, socket or device is no part of a model; never opened.
            EntryKind::Special(_) => {}
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Hashes `path` in one streaming pass and detects its format from the first
/// bytes; the relative name is taken from `root`.
pub fn describe(root: &Path, path: &Path, limits: &Limits) -> Result<FileEntry, BomError> {
    let err = |e: std::io::Error| BomError::io(path, &e);
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut head = Vec::new();
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(err)?;
    let (digest, size) = sha256_stream(&head, file).map_err(err)?;
    let rel = path.strip_prefix(root).unwrap_or(path);
    let rel = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let format = mlsec_formats::detect(&head);
    let card = if format == mlsec_formats::Format::Gguf {
        gguf_general(&head)
    } else if format == mlsec_formats::Format::Unknown
        && size <= MAX_ONNX_BYTES
        && mlsec_formats::onnx::sniff(&head) != mlsec_formats::onnx::Sniff::NotOnnx
    {
        let tree = mlsec_scan::tree_limits(limits);
        if size == head.len() as u64 {
            crate::onnx::card_properties(&head, tree)
        } else {
            crate::onnx::card_properties(&std::fs::read(path).map_err(err)?, tree)
        }
    } else {
        Vec::new()
    };
    Ok(FileEntry {
        path: rel,
        size,
        sha256: hex(&digest),
        format: format.name(),
        tensors: (format == mlsec_formats::Format::Safetensors)
            .then(|| safetensors_stats(&head))
            .flatten(),
        card,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safetensors(header: &str) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&[0u8; 40]);
        out
    }

    #[test]
    fn counts_tensors_and_parameters() {
        let data = safetensors(
            r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[4],"data_offsets":[24,40]}}"#,
        );
        let stats = safetensors_stats(&data).unwrap();
        assert_eq!(
            stats,
            TensorStats {
                tensors: 2,
                parameters: 10
            }
        );
    }

    /// A GGUF v3 header with the given string entries and no tensors.
    fn gguf(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(0u64.to_le_bytes());
        out.extend((entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            out.extend((k.len() as u64).to_le_bytes());
            out.extend(k.as_bytes());
            out.extend(8u32.to_le_bytes());
            out.extend((v.len() as u64).to_le_bytes());
            out.extend(v.as_bytes());
        }
        out
    }

    #[test]
    fn gguf_general_metadata_is_kept_and_other_keys_are_not() {
        let data = gguf(&[
            ("general.architecture", "llama"),
            ("general.name", "tiny-llama"),
            ("tokenizer.chat_template", "{{ messages }}"),
        ]);
        assert_eq!(
            gguf_general(&data),
            [
                (
                    "mlsec:gguf:general.architecture".to_string(),
                    "llama".to_string()
                ),
                (
                    "mlsec:gguf:general.name".to_string(),
                    "tiny-llama".to_string()
                )
            ]
        );
    }

    #[test]
    fn gguf_cut_short_keeps_what_was_read_and_long_values_are_shortened() {
        let long = "x".repeat(5000);
        let mut data = gguf(&[("general.description", &long), ("general.name", "m")]);
        assert_eq!(gguf_general(&data)[0].1.len(), MAX_VALUE_CHARS);
        data.truncate(data.len() - 3);
        assert_eq!(gguf_general(&data).len(), 1, "the cut entry is left out");
        // A declared key length far past the input gives nothing, not a panic.
        let mut huge = gguf(&[]);
        huge.truncate(16);
        huge.extend(1u64.to_le_bytes());
        huge.extend(u64::MAX.to_le_bytes());
        assert_eq!(gguf_general(&huge), []);
    }

    #[test]
    fn overflowing_shapes_saturate_and_bad_headers_give_none() {
        let data = safetensors(
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,40]}}"#,
        );
        assert_eq!(
            safetensors_stats(&data).map(|s| s.parameters),
            Some(u64::MAX)
        );
        assert_eq!(
            safetensors_stats(b"\xff\xff\xff\xff\xff\xff\xff\x7f{"),
            None
        );
        assert_eq!(safetensors_stats(b"short"), None);
    }
}
