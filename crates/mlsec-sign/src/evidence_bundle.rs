//! Evidence bundles: the envelopes of one `mlsec check` run and its decision
//! in one tar archive, with a signed in-toto statement over every member,
//! so that an auditor can verify later what was checked and decided.
//!
//! Layout: the members as given (`evidence/check.json`, ...), then
//! `attestation.sigstore.json`, a Sigstore bundle whose DSSE envelope signs
//! an in-toto Statement v1 with one subject per member (its name and
//! SHA-256) and the predicate the caller gives (the decision).
//!
//! Verifying reads the archive as a stream with bounds, never extracts it,
//! and fails on anything an extractor could be fooled by: a member twice (a
//! later copy wins when extracted), a name leading out of the folder, a link
//! or other non-file entry.

use crate::rules;
use crate::{open_bundle, sign_statement, Credential, SignError, Signer, Trust};
use mlsec_core::{Finding, Subject};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

/// The statement's predicate type.
pub const BUNDLE_PREDICATE_TYPE: &str = "https://mlsec.dev/evidence-bundle/v1";

/// The member holding the signature.
pub const ATTESTATION_MEMBER: &str = "attestation.sigstore.json";

/// Bounds on what verification reads.
pub const MAX_MEMBERS: usize = 100_000;
pub const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// Whether `head` (the first 512 bytes or more) starts a tar archive.
pub fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Writes the archive: `members` (name, bytes) in order, then the signed
/// statement over them.
pub fn write(
    members: &[(String, Vec<u8>)],
    predicate: &Value,
    credential: &Credential,
) -> Result<Vec<u8>, SignError> {
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in members {
        if !safe_name(name) || name == ATTESTATION_MEMBER || !seen.insert(name) {
            return Err(SignError::Document(format!(
                "evidence bundle member `{name}`: not a plain, unique relative name"
            )));
        }
    }
    let subjects: Vec<Value> = members
        .iter()
        .map(|(name, bytes)| {
            json!({"name": name, "digest": {"sha256": mlsec_core::digest::hex(&Sha256::digest(bytes))}})
        })
        .collect();
    let bundle = sign_statement(subjects, BUNDLE_PREDICATE_TYPE, predicate, credential)?;
    let mut archive = tar::Builder::new(Vec::new());
    let attestation = bundle.to_json();
    for (name, bytes) in members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .chain([(ATTESTATION_MEMBER, attestation.as_slice())])
    {
        // The same bytes for the same evidence: no times, owners or modes
        // of this machine.
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        archive
            .append_data(&mut header, name, bytes)
            .map_err(|e| SignError::Internal(format!("writing the evidence bundle: {e}")))?;
    }
    archive
        .into_inner()
        .map_err(|e| SignError::Internal(format!("writing the evidence bundle: {e}")))
}

/// What verifying an evidence bundle found.
#[derive(Debug)]
pub struct Verified {
    /// The signed predicate and who signed, when the signature verified.
    pub signed: Option<(Value, Signer)>,
    /// The members as the statement names them.
    pub subjects: Vec<Subject>,
    /// Every way the archive differs from what was signed; empty when it
    /// verified.
    pub findings: Vec<Finding>,
}

/// Verifies the evidence bundle at `path` with `trust`. An archive that
/// cannot be read is an error; one that was changed, or whose signature does
/// not verify, gives findings.
pub fn verify(path: &Path, trust: &Trust) -> Result<Verified, SignError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| SignError::io(path, &e))?;
    let invalid = |why: String| Verified {
        signed: None,
        subjects: Vec::new(),
        findings: vec![Finding::new(
            &rules::SIGNATURE_INVALID,
            &name,
            format!("{name}: {why}"),
        )],
    };
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    let mut attestation: Option<Vec<u8>> = None;
    let mut archive = tar::Archive::new(file);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => return Ok(invalid(format!("not a readable tar archive: {e}"))),
    };
    for (i, entry) in entries.enumerate() {
        if i >= MAX_MEMBERS {
            return Ok(invalid(format!("more than {MAX_MEMBERS} members")));
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => return Ok(invalid(format!("not a readable tar archive: {e}"))),
        };
        let member = match entry.path() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => return Ok(invalid(format!("a member name is unreadable: {e}"))),
        };
        if !entry.header().entry_type().is_file() {
            return Ok(invalid(format!(
                "member `{member}` is not a regular file (links and folders are not evidence)"
            )));
        }
        if !safe_name(&member) {
            return Ok(invalid(format!(
                "member `{member}` leads out of the archive's folder"
            )));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_MEMBER_BYTES {
            return Ok(invalid(format!(
                "member `{member}` declares {size} bytes, over the {MAX_MEMBER_BYTES}-byte limit"
            )));
        }
        if digests.contains_key(&member) || (member == ATTESTATION_MEMBER && attestation.is_some())
        {
            return Ok(invalid(format!(
                "member `{member}` is in the archive twice (an extractor keeps the last copy)"
            )));
        }
        if member == ATTESTATION_MEMBER {
            let mut bytes = Vec::new();
            let limit = crate::bundle::MAX_BUNDLE_BYTES;
            (&mut entry)
                .take(limit + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| SignError::io(path, &e))?;
            if bytes.len() as u64 > limit {
                return Ok(invalid(format!(
                    "`{ATTESTATION_MEMBER}` is over the bundle size limit"
                )));
            }
            attestation = Some(bytes);
        } else {
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = entry
                    .read(&mut buffer)
                    .map_err(|e| SignError::io(path, &e))?;
                let Some(chunk) = buffer.get(..n).filter(|c| !c.is_empty()) else {
                    break;
                };
                hasher.update(chunk);
            }
            digests.insert(member, mlsec_core::digest::hex(&hasher.finalize()));
        }
    }
    let Some(attestation) = attestation else {
        return Ok(invalid(format!(
            "no `{ATTESTATION_MEMBER}`: not a signed evidence bundle"
        )));
    };
    let (payload, signer) = match open_bundle(&attestation, trust) {
        Ok(opened) => opened,
        Err(why) => return Ok(invalid(why)),
    };
    let statement: Value = match serde_json::from_slice(&payload) {
        Ok(s) => s,
        Err(e) => return Ok(invalid(format!("the signed statement is not JSON: {e}"))),
    };
    if statement.get("predicateType").and_then(Value::as_str) != Some(BUNDLE_PREDICATE_TYPE) {
        return Ok(invalid(format!(
            "the signed statement is not an evidence bundle ({BUNDLE_PREDICATE_TYPE})"
        )));
    }
    let subjects: Vec<Subject> =
        serde_json::from_value(statement.get("subject").cloned().unwrap_or_default())
            .unwrap_or_default();
    let mut findings = Vec::new();
    let signed_names: std::collections::BTreeSet<&str> =
        subjects.iter().map(|s| s.name.as_str()).collect();
    for s in &subjects {
        let want = s.digest.get("sha256");
        match digests.get(&s.name) {
            None => findings.push(
                Finding::new(
                    &rules::FILE_MISSING,
                    &name,
                    format!("`{}` is signed but not in the archive", s.name),
                )
                .at(Some(&s.name), None),
            ),
            Some(found) if Some(found) != want => findings.push(
                Finding::new(
                    &rules::FILE_CHANGED,
                    &name,
                    format!(
                        "`{}` differs from the signed evidence (sha256 {found})",
                        s.name
                    ),
                )
                .at(Some(&s.name), None),
            ),
            Some(_) => {}
        }
    }
    for member in digests
        .keys()
        .filter(|m| !signed_names.contains(m.as_str()))
    {
        findings.push(
            Finding::new(
                &rules::FILE_UNSIGNED,
                &name,
                format!("`{member}` is in the archive but not signed"),
            )
            .at(Some(member), None),
        );
    }
    let predicate = statement.get("predicate").cloned().unwrap_or_default();
    Ok(Verified {
        signed: Some((predicate, signer)),
        subjects,
        findings,
    })
}
