//! Tensor and tabular requests (KServe / Triton v2 `inputs`, TF Serving /
//! KServe v1 `instances` and `inputs`) read as named tensors and as rows of
//! numbers, and their answers (`outputs`, `predictions`) as rows of scores.

use serde_json::Value;

/// Most values read from one body (the gateway's `max_body` bounds it too).
pub const MAX_VALUES: usize = 1 << 22;

/// One input tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Its name (`inputs[i].name`; `instances` for v1 rows).
    pub name: String,
    /// Where it is in the body: `inputs[0]`, `instances`.
    pub location: String,
    pub datatype: Option<String>,
    /// The declared shape (v2), or the shape the data has (v1).
    pub shape: Vec<i64>,
    /// The values, flattened in row-major order; a value that is not a
    /// number is NaN here and counted in `non_numeric`.
    pub values: Vec<f64>,
    pub non_numeric: usize,
}

/// The inputs of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub tensors: Vec<Tensor>,
    /// One row per instance: a 2-D tensor's rows, or the tensors of shape
    /// `[N]` / `[N, 1]` side by side.
    pub rows: Vec<Vec<f64>>,
    /// The rows' column names, when the request names them (several
    /// tensors, or v1 instances given as objects); empty when positional.
    pub columns: Vec<String>,
    /// Where the rows are: `inputs[0]`, `instances`.
    pub rows_at: String,
}

/// The inputs of a KServe v2 or v1 request body; None when it has none.
pub fn inputs(body: &Value) -> Option<Inputs> {
    if let Some(list) = body.get("inputs").and_then(Value::as_array) {
        if list.iter().all(Value::is_object) && !list.is_empty() {
            return Some(v2(list));
        }
    }
    let (rows_value, at) = match (body.get("instances"), body.get("inputs")) {
        (Some(v), _) => (v, "instances"),
        (None, Some(v)) => (v, "inputs"),
        _ => return None,
    };
    Some(v1(rows_value, at))
}

fn flatten(v: &Value, out: &mut Vec<f64>, non_numeric: &mut usize) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if out.len() >= MAX_VALUES {
            return;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Number(n) => out.push(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => out.push(if *b { 1.0 } else { 0.0 }),
            _ => {
                *non_numeric += 1;
                out.push(f64::NAN);
            }
        }
    }
}

fn v2(list: &[Value]) -> Inputs {
    let mut tensors = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let mut values = Vec::new();
        let mut non_numeric = 0;
        if let Some(data) = t.get("data") {
            flatten(data, &mut values, &mut non_numeric);
        }
        tensors.push(Tensor {
            name: t
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            location: format!("inputs[{i}]"),
            datatype: t
                .get("datatype")
                .and_then(Value::as_str)
                .map(str::to_string),
            shape: t
                .get("shape")
                .and_then(Value::as_array)
                .map(|s| s.iter().map(|d| d.as_i64().unwrap_or(-2)).collect())
                .unwrap_or_default(),
            values,
            non_numeric,
        });
    }
    let mut inputs = Inputs {
        rows_at: "inputs[0]".into(),
        ..Inputs::default()
    };
    match tensors.as_slice() {
        [one] => {
            let n = one.shape.first().copied().unwrap_or(1).max(1) as usize;
            let width = one.values.len() / n.max(1);
            if width > 0 && width * n == one.values.len() {
                inputs.rows = one.values.chunks(width).map(<[f64]>::to_vec).collect();
            }
        }
        many => {
            // Tensors of one value per row, side by side, named.
            let n = many.first().map_or(0, |t| t.values.len());
            if many.iter().all(|t| t.values.len() == n) {
                inputs.rows = (0..n)
                    .map(|r| {
                        many.iter()
                            .map(|t| t.values.get(r).copied().unwrap_or(f64::NAN))
                            .collect()
                    })
                    .collect();
                inputs.columns = many.iter().map(|t| t.name.clone()).collect();
                inputs.rows_at = "inputs".into();
            }
        }
    }
    inputs.tensors = tensors;
    inputs
}

fn v1(value: &Value, at: &str) -> Inputs {
    let mut inputs = Inputs {
        rows_at: at.to_string(),
        ..Inputs::default()
    };
    let mut non_numeric = 0;
    match value {
        // Rows as objects: columns by name.
        Value::Array(rows) if rows.first().is_some_and(Value::is_object) => {
            let mut columns: Vec<String> = Vec::new();
            for row in rows {
                if let Some(map) = row.as_object() {
                    for k in map.keys() {
                        if !columns.contains(k) {
                            columns.push(k.clone());
                        }
                    }
                }
            }
            for row in rows.iter().take(MAX_VALUES / columns.len().max(1)) {
                let mut r = Vec::with_capacity(columns.len());
                for c in &columns {
                    let mut one = Vec::new();
                    match row.get(c) {
                        Some(v) => flatten(v, &mut one, &mut non_numeric),
                        None => one.push(f64::NAN),
                    }
                    r.push(one.first().copied().unwrap_or(f64::NAN));
                }
                inputs.rows.push(r);
            }
            inputs.columns = columns;
        }
        Value::Array(rows) => {
            for row in rows {
                let mut r = Vec::new();
                flatten(row, &mut r, &mut non_numeric);
                inputs.rows.push(r);
                if inputs.rows.len() * inputs.rows.first().map_or(1, Vec::len) >= MAX_VALUES {
                    break;
                }
            }
        }
        // Columnar: {"name": [values...]}.
        Value::Object(map) => {
            let cols: Vec<(String, Vec<f64>)> = map
                .iter()
                .map(|(k, v)| {
                    let mut vals = Vec::new();
                    flatten(v, &mut vals, &mut non_numeric);
                    (k.clone(), vals)
                })
                .collect();
            let n = cols.first().map_or(0, |(_, v)| v.len());
            if cols.iter().all(|(_, v)| v.len() == n) {
                inputs.rows = (0..n)
                    .map(|r| {
                        cols.iter()
                            .map(|(_, v)| v.get(r).copied().unwrap_or(f64::NAN))
                            .collect()
                    })
                    .collect();
                inputs.columns = cols.into_iter().map(|(k, _)| k).collect();
            }
        }
        _ => {}
    }
    let width = inputs.rows.first().map_or(0, Vec::len);
    inputs.tensors.push(Tensor {
        name: at.to_string(),
        location: at.to_string(),
        datatype: None,
        shape: vec![inputs.rows.len() as i64, width as i64],
        values: inputs.rows.iter().flatten().copied().collect(),
        non_numeric,
    });
    inputs
}

/// Feature squeezing: rounds every number of a request's tensor inputs
/// (`inputs`, `instances`) to `decimals` places, which wipes out
/// perturbations smaller than that. Returns whether anything changed.
pub fn squeeze(body: &mut Value, decimals: u32) -> bool {
    let scale = 10f64.powi(decimals.min(12) as i32);
    let mut changed = false;
    let Value::Object(map) = body else {
        return false;
    };
    for key in ["inputs", "instances"] {
        let Some(root) = map.get_mut(key) else {
            continue;
        };
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            match v {
                Value::Array(items) => stack.extend(items.iter_mut()),
                Value::Object(fields) => stack.extend(
                    fields
                        .iter_mut()
                        .filter(|(k, _)| !matches!(k.as_str(), "name" | "shape" | "datatype"))
                        .map(|(_, v)| v),
                ),
                Value::Number(n) if n.is_f64() => {
                    let x = n.as_f64().unwrap_or(0.0);
                    let rounded = (x * scale).round() / scale;
                    if rounded != x {
                        if let Some(r) = serde_json::Number::from_f64(rounded) {
                            *n = r;
                            changed = true;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    changed
}

/// What an answer may say of its scores, against inversion and extraction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hardening {
    /// Round scores to this many decimals.
    pub round: Option<u32>,
    /// Keep the `k` best scores of each row; the others become 0.
    pub top_k: Option<usize>,
    /// Answer with each row's best class index only.
    pub labels_only: bool,
}

/// Applies `h` to a KServe v2 answer's floating-point outputs or a v1
/// answer's `predictions`. Returns whether anything changed.
pub fn harden(body: &mut Value, h: Hardening) -> bool {
    let mut changed = false;
    if let Some(outputs) = body.get_mut("outputs").and_then(Value::as_array_mut) {
        for out in outputs {
            let float = out
                .get("datatype")
                .and_then(Value::as_str)
                .is_some_and(|d| d.starts_with("FP"));
            if !float {
                continue;
            }
            let shape: Vec<i64> = out
                .get("shape")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let mut values = Vec::new();
            let mut ignored = 0;
            if let Some(data) = out.get("data") {
                flatten(data, &mut values, &mut ignored);
            }
            let n = shape.first().copied().unwrap_or(1).max(1) as usize;
            let width = values.len() / n;
            if width == 0 || width * n != values.len() {
                continue;
            }
            let mut rows: Vec<Vec<f64>> = values.chunks(width).map(<[f64]>::to_vec).collect();
            if h.labels_only {
                let labels: Vec<Value> = rows.iter().map(|r| Value::from(best(r))).collect();
                out["data"] = Value::Array(labels);
                out["shape"] = Value::from(vec![n as i64]);
                out["datatype"] = Value::from("INT64");
                changed = true;
                continue;
            }
            for r in &mut rows {
                trim(r, h);
            }
            out["data"] = Value::from(rows.concat());
            changed = true;
        }
    }
    if let Some(predictions) = body.get_mut("predictions").and_then(Value::as_array_mut) {
        for p in predictions.iter_mut() {
            let Some(row) = p.as_array() else { continue };
            let mut r: Vec<f64> = row.iter().filter_map(Value::as_f64).collect();
            if r.len() != row.len() || r.is_empty() {
                continue;
            }
            *p = if h.labels_only {
                Value::from(best(&r))
            } else {
                trim(&mut r, h);
                Value::from(r)
            };
            changed = true;
        }
    }
    changed
}

fn best(r: &[f64]) -> i64 {
    r.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as i64)
}

fn trim(r: &mut [f64], h: Hardening) {
    if let Some(k) = h.top_k {
        let mut order: Vec<(usize, f64)> = r.iter().copied().enumerate().collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (i, _) in order.into_iter().skip(k) {
            if let Some(v) = r.get_mut(i) {
                *v = 0.0;
            }
        }
    }
    if let Some(d) = h.round {
        let scale = 10f64.powi(d.min(12) as i32);
        for v in r.iter_mut() {
            *v = (*v * scale).round() / scale;
        }
    }
}

/// The scores of an answer, one row per instance: a v2 answer's first
/// output, or v1 `predictions`.
pub fn outputs(body: &Value) -> Option<Vec<Vec<f64>>> {
    let mut ignored = 0;
    if let Some(first) = body
        .get("outputs")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
    {
        let mut values = Vec::new();
        flatten(first.get("data")?, &mut values, &mut ignored);
        let n = first
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(1) as usize;
        let width = (values.len() / n).max(1);
        return Some(values.chunks(width).map(<[f64]>::to_vec).collect());
    }
    let predictions = body.get("predictions")?.as_array()?;
    Some(
        predictions
            .iter()
            .map(|p| {
                let mut row = Vec::new();
                flatten(p, &mut row, &mut ignored);
                row
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_tensors_become_rows() {
        let body = json!({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, "six"]]}]});
        let i = inputs(&body).unwrap();
        assert_eq!(i.tensors[0].shape, [2, 3]);
        assert_eq!(i.tensors[0].non_numeric, 1);
        assert_eq!(i.rows.len(), 2);
        assert_eq!(i.rows[0], [1.0, 2.0, 3.0]);
        assert!(i.rows[1][2].is_nan());
        assert!(i.columns.is_empty());
        // One tensor per feature: named columns.
        let body = json!({"inputs": [
            {"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 2]},
            {"name": "b", "shape": [2], "datatype": "FP64", "data": [3, 4]}]});
        let i = inputs(&body).unwrap();
        assert_eq!(i.columns, ["a", "b"]);
        assert_eq!(i.rows, [vec![1.0, 3.0], vec![2.0, 4.0]]);
    }

    #[test]
    fn v1_instances_and_columns_become_rows() {
        let i = inputs(&json!({"instances": [[1, 2], [3, 4]]})).unwrap();
        assert_eq!(i.rows, [vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert_eq!(i.tensors[0].shape, [2, 2]);
        let i = inputs(&json!({"instances": [{"b": 2, "a": 1}, {"a": 3}]})).unwrap();
        // Key order is serde_json's (sorted, or as written with preserve_order).
        let (a, b) = (
            i.columns.iter().position(|c| c == "a").unwrap(),
            i.columns.iter().position(|c| c == "b").unwrap(),
        );
        assert_eq!((i.rows[0][a], i.rows[0][b], i.rows[1][a]), (1.0, 2.0, 3.0));
        assert!(i.rows[1][b].is_nan());
        let i = inputs(&json!({"inputs": {"a": [1, 2], "b": [3, 4]}})).unwrap();
        assert_eq!(i.columns, ["a", "b"]);
        assert_eq!(i.rows, [vec![1.0, 3.0], vec![2.0, 4.0]]);
        assert!(inputs(&json!({"messages": []})).is_none());
    }

    #[test]
    fn squeezing_rounds_input_values_only() {
        let mut body = json!({"id": "r1.5", "parameters": {"t": 0.123456},
            "inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [0.123456, 2, 3.999999]}]});
        assert!(squeeze(&mut body, 2));
        assert_eq!(body["inputs"][0]["data"], json!([0.12, 2, 4.0]));
        assert_eq!(body["inputs"][0]["shape"], json!([1, 3]));
        assert_eq!(body["parameters"]["t"], 0.123456);
        assert!(!squeeze(&mut body, 2), "already squeezed");
        let mut v1 = json!({"instances": [{"a": 1.26}, {"a": 7}]});
        assert!(squeeze(&mut v1, 1));
        assert_eq!(v1["instances"][0]["a"], 1.3);
    }

    #[test]
    fn answers_are_hardened() {
        let answer = json!({"model_name": "m", "outputs": [
            {"name": "probabilities", "shape": [2, 3], "datatype": "FP32", "data": [0.1234, 0.3456, 0.531, 0.7, 0.2, 0.1]},
            {"name": "label", "shape": [2], "datatype": "INT64", "data": [2, 0]}]});
        let mut a = answer.clone();
        assert!(harden(
            &mut a,
            Hardening {
                round: Some(1),
                top_k: Some(1),
                labels_only: false
            }
        ));
        assert_eq!(
            a["outputs"][0]["data"],
            json!([0.0, 0.0, 0.5, 0.7, 0.0, 0.0])
        );
        assert_eq!(a["outputs"][1], answer["outputs"][1]);
        let mut a = answer.clone();
        assert!(harden(
            &mut a,
            Hardening {
                labels_only: true,
                ..Hardening::default()
            }
        ));
        assert_eq!(
            a["outputs"][0],
            json!({"name": "probabilities", "shape": [2], "datatype": "INT64", "data": [2, 0]})
        );
        let mut v1 = json!({"predictions": [[0.2, 0.8], [0.6, 0.4]]});
        assert!(harden(
            &mut v1,
            Hardening {
                labels_only: true,
                ..Hardening::default()
            }
        ));
        assert_eq!(v1, json!({"predictions": [1, 0]}));
        let mut v1 = json!({"predictions": [2.71]});
        assert!(
            !harden(
                &mut v1,
                Hardening {
                    round: Some(2),
                    ..Hardening::default()
                }
            ),
            "not rows of scores"
        );
    }

    #[test]
    fn answers_become_score_rows() {
        let v2 = json!({"outputs": [{"name": "p", "shape": [2, 3], "datatype": "FP32", "data": [0.1, 0.2, 0.7, 0.5, 0.5, 0.0]}]});
        assert_eq!(
            outputs(&v2).unwrap(),
            [vec![0.1, 0.2, 0.7], vec![0.5, 0.5, 0.0]]
        );
        let v1 = json!({"predictions": [[0.9, 0.1], [0.2, 0.8]]});
        assert_eq!(outputs(&v1).unwrap()[1], [0.2, 0.8]);
        assert!(outputs(&json!({})).is_none());
    }

    #[test]
    fn deep_nesting_and_huge_bodies_stay_bounded() {
        let mut deep = json!(1);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        let mut map = serde_json::Map::new();
        map.insert("instances".into(), Value::Array(vec![deep]));
        let body = Value::Object(map);
        let i = inputs(&body).unwrap();
        assert_eq!(i.rows, [vec![1.0]]);
        std::mem::forget(body); // dropping 100,000 nested arrays recurses
    }
}
