//! `mlsec sign`, `verify`, `attest` and `verify-attestation`: argument handling
//! and reports; the work is in mlsec-sign.

use crate::cli::{
    AttestArgs, Format, HashArg, KeyArgs, ModelPathArgs, ReportArgs, SignArgs, TrustArgs,
    VerifyArgs, VerifyAttestationArgs,
};
use indicatif::{ProgressBar, ProgressStyle};
use mlsec_core::{output, render, Evidence, Finding};
use mlsec_sign::hash::HashAlgo;
use mlsec_sign::manifest::Method;
use mlsec_sign::{
    read_text, rules, Credential, KeyFiles, ModelOptions, SignOptions, SignatureDetails, Trust,
    TrustFiles, VerifyOptions,
};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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

pub fn credential(k: &KeyArgs) -> Result<Credential, String> {
    mlsec_sign::load_credential(&KeyFiles {
        key: k.key.clone(),
        // Read here rather than through clap's `env`, which would make an
        // optional `--key` group look given whenever the variable is set.
        password: k
            .password
            .clone()
            .or_else(|| std::env::var("MLSEC_KEY_PASSWORD").ok()),
        certificate: k.certificate.clone(),
        certificate_chain: k.certificate_chain.clone(),
    })
}

pub fn trust(t: &TrustArgs) -> Result<Trust, String> {
    mlsec_sign::load_trust(&TrustFiles {
        key: t.key.clone(),
        certificate_chain: t.certificate_chain.clone(),
    })
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

/// The evidence's `details`, typed.
fn details(evidence: &Evidence) -> Result<SignatureDetails, String> {
    serde_json::from_value(evidence.details.clone()).map_err(|e| format!("internal error: {e}"))
}

fn write_report(evidence: &Evidence, human: String, report: &ReportArgs) -> Result<(), String> {
    let text = match report.format {
        Format::Human => human,
        Format::Json => render::json(evidence),
        Format::Sarif => {
            let mut s = serde_json::to_string_pretty(&render::sarif(evidence, rules::RULES))
                .map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
    };
    output::emit(report.output.as_deref(), text.as_bytes()).map_err(|e| match &report.output {
        Some(p) => format!("{}: {e}", p.display()),
        None => format!("standard output: {e}"),
    })
}

pub fn sign(args: SignArgs) -> Result<ExitCode, String> {
    let hash = match args.hash {
        HashArg::Sha256 => HashAlgo::Sha256,
        HashArg::Blake2b => HashAlgo::Blake2b,
        HashArg::Blake3 => HashAlgo::Blake3,
    };
    let method = match args.shard_size {
        None => Method::Files,
        Some(0) => return Err("--shard-size must be at least 1".into()),
        Some(_) if hash == HashAlgo::Blake3 => {
            return Err("--shard-size does not go with --hash blake3 (model_signing hashes blake3 per file; it uses all cores already)".into())
        }
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
    let d = details(&evidence)?;
    let signer = d.signer.unwrap_or_default();
    let manifest = d.manifest.unwrap_or_default();
    let human = format!(
        "Signed {} ({} resource(s), {}) with {} key {}\nSignature: {}\nRoot digest: sha256:{}\n",
        options.model.model.display(),
        manifest["resources"].as_array().map_or(0, Vec::len),
        mlsec_sign::manifest::algorithm_label(hash, method),
        signer["algorithm"].as_str().unwrap_or("?"),
        signer["key_fingerprint"].as_str().unwrap_or("?"),
        d.signature,
        manifest["root_digest"]["sha256"].as_str().unwrap_or("?"),
    );
    write_report(&evidence, human, &args.report)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
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
    let d = details(&evidence)?;
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
    signer: Option<&serde_json::Value>,
    findings: &[Finding],
) -> String {
    let by = signer.map(|s| {
        let who = s["certificate"]["subject"]
            .as_str()
            .map(|c| format!(", certificate {c}"))
            .unwrap_or_default();
        format!(
            " (signed with {} key {}{who})",
            s["algorithm"].as_str().unwrap_or("?"),
            s["key_fingerprint"].as_str().unwrap_or("?")
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

pub fn attest(args: AttestArgs) -> Result<ExitCode, String> {
    let text = read_text(&args.evidence)?;
    let evidence: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not JSON: {e}", args.evidence.display()))?;
    let credential = credential(&args.key)?;
    let bundle = mlsec_sign::attest(&evidence, &credential)
        .map_err(|e| format!("{}: {e}", args.evidence.display()))?;
    let out = args.output.unwrap_or_else(|| {
        let mut p = args.evidence.clone().into_os_string();
        p.push(".sig");
        PathBuf::from(p)
    });
    output::write_atomic(&out, &bundle.to_json()).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "mlsec: signed {} -> {}",
        args.evidence.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn verify_attestation(args: VerifyAttestationArgs) -> Result<ExitCode, String> {
    let trust = trust(&args.trust)?;
    // Read within the bundle size limit: an oversized file is refused, not
    // held in memory; it is a bad signature (exit 1), a missing one an I/O error.
    let bytes = match mlsec_sign::bundle::read_file(&args.bundle) {
        Ok(bytes) => bytes,
        Err(e) if args.bundle.is_file() => {
            println!("NOT verified: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e),
    };
    let (evidence, signer) = match mlsec_sign::verify_attestation(&bytes, &trust) {
        Ok(v) => v,
        Err(e) => {
            println!("NOT verified: {}: {e}", args.bundle.display());
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(path) = &args.evidence {
        let local: serde_json::Value = serde_json::from_str(&read_text(path)?)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        if local != evidence {
            println!(
                "NOT verified: {} differs from the signed evidence in {}",
                path.display(),
                args.bundle.display()
            );
            return Ok(ExitCode::from(1));
        }
    }
    let is_bom = evidence["bomFormat"] == "CycloneDX";
    let text = match args.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&evidence).map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
        // The signed evidence's findings as SARIF, like the command that made it.
        Format::Sarif if is_bom => {
            return Err("--format sarif: the signed document is a CycloneDX BOM, which has no findings; use --format json".into())
        }
        Format::Sarif => {
            let evidence: mlsec_core::Evidence = serde_json::from_value(evidence)
                .map_err(|e| format!("the signed evidence is not an mlsec envelope: {e}"))?;
            let mut s = serde_json::to_string_pretty(&mlsec_core::render::sarif(
                &evidence,
                &crate::commands::all_rules(),
            ))
            .map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
        Format::Human if is_bom => format!(
            "Verified {}: CycloneDX BOM of {}, signed with {} key {}\n",
            args.bundle.display(),
            evidence["metadata"]["component"]["name"]
                .as_str()
                .unwrap_or("?"),
            signer.algorithm,
            signer.key_fingerprint
        ),
        Format::Human => format!(
            "Verified {}: mlsec {} evidence, verdict {}, signed with {} key {}\n",
            args.bundle.display(),
            evidence["kind"].as_str().unwrap_or("?"),
            evidence["summary"]["verdict"].as_str().unwrap_or("?"),
            signer.algorithm,
            signer.key_fingerprint
        ),
    };
    output::emit(None, text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
