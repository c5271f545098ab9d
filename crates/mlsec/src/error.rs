//! One error type for the command line: a message for the user and whose
//! fault it is. Every error exits 2; a bug says so.

use mlsec_core::Fault;
use std::fmt;
use std::path::Path;

#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub fault: Fault,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            fault: Fault::Input,
        }
    }

    pub fn internal(e: impl fmt::Display) -> CliError {
        CliError {
            message: e.to_string(),
            fault: Fault::Internal,
        }
    }

    /// Writing a report to `path` (standard output when `None`) failed.
    pub fn output(path: Option<&Path>, e: &std::io::Error) -> CliError {
        let place = path.map_or("standard output".into(), |p| p.display().to_string());
        CliError {
            message: format!("{place}: {e}"),
            fault: Fault::of_io(e),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fault {
            Fault::Internal => write!(
                f,
                "internal error: {} (this is a bug in mlsec; please report it)",
                self.message
            ),
            Fault::Input | Fault::Environment => f.write_str(&self.message),
        }
    }
}

macro_rules! from_producer_error {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> CliError {
                let fault = e.fault();
                // The producers' own "internal error: " prefix is said once, by Display.
                let message = e.to_string();
                let message = match message.strip_prefix("internal error: ") {
                    Some(rest) if fault == Fault::Internal => rest.to_string(),
                    _ => message,
                };
                CliError { message, fault }
            }
        }
    )*};
}

from_producer_error!(
    mlsec_scan::ScanError,
    mlsec_sign::SignError,
    mlsec_data::DatasetError,
    mlsec_bom::BomError,
    mlsec_check::CheckError,
    mlsec_policy::PolicyError,
    mlsec_report::ReportError,
    mlsec_threat::ThreatError,
    mlsec_quality::QualityError
);

/// The command line's own complaints about its arguments.
impl From<String> for CliError {
    fn from(message: String) -> CliError {
        CliError::usage(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> CliError {
        CliError::usage(message)
    }
}
