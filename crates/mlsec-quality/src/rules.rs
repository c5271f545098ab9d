//! The rules of `mlsec data drift` (DRF001-DRF005).

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Reports a column whose distribution in the current data differs from the
    /// reference by the column's drift method: a test's p-value below the
    /// threshold (after the multiple-testing correction across columns), or a
    /// distance at or above it. The finding gives the method, the statistic,
    /// the p-value and an effect size.
    ///
    /// ## Why is this bad?
    /// A model is only as good as the match between the data it learned from and
    /// the data it sees. A drifted feature (a sensor recalibrated, a form field
    /// changed, a new customer segment, an attacker feeding crafted inputs)
    /// silently degrades predictions long before labels arrive to show it.
    ///
    /// ## Example
    /// `age: drifted (wasserstein 0.31 >= 0.1; ks p < 1e-300); mean 38.2 -> 45.9`
    ///
    /// ## How to fix
    /// Find out why the column changed: a bug upstream is fixed at the source;
    /// a real change in the world means the model needs retraining on recent
    /// data. If the change is expected, pick a less sensitive method or a higher
    /// threshold for the column, or make the current data the new reference.
    pub const COLUMN_DRIFT = Rule {
        id: "DRF001", name: "column-drift", severity: Medium, category: Suspicious,
        summary: "Column distribution drifted from the reference",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports dataset drift: the share of compared columns that drifted is at
    /// or above `--drift-share` (default 0.5).
    ///
    /// ## Why is this bad?
    /// When most features move together, the model is no longer looking at the
    /// population it was trained and validated on: its measured accuracy does
    /// not hold any more.
    ///
    /// ## Example
    /// `12 of 20 columns drifted (share 0.60 >= 0.50)`
    ///
    /// ## How to fix
    /// Stop trusting the model's offline metrics; check its predictions on
    /// recent labelled data, and retrain or roll back. Check that the current
    /// data comes from the pipeline it should (a wrong table or a broken join
    /// drifts every column at once).
    pub const DATASET_DRIFT = Rule {
        id: "DRF002", name: "dataset-drift", severity: High, category: Suspicious,
        summary: "Share of drifted columns at or above the dataset threshold",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a schema difference between the reference and the current data:
    /// a column missing from the current data, a column the reference does not
    /// have, or a column whose type changed (numbers in the reference, text now).
    ///
    /// ## Why is this bad?
    /// Feature pipelines fill a missing or retyped column with defaults, so the
    /// model keeps answering with inputs it never saw. A numeric column that
    /// now holds text is often an upstream format change (`1,5` for `1.5`).
    ///
    /// ## Example
    /// `income: numeric in the reference, 57 values in the current data are not numbers (first at row 12: "n/a*")`
    ///
    /// ## How to fix
    /// Fix the producer of the current data, or make the schema change on
    /// purpose: retrain and write a new reference.
    pub const SCHEMA_CHANGE = Rule {
        id: "DRF003", name: "schema-change", severity: Medium, category: Suspicious,
        summary: "Column missing, added or of another type than in the reference",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a column that cannot be compared: empty or all missing on one
    /// side, more distinct values than a category can have (an identifier or
    /// free text), or a type drift has no test for (lists, structs, binary).
    ///
    /// ## Why is this bad?
    /// An unchecked column is a blind spot: it can drift without anyone being
    /// told. All-missing current data usually means a broken pipeline.
    ///
    /// ## Example
    /// `customer_id: not compared: more than 10000 distinct values`
    ///
    /// ## How to fix
    /// Exclude identifier and free-text columns with `--exclude`; fix a pipeline
    /// that delivers an empty column.
    pub const NOT_COMPARED = Rule {
        id: "DRF004", name: "column-not-compared", severity: Low, category: Suspicious,
        summary: "Column could not be compared with the reference",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports multivariate drift: the joint distribution of the numeric columns
    /// differs between the reference and the current data by a kernel
    /// two-sample test (maximum mean discrepancy with an RBF kernel on
    /// standardised columns, p-value by permutation), even where every column
    /// alone looks the same.
    ///
    /// ## Why is this bad?
    /// Relationships between features carry what a model learned (income given
    /// age, dose given weight). A change in how columns move together, such as
    /// crafted inputs that keep each marginal plausible, is invisible to
    /// per-column tests and still changes predictions.
    ///
    /// ## Example
    /// `joint distribution of 8 numeric columns drifted (MMD 0.042, p 0.001)`
    ///
    /// ## How to fix
    /// Look for a change in how the data is produced or joined; compare pairs
    /// of columns; retrain if the change is real.
    pub const MULTIVARIATE_DRIFT = Rule {
        id: "DRF005", name: "multivariate-drift", severity: Medium, category: Suspicious,
        summary: "Joint distribution of the numeric columns drifted",
    };
}

/// Every rule of `mlsec data drift`.
pub const RULES: &[Rule] = &[
    COLUMN_DRIFT,
    DATASET_DRIFT,
    SCHEMA_CHANGE,
    NOT_COMPARED,
    MULTIVARIATE_DRIFT,
];
