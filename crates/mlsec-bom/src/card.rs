//! What a Hugging Face style model folder says about itself: the YAML front
//! matter of README.md (the model card) and config.json.

use serde_json::Value;
use std::path::Path;

/// Front matter larger than this is refused: real cards are a few KiB, and the
/// YAML parser must not be handed an unbounded document.
pub const MAX_FRONT_MATTER: usize = 256 * 1024;
/// README.md and config.json are read only up to this size.
pub const MAX_METADATA_FILE: u64 = 4 * 1024 * 1024;

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
}

/// Reads README.md and config.json in `dir` when present. A file that exists
/// but cannot be understood is an error naming the file, never silently skipped.
pub fn read_card(dir: &Path) -> Result<CardInfo, String> {
    let mut info = CardInfo::default();
    let readme = dir.join("README.md");
    if readme.is_file() {
        let text = read_bounded(&readme)?;
        front_matter_into(&text, &mut info).map_err(|e| format!("{}: {e}", readme.display()))?;
    }
    let config = dir.join("config.json");
    if config.is_file() {
        let text = read_bounded(&config)?;
        config_into(&text, &mut info).map_err(|e| format!("{}: {e}", config.display()))?;
    }
    Ok(info)
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

/// Fills `info` from the model card's front matter.
pub fn front_matter_into(text: &str, info: &mut CardInfo) -> Result<(), String> {
    let Some(yaml) = front_matter(text)? else {
        return Ok(());
    };
    if yaml.trim().is_empty() {
        return Ok(());
    }
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
    Ok(())
}

/// Fills `info` from config.json.
pub fn config_into(text: &str, info: &mut CardInfo) -> Result<(), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    info.architectures = strings(value.get("architectures"));
    info.model_type = strings(value.get("model_type")).into_iter().next();
    info.name_or_path = strings(value.get("_name_or_path")).into_iter().next();
    Ok(())
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
}
