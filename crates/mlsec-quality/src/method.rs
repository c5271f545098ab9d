//! Drift methods: which statistic a column is judged by, its default
//! threshold, and how to compute it from the reference and current values.

use serde::{Deserialize, Serialize};

/// A drift method. Tests (`ks`, `chisquare`, `ztest`, `cvm`, `anderson`) decide
/// by p-value (drift when the corrected p-value is below the threshold);
/// distances decide by value (drift when the distance is at or above it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Kolmogorov-Smirnov two-sample test (numeric), as scipy's `ks_2samp`.
    Ks,
    /// Chi-square test of homogeneity (categorical), as scipy's `chi2_contingency`.
    Chisquare,
    /// Z-test for two proportions (categorical with two values).
    Ztest,
    /// Wasserstein distance divided by the reference's standard deviation (numeric).
    Wasserstein,
    /// Jensen-Shannon distance (natural log) of the value frequencies; numeric
    /// columns are binned first.
    Jensenshannon,
    /// Population stability index of binned frequencies.
    Psi,
    /// Kullback-Leibler divergence of the current from the reference frequencies.
    Kl,
    /// Hellinger distance of binned frequencies.
    Hellinger,
    /// Cramér-von Mises two-sample test (numeric), as scipy's
    /// `cramervonmises_2samp`.
    Cvm,
    /// Anderson-Darling k-sample test on two samples (numeric), as scipy's
    /// `anderson_ksamp` (midrank; p-value capped at 0.25, floored at 0.001).
    Anderson,
}

impl Method {
    pub const ALL: [Method; 10] = [
        Method::Ks,
        Method::Chisquare,
        Method::Ztest,
        Method::Wasserstein,
        Method::Jensenshannon,
        Method::Psi,
        Method::Kl,
        Method::Hellinger,
        Method::Cvm,
        Method::Anderson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::Chisquare => "chisquare",
            Method::Ztest => "ztest",
            Method::Wasserstein => "wasserstein",
            Method::Jensenshannon => "jensenshannon",
            Method::Psi => "psi",
            Method::Kl => "kl",
            Method::Hellinger => "hellinger",
            Method::Cvm => "cvm",
            Method::Anderson => "anderson",
        }
    }

    /// Whether the method decides by p-value (else by distance).
    pub fn is_test(self) -> bool {
        matches!(
            self,
            Method::Ks | Method::Chisquare | Method::Ztest | Method::Cvm | Method::Anderson
        )
    }

    /// The threshold used when none is given: 0.05 for tests (Evidently's and
    /// the usual significance level), 0.1 for distances (Evidently's).
    pub fn default_threshold(self) -> f64 {
        if self.is_test() {
            0.05
        } else {
            0.1
        }
    }

    /// Whether the method can judge a numeric column / a categorical one.
    pub fn numeric(self) -> bool {
        !matches!(self, Method::Chisquare | Method::Ztest)
    }

    pub fn categorical(self) -> bool {
        matches!(
            self,
            Method::Chisquare
                | Method::Ztest
                | Method::Jensenshannon
                | Method::Psi
                | Method::Kl
                | Method::Hellinger
        )
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
                format!("unknown drift method `{s}` (one of {})", names.join(", "))
            })
    }
}

/// Correction of the columns' p-values for testing many columns at once.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Holm's step-down method: controls the chance of any false alarm, and is
    /// uniformly more powerful than Bonferroni.
    #[default]
    Holm,
    Bonferroni,
    /// Benjamini-Hochberg: controls the expected share of false alarms among
    /// the alarms; more alarms on wide tables.
    Bh,
    /// No correction: each column at the threshold on its own.
    None,
}

impl Correction {
    pub fn as_str(self) -> &'static str {
        match self {
            Correction::Holm => "holm",
            Correction::Bonferroni => "bonferroni",
            Correction::Bh => "bh",
            Correction::None => "none",
        }
    }
}
