//! Exact duplicates (rows with the same values), conflicting duplicates (the
//! same values under different labels) and near duplicates (rows within a
//! small distance after standardisation).

use super::{check_labels, squared_distance, IssuesError, Matrix};
use std::collections::{BinaryHeap, HashMap};

/// Rows with identical values.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateGroup {
    /// The rows, ascending (at least two).
    pub rows: Vec<usize>,
    /// The distinct labels of those rows, ascending (empty without labels).
    pub labels: Vec<usize>,
}

impl DuplicateGroup {
    /// Whether the rows carry more than one label (a conflicting duplicate).
    pub fn conflicting(&self) -> bool {
        self.labels.len() > 1
    }
}

/// The bits a value hashes and compares by: −0.0 is 0.0 (as numpy's
/// `unique` compares them).
fn key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

fn row_hash(row: &[f64]) -> u64 {
    // FNV-1a over the values' bits, then a SplitMix finaliser.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &v in row {
        h ^= key(v);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(p, q)| key(*p) == key(*q))
}

/// Groups of rows with exactly the same values (bit for bit, −0.0 equal to
/// 0.0), each with the distinct labels of its rows when `labels` is given
/// (one per row); groups ordered by their first row. Found by hashing each
/// row, sorting the hashes and comparing rows within equal hashes: O(n d +
/// n log n) time, O(n) memory. Errors: `LengthMismatch` for labels of
/// another length.
pub fn exact_duplicates(
    x: &Matrix,
    labels: Option<&[usize]>,
) -> Result<Vec<DuplicateGroup>, IssuesError> {
    if let Some(l) = labels {
        check_labels(x.rows(), l, usize::MAX)?;
    }
    let mut hashed: Vec<(u64, usize)> = x
        .iter_rows()
        .enumerate()
        .map(|(i, r)| (row_hash(r), i))
        .collect();
    hashed.sort_unstable();
    let mut groups = Vec::new();
    let mut start = 0;
    while start < hashed.len() {
        let h = hashed.get(start).map_or(0, |p| p.0);
        let end = start
            + hashed
                .get(start..)
                .map_or(0, |rest| rest.iter().take_while(|p| p.0 == h).count());
        // Within one hash, split by exact equality (collisions are rare).
        let mut pending: Vec<usize> = hashed
            .get(start..end)
            .map(|run| run.iter().map(|p| p.1).collect())
            .unwrap_or_default();
        while let Some(&first) = pending.first() {
            let first_row = x.row(first).unwrap_or(&[]);
            let (group, rest): (Vec<usize>, Vec<usize>) = pending
                .iter()
                .partition(|&&i| same(first_row, x.row(i).unwrap_or(&[])));
            if group.len() > 1 {
                let mut ls: Vec<usize> = labels
                    .map(|l| group.iter().filter_map(|&i| l.get(i).copied()).collect())
                    .unwrap_or_default();
                ls.sort_unstable();
                ls.dedup();
                groups.push(DuplicateGroup {
                    rows: group,
                    labels: ls,
                });
            }
            pending = rest;
        }
        start = end.max(start + 1);
    }
    groups.sort_by_key(|g| g.rows.first().copied().unwrap_or(0));
    Ok(groups)
}

/// Two rows close to each other but not identical.
#[derive(Debug, Clone, PartialEq)]
pub struct NearPair {
    /// The first row.
    pub a: usize,
    /// The second row (greater than `a`).
    pub b: usize,
    /// Their Euclidean distance after standardisation.
    pub distance: f64,
}

/// Distance computations [`near_duplicates`] makes at most (as many as a
/// brute-force pass over 20,000 rows).
pub const MAX_NEAR_COMPARISONS: u64 = 200_000_000;

/// Random directions the rows are projected on to find candidate pairs.
const GRID_DIMS: usize = 4;

/// Pairs of rows whose Euclidean distance after standardising `x`
/// ([`Matrix::standardised`]) is above 0 and at most `radius`, ordered by
/// (a, b); exact duplicates are [`exact_duplicates`]'s, and a row identical
/// to an earlier one is represented by that row. At most `max_pairs` pairs
/// are returned (the first in order).
///
/// Candidates come from a grid: each row is projected on four fixed random
/// unit directions and put in the cell of side `radius` its projections
/// fall in; two rows within `radius` differ by at most `radius` along every
/// direction, so they sit in the same or neighbouring cells, and only those
/// rows are compared. No pair is missed. On ordinary data a row meets a
/// handful of candidates (O(n d) in all); data packed within `radius` of
/// itself meets many, and after [`MAX_NEAR_COMPARISONS`] distances the error
/// is `TooLarge`. Memory O(n + max_pairs). Errors: `InvalidParameter` for a
/// radius not finite and positive.
pub fn near_duplicates(
    x: &Matrix,
    radius: f64,
    max_pairs: usize,
) -> Result<Vec<NearPair>, IssuesError> {
    if !(radius > 0.0 && radius.is_finite()) {
        return Err(IssuesError::InvalidParameter("radius must be positive"));
    }
    let z = x.standardised();
    let d = z.cols();
    let mut rng = crate::rng::SplitMix(0x6e65_6172);
    let dims = GRID_DIMS.min(d);
    let directions: Vec<Vec<f64>> = (0..dims)
        .map(|_| {
            let mut u: Vec<f64> = (0..d).map(|_| rng.unit() - 0.5).collect();
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-300);
            u.iter_mut().for_each(|v| *v /= norm);
            u
        })
        .collect();
    // Each distinct row's cell; identical rows after the first are left out.
    let mut first_of: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut cells: HashMap<[i64; GRID_DIMS], Vec<usize>> = HashMap::new();
    let mut cell_of: Vec<Option<[i64; GRID_DIMS]>> = vec![None; z.rows()];
    for (i, row) in z.iter_rows().enumerate() {
        let seen = first_of.entry(row_hash(row)).or_default();
        if seen.iter().any(|&j| z.row(j).is_some_and(|r| same(r, row))) {
            continue;
        }
        seen.push(i);
        let mut key = [0i64; GRID_DIMS];
        for (k, u) in key.iter_mut().zip(&directions) {
            let p: f64 = row.iter().zip(u).map(|(a, b)| a * b).sum();
            // `as` saturates: a value out of i64's range is an edge cell.
            *k = (p / radius).floor() as i64;
        }
        cells.entry(key).or_default().push(i);
        if let Some(c) = cell_of.get_mut(i) {
            *c = Some(key);
        }
    }
    let r2 = radius * radius;
    let mut comparisons: u64 = 0;
    // The `max_pairs` smallest (a, b) pairs: a max-heap that drops its largest.
    let mut kept: BinaryHeap<(usize, usize, u64)> = BinaryHeap::new();
    let neighbours = 3usize.pow(dims as u32);
    for (i, a) in z.iter_rows().enumerate() {
        let Some(key) = cell_of.get(i).copied().flatten() else {
            continue;
        };
        for n in 0..neighbours {
            let mut other = key;
            let mut code = n;
            for k in other.iter_mut().take(dims) {
                *k = k.saturating_add((code % 3) as i64 - 1);
                code /= 3;
            }
            let Some(members) = cells.get(&other) else {
                continue;
            };
            for &j in members.iter().filter(|&&j| j > i) {
                comparisons += 1;
                if comparisons > MAX_NEAR_COMPARISONS {
                    return Err(IssuesError::TooLarge {
                        what: "near-duplicate comparisons (rows packed within the radius)",
                        limit: MAX_NEAR_COMPARISONS as usize,
                    });
                }
                let Some(b) = z.row(j) else { continue };
                let dist = squared_distance(a, b);
                if dist > 0.0 && dist <= r2 {
                    kept.push((i, j, dist.sqrt().to_bits()));
                    if kept.len() > max_pairs {
                        kept.pop();
                    }
                }
            }
        }
    }
    let mut out: Vec<NearPair> = kept
        .into_iter()
        .map(|(a, b, bits)| NearPair {
            a,
            b,
            distance: f64::from_bits(bits),
        })
        .collect();
    out.sort_by_key(|p| (p.a, p.b));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_conflicts() {
        let x = Matrix::from_rows(&[
            vec![1.0, 2.0],
            vec![3.0, 4.0],
            vec![1.0, 2.0],
            vec![-0.0, 5.0],
            vec![0.0, 5.0],
            vec![3.0, 4.0001],
        ])
        .unwrap();
        let g = exact_duplicates(&x, Some(&[0, 1, 0, 1, 2, 1])).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].rows, vec![0, 2]);
        assert!(!g[0].conflicting());
        assert_eq!(g[1].rows, vec![3, 4]);
        assert!(g[1].conflicting());
        let near = near_duplicates(&x, 0.01, 100).unwrap();
        assert_eq!(near.len(), 1);
        assert_eq!((near[0].a, near[0].b), (1, 5));
        assert!(exact_duplicates(&x, Some(&[0])).is_err());
        let same = Matrix::from_rows(&vec![vec![7.0]; 5]).unwrap();
        assert_eq!(exact_duplicates(&same, None).unwrap()[0].rows.len(), 5);
        assert!(near_duplicates(&same, 1.0, 10).unwrap().is_empty());
        assert!(near_duplicates(&same, f64::NAN, 10).is_err());
    }
}
