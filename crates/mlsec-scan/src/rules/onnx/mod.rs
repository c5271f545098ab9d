//! Rules for ONNX models: external data that reaches outside the model
//! folder, operators from custom domains (native code), and tensors whose
//! declared size does not match their data.

use crate::rules::general::LIMIT_EXCEEDED;
use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Finding, Rule};
use mlsec_formats::onnx::{
    self, data_type, AttributeProto, GraphProto, ModelProto, NodeProto, Sniff, TensorProto,
    DATA_LOCATION_EXTERNAL,
};
use mlsec_formats::paths::{self, Rooted};
use mlsec_formats::protobuf::wire::WireError;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

declare_rule! {
    /// ## What it does
    /// Flags a tensor whose `external_data` `location` is an absolute path,
    /// contains a `..` component, or resolves outside the model's folder
    /// (through a symbolic link in any component of the path).
    ///
    /// ## Why is this bad?
    /// ONNX loaders read external tensor data from `location`, relative to the
    /// model file. A location of `../../home/user/.ssh/id_rsa`, `/etc/passwd`,
    /// or `weights/x` where `weights` links to `/` makes loading the model read
    /// any file the user can read into a tensor, from where the model's outputs
    /// or a later re-save can leak it (CVE-2022-25882, CVE-2024-27318,
    /// CVE-2026-27489).
    ///
    /// ## Example
    /// A tensor with `data_location: EXTERNAL` and
    /// `external_data { key: "location" value: "../../../../etc/shadow" }`.
    ///
    /// ## How to fix
    /// Keep external data files next to the model and reference them by a
    /// plain relative name (`model.onnx.data`); re-save with
    /// `onnx.save_model(model, path, save_as_external_data=True)`.
    pub const EXTERNAL_DATA_ESCAPE = Rule {
        id: "ONX001", name: "onnx-external-data-escapes-folder", severity: Critical, category: Malicious,
        summary: "ONNX external data location leaves the model folder",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags external tensor data whose `offset`/`length` are not numbers or
    /// reach past the end of the referenced file, a location that is missing
    /// or not a regular file.
    ///
    /// ## Why is this bad?
    /// Runtimes memory-map or read `length` bytes at `offset`; out-of-range
    /// values have caused out-of-bounds reads in ONNX loaders, and a location
    /// naming a device or FIFO can hang or exhaust the loading process. A model
    /// whose data does not fit its files is at best corrupt.
    ///
    /// ## Example
    /// `external_data { key: "offset" value: "4096" } { key: "length" value:
    /// "99999999999" }` for a 10 MB `model.onnx.data`.
    ///
    /// ## How to fix
    /// Re-export the model so its external data is written afresh.
    pub const EXTERNAL_DATA_BOUNDS = Rule {
        id: "ONX002", name: "onnx-external-data-out-of-bounds", severity: High, category: Error,
        summary: "ONNX external data offset/length outside the referenced file",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags nodes whose operator domain is neither a standard ONNX domain
    /// (`""`, `ai.onnx`, `ai.onnx.ml`, `ai.onnx.training`,
    /// `ai.onnx.preview.training`), a well-known runtime contrib domain, nor a
    /// function defined inside the model.
    ///
    /// ## Why is this bad?
    /// A custom-domain operator only runs if the user loads a native custom
    /// operator library (`SessionOptions.register_custom_ops_library`): the
    /// model asks for native code that is not in the file and that nobody
    /// reviewed with it.
    ///
    /// ## Example
    /// A node `op_type: "Exec" domain: "com.attacker.ops"`.
    ///
    /// ## How to fix
    /// Replace custom operators with standard ones, or ship and review the
    /// operator library with the model and allow the domain knowingly.
    pub const CUSTOM_DOMAIN = Rule {
        id: "ONX003", name: "onnx-custom-operator-domain", severity: Medium, category: Suspicious,
        summary: "ONNX operator from a custom domain needs a native operator library",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports operators from well-known runtime contrib domains such as
    /// `com.microsoft` (ONNX Runtime contrib ops) or `ai.onnx.contrib`
    /// (onnxruntime-extensions).
    ///
    /// ## Why is this bad?
    /// It is not: these operators ship with common runtimes. The report says
    /// which runtime the model needs, and that it is not portable ONNX.
    ///
    /// ## Example
    /// `op_type: "FusedMatMul" domain: "com.microsoft"` in an optimised model.
    ///
    /// ## How to fix
    /// Nothing to fix; export without runtime-specific optimisation if you need
    /// portable ONNX.
    pub const CONTRIB_DOMAIN = Rule {
        id: "ONX004", name: "onnx-contrib-operator-domain", severity: Info, category: Info,
        summary: "ONNX operator from a runtime contrib domain",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags tensors whose declared shape and type do not match the data they
    /// hold: `raw_data` length different from product(dims) × element size,
    /// a typed data field with the wrong number of elements, data in a field
    /// that cannot hold the declared type, negative or overflowing dims, or
    /// an external `length` that disagrees with the shape.
    ///
    /// ## Why is this bad?
    /// Runtimes size buffers from `dims` and copy from the data: a mismatch
    /// is how out-of-bounds reads and writes in model loaders are triggered,
    /// and a file that lies about its tensors cannot be judged further.
    ///
    /// ## Example
    /// An initializer with `dims: [1024, 1024]`, `data_type: FLOAT` and 16
    /// bytes of `raw_data`.
    ///
    /// ## How to fix
    /// Re-export the model from its source framework.
    pub const TENSOR_SIZE_MISMATCH = Rule {
        id: "ONX005", name: "onnx-tensor-size-mismatch", severity: High, category: Error,
        summary: "ONNX tensor data does not match its declared shape and type",
    };
}

declare_rule! {
    /// ## What it does
    /// Lists external data files that could not be checked: the model is
    /// inside an archive, or the file is not next to it.
    ///
    /// ## Why is this bad?
    /// It is a gap, not a danger: the locations were checked as text (no
    /// absolute paths, no `..`), but symbolic links and sizes were not.
    ///
    /// ## Example
    /// `model.onnx` scanned alone, referencing `model.onnx.data`.
    ///
    /// ## How to fix
    /// Scan the model's folder, with its data files, instead of the model alone.
    pub const EXTERNAL_DATA_UNVERIFIED = Rule {
        id: "ONX006", name: "onnx-external-data-unverified", severity: Info, category: Info,
        summary: "ONNX external data files not available to check",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports an ONNX model that cannot be fully parsed: truncated, a field
    /// with the wrong wire type, invalid UTF-8 in a name, no graph, or no
    /// `opset_import`.
    ///
    /// ## Why is this bad?
    /// What was not parsed was not judged. mlsec fails closed: a broken model
    /// is an error, never clean. Parsers disagreeing on malformed input is a
    /// classic way past scanners.
    ///
    /// ## Example
    /// A 2 GB `model.onnx` cut short by an interrupted download.
    ///
    /// ## How to fix
    /// Download or export the model again.
    pub const MALFORMED = Rule {
        id: "ONX007", name: "onnx-malformed", severity: High, category: Error,
        summary: "ONNX model could not be fully parsed",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags an external data file with more than one hard link.
    ///
    /// ## Why is this bad?
    /// A hard link is indistinguishable from the file it links to: a
    /// `model.onnx.data` hard-linked to a private file elsewhere on the same
    /// file system passes every path check and is read at load
    /// (CVE-2026-34446, CVE-2026-34447).
    ///
    /// ## Example
    /// `ln ~/.aws/credentials model/weights.bin` with `location: "weights.bin"`.
    ///
    /// ## How to fix
    /// Copy the data file so it has a single link (`cp --no-preserve=links`).
    pub const EXTERNAL_DATA_HARDLINK = Rule {
        id: "ONX008", name: "onnx-external-data-hardlink", severity: Medium, category: Suspicious,
        summary: "ONNX external data file has several hard links",
    };
}

pub const RULES: &[Rule] = &[
    EXTERNAL_DATA_ESCAPE,
    EXTERNAL_DATA_BOUNDS,
    CUSTOM_DOMAIN,
    CONTRIB_DOMAIN,
    TENSOR_SIZE_MISMATCH,
    EXTERNAL_DATA_UNVERIFIED,
    MALFORMED,
    EXTERNAL_DATA_HARDLINK,
];

const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
];

/// Domains of operators that ship with common runtimes.
fn is_contrib_domain(domain: &str) -> bool {
    domain == "com.microsoft"
        || domain.starts_with("com.microsoft.")
        || domain.starts_with("com.ms.internal.")
        || matches!(
            domain,
            "ai.onnx.contrib" | "org.pytorch.aten" | "com.intel.ai"
        )
}

/// Deepest nesting of graphs (If/Loop/Scan bodies) walked.
const MAX_GRAPH_DEPTH: u32 = 64;
/// Findings of one rule reported one by one before the rest are counted.
const MAX_FINDINGS_PER_RULE: usize = 20;

/// Recognises an ONNX model (it has no magic number) and judges it.
pub fn probe(ctx: &Ctx, data: &[u8], report: &mut Report) -> bool {
    match onnx::sniff(data) {
        Sniff::NotOnnx => false,
        Sniff::Broken(e) => {
            report.recognise("onnx");
            report.push(wire_finding(ctx, &e));
            true
        }
        Sniff::Model => {
            report.recognise("onnx");
            scan_model(ctx, data, report);
            true
        }
    }
}

fn wire_finding(ctx: &Ctx, e: &WireError) -> Finding {
    let rule = if e.is_limit() {
        &LIMIT_EXCEEDED
    } else {
        &MALFORMED
    };
    ctx.finding(rule, e.offset(), format!("ONNX model is malformed: {e}"))
}

fn scan_model(ctx: &Ctx, data: &[u8], report: &mut Report) {
    if let Err(e) = onnx::check(data, ctx.tree_limits()) {
        report.push(wire_finding(ctx, &e));
        return;
    }
    let model = match onnx::decode(data) {
        Ok(m) => m,
        Err(e) => {
            report.push(ctx.finding(
                &MALFORMED,
                None,
                format!("ONNX model could not be decoded: {e}"),
            ));
            return;
        }
    };
    let mut judge = Judge::new(ctx, data.len(), &model);
    if model.ir_version >= 3 && model.opset_import.is_empty() {
        judge.emit(
            &MALFORMED,
            None,
            "ONNX model (IR version 3 or later) has no opset_import".into(),
            json!({ "ir_version": model.ir_version }),
        );
    }
    if let Some(graph) = &model.graph {
        judge.graph(graph, "graph", 0);
    }
    for (i, t) in model.training_info.iter().enumerate() {
        for (part, g) in [
            ("initialization", &t.initialization),
            ("algorithm", &t.algorithm),
        ] {
            if let Some(g) = g {
                judge.graph(g, &format!("training_info[{i}].{part}"), 0);
            }
        }
    }
    for f in &model.functions {
        let path = format!("function `{}`", qualified(&f.domain, &f.name));
        for node in &f.node {
            judge.node(node, &path, 0);
        }
        for a in &f.attribute_proto {
            judge.attribute(a, &format!("{path} attribute `{}`", a.name), 0);
        }
    }
    judge.finish(report);
}

fn qualified(domain: &str, name: &str) -> String {
    if domain.is_empty() {
        name.to_string()
    } else {
        format!("{domain}.{name}")
    }
}

/// Where uses of one operator domain were seen.
struct DomainUse {
    nodes: u64,
    ops: BTreeSet<String>,
    first: String,
}

struct Judge<'c, 'a> {
    ctx: &'c Ctx<'a>,
    data_len: usize,
    local_functions: BTreeSet<(String, String)>,
    domains: BTreeMap<String, DomainUse>,
    /// Canonical model folder, when the model is a file on disk.
    root: Option<PathBuf>,
    resolved: HashMap<String, Resolved>,
    unverified: BTreeMap<String, &'static str>,
    hardlinks_reported: BTreeSet<String>,
    findings: Vec<Finding>,
    per_rule: HashMap<&'static str, usize>,
}

impl<'c, 'a> Judge<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>, data_len: usize, model: &ModelProto) -> Self {
        Judge {
            ctx,
            data_len,
            local_functions: model
                .functions
                .iter()
                .map(|f| (f.domain.clone(), f.name.clone()))
                .collect(),
            domains: BTreeMap::new(),
            root: ctx.dir.and_then(|d| fs::canonicalize(d).ok()),
            resolved: HashMap::new(),
            unverified: BTreeMap::new(),
            hardlinks_reported: BTreeSet::new(),
            findings: Vec::new(),
            per_rule: HashMap::new(),
        }
    }

    /// Records a finding, counting rather than listing past the per-rule cap.
    fn emit(
        &mut self,
        rule: &Rule,
        offset: Option<u64>,
        message: String,
        evidence: serde_json::Value,
    ) {
        let n = self.per_rule.entry(rule.id).or_default();
        *n += 1;
        if *n <= MAX_FINDINGS_PER_RULE {
            self.findings.push(
                self.ctx
                    .finding(rule, offset, message)
                    .with_evidence(evidence),
            );
        }
    }

    fn graph(&mut self, g: &GraphProto, path: &str, depth: u32) {
        if depth > MAX_GRAPH_DEPTH {
            let msg = format!(
                "graphs nested deeper than {MAX_GRAPH_DEPTH} levels at {path}; not judged further"
            );
            self.emit(&LIMIT_EXCEEDED, None, msg, serde_json::Value::Null);
            return;
        }
        let path = if g.name.is_empty() {
            path.to_string()
        } else {
            format!("{path} `{}`", g.name)
        };
        for t in &g.initializer {
            self.tensor(t, &format!("{path} initializer"));
        }
        for s in &g.sparse_initializer {
            for t in s.values.iter().chain(&s.indices) {
                self.tensor(t, &format!("{path} sparse initializer"));
            }
        }
        for node in &g.node {
            self.node(node, &path, depth);
        }
    }

    fn node(&mut self, node: &NodeProto, path: &str, depth: u32) {
        let label = if node.name.is_empty() {
            format!("{path} node ({})", node.op_type)
        } else {
            format!("{path} node `{}`", node.name)
        };
        let domain = node.domain.as_str();
        let is_local = self
            .local_functions
            .contains(&(node.domain.clone(), node.op_type.clone()));
        if !STANDARD_DOMAINS.contains(&domain) && !is_local {
            let entry = self.domains.entry(domain.to_string()).or_insert(DomainUse {
                nodes: 0,
                ops: BTreeSet::new(),
                first: label.clone(),
            });
            entry.nodes += 1;
            if entry.ops.len() < 20 {
                entry.ops.insert(node.op_type.clone());
            }
        }
        for a in &node.attribute {
            self.attribute(a, &format!("{label} attribute `{}`", a.name), depth);
        }
    }

    fn attribute(&mut self, a: &AttributeProto, path: &str, depth: u32) {
        for t in a.t.iter().chain(&a.tensors) {
            self.tensor(t, path);
        }
        for s in a.sparse_tensor.iter().chain(&a.sparse_tensors) {
            for t in s.values.iter().chain(&s.indices) {
                self.tensor(t, path);
            }
        }
        for g in a.g.iter().chain(&a.graphs) {
            self.graph(g, &format!("{path} graph"), depth + 1);
        }
    }

    fn tensor(&mut self, t: &TensorProto, path: &str) {
        let label = format!("tensor `{}` ({path})", t.name);
        let Some(elements) = element_count(&t.dims) else {
            let msg = format!(
                "{label} has invalid dims {:?} (negative or overflowing)",
                t.dims
            );
            self.emit(&TENSOR_SIZE_MISMATCH, None, msg, json!({ "dims": t.dims }));
            return;
        };
        let external = t.data_location == DATA_LOCATION_EXTERNAL || !t.external_data.is_empty();
        if external {
            self.external(t, &label, elements);
            return;
        }
        if let Some(problem) = data_mismatch(t, elements) {
            let offset = t.raw_data.map(|r| r.offset_in(self.data_len));
            let msg = format!("{label}: {problem}");
            let evidence =
                json!({ "dims": t.dims, "data_type": t.data_type, "elements": elements });
            self.emit(&TENSOR_SIZE_MISMATCH, offset, msg, evidence);
        }
    }

    fn external(&mut self, t: &TensorProto, label: &str, elements: u64) {
        let location = t.external("location").unwrap_or_default().to_string();
        if location.is_empty() {
            let msg = format!("{label} stores its data externally but names no location");
            self.emit(&EXTERNAL_DATA_BOUNDS, None, msg, serde_json::Value::Null);
            return;
        }
        if let Some(reason) = lexical_escape(&location) {
            let msg = format!("{label} reads external data from `{location}`, {reason}");
            self.emit(
                &EXTERNAL_DATA_ESCAPE,
                None,
                msg,
                json!({ "location": location, "tensor": t.name }),
            );
            return;
        }
        let mut numbers = [None, None];
        for (slot, key) in numbers.iter_mut().zip(["offset", "length"]) {
            if let Some(text) = t.external(key) {
                match text.trim().parse::<u64>() {
                    Ok(n) => *slot = Some(n),
                    Err(_) => {
                        let msg = format!(
                            "{label}: external data {key} `{text}` is not a non-negative integer"
                        );
                        self.emit(
                            &EXTERNAL_DATA_BOUNDS,
                            None,
                            msg,
                            json!({ "location": location }),
                        );
                        return;
                    }
                }
            }
        }
        let [offset, length] = numbers;
        if let (Some(length), Some(bits)) = (length, element_bits(t.data_type)) {
            let expected = byte_size(elements, bits);
            if expected != Some(length) {
                let msg = format!(
                    "{label} declares {elements} elements ({}) but its external length is {length} bytes",
                    type_name(t.data_type)
                );
                self.emit(
                    &TENSOR_SIZE_MISMATCH,
                    None,
                    msg,
                    json!({ "dims": t.dims, "length": length }),
                );
            }
        }
        match self.resolve(&location) {
            None => {}
            Some(Resolved::Missing) => {
                self.unverified
                    .insert(location, "file not found next to the model");
            }
            Some(Resolved::Escapes(real)) => {
                let msg = format!(
                    "{label} reads external data from `{location}`, which resolves outside the model folder to {}",
                    real.display()
                );
                let evidence =
                    json!({ "location": location, "resolved": real.display().to_string() });
                self.emit(&EXTERNAL_DATA_ESCAPE, None, msg, evidence);
            }
            Some(Resolved::NotRegular) => {
                let msg = format!("{label}: external data `{location}` is not a regular file");
                self.emit(
                    &EXTERNAL_DATA_BOUNDS,
                    None,
                    msg,
                    json!({ "location": location }),
                );
            }
            Some(Resolved::File { size, links }) => {
                if links > 1 && self.hardlinks_reported.insert(location.clone()) {
                    let msg = format!("external data file `{location}` has {links} hard links; it may be another file in disguise");
                    self.emit(
                        &EXTERNAL_DATA_HARDLINK,
                        None,
                        msg,
                        json!({ "location": location, "links": links }),
                    );
                }
                let start = offset.unwrap_or(0);
                let end = match length {
                    Some(l) => start.checked_add(l),
                    None => Some(size.max(start)),
                };
                if start > size || end.is_none_or(|e| e > size) {
                    let msg = format!(
                        "{label}: external data at offset {start}{} lies outside `{location}` ({size} bytes)",
                        length.map(|l| format!(" length {l}")).unwrap_or_default()
                    );
                    self.emit(&EXTERNAL_DATA_BOUNDS, None, msg, json!({ "location": location, "offset": start, "length": length, "file_size": size }));
                }
            }
        }
    }

    /// Looks `location` up on disk, once per location. `None` when the model
    /// is not a file on disk (inside an archive).
    fn resolve(&mut self, location: &str) -> Option<Resolved> {
        let (Some(dir), Some(root)) = (self.ctx.dir, self.root.as_ref()) else {
            self.unverified
                .insert(location.to_string(), "model is not a file on disk");
            return None;
        };
        if let Some(r) = self.resolved.get(location) {
            return Some(r.clone());
        }
        let r = resolve_in(dir, root, location);
        self.resolved.insert(location.to_string(), r.clone());
        Some(r)
    }

    fn finish(mut self, report: &mut Report) {
        for (domain, used) in std::mem::take(&mut self.domains) {
            let ops: Vec<_> = used.ops.iter().cloned().collect();
            let (rule, why) = if is_contrib_domain(&domain) {
                (
                    &CONTRIB_DOMAIN,
                    "needs a runtime that provides these contrib operators",
                )
            } else {
                (
                    &CUSTOM_DOMAIN,
                    "needs a native custom operator library to run",
                )
            };
            let msg = format!(
                "{} node(s) use operators from domain `{domain}` ({}), first at {}; the model {why}",
                used.nodes,
                ops.join(", "),
                used.first
            );
            self.emit(
                rule,
                None,
                msg,
                json!({ "domain": domain, "ops": ops, "nodes": used.nodes }),
            );
        }
        if !self.unverified.is_empty() {
            let list: Vec<_> = self
                .unverified
                .iter()
                .take(MAX_FINDINGS_PER_RULE)
                .map(|(l, why)| json!({ "location": l, "reason": why }))
                .collect();
            let names: Vec<_> = self.unverified.keys().take(5).cloned().collect();
            let msg = format!(
                "{} external data file(s) not checked for links and size ({}{})",
                self.unverified.len(),
                names.join(", "),
                if self.unverified.len() > 5 {
                    ", ..."
                } else {
                    ""
                }
            );
            self.emit(
                &EXTERNAL_DATA_UNVERIFIED,
                None,
                msg,
                json!({ "files": list }),
            );
        }
        let mut over: Vec<_> = self
            .per_rule
            .iter()
            .filter(|(_, n)| **n > MAX_FINDINGS_PER_RULE)
            .map(|(id, n)| (*id, *n))
            .collect();
        over.sort();
        for (id, n) in over {
            if let Some(rule) = RULES.iter().chain([&LIMIT_EXCEEDED]).find(|r| r.id == id) {
                let msg = format!(
                    "{} more {id} findings in this model not listed",
                    n - MAX_FINDINGS_PER_RULE
                );
                self.findings.push(self.ctx.finding(rule, None, msg));
            }
        }
        for f in self.findings {
            report.push(f);
        }
    }
}

mod external;
mod tensor;

use external::{lexical_escape, resolve_in, Resolved};
use tensor::{byte_size, data_mismatch, element_bits, element_count, type_name};

#[cfg(test)]
mod tests;
