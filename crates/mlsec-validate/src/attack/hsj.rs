//! Not written yet.

use super::{AttackError, Oracle, Outcome, Settings, Task};
use crate::rng::Rng;

pub fn run(
    _oracle: &Oracle,
    _task: &Task,
    _settings: &Settings,
    _rng: &mut Rng,
) -> Result<Outcome, AttackError> {
    Err(AttackError::Unsupported("hsj is not written yet".into()))
}
