//! A labelled table as a model reads it: feature columns in the model's
//! input order, and each row's label as one of the model's classes.

use std::path::Path;

use mlsec_data::ReadOptions;
use mlsec_model::Model;
use mlsec_quality::columns::{self, Column, Keep, RowCodes};

use crate::error::ValidateError;

/// Cells read at most (the table is held in memory): 2^25, as `data issues`.
pub const MAX_CELLS: u64 = 1 << 25;

/// A row's group when it has no value in the group column.
pub const MISSING_GROUP: &str = "(missing)";

/// The rows a model can be asked about.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub format: String,
    /// Feature columns, in the model's input order.
    pub features: Vec<String>,
    /// Rows of `features.len()` numbers, row after row.
    pub x: Vec<f32>,
    /// Each row's class, an index into the model's classes.
    pub labels: Vec<usize>,
    /// Each row's 1-based number in the file.
    pub rows: Vec<u64>,
    /// Rows left out: a missing label or a feature that is not a finite
    /// number.
    pub skipped: u64,
    /// Rows in the file.
    pub total: u64,
    /// Each kept row's value of the group column asked for, as text
    /// (`(missing)` where it has none); empty when none was asked for.
    pub groups: Vec<String>,
}

impl Labelled {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.features.len();
        self.x.get(i * d..(i + 1) * d).unwrap_or(&[])
    }
}

/// Reads `path` for `model`: the label column `label`, and as features the
/// columns `features` (or every other column, in file order, but those in
/// `exclude`).
pub fn read_labelled(
    path: &Path,
    label: &str,
    features: Option<&[String]>,
    exclude: &[String],
    model: &dyn Model,
    read: &ReadOptions,
) -> Result<Labelled, ValidateError> {
    read_labelled_with_groups(path, label, features, exclude, model, read, None)
}

/// [`read_labelled`], also keeping each row's value of the column `group`
/// (a sensitive attribute) in [`Labelled::groups`]; without `features`,
/// that column is left out of the features.
pub fn read_labelled_with_groups(
    path: &Path,
    label: &str,
    features: Option<&[String]>,
    exclude: &[String],
    model: &dyn Model,
    read: &ReadOptions,
    group: Option<&str>,
) -> Result<Labelled, ValidateError> {
    let shown = path.display().to_string();
    let format = mlsec_data::detect(path)?;
    let table = columns::read(
        path,
        format,
        read,
        Keep::Rows {
            max_cells: MAX_CELLS,
        },
    )?;
    let names = || {
        table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let label_column = table.get(label).ok_or_else(|| {
        ValidateError::Usage(format!(
            "{shown}: no label column `{label}` (columns: {})",
            names()
        ))
    })?;
    let chosen: Vec<&Column> = match features {
        Some(list) => list
            .iter()
            .map(|name| {
                table.get(name).ok_or_else(|| {
                    ValidateError::Usage(format!(
                        "{shown}: no column `{name}` (columns: {})",
                        names()
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        None => table
            .columns
            .iter()
            // The sensitive column groups rows; it is no feature.
            .filter(|c| {
                c.name != label && !exclude.contains(&c.name) && Some(c.name.as_str()) != group
            })
            .collect(),
    };
    if chosen.len() != model.features() {
        return Err(ValidateError::Usage(format!(
            "{shown}: {} feature columns ({}), and {} reads {} features; name them in the model's order with --features",
            chosen.len(),
            chosen.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
            model.name(),
            model.features()
        )));
    }
    let mut numbers = Vec::with_capacity(chosen.len());
    for c in &chosen {
        if c.non_numeric > 0 {
            let first = c
                .first_non_numeric
                .as_ref()
                .map(|(row, v)| format!(" (first at row {row}: {v:?})"))
                .unwrap_or_default();
            return Err(ValidateError::Usage(format!(
                "{shown}: column `{}` is not numeric{first}; the model reads numbers (encode it, or leave it out with --features)",
                c.name
            )));
        }
        numbers.push(c.numbers().ok_or_else(|| {
            ValidateError::Usage(format!(
                "{shown}: column `{}` was summarised, not read",
                c.name
            ))
        })?);
    }
    let codes: &RowCodes = label_column
        .codes()
        .filter(|c| !c.overflow)
        .ok_or_else(|| {
            ValidateError::Usage(format!(
                "{shown}: label column `{label}` has more than {} distinct values",
                columns::MAX_CATEGORIES
            ))
        })?;
    // Each label text as a class of the model's.
    let classes = model.classes();
    let class_of: Vec<Option<usize>> = codes
        .names
        .iter()
        .map(|n| classes.iter().position(|c| c == n))
        .collect();
    let unknown: Vec<&str> = codes
        .names
        .iter()
        .zip(&class_of)
        .filter(|(_, c)| c.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(ValidateError::Usage(format!(
            "{shown}: labels the model never outputs in `{label}`: {} (the model's classes: {})",
            unknown
                .iter()
                .take(10)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            classes.join(", ")
        )));
    }

    let group_codes: Option<&RowCodes> = match group {
        Some(name) => {
            let c = table.get(name).ok_or_else(|| {
                ValidateError::Usage(format!(
                    "{shown}: no column `{name}` (columns: {})",
                    names()
                ))
            })?;
            Some(c.codes().filter(|c| !c.overflow).ok_or_else(|| {
                ValidateError::Usage(format!(
                    "{shown}: column `{name}` has more than {} distinct values",
                    columns::MAX_CATEGORIES
                ))
            })?)
        }
        None => None,
    };
    let d = chosen.len();
    let mut out = Labelled {
        format: format.as_str().to_string(),
        features: chosen.iter().map(|c| c.name.clone()).collect(),
        x: Vec::with_capacity(codes.codes.len() * d),
        labels: Vec::with_capacity(codes.codes.len()),
        rows: Vec::with_capacity(codes.codes.len()),
        skipped: 0,
        total: table.rows,
        groups: Vec::new(),
    };
    let mut row = Vec::with_capacity(d);
    for (i, &code) in codes.codes.iter().enumerate() {
        row.clear();
        row.extend(
            numbers
                .iter()
                .map(|col| col.get(i).copied().unwrap_or(f64::NAN) as f32),
        );
        let class = class_of.get(code as usize).copied().flatten();
        match class {
            Some(c) if row.iter().all(|v| v.is_finite()) => {
                out.x.extend_from_slice(&row);
                out.labels.push(c);
                out.rows.push(i as u64 + 1);
                if let Some(g) = group_codes {
                    let name = g.codes.get(i).and_then(|&c| g.names.get(c as usize));
                    out.groups
                        .push(name.cloned().unwrap_or_else(|| MISSING_GROUP.into()));
                }
            }
            _ => out.skipped += 1,
        }
    }
    if out.is_empty() {
        return Err(ValidateError::Usage(format!(
            "{shown}: no row with a label and finite numbers in every feature"
        )));
    }
    Ok(out)
}
