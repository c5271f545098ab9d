//! Signing and verifying keys: ECDSA on P-256, P-384 and P-521 (with SHA-256,
//! SHA-384 and SHA-512, DER signatures, as model_signing), and Ed25519 as an
//! mlsec extension the reference does not accept.

use ecdsa::signature::{Signer, Verifier};
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ED25519: &str = "1.3.101.112";

pub enum SigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

#[derive(Clone)]
pub enum VerifyingKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(ecdsa::VerifyingKey<p521::NistP521>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// The PEM blocks of a file, as `(label, DER)`, skipping text around them
/// (`openssl ecparam -genkey` writes an EC PARAMETERS block first).
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>, bool)>, String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find("-----BEGIN ") {
        let (label, _) = rest
            .get(begin + "-----BEGIN ".len()..)
            .and_then(|header| header.split_once("-----"))
            .ok_or("a PEM header is not closed")?;
        let end_marker = format!("-----END {label}-----");
        let no_end = || format!("no END line for the PEM block {label}");
        let end = rest.find(&end_marker).ok_or_else(no_end)? + end_marker.len();
        // An END line before the BEGIN line closes nothing.
        let block = rest.get(begin..end).ok_or_else(no_end)?;
        // Legacy OpenSSL encryption ("Proc-Type: 4,ENCRYPTED") is not PEM RFC 7468.
        let legacy_encrypted = block.contains("Proc-Type:");
        let der = if legacy_encrypted {
            Vec::new()
        } else {
            der::pem::decode_vec(block.as_bytes())
                .map_err(|e| format!("bad PEM block {label}: {e}"))?
                .1
        };
        blocks.push((label.to_string(), der, legacy_encrypted));
        // `end` is the end of a match in `rest`, so `get` cannot fail.
        rest = rest.get(end..).unwrap_or_default();
    }
    if blocks.is_empty() {
        return Err("no PEM block found".into());
    }
    Ok(blocks)
}

impl SigningKey {
    /// Loads a PEM private key: PKCS#8 (optionally encrypted, then `password`
    /// is needed) or SEC1 `EC PRIVATE KEY`.
    pub fn from_pem(text: &str, password: Option<&str>) -> Result<SigningKey, String> {
        for (label, der, legacy_encrypted) in pem_blocks(text)? {
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8(&der),
                "ENCRYPTED PRIVATE KEY" => {
                    let password = password.ok_or("the private key is encrypted: give --password")?;
                    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                        .map_err(|e| format!("bad encrypted PKCS#8 key: {e}"))?;
                    let plain = info.decrypt(password).map_err(|_| "wrong password, or an unsupported key encryption")?;
                    return Self::from_pkcs8(plain.as_bytes());
                }
                "EC PRIVATE KEY" if legacy_encrypted => {
                    return Err("legacy OpenSSL-encrypted EC keys are not supported; convert with `openssl pkcs8 -topk8`".into())
                }
                "EC PRIVATE KEY" => return Self::from_sec1(&der),
                _ => {}
            }
        }
        Err(
            "no private key found (expected PRIVATE KEY, ENCRYPTED PRIVATE KEY or EC PRIVATE KEY)"
                .into(),
        )
    }

    fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        let info =
            pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| format!("bad PKCS#8 key: {e}"))?;
        let bad = |e: pkcs8::Error| format!("bad private key: {e}");
        match algorithm(&info.algorithm)?.as_str() {
            OID_P256 => Ok(SigningKey::P256(
                p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?,
            )),
            OID_P384 => Ok(SigningKey::P384(
                p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(bad)?,
            )),
            OID_P521 => {
                let secret = p521::SecretKey::from_pkcs8_der(der).map_err(bad)?;
                Ok(SigningKey::P521(ecdsa::SigningKey::from(secret).into()))
            }
            OID_ED25519 => Ok(SigningKey::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(bad)?,
            )),
            other => Err(unsupported(other)),
        }
    }

    fn from_sec1(der: &[u8]) -> Result<SigningKey, String> {
        let key = sec1::EcPrivateKey::try_from(der).map_err(|e| format!("bad SEC1 key: {e}"))?;
        let curve = key
            .parameters
            .and_then(|p| p.named_curve())
            .ok_or("the SEC1 key does not name its curve")?
            .to_string();
        let bad = |e: elliptic_curve_error::Error| format!("bad private key: {e}");
        match curve.as_str() {
            OID_P256 => Ok(SigningKey::P256(
                p256::SecretKey::from_sec1_der(der).map_err(bad)?.into(),
            )),
            OID_P384 => Ok(SigningKey::P384(
                p384::SecretKey::from_sec1_der(der).map_err(bad)?.into(),
            )),
            OID_P521 => {
                let secret = p521::SecretKey::from_sec1_der(der).map_err(bad)?;
                Ok(SigningKey::P521(ecdsa::SigningKey::from(secret).into()))
            }
            other => Err(unsupported(other)),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            SigningKey::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            SigningKey::P384(k) => VerifyingKey::P384(*k.verifying_key()),
            SigningKey::P521(k) => VerifyingKey::P521(
                p521::PublicKey::from_secret_scalar(k.as_nonzero_scalar()).into(),
            ),
            SigningKey::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
        }
    }

    /// Signs `message`: ECDSA with the curve's SHA-2, DER-encoded; or Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::P256(k) => Signer::<p256::ecdsa::DerSignature>::sign(k, message)
                .as_bytes()
                .to_vec(),
            SigningKey::P384(k) => Signer::<p384::ecdsa::DerSignature>::sign(k, message)
                .as_bytes()
                .to_vec(),
            SigningKey::P521(k) => Signer::<p521::ecdsa::Signature>::sign(k, message)
                .to_der()
                .as_bytes()
                .to_vec(),
            SigningKey::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        }
    }
}

mod elliptic_curve_error {
    pub use p256::elliptic_curve::Error;
}

fn algorithm(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<String, String> {
    let oid = alg.oid.to_string();
    if oid == OID_ED25519 {
        return Ok(oid);
    }
    if oid != OID_EC {
        return Err(unsupported(&oid));
    }
    let params = alg.parameters.ok_or("the EC key does not name its curve")?;
    let curve = params
        .decode_as::<der::asn1::ObjectIdentifier>()
        .map_err(|e| format!("bad EC curve: {e}"))?;
    Ok(curve.to_string())
}

fn unsupported(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.1" => "RSA".to_string(),
        "1.3.132.0.10" => "secp256k1".to_string(),
        other => format!("OID {other}"),
    };
    format!("{name} keys are not supported (use ECDSA P-256, P-384 or P-521, or Ed25519)")
}

impl VerifyingKey {
    /// Loads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(text: &str) -> Result<VerifyingKey, String> {
        for (label, der, _) in pem_blocks(text)? {
            if label == "PUBLIC KEY" {
                return Self::from_spki_der(&der);
            }
        }
        Err("no PUBLIC KEY block found".into())
    }

    pub fn from_spki_der(der: &[u8]) -> Result<VerifyingKey, String> {
        let info = spki::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| format!("bad public key: {e}"))?;
        let bad = |e: spki::Error| format!("bad public key: {e}");
        match algorithm(&info.algorithm)?.as_str() {
            OID_P256 => Ok(VerifyingKey::P256(
                p256::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?,
            )),
            OID_P384 => Ok(VerifyingKey::P384(
                p384::ecdsa::VerifyingKey::from_public_key_der(der).map_err(bad)?,
            )),
            OID_P521 => {
                let pk = p521::PublicKey::from_public_key_der(der).map_err(bad)?;
                Ok(VerifyingKey::P521(pk.into()))
            }
            OID_ED25519 => Ok(VerifyingKey::Ed25519(
                ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(bad)?,
            )),
            other => Err(unsupported(other)),
        }
    }

    /// The SubjectPublicKeyInfo PEM text, byte-identical to `openssl pkey -pubout`.
    pub fn to_pem(&self) -> String {
        let pem = match self {
            VerifyingKey::P256(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P384(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::P521(k) => k.to_public_key_pem(LineEnding::LF),
            VerifyingKey::Ed25519(k) => k.to_public_key_pem(LineEnding::LF),
        };
        pem.unwrap_or_default()
    }

    /// model_signing's key hint: hex SHA-256 of the PEM text. Also mlsec's key fingerprint.
    pub fn hint(&self) -> String {
        crate::hash::hex(&Sha256::digest(self.to_pem().as_bytes()))
    }

    /// `ecdsa-p256-sha256`, ..., `ed25519`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            VerifyingKey::P256(_) => "ecdsa-p256-sha256",
            VerifyingKey::P384(_) => "ecdsa-p384-sha384",
            VerifyingKey::P521(_) => "ecdsa-p521-sha512",
            VerifyingKey::Ed25519(_) => "ed25519",
        }
    }

    /// Checks `signature` (DER for ECDSA, 64 bytes for Ed25519) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::DerSignature::from_bytes(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
            VerifyingKey::P521(k) => p521::ecdsa::Signature::from_der(signature).is_ok_and(|s| {
                p521::ecdsa::VerifyingKey::from(*k)
                    .verify(message, &s)
                    .is_ok()
            }),
            VerifyingKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
        }
    }

    /// Checks a certificate's signature: `prehash` is the TBS digest with the
    /// certificate's hash (ECDSA), or the TBS bytes themselves (Ed25519).
    pub fn verify_prehash(&self, prehash: &[u8], signature: &[u8]) -> bool {
        use ecdsa::signature::hazmat::PrehashVerifier;
        match self {
            VerifyingKey::P256(k) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| k.verify_prehash(prehash, &s).is_ok()),
            VerifyingKey::P384(k) => p384::ecdsa::Signature::from_der(signature)
                .is_ok_and(|s| k.verify_prehash(prehash, &s).is_ok()),
            VerifyingKey::P521(k) => ecdsa::Signature::<p521::NistP521>::from_der(signature)
                .is_ok_and(|s| k.verify_prehash(prehash, &s).is_ok()),
            VerifyingKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(prehash, &s).is_ok()),
        }
    }

    pub fn to_spki_der(&self) -> Vec<u8> {
        let doc = match self {
            VerifyingKey::P256(k) => k.to_public_key_der(),
            VerifyingKey::P384(k) => k.to_public_key_der(),
            VerifyingKey::P521(k) => k.to_public_key_der(),
            VerifyingKey::Ed25519(k) => k.to_public_key_der(),
        };
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.to_spki_der() == other.to_spki_der()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_refuse_bad_framing_without_panicking() {
        assert_eq!(pem_blocks("text only").unwrap_err(), "no PEM block found");
        assert_eq!(
            pem_blocks("-----BEGIN KEY").unwrap_err(),
            "a PEM header is not closed"
        );
        assert_eq!(
            pem_blocks("-----BEGIN KEY-----\nAAAA\n").unwrap_err(),
            "no END line for the PEM block KEY"
        );
        // The first END line comes before the BEGIN line: it closes nothing.
        assert_eq!(
            pem_blocks("-----END KEY-----\n-----BEGIN KEY-----\nAAAA\n").unwrap_err(),
            "no END line for the PEM block KEY"
        );
        // A multi-byte label is still sliced on character boundaries.
        assert!(pem_blocks("-----BEGIN KÉY-----\n-----END KÉY-----é")
            .unwrap_err()
            .starts_with("bad PEM block KÉY"));
    }
}
