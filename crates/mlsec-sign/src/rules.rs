//! Findings of `mlsec verify`: each says which file differs from the signed
//! manifest, or why the signature itself was not accepted.

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Reports a signed file whose content no longer matches its digest in the
    /// signature.
    ///
    /// ## Why is this bad?
    /// The model that was reviewed and signed is not the model on disk: one
    /// changed byte in the weights can plant a backdoor, and a changed pickle can
    /// run code when loaded.
    ///
    /// ## Example
    /// `model.safetensors` was signed at training time and later rewritten.
    ///
    /// ## How to fix
    /// Restore the file from the signed release, or review the change and sign
    /// the model again.
    pub const FILE_CHANGED = Rule {
        id: "SIG001", name: "signed-file-changed", severity: Critical, category: Suspicious,
        summary: "A signed file's content differs from its signed digest",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a file listed in the signature that is not in the model folder.
    ///
    /// ## Why is this bad?
    /// A model with a missing file is not the model that was signed; loaders may
    /// fall back to other files or defaults (a missing tokenizer config, a
    /// missing shard).
    ///
    /// ## Example
    /// The signature lists `tokenizer.json`, the folder has none.
    ///
    /// ## How to fix
    /// Restore the file from the signed release.
    pub const FILE_MISSING = Rule {
        id: "SIG002", name: "signed-file-missing", severity: High, category: Suspicious,
        summary: "A file listed in the signature is missing",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a file in the model folder that the signature does not cover.
    ///
    /// ## Why is this bad?
    /// Loaders pick up files by name: an added `model.pkl`, `config.json` or
    /// chat template changes what runs, although every signed file is intact.
    ///
    /// ## Example
    /// `pytorch_model.bin` appears next to the signed `model.safetensors`.
    ///
    /// ## How to fix
    /// Remove the file, or sign the model again with it. `--ignore-unsigned-files`
    /// checks only the signed files, and `--ignore-paths` leaves paths out.
    pub const FILE_UNSIGNED = Rule {
        id: "SIG003", name: "unsigned-file", severity: High, category: Suspicious,
        summary: "A file in the model is not covered by the signature",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a signed file that is gone while a new, unsigned file has exactly
    /// its content: the file was renamed.
    ///
    /// ## Why is this bad?
    /// Names decide what loaders read: renaming `model.safetensors.bak` over
    /// `model.safetensors` swaps weights without changing a single digest.
    ///
    /// ## Example
    /// `weights/a.bin` was signed; the folder now has `weights/b.bin` with the same bytes.
    ///
    /// ## How to fix
    /// Restore the original name, or sign the model again.
    pub const FILE_RENAMED = Rule {
        id: "SIG004", name: "signed-file-renamed", severity: High, category: Suspicious,
        summary: "A signed file was renamed",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a signature that was not accepted: a malformed signature file, a
    /// signature made by another key, an untrusted certificate, or a statement
    /// that is not a valid model_signing manifest.
    ///
    /// ## Why is this bad?
    /// Without a valid signature from a trusted key nothing about the model's
    /// origin is known, whatever its files contain.
    ///
    /// ## Example
    /// `key mismatch: the signature was made with key 3f2a…, the given key is 9c1b…`
    ///
    /// ## How to fix
    /// Verify with the public key (or CA certificates) of the expected signer,
    /// or obtain a signature from them.
    pub const SIGNATURE_INVALID = Rule {
        id: "SIG005", name: "signature-not-valid", severity: Critical, category: Error,
        summary: "The signature is malformed, untrusted or made by another key",
    };
}

pub const RULES: &[Rule] = &[
    FILE_CHANGED,
    FILE_MISSING,
    FILE_UNSIGNED,
    FILE_RENAMED,
    SIGNATURE_INVALID,
];
