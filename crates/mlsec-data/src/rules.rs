//! The rules of `mlsec data verify` (DAT001-DAT008, DAT011, DAT012) and the
//! reader errors every `mlsec data` command reports (DAT009, DAT010).

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Reports a file whose SHA-256 differs from the one in the manifest. For
    /// tables, DAT004-DAT007 then say which rows or columns changed.
    ///
    /// ## Why is this bad?
    /// A pinned dataset changed after it was reviewed. One edited row is enough
    /// to poison a model (a backdoor trigger, a flipped label) or to leak data.
    ///
    /// ## Example
    /// `train.csv: SHA-256 9f2c… in the manifest, now 41d8…`
    ///
    /// ## How to fix
    /// Find out who changed the file and why. If the change is wanted, review the
    /// changed rows and write a new manifest with `mlsec data manifest`.
    pub const FILE_CHANGED = Rule {
        id: "DAT001", name: "file-changed", severity: High, category: Suspicious,
        summary: "File content differs from the manifest",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a file present now that the manifest does not list.
    ///
    /// ## Why is this bad?
    /// Training pipelines usually read every file of a dataset folder: a new
    /// file is new training data that nobody reviewed.
    ///
    /// ## Example
    /// `extra/poison.jsonl: not in the manifest`
    ///
    /// ## How to fix
    /// Remove the file, or review it and write a new manifest.
    pub const FILE_ADDED = Rule {
        id: "DAT002", name: "file-added", severity: High, category: Suspicious,
        summary: "File is not listed in the manifest",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a file the manifest lists that is missing now.
    ///
    /// ## Why is this bad?
    /// Removing data changes what a model learns as surely as adding it (for
    /// example dropping the examples of one class or one group of people).
    ///
    /// ## Example
    /// `val.parquet: in the manifest, missing now`
    ///
    /// ## How to fix
    /// Restore the file from the pinned source, or write a new manifest if the
    /// removal is wanted.
    pub const FILE_REMOVED = Rule {
        id: "DAT003", name: "file-removed", severity: High, category: Suspicious,
        summary: "File listed in the manifest is missing",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports rows of a table whose content changed in place: the diff of the
    /// old and new row digests shows a deleted row replaced by an inserted one at
    /// the same position. The finding names the rows (1-based data rows, the
    /// header not counted) in the new file and, in `evidence`, in the old one.
    ///
    /// ## Why is this bad?
    /// An edited row is the quietest way to poison a dataset: a flipped label, a
    /// trigger phrase, a changed price.
    ///
    /// ## Example
    /// `train.csv: rows 17-18 changed (rows 17-18 in the manifest)`
    ///
    /// ## How to fix
    /// Compare the rows with the pinned copy; restore them or write a new
    /// manifest after review.
    pub const ROWS_CHANGED = Rule {
        id: "DAT004", name: "rows-changed", severity: High, category: Suspicious,
        summary: "Rows of a table changed",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports rows present now that the manifest's table did not have, with
    /// their 1-based row numbers in the new file.
    ///
    /// ## Why is this bad?
    /// Injected rows are the classic data-poisoning attack: a few hundred
    /// crafted examples can plant a backdoor.
    ///
    /// ## Example
    /// `train.jsonl: rows 101-140 inserted`
    ///
    /// ## How to fix
    /// Review the inserted rows; remove them or write a new manifest.
    pub const ROWS_INSERTED = Rule {
        id: "DAT005", name: "rows-inserted", severity: High, category: Suspicious,
        summary: "Rows were inserted into a table",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports rows of the manifest's table that are gone now, with their 1-based
    /// row numbers in the old (pinned) file.
    ///
    /// ## Why is this bad?
    /// Deleting rows skews what a model learns, for example by removing the
    /// counter-examples a safety filter was trained on.
    ///
    /// ## Example
    /// `train.csv: row 42 of the manifest deleted`
    ///
    /// ## How to fix
    /// Restore the rows from the pinned source, or write a new manifest.
    pub const ROWS_DELETED = Rule {
        id: "DAT006", name: "rows-deleted", severity: High, category: Suspicious,
        summary: "Rows were deleted from a table",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a table whose schema (column names, order or types) or format
    /// differs from the manifest.
    ///
    /// ## Why is this bad?
    /// A renamed or retyped column silently changes features: a pipeline may
    /// read the wrong column or drop values it cannot parse.
    ///
    /// ## Example
    /// `train.csv: columns [id, text, label] in the manifest, now [id, label, text]`
    ///
    /// ## How to fix
    /// Restore the schema, or review the change and write a new manifest.
    pub const SCHEMA_CHANGED = Rule {
        id: "DAT007", name: "schema-changed", severity: High, category: Suspicious,
        summary: "Table schema differs from the manifest",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a manifest that cannot be trusted as the reference: not valid
    /// manifest JSON, an unknown version, or per-row digests that do not match
    /// the Merkle root recorded beside them.
    ///
    /// ## Why is this bad?
    /// Verification against a broken or edited manifest proves nothing.
    ///
    /// ## Example
    /// `manifest.json: train.csv: row digests do not match the Merkle root`
    ///
    /// ## How to fix
    /// Take the manifest from where it was pinned (ideally signed) and verify again.
    pub const BAD_MANIFEST = Rule {
        id: "DAT008", name: "bad-manifest", severity: High, category: Error,
        summary: "Manifest is malformed or inconsistent",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a data file that could not be read completely: ragged CSV rows,
    /// unterminated quotes, invalid UTF-8, a line that is not a JSON object, a
    /// truncated or corrupt Parquet file, a record over the size limit. The
    /// message names the file and the row or line.
    ///
    /// ## Why is this bad?
    /// What was not read was not checked. mlsec fails closed: the file is never
    /// reported clean.
    ///
    /// ## Example
    /// `users.csv: row 1041 (line 1043): 5 field(s) but the header has 4`
    ///
    /// ## How to fix
    /// Repair the file, or pass `--skip-bad-rows` to skip malformed rows with a
    /// warning (DAT010) and check the rest.
    pub const UNREADABLE_DATA = Rule {
        id: "DAT009", name: "unreadable-data", severity: High, category: Error,
        summary: "Data file could not be read completely",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports how many malformed rows or lines were skipped under
    /// `--skip-bad-rows`, with the first reasons in `evidence`.
    ///
    /// ## Why is this bad?
    /// Skipped rows were not checked; a training loader may still read them.
    ///
    /// ## Example
    /// `users.csv: 3 malformed row(s) skipped; first: row 1041: 5 field(s) but the header has 4`
    ///
    /// ## How to fix
    /// Repair or remove the malformed rows.
    pub const ROWS_SKIPPED = Rule {
        id: "DAT010", name: "rows-skipped", severity: Medium, category: Error,
        summary: "Malformed rows were skipped and not checked",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a data manifest whose signature was not accepted when
    /// `mlsec data verify` was given `--key` or `--certificate-chain`: a missing
    /// or malformed signature file, a signature by another key or an untrusted
    /// certificate, or a manifest that differs from the one signed.
    ///
    /// ## Why is this bad?
    /// An unsigned or re-signed manifest can be rewritten to match tampered data,
    /// so its verdict proves nothing about where the data came from.
    ///
    /// ## Example
    /// `manifest.json: the manifest's SHA-256 is 9c1b…, the signature covers 3f2a…`
    ///
    /// ## How to fix
    /// Verify with the public key (or CA certificates) of whoever pinned the data,
    /// and take the manifest and its `.sig` from where they were published.
    pub const MANIFEST_SIGNATURE_INVALID = Rule {
        id: "DAT011", name: "manifest-signature-not-valid", severity: Critical, category: Error,
        summary: "The manifest's signature is missing, malformed, untrusted or over other content",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a symbolic link met in a dataset folder by `mlsec data verify`,
    /// naming the link and its target: a link added since the manifest was
    /// written, or a pinned file replaced by a link. mlsec does not follow
    /// links, so it neither checks nor pins what one points to; `mlsec data
    /// manifest` refuses a folder holding one for the same reason.
    ///
    /// ## Why is this bad?
    /// A training loader reading the folder follows the link, so its target is
    /// training data. It can point outside the dataset (another user's files,
    /// a mounted share) and change there without any file in the folder
    /// changing: a way to swap data that a checksum of the folder never sees.
    ///
    /// ## Example
    /// `extra/train-2.csv: a symbolic link to /mnt/share/train-2.csv, not in the manifest; mlsec does not follow links, so what it points to is not checked`
    ///
    /// ## How to fix
    /// Remove the link, or replace it with a copy of its target, review the
    /// data, and write a new manifest.
    pub const SYMLINK = Rule {
        id: "DAT012", name: "symbolic-link", severity: High, category: Suspicious,
        summary: "Symbolic link in a dataset folder: what it points to is not checked",
    };
}

/// Every rule of the integrity commands.
pub const RULES: &[Rule] = &[
    FILE_CHANGED,
    FILE_ADDED,
    FILE_REMOVED,
    ROWS_CHANGED,
    ROWS_INSERTED,
    ROWS_DELETED,
    SCHEMA_CHANGED,
    BAD_MANIFEST,
    UNREADABLE_DATA,
    ROWS_SKIPPED,
    MANIFEST_SIGNATURE_INVALID,
    SYMLINK,
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_has_the_documented_sections_and_a_unique_id() {
        let mut ids = std::collections::HashSet::new();
        for r in super::RULES {
            assert!(ids.insert(r.id), "{} twice", r.id);
            assert_eq!(r.missing_doc_sections(), Vec::<&str>::new(), "{}", r.id);
        }
    }
}
