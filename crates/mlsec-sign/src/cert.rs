//! The certificate method: the bundle carries the signer's certificate and its
//! chain; the verifier trusts given CA certificates. Checked like model_signing
//! (OpenSSL): the chain must lead to a trusted certificate and be valid at the
//! leaf's notBefore time, and the leaf must allow digital signatures or code
//! signing. ECDSA (P-256/384/521) and Ed25519 issuers are supported.

use crate::keys::VerifyingKey;
use der::{Decode, Encode};
use sha2::Digest;
use std::time::Duration;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;

const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
const OID_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
/// Longest chain followed from the leaf to a trusted certificate.
const MAX_CHAIN: usize = 8;

/// Who signed, as shown in reports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
}

pub fn parse(der: &[u8]) -> Result<Certificate, String> {
    Certificate::from_der(der).map_err(|e| format!("bad certificate: {e}"))
}

/// All `CERTIFICATE` blocks of a PEM file, as DER.
pub fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let certs = Certificate::load_pem_chain(text.as_bytes())
        .map_err(|e| format!("bad PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block found".into());
    }
    certs
        .iter()
        .map(|c| c.to_der().map_err(|e| e.to_string()))
        .collect()
}

pub fn public_key(cert: &Certificate) -> Result<VerifyingKey, String> {
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())?;
    VerifyingKey::from_spki_der(&spki).map_err(|e| format!("certificate key: {e}"))
}

pub fn info(cert: &Certificate) -> CertificateInfo {
    let tbs = &cert.tbs_certificate;
    let time = |t: &x509_cert::time::Time| {
        humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + t.to_unix_duration()).to_string()
    };
    CertificateInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: crate::hash::hex(tbs.serial_number.as_bytes()),
        not_before: time(&tbs.validity.not_before),
        not_after: time(&tbs.validity.not_after),
    }
}

/// Verifies `chain` (leaf first, then intermediates from the bundle) against
/// `roots` and returns the leaf's public key.
pub fn verify_chain(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
) -> Result<(VerifyingKey, CertificateInfo), String> {
    let (leaf_der, intermediates) = chain
        .split_first()
        .ok_or("the bundle holds no certificate")?;
    let leaf = parse(leaf_der)?;
    let intermediates: Vec<Certificate> = intermediates
        .iter()
        .map(|d| parse(d))
        .collect::<Result<_, _>>()?;
    let trusted: Vec<Certificate> = roots.iter().map(|d| parse(d)).collect::<Result<_, _>>()?;
    // model_signing checks the chain at the time the leaf became valid.
    let at = leaf.tbs_certificate.validity.not_before.to_unix_duration();

    let mut current = leaf.clone();
    let mut trusted_path = roots.iter().any(|r| r == leaf_der);
    for _ in 0..MAX_CHAIN {
        if trusted_path {
            break;
        }
        check_time(&current, at)?;
        if let Some(root) = trusted.iter().find(|c| issued_by(&current, c)) {
            check_time(root, at)?;
            check_ca(root)?;
            trusted_path = true;
            break;
        }
        let Some(next) = intermediates.iter().find(|c| issued_by(&current, c)) else {
            return Err(format!(
                "certificate `{}` is not issued by any given CA certificate (issuer `{}`)",
                current.tbs_certificate.subject, current.tbs_certificate.issuer
            ));
        };
        check_ca(next)?;
        current = next.clone();
    }
    if !trusted_path {
        return Err("the certificate chain does not reach a trusted certificate".into());
    }
    check_signing_use(&leaf)?;
    Ok((public_key(&leaf)?, info(&leaf)))
}

fn check_time(cert: &Certificate, at: Duration) -> Result<(), String> {
    let v = &cert.tbs_certificate.validity;
    if at < v.not_before.to_unix_duration() || at > v.not_after.to_unix_duration() {
        return Err(format!(
            "certificate `{}` is not valid at the signing certificate's start time",
            cert.tbs_certificate.subject
        ));
    }
    Ok(())
}

fn extension<'a, T: Decode<'a>>(cert: &'a Certificate, oid: &str) -> Option<Result<T, String>> {
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid)?;
    Some(T::from_der(ext.extn_value.as_bytes()).map_err(|e| format!("bad extension {oid}: {e}")))
}

fn check_ca(cert: &Certificate) -> Result<(), String> {
    match extension::<BasicConstraints>(cert, OID_BASIC_CONSTRAINTS) {
        Some(Ok(bc)) if bc.ca => Ok(()),
        Some(Err(e)) => Err(e),
        _ => Err(format!(
            "certificate `{}` is not a CA certificate",
            cert.tbs_certificate.subject
        )),
    }
}

fn check_signing_use(leaf: &Certificate) -> Result<(), String> {
    if let Some(Ok(ku)) = extension::<KeyUsage>(leaf, OID_KEY_USAGE) {
        if ku.digital_signature() {
            return Ok(());
        }
    }
    if let Some(Ok(eku)) = extension::<ExtendedKeyUsage>(leaf, OID_EXT_KEY_USAGE) {
        if eku.0.iter().any(|o| o.to_string() == OID_CODE_SIGNING) {
            return Ok(());
        }
    }
    Err("the signing certificate allows neither digital signatures nor code signing".into())
}

/// `issuer`'s name matches `cert`'s issuer and its key verifies `cert`'s signature.
fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let (Ok(key), Ok(tbs)) = (public_key(issuer), cert.tbs_certificate.to_der()) else {
        return false;
    };
    let Some(sig) = cert.signature.as_bytes() else {
        return false;
    };
    let message = match cert.signature_algorithm.oid.to_string().as_str() {
        "1.2.840.10045.4.3.2" => sha2::Sha256::digest(&tbs).to_vec(),
        "1.2.840.10045.4.3.3" => sha2::Sha384::digest(&tbs).to_vec(),
        "1.2.840.10045.4.3.4" => sha2::Sha512::digest(&tbs).to_vec(),
        "1.3.101.112" => tbs,
        _ => return false,
    };
    key.verify_prehash(&message, sig)
}
