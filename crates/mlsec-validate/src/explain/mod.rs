//! Fairness metrics per group and explanations of a model's decisions.
