//! The rules of `mlsec redteam` (RTM001).

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Reports an attack that flipped the model's decision on more of the
    /// rows it classified correctly than `--max-success` allows (default
    /// 0.5), at an epsilon: small, valid changes to a row, found by querying
    /// the model only. The finding names the attack, the norm, the epsilon,
    /// the success rate and the queries it took.
    ///
    /// ## Why is this bad?
    /// Anyone who can query the model (its endpoint, or a copy of the file)
    /// can run the same search: a loan applicant nudging two fields, a fraud
    /// ring tuning transactions, malware padding its features. A model whose
    /// decisions flip under changes of a few percent of each feature's range
    /// cannot be trusted where someone gains from its mistakes.
    ///
    /// ## Example
    /// `square (linf, eps 0.05): 74% of 200 correctly classified rows flipped; median 38 queries`
    ///
    /// ## How to fix
    /// Train for robustness (adversarial training, input smoothing,
    /// monotonic constraints on features an attacker controls), limit the
    /// features an attacker can change (`--immutable` says which they
    /// cannot), and put the endpoint behind `mlsec gateway` with extraction
    /// monitoring and a query budget per principal. Compare epsilons with the
    /// real slack an attacker has on each feature.
    pub const EVASION = Rule {
        id: "RTM001", name: "evasion-success", severity: High, category: Suspicious,
        summary: "An evasion attack flipped too many correct decisions",
    };
}

/// Every rule of the validation commands.
pub const ALL: &[Rule] = &[EVASION];
