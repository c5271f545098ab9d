//! A user's model asked about every row of a table (`--model` of `data
//! issues` and `data drift`).

use mlsec_model::Model;

use crate::columns::Columns;
use crate::QualityError;

/// `model`'s answer (its scores, `model.width()` of them) for every row of
/// `table`, reading the columns `features` in that order; `None` for a row
/// with a feature that is missing or not a finite number. `shown` names the
/// table in errors.
pub(crate) fn model_answers(
    model: &dyn Model,
    features: &[String],
    table: &Columns,
    shown: &str,
) -> Result<Vec<Option<Vec<f32>>>, QualityError> {
    if features.len() != model.features() {
        return Err(QualityError::Usage(format!(
            "{shown}: {} feature columns ({}), and {} reads {} features; name them in the model's order with --model-features",
            features.len(),
            features.join(", "),
            model.name(),
            model.features()
        )));
    }
    let mut columns = Vec::with_capacity(features.len());
    for name in features {
        let c = table.get(name).ok_or_else(|| {
            QualityError::Usage(format!(
                "{shown}: no column `{name}`, which {} reads",
                model.name()
            ))
        })?;
        if c.non_numeric > 0 {
            return Err(QualityError::Usage(format!(
                "{shown}: column `{name}` is not numeric, and {} reads numbers",
                model.name()
            )));
        }
        columns.push(c.numbers().ok_or_else(|| {
            QualityError::Usage(format!("{shown}: column `{name}` was summarised, not read"))
        })?);
    }
    let rows = usize::try_from(table.rows).unwrap_or(usize::MAX);
    let mut x = Vec::new();
    let mut readable = Vec::with_capacity(rows);
    for r in 0..rows {
        let start = x.len();
        x.extend(
            columns
                .iter()
                .map(|c| c.get(r).copied().unwrap_or(f64::NAN) as f32),
        );
        let ok = x
            .get(start..)
            .is_some_and(|row| row.iter().all(|v| v.is_finite()));
        if !ok {
            x.truncate(start);
        }
        readable.push(ok);
    }
    let scores = model
        .predict(&x)
        .map_err(|e| QualityError::Usage(e.to_string()))?;
    let mut per_row = scores.chunks_exact(model.width().max(1));
    Ok(readable
        .into_iter()
        .map(|ok| {
            if ok {
                per_row.next().map(<[f32]>::to_vec)
            } else {
                None
            }
        })
        .collect())
}
