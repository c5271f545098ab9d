//! Model extraction monitoring: per-principal statistics over the queries
//! sent to a tabular or tensor model, and the answers it gave.
//!
//! - **PRADA** (Juuti, Szyller, Marchal and Asokan, 2019): for each new
//!   query, the distance to the nearest earlier query of the same predicted
//!   class. Natural queries give distances close to a normal distribution;
//!   queries made up to map a model (perturbations of a few seeds, line
//!   searches towards the boundary) do not. The Shapiro-Wilk W of the last
//!   `window` distances below `shapiro_w` raises an alert.
//! - **Boundary share**: when the model answers with probabilities, the
//!   share of queries whose two best classes are within `boundary_margin`
//!   of each other; queries that walk the decision boundary sit there.
//! - **Coverage of the input space**: the input space cut into cells of
//!   `cell` units (standard deviations when a profile gives the scale),
//!   the share of the last `window` queries that each opened a cell of its
//!   own. Natural queries crowd into the cells where the data lives; a
//!   sweep that maps the model visits a new cell almost every time. Above
//!   `max_coverage` (off by default: set it from your own traffic) it
//!   raises an alert.
//! - **Volume**: the queries seen from each principal.
//!
//! State is kept in memory per replica, for at most [`MAX_PRINCIPALS`]
//! principals (the least recently seen are dropped).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Principals tracked at once.
pub const MAX_PRINCIPALS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ExtractionSettings {
    /// Queries (distances, margins) kept per principal.
    pub window: usize,
    /// Queries seen before any test is made.
    pub min_queries: usize,
    /// PRADA's threshold on the Shapiro-Wilk W.
    pub shapiro_w: f64,
    pub boundary_margin: f64,
    pub boundary_share: f64,
    /// Per-feature scale (standard deviations) for distances; none: raw.
    pub scale: Vec<f64>,
    /// Width of a coverage cell, in scaled units.
    pub cell: f64,
    /// Coverage above which an alert is raised (none: measured only).
    pub max_coverage: Option<f64>,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        ExtractionSettings {
            window: 1000,
            min_queries: 200,
            shapiro_w: 0.80,
            boundary_margin: 0.1,
            boundary_share: 0.5,
            scale: Vec::new(),
            cell: 1.0,
            max_coverage: None,
        }
    }
}

/// Why a principal looks like it is copying the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `prada`, `boundary` or `coverage`.
    pub test: &'static str,
    /// W for prada, the share for boundary and coverage.
    pub value: f64,
    /// Queries seen from the principal so far.
    pub queries: u64,
}

/// PRADA's growing set of one class: the queries kept, the distances that
/// admitted them, and the threshold they set.
#[derive(Default)]
struct Growing {
    queries: VecDeque<Vec<f64>>,
    distances: VecDeque<f64>,
    threshold: f64,
}

#[derive(Default)]
struct State {
    /// PRADA's growing set, per predicted class.
    classes: HashMap<i64, Growing>,
    distances: VecDeque<f64>,
    near_boundary: VecDeque<bool>,
    /// The cell of each query in the window, and how many of them are in
    /// each cell.
    cells: VecDeque<u64>,
    cell_counts: HashMap<u64, u32>,
    queries: u64,
    last_seen: u64,
    alert: Option<Alert>,
}

pub struct ExtractionMonitor {
    settings: ExtractionSettings,
    state: Mutex<(u64, HashMap<String, State>)>,
}

impl ExtractionMonitor {
    pub fn new(settings: ExtractionSettings) -> ExtractionMonitor {
        ExtractionMonitor {
            settings,
            state: Mutex::new((0, HashMap::new())),
        }
    }

    pub fn settings(&self) -> &ExtractionSettings {
        &self.settings
    }

    /// What is known of `principal` now.
    pub fn statistics(&self, principal: &str) -> Option<Statistics> {
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = guard.1.get(principal)?;
        Some(Statistics {
            queries: state.queries,
            coverage: coverage(state),
            boundary_share: (!state.near_boundary.is_empty()).then(|| {
                state.near_boundary.iter().filter(|b| **b).count() as f64
                    / state.near_boundary.len() as f64
            }),
        })
    }

    /// The alert raised for `principal`, if any.
    pub fn alert(&self, principal: &str) -> Option<Alert> {
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.get(principal).and_then(|s| s.alert.clone())
    }

    /// Takes one request's rows and the answer's score rows (when the model
    /// gave scores); returns an alert the first time one is raised.
    pub fn observe(
        &self,
        principal: &str,
        rows: &[Vec<f64>],
        scores: Option<&[Vec<f64>]>,
    ) -> Option<Alert> {
        let s = &self.settings;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (clock, principals) = &mut *guard;
        *clock += 1;
        if !principals.contains_key(principal) && principals.len() >= MAX_PRINCIPALS {
            // Forget the principal seen longest ago.
            if let Some(oldest) = principals
                .iter()
                .min_by_key(|(_, st)| st.last_seen)
                .map(|(k, _)| k.clone())
            {
                principals.remove(&oldest);
            }
        }
        let state = principals.entry(principal.to_string()).or_default();
        state.last_seen = *clock;
        for (i, row) in rows.iter().enumerate() {
            if row.is_empty() || row.iter().any(|v| !v.is_finite()) {
                continue;
            }
            let x: Vec<f64> = row
                .iter()
                .enumerate()
                .map(|(j, v)| match s.scale.get(j) {
                    Some(sd) if *sd > 0.0 => v / sd,
                    _ => *v,
                })
                .collect();
            let score = scores.and_then(|sc| sc.get(i));
            let class = score.map_or(0, |p| argmax(p));
            state.queries += 1;
            let cell = cell_of(&x, s.cell);
            state.cells.push_back(cell);
            *state.cell_counts.entry(cell).or_default() += 1;
            while state.cells.len() > s.window.max(1) {
                if let Some(old) = state.cells.pop_front() {
                    if let Some(n) = state.cell_counts.get_mut(&old) {
                        *n -= 1;
                        if *n == 0 {
                            state.cell_counts.remove(&old);
                        }
                    }
                }
            }
            prada_step(state, class, x, s.window);
            if let Some(p) = score.filter(|p| p.len() >= 2) {
                let mut sorted = p.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                let margin =
                    sorted.first().copied().unwrap_or(0.0) - sorted.get(1).copied().unwrap_or(0.0);
                push_capped(
                    &mut state.near_boundary,
                    margin < s.boundary_margin,
                    s.window,
                );
            }
        }
        if state.alert.is_some() || (state.queries as usize) < s.min_queries {
            return None;
        }
        let alert = if state.near_boundary.len() >= s.min_queries {
            let share = state.near_boundary.iter().filter(|b| **b).count() as f64
                / state.near_boundary.len() as f64;
            (share > s.boundary_share).then_some(Alert {
                test: "boundary",
                value: share,
                queries: state.queries,
            })
        } else {
            None
        };
        let alert = alert.or_else(|| {
            let max = s.max_coverage?;
            let c = coverage(state)?;
            (state.cells.len() >= s.min_queries && c > max).then_some(Alert {
                test: "coverage",
                value: c,
                queries: state.queries,
            })
        });
        let alert = alert.or_else(|| {
            if state.distances.len() < s.min_queries || state.queries % 10 != 0 {
                return None;
            }
            let d: Vec<f64> = state.distances.iter().copied().collect();
            let w = shapiro_wilk(&d)?;
            (w < s.shapiro_w).then_some(Alert {
                test: "prada",
                value: w,
                queries: state.queries,
            })
        });
        state.alert.clone_from(&alert);
        alert
    }
}

/// A principal's statistics ([`ExtractionMonitor::statistics`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    /// Queries seen (volume).
    pub queries: u64,
    /// Distinct cells over queries in the window; none before any query.
    pub coverage: Option<f64>,
    /// Share of the window's scored queries near the boundary.
    pub boundary_share: Option<f64>,
}

fn coverage(state: &State) -> Option<f64> {
    (!state.cells.is_empty()).then(|| state.cell_counts.len() as f64 / state.cells.len() as f64)
}

/// The cell a (scaled) query falls in, as a hash of its grid coordinates.
fn cell_of(x: &[f64], width: f64) -> u64 {
    let width = if width > 0.0 { width } else { 1.0 };
    x.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        let k = (v / width).floor().clamp(-1e15, 1e15) as i64;
        (h ^ k as u64)
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(17)
    })
}

fn argmax(p: &[f64]) -> i64 {
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i as i64)
}

fn push_capped<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    q.push_back(v);
    while q.len() > cap.max(1) {
        q.pop_front();
    }
}

/// One step of PRADA's Algorithm 1 for query `x` of class `class`.
fn prada_step(state: &mut State, class: i64, x: Vec<f64>, window: usize) {
    let g = state.classes.entry(class).or_default();
    if g.queries.is_empty() {
        g.queries.push_back(x);
        return;
    }
    let d = g
        .queries
        .iter()
        .map(|y| {
            y.iter()
                .zip(&x)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        })
        .fold(f64::INFINITY, f64::min);
    push_capped(&mut state.distances, d, window);
    if d > g.threshold {
        push_capped(&mut g.queries, x, window);
        push_capped(&mut g.distances, d, window);
        let n = g.distances.len() as f64;
        let mean = g.distances.iter().sum::<f64>() / n;
        let sd = (g
            .distances
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum::<f64>()
            / n)
            .sqrt();
        g.threshold = g.threshold.max(mean - sd);
    }
}

/// The Shapiro-Wilk W of `x` (3 to 5,000 values), with Royston's (1992)
/// approximation of the coefficients; None when it is undefined (fewer
/// than 3 values, or all equal).
pub fn shapiro_wilk(x: &[f64]) -> Option<f64> {
    let n = x.len();
    if !(3..=5000).contains(&n) {
        return None;
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let ss: f64 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
    if ss <= 0.0 || !ss.is_finite() {
        return None;
    }
    let nf = n as f64;
    let m: Vec<f64> = (1..=n)
        .map(|i| normal_quantile((i as f64 - 0.375) / (nf + 0.25)))
        .collect();
    let mm: f64 = m.iter().map(|v| v * v).sum();
    let u = 1.0 / nf.sqrt();
    let from_end = |k: usize| m.get(n - k).copied().unwrap_or(0.0);
    let (m_n, m_n1) = (from_end(1), from_end(2));
    let a_n = m_n / mm.sqrt() + 0.221157 * u - 0.147981 * u.powi(2) - 2.071190 * u.powi(3)
        + 4.434685 * u.powi(4)
        - 2.706056 * u.powi(5);
    let set = |a: &mut Vec<f64>, i: usize, v: f64| {
        if let Some(x) = a.get_mut(i) {
            *x = v;
        }
    };
    let mut a: Vec<f64>;
    if n == 3 {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        a = vec![-s, 0.0, s];
    } else if n < 6 {
        let phi = (mm - 2.0 * m_n * m_n) / (1.0 - 2.0 * a_n * a_n);
        a = m.iter().map(|v| v / phi.sqrt()).collect();
        set(&mut a, 0, -a_n);
        set(&mut a, n - 1, a_n);
    } else {
        let a_n1 = m_n1 / mm.sqrt() + 0.042981 * u - 0.293762 * u.powi(2) - 1.752461 * u.powi(3)
            + 5.682633 * u.powi(4)
            - 3.582633 * u.powi(5);
        let phi = (mm - 2.0 * m_n * m_n - 2.0 * m_n1 * m_n1)
            / (1.0 - 2.0 * a_n * a_n - 2.0 * a_n1 * a_n1);
        a = m.iter().map(|v| v / phi.sqrt()).collect();
        set(&mut a, 0, -a_n);
        set(&mut a, 1, -a_n1);
        set(&mut a, n - 2, a_n1);
        set(&mut a, n - 1, a_n);
    }
    let b: f64 = a.iter().zip(&sorted).map(|(ai, xi)| ai * xi).sum();
    Some((b * b / ss).min(1.0))
}

/// The standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapiro_wilk_matches_scipy() {
        // scipy.stats.shapiro (1.16) on the same values.
        for (x, want) in [
            (
                &[2.1, 3.4, 1.9, 2.8, 3.0, 2.5, 2.2, 3.9, 2.7, 3.1, 2.4, 2.9][..],
                0.978_073,
            ),
            (
                &[2.1, 2.2, 2.0, 2.3, 2.1, 2.2, 2.0, 2.1, 9.5, 2.2],
                0.402_836,
            ),
            (&[1.0, 2.0, 4.0], 0.964_286),
            (&[1.0, 2.0, 3.0, 4.0, 10.0], 0.835_788),
        ] {
            let w = shapiro_wilk(x).unwrap();
            assert!((w - want).abs() < 1e-3, "{w} vs {want} for {x:?}");
        }
        assert!(shapiro_wilk(&[1.0, 1.0, 1.0]).is_none());
        assert!(shapiro_wilk(&[1.0, 2.0]).is_none());
        assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-6);
    }

    /// Deterministic pseudo-random numbers in [0, 1) (SplitMix64).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.next().max(1e-12), self.next());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// A two-class model: class 1 when x0 + x1 > 0, probabilities by a logistic.
    fn model(x: &[f64]) -> Vec<f64> {
        let p = 1.0 / (1.0 + (-(3.0 * (x[0] + x[1]))).exp());
        vec![1.0 - p, p]
    }

    #[test]
    fn natural_queries_raise_no_alert_and_a_boundary_walk_does() {
        let monitor = ExtractionMonitor::new(ExtractionSettings::default());
        let mut rng = Rng(7);
        for _ in 0..3000 {
            let x = vec![rng.normal() * 2.0, rng.normal() * 2.0, rng.normal()];
            let p = model(&x);
            assert_eq!(monitor.observe("alice", &[x], Some(&[p])), None);
        }
        // Line searches from random pairs towards the boundary.
        let mut alerted = None;
        for q in 0..2000 {
            let a = [rng.normal() * 2.0, rng.normal() * 2.0, rng.normal()];
            let t = rng.next();
            let x: Vec<f64> = a.iter().map(|v| v * t * 0.05).collect();
            let p = model(&x);
            if let Some(alert) = monitor.observe("mallory", &[x], Some(&[p])) {
                alerted = Some((q, alert));
                break;
            }
        }
        let (q, alert) = alerted.expect("the walk is flagged");
        assert!(q < 2000, "{q}");
        assert_eq!(monitor.alert("mallory"), Some(alert));
        assert_eq!(monitor.alert("alice"), None);
    }

    #[test]
    fn probing_around_a_few_points_is_caught_by_prada_without_scores() {
        // A scraper that probes tiny perturbations around a few points, now
        // and then jumping to a new one: nearest distances are mostly tiny
        // with a tail of large ones, far from normal.
        let monitor = ExtractionMonitor::new(ExtractionSettings::default());
        let mut rng = Rng(11);
        let mut centre: Vec<f64> = (0..4).map(|_| rng.normal() * 3.0).collect();
        let mut alert = None;
        for q in 0..2000 {
            if q % 10 == 0 {
                centre = (0..4).map(|_| rng.normal() * 3.0).collect();
            }
            let x: Vec<f64> = centre.iter().map(|v| v + rng.normal() * 1e-3).collect();
            if let Some(a) = monitor.observe("scraper", &[x], None) {
                alert = Some(a);
                break;
            }
        }
        let alert = alert.expect("flagged");
        assert_eq!(alert.test, "prada");
        assert!(alert.value < 0.8 && alert.queries <= 300, "{alert:?}");
    }

    #[test]
    fn a_sweep_of_the_input_space_covers_it_and_natural_queries_do_not() {
        let settings = ExtractionSettings {
            max_coverage: Some(0.8),
            ..ExtractionSettings::default()
        };
        let monitor = ExtractionMonitor::new(settings);
        let mut rng = Rng(3);
        // Natural traffic: three clusters, each query near one of them.
        let centres = [[0.0, 0.0, 0.0], [3.0, -2.0, 1.0], [-2.0, 3.0, -1.0]];
        for i in 0..3000 {
            let c = centres[i % 3];
            let x: Vec<f64> = c.iter().map(|v| v + rng.normal() * 0.4).collect();
            assert_eq!(monitor.observe("alice", &[x], None), None);
        }
        let natural = monitor.statistics("alice").unwrap();
        assert_eq!(natural.queries, 3000);
        assert!(natural.coverage.unwrap() < 0.3, "{natural:?}");
        // A sweep: uniform over the whole box the clusters sit in.
        let mut alert = None;
        for _ in 0..2000 {
            let x: Vec<f64> = (0..3).map(|_| rng.next() * 10.0 - 5.0).collect();
            if let Some(a) = monitor.observe("sweeper", &[x], None) {
                alert = Some(a);
                break;
            }
        }
        let alert = alert.expect("the sweep is flagged");
        assert_eq!(alert.test, "coverage");
        assert!(alert.value > 0.8 && alert.queries == 200, "{alert:?}");
        assert_eq!(monitor.statistics("nobody"), None);
    }

    #[test]
    fn the_number_of_principals_is_bounded() {
        let monitor = ExtractionMonitor::new(ExtractionSettings::default());
        for i in 0..MAX_PRINCIPALS + 10 {
            monitor.observe(&format!("p{i}"), &[vec![1.0]], None);
        }
        let n = monitor.state.lock().unwrap().1.len();
        assert_eq!(n, MAX_PRINCIPALS);
    }
}
