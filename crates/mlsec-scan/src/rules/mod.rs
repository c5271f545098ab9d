//! Detection rules, one module per format family.
//!
//! Each rule is a [`mlsec_core::Rule`] declared with `declare_rule!`: its doc
//! comment (what it detects, why it matters, an example, how to fix it) is the
//! text users see in `mlsec rules ID` and in SARIF.

pub mod archive;
pub mod config_json;
pub mod general;
pub mod gguf;
pub mod keras;
pub mod numpy;
pub mod onnx;
pub mod pickle;
pub mod safetensors;
pub mod savedmodel;
pub mod template;
pub mod torch;

use mlsec_core::Rule;

/// Every rule mlsec scan can report, sorted by id.
pub fn all() -> Vec<Rule> {
    let mut rules: Vec<Rule> = [
        general::RULES,
        pickle::RULES,
        archive::RULES,
        torch::RULES,
        numpy::RULES,
        safetensors::RULES,
        gguf::RULES,
        onnx::RULES,
        savedmodel::RULES,
        keras::RULES,
        config_json::RULES,
        template::RULES,
    ]
    .concat();
    rules.sort_by_key(|r| r.id);
    rules
}

/// The rule with this id (case-insensitive).
pub fn find(id: &str) -> Option<Rule> {
    all().into_iter().find(|r| r.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_documented() {
        let rules = all();
        let mut ids: Vec<_> = rules.iter().map(|r| r.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
        for r in &rules {
            assert_eq!(r.missing_doc_sections(), Vec::<&str>::new(), "{}", r.id);
            assert!(!r.summary.is_empty(), "{} has no summary", r.id);
        }
    }
}
