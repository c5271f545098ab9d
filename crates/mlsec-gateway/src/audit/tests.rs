use super::*;
use crate::config;
use std::path::Path;
use std::time::Duration;

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

fn options(sink: Sink, key: Option<&Path>) -> config::Audit {
    config::Audit {
        sink,
        queue: 100,
        batch: 8,
        fail_open: false,
        checkpoint_key: key.map(Path::to_path_buf),
        checkpoint_every: Duration::from_secs(3600),
    }
}

async fn append_n(log: &AuditLog, range: std::ops::Range<usize>) -> Vec<u64> {
    let appends: Vec<_> = range.map(|i| log.append(record(i))).collect();
    let mut seqs = Vec::new();
    for a in appends {
        seqs.push(a.await.unwrap());
    }
    seqs.sort();
    seqs
}

/// A P-256 key pair as PEM files; returns (private, public trust).
fn key_pair(dir: &Path, name: &str) -> (std::path::PathBuf, mlsec_sign::Trust) {
    let seed = name
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    let secret = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
    let private = dir.join(format!("{name}.pem"));
    use p256::pkcs8::EncodePrivateKey;
    let pem = secret.to_pkcs8_pem(Default::default()).unwrap();
    std::fs::write(&private, pem.as_bytes()).unwrap();
    let key = mlsec_sign::keys::SigningKey::from_pem(&pem, None).unwrap();
    (private, mlsec_sign::Trust::Key(key.verifying_key()))
}

fn verify(sink: &Sink, trust: Option<&mlsec_sign::Trust>) -> mlsec_core::Evidence {
    verify_with(sink, trust, |_| Ok(())).unwrap()
}

#[tokio::test]
async fn records_chain_and_tampering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let sink = Sink::Sqlite(path.clone());
    let mut log = AuditLog::open(&options(sink.clone(), None)).unwrap();
    assert_eq!(append_n(&log, 0..50).await, (1..=50).collect::<Vec<u64>>());
    log.close();
    let evidence = verify(&sink, None);
    assert!(evidence.findings.is_empty(), "{:?}", evidence.findings);
    assert_eq!(evidence.details["records"], 50);

    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "UPDATE audit SET record = replace(record, '\"status\":200', '\"status\":201') WHERE seq = 17",
        [],
    )
    .unwrap();
    let evidence = verify(&sink, None);
    assert_eq!(evidence.details["first_bad_record"], 17);
    assert_eq!(evidence.findings[0].rule, "AUD001");

    // Deleting a record breaks the chain.
    db.execute("DELETE FROM audit WHERE seq = 17", []).unwrap();
    let evidence = verify(&sink, None);
    assert_eq!(evidence.details["first_bad_record"], 18);
    assert_eq!(evidence.findings[0].rule, "AUD002");
}

/// The WAL is copied into the database by the checkpointer thread while
/// the log is open, not by a committing writer (which held every request
/// waiting on its commit meanwhile) and not only at close.
#[tokio::test]
async fn the_wal_is_checkpointed_off_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let log = AuditLog::open(&options(Sink::Sqlite(path.clone()), None)).unwrap();
    append_n(&log, 0..400).await;
    // 400 records are far below SQLite's own automatic checkpoint (1,000
    // pages), so only the checkpointer moves them into the database file.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let size = || std::fs::metadata(&path).map_or(0, |m| m.len());
    while size() < 64 * 1024 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(size() >= 64 * 1024, "database file still {} bytes", size());
    drop(log);
    let db = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = db
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 400);
}

/// Polls `future` once, with nothing to wake it.
fn poll_once<F: std::future::Future>(future: F) -> std::task::Poll<F::Output> {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    std::future::Future::poll(std::pin::pin!(future), &mut context)
}

/// With the SQLite log free, a request commits its own record: the append
/// is done the first time it is polled, with no hand-off to the writer
/// thread and no wake back (two thread switches on every request). While
/// another connection holds the write lock, the request does not wait for
/// it on its own thread: the writer thread does, and commits the record
/// once the lock is let go.
#[test]
fn a_free_log_commits_on_the_requests_own_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let log = AuditLog::open(&options(Sink::Sqlite(path.clone()), None)).unwrap();
    for i in 0..3 {
        match poll_once(log.append(record(i))) {
            std::task::Poll::Ready(seq) => assert_eq!(seq, Ok(i as u64 + 1)),
            std::task::Poll::Pending => panic!("record {i} was left to the writer thread"),
        }
    }
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let mut append = Box::pin(log.append(record(3)));
    assert!(poll_once(append.as_mut()).is_pending());
    // SQLite's busy timeout is 5 s: a request thread must not sit in it.
    assert!(started.elapsed() < Duration::from_millis(2500));
    blocker.execute_batch("COMMIT").unwrap();
    assert_eq!(runtime.block_on(append), Ok(4));
    drop(log);
    let n: i64 = blocker
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 4);
}

/// Checkpoints are signed while the log is open, though requests commit
/// their own records: the first record after a signed head wakes the
/// writer thread, which signs it `checkpoint_every` later.
#[tokio::test]
async fn checkpoints_are_signed_while_the_log_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let (private, trust) = key_pair(dir.path(), "open");
    let mut opts = options(Sink::Sqlite(path.clone()), Some(&private));
    opts.checkpoint_every = Duration::from_millis(100);
    let log = AuditLog::open(&opts).unwrap();
    let db = rusqlite::Connection::open(&path).unwrap();
    let signed = || -> i64 {
        db.query_row("SELECT coalesce(max(seq), 0) FROM checkpoint", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    for (records, head) in [(0..2, 2), (2..5, 5)] {
        append_n(&log, records).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while signed() < head && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(signed(), head, "the head at record {head} was not signed");
    }
    drop(log);
    let evidence = verify(&Sink::Sqlite(path), Some(&trust));
    assert!(evidence.findings.is_empty(), "{:?}", evidence.findings);
}

#[tokio::test]
async fn a_read_only_log_refuses_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let log = AuditLog::open(&options(Sink::Sqlite(path.clone()), None)).unwrap();
    log.append(record(0)).await.unwrap();
    // A table the writer cannot insert into stands for a disk that refuses writes.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("DROP TABLE audit; CREATE TABLE audit (x INTEGER);")
        .unwrap();
    let e = log.append(record(1)).await.unwrap_err();
    assert!(matches!(e, AuditError::Down(_)), "{e:?}");
    assert!(!log.healthy());
}

#[tokio::test]
async fn a_full_queue_refuses_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let mut opts = options(Sink::Sqlite(path.clone()), None);
    opts.queue = 4;
    let log = std::sync::Arc::new(AuditLog::open(&opts).unwrap());
    // Another connection holds the write lock, so the writer waits on it.
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut waiting = Vec::new();
    let mut refused = 0;
    for i in 0..32 {
        let log = log.clone();
        let task = tokio::spawn(async move { log.append(record(i)).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        if task.is_finished() {
            assert_eq!(task.await.unwrap(), Err(AuditError::Full));
            refused += 1;
        } else {
            waiting.push(task);
        }
    }
    assert!(refused >= 20, "only {refused} refused");
    blocker.execute_batch("COMMIT").unwrap();
    for t in waiting {
        t.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn signed_checkpoints_catch_a_rebuilt_chain_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    let sink = Sink::Sqlite(path.clone());
    let (private, trust) = key_pair(dir.path(), "audit");
    let mut log = AuditLog::open(&options(sink.clone(), Some(&private))).unwrap();
    append_n(&log, 0..30).await;
    log.close(); // signs the head at shutdown
    let evidence = verify(&sink, Some(&trust));
    assert!(evidence.findings.is_empty(), "{:?}", evidence.findings);
    let checkpoints = &evidence.details["checkpoints"];
    assert!(checkpoints["valid"].as_u64().unwrap() >= 1, "{checkpoints}");
    assert_eq!(checkpoints["signed_up_to"], 30);

    // Someone with write access drops records 10..=30 and rebuilds the
    // chain: the chain verifies, the checkpoint does not.
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute("DELETE FROM audit WHERE seq >= 10", []).unwrap();
    let evidence = verify(&sink, None);
    assert!(evidence.findings.is_empty(), "the chain alone cannot tell");
    let evidence = verify(&sink, Some(&trust));
    assert_eq!(evidence.findings[0].rule, "AUD003");
    assert!(
        evidence.findings[0]
            .message
            .contains("removed from the end"),
        "{}",
        evidence.findings[0].message
    );

    // Rewriting record 5 and every hash after it, to the end.
    let rows: Vec<(u64, String)> = {
        let mut s = db
            .prepare("SELECT seq, record FROM audit ORDER BY seq")
            .unwrap();
        s.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    db.execute("DELETE FROM audit", []).unwrap();
    let mut prev = GENESIS.to_string();
    for (seq, json) in rows {
        let json = if seq == 5 {
            json.replace("\"r4\"", "\"someone-else\"")
        } else {
            json
        };
        let hash = link_hash(&prev, &json);
        db.execute(
            "INSERT INTO audit VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![seq as i64, prev, hash, json],
        )
        .unwrap();
        prev = hash;
    }
    // ... and sign a checkpoint over the forgery with another key.
    let (other, _) = key_pair(dir.path(), "other");
    let mut log = AuditLog::open(&options(sink.clone(), Some(&other))).unwrap();
    append_n(&log, 0..1).await;
    log.close();
    let evidence = verify(&sink, Some(&trust));
    let messages: Vec<&str> = evidence
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        evidence.findings.iter().all(|f| f.rule == "AUD003"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("key mismatch") || m.contains("does not verify")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("removed from the end")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_log_without_checkpoints_fails_when_a_key_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::Sqlite(dir.path().join("audit.db"));
    let (_, trust) = key_pair(dir.path(), "audit");
    let mut log = AuditLog::open(&options(sink.clone(), None)).unwrap();
    append_n(&log, 0..3).await;
    log.close();
    assert!(verify(&sink, None).findings.is_empty());
    let evidence = verify(&sink, Some(&trust));
    assert_eq!(evidence.findings.len(), 1);
    assert!(evidence.findings[0].message.contains("no checkpoint"));
}

#[test]
fn passwords_stay_out_of_names() {
    let sink = Sink::parse(
        "postgresql://audit:s3cret@db.internal:5432/gw?sslmode=disable",
        "t",
        None,
    );
    assert_eq!(
        sink.to_string(),
        "postgresql://audit@db.internal:5432/gw?sslmode=disable table t"
    );
    assert!(check_postgres("postgresql://h/db", "audit; DROP TABLE x").is_err());
    assert!(check_postgres("postgresql://h/db", "mlsec_audit").is_ok());
}

/// The project's PostgreSQL (see the README); a test that needs it fails
/// loudly when it is not there.
const POSTGRES: &str = "postgresql://postgres@127.0.0.1:5432/test";

fn fresh_table(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("t_{tag}_{}_{nanos}", std::process::id())
}

/// Runs SQL on a thread of its own (the sync client cannot run on the test's runtime).
fn sql(statements: String) {
    std::thread::spawn(move || {
        let mut c = ::postgres::Client::connect(POSTGRES, ::postgres::NoTls).unwrap();
        c.batch_execute(&statements).unwrap();
    })
    .join()
    .unwrap();
}

fn drop_tables(table: &str) {
    sql(format!(
        "DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {table}_checkpoint;"
    ));
}

#[tokio::test]
async fn two_writers_extend_one_postgres_chain() {
    let table = fresh_table("two");
    let sink = Sink::parse(POSTGRES, &table, None);
    let dir = tempfile::tempdir().unwrap();
    let (private, trust) = key_pair(dir.path(), "audit");
    let a = AuditLog::open(&options(sink.clone(), Some(&private)))
        .expect("PostgreSQL at 127.0.0.1:5432 must run");
    assert!(a.healthy(), "PostgreSQL at 127.0.0.1:5432 must run");
    let b = AuditLog::open(&options(sink.clone(), Some(&private))).unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let log = if i % 2 == 0 { &a } else { &b };
        tasks.push(log.append(record(i)));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    drop((a, b));
    let evidence = verify(&sink, Some(&trust));
    assert!(evidence.findings.is_empty(), "{:?}", evidence.findings);
    assert_eq!(evidence.details["records"], 200);
    assert_eq!(evidence.details["checkpoints"]["signed_up_to"], 200);

    sql(format!(
        "UPDATE {table} SET record = replace(record, '\"r3\"', '\"r300\"')"
    ));
    let evidence = verify(&sink, None);
    assert_eq!(evidence.findings[0].rule, "AUD001");
    drop_tables(&table);
}

#[tokio::test]
async fn an_unreachable_postgres_refuses_records_quickly() {
    // Nothing listens on port 1.
    let sink = Sink::parse(
        "postgresql://postgres@127.0.0.1:1/test",
        "mlsec_audit",
        None,
    );
    let log = AuditLog::open(&options(sink.clone(), None)).unwrap();
    assert!(!log.healthy());
    let started = std::time::Instant::now();
    for i in 0..5 {
        let e = log.append(record(i)).await.unwrap_err();
        assert!(matches!(e, AuditError::Down(_)), "{e:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    let e = verify_with(&sink, None, |_| Ok(())).unwrap_err();
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

/// Debian's PostgreSQL serves TLS with its "snakeoil" certificate for
/// `localhost`: trusted explicitly, the connection is encrypted and checked;
/// trusted by nobody, it is refused rather than sent in the clear.
#[tokio::test]
async fn postgres_over_tls_is_verified() {
    let snakeoil = Path::new("/etc/ssl/certs/ssl-cert-snakeoil.pem");
    assert!(
        snakeoil.is_file(),
        "this test needs Debian's PostgreSQL with its snakeoil certificate (ssl = on)"
    );
    let table = fresh_table("tls");
    let url = "postgresql://postgres@localhost:5432/test?sslmode=require";
    let sink = Sink::parse(url, &table, Some(snakeoil));
    let mut log = AuditLog::open(&options(sink.clone(), None)).unwrap();
    log.append(record(0))
        .await
        .expect("TLS to the local PostgreSQL");
    log.close();
    assert_eq!(verify(&sink, None).details["records"], 1);
    // The server really encrypted that session: ask it about its own.
    let encrypted = std::thread::spawn({
        let ca = snakeoil.to_path_buf();
        let table = table.clone();
        move || {
            let mut store = postgres::PgStore::existing(url, &table, Some(&ca)).unwrap();
            store.session_is_encrypted().unwrap()
        }
    })
    .join()
    .unwrap();
    assert!(encrypted);

    // Another CA: refused, never downgraded to plain text.
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    std::fs::write(&other, include_str!("../../tests/fixtures/other-ca.pem")).unwrap();
    let e = verify_with(&Sink::parse(url, &table, Some(&other)), None, |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("UnknownIssuer"), "{e}");
    drop_tables(&table);
}
