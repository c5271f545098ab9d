//! `mlsec data drift REF CUR --follow`: drift over a CSV or JSON Lines file
//! that keeps growing (a prediction log), one window of new rows at a time,
//! as `tail -F` reads it: rows appended since the last look are read, a file
//! that shrank (rotated or truncated) is read again from its start, and a
//! row still being written (no newline yet, or a CSV quote still open) waits
//! for the next look. Each window is compared with the reference, read once,
//! and becomes a `drift` envelope of its own.

use crate::columns::{self, Columns};
use crate::drift::{
    add_predictions, check_options, compare_tables, model_features, read_side, with_predictions,
    DriftOptions,
};
use crate::QualityError;
use mlsec_core::Evidence;
use mlsec_data::DataFormat;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// When a window closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// After this many rows.
    Rows(u64),
    /// After this long, when at least one row came.
    Every(Duration),
}

#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// `current` is the file followed.
    pub drift: DriftOptions,
    pub window: Window,
    /// How often the file is looked at.
    pub poll: Duration,
    /// Stop after this many windows (none: until stopped).
    pub max_windows: Option<u64>,
    /// Also read the rows already in the file when following starts.
    pub from_start: bool,
}

/// What one window covered: `details.window` of its envelope.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WindowInfo {
    /// 1 for the first window.
    pub index: u64,
    /// The window's first data row, 1-based, counted since following began
    /// (or since the file was last truncated).
    pub first_row: u64,
    pub rows: u64,
}

/// Longest row held while it is being written; a longer one is an error.
const MAX_ROW_BYTES: usize = 16 << 20;
/// Bytes read per look, so that a huge backlog is windowed as it is read.
const READ_CHUNK: usize = 1 << 20;

/// Follows `opts.drift.current`, calling `on_window` with the evidence of
/// each window, until `stop` is set or `max_windows` windows were made.
/// Returns the number of windows.
pub fn follow(
    opts: &FollowOptions,
    stop: &AtomicBool,
    on_window: &mut dyn FnMut(Evidence) -> Result<(), QualityError>,
) -> Result<u64, QualityError> {
    check_options(&opts.drift)?;
    if let Window::Rows(0) = opts.window {
        return Err(QualityError::Usage(
            "--window-rows must be at least 1".into(),
        ));
    }
    let path = &opts.drift.current;
    let format = followed_format(path)?;
    let (mut reference, ref_format) = read_side(&opts.drift, &opts.drift.reference)?;
    let features = model_features(&opts.drift, &reference);
    add_predictions(
        &opts.drift,
        &features,
        &mut reference,
        &opts.drift.reference,
    )?;
    let compared = with_predictions(&opts.drift);
    let scratch = tempfile::Builder::new()
        .prefix("mlsec-follow")
        .tempdir()
        .map_err(|e| QualityError::Usage(format!("a scratch folder: {e}")))?;
    let window_path = scratch.path().join(match format {
        DataFormat::Csv => "window.csv",
        _ => "window.jsonl",
    });

    let mut tail = Tail::open(path, format, opts.from_start)?;
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let mut first_row = 1;
    let mut opened = Instant::now();
    let mut windows = 0;
    while !stop.load(Ordering::SeqCst) && opts.max_windows.is_none_or(|m| windows < m) {
        let before = rows.len();
        let restarted = tail.read_new(&mut rows)?;
        if restarted {
            // Rows of the old file that did not make a window are dropped.
            rows.drain(..before);
            first_row = 1;
        }
        let full = match opts.window {
            Window::Rows(n) => rows.len() as u64 >= n,
            Window::Every(d) => !rows.is_empty() && opened.elapsed() >= d,
        };
        if !full {
            if tail.caught_up {
                std::thread::sleep(opts.poll);
            }
            continue;
        }
        let take = match opts.window {
            Window::Rows(n) => usize::try_from(n).unwrap_or(usize::MAX).min(rows.len()),
            Window::Every(_) => rows.len(),
        };
        let batch: Vec<Vec<u8>> = rows.drain(..take).collect();
        windows += 1;
        let mut current = window_columns(
            &opts.drift,
            &window_path,
            tail.header.as_deref(),
            &batch,
            format,
        )?;
        add_predictions(&opts.drift, &features, &mut current, path)?;
        let mut evidence = compare_tables(
            &compared,
            &reference,
            ref_format.clone(),
            &current,
            format.as_str().to_string(),
        )?;
        let info = WindowInfo {
            index: windows,
            first_row,
            rows: batch.len() as u64,
        };
        if let Some(details) = evidence.details.as_object_mut() {
            details.insert("window".into(), serde_json::json!(info));
        }
        first_row += batch.len() as u64;
        opened = Instant::now();
        on_window(evidence)?;
    }
    Ok(windows)
}

fn followed_format(path: &Path) -> Result<DataFormat, QualityError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => Ok(DataFormat::Csv),
        "jsonl" | "ndjson" => Ok(DataFormat::Jsonl),
        _ => Err(QualityError::Usage(format!(
            "{}: --follow reads CSV (.csv) or JSON Lines (.jsonl, .ndjson) files that grow",
            path.display()
        ))),
    }
}

/// Writes one window's rows as a small table of the followed format, and
/// reads it with the same readers as any table.
fn window_columns(
    opts: &DriftOptions,
    path: &Path,
    header: Option<&[u8]>,
    rows: &[Vec<u8>],
    format: DataFormat,
) -> Result<Columns, QualityError> {
    let io = |e: std::io::Error| QualityError::Usage(format!("{}: {e}", path.display()));
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for line in header.into_iter().chain(rows.iter().map(Vec::as_slice)) {
        file.write_all(line).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
    }
    file.flush().map_err(io)?;
    drop(file);
    let keep = columns::Keep::Values {
        max_cells: opts.max_cells,
    };
    Ok(columns::read(path, format, &opts.read, keep)?)
}

/// The followed file: where reading got to, and the CSV header.
struct Tail<'a> {
    path: &'a Path,
    format: DataFormat,
    offset: u64,
    /// Bytes after the last complete row.
    pending: Vec<u8>,
    header: Option<Vec<u8>>,
    /// The last look reached the end of the file.
    caught_up: bool,
}

impl<'a> Tail<'a> {
    fn open(
        path: &'a Path,
        format: DataFormat,
        from_start: bool,
    ) -> Result<Tail<'a>, QualityError> {
        let mut tail = Tail {
            path,
            format,
            offset: 0,
            pending: Vec::new(),
            header: None,
            caught_up: false,
        };
        if !from_start {
            // Rows already there are history: start at the end, keeping the
            // header (and a row still being written) for what follows.
            let mut skipped = Vec::new();
            while !tail.caught_up {
                tail.read_new(&mut skipped)?;
                skipped.clear();
            }
        }
        Ok(tail)
    }

    /// Appends the complete rows written since the last look to `rows`.
    /// True when the file shrank and was read again from its start.
    fn read_new(&mut self, rows: &mut Vec<Vec<u8>>) -> Result<bool, QualityError> {
        let io = |e: std::io::Error| QualityError::Usage(format!("{}: {e}", self.path.display()));
        let mut file = std::fs::File::open(self.path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let restarted = len < self.offset;
        if restarted {
            self.offset = 0;
            self.pending.clear();
            self.header = None;
        }
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut chunk = Vec::new();
        file.take(READ_CHUNK as u64)
            .read_to_end(&mut chunk)
            .map_err(io)?;
        self.offset += chunk.len() as u64;
        self.caught_up = self.offset >= len;
        self.pending.extend_from_slice(&chunk);
        let mut start = 0;
        let mut quoted = false;
        for (i, &b) in self.pending.iter().enumerate() {
            match b {
                b'"' if self.format == DataFormat::Csv => quoted = !quoted,
                b'\n' if !quoted => {
                    let mut row = self.pending.get(start..i).unwrap_or_default().to_vec();
                    if row.last() == Some(&b'\r') {
                        row.pop();
                    }
                    start = i + 1;
                    if row.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if self.format == DataFormat::Csv && self.header.is_none() {
                        self.header = Some(row);
                    } else {
                        rows.push(row);
                    }
                }
                _ => {}
            }
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_ROW_BYTES {
            return Err(QualityError::Usage(format!(
                "{}: a row longer than {} MiB at byte {}",
                self.path.display(),
                MAX_ROW_BYTES >> 20,
                self.offset - self.pending.len() as u64
            )));
        }
        Ok(restarted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn rows_are_read_as_they_are_completed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        append(&path, "a,b\n1,\"x\ny\"\n2,z");
        let mut tail = Tail::open(&path, DataFormat::Csv, true).unwrap();
        let mut rows = Vec::new();
        assert!(!tail.read_new(&mut rows).unwrap());
        // The quoted newline stays inside its row; the unfinished row waits.
        assert_eq!(rows, vec![b"1,\"x\ny\"".to_vec()]);
        assert_eq!(tail.header.as_deref(), Some(&b"a,b"[..]));
        append(&path, "\n3,w\n");
        tail.read_new(&mut rows).unwrap();
        assert_eq!(rows.len(), 3);
        // Truncated and rewritten: read again from the start.
        std::fs::write(&path, "a,b\n9,q\n").unwrap();
        let mut again = Vec::new();
        assert!(tail.read_new(&mut again).unwrap());
        assert_eq!(again, vec![b"9,q".to_vec()]);
    }

    #[test]
    fn a_row_that_never_ends_is_an_error_not_a_memory_leak() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        append(&path, &"x".repeat(MAX_ROW_BYTES + 10));
        let mut tail = Tail {
            path: &path,
            format: DataFormat::Jsonl,
            offset: 0,
            pending: Vec::new(),
            header: None,
            caught_up: false,
        };
        let mut rows = Vec::new();
        let mut error = None;
        while error.is_none() && !tail.caught_up {
            error = tail.read_new(&mut rows).err();
        }
        let message = error.expect("an error").to_string();
        assert!(message.contains("a row longer than 16 MiB"), "{message}");
        assert!(rows.is_empty());
    }

    #[test]
    fn a_timed_window_holds_the_rows_that_came_in_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let (reference, current) = (dir.path().join("ref.csv"), dir.path().join("log.csv"));
        let rows: String = (0..60).map(|i| format!("{}\n", i % 10)).collect();
        append(&reference, &format!("v\n{rows}"));
        append(&current, &format!("v\n{rows}"));
        let opts = FollowOptions {
            drift: DriftOptions::new(reference, current),
            window: Window::Every(Duration::from_millis(300)),
            poll: Duration::from_millis(20),
            max_windows: Some(1),
            from_start: true,
        };
        let started = Instant::now();
        let mut seen = Vec::new();
        let n = follow(&opts, &AtomicBool::new(false), &mut |e| {
            seen.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 1);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(seen[0].details["window"]["rows"], 60);
        assert_eq!(seen[0].details["drifted"], 0);
        // A stop before any window ends at once, with none.
        let stopped = follow(&opts, &AtomicBool::new(true), &mut |_| Ok(())).unwrap();
        assert_eq!(stopped, 0);
    }

    #[test]
    fn following_starts_at_the_end_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        append(&path, "{\"x\": 1}\n{\"x\": 2}\n{\"x\"");
        let mut tail = Tail::open(&path, DataFormat::Jsonl, false).unwrap();
        let mut rows = Vec::new();
        append(&path, ": 3}\n");
        tail.read_new(&mut rows).unwrap();
        assert_eq!(rows, vec![b"{\"x\": 3}".to_vec()]);
    }
}
