//! `mlsec audit verify` and `export`: walk the chain, check the signed
//! checkpoints, name the first record that does not fit.

use super::{
    link_hash, open_existing, CheckpointRow, Row, Sink, CHAIN_BROKEN, CHECKPOINT_MISMATCH,
    CHECKPOINT_PREDICATE_TYPE, GENESIS, RECORD_ALTERED,
};
use mlsec_core::{Evidence, Finding, Subject};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Findings kept per run: a broken chain would report every later record
/// again; the first few say where to look.
const MAX_FINDINGS: usize = 20;

/// `details` of an `audit` evidence envelope (`mlsec audit verify|export`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditDetails {
    /// Records in the log.
    pub records: u64,
    /// The last record: its sequence number and hash (anchor it elsewhere to
    /// detect later truncation).
    pub head: ChainHead,
    /// The first record that does not fit the chain or a checkpoint, if any.
    pub first_bad_record: Option<u64>,
    /// Every record fits the chain (and the checkpoints, when checked).
    pub intact: bool,
    pub checkpoints: CheckpointSummary,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChainHead {
    pub seq: u64,
    /// SHA-256, lowercase hex.
    pub hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckpointSummary {
    /// Checkpoints stored in the log.
    pub count: u64,
    /// Whether their signatures were checked (a key was given).
    pub checked: bool,
    /// Checkpoints whose signature verified and whose record matches.
    pub valid: u64,
    /// The last record a valid checkpoint covers (0: none).
    pub signed_up_to: u64,
    /// The signer's key fingerprint (SHA-256 of its PEM), when checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
}

/// One stored record as `audit export` writes it (a JSONL line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRecord {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub record: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ReadError {
    pub location: String,
    pub message: String,
}

/// A checkpoint whose signature checked out: the head it vouches for.
struct Signed {
    seq: u64,
    hash: String,
}

struct Walk {
    shown: String,
    findings: Vec<Finding>,
    first_bad: Option<u64>,
}

impl Walk {
    fn bad(&mut self, seq: u64, finding: Finding) {
        self.first_bad = Some(self.first_bad.map_or(seq, |b| b.min(seq)));
        if self.findings.len() < MAX_FINDINGS {
            self.findings
                .push(finding.at(Some(&format!("record {seq}")), None));
        }
    }

    fn checkpoint(&mut self, seq: u64, message: String, evidence: serde_json::Value) {
        let f =
            Finding::new(&CHECKPOINT_MISMATCH, self.shown.clone(), message).with_evidence(evidence);
        self.bad(seq, f);
    }
}

/// Reads every record in order, checks the chain and, with `trust`, the
/// signed checkpoints, and hands each record to `each` (for export).
/// Returns the `audit` evidence.
pub fn verify_with(
    sink: &Sink,
    trust: Option<&mlsec_sign::Trust>,
    each: impl FnMut(&StoredRecord) -> std::io::Result<()> + Send,
) -> Result<Evidence, ReadError> {
    // On a thread of its own: the sync PostgreSQL client must not run on a
    // runtime thread, and callers (tests, the gateway) may be on one.
    std::thread::scope(|s| {
        s.spawn(|| verify_on_this_thread(sink, trust, each))
            .join()
            .unwrap_or_else(|_| {
                Err(ReadError {
                    location: sink.to_string(),
                    message: "the verifier stopped unexpectedly".into(),
                })
            })
    })
}

fn verify_on_this_thread(
    sink: &Sink,
    trust: Option<&mlsec_sign::Trust>,
    mut each: impl FnMut(&StoredRecord) -> std::io::Result<()>,
) -> Result<Evidence, ReadError> {
    let shown = sink.to_string();
    let error = |message: String| ReadError {
        location: shown.clone(),
        message,
    };
    let mut store = open_existing(sink).map_err(error)?;
    let stored = store.checkpoints().map_err(error)?;
    let mut walk = Walk {
        shown: shown.clone(),
        findings: Vec::new(),
        first_bad: None,
    };
    let mut summary = CheckpointSummary {
        count: stored.len() as u64,
        checked: trust.is_some(),
        ..Default::default()
    };
    let signed = match trust {
        Some(trust) => open_checkpoints(&stored, trust, &mut walk, &mut summary),
        None => BTreeMap::new(),
    };

    let (mut count, mut expected_prev, mut last_seq) = (0u64, GENESIS.to_string(), 0u64);
    let mut write_error = None;
    store
        .for_each_record(&mut |row: Row| {
            let Row { seq, prev, hash, record } = row;
            count += 1;
            if seq != last_seq + 1 {
                let f = Finding::new(
                    &CHAIN_BROKEN,
                    shown.clone(),
                    format!(
                        "record {seq} follows record {last_seq} (records {}..{} are missing)",
                        last_seq + 1,
                        seq.saturating_sub(1)
                    ),
                )
                .with_evidence(serde_json::json!({"seq": seq, "after": last_seq}));
                walk.bad(seq, f);
            } else if prev != expected_prev {
                let f = Finding::new(
                    &CHAIN_BROKEN,
                    shown.clone(),
                    format!("record {seq} does not follow the record before it (its prev is not that record's hash)"),
                )
                .with_evidence(serde_json::json!({"seq": seq, "prev": prev, "expected": expected_prev}));
                walk.bad(seq, f);
            }
            let actual = link_hash(&prev, &record);
            if actual != hash {
                let f = Finding::new(
                    &RECORD_ALTERED,
                    shown.clone(),
                    format!(
                        "record {seq}: stored hash {} but its contents hash to {}",
                        short(&hash),
                        short(&actual)
                    ),
                )
                .with_evidence(serde_json::json!({"seq": seq, "stored": hash, "computed": actual}));
                walk.bad(seq, f);
            }
            if let Some(s) = signed.get(&seq) {
                if s.hash != hash {
                    walk.checkpoint(
                        seq,
                        format!(
                            "record {seq}: a signed checkpoint vouches for hash {} but the log has {} (records up to here were rewritten)",
                            short(&s.hash),
                            short(&hash)
                        ),
                        serde_json::json!({"seq": seq, "signed": s.hash, "stored": hash}),
                    );
                } else {
                    summary.valid += 1;
                    summary.signed_up_to = summary.signed_up_to.max(s.seq);
                }
            }
            let record: serde_json::Value =
                serde_json::from_str(&record).unwrap_or(serde_json::Value::String(record));
            let exported = StoredRecord {
                seq,
                prev,
                hash: hash.clone(),
                record,
            };
            if let Err(e) = each(&exported) {
                write_error = Some(e);
                return Err("stopped".into());
            }
            expected_prev = hash;
            last_seq = seq;
            Ok(())
        })
        .map_err(|e| match write_error.take() {
            Some(w) => error(format!("writing the export: {w}")),
            None => error(e),
        })?;

    if let Some(beyond) = signed
        .values()
        .filter(|s| s.seq > last_seq)
        .map(|s| s.seq)
        .max()
    {
        walk.checkpoint(
            last_seq + 1,
            format!(
                "a signed checkpoint vouches for record {beyond} but the log ends at record {last_seq} (records were removed from the end)"
            ),
            serde_json::json!({"signed_seq": beyond, "last_seq": last_seq}),
        );
    }
    if trust.is_some() && count > 0 && summary.valid == 0 && walk.findings.is_empty() {
        walk.checkpoint(
            1,
            "no checkpoint signed by the trusted key: the chain could have been rebuilt by anyone who can write to the log".into(),
            serde_json::json!({"checkpoints": summary.count}),
        );
    }

    let details = AuditDetails {
        records: count,
        head: ChainHead {
            seq: last_seq,
            hash: expected_prev,
        },
        first_bad_record: walk.first_bad,
        intact: walk.first_bad.is_none(),
        checkpoints: summary,
    };
    let details = serde_json::to_value(details).unwrap_or_default();
    let mut findings = walk.findings;
    findings.sort_by_key(|f| {
        f.evidence
            .get("seq")
            .and_then(|s| s.as_u64())
            .unwrap_or(u64::MAX)
    });
    Ok(Evidence::new(
        "audit",
        vec![Subject {
            name: shown,
            digest: Default::default(),
        }],
        findings,
        details,
    ))
}

/// Checks each checkpoint's signature and that it signs what its row says;
/// returns the good ones by the record they vouch for.
fn open_checkpoints(
    stored: &[CheckpointRow],
    trust: &mlsec_sign::Trust,
    walk: &mut Walk,
    summary: &mut CheckpointSummary,
) -> BTreeMap<u64, Signed> {
    let mut signed = BTreeMap::new();
    for c in stored {
        let opened =
            mlsec_sign::open_statement(c.bundle.as_bytes(), trust, CHECKPOINT_PREDICATE_TYPE);
        match opened {
            Ok((predicate, signer)) => {
                let seq = predicate.get("seq").and_then(|s| s.as_u64());
                let hash = predicate.get("hash").and_then(|h| h.as_str());
                if seq != Some(c.seq) || hash != Some(c.hash.as_str()) {
                    walk.checkpoint(
                        c.seq,
                        format!(
                            "checkpoint at record {}: its row says hash {} but the signature covers record {} hash {}",
                            c.seq,
                            short(&c.hash),
                            seq.unwrap_or(0),
                            short(hash.unwrap_or(""))
                        ),
                        serde_json::json!({"seq": c.seq}),
                    );
                    continue;
                }
                summary.key_fingerprint = Some(signer.key_fingerprint);
                signed.insert(
                    c.seq,
                    Signed {
                        seq: c.seq,
                        hash: c.hash.clone(),
                    },
                );
            }
            Err(e) => walk.checkpoint(
                c.seq,
                format!("checkpoint at record {}: {e}", c.seq),
                serde_json::json!({"seq": c.seq}),
            ),
        }
    }
    signed
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
