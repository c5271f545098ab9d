//! Committing records (group commit), acknowledgements, signed checkpoints.

use super::{open_store, AuditRecord, CheckpointRow, Row, Sink, Store, CHECKPOINT_PREDICATE_TYPE};
use crate::config;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::oneshot;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AuditError {
    #[error("audit queue full")]
    Full,
    #[error("audit log unavailable: {0}")]
    Down(String),
}

struct Pending {
    json: String,
    ack: oneshot::Sender<Result<u64, AuditError>>,
}

/// The handle requests use to append records.
pub struct AuditLog {
    shared: Arc<Shared>,
    writer: Option<std::thread::JoinHandle<()>>,
    pub sink: Sink,
}

/// What requests and the writer thread share.
struct Shared {
    queue: Mutex<Vec<Pending>>,
    /// Most records queued (`audit.queue`); more are refused.
    capacity: usize,
    /// Most records in one transaction (`audit.batch`).
    batch: usize,
    db: Mutex<Db>,
    /// Requests commit their own records when the database is free (SQLite):
    /// handing each record to a thread and waiting to be woken cost more
    /// than the commit. A server database is written by the writer only.
    inline: bool,
    /// Wakes the writer thread (a full channel: it is awake already).
    wake: SyncSender<()>,
    /// Set under the queue's lock: nothing is queued after it.
    closed: AtomicBool,
    healthy: AtomicBool,
    name: String,
}

struct Db {
    /// None once closed (dropping a SQLite store checkpoints its WAL).
    store: Option<Box<dyn Store>>,
    signer: Option<Checkpointer>,
}

impl AuditLog {
    /// Opens (creating) the log and starts its writer. A PostgreSQL server
    /// that does not answer yet is not an error: records are refused (and
    /// `/readyz` fails) until it does.
    pub fn open(options: &config::Audit) -> Result<AuditLog, AuditError> {
        let sink = options.sink.clone();
        let down = |e: String| AuditError::Down(format!("{sink}: {e}"));
        let store = open_store(&sink).map_err(down)?;
        let signer = match &options.checkpoint_key {
            Some(path) => Some(Checkpointer::new(
                load_checkpoint_key(path).map_err(AuditError::Down)?,
                options.checkpoint_every,
            )),
            None => None,
        };
        let (wake, woken) = sync_channel(1);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            capacity: options.queue,
            batch: options.batch.max(1),
            db: Mutex::new(Db {
                store: Some(store),
                signer,
            }),
            inline: matches!(sink, Sink::Sqlite(_)),
            wake,
            closed: AtomicBool::new(false),
            healthy: AtomicBool::new(true),
            name: sink.to_string(),
        });
        // The first connection is made on the writer thread (the sync
        // PostgreSQL client must not run on a runtime thread); its outcome
        // sets the health the first requests see.
        let (connected_tx, connected) = std::sync::mpsc::channel();
        let writer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("mlsec-audit".into())
                .spawn(move || {
                    let reached = match lock(&shared.db).store.as_mut() {
                        Some(store) => store.connect(),
                        None => Ok(()),
                    };
                    if let Err(e) = reached {
                        tracing::warn!(
                            "audit log {}: {e}; requests are refused until it answers",
                            shared.name
                        );
                        shared.healthy.store(false, Ordering::Relaxed);
                    }
                    let _ = connected_tx.send(());
                    write_loop(&shared, &woken);
                })
                .map_err(|e| AuditError::Down(e.to_string()))?
        };
        let _ = connected.recv_timeout(Duration::from_secs(10));
        Ok(AuditLog {
            shared,
            writer: Some(writer),
            sink,
        })
    }

    /// Queues `record` and waits until it is committed; returns its sequence number.
    pub async fn append(&self, record: AuditRecord) -> Result<u64, AuditError> {
        let shared = &self.shared;
        let json = serde_json::to_string(&record).map_err(|e| AuditError::Down(e.to_string()))?;
        let (ack, done) = oneshot::channel();
        {
            let mut queue = lock(&shared.queue);
            if shared.closed.load(Ordering::Relaxed) {
                return Err(AuditError::Down("closed".into()));
            }
            if queue.len() >= shared.capacity {
                return Err(AuditError::Full);
            }
            queue.push(Pending { json, ack });
        }
        if shared.inline {
            shared.write(false, |_| {});
        } else {
            shared.wake();
        }
        done.await
            .unwrap_or_else(|_| Err(AuditError::Down("writer stopped".into())))
    }

    /// Records waiting to be committed.
    pub fn depth(&self) -> usize {
        lock(&self.shared.queue).len()
    }

    /// Whether the last commit succeeded.
    pub fn healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Relaxed)
    }

    /// Stops taking records, writes what is queued (and a last checkpoint),
    /// and waits for the writer.
    pub fn close(&mut self) {
        {
            let _queue = lock(&self.shared.queue);
            self.shared.closed.store(true, Ordering::Relaxed);
        }
        self.shared.wake();
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

impl Shared {
    fn wake(&self) {
        let _ = self.wake.try_send(());
    }

    /// Commits every queued record, then runs `then` (signing) with the
    /// database locked. Without `wait`, returns at once when another thread
    /// holds it or another process holds the log's write lock: a thread that
    /// holds the database looks at the queue again after letting go, and the
    /// writer thread waits for the other process.
    fn write(&self, wait: bool, mut then: impl FnMut(&mut Db)) {
        loop {
            let mut db = match self.db.try_lock() {
                Ok(db) => db,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) if wait => lock(&self.db),
                Err(TryLockError::WouldBlock) => return,
            };
            if !self.commit_queued(&mut db, wait) {
                drop(db);
                self.wake();
                return;
            }
            then(&mut db);
            drop(db);
            if lock(&self.queue).is_empty() {
                return;
            }
        }
    }

    /// Commits the queue in batches and answers each record; false when it
    /// would have to wait for another writer (the records stay queued).
    fn commit_queued(&self, db: &mut Db, wait: bool) -> bool {
        loop {
            let batch: Vec<Pending> = {
                let mut queue = lock(&self.queue);
                let n = queue.len().min(self.batch);
                queue.drain(..n).collect()
            };
            if batch.is_empty() {
                return true;
            }
            let (records, acks): (Vec<String>, Vec<_>) =
                batch.into_iter().map(|p| (p.json, p.ack)).unzip();
            let result = match db.store.as_mut() {
                None => Err("closed".to_string()),
                Some(store) if wait => store.append(&records),
                Some(store) => match store.try_append(&records) {
                    Some(result) => result,
                    None => {
                        let mut queue = lock(&self.queue);
                        let back = records
                            .into_iter()
                            .zip(acks)
                            .map(|(json, ack)| Pending { json, ack });
                        queue.splice(0..0, back);
                        return false;
                    }
                },
            };
            self.healthy.store(result.is_ok(), Ordering::Relaxed);
            match result {
                Ok((first_seq, head)) => {
                    for (i, ack) in acks.into_iter().enumerate() {
                        let _ = ack.send(Ok(first_seq + i as u64));
                    }
                    if let Some(s) = db.signer.as_mut() {
                        // A head to sign after all was signed: the writer
                        // thread sets its timer (once per checkpoint at most).
                        let was_signed = s.unsigned().is_none();
                        s.head = Some(head);
                        if was_signed && !wait {
                            self.wake();
                        }
                    }
                }
                Err(e) => {
                    tracing::error!("audit log {}: {e}", self.name);
                    let message = format!("{}: {e}", self.name);
                    for ack in acks {
                        let _ = ack.send(Err(AuditError::Down(message.clone())));
                    }
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads the checkpoint signing key (PEM; an encrypted one takes its
/// password from MLSEC_KEY_PASSWORD, as `mlsec sign` does).
pub fn load_checkpoint_key(path: &Path) -> Result<mlsec_sign::Credential, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("checkpoint key {}: {e}", path.display()))?;
    let password = std::env::var("MLSEC_KEY_PASSWORD").ok();
    mlsec_sign::keys::SigningKey::from_pem(&text, password.as_deref())
        .map(mlsec_sign::Credential::Key)
        .map_err(|e| format!("checkpoint key {}: {e}", path.display()))
}

/// The writer thread: commits for a server database, signs checkpoints
/// when due, and writes the last records and checkpoint at close.
fn write_loop(shared: &Shared, woken: &Receiver<()>) {
    let _stopped = Stopped(shared);
    let name = shared.name.as_str();
    let sign = |force: bool| {
        move |db: &mut Db| {
            if let (Some(s), Some(store)) = (db.signer.as_mut(), db.store.as_mut()) {
                s.sign_if_due(&mut **store, force, name);
            }
        }
    };
    loop {
        // With an unsigned head, wake up in time to sign it even when idle.
        let due = lock(&shared.db)
            .signer
            .as_ref()
            .and_then(Checkpointer::wait);
        let _ = match due {
            Some(wait) => woken.recv_timeout(wait),
            None => woken.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        if shared.closed.load(Ordering::Relaxed) {
            break;
        }
        shared.write(true, sign(false));
    }
    shared.write(true, sign(true));
    lock(&shared.db).store = None;
}

/// However the writer thread ends, no record waits for it forever.
struct Stopped<'a>(&'a Shared);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        let mut queue = lock(&self.0.queue);
        self.0.closed.store(true, Ordering::Relaxed);
        for p in queue.drain(..) {
            let _ = p.ack.send(Err(AuditError::Down("writer stopped".into())));
        }
    }
}

/// Signs the chain's head at most once per `every`, and once more at shutdown.
struct Checkpointer {
    credential: mlsec_sign::Credential,
    every: Duration,
    head: Option<Row>,
    signed: u64,
    last: Option<Instant>,
}

impl Checkpointer {
    fn new(credential: mlsec_sign::Credential, every: Duration) -> Checkpointer {
        Checkpointer {
            credential,
            every,
            head: None,
            signed: 0,
            last: None,
        }
    }

    fn unsigned(&self) -> Option<&Row> {
        self.head.as_ref().filter(|h| h.seq > self.signed)
    }

    /// How long until the unsigned head is due; None when all is signed.
    fn wait(&self) -> Option<Duration> {
        self.unsigned()?;
        Some(match self.last {
            Some(at) => self.every.saturating_sub(at.elapsed()),
            None => Duration::ZERO,
        })
    }

    fn sign_if_due(&mut self, store: &mut dyn Store, force: bool, name: &str) {
        let due = force || self.last.is_none_or(|at| at.elapsed() >= self.every);
        let Some(head) = self.unsigned().filter(|_| due).cloned() else {
            return;
        };
        self.last = Some(Instant::now());
        let time = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let result = mlsec_sign::sign_statement(
            vec![serde_json::json!({"name": "mlsec audit log", "digest": {"sha256": head.hash}})],
            CHECKPOINT_PREDICATE_TYPE,
            &serde_json::json!({"seq": head.seq, "hash": head.hash, "time": time}),
            &self.credential,
        )
        .map_err(|e| e.to_string())
        .and_then(|bundle| {
            let bundle = String::from_utf8(bundle.to_json()).map_err(|e| e.to_string())?;
            store.add_checkpoint(&CheckpointRow {
                seq: head.seq,
                hash: head.hash.clone(),
                time,
                bundle,
            })
        });
        match result {
            Ok(()) => self.signed = head.seq,
            Err(e) => tracing::error!("audit log {name}: checkpoint at record {}: {e}", head.seq),
        }
    }
}
