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
    pub controls: Vec<Control>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Control {
    pub id: String,
    pub title: String,
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
}
