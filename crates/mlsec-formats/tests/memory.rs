//! Hostile but bounded headers must cost memory near their own size: what a
//! parse allocates (the structure it returns and everything transient) is
//! measured with a counting allocator and held to a small multiple of the
//! input. Before the parsers were made compact, an 80 MB safetensors header of
//! 1.2 million tensors took 1.1 GB and a 70 MB GGUF of 3 million keys 540 MB;
//! these tests use smaller inputs of the same shape.

use mlsec_formats::{gguf, safetensors};

#[path = "../../../test-support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::peak_of;

/// Prints a measurement (seen with `--nocapture`).
fn note(what: &str, input: usize, peak: u64) {
    eprintln!(
        "{what}: {input} bytes in, {peak} bytes allocated at most ({:.2}x)",
        peak as f64 / input as f64
    );
}

/// A safetensors file: `entries` joined into the header, then `data` zero bytes.
fn safetensors_file(entries: impl Iterator<Item = String>, data: usize) -> Vec<u8> {
    let mut h = String::from("{");
    for (i, e) in entries.enumerate() {
        if i > 0 {
            h.push(',');
        }
        h.push_str(&e);
    }
    h.push('}');
    while h.len() % 8 != 0 {
        h.push(' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h.as_bytes());
    out.resize(out.len() + data, 0);
    out
}

#[test]
fn a_safetensors_header_of_many_tensors_costs_a_small_multiple_of_its_size() {
    // The outside testers' file, scaled down: one-byte tensors with short
    // names, about 60 header bytes each.
    let n = 100_000;
    let f = safetensors_file(
        (0..n).map(|i| {
            format!(
                r#""{i:x}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{}]}}"#,
                i + 1
            )
        }),
        n,
    );
    let header_len = f.len() - n - 8;
    let (h, peak) = peak_of(|| safetensors::parse(&f, safetensors::REFERENCE_MAX_HEADER));
    note("safetensors, many tensors", header_len, peak);
    let h = h.unwrap();
    assert_eq!(h.tensors.len(), n);
    assert_eq!(h.problems, []);
    // The generic JSON tree took about 15 times the header.
    assert!(
        peak < 4 * header_len as u64,
        "parsing a {header_len}-byte header of {n} tensors allocated {peak} bytes"
    );
}

#[test]
fn a_safetensors_header_of_many_broken_entries_stays_small() {
    // `"e1":1` is 7 bytes of header and was a problem of over 100 bytes.
    let n = 200_000;
    let f = safetensors_file((0..n).map(|i| format!(r#""e{i}":1"#)), 0);
    let header_len = f.len() - 8;
    let (h, peak) = peak_of(|| safetensors::parse(&f, safetensors::REFERENCE_MAX_HEADER));
    note("safetensors, many broken entries", header_len, peak);
    let h = h.unwrap();
    assert!(h.tensors.is_empty());
    assert!(!h.problems.is_empty());
    // Each kind is kept up to a bound and counted past it.
    assert!(
        h.problems.len() <= 1_000,
        "{} problems kept",
        h.problems.len()
    );
    assert!(
        peak < 4 * header_len as u64,
        "parsing a {header_len}-byte header of {n} broken entries allocated {peak} bytes"
    );
}

#[test]
fn a_safetensors_header_of_many_empty_objects_stays_small() {
    // `"a1":{}` looks like a tensor entry to the first pass, which sizes the
    // tensor list: the worst case of that estimate.
    let n = 200_000;
    let f = safetensors_file((0..n).map(|i| format!(r#""a{i}":{{}}"#)), 0);
    let header_len = f.len() - 8;
    let (h, peak) = peak_of(|| safetensors::parse(&f, safetensors::REFERENCE_MAX_HEADER));
    note("safetensors, many empty objects", header_len, peak);
    let h = h.unwrap();
    assert!(h.tensors.is_empty());
    assert!(
        peak < 5 * header_len as u64,
        "parsing a {header_len}-byte header of {n} empty objects allocated {peak} bytes"
    );
}

#[test]
fn safetensors_duplicates_among_many_tensors_are_still_found() {
    // The compact parse must not trade away the duplicate check.
    let n = 50_000;
    let f = safetensors_file(
        (0..n)
            .map(|i| {
                format!(
                    r#""t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{}]}}"#,
                    i + 1
                )
            })
            .chain([r#""t777":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"#.to_string()]),
        n,
    );
    let h = safetensors::parse(&f, safetensors::REFERENCE_MAX_HEADER).unwrap();
    assert_eq!(
        h.problems,
        [safetensors::Problem::DuplicateKey {
            path: String::new(),
            key: "t777".into(),
            count: 2
        }]
    );
}

/// A little-endian GGUF v3 file of `kvs` keys holding a uint32 and `tensors`
/// one-dimensional F32 tensor infos (about 23 and 40 bytes each).
fn gguf_file(kvs: u32, tensors: u32) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend(u64::from(tensors).to_le_bytes());
    out.extend(u64::from(kvs).to_le_bytes());
    for i in 0..kvs {
        let key = format!("k{i:06}");
        out.extend((key.len() as u64).to_le_bytes());
        out.extend(key.as_bytes());
        out.extend(4u32.to_le_bytes());
        out.extend(i.to_le_bytes());
    }
    for i in 0..tensors {
        let name = format!("t{i:06}");
        out.extend((name.len() as u64).to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend(8u64.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend((u64::from(i) * 32).to_le_bytes());
    }
    out.resize(out.len().div_ceil(32) * 32 + tensors as usize * 32, 0);
    out
}

#[test]
fn a_gguf_of_many_metadata_entries_costs_less_than_its_size() {
    let n = 500_000;
    let f = gguf_file(n, 0);
    let (g, peak) = peak_of(|| gguf::parse(&f));
    note("gguf, many keys", f.len(), peak);
    assert_eq!(g.error, None);
    assert_eq!(g.kvs.len(), n as usize);
    // Decoded entries took 64 bytes each (about 3 times this file, more while
    // the list grew); an offset takes 8.
    assert!(
        peak < f.len() as u64 / 2,
        "parsing a {}-byte GGUF of {n} keys allocated {peak} bytes",
        f.len()
    );
}

#[test]
fn a_gguf_of_many_tensor_infos_costs_less_than_its_size() {
    let n = 200_000;
    let f = gguf_file(0, n);
    let (g, peak) = peak_of(|| gguf::parse(&f));
    note("gguf, many tensor infos", f.len(), peak);
    assert_eq!(g.error, None);
    assert_eq!(g.tensors.len(), n as usize);
    assert!(
        peak < f.len() as u64 / 2,
        "parsing a {}-byte GGUF of {n} tensor infos allocated {peak} bytes",
        f.len()
    );
}
