//! Hostile files that declare huge sizes must be refused without any
//! allocation of that size: a counting allocator records the largest single
//! request made while they are read. One test in this binary, so that no
//! other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mlsec_stats::sketch::{FrequencyTable, KllSketch, Moments, MultiMoments};

struct Counting;
static ON: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; the counter only reads the layout.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn declared_sizes_allocate_nothing() {
    let kll = [
        r#"{"k":200,"n":18446744073709551615,"skipped":0,"min":0,"max":1,"level_sizes":[4294967295],"items":[0,1]}"#,
        r#"{"k":200,"n":3,"skipped":0,"min":0,"max":1,"level_sizes":[1,4294967295,4294967295],"items":[0,1]}"#,
        r#"{"k":65535,"n":1,"skipped":0,"min":0,"max":0,"level_sizes":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"items":[0]}"#,
    ];
    let freq = [
        r#"{"cap":18446744073709551615,"total":18446744073709551615,"missing":0,"max_error":0,"counts":{"a":1}}"#,
    ];
    let multi = [
        r#"{"dim":18446744073709551615,"count":5,"skipped":0,"mean":[0],"comoment":[0]}"#,
        r#"{"dim":256,"count":5,"skipped":0,"mean":[0],"comoment":[0]}"#,
    ];
    ON.store(true, Ordering::Relaxed);
    let errors = kll
        .iter()
        .filter(|t| serde_json::from_str::<KllSketch>(t).is_err())
        .count()
        + freq
            .iter()
            .filter(|t| serde_json::from_str::<FrequencyTable>(t).is_err())
            .count()
        + multi
            .iter()
            .filter(|t| serde_json::from_str::<MultiMoments>(t).is_err())
            .count()
        + usize::from(
            serde_json::from_str::<Moments>(
                r#"{"count":18446744073709551615,"missing":0,"mean":0,"m2":0,"min":0,"max":0}"#,
            )
            .is_ok(),
        );
    ON.store(false, Ordering::Relaxed);
    assert_eq!(errors, 7);
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 16 * 1024, "largest allocation {largest} bytes");
}
