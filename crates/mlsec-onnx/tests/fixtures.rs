//! Every fixture model (made by tests/fixtures/make.py with scikit-learn,
//! skl2onnx and onnxruntime) loads, and its scores match onnxruntime's on
//! the same 32 rows: real rows and rows up to 20% outside the data's range.

use std::path::{Path, PathBuf};

use mlsec_model::{argmax, Model, Output};
use mlsec_onnx::OnnxModel;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|r| match r {
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect::<Vec<_>>(),
            x => vec![x.as_f64().unwrap() as f32],
        })
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 + 1e-4 * b.abs()
}

/// Checks one fixture; returns what was compared.
fn check(name: &str) -> String {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    let model = OnnxModel::load(&fixtures().join(format!("{name}.onnx")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let rows = floats(&spec["rows"]);
    let n = spec["rows"].as_array().unwrap().len();
    assert_eq!(
        model.features(),
        spec["features"].as_u64().unwrap() as usize,
        "{name}"
    );
    let got = model
        .predict(&rows)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = floats(&spec["scores"]);
    let width = model.width();
    assert_eq!(got.len(), n * width, "{name}: {n} rows of {width}");

    if spec["classes"].is_null() {
        assert_eq!(model.output(), Output::Values, "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert!(close(*g, *w), "{name}: {g} vs onnxruntime {w}");
        }
        return format!("{name}: {n} values");
    }
    let classes: Vec<String> = spec["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(model.classes(), classes.as_slice(), "{name}");
    let labels: Vec<String> = spec["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    // The predicted class is onnxruntime's label on every row, but where
    // an SVM's votes tie: onnxruntime (and libsvm's predict) take the first
    // class, the one-against-rest scores break the tie by confidence (less
    // than 1/3 of a vote).
    for (i, row) in got.chunks_exact(width).enumerate() {
        let c = argmax(row).unwrap();
        if classes[c] != labels[i] {
            let theirs = classes.iter().position(|k| *k == labels[i]).unwrap();
            assert!(
                spec["output_kind"] == "scores" && row[c] - row[theirs] < 1.0 / 3.0,
                "{name}: row {i}: class {} for onnxruntime's {}; scores {row:?}",
                classes[c],
                labels[i]
            );
        }
    }
    // Scores equal onnxruntime's; a binary SVM's two columns are swapped so
    // that the highest names the predicted class.
    let want: Vec<f32> = if spec["output_kind"] == "scores" && classes.len() == 2 {
        want.chunks_exact(2).flat_map(|p| [p[1], p[0]]).collect()
    } else {
        want
    };
    assert_eq!(want.len(), got.len(), "{name}");
    for (g, w) in got.iter().zip(&want) {
        assert!(close(*g, *w), "{name}: {g} vs onnxruntime {w}");
    }
    assert_eq!(
        model.output() == Output::Probabilities,
        spec["output_kind"] == "probabilities",
        "{name}: output {:?}",
        model.output()
    );
    format!("{name}: {n} rows, {} classes", classes.len())
}

#[test]
fn every_fixture_matches_onnxruntime() {
    // scikit-learn's exports here, PyTorch's and Keras's in deep/.
    let mut names: Vec<String> = ["", "deep/"]
        .iter()
        .flat_map(|folder| {
            std::fs::read_dir(fixtures().join(folder))
                .unwrap()
                .filter_map(move |e| {
                    let p = e.unwrap().path();
                    (p.extension()? == "onnx")
                        .then(|| format!("{folder}{}", p.file_stem().unwrap().to_string_lossy()))
                })
        })
        .collect();
    names.sort();
    assert!(names.len() >= 24, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("deep/")).count(), 4);
    let mut failures = Vec::new();
    for name in &names {
        match std::panic::catch_unwind(|| check(name)) {
            Ok(line) => eprintln!("ok {line}"),
            Err(e) => failures.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| format!("{name}: panicked")),
            ),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

/// The SVM operator's own one-against-one scores (the graph cut at the SVM
/// node) equal onnxruntime's, and mlsec turns them into the
/// one-against-rest scores that skl2onnx's extra nodes compute.
#[test]
fn svm_pair_scores_match_onnxruntime_and_become_one_against_rest() {
    use prost::Message;
    use tract_onnx::pb;
    use tract_onnx::prelude::Framework;
    for name in [
        "svc_poly_wine",
        "svc_rbf_multi_noproba_iris",
        "svc_rbf_ovo_digits4",
    ] {
        let spec: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        let bytes = std::fs::read(fixtures().join(format!("{name}.onnx"))).unwrap();
        let mut proto = tract_onnx::onnx()
            .proto_model_for_read(&mut &bytes[..])
            .unwrap();
        let graph = proto.graph.as_mut().unwrap();
        let svm_output = spec["svm_node_output"].as_str().unwrap();
        graph.output = vec![pb::ValueInfoProto {
            name: svm_output.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: pb::tensor_proto::DataType::Float as i32,
                    shape: None,
                })),
                ..Default::default()
            }),
            ..Default::default()
        }];
        let model = OnnxModel::from_bytes(name, &proto.encode_to_vec()).unwrap();
        let classes = spec["classes"].as_array().unwrap().len();
        assert_eq!(model.width(), classes, "{name}");
        let got = model.predict(&floats(&spec["rows"])).unwrap();
        let want = floats(&spec["scores"]);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                close(*g, *w),
                "{name}: {g} vs skl2onnx's one-against-rest {w}"
            );
        }
        assert_eq!(got.len(), want.len());
    }
}

#[test]
fn bad_models_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("mlsec-onnx-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf at all \xff\xff").unwrap();
    let e = OnnxModel::load(&garbage).err().unwrap().to_string();
    assert!(e.contains("garbage.onnx"), "{e}");
    let e = OnnxModel::load(&dir.join("missing.onnx"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("missing.onnx"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Truncated and corrupted models are errors naming the file, never a
/// crash: what tract cannot read is an error, and where tract itself
/// panics (a corrupted weight's shape trips one of its assertions), the
/// panic is caught and becomes one.
#[test]
fn truncated_and_corrupted_models_are_errors() {
    let mut tried = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "onnx") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut cuts: Vec<usize> = (1..20).map(|k| bytes.len() * k / 20).collect();
        cuts.push(bytes.len() - 1);
        for cut in cuts {
            tried += 1;
            if let Err(e) = OnnxModel::from_bytes("cut.onnx", &bytes[..cut]) {
                let e = e.to_string();
                assert!(
                    e.starts_with("cut.onnx: "),
                    "{}: cut at {cut}: {e}",
                    path.display()
                );
            }
        }
        // Flip bytes through the file: whatever loads must answer or fail cleanly.
        for k in 1..16 {
            let mut bad = bytes.clone();
            let at = bad.len() * k / 16;
            bad[at] ^= 0xA5;
            tried += 1;
            match OnnxModel::from_bytes("flip.onnx", &bad) {
                Ok(model) => {
                    let row = vec![0.5; model.features().min(4096)];
                    if let Err(e) = model.predict(&row) {
                        assert!(e.to_string().starts_with("flip.onnx: "), "{e}");
                    }
                }
                Err(e) => assert!(
                    e.to_string().starts_with("flip.onnx: "),
                    "{}: flip at {at}: {e}",
                    path.display()
                ),
            }
        }
    }
    assert!(tried > 500);
}

/// A tree ensemble whose branches loop (found by fuzzing): tract's own
/// classifier walked it forever; mlsec refuses it at load, naming the node.
#[test]
fn a_tree_that_loops_is_refused() {
    let path = fixtures().join("hostile/tree-cycle.onnx");
    let started = std::time::Instant::now();
    let e = OnnxModel::load(&path).err().unwrap().to_string();
    assert!(e.contains("TreeEnsembleClassifier"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// A classifier whose leaf weights name a class the model does not have
/// (found by fuzzing): tract adds a weight to its class's score without a
/// bounds check, so it wrote past the scores (an abort in a debug build,
/// memory corruption in a release one), when the model was built or when it
/// predicted. mlsec refuses it at load.
#[test]
fn a_tree_weight_for_a_class_the_model_lacks_is_refused() {
    for name in ["tree-class-out-of-range", "tree-class-out-of-range-2"] {
        let path = fixtures().join(format!("hostile/{name}.onnx"));
        let e = OnnxModel::load(&path).err().unwrap().to_string();
        assert!(e.contains("TreeEnsembleClassifier"), "{name}: {e}");
        assert!(e.contains("a leaf weight for class"), "{name}: {e}");
    }
}

/// The decision tree of the iris fixture with `edit` applied to its
/// TreeEnsembleClassifier node, loaded: the error, or "loaded".
fn edited_iris_tree(edit: impl FnOnce(&mut tract_onnx::pb::NodeProto)) -> String {
    use prost::Message;
    use tract_onnx::prelude::Framework;
    let bytes = std::fs::read(fixtures().join("dtree_iris_zipmap.onnx")).unwrap();
    let mut proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .unwrap();
    let node = proto
        .graph
        .as_mut()
        .unwrap()
        .node
        .iter_mut()
        .find(|n| n.op_type == "TreeEnsembleClassifier")
        .unwrap();
    edit(node);
    match OnnxModel::from_bytes("iris.onnx", &proto.encode_to_vec()) {
        Ok(model) => {
            model.predict(&[5.1, 3.5, 1.4, 0.2]).unwrap();
            "loaded".into()
        }
        Err(e) => e.to_string(),
    }
}

fn ints_of<'a>(node: &'a mut tract_onnx::pb::NodeProto, name: &str) -> &'a mut Vec<i64> {
    &mut node
        .attribute
        .iter_mut()
        .find(|a| a.name == name)
        .unwrap()
        .ints
}

/// Everything tract's TreeEnsembleClassifier takes on trust is checked at
/// load: class ids inside the classes, each tree's node ids 0 to n-1 (tract
/// uses them as rows), and leaf weights on leaves.
#[test]
fn tree_classifiers_tract_would_misread_are_refused() {
    assert_eq!(edited_iris_tree(|_| {}), "loaded");
    for bad in [3, -1, i64::from(u32::MAX) + 1] {
        let e = edited_iris_tree(|n| ints_of(n, "class_ids")[0] = bad);
        assert!(
            e.starts_with("iris.onnx: ")
                && e.contains(&format!(
                    "a leaf weight for class {bad}, but the model has 3 classes"
                )),
            "{e}"
        );
    }
    // Node ids doubled: still one tree by id, but tract would read id 2k as
    // row 2k, past the tree's end.
    let e = edited_iris_tree(|n| {
        for name in [
            "nodes_nodeids",
            "nodes_truenodeids",
            "nodes_falsenodeids",
            "class_nodeids",
        ] {
            ints_of(n, name).iter_mut().for_each(|id| *id *= 2);
        }
    });
    assert!(e.contains("tree 0: node ids are not 0 to "), "{e}");
    // A weight on the root, a branch.
    let e = edited_iris_tree(|n| ints_of(n, "class_nodeids")[0] = 0);
    assert!(
        e.contains("a leaf weight names node 0 of tree 0, which is not a leaf"),
        "{e}"
    );
}
