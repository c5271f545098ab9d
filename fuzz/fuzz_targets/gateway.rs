#![no_main]
//! What the gateway reads from outside: its TOML config, request paths for
//! every protocol, OpenAI request bodies, key stores, upstream answers fed
//! to the token counter in arbitrary chunks, JWTs and JWKS documents, and
//! request bodies read by the guards, answers read by the output guards
//! (whole, and as event streams in arbitrary chunks). None may panic; the
//! token counter keeps bounded memory and never counts more than the bytes
//! it saw; guard hits always lie inside the text they name.
use libfuzzer_sys::fuzz_target;
use mlsec_gateway::protocol::Protocol;
use mlsec_guard::output::*;
use std::sync::{Arc, LazyLock};

// The gateway builds its guards and reads its keys once, at start-up; built
// per input they took about 0.4 s each under ASan and left the fuzzer at a
// dozen inputs a second.
static JWKS: LazyLock<mlsec_gateway::jwt::Jwks> = LazyLock::new(|| {
    mlsec_gateway::jwt::Jwks::parse(include_bytes!("../../crates/mlsec-gateway/tests/fixtures/jwt/jwks.json")).expect("fixture JWKS")
});
static PII_GUARD: LazyLock<mlsec_guard::PiiGuard> =
    LazyLock::new(|| mlsec_guard::PiiGuard::new(&["secrets".into(), "EMAIL".into()], 0.0).expect("guard"));
static OUTPUT_GUARDS: LazyLock<Vec<(String, Arc<dyn OutputGuard>)>> = LazyLock::new(|| {
    let pii = PiiOutput::new(&["secrets".into(), "EMAIL".into()], 0.0, OutputAction::Redact, &Default::default()).expect("guard");
    vec![
        ("pii".into(), Arc::new(pii)),
        ("links".into(), Arc::new(LinkOutput::new(&["example.com".into()], OutputAction::Mask))),
        ("invisible".into(), Arc::new(InvisibleOutput::new(OutputAction::Redact))),
        ("canary".into(), Arc::new(CanaryOutput::new(OutputAction::Flag))),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 8 {
        0 => {
            let _ = mlsec_gateway::Config::parse(&text, std::path::Path::new("/nonexistent"), std::path::Path::new("gateway.toml"));
        }
        1 => {
            for protocol in [Protocol::Openai, Protocol::KserveV2, Protocol::KserveV1, Protocol::Json] {
                for method in [http::Method::GET, http::Method::POST, http::Method::DELETE] {
                    if let Some(call) = protocol.classify(&method, &text) {
                        if let Some(model) = call.path_model {
                            assert!(!model.is_empty() && text.contains(model.as_str()));
                        }
                    }
                }
            }
        }
        2 => {
            if let Ok((model, _)) = mlsec_gateway::server::body_model(rest) {
                assert!(!model.is_empty());
            }
        }
        3 => {
            if let Ok(file) = serde_json::from_slice::<mlsec_gateway::keys::KeyFile>(rest) {
                if let Ok(store) = mlsec_gateway::keys::KeyStore::from_file(&file) {
                    let _ = store.check("mlsec_000000000000_x", std::time::SystemTime::now());
                    let _ = store.check(&text, std::time::SystemTime::now());
                }
            }
        }
        5 => {
            let _ = mlsec_gateway::jwt::Jwks::parse(rest);
            let rules = mlsec_gateway::jwt::Rules {
                issuer: "https://idp.example.test/".into(),
                audience: vec!["mlsec-gateway".into()],
                leeway: std::time::Duration::from_secs(60),
                algorithms: mlsec_gateway::jwt::Algorithm::ALL.to_vec(),
            };
            let _ = mlsec_gateway::jwt::verify(&text, &JWKS, &rules, 1_800_000_000);
        }
        6 => {
            let json = serde_json::from_slice::<serde_json::Value>(rest).ok();
            let texts = match &json {
                Some(json) => mlsec_guard::texts(json),
                None => vec![mlsec_guard::Text { location: "body".into(), text: text.to_string() }],
            };
            let request = mlsec_guard::Request::new(json.as_ref(), &texts);
            if let Some(inputs) = request.inputs() {
                assert!(inputs.rows.iter().map(Vec::len).sum::<usize>() <= 2 * mlsec_guard::tensor::MAX_VALUES);
            }
            assert!(texts.len() <= mlsec_guard::MAX_TEXTS);
            use mlsec_guard::Guard;
            let mut hits = Vec::new();
            PII_GUARD.check(&request, &mut hits);
            for h in hits {
                let t = texts.iter().find(|t| t.location == h.location).expect("a hit names its text");
                assert!(h.start <= h.end && t.text.get(h.start..h.end).is_some());
            }
        }
        7 => {
            let chain = Arc::new(OutputChain {
                guards: OUTPUT_GUARDS.clone(),
                window: 16 + rest.first().map_or(0, |b| usize::from(*b)),
            });
            let canary: Option<Arc<str>> = Some(Arc::from("c4n4ry"));
            let done = mlsec_guard::answer::filter_body(&chain, canary.clone(), rest);
            for h in &done.hits {
                assert!(h.hit.start <= h.hit.end);
            }
            let mut stream = mlsec_guard::answer::SseFilter::new(chain.clone(), canary.clone());
            let mut filter = AnswerFilter::new(chain, canary, "text".into());
            let mut chunk = 1 + rest.first().map_or(0, |b| usize::from(*b) % 64);
            let mut at = 0;
            while at < rest.len() {
                let end = (at + chunk).min(rest.len());
                if stream.feed(&rest[at..end]).is_err() {
                    break;
                }
                at = end;
                chunk = chunk * 7 % 61 + 1;
            }
            let _ = stream.finish();
            let mut pushed = 0;
            for piece in text.split_inclusive(|c: char| c == ' ' || c == '@') {
                pushed += piece.len();
                if filter.push(piece).is_err() {
                    break;
                }
            }
            let _ = filter.finish();
            for h in &filter.hits {
                assert!(h.hit.start <= h.hit.end && h.hit.end <= pushed, "{h:?}");
            }
        }
        _ => {
            let sse = rest.first().is_some_and(|b| b & 1 == 1);
            let mut scanner = mlsec_gateway::usage::UsageScanner::new(sse, true);
            let mut chunk = 1 + rest.first().map_or(0, |b| usize::from(*b) % 64);
            let mut at = 0;
            while at < rest.len() {
                let end = (at + chunk).min(rest.len());
                scanner.feed(&rest[at..end]);
                at = end;
                chunk = chunk * 7 % 61 + 1;
            }
            assert_eq!(scanner.bytes, rest.len() as u64);
            let t = scanner.finish(rest.len() as u64);
            if t.estimated {
                assert!(t.total <= Some(rest.len() as u64 * 2 + 2));
            }
        }
    }
});
