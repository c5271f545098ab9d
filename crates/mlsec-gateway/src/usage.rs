//! Token counts of an LLM answer, read off the answer as it streams past:
//! the upstream's own `usage` object when it sends one (OpenAI puts it in
//! the JSON answer, and in the last event of a stream asked for with
//! `stream_options.include_usage`), else an estimate.

/// Bytes of a JSON answer kept whole to find its `usage`; past this only
/// the tail is kept.
const KEEP_WHOLE: usize = 4 << 20;
/// The tail kept of streams and of long answers (`usage` comes last).
const KEEP_TAIL: usize = 64 << 10;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: Option<u64>,
    pub completion: Option<u64>,
    pub total: Option<u64>,
    pub estimated: bool,
}

pub struct UsageScanner {
    sse: bool,
    llm: bool,
    pub bytes: u64,
    kept: Vec<u8>,
    /// Server-sent events seen (`data:` fields), the estimate of a stream's tokens.
    events: u64,
    /// The last bytes of the previous chunk, so `data:` split across chunks is seen.
    carry: Vec<u8>,
}

impl UsageScanner {
    pub fn new(sse: bool, llm: bool) -> UsageScanner {
        UsageScanner {
            sse,
            llm,
            bytes: 0,
            kept: Vec::new(),
            events: 0,
            carry: Vec::new(),
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        if !self.llm {
            return;
        }
        if self.sse {
            let mut window = std::mem::take(&mut self.carry);
            window.extend_from_slice(data);
            self.events += count_events(&window, window.len() - data.len());
            let keep = window.len().saturating_sub(5);
            self.carry = window.get(keep..).unwrap_or_default().to_vec();
        }
        self.kept.extend_from_slice(data);
        let over = if self.sse { 2 * KEEP_TAIL } else { KEEP_WHOLE };
        if self.kept.len() > over {
            let cut = self.kept.len() - KEEP_TAIL;
            self.kept.drain(..cut);
        }
    }

    /// The answer's tokens: its own `usage`, or estimated from sizes.
    pub fn finish(&self, request_bytes: u64) -> Tokens {
        if !self.llm {
            return Tokens::default();
        }
        if let Some(t) = last_usage(&self.kept) {
            return t;
        }
        // About four bytes of English per token; a stream sends about one
        // token per event (the closing `[DONE]` is not one).
        let prompt = request_bytes.div_ceil(4);
        let completion = if self.sse {
            self.events.saturating_sub(1)
        } else {
            self.bytes.div_ceil(4)
        };
        Tokens {
            prompt: Some(prompt),
            completion: Some(completion),
            total: Some(prompt + completion),
            estimated: true,
        }
    }
}

/// `data:` fields starting a line in `window`, counting only those that end
/// after `new_from` (the rest were counted with the previous chunk).
fn count_events(window: &[u8], new_from: usize) -> u64 {
    let needle = b"data:";
    let mut n = 0;
    for (i, w) in window.windows(needle.len()).enumerate() {
        let line_start = i == 0 || matches!(window.get(i - 1), Some(b'\n' | b'\r'));
        if w == needle && i + needle.len() > new_from && line_start {
            n += 1;
        }
    }
    n
}

/// The last `"usage": {...}` object in `bytes` with token counts in it.
fn last_usage(bytes: &[u8]) -> Option<Tokens> {
    let key = b"\"usage\"";
    let mut end = bytes.len();
    while let Some(at) = rfind(bytes.get(..end).unwrap_or_default(), key) {
        end = at;
        let rest = bytes.get(at + key.len()..).unwrap_or_default();
        let rest = skip_space(rest);
        let Some(rest) = rest.strip_prefix(b":") else {
            continue;
        };
        let rest = skip_space(rest);
        let mut values =
            serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>();
        let Some(Ok(serde_json::Value::Object(usage))) = values.next() else {
            continue;
        };
        let get = |k: &str| usage.get(k).and_then(serde_json::Value::as_u64);
        let (prompt, completion, total) = (
            get("prompt_tokens"),
            get("completion_tokens"),
            get("total_tokens"),
        );
        if prompt.is_none() && completion.is_none() && total.is_none() {
            continue;
        }
        return Some(Tokens {
            prompt,
            completion,
            total: total.or_else(|| Some(prompt.unwrap_or(0) + completion.unwrap_or(0))),
            estimated: false,
        });
    }
    None
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn skip_space(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_of_a_json_answer() {
        let mut s = UsageScanner::new(false, true);
        let body = br#"{"id":"x","choices":[{"message":{"content":"he said \"usage\": {\"total_tokens\": 1}"}}],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}}"#;
        for chunk in body.chunks(7) {
            s.feed(chunk);
        }
        assert_eq!(
            s.finish(100),
            Tokens {
                prompt: Some(12),
                completion: Some(30),
                total: Some(42),
                estimated: false
            }
        );
    }

    #[test]
    fn usage_in_the_last_event_of_a_stream_and_the_estimate_without_it() {
        let events =
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n".repeat(20);
        let with = format!("{events}data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":5,\"completion_tokens\":20,\"total_tokens\":25}}}}\n\ndata: [DONE]\n\n");
        let mut s = UsageScanner::new(true, true);
        for chunk in with.as_bytes().chunks(3) {
            s.feed(chunk);
        }
        assert_eq!(s.finish(40).total, Some(25));

        let without = format!("{events}data: [DONE]\n\n");
        let mut s = UsageScanner::new(true, true);
        for chunk in without.as_bytes().chunks(3) {
            s.feed(chunk);
        }
        let t = s.finish(40);
        assert!(t.estimated);
        assert_eq!((t.prompt, t.completion), (Some(10), Some(20)));
    }

    #[test]
    fn long_streams_keep_a_bounded_tail() {
        let mut s = UsageScanner::new(true, true);
        let event = b"data: {\"choices\":[{\"delta\":{\"content\":\"word \"}}]}\n\n";
        for _ in 0..100_000 {
            s.feed(event);
        }
        assert!(s.kept.len() <= 2 * KEEP_TAIL);
        assert_eq!(s.finish(0).completion, Some(99_999));
    }
}
