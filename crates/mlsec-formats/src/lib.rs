//! Bounded, panic-free parsers for the file formats models ship in.
//!
//! Nothing here executes or deserializes untrusted content into live objects:
//! each parser reads bytes into plain data (or a symbolic trace, for pickles),
//! checks every length against the input and the [`mlsec_core::Limits`], and
//! returns an error instead of panicking. Judging what was parsed is the job of
//! the rules in `mlsec-scan`.

// Library code may not index, slice or unwrap: a bad length must become an
// error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod compress;
pub mod gguf;
pub mod hdf5;
pub mod jinja;
pub mod npy;
pub mod paths;
pub mod pickle;
pub mod protobuf;
pub mod safetensors;
pub mod sevenz;
pub mod sniff;
pub mod tar;
pub mod zip;

pub use protobuf::{onnx, savedmodel};

pub use sniff::{detect, Format};
