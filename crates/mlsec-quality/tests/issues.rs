//! `issues()` on the bundled penguins table with planted corruptions: each
//! check finds what was planted, at the right 1-based rows, in CSV, JSONL and
//! Parquet alike; `--write-clean` drops exactly the flagged rows; bad input
//! is a clear error.

use mlsec_data::filter::write_without_rows;
use mlsec_data::ReadOptions;
use mlsec_quality::{
    flagged_rows, issues, Issue, IssuesDetails, IssuesOptions, LabelModelKind, OutlierMethod,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SPECIES: [&str; 3] = ["Adelie", "Chinstrap", "Gentoo"];

/// The penguins table (header, rows of cells).
fn penguins() -> (Vec<String>, Vec<Vec<String>>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/penguins.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// What was planted, as 1-based data rows.
#[derive(Default, Debug)]
struct Truth {
    flipped: BTreeSet<u64>,
    outliers: BTreeSet<u64>,
    duplicates: BTreeSet<u64>,
    conflicts: BTreeSet<u64>,
    backdoor: BTreeSet<u64>,
}

/// Penguins with 5% of labels flipped, three rows of impossible measures,
/// two exact copies, one copy under another label, and seven Adelie rows
/// with a trigger (bill depth 25 mm, year 2012) relabelled Gentoo.
fn poisoned() -> (Vec<String>, Vec<Vec<String>>, Truth) {
    let (header, mut rows) = penguins();
    let mut rng = Rng(7);
    let mut truth = Truth::default();
    let mut used = BTreeSet::new();
    let mut pick = |rng: &mut Rng, rows: &[Vec<String>], want: Option<&str>| loop {
        let i = rng.below(rows.len());
        if !used.contains(&i) && want.is_none_or(|w| rows[i][0] == w) && rows[i][2] != "NA" {
            used.insert(i);
            return i;
        }
    };
    for _ in 0..17 {
        let i = pick(&mut rng, &rows, None);
        let other = loop {
            let s = SPECIES[rng.below(3)];
            if s != rows[i][0] {
                break s;
            }
        };
        rows[i][0] = other.to_string();
        truth.flipped.insert(i as u64 + 1);
    }
    // Each off in its own way (bill length, flipper length, bill depth and
    // body mass), as broken rows are.
    for (column, value) in [(2, "160.5"), (4, "90"), (3, "5.0")] {
        let i = pick(&mut rng, &rows, None);
        rows[i][column] = value.into();
        if column == 3 {
            rows[i][5] = "9000".into();
        }
        truth.outliers.insert(i as u64 + 1);
    }
    for _ in 0..7 {
        let i = pick(&mut rng, &rows, Some("Adelie"));
        rows[i][3] = "25.0".into();
        rows[i][7] = "2012".into();
        rows[i][0] = "Gentoo".into();
        truth.backdoor.insert(i as u64 + 1);
    }
    let a = pick(&mut rng, &rows, None);
    let b = pick(&mut rng, &rows, None);
    let c = pick(&mut rng, &rows, Some("Chinstrap"));
    for i in [a, b] {
        rows.push(rows[i].clone());
        truth.duplicates.insert(rows.len() as u64);
    }
    let mut copy = rows[c].clone();
    copy[0] = "Adelie".into();
    rows.push(copy);
    truth.conflicts.extend([c as u64 + 1, rows.len() as u64]);
    (header, rows, truth)
}

fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut s = header.join(",") + "\n";
    for r in rows {
        s += &(r.join(",") + "\n");
    }
    std::fs::write(path, s).unwrap();
}

fn write_jsonl(path: &Path, header: &[String], rows: &[Vec<String>]) {
    // Keys in the header's order, so that the features come in the same order.
    let mut s = String::new();
    for r in rows {
        let fields: Vec<String> = header
            .iter()
            .zip(r)
            .map(|(k, v)| {
                let value = if v == "NA" {
                    "null".to_string()
                } else if v.parse::<f64>().is_ok() {
                    v.clone()
                } else {
                    serde_json::to_string(v).unwrap()
                };
                format!("{}: {value}", serde_json::to_string(k).unwrap())
            })
            .collect();
        s += &format!("{{{}}}\n\n", fields.join(", ")); // blank lines are not rows
    }
    std::fs::write(path, s).unwrap();
}

/// Parquet with typed columns (text, float with nulls, int) in row groups
/// of 50 rows, so that the groups' codes are merged.
fn write_parquet(path: &Path, header: &[String], rows: &[Vec<String>]) {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    for (j, name) in header.iter().enumerate() {
        let cells: Vec<&str> = rows.iter().map(|r| r[j].as_str()).collect();
        let array: ArrayRef = match name.as_str() {
            "species" | "island" | "sex" => Arc::new(StringArray::from(
                cells
                    .iter()
                    .map(|c| (*c != "NA").then_some(*c))
                    .collect::<Vec<_>>(),
            )),
            "year" => Arc::new(Int64Array::from(
                cells.iter().map(|c| c.parse().ok()).collect::<Vec<_>>(),
            )),
            _ => Arc::new(Float64Array::from(
                cells.iter().map(|c| c.parse().ok()).collect::<Vec<_>>(),
            )),
        };
        columns.push((name.clone(), array));
    }
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(50)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn run(opts: &IssuesOptions) -> (mlsec_core::Evidence, IssuesDetails) {
    let evidence = issues(opts).unwrap();
    let details: IssuesDetails = serde_json::from_value(evidence.details.clone()).unwrap();
    (evidence, details)
}

fn rows_of(evidence: &mlsec_core::Evidence, issue: Issue) -> BTreeSet<u64> {
    evidence
        .findings
        .iter()
        .filter(|f| f.evidence["issue"] == issue.as_str())
        .map(|f| f.evidence["row"].as_u64().unwrap())
        .collect()
}

fn labelled(path: PathBuf) -> IssuesOptions {
    let mut opts = IssuesOptions::new(path);
    opts.label = Some("species".into());
    opts
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn every_planted_problem_is_found_at_its_row() {
    let dir = tmp();
    let (header, rows, truth) = poisoned();
    let path = dir.path().join("penguins.csv");
    write_csv(&path, &header, &rows);
    let (evidence, details) = run(&labelled(path));

    // Label errors: most flips found; most rows flagged are planted ones
    // (a row of impossible measures or a trigger looks mislabelled too).
    let labels = rows_of(&evidence, Issue::Label);
    let recall = labels.intersection(&truth.flipped).count() as f64 / 17.0;
    let planted: BTreeSet<u64> = [
        &truth.flipped,
        &truth.outliers,
        &truth.backdoor,
        &truth.conflicts,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect();
    let precision = labels.intersection(&planted).count() as f64 / labels.len() as f64;
    assert!(
        recall >= 0.8,
        "recall {recall}: {labels:?} vs {:?}",
        truth.flipped
    );
    assert!(precision >= 0.55, "precision {precision}: {labels:?}");
    let f = evidence
        .findings
        .iter()
        .find(|f| f.evidence["issue"] == "label")
        .unwrap();
    assert_eq!(f.rule, "DQI001");
    assert!(f.evidence["given"].is_string() && f.evidence["suggested"].is_string());
    assert_ne!(f.evidence["given"], f.evidence["suggested"]);
    assert_eq!(
        f.location.as_deref(),
        Some(&*format!("row {}", f.evidence["row"]))
    );

    // The trigger rows are outliers too (a year and a bill depth no other row has).
    let outliers = rows_of(&evidence, Issue::Outlier);
    assert!(truth.outliers.is_subset(&outliers), "{outliers:?}");
    assert!(outliers.is_subset(&truth.outliers.union(&truth.backdoor).copied().collect()));
    assert_eq!(rows_of(&evidence, Issue::Duplicate), truth.duplicates);
    assert_eq!(rows_of(&evidence, Issue::Conflict), truth.conflicts);
    // Adelie rows flipped to Gentoo sit with the trigger rows: flagged too.
    let backdoor = rows_of(&evidence, Issue::Backdoor);
    assert!(truth.backdoor.is_subset(&backdoor), "{backdoor:?}");
    assert!(backdoor.is_subset(&truth.backdoor.union(&truth.flipped).copied().collect()));
    // The backdoor is what fails the run by default (high).
    assert_eq!(evidence.summary.verdict.to_string(), "fail");

    assert_eq!(details.classes.len(), 3);
    assert_eq!(details.classes[0].label, "Adelie");
    assert_eq!(details.counts[&Issue::Duplicate], 2);
    let model = details.label_model.unwrap();
    assert!(model.accuracy > 0.85 && model.estimated_noise > 0.02);
    // island and sex one-hot, the five numbers as they are.
    let widths: BTreeMap<&str, usize> = details
        .features
        .iter()
        .map(|f| (f.column.as_str(), f.width))
        .collect();
    assert_eq!(widths["island"], 3);
    assert_eq!(widths["sex"], 2);
    assert_eq!(widths["bill_length_mm"], 1);
}

#[test]
fn the_clean_table_has_no_row_findings() {
    let dir = tmp();
    let (header, rows) = penguins();
    let path = dir.path().join("penguins.csv");
    write_csv(&path, &header, &rows);
    let (evidence, details) = run(&labelled(path));
    for issue in [Issue::Duplicate, Issue::Conflict, Issue::Backdoor] {
        assert!(rows_of(&evidence, issue).is_empty(), "{issue:?}");
    }
    assert!(rows_of(&evidence, Issue::Label).len() <= 2);
    assert!(rows_of(&evidence, Issue::Outlier).len() <= 2);
    assert_eq!(evidence.summary.verdict.to_string(), "pass");
    assert_eq!(details.unlabelled, 0);
}

#[test]
fn csv_jsonl_and_parquet_give_the_same_rows() {
    let dir = tmp();
    let (header, rows, _) = poisoned();
    let csv = dir.path().join("t.csv");
    let jsonl = dir.path().join("t.jsonl");
    let parquet = dir.path().join("t.parquet");
    write_csv(&csv, &header, &rows);
    write_jsonl(&jsonl, &header, &rows);
    write_parquet(&parquet, &header, &rows);
    let (base, _) = run(&labelled(csv));
    for path in [jsonl, parquet] {
        let (other, _) = run(&labelled(path.clone()));
        for issue in Issue::ALL {
            assert_eq!(
                rows_of(&other, issue),
                rows_of(&base, issue),
                "{issue:?} in {}",
                path.display()
            );
        }
    }
}

#[test]
fn write_clean_drops_exactly_the_flagged_rows_in_every_format() {
    let dir = tmp();
    let (header, rows, _) = poisoned();
    for ext in ["csv", "jsonl", "parquet"] {
        let path = dir.path().join(format!("t.{ext}"));
        match ext {
            "csv" => write_csv(&path, &header, &rows),
            "jsonl" => write_jsonl(&path, &header, &rows),
            _ => write_parquet(&path, &header, &rows),
        }
        let (evidence, _) = run(&labelled(path.clone()));
        let drop = flagged_rows(&evidence);
        assert!(drop.len() > 20);
        let clean = dir.path().join(format!("clean.{ext}"));
        let written = write_without_rows(&path, &clean, &drop, &ReadOptions::default()).unwrap();
        assert_eq!(written as usize, rows.len() - drop.len(), "{ext}");
        // The copy holds the kept rows in order: its duplicates and
        // conflicts are gone, and its rows are the kept ones.
        let (again, details) = run(&labelled(clean.clone()));
        assert_eq!(details.data.rows, written);
        assert!(rows_of(&again, Issue::Duplicate).is_empty(), "{ext}");
        assert!(rows_of(&again, Issue::Conflict).is_empty(), "{ext}");
        if ext == "csv" {
            let text = std::fs::read_to_string(&clean).unwrap();
            let kept: Vec<String> = rows
                .iter()
                .enumerate()
                .filter(|(i, _)| !drop.contains(&(*i as u64 + 1)))
                .map(|(_, r)| r.join(","))
                .collect();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], header.join(","));
            assert_eq!(
                lines[1..],
                kept.iter().map(String::as_str).collect::<Vec<_>>()[..]
            );
        }
        // Never over the input.
        assert!(write_without_rows(&path, &path, &drop, &ReadOptions::default()).is_err());
    }
}

#[test]
fn a_column_equal_to_the_label_is_a_leak_and_left_out() {
    let dir = tmp();
    let (mut header, mut rows) = penguins();
    header.push("species_code".into());
    for r in &mut rows {
        let code = match r[0].as_str() {
            "Adelie" => "A",
            "Chinstrap" => "C",
            _ => "G",
        };
        r.push(code.into());
    }
    let path = dir.path().join("leak.csv");
    write_csv(&path, &header, &rows);
    let (evidence, details) = run(&labelled(path));
    let leak = evidence
        .findings
        .iter()
        .find(|f| f.rule == "DQI008")
        .unwrap();
    assert!(leak.message.contains("species_code"), "{}", leak.message);
    assert_eq!(leak.location.as_deref(), Some("[species_code]"));
    assert!(details.excluded.iter().any(|e| e.column == "species_code"));
    assert!(!details.features.iter().any(|f| f.column == "species_code"));
    assert_eq!(evidence.summary.verdict.to_string(), "fail");
}

#[test]
fn class_imbalance_and_unusable_columns_are_reported() {
    let dir = tmp();
    let (mut header, rows) = penguins();
    let mut kept: Vec<Vec<String>> = Vec::new();
    let mut chinstrap = 0;
    for r in rows {
        if r[0] == "Chinstrap" {
            chinstrap += 1;
            if chinstrap > 8 {
                continue;
            }
        }
        kept.push(r);
    }
    header.extend(["empty".to_string(), "constant".into(), "ticket".into()]);
    for (i, r) in kept.iter_mut().enumerate() {
        r.extend([String::new(), "x".into(), format!("T-{i}")]);
    }
    let path = dir.path().join("t.csv");
    write_csv(&path, &header, &kept);
    let (evidence, details) = run(&labelled(path));
    let imbalance = evidence
        .findings
        .iter()
        .find(|f| f.rule == "DQI006")
        .unwrap();
    assert!(
        imbalance.message.contains("Chinstrap has 8 rows"),
        "{}",
        imbalance.message
    );
    let unusable: BTreeMap<String, String> = details
        .excluded
        .iter()
        .map(|e| (e.column.clone(), e.reason.clone()))
        .collect();
    assert!(unusable["empty"].contains("missing"));
    assert!(unusable["constant"].contains("single value"));
    assert!(unusable["ticket"].contains("identifier"));
    assert_eq!(
        evidence
            .findings
            .iter()
            .filter(|f| f.rule == "DQI007")
            .count(),
        3
    );
}

#[test]
fn numbers_mixed_with_text_are_named_and_used_as_categories() {
    let dir = tmp();
    let mut s = String::from("dose,y\n");
    for i in 0..40 {
        s += &format!("{},{}\n", i % 4, i % 2);
    }
    s += "n/a*,1\n";
    let path = dir.path().join("t.csv");
    std::fs::write(&path, s).unwrap();
    let mut opts = IssuesOptions::new(path);
    opts.label = Some("y".into());
    let (evidence, details) = run(&opts);
    let f = evidence
        .findings
        .iter()
        .find(|f| f.rule == "DQI007")
        .unwrap();
    assert!(
        f.message
            .contains("1 value is not a number (first at row 41: \"n/a*\")"),
        "{}",
        f.message
    );
    assert_eq!(details.features[0].encoding, "one-hot");
}

#[test]
fn without_a_label_only_outliers_and_duplicates_run() {
    let dir = tmp();
    let (header, rows, truth) = poisoned();
    let path = dir.path().join("t.csv");
    write_csv(&path, &header, &rows);
    let (evidence, details) = run(&IssuesOptions::new(path.clone()));
    let ran: Vec<Issue> = details.checks.iter().map(|c| c.issue).collect();
    assert_eq!(ran, [Issue::Duplicate, Issue::Outlier]);
    // Without a label, the label is a feature like any other: the copy
    // under another label is no duplicate.
    assert_eq!(rows_of(&evidence, Issue::Duplicate), truth.duplicates);
    // The label column is a feature then; a label check is refused.
    assert!(details.features.iter().any(|f| f.column == "species"));
    let mut opts = IssuesOptions::new(path);
    opts.checks = vec![Issue::Backdoor];
    let e = issues(&opts).unwrap_err().to_string();
    assert!(e.contains("--label"), "{e}");
}

#[test]
fn knn_and_contamination_flag_the_share_asked_for() {
    let dir = tmp();
    let (header, rows, truth) = poisoned();
    let path = dir.path().join("t.csv");
    write_csv(&path, &header, &rows);
    let mut opts = labelled(path);
    opts.checks = vec![Issue::Outlier];
    // Ten rows stand out: three broken, seven with the trigger.
    opts.contamination = Some(0.04);
    let (forest, _) = run(&opts);
    let flagged = rows_of(&forest, Issue::Outlier);
    assert_eq!(flagged.len(), (0.04 * rows.len() as f64).ceil() as usize);
    assert!(truth.outliers.is_subset(&flagged));
    opts.outlier_method = OutlierMethod::Knn;
    let (knn, details) = run(&opts);
    assert!(truth.outliers.is_subset(&rows_of(&knn, Issue::Outlier)));
    assert!(details.checks[0].method.contains("nearest"));
    opts.contamination = None;
    opts.outlier_threshold = Some(1e9);
    let (none, _) = run(&opts);
    assert!(rows_of(&none, Issue::Outlier).is_empty());
}

#[test]
fn labels_the_features_cannot_predict_are_not_judged() {
    let dir = tmp();
    let mut rng = Rng(3);
    let mut s = String::from("a,b,y\n");
    for _ in 0..200 {
        s += &format!("{},{},{}\n", rng.below(100), rng.below(100), rng.below(2));
    }
    let path = dir.path().join("t.csv");
    std::fs::write(&path, s).unwrap();
    let mut opts = IssuesOptions::new(path);
    opts.label = Some("y".into());
    let (evidence, details) = run(&opts);
    assert!(rows_of(&evidence, Issue::Label).is_empty());
    let check = details
        .checks
        .iter()
        .find(|c| c.issue == Issue::Label)
        .unwrap();
    assert!(!check.ran && check.note.as_ref().unwrap().contains("no better"));
}

#[test]
fn bad_input_is_a_clear_error_naming_the_column() {
    let dir = tmp();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let err = |path: PathBuf, label: &str| {
        let mut o = IssuesOptions::new(path);
        o.label = Some(label.into());
        issues(&o).unwrap_err().to_string()
    };
    let t = write("t.csv", "a,b,y\n1,2,x\n3,4,x\n");
    assert!(err(t.clone(), "label").contains("no column `label`"));
    let e = err(t.clone(), "y");
    assert!(e.contains("label column `y` has one value (`x`)"), "{e}");
    let e = err(write("h.csv", "a,y\n"), "y");
    assert!(e.contains("no data rows"), "{e}");
    let e = err(write("m.csv", "a,y\n1,\n2,\n"), "y");
    assert!(e.contains("`y` has no values"), "{e}");
    let e = err(write("f.csv", "a,y\n,0\n,1\n"), "y");
    assert!(
        e.contains("no column can be used") && e.contains("a: every value is missing"),
        "{e}"
    );
    let mut many = String::from("a,y\n");
    for i in 0..10_050 {
        many += &format!("{i},c{i}\n");
    }
    let e = err(write("many.csv", &many), "y");
    assert!(e.contains("not a class label"), "{e}");
    let mut o = IssuesOptions::new(t.clone());
    o.max_cells = 4;
    let e = issues(&o).unwrap_err().to_string();
    assert!(e.contains("more than 4 cells"), "{e}");
    for bad in [
        |o: &mut IssuesOptions| o.contamination = Some(0.9),
        |o: &mut IssuesOptions| o.folds = 1,
        |o: &mut IssuesOptions| o.poison_fraction = 0.0,
        |o: &mut IssuesOptions| o.near_radius = Some(-1.0),
    ] {
        let mut o = IssuesOptions::new(t.clone());
        bad(&mut o);
        assert!(issues(&o).is_err());
    }
}

/// Two rings, one inside the other, with 20 labels flipped: no straight
/// line separates the classes, so logistic regression cannot tell a flipped
/// label from a hard row, while the nearest neighbours can.
#[test]
fn the_nearest_neighbour_model_finds_flipped_labels_where_classes_are_rings() {
    let mut rng = Rng(7);
    let header: Vec<String> = ["x", "y", "ring"].iter().map(|s| s.to_string()).collect();
    let mut rows = Vec::new();
    let mut flipped = BTreeSet::new();
    for i in 0..400 {
        let ring = i % 2;
        let radius =
            if ring == 0 { 1.0 } else { 3.0 } + (rng.below(1000) as f64 / 1000.0 - 0.5) * 0.6;
        let angle = rng.below(100_000) as f64 / 100_000.0 * std::f64::consts::TAU;
        let mut label = ["inner", "outer"][ring];
        if i % 40 == 3 || i % 40 == 22 {
            label = ["outer", "inner"][ring];
            flipped.insert(i as u64 + 1);
        }
        rows.push(vec![
            format!("{:.4}", radius * angle.cos()),
            format!("{:.4}", radius * angle.sin()),
            label.to_string(),
        ]);
    }
    let dir = tmp();
    let path = dir.path().join("rings.csv");
    write_csv(&path, &header, &rows);
    let mut opts = IssuesOptions::new(path);
    opts.label = Some("ring".into());
    opts.checks = vec![Issue::Label];
    opts.label_model = LabelModelKind::Knn;
    let (evidence, details) = run(&opts);
    let found = rows_of(&evidence, Issue::Label);
    let hits = found.intersection(&flipped).count();
    assert!(hits >= 18, "{hits} of 20 flipped labels found: {found:?}");
    assert!(found.len() <= 24, "{} rows flagged", found.len());
    let model = details.label_model.unwrap();
    assert!(
        model.model.contains("nearest neighbours"),
        "{}",
        model.model
    );
    assert!(model.accuracy > 0.9, "{}", model.accuracy);

    // The default model, on the same rows, is no better than a guess.
    opts.label_model = LabelModelKind::Logistic;
    let (evidence, _) = run(&opts);
    let found = rows_of(&evidence, Issue::Label);
    assert!(found.intersection(&flipped).count() < 10, "{found:?}");
}
