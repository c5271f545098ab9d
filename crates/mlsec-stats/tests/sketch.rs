//! Accuracy, merge, determinism and serialisation tests of `mlsec_stats::sketch`
//! against exact answers computed here.

use std::collections::HashMap;

use mlsec_stats::sketch::{compare, FrequencyTable, KllSketch, Moments, MultiMoments};

/// SplitMix64: a small reproducible generator for test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn sketch_of(values: &[f64]) -> KllSketch {
    let mut s = KllSketch::new();
    values.iter().for_each(|&x| s.update(x));
    s
}

/// Largest |estimated − true| inclusive rank over every distinct value when
/// there are few, else over 2,000 evenly spaced order statistics and the
/// points just below them.
fn max_rank_error(s: &KllSketch, values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut points: Vec<f64> = Vec::new();
    let n = sorted.len();
    for i in 0..2000 {
        let x = sorted[i * (n - 1) / 1999];
        points.push(x);
        points.push(x.next_down());
    }
    points.sort_by(f64::total_cmp);
    points.dedup();
    let est = s.cdf(&points).unwrap();
    points
        .iter()
        .zip(est)
        .map(|(&x, e)| {
            let truth = sorted.partition_point(|&v| v <= x) as f64 / n as f64;
            (e - truth).abs()
        })
        .fold(0.0, f64::max)
}

/// Largest distance between q and the true rank interval of quantile(q).
fn max_quantile_error(s: &KllSketch, values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    (0..=1000)
        .map(|i| {
            let q = f64::from(i) / 1000.0;
            let x = s.quantile(q).unwrap();
            let lo = sorted.partition_point(|&v| v < x) as f64 / n;
            let hi = sorted.partition_point(|&v| v <= x) as f64 / n;
            if q < lo {
                lo - q
            } else if q > hi {
                q - hi
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

fn orders(n: usize) -> Vec<(&'static str, Vec<f64>)> {
    let mut rng = Rng(42);
    let random: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let sorted: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let reverse: Vec<f64> = sorted.iter().rev().copied().collect();
    let ties: Vec<f64> = (0..n).map(|_| (rng.next() % 50) as f64).collect();
    let equal = vec![7.5; n];
    vec![
        ("random", random),
        ("sorted", sorted),
        ("reverse", reverse),
        ("ties", ties),
        ("equal", equal),
    ]
}

#[test]
fn rank_error_within_bound_one_million() {
    let eps = KllSketch::new();
    for (name, values) in orders(1_000_000) {
        let s = sketch_of(&values);
        let bound = s.normalized_rank_error();
        assert!(
            (bound - 0.0165).abs() < 0.0005,
            "k = 200 bound is 1.65 %: {bound}"
        );
        assert!(
            s.num_retained() < 700,
            "{name}: {} retained",
            s.num_retained()
        );
        let r = max_rank_error(&s, &values);
        let q = max_quantile_error(&s, &values);
        eprintln!("{name}: max rank error {r:.5}, quantile error {q:.5}, bound {bound:.5}");
        assert!(r <= bound, "{name}: rank error {r} > {bound}");
        assert!(q <= bound, "{name}: quantile rank error {q} > {bound}");
        assert_eq!(s.min(), values.iter().copied().reduce(f64::min));
        assert_eq!(s.max(), values.iter().copied().reduce(f64::max));
        assert_eq!(s.n(), 1_000_000);
    }
    assert!(eps.is_exact());
}

#[test]
fn merge_of_shards_within_bound_and_order_independent() {
    let mut rng = Rng(7);
    let values: Vec<f64> = (0..1_000_000).map(|_| rng.normal() * 3.0 + 1.0).collect();
    let shards: Vec<KllSketch> = values.chunks(100_000).map(sketch_of).collect();
    let forward = shards.iter().fold(KllSketch::new(), |mut acc, s| {
        acc.merge(s).unwrap();
        acc
    });
    let backward = shards.iter().rev().fold(KllSketch::new(), |mut acc, s| {
        acc.merge(s).unwrap();
        acc
    });
    // A tree: pairs, then pairs of pairs.
    let mut level: Vec<KllSketch> = shards.clone();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| {
                let mut a = c[0].clone();
                if let Some(b) = c.get(1) {
                    a.merge(b).unwrap();
                }
                a
            })
            .collect();
    }
    let tree = level.pop().unwrap();
    let whole = sketch_of(&values);
    let bound = whole.normalized_rank_error();
    for (name, s) in [
        ("forward", &forward),
        ("backward", &backward),
        ("tree", &tree),
    ] {
        assert_eq!(s.n(), 1_000_000);
        assert!(s.num_retained() < 700);
        let r = max_rank_error(s, &values);
        eprintln!("merge {name}: max rank error {r:.5}");
        assert!(r <= bound, "{name}: {r} > {bound}");
    }
    // Order independence up to the bound, between any two merge orders.
    let grid: Vec<f64> = (0..=400).map(|i| -12.0 + f64::from(i) * 0.065).collect();
    let (f, b, t, w) = (
        forward.cdf(&grid).unwrap(),
        backward.cdf(&grid).unwrap(),
        tree.cdf(&grid).unwrap(),
        whole.cdf(&grid).unwrap(),
    );
    for i in 0..grid.len() {
        for (x, y) in [(f[i], b[i]), (f[i], t[i]), (f[i], w[i]), (b[i], t[i])] {
            assert!((x - y).abs() <= 2.0 * bound, "{x} vs {y}");
        }
    }
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn moments_and_covariance_of_merged_shards_equal_the_whole() {
    let mut rng = Rng(11);
    let d = 5;
    let rows: Vec<Vec<f64>> = (0..200_000)
        .map(|_| {
            let z = rng.normal();
            vec![
                1e3 + z,
                2.0 * z + rng.normal(),
                rng.uniform() * 100.0,
                -z * 0.5 + 1e-3 * rng.normal(),
                rng.normal() * 1e-4,
            ]
        })
        .collect();
    let mut whole = MultiMoments::new(d).unwrap();
    let mut whole_m = Moments::new();
    rows.iter().for_each(|r| {
        whole.update(r).unwrap();
        whole_m.update(r[0]);
    });
    let mut merged = MultiMoments::new(d).unwrap();
    let mut merged_m = Moments::new();
    for chunk in rows.chunks(17_000) {
        let mut s = MultiMoments::new(d).unwrap();
        let mut m = Moments::new();
        chunk.iter().for_each(|r| {
            s.update(r).unwrap();
            m.update(r[0]);
        });
        merged.merge(&s).unwrap();
        merged_m.merge(&m).unwrap();
    }
    assert_eq!(merged.count(), whole.count());
    for i in 0..d {
        assert!(rel_close(merged.mean()[i], whole.mean()[i], 1e-9));
        for j in 0..d {
            let (a, b) = (
                merged.covariance(i, j).unwrap(),
                whole.covariance(i, j).unwrap(),
            );
            assert!(rel_close(a, b, 1e-9), "cov({i},{j}): {a} vs {b}");
        }
    }
    // Against a two-pass computation.
    let n = rows.len() as f64;
    let mean0 = rows.iter().map(|r| r[0]).sum::<f64>() / n;
    let var0 = rows.iter().map(|r| (r[0] - mean0).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(rel_close(whole_m.mean().unwrap(), mean0, 1e-12));
    assert!(rel_close(whole_m.variance().unwrap(), var0, 1e-9));
    assert!(rel_close(merged_m.variance().unwrap(), var0, 1e-9));
    assert!(rel_close(merged_m.mean().unwrap(), mean0, 1e-12));
    assert_eq!(
        (merged_m.min(), merged_m.max()),
        (whole_m.min(), whole_m.max())
    );
    assert!(rel_close(merged.covariance(0, 0).unwrap(), var0, 1e-9));
    // The score of the mean is 0, of a far row large.
    let sc = merged.scorer().unwrap();
    assert!(sc.distance(merged.mean()).unwrap() < 1e-9);
    assert!(sc.distance(&[1e3, 0.0, 50.0, 0.0, 1.0]).unwrap() > 1e3);
}

#[test]
fn same_input_same_bytes_and_round_trip() {
    let mut rng = Rng(3);
    let values: Vec<f64> = (0..300_000).map(|_| rng.normal()).collect();
    let a = serde_json::to_string(&sketch_of(&values)).unwrap();
    let b = serde_json::to_string(&sketch_of(&values)).unwrap();
    assert_eq!(a, b);
    // Serialising in the middle of the stream changes nothing.
    let mut s = sketch_of(&values[..150_000]);
    s = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    values[150_000..].iter().for_each(|&x| s.update(x));
    assert_eq!(serde_json::to_string(&s).unwrap(), a);
    let back: KllSketch = serde_json::from_str(&a).unwrap();
    assert_eq!(back, sketch_of(&values));

    let mut t = FrequencyTable::with_cap(50).unwrap();
    let mut m = Moments::new();
    let mut mm = MultiMoments::new(3).unwrap();
    for (i, &x) in values.iter().enumerate() {
        t.update(&format!("v{}", (x * 10.0).round()));
        m.update(x);
        mm.update(&[x, x * x, i as f64]).unwrap();
    }
    t.update_missing();
    m.update_missing();
    let tj = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<FrequencyTable>(&tj).unwrap(), t);
    let mj = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Moments>(&mj).unwrap(), m);
    let mmj = serde_json::to_string(&mm).unwrap();
    assert_eq!(serde_json::from_str::<MultiMoments>(&mmj).unwrap(), mm);
    let empty = KllSketch::new();
    let j = serde_json::to_string(&empty).unwrap();
    assert_eq!(serde_json::from_str::<KllSketch>(&j).unwrap(), empty);
}

#[test]
fn serialised_size_of_a_million() {
    let mut rng = Rng(5);
    let s = sketch_of(&(0..1_000_000).map(|_| rng.normal()).collect::<Vec<_>>());
    let j = serde_json::to_string(&s).unwrap();
    eprintln!(
        "KLL k=200, n=1e6: {} items retained, {} bytes of JSON",
        s.num_retained(),
        j.len()
    );
    assert!(j.len() < 16_000, "{} bytes", j.len());
}

fn valid_kll_json() -> serde_json::Value {
    let mut s = KllSketch::new();
    (0..1000).for_each(|i| s.update(f64::from(i)));
    serde_json::to_value(&s).unwrap()
}

#[test]
fn hostile_kll_files_are_errors() {
    let base = valid_kll_json();
    assert!(serde_json::from_value::<KllSketch>(base.clone()).is_ok());
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = base.clone();
        f(&mut v);
        serde_json::from_value::<KllSketch>(v)
    };
    type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("k = 0", Box::new(|v| v["k"] = 0.into())),
        ("k = 7", Box::new(|v| v["k"] = 7.into())),
        ("k = 70000", Box::new(|v| v["k"] = 70_000.into())),
        ("n off by one", Box::new(|v| v["n"] = 1001.into())),
        ("n huge", Box::new(|v| v["n"] = u64::MAX.into())),
        (
            "no levels",
            Box::new(|v| v["level_sizes"] = serde_json::json!([])),
        ),
        (
            "sizes not adding up",
            Box::new(|v| v["level_sizes"][0] = 1.into()),
        ),
        (
            "huge declared size",
            Box::new(|v| v["level_sizes"][0] = u32::MAX.into()),
        ),
        (
            "65 levels",
            Box::new(|v| v["level_sizes"] = serde_json::json!(vec![0; 65])),
        ),
        ("item outside min/max", Box::new(|v| v["max"] = 10.0.into())),
        ("min above max", Box::new(|v| v["min"] = 2000.0.into())),
        (
            "min absent",
            Box::new(|v| v["min"] = serde_json::Value::Null),
        ),
        (
            "unsorted level 1",
            Box::new(|v| {
                // The first level above 0 with two items: swap them.
                let sizes: Vec<usize> = v["level_sizes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_u64().unwrap() as usize)
                    .collect();
                let h = (1..sizes.len()).find(|&h| sizes[h] >= 2).unwrap();
                let at: usize = sizes[..h].iter().sum();
                let items = v["items"].as_array_mut().unwrap();
                assert_ne!(items[at], items[at + 1]);
                items.swap(at, at + 1);
            }),
        ),
        (
            "NaN item (null)",
            Box::new(|v| v["items"][0] = serde_json::Value::Null),
        ),
        ("unknown field", Box::new(|v| v["extra"] = 1.into())),
        (
            "missing field",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("n");
            }),
        ),
    ];
    for (name, f) in cases {
        assert!(with(&*f).is_err(), "{name} accepted");
    }
    for text in [
        "",
        "{}",
        "[]",
        "null",
        r#"{"k":200,"n":0,"skipped":0,"min":null,"max":null,"level_sizes":[],"items":[]}"#,
        r#"{"k":200,"n":1,"skipped":0,"min":1e999,"max":1e999,"level_sizes":[1],"items":[1e999]}"#,
        // More items than the capacity for k = 8 with one level (8).
        r#"{"k":8,"n":9,"skipped":0,"min":0,"max":0,"level_sizes":[9],"items":[0,0,0,0,0,0,0,0,0]}"#,
        // Weights overflow: 2 items at level 63.
        &format!(
            r#"{{"k":8,"n":0,"skipped":0,"min":0,"max":0,"level_sizes":[{}2],"items":[0,0]}}"#,
            "0,".repeat(63)
        ),
    ] {
        assert!(
            serde_json::from_str::<KllSketch>(text).is_err(),
            "{text} accepted"
        );
    }
    // An items array beyond the reading cap (2^20) is refused while reading.
    let big = format!(
        r#"{{"k":200,"n":0,"skipped":0,"min":null,"max":null,"level_sizes":[0],"items":[{}0]}}"#,
        "0,".repeat(1 << 20)
    );
    assert!(serde_json::from_str::<KllSketch>(&big).is_err());
}

#[test]
fn mutated_files_never_panic() {
    let mut rng = Rng(99);
    let mut s = KllSketch::with_k(8).unwrap();
    (0..500).for_each(|_| s.update(rng.normal()));
    let kll = serde_json::to_string(&s).unwrap();
    let mut t = FrequencyTable::with_cap(4).unwrap();
    ["a", "b", "a", "c", "d", "e", "a"]
        .iter()
        .for_each(|v| t.update(v));
    let freq = serde_json::to_string(&t).unwrap();
    let mut mm = MultiMoments::new(2).unwrap();
    (0..10).for_each(|i| mm.update(&[f64::from(i), rng.normal()]).unwrap());
    let multi = serde_json::to_string(&mm).unwrap();
    let alphabet = b"0123456789-.,:[]{}\"e";
    let mut accepted = 0;
    for text in [kll, freq, multi] {
        for _ in 0..3000 {
            let mut bytes = text.clone().into_bytes();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = alphabet[(rng.next() % alphabet.len() as u64) as usize];
            }
            let Ok(m) = String::from_utf8(bytes) else {
                continue;
            };
            if let Ok(k) = serde_json::from_str::<KllSketch>(&m) {
                accepted += 1;
                k.validate().unwrap();
                let _ = (k.quantile(0.5), k.rank(0.0), k.cdf(&[0.0, 1.0]));
                let mut k2 = k.clone();
                k2.merge(&k).unwrap();
                k2.update(1.0);
                k2.validate().unwrap();
            }
            if let Ok(f) = serde_json::from_str::<FrequencyTable>(&m) {
                accepted += 1;
                let mut f2 = f.clone();
                f2.merge(&f).unwrap();
                f2.update("z");
                f2.validate().unwrap();
            }
            if let Ok(x) = serde_json::from_str::<MultiMoments>(&m) {
                accepted += 1;
                let mut x2 = x.clone();
                x2.merge(&x).unwrap();
                if let Ok(sc) = x2.scorer() {
                    let _ = sc.distance(&vec![0.0; x2.dim()]);
                }
            }
        }
    }
    eprintln!("mutated files accepted: {accepted}");
}

#[test]
fn hostile_other_summaries_are_errors() {
    for text in [
        r#"{"cap":0,"total":0,"missing":0,"max_error":0,"counts":{}}"#,
        r#"{"cap":1000000000,"total":0,"missing":0,"max_error":0,"counts":{}}"#,
        r#"{"cap":1,"total":2,"missing":0,"max_error":0,"counts":{"a":1,"b":1}}"#,
        r#"{"cap":5,"total":3,"missing":0,"max_error":0,"counts":{"a":1,"b":1}}"#,
        r#"{"cap":5,"total":2,"missing":0,"max_error":0,"counts":{"a":1,"a":1}}"#,
        r#"{"cap":5,"total":1,"missing":0,"max_error":0,"counts":{"a":0,"b":1}}"#,
        r#"{"cap":5,"total":10,"missing":0,"max_error":2,"counts":{"a":1}}"#,
        r#"{"cap":5,"total":10,"missing":0,"max_error":18446744073709551615,"counts":{"a":1}}"#,
    ] {
        assert!(
            serde_json::from_str::<FrequencyTable>(text).is_err(),
            "{text} accepted"
        );
    }
    let long = format!(
        r#"{{"cap":5,"total":1,"missing":0,"max_error":0,"counts":{{"{}":1}}}}"#,
        "x".repeat(257)
    );
    assert!(serde_json::from_str::<FrequencyTable>(&long).is_err());
    let ok = r#"{"cap":5,"total":12,"missing":0,"max_error":1,"counts":{"a":6}}"#;
    assert!(serde_json::from_str::<FrequencyTable>(ok).is_ok());

    for text in [
        r#"{"count":0,"missing":0,"mean":1.0,"m2":0.0,"min":null,"max":null}"#,
        r#"{"count":2,"missing":0,"mean":1.0,"m2":-1.0,"min":0.0,"max":2.0}"#,
        r#"{"count":2,"missing":0,"mean":5.0,"m2":1.0,"min":0.0,"max":2.0}"#,
        r#"{"count":2,"missing":0,"mean":1.0,"m2":1.0,"min":2.0,"max":0.0}"#,
        r#"{"count":2,"missing":0,"mean":1.0,"m2":1.0,"min":null,"max":2.0}"#,
        r#"{"count":2,"missing":0,"mean":1.0,"m2":100.0,"min":0.0,"max":2.0}"#,
    ] {
        assert!(
            serde_json::from_str::<Moments>(text).is_err(),
            "{text} accepted"
        );
    }
    for text in [
        r#"{"dim":0,"count":0,"skipped":0,"mean":[],"comoment":[]}"#,
        r#"{"dim":1000000000,"count":0,"skipped":0,"mean":[],"comoment":[]}"#,
        r#"{"dim":2,"count":0,"skipped":0,"mean":[0],"comoment":[0,0,0]}"#,
        r#"{"dim":2,"count":3,"skipped":0,"mean":[0,0],"comoment":[-1,0,1]}"#,
        r#"{"dim":2,"count":0,"skipped":0,"mean":[1,0],"comoment":[0,0,0]}"#,
    ] {
        assert!(
            serde_json::from_str::<MultiMoments>(text).is_err(),
            "{text} accepted"
        );
    }
    let big = format!(
        r#"{{"dim":2,"count":0,"skipped":0,"mean":[0,0],"comoment":[{}0]}}"#,
        "0,".repeat(40_000)
    );
    assert!(serde_json::from_str::<MultiMoments>(&big).is_err());
}

fn zipf_stream(rng: &mut Rng, n: usize, distinct: u64) -> Vec<String> {
    // Value i with probability ∝ 1/(i+1), by inversion on a table.
    let weights: Vec<f64> = (0..distinct).map(|i| 1.0 / (i + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cum = Vec::with_capacity(weights.len());
    let mut acc = 0.0;
    for w in weights {
        acc += w / total;
        cum.push(acc);
    }
    (0..n)
        .map(|_| {
            let u = rng.uniform();
            let i = cum.partition_point(|&c| c < u).min(cum.len() - 1);
            format!("cat-{i}")
        })
        .collect()
}

fn check_frequency_bounds(t: &FrequencyTable, truth: &HashMap<String, u64>, n: u64) {
    let cap = t.cap() as u64;
    let kept: u64 = t.iter().map(|(_, c)| c).sum();
    assert_eq!(t.total(), n);
    assert!(
        t.max_error() <= (n - kept) / (cap + 1),
        "error {} too large",
        t.max_error()
    );
    for (k, &f) in truth {
        let c = t.count(k);
        assert!(
            c <= f && f <= c + t.max_error(),
            "{k}: kept {c}, true {f}, error {}",
            t.max_error()
        );
        if f * cap > n {
            assert!(c > 0, "{k} with {f} > n/cap dropped");
        }
    }
}

#[test]
fn frequency_exact_below_cap_and_bounded_above() {
    let mut rng = Rng(21);
    // Below the cap: exact.
    let small = zipf_stream(&mut rng, 50_000, 800);
    let mut t = FrequencyTable::new();
    let mut truth: HashMap<String, u64> = HashMap::new();
    for v in &small {
        t.update(v);
        *truth.entry(v.clone()).or_default() += 1;
    }
    assert!(t.is_exact());
    assert_eq!(t.len(), truth.len());
    for (k, &f) in &truth {
        assert_eq!(t.count(k), f);
    }
    // Above the cap.
    let big = zipf_stream(&mut rng, 200_000, 20_000);
    let mut t = FrequencyTable::with_cap(100).unwrap();
    let mut truth: HashMap<String, u64> = HashMap::new();
    for v in &big {
        t.update(v);
        *truth.entry(v.clone()).or_default() += 1;
    }
    assert!(!t.is_exact());
    assert!(t.len() <= 100);
    check_frequency_bounds(&t, &truth, big.len() as u64);
    eprintln!("frequency cap 100, n 200000: max_error {}", t.max_error());
    // Top values are the true top values.
    assert_eq!(t.top(1)[0].0, "cat-0");

    // Merge of 10 shards: same bounds for the union.
    let mut merged = FrequencyTable::with_cap(100).unwrap();
    for chunk in big.chunks(20_000) {
        let mut s = FrequencyTable::with_cap(100).unwrap();
        chunk.iter().for_each(|v| s.update(v));
        merged.merge(&s).unwrap();
        merged.validate().unwrap();
    }
    check_frequency_bounds(&merged, &truth, big.len() as u64);
    eprintln!("frequency merged: max_error {}", merged.max_error());
    // Exact shards whose union fits the cap stay exact.
    let mut a = FrequencyTable::new();
    let mut b = FrequencyTable::new();
    small[..25_000].iter().for_each(|v| a.update(v));
    small[25_000..].iter().for_each(|v| b.update(v));
    a.merge(&b).unwrap();
    assert!(a.is_exact());
    for (k, &f) in &HashMap::<String, u64>::from_iter(small.iter().fold(
        HashMap::new(),
        |mut m: HashMap<String, u64>, v| {
            *m.entry(v.clone()).or_default() += 1;
            m
        },
    )) {
        assert_eq!(a.count(k), f);
    }
}

/// Exact KS and W1 between two samples.
fn exact_ks_w1(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let mut pts: Vec<f64> = a.iter().chain(&b).copied().collect();
    pts.sort_by(f64::total_cmp);
    pts.dedup();
    let f = |s: &[f64], x: f64| s.partition_point(|&v| v <= x) as f64 / s.len() as f64;
    let mut ks: f64 = 0.0;
    let mut w = 0.0;
    for (i, &x) in pts.iter().enumerate() {
        let d = (f(&a, x) - f(&b, x)).abs();
        ks = ks.max(d);
        if let Some(&next) = pts.get(i + 1) {
            w += d * (next - x);
        }
    }
    (ks, w)
}

#[test]
fn ks_and_wasserstein_from_sketches_within_error() {
    let mut rng = Rng(1234);
    let n = 100_000;
    for (shift, scale) in [(0.0, 1.0), (0.1, 1.0), (0.5, 1.3), (2.0, 0.5)] {
        let a: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let b: Vec<f64> = (0..n).map(|_| rng.normal() * scale + shift).collect();
        let (sa, sb) = (sketch_of(&a), sketch_of(&b));
        let (ea, eb) = (sa.normalized_rank_error(), sb.normalized_rank_error());
        let (ks, w1) = exact_ks_w1(&a, &b);
        let ks_hat = compare::ks_sketches(&sa, &sb).unwrap();
        let w_hat = compare::wasserstein_sketches(&sa, &sb).unwrap();
        let range = |s: &KllSketch| s.max().unwrap() - s.min().unwrap();
        let w_bound = ea * range(&sa) + eb * range(&sb);
        eprintln!(
            "shift {shift} scale {scale}: KS {ks:.5} vs {ks_hat:.5} (bound {:.4}), W1 {w1:.5} vs {w_hat:.5} (bound {w_bound:.4})",
            ea + eb
        );
        assert!((ks - ks_hat).abs() <= ea + eb);
        assert!((w1 - w_hat).abs() <= w_bound);
        let mut sorted_b = b.clone();
        sorted_b.sort_by(f64::total_cmp);
        let ks_half = compare::ks_sketch_vs_sorted(&sa, &sorted_b).unwrap();
        let w_half = compare::wasserstein_sketch_vs_sorted(&sa, &sorted_b).unwrap();
        assert!((ks - ks_half).abs() <= ea, "{ks} vs {ks_half}");
        assert!((w1 - w_half).abs() <= ea * range(&sa));
        // Binned proportions on the reference's edges.
        let edges = compare::equi_width_edges(&sa, 20).unwrap();
        for (s, v) in [(&sa, &a), (&sb, &b)] {
            let p_hat = compare::bin_proportions(s, &edges).unwrap();
            let p = compare::bin_proportions_values(v, &edges).unwrap();
            assert!((p_hat.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            for (x, y) in p_hat.iter().zip(&p) {
                assert!(
                    (x - y).abs() <= 2.0 * s.normalized_rank_error(),
                    "{x} vs {y}"
                );
            }
        }
    }
}
