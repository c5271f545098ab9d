//! Output guards applied to a model server's answers: a whole JSON answer
//! (every content string in it), or an OpenAI stream of server-sent events,
//! rewritten event by event while the text of each choice goes through an
//! [`AnswerFilter`].

use crate::output::{AnswerFilter, Blocked, OutputChain, OutputHit};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Longest server-sent event read; a longer one stops the answer.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// A whole answer after the output guards.
#[derive(Debug, Default)]
pub struct Filtered {
    /// The rewritten body, when something was rewritten.
    pub body: Option<Vec<u8>>,
    pub hits: Vec<OutputHit>,
    /// Set when a blocking guard hit: the answer must not go out.
    pub blocked: Option<Blocked>,
}

/// Runs `chain` over every content string of a JSON answer (or over the
/// whole body when it is not JSON).
pub fn filter_body(chain: &Arc<OutputChain>, canary: Option<Arc<str>>, body: &[u8]) -> Filtered {
    let mut done = Filtered::default();
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        let Ok(text) = std::str::from_utf8(body) else {
            return done;
        };
        let mut f = AnswerFilter::new(chain.clone(), canary, "body".into());
        match whole(&mut f, text) {
            Ok(out) if out != text => done.body = Some(out.into_bytes()),
            Ok(_) => {}
            Err(b) => done.blocked = Some(b),
        }
        done.hits = f.hits;
        return done;
    };
    let mut changed = false;
    crate::text::each_text_mut(&mut json, &mut |location, text| {
        if done.blocked.is_some() {
            return;
        }
        let mut f = AnswerFilter::new(chain.clone(), canary.clone(), location.to_string());
        match whole(&mut f, text) {
            Ok(out) => {
                if out != *text {
                    *text = out;
                    changed = true;
                }
            }
            Err(b) => done.blocked = Some(b),
        }
        done.hits.append(&mut f.hits);
    });
    if changed && done.blocked.is_none() {
        done.body = serde_json::to_vec(&json).ok();
    }
    done
}

fn whole(f: &mut AnswerFilter, text: &str) -> Result<String, Blocked> {
    let mut out = f.push(text)?;
    out.push_str(&f.finish()?);
    Ok(out)
}

/// Plants `canary` in a chat request's system prompt, as an HTML comment at
/// its start (a new system message when there is none). False when the
/// request is not a chat request (it is left as it was).
pub fn plant_canary(json: &mut Value, canary: &str) -> bool {
    let Some(messages) = json.get_mut("messages").and_then(Value::as_array_mut) else {
        return false;
    };
    let mark = format!("<!-- {canary} -->");
    let system = messages.iter_mut().find(|m| {
        matches!(
            m.get("role").and_then(Value::as_str),
            Some("system" | "developer")
        )
    });
    match system.and_then(|m| m.get_mut("content")) {
        Some(Value::String(text)) => *text = format!("{mark}\n{text}"),
        Some(Value::Array(parts)) => {
            parts.insert(0, serde_json::json!({"type": "text", "text": mark}));
        }
        _ => messages.insert(0, serde_json::json!({"role": "system", "content": mark})),
    }
    true
}

/// An OpenAI stream on its way out, with the text of each choice filtered:
/// chat `delta.content`, `delta.reasoning_content`, `delta.refusal` and
/// tool-call arguments, or a completion's `text`.
pub struct SseFilter {
    chain: Arc<OutputChain>,
    canary: Option<Arc<str>>,
    pending: Vec<u8>,
    /// Per choice index and field: its filter.
    open: BTreeMap<(u64, Field), AnswerFilter>,
    /// The last event's JSON, the model for an event that carries held text.
    template: Option<Value>,
    pub hits: Vec<OutputHit>,
}

/// Where a choice's text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Content,
    Reasoning,
    Refusal,
    /// `delta.tool_calls[..]` with this `index`: `function.arguments`.
    ToolArguments(u64),
    /// A completion's `text`.
    Text,
}

impl Field {
    fn location(self, choice: u64) -> String {
        match self {
            Field::Content => format!("choices[{choice}].delta.content"),
            Field::Reasoning => format!("choices[{choice}].delta.reasoning_content"),
            Field::Refusal => format!("choices[{choice}].delta.refusal"),
            Field::ToolArguments(k) => {
                format!("choices[{choice}].delta.tool_calls[{k}].function.arguments")
            }
            Field::Text => format!("choices[{choice}].text"),
        }
    }

    /// The fields of `choice` that carry text, with their text.
    fn all_in(choice: &Value) -> Vec<(Field, String)> {
        let mut out = Vec::new();
        let mut take = |field, v: Option<&Value>| {
            if let Some(t) = v.and_then(Value::as_str) {
                out.push((field, t.to_string()));
            }
        };
        take(Field::Text, choice.get("text"));
        if let Some(delta) = choice.get("delta") {
            take(Field::Content, delta.get("content"));
            take(Field::Reasoning, delta.get("reasoning_content"));
            take(Field::Refusal, delta.get("refusal"));
            for (position, call) in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let k = call
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(position as u64);
                take(
                    Field::ToolArguments(k),
                    call.get("function").and_then(|f| f.get("arguments")),
                );
            }
        }
        out
    }

    /// Puts `text` where this field lives in `choice`, making the path.
    fn set(self, choice: &mut Value, text: String) {
        let Value::Object(choice) = choice else {
            return;
        };
        if self == Field::Text {
            choice.insert("text".into(), Value::String(text));
            return;
        }
        let delta = choice
            .entry("delta")
            .or_insert_with(|| Value::Object(Default::default()));
        let Value::Object(delta) = delta else { return };
        let key = match self {
            Field::Content => "content",
            Field::Reasoning => "reasoning_content",
            Field::Refusal => "refusal",
            Field::ToolArguments(k) => {
                let calls = delta
                    .entry("tool_calls")
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Value::Array(calls) = calls else { return };
                let at = calls.iter().enumerate().position(|(p, c)| {
                    c.get("index").and_then(Value::as_u64).unwrap_or(p as u64) == k
                });
                let call = match at.and_then(|i| calls.get_mut(i)) {
                    Some(call) => call,
                    None => {
                        calls.push(serde_json::json!({"index": k, "function": {}}));
                        let Some(call) = calls.last_mut() else { return };
                        call
                    }
                };
                if let Some(Value::Object(f)) = call
                    .as_object_mut()
                    .map(|c| c.entry("function").or_insert_with(|| serde_json::json!({})))
                {
                    f.insert("arguments".into(), Value::String(text));
                }
                return;
            }
            Field::Text => "text",
        };
        delta.insert(key.into(), Value::String(text));
    }
}

impl SseFilter {
    pub fn new(chain: Arc<OutputChain>, canary: Option<Arc<str>>) -> SseFilter {
        SseFilter {
            chain,
            canary,
            pending: Vec::new(),
            open: BTreeMap::new(),
            template: None,
            hits: Vec::new(),
        }
    }

    /// Takes the next bytes of the stream; returns what may go out now.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<u8>, Blocked> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = event_end(&self.pending) {
            let event: Vec<u8> = self.pending.drain(..end).collect();
            self.event(&event, &mut out)?;
        }
        if self.pending.len() > MAX_EVENT_BYTES {
            return Err(Blocked {
                guard: String::new(),
                rule: "an event longer than 1 MiB".into(),
            });
        }
        Ok(out)
    }

    /// The stream ended: what is left, held text included.
    pub fn finish(&mut self) -> Result<Vec<u8>, Blocked> {
        let mut out = Vec::new();
        self.flush(&mut out)?;
        out.append(&mut self.pending);
        Ok(out)
    }

    fn event(&mut self, event: &[u8], out: &mut Vec<u8>) -> Result<(), Blocked> {
        let Ok(text) = std::str::from_utf8(event) else {
            out.extend_from_slice(event);
            return Ok(());
        };
        let mut data = String::new();
        let mut other = String::new();
        for line in text.lines() {
            if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            } else if !line.is_empty() {
                other.push_str(line);
                other.push('\n');
            }
        }
        if data.trim() == "[DONE]" {
            self.flush(out)?;
            out.extend_from_slice(event);
            return Ok(());
        }
        let Ok(mut json) = serde_json::from_str::<Value>(&data) else {
            out.extend_from_slice(event);
            return Ok(());
        };
        let Some(choices) = json.get_mut("choices").and_then(Value::as_array_mut) else {
            out.extend_from_slice(event);
            return Ok(());
        };
        for (position, choice) in choices.iter_mut().enumerate() {
            let index = choice
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let ended = choice.get("finish_reason").is_some_and(|r| !r.is_null());
            for (field, piece) in Field::all_in(choice) {
                let filter = self.open.entry((index, field)).or_insert_with(|| {
                    AnswerFilter::new(
                        self.chain.clone(),
                        self.canary.clone(),
                        field.location(index),
                    )
                });
                let released = keep_hits(filter, &mut self.hits, |f| f.push(&piece))?;
                if released != piece {
                    field.set(choice, released);
                }
            }
            if ended {
                // The choice's held text goes out in its last event.
                let fields: Vec<Field> = self
                    .open
                    .range((index, Field::Content)..=(index, Field::Text))
                    .map(|((_, f), _)| *f)
                    .collect();
                for field in fields {
                    let Some(mut filter) = self.open.remove(&(index, field)) else {
                        continue;
                    };
                    let rest = keep_hits(&mut filter, &mut self.hits, AnswerFilter::finish)?;
                    if rest.is_empty() {
                        continue;
                    }
                    let now = Field::all_in(choice)
                        .into_iter()
                        .find(|(f, _)| *f == field)
                        .map(|(_, t)| t)
                        .unwrap_or_default();
                    field.set(choice, now + &rest);
                }
            }
        }
        self.template = Some(json.clone());
        out.extend_from_slice(other.as_bytes());
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(serde_json::to_string(&json).unwrap_or_default().as_bytes());
        out.extend_from_slice(b"\n\n");
        Ok(())
    }

    /// Sends the text still held for every open field, as events of its own.
    fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), Blocked> {
        let open = std::mem::take(&mut self.open);
        for ((index, field), mut filter) in open {
            let rest = keep_hits(&mut filter, &mut self.hits, AnswerFilter::finish)?;
            if rest.is_empty() {
                continue;
            }
            let mut choice = serde_json::json!({"index": index, "finish_reason": null});
            field.set(&mut choice, rest);
            let mut event = self
                .template
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            if let Value::Object(map) = &mut event {
                map.insert("choices".into(), Value::Array(vec![choice]));
                map.remove("usage");
            }
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(serde_json::to_string(&event).unwrap_or_default().as_bytes());
            out.extend_from_slice(b"\n\n");
        }
        Ok(())
    }
}

/// Runs `f` on `filter`, moving its hits out whatever the outcome.
fn keep_hits(
    filter: &mut AnswerFilter,
    hits: &mut Vec<OutputHit>,
    f: impl FnOnce(&mut AnswerFilter) -> Result<String, Blocked>,
) -> Result<String, Blocked> {
    let result = f(filter);
    hits.append(&mut filter.hits);
    result
}

/// Where the first complete event in `buf` ends (after its blank line).
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < buf.len() {
        match (buf.get(i), buf.get(i + 1)) {
            (Some(b'\n'), Some(b'\n')) => return Some(i + 2),
            (Some(b'\n'), Some(b'\r')) if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{OutputAction, OutputGuard, PiiOutput, DEFAULT_WINDOW};

    fn chain(action: OutputAction) -> Arc<OutputChain> {
        let g: Arc<dyn OutputGuard> =
            Arc::new(PiiOutput::new(&["EMAIL".into()], 0.5, action, &BTreeMap::new()).unwrap());
        Arc::new(OutputChain {
            guards: vec![("pii-out".into(), g)],
            window: DEFAULT_WINDOW,
        })
    }

    fn chat_stream(pieces: &[&str]) -> String {
        let mut s = String::from("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n");
        for p in pieces {
            let event = serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]});
            s.push_str(&format!("data: {event}\n\n"));
        }
        s.push_str("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
        s
    }

    /// The text a client rebuilds from a stream's deltas.
    fn content(stream: &[u8]) -> String {
        let mut out = String::new();
        for event in std::str::from_utf8(stream).unwrap().split("\n\n") {
            let Some(data) = event.strip_prefix("data: ") else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                out.push_str(c);
            }
        }
        out
    }

    #[test]
    fn an_address_split_across_events_and_reads_is_redacted() {
        let stream = chat_stream(&["Contact ", "jane.d", "oe@exa", "mple.com", " for access."]);
        for read in [1, 7, 64, stream.len()] {
            let mut f = SseFilter::new(chain(OutputAction::Redact), None);
            let mut out = Vec::new();
            for piece in stream.as_bytes().chunks(read) {
                out.extend(f.feed(piece).unwrap());
            }
            out.extend(f.finish().unwrap());
            assert_eq!(
                content(&out),
                "Contact [EMAIL] for access.",
                "reads of {read}"
            );
            let text = String::from_utf8(out).unwrap();
            assert!(!text.contains("jane") && !text.contains("exa"), "{text}");
            assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
            let last = text.rsplit("data: ").nth(1).unwrap();
            let last: Value = serde_json::from_str(last.trim()).unwrap();
            assert_eq!(last["choices"][0]["finish_reason"], "stop");
            assert_eq!(f.hits.len(), 1);
            assert_eq!(f.hits[0].hit.location, "choices[0].delta.content");
            assert_eq!((f.hits[0].hit.start, f.hits[0].hit.end), (8, 28));
        }
    }

    #[test]
    fn held_text_goes_out_even_without_a_finish_reason() {
        let stream = "data: {\"choices\":[{\"index\":0,\"text\":\"mail bob@example.org\"}]}\n\n";
        let mut f = SseFilter::new(chain(OutputAction::Mask), None);
        let mut out = f.feed(stream.as_bytes()).unwrap();
        out.extend(f.finish().unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\"text\":\"mail b***@e******.org\""),
            "{text}"
        );
        assert!(!text.contains("bob@"), "{text}");
    }

    #[test]
    fn tool_call_arguments_and_reasoning_are_filtered_too() {
        let events = [
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"the user is jane@exa"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"reasoning_content":"mple.com","tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"mail","arguments":"{\"to\": \"bob@exa"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"mple.org\"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ];
        let stream: String = events
            .iter()
            .map(|e| format!("data: {e}\n\n"))
            .collect::<String>()
            + "data: [DONE]\n\n";
        let mut f = SseFilter::new(chain(OutputAction::Redact), None);
        let mut out = f.feed(stream.as_bytes()).unwrap();
        out.extend(f.finish().unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("jane@") && !text.contains("bob@"), "{text}");
        let (mut reasoning, mut arguments) = (String::new(), String::new());
        for event in text.split("\n\n").filter_map(|e| e.strip_prefix("data: ")) {
            let Ok(v) = serde_json::from_str::<Value>(event) else {
                continue;
            };
            reasoning.push_str(
                v["choices"][0]["delta"]["reasoning_content"]
                    .as_str()
                    .unwrap_or(""),
            );
            arguments.push_str(
                v["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .unwrap_or(""),
            );
        }
        assert_eq!(reasoning, "the user is [EMAIL]");
        assert_eq!(arguments, "{\"to\": \"[EMAIL]\"}");
        let places: Vec<&str> = f.hits.iter().map(|h| h.hit.location.as_str()).collect();
        assert_eq!(
            places,
            [
                "choices[0].delta.reasoning_content",
                "choices[0].delta.tool_calls[0].function.arguments"
            ]
        );
    }

    #[test]
    fn a_block_stops_the_stream() {
        let stream = chat_stream(&["write to ", "jane@example.com"]);
        let mut f = SseFilter::new(chain(OutputAction::Block), None);
        let e = f.feed(stream.as_bytes()).unwrap_err();
        assert_eq!(e.rule, "EMAIL");
        assert_eq!(f.hits.len(), 1);
    }

    #[test]
    fn the_canary_goes_into_the_system_prompt() {
        let planted = |body: Value| {
            let mut json = body;
            assert!(plant_canary(&mut json, "c4n4ry"));
            json
        };
        let out = planted(serde_json::json!({"model": "m", "messages": [
            {"role": "system", "content": "Be kind."}, {"role": "user", "content": "hi"}]}));
        assert_eq!(out["messages"][0]["content"], "<!-- c4n4ry -->\nBe kind.");
        assert_eq!(out["messages"][1]["content"], "hi");
        let out = planted(
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(
            out["messages"][0],
            serde_json::json!({"role": "system", "content": "<!-- c4n4ry -->"})
        );
        let mut completion = serde_json::json!({"prompt": "hi"});
        assert!(!plant_canary(&mut completion, "c"));
        assert_eq!(completion, serde_json::json!({"prompt": "hi"}));
    }

    #[test]
    fn whole_answers_are_rewritten_in_every_content_string() {
        let body = serde_json::json!({"id": "x", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": "Send it to jane@example.com.", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "mail", "arguments": "{\"to\": \"bob@example.org\"}"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}});
        let bytes = serde_json::to_vec(&body).unwrap();
        let done = filter_body(&chain(OutputAction::Redact), None, &bytes);
        let (out, hits) = (done.body, done.hits);
        let out: Value = serde_json::from_slice(&out.unwrap()).unwrap();
        assert_eq!(
            out["choices"][0]["message"]["content"],
            "Send it to [EMAIL]."
        );
        assert_eq!(
            out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"to\": \"[EMAIL]\"}"
        );
        assert_eq!(out["usage"]["total_tokens"], 12);
        assert_eq!(hits.len(), 2);
        // Nothing to change: the body goes out as it came.
        let clean = br#"{"choices":[{"message":{"content":"hello"}}]}"#;
        assert_eq!(
            filter_body(&chain(OutputAction::Redact), None, clean).body,
            None
        );
        // Not JSON: read as text.
        let out = filter_body(
            &chain(OutputAction::Redact),
            None,
            b"plain jane@example.com",
        )
        .body;
        assert_eq!(out.unwrap(), b"plain [EMAIL]");
        let blocked = filter_body(&chain(OutputAction::Block), None, &bytes);
        assert_eq!(blocked.blocked.unwrap().rule, "EMAIL");
        assert_eq!(blocked.body, None);
    }
}
