//! Rules about the files themselves rather than one format.

use mlsec_core::{declare_rule, Rule};

declare_rule! {
    /// ## What it does
    /// Flags a symbolic link inside a scanned folder that points outside the
    /// folder (or a dangling link).
    ///
    /// ## Why is this bad?
    /// Loaders follow links. A model folder whose `pytorch_model.bin` links to
    /// `~/.ssh/id_rsa` leaks that key to whoever receives the "model" (for
    /// example when the folder is uploaded to a hub), and a link to a file the
    /// attacker controls swaps the weights after review.
    ///
    /// ## Example
    /// `model/weights.bin -> /home/alice/.aws/credentials`
    ///
    /// ## How to fix
    /// Replace the link with the file it should be, or remove it. mlsec does not
    /// follow links out of the folder it scans.
    pub const SYMLINK_ESCAPE = Rule {
        id: "SCN001", name: "symlink-escapes-root", severity: High, category: Suspicious,
        summary: "Symbolic link points outside the scanned folder",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a file that could not be read (permissions, I/O error, vanished
    /// during the scan) or is not a regular file.
    ///
    /// ## Why is this bad?
    /// A file that was not read was not judged. mlsec fails closed: it is never
    /// reported clean.
    ///
    /// ## Example
    /// `model.pt: Permission denied (os error 13)`
    ///
    /// ## How to fix
    /// Make the file readable by the scanning user and scan again.
    pub const UNREADABLE = Rule {
        id: "SCN002", name: "unreadable-file", severity: High, category: Error,
        summary: "File could not be read, so it was not judged",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports that a scan limit was hit: archive nesting depth, decompressed
    /// size, member count, pickle size, memo entries or stack depth.
    ///
    /// ## Why is this bad?
    /// Limits keep a hostile file from exhausting memory or time, but the part
    /// beyond the limit was not judged. mlsec fails closed: the file is an error,
    /// not clean.
    ///
    /// ## Example
    /// A zip nested 20 levels deep, or a pickle that declares a 4 GiB string.
    ///
    /// ## How to fix
    /// If the file is legitimate, unpack or re-save it in a simpler form (for
    /// example safetensors). Otherwise treat it as hostile.
    pub const LIMIT_EXCEEDED = Rule {
        id: "SCN003", name: "limit-exceeded", severity: High, category: Error,
        summary: "A scan limit was hit, so part of the file was not judged",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a file that is also a zip archive: a central directory sits at its
    /// end although the file starts as something else (a pickle, an npy array,
    /// a safetensors file). The appended zip's members are scanned too.
    ///
    /// ## Why is this bad?
    /// Loaders disagree on what such a polyglot is. `torch.load` and
    /// `numpy.load` look at the first bytes; Python's `zipfile` (used by Keras
    /// and many tools) reads the directory from the end. A scanner that judges
    /// only one view can be shown a harmless file while a loader runs the other.
    ///
    /// ## Example
    /// `cat clean.pkl payload.zip > model.bin`
    ///
    /// ## How to fix
    /// Re-save the model from a trusted source; no legitimate model file is two
    /// formats at once.
    pub const POLYGLOT_ZIP = Rule {
        id: "SCN004", name: "appended-zip-polyglot", severity: High, category: Suspicious,
        summary: "File of one format also carries a zip archive at its end",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a file that is valid in two formats from its first byte: a tar,
    /// zlib stream, GGUF, HDF5 or zip that a pickle loader would also read as
    /// a pickle that imports or calls code, or a file of another format that
    /// starts with a valid tar header. Every view is judged; the worst wins.
    ///
    /// ## Why is this bad?
    /// Loaders pick a view by their own rules: `pickle.load`, `joblib.load`
    /// and `np.load(allow_pickle=True)` read a pickle from byte 0 whatever the
    /// magic number says; legacy `torch.load` tries `tarfile` first. A scanner
    /// that judges only the format its magic number names can be shown a
    /// harmless archive while the loader runs the pickle.
    ///
    /// ## Example
    /// `(S'id'\nios\nsystem\n.` is a protocol-0 pickle that calls
    /// `os.system("id")`, and its first two bytes also make a valid zlib header.
    ///
    /// ## How to fix
    /// Treat the file as hostile and re-save the model from a trusted source;
    /// no legitimate model file is two formats at once.
    pub const POLYGLOT = Rule {
        id: "SCN005", name: "format-polyglot", severity: High, category: Suspicious,
        summary: "File is valid as two formats and a loader may pick the dangerous one",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a file named like a model (`.pt`, `.pth`, `.bin`, `.ckpt`,
    /// `.pkl`, `.pickle`, `.joblib`, `.h5`, `.hdf5`, `.keras`, `.onnx`, `.gguf`,
    /// `.safetensors`, `.npy`, `.npz`) whose content no parser recognises, so
    /// nothing in it was judged.
    ///
    /// ## Why is this bad?
    /// A loader picks its reader by its own rules, not by mlsec's: a file
    /// that is a model to the loader but unrecognisable to the scanner (a new
    /// format version, a corrupted or deliberately mangled header) would
    /// otherwise pass without a word. It is low, since most such files are
    /// merely broken downloads, but someone should look.
    ///
    /// ## Example
    /// `pytorch_model.bin` that holds an HTML error page, or a pickle whose
    /// first opcode was overwritten.
    ///
    /// ## How to fix
    /// Download the file again from its source and compare its digest; if the
    /// format is legitimate and new to mlsec, report it.
    pub const EXTENSION_MISMATCH = Rule {
        id: "SCN006", name: "model-extension-unrecognised", severity: Low, category: Suspicious,
        summary: "File is named like a model, but no parser recognises its content",
    };
}

/// Extensions loaders take for model files (lowercase, without the dot).
pub const MODEL_EXTENSIONS: &[&str] = &[
    "pt",
    "pth",
    "bin",
    "ckpt",
    "pkl",
    "pickle",
    "joblib",
    "h5",
    "hdf5",
    "keras",
    "onnx",
    "gguf",
    "safetensors",
    "npy",
    "npz",
];

pub const RULES: &[Rule] = &[
    SYMLINK_ESCAPE,
    UNREADABLE,
    LIMIT_EXCEEDED,
    POLYGLOT_ZIP,
    POLYGLOT,
    EXTENSION_MISMATCH,
];
