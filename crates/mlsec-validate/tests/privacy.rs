//! Membership-inference audits of models whose leak is known: a
//! 1-nearest-neighbour model that memorises its training rows, a
//! 50-nearest-neighbour one that averages over many, and one that never saw
//! them.

use mlsec_model::{Model, ModelError, Output};
use mlsec_validate::privacy::inversion::{inversion, InversionSettings};
use mlsec_validate::privacy::{privacy, Attack, Learner, Mlp, PrivacyDetails, PrivacyOptions};
use mlsec_validate::rng::Rng;
use mlsec_validate::table::Labelled;
use mlsec_validate::ValidateError;

const D: usize = 4;
const K: usize = 3;

/// Rows of three Gaussian classes in four features, 20% of labels
/// replaced at random (rows only memorisation gets right).
fn blobs(n: usize, seed: u64) -> Labelled {
    let mut rng = Rng::for_row(seed, 0);
    let mut x = Vec::with_capacity(n * D);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % K;
        for j in 0..D {
            let centre = if j % K == c { 1.5 } else { 0.0 };
            x.push((centre + rng.normal()) as f32);
        }
        labels.push(if rng.uniform() < 0.2 { rng.below(K) } else { c });
    }
    Labelled {
        format: "test".into(),
        features: (0..D).map(|j| format!("f{j}")).collect(),
        x,
        labels,
        rows: (1..=n as u64).collect(),
        skipped: 0,
        total: n as u64,
        groups: Vec::new(),
    }
}

/// A nearest-neighbour classifier over its training rows. With `k` = 1 it
/// memorises: the nearest row's class with confidence `exp(-d² / 0.5)`
/// (the rest spread evenly), so a training row, at distance 0 from itself,
/// gets its own class with probability 1. With a larger `k` it is
/// regularised: the classes of the `k` nearest rows, counted with one extra
/// vote per class (a training row is one vote of `k`).
struct Nearest {
    train: Labelled,
    k: usize,
    classes: Vec<String>,
    output: Output,
    /// Each feature's unit of distance.
    scale: [f32; D],
}

impl Nearest {
    fn new(train: &Labelled, k: usize) -> Nearest {
        Nearest {
            train: train.clone(),
            k,
            classes: (0..K).map(|c| format!("c{c}")).collect(),
            output: Output::Probabilities,
            scale: [1.0; D],
        }
    }
}

impl Model for Nearest {
    fn name(&self) -> &str {
        "nearest"
    }
    fn features(&self) -> usize {
        D
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn output(&self) -> Output {
        self.output
    }
    fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
        mlsec_model::check_rows(self, rows)?;
        let mut out = Vec::new();
        for r in rows.chunks_exact(D) {
            let mut near: Vec<(f32, usize)> = self
                .train
                .x
                .chunks_exact(D)
                .zip(&self.train.labels)
                .map(|(t, &c)| {
                    let d2 = t
                        .iter()
                        .zip(r)
                        .zip(&self.scale)
                        .map(|((a, b), s)| ((a - b) / s).powi(2))
                        .sum();
                    (d2, c)
                })
                .collect();
            near.sort_by(|a, b| a.0.total_cmp(&b.0));
            let p: Vec<f32> = if self.k == 1 {
                let (d2, c) = near[0];
                let w = 1.0 - (-d2 / 0.5).exp();
                (0..K)
                    .map(|i| {
                        if i == c {
                            1.0 - w + w / K as f32
                        } else {
                            w / K as f32
                        }
                    })
                    .collect()
            } else {
                let mut votes = [1.0f32; K];
                near.iter().take(self.k).for_each(|&(_, c)| votes[c] += 1.0);
                let total: f32 = votes.iter().sum();
                votes.iter().map(|v| v / total).collect()
            };
            match self.output {
                Output::Labels => {
                    let c = mlsec_model::argmax(&p).unwrap();
                    out.extend((0..K).map(|i| if i == c { 1.0 } else { 0.0 }));
                }
                _ => out.extend(p),
            }
        }
        Ok(out)
    }
}

/// A model that never saw any row: a fixed softmax of the class rule.
struct Fixed {
    classes: Vec<String>,
}

impl Model for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn features(&self) -> usize {
        D
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
        for r in rows.chunks_exact(D) {
            let z: Vec<f32> = (0..K)
                .map(|c| 1.5 * (0..D).filter(|j| j % K == c).map(|j| r[j]).sum::<f32>())
                .collect();
            let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
            let s: f32 = e.iter().sum();
            out.extend(e.iter().map(|v| v / s));
        }
        Ok(out)
    }
}

fn fixed() -> Fixed {
    Fixed {
        classes: (0..K).map(|c| format!("c{c}")).collect(),
    }
}

/// Options small enough for a debug build: shadow MLPs of 16 units.
fn options(seed: u64) -> PrivacyOptions {
    if std::env::var("FULL").is_ok() {
        return PrivacyOptions {
            seed,
            ..PrivacyOptions::default()
        };
    }
    PrivacyOptions {
        learner: Learner::Mlp(Mlp {
            hidden: 16,
            steps: 150,
            ..Mlp::default()
        }),
        seed,
        ..PrivacyOptions::default()
    }
}

fn auc(d: &PrivacyDetails, attack: &str) -> f64 {
    d.attacks.iter().find(|a| a.attack == attack).unwrap().auc
}

fn show(what: &str, d: &PrivacyDetails) {
    for a in &d.attacks {
        eprintln!(
            "{what}: {:13} auc {:.3} advantage {:.3} tpr@1% {:.3} tpr@0.1% {:.3}",
            a.attack, a.auc, a.advantage, a.tpr_at_fpr.fpr_1e2, a.tpr_at_fpr.fpr_1e3
        );
    }
}

#[test]
fn an_overfit_model_leaks_membership_and_a_regularised_one_far_less() {
    let members = blobs(300, 1);
    let non_members = blobs(600, 2);
    let opts = options(7);
    let overfit = privacy(&Nearest::new(&members, 1), &members, &non_members, &opts).unwrap();
    let smooth = privacy(&Nearest::new(&members, 50), &members, &non_members, &opts).unwrap();
    show("overfit", &overfit);
    show("regularised", &smooth);
    assert_eq!(overfit.accuracy.members, 1.0);
    assert_eq!(overfit.attacks.len(), Attack::ALL.len());
    for a in Attack::ALL {
        let name = a.as_str();
        let (o, s) = (auc(&overfit, name), auc(&smooth, name));
        assert!(
            o > s + 0.1,
            "{name}: overfit AUC {o:.3}, regularised {s:.3}"
        );
        assert!(s < 0.6, "{name}: regularised AUC {s:.3}");
    }
    // A training row is its own nearest neighbour: loss 0, and no
    // non-member is at distance 0.
    for name in ["loss", "confidence", "mentr", "supervised"] {
        assert!(auc(&overfit, name) > 0.95, "{name}");
    }
    assert!(auc(&overfit, "lira") > 0.65 && auc(&overfit, "lira-offline") > 0.75);
}

#[test]
fn lira_finds_members_of_a_nearest_neighbour_model_at_low_fpr() {
    let members = blobs(300, 3);
    let non_members = blobs(600, 4);
    let opts = PrivacyOptions {
        attacks: vec![Attack::Lira, Attack::LiraOffline],
        extraction: false,
        ..options(11)
    };
    let memorises = privacy(&Nearest::new(&members, 1), &members, &non_members, &opts).unwrap();
    let averages = privacy(&Nearest::new(&members, 50), &members, &non_members, &opts).unwrap();
    show("1-NN", &memorises);
    show("50-NN", &averages);
    let tpr = |d: &PrivacyDetails, i: usize| d.attacks[i].tpr_at_fpr.fpr_1e2;
    // Guessing finds 1% of members at 1% FPR.
    assert!(tpr(&memorises, 1) > 0.1, "offline: {}", tpr(&memorises, 1));
    assert!(tpr(&memorises, 0) > 0.03, "online: {}", tpr(&memorises, 0));
    for i in 0..2 {
        assert!(tpr(&memorises, i) > 1.5 * tpr(&averages, i));
        assert_eq!(memorises.attacks[i].shadows, Some(16));
    }
}

#[test]
fn a_model_that_never_saw_the_rows_scores_about_one_half() {
    let members = blobs(500, 5);
    let non_members = blobs(1000, 6);
    let d = privacy(&fixed(), &members, &non_members, &options(3)).unwrap();
    show("fixed", &d);
    for a in &d.attacks {
        assert!((a.auc - 0.5).abs() <= 0.05, "{}: AUC {}", a.attack, a.auc);
    }
}

#[test]
fn the_same_seed_gives_the_same_details() {
    let members = blobs(120, 8);
    let non_members = blobs(240, 9);
    let model = Nearest::new(&members, 1);
    let opts = options(21);
    let a =
        serde_json::to_string(&privacy(&model, &members, &non_members, &opts).unwrap()).unwrap();
    let b =
        serde_json::to_string(&privacy(&model, &members, &non_members, &opts).unwrap()).unwrap();
    assert_eq!(a, b);
    let c = serde_json::to_string(&privacy(&model, &members, &non_members, &options(22)).unwrap())
        .unwrap();
    assert_ne!(a, c);
}

#[test]
fn details_have_the_documented_shape() {
    let members = blobs(120, 10);
    let non_members = blobs(240, 11);
    let d = privacy(
        &Nearest::new(&members, 1),
        &members,
        &non_members,
        &options(1),
    )
    .unwrap();
    let v = serde_json::to_value(&d).unwrap();
    let attacks = v["attacks"].as_array().unwrap();
    assert_eq!(attacks.len(), Attack::ALL.len());
    for a in attacks {
        for key in ["attack", "auc", "advantage", "rows"] {
            assert!(a.get(key).is_some(), "{key} missing in {a}");
        }
        let t = a["tpr_at_fpr"].as_object().unwrap();
        // Key order depends on serde_json's features in the build: sort.
        let mut keys: Vec<&String> = t.keys().collect();
        keys.sort();
        assert_eq!(keys, ["0.001", "0.01"]);
        assert_eq!(a["rows"], 240);
    }
    assert_eq!(v["model"]["output"], "probabilities");
    assert_eq!(v["model"]["classes"].as_array().unwrap().len(), K);
    // 240 non-members: 120 attacked, 120 the shadow pool.
    assert_eq!(v["rows"]["members"], 120);
    assert_eq!(v["rows"]["non_members"], 120);
    assert_eq!(v["rows"]["shadow_pool"], 120);
    assert_eq!(v["rows"]["shadow_source"], "non-members");
    // One query per attacked row, one per pool row for the extraction, and
    // one per row, feature and bin tried for the model inversion.
    let inversion = &v["inversion"];
    assert_eq!(inversion["rows"], 120);
    let features = inversion["features"].as_array().unwrap();
    assert_eq!(features.len(), D);
    let bins: u64 = features.iter().map(|f| f["bins"].as_u64().unwrap()).sum();
    assert_eq!(inversion["queries"], 240 * bins);
    for f in features {
        for key in ["members", "non_members", "prior"] {
            assert!((0.0..=1.0).contains(&f[key].as_f64().unwrap()), "{f}");
        }
    }
    assert_eq!(v["queries"], 360 + 240 * bins);
    let e = &v["extraction"];
    assert_eq!(e["pool"], 120);
    assert_eq!(e["held_out"], 120);
    let queries: Vec<u64> = e["curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["queries"].as_u64().unwrap())
        .collect();
    assert_eq!(queries, [16, 32, 64, 120]);
}

#[test]
fn shadow_data_becomes_the_pool_and_every_non_member_can_be_attacked() {
    let members = blobs(100, 12);
    let non_members = blobs(100, 13);
    let shadow = blobs(150, 14);
    let opts = PrivacyOptions {
        attacks: vec![Attack::Loss, Attack::Shadow],
        shadow_data: Some(shadow),
        ..options(5)
    };
    let d = privacy(&Nearest::new(&members, 1), &members, &non_members, &opts).unwrap();
    assert_eq!((d.rows.members, d.rows.non_members), (100, 100));
    assert_eq!(d.rows.shadow_pool, 150);
    assert_eq!(d.rows.shadow_source, "shadow-data");
    // The attacked rows, the pool for the extraction, the inversion.
    let inversion = d.inversion.as_ref().unwrap().queries;
    assert_eq!(d.queries, 350 + inversion);
    assert!(d.shadows.as_ref().unwrap().lira_shadows.is_none());
}

fn usage(r: Result<PrivacyDetails, ValidateError>) -> String {
    match r {
        Err(ValidateError::Usage(m)) => m,
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn refuses_what_it_cannot_audit() {
    let members = blobs(100, 15);
    let non_members = blobs(200, 16);
    let opts = options(0);
    // Labels only: the probability attacks refuse, the gap attack runs.
    let mut labels_only = Nearest::new(&members, 1);
    labels_only.output = Output::Labels;
    let m = usage(privacy(&labels_only, &members, &non_members, &opts));
    assert!(m.contains("labels") && m.contains("gap"), "{m}");
    let gap = PrivacyOptions {
        attacks: vec![Attack::Gap],
        ..options(0)
    };
    let d = privacy(&labels_only, &members, &non_members, &gap).unwrap();
    assert_eq!(d.attacks.len(), 1);
    assert!(d.attacks[0].auc > 0.55, "{}", d.attacks[0].auc);
    let mut scores = Nearest::new(&members, 1);
    scores.output = Output::Scores;
    assert!(usage(privacy(&scores, &members, &non_members, &opts)).contains("scores"));

    // Too few rows on a side (19 members).
    let few = blobs(19, 17);
    let m = usage(privacy(&Nearest::new(&few, 1), &few, &non_members, &opts));
    assert!(m.contains("at least 20"), "{m}");
    // 38 non-members: 19 attacked once half is held out for the pool.
    assert!(usage(privacy(
        &Nearest::new(&members, 1),
        &members,
        &blobs(38, 18),
        &opts
    ))
    .contains("at least 20"));

    // A label the model does not have.
    let mut bad = non_members.clone();
    bad.labels[3] = K;
    assert!(
        usage(privacy(&Nearest::new(&members, 1), &members, &bad, &opts)).contains("class index 3")
    );
    // Other feature columns.
    let mut other = non_members.clone();
    other.features[0] = "g0".into();
    assert!(
        usage(privacy(&Nearest::new(&members, 1), &members, &other, &opts))
            .contains("different feature columns")
    );
    // Nothing to run, too few shadows.
    let none = PrivacyOptions {
        attacks: Vec::new(),
        ..options(0)
    };
    assert!(usage(privacy(&fixed(), &members, &non_members, &none)).contains("no attack"));
    let one = PrivacyOptions {
        lira_shadows: 1,
        ..options(0)
    };
    assert!(usage(privacy(&fixed(), &members, &non_members, &one)).contains("2 shadow"));
}

/// A model answering NaN for every row.
struct Broken;

impl Model for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn features(&self) -> usize {
        D
    }
    fn classes(&self) -> &[String] {
        static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        C.get_or_init(|| (0..K).map(|c| format!("c{c}")).collect())
    }
    fn output(&self) -> Output {
        Output::Probabilities
    }
    fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
        Ok(vec![f32::NAN; rows.len() / D * K])
    }
}

#[test]
fn a_model_answering_nan_is_an_error_not_a_panic() {
    let members = blobs(60, 19);
    let non_members = blobs(120, 20);
    match privacy(&Broken, &members, &non_members, &options(0)) {
        Err(ValidateError::Model(e)) => assert!(e.to_string().contains("not a finite")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn penguins_a_memorising_model_is_caught() {
    use mlsec_data::ReadOptions;
    use mlsec_validate::table::read_labelled;

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/penguins.csv");
    let features: Vec<String> = [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ]
    .map(String::from)
    .to_vec();
    let empty = blobs(0, 0);
    let mut species = Nearest::new(&empty, 1);
    species.classes = ["Adelie", "Chinstrap", "Gentoo"].map(String::from).to_vec();
    let table = read_labelled(
        &path,
        "species",
        Some(&features),
        &[],
        &species,
        &ReadOptions::default(),
    )
    .unwrap();
    // Even rows train the model, odd rows are held out.
    let pick = |odd: usize| {
        let idx: Vec<usize> = (0..table.len()).filter(|i| i % 2 == odd).collect();
        Labelled {
            x: idx.iter().flat_map(|&i| table.row(i).to_vec()).collect(),
            labels: idx.iter().map(|&i| table.labels[i]).collect(),
            rows: idx.iter().map(|&i| table.rows[i]).collect(),
            ..table.clone()
        }
    };
    let (members, non_members) = (pick(0), pick(1));
    assert!(members.len() >= 170 && non_members.len() >= 170);
    species.train = members.clone();
    // Distances in standard deviations of each feature.
    for (j, s) in species.scale.iter_mut().enumerate() {
        let col: Vec<f32> = table.x.chunks_exact(D).map(|r| r[j]).collect();
        let mean = col.iter().sum::<f32>() / col.len() as f32;
        *s = (col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / col.len() as f32).sqrt();
    }
    let d = privacy(&species, &members, &non_members, &options(2)).unwrap();
    show("penguins", &d);
    assert_eq!(d.model.classes.len(), 3);
    assert_eq!(d.rows.members, d.rows.non_members);
    assert!(d.rows.members >= 80 && d.rows.shadow_pool >= 80);
    // Members are found: loss 0 on every training row.
    assert!(auc(&d, "loss") > 0.95, "{}", auc(&d, "loss"));
    assert!(auc(&d, "lira-offline") > 0.6, "{}", auc(&d, "lira-offline"));
    // Penguins are easy: a copy agrees on 90% of held-out rows from the
    // pool's answers.
    let e = d.extraction.unwrap();
    assert!(e.queries_needed.is_some(), "{e:?}");
}

/// Model inversion: a memorising model lets the attacker recover a
/// feature of its training rows far better than of other rows; a
/// regularised one does not.
#[test]
fn inversion_recovers_features_of_a_memorising_models_training_rows() {
    let members = blobs(300, 14);
    let non_members = blobs(600, 15);
    let opts = PrivacyOptions {
        attacks: vec![Attack::Loss],
        extraction: false,
        ..options(5)
    };
    let gap = |d: &PrivacyDetails| {
        let inv = d.inversion.as_ref().unwrap();
        assert_eq!(inv.rows, 200);
        assert_eq!(inv.features.len(), D);
        let n = inv.features.len() as f64;
        let members: f64 = inv.features.iter().map(|f| f.members).sum::<f64>() / n;
        let others: f64 = inv.features.iter().map(|f| f.non_members).sum::<f64>() / n;
        eprintln!("inversion: members {members:.3}, non-members {others:.3}");
        (members, others)
    };
    let memorises = privacy(&Nearest::new(&members, 1), &members, &non_members, &opts).unwrap();
    let (m, n) = gap(&memorises);
    assert!(m > n + 0.2, "members {m:.3}, non-members {n:.3}");
    let worst = memorises.inversion.as_ref().unwrap().worst().unwrap();
    assert!(worst.members > worst.prior + 0.2, "{worst:?}");
    let averages = privacy(&Nearest::new(&members, 50), &members, &non_members, &opts).unwrap();
    let (m, n) = gap(&averages);
    assert!((m - n).abs() < 0.1, "members {m:.3}, non-members {n:.3}");
    // 0 rows: skipped.
    let none = PrivacyOptions {
        inversion_rows: 0,
        ..opts
    };
    let d = privacy(&Nearest::new(&members, 1), &members, &non_members, &none).unwrap();
    assert!(d.inversion.is_none());
    // A budget too small for one row per side: no features, no queries.
    let members = (members.x.as_slice(), members.labels.as_slice());
    let others = (non_members.x.as_slice(), non_members.labels.as_slice());
    let tight = InversionSettings {
        max_queries: 10,
        ..InversionSettings::default()
    };
    let model = Nearest::new(&blobs(300, 14), 1);
    let d = inversion(&model, &[], members, others, others.0, &tight).unwrap();
    assert_eq!((d.rows, d.queries, d.features.len()), (0, 0, 0));
}
