use crate::ScanConfig;
use mlsec_core::{Finding, Limits, Rule, Verdict};
use std::path::Path;

/// Where the scanner is: which file, which member inside it, how deep.
#[derive(Clone)]
pub struct Ctx<'a> {
    pub config: &'a ScanConfig,
    /// The file as reported (relative to what the user named).
    pub subject: &'a str,
    /// Path of the current archive member; nested archives joined with `!`;
    /// empty for the file itself.
    pub member: String,
    /// Archive / compression nesting depth (0 for the file itself).
    pub depth: u32,
    /// Folder that holds the file on disk, for formats that reference sibling
    /// files (ONNX external data); `None` inside archives.
    pub dir: Option<&'a Path>,
}

impl<'a> Ctx<'a> {
    pub fn new(config: &'a ScanConfig, subject: &'a str, dir: Option<&'a Path>) -> Self {
        Ctx {
            config,
            subject,
            member: String::new(),
            depth: 0,
            dir,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// A finding of `rule` at `offset` in the current member (or file).
    pub fn finding(&self, rule: &Rule, offset: Option<u64>, message: impl Into<String>) -> Finding {
        Finding::new(rule, self.subject, message).at(Some(&self.member), offset)
    }

    /// The context for member `name` of the current archive (one level deeper).
    /// `same_container` keeps the member path flat (used for the stream inside a
    /// compressed wrapper, which has no name of its own).
    pub fn child(&self, name: &str) -> Ctx<'a> {
        let member = match (self.member.is_empty(), name.is_empty()) {
            (true, _) => name.to_string(),
            (false, true) => self.member.clone(),
            (false, false) => format!("{}!{}", self.member, name),
        };
        Ctx {
            config: self.config,
            subject: self.subject,
            member,
            depth: self.depth + 1,
            dir: None,
        }
    }
}

/// What scanning one file produced.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Format of the file itself, as the first parser to recognise it named it.
    pub format: Option<String>,
    /// True once some parser recognised (part of) the content and judged it.
    pub recognised: bool,
}

impl Report {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Records that `format` was recognised; the first call names the file's format.
    pub fn recognise(&mut self, format: &str) {
        self.recognised = true;
        if self.format.is_none() {
            self.format = Some(format.to_string());
        }
    }

    /// Unsupported when nothing was recognised, else the worst verdict any finding implies.
    pub fn verdict(&self) -> Verdict {
        let worst = self
            .findings
            .iter()
            .map(|f| Verdict::from(f.category))
            .max();
        match (self.recognised, worst) {
            (_, Some(v)) if v > Verdict::Clean => v,
            (false, _) => Verdict::Unsupported,
            (true, _) => Verdict::Clean,
        }
    }
}
