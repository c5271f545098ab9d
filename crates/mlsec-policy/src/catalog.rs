//! The frameworks and their controls, bundled (`packs/controls.json`), so
//! that the compliance matrix can show every control, the ones no check
//! covers included.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Catalog {
    pub frameworks: Vec<Framework>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Framework {
    /// The key policies use in `metadata.controls`, e.g. `owasp-ml`.
    pub id: String,
    pub name: String,
    pub version: String,
    pub url: String,
    /// Whose data the controls are and under which licence (ATLAS: MITRE's
    /// Apache-2.0 notice, which travels with the copy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// ATLAS: the matrix's tactics, in the matrix's (the attack lifecycle's)
    /// order. Empty for frameworks without tactics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<Tactic>,
    pub controls: Vec<Control>,
}

/// An ATLAS tactic: the adversary's goal, e.g. `AML.TA0004` Initial Access.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tactic {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Control {
    pub id: String,
    pub title: String,
    /// ATLAS techniques: the ids of the tactics they serve (a sub-technique
    /// has its parent's). Empty for other frameworks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<String>,
}

impl Catalog {
    /// The bundled catalog.
    pub fn bundled() -> Catalog {
        // Checked by a test; an empty catalog rather than a panic otherwise.
        serde_json::from_str(include_str!("../packs/controls.json")).unwrap_or(Catalog {
            frameworks: Vec::new(),
        })
    }

    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.id == id)
    }
}

impl Framework {
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }

    pub fn tactic(&self, id: &str) -> Option<&Tactic> {
        self.tactics.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_catalog_parses_and_ids_are_unique() {
        let c: super::Catalog =
            serde_json::from_str(include_str!("../packs/controls.json")).unwrap();
        assert!(c.frameworks.len() >= 5);
        for f in &c.frameworks {
            let mut ids: Vec<&str> = f.controls.iter().map(|c| c.id.as_str()).collect();
            ids.sort_unstable();
            let n = ids.len();
            ids.dedup();
            assert_eq!(ids.len(), n, "{}: duplicate control ids", f.id);
            assert!(n > 0, "{}: no controls", f.id);
        }
    }

    /// ATLAS keeps each technique's tactics, and every tactic named has a name.
    #[test]
    fn atlas_techniques_name_known_tactics() {
        let c = super::Catalog::bundled();
        let atlas = c.framework("mitre-atlas").unwrap();
        assert!(atlas.notice.as_deref().unwrap().contains("Apache License"));
        assert_eq!(atlas.tactics.len(), 16);
        for control in &atlas.controls {
            assert!(!control.tactics.is_empty(), "{}", control.id);
            for t in &control.tactics {
                assert!(atlas.tactic(t).is_some(), "{}: {t}", control.id);
            }
        }
        assert_eq!(
            atlas.tactic("AML.TA0004").map(|t| t.name.as_str()),
            Some("Initial Access")
        );
        let model = atlas.control("AML.T0010.003").unwrap();
        assert_eq!(model.tactics, ["AML.TA0004"]);
    }
}
