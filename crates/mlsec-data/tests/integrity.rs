//! Manifest → verify round trips on realistic tables, with exact row numbers.

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use mlsec_data::manifest::{self, Manifest, ManifestOptions};
use mlsec_data::verify::{self, Rows, VerifyOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn users_csv(n: usize) -> String {
    let mut s = String::from("id,name,email,comment\n");
    for i in 1..=n {
        s.push_str(&format!(
            "{i},User {i},user{i}@example.org,\"said \"\"hi\"\", then left, {i}\"\n"
        ));
    }
    s
}

fn jsonl(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "{{\"id\":{i},\"text\":\"review {i}\",\"meta\":{{\"stars\":{}}}}}\n",
                i % 5
            )
        })
        .collect()
}

fn write_parquet(path: &Path, ids: &[i64], texts: &[&str], rows_per_group: usize) {
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
        (
            "text",
            Arc::new(StringArray::from(texts.to_vec())) as ArrayRef,
        ),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(rows_per_group)
        .build();
    let file = fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn build(dir: &Path) -> Manifest {
    manifest::build(&[dir.to_path_buf()], &ManifestOptions::default())
        .unwrap()
        .0
}

fn check(dir: &Path, m: &Manifest) -> verify::Verification {
    // Through bytes, as the CLI does.
    let m = Manifest::from_bytes(&m.to_bytes()).unwrap();
    verify::verify(&m, &[dir.to_path_buf()], &VerifyOptions::default()).unwrap()
}

fn dataset() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("users.csv"), users_csv(50)).unwrap();
    fs::write(root.join("sub/reviews.jsonl"), jsonl(30)).unwrap();
    fs::write(root.join("README.txt"), "Customer data export.\n").unwrap();
    let ids: Vec<i64> = (1..=100).collect();
    let texts: Vec<String> = ids.iter().map(|i| format!("row {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    write_parquet(&root.join("events.parquet"), &ids, &texts, 32);
    (dir, root)
}

fn rows(first: u64, last: u64) -> Rows {
    Rows { first, last }
}

#[test]
fn untouched_dataset_verifies_identical_with_provenance() {
    let (_d, root) = dataset();
    let m = build(&root);
    let keys: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        keys,
        [
            "README.txt",
            "events.parquet",
            "sub/reviews.jsonl",
            "users.csv"
        ]
    );
    let csv = m
        .files
        .iter()
        .find(|f| f.path == "users.csv")
        .unwrap()
        .table
        .as_ref()
        .unwrap();
    assert_eq!((csv.rows, csv.columns), (50, 4));
    assert_eq!(csv.schema[0].name, "id");
    assert_eq!(csv.schema[0].kind, "integer");
    assert_eq!(csv.schema[2].kind, "string");
    let pq = m
        .files
        .iter()
        .find(|f| f.path == "events.parquet")
        .unwrap()
        .table
        .as_ref()
        .unwrap();
    assert_eq!((pq.rows, pq.columns), (100, 2));
    assert_eq!(pq.schema[0].kind, "Int64");
    let js = m
        .files
        .iter()
        .find(|f| f.path == "sub/reviews.jsonl")
        .unwrap()
        .table
        .as_ref()
        .unwrap();
    assert_eq!(
        js.schema
            .iter()
            .map(|c| c.kind.as_str())
            .collect::<Vec<_>>(),
        ["integer", "object", "string"]
    );
    let v = check(&root, &m);
    assert!(v.identical(), "{:?}", v.findings);
    assert!(v.files.iter().all(|f| f.verdict == "unchanged"));
}

#[test]
fn edited_inserted_and_deleted_rows_are_named() {
    let (_d, root) = dataset();
    let m = build(&root);
    // CSV: edit data row 7, insert a row after row 20, delete row 40 (old numbering).
    let original = users_csv(50);
    let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
    lines[7] = "7,User 7,changed@example.org,\"said \"\"hi\"\", then left, 7\"".into();
    lines.remove(40);
    lines.insert(21, "999,Mallory,m@evil.test,injected".into());
    fs::write(root.join("users.csv"), lines.join("\n") + "\n").unwrap();
    let v = check(&root, &m);
    let report = v.files.iter().find(|f| f.path == "users.csv").unwrap();
    assert_eq!(report.verdict, "changed");
    let diff = report.rows.as_ref().unwrap();
    assert_eq!(diff.changed.len(), 1);
    assert_eq!(diff.changed[0].rows, rows(7, 7));
    assert_eq!(diff.inserted, vec![rows(21, 21)]);
    assert_eq!(diff.deleted, vec![rows(40, 40)]);
    let ids: Vec<&str> = v.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(ids, ["DAT001", "DAT004", "DAT005", "DAT006"]);
    assert!(
        v.findings[1].message.contains("row 7 changed"),
        "{}",
        v.findings[1].message
    );
}

#[test]
fn quoting_style_alone_is_no_row_change() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("t.csv"), "a,b\nx,y\n\"p\",q\n").unwrap();
    let m = build(dir.path());
    fs::write(dir.path().join("t.csv"), "a,b\n\"x\",y\np,\"q\"\n").unwrap();
    let v = check(dir.path(), &m);
    // The bytes differ, the rows do not.
    assert_eq!(
        v.findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>(),
        ["DAT001"]
    );
    assert!(v.files[0].rows.as_ref().unwrap().is_empty());
}

#[test]
fn jsonl_and_parquet_changes_are_located() {
    let (_d, root) = dataset();
    let m = build(&root);
    // JSONL: key order does not matter, a value does.
    let mut text = jsonl(30).replace(
        "{\"id\":3,\"text\":\"review 3\"",
        "{\"text\":\"review 3\",\"id\":3",
    );
    text = text.replace("\"review 12\"", "\"review twelve\"");
    fs::write(root.join("sub/reviews.jsonl"), text).unwrap();
    // Parquet: rows 65 and 66 (second row group boundary crossed) deleted.
    let ids: Vec<i64> = (1..=100).filter(|i| *i != 65 && *i != 66).collect();
    let texts: Vec<String> = ids.iter().map(|i| format!("row {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    write_parquet(&root.join("events.parquet"), &ids, &texts, 32);
    let v = check(&root, &m);
    let js = v
        .files
        .iter()
        .find(|f| f.path == "sub/reviews.jsonl")
        .unwrap();
    let d = js.rows.as_ref().unwrap();
    assert_eq!(
        d.changed.iter().map(|c| c.rows).collect::<Vec<_>>(),
        vec![rows(12, 12)]
    );
    assert!(d.inserted.is_empty() && d.deleted.is_empty());
    let pq = v.files.iter().find(|f| f.path == "events.parquet").unwrap();
    assert_eq!(pq.rows.as_ref().unwrap().deleted, vec![rows(65, 66)]);
}

#[test]
fn added_and_removed_files_are_named() {
    let (_d, root) = dataset();
    let m = build(&root);
    fs::remove_file(root.join("sub/reviews.jsonl")).unwrap();
    fs::write(root.join("sub/extra.csv"), "a\n1\n").unwrap();
    let v = check(&root, &m);
    let by: Vec<(&str, &str)> = v
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.subject.as_str()))
        .collect();
    assert_eq!(
        by,
        [("DAT002", "sub/extra.csv"), ("DAT003", "sub/reviews.jsonl")]
    );
}

#[test]
fn schema_changes_and_tampered_manifests_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("t.csv"), "a,b\n1,x\n2,y\n").unwrap();
    let mut m = build(dir.path());
    fs::write(dir.path().join("t.csv"), "a,c\n1,x\n2,y\n").unwrap();
    let v = check(dir.path(), &m);
    assert_eq!(
        v.findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>(),
        ["DAT001", "DAT007"]
    );
    // Row digests edited to hide a change no longer match the Merkle root.
    let table = m.files[0].table.as_mut().unwrap();
    let mut raw = table.row_digests.clone().unwrap().into_bytes();
    raw[0] = if raw[0] == b'A' { b'B' } else { b'A' };
    table.row_digests = Some(String::from_utf8(raw).unwrap());
    let v = check(dir.path(), &m);
    assert!(
        v.findings.iter().any(|f| f.rule == "DAT008"),
        "{:?}",
        v.findings
    );
    assert!(Manifest::from_bytes(b"{\"schema\": \"other\"}").is_err());
}

#[test]
fn without_row_digests_a_change_is_still_caught() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("t.csv"), "a\n1\n2\n").unwrap();
    let opts = ManifestOptions {
        no_row_digests: true,
        ..Default::default()
    };
    let m = manifest::build(&[dir.path().to_path_buf()], &opts)
        .unwrap()
        .0;
    assert!(m.files[0].table.as_ref().unwrap().row_digests.is_none());
    fs::write(dir.path().join("t.csv"), "a\n1\n3\n").unwrap();
    let v = check(dir.path(), &m);
    assert_eq!(
        v.findings
            .iter()
            .map(|f| f.rule.as_str())
            .collect::<Vec<_>>(),
        ["DAT001", "DAT004"]
    );
    assert!(v.findings[1].message.contains("no row digests"));
}

#[test]
fn a_malformed_table_fails_the_manifest_with_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.csv"), "a,b\n1,2\n3\n").unwrap();
    let err =
        manifest::build(&[dir.path().to_path_buf()], &ManifestOptions::default()).unwrap_err();
    assert!(matches!(err, mlsec_data::DatasetError::Read(_)), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("bad.csv: row 2 (line 3): 1 field(s) but the header has 2"),
        "{err}"
    );
}

/// A symbolic link in a dataset folder is never skipped silently: mlsec does
/// not follow links (what one points to can change without the folder
/// changing), so the manifest refuses the folder, naming each link and its
/// target, and verify reports every link it meets as DAT012.
#[cfg(unix)]
#[test]
fn symbolic_links_are_refused_by_the_manifest_and_reported_by_verify() {
    use std::os::unix::fs::symlink;
    let (d, root) = dataset();
    let outside = d.path().join("outside.csv");
    fs::write(&outside, users_csv(3)).unwrap();
    let m = build(&root);

    symlink(&outside, root.join("sub/linked.csv")).unwrap();
    symlink("nowhere.csv", root.join("dangling.csv")).unwrap();
    // A link to a folder above is neither followed (a loop) nor skipped.
    symlink("..", root.join("sub/up")).unwrap();
    let err =
        manifest::build(std::slice::from_ref(&root), &ManifestOptions::default()).unwrap_err();
    let err = err.to_string();
    for want in [
        format!("sub/linked.csv -> {}", outside.display()),
        "dangling.csv -> nowhere.csv".to_string(),
        "sub/up -> ..".to_string(),
        "DAT012".to_string(),
    ] {
        assert!(err.contains(&want), "{want} not in: {err}");
    }

    let v = check(&root, &m);
    let by: Vec<(&str, &str)> = v
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.subject.as_str()))
        .collect();
    assert_eq!(
        by,
        [
            ("DAT012", "dangling.csv"),
            ("DAT012", "sub/linked.csv"),
            ("DAT012", "sub/up")
        ]
    );
    let linked = v.findings.iter().find(|f| f.subject == "sub/linked.csv");
    assert!(
        linked
            .unwrap()
            .message
            .contains(&outside.display().to_string()),
        "{linked:?}"
    );
    let report = v.files.iter().find(|f| f.path == "sub/linked.csv").unwrap();
    assert_eq!(report.verdict, "link");
    let report = serde_json::to_value(report).unwrap();
    assert_eq!(report["target"], outside.display().to_string());
    assert!(!v.identical());

    // A pinned file swapped for a link to other data: one finding, the link.
    fs::remove_file(root.join("users.csv")).unwrap();
    symlink(&outside, root.join("users.csv")).unwrap();
    let v = check(&root, &m);
    let users: Vec<_> = v
        .findings
        .iter()
        .filter(|f| f.subject == "users.csv")
        .map(|f| (f.rule.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0].0, "DAT012");
    assert!(
        users[0].1.contains("the manifest pins a regular file"),
        "{users:?}"
    );
}
