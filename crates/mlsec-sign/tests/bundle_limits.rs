//! Signature files are refused by size and by shape before they cost memory:
//! a 200 MB bundle used to take 700 MB of memory before it was refused, and
//! open-ended JSON parts of a bundle became generic trees at 30 to 80 bytes a
//! value. Allocation is measured with a counting allocator.

use mlsec_sign::bundle::{self, Bundle, MAX_BUNDLE_BYTES};

#[path = "../../../test-support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::peak_of;

/// A bundle whose statement lists `files` files the way model_signing does.
fn model_bundle(files: usize) -> Vec<u8> {
    let resources: Vec<String> = (0..files)
        .map(|i| {
            format!(
                r#"{{"name":"text_encoder/model-{i:06}-of-{files:06}.safetensors","digest":"{:064x}","algorithm":"sha256"}}"#,
                i
            )
        })
        .collect();
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"model","digest":{{"sha256":"{}"}}}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{{"serialization":{{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":[]}},"resources":[{}]}}}}"#,
        "0".repeat(64),
        resources.join(",")
    );
    Bundle::new(Default::default(), statement.as_bytes(), &[0x30; 72]).to_json()
}

#[test]
fn the_largest_legitimate_bundle_fits_the_limit() {
    // As many files as `mlsec bom` walks, with longer names than most models use.
    let bytes = model_bundle(100_000);
    assert!(
        (bytes.len() as u64) < MAX_BUNDLE_BYTES / 2,
        "a 100,000-file bundle is {} bytes",
        bytes.len()
    );
    let parsed = Bundle::parse(&bytes).unwrap();
    assert!(parsed.signed_payload().is_ok());
}

#[test]
fn an_oversized_signature_file_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.sig");
    // Sparse: no disk space is used for the 200 MB.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(200_000_000)
        .unwrap();
    let (result, peak) = peak_of(|| bundle::read_file(&path));
    let err = result.unwrap_err();
    assert!(err.contains("model.sig"), "{err}");
    assert!(err.contains("200000000 bytes"), "{err}");
    assert!(err.contains("64 MiB limit"), "{err}");
    assert!(peak < 1 << 20, "refusing took {peak} bytes");

    // At the limit the file is read, and only once.
    std::fs::write(&path, model_bundle(10)).unwrap();
    let (bytes, peak) = peak_of(|| bundle::read_file(&path).unwrap());
    assert!(Bundle::parse(&bytes).is_ok());
    assert!(peak < 2 * bytes.len() as u64 + 4096, "{peak}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    // Between the new limit and the old one (256 MiB), which let it through
    // to the JSON parser and the base64 decoder.
    let bytes = vec![b' '; 100_000_000];
    let (result, peak) = peak_of(|| Bundle::parse(&bytes).map(|_| ()));
    let err = result.unwrap_err();
    assert!(
        err.contains("100000000 bytes, over the 64 MiB limit"),
        "{err}"
    );
    assert!(peak < 1 << 20, "refusing took {peak} bytes");
}

#[test]
fn generic_json_parts_are_counted_before_parsing() {
    // Half a million values in `tlogEntries` (1 MB of `0,`): each one a
    // 32-byte `serde_json::Value` and more while the list grew.
    let good = String::from_utf8(model_bundle(1)).unwrap();
    let zeros = vec!["0"; 500_000].join(",");
    let hostile = good.replace(
        r#""tlogEntries":[]"#,
        &format!(r#""tlogEntries":[[{zeros}]]"#),
    );
    assert_ne!(hostile, good);
    let (result, peak) = peak_of(|| Bundle::parse(hostile.as_bytes()).map(|_| ()));
    let err = result.unwrap_err();
    assert!(err.contains("JSON values"), "{err}");
    assert!(peak < 1 << 20, "refusing took {peak} bytes");
}
