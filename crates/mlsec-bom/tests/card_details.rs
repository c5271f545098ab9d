//! What the BOM says about where a model comes from and how it performs:
//! supplier and links from the Hub id, authors, the licence file, evaluation
//! results, hyperparameters and generation settings; each present and absent,
//! each BOM valid against the official schema.

use mlsec_bom::{build, to_json, validate::validate, BomOptions};
use serde_json::Value;
use std::fs;
use std::path::Path;

fn bom(dir: &Path, hf_id: Option<&str>, revision: Option<&str>) -> Value {
    let bom = build(&BomOptions {
        model: dir.to_path_buf(),
        hf_id: hf_id.map(String::from),
        revision: revision.map(String::from),
        ..BomOptions::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), [], "{doc:#}");
    doc
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("model.pkl"), b"\x80\x04K\x01.").unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// The model card's properties whose names start with `prefix`.
fn card_properties(doc: &Value, prefix: &str) -> Vec<(String, String)> {
    doc["metadata"]["component"]["modelCard"]["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["name"].as_str()?.strip_prefix(prefix)?;
            Some((name.to_string(), p["value"].as_str()?.to_string()))
        })
        .collect()
}

#[test]
fn hub_id_gives_supplier_and_links_to_page_repository_and_revision() {
    let dir = folder(&[]);
    let doc = bom(dir.path(), Some("acme/tiny-bert"), Some("4f2A9c"));
    let model = &doc["metadata"]["component"];
    assert_eq!(model["supplier"]["name"], "acme");
    assert_eq!(model["supplier"]["url"][0], "https://huggingface.co/acme");
    let refs: Vec<(&str, &str)> = model["externalReferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["url"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refs,
        [
            ("website", "https://huggingface.co/acme/tiny-bert"),
            ("vcs", "https://huggingface.co/acme/tiny-bert"),
            (
                "distribution",
                "https://huggingface.co/acme/tiny-bert/tree/4f2a9c"
            ),
        ]
    );
}

#[test]
fn without_hub_id_there_is_no_supplier_and_no_links() {
    let dir = folder(&[("README.md", "---\nlicense: mit\n---\n")]);
    let doc = bom(dir.path(), None, None);
    let model = &doc["metadata"]["component"];
    assert!(model.get("supplier").is_none(), "{model:#}");
    assert!(model.get("externalReferences").is_none(), "{model:#}");
    assert!(model.get("authors").is_none(), "{model:#}");
}

#[test]
fn authors_from_the_card_and_a_gguf_header() {
    let mut gguf = b"GGUF".to_vec();
    gguf.extend(3u32.to_le_bytes());
    gguf.extend(0u64.to_le_bytes());
    gguf.extend(1u64.to_le_bytes());
    let (key, value) = ("general.author", "Tom Jobbins");
    gguf.extend((key.len() as u64).to_le_bytes());
    gguf.extend(key.as_bytes());
    gguf.extend(8u32.to_le_bytes());
    gguf.extend((value.len() as u64).to_le_bytes());
    gguf.extend(value.as_bytes());
    let dir = folder(&[(
        "README.md",
        "---\nmodel_creator: Meta Llama\nauthor: Tom Jobbins\n---\n",
    )]);
    fs::write(dir.path().join("model.gguf"), gguf).unwrap();
    let doc = bom(dir.path(), None, None);
    let authors: Vec<&str> = doc["metadata"]["component"]["authors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(authors, ["Tom Jobbins", "Meta Llama"], "named once each");
}

const MIT: &str = "MIT License\n\nCopyright (c) 2024 Acme\n\n\
Permission is hereby granted, free of charge, to any person obtaining a copy\n\
of this software and associated documentation files (the \"Software\")\n";

fn licences(doc: &Value) -> Vec<(Option<String>, Option<String>)> {
    doc["metadata"]["component"]["licenses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let l = &l["license"];
            (
                l["id"].as_str().map(String::from),
                l["name"].as_str().map(String::from),
            )
        })
        .collect()
}

#[test]
fn a_licence_file_adds_its_spdx_id_once() {
    let alone = folder(&[("LICENSE", MIT)]);
    assert_eq!(
        licences(&bom(alone.path(), None, None)),
        [(Some("MIT".into()), None)]
    );
    let agreeing = folder(&[("LICENSE", MIT), ("README.md", "---\nlicense: mit\n---\n")]);
    assert_eq!(
        licences(&bom(agreeing.path(), None, None)),
        [(Some("MIT".into()), None)]
    );
    let differing = folder(&[
        ("LICENSE.md", MIT),
        ("README.md", "---\nlicense: apache-2.0\n---\n"),
    ]);
    assert_eq!(
        licences(&bom(differing.path(), None, None)),
        [
            (Some("Apache-2.0".into()), None),
            (Some("MIT".into()), None)
        ],
        "the folder holds both; both are listed"
    );
}

#[test]
fn an_unknown_licence_file_is_named_by_its_title_only_when_the_card_names_none() {
    let text = "LLAMA 2 COMMUNITY LICENSE AGREEMENT\nLlama 2 Version Release Date: July 18, 2023\n";
    let dir = folder(&[("LICENSE.txt", text)]);
    assert_eq!(
        licences(&bom(dir.path(), None, None)),
        [(None, Some("LLAMA 2 COMMUNITY LICENSE AGREEMENT".into()))]
    );
    let dir = folder(&[
        ("LICENSE.txt", text),
        ("README.md", "---\nlicense: llama2\n---\n"),
    ]);
    assert_eq!(
        licences(&bom(dir.path(), None, None)),
        [(None, Some("llama2".into()))]
    );
    let none = folder(&[]);
    assert_eq!(licences(&bom(none.path(), None, None)), []);
}

const EVALUATED: &str = "---\nmodel-index:\n- name: m\n  results:\n  - task:\n      type: text-classification\n    dataset:\n      name: imdb\n      type: imdb\n      split: test\n    metrics:\n    - type: accuracy\n      value: 0.93\n      name: Accuracy\n      verified: false\n---\n";

#[test]
fn model_index_results_are_performance_metrics_and_give_the_task() {
    let dir = folder(&[("README.md", EVALUATED)]);
    let doc = bom(dir.path(), None, None);
    let card = &doc["metadata"]["component"]["modelCard"];
    assert_eq!(card["modelParameters"]["task"], "text-classification");
    let metrics = card["quantitativeAnalysis"]["performanceMetrics"]
        .as_array()
        .unwrap();
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0]["type"], "accuracy");
    assert_eq!(metrics[0]["value"], "0.93");
    assert_eq!(metrics[0]["slice"], "imdb (split test)");
    assert!(metrics[0].get("confidenceInterval").is_none());

    // pipeline_tag, when given, stays the task.
    let tagged = EVALUATED.replace(
        "---\nmodel-index",
        "---\npipeline_tag: fill-mask\nmodel-index",
    );
    let dir = folder(&[("README.md", &tagged)]);
    let doc = bom(dir.path(), None, None);
    assert_eq!(
        doc["metadata"]["component"]["modelCard"]["modelParameters"]["task"],
        "fill-mask"
    );
}

#[test]
fn a_card_without_results_has_no_quantitative_analysis() {
    let dir = folder(&[(
        "README.md",
        "---\nlicense: mit\npipeline_tag: fill-mask\n---\n",
    )]);
    let doc = bom(dir.path(), None, None);
    let card = &doc["metadata"]["component"]["modelCard"];
    assert!(card.get("quantitativeAnalysis").is_none(), "{card:#}");
}

#[test]
fn config_hyperparameters_and_generation_settings_are_card_properties() {
    let dir = folder(&[
        (
            "config.json",
            r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":2048,
                "num_hidden_layers":22,"num_attention_heads":32,"num_key_value_heads":4,
                "intermediate_size":5632,"vocab_size":32000,"max_position_embeddings":2048,
                "torch_dtype":"bfloat16","rope_theta":10000.0,"bos_token_id":1}"#,
        ),
        (
            "generation_config.json",
            r#"{"bos_token_id":1,"eos_token_id":2,"max_length":2048,"temperature":0.7}"#,
        ),
    ]);
    let doc = bom(dir.path(), None, None);
    let hyper = card_properties(&doc, "mlsec:hyperparameter:");
    let names: Vec<&str> = hyper.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "intermediate_size",
            "vocab_size",
            "max_position_embeddings",
            "torch_dtype",
            "rope_theta",
        ],
        "token ids are not hyperparameters"
    );
    assert!(hyper.contains(&("torch_dtype".into(), "bfloat16".into())));
    assert!(hyper.contains(&("rope_theta".into(), "10000.0".into())));
    assert_eq!(
        card_properties(&doc, "mlsec:generation:"),
        [
            ("temperature".to_string(), "0.7".to_string()),
            ("max_length".to_string(), "2048".to_string())
        ]
    );
}

#[test]
fn no_config_no_hyperparameters_and_a_broken_generation_config_names_the_file() {
    let dir = folder(&[]);
    let doc = bom(dir.path(), None, None);
    assert_eq!(card_properties(&doc, "mlsec:hyperparameter:"), []);
    assert_eq!(card_properties(&doc, "mlsec:generation:"), []);
    fs::write(dir.path().join("generation_config.json"), "{").unwrap();
    let bom = build(&BomOptions {
        model: dir.path().to_path_buf(),
        ..BomOptions::default()
    })
    .unwrap();
    let warnings: Vec<&str> = bom
        .metadata
        .properties
        .iter()
        .filter(|p| p.name == mlsec_bom::WARNING_PROPERTY)
        .map(|p| p.value.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("generation_config.json") && warnings[0].contains("not valid JSON"),
        "{warnings:?}"
    );
}

#[test]
fn a_base_model_on_the_hub_links_to_its_page_and_a_local_one_does_not() {
    let dir = folder(&[(
        "README.md",
        "---\nbase_model: [meta-llama/Llama-2-7b-hf, ./local-ckpt]\n---\n",
    )]);
    let doc = bom(dir.path(), None, None);
    let ancestors = doc["metadata"]["component"]["pedigree"]["ancestors"]
        .as_array()
        .unwrap();
    assert_eq!(
        ancestors[0]["externalReferences"][0]["url"],
        "https://huggingface.co/meta-llama/Llama-2-7b-hf"
    );
    assert_eq!(ancestors[0]["externalReferences"][0]["type"], "website");
    assert_eq!(ancestors[1]["name"], "./local-ckpt");
    assert!(ancestors[1].get("externalReferences").is_none());
    assert!(ancestors[1].get("purl").is_none());
}
