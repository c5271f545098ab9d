//! Statistics for mlsec's data-quality and drift checks: numbers in, numbers
//! out, no I/O. Everything takes data that already passed the readers' bounds;
//! NaN and infinities are the caller's to remove (each function says what it
//! does with them), and no function panics on any input.

// Library code may not index, slice or unwrap: inputs come from untrusted
// datasets, and a bad index must not panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod issues;
mod rng;
pub mod sketch;
mod special;
pub use special::{chi2_sf, normal_sf};
pub mod twosample;
