#![no_main]
//! The profile reader of `mlsec data drift PROFILE CUR`: any bytes as a
//! profile, and what drift does with one that reads (quantiles, CDFs, KS and
//! Wasserstein against data, bins, merging it with itself).
use libfuzzer_sys::fuzz_target;
use mlsec_stats::sketch::compare;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = mlsec_quality::parse_profile(data) else {
        return;
    };
    let values = [-1e308, -3.0, 0.0, 0.5, 2.0, 1e9];
    for c in &profile.columns {
        let s = &c.summary;
        let _ = s.quantiles.quantile(0.5);
        let _ = s.quantiles.cdf(&values);
        let _ = compare::ks_sketch_vs_sorted(&s.quantiles, &values);
        let _ = compare::wasserstein_sketch_vs_sorted(&s.quantiles, &values);
        let _ = compare::ks_sketches(&s.quantiles, &s.quantiles);
        if let Ok(edges) = compare::equi_width_edges(&s.quantiles, 30) {
            let _ = compare::bin_proportions(&s.quantiles, &edges);
        }
        let _ = s.moments.std_dev();
        let _ = s.frequencies.top(20);
        let mut twice = s.clone();
        let _ = twice.quantiles.merge(&s.quantiles);
        let _ = twice.frequencies.merge(&s.frequencies);
        let _ = twice.moments.merge(&s.moments);
    }
});
