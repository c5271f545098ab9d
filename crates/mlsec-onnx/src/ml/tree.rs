//! `TreeEnsembleRegressor` (ai.onnx.ml), as scikit-learn's decision trees,
//! random forests, gradient boosting and histogram gradient boosting
//! regressors export through skl2onnx (and XGBoost and LightGBM through
//! onnxmltools).
//!
//! Each tree is walked from its root: a branch node compares one feature
//! with its value (`BRANCH_LEQ`, `BRANCH_LT`, `BRANCH_GTE`, `BRANCH_GT`,
//! `BRANCH_EQ`, `BRANCH_NEQ`; a missing value, NaN, goes the true way where
//! `nodes_missing_value_tracks_true` says so) until a leaf, whose weights
//! add to their targets. Trees are combined by `aggregate_function` (SUM,
//! AVERAGE, MIN, MAX), then `base_values` are added, in f64.
//!
//! The trees are checked when the model loads: every child exists in its
//! tree and every node is reached once from the one root, so a walk ends
//! within as many steps as the tree has nodes.

use std::collections::{HashMap, HashSet};

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::{count, native, Kernel, Out, Output, PostTransform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

#[derive(Debug, Clone)]
struct Node {
    mode: Mode,
    feature: usize,
    value: f32,
    /// Indices into the ensemble's nodes.
    yes: usize,
    no: usize,
    missing_yes: bool,
    /// Range of the ensemble's leaf weights.
    weights: (usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

#[derive(Debug)]
struct Regressor {
    nodes: Vec<Node>,
    roots: Vec<usize>,
    /// (target, weight) of every leaf, grouped by leaf.
    weights: Vec<(usize, f64)>,
    targets: usize,
    aggregate: Aggregate,
    base: Vec<f64>,
    features: usize,
}

fn values<'a, T>(node: &'a NodeProto, name: &str, n: usize) -> TractResult<Vec<T>>
where
    T: tract_onnx::pb_helpers::AttrTVecType<'a>,
{
    let v: Vec<T> = node.get_attr_opt_vec(name)?.unwrap_or_default();
    if v.len() != n {
        bail!(
            "{} ({}): {name} has {} values; expected {n}",
            node.name,
            node.op_type,
            v.len()
        );
    }
    Ok(v)
}

/// Floats given as a list or, in newer opsets, as a tensor attribute.
fn floats(node: &NodeProto, name: &str, n: usize) -> TractResult<Vec<f32>> {
    let plain: Option<Vec<f32>> = node.get_attr_opt_vec(name)?;
    if let Some(v) = plain {
        if v.len() == n {
            return Ok(v);
        }
        bail!(
            "{} ({}): {name} has {} values; expected {n}",
            node.name,
            node.op_type,
            v.len()
        );
    }
    let tensor_name = format!("{name}_as_tensor");
    if let Some(t) = node
        .attribute
        .iter()
        .find(|a| a.name == tensor_name)
        .and_then(|a| a.t.as_ref())
    {
        let v: Vec<f32> = if !t.float_data.is_empty() {
            t.float_data.clone()
        } else if !t.double_data.is_empty() {
            t.double_data.iter().map(|&d| d as f32).collect()
        } else if t.data_type == tract_onnx::pb::tensor_proto::DataType::Double as i32 {
            t.raw_data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
                .collect()
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
                .collect()
        };
        if v.len() == n {
            return Ok(v);
        }
        bail!(
            "{} ({}): {tensor_name} has {} values; expected {n}",
            node.name,
            node.op_type,
            v.len()
        );
    }
    bail!("{} ({}): no attribute {name}", node.name, node.op_type)
}

pub(crate) fn parse_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let at = |m: String| format_err!("{} (TreeEnsembleRegressor): {m}", node.name);
    if PostTransform::parse(node)? != PostTransform::None {
        return Err(at("a post_transform other than NONE".into()));
    }
    let targets = count(
        node,
        "n_targets",
        node.get_attr_opt("n_targets")?.unwrap_or(1),
    )?;
    if targets == 0 || targets > 1 << 20 {
        return Err(at(format!("n_targets is {targets}")));
    }
    let aggregate = match node
        .get_attr_opt::<String>("aggregate_function")?
        .as_deref()
        .unwrap_or("SUM")
    {
        "SUM" => Aggregate::Sum,
        "AVERAGE" => Aggregate::Average,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        other => return Err(at(format!("aggregate_function {other} is not supported"))),
    };
    let n: usize = node
        .get_attr_opt_vec::<i64>("nodes_nodeids")?
        .map_or(0, |v| v.len());
    if n == 0 {
        return Err(at("no nodes".into()));
    }
    let tree_ids: Vec<i64> = values(node, "nodes_treeids", n)?;
    let node_ids: Vec<i64> = values(node, "nodes_nodeids", n)?;
    let feature_ids: Vec<i64> = values(node, "nodes_featureids", n)?;
    let modes: Vec<String> = values(node, "nodes_modes", n)?;
    let thresholds = floats(node, "nodes_values", n)?;
    let yes_ids: Vec<i64> = values(node, "nodes_truenodeids", n)?;
    let no_ids: Vec<i64> = values(node, "nodes_falsenodeids", n)?;
    let missing: Vec<i64> = node
        .get_attr_opt_vec("nodes_missing_value_tracks_true")?
        .unwrap_or_else(|| vec![0; n]);
    if missing.len() != n {
        return Err(at(format!(
            "nodes_missing_value_tracks_true has {} values; expected {n}",
            missing.len()
        )));
    }

    let index: HashMap<(i64, i64), usize> = tree_ids
        .iter()
        .zip(&node_ids)
        .enumerate()
        .map(|(i, (&t, &id))| ((t, id), i))
        .collect();
    if index.len() != n {
        return Err(at("two nodes with the same tree and node id".into()));
    }
    let mut nodes = Vec::with_capacity(n);
    let mut features = 0;
    for i in 0..n {
        let get = |v: &[i64]| v.get(i).copied().unwrap_or(0);
        let mode = match modes.get(i).map(String::as_str) {
            Some("BRANCH_LEQ") => Mode::Leq,
            Some("BRANCH_LT") => Mode::Lt,
            Some("BRANCH_GTE") => Mode::Gte,
            Some("BRANCH_GT") => Mode::Gt,
            Some("BRANCH_EQ") => Mode::Eq,
            Some("BRANCH_NEQ") => Mode::Neq,
            Some("LEAF") => Mode::Leaf,
            other => {
                return Err(at(format!(
                    "node mode {} is not supported",
                    other.unwrap_or("")
                )))
            }
        };
        let tree = get(&tree_ids);
        let child = |id: i64| {
            index.get(&(tree, id)).copied().ok_or_else(|| {
                at(format!(
                    "tree {tree}: node {} points to node {id}, which it does not have",
                    get(&node_ids)
                ))
            })
        };
        let (yes, no, feature) = if mode == Mode::Leaf {
            (0, 0, 0)
        } else {
            let feature = count(node, "nodes_featureids", get(&feature_ids))?;
            features = features.max(feature + 1);
            (child(get(&yes_ids))?, child(get(&no_ids))?, feature)
        };
        nodes.push(Node {
            mode,
            feature,
            value: thresholds.get(i).copied().unwrap_or(0.0),
            yes,
            no,
            missing_yes: get(&missing) != 0,
            weights: (0, 0),
        });
    }

    // Leaf weights, grouped by the leaf they belong to.
    let leaves = node
        .get_attr_opt_vec::<i64>("target_ids")?
        .map_or(0, |v| v.len());
    let leaf_trees: Vec<i64> = values(node, "target_treeids", leaves)?;
    let leaf_nodes: Vec<i64> = values(node, "target_nodeids", leaves)?;
    let leaf_targets: Vec<i64> = values(node, "target_ids", leaves)?;
    let leaf_weights = floats(node, "target_weights", leaves)?;
    let mut by_leaf: Vec<(usize, usize, f64)> = Vec::with_capacity(leaves);
    for i in 0..leaves {
        let get = |v: &[i64]| v.get(i).copied().unwrap_or(0);
        let key = (get(&leaf_trees), get(&leaf_nodes));
        let at_node = *index.get(&key).ok_or_else(|| {
            at(format!(
                "a weight for node {} of tree {}, which does not exist",
                key.1, key.0
            ))
        })?;
        let target = count(node, "target_ids", get(&leaf_targets))?;
        if target >= targets {
            return Err(at(format!("a weight for target {target} of {targets}")));
        }
        by_leaf.push((
            at_node,
            target,
            f64::from(leaf_weights.get(i).copied().unwrap_or(0.0)),
        ));
    }
    by_leaf.sort_by_key(|&(leaf, target, _)| (leaf, target));
    let mut weights = Vec::with_capacity(by_leaf.len());
    let mut start = 0;
    while start < by_leaf.len() {
        let leaf = by_leaf.get(start).map_or(0, |w| w.0);
        let end = start
            + by_leaf
                .iter()
                .skip(start)
                .take_while(|w| w.0 == leaf)
                .count();
        if let Some(n) = nodes.get_mut(leaf) {
            n.weights = (weights.len(), weights.len() + end - start);
        }
        weights.extend(
            by_leaf
                .iter()
                .skip(start)
                .take(end - start)
                .map(|&(_, t, w)| (t, w)),
        );
        start = end;
    }

    let roots = check_trees(node).map_err(at)?;

    let base: Vec<f32> = node.get_attr_opt_vec("base_values")?.unwrap_or_default();
    if !base.is_empty() && base.len() != targets {
        return Err(at(format!(
            "{} base_values for {targets} targets",
            base.len()
        )));
    }
    native(Regressor {
        nodes,
        roots,
        weights,
        targets,
        aggregate,
        base: base.into_iter().map(f64::from).collect(),
        features,
    })
}

impl Regressor {
    /// The leaf a row ends in, from `root`.
    fn leaf(&self, root: usize, row: &[f32]) -> Option<&Node> {
        let mut at = self.nodes.get(root)?;
        // The load checked that walks end; this bound is a second guard.
        for _ in 0..=self.nodes.len() {
            if at.mode == Mode::Leaf {
                return Some(at);
            }
            let x = row.get(at.feature).copied().unwrap_or(f32::NAN);
            let v = at.value;
            let yes = if x.is_nan() && at.missing_yes {
                true
            } else {
                match at.mode {
                    Mode::Leq => x <= v,
                    Mode::Lt => x < v,
                    Mode::Gte => x >= v,
                    Mode::Gt => x > v,
                    Mode::Eq => x == v,
                    Mode::Neq => x != v,
                    Mode::Leaf => true,
                }
            };
            at = self.nodes.get(if yes { at.yes } else { at.no })?;
        }
        None
    }
}

impl Kernel for Regressor {
    fn name(&self) -> &'static str {
        "TreeEnsembleRegressor"
    }

    fn features(&self) -> usize {
        self.features
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::Matrix {
            width: self.targets,
        }]
    }

    fn eval(&self, x: &[f32], rows: usize, stride: usize) -> Result<Vec<Output>, String> {
        let mut out = Vec::with_capacity(rows * self.targets);
        let mut acc = vec![None::<f64>; self.targets];
        for row in x.chunks_exact(stride.max(1)).take(rows) {
            acc.fill(None);
            for &root in &self.roots {
                let leaf = self
                    .leaf(root, row)
                    .ok_or("a tree walk did not end in a leaf")?;
                let (from, to) = leaf.weights;
                for &(target, w) in self.weights.get(from..to).unwrap_or(&[]) {
                    let Some(slot) = acc.get_mut(target) else {
                        continue;
                    };
                    *slot = Some(match (*slot, self.aggregate) {
                        (None, _) => w,
                        (Some(s), Aggregate::Sum | Aggregate::Average) => s + w,
                        (Some(s), Aggregate::Min) => s.min(w),
                        (Some(s), Aggregate::Max) => s.max(w),
                    });
                }
            }
            for (t, v) in acc.iter().enumerate() {
                let mut v = v.unwrap_or(0.0);
                if self.aggregate == Aggregate::Average {
                    v /= self.roots.len() as f64;
                }
                v += self.base.get(t).copied().unwrap_or(0.0);
                out.push(v as f32);
            }
        }
        Ok(vec![Output::Matrix(out)])
    }
}

/// The integers of a node's attribute, none where it is missing.
fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
        .unwrap_or_default()
}

/// Checks a TreeEnsembleClassifier for everything tract's own classifier
/// takes on trust, since it walks the trees and adds up the leaf weights
/// with unchecked indexing (a hostile model would read or write outside its
/// arrays, or loop):
/// - the trees themselves ([`check_trees`]);
/// - each tree's node ids are 0 to n-1: tract uses an id as the node's row
///   within its tree, so a gap would send a branch to another tree's row;
/// - every leaf weight's class is one of the model's classes: tract adds it
///   to that class's score without a bounds check;
/// - every leaf weight names a leaf: tract hands weights to leaves in id
///   order, and one naming a branch or a missing node stops the rest.
pub(crate) fn check_classifier(node: &NodeProto) -> Result<(), String> {
    check_trees(node)?;
    let (trees, ids) = (ints(node, "nodes_treeids"), ints(node, "nodes_nodeids"));
    let mut per_tree: HashMap<i64, Vec<i64>> = HashMap::new();
    for (&t, &id) in trees.iter().zip(&ids) {
        per_tree.entry(t).or_default().push(id);
    }
    for (t, mut tree_ids) in per_tree {
        tree_ids.sort_unstable();
        if tree_ids.iter().zip(0..).any(|(&id, i)| id != i) {
            return Err(format!(
                "tree {t}: node ids are not 0 to {}",
                tree_ids.len() - 1
            ));
        }
    }
    let classes = ints(node, "classlabels_int64s").len().max(
        node.attribute
            .iter()
            .find(|a| a.name == "classlabels_strings")
            .map_or(0, |a| a.strings.len()),
    );
    if let Some(c) = ints(node, "class_ids")
        .into_iter()
        .find(|&c| usize::try_from(c).map_or(true, |c| c >= classes))
    {
        return Err(format!(
            "a leaf weight for class {c}, but the model has {classes} classes"
        ));
    }
    let modes = node
        .attribute
        .iter()
        .find(|a| a.name == "nodes_modes")
        .map(|a| a.strings.as_slice())
        .unwrap_or_default();
    let leaves: HashSet<(i64, i64)> = trees
        .iter()
        .zip(&ids)
        .zip(modes)
        .filter(|(_, mode)| mode.as_slice() == b"LEAF")
        .map(|((&t, &id), _)| (t, id))
        .collect();
    let (weight_trees, weight_nodes) = (ints(node, "class_treeids"), ints(node, "class_nodeids"));
    if let Some((t, id)) = weight_trees
        .iter()
        .zip(&weight_nodes)
        .find(|&(&t, &id)| !leaves.contains(&(t, id)))
    {
        return Err(format!(
            "a leaf weight names node {id} of tree {t}, which is not a leaf"
        ));
    }
    Ok(())
}

/// Checks the trees of a tree-ensemble node: every child a branch names
/// exists in its tree, each tree has one root, and every node is reached
/// once from it, so that no walk loops or leaves the arrays. Returns each
/// tree's root (node index), trees in id order.
pub(crate) fn check_trees(node: &NodeProto) -> Result<Vec<usize>, String> {
    let ints = |name: &str| ints(node, name);
    let modes: Vec<Vec<u8>> = node
        .attribute
        .iter()
        .find(|a| a.name == "nodes_modes")
        .map(|a| a.strings.clone())
        .unwrap_or_default();
    let (trees, ids, yes, no) = (
        ints("nodes_treeids"),
        ints("nodes_nodeids"),
        ints("nodes_truenodeids"),
        ints("nodes_falsenodeids"),
    );
    let n = ids.len();
    if [trees.len(), yes.len(), no.len(), modes.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err("the nodes_* attributes differ in length".into());
    }
    let index: HashMap<(i64, i64), usize> = trees
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (&t, &id))| ((t, id), i))
        .collect();
    if index.len() != n {
        return Err("two nodes with the same tree and node id".into());
    }
    let mut children: Vec<Option<(usize, usize)>> = Vec::with_capacity(n);
    let mut is_child = vec![false; n];
    for i in 0..n {
        let leaf = modes.get(i).is_some_and(|m| m.as_slice() == b"LEAF");
        if leaf {
            children.push(None);
            continue;
        }
        let t = trees.get(i).copied().unwrap_or(0);
        let find = |id: Option<&i64>| id.and_then(|id| index.get(&(t, *id)).copied());
        let (Some(a), Some(b)) = (find(yes.get(i)), find(no.get(i))) else {
            return Err(format!(
                "tree {t}: a branch points to a node the tree does not have"
            ));
        };
        for c in [a, b] {
            if let Some(flag) = is_child.get_mut(c) {
                *flag = true;
            }
        }
        children.push(Some((a, b)));
    }
    let mut tree_list = trees.clone();
    tree_list.sort_unstable();
    tree_list.dedup();
    let mut seen = vec![false; n];
    let mut roots = Vec::with_capacity(tree_list.len());
    for t in tree_list {
        let mut found = (0..n)
            .filter(|&i| trees.get(i) == Some(&t) && !is_child.get(i).copied().unwrap_or(true));
        let (Some(root), None) = (found.next(), found.next()) else {
            return Err(format!("tree {t} does not have exactly one root"));
        };
        roots.push(root);
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            match seen.get_mut(i) {
                Some(s) if !*s => *s = true,
                _ => return Err("a node is reached twice: the trees are not trees".into()),
            }
            if let Some(Some((a, b))) = children.get(i) {
                stack.push(*a);
                stack.push(*b);
            }
        }
    }
    if seen.iter().any(|s| !s) {
        return Err("a node no root reaches".into());
    }
    Ok(roots)
}
