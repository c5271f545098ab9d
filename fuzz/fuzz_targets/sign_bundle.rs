#![no_main]
//! The signature file readers: the Sigstore bundle, the DSSE envelope, the
//! in-toto statement and the certificates, on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_sign::{bundle::Bundle, cert, statement};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bundle::parse(data) {
        if let Ok((payload, _sig)) = b.signed_payload() {
            let _ = statement::from_payload(&payload);
        }
        if let Ok(certs) = b.certificates() {
            let _ = cert::verify_chain(&certs, &certs);
        }
    }
    // The statement parser sees verified payloads only, but must not crash on any.
    let _ = statement::from_payload(data);
    let _ = cert::parse(data);
});
