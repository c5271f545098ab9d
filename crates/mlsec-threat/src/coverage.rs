//! Which policy rules cover a threat: read from the rules' own metadata
//! (`metadata.controls`, framework id to control ids, and
//! `metadata.evidence`, the evidence kinds the rule reads).

use crate::ThreatError;
use mlsec_policy::{PolicyOptions, PolicySet, RuleOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A rule that can cover threats.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyRule {
    /// `metadata.id`, or the package when the rule has no id.
    pub id: String,
    pub title: String,
    /// The bundled pack it comes from (`baseline`, `strict`), or the file.
    pub source: String,
    /// The `mlsec check` checks that make the evidence it reads (`scan`,
    /// `sign`, `bom`, `data`, `pii`).
    pub checks: Vec<String>,
    /// The evidence kinds it reads, as its metadata names them.
    pub evidence: Vec<String>,
    #[serde(skip)]
    controls: BTreeMap<String, Vec<String>>,
}

/// How a rule's control ids meet a threat's id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// The rule names the threat's id.
    Exact,
    /// The threat is an ATLAS sub-technique and the rule names its parent
    /// technique as a whole: it does not say it answers this sub-technique.
    Parent,
    /// The threat is an ATLAS technique and the rule names only some of its
    /// sub-techniques.
    SubTechnique,
}

/// A rule that covers a threat, fully or in part.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoveringRule {
    pub rule: String,
    pub title: String,
    pub source: String,
    pub checks: Vec<String>,
    /// The closest way its ids meet the threat's.
    #[serde(rename = "match")]
    pub matches: Match,
    /// The ids the rule names that meet it.
    pub via: Vec<String>,
}

/// The rules threats are checked against.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Coverage {
    pub rules: Vec<PolicyRule>,
}

/// The check of `mlsec check` that makes an evidence kind.
pub fn check_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "scan" => "scan",
        "signature" => "sign",
        "bom" => "bom",
        "data.integrity" => "data",
        "data.pii" => "pii",
        "drift" => "drift",
        "data-issues" => "issues",
        "redteam" => "redteam",
        "privacy" => "privacy",
        "explain" => "explain",
        _ => return None,
    })
}

impl Coverage {
    /// The rules of the bundled packs (`baseline` and `strict`).
    pub fn bundled() -> Result<Coverage, ThreatError> {
        Coverage::load(&PolicyOptions {
            packs: mlsec_policy::pack_names()
                .into_iter()
                .map(String::from)
                .collect(),
            ..PolicyOptions::default()
        })
    }

    /// The rules `options` load (bundled packs, the user's policies, less
    /// `skip`). Their metadata is read by evaluating them once over an
    /// empty input, which is also where their origins are reported.
    pub fn load(options: &PolicyOptions) -> Result<Coverage, ThreatError> {
        let set = PolicySet::load(options)?;
        let decision = set.evaluate(&serde_json::json!({}))?;
        Ok(Coverage::from_outcomes(&decision.rules))
    }

    /// The rules of a decision that was made anyway (`mlsec check`'s): each
    /// outcome names the rule's origin and metadata.
    pub fn from_outcomes(outcomes: &[RuleOutcome]) -> Coverage {
        let rules = outcomes
            .iter()
            .map(|o| {
                let meta = &o.metadata;
                let source = match o.origin.split_once(':') {
                    Some((pack, _)) if mlsec_policy::pack_names().contains(&pack) => {
                        pack.to_string()
                    }
                    _ => o.origin.clone(),
                };
                let mut checks: Vec<String> = meta
                    .evidence
                    .iter()
                    .filter_map(|k| check_of(k))
                    .map(String::from)
                    .collect();
                checks.dedup();
                PolicyRule {
                    id: if meta.id.is_empty() {
                        o.package.clone()
                    } else {
                        meta.id.clone()
                    },
                    title: meta.title.clone(),
                    source,
                    checks,
                    evidence: meta.evidence.clone(),
                    controls: meta.controls.clone(),
                }
            })
            .collect();
        Coverage { rules }
    }

    /// The rules that cover `id` of `framework`, best match first, then by id.
    pub fn covering(&self, framework: &str, id: &str) -> Vec<CoveringRule> {
        let mut out: Vec<CoveringRule> = self
            .rules
            .iter()
            .filter_map(|rule| {
                let names = rule.controls.get(framework)?;
                let mut best: Option<Match> = None;
                let mut via = Vec::new();
                for name in names {
                    let m = if name == id {
                        Match::Exact
                    } else if parent_of(id) == Some(name.as_str()) {
                        Match::Parent
                    } else if parent_of(name) == Some(id) {
                        Match::SubTechnique
                    } else {
                        continue;
                    };
                    best = Some(best.map_or(m, |b| b.min(m)));
                    if !via.contains(name) {
                        via.push(name.clone());
                    }
                }
                Some(CoveringRule {
                    rule: rule.id.clone(),
                    title: rule.title.clone(),
                    source: rule.source.clone(),
                    checks: rule.checks.clone(),
                    matches: best?,
                    via,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.matches, &a.rule).cmp(&(b.matches, &b.rule)));
        out
    }
}

/// The parent technique of an ATLAS sub-technique (`AML.T0010.003` →
/// `AML.T0010`); `None` for techniques and other frameworks' ids.
pub fn parent_of(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("AML.T")?;
    let (technique, sub) = rest.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(technique) || !digits(sub) {
        return None;
    }
    id.get(..id.len() - sub.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_atlas_sub_techniques_only() {
        assert_eq!(parent_of("AML.T0010.003"), Some("AML.T0010"));
        assert_eq!(parent_of("AML.T0010"), None);
        assert_eq!(parent_of("ML06"), None);
        assert_eq!(parent_of("A.6.2.4"), None);
    }

    #[test]
    fn bundled_rules_cover_by_their_metadata() {
        let coverage = Coverage::bundled().unwrap();
        let ids: Vec<&str> = coverage.rules.iter().map(|r| r.id.as_str()).collect();
        assert!(
            ids.contains(&"MLP001") && ids.contains(&"MLP105"),
            "{ids:?}"
        );
        let mlp101 = coverage.rules.iter().find(|r| r.id == "MLP101").unwrap();
        assert_eq!(mlp101.source, "strict");
        assert_eq!(mlp101.checks, ["sign"]);

        // MLP001 and MLP002 name AML.T0010.003 itself.
        let model = coverage.covering("mitre-atlas", "AML.T0010.003");
        let exact: Vec<&str> = model
            .iter()
            .filter(|c| c.matches == Match::Exact)
            .map(|c| c.rule.as_str())
            .collect();
        assert_eq!(exact, ["MLP001", "MLP002", "MLP101"]);
        // MLP103 names AML.T0010 as a whole: a parent match, not exact.
        let bom = model.iter().find(|c| c.rule == "MLP103").unwrap();
        assert_eq!(bom.matches, Match::Parent);
        assert_eq!(bom.via, ["AML.T0010"]);

        // Only a sub-technique of AML.T0024 is named.
        let api = coverage.covering("mitre-atlas", "AML.T0024");
        assert!(api.iter().all(|c| c.matches == Match::SubTechnique));
        assert!(!api.is_empty());
        // Evasion: MLP008, on the redteam check's evidence.
        let evasion = coverage.covering("owasp-ml", "ML01");
        assert!(evasion
            .iter()
            .any(|c| c.rule == "MLP008" && c.checks == ["redteam"]));
        assert!(coverage.covering("owasp-ml", "ML05").is_empty());
        let ml06 = coverage.covering("owasp-ml", "ML06");
        assert!(ml06
            .iter()
            .any(|c| c.rule == "MLP001" && c.checks == ["scan"]));
    }
}
