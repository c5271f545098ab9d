//! Sigstore bundle v0.3 holding a DSSE envelope: the signature file format of
//! model_signing. Readers are strict where the reference is (media type, one
//! signature, no unknown fields) and bounded (size, nesting).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Larger signature files are refused before parsing (a manifest of a million
/// files is about 150 MB).
pub const MAX_BUNDLE_BYTES: u64 = 256 << 20;

/// DSSE pre-authentication encoding: what the signature is over.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    pub dsse_envelope: Option<Envelope>,
    /// Bundles may instead sign a message digest; model signatures never do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyIdentifier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_certificate_chain: Option<CertificateChain>,
    /// A single leaf certificate (Sigstore keyless bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<RawBytes>,
    #[serde(default)]
    pub tlog_entries: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_verification_data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyIdentifier {
    /// Hex SHA-256 of the public key's PEM text.
    #[serde(default)]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateChain {
    pub certificates: Vec<RawBytes>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    /// Base64 of the DER certificate.
    pub raw_bytes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// Base64 of the statement bytes.
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// Base64 of the signature (DER for ECDSA).
    pub sig: String,
    #[serde(default)]
    pub keyid: String,
}

impl Bundle {
    /// A bundle signing `payload` (an in-toto statement) with `signature`.
    pub fn new(material: VerificationMaterial, payload: &[u8], signature: &[u8]) -> Bundle {
        Bundle {
            media_type: BUNDLE_MEDIA_TYPE.into(),
            verification_material: material,
            dsse_envelope: Some(Envelope {
                payload: B64.encode(payload),
                payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
                signatures: vec![EnvelopeSignature {
                    sig: B64.encode(signature),
                    keyid: String::new(),
                }],
            }),
            message_signature: None,
        }
    }

    /// Compact JSON, as model_signing 1.1 writes it.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks the structure; the signature is checked by the caller.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, String> {
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(format!(
                "the signature file is larger than {} MiB",
                MAX_BUNDLE_BYTES >> 20
            ));
        }
        // serde_json stops at 128 levels of nesting, so deep input is an error, not a crash.
        let bundle: Bundle =
            serde_json::from_slice(bytes).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
        if bundle.media_type != BUNDLE_MEDIA_TYPE {
            return Err(format!(
                "bundle media type `{}` is not supported (expected {BUNDLE_MEDIA_TYPE})",
                bundle.media_type
            ));
        }
        Ok(bundle)
    }

    /// The envelope's payload and its one signature, decoded.
    pub fn signed_payload(&self) -> Result<(Vec<u8>, Vec<u8>), String> {
        let env = self
            .dsse_envelope
            .as_ref()
            .ok_or("the bundle holds no DSSE envelope")?;
        if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(format!(
                "DSSE payload type `{}` is not {IN_TOTO_PAYLOAD_TYPE}",
                env.payload_type
            ));
        }
        let [sig] = env.signatures.as_slice() else {
            return Err(format!(
                "the envelope has {} signatures, expected exactly 1",
                env.signatures.len()
            ));
        };
        let payload = B64
            .decode(&env.payload)
            .map_err(|e| format!("the DSSE payload is not base64: {e}"))?;
        let sig = B64
            .decode(&sig.sig)
            .map_err(|e| format!("the signature is not base64: {e}"))?;
        Ok((payload, sig))
    }

    /// DER certificates of the signer's chain (leaf first), if any.
    pub fn certificates(&self) -> Result<Vec<Vec<u8>>, String> {
        let m = &self.verification_material;
        let raw: Vec<&RawBytes> = match (&m.x509_certificate_chain, &m.certificate) {
            (Some(chain), _) => chain.certificates.iter().collect(),
            (None, Some(cert)) => vec![cert],
            (None, None) => Vec::new(),
        };
        raw.iter()
            .map(|r| {
                B64.decode(&r.raw_bytes)
                    .map_err(|e| format!("a certificate is not base64: {e}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec() {
        assert_eq!(
            pae(IN_TOTO_PAYLOAD_TYPE, b"{}"),
            b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec()
        );
    }

    #[test]
    fn reads_what_it_writes_and_the_reference_layout() {
        let material = VerificationMaterial {
            public_key: Some(PublicKeyIdentifier {
                hint: Some("ab".into()),
            }),
            ..Default::default()
        };
        let b = Bundle::new(material, b"{}", b"sig");
        let json = String::from_utf8(b.to_json()).unwrap();
        assert!(json.starts_with(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"ab"},"tlogEntries":[]},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"c2ln","keyid":""}]}}"#), "{json}");
        let back = Bundle::parse(json.as_bytes()).unwrap();
        assert_eq!(
            back.signed_payload().unwrap(),
            (b"{}".to_vec(), b"sig".to_vec())
        );
    }

    #[test]
    fn hostile_bundles_get_clear_errors() {
        let good =
            String::from_utf8(Bundle::new(Default::default(), b"{}", b"s").to_json()).unwrap();
        let two = good.replace(
            r#""signatures":[{"sig":"cw==","keyid":""}]"#,
            r#""signatures":[{"sig":"cw==","keyid":""},{"sig":"cw==","keyid":""}]"#,
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let cases = [
            (good.replace("v0.3", "v0.2"), "media type"),
            (good.replace("e30=", "e30*"), "not base64"),
            (good.replace("in-toto+json\"", "x+json\""), "payload type"),
            (two, "2 signatures"),
            (
                good.replace("\"keyid\"", "\"extra\":1,\"keyid\""),
                "unknown field",
            ),
            (deep, "not a Sigstore bundle"),
            ("null".into(), "not a Sigstore bundle"),
        ];
        for (text, want) in cases {
            let err = Bundle::parse(text.as_bytes())
                .and_then(|b| b.signed_payload().map(|_| ()))
                .unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
