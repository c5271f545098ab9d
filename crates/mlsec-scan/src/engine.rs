use crate::rules::general::{EXTENSION_MISMATCH, MODEL_EXTENSIONS, SYMLINK_ESCAPE, UNREADABLE};
use crate::{scan_bytes, Ctx, Report, ScanConfig, ScanError};
use mlsec_core::digest::{hex, sha256_stream};
use mlsec_core::walk::{special_kind, EntryKind, WalkOptions};
use mlsec_core::{Finding, Severity, Subject, Verdict};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files at least this big are memory-mapped instead of read, so formats that
/// need only a directory and a few members (zip checkpoints) never touch the rest.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// The judgement on one file.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileResult {
    pub path: String,
    /// Format of the file as detected from its content (`unknown` if none).
    pub format: String,
    pub verdict: Verdict,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// Everything a scan found, file by file, in a stable order.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub files: Vec<FileResult>,
}

impl ScanOutcome {
    pub fn findings(&self) -> Vec<Finding> {
        self.files
            .iter()
            .flat_map(|f| f.findings.iter().cloned())
            .collect()
    }

    /// The verdict on everything scanned: the worst verdict of the files mlsec
    /// could judge (a README it has no parser for does not outrank clean
    /// weights); `Unsupported` only when no file could be judged.
    pub fn verdict(&self) -> Verdict {
        self.files
            .iter()
            .map(|f| f.verdict)
            .filter(|v| *v != Verdict::Unsupported)
            .max()
            .unwrap_or(Verdict::Unsupported)
    }

    pub fn subjects(&self) -> Vec<Subject> {
        self.files
            .iter()
            .map(|f| Subject {
                name: f.path.clone(),
                digest: f
                    .sha256
                    .iter()
                    .map(|d| ("sha256".to_string(), d.clone()))
                    .collect(),
            })
            .collect()
    }
}

enum Job {
    Scan { path: PathBuf, display: String },
    Done(FileResult),
}

/// Scans files and folders (recursively). `on_file` is called once per file
/// judged, for progress display. Errors are about the arguments themselves
/// (a named path that does not exist); problems with files found while walking
/// become findings.
pub fn scan_paths(
    paths: &[PathBuf],
    config: &ScanConfig,
    on_file: &(dyn Fn(usize) + Sync),
) -> Result<ScanOutcome, ScanError> {
    let mut jobs = Vec::new();
    for path in paths {
        let meta = fs::symlink_metadata(path).map_err(|e| ScanError::path(path, &e))?;
        let display = path.to_string_lossy().into_owned();
        let ft = meta.file_type();
        if ft.is_dir() {
            let root = fs::canonicalize(path).map_err(|e| ScanError::path(path, &e))?;
            walk(path, &root, &mut jobs);
        } else if ft.is_file() {
            jobs.push(Job::Scan {
                path: path.clone(),
                display,
            });
        } else if ft.is_symlink() {
            // The walk's rule, with the link's own folder as the root: a link
            // that stays in its folder names a file that is scanned (under the
            // link's name); one that leaves it, or dangles, is a finding.
            let folder = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let root = fs::canonicalize(&folder).map_err(|e| ScanError::path(&folder, &e))?;
            match judge_symlink(path, display.clone(), &root) {
                Some(result) => jobs.push(Job::Done(result)),
                None => match fs::canonicalize(path) {
                    Ok(target) if target.is_dir() => walk(&target, &target, &mut jobs),
                    Ok(target) => jobs.push(Job::Scan {
                        path: target,
                        display,
                    }),
                    Err(e) => jobs.push(Job::Done(unreadable(display, &e))),
                },
            }
        } else {
            jobs.push(Job::Done(special_file(display, ft)));
        }
    }
    let total = jobs.len();
    let files = jobs
        .into_par_iter()
        .map(|job| {
            let result = match job {
                Job::Scan { path, display } => scan_file(&path, display, config),
                Job::Done(r) => r,
            };
            on_file(total);
            result
        })
        .collect();
    Ok(ScanOutcome { files })
}

/// Collects the files under `dir` in the walk's order. Links are judged,
/// never followed: one that stays inside the root names a file the walk
/// reaches anyway; one that leaves the root (or dangles) is a finding.
fn walk(dir: &Path, root: &Path, jobs: &mut Vec<Job>) {
    let entries = match mlsec_core::walk::walk(dir, &WalkOptions::default()) {
        Ok(entries) => entries,
        Err(e) => {
            let display = dir.to_string_lossy().into_owned();
            jobs.push(Job::Done(error_result(
                display,
                format!("cannot walk: {e}"),
            )));
            return;
        }
    };
    for entry in entries {
        let display = entry.path.to_string_lossy().into_owned();
        match entry.kind {
            EntryKind::File => jobs.push(Job::Scan {
                path: entry.path,
                display,
            }),
            EntryKind::Link { target, resolved } => {
                if let Some(result) = judge_link(display, &target, resolved.as_deref(), root) {
                    jobs.push(Job::Done(result));
                }
            }
            EntryKind::Unreadable(e) => jobs.push(Job::Done(unreadable(display, &e))),
            EntryKind::TooDeep => jobs.push(Job::Done(error_result(
                display,
                format!(
                    "folder nested deeper than {} levels; not entered",
                    WalkOptions::default().max_depth
                ),
            ))),
            // FIFOs, sockets and devices inside a folder are skipped: opening
            // a FIFO would block.
            EntryKind::Special(_) => {}
        }
    }
}

fn judge_symlink(path: &Path, display: String, root: &Path) -> Option<FileResult> {
    let target = fs::read_link(path).unwrap_or_default();
    judge_link(
        display,
        &target,
        fs::canonicalize(path).ok().as_deref(),
        root,
    )
}

fn judge_link(
    display: String,
    target: &Path,
    resolved: Option<&Path>,
    root: &Path,
) -> Option<FileResult> {
    let target = target.to_string_lossy().into_owned();
    let (message, severity) = match resolved {
        Some(resolved) if resolved.starts_with(root) => return None,
        Some(resolved) => (
            format!(
                "symbolic link to `{target}` leaves the scanned folder (resolves to {})",
                resolved.display()
            ),
            Severity::High,
        ),
        None => (
            format!("dangling symbolic link to `{target}`"),
            Severity::Low,
        ),
    };
    let finding = Finding::new(&SYMLINK_ESCAPE, &display, message)
        .with_severity(severity)
        .with_evidence(serde_json::json!({ "target": target }));
    Some(FileResult {
        path: display,
        format: "symlink".into(),
        verdict: Verdict::from(finding.category),
        size: 0,
        sha256: None,
        findings: vec![finding],
    })
}

/// A FIFO, socket or device named on the command line: never opened (a FIFO
/// blocks, `/dev/zero` never ends), and never passed as clean.
fn special_file(display: String, ft: fs::FileType) -> FileResult {
    let kind = special_kind(ft);
    let finding = Finding::new(
        &UNREADABLE,
        &display,
        format!("not a regular file ({kind}); not read"),
    );
    FileResult {
        path: display,
        format: kind.into(),
        verdict: Verdict::Error,
        size: 0,
        sha256: None,
        findings: vec![finding],
    }
}

fn unreadable(display: String, e: &std::io::Error) -> FileResult {
    error_result(display, format!("cannot read: {}", io_reason(e)))
}

/// A file or folder that could not be judged: an error, never clean.
fn error_result(display: String, message: String) -> FileResult {
    let finding = Finding::new(&UNREADABLE, &display, message);
    FileResult {
        path: display,
        format: "unknown".into(),
        verdict: Verdict::Error,
        size: 0,
        sha256: None,
        findings: vec![finding],
    }
}

/// The OS reason without Rust's "(os error N)" suffix.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.split_once(" (os error") {
        Some((reason, _)) => reason.to_string(),
        None => s,
    }
}

enum Contents {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Contents {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Contents::Owned(v) => v,
            Contents::Mapped(m) => m,
        }
    }
}

/// Opens `path` for reading without blocking on a FIFO or following a link
/// swapped in since the walk looked, and checks that it is a regular file.
fn open_regular(path: &Path) -> std::io::Result<(File, u64)> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "not a regular file ({})",
            special_kind(meta.file_type())
        )));
    }
    Ok((file, meta.len()))
}

fn read_contents(file: &mut File, len: u64) -> std::io::Result<Contents> {
    if len >= MMAP_THRESHOLD {
        // SAFETY: the map is read-only and private to this scan. If another process
        // truncates the file while it is mapped, reads past the new end fault; that is
        // the same trade-off every mmap-based scanner (ripgrep included) makes.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&*file)? };
        Ok(Contents::Mapped(map))
    } else {
        Ok(Contents::Owned(read_known_size(file, len as usize)?))
    }
}

/// The whole file, whose size `open_regular` read: one read for the bytes
/// and one that finds the end, where `File::read_to_end` would ask the size
/// and position again and read in growing steps (a folder of small files
/// pays for every system call). A file that grew since is read whole.
fn read_known_size(file: &mut File, len: usize) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0u8; len.saturating_add(1)];
    let mut filled = 0;
    while let Some(room) = v.get_mut(filled..) {
        match file.read(room) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                if filled == v.len() {
                    v.resize(v.len().saturating_mul(2), 0);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    v.truncate(filled);
    Ok(v)
}

/// SHA-256 of the file behind `file`, streamed: hashing a mapped 20 GB file
/// would make all of it resident.
fn sha256_streamed(file: &mut File) -> std::io::Result<String> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    Ok(hex(&sha256_stream(&[], file)?.0))
}

/// Scans one file on disk.
pub(crate) fn scan_file(path: &Path, display: String, config: &ScanConfig) -> FileResult {
    let (mut file, len) = match open_regular(path) {
        Ok(f) => f,
        Err(e) => return unreadable(display, &e),
    };
    let data = match read_contents(&mut file, len) {
        Ok(d) => d,
        Err(e) => return unreadable(display, &e),
    };
    let dir = path.parent();
    let ctx = Ctx::new(config, &display, dir);
    let mut report = Report::for_file(len, &config.limits);
    scan_bytes(&ctx, &data, &mut report);
    if !report.recognised {
        check_extension(&ctx, &mut report);
    }
    let sha256 = match (&data, config.digest) {
        (_, false) => None,
        (Contents::Owned(bytes), true) => Some(hex(&Sha256::digest(bytes))),
        (Contents::Mapped(_), true) => match sha256_streamed(&mut file) {
            Ok(digest) => Some(digest),
            Err(e) => return unreadable(display, &e),
        },
    };
    FileResult {
        verdict: report.verdict(),
        format: report.format.clone().unwrap_or_else(|| "unknown".into()),
        size: data.len() as u64,
        sha256,
        findings: report.into_findings(),
        path: display,
    }
}

/// Content no parser recognised, under a name loaders take for a model.
fn check_extension(ctx: &Ctx, report: &mut Report) {
    // The name as the user sees it: a link's, not its target's.
    let ext = Path::new(ctx.subject)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if MODEL_EXTENSIONS.contains(&ext.as_str()) {
        report.push(ctx.finding(
            &EXTENSION_MISMATCH,
            None,
            format!("named like a model (.{ext}), but its content matches no format mlsec reads, so nothing in it was judged"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_read_is_an_error_not_clean() {
        // A directory where a file was expected is refused, even for root.
        let dir = tempfile::tempdir().unwrap();
        let r = scan_file(dir.path(), "weights.bin".into(), &ScanConfig::default());
        assert_eq!(r.verdict, Verdict::Error);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, "SCN002");
        assert!(
            r.findings[0]
                .message
                .contains("not a regular file (directory)"),
            "{}",
            r.findings[0].message
        );
    }

    #[test]
    fn the_outcome_verdict_is_the_worst_judged_file() {
        let file = |verdict| FileResult {
            path: String::new(),
            format: String::new(),
            verdict,
            size: 0,
            sha256: None,
            findings: Vec::new(),
        };
        let outcome = |v: &[Verdict]| ScanOutcome {
            files: v.iter().map(|v| file(*v)).collect(),
        };
        assert_eq!(
            outcome(&[Verdict::Unsupported, Verdict::Clean]).verdict(),
            Verdict::Clean
        );
        assert_eq!(
            outcome(&[Verdict::Clean, Verdict::Malicious, Verdict::Error]).verdict(),
            Verdict::Malicious
        );
        assert_eq!(
            outcome(&[Verdict::Unsupported]).verdict(),
            Verdict::Unsupported
        );
        assert_eq!(outcome(&[]).verdict(), Verdict::Unsupported);
    }

    fn scan_args(paths: &[PathBuf]) -> ScanOutcome {
        scan_paths(paths, &ScanConfig::default(), &|_| {}).unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn special_files_named_on_the_command_line_are_errors_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.pkl");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Before: /dev/zero grew without bound and the FIFO blocked forever.
        let outcome = scan_args(&[PathBuf::from("/dev/zero"), fifo]);
        let kinds: Vec<_> = outcome.files.iter().map(|f| f.format.as_str()).collect();
        assert_eq!(kinds, ["character device", "FIFO"]);
        for f in &outcome.files {
            assert_eq!(f.verdict, Verdict::Error);
            assert_eq!(f.findings[0].rule, "SCN002");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_named_on_the_command_line_follow_the_walk_rules() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let evil = b"cos\nsystem\n(S'id'\ntR.";
        fs::write(dir.path().join("model.pkl"), evil).unwrap();
        fs::write(outside.path().join("secret.pkl"), evil).unwrap();
        let inside = dir.path().join("inside.pkl");
        let leaving = dir.path().join("leaving.pkl");
        std::os::unix::fs::symlink("model.pkl", &inside).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.pkl"), &leaving).unwrap();
        let outcome = scan_args(&[inside.clone(), leaving.clone()]);
        // A link within its folder is scanned under its own name...
        assert_eq!(outcome.files[0].path, inside.to_string_lossy());
        assert_eq!(outcome.files[0].verdict, Verdict::Malicious);
        // ...one leaving it is a finding, and the target is not read.
        assert_eq!(outcome.files[1].format, "symlink");
        assert_eq!(outcome.files[1].findings[0].rule, "SCN001");
        assert_eq!(outcome.files[1].findings.len(), 1);
    }

    #[test]
    fn digests_of_mapped_files_are_streamed_and_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let data: Vec<u8> = (0..3 * MMAP_THRESHOLD as usize + 17)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        fs::write(&path, &data).unwrap();
        let config = ScanConfig {
            digest: true,
            ..ScanConfig::default()
        };
        let r = scan_file(&path, "big.bin".into(), &config);
        assert_eq!(r.sha256, Some(hex(&Sha256::digest(&data))));
        let small = dir.path().join("small.bin");
        fs::write(&small, b"abc").unwrap();
        let r = scan_file(&small, "small.bin".into(), &config);
        assert_eq!(
            r.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn unrecognised_content_under_a_model_extension_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let page = b"<!doctype html><title>429 Too Many Requests</title>";
        for name in ["pytorch_model.bin", "MODEL.Safetensors", "notes.txt"] {
            fs::write(dir.path().join(name), page).unwrap();
        }
        let outcome = scan_args(&[dir.path().to_path_buf()]);
        let by_name = |n: &str| outcome.files.iter().find(|f| f.path.ends_with(n)).unwrap();
        for name in ["pytorch_model.bin", "MODEL.Safetensors"] {
            let f = by_name(name);
            assert_eq!(f.verdict, Verdict::Suspicious, "{name}");
            assert_eq!(f.findings.len(), 1);
            assert_eq!(f.findings[0].rule, "SCN006");
            assert_eq!(f.findings[0].severity, Severity::Low);
        }
        let txt = by_name("notes.txt");
        assert_eq!(txt.verdict, Verdict::Unsupported);
        assert!(txt.findings.is_empty());
    }

    #[test]
    fn a_missing_path_on_the_command_line_is_an_argument_error() {
        let err = scan_paths(
            &[PathBuf::from("/no/such/model.pt")],
            &ScanConfig::default(),
            &|_| {},
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/no/such/model.pt: No such file or directory"
        );
    }

    #[test]
    fn a_file_is_read_whole_whatever_size_was_seen_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        // The size seen, smaller (the file grew), larger (it shrank), empty.
        for seen in [bytes.len(), 10, 1_000_000, 0] {
            let mut file = File::open(&path).unwrap();
            assert_eq!(
                read_known_size(&mut file, seen).unwrap(),
                bytes,
                "seen {seen}"
            );
        }
        std::fs::write(&path, b"").unwrap();
        let mut file = File::open(&path).unwrap();
        assert!(read_known_size(&mut file, 0).unwrap().is_empty());
    }
}
