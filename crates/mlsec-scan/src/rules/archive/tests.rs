use super::testkit::{deflate, rules, scan, scan_with, tar_of, ZipBuilder};
use crate::{Ctx, Report, ScanConfig};
use mlsec_core::Verdict;
use std::io::Write;

/// A zip holding one traversal member: where ARC001 shows up tells which
/// bytes were read and scanned by content, and under which member path.
fn tracer() -> Vec<u8> {
    ZipBuilder::new().stored("../escape", b"x").build()
}

fn has(report: &crate::Report, rule: &str) -> bool {
    report.findings.iter().any(|f| f.rule == rule)
}

fn symlink(target: &str) -> impl FnOnce(&mut super::testkit::EntrySpec) + '_ {
    move |e| {
        e.data = target.as_bytes().to_vec();
        e.external_attrs = 0o120777 << 16;
    }
}

// ------------------------------------------------------------ zip basics

#[test]
fn clean_zip_is_clean_and_members_are_scanned() {
    let r = scan(
        &ZipBuilder::new()
            .stored("notes.txt", b"hello")
            .deflated("b/c.txt", b"world")
            .build(),
    );
    assert_eq!(r.format.as_deref(), Some("zip"));
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(), Verdict::Clean);

    let r = scan(&ZipBuilder::new().deflated("inner.zip", &tracer()).build());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "ARC001")
        .expect("nested member scanned");
    assert_eq!(f.member.as_deref(), Some("inner.zip!../escape"));
}

#[test]
fn zip64_archives_are_read() {
    let r = scan(
        &ZipBuilder::new()
            .zip64()
            .stored("inner.zip", &tracer())
            .build(),
    );
    assert_eq!(rules(&r), ["ARC001"], "{:#?}", r.findings);
}

#[test]
fn path_traversal() {
    for name in ["../evil.py", "a/../../evil.py", "a\\..\\..\\evil.py", ".."] {
        let r = scan(&ZipBuilder::new().stored(name, b"x").build());
        assert!(has(&r, "ARC001"), "{name}: {:#?}", r.findings);
        assert_eq!(r.verdict(), Verdict::Malicious);
    }
    for name in ["a/..b/c", "a/b..c", "...", "dir/./x"] {
        let r = scan(&ZipBuilder::new().stored(name, b"x").build());
        assert!(!has(&r, "ARC001"), "{name}");
    }
}

#[test]
fn unsafe_names() {
    for name in [
        "/etc/cron.d/x",
        "\\\\server\\share\\x",
        "C:\\Users\\x",
        "c:x",
        "a\0.txt",
    ] {
        let r = scan(&ZipBuilder::new().stored(name, b"x").build());
        assert!(has(&r, "ARC002"), "{name:?}: {:#?}", r.findings);
    }
    for name in ["etc/cron.d/x", "ab:c", "dir\\file.txt"] {
        let r = scan(&ZipBuilder::new().stored(name, b"x").build());
        assert!(!has(&r, "ARC002"), "{name:?}");
    }
}

#[test]
fn symlink_members() {
    let r = scan(
        &ZipBuilder::new()
            .entry("a/lnk", b"", symlink("../b/weights.bin"))
            .build(),
    );
    assert_eq!(rules(&r), ["ARC003"], "{:#?}", r.findings);
    for target in ["/etc/passwd", "../../.ssh/id_rsa", "C:\\Windows"] {
        let r = scan(
            &ZipBuilder::new()
                .entry("a/lnk", b"", symlink(target))
                .build(),
        );
        assert_eq!(rules(&r), ["ARC004"], "{target}: {:#?}", r.findings);
        assert_eq!(r.findings[0].evidence["target"], target);
    }
    // A regular file whose content looks like a path is not a link.
    let r = scan(&ZipBuilder::new().stored("a/lnk", b"/etc/passwd").build());
    assert!(r.findings.is_empty());
}

#[test]
fn duplicate_names() {
    let r = scan(
        &ZipBuilder::new()
            .stored("m/data.pkl", b"\x80\x02N.")
            .stored("m/data.pkl", b"\x80\x02}.")
            .build(),
    );
    assert_eq!(rules(&r), ["ARC006"], "{:#?}", r.findings);
    let r = scan(
        &ZipBuilder::new()
            .stored("m/data.pkl", b"\x80\x02N.")
            .stored("m/DATA.pkl", b"\x80\x02}.")
            .build(),
    );
    assert_eq!(rules(&r), ["ARC006"], "{:#?}", r.findings);
    let r = scan(
        &ZipBuilder::new()
            .stored("m/data.pkl", b"\x80\x02N.")
            .stored("m/data.pk", b"b")
            .build(),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn local_header_mismatch_cve_2025_1944() {
    let z = ZipBuilder::new()
        .entry("archive/notes.txt", b"x", |e| {
            e.local_name = Some("archive/notes.txX".into())
        })
        .build();
    let r = scan(&z);
    assert_eq!(rules(&r), ["ARC007"], "{:#?}", r.findings);
    assert_eq!(r.findings[0].evidence["local_name"], "archive/notes.txX");
    let z = ZipBuilder::new()
        .entry("n.txt", b"x", |e| e.local_method = Some(8))
        .build();
    assert_eq!(rules(&scan(&z)), ["ARC007"]);
    // Data starts after the LOCAL name: a longer local name must not shift what is read.
    let z = ZipBuilder::new()
        .entry("in.zip", &tracer(), |e| {
            e.local_name = Some("a-much-longer-local-name.zip".into())
        })
        .build();
    assert_eq!(rules(&scan(&z)), ["ARC001", "ARC007"]);
}

#[test]
fn bad_crc_is_reported_and_the_member_still_judged_cve_2025_10156() {
    let z = ZipBuilder::new()
        .entry("in.zip", &tracer(), |e| e.crc = Some(0xdead_beef))
        .build();
    let r = scan(&z);
    assert_eq!(rules(&r), ["ARC001", "ARC008"], "{:#?}", r.findings);
    let z = ZipBuilder::new()
        .entry("in.zip", &tracer(), |e| {
            e.deflate = true;
            e.central_uncompressed = Some(7);
        })
        .build();
    assert_eq!(rules(&scan(&z)), ["ARC001", "ARC008"]);
}

#[test]
fn flag_bits_cve_2025_1945() {
    for flags in [0x0001, 0x0040, 0x2000, 0x8000] {
        let z = ZipBuilder::new()
            .entry("in.zip", &tracer(), |e| e.flags = flags)
            .build();
        let r = scan(&z);
        // Reported, and the "encrypted" member is read anyway.
        assert_eq!(
            rules(&r),
            ["ARC001", "ARC009"],
            "{flags:#x}: {:#?}",
            r.findings
        );
    }
    let z = ZipBuilder::new()
        .entry("x", b"x", |e| e.local_flags = Some(1))
        .build();
    assert_eq!(rules(&scan(&z)), ["ARC009"]);
    // UTF-8 names, data descriptors and deflate options are ordinary.
    let z = ZipBuilder::new()
        .entry("x", b"x", |e| e.flags = 0x080e)
        .build();
    assert!(scan(&z).findings.is_empty());
}

#[test]
fn hidden_data_before_the_first_member() {
    // The file starts with a local header no central record points at.
    let hidden = ZipBuilder::new()
        .stored("hidden.pkl", b"\x80\x02N.")
        .build();
    let local_only = &hidden[..hidden.windows(4).position(|w| w == b"PK\x01\x02").unwrap()];
    let z = ZipBuilder::new()
        .prefix(local_only)
        .stored("m.txt", b"x")
        .build();
    let r = scan(&z);
    assert_eq!(rules(&r), ["ARC010"], "{:#?}", r.findings);
    assert_eq!(r.findings[0].evidence["bytes"], local_only.len());
}

#[test]
fn prepended_data_with_shifted_offsets() {
    let mut z = b"GARBAGE!".to_vec();
    z.extend(ZipBuilder::new().stored("in.zip", &tracer()).build());
    let config = ScanConfig::default();
    let ctx = crate::Ctx::new(&config, "t", None);
    let mut r = crate::Report::default();
    super::scan_zip(&ctx, &z, &mut r);
    assert_eq!(rules(&r), ["ARC001", "ARC010"], "{:#?}", r.findings);
}

#[test]
fn overlapping_members() {
    let mut z = ZipBuilder::new()
        .stored("a.txt", b"aaaa")
        .stored("b.txt", b"bbbb")
        .build();
    // Point the second central record at the first local header.
    let second = z
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .nth(1)
        .unwrap()
        .0;
    z[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
    let r = scan(&z);
    assert!(has(&r, "ARC010"), "{:#?}", r.findings);
    assert!(r.findings.iter().any(|f| f.message.contains("overlap")));
    let clean = ZipBuilder::new()
        .stored("a.txt", b"aaaa")
        .stored("b.txt", b"bbbb")
        .build();
    assert!(scan(&clean).findings.is_empty());
}

#[test]
fn unsupported_method_fails_closed() {
    let z = ZipBuilder::new()
        .entry("w.bin", b"x", |e| e.method = Some(93))
        .build();
    let r = scan(&z);
    assert_eq!(rules(&r), ["ARC011"]);
    assert_eq!(r.verdict(), Verdict::Error);
}

#[test]
fn bzip2_and_lzma_members_are_read() {
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&tracer()).unwrap();
    let bz = bz.finish().unwrap();
    let tr = tracer();
    let z = ZipBuilder::new()
        .entry("in.zip", &tr, |e| {
            e.method = Some(12);
            e.data = tr.clone();
        })
        .build();
    // The builder stores raw data; swap in the real bzip2 stream.
    let z = replace_member_data(&z, &tr, &bz);
    assert_eq!(rules(&scan(&z)), ["ARC001"], "bzip2");

    let mut lz = Vec::new();
    let opts = lzma_rust2::LzmaOptions::with_preset(6);
    let mut w = lzma_rust2::LzmaWriter::new_no_header(&mut lz, &opts, true).unwrap();
    w.write_all(&tr).unwrap();
    w.finish().unwrap();
    let mut framed = vec![9, 20, 5, 0, opts.get_props()];
    framed.extend_from_slice(&opts.dict_size.to_le_bytes());
    framed.extend(lz);
    let z = ZipBuilder::new()
        .entry("in.zip", &tr, |e| {
            e.method = Some(14);
            e.flags = 2;
        })
        .build();
    let z = replace_member_data(&z, &tr, &framed);
    assert_eq!(rules(&scan(&z)), ["ARC001"], "lzma");
}

/// Replaces a stored member's bytes `old` with `new`, fixing the sizes.
fn replace_member_data(zip: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let at = zip.windows(old.len()).position(|w| w == old).unwrap();
    let mut out = zip[..at].to_vec();
    out[18..22].copy_from_slice(&(new.len() as u32).to_le_bytes());
    out.extend_from_slice(new);
    let mut rest = zip[at + old.len()..].to_vec();
    let delta = new.len() as i64 - old.len() as i64;
    rest[20..24].copy_from_slice(&(new.len() as u32).to_le_bytes());
    let n = rest.len();
    let cd_off = u32::from_le_bytes(rest[n - 6..n - 2].try_into().unwrap());
    rest[n - 6..n - 2].copy_from_slice(&((cd_off as i64 + delta) as u32).to_le_bytes());
    out.extend(rest);
    out
}

#[test]
fn zip_bomb_by_ratio() {
    let r = scan(
        &ZipBuilder::new()
            .deflated("zeros.bin", &vec![0u8; 64 << 20])
            .build(),
    );
    assert_eq!(rules(&r), ["ARC012"], "{:#?}", r.findings);
    assert_eq!(r.verdict(), Verdict::Error);
    // Highly compressible but small: not a bomb.
    let r = scan(
        &ZipBuilder::new()
            .deflated("zeros.bin", &vec![0u8; 512 << 10])
            .build(),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn zip_bomb_by_absolute_size() {
    let mut config = ScanConfig::default();
    config.limits.max_decompressed_bytes = 4096;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 256) as u8).collect();
    let r = scan_with(&config, &ZipBuilder::new().deflated("w.bin", &data).build());
    assert_eq!(rules(&r), ["ARC012"], "{:#?}", r.findings);
    // Stored members are not decompressed, so the cap does not apply.
    let r = scan_with(&config, &ZipBuilder::new().stored("w.bin", &data).build());
    assert!(r.findings.is_empty());
}

#[test]
fn huge_declared_sizes() {
    // A central entry declaring 4 GiB uncompressed for a tiny deflate stream.
    let z = ZipBuilder::new()
        .entry("big.bin", b"tiny", |e| {
            e.deflate = true;
            e.central_uncompressed = Some(u32::MAX - 1);
        })
        .build();
    assert_eq!(rules(&scan(&z)), ["ARC008"]);
    // ... and 4 GiB compressed, beyond the end of the file.
    let z = ZipBuilder::new()
        .entry("big.bin", b"tiny", |e| {
            e.central_compressed = Some(u32::MAX - 1)
        })
        .build();
    let r = scan(&z);
    assert!(has(&r, "ARC013"), "{:#?}", r.findings);
    // ZIP64 sizes far beyond 4 GiB.
    let z = ZipBuilder::new()
        .zip64()
        .entry("big.bin", b"tiny", |e| {
            e.central_compressed = Some(u32::MAX)
        })
        .build();
    assert!(has(&scan(&z), "ARC013"));
}

#[test]
fn truncated_zips_are_never_clean() {
    let z = ZipBuilder::new()
        .stored("a.txt", b"hello")
        .deflated("in.zip", &tracer())
        .build();
    for cut in 0..z.len() {
        let r = scan(&z[..cut]);
        assert_ne!(
            r.verdict(),
            Verdict::Clean,
            "cut at {cut}: {:#?}",
            r.findings
        );
    }
    let r = scan(b"PK\x03\x04 this is not a zip at all");
    assert_eq!(rules(&r), ["ARC013"]);
}

#[test]
fn corrupt_deflate_is_malformed() {
    let mut z = ZipBuilder::new().deflated("a.txt", &[7u8; 5000]).build();
    let data_at = 30 + "a.txt".len();
    z[data_at] = 0xff; // invalid block type
    let r = scan(&z);
    assert!(has(&r, "ARC013"), "{:#?}", r.findings);
}

#[test]
fn deep_nesting_hits_the_limit() {
    let mut z = b"innermost".to_vec();
    for level in 0..20 {
        z = ZipBuilder::new()
            .stored(&format!("level{level}.zip"), &z)
            .build();
    }
    let r = scan(&z);
    assert_eq!(rules(&r), ["SCN003"], "{:#?}", r.findings);
}

#[test]
fn member_limit() {
    let mut config = ScanConfig::default();
    config.limits.max_members = 2;
    let z = ZipBuilder::new()
        .stored("a", b"")
        .stored("b", b"")
        .stored("c", b"")
        .build();
    assert_eq!(rules(&scan_with(&config, &z)), ["SCN003"]);
}

#[test]
fn keras_and_npz_are_recognised() {
    let keras = ZipBuilder::new()
        .stored("metadata.json", br#"{"keras_version": "3.3.3"}"#)
        .stored(
            "config.json",
            br#"{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": []}, "registered_name": null}"#,
        )
        .stored("assets/extra.zip", &tracer())
        .build();
    let r = scan(&keras);
    assert_eq!(r.format.as_deref(), Some("keras"));
    assert_eq!(
        rules(&r),
        ["ARC001"],
        "other members are scanned by content"
    );

    let npz = ZipBuilder::new()
        .stored("a.npy", b"\x93NUMPY")
        .stored("b.npy", b"\x93NUMPY")
        .build();
    assert_eq!(scan(&npz).format.as_deref(), Some("numpy-npz"));
    let not_npz = ZipBuilder::new()
        .stored("a.npy", b"\x93NUMPY")
        .stored("b.txt", b"")
        .build();
    assert_eq!(scan(&not_npz).format.as_deref(), Some("zip"));
}

// ------------------------------------------------------------ tar

#[test]
fn tar_members_are_scanned() {
    let t = tar_of(&[("dir/", b'5', b"", ""), ("dir/in.zip", b'0', &tracer(), "")]);
    let r = scan(&t);
    assert_eq!(r.format.as_deref(), Some("tar"));
    assert_eq!(rules(&r), ["ARC001"]);
    assert_eq!(
        r.findings[0].member.as_deref(),
        Some("dir/in.zip!../escape")
    );
    let clean = tar_of(&[("a.txt", b'0', b"hello", "")]);
    assert!(scan(&clean).findings.is_empty());
}

#[test]
fn tar_names_links_and_devices() {
    type Member<'a> = (&'a str, u8, &'a [u8], &'a str);
    let cases: &[(&[Member], &[&str])] = &[
        (&[("../x", b'0', b"", "")], &["ARC001"]),
        (&[("/etc/x", b'0', b"", "")], &["ARC002"]),
        (&[("a/l", b'2', b"", "b/c")], &["ARC003"]),
        (&[("a/l", b'2', b"", "../../etc")], &["ARC004"]),
        (&[("a/l", b'2', b"", "/etc/passwd")], &["ARC004"]),
        (
            &[("a/f", b'0', b"", ""), ("a/h", b'1', b"", "a/f")],
            &["ARC003"],
        ),
        (&[("a/h", b'1', b"", "../etc/shadow")], &["ARC004"]),
        (&[("dev", b'3', b"", "")], &["ARC005"]),
        (&[("blk", b'4', b"", "")], &["ARC005"]),
        (&[("fifo", b'6', b"", "")], &["ARC005"]),
        (&[("a", b'0', b"1", ""), ("a", b'0', b"2", "")], &["ARC006"]),
        (&[("a", b'0', b"1", ""), ("b", b'0', b"2", "")], &[]),
    ];
    for (members, expected) in cases {
        let r = scan(&tar_of(members));
        assert_eq!(rules(&r), *expected, "{members:?}: {:#?}", r.findings);
    }
}

#[test]
fn truncated_and_huge_tars_fail_closed() {
    let t = tar_of(&[("a.bin", b'0', &[1u8; 3000], ""), ("b", b'0', b"x", "")]);
    for cut in [600, 2000, 3600, 3700] {
        let r = scan(&t[..cut]);
        assert_eq!(rules(&r), ["ARC013"], "cut {cut}: {:#?}", r.findings);
    }
    let mut huge = tar_of(&[("big", b'0', b"", "")]);
    huge[124..135].copy_from_slice(b"77777777777");
    huge[148..156].fill(b' ');
    let sum: u32 = huge[..512].iter().map(|b| u32::from(*b)).sum();
    huge[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    assert_eq!(rules(&scan(&huge)), ["ARC013"]);
}

#[test]
fn legacy_torch_tar_is_recognised() {
    let t = tar_of(&[
        ("sys_info", b'0', b"\x80\x02}q\x00.", ""),
        ("pickle", b'0', b"\x80\x02}q\x00.", ""),
        ("storages", b'0', b"\x80\x02K\x00.", ""),
        ("tensors", b'0', b"\x80\x02K\x00.", ""),
    ]);
    let r = scan(&t);
    assert_eq!(r.format.as_deref(), Some("pytorch-tar"));
    assert!(r.findings.is_empty());
}

// ------------------------------------------------------------ 7z

fn seven_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = sevenz_rust2::ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    for (name, data) in members {
        w.push_archive_entry(sevenz_rust2::ArchiveEntry::new_file(name), Some(*data))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn seven_zip_members_are_scanned() {
    let r = scan(&seven_zip(&[("a.txt", b"hello"), ("in.zip", &tracer())]));
    assert_eq!(r.format.as_deref(), Some("7z"));
    assert_eq!(rules(&r), ["ARC001"], "{:#?}", r.findings);
    assert!(scan(&seven_zip(&[("a.txt", b"hello")])).findings.is_empty());
    let r = scan(&seven_zip(&[("../../x", b"hello")]));
    assert_eq!(rules(&r), ["ARC001"]);
    let r = scan(&seven_zip(&[("a", b"1"), ("a", b"2")]));
    assert_eq!(rules(&r), ["ARC006"]);
}

#[test]
fn seven_zip_bomb_and_truncation() {
    let bomb = seven_zip(&[("zeros", &vec![0u8; 8 << 20])]);
    let r = scan(&bomb);
    assert_eq!(rules(&r), ["ARC012"], "{:#?}", r.findings);
    let good = seven_zip(&[("a.txt", &[5u8; 3000]), ("in.zip", &tracer())]);
    for cut in [10, 32, good.len() / 2, good.len() - 1] {
        let r = scan(&good[..cut]);
        assert!(has(&r, "ARC013"), "cut {cut}: {:#?}", r.findings);
    }
}

// ------------------------------------------------------------ wrappers

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn wrappers(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    bz.write_all(data).unwrap();
    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(0)).unwrap();
    xz.write_all(data).unwrap();
    let mut lzma = Vec::new();
    let mut w = lzma_rust2::LzmaWriter::new_use_header(
        &mut lzma,
        &lzma_rust2::LzmaOptions::with_preset(0),
        None,
    )
    .unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap();
    let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
    lz4.write_all(data).unwrap();
    let mut zf = format!("ZF{:<19}", format!("{:#x}", data.len())).into_bytes();
    zf.extend(zlib(data));
    vec![
        ("gzip", gzip(data)),
        ("bzip2", bz.finish().unwrap()),
        ("xz", xz.finish().unwrap()),
        ("lzma", lzma),
        ("zlib", zlib(data)),
        ("lz4", lz4.finish().unwrap()),
        ("joblib-zfile", zf),
    ]
}

#[test]
fn wrappers_are_decompressed_and_judged() {
    for (format, wrapped) in wrappers(&tracer()) {
        let r = scan(&wrapped);
        assert_eq!(r.format.as_deref(), Some(format));
        assert_eq!(rules(&r), ["ARC001"], "{format}: {:#?}", r.findings);
        // The stream has no name of its own: the member path stays flat.
        assert_eq!(
            r.findings[0].member.as_deref(),
            Some("../escape"),
            "{format}"
        );
    }
    // A tar.gz: wrapper, then archive.
    let tgz = gzip(&tar_of(&[("in.zip", b'0', &tracer(), "")]));
    assert_eq!(rules(&scan(&tgz)), ["ARC001"]);
}

#[test]
fn wrapper_bombs() {
    for (format, wrapped) in wrappers(&vec![0u8; 8 << 20]) {
        let r = scan(&wrapped);
        assert_eq!(rules(&r), ["ARC012"], "{format}: {:#?}", r.findings);
    }
    let mut config = ScanConfig::default();
    config.limits.max_decompressed_bytes = 1000;
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
    let r = scan_with(&config, &gzip(&data));
    assert_eq!(rules(&r), ["ARC012"]);
}

#[test]
fn truncated_wrappers_are_malformed() {
    let data: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (format, wrapped) in wrappers(&data) {
        let r = scan(&wrapped[..wrapped.len() / 2]);
        assert!(has(&r, "ARC013"), "{format}: {:#?}", r.findings);
    }
}

#[test]
fn zfile_length_mismatch() {
    let mut zf = format!("ZF{:<19}", "0x99").into_bytes();
    zf.extend(zlib(b"short"));
    assert_eq!(rules(&scan(&zf)), ["ARC008"]);
    let mut bad = b"ZF0xnothex".to_vec();
    bad.resize(40, b' ');
    assert_eq!(rules(&scan(&bad)), ["ARC013"]);
}

#[test]
fn joblib_compressed_pickle_is_judged() {
    let evil = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    for (format, wrapped) in wrappers(evil) {
        let r = scan(&wrapped);
        assert!(
            r.findings.iter().any(|f| f.rule.starts_with("PKL")),
            "{format}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn every_rule_has_a_positive_test_here() {
    // Guards against adding a rule without wiring it: all ids are ARC0xx and unique.
    let ids: Vec<_> = super::RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 13);
    assert!(ids.iter().all(|id| id.starts_with("ARC")));
    let _ = deflate(b"");
}

/// A zip of 16 copies of `inner`, deflated, `depth` levels deep.
fn nested(depth: u32, inner: &[u8]) -> Vec<u8> {
    let mut data = inner.to_vec();
    for _ in 0..depth {
        let mut z = ZipBuilder::new();
        for i in 0..16 {
            z = z.deflated(&format!("m{i}"), &data);
        }
        data = z.build();
    }
    data
}

#[test]
fn nested_archives_share_one_budget_per_file() {
    // 16^5 = 1,048,576 os.system pickles from a ~30 KB file: before the file
    // budget, over a million members were opened and as many findings kept.
    let data = nested(5, b"cos\nsystem\n(S'id'\ntR.");
    assert!(data.len() < 64 << 10, "{}", data.len());
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "t", None);
    let mut report = Report::for_file(data.len() as u64, &config.limits);
    crate::scan_bytes(&ctx, &data, &mut report);
    assert_eq!(report.verdict(), Verdict::Malicious);
    let findings = report.into_findings();
    let budget: Vec<_> = findings.iter().filter(|f| f.rule == "SCN003").collect();
    assert_eq!(budget.len(), 1, "{findings:#?}");
    assert!(
        budget[0].message.contains("archive members"),
        "{}",
        budget[0].message
    );
    // Five PKL001 as they are, then one that counts the rest.
    let pkl: Vec<_> = findings.iter().filter(|f| f.rule == "PKL001").collect();
    assert_eq!(pkl.len(), 6);
    let folded = pkl[5].evidence["folded"].as_u64().unwrap();
    // Intermediate zips take members from the same budget too.
    assert!((15_000..16_384).contains(&folded), "{folded}");
    assert_eq!(pkl[5].evidence["locations"].as_array().unwrap().len(), 10);
}

#[test]
fn decompressed_bytes_are_budgeted_across_members() {
    // 80 members of 1 MiB each (under the per-member ratio floor): 80 MiB in
    // all, past the 64 MiB a small file may decompress.
    let mut z = ZipBuilder::new();
    for i in 0..80 {
        z = z.deflated(&format!("w{i}.bin"), &vec![7u8; (1 << 20) - 1]);
    }
    let data = z.build();
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "t", None);
    let mut report = Report::for_file(data.len() as u64, &config.limits);
    crate::scan_bytes(&ctx, &data, &mut report);
    let findings = report.into_findings();
    let budget: Vec<_> = findings.iter().filter(|f| f.rule == "SCN003").collect();
    assert_eq!(budget.len(), 1, "{findings:#?}");
    assert!(budget[0].message.contains("decompressed bytes"));
    assert_eq!(budget[0].member.as_deref(), Some("w64.bin"));
    // A large file may expand proportionally more: the same members pass.
    let mut report = Report::for_file(1 << 30, &config.limits);
    crate::scan_bytes(&ctx, &data, &mut report);
    assert!(report.findings.iter().all(|f| f.rule != "SCN003"));
}
