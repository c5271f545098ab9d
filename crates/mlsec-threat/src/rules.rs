//! The findings of `mlsec threat-model`: threats no rule covers (THR001),
//! and threats rules cover only in part (THR002).

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Reports a MITRE ATLAS technique or an OWASP ML / LLM Top 10 risk that
    /// applies to the system `pipeline.yaml` describes, but that no loaded
    /// policy rule names in its `metadata.controls`: no `mlsec check` check
    /// gives evidence against it. The finding points at the component or
    /// flow that brings the threat.
    ///
    /// ## Why is this bad?
    /// A gap is not a vulnerability: it is a threat the gate does not look
    /// at. Attacks on a public inference API (adversarial inputs, model
    /// extraction), prompt injection or excessive agency of LLM tools happen
    /// at run time, where mlsec's artefact checks cannot see them. Unless
    /// something else answers them (rate limits, input validation, output
    /// filtering, a runtime gateway, reviews), they are unanswered.
    ///
    /// ## Example
    /// `AML.T0043 Craft Adversarial Data (MITRE ATLAS) applies at species-api and no rule covers it`
    /// for `- {id: species-api, kind: serving, exposure: public, model-type: classifier}`.
    ///
    /// ## How to fix
    /// Decide who answers the threat, and write it down: a control outside
    /// mlsec (then a policy of your own may name the control id in its
    /// `metadata.controls`, so the threat counts as covered), a change of
    /// design (no public endpoint, no external model source), or an accepted
    /// risk. The finding is `low`: `--fail-on low` makes gaps fail the run.
    pub const NOT_COVERED = Rule {
        id: "THR001", name: "threat-not-covered", severity: Low, category: Suspicious,
        summary: "A threat that applies to the system is not covered by any check",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports an ATLAS technique that applies to the system when the rules
    /// that touch it name only its parent technique as a whole, or only some
    /// of its sub-techniques. For example MLP005 names Exfiltration via AI
    /// Inference API: Infer Training Data Membership (AML.T0024.000), not
    /// the technique AML.T0024 itself.
    ///
    /// ## Why is this bad?
    /// A rule that answers one sub-technique does not answer its siblings
    /// (a check for personal data in training data does nothing against
    /// model extraction, AML.T0024.002), and a rule that names a technique
    /// as a whole rarely answers each of its sub-techniques. The threat is
    /// partly open.
    ///
    /// ## Example
    /// `AML.T0018.000 Manipulate AI Model: Poison AI Model (MITRE ATLAS) applies at downloads → trainer; rules cover it only in part: MLP002 names AML.T0018`
    ///
    /// ## How to fix
    /// Read which ids the covering rules name (`covered_by[].via` in the
    /// JSON) and decide whether they answer this threat where it applies. A
    /// policy of your own that names the exact id covers it.
    pub const PARTLY_COVERED = Rule {
        id: "THR002", name: "threat-partly-covered", severity: Info, category: Info,
        summary: "A threat that applies to the system is covered only in part",
    };
}

/// The rules of `mlsec threat-model`.
pub const RULES: &[Rule] = &[NOT_COVERED, PARTLY_COVERED];
