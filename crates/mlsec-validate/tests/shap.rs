//! Kernel SHAP against the `shap` package's KernelExplainer, on the model,
//! background and rows of tests/fixtures/shap/make.py (cases.json).

use mlsec_model::{Model, ModelError, Output};
use mlsec_validate::explain::shap::{kernel_shap, Settings};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;

/// h = tanh(W1 x + b1), z = W2 h + b2, softmax; in f32, as make.py.
struct Mlp {
    features: usize,
    hidden: usize,
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
    classes: Vec<String>,
}

impl Model for Mlp {
    fn name(&self) -> &str {
        "mlp"
    }
    fn features(&self) -> usize {
        self.features
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn output(&self) -> Output {
        Output::Probabilities
    }
    fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
        mlsec_model::check_rows(self, rows)?;
        let mut out = Vec::new();
        for x in rows.chunks(self.features) {
            let h: Vec<f32> = self
                .w1
                .chunks(self.features)
                .zip(&self.b1)
                .map(|(w, b)| (w.iter().zip(x).map(|(a, v)| a * v).sum::<f32>() + b).tanh())
                .collect();
            let z: Vec<f32> = self
                .w2
                .chunks(self.hidden)
                .zip(&self.b2)
                .map(|(w, b)| w.iter().zip(&h).map(|(a, v)| a * v).sum::<f32>() + b)
                .collect();
            let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
            let s: f32 = e.iter().sum();
            out.extend(e.iter().map(|v| v / s));
        }
        Ok(out)
    }
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn close(what: &str, ours: f64, theirs: &Value) {
    let theirs = theirs.as_f64().unwrap();
    assert!(
        (ours - theirs).abs() <= TOLERANCE,
        "{what}: ours {ours}, shap {theirs}"
    );
}

#[test]
fn kernel_shap_matches_the_shap_package() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/shap/cases.json")).unwrap();
    let m = &doc["model"];
    let count = |k: &str| m[k].as_u64().unwrap() as usize;
    let model = Mlp {
        features: count("features"),
        hidden: count("hidden"),
        w1: floats(&m["w1"]),
        b1: floats(&m["b1"]),
        w2: floats(&m["w2"]),
        b2: floats(&m["b2"]),
        classes: (0..count("classes")).map(|c| format!("c{c}")).collect(),
    };
    let background = floats(&doc["background"]);
    let cases = doc["cases"].as_array().unwrap();
    let rows: Vec<f32> = cases.iter().flat_map(|c| floats(&c["row"])).collect();

    for class in 0..model.classes.len() {
        let settings = Settings {
            output: Some(class),
            ..Settings::default()
        };
        let ours = kernel_shap(&model, &background, &rows, &settings).unwrap();
        assert_eq!(ours.len(), cases.len());
        for (i, (e, case)) in ours.iter().zip(cases).enumerate() {
            let theirs = &case["classes"][class];
            assert!(e.exact);
            assert_eq!(e.output, class);
            close(
                &format!("row {i} class {class}: base"),
                e.base_value,
                &theirs["base_value"],
            );
            close(
                &format!("row {i} class {class}: f(x)"),
                e.prediction,
                &theirs["prediction"],
            );
            for (j, (&v, t)) in e
                .values
                .iter()
                .zip(theirs["values"].as_array().unwrap())
                .enumerate()
            {
                close(&format!("row {i} class {class}: feature {j}"), v, t);
            }
            // Feature 6 equals every background row's in rows 0, 2 and 5.
            if [0, 2, 5].contains(&i) {
                assert_eq!(e.values[6], 0.0);
                assert_eq!(e.coalitions, 62);
            } else {
                assert_eq!(e.coalitions, 126);
            }
        }
    }

    // By default each row's predicted class is explained.
    let default = kernel_shap(&model, &background, &rows, &Settings::default()).unwrap();
    let predictions = model.predict(&rows).unwrap();
    for (e, p) in default.iter().zip(predictions.chunks(model.classes.len())) {
        assert_eq!(Some(e.output), mlsec_model::argmax(p));
    }
}
