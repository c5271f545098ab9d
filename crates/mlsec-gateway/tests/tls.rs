//! TLS termination and client certificates: HTTPS over HTTP/1.1 and HTTP/2,
//! a client certificate as the caller's identity, refused handshakes, and
//! certificates swapped on reload.

mod common;

use bytes::Bytes;
use common::*;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// (certificate PEM, key PEM) signed by `ca`.
fn leaf(ca: &Ca, names: &[&str], cn: &str, units: &[&str], client: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    for u in units {
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, *u);
    }
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// One HTTPS request; Err when the handshake or the exchange failed.
async fn https(
    addr: SocketAddr,
    ca: &Ca,
    client: Option<&(String, String)>,
    h2: bool,
    key: Option<&str>,
) -> Result<(StatusCode, String, serde_json::Value), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.cert.pem().as_bytes()).unwrap())
        .unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![if h2 {
        b"h2".to_vec()
    } else {
        b"http/1.1".to_vec()
    }];
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let alpn = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    let mut req = Request::post("https://localhost/v1/chat/completions")
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let req = req.body(Full::new(Bytes::from(CHAT))).unwrap();
    let response = if h2 {
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN chose h2");
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send.send_request(req).await.map_err(|e| e.to_string())?
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send.send_request(req).await.map_err(|e| e.to_string())?
    };
    let version = format!("{:?}", response.version());
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((
        status,
        version,
        serde_json::from_slice(&body).unwrap_or_default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_client_certificates_as_identity_and_reloaded_certificates() {
    let server_ca = ca("server CA");
    let client_ca = ca("client CA");
    let stranger_ca = ca("someone else's CA");
    let server = leaf(
        &server_ca,
        &["localhost", "127.0.0.1"],
        "gateway",
        &[],
        false,
    );
    let job = leaf(&client_ca, &[], "batch-job", &["ml", "nightly"], true);
    let stranger = leaf(&stranger_ca, &[], "intruder", &["ml"], true);
    let h = start_full(
        "tls_cert = \"server.pem\"\ntls_key = \"server.key\"\nclient_ca = \"clients.pem\"\nclient_auth = \"optional\"\nclient_cert_identity = true",
        "",
        &[
            ("server.pem", &server.0),
            ("server.key", &server.1),
            ("clients.pem", &client_ca.cert.pem()),
        ],
    )
    .await;

    // A key over HTTPS, HTTP/1.1 and HTTP/2 (ALPN).
    let (status, version, body) = https(h.addr, &server_ca, None, false, Some(&h.key))
        .await
        .unwrap();
    assert_eq!(
        (status, version.as_str()),
        (StatusCode::OK, "HTTP/1.1"),
        "{body}"
    );
    let (status, version, _) = https(h.addr, &server_ca, None, true, Some(&h.key))
        .await
        .unwrap();
    assert_eq!((status, version.as_str()), (StatusCode::OK, "HTTP/2.0"));

    // A verified client certificate and no key: the certificate is the caller.
    let (status, _, body) = https(h.addr, &server_ca, Some(&job), false, None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    // No certificate and no key: 401 as ever.
    let (status, _, _) = https(h.addr, &server_ca, None, false, None).await.unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A certificate from a CA the gateway does not trust fails the handshake.
    // (With TLS 1.3 the client learns it on its first read.)
    assert!(https(h.addr, &server_ca, Some(&stranger), false, None)
        .await
        .is_err());
    // Plain HTTP to the TLS port gets no HTTP answer.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(h.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            s.read_to_end(&mut answer),
        )
        .await;
        assert!(
            !answer.starts_with(b"HTTP/"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }

    let r = records(&h);
    let principals: Vec<&str> = r
        .iter()
        .map(|r| r["principal"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(principals[2], "cert:batch-job", "{principals:?}");
    assert_eq!(r[2]["owner"], "batch-job");
    let m = h.gw.metrics.render();
    assert!(
        m.contains("mlsec_gateway_tls_handshake_failures_total 2"),
        "{m}"
    );

    // Reload with new certificates and client certificates required: new
    // connections get the new ones, and a client without one is refused.
    let new_server = leaf(&server_ca, &["localhost"], "gateway-2", &[], false);
    std::fs::write(h.dir.path().join("server.pem"), &new_server.0).unwrap();
    std::fs::write(h.dir.path().join("server.key"), &new_server.1).unwrap();
    let text = std::fs::read_to_string(&h.config_path).unwrap();
    std::fs::write(
        &h.config_path,
        text.replace("client_auth = \"optional\"", "client_auth = \"required\""),
    )
    .unwrap();
    h.gw.reload(&h.config_path).unwrap();
    assert!(https(h.addr, &server_ca, None, false, Some(&h.key))
        .await
        .is_err());
    let (status, _, _) = https(h.addr, &server_ca, Some(&job), true, Some(&h.key))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn tls_settings_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let check = |server: &str| {
        let text = format!("[server]\n{server}\n[[route]]\nprotocol = \"openai\"\nupstream = \"http://127.0.0.1:9\"\n");
        let path = dir.path().join("g.toml");
        std::fs::write(&path, text).unwrap();
        mlsec_gateway::Config::load(&path)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let e = check("tls_cert = \"missing.pem\"").unwrap_err();
    assert!(e.contains("tls_key"), "{e}");
    let e = check("tls_cert = \"missing.pem\"\ntls_key = \"missing.key\"").unwrap_err();
    assert!(e.contains("missing.pem"), "{e}");
    let e = check("client_ca = \"ca.pem\"").unwrap_err();
    assert!(e.contains("needs tls_cert"), "{e}");
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    let e = check("tls_cert = \"junk.pem\"\ntls_key = \"junk.pem\"").unwrap_err();
    assert!(e.contains("junk.pem"), "{e}");
}
