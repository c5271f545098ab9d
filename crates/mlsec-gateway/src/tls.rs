//! TLS termination (rustls, ring provider) and client certificates (mTLS).

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Whether a client must show a certificate signed by `client_ca`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Required,
    Optional,
}

/// The TLS side of `[server]`, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub client_auth: Option<ClientAuth>,
    /// A verified client certificate authenticates a request that has no key.
    pub cert_identity: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("client_auth", &self.client_auth)
            .field("cert_identity", &self.cert_identity)
            .finish_non_exhaustive()
    }
}

/// Reads the certificate chain, the key and the client CAs, and builds the
/// server config (TLS 1.2 and 1.3, ALPN h2 and http/1.1).
pub fn load(
    cert: &Path,
    key: &Path,
    client_ca: Option<(&Path, ClientAuth)>,
    cert_identity: bool,
) -> Result<Tls, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    // ring, not aws-lc-rs: it builds without AWS-LC's C and CMake. rustls
    // marks it deprecated because it lacks post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some((ca, auth)) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in
                CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?
            {
                let c = c.map_err(|e| format!("{}: {e}", ca.display()))?;
                roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("{}: no CA certificate in it", ca.display()));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = match auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
        }
    };
    let mut config = builder
        .with_single_cert(chain, private)
        .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        client_auth: client_ca.map(|(_, a)| a),
        cert_identity,
    })
}

/// A TLS client config (for fetching a JWKS, for PostgreSQL): trusting `ca`
/// (PEM) when given, else the system's trusted roots.
pub fn client_tls(ca: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(ca) => {
            for c in
                CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?
            {
                roots
                    .add(c.map_err(|e| format!("{}: {e}", ca.display()))?)
                    .map_err(|e| format!("{}: {e}", ca.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                let _ = roots.add(c);
            }
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificates to check the server with".into());
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A TLS connection to `host:port`, its certificate checked with `tls`
/// for `host` (a JWKS fetch, a webhook).
pub async fn connect(
    host: &str,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("host {host}: {e}"))?;
    tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))
}

/// Who a verified client certificate names: its subject's common name and
/// organizational units, and the certificate's SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientCert {
    pub common_name: String,
    pub units: Vec<String>,
    pub sha256: String,
}

/// Reads the leaf of a chain rustls already verified.
pub fn client_cert(der: &[u8]) -> Option<ClientCert> {
    use sha2::Digest;
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let (mut common_name, mut units) = (None, Vec::new());
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            let text = attribute_text(&atv.value);
            if atv.oid == const_oid::db::rfc4519::CN {
                common_name = text;
            } else if atv.oid == const_oid::db::rfc4519::OU {
                units.extend(text);
            }
        }
    }
    Some(ClientCert {
        common_name: common_name?,
        units,
        sha256: hex::encode(sha2::Sha256::digest(der)),
    })
}

fn attribute_text(value: &x509_cert::der::Any) -> Option<String> {
    use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
    if let Ok(s) = value.decode_as::<Utf8StringRef<'_>>() {
        return Some(s.as_str().to_string());
    }
    value
        .decode_as::<PrintableStringRef<'_>>()
        .ok()
        .map(|s| s.as_str().to_string())
}
