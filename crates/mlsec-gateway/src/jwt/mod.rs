//! JWT bearer tokens (JWS compact form) checked against a JWKS: RS256,
//! ES256 and EdDSA (Ed25519) only. No symmetric algorithm is accepted at
//! all, so a public key can never be replayed as an HMAC secret, and keys
//! named inside a token (`jwk`, `jku`, `x5u`) are never trusted.

mod source;

pub use source::{JwtAuth, Source, ON_DEMAND_EVERY};

use base64::Engine;
use ring::signature;
use serde_json::{Map, Value};

/// Bigger tokens are refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 << 10;
/// Bigger JWKS documents are refused.
pub const MAX_JWKS_BYTES: usize = 1 << 20;
const MAX_KEYS: usize = 256;
/// Keys tried for a token without `kid`.
const MAX_TRIES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RS256,
    ES256,
    EdDSA,
}

impl Algorithm {
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name {
            "RS256" => Some(Algorithm::RS256),
            "ES256" => Some(Algorithm::ES256),
            "EdDSA" => Some(Algorithm::EdDSA),
            _ => None,
        }
    }

    pub const ALL: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];
}

#[derive(Debug, Clone, PartialEq)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point: 0x04 ‖ x ‖ y.
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl Material {
    fn algorithm(&self) -> Algorithm {
        match self {
            Material::Rsa { .. } => Algorithm::RS256,
            Material::P256(_) => Algorithm::ES256,
            Material::Ed25519(_) => Algorithm::EdDSA,
        }
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            Material::Rsa { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            // The JWS form is r ‖ s (64 bytes), not DER.
            Material::P256(point) => {
                sig.len() == 64
                    && signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                        .verify(message, sig)
                        .is_ok()
            }
            Material::Ed25519(x) => signature::UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .is_ok(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Jwk {
    kid: Option<String>,
    material: Material,
}

/// The usable signing keys of a JWKS document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token too large")]
    TooLarge,
    #[error("token algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("token signed by unknown key {0}")]
    UnknownKey(String),
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("token issuer not accepted")]
    Issuer,
    #[error("token audience not accepted")]
    Audience,
    #[error("token lacks claim {0}")]
    MissingClaim(&'static str),
    #[error("JWKS: {0}")]
    Jwks(String),
}

impl JwtError {
    /// Worth fetching the JWKS again (the issuer may have rotated keys).
    pub fn is_unknown_key(&self) -> bool {
        matches!(self, JwtError::UnknownKey(_))
    }

    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            JwtError::Expired => "expired-token",
            JwtError::NotYetValid => "early-token",
            JwtError::BadSignature | JwtError::UnknownKey(_) => "bad-signature",
            JwtError::Issuer | JwtError::Audience => "wrong-audience",
            _ => "invalid-token",
        }
    }
}

fn b64(text: &str) -> Option<Vec<u8>> {
    // URL-safe without padding, as JOSE requires; anything else is refused.
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

impl Jwks {
    /// Parses `{"keys": [...]}`, keeping RSA (2048 to 8192 bits), EC P-256 and
    /// OKP Ed25519 signing keys and skipping the rest (encryption keys,
    /// other curves and algorithms). None usable is an error.
    pub fn parse(bytes: &[u8]) -> Result<Jwks, JwtError> {
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwtError::Jwks(format!("over {MAX_JWKS_BYTES} bytes")));
        }
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| JwtError::Jwks(format!("not JSON: {e}")))?;
        let listed = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwtError::Jwks("no \"keys\" array".into()))?;
        let keys: Vec<Jwk> = listed.iter().take(MAX_KEYS).filter_map(jwk).collect();
        if keys.is_empty() {
            return Err(JwtError::Jwks(
                "no usable signing key (RSA, EC P-256 or Ed25519)".into(),
            ));
        }
        Ok(Jwks { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn jwk(key: &Value) -> Option<Jwk> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let material = match (text("kty")?, text("crv")) {
        ("RSA", _) => {
            let n = b64(text("n")?)?;
            let e = b64(text("e")?)?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if !(2048..=8192).contains(&bits) || e.is_empty() || e.len() > 8 {
                return None;
            }
            Material::Rsa { n, e }
        }
        ("EC", Some("P-256")) => {
            let (x, y) = (b64(text("x")?)?, b64(text("y")?)?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = vec![4u8];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::P256(point)
        }
        ("OKP", Some("Ed25519")) => {
            let x = b64(text("x")?)?;
            if x.len() != 32 {
                return None;
            }
            Material::Ed25519(x)
        }
        _ => return None,
    };
    // A key that names its algorithm is used for that one only.
    if let Some(alg) = text("alg") {
        if Algorithm::parse(alg) != Some(material.algorithm()) {
            return None;
        }
    }
    Some(Jwk {
        kid: text("kid").map(str::to_string),
        material,
    })
}

/// What a token must say to be accepted.
#[derive(Debug, Clone)]
pub struct Rules {
    pub issuer: String,
    /// The token's `aud` (a string or an array) must hold one of these.
    pub audience: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: std::time::Duration,
    pub algorithms: Vec<Algorithm>,
}

/// A verified token's claims.
#[derive(Debug, Clone)]
pub struct Claims {
    pub subject: String,
    pub issuer: String,
    pub expires: u64,
    pub raw: Map<String, Value>,
}

impl Claims {
    /// A string claim, or the strings of an array claim; `scope` is split on spaces.
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.raw.get(name) {
            Some(Value::String(s)) if name == "scope" => {
                s.split_whitespace().map(str::to_string).collect()
            }
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Whether `token` looks like a JWS compact token (three base64url parts),
/// as opposed to an API key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Verifies `token` against `jwks` and `rules` at `now` (Unix seconds).
pub fn verify(token: &str, jwks: &Jwks, rules: &Rules, now: u64) -> Result<Claims, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three parts"));
    };
    let header = object(&b64(h).ok_or(JwtError::Malformed("header is not base64url"))?)
        .ok_or(JwtError::Malformed("header is not a JSON object"))?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed("no alg"))?;
    let alg = Algorithm::parse(alg_name)
        .filter(|a| rules.algorithms.contains(a))
        .ok_or_else(|| JwtError::Algorithm(truncate(alg_name)))?;
    if header.contains_key("crit") {
        return Err(JwtError::Malformed("crit header not supported"));
    }
    let signature = b64(s).ok_or(JwtError::Malformed("signature is not base64url"))?;
    let signed = token
        .get(..h.len() + 1 + p.len())
        .ok_or(JwtError::Malformed("not three parts"))?
        .as_bytes();

    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Jwk> = match kid {
        Some(kid) => {
            let named: Vec<&Jwk> = jwks
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect();
            if named.is_empty() {
                return Err(JwtError::UnknownKey(truncate(kid)));
            }
            named
        }
        None => jwks.keys.iter().take(MAX_KEYS).collect(),
    };
    let verified = candidates
        .into_iter()
        .filter(|k| k.material.algorithm() == alg)
        .take(MAX_TRIES)
        .any(|k| k.material.verify(signed, &signature));
    if !verified {
        return Err(JwtError::BadSignature);
    }

    let claims = object(&b64(p).ok_or(JwtError::Malformed("payload is not base64url"))?)
        .ok_or(JwtError::Malformed("payload is not a JSON object"))?;
    let leeway = rules.leeway.as_secs();
    let expires = date(&claims, "exp")?.ok_or(JwtError::MissingClaim("exp"))?;
    if expires.saturating_add(leeway) <= now {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = date(&claims, "nbf")? {
        if nbf > now.saturating_add(leeway) {
            return Err(JwtError::NotYetValid);
        }
    }
    date(&claims, "iat")?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(JwtError::MissingClaim("iss"))?;
    if issuer != rules.issuer {
        return Err(JwtError::Issuer);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => rules.audience.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| rules.audience.iter().any(|r| r == a)),
        _ => return Err(JwtError::MissingClaim("aud")),
    };
    if !audience_ok {
        return Err(JwtError::Audience);
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(JwtError::MissingClaim("sub"))?
        .to_string();
    Ok(Claims {
        subject,
        issuer: issuer.to_string(),
        expires,
        raw: claims,
    })
}

fn object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// A NumericDate claim: seconds, integer or not; negative, huge or not a
/// number is malformed.
fn date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => {
            if let Some(n) = v.as_u64() {
                return Ok(Some(n));
            }
            match v.as_f64() {
                Some(f) if f.is_finite() && (0.0..1e15).contains(&f) => Ok(Some(f.floor() as u64)),
                _ => Err(JwtError::Malformed(
                    "a date claim is not a number of seconds",
                )),
            }
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests;
