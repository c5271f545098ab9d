//! `mlsec sign`, `verify`, `attest` and `verify-attestation`: argument handling
//! and reports; the work is in mlsec-sign.

use crate::cli::{
    AttestArgs, Format, HashArg, KeyArgs, ModelPathArgs, ReportArgs, SignArgs, TrustArgs,
    VerifyArgs, VerifyAttestationArgs,
};
use indicatif::{ProgressBar, ProgressStyle};
use mlsec_core::{output, render, Evidence, Finding, Severity, Subject};
use mlsec_sign::hash::{hex, HashAlgo};
use mlsec_sign::keys::{SigningKey, VerifyingKey};
use mlsec_sign::manifest::{resource_table, Diff, Manifest, Method};
use mlsec_sign::{cert, read_text, rules, Credential, Failure, ModelOptions, Signer, Trust};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `--signature`, else `model.sig` in the model folder (beside a single-file
/// model): the one default that `sign`, `verify` and `bom` share, so that the
/// signature travels with the model. It is never part of what is signed.
fn signature_path(m: &ModelPathArgs) -> PathBuf {
    m.signature.clone().unwrap_or_else(|| {
        let folder = if m.model.is_dir() {
            m.model.as_path()
        } else {
            m.model.parent().unwrap_or(Path::new(""))
        };
        folder.join(mlsec_sign::DEFAULT_SIGNATURE)
    })
}

fn model_options(m: &ModelPathArgs) -> ModelOptions {
    ModelOptions {
        model: m.model.clone(),
        signature: signature_path(m),
        ignore_paths: m.ignore_paths.clone(),
        ignore_git_paths: !m.no_ignore_git_paths,
        allow_symlinks: m.allow_symlinks,
    }
}

pub fn credential(k: &KeyArgs) -> Result<Credential, String> {
    // Read here rather than through clap's `env`, which would make an optional
    // `--key` group look given whenever the variable is set.
    let password = k
        .password
        .clone()
        .or_else(|| std::env::var("MLSEC_KEY_PASSWORD").ok());
    let path = k.key.as_ref().ok_or("give --key PRIVATE.pem to sign")?;
    let key = SigningKey::from_pem(&read_text(path)?, password.as_deref())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(cert_path) = &k.certificate else {
        return Ok(Credential::Key(key));
    };
    let mut chain = Vec::new();
    for path in std::iter::once(cert_path).chain(&k.certificate_chain) {
        let certs = cert::pem_certificates(&read_text(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        chain.extend(certs);
    }
    let credential = Credential::Certificate { key, chain };
    credential
        .check()
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    Ok(credential)
}

pub fn trust(t: &TrustArgs) -> Result<Trust, String> {
    if !t.given() {
        return Err("give --key PUBLIC.pem or --certificate-chain CA.pem to verify".into());
    }
    if let Some(path) = &t.key {
        let key = VerifyingKey::from_pem(&read_text(path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(Trust::Key(key));
    }
    let mut roots = Vec::new();
    for path in &t.certificate_chain {
        roots.extend(
            cert::pem_certificates(&read_text(path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    Ok(Trust::Certificates(roots))
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

fn model_subject(model: &Path, manifest: Option<&Manifest>) -> Subject {
    let mut digest = BTreeMap::new();
    if let Some(m) = manifest {
        digest.insert("sha256".to_string(), hex(&m.root_digest()));
    }
    Subject {
        name: model.display().to_string(),
        digest,
    }
}

fn manifest_json(m: &Manifest) -> serde_json::Value {
    let s = &m.serialization;
    let (method, shard_size) = match s.method {
        Method::Files => ("files", None),
        Method::Shards { shard_size } => ("shards", Some(shard_size)),
    };
    json!({
        "root_digest": {"sha256": hex(&m.root_digest())},
        "serialization": {
            "method": method,
            "hash_type": s.hash_type.as_str(),
            "shard_size": shard_size,
            "allow_symlinks": s.allow_symlinks,
            "ignore_paths": s.ignore_paths.iter().map(|p| p.as_posix()).collect::<Vec<_>>(),
        },
        "resources": resource_table(m),
    })
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
    let opts = model_options(&args.model);
    let bar = byte_progress(args.report.quiet, &opts.model, "hashing");
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let (manifest, bundle) = mlsec_sign::sign_model(&opts, method, hash, &credential, &progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    output::write_atomic(&opts.signature, &bundle.to_json())
        .map_err(|e| format!("{}: {e}", opts.signature.display()))?;

    let key = match &credential {
        Credential::Key(k) | Credential::Certificate { key: k, .. } => k.verifying_key(),
    };
    let signer = json!({
        "method": if matches!(credential, Credential::Key(_)) { "key" } else { "certificate" },
        "algorithm": key.algorithm(),
        "key_fingerprint": key.hint(),
    });
    let details = json!({
        "operation": "sign",
        "verified": null,
        "signature": opts.signature.display().to_string(),
        "signer": signer,
        "manifest": manifest_json(&manifest),
    });
    let evidence = Evidence::new(
        "signature",
        vec![model_subject(&opts.model, Some(&manifest))],
        Vec::new(),
        Severity::High,
        details,
    );
    let human = format!(
        "Signed {} ({} resource(s), {}) with {} key {}\nSignature: {}\nRoot digest: sha256:{}\n",
        opts.model.display(),
        manifest.resources.len(),
        mlsec_sign::manifest::algorithm_label(hash, method),
        key.algorithm(),
        key.hint(),
        opts.signature.display(),
        hex(&manifest.root_digest()),
    );
    write_report(&evidence, human, &args.report)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(args: VerifyArgs) -> Result<ExitCode, String> {
    let trust = trust(&args.trust)?;
    let opts = model_options(&args.model);
    let bar = byte_progress(args.report.quiet, &opts.model, "verifying");
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let result = mlsec_sign::verify_model(&opts, &trust, args.ignore_unsigned_files, &progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let subject = opts.model.display().to_string();
    let findings = match &result.failure {
        None => Vec::new(),
        Some(Failure::Signature { message }) => vec![Finding::new(
            &rules::SIGNATURE_INVALID,
            &subject,
            message.clone(),
        )],
        Some(Failure::Content { diff }) => diff_findings(&subject, diff),
    };
    let verified = result.failure.is_none();
    let details = json!({
        "operation": "verify",
        "verified": verified,
        "signature": opts.signature.display().to_string(),
        "signer": result.signer,
        "manifest": result.manifest.as_ref().map(manifest_json),
        "failure": result.failure,
    });
    let evidence = Evidence::new(
        "signature",
        vec![model_subject(&opts.model, result.manifest.as_ref())],
        findings,
        Severity::High,
        details,
    );
    let human = verify_human(
        &opts.model,
        verified,
        result.signer.as_ref(),
        &evidence.findings,
    );
    write_report(&evidence, human, &args.report)?;
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn diff_findings(subject: &str, diff: &Diff) -> Vec<Finding> {
    let at = |f: Finding, member: &str| f.at(Some(member), None);
    let mut out = Vec::new();
    for path in &diff.changed {
        out.push(at(
            Finding::new(
                &rules::FILE_CHANGED,
                subject,
                format!("{path}: content differs from the signed digest"),
            ),
            path,
        ));
    }
    for path in &diff.algorithm_mismatch {
        out.push(at(
            Finding::new(
                &rules::FILE_CHANGED,
                subject,
                format!("{path}: hashed with other parameters than signed"),
            ),
            path,
        ));
    }
    for path in &diff.missing {
        out.push(at(
            Finding::new(
                &rules::FILE_MISSING,
                subject,
                format!("{path}: signed but missing"),
            ),
            path,
        ));
    }
    for path in &diff.extra {
        out.push(at(
            Finding::new(
                &rules::FILE_UNSIGNED,
                subject,
                format!("{path}: not covered by the signature"),
            ),
            path,
        ));
    }
    for (old, new) in &diff.renamed {
        out.push(
            at(
                Finding::new(
                    &rules::FILE_RENAMED,
                    subject,
                    format!("{old}: renamed to {new}"),
                ),
                new,
            )
            .with_evidence(json!({"signed_name": old, "local_name": new})),
        );
    }
    out
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
