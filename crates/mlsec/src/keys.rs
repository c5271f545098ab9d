//! Loading what signs and what is trusted from the shared key flags.

use crate::args::{KeyArgs, TrustArgs};
use mlsec_sign::{Credential, KeyFiles, SignError, Trust, TrustFiles};

pub fn credential(k: &KeyArgs) -> Result<Credential, SignError> {
    mlsec_sign::load_credential(&KeyFiles {
        key: k.key.clone(),
        // Read here rather than through clap's `env`, which would make an
        // optional `--key` group look given whenever the variable is set.
        password: k
            .password
            .clone()
            .or_else(|| std::env::var("MLSEC_KEY_PASSWORD").ok()),
        certificate: k.certificate.clone(),
        certificate_chain: k.certificate_chain.clone(),
    })
}

pub fn trust(t: &TrustArgs) -> Result<Trust, SignError> {
    mlsec_sign::load_trust(&TrustFiles {
        key: t.key.clone(),
        certificate_chain: t.certificate_chain.clone(),
    })
}
