//! The writer thread: group commit, acknowledgements, signed checkpoints.

use super::{open_store, AuditRecord, CheckpointRow, Row, Sink, Store, CHECKPOINT_PREDICATE_TYPE};
use crate::config;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
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
    record: AuditRecord,
    ack: oneshot::Sender<Result<u64, AuditError>>,
}

/// The handle requests use to append records.
pub struct AuditLog {
    tx: Option<SyncSender<Pending>>,
    depth: Arc<AtomicUsize>,
    healthy: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
    pub sink: Sink,
}

impl AuditLog {
    /// Opens (creating) the log and starts its writer. A PostgreSQL server
    /// that does not answer yet is not an error: records are refused (and
    /// `/readyz` fails) until it does.
    pub fn open(options: &config::Audit) -> Result<AuditLog, AuditError> {
        let sink = options.sink.clone();
        let down = |e: String| AuditError::Down(format!("{sink}: {e}"));
        let mut store = open_store(&sink).map_err(down)?;
        let signer = match &options.checkpoint_key {
            Some(path) => Some(Checkpointer::new(
                load_checkpoint_key(path).map_err(AuditError::Down)?,
                options.checkpoint_every,
            )),
            None => None,
        };
        let healthy = Arc::new(AtomicBool::new(true));
        let (tx, rx) = sync_channel(options.queue);
        let depth = Arc::new(AtomicUsize::new(0));
        // The first connection is made on the writer thread (the sync
        // PostgreSQL client must not run on a runtime thread); its outcome
        // sets the health the first requests see.
        let (connected_tx, connected) = std::sync::mpsc::channel();
        let writer = {
            let (depth, healthy, name) = (depth.clone(), healthy.clone(), sink.to_string());
            let batch = options.batch;
            std::thread::Builder::new()
                .name("mlsec-audit".into())
                .spawn(move || {
                    if let Err(e) = store.connect() {
                        tracing::warn!(
                            "audit log {name}: {e}; requests are refused until it answers"
                        );
                        healthy.store(false, Ordering::Relaxed);
                    }
                    let _ = connected_tx.send(());
                    write_loop(store, rx, batch, &depth, &healthy, &name, signer)
                })
                .map_err(|e| AuditError::Down(e.to_string()))?
        };
        let _ = connected.recv_timeout(Duration::from_secs(10));
        Ok(AuditLog {
            tx: Some(tx),
            depth,
            healthy,
            writer: Some(writer),
            sink,
        })
    }

    /// Queues `record` and waits until it is committed; returns its sequence number.
    pub async fn append(&self, record: AuditRecord) -> Result<u64, AuditError> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| AuditError::Down("closed".into()))?;
        let (ack, done) = oneshot::channel();
        // Counted before sending: the writer subtracts as soon as it takes it.
        self.depth.fetch_add(1, Ordering::Relaxed);
        match tx.try_send(Pending { record, ack }) {
            Ok(()) => {}
            Err(e) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                return Err(match e {
                    TrySendError::Full(_) => AuditError::Full,
                    TrySendError::Disconnected(_) => AuditError::Down("writer stopped".into()),
                });
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

    /// Stops taking records, writes what is queued (and a last checkpoint),
    /// and waits for the writer.
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

fn write_loop(
    mut store: Box<dyn Store>,
    rx: Receiver<Pending>,
    batch: usize,
    depth: &AtomicUsize,
    healthy: &AtomicBool,
    name: &str,
    mut signer: Option<Checkpointer>,
) {
    let mut pending: Vec<Pending> = Vec::with_capacity(batch);
    loop {
        // With an unsigned head, wake up in time to sign it even when idle.
        let next = match signer.as_ref().and_then(Checkpointer::wait) {
            Some(wait) => rx.recv_timeout(wait),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(first) => {
                pending.push(first);
                while pending.len() < batch {
                    match rx.try_recv() {
                        Ok(p) => pending.push(p),
                        Err(_) => break,
                    }
                }
                depth.fetch_sub(pending.len(), Ordering::Relaxed);
                commit(&mut *store, &mut pending, healthy, name, signer.as_mut());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Some(s) = signer.as_mut() {
            s.sign_if_due(&mut *store, false, name);
        }
    }
    if let Some(s) = signer.as_mut() {
        s.sign_if_due(&mut *store, true, name);
    }
}

fn commit(
    store: &mut dyn Store,
    pending: &mut Vec<Pending>,
    healthy: &AtomicBool,
    name: &str,
    signer: Option<&mut Checkpointer>,
) {
    let records: Result<Vec<String>, _> = pending
        .iter()
        .map(|p| serde_json::to_string(&p.record))
        .collect();
    let result = records
        .map_err(|e| e.to_string())
        .and_then(|records| store.append(&records));
    healthy.store(result.is_ok(), Ordering::Relaxed);
    match result {
        Ok((first_seq, head)) => {
            for (i, p) in pending.drain(..).enumerate() {
                let _ = p.ack.send(Ok(first_seq + i as u64));
            }
            if let Some(s) = signer {
                s.head = Some(head);
            }
        }
        Err(e) => {
            tracing::error!("audit log {name}: {e}");
            let message = format!("{name}: {e}");
            for p in pending.drain(..) {
                let _ = p.ack.send(Err(AuditError::Down(message.clone())));
            }
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
