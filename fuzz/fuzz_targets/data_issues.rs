#![no_main]
//! `mlsec data issues` end to end on any bytes as a CSV or JSONL table: the
//! row-aligned read (value codes), the feature encoding, every check, and
//! `--write-clean`. Errors allowed; panics, rows outside the table and a clean
//! copy that does not drop exactly the flagged rows are not.
use libfuzzer_sys::fuzz_target;
use mlsec_data::filter::write_without_rows;
use mlsec_quality::{flagged_rows, issues, IssuesOptions, OutlierMethod};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, table)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir();
    let ext = if mode & 1 == 0 { "csv" } else { "jsonl" };
    let input = dir.join(format!("mlsec-fuzz-issues-{}.{ext}", std::process::id()));
    let clean = dir.join(format!("mlsec-fuzz-issues-{}.clean.{ext}", std::process::id()));
    if std::fs::write(&input, table).is_err() {
        return;
    }
    let mut opts = IssuesOptions::new(input.clone());
    // Bounded work per input: a small table, one cross-validation.
    opts.max_cells = 1 << 14;
    opts.read.max_record_bytes = 1 << 16;
    opts.folds = 2 + usize::from(mode >> 1 & 1);
    opts.repeats = 1;
    opts.label = (mode & 4 == 0).then(|| "y".to_string());
    opts.outlier_method = match mode >> 3 & 3 {
        0 => OutlierMethod::IsolationForest,
        1 => OutlierMethod::Knn,
        _ => OutlierMethod::Mahalanobis,
    };
    if mode & 32 != 0 {
        opts.contamination = Some(0.1);
    }
    let Ok(evidence) = issues(&opts) else {
        return;
    };
    let rows = evidence.details["data"]["rows"].as_u64().expect("details.data.rows");
    let flagged = flagged_rows(&evidence);
    assert!(flagged.iter().all(|&r| r >= 1 && r <= rows), "row outside the table");
    assert_eq!(Some(flagged.len() as u64), evidence.details["flagged_rows"].as_u64());
    if let Ok(written) = write_without_rows(&input, &clean, &flagged, &opts.read) {
        assert_eq!(written, rows - flagged.len() as u64, "clean copy dropped other rows");
    }
    let _ = std::fs::remove_file(&clean);
});
