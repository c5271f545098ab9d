//! Model validation: how easily small input changes flip a model's
//! decisions ([`attack`], [`redteam`]), and whether it treats groups
//! differently and what drives it ([`explain`]), against any
//! [`mlsec_model::Model`].

// Library code may not index, slice or unwrap. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod attack;
pub mod endpoint;
mod error;
pub mod explain;
mod human;
pub mod llm;
pub mod privacy;
mod redteam;
pub mod rng;
pub mod rules;
pub mod table;

pub use error::ValidateError;
pub use human::{explain_human, llm_human, privacy_human, redteam_human};
pub use redteam::{
    redteam, AttackResult, Change, DataInfo, Example, FeatureInfo, ModelInfo, RedteamDetails,
    RedteamOptions, SampleInfo,
};
