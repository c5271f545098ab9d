//! Software dependencies declared next to a model: requirements.txt, the
//! `[project].dependencies` of pyproject.toml (PEP 508 strings), poetry.lock,
//! Pipfile.lock and conda's environment.yml.

use std::path::Path;

/// Where a package comes from, which decides its purl type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Pypi,
    Conda,
}

/// A declared package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The name as written.
    pub name: String,
    /// The exact version when pinned with `==` (or `===`), else `None`.
    pub version: Option<String>,
    /// The version constraint as written (`>=1.0,<2`), when there is one.
    pub constraint: Option<String>,
    /// The file it was declared in, relative to the model folder.
    pub source: String,
}

impl Package {
    /// The package URL: `pkg:pypi/<normalised name>[@version]`, or
    /// `pkg:conda/<name>[@version]` for conda packages.
    pub fn purl(&self) -> String {
        let (kind, name) = match self.ecosystem {
            Ecosystem::Pypi => ("pypi", normalise(&self.name)),
            Ecosystem::Conda => ("conda", self.name.to_ascii_lowercase()),
        };
        match &self.version {
            Some(v) => format!("pkg:{kind}/{name}@{}", percent_encode(v)),
            None => format!("pkg:{kind}/{name}"),
        }
    }

    fn key(&self) -> (Ecosystem, String) {
        (self.ecosystem, normalise(&self.name))
    }
}

/// PEP 503 name normalisation (lower case, runs of `-_.` become `-`), which the
/// purl spec asks for pypi names.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_sep = false;
        }
    }
    out
}

/// Versions are PEP 440 (`1.0+local`, `1!2.0`): encode what purl reserves.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Files larger than this are not dependency lists.
const MAX_DEPENDENCY_FILE: u64 = 4 * 1024 * 1024;

/// Reads the dependency files in `dir` that are present (requirements.txt,
/// pyproject.toml, poetry.lock, Pipfile.lock, environment.yml). Packages
/// declared twice are listed once (the first pinned declaration wins). A file
/// that cannot be understood adds a warning naming it, and the others are
/// still read.
pub fn read_dependencies(dir: &Path, warnings: &mut Vec<String>) -> Vec<Package> {
    type Parser = fn(&str, &str) -> Result<Vec<Package>, String>;
    let sources: [(&str, Parser); 6] = [
        ("requirements.txt", |t, n| Ok(parse_requirements(t, n))),
        ("pyproject.toml", |t, _| parse_pyproject(t)),
        ("poetry.lock", |t, _| parse_poetry_lock(t)),
        ("Pipfile.lock", |t, _| parse_pipfile_lock(t)),
        ("environment.yml", parse_conda_environment),
        ("environment.yaml", parse_conda_environment),
    ];
    let mut found = Vec::new();
    for (name, parse) in sources {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        match read_text(&path)
            .and_then(|text| parse(&text, name).map_err(|e| format!("{}: {e}", path.display())))
        {
            Ok(pkgs) => found.extend(pkgs),
            Err(e) => warnings.push(format!("{e}; its packages are left out of the BOM")),
        }
    }
    let mut unique: Vec<Package> = Vec::new();
    for pkg in found {
        match unique.iter_mut().find(|p| p.key() == pkg.key()) {
            Some(existing) if existing.version.is_none() && pkg.version.is_some() => {
                *existing = pkg
            }
            Some(_) => {}
            None => unique.push(pkg),
        }
    }
    unique
}

fn read_text(path: &Path) -> Result<String, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if len > MAX_DEPENDENCY_FILE {
        return Err(format!("{}: {len} bytes, too large", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

/// Parses requirements.txt lines. Options (`-r`, `-e`, `--index-url`), URLs
/// and local paths name no index package and are skipped.
pub fn parse_requirements(text: &str, source: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        // A trailing backslash continues the requirement on the next line.
        if let Some(head) = raw.strip_suffix('\\') {
            logical.push_str(head);
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        let line = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(i) => line.get(..i).unwrap_or_default().to_string(),
            None => line,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        if let Some(pkg) = parse_pep508(line, source) {
            out.push(pkg);
        }
    }
    out
}

/// Parses the `[project].dependencies` array of pyproject.toml.
pub fn parse_pyproject(text: &str) -> Result<Vec<Package>, String> {
    let doc: toml::Table = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let deps = doc
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array());
    Ok(deps
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str())
        .filter_map(|d| parse_pep508(d, "pyproject.toml"))
        .collect())
}

/// Reads the `[[package]]` tables of poetry.lock: every package is pinned.
pub fn parse_poetry_lock(text: &str) -> Result<Vec<Package>, String> {
    let doc: toml::Table = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let packages = doc.get("package").and_then(|p| p.as_array());
    Ok(packages
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            let version = p.get("version").and_then(|v| v.as_str());
            Some(pinned(Ecosystem::Pypi, name, version, "poetry.lock"))
        })
        .collect())
}

/// Reads the `default` and `develop` sections of Pipfile.lock, whose versions
/// are written `==X`.
pub fn parse_pipfile_lock(text: &str) -> Result<Vec<Package>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut out = Vec::new();
    for section in ["default", "develop"] {
        let Some(map) = doc.get(section).and_then(|s| s.as_object()) else {
            continue;
        };
        // Name order, however serde_json keeps object keys.
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_by_key(|(name, _)| name.as_str());
        for (name, entry) in entries {
            let version = entry
                .get("version")
                .and_then(|v| v.as_str())
                .and_then(|v| v.strip_prefix("=="));
            out.push(pinned(Ecosystem::Pypi, name, version, "Pipfile.lock"));
        }
    }
    Ok(out)
}

/// Reads conda's environment.yml: `dependencies` holds `name=version=build`
/// (or `channel::name ...`) strings, and a `pip:` list of PEP 508 strings.
pub fn parse_conda_environment(text: &str, source: &str) -> Result<Vec<Package>, String> {
    if text.len() > crate::card::MAX_FRONT_MATTER {
        return Err(format!(
            "more than the {} bytes read from a conda environment",
            crate::card::MAX_FRONT_MATTER
        ));
    }
    crate::card::check_flow_nesting(text)?;
    let doc: serde_json::Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let mut out = Vec::new();
    let deps = doc.get("dependencies").and_then(|d| d.as_array());
    for dep in deps.into_iter().flatten() {
        if let Some(spec) = dep.as_str() {
            if let Some(pkg) = parse_conda_spec(spec, source) {
                out.push(pkg);
            }
        } else if let Some(pip) = dep.get("pip").and_then(|p| p.as_array()) {
            out.extend(
                pip.iter()
                    .filter_map(|p| p.as_str())
                    .filter_map(|p| parse_pep508(p, source)),
            );
        }
    }
    Ok(out)
}

/// `[channel::]name[=version[=build]]` or `name>=1.0`; pinned only with an
/// exact version.
fn parse_conda_spec(spec: &str, source: &str) -> Option<Package> {
    let spec = spec.split_once("::").map_or(spec, |(_, s)| s).trim();
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = spec.get(..name_end)?;
    if name.is_empty() {
        return None;
    }
    let rest = spec.get(name_end..)?.trim();
    let version = rest
        .strip_prefix("==")
        .or_else(|| rest.strip_prefix('='))
        .map(|v| v.split('=').next().unwrap_or_default().trim())
        .filter(|v| !v.is_empty() && !v.contains(['*', ',', '<', '>', '|']));
    let mut pkg = pinned(Ecosystem::Conda, name, version, source);
    pkg.constraint = (!rest.is_empty() && version.is_none()).then(|| rest.to_string());
    Some(pkg)
}

fn pinned(ecosystem: Ecosystem, name: &str, version: Option<&str>, source: &str) -> Package {
    Package {
        ecosystem,
        name: name.to_string(),
        version: version.map(str::to_string),
        constraint: None,
        source: source.to_string(),
    }
}

/// Reads `name[extras] (specifiers) ; markers`. Returns `None` for direct
/// references (`name @ url`) and anything that does not start with a name.
pub fn parse_pep508(spec: &str, source: &str) -> Option<Package> {
    let spec = spec.split(';').next().unwrap_or_default().trim();
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = spec.get(..name_end)?;
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = spec.get(name_end..)?.trim_start();
    if rest.starts_with('[') {
        rest = rest.get(rest.find(']')?.saturating_add(1)..)?.trim_start();
    }
    if rest.starts_with('@') {
        return None;
    }
    let constraint = rest.trim_start_matches('(').trim_end_matches(')').trim();
    if !constraint.is_empty() && !constraint.starts_with(['=', '<', '>', '!', '~']) {
        return None;
    }
    let version = constraint
        .strip_prefix("===")
        .or_else(|| constraint.strip_prefix("=="))
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains([',', '*', ' ']));
    Some(Package {
        ecosystem: Ecosystem::Pypi,
        name: name.to_string(),
        version: version.map(str::to_string),
        constraint: (!constraint.is_empty()).then(|| constraint.to_string()),
        source: source.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(spec: &str) -> Package {
        parse_pep508(spec, "t").unwrap()
    }

    #[test]
    fn pinned_packages_get_versioned_purls() {
        assert_eq!(pkg("torch==2.3.1").purl(), "pkg:pypi/torch@2.3.1");
        assert_eq!(
            pkg("Sentence_Transformers[train] == 3.0.1 ; python_version>'3.8'").purl(),
            "pkg:pypi/sentence-transformers@3.0.1"
        );
        assert_eq!(
            pkg("torch==2.3.1+cu121").purl(),
            "pkg:pypi/torch@2.3.1%2Bcu121"
        );
    }

    #[test]
    fn ranges_and_wildcards_are_not_pinned() {
        let p = pkg("numpy>=1.24,<2");
        assert_eq!(p.version, None);
        assert_eq!(p.constraint.as_deref(), Some(">=1.24,<2"));
        assert_eq!(p.purl(), "pkg:pypi/numpy");
        assert_eq!(pkg("numpy==1.*").version, None);
        assert_eq!(pkg("tokenizers").constraint, None);
    }

    #[test]
    fn direct_references_and_options_are_skipped() {
        let reqs = "# comment\n-r other.txt\n--index-url https://x\n\
                    -e ./local\nfoo @ https://example.com/foo.whl\n./wheel.whl\n\
                    transformers==4.41.0  # pinned\nsafetensors>=0.4 \\\n  ,<1\n";
        let pkgs = parse_requirements(reqs, "requirements.txt");
        let names: Vec<_> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["transformers", "safetensors"]);
        assert_eq!(pkgs[0].version.as_deref(), Some("4.41.0"));
        assert_eq!(pkgs[1].constraint.as_deref(), Some(">=0.4   ,<1"));
    }

    #[test]
    fn pyproject_project_dependencies() {
        let text = "[project]\nname = \"x\"\ndependencies = [\"torch==2.3.1\", \"numpy>=1\"]\n";
        let pkgs = parse_pyproject(text).unwrap();
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].source, "pyproject.toml");
        assert!(parse_pyproject("[project\n").unwrap_err().contains("TOML"));
        assert!(parse_pyproject("[tool.x]\n").unwrap().is_empty());
    }

    #[test]
    fn poetry_lock_packages_are_pinned() {
        let text = "[[package]]\nname = \"Torch\"\nversion = \"2.3.1\"\n\n\
                    [[package]]\nname = \"numpy\"\nversion = \"1.26.4\"\n\n\
                    [metadata]\nlock-version = \"2.0\"\n";
        let purls: Vec<_> = parse_poetry_lock(text)
            .unwrap()
            .iter()
            .map(Package::purl)
            .collect();
        assert_eq!(purls, ["pkg:pypi/torch@2.3.1", "pkg:pypi/numpy@1.26.4"]);
        assert!(parse_poetry_lock("[[package]\n")
            .unwrap_err()
            .contains("TOML"));
    }

    #[test]
    fn pipfile_lock_default_and_develop() {
        let text = r#"{"_meta": {}, "default": {"torch": {"version": "==2.3.1"}},
                       "develop": {"pytest": {"version": "==8.0.0"}, "local": {"path": "."}}}"#;
        let purls: Vec<_> = parse_pipfile_lock(text)
            .unwrap()
            .iter()
            .map(Package::purl)
            .collect();
        assert_eq!(
            purls,
            [
                "pkg:pypi/torch@2.3.1",
                "pkg:pypi/local",
                "pkg:pypi/pytest@8.0.0"
            ]
        );
        assert!(parse_pipfile_lock("{").unwrap_err().contains("JSON"));
    }

    #[test]
    fn conda_environment_with_pip_section() {
        let text = "name: m\nchannels: [conda-forge]\ndependencies:\n\
                    - python=3.11\n- conda-forge::pytorch=2.3.1=py3.11_cuda\n\
                    - numpy>=1.26\n- pip:\n  - transformers==4.41.0\n";
        let pkgs = parse_conda_environment(text, "environment.yml").unwrap();
        let purls: Vec<_> = pkgs.iter().map(Package::purl).collect();
        assert_eq!(
            purls,
            [
                "pkg:conda/python@3.11",
                "pkg:conda/pytorch@2.3.1",
                "pkg:conda/numpy",
                "pkg:pypi/transformers@4.41.0"
            ]
        );
        assert_eq!(pkgs[2].constraint.as_deref(), Some(">=1.26"));
        assert!(parse_conda_environment("dependencies: [", "e")
            .unwrap_err()
            .contains("YAML"));
    }

    #[test]
    fn names_normalise_per_pep_503() {
        assert_eq!(normalise("Foo__Bar.baz"), "foo-bar-baz");
    }
}
