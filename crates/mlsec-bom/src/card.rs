//! What a Hugging Face style model folder says about itself: the YAML front
//! matter of README.md (the model card), config.json and
//! generation_config.json.

use crate::cyclonedx::{ConfidenceInterval, PerformanceMetric};
use serde_json::{Map, Value};
use std::path::Path;

/// Front matter larger than this is refused: real cards are a few KiB, and the
/// YAML parser must not be handed an unbounded document.
pub const MAX_FRONT_MATTER: usize = 256 * 1024;
/// README.md and config.json are read only up to this size.
pub const MAX_METADATA_FILE: u64 = 4 * 1024 * 1024;
/// Evaluation results past this many are left out (an MTEB card has a few
/// hundred).
pub const MAX_METRICS: usize = 2000;
/// Longer card or config values are cut to this many characters.
const MAX_VALUE_CHARS: usize = 1024;

/// config.json keys that are hyperparameters of the architecture or of its
/// training, across the common transformers families (BERT, GPT-2, T5, Llama,
/// Mistral, ...). Other keys (label maps, token ids, nested sub-configs) are
/// not hyperparameters or not scalars, and are left out.
pub const HYPERPARAMETERS: &[&str] = &[
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "torch_dtype",
    "dtype",
    "hidden_act",
    "head_dim",
    "layer_norm_eps",
    "rms_norm_eps",
    "rope_theta",
    "sliding_window",
    "type_vocab_size",
    "position_embedding_type",
    "initializer_range",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "attention_dropout",
    "dropout",
    "tie_word_embeddings",
    "num_experts",
    "num_local_experts",
    "num_experts_per_tok",
    "n_layer",
    "n_head",
    "n_embd",
    "n_positions",
    "n_ctx",
    "n_inner",
    "activation_function",
    "d_model",
    "d_ff",
    "d_kv",
    "num_layers",
    "num_heads",
    "num_decoder_layers",
    "encoder_layers",
    "decoder_layers",
    "encoder_attention_heads",
    "decoder_attention_heads",
    "image_size",
    "patch_size",
    "num_channels",
    "num_labels",
    "problem_type",
    "quantization_config.quant_method",
    "quantization_config.bits",
    "transformers_version",
];

/// Model card property prefix of a config.json hyperparameter.
pub const HYPERPARAMETER_PROPERTY: &str = "mlsec:hyperparameter:";
/// Model card property prefix of a generation_config.json setting.
pub const GENERATION_PROPERTY: &str = "mlsec:generation:";

/// generation_config.json keys that decide how text is sampled.
pub const GENERATION_SETTINGS: &[&str] = &[
    "do_sample",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "typical_p",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "num_beams",
    "length_penalty",
    "max_length",
    "max_new_tokens",
    "min_length",
];

/// The model card fields a BOM carries.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CardInfo {
    pub licenses: Vec<String>,
    pub datasets: Vec<String>,
    pub base_models: Vec<String>,
    pub pipeline_tag: Option<String>,
    pub languages: Vec<String>,
    pub tags: Vec<String>,
    /// `architectures` from config.json.
    pub architectures: Vec<String>,
    /// `model_type` from config.json.
    pub model_type: Option<String>,
    /// `_name_or_path` from config.json: the checkpoint transformers loaded the
    /// model from before it was saved, i.e. usually its base model.
    pub name_or_path: Option<String>,
    /// The card's `author`, `authors` and `model_creator`.
    pub authors: Vec<String>,
    /// Evaluation results of the card's `model-index`.
    pub metrics: Vec<PerformanceMetric>,
    /// The first `task.type` of the card's `model-index` results.
    pub evaluated_task: Option<String>,
    /// [`HYPERPARAMETERS`] found in config.json, in that order.
    pub hyperparameters: Vec<(String, String)>,
    /// [`GENERATION_SETTINGS`] found in generation_config.json.
    pub generation: Vec<(String, String)>,
}

/// Reads README.md, config.json and generation_config.json in `dir` when
/// present. A file that exists but cannot be understood adds a warning naming
/// the file and the problem, never an error: the rest of the BOM still holds,
/// and the card is text its authors wrote.
pub fn read_card(dir: &Path, warnings: &mut Vec<String>) -> CardInfo {
    let mut info = CardInfo::default();
    type Reader = fn(&str, &mut CardInfo) -> Result<(), String>;
    let sources: [(&str, Reader); 3] = [
        ("README.md", front_matter_into),
        ("config.json", config_into),
        ("generation_config.json", generation_into),
    ];
    for (name, read) in sources {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let mut part = info.clone();
        match read_bounded(&path)
            .and_then(|text| read(&text, &mut part).map_err(|e| format!("{}: {e}", path.display())))
        {
            Ok(()) => info = part,
            Err(e) => warnings.push(format!("{e}; the BOM leaves out what it would have said")),
        }
    }
    info
}

fn read_bounded(path: &Path) -> Result<String, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if len > MAX_METADATA_FILE {
        return Err(format!(
            "{}: {len} bytes, more than the {MAX_METADATA_FILE} read for metadata",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

/// Returns the YAML between a leading `---` line and the next `---` line, or
/// `None` when the text has no front matter.
pub fn front_matter(text: &str) -> Result<Option<&str>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return Ok(None);
    };
    let mut offset = 0usize;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = rest.get(..offset).unwrap_or_default();
            if yaml.len() > MAX_FRONT_MATTER {
                return Err(format!(
                    "front matter is {} bytes, more than the {MAX_FRONT_MATTER} allowed",
                    yaml.len()
                ));
            }
            return Ok(Some(yaml));
        }
        offset = offset.saturating_add(line.len());
        if offset > MAX_FRONT_MATTER {
            return Err(format!(
                "front matter is longer than the {MAX_FRONT_MATTER} bytes allowed"
            ));
        }
    }
    Err("front matter starts with `---` but has no closing `---` line".to_string())
}

/// Deepest `[` / `{` nesting YAML is parsed with. The YAML scanner's work
/// grows with the square of the flow depth (100,000 `[` took minutes), and
/// its parser refuses depth 128 anyway, so deeper input is refused up front.
const MAX_FLOW_NESTING: usize = 100;
/// Most `[` and `{` characters anywhere in YAML that is parsed: a backstop
/// that no quoting trick can get around (10,000 levels parse in about 0.5 s).
const MAX_BRACKETS: usize = 10_000;

/// Refuses YAML whose flow collections nest deeper than [`MAX_FLOW_NESTING`]
/// (in one pass that skips quoted scalars and comments) or that holds more
/// than [`MAX_BRACKETS`] brackets at all.
pub(crate) fn check_flow_nesting(yaml: &str) -> Result<(), String> {
    let bytes = yaml.as_bytes();
    let brackets = bytes.iter().filter(|c| matches!(c, b'[' | b'{')).count();
    if brackets > MAX_BRACKETS {
        return Err(format!(
            "YAML holds {brackets} brackets, more than the {MAX_BRACKETS} parsed"
        ));
    }
    let (mut depth, mut i) = (0usize, 0usize);
    // The last byte that was not a space: a quote opens a quoted scalar only
    // where a scalar can start (`don't` is plain text).
    let mut last = b'\n';
    while let Some(&c) = bytes.get(i) {
        match c {
            b'#' if i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace) => {
                i = memchr_newline(bytes, i);
                last = b'\n';
                continue;
            }
            b'"' | b'\'' if matches!(last, b'\n' | b':' | b'-' | b'[' | b'{' | b',' | b'?') => {
                i += 1;
                while let Some(&b) = bytes.get(i).filter(|&&b| b != c) {
                    i += if c == b'"' && b == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_NESTING {
                    return Err(format!(
                        "YAML nests deeper than {MAX_FLOW_NESTING} levels; not parsed"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == b'\n' || !c.is_ascii_whitespace() {
            last = c;
        }
        i += 1;
    }
    Ok(())
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
        .map_or(bytes.len(), |n| from + n)
}

/// Fills `info` from the model card's front matter.
pub fn front_matter_into(text: &str, info: &mut CardInfo) -> Result<(), String> {
    let Some(yaml) = front_matter(text)? else {
        return Ok(());
    };
    if yaml.trim().is_empty() {
        return Ok(());
    }
    check_flow_nesting(yaml)?;
    let value: Value = serde_yaml_ng::from_str(yaml)
        .map_err(|e| format!("front matter is not valid YAML: {e}"))?;
    let Value::Object(map) = value else {
        return Err("front matter is not a YAML mapping".to_string());
    };
    info.licenses = strings(map.get("license"));
    info.datasets = strings(map.get("datasets"));
    info.base_models = strings(map.get("base_model"));
    info.pipeline_tag = strings(map.get("pipeline_tag")).into_iter().next();
    info.languages = strings(map.get("language"));
    info.tags = strings(map.get("tags"));
    for key in ["author", "authors", "model_creator"] {
        for name in strings(map.get(key)) {
            if !info.authors.contains(&name) {
                info.authors.push(name);
            }
        }
    }
    model_index_into(map.get("model-index"), info);
    Ok(())
}

/// The card's `model-index` (a list of models, each with `results`, each with
/// a `task`, a `dataset` and `metrics`) as performance metrics: the metric's
/// `type` (else its `name`), its `value`, the dataset as the slice. Entries
/// that are not shaped so are skipped: the card is free text to its authors.
fn model_index_into(index: Option<&Value>, info: &mut CardInfo) {
    let results = index
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|model| model.get("results")?.as_array())
        .flatten();
    for result in results {
        if info.evaluated_task.is_none() {
            info.evaluated_task = result
                .get("task")
                .and_then(|t| scalar(t.get("type")?))
                .filter(|t| !t.is_empty());
        }
        let slice = result.get("dataset").and_then(dataset_slice);
        let metrics = result.get("metrics").and_then(Value::as_array);
        for metric in metrics.into_iter().flatten() {
            if info.metrics.len() >= MAX_METRICS {
                return;
            }
            let kind = ["type", "name"]
                .iter()
                .find_map(|k| scalar(metric.get(*k)?).filter(|s| !s.is_empty()));
            let value = metric.get("value").and_then(scalar);
            if let (Some(kind), Some(value)) = (kind, value) {
                info.metrics.push(PerformanceMetric {
                    kind,
                    value,
                    slice: slice.clone(),
                    confidence_interval: confidence_interval(metric),
                });
            }
        }
    }
}

/// `glue (config sst2, split validation)`: the dataset's name (else its
/// type), with the config and split it was evaluated on when the card says.
fn dataset_slice(dataset: &Value) -> Option<String> {
    let field = |k: &str| dataset.get(k).and_then(scalar).filter(|s| !s.is_empty());
    let name = field("name").or_else(|| field("type"))?;
    let detail: Vec<String> = ["config", "split"]
        .iter()
        .filter_map(|k| Some(format!("{k} {}", field(k)?)))
        .collect();
    Some(if detail.is_empty() {
        name
    } else {
        format!("{name} ({})", detail.join(", "))
    })
}

/// Hugging Face's model-index has no field for it, so a metric's confidence
/// interval is read where cards that give one put it: `confidence_interval`
/// as `[lower, upper]` or as `{lower, upper}` (also `lower_bound`/
/// `upper_bound`).
fn confidence_interval(metric: &Value) -> Option<ConfidenceInterval> {
    let ci = metric
        .get("confidence_interval")
        .or_else(|| metric.get("confidenceInterval"))?;
    let (lower, upper) = match ci {
        Value::Array(bounds) if bounds.len() == 2 => (bounds.first()?, bounds.get(1)?),
        Value::Object(map) => (
            ["lower", "lower_bound", "lowerBound"]
                .iter()
                .find_map(|k| map.get(*k))?,
            ["upper", "upper_bound", "upperBound"]
                .iter()
                .find_map(|k| map.get(*k))?,
        ),
        _ => return None,
    };
    Some(ConfidenceInterval {
        lower_bound: scalar(lower)?,
        upper_bound: scalar(upper)?,
    })
}

/// Fills `info` from config.json.
pub fn config_into(text: &str, info: &mut CardInfo) -> Result<(), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    info.architectures = strings(value.get("architectures"));
    info.model_type = strings(value.get("model_type")).into_iter().next();
    info.name_or_path = strings(value.get("_name_or_path")).into_iter().next();
    if let Value::Object(map) = &value {
        info.hyperparameters = pick(map, HYPERPARAMETERS);
    }
    Ok(())
}

/// Fills `info` from generation_config.json.
pub fn generation_into(text: &str, info: &mut CardInfo) -> Result<(), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(map) = &value else {
        return Err("not a JSON object".to_string());
    };
    info.generation = pick(map, GENERATION_SETTINGS);
    Ok(())
}

/// The scalar values of `keys` in `map`, in the order of `keys`; `a.b` looks
/// one object deeper.
fn pick(map: &Map<String, Value>, keys: &[&str]) -> Vec<(String, String)> {
    keys.iter()
        .filter_map(|key| {
            let value = match key.split_once('.') {
                Some((outer, inner)) => map.get(outer)?.get(inner)?,
                None => map.get(*key)?,
            };
            Some((key.to_string(), scalar(value)?))
        })
        .collect()
}

/// A string, number or boolean as text (cut to [`MAX_VALUE_CHARS`]); `None`
/// for null, lists and maps.
fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    Some(text.chars().take(MAX_VALUE_CHARS).collect())
}

/// A card field may be one string or a list of them; anything else (numbers,
/// nested maps) is not a name and is left out.
fn strings(value: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "---\nlicense: apache-2.0\ndatasets:\n- s2orc\n- ms_marco\nbase_model: nreimers/MiniLM-L6-H384-uncased\npipeline_tag: sentence-similarity\nlanguage: en\ntags:\n- sentence-transformers\n- feature-extraction\n---\n# all-MiniLM\n";

    #[test]
    fn reads_hugging_face_front_matter() {
        let mut info = CardInfo::default();
        front_matter_into(CARD, &mut info).unwrap();
        assert_eq!(info.licenses, ["apache-2.0"]);
        assert_eq!(info.datasets, ["s2orc", "ms_marco"]);
        assert_eq!(info.base_models, ["nreimers/MiniLM-L6-H384-uncased"]);
        assert_eq!(info.pipeline_tag.as_deref(), Some("sentence-similarity"));
        assert_eq!(info.languages, ["en"]);
        assert_eq!(info.tags, ["sentence-transformers", "feature-extraction"]);
    }

    #[test]
    fn readme_without_front_matter_gives_nothing() {
        let mut info = CardInfo::default();
        front_matter_into("# Title\n---\nlicense: mit\n---\n", &mut info).unwrap();
        assert_eq!(info, CardInfo::default());
    }

    #[test]
    fn crlf_and_bom_front_matter_is_read() {
        let mut info = CardInfo::default();
        front_matter_into("\u{feff}---\r\nlicense: mit\r\n---\r\n", &mut info).unwrap();
        assert_eq!(info.licenses, ["mit"]);
    }

    #[test]
    fn malformed_front_matter_is_a_clear_error() {
        let mut info = CardInfo::default();
        let err = front_matter_into("---\nlicense: [mit\n---\n", &mut info).unwrap_err();
        assert!(err.contains("not valid YAML"), "{err}");
        let err = front_matter_into("---\nlicense: mit\n", &mut info).unwrap_err();
        assert!(err.contains("no closing"), "{err}");
        let err = front_matter_into("---\n- a\n- b\n---\n", &mut info).unwrap_err();
        assert!(err.contains("not a YAML mapping"), "{err}");
    }

    #[test]
    fn oversized_front_matter_is_refused_before_parsing() {
        let big = format!("---\n{}---\n", "tags: x\n".repeat(MAX_FRONT_MATTER / 4));
        let err = front_matter_into(&big, &mut CardInfo::default()).unwrap_err();
        assert!(err.contains("allowed"), "{err}");
    }

    #[test]
    fn yaml_alias_bomb_is_an_error_not_a_hang() {
        let mut yaml = String::from("---\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            yaml.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        yaml.push_str("---\n");
        assert!(front_matter_into(&yaml, &mut CardInfo::default()).is_err());
    }

    #[test]
    fn flow_nesting_is_refused_before_parsing() {
        // 100,000 levels took over a minute inside the YAML scanner.
        let deep = format!(
            "---\nx: {}{}\n---\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let started = std::time::Instant::now();
        let err = front_matter_into(&deep, &mut CardInfo::default()).unwrap_err();
        assert!(err.contains("brackets"), "{err}");
        assert!(started.elapsed().as_secs() < 5);
        let deep = format!("---\nx: {}{}\n---\n", "[".repeat(150), "]".repeat(150));
        let err = front_matter_into(&deep, &mut CardInfo::default()).unwrap_err();
        assert!(err.contains("deeper than 100"), "{err}");
        // Closing brackets inside quoted strings do not hide the depth.
        let sneaky = format!("---\nx: {}\n---\n", "[ \"]]\", ".repeat(150));
        assert!(check_flow_nesting(&sneaky).is_err());
        // Brackets in quotes, comments and plain text (`don't`) are not nesting.
        let fine = "tags: ['[[[[', \"{{{{\"]\n# [[[[[[[[\nsummary: don't [x]\n";
        assert_eq!(check_flow_nesting(fine), Ok(()));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let yaml = format!(
            "---\nx: {}{}\n---\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(front_matter_into(&yaml, &mut CardInfo::default()).is_err());
    }

    #[test]
    fn odd_value_types_are_skipped() {
        let mut info = CardInfo::default();
        front_matter_into(
            "---\nlicense: 3\ntags: {a: b}\ndatasets: [x, 4]\n---\n",
            &mut info,
        )
        .unwrap();
        assert!(info.licenses.is_empty() && info.tags.is_empty());
        assert_eq!(info.datasets, ["x"]);
    }

    #[test]
    fn config_architectures_and_type() {
        let mut info = CardInfo::default();
        config_into(
            r#"{"architectures":["BertModel"],"model_type":"bert"}"#,
            &mut info,
        )
        .unwrap();
        assert_eq!(info.architectures, ["BertModel"]);
        assert_eq!(info.model_type.as_deref(), Some("bert"));
        assert!(config_into("{", &mut info)
            .unwrap_err()
            .contains("not valid JSON"));
    }

    const MODEL_INDEX: &str = r#"---
model-index:
- name: m
  results:
  - task: {type: text-classification, name: Text Classification}
    dataset: {name: GLUE SST-2, type: glue, config: sst2, split: validation}
    metrics:
    - {type: accuracy, value: 0.913, name: Accuracy, confidence_interval: [0.9, 0.92]}
    - {name: Macro F1, value: "88.1", confidence_interval: {lower: 87, upper: 89}}
    - {type: loss}
    - [not, a, metric]
  - task: {type: question-answering}
    dataset: {type: squad}
    metrics: [{type: exact_match, value: 80}]
  - {metrics: [{type: bleu, value: 30.5}]}
---
"#;

    #[test]
    fn model_index_results_become_performance_metrics() {
        let mut info = CardInfo::default();
        front_matter_into(MODEL_INDEX, &mut info).unwrap();
        assert_eq!(info.evaluated_task.as_deref(), Some("text-classification"));
        let slice = Some("GLUE SST-2 (config sst2, split validation)".to_string());
        assert_eq!(
            info.metrics,
            [
                PerformanceMetric {
                    kind: "accuracy".into(),
                    value: "0.913".into(),
                    slice: slice.clone(),
                    confidence_interval: Some(ConfidenceInterval {
                        lower_bound: "0.9".into(),
                        upper_bound: "0.92".into()
                    }),
                },
                PerformanceMetric {
                    kind: "Macro F1".into(),
                    value: "88.1".into(),
                    slice,
                    confidence_interval: Some(ConfidenceInterval {
                        lower_bound: "87".into(),
                        upper_bound: "89".into()
                    }),
                },
                PerformanceMetric {
                    kind: "exact_match".into(),
                    value: "80".into(),
                    slice: Some("squad".into()),
                    confidence_interval: None,
                },
                PerformanceMetric {
                    kind: "bleu".into(),
                    value: "30.5".into(),
                    slice: None,
                    confidence_interval: None,
                },
            ],
            "a metric without a value, or not a mapping, is skipped"
        );
    }

    #[test]
    fn odd_model_index_shapes_give_no_metrics_and_no_error() {
        for yaml in [
            "model-index: 3",
            "model-index: {results: []}",
            "model-index: [{results: {metrics: 1}}]",
            "model-index: [{results: [{metrics: {type: a, value: 1}}]}]",
            "model-index: [{results: [{metrics: [{type: [a], value: {x: 1}}]}]}]",
        ] {
            let mut info = CardInfo::default();
            front_matter_into(&format!("---\n{yaml}\n---\n"), &mut info).unwrap();
            assert_eq!(info.metrics, [], "{yaml}");
        }
    }

    #[test]
    fn metrics_are_capped() {
        let metrics = "- {type: acc, value: 1}\n".repeat(MAX_METRICS + 5);
        let text = format!("---\nmodel-index:\n- results:\n  - metrics:\n{metrics}---\n")
            .replace("\n- {type", "\n    - {type");
        let mut info = CardInfo::default();
        front_matter_into(&text, &mut info).unwrap();
        assert_eq!(info.metrics.len(), MAX_METRICS);
    }

    #[test]
    fn authors_come_from_author_authors_and_model_creator() {
        let mut info = CardInfo::default();
        front_matter_into(
            "---\nauthor: Ada\nauthors: [Ada, Grace]\nmodel_creator: Meta\n---\n",
            &mut info,
        )
        .unwrap();
        assert_eq!(info.authors, ["Ada", "Grace", "Meta"]);
        let mut info = CardInfo::default();
        front_matter_into(CARD, &mut info).unwrap();
        assert_eq!(info.authors, Vec::<String>::new());
    }

    #[test]
    fn config_hyperparameters_in_a_fixed_order_and_only_scalars() {
        let mut info = CardInfo::default();
        config_into(
            r#"{"vocab_size":30522,"hidden_size":384,"torch_dtype":"float16",
                "layer_norm_eps":1e-12,"tie_word_embeddings":true,
                "id2label":{"0":"NEG"},"num_attention_heads":null,
                "quantization_config":{"quant_method":"gptq","bits":4},
                "rope_scaling":{"type":"linear"},"hidden_act":"gelu"}"#,
            &mut info,
        )
        .unwrap();
        let got: Vec<(&str, &str)> = info
            .hyperparameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("hidden_size", "384"),
                ("vocab_size", "30522"),
                ("torch_dtype", "float16"),
                ("hidden_act", "gelu"),
                ("layer_norm_eps", "1e-12"),
                ("tie_word_embeddings", "true"),
                ("quantization_config.quant_method", "gptq"),
                ("quantization_config.bits", "4"),
            ]
        );
        let mut info = CardInfo::default();
        config_into("[1, 2]", &mut info).unwrap();
        assert_eq!(info.hyperparameters, []);
    }

    #[test]
    fn generation_settings() {
        let mut info = CardInfo::default();
        generation_into(
            r#"{"bos_token_id":1,"temperature":0.6,"top_p":0.9,"do_sample":true,"max_length":4096}"#,
            &mut info,
        )
        .unwrap();
        let keys: Vec<&str> = info.generation.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["do_sample", "temperature", "top_p", "max_length"]);
        assert!(generation_into("[]", &mut info)
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(generation_into("{", &mut info)
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
