//! What a tabular ONNX graph computes, read from its protobuf before tract
//! sees it, and the graph cut down to the one output mlsec reads.
//!
//! Exported classifiers answer two things: a label and the scores. mlsec
//! reads the scores, as one float tensor of [rows, classes]:
//! - skl2onnx wraps probabilities in `ZipMap` (a sequence of maps, which
//!   tract does not run): the map's input tensor is taken instead, and the
//!   class labels come from the map's attributes;
//! - otherwise the float output is taken, and the labels from the
//!   classifier operator that produces it, if any.
//!
//! Nodes the chosen output does not need (the label's lookups, the ZipMap)
//! are dropped, so an operator that only feeds the label never has to run,
//! and the shapes recorded for intermediate values are forgotten, since
//! they fix the exporter's batch size.

use std::collections::{HashMap, HashSet};

use mlsec_model::Output;
use tract_onnx::pb::{self, tensor_proto::DataType, type_proto, ModelProto, NodeProto};

/// How a model's raw output becomes one score per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// As it is.
    Plain,
    /// One number for two classes: the second class's probability (first:
    /// 1 - p) or score (first: -s).
    Binary,
    /// Two columns in the wrong order: a binary SVM without probabilities
    /// writes [-v, v] where v > 0 means the first class.
    Swapped,
    /// libsvm's one-against-one scores of every pair of classes, turned into
    /// votes plus a confidence per class as scikit-learn's
    /// `decision_function_shape="ovr"` does.
    Pairs,
}

/// The choice made on a graph.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub input_type: DataType,
    pub features: usize,
    pub output: String,
    /// Class labels found in the graph; empty when it names none.
    pub classes: Vec<String>,
    pub kind: Output,
    /// Operators of the nodes kept, for the error on an unsupported one.
    pub ops: Vec<(String, String, String)>,
    /// An SVM without probabilities computes the scores.
    pub svm_scores: bool,
    /// The output is that SVM's own one-against-one scores.
    pub raw_pairs: bool,
}

const CLASSIFIERS: [&str; 3] = [
    "LinearClassifier",
    "SVMClassifier",
    "TreeEnsembleClassifier",
];
const REGRESSORS: [&str; 3] = ["LinearRegressor", "SVMRegressor", "TreeEnsembleRegressor"];

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The class labels a node's attributes give (`classlabels_*`).
fn labels_of(node: &NodeProto) -> Vec<String> {
    for name in ["classlabels_int64s", "classlabels_ints"] {
        if let Some(a) = attr(node, name).filter(|a| !a.ints.is_empty()) {
            return a.ints.iter().map(i64::to_string).collect();
        }
    }
    if let Some(a) = attr(node, "classlabels_strings").filter(|a| !a.strings.is_empty()) {
        return a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
    }
    Vec::new()
}

fn tensor_type(info: &pb::ValueInfoProto) -> Option<&type_proto::Tensor> {
    match info.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => Some(t),
    }
}

fn is_float(t: i32) -> bool {
    t == DataType::Float as i32 || t == DataType::Double as i32
}

/// Reads what `model` computes and cuts its graph down to the scores.
pub(crate) fn choose(model: &mut ModelProto) -> Result<Choice, String> {
    let graph = model.graph.as_mut().ok_or("the file holds no graph")?;
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(format!(
            "{} inputs ({}); mlsec runs models that take one tensor of [rows, features]",
            inputs.len(),
            inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    let input_name = input.name.clone();
    let t = tensor_type(input).ok_or_else(|| format!("input `{input_name}` is not a tensor"))?;
    let input_type = DataType::try_from(t.elem_type)
        .ok()
        .filter(|d| matches!(d, DataType::Float | DataType::Double))
        .ok_or_else(|| format!("input `{input_name}` is not float or double"))?;
    let dims: Vec<Option<i64>> = t
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let features = match dims.as_slice() {
        [_, Some(f)] if *f > 0 => usize::try_from(*f).map_err(|e| e.to_string())?,
        _ => {
            return Err(format!(
                "input `{input_name}` has shape {}; expected [rows, features] with a fixed number of features",
                shape_text(&dims)
            ))
        }
    };

    let producer: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();

    // The scores: a ZipMap's input, or a float output.
    let mut chosen: Option<(String, Vec<String>, bool)> = None;
    for out in &graph.output {
        let node = producer
            .get(out.name.as_str())
            .and_then(|&i| graph.node.get(i));
        if let Some(zip) = node.filter(|n| n.op_type == "ZipMap") {
            let tensor = zip.input.first().ok_or("a ZipMap without input")?;
            chosen = Some((tensor.clone(), labels_of(zip), true));
            break;
        }
    }
    if chosen.is_none() {
        let floats: Vec<&pb::ValueInfoProto> = graph
            .output
            .iter()
            .filter(|o| tensor_type(o).is_some_and(|t| is_float(t.elem_type)))
            .collect();
        let pick = floats
            .iter()
            .find(|o| o.name.contains("prob"))
            .or_else(|| floats.first())
            .ok_or("no float output (scores, probabilities or values) to read")?;
        chosen = Some((pick.name.clone(), Vec::new(), false));
    }
    let Some((output, mut classes, zipmap)) = chosen else {
        return Err("no output to read".into());
    };

    // The nodes the output needs.
    let mut keep = HashSet::new();
    let mut todo = vec![output.clone()];
    while let Some(name) = todo.pop() {
        if let Some(&i) = producer.get(name.as_str()) {
            if keep.insert(i) {
                if let Some(n) = graph.node.get(i) {
                    todo.extend(n.input.iter().filter(|s| !s.is_empty()).cloned());
                }
            }
        }
    }

    // What produces it, through operators that only pass values on.
    let mut source = producer
        .get(output.as_str())
        .and_then(|&i| graph.node.get(i));
    while let Some(n) = source.filter(|n| matches!(n.op_type.as_str(), "Identity" | "Cast")) {
        source = n
            .input
            .first()
            .and_then(|s| producer.get(s.as_str()))
            .and_then(|&i| graph.node.get(i));
    }
    let op = source.map_or("", |n| n.op_type.as_str());
    let kept = |i: &usize| keep.contains(i);
    let classifiers: Vec<usize> = (0..graph.node.len())
        .filter(kept)
        .filter(|&i| {
            graph
                .node
                .get(i)
                .is_some_and(|n| CLASSIFIERS.contains(&n.op_type.as_str()))
        })
        .collect();
    if classes.is_empty() {
        if let Some(n) = classifiers.first().and_then(|&i| graph.node.get(i)) {
            classes = labels_of(n);
        }
    }
    let svm_without_probabilities = |n: &NodeProto| {
        n.op_type == "SVMClassifier"
            && attr(n, "prob_a").is_none_or(|a| a.floats.is_empty())
            && attr(n, "vectors_per_class").is_some_and(|a| !a.ints.is_empty())
    };
    let svm_scores = classifiers
        .iter()
        .filter_map(|&i| graph.node.get(i))
        .any(svm_without_probabilities);
    let raw_pairs = source.is_some_and(svm_without_probabilities);
    let regressor = (0..graph.node.len()).filter(kept).any(|i| {
        graph
            .node
            .get(i)
            .is_some_and(|n| REGRESSORS.contains(&n.op_type.as_str()))
    });
    let kind = if svm_scores {
        Output::Scores
    } else if zipmap || op == "Softmax" || output.contains("prob") {
        Output::Probabilities
    } else if regressor && classes.is_empty() {
        Output::Values
    } else {
        Output::Scores
    };
    // Labels the runtime would have to write as strings: mlsec keeps their
    // names and gives the operators numbers, since only the scores are read.
    for &i in &classifiers {
        let Some(n) = graph.node.get_mut(i) else {
            continue;
        };
        let Some(at) = n
            .attribute
            .iter()
            .position(|a| a.name == "classlabels_strings")
        else {
            continue;
        };
        let count = n.attribute.get(at).map_or(0, |a| a.strings.len());
        let name = if n.op_type == "TreeEnsembleClassifier" {
            "classlabels_int64s"
        } else {
            "classlabels_ints"
        };
        n.attribute.remove(at);
        n.attribute.push(pb::AttributeProto {
            name: name.into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: (0..count as i64).collect(),
            ..Default::default()
        });
    }

    for (i, n) in graph.node.iter().enumerate() {
        if keep.contains(&i) && n.op_type == "TreeEnsembleClassifier" {
            crate::ml::tree::check_classifier(n)
                .map_err(|e| format!("node `{}` (TreeEnsembleClassifier): {e}", n.name))?;
        }
    }
    let ops = graph
        .node
        .iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, n)| (n.name.clone(), n.domain.clone(), n.op_type.clone()))
        .collect();
    let mut index = 0;
    graph.node.retain(|_| {
        index += 1;
        keep.contains(&(index - 1))
    });
    graph.output = vec![pb::ValueInfoProto {
        name: output.clone(),
        ..Default::default()
    }];
    // Shapes the exporter recorded for intermediate values name its own
    // batch (PyTorch's `batch`, or a batch of 1 when exported without a
    // dynamic axis); mlsec runs any number of rows, so tract infers them.
    for info in &mut graph.value_info {
        if let Some(type_proto::Value::TensorType(t)) =
            info.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            t.shape = None;
        }
    }
    Ok(Choice {
        input_type,
        features,
        output,
        classes,
        kind,
        ops,
        svm_scores,
        raw_pairs,
    })
}

fn shape_text(dims: &[Option<i64>]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("?".to_string(), |v| v.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}
