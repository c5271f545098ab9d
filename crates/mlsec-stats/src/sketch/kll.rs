//! KLL quantile sketch (Karnin, Lang and Liberty, "Optimal Quantile
//! Approximation in Streams", FOCS 2016), in the lazy form with capacities
//! shrinking by 2/3 per level below the top and a floor of 8 per level, the
//! parameters Apache DataSketches uses, so its published error for k holds.
//!
//! Written here rather than taken from the `datasketches` crate: that crate
//! draws its compaction coins from a thread-local generator seeded at random
//! (the same input gives different bytes, and profiles are signed), has no
//! serde form, and asserts (panics) on some inconsistent states.

use serde::{Deserialize, Serialize};

use super::{bounded, invalid, SketchError};

/// Smallest capacity of any level (DataSketches' `m`).
const MIN_LEVEL: usize = 8;
/// Levels above 63 would have weights beyond `u64`.
const MAX_LEVELS: usize = 64;
/// Most items a serialised sketch may hold: the capacity for the largest k
/// (about 3k plus 8 per level) fits well under it.
const MAX_ITEMS: usize = 1 << 20;

/// A mergeable, deterministic KLL quantile sketch of finite `f64` values.
///
/// **Guarantee.** While at most k values have been added (more precisely,
/// while the retained items fit the capacity, [`is_exact`](Self::is_exact))
/// every answer is exact. After that, the estimated rank of any value is
/// within [`normalized_rank_error`](Self::normalized_rank_error) × n of the
/// true rank with probability at least 99 %: 2.446 / k^0.9433, **1.65 % for the
/// default k = 200** (DataSketches' bound for this design, which also covers
/// differences of two ranks). The tests measure the maximum error over
/// whole 1,000,000-value streams in several orders against this bound.
/// The compaction "coins" are a hash of the sketch's own state (n, level,
/// the items being compacted), not a random generator: the same input in
/// the same order gives the same bytes, and the bound holds for data that is
/// not built to attack this hash.
///
/// **Non-finite values.** NaN and ±∞ are not added; they are counted in
/// [`skipped`](Self::skipped). -0.0 is stored as 0.0.
///
/// **Cost.** Memory: at most about 3k + 8·log2(n/k) items (≈ 620 items,
/// 5 KB, for k = 200 at n = 10^9). `update` is amortised O(log k); queries
/// build a sorted view of the retained items, O(r log r) for r retained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "KllWire", try_from = "KllWire")]
pub struct KllSketch {
    k: u16,
    n: u64,
    skipped: u64,
    /// Exact minimum and maximum (∞ and -∞ while empty).
    min: f64,
    max: f64,
    /// Level h holds items of weight 2^h. Level 0 is unsorted, the others sorted.
    levels: Vec<Vec<f64>>,
    /// `total_capacity(k, levels.len())`, kept because `update` checks it
    /// each time; derived, never serialised.
    capacity: usize,
}

/// The serialised form: the items level after level, and each level's size.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KllWire {
    k: u16,
    n: u64,
    skipped: u64,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(deserialize_with = "bounded::vec::<_, _, MAX_LEVELS>")]
    level_sizes: Vec<u32>,
    #[serde(deserialize_with = "bounded::vec::<_, _, MAX_ITEMS>")]
    items: Vec<f64>,
}

impl From<KllSketch> for KllWire {
    fn from(s: KllSketch) -> Self {
        let empty = s.n == 0;
        KllWire {
            k: s.k,
            n: s.n,
            skipped: s.skipped,
            min: (!empty).then_some(s.min),
            max: (!empty).then_some(s.max),
            level_sizes: s
                .levels
                .iter()
                .map(|l| u32::try_from(l.len()).unwrap_or(u32::MAX))
                .collect(),
            items: s.levels.into_iter().flatten().collect(),
        }
    }
}

impl TryFrom<KllWire> for KllSketch {
    type Error = SketchError;
    fn try_from(w: KllWire) -> Result<Self, SketchError> {
        // Check the declared sizes against the items actually read before
        // allocating anything by them.
        let mut total: usize = 0;
        for &size in &w.level_sizes {
            total = total
                .checked_add(usize::try_from(size).unwrap_or(usize::MAX))
                .ok_or_else(|| SketchError::Invalid("level sizes overflow".into()))?;
        }
        if total != w.items.len() {
            return invalid(format!(
                "level sizes add up to {total}, {} items present",
                w.items.len()
            ));
        }
        let (min, max) = match (w.min, w.max) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => (f64::INFINITY, f64::NEG_INFINITY),
            _ => return invalid("min and max must both be present or both absent"),
        };
        let mut items = w.items.into_iter();
        let levels = w
            .level_sizes
            .iter()
            .map(|&size| {
                items
                    .by_ref()
                    .take(usize::try_from(size).unwrap_or(0))
                    .collect()
            })
            .collect();
        let s = KllSketch {
            k: w.k,
            n: w.n,
            skipped: w.skipped,
            min,
            max,
            capacity: total_capacity(w.k, w.level_sizes.len()),
            levels,
        };
        s.validate()?;
        Ok(s)
    }
}

impl Default for KllSketch {
    fn default() -> Self {
        Self {
            k: Self::DEFAULT_K,
            n: 0,
            skipped: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            levels: vec![Vec::new()],
            capacity: total_capacity(Self::DEFAULT_K, 1),
        }
    }
}

impl KllSketch {
    /// Default k: 1.65 % normalised rank error, about 600 retained items.
    pub const DEFAULT_K: u16 = 200;
    /// Smallest accepted k.
    pub const MIN_K: u16 = 8;
    /// Largest accepted k (u16; about 200,000 retained items).
    pub const MAX_K: u16 = u16::MAX;

    /// An empty sketch with k = [`DEFAULT_K`](Self::DEFAULT_K). O(1).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty sketch with the given k; error when k < [`MIN_K`](Self::MIN_K).
    /// Larger k: smaller error (about 1/k), more memory (about 3k items).
    pub fn with_k(k: u16) -> Result<Self, SketchError> {
        if k < Self::MIN_K {
            return Err(SketchError::InvalidParameter(format!(
                "k = {k}, at least {} required",
                Self::MIN_K
            )));
        }
        Ok(Self {
            k,
            capacity: total_capacity(k, 1),
            ..Self::default()
        })
    }

    /// The sketch's k. O(1).
    pub fn k(&self) -> u16 {
        self.k
    }

    /// Number of finite values summarised. O(1).
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Number of values not added: NaN, ±∞ (and any past `u64::MAX`). O(1).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// True when no finite value has been added. O(1).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// True while no compaction has happened: every answer is exact. O(1).
    pub fn is_exact(&self) -> bool {
        self.levels.iter().skip(1).all(Vec::is_empty)
    }

    /// Number of items held (the memory, 8 bytes each). O(levels).
    pub fn num_retained(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    /// Exact smallest value, `None` when empty. O(1).
    pub fn min(&self) -> Option<f64> {
        (self.n > 0).then_some(self.min)
    }

    /// Exact largest value, `None` when empty. O(1).
    pub fn max(&self) -> Option<f64> {
        (self.n > 0).then_some(self.max)
    }

    /// The normalised rank error this sketch guarantees (with 99 %
    /// confidence): 0 while [`is_exact`](Self::is_exact), else
    /// 2.446 / k^0.9433 (0.0165 for k = 200). O(1).
    pub fn normalized_rank_error(&self) -> f64 {
        if self.is_exact() {
            0.0
        } else {
            rank_error_for_k(self.k)
        }
    }

    /// Adds one value. NaN and ±∞ are counted in [`skipped`](Self::skipped)
    /// instead. Amortised O(log k).
    pub fn update(&mut self, x: f64) {
        if !x.is_finite() {
            self.skipped = self.skipped.saturating_add(1);
            return;
        }
        let Some(n) = self.n.checked_add(1) else {
            self.skipped = self.skipped.saturating_add(1);
            return;
        };
        // -0.0 + 0.0 is 0.0: one spelling of zero, one set of bytes.
        let x = x + 0.0;
        self.n = n;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        match self.levels.first_mut() {
            Some(l0) => l0.push(x),
            None => self.levels.push(vec![x]),
        }
        if self.num_retained() > self.capacity {
            self.compress();
        }
    }

    /// Merges `other` into `self`: the result summarises both streams with
    /// the error bound of the smaller k of the two (which it takes).
    /// Error only when the total count would overflow `u64`. O(r log r).
    pub fn merge(&mut self, other: &KllSketch) -> Result<(), SketchError> {
        let n = self.n.checked_add(other.n).ok_or(SketchError::Overflow)?;
        self.skipped = self.skipped.saturating_add(other.skipped);
        if other.n == 0 {
            return Ok(());
        }
        self.k = self.k.min(other.k);
        for (h, theirs) in other.levels.iter().enumerate() {
            while self.levels.len() <= h {
                self.levels.push(Vec::new());
            }
            if let Some(mine) = self.levels.get_mut(h) {
                if h == 0 {
                    mine.extend_from_slice(theirs);
                } else {
                    *mine = merge_sorted(mine, theirs);
                }
            }
        }
        self.n = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.compress();
        Ok(())
    }

    /// Estimated fraction of values ≤ `x` (inclusive rank), within
    /// [`normalized_rank_error`](Self::normalized_rank_error) of the truth.
    /// `None` when empty or `x` is NaN. O(r).
    pub fn rank(&self, x: f64) -> Option<f64> {
        if self.n == 0 || x.is_nan() {
            return None;
        }
        let mut weight: u64 = 0;
        for (h, level) in self.levels.iter().enumerate() {
            let below = if h == 0 {
                level.iter().filter(|&&v| v <= x).count()
            } else {
                level.partition_point(|&v| v <= x)
            };
            weight = weight.saturating_add((below as u64).saturating_mul(level_weight(h)));
        }
        Some(weight as f64 / self.n as f64)
    }

    /// [`rank`](Self::rank) at each point, in the points' order (any order;
    /// NaN points give NaN). `None` when empty. O(r log r + p log r).
    pub fn cdf(&self, points: &[f64]) -> Option<Vec<f64>> {
        let view = self.sorted_view()?;
        Some(
            points
                .iter()
                .map(|&x| {
                    if x.is_nan() {
                        f64::NAN
                    } else {
                        view.rank_inclusive(x)
                    }
                })
                .collect(),
        )
    }

    /// The estimated q-quantile: the smallest retained value whose estimated
    /// rank is at least q. q = 0 and q = 1 give the exact min and max. Its
    /// true rank is within the rank error of q. `None` when empty or q is
    /// outside [0, 1] or NaN. O(r log r).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        if q == 0.0 {
            return self.min();
        }
        if q == 1.0 {
            return self.max();
        }
        let view = self.sorted_view()?;
        // Ceil so that q·n = 3.0 asks for the third value, q·n = 3.2 for the fourth.
        let target = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let idx = view.cum.partition_point(|&c| c < target);
        let v = view.items.get(idx).copied().unwrap_or(self.max);
        Some(v.clamp(self.min, self.max))
    }

    /// Checks every invariant a sketch built by this code keeps; run by
    /// `Deserialize`, so a hostile file is an error here and never a panic or
    /// a wrong answer later. O(r).
    ///
    /// Rejects: k below [`MIN_K`](Self::MIN_K); no levels or more than 64;
    /// more items than the capacity for k; non-finite items; higher levels
    /// not sorted; n not equal to the sum of the items' weights (an overflow
    /// included); min/max absent with n > 0, present with n = 0, non-finite,
    /// out of order, or not bounding the items.
    pub fn validate(&self) -> Result<(), SketchError> {
        if self.k < Self::MIN_K {
            return invalid(format!("k = {} below {}", self.k, Self::MIN_K));
        }
        let h_count = self.levels.len();
        if h_count == 0 || h_count > MAX_LEVELS {
            return invalid(format!("{h_count} levels, 1 to {MAX_LEVELS} allowed"));
        }
        let retained = self.num_retained();
        let capacity = total_capacity(self.k, h_count);
        if capacity != self.capacity {
            return invalid("cached capacity is stale");
        }
        if retained > capacity {
            return invalid(format!(
                "{retained} items, capacity for k = {} and {h_count} levels is {capacity}",
                self.k
            ));
        }
        let mut weight: u64 = 0;
        for (h, level) in self.levels.iter().enumerate() {
            if level.iter().any(|v| !v.is_finite()) {
                return invalid(format!("non-finite item in level {h}"));
            }
            if h > 0 && !level.is_sorted_by(|a, b| a <= b) {
                return invalid(format!("level {h} not sorted"));
            }
            let w = (level.len() as u64)
                .checked_mul(level_weight(h))
                .and_then(|w| weight.checked_add(w));
            weight = w.ok_or_else(|| SketchError::Invalid("item weights overflow".into()))?;
        }
        if weight != self.n {
            return invalid(format!("n = {}, items weigh {weight}", self.n));
        }
        if self.n == 0 {
            return Ok(());
        }
        if !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return invalid("min and max must be finite and ordered");
        }
        if self
            .levels
            .iter()
            .flatten()
            .any(|&v| v < self.min || v > self.max)
        {
            return invalid("an item lies outside [min, max]");
        }
        Ok(())
    }

    /// The retained items, sorted, with cumulative weights; `None` when empty.
    pub(crate) fn sorted_view(&self) -> Option<SortedView> {
        if self.n == 0 {
            return None;
        }
        let mut pairs: Vec<(f64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, l)| l.iter().map(move |&x| (x, level_weight(h))))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(SortedView::from_weighted(pairs, self.n))
    }

    /// Compacts until the retained items fit the capacity. Each compaction
    /// removes at least 4 items (a level holds at least 8 when compacted), so
    /// this ends.
    fn compress(&mut self) {
        self.capacity = total_capacity(self.k, self.levels.len());
        while self.num_retained() > self.capacity {
            if !self.compact_once() {
                break;
            }
            self.capacity = total_capacity(self.k, self.levels.len());
        }
    }

    /// Compacts the lowest level at or above its capacity: sorts it, keeps
    /// one item back when its size is odd, and promotes every other item of
    /// the rest (odd or even positions, by the coin) to the level above with
    /// twice the weight. The total weight is unchanged.
    fn compact_once(&mut self) -> bool {
        let h_count = self.levels.len();
        let k = self.k;
        let Some(h) = self.levels.iter().enumerate().position(|(h, l)| {
            l.len() >= level_capacity(k, h_count.saturating_sub(h).saturating_sub(1))
        }) else {
            return false;
        };
        if h + 1 == h_count {
            if h_count >= MAX_LEVELS {
                return false;
            }
            self.levels.push(Vec::new());
        }
        let Some(level) = self.levels.get_mut(h) else {
            return false;
        };
        let mut level = std::mem::take(level);
        if h == 0 {
            level.sort_by(f64::total_cmp);
        }
        let (kept, rest) = if level.len() % 2 == 1 {
            match level.split_first() {
                Some((first, rest)) => (Some(*first), rest),
                None => (None, level.as_slice()),
            }
        } else {
            (None, level.as_slice())
        };
        let offset = usize::from(coin(self.n, h, rest));
        let promoted: Vec<f64> = rest.iter().skip(offset).step_by(2).copied().collect();
        if let Some(up) = self.levels.get_mut(h + 1) {
            *up = merge_sorted(up, &promoted);
        }
        if let Some(l) = self.levels.get_mut(h) {
            *l = kept.into_iter().collect();
        }
        true
    }
}

/// 2.446 / k^0.9433: DataSketches' double-sided (PMF) bound at 99 % confidence.
pub(crate) fn rank_error_for_k(k: u16) -> f64 {
    2.446 / f64::from(k).powf(0.9433)
}

/// Weight of an item at level h: 2^h (h < 64 by the level cap).
fn level_weight(h: usize) -> u64 {
    u32::try_from(h)
        .ok()
        .and_then(|h| 1u64.checked_shl(h))
        .unwrap_or(0)
}

/// Capacity of a level `depth` levels below the top: ceil(k·(2/3)^depth),
/// at least 8. Integer arithmetic so every platform gets the same capacities,
/// hence the same compactions and bytes.
fn level_capacity(k: u16, depth: usize) -> usize {
    // (2/3)^30 · 65535 < 1 < 8: deeper levels are at the floor.
    let Ok(d) = u32::try_from(depth) else {
        return MIN_LEVEL;
    };
    if d >= 30 {
        return MIN_LEVEL;
    }
    let num = u64::from(k) << d; // < 2^46
    let den = 3u64.pow(d); // < 2^48
    usize::try_from(num.div_ceil(den))
        .unwrap_or(MIN_LEVEL)
        .max(MIN_LEVEL)
}

/// Total capacity of a sketch with `levels` levels.
fn total_capacity(k: u16, levels: usize) -> usize {
    (0..levels).map(|depth| level_capacity(k, depth)).sum()
}

/// The compaction coin: a hash of the sketch's state and of the items to be
/// compacted (SplitMix64's finaliser), so it is reproducible and yet differs
/// between compactions, levels and shards.
fn coin(n: u64, level: usize, items: &[f64]) -> bool {
    let first = items.first().map_or(0, |v| v.to_bits());
    let last = items.last().map_or(0, |v| v.to_bits());
    let mut h = mix(n);
    h = mix(h ^ level as u64);
    h = mix(h ^ items.len() as u64);
    h = mix(h ^ first);
    h = mix(h ^ last.rotate_left(17));
    h & 1 == 1
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Merges two ascending slices into one ascending vector.
fn merge_sorted(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len().saturating_add(b.len()));
    let (mut ia, mut ib) = (a.iter().peekable(), b.iter().peekable());
    loop {
        match (ia.peek(), ib.peek()) {
            (Some(&&x), Some(&&y)) => {
                if x <= y {
                    out.push(x);
                    ia.next();
                } else {
                    out.push(y);
                    ib.next();
                }
            }
            (Some(_), None) => {
                out.extend(ia);
                break;
            }
            (None, _) => {
                out.extend(ib);
                break;
            }
        }
    }
    out
}

/// Distinct values in ascending order with the cumulative weight of the
/// values ≤ each: the step CDF of a sketch or of exact data.
#[derive(Debug, Clone)]
pub(crate) struct SortedView {
    pub(crate) items: Vec<f64>,
    pub(crate) cum: Vec<u64>,
    pub(crate) n: u64,
}

impl SortedView {
    /// From (value, weight) pairs sorted by value; equal values are joined.
    pub(crate) fn from_weighted(pairs: Vec<(f64, u64)>, n: u64) -> Self {
        let mut items: Vec<f64> = Vec::with_capacity(pairs.len());
        let mut cum: Vec<u64> = Vec::with_capacity(pairs.len());
        let mut total: u64 = 0;
        for (x, w) in pairs {
            total = total.saturating_add(w);
            match (items.last(), cum.last_mut()) {
                (Some(&last), Some(c)) if last == x => *c = total,
                _ => {
                    items.push(x);
                    cum.push(total);
                }
            }
        }
        Self { items, cum, n }
    }

    /// Fraction of the weight at values ≤ x.
    pub(crate) fn rank_inclusive(&self, x: f64) -> f64 {
        let i = self.items.partition_point(|&v| v <= x);
        self.cum_before(i) as f64 / self.n as f64
    }

    /// Fraction of the weight at values < x.
    pub(crate) fn rank_exclusive(&self, x: f64) -> f64 {
        let i = self.items.partition_point(|&v| v < x);
        self.cum_before(i) as f64 / self.n as f64
    }

    /// Cumulative weight of the first i distinct values.
    pub(crate) fn cum_before(&self, i: usize) -> u64 {
        match i.checked_sub(1) {
            Some(j) => self.cum.get(j).copied().unwrap_or(self.n),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_capacity() {
        let mut s = KllSketch::new();
        for i in (1..=200).rev() {
            s.update(f64::from(i));
        }
        assert!(s.is_exact());
        assert_eq!(s.normalized_rank_error(), 0.0);
        assert_eq!(s.rank(50.0), Some(0.25));
        assert_eq!(s.quantile(0.5), Some(100.0));
        assert_eq!(s.quantile(0.501), Some(101.0));
        assert_eq!(s.quantile(0.0), Some(1.0));
        assert_eq!(s.quantile(1.0), Some(200.0));
        s.update(201.0);
        assert!(!s.is_exact(), "the 201st value compacts for k = 200");
    }

    #[test]
    fn capacities() {
        assert_eq!(level_capacity(200, 0), 200);
        assert_eq!(level_capacity(200, 1), 134);
        assert_eq!(level_capacity(200, 2), 89);
        assert_eq!(level_capacity(200, 20), 8);
        assert_eq!(level_capacity(u16::MAX, 29), 8);
        assert_eq!(total_capacity(200, 1), 200);
    }

    #[test]
    fn non_finite_skipped_and_negative_zero() {
        let mut s = KllSketch::new();
        s.update(f64::NAN);
        s.update(f64::INFINITY);
        s.update(-0.0);
        assert_eq!((s.n(), s.skipped()), (1, 2));
        assert!(s.min().is_some_and(|m| m.is_sign_positive()));
        assert_eq!(s.rank(f64::NAN), None);
        assert_eq!(s.quantile(f64::NAN), None);
        assert_eq!(s.quantile(1.5), None);
    }

    #[test]
    fn empty() {
        let s = KllSketch::new();
        assert_eq!(s.rank(1.0), None);
        assert_eq!(s.quantile(0.5), None);
        assert_eq!(s.cdf(&[1.0]), None);
        assert_eq!(s.min(), None);
        assert!(s.validate().is_ok());
        assert!(KllSketch::with_k(7).is_err());
    }
}
