//! Sigstore bundle v0.3 holding a DSSE envelope: the signature file format of
//! model_signing. Readers are strict where the reference is (media type, one
//! signature, no unknown fields) and bounded (size, nesting).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Larger signature files are refused unread ([`read_file`]) or unparsed
/// ([`Bundle::parse`]): 64 MiB.
///
/// The largest legitimate bundle signs model_signing's statement of every
/// file of a model: 200 to 300 bytes a file once base64-encoded (path, digest,
/// algorithm; the reference vectors measure this), so 100,000 files (as many
/// as `mlsec bom` walks) make 20 to 40 MB. Verifying holds the file, the
/// payload string, the decoded statement and the signed message at once,
/// about 3.5 times the file: a 200 MB bundle took 700 MB before it was
/// refused, a bundle at this limit takes at most some 230 MB.
pub const MAX_BUNDLE_BYTES: u64 = 64 << 20;

/// Most JSON values a bundle may hold. A bundle is a few dozen values however
/// large the model (its statement is one base64 string); a transparency log
/// entry adds a few dozen. The open-ended parts (`tlogEntries`,
/// `messageSignature`, `timestampVerificationData`) are parsed into generic
/// `serde_json::Value` trees at 30 to 80 bytes a value, where a file spends 2
/// (`0,`), so values are counted before anything is parsed.
pub const MAX_BUNDLE_JSON_VALUES: usize = 10_000;

/// Reads a signature file, refusing one over [`MAX_BUNDLE_BYTES`] by its size
/// before reading it, and, should it grow or be a device, one byte past the
/// limit while reading it. Errors name the file and the limit.
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    let over = |size: String| {
        format!(
            "{}: the signature file is {size}, over the {} MiB limit for a Sigstore bundle",
            path.display(),
            MAX_BUNDLE_BYTES >> 20
        )
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_BUNDLE_BYTES {
        return Err(over(format!("{len} bytes")));
    }
    // At most the limit, checked just above.
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(over("larger than that once read".into()));
    }
    Ok(bytes)
}

/// At least the number of JSON values in `bytes`, found without parsing: the
/// `[`, `,` and `:` outside strings, plus one. Every value but the first
/// follows one of them (object entries are counted twice, which only errs on
/// the safe side).
fn json_values_bound(bytes: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (1usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b',' | b':' => n += 1,
                _ => {}
            }
        }
    }
    n
}

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
    /// Refuses, before parsing, input over [`MAX_BUNDLE_BYTES`] or with more
    /// than [`MAX_BUNDLE_JSON_VALUES`] values.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, String> {
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(format!(
                "the signature file is {} bytes, over the {} MiB limit for a Sigstore bundle",
                bytes.len(),
                MAX_BUNDLE_BYTES >> 20
            ));
        }
        if json_values_bound(bytes) > MAX_BUNDLE_JSON_VALUES {
            return Err(format!(
                "not a Sigstore bundle: over {MAX_BUNDLE_JSON_VALUES} JSON values, the limit (a bundle holds a few dozen)"
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
    fn json_values_are_counted_outside_strings_only() {
        assert_eq!(json_values_bound(b"null"), 1);
        assert_eq!(json_values_bound(br#"[1,2,[3]]"#), 5);
        assert_eq!(json_values_bound(br#"{"a":"[,:\"]","b":[]}"#), 5);
        // An escaped backslash ends the escape: the quote after it closes the string.
        assert_eq!(json_values_bound(br#"["\\",1]"#), 3);
        let good = Bundle::new(Default::default(), b"{}", b"s").to_json();
        assert!(json_values_bound(&good) < 30);
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
