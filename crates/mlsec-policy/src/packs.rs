//! The bundled policy packs, compiled into the binary.

/// A bundled pack: its Rego files (rules and their tests) by name.
pub struct Pack {
    pub name: &'static str,
    pub about: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

macro_rules! files {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../packs/", $path)))),*]
    };
}

const BASELINE: &[(&str, &str)] = files!(
    "lib/pii.rego",
    "baseline/mlp001.rego",
    "baseline/mlp001_test.rego",
    "baseline/mlp002.rego",
    "baseline/mlp002_test.rego",
    "baseline/mlp003.rego",
    "baseline/mlp003_test.rego",
    "baseline/mlp004.rego",
    "baseline/mlp004_test.rego",
    "baseline/mlp005.rego",
    "baseline/mlp005_test.rego",
    "baseline/mlp006.rego",
    "baseline/mlp006_test.rego",
    "baseline/mlp007.rego",
    "baseline/mlp007_test.rego",
    "lib/fairness.rego",
    "baseline/mlp008.rego",
    "baseline/mlp008_test.rego",
    "baseline/mlp009.rego",
    "baseline/mlp009_test.rego",
    "baseline/mlp010.rego",
    "baseline/mlp010_test.rego",
);

const STRICT: &[(&str, &str)] = files!(
    "strict/mlp101.rego",
    "strict/mlp101_test.rego",
    "strict/mlp102.rego",
    "strict/mlp102_test.rego",
    "strict/mlp103.rego",
    "strict/mlp103_test.rego",
    "strict/mlp104.rego",
    "strict/mlp104_test.rego",
    "strict/mlp105.rego",
    "strict/mlp105_test.rego",
    "strict/mlp106.rego",
    "strict/mlp106_test.rego",
);

/// Every bundled pack. `strict` holds only what it adds: loading it loads
/// `baseline` first.
pub const PACKS: &[Pack] = &[
    Pack {
        name: "baseline",
        about: "the defaults: no code execution in models, signatures and manifests that are checked hold, no secrets or poisoning in data, no evasion or membership leak in validated models; personal data and unfair decisions are warnings",
        files: BASELINE,
    },
    Pack {
        name: "strict",
        about: "baseline, and every model signed and described by a BOM, every dataset pinned by a signed manifest, every model file judged to its end, no personal data, no unfair decisions",
        files: STRICT,
    },
];

pub fn pack_names() -> Vec<&'static str> {
    PACKS.iter().map(|p| p.name).collect()
}

/// The packs to load for the names asked, each once, with what they extend first.
pub(crate) fn resolve(names: &[String]) -> Result<Vec<&'static Pack>, String> {
    let mut out: Vec<&'static Pack> = Vec::new();
    for name in names {
        let wanted = match name.as_str() {
            "strict" => vec!["baseline", "strict"],
            other => vec![other],
        };
        for w in wanted {
            let pack = PACKS.iter().find(|p| p.name == w).ok_or_else(|| {
                format!(
                    "no bundled policy pack `{w}` (there are: {})",
                    pack_names().join(", ")
                )
            })?;
            if !out.iter().any(|p| p.name == pack.name) {
                out.push(pack);
            }
        }
    }
    Ok(out)
}
