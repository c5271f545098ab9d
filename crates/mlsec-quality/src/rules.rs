//! The rules of `mlsec data drift` (DRF001-DRF005) and `mlsec data issues` (DQI001-DQI008).

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

declare_rule! {
    /// ## What it does
    /// Reports a row whose given label is likely wrong, by confident learning
    /// (Northcutt, Jiang and Chuang, JAIR 2021): a model trained inside mlsec
    /// (multinomial logistic regression) predicts each row from the other
    /// folds of a stratified k-fold split; per class, the mean predicted
    /// probability of rows given that class is its confidence threshold; rows
    /// confidently belonging to another class are counted into the confident
    /// joint, and the joint's off-diagonal counts decide how many rows of each
    /// (given, likely) pair are flagged, those with the largest margin first.
    /// The finding gives the given label, the suggested one and the score
    /// (1 minus the probability of the given label).
    ///
    /// ## Why is this bad?
    /// Flipped labels are the cheapest way to poison a model: a few percent of
    /// them lower its accuracy, and targeted flips teach it a chosen mistake.
    /// Honest labelling errors do the same harm, and inflate or deflate the
    /// measured accuracy when they sit in the test split.
    ///
    /// ## Example
    /// `row 41: label 3 looks wrong: the model says 2 (p(3) = 0.02)`
    ///
    /// ## How to fix
    /// Review the flagged rows (most suspect first) and correct or drop them;
    /// `--write-clean FILE` writes the data without the flagged rows. Find out
    /// where wrong labels entered (an annotator, a join, a contributor).
    pub const LABEL_ERROR = Rule {
        id: "DQI001", name: "label-error", severity: Medium, category: Suspicious,
        summary: "Row's label is likely wrong (confident learning)",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a row far from the rest of the data: its isolation-forest score
    /// (Liu, Ting and Zhou, 2008; the mean depth at which random trees isolate
    /// it, as a score from 0 to 1), its Mahalanobis distance from the mean
    /// (`--outlier-method mahalanobis`: values each ordinary, together not) or
    /// its mean distance to its k nearest neighbours is above the threshold,
    /// or among the top `--contamination` share of rows.
    ///
    /// ## Why is this bad?
    /// Injected points (random noise, values copied from other rows, crafted
    /// inputs) pull a model's decision boundary; broken rows from a faulty
    /// sensor or parser do the same by accident.
    ///
    /// ## Example
    /// `row 230: outlier (isolation forest score 0.71 > 0.62)`
    ///
    /// ## How to fix
    /// Look at the flagged rows: fix parsing or unit errors at the source,
    /// drop injected rows, keep rare but real cases (and consider collecting
    /// more of them).
    pub const OUTLIER = Rule {
        id: "DQI002", name: "outlier-row", severity: Low, category: Suspicious,
        summary: "Row is an outlier (isolation forest, Mahalanobis or k-nearest-neighbour distance)",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a row whose features are the same as an earlier row's (exact
    /// duplicate), or within a small distance of it after standardisation
    /// (near duplicate), with the same label.
    ///
    /// ## Why is this bad?
    /// Repeated rows weigh more in training (an easy way to push a model toward
    /// chosen examples), and a copy that lands in both the training and the
    /// test split inflates the measured accuracy.
    ///
    /// ## Example
    /// `row 55: duplicate of row 12`
    ///
    /// ## How to fix
    /// Drop the copies (`--write-clean`), or deduplicate before splitting the
    /// data into training and test sets.
    pub const DUPLICATE = Rule {
        id: "DQI003", name: "duplicate-row", severity: Low, category: Suspicious,
        summary: "Row duplicates an earlier row (exactly or nearly)",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports rows with the same features (exactly, or within the near
    /// duplicate distance) but different labels; every row of such a group is
    /// flagged.
    ///
    /// ## Why is this bad?
    /// At most one of the labels can be right. Conflicting copies are a sign of
    /// label flipping aimed at chosen inputs, or of a label that depends on
    /// something the features do not hold.
    ///
    /// ## Example
    /// `row 57: same features as row 12 with another label (1, not 0)`
    ///
    /// ## How to fix
    /// Decide which label is right and drop the others; if both can be right,
    /// add the feature that tells them apart.
    pub const CONFLICT = Rule {
        id: "DQI004", name: "conflicting-duplicate", severity: Medium, category: Suspicious,
        summary: "Rows with the same features carry different labels",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports rows that carry a backdoor signal by spectral signatures (Tran,
    /// Li and Madry, NeurIPS 2018): within each class, the rows are projected
    /// on the top three singular vectors of the class's centred, standardised
    /// features; when a small, tight group of rows (3 or more, at most twice
    /// `--poison-fraction` of the class, at most twice as spread as the rest)
    /// stands apart from the rest along one (two 1-D clusters separated by
    /// Ashman's D of at least 4), that group is flagged.
    ///
    /// ## Why is this bad?
    /// A backdoor (trojan) attack adds rows with a trigger pattern relabelled
    /// to a target class: the model learns to answer the attacker's class
    /// whenever the trigger appears, while its accuracy on clean data stays
    /// the same, so ordinary validation does not see it.
    ///
    /// ## Example
    /// `row 301: backdoor signal in class 7 (score 48.2): 25 of 480 rows stand apart (D 9.3)`
    ///
    /// ## How to fix
    /// Inspect the flagged rows for a shared pattern (a patch, a token, fixed
    /// values in some columns) and where they came from; drop them and retrain.
    /// For images or text, run the check on embeddings given as columns.
    pub const BACKDOOR = Rule {
        id: "DQI005", name: "backdoor-signal", severity: High, category: Suspicious,
        summary: "Group of rows in a class stands apart along its top singular vector (spectral signature)",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a class with fewer than a tenth of the rows of the largest class.
    ///
    /// ## Why is this bad?
    /// A model trained on imbalanced data learns to neglect the small class,
    /// and its overall accuracy hides it; a small class is also the easiest
    /// to poison, since a few rows make a large share of it.
    ///
    /// ## Example
    /// `class 3 has 12 rows, 2.1% of the largest class 1 (570 rows)`
    ///
    /// ## How to fix
    /// Collect more rows of the small class, or weigh or resample the classes
    /// in training, and report per-class metrics.
    pub const CLASS_IMBALANCE = Rule {
        id: "DQI006", name: "class-imbalance", severity: Low, category: Suspicious,
        summary: "Class has under a tenth of the rows of the largest class",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a column the checks could not use as a feature: all values
    /// missing, a single value, numbers mixed with text (the first text value
    /// is named), more distinct text values than a category can have (an
    /// identifier or free text), or a type with no numeric meaning (lists,
    /// binary).
    ///
    /// ## Why is this bad?
    /// A constant or empty column carries nothing; numbers mixed with text are
    /// usually a parsing or unit error upstream; an identifier used as a
    /// feature lets a model memorise rows.
    ///
    /// ## Example
    /// `column income: 57 values are not numbers (first at row 12: "n/a*"); used as categories`
    ///
    /// ## How to fix
    /// Drop the column, fix its values at the source, or `--exclude` it.
    pub const UNUSABLE_COLUMN = Rule {
        id: "DQI007", name: "unusable-column", severity: Info, category: Suspicious,
        summary: "Column is empty, constant, mixed or an identifier, and not used",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a feature column whose value determines the label: every value
    /// goes with one label, and the column has no more distinct values than
    /// the label has classes (the label under another name or code).
    ///
    /// ## Why is this bad?
    /// A model trained with the label among its features learns nothing useful
    /// and scores perfectly in validation: target leakage. Planted on purpose,
    /// it is a shortcut an attacker controls.
    ///
    /// ## Example
    /// `column species_code determines the label species (3 values, 3 classes)`
    ///
    /// ## How to fix
    /// Drop the column from the features (the checks here already leave it
    /// out), and find out how it came to hold the label.
    pub const LABEL_LEAK = Rule {
        id: "DQI008", name: "label-leak", severity: High, category: Suspicious,
        summary: "Feature column determines the label (target leakage)",
    };
}

/// Every rule of `mlsec data issues`.
pub const ISSUE_RULES: &[Rule] = &[
    LABEL_ERROR,
    OUTLIER,
    DUPLICATE,
    CONFLICT,
    BACKDOOR,
    CLASS_IMBALANCE,
    UNUSABLE_COLUMN,
    LABEL_LEAK,
];
