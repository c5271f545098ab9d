//! The embedded audit store: one SQLite file in WAL mode.

use super::{chain, CheckpointRow, Row, Store};
use std::path::Path;

pub(crate) struct SqliteStore {
    db: rusqlite::Connection,
    /// The writer's WAL checkpointer; it stops when this is dropped.
    _checkpointer: Option<Checkpointer>,
}

impl SqliteStore {
    /// Opens `path`; `create` makes the file and its tables (the writer),
    /// otherwise the log must exist and is opened read-only (the verifier).
    pub fn open(path: &Path, create: bool) -> Result<SqliteStore, String> {
        if create {
            let db = open_for_writing(path).map_err(|e| e.to_string())?;
            let checkpointer = Checkpointer::start(path)?;
            Ok(SqliteStore {
                db,
                _checkpointer: Some(checkpointer),
            })
        } else {
            if !path.is_file() {
                return Err("no such audit log".into());
            }
            let db = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .map_err(|e| e.to_string())?;
            Ok(SqliteStore {
                db,
                _checkpointer: None,
            })
        }
    }
}

fn open_for_writing(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    // WAL: readers (audit verify) never block the writer. synchronous=NORMAL
    // keeps every commit across a crash of the process (not of the machine).
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    // WAL checkpoints (copying the log into the database, with fsync) run
    // on their own thread: done by the committing writer they held every
    // request waiting on that commit for milliseconds.
    c.pragma_update(None, "wal_autocheckpoint", 0)?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL,
            record TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS checkpoint (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            time TEXT NOT NULL,
            bundle TEXT NOT NULL
        );",
    )?;
    Ok(c)
}

/// How often the checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// A thread with its own connection that checkpoints the WAL passively (never
/// blocking the writer), and fully once the writer is done.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, String> {
        let db = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        db.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mlsec-audit-wal".into())
            .spawn(move || {
                let run = |mode: &str| {
                    let sql = format!("PRAGMA wal_checkpoint({mode})");
                    if let Err(e) = db.query_row(&sql, [], |_| Ok(())) {
                        tracing::warn!("audit log WAL checkpoint: {e}");
                    }
                };
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    run("PASSIVE");
                }
                run("TRUNCATE");
            })
            .map_err(|e| format!("cannot start the WAL checkpointer: {e}"))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long a writer waits for another connection's write lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl SqliteStore {
    /// Appends in one transaction; `None` when `wait` is false and another
    /// connection holds the write lock (the caller must not block on it).
    fn append_locked(
        &mut self,
        records: &[String],
        wait: bool,
    ) -> Option<Result<(u64, Row), String>> {
        // Statements are prepared once (rusqlite's cache): parsing them
        // again on every commit was most of a commit's cost.
        let db = &self.db;
        let go = || -> rusqlite::Result<(u64, Option<Row>)> {
            let head: Option<(u64, String)> = db
                .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
                .query_row([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
            let rows = chain(head, records);
            let mut insert = db.prepare_cached(
                "INSERT INTO audit (seq, prev, hash, record) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in &rows {
                insert.execute(rusqlite::params![r.seq as i64, r.prev, r.hash, r.record])?;
            }
            db.prepare_cached("COMMIT")?.execute([])?;
            let first = rows.first().map_or(0, |r| r.seq);
            Ok((first, rows.into_iter().last()))
        };
        // IMMEDIATE takes the write lock before reading the head, so even
        // two writers on one file extend one chain.
        let timeout = if wait {
            BUSY_TIMEOUT
        } else {
            std::time::Duration::ZERO
        };
        let began = db
            .busy_timeout(timeout)
            .and_then(|()| db.prepare_cached("BEGIN IMMEDIATE"))
            .and_then(|mut begin| begin.execute([]));
        if !wait {
            // The writer's other statements (checkpoints) still wait.
            let _ = db.busy_timeout(BUSY_TIMEOUT);
        }
        match began {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if !wait && e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                return None
            }
            Err(e) => return Some(Err(e.to_string())),
            Ok(_) => {}
        }
        let appended = go();
        if appended.is_err() && !db.is_autocommit() {
            let _ = db.execute_batch("ROLLBACK");
        }
        Some(match appended {
            Ok((first, Some(last))) => Ok((first, last)),
            Ok((_, None)) => Err("nothing to append".into()),
            Err(e) => Err(e.to_string()),
        })
    }
}

impl Store for SqliteStore {
    fn append(&mut self, records: &[String]) -> Result<(u64, Row), String> {
        self.append_locked(records, true)
            .unwrap_or_else(|| Err("database is locked".into()))
    }

    fn try_append(&mut self, records: &[String]) -> Option<Result<(u64, Row), String>> {
        self.append_locked(records, false)
    }

    fn add_checkpoint(&mut self, c: &CheckpointRow) -> Result<(), String> {
        self.db
            .execute(
                "INSERT OR IGNORE INTO checkpoint (seq, hash, time, bundle) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![c.seq as i64, c.hash, c.time, c.bundle],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn for_each_record(
        &mut self,
        each: &mut dyn FnMut(Row) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut statement = self
            .db
            .prepare("SELECT seq, prev, hash, record FROM audit ORDER BY seq")
            .map_err(|e| format!("not an mlsec audit log: {e}"))?;
        let mut rows = statement.query([]).map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let read = || -> rusqlite::Result<Row> {
                Ok(Row {
                    seq: row.get::<_, i64>(0)? as u64,
                    prev: row.get(1)?,
                    hash: row.get(2)?,
                    record: row.get(3)?,
                })
            };
            each(read().map_err(|e| e.to_string())?)?;
        }
        Ok(())
    }

    fn checkpoints(&mut self) -> Result<Vec<CheckpointRow>, String> {
        // Logs written before checkpoints existed have no such table.
        let exists: bool = self
            .db
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(|e| e.to_string())?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut statement = self
            .db
            .prepare("SELECT seq, hash, time, bundle FROM checkpoint ORDER BY seq")
            .map_err(|e| e.to_string())?;
        let rows = statement
            .query_map([], |r| {
                Ok(CheckpointRow {
                    seq: r.get::<_, i64>(0)? as u64,
                    hash: r.get(1)?,
                    time: r.get(2)?,
                    bundle: r.get(3)?,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| e.to_string())
    }
}
