//! The rules of `mlsec redteam` (RTM001, RTM002), `mlsec privacy` (PRV001)
//! and `mlsec explain` (EXP001).

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

declare_rule! {
    /// ## What it does
    /// Reports a model whose decisions favour some groups of a sensitive
    /// column (`--sensitive`) over others: the demographic parity ratio (the
    /// lowest group's selection rate of the favourable class over the
    /// highest's) or the equalized odds ratio (the lower of the true- and
    /// false-positive rate ratios), as Fairlearn defines them, below
    /// `--min-ratio` (default 0.8, the four-fifths rule of the US EEOC's
    /// guidelines).
    ///
    /// ## Why is this bad?
    /// A model that approves one group far less often, or errs far more
    /// often for it, harms people and breaks anti-discrimination law (the
    /// EU AI Act's high-risk obligations, fair-lending and hiring rules),
    /// often through features that stand in for the sensitive one.
    ///
    /// ## Example
    /// `demographic parity ratio 0.612 across `sex` is below 0.8 (class approved)`
    ///
    /// ## How to fix
    /// Find which features carry the group (the importances, a feature
    /// correlated with the sensitive column), check the training data for
    /// under-represented groups and biased labels, and mitigate (reweighting,
    /// constraints during training, thresholds per group where the law
    /// allows). Measure again on held-out data.
    pub const DISPARITY = Rule {
        id: "EXP001", name: "fairness-disparity", severity: Medium, category: Suspicious,
        summary: "A fairness ratio across a sensitive column's groups is below the minimum",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a family of `mlsec redteam --protocol openai` probes that an
    /// LLM endpoint failed more often than `--min-pass-rate` allows (by
    /// default, any failure): it followed instructions injected into the
    /// user's text (`injection`), revealed a canary planted in its system
    /// prompt (`leakage`), or disclosed the e-mail, phone or card number of
    /// a customer its system prompt holds (`pii`). mlsec's own output
    /// guards judge the answers, not another LLM.
    ///
    /// ## Why is this bad?
    /// Whatever an application puts in the system prompt (instructions,
    /// keys, customer records) and whatever the model reads (documents, web
    /// pages, tool results) is within reach of anyone who can write to it.
    /// A model that obeys injected text can be steered to leak data or call
    /// tools on the attacker's behalf.
    ///
    /// ## Example
    /// `3 of 6 leakage probes succeeded against llama-3-8b-instruct`
    ///
    /// ## How to fix
    /// Keep secrets and other customers' data out of prompts (fetch them
    /// through tools that check authorization), put `mlsec gateway` with the
    /// injection guard and the PII and canary output guards in front of the
    /// model, separate untrusted content from instructions, and give tools
    /// the least privilege. Probe again after each change of model or
    /// prompt.
    pub const LLM_PROBE = Rule {
        id: "RTM002", name: "llm-probe-failed", severity: High, category: Suspicious,
        summary: "An LLM followed injected instructions or leaked its prompt or personal data",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a membership-inference attack of `mlsec privacy` whose ROC
    /// AUC at telling the model's training rows (`--members`) from rows it
    /// never saw (`--non-members`) is above `--max-auc` (default 0.6): the
    /// model answers its own training rows differently (more confidently,
    /// with a lower loss) than new ones. The finding gives the attack, the
    /// AUC, the membership advantage and the true-positive rate at 1% and
    /// 0.1% false positives.
    ///
    /// ## Why is this bad?
    /// Whoever can query the model can then tell whether a person's record
    /// was in its training data: that a patient was in a hospital's
    /// dataset, that a customer defaulted. Regulators treat that as a
    /// disclosure of personal data (GDPR; the EU AI Act's data governance),
    /// and it is the first step of reconstructing training data.
    ///
    /// ## Example
    /// `lira: AUC 0.81, advantage 0.52, TPR 0.19 at 1% FPR (members 500, non-members 500)`
    ///
    /// ## How to fix
    /// Reduce overfitting (regularisation, early stopping, more data; the
    /// accuracy on members against non-members shows the gap), train with
    /// differential privacy (DP-SGD) where the data is sensitive, return
    /// labels or rounded scores rather than full probabilities (the
    /// gateway's `tensor` answer rounding), and rate-limit queries. Audit
    /// again after retraining.
    pub const MEMBERSHIP = Rule {
        id: "PRV001", name: "membership-leak", severity: High, category: Suspicious,
        summary: "A membership-inference attack tells training rows from others",
    };
}

/// Every rule of the validation commands.
pub const ALL: &[Rule] = &[EVASION, LLM_PROBE, MEMBERSHIP, DISPARITY];
