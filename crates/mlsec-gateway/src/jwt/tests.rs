use super::*;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::json;
use std::time::Duration;

const NOW: u64 = 1_800_000_000;

fn enc(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Signer {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .unwrap();
                sig
            }
            Signer::Ec(k) => k.sign(&rng, message).unwrap().as_ref().to_vec(),
            Signer::Ed(k) => k.sign(message).as_ref().to_vec(),
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        match self {
            Signer::Rsa(k) => {
                let p = k.public_key();
                let parts = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(p);
                json!({"kty": "RSA", "kid": kid, "n": enc(&parts.n), "e": enc(&parts.e)})
            }
            Signer::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": enc(&point[1..33]), "y": enc(&point[33..65])})
            }
            Signer::Ed(k) => {
                json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": enc(k.public_key().as_ref())})
            }
        }
    }
}

fn rsa() -> Signer {
    let pem = include_str!("../../tests/fixtures/jwt/rsa-test.pem");
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(der)
        .unwrap();
    Signer::Rsa(RsaKeyPair::from_pkcs8(&der).unwrap())
}

fn ec() -> Signer {
    let rng = SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let der = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    Signer::Ec(EcdsaKeyPair::from_pkcs8(alg, der.as_ref(), &rng).unwrap())
}

fn ed() -> Signer {
    let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    Signer::Ed(Ed25519KeyPair::from_pkcs8(der.as_ref()).unwrap())
}

fn token(signer: &Signer, header: Value, claims: Value) -> String {
    let signing = format!(
        "{}.{}",
        enc(header.to_string().as_bytes()),
        enc(claims.to_string().as_bytes())
    );
    format!("{signing}.{}", enc(&signer.sign(signing.as_bytes())))
}

fn claims() -> Value {
    json!({"iss": "https://idp.test/", "aud": ["other", "gw"], "sub": "alice", "exp": NOW + 600,
           "nbf": NOW - 10, "iat": NOW - 10, "groups": ["ml", "ops"], "scope": "chat embed", "tier": "gold"})
}

fn rules() -> Rules {
    Rules {
        issuer: "https://idp.test/".into(),
        audience: vec!["gw".into()],
        leeway: Duration::from_secs(60),
        algorithms: Algorithm::ALL.to_vec(),
    }
}

fn jwks(keys: &[(&Signer, &str)]) -> Jwks {
    let doc = json!({"keys": keys.iter().map(|(s, kid)| s.jwk(kid)).collect::<Vec<_>>()});
    Jwks::parse(doc.to_string().as_bytes()).unwrap()
}

#[test]
fn each_algorithm_verifies_and_claims_are_read() {
    let (r, e, d) = (rsa(), ec(), ed());
    let set = jwks(&[(&r, "r"), (&e, "e"), (&d, "d")]);
    for (signer, alg, kid) in [(&r, "RS256", "r"), (&e, "ES256", "e"), (&d, "EdDSA", "d")] {
        let t = token(
            signer,
            json!({"alg": alg, "kid": kid, "typ": "JWT"}),
            claims(),
        );
        let c = verify(&t, &set, &rules(), NOW).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(c.subject, "alice");
        assert_eq!(c.strings("groups"), ["ml", "ops"]);
        assert_eq!(c.strings("scope"), ["chat", "embed"]);
        assert_eq!(c.strings("tier"), ["gold"]);
        // Without kid, the key is found by trying those of the right type.
        let t = token(signer, json!({"alg": alg}), claims());
        assert!(verify(&t, &set, &rules(), NOW).is_ok(), "{alg} without kid");
    }
}

#[test]
fn symmetric_and_unknown_algorithms_are_refused() {
    let r = rsa();
    let set = jwks(&[(&r, "r")]);
    let body = enc(claims().to_string().as_bytes());
    for alg in ["none", "HS256", "HS512", "RS512", "PS256", "ES384", ""] {
        let header = enc(json!({"alg": alg, "kid": "r"}).to_string().as_bytes());
        // An HMAC keyed with the RSA public key: the classic confusion.
        let t = format!("{header}.{body}.{}", enc(b"whatever"));
        assert!(
            matches!(verify(&t, &set, &rules(), NOW), Err(JwtError::Algorithm(_))),
            "{alg}"
        );
        let t = format!("{header}.{body}.");
        assert!(verify(&t, &set, &rules(), NOW).is_err(), "{alg} unsigned");
    }
    // An algorithm the config does not allow.
    let only_es = Rules {
        algorithms: vec![Algorithm::ES256],
        ..rules()
    };
    let t = token(&r, json!({"alg": "RS256", "kid": "r"}), claims());
    assert!(matches!(
        verify(&t, &set, &only_es, NOW),
        Err(JwtError::Algorithm(_))
    ));
}

#[test]
fn keys_are_chosen_by_kid_and_type_and_never_from_the_token() {
    let (r, e, attacker) = (rsa(), ec(), ec());
    let set = jwks(&[(&r, "r"), (&e, "e")]);
    // ES256 claimed against the RSA key's kid: no panic, no pass.
    let t = token(&e, json!({"alg": "ES256", "kid": "r"}), claims());
    assert_eq!(
        verify(&t, &set, &rules(), NOW).unwrap_err(),
        JwtError::BadSignature
    );
    let t = token(&e, json!({"alg": "ES256", "kid": "nope"}), claims());
    assert!(verify(&t, &set, &rules(), NOW)
        .unwrap_err()
        .is_unknown_key());
    // The attacker's own key embedded as jwk, and a jku pointing at theirs.
    let header = json!({"alg": "ES256", "jwk": attacker.jwk("x"), "jku": "https://evil.test/jwks"});
    let t = token(&attacker, header, claims());
    assert_eq!(
        verify(&t, &set, &rules(), NOW).unwrap_err(),
        JwtError::BadSignature
    );
}

#[test]
fn tampering_and_malformed_tokens_are_refused() {
    let e = ec();
    let set = jwks(&[(&e, "e")]);
    let t = token(&e, json!({"alg": "ES256", "kid": "e"}), claims());
    let parts: Vec<&str> = t.split('.').collect();
    let forged = enc(json!({"sub": "root"}).to_string().as_bytes());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(
        verify(&tampered, &set, &rules(), NOW).unwrap_err(),
        JwtError::BadSignature
    );
    // A DER signature instead of r‖s is not accepted.
    let long_sig = format!("{}.{}.{}", parts[0], parts[1], enc(&[0u8; 72]));
    assert_eq!(
        verify(&long_sig, &set, &rules(), NOW).unwrap_err(),
        JwtError::BadSignature
    );
    for bad in [
        String::new(),
        "a.b".into(),
        "a.b.c.d".into(),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}+/", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", enc(b"[1,2]"), parts[1], parts[2]),
    ] {
        assert!(verify(&bad, &set, &rules(), NOW).is_err(), "{bad}");
    }
    let crit = token(
        &e,
        json!({"alg": "ES256", "kid": "e", "crit": ["exp"]}),
        claims(),
    );
    assert!(matches!(
        verify(&crit, &set, &rules(), NOW),
        Err(JwtError::Malformed(_))
    ));
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(MAX_TOKEN_BYTES), parts[2]);
    assert_eq!(
        verify(&huge, &set, &rules(), NOW).unwrap_err(),
        JwtError::TooLarge
    );
}

#[test]
fn time_issuer_audience_and_subject_are_checked() {
    let e = ec();
    let set = jwks(&[(&e, "e")]);
    let with = |change: Value| {
        let mut c = claims();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        verify(
            &token(&e, json!({"alg": "ES256", "kid": "e"}), c),
            &set,
            &rules(),
            NOW,
        )
    };
    assert_eq!(
        with(json!({"exp": NOW - 61})).unwrap_err(),
        JwtError::Expired
    );
    assert!(with(json!({"exp": NOW - 30})).is_ok(), "within the leeway");
    assert!(
        with(json!({"exp": (NOW + 10) as f64 + 0.5})).is_ok(),
        "fractional seconds"
    );
    assert_eq!(
        with(json!({"nbf": NOW + 61})).unwrap_err(),
        JwtError::NotYetValid
    );
    assert!(with(json!({"nbf": NOW + 30})).is_ok());
    assert_eq!(
        with(json!({"exp": null})).unwrap_err(),
        JwtError::MissingClaim("exp")
    );
    assert!(matches!(
        with(json!({"exp": -5})),
        Err(JwtError::Malformed(_))
    ));
    assert!(matches!(
        with(json!({"exp": "tomorrow"})),
        Err(JwtError::Malformed(_))
    ));
    assert!(matches!(
        with(json!({"exp": 1e300})),
        Err(JwtError::Malformed(_))
    ));
    assert_eq!(
        with(json!({"iss": "https://idp.test"})).unwrap_err(),
        JwtError::Issuer
    );
    assert_eq!(
        with(json!({"aud": "other"})).unwrap_err(),
        JwtError::Audience
    );
    assert_eq!(
        with(json!({"aud": null})).unwrap_err(),
        JwtError::MissingClaim("aud")
    );
    assert!(with(json!({"aud": "gw"})).is_ok());
    assert_eq!(
        with(json!({"sub": ""})).unwrap_err(),
        JwtError::MissingClaim("sub")
    );
    assert_eq!(
        with(json!({"sub": 7})).unwrap_err(),
        JwtError::MissingClaim("sub")
    );
}

#[test]
fn tokens_made_by_pyjwt_verify() {
    let set = Jwks::parse(include_bytes!("../../tests/fixtures/jwt/jwks.json")).unwrap();
    assert_eq!(set.len(), 3, "the encryption key is skipped");
    let tokens: Map<String, Value> =
        serde_json::from_str(include_str!("../../tests/fixtures/jwt/tokens.json")).unwrap();
    let rules = Rules {
        issuer: "https://idp.example.test/".into(),
        audience: vec!["mlsec-gateway".into()],
        ..rules()
    };
    for kid in ["rsa-1", "ec-1", "ed-1"] {
        let get = |what: &str| {
            tokens[&format!("{kid}-{what}")]
                .as_str()
                .unwrap()
                .to_string()
        };
        let c = verify(&get("valid"), &set, &rules, NOW).unwrap_or_else(|e| panic!("{kid}: {e}"));
        assert_eq!(c.subject, format!("user-{kid}"));
        assert_eq!(
            verify(&get("expired"), &set, &rules, NOW).unwrap_err(),
            JwtError::Expired
        );
        assert_eq!(
            verify(&get("wrong-aud"), &set, &rules, NOW).unwrap_err(),
            JwtError::Audience
        );
    }
}

#[test]
fn bad_jwks_documents_are_errors() {
    for doc in [
        &b"not json"[..],
        b"{}",
        b"{\"keys\": 5}",
        b"{\"keys\": []}",
        b"{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}",
        b"{\"keys\": [{\"kty\": \"RSA\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}",
        b"{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-384\", \"x\": \"AA\", \"y\": \"AA\"}]}",
    ] {
        assert!(
            Jwks::parse(doc).is_err(),
            "{}",
            String::from_utf8_lossy(doc)
        );
    }
    let big = vec![b' '; MAX_JWKS_BYTES + 1];
    assert!(Jwks::parse(&big).is_err());
}

#[test]
fn random_and_mutated_input_never_panics() {
    let e = ec();
    let set = jwks(&[(&e, "e")]);
    let good = token(&e, json!({"alg": "ES256", "kid": "e"}), claims());
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"eyJ.AZaz09-_=+/{}\":,[]";
    for _ in 0..10_000 {
        let mut t = good.clone().into_bytes();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % t.len();
            t[i] = alphabet[(next() as usize) % alphabet.len()];
        }
        let t = String::from_utf8_lossy(&t);
        let _ = verify(&t, &set, &rules(), NOW);
        let n = (next() % 64) as usize;
        let junk: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        let _ = Jwks::parse(&junk);
        let _ = verify(&String::from_utf8_lossy(&junk), &set, &rules(), NOW);
    }
}
