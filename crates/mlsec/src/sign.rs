//! `mlsec sign`, `verify`, `attest` and `verify-attestation`: argument handling
//! and reports; the work is in mlsec-sign.

use crate::cli::{
    AttestArgs, Format, HashArg, ModelPathArgs, ReportArgs, SignArgs, VerifyArgs,
    VerifyAttestationArgs,
};
use crate::error::CliError;
use crate::keys::{credential, trust};
use indicatif::{ProgressBar, ProgressStyle};
use mlsec_core::{output, render, Evidence, Finding};
use mlsec_sign::hash::HashAlgo;
use mlsec_sign::manifest::Method;
use mlsec_sign::{
    rules, AttestOptions, AttestationDetails, ModelOptions, SignOptions, SignatureDetails, Signer,
    VerifyAttestationOptions, VerifyOptions,
};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

fn model_options(m: &ModelPathArgs) -> ModelOptions {
    ModelOptions {
        model: m.model.clone(),
        signature: m
            .signature
            .clone()
            .unwrap_or_else(|| mlsec_sign::default_signature(&m.model)),
        ignore_paths: m.ignore_paths.clone(),
        ignore_git_paths: !m.no_ignore_git_paths,
        allow_symlinks: m.allow_symlinks,
    }
}

/// A byte-count progress bar over the model's size, on a terminal only.
fn byte_progress(quiet: bool, model: &Path, verb: &str) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let total = mlsec_sign::walk::list(model, &[], true)
        .map(|f| f.iter().map(|f| f.size).sum())
        .unwrap_or(0);
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {verb} {{bytes}}/{{total_bytes}} [{{elapsed}}] {{binary_bytes_per_sec}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

fn write_report(evidence: &Evidence, human: String, report: &ReportArgs) -> Result<(), CliError> {
    let text = match report.format {
        Format::Human => human,
        Format::Json => render::json(evidence),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&render::sarif(evidence, rules::RULES))
                .map_err(CliError::internal)?;
            s.push('\n');
            s
        }
    };
    output::emit(report.output.as_deref(), text.as_bytes())
        .map_err(|e| CliError::output(report.output.as_deref(), &e))
}

pub fn sign(args: SignArgs) -> Result<ExitCode, CliError> {
    let hash = match args.hash {
        HashArg::Sha256 => HashAlgo::Sha256,
        HashArg::Blake2b => HashAlgo::Blake2b,
        HashArg::Blake3 => HashAlgo::Blake3,
    };
    let method = match args.shard_size {
        None => Method::Files,
        Some(n) => Method::Shards { shard_size: n },
    };
    let credential = credential(&args.key)?;
    let options = SignOptions {
        model: model_options(&args.model),
        method,
        hash,
    };
    let bar = byte_progress(args.report.quiet, &options.model.model, "hashing");
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let evidence = mlsec_sign::sign(&options, &credential, &progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let d = SignatureDetails::of(&evidence)?;
    let (algorithm, fingerprint) = d.signer.as_ref().map_or(("?", "?"), |s| {
        (s.algorithm.as_str(), s.key_fingerprint.as_str())
    });
    let (resources, root) = d.manifest.as_ref().map_or((0, "?"), |m| {
        (
            m.resources.len(),
            m.root_digest.get("sha256").map_or("?", String::as_str),
        )
    });
    let human = format!(
        "Signed {} ({resources} resource(s), {}) with {algorithm} key {fingerprint}\nSignature: {}\nRoot digest: sha256:{root}\n",
        options.model.model.display(),
        mlsec_sign::manifest::algorithm_label(hash, method),
        d.signature,
    );
    write_report(&evidence, human, &args.report)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode, CliError> {
    let trust = trust(&args.trust)?;
    let options = VerifyOptions {
        model: model_options(&args.model),
        ignore_unsigned_files: args.ignore_unsigned_files,
    };
    let bar = byte_progress(args.report.quiet, &options.model.model, "verifying");
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let evidence = mlsec_sign::verify(&options, &trust, &progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let d = SignatureDetails::of(&evidence)?;
    let verified = d.verified == Some(true);
    let human = verify_human(
        &options.model.model,
        verified,
        d.signer.as_ref(),
        &evidence.findings,
    );
    write_report(&evidence, human, &args.report)?;
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn verify_human(
    model: &Path,
    verified: bool,
    signer: Option<&Signer>,
    findings: &[Finding],
) -> String {
    let by = signer.map(|s| {
        let who = s
            .certificate
            .as_ref()
            .map(|c| format!(", certificate {}", c.subject))
            .unwrap_or_default();
        format!(
            " (signed with {} key {}{who})",
            s.algorithm, s.key_fingerprint
        )
    });
    if verified {
        return format!("Verified {}{}\n", model.display(), by.unwrap_or_default());
    }
    let mut out = format!(
        "NOT verified: {}{}\n",
        model.display(),
        by.unwrap_or_default()
    );
    for f in findings {
        out.push_str(&format!("  {} {}\n", f.rule, f.message));
    }
    out
}

pub fn attest(args: AttestArgs) -> Result<ExitCode, CliError> {
    let credential = credential(&args.key)?;
    let evidence = mlsec_sign::attest_file(
        &AttestOptions {
            document: args.evidence.clone(),
            bundle: args.output.clone(),
        },
        &credential,
    )?;
    let d = AttestationDetails::of(&evidence)?;
    eprintln!("mlsec: signed {} -> {}", args.evidence.display(), d.bundle);
    Ok(ExitCode::SUCCESS)
}

pub fn verify_attestation(args: VerifyAttestationArgs) -> Result<ExitCode, CliError> {
    let trust = trust(&args.trust)?;
    let evidence = mlsec_sign::verify_attestation_file(
        &VerifyAttestationOptions {
            bundle: args.bundle.clone(),
            document: args.evidence.clone(),
        },
        &trust,
    )?;
    let d = AttestationDetails::of(&evidence)?;
    let (Some(signed), Some(signer), None) = (&d.signed, &d.signer, &d.failure) else {
        println!("NOT verified: {}", d.failure.as_deref().unwrap_or("?"));
        // An evidence bundle can differ in several members: name each.
        for f in evidence.findings.iter().skip(1) {
            println!("  {} {}", f.rule, f.message);
        }
        return Ok(ExitCode::from(1));
    };
    let is_bom = signed["bomFormat"] == "CycloneDX";
    let is_bundle =
        d.predicate_type.as_deref() == Some(mlsec_sign::evidence_bundle::BUNDLE_PREDICATE_TYPE);
    let text = match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(signed).map_err(CliError::internal)?;
            s.push('\n');
            s
        }
        // The signed evidence's findings as SARIF, like the command that made it.
        Format::Sarif if is_bundle => {
            return Err(CliError::usage("--format sarif: an evidence bundle holds many envelopes; extract it and run `mlsec report evidence/ -f sarif`, or use --format json"))
        }
        Format::Sarif if is_bom => {
            return Err(CliError::usage("--format sarif: the signed document is a CycloneDX BOM, which has no findings; use --format json"))
        }
        Format::Sarif => {
            let signed: Evidence = serde_json::from_value(signed.clone()).map_err(|e| {
                CliError::usage(format!("the signed evidence is not an mlsec envelope: {e}"))
            })?;
            let mut s = serde_json::to_string_pretty(&render::sarif(
                &signed,
                &crate::report::all_rules(),
            ))
            .map_err(CliError::internal)?;
            s.push('\n');
            s
        }
        Format::Human if is_bundle => format!(
            "Verified {}: evidence bundle of {} (decision {}, {} signed file(s), every one unchanged), signed with {} key {}\n",
            args.bundle.display(),
            signed["project"].as_str().unwrap_or("?"),
            signed["decision"].as_str().unwrap_or("?"),
            evidence.subjects.len(),
            signer.algorithm,
            signer.key_fingerprint
        ),
        Format::Human if is_bom => format!(
            "Verified {}: CycloneDX BOM of {}, signed with {} key {}\n",
            args.bundle.display(),
            signed["metadata"]["component"]["name"]
                .as_str()
                .unwrap_or("?"),
            signer.algorithm,
            signer.key_fingerprint
        ),
        Format::Human => format!(
            "Verified {}: mlsec {} evidence, verdict {}, signed with {} key {}\n",
            args.bundle.display(),
            signed["kind"].as_str().unwrap_or("?"),
            signed["summary"]["verdict"].as_str().unwrap_or("?"),
            signer.algorithm,
            signer.key_fingerprint
        ),
    };
    output::emit(None, text.as_bytes()).map_err(|e| CliError::output(None, &e))?;
    Ok(ExitCode::SUCCESS)
}
