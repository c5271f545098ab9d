//! The output guards through the gateway: answers from the test upstream
//! that leak an e-mail address, a private key, an image link, hidden
//! characters or the system prompt, whole and streamed in small pieces.

mod common;

use common::{call, records, start, Harness};
use http::{Method, StatusCode};
use mlsec_gateway::Config;

const GUARDS: &str = r#"
[guards.pii-out]
kind = "pii"
entities = ["EMAIL", "secrets"]
action = "redact"

[guards.links]
kind = "links"
allow_domains = ["example.com"]

[guards.invisible]
kind = "invisible"

[guards.canary]
kind = "canary"

[guards.keys-block]
kind = "pii"
entities = ["EMAIL", "PRIVATE_KEY"]
action = "mask"
entity_actions = { PRIVATE_KEY = "block" }

[[route]]
name = "guarded"
protocol = "openai"
prefix = "/guarded/v1"
strip_prefix = true
upstream = "http://{upstream}/v1"
output_guards = ["pii-out", "links", "invisible", "canary"]

[[route]]
name = "strict"
protocol = "openai"
prefix = "/strict/v1"
strip_prefix = true
upstream = "http://{upstream}/v1"
output_guards = ["keys-block"]
output_window = "64B"
"#;

fn chat(model: &str, stream: bool) -> String {
    format!(
        r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"system","content":"You are the billing assistant."}},{{"role":"user","content":"hi"}}]}}"#
    )
}

/// The text a client rebuilds from a stream's deltas, and whether it ended
/// with an error event.
fn deltas(stream: &str) -> (String, Option<String>) {
    let mut text = String::new();
    let mut error = None;
    for event in stream.split("\n\n") {
        let Some(data) = event.strip_prefix("data: ") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else {
            continue;
        };
        if let Some(m) = v["error"]["message"].as_str() {
            error = Some(m.to_string());
        }
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
        }
    }
    (text, error)
}

fn assert_clean(text: &str) {
    for leaked in [
        "jane.doe",
        "MIIEvQ",
        "NMoSfm76",
        "attacker.test",
        "\u{200b}",
    ] {
        assert!(!text.contains(leaked), "{leaked:?} leaked: {text}");
    }
}

async fn post(h: &Harness, path: &str, body: &str) -> common::Answer {
    call(h.addr, Method::POST, path, Some(&h.key), Some(body)).await
}

#[tokio::test]
async fn leaks_split_across_stream_events_are_redacted() {
    let h = start(GUARDS).await;
    let a = post(&h, "/guarded/v1/chat/completions", &chat("leak-1", true)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_clean(&a.text);
    let (text, error) = deltas(&a.text);
    assert_eq!(error, None);
    assert!(text.starts_with("Sure. Write to [EMAIL] for access. The deploy key is:\n[PRIVATE_KEY]\nSee ![chart](#blocked) and this note."), "{text}");
    assert!(a.text.ends_with("data: [DONE]\n\n"), "{}", a.text);
    // The same answer whole.
    let a = post(&h, "/guarded/v1/chat/completions", &chat("leak-1", false)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_clean(&a.text);
    let content = a.body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(content, text);
    assert_eq!(a.body["usage"]["total_tokens"], 39);
    // An answer the guards cannot read is not passed on unread.
    let a = post(&h, "/guarded/v1/chat/completions", &chat("gzip-1", false)).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{}", a.text);
    assert!(a.text.contains("compressed"), "{}", a.text);
    // Unguarded routes pass answers as they are.
    let a = post(&h, "/v1/chat/completions", &chat("leak-1", false)).await;
    assert!(a.text.contains("jane.doe@example.com"));

    let r = records(&h);
    assert_eq!(r[2]["status"], 502);
    for record in &r[..2] {
        let rules: Vec<&str> = record["guards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["rule"].as_str().unwrap())
            .collect();
        assert_eq!(
            rules,
            ["EMAIL", "PRIVATE_KEY", "IMAGE_LINK", "INVISIBLE_TEXT"],
            "{record}"
        );
        assert_eq!(record["guards"][0]["stage"], "output");
        assert_eq!(record["guards"][0]["action"], "redact");
        assert_eq!(record["status"], 200);
    }
    assert_eq!(r[0]["guards"][0]["location"], "choices[0].delta.content");
    assert_eq!(r[1]["guards"][0]["location"], "choices[0].message.content");
    assert_eq!(r[0]["total_tokens"], 39, "usage still read off the stream");
    let log = serde_json::to_string(&r).unwrap();
    assert!(
        !log.contains("jane.doe") && !log.contains("MIIEvQ"),
        "{log}"
    );
    let m = h.gw.metrics.render();
    assert!(
        m.contains("guard_hits_total{guard=\"pii-out\",action=\"redact\"} 4"),
        "{m}"
    );
}

#[tokio::test]
async fn a_blocked_answer_stops_before_the_key() {
    let h = start(GUARDS).await;
    let a = post(&h, "/strict/v1/chat/completions", &chat("leak-1", true)).await;
    assert_eq!(a.status, StatusCode::OK, "the stream had begun: {}", a.text);
    let (text, error) = deltas(&a.text);
    assert_eq!(
        error.as_deref(),
        Some("answer blocked by guard `keys-block`: PRIVATE_KEY")
    );
    assert!(
        text.starts_with("Sure. Write to j***@e******.com"),
        "{text}"
    );
    assert!(
        !a.text.contains("BEGIN") && !a.text.contains("MIIEvQ"),
        "{}",
        a.text
    );
    let a = post(&h, "/strict/v1/chat/completions", &chat("leak-1", false)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(
        a.body["error"]["message"],
        "answer blocked by guard `keys-block`: PRIVATE_KEY"
    );
    assert!(!a.text.contains("MIIEvQ"));
    let r = records(&h);
    assert_eq!(r[0]["decision"], "block-output");
    assert_eq!(
        r[0]["reason"],
        "answer blocked by guard `keys-block`: PRIVATE_KEY"
    );
    assert_eq!(r[1]["decision"], "deny");
    assert_eq!(r[1]["status"], 400);
    let rules: Vec<&str> = r[1]["guards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["action"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"block"), "{rules:?}");
}

#[tokio::test]
async fn a_model_that_repeats_its_system_prompt_is_caught_by_the_canary() {
    let h = start(GUARDS).await;
    // The echo model answers with its system prompt, canary and all.
    let a = post(&h, "/guarded/v1/chat/completions", &chat("echo-1", false)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(
        a.body["error"]["message"],
        "answer blocked by guard `canary`: CANARY"
    );
    let a = post(&h, "/guarded/v1/chat/completions", &chat("echo-1", true)).await;
    let (text, error) = deltas(&a.text);
    assert_eq!(
        error.as_deref(),
        Some("answer blocked by guard `canary`: CANARY")
    );
    assert!(!text.contains("<!--"), "the canary never goes out: {text}");
    // Without a system prompt the gateway adds one; a model that does not
    // leak it answers normally.
    let a = post(
        &h,
        "/guarded/v1/chat/completions",
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["choices"][0]["message"]["content"], "Hello there.");
    let r = records(&h);
    assert_eq!(r[0]["guards"][0]["rule"], "CANARY");
    assert_eq!(r[1]["decision"], "block-output");
    assert!(r[2].get("guards").is_none());
}

#[test]
fn output_guards_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let check = |guard: &str, route: &str| {
        let text = format!("[guards.g]\n{guard}\n[[route]]\nprotocol = \"openai\"\nupstream = \"http://127.0.0.1:9\"\n{route}\n");
        let path = dir.path().join("g.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).map(|_| ()).map_err(|e| e.to_string())
    };
    let out = "output_guards = [\"g\"]";
    assert!(check("kind = \"pii\"\naction = \"mask\"", out).is_ok());
    assert!(check("kind = \"links\"\nallow_domains = [\"a.test\"]", out).is_ok());
    assert!(check("kind = \"canary\"", out).is_ok());
    assert!(check("kind = \"invisible\"\naction = \"flag\"", out).is_ok());
    for (guard, route, expected) in [
        ("kind = \"canary\"", "guards = [\"g\"]", "reads answers"),
        (
            "kind = \"pii\"\naction = \"redact\"",
            "guards = [\"g\"]",
            "rewrites answers",
        ),
        ("kind = \"prompt-injection\"", out, "reads requests"),
        ("kind = \"pii\"\naction = \"shred\"", out, "shred"),
        (
            "kind = \"pii\"\nentities = [\"EMAIL\"]\nentity_actions = { PHONE_NUMBER = \"block\" }",
            out,
            "PHONE_NUMBER",
        ),
        (
            "kind = \"pii\"\nentity_actions = { PRIVATE_KEY = \"burn\" }",
            out,
            "entity_actions.PRIVATE_KEY",
        ),
        (
            "kind = \"links\"\nentities = [\"EMAIL\"]",
            out,
            "entities is for kind",
        ),
        (
            "kind = \"invisible\"",
            "output_guards = [\"g\"]\noutput_window = \"4B\"",
            "output_window",
        ),
        (
            "kind = \"invisible\"",
            "output_guards = [\"nope\"]",
            "no [guards.nope]",
        ),
    ] {
        let e = check(guard, route).unwrap_err();
        assert!(e.contains(expected), "{guard} / {route}: {e}");
    }
    // Tensor routes have no text answers to read.
    let text = "[guards.g]\nkind = \"invisible\"\n[[route]]\nprotocol = \"kserve-v2\"\nupstream = \"http://127.0.0.1:9\"\noutput_guards = [\"g\"]\n";
    let path = dir.path().join("k.toml");
    std::fs::write(&path, text).unwrap();
    assert!(Config::load(&path)
        .unwrap_err()
        .to_string()
        .contains("OpenAI and generic JSON"));
}
