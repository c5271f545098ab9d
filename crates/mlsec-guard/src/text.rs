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
    places(body)
        .into_iter()
        .filter_map(|(location, pointer)| {
            let text = body.pointer(&pointer)?.as_str()?.to_string();
            Some(Text { location, text })
        })
        .collect()
}

/// Calls `f` with the place and a mutable reference of every content
/// string of `body` (the ones [`texts`] reads), so an answer can be rewritten.
pub fn each_text_mut(body: &mut Value, f: &mut dyn FnMut(&str, &mut String)) {
    for (location, pointer) in places(body) {
        if let Some(Value::String(s)) = body.pointer_mut(&pointer) {
            f(&location, s);
        }
    }
}

/// Where each content string of `body` sits: its place as people read it
/// (`messages[1].content`) and its JSON pointer (`/messages/1/content`).
fn places(body: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(body, &mut String::new(), &mut String::new(), &mut out);
    out
}

fn walk(value: &Value, place: &mut String, pointer: &mut String, out: &mut Vec<(String, String)>) {
    if out.len() >= MAX_TEXTS {
        return;
    }
    match value {
        Value::String(_) => out.push((
            if place.is_empty() {
                "$".into()
            } else {
                place.clone()
            },
            pointer.clone(),
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                descend(item, &format!("[{i}]"), &i.to_string(), place, pointer, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if item.is_string() && NOT_CONTENT.contains(&key.as_str()) {
                    continue;
                }
                let dot = if place.is_empty() { "" } else { "." };
                // JSON pointer escapes: `~` as `~0`, `/` as `~1`.
                let escaped = key.replace('~', "~0").replace('/', "~1");
                descend(item, &format!("{dot}{key}"), &escaped, place, pointer, out);
            }
        }
        _ => {}
    }
}

/// Walks into `item`, one step further than `place` and `pointer`.
fn descend(
    item: &Value,
    place_part: &str,
    pointer_part: &str,
    place: &mut String,
    pointer: &mut String,
    out: &mut Vec<(String, String)>,
) {
    let (p, q) = (place.len(), pointer.len());
    place.push_str(place_part);
    pointer.push('/');
    pointer.push_str(pointer_part);
    walk(item, place, pointer, out);
    place.truncate(p);
    pointer.truncate(q);
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
    fn rewriting_reaches_the_strings_read_even_under_odd_keys() {
        let mut body =
            json!({"a/b": {"c~d": "one"}, "model": "m", "list": ["two", {"text": "three"}]});
        let read: Vec<String> = texts(&body).into_iter().map(|t| t.location).collect();
        let mut seen = Vec::new();
        each_text_mut(&mut body, &mut |place, text| {
            seen.push(place.to_string());
            text.make_ascii_uppercase();
        });
        assert_eq!(seen, read);
        assert_eq!(
            body,
            json!({"a/b": {"c~d": "ONE"}, "model": "m", "list": ["TWO", {"text": "THREE"}]})
        );
    }

    #[test]
    fn huge_bodies_are_read_up_to_the_cap() {
        let body = Value::Array((0..10_000).map(|i| Value::String(i.to_string())).collect());
        assert_eq!(texts(&body).len(), MAX_TEXTS);
    }
}
