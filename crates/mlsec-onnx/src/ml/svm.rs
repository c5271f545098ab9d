//! `SVMClassifier` and `SVMRegressor` (ai.onnx.ml), as scikit-learn's SVC,
//! NuSVC, SVR, NuSVR and OneClassSVM export them through skl2onnx.
//!
//! The semantics follow the ONNX operator specification and its reference
//! implementation, which onnxruntime matches:
//! - With support vectors (`vectors_per_class`, `n_supports`), scores are
//!   kernel expansions; a classifier scores every pair of classes i < j
//!   (one against one, libsvm's layout): `rho[pair]` plus the coefficients
//!   of both classes' support vectors times their kernels, and a pair's
//!   positive score is a vote for i.
//! - With `prob_a` and `prob_b` (Platt scaling), each pair's score becomes a
//!   probability and the pairs are coupled into class probabilities (Wu, Lin
//!   and Weng 2004, libsvm's `multiclass_probability`).
//! - Without probabilities the output is the pairs' scores; a binary model's
//!   one score s is written as [-s, s].
//! - Without support vectors (liblinear's layout) each class scores
//!   `rho[0] + coefficients[class] . x`.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::{count, logistic, native, Kernel, Out, Output, PostTransform};

#[derive(Debug, Clone, Copy, PartialEq)]
enum KernelType {
    Linear,
    Poly { gamma: f32, coef0: f32, degree: i32 },
    Rbf { gamma: f32 },
    Sigmoid { gamma: f32, coef0: f32 },
}

impl KernelType {
    fn parse(node: &NodeProto, support_vectors: bool) -> TractResult<KernelType> {
        if !support_vectors {
            return Ok(KernelType::Linear);
        }
        let name: Option<String> = node.get_attr_opt("kernel_type")?;
        let params: Vec<f32> = node.get_attr_opt_vec("kernel_params")?.unwrap_or_default();
        let param = |i: usize| params.get(i).copied().unwrap_or(0.0);
        let (gamma, coef0) = (param(0), param(1));
        Ok(match name.as_deref().unwrap_or("LINEAR") {
            "LINEAR" => KernelType::Linear,
            "POLY" => KernelType::Poly {
                gamma,
                coef0,
                degree: param(2) as i32,
            },
            "RBF" => KernelType::Rbf { gamma },
            "SIGMOID" => KernelType::Sigmoid { gamma, coef0 },
            other => bail!(
                "{} ({}): kernel_type {other} is not supported",
                node.name,
                node.op_type
            ),
        })
    }

    fn apply(self, a: &[f32], b: &[f32]) -> f32 {
        let dot = || a.iter().zip(b).map(|(p, q)| p * q).sum::<f32>();
        match self {
            KernelType::Linear => dot(),
            KernelType::Poly {
                gamma,
                coef0,
                degree,
            } => (dot() * gamma + coef0).powi(degree),
            KernelType::Rbf { gamma } => {
                let d: f32 = a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum();
                (-gamma * d).exp()
            }
            KernelType::Sigmoid { gamma, coef0 } => (dot() * gamma + coef0).tanh(),
        }
    }
}

/// Support vectors, `count` rows of `features` numbers.
#[derive(Debug, Clone)]
struct Support {
    vectors: Vec<f32>,
    count: usize,
    features: usize,
}

impl Support {
    fn parse(node: &NodeProto, count: usize) -> TractResult<Support> {
        let vectors: Vec<f32> = node
            .get_attr_opt_vec("support_vectors")?
            .unwrap_or_default();
        if count == 0 || vectors.is_empty() || !vectors.len().is_multiple_of(count) {
            bail!(
                "{} ({}): {} support-vector numbers are not {count} vectors",
                node.name,
                node.op_type,
                vectors.len()
            );
        }
        let features = vectors.len() / count;
        Ok(Support {
            vectors,
            count,
            features,
        })
    }

    /// The kernel of `x` with every support vector.
    fn kernels(&self, kernel: KernelType, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.vectors
                .chunks_exact(self.features)
                .map(|sv| kernel.apply(x, sv)),
        );
    }
}

#[derive(Debug)]
struct Classifier {
    name: &'static str,
    kernel: KernelType,
    /// None: liblinear's layout (one coefficient row per class).
    support: Option<Support>,
    /// Support vectors per class, and where each class's start.
    per_class: Vec<(usize, usize)>,
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    /// Platt scaling per pair, when the model gives probabilities.
    platt: Option<(Vec<f32>, Vec<f32>)>,
    classes: usize,
    int_labels: Vec<i64>,
    all_weights_positive: bool,
    post: PostTransform,
    features: usize,
}

pub(crate) fn parse_classifier(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let at = |m: String| format_err!("{} (SVMClassifier): {m}", node.name);
    let int_labels: Vec<i64> = node
        .get_attr_opt_vec("classlabels_ints")?
        .unwrap_or_default();
    let strings: Vec<String> = node
        .get_attr_opt_vec("classlabels_strings")?
        .unwrap_or_default();
    let classes = int_labels.len().max(strings.len()).max(1);
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    let rho: Vec<f32> = node.get_attr_opt_vec("rho")?.unwrap_or_default();
    if coefficients.is_empty() || rho.is_empty() {
        return Err(at("no coefficients or no rho".into()));
    }
    let vectors_per_class: Vec<i64> = node
        .get_attr_opt_vec("vectors_per_class")?
        .unwrap_or_default();
    let mut per_class = Vec::new();
    let mut total = 0usize;
    for &v in &vectors_per_class {
        let v = count(node, "vectors_per_class", v)?;
        per_class.push((total, v));
        total = total
            .checked_add(v)
            .ok_or_else(|| at("too many support vectors".into()))?;
    }
    let pairs = classes * (classes - 1) / 2;
    let (support, features) = if total > 0 {
        if per_class.len() != classes {
            return Err(at(format!(
                "{} entries of vectors_per_class for {classes} classes",
                per_class.len()
            )));
        }
        let support = Support::parse(node, total)?;
        if coefficients.len() != (classes - 1) * total {
            return Err(at(format!(
                "{} coefficients; expected {} ({} classes less one, times {total} support vectors)",
                coefficients.len(),
                (classes - 1) * total,
                classes
            )));
        }
        if rho.len() < pairs {
            return Err(at(format!(
                "{} rho for {pairs} pairs of classes",
                rho.len()
            )));
        }
        let features = support.features;
        (Some(support), features)
    } else {
        if !coefficients.len().is_multiple_of(classes) {
            return Err(at(format!(
                "{} coefficients for {classes} classes",
                coefficients.len()
            )));
        }
        (None, coefficients.len() / classes)
    };
    let prob_a: Vec<f32> = node.get_attr_opt_vec("prob_a")?.unwrap_or_default();
    let prob_b: Vec<f32> = node.get_attr_opt_vec("prob_b")?.unwrap_or_default();
    let platt = if !prob_a.is_empty() && support.is_some() {
        if prob_a.len() < pairs || prob_b.len() < pairs {
            return Err(at(format!("prob_a and prob_b need {pairs} values each")));
        }
        Some((prob_a, prob_b))
    } else {
        None
    };
    let all_weights_positive = coefficients.iter().all(|&c| c >= 0.0);
    native(Classifier {
        name: "SVMClassifier",
        kernel: KernelType::parse(node, support.is_some())?,
        support,
        per_class,
        coefficients,
        rho,
        platt,
        classes,
        int_labels,
        all_weights_positive,
        post: PostTransform::parse(node)?,
        features,
    })
}

impl Classifier {
    /// Scores before the final layout: per class (liblinear layout), per
    /// pair, or per class as probabilities.
    fn raw_width(&self) -> usize {
        match (&self.support, &self.platt) {
            (None, _) | (Some(_), Some(_)) => self.classes,
            (Some(_), None) => self.classes * (self.classes - 1) / 2,
        }
    }

    /// A single score is written as two when the model is binary.
    fn second_class(&self) -> bool {
        self.raw_width() == 1 && self.rho.len() == 1 && self.classes == 2
    }

    fn width(&self) -> usize {
        if self.second_class() {
            2
        } else {
            self.raw_width()
        }
    }

    /// One row's scores (raw layout) and the votes of its pairs (empty in
    /// liblinear's layout).
    fn score_row(
        &self,
        x: &[f32],
        kernels: &mut Vec<f32>,
        scores: &mut Vec<f32>,
        votes: &mut Vec<f32>,
    ) {
        scores.clear();
        votes.clear();
        let Some(support) = &self.support else {
            let rho = self.rho.first().copied().unwrap_or(0.0);
            for w in self.coefficients.chunks_exact(self.features.max(1)) {
                scores.push(rho + w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>());
            }
            return;
        };
        support.kernels(self.kernel, x, kernels);
        votes.resize(self.classes, 0.0);
        let total = support.count;
        let weighted = |row: usize, (start, n): (usize, usize)| -> f32 {
            let coef = self
                .coefficients
                .get(row * total + start..row * total + start + n);
            let k = kernels.get(start..start + n);
            match (coef, k) {
                (Some(c), Some(k)) => c.iter().zip(k).map(|(a, b)| a * b).sum(),
                _ => 0.0,
            }
        };
        let mut pair = 0;
        for i in 0..self.classes {
            for j in i + 1..self.classes {
                let (Some(&ci), Some(&cj)) = (self.per_class.get(i), self.per_class.get(j)) else {
                    continue;
                };
                let s = self.rho.get(pair).copied().unwrap_or(0.0)
                    + weighted(j - 1, ci)
                    + weighted(i, cj);
                scores.push(s);
                let winner = if s > 0.0 { i } else { j };
                if let Some(v) = votes.get_mut(winner) {
                    *v += 1.0;
                }
                pair += 1;
            }
        }
        if let Some((a, b)) = &self.platt {
            let mut r = vec![0.0f32; self.classes * self.classes];
            let mut pair = 0;
            for i in 0..self.classes {
                for j in i + 1..self.classes {
                    let s = scores.get(pair).copied().unwrap_or(0.0);
                    let v = s * a.get(pair).copied().unwrap_or(0.0)
                        + b.get(pair).copied().unwrap_or(0.0);
                    let p = (1.0 - logistic(v)).clamp(1e-7, 1.0 - 1e-7);
                    if let Some(e) = r.get_mut(i * self.classes + j) {
                        *e = p;
                    }
                    if let Some(e) = r.get_mut(j * self.classes + i) {
                        *e = 1.0 - p;
                    }
                    pair += 1;
                }
            }
            *scores = coupled_probabilities(self.classes, &r);
        }
    }

    /// The label the operator writes for one row.
    fn label(&self, scores: &[f32], votes: &[f32]) -> i64 {
        let source = if votes.is_empty() { scores } else { votes };
        let (max_class, max_weight) =
            source
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                });
        let label_of = |i: usize| self.int_labels.get(i).copied().unwrap_or(i as i64);
        if self.rho.len() == 1 {
            if self.classes == 2 {
                if self.platt.is_none() && self.all_weights_positive && max_weight >= 0.5 {
                    return label_of(1);
                }
                return label_of(max_class);
            }
            return i64::from(max_weight > 0.0);
        }
        label_of(max_class)
    }
}

impl Kernel for Classifier {
    fn name(&self) -> &'static str {
        self.name
    }

    fn features(&self) -> usize {
        self.features
    }

    fn outputs(&self) -> Vec<Out> {
        vec![
            Out::Labels,
            Out::Matrix {
                width: self.width(),
            },
        ]
    }

    fn eval(&self, x: &[f32], rows: usize, stride: usize) -> Result<Vec<Output>, String> {
        let width = self.width();
        let mut labels = Vec::with_capacity(rows);
        let mut out = Vec::with_capacity(rows * width);
        let (mut kernels, mut scores, mut votes) = (Vec::new(), Vec::new(), Vec::new());
        for row in x.chunks_exact(stride.max(1)).take(rows) {
            let row = row
                .get(..self.features)
                .ok_or("a row shorter than the model's features")?;
            self.score_row(row, &mut kernels, &mut scores, &mut votes);
            labels.push(self.label(&scores, &votes));
            if self.second_class() {
                let s = scores.first().copied().unwrap_or(0.0);
                let mut two = [-s, s];
                if self.post != PostTransform::None {
                    self.post.apply(&mut two);
                }
                out.extend(two);
            } else {
                self.post.apply(&mut scores);
                out.extend_from_slice(&scores);
            }
        }
        Ok(vec![Output::Labels(labels), Output::Matrix(out)])
    }
}

/// Class probabilities from pairwise ones (`r[i * k + j]`: the chance of i
/// against j), by the second method of Wu, Lin and Weng (2004), in the
/// iteration libsvm uses, in f32 as the ONNX runtimes compute it.
fn coupled_probabilities(k: usize, r: &[f32]) -> Vec<f32> {
    let at = |i: usize, j: usize| r.get(i * k + j).copied().unwrap_or(0.0);
    let mut q = vec![0.0f32; k * k];
    for t in 0..k {
        let mut diag = 0.0;
        for j in 0..k {
            if j != t {
                diag += at(j, t) * at(j, t);
            }
        }
        if let Some(e) = q.get_mut(t * k + t) {
            *e = diag;
        }
        for j in 0..k {
            if j != t {
                if let Some(e) = q.get_mut(t * k + j) {
                    *e = -at(j, t) * at(t, j);
                }
            }
        }
    }
    let qa = |i: usize, j: usize| q.get(i * k + j).copied().unwrap_or(0.0);
    let mut p = vec![1.0 / k as f32; k];
    let mut qp = vec![0.0f32; k];
    let eps = 0.005 / k as f32;
    for _ in 0..k.max(100) {
        for (t, v) in qp.iter_mut().enumerate() {
            *v = (0..k)
                .map(|j| qa(t, j) * p.get(j).copied().unwrap_or(0.0))
                .sum();
        }
        let mut pqp: f32 = p.iter().zip(&qp).map(|(a, b)| a * b).sum();
        if qp.iter().all(|v| (v - pqp).abs() < eps) {
            break;
        }
        for t in 0..k {
            let (Some(&qpt), qtt) = (qp.get(t), qa(t, t)) else {
                continue;
            };
            if qtt == 0.0 {
                continue;
            }
            let diff = (-qpt + pqp) / qtt;
            if let Some(pt) = p.get_mut(t) {
                *pt += diff;
            }
            pqp = (pqp + diff * (diff * qtt + 2.0 * qpt)) / ((1.0 + diff) * (1.0 + diff));
            for v in p.iter_mut() {
                *v /= 1.0 + diff;
            }
            for (j, v) in qp.iter_mut().enumerate() {
                *v = (*v + diff * qa(t, j)) / (1.0 + diff);
            }
        }
    }
    p
}

#[derive(Debug)]
struct Regressor {
    kernel: KernelType,
    support: Option<Support>,
    coefficients: Vec<f32>,
    rho: f32,
    one_class: bool,
    features: usize,
}

pub(crate) fn parse_regressor(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let at = |m: String| format_err!("{} (SVMRegressor): {m}", node.name);
    let coefficients: Vec<f32> = node.get_attr_opt_vec("coefficients")?.unwrap_or_default();
    let rho: Vec<f32> = node.get_attr_opt_vec("rho")?.unwrap_or_default();
    let Some(&rho) = rho.first() else {
        return Err(at("no rho".into()));
    };
    if coefficients.is_empty() {
        return Err(at("no coefficients".into()));
    }
    let n_supports = count(
        node,
        "n_supports",
        node.get_attr_opt("n_supports")?.unwrap_or(0),
    )?;
    let support = if n_supports > 0 {
        let support = Support::parse(node, n_supports)?;
        if coefficients.len() != n_supports {
            return Err(at(format!(
                "{} coefficients for {n_supports} support vectors",
                coefficients.len()
            )));
        }
        Some(support)
    } else {
        None
    };
    let features = support.as_ref().map_or(coefficients.len(), |s| s.features);
    let one_class: i64 = node.get_attr_opt("one_class")?.unwrap_or(0);
    if PostTransform::parse(node)? != PostTransform::None {
        return Err(at("a post_transform other than NONE".into()));
    }
    native(Regressor {
        kernel: KernelType::parse(node, support.is_some())?,
        support,
        coefficients,
        rho,
        one_class: one_class != 0,
        features,
    })
}

impl Kernel for Regressor {
    fn name(&self) -> &'static str {
        "SVMRegressor"
    }

    fn features(&self) -> usize {
        self.features
    }

    fn outputs(&self) -> Vec<Out> {
        vec![Out::Matrix { width: 1 }]
    }

    fn eval(&self, x: &[f32], rows: usize, stride: usize) -> Result<Vec<Output>, String> {
        let mut out = Vec::with_capacity(rows);
        let mut kernels = Vec::new();
        for row in x.chunks_exact(stride.max(1)).take(rows) {
            let row = row
                .get(..self.features)
                .ok_or("a row shorter than the model's features")?;
            let s = match &self.support {
                Some(support) => {
                    support.kernels(self.kernel, row, &mut kernels);
                    kernels
                        .iter()
                        .zip(&self.coefficients)
                        .map(|(k, c)| k * c)
                        .sum::<f32>()
                }
                None => row.iter().zip(&self.coefficients).map(|(a, b)| a * b).sum(),
            } + self.rho;
            out.push(if self.one_class {
                if s > 0.0 {
                    1.0
                } else {
                    -1.0
                }
            } else {
                s
            });
        }
        Ok(vec![Output::Matrix(out)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupling_two_classes_gives_the_pair_probability() {
        // With two classes the coupled probabilities are the pair's own.
        let p = coupled_probabilities(2, &[0.0, 0.8, 0.2, 0.0]);
        assert!((p[0] - 0.8).abs() < 1e-3, "{p:?}");
        assert!((p[0] + p[1] - 1.0).abs() < 1e-5);
    }

    #[test]
    fn coupling_meets_its_optimality_condition() {
        // The coupled p minimises p'Qp on the simplex (Wu, Lin and Weng,
        // eq. 17 and 18): every (Qp)_t equals p'Qp at the optimum. (The
        // ONNX reference implementation builds Q's off-diagonal with a dot
        // product instead; libsvm and onnxruntime use the product of the two
        // pairwise probabilities, as here, and the fixtures check
        // onnxruntime.)
        let r = [0.0, 0.9, 0.8, 0.1, 0.0, 0.7, 0.2, 0.3, 0.0];
        let k = 3;
        let p = coupled_probabilities(k, &r);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{p:?}");
        let mut q = [0.0f32; 9];
        for t in 0..k {
            for j in 0..k {
                q[t * k + j] = if j == t {
                    (0..k)
                        .filter(|&i| i != t)
                        .map(|i| r[i * k + t] * r[i * k + t])
                        .sum()
                } else {
                    -r[j * k + t] * r[t * k + j]
                };
            }
        }
        let qp: Vec<f32> = (0..k)
            .map(|t| (0..k).map(|j| q[t * k + j] * p[j]).sum())
            .collect();
        let pqp: f32 = p.iter().zip(&qp).map(|(a, b)| a * b).sum();
        for v in &qp {
            assert!((v - pqp).abs() < 0.005 / k as f32 * 1.01, "{qp:?} vs {pqp}");
        }
        assert!(p[0] > 0.7, "class 0 wins both its pairs: {p:?}");
    }
}
