//! The in-toto Statement v1 with the model_signing v1.0 predicate: writing it,
//! and reading it back from (already signature-checked) payload bytes.

use crate::hash::{hex, unhex, HashAlgo};
use crate::manifest::{Manifest, Method, Resource, Serialization};
use crate::walk::{name_components, IgnorePath};
use serde_json::{json, Map, Value};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// model_signing before 1.0: one subject per file, no predicate.
pub const PREDICATE_TYPE_V01: &str = "https://model_signing/Digests/v0.1";

/// The statement's JSON bytes (compact, raw UTF-8; the reference verifier
/// accepts any JSON because it checks the signature over the exact bytes).
pub fn to_payload(m: &Manifest) -> Vec<u8> {
    let s = &m.serialization;
    let mut serialization = Map::new();
    serialization.insert(
        "method".into(),
        json!(match s.method {
            Method::Files => "files",
            Method::Shards { .. } => "shards",
        }),
    );
    serialization.insert("hash_type".into(), json!(s.hash_type.as_str()));
    serialization.insert("allow_symlinks".into(), json!(s.allow_symlinks));
    if let Method::Shards { shard_size } = s.method {
        serialization.insert("shard_size".into(), json!(shard_size));
    }
    if !s.ignore_paths.is_empty() {
        let paths: Vec<String> = s.ignore_paths.iter().map(IgnorePath::as_posix).collect();
        serialization.insert("ignore_paths".into(), json!(paths));
    }
    let resources: Vec<Value> = m
        .resources
        .iter()
        .map(|r| json!({"name": r.name(), "algorithm": r.algorithm, "digest": hex(&r.digest)}))
        .collect();
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": m.model_name, "digest": {"sha256": hex(&m.root_digest())}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": Value::Object(serialization), "resources": resources},
    });
    mlsec_core::json::sorted_bytes(&statement)
}

/// Reads a signed statement into a manifest, checking everything a verifier
/// relies on: one subject, known serialization, safe resource names, digests of
/// the right length, and the root digest.
pub fn from_payload(payload: &[u8]) -> Result<Manifest, String> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the signed statement is not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("the signed statement is not a JSON object")?;
    let predicate_type = str_field(obj, "predicateType")?;
    if predicate_type == PREDICATE_TYPE_V01 {
        return from_v01(obj);
    }
    if predicate_type != PREDICATE_TYPE {
        return Err(format!(
            "predicate type `{predicate_type}` is not a model signature (expected {PREDICATE_TYPE})"
        ));
    }
    let subjects = obj
        .get("subject")
        .and_then(Value::as_array)
        .ok_or("the statement has no subject list")?;
    let [subject] = subjects.as_slice() else {
        return Err(format!(
            "the statement has {} subjects, expected exactly 1",
            subjects.len()
        ));
    };
    let model_name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let root = subject
        .pointer("/digest/sha256")
        .and_then(Value::as_str)
        .and_then(unhex)
        .filter(|d| d.len() == 32)
        .ok_or("the subject has no valid sha256 digest")?;

    let predicate = obj
        .get("predicate")
        .and_then(Value::as_object)
        .ok_or("the statement has no predicate")?;
    let ser = predicate
        .get("serialization")
        .and_then(Value::as_object)
        .ok_or("the predicate has no serialization")?;
    let serialization = parse_serialization(ser)?;
    let resources = predicate
        .get("resources")
        .and_then(Value::as_array)
        .ok_or("the predicate has no resources")?;
    let mut out = Vec::with_capacity(resources.len());
    for r in resources {
        out.push(parse_resource(r, &serialization)?);
    }
    let manifest = Manifest {
        model_name,
        serialization,
        resources: out,
    };
    if manifest.root_digest()[..] != root[..] {
        return Err(
            "the subject digest does not match the resources (the manifest is inconsistent)".into(),
        );
    }
    Ok(manifest)
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the statement has no `{key}`"))
}

fn parse_serialization(ser: &Map<String, Value>) -> Result<Serialization, String> {
    let hash_name = ser
        .get("hash_type")
        .and_then(Value::as_str)
        .ok_or("serialization has no hash_type")?;
    let hash_type =
        HashAlgo::parse(hash_name).ok_or_else(|| format!("unsupported hash_type `{hash_name}`"))?;
    let method = match ser.get("method").and_then(Value::as_str) {
        Some("files") => Method::Files,
        Some("shards") => {
            // The reference writes numbers through protobuf's Struct: 1048576.0.
            let size = ser.get("shard_size").and_then(|v| {
                v.as_u64().or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f < 1e18)
                        .map(|f| f as u64)
                })
            });
            Method::Shards {
                shard_size: size
                    .filter(|s| *s > 0)
                    .ok_or("shards without a valid shard_size")?,
            }
        }
        other => return Err(format!("unsupported serialization method {other:?}")),
    };
    let allow_symlinks = match ser.get("allow_symlinks") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let mut ignore_paths = Vec::new();
    if let Some(paths) = ser.get("ignore_paths") {
        for p in paths.as_array().ok_or("ignore_paths is not a list")? {
            let p = p.as_str().ok_or("ignore_paths holds a non-string")?;
            ignore_paths.push(IgnorePath::parse(p).map_err(|e| format!("ignore_paths: {e}"))?);
        }
    }
    ignore_paths.sort();
    Ok(Serialization {
        method,
        hash_type,
        allow_symlinks,
        ignore_paths,
    })
}

fn parse_resource(r: &Value, ser: &Serialization) -> Result<Resource, String> {
    let field = |k: &str| {
        r.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("a resource has no `{k}`"))
    };
    let name = field("name")?;
    let algorithm = field("algorithm")?;
    let digest = unhex(field("digest")?)
        .ok_or_else(|| format!("resource `{name}`: the digest is not hex"))?;
    let (path, range) = match ser.method {
        Method::Files => (name, None),
        Method::Shards { .. } => {
            let mut parts = name.rsplitn(3, ':');
            let (end, start, path) = (parts.next(), parts.next(), parts.next());
            let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok());
            match (path, parse(start), parse(end)) {
                (Some(p), Some(s), Some(e)) if s < e => (p, Some((s, e))),
                _ => return Err(format!("resource `{name}` is not PATH:START:END")),
            }
        }
    };
    if path != "." {
        name_components(path).map_err(|e| format!("resource name {e}"))?;
    }
    if digest.len() != ser.hash_type.digest_len() {
        return Err(format!(
            "resource `{name}`: a {}-byte digest for {}",
            digest.len(),
            ser.hash_type.as_str()
        ));
    }
    Ok(Resource {
        path: path.to_string(),
        range,
        algorithm: algorithm.to_string(),
        digest,
    })
}

/// v0.1: every subject is a file with a sha256 digest.
fn from_v01(obj: &Map<String, Value>) -> Result<Manifest, String> {
    let subjects = obj
        .get("subject")
        .and_then(Value::as_array)
        .ok_or("the statement has no subject list")?;
    let mut resources = Vec::new();
    for s in subjects {
        let name = s
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a subject has no name")?;
        if name != "." {
            name_components(name).map_err(|e| format!("subject name {e}"))?;
        }
        let digest = s
            .pointer("/digest/sha256")
            .and_then(Value::as_str)
            .and_then(unhex)
            .filter(|d| d.len() == 32)
            .ok_or_else(|| format!("subject `{name}` has no valid sha256 digest"))?;
        resources.push(Resource {
            path: name.into(),
            range: None,
            algorithm: "sha256".into(),
            digest,
        });
    }
    let mut m = Manifest {
        model_name: String::new(),
        serialization: Serialization {
            method: Method::Files,
            hash_type: HashAlgo::Sha256,
            allow_symlinks: false,
            ignore_paths: Vec::new(),
        },
        resources,
    };
    m.sort();
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(method: Method) -> Manifest {
        let mut m = Manifest {
            model_name: "bert".into(),
            serialization: Serialization {
                method,
                hash_type: HashAlgo::Sha256,
                allow_symlinks: false,
                ignore_paths: vec![IgnorePath::parse(".git").unwrap()],
            },
            resources: vec![Resource {
                path: "weights/a.bin".into(),
                range: matches!(method, Method::Shards { .. }).then_some((0, 5)),
                algorithm: crate::manifest::algorithm_label(HashAlgo::Sha256, method),
                digest: vec![7; 32],
            }],
        };
        m.sort();
        m
    }

    #[test]
    fn payload_round_trips() {
        for method in [
            Method::Files,
            Method::Shards {
                shard_size: 1048576,
            },
        ] {
            let m = sample(method);
            assert_eq!(from_payload(&to_payload(&m)).unwrap(), m);
        }
    }

    #[test]
    fn reads_float_shard_sizes_as_the_reference_writes_them() {
        let m = sample(Method::Shards {
            shard_size: 1048576,
        });
        let text = String::from_utf8(to_payload(&m))
            .unwrap()
            .replace("\"shard_size\":1048576", "\"shard_size\":1048576.0");
        assert!(text.contains("1048576.0"));
        assert_eq!(from_payload(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn rejects_bad_statements() {
        let good = String::from_utf8(to_payload(&sample(Method::Files))).unwrap();
        let cases = [
            (good.replace("weights/a.bin", "../a.bin"), "`..`"),
            (good.replace("weights/a.bin", "/etc/passwd"), "absolute"),
            (good.replace("\"0707", "\"0808"), "inconsistent"),
            (
                good.replace("signature/v1.0", "signature/v9"),
                "not a model signature",
            ),
            (
                good.replace("\"hash_type\":\"sha256\"", "\"hash_type\":\"md5\""),
                "unsupported hash_type",
            ),
            (good.replace("\"files\"", "\"shards\""), "shard_size"),
            ("[]".to_string(), "not a JSON object"),
            ("{".to_string(), "not JSON"),
        ];
        for (text, want) in cases {
            let err = from_payload(text.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
