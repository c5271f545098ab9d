//! JSON objects with their keys in sorted order, whichever way serde_json
//! was built. serde_json keeps insertion order when any crate in the build
//! turns on its `preserve_order` feature (the gateway's Cedar does), so code
//! whose output or digests depend on key order sorts explicitly.

use serde_json::{Map, Value};

/// Sorts the keys of every object in `v`, at every depth.
pub fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let taken = std::mem::take(map);
            *map = sorted(taken);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// `map` with its keys sorted, at every depth.
pub fn sorted(map: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .into_iter()
        .map(|(k, mut v)| {
            sort_keys(&mut v);
            (k, v)
        })
        .collect()
}

/// `v` as compact JSON with sorted keys: the bytes mlsec signs and hashes.
pub fn sorted_bytes(v: &Value) -> Vec<u8> {
    let mut v = v.clone();
    sort_keys(&mut v);
    serde_json::to_vec(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nested_keys_come_out_sorted() {
        let mut v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":3}}"#).unwrap();
        super::sort_keys(&mut v);
        assert_eq!(v.to_string(), r#"{"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}"#);
    }
}
