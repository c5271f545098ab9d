//! API keys: a JSON key store that holds only salted SHA-256 hashes, with
//! expiry, revocation and rotation. `mlsec gateway keys` manages it; the
//! gateway reads it at start and again whenever its bytes change.
//!
//! A key made here reads `mlsec_<id>_<secret>` (the id finds its record in
//! one step); a key imported with its own text (`--secret`) is found by
//! trying each imported record's salt.

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

/// Most bytes a key store may have (about 20,000 keys).
const MAX_STORE_BYTES: u64 = 16 << 20;
/// Keys longer than this are refused before hashing.
pub const MAX_KEY_CHARS: usize = 256;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    pub id: String,
    /// Hex of the 16 random bytes hashed before the key.
    pub salt: String,
    /// Hex of SHA-256(salt || key).
    pub hash: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// RFC 3339.
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
    /// The key's text was given by its owner (not `mlsec_<id>_...`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
    /// The key this one replaced (`keys rotate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub version: u32,
    pub keys: Vec<KeyRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {message}")]
    Store { path: String, message: String },
    #[error("no key with id `{0}`")]
    NoSuchKey(String),
    #[error("{0}")]
    Invalid(String),
}

/// Who made a request, as the key store knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub id: String,
    pub owner: String,
    pub tier: Option<String>,
    pub groups: Vec<String>,
}

/// Why a presented key was refused (said to the client as one line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Missing => "missing API key",
            Refusal::Unknown => "invalid API key",
            Refusal::Expired => "expired API key",
            Refusal::Revoked => "revoked API key",
        }
    }
}

struct Entry {
    principal: Principal,
    salt: [u8; 16],
    hash: [u8; 32],
    expires: Option<SystemTime>,
    revoked: bool,
}

/// The key store, ready to check keys.
pub struct KeyStore {
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
    imported: Vec<usize>,
}

impl KeyStore {
    pub fn empty() -> KeyStore {
        KeyStore {
            entries: Vec::new(),
            by_id: HashMap::new(),
            imported: Vec::new(),
        }
    }

    /// Reads the store at `path`, with the digest of the bytes it was read
    /// from (for [`KeyStore::reload`]); a missing file is an empty store.
    pub fn load(path: &Path) -> Result<(KeyStore, StoreDigest), KeyError> {
        let bytes = read_bytes(path)?;
        let store = KeyStore::from_bytes(path, bytes.as_deref())?;
        Ok((store, digest(bytes.as_deref())))
    }

    /// Reads the store at `path` again unless its bytes are those it had
    /// when `seen` was taken. Bytes, not timestamps: two writes within one
    /// tick of the file system's clock keep the same modification time, and
    /// a revocation missed that way would never be seen.
    pub fn reload(
        path: &Path,
        seen: &StoreDigest,
    ) -> Result<Option<(KeyStore, StoreDigest)>, KeyError> {
        let bytes = read_bytes(path)?;
        let now = digest(bytes.as_deref());
        if now == *seen {
            return Ok(None);
        }
        Ok(Some((KeyStore::from_bytes(path, bytes.as_deref())?, now)))
    }

    fn from_bytes(path: &Path, bytes: Option<&[u8]>) -> Result<KeyStore, KeyError> {
        KeyStore::from_file(&parse_file(path, bytes)?).map_err(|message| store_error(path, message))
    }

    pub fn from_file(file: &KeyFile) -> Result<KeyStore, String> {
        let mut store = KeyStore::empty();
        for (i, r) in file.keys.iter().enumerate() {
            let bad = |what: &str| format!("key {} ({}): {what}", i + 1, r.id);
            let salt: [u8; 16] = hex::decode(&r.salt)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("salt is not 16 bytes of hex"))?;
            let hash: [u8; 32] = hex::decode(&r.hash)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad("hash is not 32 bytes of hex"))?;
            let time = |t: &Option<String>| -> Result<Option<SystemTime>, String> {
                t.as_deref()
                    .map(|t| {
                        humantime::parse_rfc3339(t).map_err(|e| bad(&format!("time `{t}`: {e}")))
                    })
                    .transpose()
            };
            let expires = time(&r.expires)?;
            let revoked = time(&r.revoked)?.is_some();
            if store
                .by_id
                .insert(r.id.clone(), store.entries.len())
                .is_some()
            {
                return Err(bad("two keys have this id"));
            }
            if r.imported {
                store.imported.push(store.entries.len());
            }
            store.entries.push(Entry {
                principal: Principal {
                    id: r.id.clone(),
                    owner: r.owner.clone(),
                    tier: r.tier.clone(),
                    groups: r.groups.clone(),
                },
                salt,
                hash,
                expires,
                revoked,
            });
        }
        Ok(store)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal a presented key belongs to, or why it is refused.
    pub fn check(&self, presented: &str, now: SystemTime) -> Result<&Principal, Refusal> {
        if presented.is_empty() {
            return Err(Refusal::Missing);
        }
        if presented.len() > MAX_KEY_CHARS {
            return Err(Refusal::Unknown);
        }
        let entry = match key_id(presented).and_then(|id| self.by_id.get(id)) {
            Some(&i) => self.entries.get(i).filter(|e| matches(e, presented)),
            None => self
                .imported
                .iter()
                .filter_map(|&i| self.entries.get(i))
                .find(|e| matches(e, presented)),
        };
        let entry = entry.ok_or(Refusal::Unknown)?;
        if entry.revoked {
            return Err(Refusal::Revoked);
        }
        if entry.expires.is_some_and(|t| now >= t) {
            return Err(Refusal::Expired);
        }
        Ok(&entry.principal)
    }
}

fn matches(entry: &Entry, presented: &str) -> bool {
    bool::from(salted_hash(&entry.salt, presented).ct_eq(&entry.hash))
}

fn salted_hash(salt: &[u8; 16], key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(key.as_bytes());
    h.finalize().into()
}

/// The id inside `mlsec_<id>_<secret>`.
fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("mlsec_")?;
    let (id, _) = rest.split_once('_')?;
    Some(id)
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| {
        KeyError::Invalid(format!("the operating system's random source failed: {e}"))
    })?;
    Ok(b)
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// SHA-256 of a key store file's bytes; all zeros when there is no file.
pub type StoreDigest = [u8; 32];

fn digest(bytes: Option<&[u8]>) -> StoreDigest {
    bytes.map_or([0; 32], |b| Sha256::digest(b).into())
}

/// Reads a key store file; a missing one is empty.
pub fn read_file(path: &Path) -> Result<KeyFile, KeyError> {
    let bytes = read_bytes(path)?;
    let file = parse_file(path, bytes.as_deref())?;
    KeyStore::from_file(&file).map_err(|message| store_error(path, message))?;
    Ok(file)
}

/// A key store file's bytes, at most [`MAX_STORE_BYTES`]; `None` when there
/// is no file.
fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, KeyError> {
    use std::io::Read;
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(store_error(path, e.to_string())),
        Ok(m) if !m.is_file() => return Err(store_error(path, "not a regular file")),
        Ok(_) => {}
    }
    let file = std::fs::File::open(path).map_err(|e| store_error(path, e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_STORE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| store_error(path, e.to_string()))?;
    if bytes.len() as u64 > MAX_STORE_BYTES {
        return Err(store_error(
            path,
            format!("more than {MAX_STORE_BYTES} bytes; a key store may have at most that"),
        ));
    }
    Ok(Some(bytes))
}

fn parse_file(path: &Path, bytes: Option<&[u8]>) -> Result<KeyFile, KeyError> {
    let Some(bytes) = bytes else {
        return Ok(KeyFile {
            version: 1,
            keys: Vec::new(),
        });
    };
    let file: KeyFile = serde_json::from_slice(bytes)
        .map_err(|e| store_error(path, format!("not a key store: {e}")))?;
    if file.version != 1 {
        return Err(store_error(
            path,
            format!("key store version {} (this mlsec reads 1)", file.version),
        ));
    }
    Ok(file)
}

fn store_error(path: &Path, message: impl Into<String>) -> KeyError {
    KeyError::Store {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Holds an exclusive lock on `PATH.lock` until dropped. Each change reads
/// the whole store and writes it back, and the CLI and the gateway's admin
/// endpoint change one store from different processes: unlocked, one
/// writer's key or revocation can vanish under another's write.
fn lock_store(path: &Path) -> Result<std::fs::File, KeyError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_error = |e: std::io::Error| {
        store_error(
            path,
            format!("cannot lock {}: {e}", Path::new(&name).display()),
        )
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(lock_error)?;
    lock.lock().map_err(lock_error)?;
    Ok(lock)
}

fn write_file(path: &Path, file: &KeyFile) -> Result<(), KeyError> {
    let mut text = serde_json::to_vec_pretty(file).map_err(|e| KeyError::Invalid(e.to_string()))?;
    text.push(b'\n');
    mlsec_core::output::write_atomic(path, &text).map_err(|e| store_error(path, e.to_string()))
}

/// What a new key is for.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    pub owner: String,
    pub tier: Option<String>,
    pub groups: Vec<String>,
    pub expires_in: Option<Duration>,
    /// Use this text as the key instead of a random one.
    pub secret: Option<String>,
}

/// Adds a key to the store at `path`; returns its record and the key itself,
/// which is shown once and stored nowhere.
pub fn create(path: &Path, new: &NewKey) -> Result<(KeyRecord, String), KeyError> {
    let _writing = lock_store(path)?;
    let mut file = read_file(path)?;
    let (record, key) = make_record(new, SystemTime::now())?;
    if let Some(secret) = &new.secret {
        let store = KeyStore::from_file(&file).map_err(KeyError::Invalid)?;
        if store.check(secret, SystemTime::UNIX_EPOCH).is_ok() || key_id(secret).is_some() {
            return Err(KeyError::Invalid(
                "that key text is already in the store, or looks like an mlsec-made key".into(),
            ));
        }
    }
    file.keys.push(record.clone());
    write_file(path, &file)?;
    Ok((record, key))
}

fn make_record(new: &NewKey, now: SystemTime) -> Result<(KeyRecord, String), KeyError> {
    if new.owner.trim().is_empty() {
        return Err(KeyError::Invalid("a key needs an owner".into()));
    }
    let id = hex::encode(random::<6>()?);
    let (key, imported) = match &new.secret {
        Some(s) => {
            if s.len() < 12
                || s.len() > MAX_KEY_CHARS
                || s.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(KeyError::Invalid(format!(
                    "a key's text must be 12 to {MAX_KEY_CHARS} characters without spaces"
                )));
            }
            (s.clone(), true)
        }
        None => {
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?);
            (format!("mlsec_{id}_{secret}"), false)
        }
    };
    let salt = random::<16>()?;
    let record = KeyRecord {
        id,
        salt: hex::encode(salt),
        hash: hex::encode(salted_hash(&salt, &key)),
        owner: new.owner.clone(),
        tier: new.tier.clone(),
        groups: new.groups.clone(),
        created: rfc3339(now),
        expires: new.expires_in.map(|d| rfc3339(now + d)),
        revoked: None,
        imported,
        replaces: None,
    };
    Ok((record, key))
}

/// Marks a key revoked; the gateway refuses it within a second of the write.
pub fn revoke(path: &Path, id: &str) -> Result<KeyRecord, KeyError> {
    let _writing = lock_store(path)?;
    let mut file = read_file(path)?;
    let record = file
        .keys
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(|| KeyError::NoSuchKey(id.to_string()))?;
    if record.revoked.is_none() {
        record.revoked = Some(rfc3339(SystemTime::now()));
    }
    let record = record.clone();
    write_file(path, &file)?;
    Ok(record)
}

/// Makes a new key with the old one's owner, tier and groups; the old key
/// keeps working for `overlap`, then expires.
pub fn rotate(path: &Path, id: &str, overlap: Duration) -> Result<(KeyRecord, String), KeyError> {
    let _writing = lock_store(path)?;
    let mut file = read_file(path)?;
    let now = SystemTime::now();
    let old = file
        .keys
        .iter_mut()
        .find(|r| r.id == id)
        .ok_or_else(|| KeyError::NoSuchKey(id.to_string()))?;
    if old.revoked.is_some() {
        return Err(KeyError::Invalid(format!(
            "key `{id}` is revoked; create a new one"
        )));
    }
    let until = rfc3339(now + overlap);
    let sooner = match &old.expires {
        Some(e) => humantime::parse_rfc3339(e).map_or(true, |t| t > now + overlap),
        None => true,
    };
    if sooner {
        old.expires = Some(until);
    }
    let new = NewKey {
        owner: old.owner.clone(),
        tier: old.tier.clone(),
        groups: old.groups.clone(),
        expires_in: None,
        secret: None,
    };
    let (mut record, key) = make_record(&new, now)?;
    record.replaces = Some(id.to_string());
    file.keys.push(record.clone());
    write_file(path, &file)?;
    Ok((record, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writers_lose_no_key_and_no_revocation() {
        // The CLI and the gateway's admin endpoint write one store from
        // different processes; each write reads the whole file first, so
        // without a lock one writer's change can overwrite another's.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let made: Vec<KeyRecord> = (0..8)
            .map(|i| {
                create(
                    &path,
                    &NewKey {
                        owner: format!("o{i}"),
                        ..NewKey::default()
                    },
                )
                .unwrap()
                .0
            })
            .collect();
        std::thread::scope(|s| {
            for (i, record) in made.iter().enumerate() {
                let path = &path;
                s.spawn(move || {
                    for j in 0..10 {
                        let new = NewKey {
                            owner: format!("t{i}-{j}"),
                            ..NewKey::default()
                        };
                        create(path, &new).unwrap();
                    }
                    revoke(path, &record.id).unwrap();
                });
            }
        });
        let file = read_file(&path).unwrap();
        assert_eq!(file.keys.len(), 8 + 80);
        for record in &made {
            let now = file.keys.iter().find(|r| r.id == record.id).unwrap();
            assert!(now.revoked.is_some(), "revocation of {} lost", record.id);
        }
    }

    #[test]
    fn made_keys_check_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (record, key) = create(
            &path,
            &NewKey {
                owner: "alice".into(),
                groups: vec!["ml".into()],
                ..NewKey::default()
            },
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&key), "the key itself is never stored");
        let (store, _) = KeyStore::load(&path).unwrap();
        let now = SystemTime::now();
        assert_eq!(store.check(&key, now).unwrap().id, record.id);
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(store.check(&wrong, now), Err(Refusal::Unknown));
        assert_eq!(store.check("", now), Err(Refusal::Missing));
        assert_eq!(store.check(&"a".repeat(10_000), now), Err(Refusal::Unknown));

        let (_, imported) = create(
            &path,
            &NewKey {
                owner: "demo".into(),
                secret: Some("mlsec-demo-key".into()),
                ..NewKey::default()
            },
        )
        .unwrap();
        let (store, _) = KeyStore::load(&path).unwrap();
        assert_eq!(store.check(&imported, now).unwrap().owner, "demo");
        assert!(create(
            &path,
            &NewKey {
                owner: "again".into(),
                secret: Some("mlsec-demo-key".into()),
                ..NewKey::default()
            },
        )
        .is_err());

        revoke(&path, &record.id).unwrap();
        let (store, _) = KeyStore::load(&path).unwrap();
        assert_eq!(store.check(&key, now), Err(Refusal::Revoked));
    }

    #[test]
    fn rotation_keeps_the_old_key_for_the_overlap_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (old, old_key) = create(
            &path,
            &NewKey {
                owner: "svc".into(),
                tier: Some("gold".into()),
                ..NewKey::default()
            },
        )
        .unwrap();
        let (new, new_key) = rotate(&path, &old.id, Duration::from_secs(3600)).unwrap();
        assert_eq!(new.tier.as_deref(), Some("gold"));
        assert_eq!(new.replaces.as_deref(), Some(old.id.as_str()));
        let (store, _) = KeyStore::load(&path).unwrap();
        let now = SystemTime::now();
        assert!(store.check(&old_key, now).is_ok());
        assert!(store.check(&new_key, now).is_ok());
        let later = now + Duration::from_secs(3601);
        assert_eq!(store.check(&old_key, later), Err(Refusal::Expired));
        assert!(store.check(&new_key, later).is_ok());
    }

    #[test]
    fn reload_reads_again_only_when_the_bytes_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let (_, missing) = KeyStore::load(&path).unwrap();
        let (_, key) = create(
            &path,
            &NewKey {
                owner: "alice".into(),
                ..NewKey::default()
            },
        )
        .unwrap();
        let (store, seen) = KeyStore::reload(&path, &missing).unwrap().unwrap();
        assert!(store.check(&key, SystemTime::now()).is_ok());
        assert!(KeyStore::reload(&path, &seen).unwrap().is_none());
        // Same length, same timestamp, other bytes: a key revoked in place.
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let swapped = text.replace("\"alice\"", "\"bobby\"");
        assert_eq!(swapped.len(), text.len());
        std::fs::write(&path, swapped).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(before)
            .unwrap();
        let (store, _) = KeyStore::reload(&path, &seen).unwrap().unwrap();
        assert_eq!(store.check(&key, SystemTime::now()).unwrap().owner, "bobby");
    }

    #[test]
    fn a_store_too_large_or_not_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = KeyStore::load(dir.path()).err().unwrap().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let path = dir.path().join("keys.json");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(MAX_STORE_BYTES + 1)
            .unwrap();
        let e = KeyStore::load(&path).err().unwrap().to_string();
        assert!(e.contains("keys.json") && e.contains("at most"), "{e}");
    }

    #[test]
    fn a_damaged_store_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, r#"{"version":1,"keys":[{"id":"a","salt":"zz","hash":"00","owner":"x","created":"2026-01-01T00:00:00Z"}]}"#).unwrap();
        let e = KeyStore::load(&path).err().unwrap().to_string();
        assert!(e.contains("keys.json") && e.contains("salt"), "{e}");
    }
}
