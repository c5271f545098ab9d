#![no_main]
//! What the gateway reads from outside: its TOML config, request paths for
//! every protocol, OpenAI request bodies, key stores, and upstream answers
//! fed to the token counter in arbitrary chunks. None may panic; the token
//! counter keeps bounded memory and never counts more than the bytes it saw.
use libfuzzer_sys::fuzz_target;
use mlsec_gateway::protocol::Protocol;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 5 {
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
