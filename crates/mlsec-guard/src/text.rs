//! The texts of a request body that a guard reads: every string in the
//! JSON except the ones that only name things (model, role, type, ids), each
//! with its place, so that a hit can say `messages[2].content[0].text`.

use serde_json::Value;

/// Most texts taken from one body; a body with more is read up to here
/// (the gateway's `max_body` bounds the bytes already).
pub const MAX_TEXTS: usize = 4096;

/// Keys whose string values are identifiers, not content.
const NOT_CONTENT: &[&str] = &[
    "model",
    "role",
    "type",
    "id",
    "tool_call_id",
    "object",
    "datatype",
    "encoding_format",
    "response_format",
    "tool_choice",
    "user",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub location: String,
    pub text: String,
}

/// The content strings of `body`, in document order.
pub fn texts(body: &Value) -> Vec<Text> {
    let mut out = Vec::new();
    walk(body, &mut String::new(), &mut out);
    out
}

fn walk(value: &Value, path: &mut String, out: &mut Vec<Text>) {
    if out.len() >= MAX_TEXTS {
        return;
    }
    match value {
        Value::String(s) => out.push(Text {
            location: if path.is_empty() {
                "$".into()
            } else {
                path.clone()
            },
            text: s.clone(),
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if item.is_string() && NOT_CONTENT.contains(&key.as_str()) {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(item, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Calls `f` with the place and a mutable reference of every content
/// string of `body` (the ones [`texts`] reads), so an answer can be rewritten.
pub fn each_text_mut(body: &mut Value, f: &mut dyn FnMut(&str, &mut String)) {
    let mut seen = 0;
    walk_mut(body, &mut String::new(), f, &mut seen);
}

fn walk_mut(
    value: &mut Value,
    path: &mut String,
    f: &mut dyn FnMut(&str, &mut String),
    seen: &mut usize,
) {
    if *seen >= MAX_TEXTS {
        return;
    }
    match value {
        Value::String(s) => {
            *seen += 1;
            f(if path.is_empty() { "$" } else { path }, s);
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_mut(item, path, f, seen);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if item.is_string() && NOT_CONTENT.contains(&key.as_str()) {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk_mut(item, path, f, seen);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_is_taken_and_names_are_not() {
        let body = json!({
            "model": "gpt", "stream": true,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hello"}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "{\"rows\": 3}"}
            ]
        });
        let found: Vec<(String, String)> = texts(&body)
            .into_iter()
            .map(|t| (t.location, t.text))
            .collect();
        assert_eq!(
            found,
            [
                ("messages[0].content".to_string(), "be brief".to_string()),
                ("messages[1].content[0].text".into(), "hello".into()),
                (
                    "messages[1].content[1].image_url.url".into(),
                    "https://x.test/a.png".into()
                ),
                ("messages[2].content".into(), "{\"rows\": 3}".into()),
            ]
        );
    }

    #[test]
    fn huge_bodies_are_read_up_to_the_cap() {
        let body = Value::Array((0..10_000).map(|i| Value::String(i.to_string())).collect());
        assert_eq!(texts(&body).len(), MAX_TEXTS);
    }
}
