//! `mlsec gateway`: a reverse proxy in front of model servers that
//! authenticates every request, applies rate limits, token budgets and
//! quotas, writes a hash-chained audit record per request, and exports
//! Prometheus metrics.
//!
//! The binary calls [`run`]; tests call [`server::serve`] on their own
//! runtime.

// Library code may not index, slice or unwrap: the gateway reads hostile
// requests, and a bad length must become an answer, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod admin;
pub mod audit;
pub mod authn;
pub mod authz;
pub mod config;
pub mod jwt;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod mock;
pub mod protocol;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod usage;
pub mod webhook;

pub use config::{Config, ConfigError};
pub use server::{Gateway, GatewayError};
use std::path::Path;
use std::sync::Arc;

/// Loads `config_path` and serves until SIGTERM or Ctrl-C, then drains
/// connections and writes the audit records still queued.
pub fn run(config_path: &Path) -> Result<(), GatewayError> {
    let config = Config::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mlsec-gateway")
        .build()
        .map_err(|e| GatewayError::Io(format!("cannot start the runtime: {e}")))?;
    if config.authorization.is_none() {
        tracing::warn!("no [authorization] policies: every valid key may call every route");
    }
    let gateway = Arc::new(Gateway::new(config)?);
    runtime.block_on(server::serve(
        gateway.clone(),
        config_path.to_path_buf(),
        None,
    ))?;
    drop(runtime);
    if let Some(t) = &gateway.telemetry {
        t.shutdown();
    }
    // The last handle: closing the audit log writes what is queued.
    match Arc::try_unwrap(gateway) {
        Ok(mut g) => g.audit.close(),
        Err(g) => {
            tracing::warn!(
                "requests still held the gateway at exit; audit queue depth {}",
                g.audit.depth()
            );
        }
    }
    Ok(())
}
