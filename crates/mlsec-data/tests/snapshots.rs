//! Pins every finding of `data pii` and `data verify` on realistic inputs
//! (rule, severity, file, location, message), not only the verdicts: a change
//! in detection or wording shows up as a snapshot diff to review. Update with
//! `INSTA_UPDATE=always cargo test -p mlsec-data --test snapshots`.

use mlsec_core::Evidence;
use mlsec_data::manifest::{self, ManifestOptions};
use mlsec_data::{scan_pii, verify_dataset, DatasetVerifyOptions, PiiOptions, ReadOptions};
use std::fs;
use std::path::Path;

/// One line per finding, with the temporary folder's path taken out.
fn lines(evidence: &Evidence, root: &Path) -> String {
    let root = root.to_string_lossy();
    let mut out: Vec<String> = evidence
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {} @ {}: {}",
                f.rule,
                f.severity,
                f.subject.replace(&*root, "ROOT"),
                f.location.as_deref().unwrap_or("-"),
                f.message.replace(&*root, "ROOT"),
            )
        })
        .collect();
    out.sort();
    out.push(format!("verdict: {}", evidence.summary.verdict));
    out.join("\n")
}

const CUSTOMERS: &str = "\
id,name,email,phone,city,comment,score
1,Maria Garcia,maria.garcia@example.com,+1 415 555 0134,Boston,Order 88213 arrived late,0.0567809958231964
2,James O'Brien,jobrien@example.org,(212) 555-0199,Chicago,\"Card 4111 1111 1111 1111, please refund\",0.91
3,Wei Zhang,wei.zhang@example.net,020 7946 0958,London,SSN on file: 078-05-1120,0.33
4,Anna Kowalska,anna@example.pl,+48 22 123 45 67,Warsaw,key AKIAIOSFODNN7EXAMPLE in the ticket,0.5
5,n/a,,,,\"Nothing to see, version 1.2.3 on 2024-01-05\",0.12
";

const CHAT: &str = r#"{"role": "user", "text": "Hi, I'm Priya Patel, reach me at priya.patel@example.com or 10.0.0.12"}
{"role": "assistant", "text": "Thanks Priya! Your IBAN DE89 3704 0044 0532 0130 00 is noted."}
{"role": "user", "text": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"}
"#;

#[test]
fn pii_findings_on_a_customer_table_and_a_chat_log() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("customers.csv"), CUSTOMERS).unwrap();
    fs::write(dir.path().join("chat.jsonl"), CHAT).unwrap();
    let evidence = scan_pii(&PiiOptions {
        paths: vec![dir.path().to_path_buf()],
        entities: Vec::new(),
        read: ReadOptions::default(),
        max_findings: 0,
    })
    .unwrap();
    insta::assert_snapshot!("pii_findings", lines(&evidence, dir.path()));
}

#[test]
fn verify_findings_on_a_tampered_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir_all(data.join("split")).unwrap();
    fs::write(data.join("train.csv"), "id,label\n1,cat\n2,dog\n3,cat\n").unwrap();
    fs::write(
        data.join("split/test.jsonl"),
        "{\"id\": 4, \"label\": \"dog\"}\n",
    )
    .unwrap();
    fs::write(data.join("notes.txt"), "collected 2024\n").unwrap();
    let (manifest, _) =
        manifest::build(std::slice::from_ref(&data), &ManifestOptions::default()).unwrap();
    let path = dir.path().join("data.manifest.json");
    fs::write(&path, manifest.to_bytes()).unwrap();

    // A flipped label, a removed file, an added file and an added link.
    fs::write(data.join("train.csv"), "id,label\n1,cat\n2,cat\n3,cat\n").unwrap();
    fs::remove_file(data.join("notes.txt")).unwrap();
    fs::write(data.join("split/extra.csv"), "id,label\n9,cat\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", data.join("outside")).unwrap();

    let evidence = verify_dataset(&DatasetVerifyOptions {
        paths: vec![data.clone()],
        manifest: path,
        signature: None,
        trust: None,
        read: ReadOptions::default(),
        exclude: vec![],
    })
    .unwrap();
    insta::assert_snapshot!("verify_findings", lines(&evidence, dir.path()));
}
