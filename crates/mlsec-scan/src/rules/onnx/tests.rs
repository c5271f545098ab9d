use super::*;
use crate::ScanConfig;
use mlsec_core::Verdict;
use mlsec_formats::onnx::{FunctionProto, OperatorSetIdProto, Payload, StringStringEntryProto};
use mlsec_formats::protobuf::Message;

fn run(data: &[u8], dir: Option<&Path>) -> (bool, Report) {
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "model.onnx", dir);
    let mut report = Report::default();
    let hit = probe(&ctx, data, &mut report);
    (hit, report)
}

fn rules(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

fn floats(name: &str, dims: Vec<i64>, raw_len: u64) -> TensorProto {
    TensorProto {
        dims,
        data_type: 1,
        name: name.into(),
        raw_data: Some(Payload {
            len: raw_len,
            to_end: 0,
        }),
        ..Default::default()
    }
}

fn node(op: &str, domain: &str) -> NodeProto {
    NodeProto {
        input: vec!["x".into()],
        name: format!("{op}_0"),
        op_type: op.into(),
        domain: domain.into(),
        ..Default::default()
    }
}

/// A small model as exporters write it: Gemm + Relu with in-file weights.
fn model(nodes: Vec<NodeProto>, initializer: Vec<TensorProto>) -> ModelProto {
    ModelProto {
        ir_version: 8,
        producer_name: "pytorch".into(),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            name: "main_graph".into(),
            node: nodes,
            initializer,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn benign() -> ModelProto {
    model(
        vec![node("Gemm", ""), node("Relu", "")],
        vec![
            floats("fc.weight", vec![4, 3], 48),
            floats("fc.bias", vec![4], 16),
        ],
    )
}

fn external(location: &str, extra: &[(&str, &str)], dims: Vec<i64>) -> TensorProto {
    let mut entries = vec![StringStringEntryProto {
        key: "location".into(),
        value: location.into(),
    }];
    for (k, v) in extra {
        entries.push(StringStringEntryProto {
            key: (*k).into(),
            value: (*v).into(),
        });
    }
    TensorProto {
        dims,
        data_type: 1,
        name: "w".into(),
        external_data: entries,
        data_location: DATA_LOCATION_EXTERNAL,
        ..Default::default()
    }
}

#[test]
fn benign_model_is_clean() {
    let (hit, report) = run(&benign().encode_to_vec(), None);
    assert!(hit);
    assert_eq!(report.format.as_deref(), Some("onnx"));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.verdict(), Verdict::Clean);
}

const GEMM_IF: &[u8] = include_bytes!("../../../tests/data/onnx/gemm_if.onnx");

#[test]
fn real_onnx_files_are_clean() {
    let (hit, report) = run(GEMM_IF, None);
    assert!(hit);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx/external");
    let data = fs::read(dir.join("model.onnx")).unwrap();
    let (hit, report) = run(&data, Some(&dir));
    assert!(hit);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // Without its folder the data files are listed as unchecked.
    let (_, report) = run(&data, None);
    assert_eq!(rules(&report), ["ONX006"]);
}

#[test]
fn text_and_random_bytes_are_not_onnx() {
    for data in [&b"hello world, this is text"[..], b"", b"\x08", b"\x08\x07"] {
        let (hit, report) = run(data, None);
        assert!(!hit && !report.recognised);
    }
}

#[test]
fn absolute_and_dotdot_locations_escape() {
    for loc in [
        "/etc/passwd",
        "../../home/u/.ssh/id_rsa",
        "data/../../x",
        "C:\\Windows\\win.ini",
        "a\0b",
    ] {
        let m = model(vec![node("Gemm", "")], vec![external(loc, &[], vec![4])]);
        let (_, report) = run(&m.encode_to_vec(), None);
        assert_eq!(rules(&report), ["ONX001"], "{loc}");
        assert_eq!(report.verdict(), Verdict::Malicious);
    }
}

#[test]
fn external_data_inside_folder_is_checked_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("model.onnx.data"), vec![0u8; 64]).unwrap();
    let ok = external(
        "model.onnx.data",
        &[("offset", "0"), ("length", "16")],
        vec![4],
    );
    let (_, report) = run(&model(vec![], vec![ok]).encode_to_vec(), Some(dir.path()));
    assert!(report.findings.is_empty(), "{:?}", report.findings);

    let past_end = external(
        "model.onnx.data",
        &[("offset", "4096"), ("length", "16")],
        vec![4],
    );
    let (_, report) = run(
        &model(vec![], vec![past_end]).encode_to_vec(),
        Some(dir.path()),
    );
    assert_eq!(rules(&report), ["ONX002"]);

    let not_a_number = external("model.onnx.data", &[("offset", "-1")], vec![4]);
    let (_, report) = run(
        &model(vec![], vec![not_a_number]).encode_to_vec(),
        Some(dir.path()),
    );
    assert_eq!(rules(&report), ["ONX002"]);

    let wrong_length = external("model.onnx.data", &[("length", "12")], vec![4]);
    let (_, report) = run(
        &model(vec![], vec![wrong_length]).encode_to_vec(),
        Some(dir.path()),
    );
    assert_eq!(rules(&report), ["ONX005"]);
}

#[cfg(unix)]
#[test]
fn symlinked_parent_folder_escapes() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), b"key").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("weights")).unwrap();
    for loc in ["weights/secret", "weights/missing"] {
        let m = model(vec![], vec![external(loc, &[], vec![3])]);
        let (_, report) = run(&m.encode_to_vec(), Some(dir.path()));
        assert_eq!(rules(&report), ["ONX001"], "{loc}");
        assert!(report.findings[0].message.contains("resolves outside"));
    }
    // The same location is fine when the folder really is inside.
    let (_, report) = run(
        &model(vec![], vec![external("weights/secret", &[], vec![3])]).encode_to_vec(),
        Some(outside.path().parent().unwrap()),
    );
    assert!(!rules(&report).contains(&"ONX001"));
}

#[cfg(unix)]
#[test]
fn hard_linked_data_file_is_suspicious() {
    let outside = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("credentials"), vec![0u8; 16]).unwrap();
    if fs::hard_link(outside.path().join("credentials"), dir.path().join("w.bin")).is_err() {
        return; // different file systems: nothing to test here
    }
    let m = model(vec![], vec![external("w.bin", &[], vec![4])]);
    let (_, report) = run(&m.encode_to_vec(), Some(dir.path()));
    assert_eq!(rules(&report), ["ONX008"]);
}

#[test]
fn unverifiable_external_data_is_informational() {
    let m = model(vec![], vec![external("model.onnx.data", &[], vec![4])]);
    let (_, report) = run(&m.encode_to_vec(), None);
    assert_eq!(rules(&report), ["ONX006"]);
    assert_eq!(report.verdict(), Verdict::Clean);
    let dir = tempfile::tempdir().unwrap();
    let (_, report) = run(&m.encode_to_vec(), Some(dir.path()));
    assert_eq!(rules(&report), ["ONX006"]);
}

#[test]
fn custom_domains_are_suspicious_contrib_informational_functions_fine() {
    let m = model(
        vec![
            node("Exec", "com.attacker.ops"),
            node("Exec", "com.attacker.ops"),
        ],
        vec![],
    );
    let (_, report) = run(&m.encode_to_vec(), None);
    assert_eq!(rules(&report), ["ONX003"]);
    assert_eq!(report.findings[0].evidence["nodes"], 2);

    let m = model(vec![node("FusedMatMul", "com.microsoft")], vec![]);
    let (_, report) = run(&m.encode_to_vec(), None);
    assert_eq!(rules(&report), ["ONX004"]);
    assert_eq!(report.verdict(), Verdict::Clean);

    // A dynamo export: nodes call functions defined in the model itself.
    let mut m = model(
        vec![node("aten_linear", "pkg.onnxscript.torch_lib")],
        vec![],
    );
    m.functions.push(FunctionProto {
        name: "aten_linear".into(),
        domain: "pkg.onnxscript.torch_lib".into(),
        node: vec![node("Gemm", "")],
        ..Default::default()
    });
    let (_, report) = run(&m.encode_to_vec(), None);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn tensor_sizes_must_match_their_data() {
    let cases = [
        floats("short", vec![1024, 1024], 16),
        floats("negative", vec![-1, 4], 16),
        floats("overflow", vec![i64::MAX, i64::MAX], 16),
        TensorProto {
            dims: vec![3],
            data_type: 1,
            float_data: 2,
            ..Default::default()
        },
        TensorProto {
            dims: vec![3],
            data_type: 7,
            float_data: 3,
            ..Default::default()
        },
        TensorProto {
            dims: vec![2],
            data_type: 8,
            raw_data: Some(Payload { len: 2, to_end: 0 }),
            ..Default::default()
        },
        TensorProto {
            dims: vec![5],
            data_type: 1,
            ..Default::default()
        },
    ];
    for t in cases {
        let name = format!("{:?}", t.dims);
        let (_, report) = run(&model(vec![], vec![t]).encode_to_vec(), None);
        assert_eq!(rules(&report), ["ONX005"], "{name}");
        assert_eq!(report.verdict(), Verdict::Error);
    }
    // The raw_data finding points at the payload.
    let data = model(vec![], vec![floats("short", vec![8], 4)]).encode_to_vec();
    let (_, report) = run(&data, None);
    let at = report.findings[0].offset.unwrap() as usize;
    assert_eq!(&data[at..at + 4], &[0; 4]);
    // Correct typed and packed sub-byte data is fine.
    let fine = [
        TensorProto {
            dims: vec![3],
            data_type: 1,
            float_data: 3,
            ..Default::default()
        },
        TensorProto {
            dims: vec![2, 2],
            data_type: 14,
            float_data: 8,
            ..Default::default()
        },
        TensorProto {
            dims: vec![5],
            data_type: 22,
            int32_data: 3,
            ..Default::default()
        },
        TensorProto {
            dims: vec![2],
            data_type: 8,
            string_data: 2,
            ..Default::default()
        },
        TensorProto {
            dims: vec![0, 7],
            data_type: 1,
            ..Default::default()
        },
    ];
    let (_, report) = run(&model(vec![], fine.to_vec()).encode_to_vec(), None);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

fn if_node(then: GraphProto) -> NodeProto {
    NodeProto {
        attribute: vec![AttributeProto {
            name: "then_branch".into(),
            g: Some(then),
            ..Default::default()
        }],
        ..node("If", "")
    }
}

#[test]
fn nested_graphs_are_walked() {
    let inner = GraphProto {
        name: "then".into(),
        node: vec![NodeProto {
            attribute: vec![AttributeProto {
                name: "value".into(),
                t: Some(external("/etc/shadow", &[], vec![1])),
                ..Default::default()
            }],
            ..node("Constant", "")
        }],
        ..Default::default()
    };
    let (_, report) = run(&model(vec![if_node(inner)], vec![]).encode_to_vec(), None);
    assert_eq!(rules(&report), ["ONX001"]);
    assert!(report.findings[0].message.contains("then_branch"));
}

#[test]
fn deep_nesting_fails_closed() {
    let mut g = GraphProto::default();
    for _ in 0..150 {
        g = GraphProto {
            node: vec![if_node(g)],
            ..Default::default()
        };
    }
    let mut m = model(vec![], vec![]);
    m.graph = Some(g);
    let (hit, report) = run(&m.encode_to_vec(), None);
    assert!(hit);
    assert_eq!(rules(&report), ["SCN003"]);
}

#[test]
fn truncated_models_are_never_clean() {
    for data in [benign().encode_to_vec(), GEMM_IF.to_vec()] {
        for cut in 0..data.len() {
            let (hit, report) = run(&data[..cut], None);
            if hit {
                let verdict = report.verdict();
                assert_ne!(
                    verdict,
                    Verdict::Clean,
                    "prefix of {cut} bytes judged clean"
                );
            } else {
                assert!(cut < 8, "prefix of {cut} bytes not recognised");
            }
        }
    }
}

#[test]
fn huge_declared_lengths_and_field_bombs_fail_closed() {
    let mut data = b"\x08\x08\x12\x07pytorch\x3a\xff\xff\xff\xff\x0f".to_vec();
    let (hit, report) = run(&data, None);
    assert!(hit);
    assert_eq!(rules(&report), ["ONX007"]);
    // A graph of five million empty nodes would decode to gigabytes.
    data = b"\x08\x08\x12\x07pytorch".to_vec();
    let nodes = b"\x0a\x00".repeat(5 << 20);
    data.push(0x3a);
    let mut len = nodes.len();
    while len >= 0x80 {
        data.push((len as u8) | 0x80);
        len >>= 7;
    }
    data.push(len as u8);
    data.extend_from_slice(&nodes);
    let (_, report) = run(&data, None);
    assert_eq!(rules(&report), ["SCN003"]);
}
