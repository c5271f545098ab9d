//! Who is calling: an API key, or a verified client certificate.

use crate::keys::{KeyStore, Principal, Refusal};
use crate::tls::{ClientCert, Tls};
use http::{header, HeaderMap};
use std::time::SystemTime;

/// The principal behind a request. A key (Bearer or x-api-key) decides
/// when one is presented; without one, a client certificate verified
/// during the handshake does, where `client_cert_identity` allows it.
pub fn authenticate(
    keys: &KeyStore,
    tls: Option<&Tls>,
    headers: &HeaderMap,
    cert: Option<&ClientCert>,
    now: SystemTime,
) -> Result<Principal, Refusal> {
    let presented = presented_key(headers);
    if presented.is_empty() {
        if let (Some(cert), true) = (cert, tls.is_some_and(|t| t.cert_identity)) {
            return Ok(Principal {
                id: format!("cert:{}", cert.common_name),
                owner: cert.common_name.clone(),
                tier: None,
                groups: cert.units.clone(),
            });
        }
    }
    keys.check(presented, now).cloned()
}

pub fn presented_key(headers: &HeaderMap) -> &str {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let (Some(scheme), Some(key)) = (v.get(..7), v.get(7..)) {
            if scheme.eq_ignore_ascii_case("bearer ") {
                return key.trim();
            }
        }
        return "";
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map_or("", str::trim)
}
