//! Argument groups several commands share: output format and file, the
//! fail threshold, signing keys and trust. They import nothing of the
//! binary's, so every command module can use them.

use clap::{Args, ValueEnum};
use mlsec_core::Severity;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people (colour on a terminal).
    Human,
    /// The mlsec evidence envelope (mlsec.evidence/v1).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

/// Flags every command that reports findings shares.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// No progress bar and no summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The signer's key and optional certificate chain.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Private key to sign with (PEM: PKCS#8, encrypted PKCS#8 or SEC1): ECDSA
    /// P-256, P-384 or P-521, or Ed25519 (an mlsec extension that model_signing
    /// does not accept). Required.
    // Optional to clap so that commands where signing is optional (`data
    // manifest`, which sets its own help) can share these options;
    // `sign::credential` says when it is missing.
    #[arg(long, value_name = "PRIVATE.pem")]
    pub key: Option<PathBuf>,
    /// Password of an encrypted private key (or set MLSEC_KEY_PASSWORD, which
    /// keeps it out of the process list).
    #[arg(long, requires = "key")]
    pub password: Option<String>,
    /// Sign with this certificate (PEM) for the key: the certificate method.
    #[arg(long, value_name = "CERT.pem", requires = "key")]
    pub certificate: Option<PathBuf>,
    /// Certificates (PEM) that chain the signing certificate to a CA; added to the bundle.
    #[arg(long, value_name = "CA.pem", num_args = 1.., requires = "certificate")]
    pub certificate_chain: Vec<PathBuf>,
}

/// Whom to trust: a public key or CA certificates. Required to verify;
/// `trust` says so when neither is given.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct TrustArgs {
    /// The signer's public key (PEM).
    #[arg(long, value_name = "PUBLIC.pem")]
    pub key: Option<PathBuf>,
    /// CA certificates (PEM) the signing certificate must chain to.
    #[arg(long, value_name = "CA.pem", num_args = 1..)]
    pub certificate_chain: Vec<PathBuf>,
}

impl TrustArgs {
    pub fn given(&self) -> bool {
        self.key.is_some() || !self.certificate_chain.is_empty()
    }
}

/// Whether terminal output gets colours: written to a terminal (not `-o`),
/// and `NO_COLOR` unset.
pub fn colour(output: Option<&Path>) -> bool {
    use std::io::IsTerminal;
    output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
