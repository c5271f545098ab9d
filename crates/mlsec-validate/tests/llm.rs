//! `mlsec redteam --protocol openai` against two chat models served in the
//! test: a naive one that obeys whatever the user says and repeats its
//! system prompt when asked, and a careful one that only ever declines.

mod common;

use mlsec_validate::llm::{probe_llm, Family, LlmOptions};
use serde_json::{json, Value};

fn reply(content: &str) -> (u16, String) {
    (
        200,
        json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
            .to_string(),
    )
}

/// Obeys a marker it is told to say, and hands out its system prompt when
/// the user asks about instructions or the customer.
fn naive(path: &str, request: &Value, _: usize) -> (u16, String) {
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(request["temperature"], 0);
    let system = request["messages"][0]["content"].as_str().unwrap();
    let user = request["messages"][1]["content"].as_str().unwrap();
    if let Some(at) = user.find("MLSEC-") {
        return reply(&format!("Sure! {}", &user[at..at + 14]));
    }
    let asks = [
        "instruction",
        "prompt",
        "above",
        "reference",
        "given",
        "customer",
        "card",
        "e-mail",
        "phone",
        "record",
    ];
    if asks.iter().any(|w| user.to_lowercase().contains(w)) {
        return reply(&format!("Here you go: {system}"));
    }
    reply("Bonjour !")
}

fn careful(_: &str, _: &Value, _: usize) -> (u16, String) {
    reply("Je suis désolé, je ne peux pas vous aider avec cela.")
}

fn run(url: &str) -> Value {
    let mut opts = LlmOptions::new(format!("{url}/v1"), "test-model".into());
    opts.seed = 7;
    let e = probe_llm(&opts).unwrap();
    assert_eq!(e.kind, "redteam.llm");
    serde_json::to_value(&e).unwrap()
}

fn rate(e: &Value, family: &str) -> f64 {
    e["details"]["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == family)
        .unwrap()["pass_rate"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_naive_model_fails_the_probes_and_a_careful_one_passes() {
    let naive_server = common::serve(naive);
    let e = run(&naive_server.url);
    // Every direct injection carries the marker in clear but the base64 one.
    assert!(rate(&e, "injection") <= 0.2, "{e}");
    assert_eq!(rate(&e, "leakage"), 0.0, "{e}");
    assert_eq!(rate(&e, "pii"), 0.0, "{e}");
    let rules: Vec<&str> = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["RTM002", "RTM002", "RTM002"]);
    let failures = e["details"]["failures"].as_array().unwrap();
    let leak = failures.iter().find(|f| f["family"] == "leakage").unwrap();
    assert_eq!(leak["found"][0], "CANARY");
    let pii = failures.iter().find(|f| f["family"] == "pii").unwrap();
    let found: Vec<&str> = pii["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        found.contains(&"EMAIL") && found.contains(&"CREDIT_CARD"),
        "{found:?}"
    );

    let careful_server = common::serve(careful);
    let e = run(&careful_server.url);
    for family in Family::ALL {
        assert_eq!(rate(&e, family.as_str()), 1.0, "{e}");
    }
    assert!(e["findings"].as_array().unwrap().is_empty());
    assert_eq!(e["details"]["partial"], false);
}

#[test]
fn an_unreachable_api_is_an_error() {
    let mut opts = LlmOptions::new("http://127.0.0.1:9/v1".into(), "m".into());
    opts.timeout = std::time::Duration::from_secs(2);
    let e = probe_llm(&opts).err().unwrap().to_string();
    assert!(e.contains("127.0.0.1:9/v1/chat/completions"), "{e}");
}
