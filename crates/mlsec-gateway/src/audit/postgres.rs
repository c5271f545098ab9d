//! The shared audit store: a PostgreSQL table that several gateway replicas
//! append to as one chain (an advisory lock orders their transactions).

use super::{chain, CheckpointRow, Row, Store};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Statement};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// After a failed connection, batches fail at once for this long instead of
/// each waiting for another connection attempt.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Checks what the config gives: the URL parses, and the table name is a
/// plain identifier (it is put into SQL text, so nothing else may pass).
pub(crate) fn check(url: &str, table: &str) -> Result<(), String> {
    postgres::Config::from_str(url).map_err(|e| format!("invalid URL: {e}"))?;
    let plain = table.len() <= 48
        && table.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && table
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain {
        return Err(format!(
            "table `{table}`: use lowercase letters, digits and _ (at most 48)"
        ));
    }
    Ok(())
}

struct Connection {
    client: Client,
    head: Statement,
    insert: Statement,
}

pub(crate) struct PgStore {
    config: postgres::Config,
    table: String,
    /// Lock id shared by every replica writing this table.
    lock: i64,
    create: bool,
    /// With `sslmode=require`: TLS, the server's certificate always checked.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    connection: Option<Connection>,
    failed: Option<(Instant, String)>,
}

impl PgStore {
    /// A store that connects on first use (and again after any failure).
    pub fn new(
        url: &str,
        table: &str,
        ca: Option<&std::path::Path>,
        create: bool,
    ) -> Result<PgStore, String> {
        check(url, table)?;
        let mut config = postgres::Config::from_str(url).map_err(|e| e.to_string())?;
        // TLS when asked for, and then verified: unlike libpq's `require`,
        // an unverified server is refused (it could be anyone).
        let tls = if config.get_ssl_mode() == postgres::config::SslMode::Require {
            let client = crate::tls::client_tls(ca)?;
            Some(tokio_postgres_rustls::MakeRustlsConnect::new(
                (*client).clone(),
            ))
        } else {
            None
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(2));
        }
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("mlsec-gateway");
        let digest = Sha256::digest(format!("mlsec-audit:{table}").as_bytes());
        let mut lock = [0u8; 8];
        lock.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        Ok(PgStore {
            config,
            table: table.to_string(),
            lock: i64::from_be_bytes(lock),
            create,
            tls,
            connection: None,
            failed: None,
        })
    }

    /// Connects to a log that must already exist (the verifier).
    pub fn existing(
        url: &str,
        table: &str,
        ca: Option<&std::path::Path>,
    ) -> Result<PgStore, String> {
        let mut store = PgStore::new(url, table, ca, false)?;
        store.connection()?;
        Ok(store)
    }

    fn connection(&mut self) -> Result<&mut Connection, String> {
        if self.connection.is_none() {
            if let Some((when, why)) = &self.failed {
                if when.elapsed() < RECONNECT_AFTER {
                    return Err(why.clone());
                }
            }
            match self.open_connection() {
                Ok(c) => {
                    self.connection = Some(c);
                    self.failed = None;
                }
                Err(e) => {
                    self.failed = Some((Instant::now(), e.clone()));
                    return Err(e);
                }
            }
        }
        self.connection
            .as_mut()
            .ok_or_else(|| "no connection".to_string())
    }

    fn open_connection(&self) -> Result<Connection, String> {
        let t = &self.table;
        let mut client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
        .map_err(describe)?;
        // A stuck lock or server must not hold every request forever.
        client
            .batch_execute("SET statement_timeout = '10s'")
            .map_err(describe)?;
        if self.create {
            let mut tx = client.transaction().map_err(describe)?;
            // Replicas starting together would race on CREATE TABLE.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.lock])
                .map_err(describe)?;
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (
                    seq BIGINT PRIMARY KEY,
                    prev TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    record TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS {t}_checkpoint (
                    seq BIGINT PRIMARY KEY,
                    hash TEXT NOT NULL,
                    time TEXT NOT NULL,
                    bundle TEXT NOT NULL
                );"
            ))
            .map_err(describe)?;
            tx.commit().map_err(describe)?;
        }
        let head = client
            .prepare(&format!(
                "SELECT seq, hash FROM {t} ORDER BY seq DESC LIMIT 1"
            ))
            .map_err(|e| format!("not an mlsec audit log: {}", describe(e)))?;
        let insert = client
            .prepare(&format!(
                "INSERT INTO {t} (seq, prev, hash, record)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[])"
            ))
            .map_err(describe)?;
        Ok(Connection {
            client,
            head,
            insert,
        })
    }

    /// Runs `work` on the connection; any error drops it so that the next
    /// call reconnects.
    fn with<T>(
        &mut self,
        work: impl FnOnce(&mut Connection, i64, &str) -> Result<T, postgres::Error>,
    ) -> Result<T, String> {
        let (lock, table) = (self.lock, self.table.clone());
        let connection = self.connection()?;
        match work(connection, lock, &table) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.connection = None;
                Err(describe(e))
            }
        }
    }
}

#[cfg(test)]
impl PgStore {
    /// Whether the server sees this session as TLS (pg_stat_ssl).
    pub fn session_is_encrypted(&mut self) -> Result<bool, String> {
        self.with(|c, _, _| {
            c.client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )?
                .try_get::<_, bool>(0)
        })
    }
}

/// The server's own message where there is one ("relation does not exist"),
/// not just "db error".
fn describe(e: postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("PostgreSQL: {}", db.message());
    }
    // "error performing TLS handshake" says little without its cause.
    let mut text = format!("PostgreSQL: {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

impl Store for PgStore {
    fn connect(&mut self) -> Result<(), String> {
        self.connection().map(|_| ())
    }

    fn append(&mut self, records: &[String]) -> Result<(u64, Row), String> {
        let rows = self.with(|c, lock, _| {
            let mut tx = c.client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock])?;
            let head = match tx.query_opt(&c.head, &[])? {
                Some(r) => Some((r.try_get::<_, i64>(0)? as u64, r.try_get::<_, String>(1)?)),
                None => None,
            };
            let rows = chain(head, records);
            let seqs: Vec<i64> = rows.iter().map(|r| r.seq as i64).collect();
            let prevs: Vec<&str> = rows.iter().map(|r| r.prev.as_str()).collect();
            let hashes: Vec<&str> = rows.iter().map(|r| r.hash.as_str()).collect();
            tx.execute(&c.insert, &[&seqs, &prevs, &hashes, &records])?;
            tx.commit()?;
            Ok(rows)
        })?;
        let first = rows.first().map_or(0, |r| r.seq);
        rows.into_iter()
            .last()
            .map(|last| (first, last))
            .ok_or_else(|| "nothing to append".into())
    }

    fn add_checkpoint(&mut self, cp: &CheckpointRow) -> Result<(), String> {
        self.with(|c, _, t| {
            c.client.execute(
                &format!(
                    "INSERT INTO {t}_checkpoint (seq, hash, time, bundle) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (seq) DO NOTHING"
                ),
                &[&(cp.seq as i64), &cp.hash, &cp.time, &cp.bundle],
            )?;
            Ok(())
        })
    }

    fn for_each_record(
        &mut self,
        each: &mut dyn FnMut(Row) -> Result<(), String>,
    ) -> Result<(), String> {
        let table = self.table.clone();
        let connection = self.connection()?;
        let query = format!("SELECT seq, prev, hash, record FROM {table} ORDER BY seq");
        // Rows stream from the server; the log never has to fit in memory.
        let mut rows = connection
            .client
            .query_raw(&query, std::iter::empty::<i64>())
            .map_err(|e| format!("not an mlsec audit log: {}", describe(e)))?;
        while let Some(r) = rows.next().map_err(describe)? {
            let read = || -> Result<Row, postgres::Error> {
                Ok(Row {
                    seq: r.try_get::<_, i64>(0)? as u64,
                    prev: r.try_get(1)?,
                    hash: r.try_get(2)?,
                    record: r.try_get(3)?,
                })
            };
            each(read().map_err(describe)?)?;
        }
        Ok(())
    }

    fn checkpoints(&mut self) -> Result<Vec<CheckpointRow>, String> {
        self.with(|c, _, t| {
            let exists = c
                .client
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!("{t}_checkpoint")],
                )?
                .try_get::<_, bool>(0)?;
            if !exists {
                return Ok(Vec::new());
            }
            c.client
                .query(
                    &format!("SELECT seq, hash, time, bundle FROM {t}_checkpoint ORDER BY seq"),
                    &[],
                )?
                .iter()
                .map(|r| {
                    Ok(CheckpointRow {
                        seq: r.try_get::<_, i64>(0)? as u64,
                        hash: r.try_get(1)?,
                        time: r.try_get(2)?,
                        bundle: r.try_get(3)?,
                    })
                })
                .collect()
        })
    }
}
