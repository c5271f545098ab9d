//! Guards for tensor and tabular requests: inputs checked against a
//! declared spec (`tensor-spec`), and rows scored against a reference
//! profile made by `mlsec data profile` (`ood`).
//!
//! Their hits name the tensor (`inputs[0]`, `instances`) and, as `start`
//! and `end`, the element (spec) or row (ood) they are about.

use crate::tensor::Inputs;
use crate::{Guard, Hit, Request};
use mlsec_stats::sketch::{KllSketch, Moments};
use mlsec_stats::{chi2_sf, normal_sf};
use serde::Deserialize;

/// One declared input.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    /// KServe v2 datatype: `FP32`, `INT64`, `BOOL`, ...
    pub datatype: Option<String>,
    /// `-1` for any size.
    pub shape: Option<Vec<i64>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Checks inputs against their declared names, datatypes, shapes and ranges.
pub struct SpecGuard {
    inputs: Vec<InputSpec>,
}

impl SpecGuard {
    pub fn new(inputs: Vec<InputSpec>) -> Result<SpecGuard, String> {
        if inputs.is_empty() {
            return Err("declare at least one input".into());
        }
        for i in &inputs {
            if let (Some(lo), Some(hi)) = (i.min, i.max) {
                if lo > hi || lo.is_nan() || hi.is_nan() {
                    return Err(format!("input `{}`: min is above max", i.name));
                }
            }
        }
        Ok(SpecGuard { inputs })
    }
}

fn hit(rule: &str, location: &str, at: usize, family: &str, score: f32) -> Hit {
    Hit {
        rule: rule.into(),
        family: family.into(),
        location: location.into(),
        start: at,
        end: at + 1,
        score,
    }
}

impl Guard for SpecGuard {
    fn check(&self, request: &Request, hits: &mut Vec<Hit>) {
        let Some(inputs) = request.inputs() else {
            if request.json.is_some() {
                hits.push(hit("NO_INPUTS", "body", 0, "spec", 1.0));
            }
            return;
        };
        // v1 rows have no names: the first declared input describes them.
        let positional = inputs.tensors.len() == 1
            && inputs.columns.is_empty()
            && matches!(inputs.rows_at.as_str(), "instances" | "inputs");
        for t in &inputs.tensors {
            let spec = if positional {
                self.inputs.first()
            } else {
                self.inputs.iter().find(|s| s.name == t.name)
            };
            let Some(spec) = spec else {
                hits.push(hit("UNKNOWN_INPUT", &t.location, 0, "spec", 1.0));
                continue;
            };
            if let (Some(want), Some(got)) = (&spec.datatype, &t.datatype) {
                if !want.eq_ignore_ascii_case(got) {
                    hits.push(hit("DATATYPE", &t.location, 0, "spec", 1.0));
                }
            }
            if let Some(want) = &spec.shape {
                let fits = want.len() == t.shape.len()
                    && want.iter().zip(&t.shape).all(|(w, g)| *w == -1 || w == g);
                if !fits {
                    hits.push(hit("SHAPE", &t.location, 0, "spec", 1.0));
                }
            }
            let declared: i64 = t.shape.iter().product();
            if !positional && (declared < 0 || declared as usize != t.values.len()) {
                hits.push(hit("DATA_SIZE", &t.location, 0, "spec", 1.0));
            }
            if let Some(at) = t.values.iter().position(|v| !v.is_finite()) {
                hits.push(hit("NOT_A_NUMBER", &t.location, at, "spec", 1.0));
            }
            let (lo, hi) = (spec.min.unwrap_or(f64::MIN), spec.max.unwrap_or(f64::MAX));
            if let Some(at) = t
                .values
                .iter()
                .position(|v| v.is_finite() && (*v < lo || *v > hi))
            {
                hits.push(hit("VALUE_RANGE", &t.location, at, "spec", 1.0));
            }
        }
        if !positional {
            for spec in &self.inputs {
                if !inputs.tensors.iter().any(|t| t.name == spec.name) {
                    hits.push(hit("MISSING_INPUT", "inputs", 0, "spec", 1.0));
                }
            }
        }
    }
}

/// A numeric column of a reference profile.
#[derive(Debug, Clone)]
pub struct Reference {
    pub name: String,
    quantiles: KllSketch,
    moments: Moments,
}

#[derive(Deserialize)]
struct ProfileFile {
    kind: String,
    details: ProfileBody,
}

#[derive(Deserialize)]
struct ProfileBody {
    columns: Vec<ProfileColumn>,
}

#[derive(Deserialize)]
struct ProfileColumn {
    name: String,
    kind: Option<String>,
    summary: ProfileSummary,
}

#[derive(Deserialize)]
struct ProfileSummary {
    moments: Moments,
    quantiles: KllSketch,
}

/// Scores rows against a profile: each feature's two-sided tail
/// probability from the profile's quantile sketch (from its moments beyond
/// the range seen), combined over the row by Fisher's method. A row whose
/// combined probability is below `1 - threshold` is out of distribution.
#[derive(Debug)]
pub struct OodGuard {
    columns: Vec<Reference>,
    threshold: f32,
}

impl OodGuard {
    /// `profile`: the JSON of `mlsec data profile`; `columns`: the model's
    /// inputs in order (all of the profile's numeric columns when empty).
    pub fn new(profile: &[u8], columns: &[String], threshold: f32) -> Result<OodGuard, String> {
        let file: ProfileFile = serde_json::from_slice(profile)
            .map_err(|e| format!("not a profile of mlsec data profile: {e}"))?;
        if file.kind != "data.profile" {
            return Err(format!("kind `{}`, not data.profile", file.kind));
        }
        let numeric: Vec<Reference> = file
            .details
            .columns
            .into_iter()
            .filter(|c| c.kind.as_deref() == Some("numeric") && !c.summary.quantiles.is_empty())
            .map(|c| Reference {
                name: c.name,
                quantiles: c.summary.quantiles,
                moments: c.summary.moments,
            })
            .collect();
        let chosen = if columns.is_empty() {
            numeric
        } else {
            let mut out = Vec::new();
            for name in columns {
                let c = numeric
                    .iter()
                    .find(|c| &c.name == name)
                    .ok_or_else(|| format!("the profile has no numeric column `{name}`"))?;
                out.push(c.clone());
            }
            out
        };
        if chosen.is_empty() {
            return Err("the profile has no numeric column".into());
        }
        Ok(OodGuard {
            columns: chosen,
            threshold,
        })
    }

    /// The probability of a row this extreme or more, and its most extreme
    /// feature. `row` holds the features in the guard's column order.
    pub fn row_probability(&self, row: &[f64]) -> (f64, usize) {
        let mut statistic = 0.0;
        let mut used = 0;
        let mut worst = (f64::INFINITY, 0);
        for (i, (c, &x)) in self.columns.iter().zip(row).enumerate() {
            if !x.is_finite() {
                continue;
            }
            let p = tail(c, x);
            if p < worst.0 {
                worst = (p, i);
            }
            statistic += -2.0 * p.ln();
            used += 1;
        }
        if used == 0 {
            return (1.0, 0);
        }
        (chi2_sf(statistic, (2 * used) as f64).min(1.0), worst.1)
    }

    /// Each column's standard deviation in the profile (1 where unknown).
    pub fn spreads(&self) -> Vec<f64> {
        self.columns
            .iter()
            .map(|c| c.moments.std_dev().filter(|s| *s > 0.0).unwrap_or(1.0))
            .collect()
    }

    /// The guard's features of a request's rows, by name when it names them.
    fn aligned(&self, inputs: &Inputs) -> Vec<Vec<f64>> {
        if inputs.columns.is_empty() {
            return inputs.rows.clone();
        }
        let index: Vec<Option<usize>> = self
            .columns
            .iter()
            .map(|c| inputs.columns.iter().position(|n| *n == c.name))
            .collect();
        inputs
            .rows
            .iter()
            .map(|r| {
                index
                    .iter()
                    .map(|i| i.and_then(|i| r.get(i).copied()).unwrap_or(f64::NAN))
                    .collect()
            })
            .collect()
    }
}

/// Two-sided tail probability of `x` under column `c`, never 0.
fn tail(c: &Reference, x: f64) -> f64 {
    let n = c.quantiles.n().max(1) as f64;
    let floor = 0.5 / n;
    let (lo, hi) = (c.quantiles.min(), c.quantiles.max());
    let inside = lo.is_none_or(|lo| x >= lo) && hi.is_none_or(|hi| x <= hi);
    if inside {
        let r = c.quantiles.rank(x).unwrap_or(0.5);
        return (2.0 * r.min(1.0 - r + 1.0 / n)).clamp(floor, 1.0);
    }
    // Beyond anything seen: a normal tail from the moments, below the floor.
    let (mean, sd) = (
        c.moments.mean().unwrap_or(x),
        c.moments.std_dev().unwrap_or(0.0),
    );
    if sd <= 0.0 {
        return 1e-12;
    }
    let z = ((x - mean) / sd).abs();
    (floor * 2.0 * normal_sf(z)).max(1e-300)
}

impl Guard for OodGuard {
    fn check(&self, request: &Request, hits: &mut Vec<Hit>) {
        let Some(inputs) = request.inputs() else {
            return;
        };
        for (r, row) in self.aligned(inputs).iter().enumerate() {
            let (p, worst) = self.row_probability(row);
            let score = (1.0 - p) as f32;
            if score < self.threshold {
                continue;
            }
            let feature = self.columns.get(worst).map_or("", |c| c.name.as_str());
            hits.push(Hit {
                rule: "OUT_OF_DISTRIBUTION".into(),
                family: "ood".into(),
                location: format!("{}[{r}].{feature}", inputs.rows_at),
                start: r,
                end: r + 1,
                score,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts;
    use serde_json::json;

    fn check(guard: &dyn Guard, body: serde_json::Value) -> Vec<Hit> {
        let t = texts(&body);
        let mut hits = Vec::new();
        guard.check(&Request::new(Some(&body), &t), &mut hits);
        hits
    }

    fn penguins() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/data/penguins.profile.json"
        ))
        .unwrap()
    }

    const COLUMNS: [&str; 4] = [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ];

    #[test]
    fn inputs_off_their_spec_are_named() {
        let g = SpecGuard::new(vec![InputSpec {
            name: "x".into(),
            datatype: Some("FP32".into()),
            shape: Some(vec![-1, 4]),
            min: Some(0.0),
            max: Some(10_000.0),
        }])
        .unwrap();
        let ok = json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [39.1, 18.7, 181, 3750]}]});
        assert!(check(&g, ok).is_empty());
        let bad = json!({"inputs": [
            {"name": "x", "shape": [1, 5], "datatype": "INT64", "data": [39.1, 18.7, -181, 3750]},
            {"name": "debug", "shape": [1], "datatype": "BYTES", "data": ["rm -rf"]}]});
        let rules: Vec<(String, String, usize)> = check(&g, bad)
            .into_iter()
            .map(|h| (h.rule, h.location, h.start))
            .collect();
        assert_eq!(
            rules,
            [
                ("DATATYPE".to_string(), "inputs[0]".to_string(), 0),
                ("SHAPE".into(), "inputs[0]".into(), 0),
                ("DATA_SIZE".into(), "inputs[0]".into(), 0),
                ("VALUE_RANGE".into(), "inputs[0]".into(), 2),
                ("UNKNOWN_INPUT".into(), "inputs[1]".into(), 0),
            ]
        );
        // v1 rows: the first declared input describes them.
        let rules: Vec<String> = check(&g, json!({"instances": [[1, 2, 3, 4], [1, 2, 3, 1e9]]}))
            .into_iter()
            .map(|h| h.rule)
            .collect();
        assert_eq!(rules, ["VALUE_RANGE"]);
        let rules: Vec<String> = check(&g, json!({"instances": [[1, 2, "x", 4]]}))
            .into_iter()
            .map(|h| h.rule)
            .collect();
        assert_eq!(rules, ["NOT_A_NUMBER"]);
        assert!(SpecGuard::new(vec![]).is_err());
    }

    #[test]
    fn rows_far_from_the_profile_are_out_of_distribution() {
        let columns: Vec<String> = COLUMNS.iter().map(|s| s.to_string()).collect();
        let g = OodGuard::new(&penguins(), &columns, 0.9999).unwrap();
        // Real penguins (an Adelie and a Gentoo) are in distribution.
        let real = json!({"instances": [[39.1, 18.7, 181, 3750], [46.1, 13.2, 211, 4500]]});
        assert!(check(&g, real).is_empty());
        // A ten-tonne penguin, and one at the edge of everything at once.
        let odd = json!({"instances": [[39.1, 18.7, 181, 10_000_000], [59.0, 21.4, 231, 6300], [44.0, 17.0, 200, 4200]]});
        let hits = check(&g, odd);
        let rows: Vec<(usize, &str)> = hits
            .iter()
            .map(|h| (h.start, h.location.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (0, "instances[0].body_mass_g"),
                (1, "instances[1].flipper_length_mm")
            ]
        );
        // Named columns are matched by name, whatever their order.
        let named = json!({"instances": [{"body_mass_g": 10_000_000, "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181}]});
        assert_eq!(check(&g, named).len(), 1);
        assert!(OodGuard::new(&penguins(), &["species".into()], 0.99)
            .unwrap_err()
            .contains("species"));
        assert!(OodGuard::new(b"{}", &[], 0.99).is_err());
    }

    #[test]
    fn the_tail_functions_match_known_values() {
        assert!((normal_sf(1.96) - 0.025).abs() < 1e-3);
        assert!((chi2_sf(5.991, 2.0) - 0.05).abs() < 1e-3);
        assert!((chi2_sf(9.488, 4.0) - 0.05).abs() < 1e-3);
    }
}
