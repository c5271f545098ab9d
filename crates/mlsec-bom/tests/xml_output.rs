//! `--format cyclonedx-xml`: for a folder of each model format, the XML BOM
//! parses back (with quick-xml, an independent reader) into exactly the
//! content of the JSON BOM, mapped by CycloneDX's XML-to-JSON rules; the JSON
//! validates against the official schema. (The XML is checked against the
//! official XSD by CycloneDX's reference validator in
//! scripts/check-bom-minilm.sh.)

use mlsec_bom::{build, to_json, to_xml, validate::validate, BomOptions};
use quick_xml::events::Event;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// One parsed element.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

fn parse(xml: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    let element = |e: &quick_xml::events::BytesStart| Node {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect(),
        ..Node::default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(element(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(element(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(t) => stack.last_mut().unwrap().text += &t.decode().unwrap(),
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r.decode().unwrap())
                        .unwrap()
                        .to_string(),
                };
                stack.last_mut().unwrap().text += &text;
            }
            Event::Eof => break,
            Event::Decl(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1, "one root element");
    root.children.pop().unwrap()
}

fn attr<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Elements whose children are the items of a JSON array.
const LISTS: &[&str] = &[
    "components",
    "ancestors",
    "hashes",
    "licenses",
    "properties",
    "tags",
    "externalReferences",
    "authors",
    "datasets",
    "performanceMetrics",
    "ratings",
    "affects",
    "dependencies",
    "vulnerabilities",
];

/// One array item, by the element that holds it.
fn item(n: &Node) -> Value {
    match n.name.as_str() {
        "hash" => json!({"alg": attr(n, "alg").unwrap(), "content": n.text}),
        "property" => json!({"name": attr(n, "name").unwrap(), "value": n.text}),
        "license" => json!({ "license": object(n) }),
        "tag" => json!(n.text),
        "ref" | "target" if n.children.is_empty() => json!({ "ref": n.text }),
        "dependency" => {
            let mut dep = json!({"ref": attr(n, "ref").unwrap()});
            if !n.children.is_empty() {
                dep["dependsOn"] = n
                    .children
                    .iter()
                    .map(|c| {
                        assert!(c.children.is_empty(), "dependencies nest one level");
                        json!(attr(c, "ref").unwrap())
                    })
                    .collect();
            }
            dep
        }
        _ => object(n),
    }
}

/// An element as the JSON object CycloneDX maps it to.
fn object(n: &Node) -> Value {
    if n.children.is_empty() && n.attrs.is_empty() {
        return json!(n.text);
    }
    let mut map = Map::new();
    for (k, v) in &n.attrs {
        if k != "xmlns" {
            map.insert(k.clone(), json!(v));
        }
    }
    for c in &n.children {
        let value = if LISTS.contains(&c.name.as_str()) {
            Value::Array(c.children.iter().map(item).collect())
        } else if c.name == "url" && n.name == "supplier" {
            // `url` repeats directly inside an organisation.
            let urls = map.entry("url").or_insert_with(|| json!([]));
            urls.as_array_mut().unwrap().push(json!(c.text));
            continue;
        } else if c.name == "data" {
            let data = map.entry("data").or_insert_with(|| json!([]));
            data.as_array_mut().unwrap().push(object(c));
            continue;
        } else {
            object(c)
        };
        assert!(
            map.insert(c.name.clone(), value).is_none(),
            "<{}> repeats in <{}>",
            c.name,
            n.name
        );
    }
    Value::Object(map)
}

/// The XML BOM as the JSON document it should equal.
fn xml_as_json(xml: &str) -> Value {
    let root = parse(xml);
    assert_eq!(root.name, "bom");
    assert_eq!(
        attr(&root, "xmlns"),
        Some("http://cyclonedx.org/schema/bom/1.6")
    );
    let mut doc = object(&root);
    doc["version"] = json!(doc["version"].as_str().unwrap().parse::<u64>().unwrap());
    doc["bomFormat"] = json!("CycloneDX");
    doc["specVersion"] = json!("1.6");
    doc
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the BOM of `opts`; checks the JSON validates and the XML says the
/// same; returns the JSON.
fn same_content(opts: BomOptions) -> Value {
    let bom = build(&opts).unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), [], "{doc:#}");
    let xml = to_xml(&bom);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<bom "));
    assert_eq!(xml_as_json(&xml), doc, "{xml}");
    doc
}

fn model(path: PathBuf) -> BomOptions {
    BomOptions {
        model: path,
        ..BomOptions::default()
    }
}

#[test]
fn gguf_folder() {
    let doc = same_content(model(repo().join("examples/models/chat-assistant")));
    let names = doc["metadata"]["component"]["modelCard"]["properties"].to_string();
    assert!(names.contains("mlsec:gguf:general."), "{names}");
}

#[test]
fn onnx_and_safetensors_folder() {
    let doc = same_content(model(repo().join("examples/models/sentiment-mlp")));
    let names = doc["metadata"]["component"]["modelCard"]["properties"].to_string();
    assert!(names.contains("mlsec:onnx:input"), "{names}");
    assert!(names.contains("mlsec:parameter-count"), "{names}");
}

#[test]
fn joblib_folder() {
    same_content(model(repo().join("examples/models/species-classifier")));
}

#[test]
fn malicious_downloads_carry_vulnerabilities() {
    let doc = same_content(model(repo().join("examples/downloads")));
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert!(vulns.iter().any(|v| v["id"] == "PKL001"), "{vulns:#?}");
}

/// A Hugging Face folder with everything mlsec reads: card with model-index
/// results and authors, config hyperparameters, generation settings, a
/// licence file, dependencies, a local dataset, the Hub id and revision, and
/// text that needs escaping.
#[test]
fn hugging_face_folder_with_everything() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(
        p.join("README.md"),
        "---\nlicense: apache-2.0\nauthor: \"Ada <ada@example.org> & co\"\n\
         datasets: [glue]\nbase_model: org/base\ntags: [\"a&b\", \"<x>\"]\n\
         model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n    \
         dataset: {name: GLUE SST-2, type: glue, config: sst2, split: validation}\n    \
         metrics:\n    - {type: accuracy, value: 0.91, confidence_interval: [0.89, 0.93]}\n    \
         - {type: f1, value: \"88.1\"}\n---\n",
    )
    .unwrap();
    fs::write(
        p.join("config.json"),
        r#"{"architectures":["BertForSequenceClassification"],"model_type":"bert","hidden_size":384,"torch_dtype":"float32"}"#,
    )
    .unwrap();
    fs::write(
        p.join("generation_config.json"),
        r#"{"temperature":0.7,"do_sample":true}"#,
    )
    .unwrap();
    fs::write(
        p.join("LICENSE"),
        "Permission is hereby granted, free of charge, to any person obtaining a copy\n",
    )
    .unwrap();
    fs::write(p.join("requirements.txt"), "torch==2.3.1\n").unwrap();
    fs::write(p.join("weights \"v1\" <&>.pkl"), b"\x80\x04K\x01.").unwrap();
    let data = tempfile::tempdir().unwrap();
    fs::write(data.path().join("train.csv"), "a,b\n1,2\n").unwrap();
    let doc = same_content(BomOptions {
        model: p.to_path_buf(),
        hf_id: Some("acme/tiny-bert".into()),
        revision: Some("main".into()),
        datasets: vec![data.path().to_path_buf()],
        ..BomOptions::default()
    });
    let model = &doc["metadata"]["component"];
    assert_eq!(model["authors"][0]["name"], "Ada <ada@example.org> & co");
    assert_eq!(model["supplier"]["name"], "acme");
    assert_eq!(model["licenses"].as_array().unwrap().len(), 2);
    let metrics = &model["modelCard"]["quantitativeAnalysis"]["performanceMetrics"];
    assert_eq!(metrics[0]["confidenceInterval"]["upperBound"], "0.93");
}

#[test]
fn control_characters_in_untrusted_text_do_not_break_the_xml() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("README.md"),
        "---\nlicense: \"odd\\0name\\x07\"\ntags: [\"tab\\there\", \"cr\\r\\nlf\"]\n---\n",
    )
    .unwrap();
    let bom = build(&model(dir.path().to_path_buf())).unwrap();
    let xml = to_xml(&bom);
    let root = parse(&xml);
    let card = &root.children[0].children[2];
    assert_eq!(card.name, "component");
    let text = format!("{card:?}");
    assert!(text.contains("odd\u{fffd}name\u{fffd}"), "{text}");
    assert!(
        text.contains("tab\\there") && text.contains("cr\\r\\nlf"),
        "{text}"
    );
}
