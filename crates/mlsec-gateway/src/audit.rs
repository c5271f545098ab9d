//! The audit log: one record per request, hash-chained, in SQLite (WAL).
//!
//! Requests hand their record to one writer thread, which commits whatever
//! has queued up as one transaction (group commit) and only then tells each
//! request that its record is durable; the gateway answers after that. A
//! full queue or a failing disk refuses the record at once, and the route
//! fails closed (503) unless the config says otherwise.
//!
//! Each record stores SHA-256(previous hash ‖ "\n" ‖ record JSON), so
//! changing, deleting or reordering any record breaks the chain from there
//! on; `verify` names the first record that does not fit.

use mlsec_core::{declare_rule, Evidence, Finding, Rule, Subject};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

declare_rule! {
    /// ## What it does
    /// Reports an audit record whose stored hash is not the hash of its own
    /// contents and the hash before it: the record was changed after it was
    /// written.
    ///
    /// ## Why is this bad?
    /// The audit log is the record of who asked which model what. Someone who
    /// can edit it can hide their own requests or blame another key; a record
    /// that does not match its hash can no longer be trusted, and neither can
    /// anything an investigation concluded from it.
    ///
    /// ## Example
    /// `record 1042: stored hash 3fa1... but its contents hash to 9b07...`
    ///
    /// ## How to fix
    /// Treat it as an incident: restore the log from a backup or replica and
    /// compare, find who had write access to the database file, and rotate the
    /// API keys whose records were touched.
    pub const RECORD_ALTERED = Rule {
        id: "AUD001", name: "audit-record-altered", severity: Critical, category: Malicious,
        summary: "Audit record changed after it was written",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a break in the audit log's chain: a record whose `prev` is not
    /// the hash of the record before it, or a gap in the sequence numbers.
    /// Records were deleted, inserted or reordered.
    ///
    /// ## Why is this bad?
    /// Deleting the records of an attack is the first thing an intruder does.
    /// A chain break shows where records went missing even when every
    /// remaining record is intact.
    ///
    /// ## Example
    /// `record 220: follows record 218 (219 is missing)`
    ///
    /// ## How to fix
    /// Treat it as an incident: recover the missing records from a backup or
    /// replica, and find who could write to the database.
    pub const CHAIN_BROKEN = Rule {
        id: "AUD002", name: "audit-chain-broken", severity: Critical, category: Malicious,
        summary: "Audit log records missing, inserted or reordered",
    };
}

pub const AUDIT_RULES: &[Rule] = &[RECORD_ALTERED, CHAIN_BROKEN];

/// What the gateway records of one request. Prompts and answers only when
/// the route opts in (`audit_bodies`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    /// RFC 3339 with microseconds.
    pub time: String,
    pub request_id: String,
    pub client: String,
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `allow` or `deny`.
    pub decision: String,
    pub reason: String,
    pub status: u16,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// The token counts were estimated (the upstream gave none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tokens_estimated: bool,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// The Cedar policies that decided (their `@id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AuditError {
    #[error("audit queue full")]
    Full,
    #[error("audit log unavailable: {0}")]
    Down(String),
}

struct Pending {
    record: AuditRecord,
    ack: oneshot::Sender<Result<u64, AuditError>>,
}

/// The handle requests use to append records.
pub struct AuditLog {
    tx: Option<mpsc::Sender<Pending>>,
    depth: Arc<AtomicUsize>,
    healthy: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
    pub path: PathBuf,
}

impl AuditLog {
    /// Opens (creating) the SQLite log at `path` and starts its writer.
    pub fn open(path: &Path, queue: usize, batch: usize) -> Result<AuditLog, AuditError> {
        let connection =
            open_db(path).map_err(|e| AuditError::Down(format!("{}: {e}", path.display())))?;
        let (tx, rx) = mpsc::channel(queue);
        let depth = Arc::new(AtomicUsize::new(0));
        let healthy = Arc::new(AtomicBool::new(true));
        let writer = {
            let (depth, healthy, path) = (depth.clone(), healthy.clone(), path.to_path_buf());
            std::thread::Builder::new()
                .name("mlsec-audit".into())
                .spawn(move || write_loop(connection, rx, batch, &depth, &healthy, &path))
                .map_err(|e| AuditError::Down(e.to_string()))?
        };
        Ok(AuditLog {
            tx: Some(tx),
            depth,
            healthy,
            writer: Some(writer),
            path: path.to_path_buf(),
        })
    }

    /// Queues `record` and waits until it is committed; returns its sequence number.
    pub async fn append(&self, record: AuditRecord) -> Result<u64, AuditError> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| AuditError::Down("closed".into()))?;
        let (ack, done) = oneshot::channel();
        match tx.try_send(Pending { record, ack }) {
            Ok(()) => {
                self.depth.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => return Err(AuditError::Full),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(AuditError::Down("writer stopped".into()))
            }
        }
        done.await
            .unwrap_or_else(|_| Err(AuditError::Down("writer stopped".into())))
    }

    /// Records waiting for the writer.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    /// Whether the last commit succeeded.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Stops taking records, writes what is queued, and waits for the writer.
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

fn open_db(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    // WAL: readers (audit verify) never block the writer. synchronous=NORMAL
    // keeps every commit across a crash of the process (not of the machine).
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL,
            record TEXT NOT NULL
        );",
    )?;
    Ok(c)
}

fn write_loop(
    mut db: rusqlite::Connection,
    mut rx: mpsc::Receiver<Pending>,
    batch: usize,
    depth: &AtomicUsize,
    healthy: &AtomicBool,
    path: &Path,
) {
    let mut pending: Vec<Pending> = Vec::with_capacity(batch);
    while let Some(first) = rx.blocking_recv() {
        pending.push(first);
        while pending.len() < batch {
            match rx.try_recv() {
                Ok(p) => pending.push(p),
                Err(_) => break,
            }
        }
        depth.fetch_sub(pending.len(), Ordering::Relaxed);
        let result = commit(&mut db, &pending);
        healthy.store(result.is_ok(), Ordering::Relaxed);
        match result {
            Ok(first_seq) => {
                for (i, p) in pending.drain(..).enumerate() {
                    let _ = p.ack.send(Ok(first_seq + i as u64));
                }
            }
            Err(e) => {
                tracing::error!("audit log {}: {e}", path.display());
                let message = format!("{}: {e}", path.display());
                for p in pending.drain(..) {
                    let _ = p.ack.send(Err(AuditError::Down(message.clone())));
                }
            }
        }
    }
}

/// Appends `pending` in one transaction; returns the first sequence number.
fn commit(db: &mut rusqlite::Connection, pending: &[Pending]) -> rusqlite::Result<u64> {
    // IMMEDIATE takes the write lock before reading the head, so even two
    // writers on one file extend one chain.
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let head: Option<(u64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_string()));
    let first = seq + 1;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO audit (seq, prev, hash, record) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for p in pending {
            let json = serde_json::to_string(&p.record)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            let hash = link_hash(&prev, &json);
            seq += 1;
            insert.execute(rusqlite::params![seq as i64, prev, hash, json])?;
            prev = hash;
        }
    }
    tx.commit()?;
    Ok(first)
}

/// SHA-256 of the previous hash, a newline and the record's JSON, in hex.
pub fn link_hash(prev: &str, record_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(record_json.as_bytes());
    hex::encode(h.finalize())
}

/// `details` of an `audit` evidence envelope (`mlsec audit verify|export`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditDetails {
    /// Records in the log.
    pub records: u64,
    /// The last record: its sequence number and hash (anchor it elsewhere to
    /// detect later truncation).
    pub head: ChainHead,
    /// The first record that does not fit the chain, if any.
    pub first_bad_record: Option<u64>,
    /// Every record fits the chain.
    pub intact: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChainHead {
    pub seq: u64,
    /// SHA-256, lowercase hex.
    pub hash: String,
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
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// Reads every record in order, checks the chain, and hands each record
/// to `each` (for export). Returns the `audit` evidence.
pub fn verify_with(
    path: &Path,
    mut each: impl FnMut(&StoredRecord) -> std::io::Result<()>,
) -> Result<Evidence, ReadError> {
    let shown = path.display().to_string();
    let error = |message: String| ReadError {
        path: shown.clone(),
        message,
    };
    if !path.is_file() {
        return Err(error("no such audit log".into()));
    }
    let db =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| error(e.to_string()))?;
    let mut statement = db
        .prepare("SELECT seq, prev, hash, record FROM audit ORDER BY seq")
        .map_err(|e| error(format!("not an mlsec audit log: {e}")))?;
    let mut rows = statement.query([]).map_err(|e| error(e.to_string()))?;
    let mut findings = Vec::new();
    let (mut count, mut expected_prev, mut last_seq) = (0u64, GENESIS.to_string(), 0u64);
    let mut first_bad: Option<u64> = None;
    while let Some(row) = rows.next().map_err(|e| error(e.to_string()))? {
        let seq = row.get::<_, i64>(0).map_err(|e| error(e.to_string()))? as u64;
        let prev: String = row.get(1).map_err(|e| error(e.to_string()))?;
        let hash: String = row.get(2).map_err(|e| error(e.to_string()))?;
        let json: String = row.get(3).map_err(|e| error(e.to_string()))?;
        count += 1;
        let mut bad = |f: Finding| {
            first_bad.get_or_insert(seq);
            // A broken chain would report every later record again; the
            // first few say where to look.
            if findings.len() < 20 {
                findings.push(f);
            }
        };
        let location = format!("record {seq}");
        if seq != last_seq + 1 {
            bad(Finding::new(
                &CHAIN_BROKEN,
                shown.clone(),
                format!(
                    "record {seq} follows record {last_seq} (records {}..{} are missing)",
                    last_seq + 1,
                    seq - 1
                ),
            )
            .at(Some(&location), None)
            .with_evidence(serde_json::json!({"seq": seq, "after": last_seq})));
        } else if prev != expected_prev {
            bad(Finding::new(
                &CHAIN_BROKEN,
                shown.clone(),
                format!("record {seq} does not follow the record before it (its prev is not that record's hash)"),
            )
            .at(Some(&location), None)
            .with_evidence(serde_json::json!({"seq": seq, "prev": prev, "expected": expected_prev})));
        }
        let actual = link_hash(&prev, &json);
        if actual != hash {
            bad(Finding::new(
                &RECORD_ALTERED,
                shown.clone(),
                format!(
                    "record {seq}: stored hash {} but its contents hash to {}",
                    short(&hash),
                    short(&actual)
                ),
            )
            .at(Some(&location), None)
            .with_evidence(serde_json::json!({"seq": seq, "stored": hash, "computed": actual})));
        }
        let record: serde_json::Value =
            serde_json::from_str(&json).unwrap_or(serde_json::Value::String(json));
        each(&StoredRecord {
            seq,
            prev,
            hash: hash.clone(),
            record,
        })
        .map_err(|e| error(format!("writing the export: {e}")))?;
        expected_prev = hash;
        last_seq = seq;
    }
    let details = AuditDetails {
        records: count,
        head: ChainHead {
            seq: last_seq,
            hash: expected_prev,
        },
        first_bad_record: first_bad,
        intact: first_bad.is_none(),
    };
    let details = serde_json::to_value(details).unwrap_or_default();
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

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> AuditRecord {
        AuditRecord {
            time: "2026-12-05T00:00:00.000000Z".into(),
            request_id: format!("r{i}"),
            client: "127.0.0.1".into(),
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            decision: "allow".into(),
            reason: "ok".into(),
            status: 200,
            ..AuditRecord::default()
        }
    }

    #[tokio::test]
    async fn records_chain_and_tampering_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let mut log = AuditLog::open(&path, 100, 8).unwrap();
        let mut seqs = Vec::new();
        let appends: Vec<_> = (0..50).map(|i| log.append(record(i))).collect();
        for a in appends {
            seqs.push(a.await.unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (1..=50).collect::<Vec<u64>>());
        log.close();
        let evidence = verify_with(&path, |_| Ok(())).unwrap();
        assert!(evidence.findings.is_empty(), "{:?}", evidence.findings);
        assert_eq!(evidence.details["records"], 50);

        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute(
            "UPDATE audit SET record = replace(record, '\"status\":200', '\"status\":201') WHERE seq = 17",
            [],
        )
        .unwrap();
        let evidence = verify_with(&path, |_| Ok(())).unwrap();
        assert_eq!(evidence.details["first_bad_record"], 17);
        assert_eq!(evidence.findings[0].rule, "AUD001");

        // Deleting a record (and rewriting the altered one) breaks the chain.
        let db2 = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
        db2.execute("DELETE FROM audit WHERE seq >= 17 AND seq <= 17", [])
            .unwrap();
        let evidence = verify_with(&path, |_| Ok(())).unwrap();
        assert_eq!(evidence.details["first_bad_record"], 18);
        assert_eq!(evidence.findings[0].rule, "AUD002");
        drop(db);
    }

    #[tokio::test]
    async fn a_read_only_log_refuses_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.db");
        let log = AuditLog::open(&path, 100, 8).unwrap();
        log.append(record(0)).await.unwrap();
        // A table the writer cannot insert into stands for a disk that refuses writes.
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("DROP TABLE audit; CREATE TABLE audit (x INTEGER);")
            .unwrap();
        let e = log.append(record(1)).await.unwrap_err();
        assert!(matches!(e, AuditError::Down(_)), "{e:?}");
        assert!(!log.healthy());
    }
}
