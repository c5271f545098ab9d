//! Category counts: exact up to a cap of distinct values, then a Misra-Gries
//! summary (Misra and Gries 1982) merged as in Agarwal et al., "Mergeable
//! Summaries" (PODS 2012).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{bounded, invalid, SketchError};

/// Largest accepted cap (distinct values kept).
const MAX_CAP: usize = 100_000;
/// Longest key kept, in bytes.
const MAX_KEY: usize = 256;

/// Counts of a categorical column's values with a cap on the distinct values.
///
/// **Guarantee.** [`total`](Self::total) is exact. While at most `cap`
/// distinct values have been seen, every count is exact
/// ([`is_exact`](Self::is_exact), [`max_error`](Self::max_error) = 0). Past
/// that the table is a Misra-Gries summary of `cap` counters: for every
/// value, its kept count `c` (0 when not kept) satisfies
/// `c ≤ true count ≤ c + max_error`, and `max_error ≤ (total − Σ kept)/(cap + 1)
/// ≤ total/(cap + 1)`; hence every value with a count above `total/(cap + 1)`
/// is kept. Merging keeps the same guarantee for the union (Agarwal et al.)
/// with the smaller cap of the two.
///
/// **Keys** longer than 256 bytes are cut to their longest prefix of at most
/// 256 bytes that ends on a character boundary: values that share that
/// prefix are counted together. Lookups cut the same way.
///
/// **Cost.** At most `cap` keys of at most 256 bytes. `update` is O(log cap)
/// plus, past the cap, an O(cap) decrement at most once per cap + 1 values
/// (amortised O(1)). Merge is O(cap log cap).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FreqWire")]
pub struct FrequencyTable {
    cap: usize,
    total: u64,
    missing: u64,
    max_error: u64,
    /// Sorted by key: a fixed order, hence fixed bytes.
    counts: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreqWire {
    cap: usize,
    total: u64,
    missing: u64,
    max_error: u64,
    #[serde(deserialize_with = "bounded::map::<_, MAX_CAP, MAX_KEY>")]
    counts: BTreeMap<String, u64>,
}

impl TryFrom<FreqWire> for FrequencyTable {
    type Error = SketchError;
    fn try_from(w: FreqWire) -> Result<Self, SketchError> {
        let t = FrequencyTable {
            cap: w.cap,
            total: w.total,
            missing: w.missing,
            max_error: w.max_error,
            counts: w.counts,
        };
        t.validate()?;
        Ok(t)
    }
}

impl Default for FrequencyTable {
    fn default() -> Self {
        Self {
            cap: Self::DEFAULT_CAP,
            total: 0,
            missing: 0,
            max_error: 0,
            counts: BTreeMap::new(),
        }
    }
}

/// `s` cut to at most [`MAX_KEY`] bytes on a character boundary.
fn truncate(s: &str) -> &str {
    s.get(..s.floor_char_boundary(MAX_KEY)).unwrap_or("")
}

impl FrequencyTable {
    /// Default cap: 1,000 distinct values.
    pub const DEFAULT_CAP: usize = 1_000;
    /// Largest accepted cap.
    pub const MAX_CAP: usize = MAX_CAP;
    /// Longest key kept, in bytes.
    pub const MAX_KEY_BYTES: usize = MAX_KEY;

    /// An empty table with cap [`DEFAULT_CAP`](Self::DEFAULT_CAP). O(1).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table keeping at most `cap` distinct values (1 to
    /// [`MAX_CAP`](Self::MAX_CAP)). O(1).
    pub fn with_cap(cap: usize) -> Result<Self, SketchError> {
        if cap == 0 || cap > MAX_CAP {
            return Err(SketchError::InvalidParameter(format!(
                "cap = {cap}, 1 to {MAX_CAP} allowed"
            )));
        }
        Ok(Self {
            cap,
            ..Self::default()
        })
    }

    /// Counts one value (cut to 256 bytes). Amortised O(log cap).
    pub fn update(&mut self, value: &str) {
        let Some(total) = self.total.checked_add(1) else {
            return;
        };
        self.total = total;
        let key = truncate(value);
        if let Some(c) = self.counts.get_mut(key) {
            *c = c.saturating_add(1);
        } else if self.counts.len() < self.cap {
            self.counts.insert(key.to_owned(), 1);
        } else {
            // Misra-Gries: the new value and every kept one lose 1, which
            // removes cap + 1 from the kept mass and adds 1 to each value's
            // possible undercount.
            self.counts.retain(|_, c| {
                *c = c.saturating_sub(1);
                *c > 0
            });
            self.max_error = self.max_error.saturating_add(1);
        }
    }

    /// Counts one missing (null) cell; not part of [`total`](Self::total). O(1).
    pub fn update_missing(&mut self) {
        self.missing = self.missing.saturating_add(1);
    }

    /// Merges `other` into `self` (Agarwal et al.): counts are added; if
    /// more than `cap` keys remain (cap the smaller of the two), the
    /// (cap + 1)-th largest count is subtracted from every count and the
    /// non-positive ones dropped, and that amount is added to the error.
    /// Error when a count would overflow. O(cap log cap).
    pub fn merge(&mut self, other: &FrequencyTable) -> Result<(), SketchError> {
        let total = self
            .total
            .checked_add(other.total)
            .ok_or(SketchError::Overflow)?;
        let missing = self
            .missing
            .checked_add(other.missing)
            .ok_or(SketchError::Overflow)?;
        let max_error = self
            .max_error
            .checked_add(other.max_error)
            .ok_or(SketchError::Overflow)?;
        for (k, &c) in &other.counts {
            let slot = self.counts.entry(k.clone()).or_insert(0);
            *slot = slot.checked_add(c).ok_or(SketchError::Overflow)?;
        }
        self.cap = self.cap.min(other.cap);
        self.total = total;
        self.missing = missing;
        self.max_error = max_error;
        if self.counts.len() > self.cap {
            let mut values: Vec<u64> = self.counts.values().copied().collect();
            let (_, &mut cut, _) = values.select_nth_unstable_by(self.cap, |a, b| b.cmp(a));
            self.counts.retain(|_, c| {
                *c = c.saturating_sub(cut);
                *c > 0
            });
            self.max_error = self.max_error.saturating_add(cut);
        }
        Ok(())
    }

    /// The cap on distinct values kept. O(1).
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Exact number of (non-missing) values counted. O(1).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Exact number of missing cells. O(1).
    pub fn missing(&self) -> u64 {
        self.missing
    }

    /// True while every count is exact. O(1).
    pub fn is_exact(&self) -> bool {
        self.max_error == 0
    }

    /// The most any value's true count can exceed its kept count. O(1).
    pub fn max_error(&self) -> u64 {
        self.max_error
    }

    /// The kept count of `value` (cut to 256 bytes), 0 when not kept: a lower
    /// bound; the true count is at most this plus [`max_error`](Self::max_error).
    /// O(log cap).
    pub fn count(&self, value: &str) -> u64 {
        self.counts.get(truncate(value)).copied().unwrap_or(0)
    }

    /// The kept values and counts, in key order. O(1) to start.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counts.iter().map(|(k, &c)| (k.as_str(), c))
    }

    /// Number of distinct values kept (≤ cap). O(1).
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when no value is kept. O(1).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The `n` values with the largest kept counts, largest first, ties by
    /// key. O(cap log cap).
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v.truncate(n);
        v
    }

    /// Checks the invariants; run by `Deserialize`. Rejects: cap 0 or above
    /// [`MAX_CAP`](Self::MAX_CAP); more keys than cap; a key above 256 bytes;
    /// a zero count; kept counts not adding up to the total when exact, or
    /// kept + (cap + 1) × max_error above the total otherwise (the
    /// Misra-Gries invariant, which merges keep). O(cap).
    pub fn validate(&self) -> Result<(), SketchError> {
        if self.cap == 0 || self.cap > MAX_CAP {
            return invalid(format!("cap = {}, 1 to {MAX_CAP} allowed", self.cap));
        }
        if self.counts.len() > self.cap {
            return invalid(format!("{} keys, cap {}", self.counts.len(), self.cap));
        }
        if self.counts.keys().any(|k| k.len() > MAX_KEY) {
            return invalid(format!("key longer than {MAX_KEY} bytes"));
        }
        let mut kept: u64 = 0;
        for &c in self.counts.values() {
            if c == 0 {
                return invalid("zero count");
            }
            kept = kept
                .checked_add(c)
                .ok_or_else(|| SketchError::Invalid("counts overflow".into()))?;
        }
        if self.max_error == 0 {
            if kept != self.total {
                return invalid(format!("counts add up to {kept}, total {}", self.total));
            }
        } else {
            let lost = (self.cap as u64)
                .checked_add(1)
                .and_then(|k| k.checked_mul(self.max_error))
                .and_then(|l| l.checked_add(kept));
            match lost {
                Some(l) if l <= self.total => {}
                _ => return invalid("counts and error exceed the total"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_on_char_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let mut t = FrequencyTable::new();
        t.update(&long);
        let (k, c) = t.iter().next().unwrap();
        assert_eq!((k.len(), c), (256, 1));
        let other = format!("{}x", "é".repeat(128));
        assert_eq!(t.count(&other), 1, "same 256-byte prefix counts together");
        let odd = format!("a{}", "é".repeat(200));
        assert_eq!(truncate(&odd).len(), 255);
    }

    #[test]
    fn exact_then_misra_gries() {
        let mut t = FrequencyTable::with_cap(3).unwrap();
        for v in ["a", "b", "a", "c", "a"] {
            t.update(v);
        }
        assert!(t.is_exact());
        assert_eq!(t.count("a"), 3);
        t.update("d"); // 4th distinct: everyone loses 1
        assert_eq!(t.max_error(), 1);
        assert_eq!((t.count("a"), t.count("b"), t.count("d")), (2, 0, 0));
        assert_eq!(t.total(), 6);
        assert!(t.validate().is_ok());
        assert!(FrequencyTable::with_cap(0).is_err());
    }
}
