//! An ONNX model's signature for the model card: graph inputs and outputs with
//! element type and shape, the operator sets it needs, and its exporter.
//!
//! The file is first proven well-formed and bounded by
//! `mlsec_formats::onnx::check`, then decoded with the same messages the
//! scanner uses (`mlsec_formats::onnx::decode`).

use mlsec_formats::onnx::{check, data_type, decode, ValueInfoProto};
use mlsec_formats::protobuf::wire::TreeLimits;

/// Inputs or outputs past this many are counted, not listed.
const MAX_LISTED: usize = 64;

/// Model card properties for an ONNX file: `mlsec:onnx:input` and `:output`
/// (`name: type[dims]`), `:opset` (`domain version`), `:producer`,
/// `:ir-version`. Empty when the file is not a well-formed ONNX model; the
/// scan verdict says why.
pub fn card_properties(data: &[u8], limits: TreeLimits) -> Vec<(String, String)> {
    if check(data, limits).is_err() {
        return Vec::new();
    }
    let Ok(model) = decode(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |key: &str, value: String| out.push((format!("mlsec:onnx:{key}"), value));
    if let Some(graph) = &model.graph {
        let weights: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|i| i.name.as_str()).collect();
        let inputs: Vec<&ValueInfoProto> = graph
            .input
            .iter()
            .filter(|i| !weights.contains(i.name.as_str()))
            .collect();
        for (key, values) in [("input", inputs), ("output", graph.output.iter().collect())] {
            for v in values.iter().take(MAX_LISTED) {
                push(key, signature(v));
            }
            if values.len() > MAX_LISTED {
                push(key, format!("... {} more", values.len() - MAX_LISTED));
            }
        }
    }
    for opset in model.opset_import.iter().take(MAX_LISTED) {
        let domain = if opset.domain.is_empty() {
            "ai.onnx"
        } else {
            opset.domain.as_str()
        };
        push("opset", format!("{domain} {}", opset.version));
    }
    let producer = format!("{} {}", model.producer_name, model.producer_version);
    if !producer.trim().is_empty() {
        push("producer", producer.trim().to_string());
    }
    if model.ir_version != 0 {
        push("ir-version", model.ir_version.to_string());
    }
    out
}

/// `input_ids: int64[batch, 128]`; just the name when the type is not a tensor.
fn signature(v: &ValueInfoProto) -> String {
    let Some(t) = v.r#type.as_ref().and_then(|k| k.tensor_type.as_ref()) else {
        return v.name.clone();
    };
    let dims: Vec<String> = t
        .shape
        .iter()
        .flat_map(|s| &s.dim)
        .take(MAX_LISTED)
        .map(|d| match (&d.dim_value, &d.dim_param) {
            (Some(n), _) => n.to_string(),
            (None, Some(p)) if !p.is_empty() => p.clone(),
            _ => "?".to_string(),
        })
        .collect();
    format!(
        "{}: {}[{}]",
        v.name,
        elem_type(t.elem_type),
        dims.join(", ")
    )
}

/// The short name of an onnx.proto `TensorProto.DataType` (`float32`).
fn elem_type(code: i32) -> String {
    data_type(code).map_or_else(|| format!("type{code}"), |t| t.short.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use mlsec_formats::onnx::{
        Dimension, GraphProto, ModelProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
        TensorTypeProto, TypeProto,
    };
    use mlsec_formats::protobuf::Message;

    fn value(name: &str, elem_type: i32, dims: &[Dimension]) -> ValueInfoProto {
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type,
                    shape: Some(TensorShapeProto { dim: dims.to_vec() }),
                }),
            }),
        }
    }

    /// A BERT-like export: two inputs (one of them also a weight, as old
    /// exporters wrote), one output, opset 17.
    pub fn model_bytes() -> Vec<u8> {
        let batch = Dimension {
            dim_value: None,
            dim_param: Some("batch".into()),
        };
        let len = Dimension {
            dim_value: Some(128),
            dim_param: None,
        };
        ModelProto {
            ir_version: 8,
            producer_name: "pytorch".into(),
            producer_version: "2.3.1".into(),
            graph: Some(GraphProto {
                initializer: vec![TensorProto {
                    name: "w".into(),
                    data_type: 1,
                    dims: vec![128],
                    float_data: 128,
                    ..Default::default()
                }],
                input: vec![
                    value("input_ids", 7, &[batch.clone(), len.clone()]),
                    value("w", 1, std::slice::from_ref(&len)),
                ],
                output: vec![value("logits", 1, &[batch, len])],
                ..Default::default()
            }),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn signature_opset_and_producer_are_read() {
        let data = model_bytes();
        assert_eq!(
            mlsec_formats::onnx::sniff(&data),
            mlsec_formats::onnx::Sniff::Model,
            "the fixture is recognised as ONNX"
        );
        let props = card_properties(&data, TreeLimits::default());
        let props: Vec<(&str, &str)> = props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            props,
            [
                ("mlsec:onnx:input", "input_ids: int64[batch, 128]"),
                ("mlsec:onnx:output", "logits: float32[batch, 128]"),
                ("mlsec:onnx:opset", "ai.onnx 17"),
                ("mlsec:onnx:producer", "pytorch 2.3.1"),
                ("mlsec:onnx:ir-version", "8"),
            ]
        );
    }

    #[test]
    fn the_configured_protobuf_limits_apply() {
        // The same model, read under a field budget it exceeds, says nothing.
        let data = model_bytes();
        let tight = TreeLimits {
            max_fields: 3,
            ..TreeLimits::default()
        };
        assert_eq!(card_properties(&data, tight), []);
        assert!(!card_properties(&data, TreeLimits::default()).is_empty());
    }

    #[test]
    fn truncated_or_garbage_input_gives_nothing() {
        let data = model_bytes();
        for cut in [1, data.len() / 2, data.len() - 1] {
            assert_eq!(
                card_properties(&data[..cut], TreeLimits::default()),
                [],
                "cut at {cut}"
            );
        }
        // A field declaring a length far past the end of the input.
        assert_eq!(
            card_properties(b"\x08\x08\x3a\xff\xff\xff\xff\x0f", TreeLimits::default()),
            []
        );
        // Graphs nested 200 deep: the fields read here never recurse, so the
        // nesting is skipped over, and without an ir_version nothing is said.
        let mut deep = Vec::new();
        for _ in 0..200 {
            let mut outer = vec![0x3a];
            let mut len = deep.len();
            while len >= 0x80 {
                outer.push((len as u8) | 0x80);
                len >>= 7;
            }
            outer.push(len as u8);
            outer.extend(deep);
            deep = outer;
        }
        assert_eq!(card_properties(&deep, TreeLimits::default()), []);
    }
}
