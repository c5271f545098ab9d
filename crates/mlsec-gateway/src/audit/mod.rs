//! The audit log: one record per request, hash-chained, in SQLite (WAL) or
//! PostgreSQL (shared by replicas).
//!
//! A record is queued and committed with whatever else has queued up, as
//! one transaction (group commit); only then is the request told that its
//! record is durable, and the gateway answers after that. With SQLite the
//! request commits on its own thread when no other commit is running (see
//! `writer`); a server database is written by the writer thread. A
//! full queue or a failing database refuses the record at once, and the
//! route fails closed (503) unless the config says otherwise.
//!
//! Each record stores SHA-256(previous hash ‖ "\n" ‖ record JSON), so
//! changing, deleting or reordering any record breaks the chain from there
//! on; `verify` names the first record that does not fit. Someone with
//! write access could still rebuild the whole chain; signed checkpoints
//! (the head's hash, signed with an mlsec-sign key the database never sees)
//! catch that, and truncation too.

mod postgres;
mod sqlite;
mod verify;
mod writer;

pub use verify::{
    verify_with, AuditDetails, ChainHead, CheckpointSummary, ReadError, StoredRecord,
};
pub use writer::{load_checkpoint_key, AuditError, AuditLog};

use mlsec_core::{declare_rule, Rule};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

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

declare_rule! {
    /// ## What it does
    /// Checks the audit log against its signed checkpoints (with `mlsec
    /// audit verify --key`). Reports a checkpoint whose signature does not
    /// verify with the trusted key, a record that differs from the hash a
    /// checkpoint signed, a checkpoint beyond the end of the log, and a log
    /// with records but no valid checkpoint at all.
    ///
    /// ## Why is this bad?
    /// The hash chain alone shows edits made by someone who did not bother to
    /// recompute it. Whoever can write to the database can rebuild the whole
    /// chain after deleting their records; they cannot sign a checkpoint
    /// without the gateway's private key. A record that no longer matches a
    /// signed checkpoint, or a log shorter than a checkpoint, means records
    /// were rewritten or cut off.
    ///
    /// ## Example
    /// `record 5000: checkpoint signed hash 3fa1... but the log has 9b07... (the chain was rebuilt)`
    ///
    /// ## How to fix
    /// Treat it as an incident: restore the log from a backup or replica and
    /// compare, and find who had write access. A checkpoint that fails its
    /// signature was forged or made with another key: check which key the
    /// gateway signs with (`audit.checkpoint_key`).
    pub const CHECKPOINT_MISMATCH = Rule {
        id: "AUD003", name: "audit-checkpoint-mismatch", severity: Critical, category: Malicious,
        summary: "Audit log does not match its signed checkpoints",
    };
}

pub const AUDIT_RULES: &[Rule] = &[RECORD_ALTERED, CHAIN_BROKEN, CHECKPOINT_MISMATCH];

/// The in-toto predicate type of a signed checkpoint.
pub const CHECKPOINT_PREDICATE_TYPE: &str = "https://mlsec.dev/audit-checkpoint/v1";

/// Where the audit log lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    Sqlite(PathBuf),
    /// A `postgresql://` URL, the table (whose checkpoints go in
    /// `TABLE_checkpoint`), and the CA to check the server with when the URL
    /// says `sslmode=require` (the system's roots when none).
    Postgres {
        url: String,
        table: String,
        ca: Option<PathBuf>,
    },
}

impl Sink {
    /// `postgresql://` or `postgres://` URLs name PostgreSQL; anything else is a SQLite file.
    pub fn parse(location: &str, table: &str, ca: Option<&std::path::Path>) -> Sink {
        if location.starts_with("postgresql://") || location.starts_with("postgres://") {
            Sink::Postgres {
                url: location.to_string(),
                table: table.to_string(),
                ca: ca.map(std::path::Path::to_path_buf),
            }
        } else {
            Sink::Sqlite(PathBuf::from(location))
        }
    }
}

impl std::fmt::Display for Sink {
    /// The path, or the URL without its password (it goes into logs and evidence).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sink::Sqlite(path) => write!(f, "{}", path.display()),
            Sink::Postgres { url, table, .. } => {
                write!(f, "{} table {table}", redact_password(url))
            }
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

/// A stored record: its place in the chain and its JSON.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub record: String,
}

/// A stored checkpoint: the head it signed and the Sigstore bundle.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointRow {
    pub seq: u64,
    pub hash: String,
    pub time: String,
    pub bundle: String,
}

/// What the writer and the verifier need of a database.
pub(crate) trait Store: Send {
    /// Reaches the database now (a server store connects lazily).
    fn connect(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// In one transaction, with the log locked against other writers:
    /// reads the head, chains `records` (JSON) onto it and stores them.
    /// Returns the first new sequence number and the new head.
    fn append(&mut self, records: &[String]) -> Result<(u64, Row), String>;
    /// The same without waiting: `None` when the log is locked by another
    /// writer, or when this store cannot tell without blocking (it is then
    /// written by the writer thread only).
    fn try_append(&mut self, _records: &[String]) -> Option<Result<(u64, Row), String>> {
        None
    }
    fn add_checkpoint(&mut self, checkpoint: &CheckpointRow) -> Result<(), String>;
    /// Every record in sequence order.
    fn for_each_record(
        &mut self,
        each: &mut dyn FnMut(Row) -> Result<(), String>,
    ) -> Result<(), String>;
    fn checkpoints(&mut self) -> Result<Vec<CheckpointRow>, String>;
}

/// Chains `records` onto the head `(seq, hash)`.
pub(crate) fn chain(head: Option<(u64, String)>, records: &[String]) -> Vec<Row> {
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_string()));
    records
        .iter()
        .map(|json| {
            seq += 1;
            let hash = link_hash(&prev, json);
            Row {
                seq,
                prev: std::mem::replace(&mut prev, hash.clone()),
                hash,
                record: json.clone(),
            }
        })
        .collect()
}

/// SHA-256 of the previous hash, a newline and the record's JSON, in hex.
pub fn link_hash(prev: &str, record_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(record_json.as_bytes());
    hex::encode(h.finalize())
}

/// Opens the store for writing (creating its tables).
pub(crate) fn open_store(sink: &Sink) -> Result<Box<dyn Store>, String> {
    Ok(match sink {
        Sink::Sqlite(path) => Box::new(sqlite::SqliteStore::open(path, true)?),
        Sink::Postgres { url, table, ca } => {
            Box::new(postgres::PgStore::new(url, table, ca.as_deref(), true)?)
        }
    })
}

/// Opens an existing log for reading.
pub(crate) fn open_existing(sink: &Sink) -> Result<Box<dyn Store>, String> {
    Ok(match sink {
        Sink::Sqlite(path) => Box::new(sqlite::SqliteStore::open(path, false)?),
        Sink::Postgres { url, table, ca } => {
            Box::new(postgres::PgStore::existing(url, table, ca.as_deref())?)
        }
    })
}

/// Checks a PostgreSQL URL and table name as the config gives them.
pub fn check_postgres(url: &str, table: &str) -> Result<(), String> {
    postgres::check(url, table)
}

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

#[cfg(test)]
mod tests;
