//! Who is calling: an API key, a JWT bearer token, or a verified client
//! certificate.

use crate::jwt::JwtAuth;
use crate::keys::{KeyStore, Principal, Refusal};
use crate::tls::{ClientCert, Tls};
use http::{header, HeaderMap};
use std::time::SystemTime;

/// Why a request was not authenticated: the message for the client and a
/// label for the metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Denied {
    pub message: String,
    pub label: &'static str,
}

impl From<Refusal> for Denied {
    fn from(r: Refusal) -> Denied {
        Denied {
            message: r.as_str().to_string(),
            label: match r {
                Refusal::Missing => "missing",
                Refusal::Unknown => "invalid",
                Refusal::Expired => "expired",
                Refusal::Revoked => "revoked",
            },
        }
    }
}

/// What the gateway knows to check a request's credentials with.
pub struct Authenticators<'a> {
    pub keys: &'a KeyStore,
    pub jwt: Option<&'a JwtAuth>,
    pub tls: Option<&'a Tls>,
}

/// The principal behind a request. A bearer token shaped like a JWT is
/// checked as one where `[jwt]` is configured; any other key against the
/// key store. Without either, a client certificate verified during the
/// handshake decides, where `client_cert_identity` allows it.
pub async fn authenticate(
    with: &Authenticators<'_>,
    headers: &HeaderMap,
    cert: Option<&ClientCert>,
    now: SystemTime,
) -> Result<Principal, Denied> {
    let (keys, tls) = (with.keys, with.tls);
    let presented = presented_key(headers);
    if let Some(jwt) = with.jwt.filter(|_| crate::jwt::looks_like_jwt(presented)) {
        let claims = jwt.verify(presented).await.map_err(|e| Denied {
            message: e.to_string(),
            label: e.label(),
        })?;
        return Ok(Principal {
            id: format!("jwt:{}", claims.subject),
            owner: claims.subject.clone(),
            tier: claims.strings(&jwt.tier_claim).into_iter().next(),
            groups: claims.strings(&jwt.groups_claim),
        });
    }
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
    keys.check(presented, now).cloned().map_err(Denied::from)
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
