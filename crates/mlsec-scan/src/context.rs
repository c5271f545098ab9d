use crate::ScanConfig;
use mlsec_core::{Finding, Limits, Rule, Verdict};
use serde_json::json;
use std::collections::HashMap;
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

    /// The pickle machine's bounds from the configured limits.
    pub fn pickle_limits(&self) -> mlsec_formats::pickle::PickleLimits {
        let l = self.limits();
        mlsec_formats::pickle::PickleLimits {
            max_opcodes: l.max_pickle_opcodes,
            max_memo_entries: l.max_memo_entries,
            max_stack_depth: l.max_stack_depth,
            max_nesting: l.max_nesting,
        }
    }

    /// The protobuf walk's bounds (ONNX, SavedModel) from the configured limits.
    pub fn tree_limits(&self) -> mlsec_formats::protobuf::wire::TreeLimits {
        tree_limits(self.limits())
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

/// What one top-level file may cost, across every nesting level. Limits per
/// archive alone let a 29 KB zip nested five deep with 16 members a level
/// open a million members; this bounds the whole file.
#[derive(Debug)]
pub struct FileBudget {
    members_left: usize,
    decompressed_left: u64,
    spent: bool,
}

impl FileBudget {
    /// The budget of a top-level file of `size` bytes.
    pub fn for_file(size: u64, limits: &Limits) -> Self {
        FileBudget {
            members_left: limits
                .max_file_members
                .max(usize::try_from(size / 64).unwrap_or(usize::MAX)),
            decompressed_left: limits
                .max_file_decompressed_bytes
                .max(size.saturating_mul(limits.max_file_expansion)),
            spent: false,
        }
    }
}

impl Default for FileBudget {
    fn default() -> Self {
        FileBudget::for_file(0, &Limits::default())
    }
}

/// Findings of one rule in one file beyond this many are folded into one.
pub const KEPT_PER_RULE: usize = 5;
/// Locations listed in a folded finding.
const FOLDED_LOCATIONS: usize = 10;

/// Findings of one rule past [`KEPT_PER_RULE`]: counted, not kept.
#[derive(Debug)]
struct Folded {
    first: Finding,
    count: u64,
    locations: Vec<String>,
}

/// What scanning one file produced.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Format of the file itself, as the first parser to recognise it named it.
    pub format: Option<String>,
    /// True once some parser recognised (part of) the content and judged it.
    pub recognised: bool,
    pub budget: FileBudget,
    per_rule: HashMap<String, usize>,
    folded: Vec<Folded>,
}

impl Report {
    /// A report for a top-level file of `size` bytes.
    pub fn for_file(size: u64, limits: &Limits) -> Self {
        Report {
            budget: FileBudget::for_file(size, limits),
            ..Report::default()
        }
    }

    /// Adds a finding. The first [`KEPT_PER_RULE`] of a rule are kept as
    /// they are; the rest are counted with their first locations, so a file
    /// that repeats one problem a million times costs memory for five.
    pub fn push(&mut self, finding: Finding) {
        let seen = self.per_rule.entry(finding.rule.clone()).or_default();
        *seen += 1;
        if *seen <= KEPT_PER_RULE {
            self.findings.push(finding);
            return;
        }
        let location = finding.location.clone();
        match self
            .folded
            .iter_mut()
            .find(|f| f.first.rule == finding.rule)
        {
            Some(f) => {
                f.count += 1;
                f.first.severity = f.first.severity.max(finding.severity);
                if f.locations.len() < FOLDED_LOCATIONS {
                    f.locations.extend(location);
                }
            }
            None => self.folded.push(Folded {
                locations: location.into_iter().collect(),
                first: finding,
                count: 1,
            }),
        }
    }

    /// The findings, with one finding per rule for those folded by [`Report::push`].
    pub fn into_findings(mut self) -> Vec<Finding> {
        for f in self.folded {
            let mut finding = f.first;
            finding.message = format!(
                "{} more {} finding(s) in this file, not listed one by one; the first of them: {}",
                f.count, finding.rule, finding.message
            );
            finding.evidence = json!({ "folded": f.count, "locations": f.locations });
            self.findings.push(finding);
        }
        self.findings
    }

    /// Takes one archive member from the file's budget. False once the
    /// budget is spent: the caller opens no more members, and the file has
    /// one finding saying so.
    pub fn open_member(&mut self, ctx: &Ctx) -> bool {
        if self.budget.members_left == 0 {
            self.budget_spent(ctx, "archive members");
            return false;
        }
        self.budget.members_left -= 1;
        true
    }

    /// Bytes the file may still decompress.
    pub fn decompressed_left(&self) -> u64 {
        self.budget.decompressed_left
    }

    /// Takes `n` decompressed bytes from the file's budget; `cut` says that
    /// the decoder stopped at [`Report::decompressed_left`]. False when that
    /// spent the budget (with the finding).
    pub fn spend_decompressed(&mut self, ctx: &Ctx, n: u64, cut: bool) -> bool {
        self.budget.decompressed_left = self.budget.decompressed_left.saturating_sub(n);
        if cut {
            self.budget_spent(ctx, "decompressed bytes");
            return false;
        }
        true
    }

    fn budget_spent(&mut self, ctx: &Ctx, what: &str) {
        if std::mem::replace(&mut self.budget.spent, true) {
            return;
        }
        let limits = ctx.limits();
        let finding = Finding::new(
            &crate::rules::general::LIMIT_EXCEEDED,
            ctx.subject,
            format!(
                "the file's scan budget ran out of {what} at {} (at most {} members and {} decompressed bytes per file across all nesting levels, more for large files); nothing further was opened",
                if ctx.member.is_empty() { "the top level" } else { ctx.member.as_str() },
                limits.max_file_members,
                limits.max_file_decompressed_bytes,
            ),
        );
        self.findings.push(finding.at(Some(&ctx.member), None));
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
            .chain(self.folded.iter().map(|f| &f.first))
            .map(|f| Verdict::from(f.category))
            .max();
        match (self.recognised, worst) {
            (_, Some(v)) if v > Verdict::Clean => v,
            (false, _) => Verdict::Unsupported,
            (true, _) => Verdict::Clean,
        }
    }
}

/// The protobuf walk's bounds (ONNX, SavedModel) from `limits`, for callers
/// outside a scan (the BOM's model card).
pub fn tree_limits(limits: &mlsec_core::Limits) -> mlsec_formats::protobuf::wire::TreeLimits {
    mlsec_formats::protobuf::wire::TreeLimits {
        max_fields: limits.max_protobuf_fields,
        max_depth: limits.max_protobuf_depth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::general::UNREADABLE;

    #[test]
    fn repeats_of_one_rule_fold_into_one_finding_with_a_count() {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "f", None);
        let mut report = Report::default();
        for i in 0..1000u64 {
            report.push(ctx.finding(&UNREADABLE, Some(i), format!("problem {i}")));
        }
        report.push(ctx.finding(&crate::rules::general::POLYGLOT, None, "other rule"));
        assert_eq!(report.verdict(), Verdict::Error);
        let findings = report.into_findings();
        assert_eq!(findings.len(), KEPT_PER_RULE + 2);
        let folded = findings.last().unwrap();
        assert_eq!(folded.rule, "SCN002");
        assert_eq!(folded.evidence["folded"], 995);
        assert_eq!(folded.evidence["locations"][0], "@5");
        assert_eq!(folded.evidence["locations"].as_array().unwrap().len(), 10);
        assert!(folded.message.starts_with("995 more SCN002 finding(s)"));
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;
    use mlsec_formats::pickle::PickleLimits;
    use mlsec_formats::protobuf::wire::TreeLimits;

    /// mlsec-formats keeps its own defaults (it does not depend on core);
    /// they must be the numbers core's defaults give.
    #[test]
    fn the_parsers_defaults_are_core_defaults() {
        let config = crate::ScanConfig::default();
        let ctx = Ctx::new(&config, "t", None);
        assert_eq!(ctx.tree_limits(), TreeLimits::default());
        assert_eq!(ctx.pickle_limits(), PickleLimits::default());
    }
}
