//! JWT bearer tokens end to end: a JWKS served over HTTPS by a test identity
//! provider, tokens signed in the test, Cedar deciding on the token's
//! groups, a rotated key picked up at once, and on-demand fetches bounded.

mod common;

use base64::Engine;
use common::*;
use http::{Method, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const ISSUER: &str = "https://idp.test/";

fn enc(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

struct Signer {
    kid: String,
    key: EcdsaKeyPair,
}

impl Signer {
    fn new(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let der = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Signer {
            kid: kid.into(),
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref(), &rng)
                .unwrap(),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        let p = self.key.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
               "x": enc(&p[1..33]), "y": enc(&p[33..65])})
    }

    fn token(&self, sub: &str, groups: &[&str], exp_in: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let claims = json!({"iss": ISSUER, "aud": "mlsec-gateway", "sub": sub, "groups": groups,
                            "iat": now, "exp": now + exp_in});
        let signing = format!(
            "{}.{}",
            enc(header.to_string().as_bytes()),
            enc(claims.to_string().as_bytes())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), signing.as_bytes())
            .unwrap();
        format!("{signing}.{}", enc(sig.as_ref()))
    }
}

/// A test identity provider: serves `jwks` over HTTPS, counting fetches.
struct Idp {
    addr: SocketAddr,
    ca_pem: String,
    jwks: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

async fn idp(initial: String) -> Idp {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, "test IdP CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let jwks = Arc::new(Mutex::new(initial));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (jwks.clone(), fetches.clone());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, served, counted) = (acceptor.clone(), served.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let body = served.lock().unwrap().clone();
                        counted.fetch_add(1, Ordering::SeqCst);
                        let status = if req.uri().path() == "/jwks" {
                            200
                        } else {
                            404
                        };
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                http::Response::builder()
                                    .status(status)
                                    .body(Full::new(bytes::Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Idp {
        addr,
        ca_pem: ca.pem(),
        jwks,
        fetches,
    }
}

fn jwks(signers: &[&Signer]) -> String {
    json!({"keys": signers.iter().map(|s| s.jwk()).collect::<Vec<_>>()}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_bearer_tokens_from_an_https_jwks() {
    let first = Signer::new("k1");
    let idp = idp(jwks(&[&first])).await;
    let policies = r#"
@id("ml-chat")
permit (principal in Group::"ml", action == Action::"chat", resource);
"#;
    let h = start_with(
        &format!(
            r#"
[jwt]
issuer = "{ISSUER}"
audience = ["mlsec-gateway"]
jwks_url = "https://localhost:{port}/jwks"
jwks_ca = "idp-ca.pem"

[authorization]
policies = "policies.cedar"
"#,
            port = idp.addr.port()
        ),
        &[("idp-ca.pem", &idp.ca_pem), ("policies.cedar", policies)],
    )
    .await;
    let chat = |token: String| {
        let addr = h.addr;
        async move {
            call(
                addr,
                Method::POST,
                "/v1/chat/completions",
                Some(&token),
                Some(CHAT),
            )
            .await
        }
    };

    let a = chat(first.token("alice", &["ml"], 300)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        1,
        "fetched once, on first use"
    );
    let a = chat(first.token("alice", &["ml"], 300)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 1, "then cached");

    // Groups from the token reach Cedar: not in "ml", not permitted.
    let a = chat(first.token("bob", &["finance"], 300)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    // Expired, and signed by a key the IdP never published.
    let a = chat(first.token("alice", &["ml"], -3600)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"]["message"], "token expired");
    let rogue = Signer::new("k1");
    let a = chat(rogue.token("alice", &["ml"], 300)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.body["error"]["message"],
        "token signature does not verify"
    );

    // The IdP rotates to k2. The first token naming k2 makes the gateway
    // fetch again at once (after the on-demand window).
    let second = Signer::new("k2");
    *idp.jwks.lock().unwrap() = jwks(&[&first, &second]);
    tokio::time::sleep(mlsec_gateway::jwt::ON_DEMAND_EVERY).await;
    let a = chat(second.token("carol", &["ml"], 300)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    // Made-up key ids do not each cost a fetch.
    for i in 0..20 {
        let a = chat(Signer::new(&format!("fake-{i}")).token("mallory", &["ml"], 300)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);

    let r = records(&h);
    assert_eq!(r[0]["principal"], "jwt:alice");
    assert_eq!(r[0]["owner"], "alice");
    let m = h.gw.metrics.render();
    assert!(
        m.contains("authn_failures_total{reason=\"expired-token\"} 1"),
        "{m}"
    );
    // An API key still works beside tokens.
    let a = call(
        h.addr,
        Method::POST,
        "/v1/chat/completions",
        Some(&h.key),
        Some(CHAT),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[tokio::test]
async fn tokens_made_by_pyjwt_pass_with_a_jwks_file() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt");
    let h = start(&format!(
        "[jwt]\nissuer = \"https://idp.example.test/\"\naudience = \"mlsec-gateway\"\njwks_file = \"{}\"\n",
        fixtures.join("jwks.json").display()
    ))
    .await;
    let tokens: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("tokens.json")).unwrap())
            .unwrap();
    for (name, expected) in [
        ("rsa-1-valid", StatusCode::OK),
        ("ec-1-valid", StatusCode::OK),
        ("ed-1-valid", StatusCode::OK),
        ("ec-1-expired", StatusCode::UNAUTHORIZED),
        ("ed-1-wrong-aud", StatusCode::UNAUTHORIZED),
    ] {
        let token = tokens[name].as_str().unwrap();
        let a = call(
            h.addr,
            Method::POST,
            "/v1/chat/completions",
            Some(token),
            Some(CHAT),
        )
        .await;
        assert_eq!(a.status, expected, "{name}: {}", a.text);
    }
    assert_eq!(records(&h)[0]["principal"], "jwt:user-rsa-1");
}

#[test]
fn jwt_settings_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwks.json"), "{\"keys\": []}").unwrap();
    let check = |jwt: &str| {
        let text = format!(
            "[jwt]\n{jwt}\n[[route]]\nprotocol = \"openai\"\nupstream = \"http://127.0.0.1:9\"\n"
        );
        let path = dir.path().join("g.toml");
        std::fs::write(&path, text).unwrap();
        mlsec_gateway::Config::load(&path)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let base = "issuer = \"https://idp/\"\naudience = \"gw\"\n";
    assert!(check(&format!("{base}jwks_url = \"http://idp/jwks\"")).contains("https://"));
    assert!(check(&format!(
        "{base}jwks_url = \"https://idp/jwks\"\njwks_file = \"jwks.json\""
    ))
    .contains("exactly one"));
    assert!(check(base).contains("exactly one"));
    assert!(check(&format!("{base}jwks_file = \"jwks.json\"")).contains("no usable signing key"));
    assert!(check(&format!(
        "{base}jwks_file = \"jwks.json\"\nalgorithms = [\"HS256\"]"
    ))
    .contains("HS256"));
    assert!(check("issuer = \"x\"\naudience = []\njwks_file = \"jwks.json\"").contains("audience"));
}

/// Webhooks (`data drift --follow --webhook`) over HTTPS: the server's
/// certificate is checked against the CA given, a server the roots do not
/// vouch for is refused, and a non-2xx answer is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_post_over_https_checking_the_certificate() {
    let server = idp("{}".into()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let port = server.addr.port();
    let url = format!("https://localhost:{port}/jwks");
    let body = br#"{"kind":"drift"}"#.to_vec();
    let before = server.fetches.load(Ordering::SeqCst);
    let status = mlsec_gateway::webhook::post_json(&url, body.clone(), Some(&ca))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(server.fetches.load(Ordering::SeqCst), before + 1);
    // The system's roots do not know the test CA.
    let e = mlsec_gateway::webhook::post_json(&url, body.clone(), None)
        .await
        .unwrap_err();
    assert!(e.contains("TLS") && e.contains(&url), "{e}");
    let e = mlsec_gateway::webhook::post_json(
        &format!("https://localhost:{port}/other"),
        body,
        Some(&ca),
    )
    .await
    .unwrap_err();
    assert!(e.contains("404"), "{e}");
}
