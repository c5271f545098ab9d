//! Which reader a file needs: the extension proposes, the content decides.

use crate::DataError;
use std::io::Read;
use std::path::Path;

/// The data formats mlsec reads.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// Comma (or tab, semicolon, pipe) separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    Parquet,
    /// Plain text, read line by line.
    Text,
    /// A Jupyter notebook (nbformat 4 JSON).
    Ipynb,
}

impl DataFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Jsonl => "jsonl",
            DataFormat::Parquet => "parquet",
            DataFormat::Text => "text",
            DataFormat::Ipynb => "ipynb",
        }
    }

    /// Tables have rows and columns (and so row digests in a manifest).
    pub fn is_table(self) -> bool {
        matches!(
            self,
            DataFormat::Csv | DataFormat::Jsonl | DataFormat::Parquet
        )
    }
}

const PARQUET_MAGIC: &[u8] = b"PAR1";

/// Bytes of the file looked at to check the extension against the content.
const SNIFF_BYTES: u64 = 8192;

/// Detects the format of `path`: Parquet by its magic bytes whatever the name;
/// otherwise the extension (`.csv`/`.tsv`/`.psv`, `.jsonl`/`.ndjson`, `.ipynb`,
/// `.parquet`/`.pq`, anything else text), checked against the first 8 KiB: a
/// text format must not contain NUL bytes, JSONL and notebooks must start with `{`.
pub fn detect(path: &Path) -> Result<DataFormat, DataError> {
    // A FIFO would block the read forever, a device never end.
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, &e))?;
    if !meta.is_file() {
        return Err(DataError::new(path, None, "not a regular file"));
    }
    let mut head = Vec::with_capacity(SNIFF_BYTES as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .map_err(|e| DataError::io(path, &e))?;
    detect_bytes(path, &head)
}

/// [`detect`] on the first bytes of a file (`head`), for callers that hold them.
pub fn detect_bytes(path: &Path, head: &[u8]) -> Result<DataFormat, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if head.starts_with(PARQUET_MAGIC) {
        return Ok(DataFormat::Parquet);
    }
    let by_name = match ext.as_str() {
        "parquet" | "pq" => {
            return Err(DataError::new(
                path,
                None,
                "named Parquet but does not start with the Parquet magic `PAR1`",
            ))
        }
        "csv" | "tsv" | "psv" => DataFormat::Csv,
        "jsonl" | "ndjson" => DataFormat::Jsonl,
        "ipynb" => DataFormat::Ipynb,
        _ => DataFormat::Text,
    };
    if head.contains(&0) {
        return Err(DataError::new(
            path,
            None,
            format!(
                "binary content (NUL bytes) in a file read as {}",
                by_name.as_str()
            ),
        ));
    }
    let first = head
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    match by_name {
        DataFormat::Jsonl | DataFormat::Ipynb if first.is_some() && first != Some(b'{') => {
            Err(DataError::new(
                path,
                None,
                format!(
                    "named {} but does not start with a JSON object",
                    by_name.as_str()
                ),
            ))
        }
        // A `.json` / `.txt` / unnamed file holding JSON objects line by line is JSONL.
        DataFormat::Text if ext == "json" && first == Some(b'{') && looks_like_jsonl(head) => {
            Ok(DataFormat::Jsonl)
        }
        other => Ok(other),
    }
}

/// The first line is a complete JSON object on its own.
fn looks_like_jsonl(head: &[u8]) -> bool {
    match head.iter().position(|&b| b == b'\n') {
        Some(end) => serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
            head.get(..end).unwrap_or_default(),
        )
        .is_ok(),
        None => false,
    }
}
