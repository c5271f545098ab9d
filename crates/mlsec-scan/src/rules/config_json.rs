//! JSON configs that carry code-like content: Hugging Face tokenizer configs
//! (`tokenizer_config.json`, `chat_template.json`) with Jinja chat templates,
//! and Keras model configs (handed to the Keras rules).
//!
//! JSON has no magic number, so this is a probe: it claims a file only when
//! it found something to judge, and otherwise leaves it unrecognised.

use crate::rules::keras;
use crate::rules::template::{self, TemplateSite};
use crate::{Ctx, Report};
use mlsec_core::Rule;
use serde_json::{Map, Value};

/// The checks live with the template and Keras rules this probe calls.
pub const RULES: &[Rule] = &[];

/// Judges `data` if it is a JSON object with a chat template or a Keras model
/// config; returns whether it was recognised.
pub fn probe(ctx: &Ctx, data: &[u8], report: &mut Report) -> bool {
    let first = data.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') || data.len() as u64 > ctx.limits().max_metadata_bytes {
        return false;
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    let mut recognised = false;
    if let Some(templates) = obj.get("chat_template") {
        report.recognise("tokenizer-config");
        recognised = true;
        for (key, text) in chat_templates(templates) {
            let site = TemplateSite {
                key: &key,
                offset: None,
                sandboxed: true,
            };
            template::check(ctx, &site, text, report);
        }
    }
    if looks_like_keras(&obj) {
        report.recognise("keras-config");
        recognised = true;
        keras::scan_keras_config(ctx, data, report);
    }
    recognised
}

/// `chat_template` is a string, or a list of `{"name": ..., "template": ...}`.
fn chat_templates(value: &Value) -> Vec<(String, &str)> {
    match value {
        Value::String(s) => vec![("chat_template".to_string(), s.as_str())],
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let text = item.get("template")?.as_str()?;
                let name = item.get("name").and_then(Value::as_str).unwrap_or("?");
                Some((format!("chat_template[{name}]"), text))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A Keras model config: `class_name` + `config` at the top (`model.to_json()`,
/// `config.json` of a `.keras` zip), or Keras 3 serialization keys.
fn looks_like_keras(obj: &Map<String, Value>) -> bool {
    (obj.contains_key("class_name") && obj.contains_key("config"))
        || obj.contains_key("module")
        || obj.contains_key("registered_name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanConfig;
    use mlsec_core::{Severity, Verdict};

    fn probe_json(data: &[u8]) -> (bool, Report) {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "tokenizer_config.json", None);
        let mut report = Report::default();
        let hit = probe(&ctx, data, &mut report);
        (hit, report)
    }

    fn tokenizer_config(template: &str) -> Vec<u8> {
        serde_json::to_vec_pretty(&serde_json::json!({
            "add_bos_token": true,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "model_max_length": 32768,
            "tokenizer_class": "LlamaTokenizer",
            "chat_template": template,
        }))
        .unwrap()
    }

    #[test]
    fn real_tokenizer_configs_are_clean() {
        for (name, template) in template::tests::BENIGN {
            let (hit, r) = probe_json(&tokenizer_config(template));
            assert!(hit, "{name}");
            assert!(r.findings.is_empty(), "{name}: {:?}", r.findings);
            assert_eq!(r.verdict(), Verdict::Clean);
            assert_eq!(r.format.as_deref(), Some("tokenizer-config"));
        }
    }

    #[test]
    fn hostile_template_is_flagged_high_for_the_sandboxed_renderer() {
        let (hit, r) = probe_json(&tokenizer_config(
            "{{ ().__class__.__base__.__subclasses__() }}",
        ));
        assert!(hit);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, "TPL001");
        assert_eq!(r.findings[0].severity, Severity::High);
        assert_eq!(r.verdict(), Verdict::Malicious);
    }

    #[test]
    fn the_dispatcher_probes_json_configs() {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "tokenizer_config.json", None);
        let mut report = Report::default();
        crate::scan_bytes(
            &ctx,
            &tokenizer_config("{{ lipsum.__globals__ }}"),
            &mut report,
        );
        assert_eq!(report.format.as_deref(), Some("tokenizer-config"));
        assert_eq!(report.findings[0].rule, "TPL001");
    }

    #[test]
    fn named_template_lists() {
        let json = br#"{"chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "{{ lipsum.__globals__ }}"}]}"#;
        let (hit, r) = probe_json(json);
        assert!(hit);
        assert_eq!(r.findings.len(), 1);
        assert!(r.findings[0].message.contains("chat_template[tool_use]"));
    }

    #[test]
    fn keras_configs_are_recognised() {
        let json = br#"{"class_name": "Sequential", "config": {"name": "sequential", "layers": []}, "keras_version": "2.15.0"}"#;
        let (hit, r) = probe_json(json);
        assert!(hit);
        assert_eq!(r.format.as_deref(), Some("keras-config"));
        let json = br#"{"module": "keras", "class_name": "Functional", "config": {}, "registered_name": "Functional"}"#;
        assert!(probe_json(json).0);
    }

    #[test]
    fn other_json_and_non_json_are_left_alone() {
        for data in [
            &br#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}"#[..],
            b"[1, 2, 3]",
            b"  {not json",
            b"",
            b"\x80\x04K\x01.",
        ] {
            let (hit, r) = probe_json(data);
            assert!(!hit);
            assert!(!r.recognised && r.findings.is_empty());
        }
    }

    #[test]
    fn oversized_and_deeply_nested_json_is_refused_cheaply() {
        let mut config = ScanConfig::default();
        config.limits.max_metadata_bytes = 10;
        let ctx = Ctx::new(&config, "big.json", None);
        let mut report = Report::default();
        assert!(!probe(&ctx, &tokenizer_config("{{ x }}"), &mut report));
        let deep = format!(
            "{{\"chat_template\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(!probe_json(deep.as_bytes()).0);
    }
}
