use mlsec_data::DataError;
use mlsec_model::ModelError;

/// Why a validation command could not run (exit 2). What the model does
/// wrong is a finding, not an error.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The data could not be read; the message names the file and the row.
    #[error("{0}")]
    Read(#[from] DataError),
    /// The model could not be loaded or did not answer.
    #[error("{0}")]
    Model(#[from] ModelError),
    /// The arguments do not fit the data or the model (a column that is not
    /// there, a feature count the model does not read, a label it never
    /// outputs).
    #[error("{0}")]
    Usage(String),
}

/// A threshold of a finding must be a number from `lo` to `hi`: NaN would
/// compare false with every measure and pass every model silently.
pub(crate) fn threshold(name: &str, value: f64, lo: f64, hi: f64) -> Result<(), ValidateError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ValidateError::Usage(format!(
            "{name} must be a number from {lo} to {hi}, not {value}"
        )))
    }
}
