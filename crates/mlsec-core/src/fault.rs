/// Whose fault an error is. Every producer's error type says it, so the CLI
/// can choose an exit code and a server a status code (4xx for the input,
/// 5xx for the rest) without reading messages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// What was asked for is wrong: a missing path, a malformed config or key,
    /// an option that makes no sense. Retrying the same request fails again.
    Input,
    /// The machine is in the way: permissions, a full disk, an unreachable
    /// service. The same request may succeed elsewhere or later.
    Environment,
    /// mlsec itself is wrong; please report it.
    Internal,
}

impl Fault {
    /// The fault of a failed file-system call on a path the user named: a
    /// missing or malformed path is the input's; anything else (permissions,
    /// I/O errors) the environment's.
    pub fn of_io(e: &std::io::Error) -> Fault {
        use std::io::ErrorKind::*;
        match e.kind() {
            NotFound | InvalidInput | InvalidData | NotADirectory | IsADirectory => Fault::Input,
            _ => Fault::Environment,
        }
    }
}
