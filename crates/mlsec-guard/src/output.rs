//! Output guards: checks on what a model answers, and the filter that
//! applies them to an answer as it streams.
//!
//! A guard finds spans (a secret, an e-mail address, a link to a domain
//! outside an allowlist, invisible characters, the request's canary) and
//! says what to do with each: block the answer, redact or mask the span, or
//! let it pass and record it. [`AnswerFilter`] feeds an answer through the
//! guards piece by piece and holds back only the last `window` bytes, so
//! that a value split across two chunks is still seen whole.

use crate::Hit;
use mlsec_pii::{Detector, Entity};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// What an output guard does with a span it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputAction {
    /// Stop the answer.
    Block,
    /// Replace the span with its kind, e.g. `[EMAIL]`.
    Redact,
    /// Replace the span with a masked preview, e.g. `j***@e******.com`.
    Mask,
    /// Let it pass, and mark the audit record and the metrics.
    Flag,
    /// Let it pass, and only record it.
    Log,
}

impl OutputAction {
    pub fn parse(s: &str) -> Result<OutputAction, String> {
        Ok(match s {
            "block" => OutputAction::Block,
            "redact" => OutputAction::Redact,
            "mask" => OutputAction::Mask,
            "flag" => OutputAction::Flag,
            "log" => OutputAction::Log,
            other => {
                return Err(format!(
                    "action `{other}`: expected block, redact, mask, flag or log"
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OutputAction::Block => "block",
            OutputAction::Redact => "redact",
            OutputAction::Mask => "mask",
            OutputAction::Flag => "flag",
            OutputAction::Log => "log",
        }
    }

    fn rewrites(self) -> bool {
        matches!(self, OutputAction::Redact | OutputAction::Mask)
    }
}

/// One span an output guard found, and what to do with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub rule: String,
    pub family: &'static str,
    pub start: usize,
    pub end: usize,
    pub score: f32,
    pub action: OutputAction,
    /// What the span becomes when the action rewrites it.
    pub replacement: String,
    /// A private key cut short: what follows it may be more of the key.
    pub open_key: bool,
}

/// A check over an answer's text. `canary` is the value planted in this
/// request's system prompt, if any.
pub trait OutputGuard: Send + Sync {
    fn find(&self, text: &str, canary: Option<&str>, out: &mut Vec<Found>);
}

/// Personal data and secrets in answers (`kind = "pii"`), with an action
/// per entity.
pub struct PiiOutput {
    detector: Detector,
    min_confidence: f32,
    default: OutputAction,
    per_entity: BTreeMap<Entity, OutputAction>,
}

impl PiiOutput {
    /// `entities` as for [`crate::PiiGuard::new`]; `per_entity` overrides
    /// `default` for the entities it names (by `mlsec data pii` name).
    pub fn new(
        entities: &[String],
        min_confidence: f32,
        default: OutputAction,
        per_entity: &BTreeMap<String, OutputAction>,
    ) -> Result<PiiOutput, String> {
        let chosen = crate::pii::entities_named(entities)?;
        let mut actions = BTreeMap::new();
        for (name, action) in per_entity {
            let entity = chosen
                .iter()
                .copied()
                .find(|e| e.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("entity_actions names `{name}`, which entities does not"))?;
            actions.insert(entity, *action);
        }
        Ok(PiiOutput {
            detector: Detector::new(&chosen),
            min_confidence,
            default,
            per_entity: actions,
        })
    }
}

impl OutputGuard for PiiOutput {
    fn find(&self, text: &str, _canary: Option<&str>, out: &mut Vec<Found>) {
        self.detector.detect_each(None, text, |span| {
            if span.confidence < self.min_confidence {
                return;
            }
            let action = self
                .per_entity
                .get(&span.entity)
                .copied()
                .unwrap_or(self.default);
            let value = text.get(span.start..span.end).unwrap_or("");
            let replacement = match action {
                OutputAction::Mask => mlsec_pii::mask(span.entity, value),
                OutputAction::Redact => format!("[{}]", span.entity.as_str()),
                _ => String::new(),
            };
            let open_key = span.entity == Entity::PrivateKey && !value.contains("-----END");
            out.push(Found {
                rule: span.entity.as_str().to_string(),
                family: if span.entity.is_secret() {
                    "secret"
                } else {
                    "pii"
                },
                start: span.start,
                end: span.end,
                score: span.confidence,
                action,
                replacement,
                open_key,
            });
        });
    }
}

/// The request's canary in an answer (`kind = "canary"`): the model was
/// made to repeat its system prompt.
pub struct CanaryOutput {
    action: OutputAction,
}

impl CanaryOutput {
    pub fn new(action: OutputAction) -> CanaryOutput {
        CanaryOutput { action }
    }
}

impl OutputGuard for CanaryOutput {
    fn find(&self, text: &str, canary: Option<&str>, out: &mut Vec<Found>) {
        let Some(canary) = canary.filter(|c| !c.is_empty()) else {
            return;
        };
        // Models change case now and then; the canary is ASCII.
        let lower = text.to_ascii_lowercase();
        let needle = canary.to_ascii_lowercase();
        for (start, _) in lower.match_indices(&needle) {
            out.push(Found {
                rule: "CANARY".into(),
                family: "canary",
                start,
                end: start + needle.len(),
                score: 1.0,
                action: self.action,
                replacement: "[CANARY]".into(),
                open_key: false,
            });
        }
    }
}

/// Markdown links and images to hosts outside an allowlist (`kind =
/// "links"`): a rendered image fetches its URL at once, and a query string
/// can carry the conversation with it.
pub struct LinkOutput {
    allow: Vec<String>,
    action: OutputAction,
}

impl LinkOutput {
    /// `allow`: host names; each also allows its subdomains.
    pub fn new(allow: &[String], action: OutputAction) -> LinkOutput {
        LinkOutput {
            allow: allow
                .iter()
                .map(|d| d.trim_start_matches("*.").to_ascii_lowercase())
                .collect(),
            action,
        }
    }

    fn allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allow.iter().any(|d| {
            host == *d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

fn link_pattern() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        // `[text](url)` and `![alt](url)`, and reference definitions `[id]: url`.
        Regex::new(
            r"(?m)(!?\[[^\]\n]{0,300}\]\(\s*<?|^\s{0,3}\[[^\]\n]{1,100}\]:\s*<?)((?:https?:)?//([^/\s)>?#]{1,255})[^\s)>]{0,2000})",
        )
        .ok()
    })
    .as_ref()
}

impl OutputGuard for LinkOutput {
    fn find(&self, text: &str, _canary: Option<&str>, out: &mut Vec<Found>) {
        // Most text has no link: skip the capturing search (the slow engine).
        if !text.contains("](") && !text.contains("]:") {
            return;
        }
        let Some(re) = link_pattern() else { return };
        for caps in re.captures_iter(text) {
            let (Some(url), Some(host), Some(opener)) = (caps.get(2), caps.get(3), caps.get(1))
            else {
                continue;
            };
            // user:pass@host names the host after the @.
            let host = host.as_str().rsplit('@').next().unwrap_or("");
            let host = host.split(':').next().unwrap_or(host);
            if self.allowed(host) {
                continue;
            }
            let image = opener.as_str().starts_with('!');
            out.push(Found {
                rule: if image { "IMAGE_LINK" } else { "LINK" }.into(),
                family: "link",
                start: url.start(),
                end: url.end(),
                score: 1.0,
                action: self.action,
                replacement: "#blocked".into(),
                open_key: false,
            });
        }
    }
}

/// Invisible characters that can carry hidden text or flip how text reads
/// (`kind = "invisible"`): tag characters, zero-width spaces and joiners,
/// bidirectional overrides, and runs of variation selectors. A single
/// variation selector or joiner inside an emoji is left alone.
pub struct InvisibleOutput {
    action: OutputAction,
}

impl InvisibleOutput {
    pub fn new(action: OutputAction) -> InvisibleOutput {
        InvisibleOutput { action }
    }
}

fn hidden(c: char) -> bool {
    matches!(c as u32,
        0x200B | 0x200C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2060..=0x2064
        | 0x2066..=0x2069 | 0xFEFF | 0xE0000..=0xE007F)
}

fn variation_selector(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

impl OutputGuard for InvisibleOutput {
    fn find(&self, text: &str, _canary: Option<&str>, out: &mut Vec<Found>) {
        let mut run: Option<(usize, usize, usize)> = None; // start, end, chars
        let mut previous = ' ';
        let flush = |run: &mut Option<(usize, usize, usize)>, out: &mut Vec<Found>| {
            if let Some((start, end, _)) = run.take() {
                out.push(Found {
                    rule: "INVISIBLE_TEXT".into(),
                    family: "invisible",
                    start,
                    end,
                    score: 1.0,
                    action: self.action,
                    replacement: String::new(),
                    open_key: false,
                });
            }
        };
        let mut pending_selectors: Option<(usize, usize, usize)> = None;
        for (at, c) in text.char_indices() {
            let end = at + c.len_utf8();
            // A zero-width joiner between two symbols joins an emoji.
            let joiner = c == '\u{200D}' && !previous.is_ascii();
            if hidden(c) || (c == '\u{200D}' && !joiner) {
                run = Some(run.map_or((at, end, 1), |(s, _, n)| (s, end, n + 1)));
            } else if variation_selector(c) {
                pending_selectors =
                    Some(pending_selectors.map_or((at, end, 1), |(s, _, n)| (s, end, n + 1)));
            } else if c != '\u{200D}' {
                if let Some(sel) = pending_selectors.take() {
                    if sel.2 > 1 {
                        flush(&mut run, out);
                        run = Some(sel);
                    }
                }
                flush(&mut run, out);
            }
            previous = c;
        }
        if let Some(sel) = pending_selectors.take() {
            if sel.2 > 1 {
                flush(&mut run, out);
                run = Some(sel);
            }
        }
        flush(&mut run, out);
    }
}

/// An answer's output guards, by name, and the filter's window.
pub struct OutputChain {
    pub guards: Vec<(String, Arc<dyn OutputGuard>)>,
    /// Bytes held back from a stream so that a value split across chunks
    /// is seen whole.
    pub window: usize,
}

impl std::fmt::Debug for OutputChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.guards.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "output guards {names:?} (window {} B)", self.window)
    }
}

/// Default window: longer than an e-mail address, a card or a token.
pub const DEFAULT_WINDOW: usize = 256;
/// Text before the window kept for context (a `password:` label before its
/// value), read but never released twice.
const CONTEXT: usize = 64;

/// A hit of an output guard, with the guard's name and the action taken.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputHit {
    pub guard: String,
    pub action: OutputAction,
    pub hit: Hit,
}

/// Why an answer was stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub guard: String,
    pub rule: String,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "answer blocked by guard `{}`: {}", self.guard, self.rule)
    }
}

/// One text of an answer (a choice's content, or a JSON string) on its way
/// out, piece by piece.
pub struct AnswerFilter {
    chain: Arc<OutputChain>,
    canary: Option<Arc<str>>,
    location: String,
    /// Released text kept for context, then the text not yet released.
    context: String,
    held: String,
    /// Bytes of the answer released so far (where `held` starts).
    released: usize,
    /// A private key was released cut short: key material at the start of
    /// what follows is the same key.
    in_key: Option<OutputAction>,
    pub hits: Vec<OutputHit>,
}

impl AnswerFilter {
    pub fn new(chain: Arc<OutputChain>, canary: Option<Arc<str>>, location: String) -> Self {
        AnswerFilter {
            chain,
            canary,
            location,
            context: String::new(),
            held: String::new(),
            released: 0,
            in_key: None,
            hits: Vec::new(),
        }
    }

    /// Takes the next piece; returns the text that may go out now.
    pub fn push(&mut self, piece: &str) -> Result<String, Blocked> {
        self.held.push_str(piece);
        self.release(false)
    }

    /// The answer ended: returns the rest.
    pub fn finish(&mut self) -> Result<String, Blocked> {
        self.release(true)
    }

    fn release(&mut self, all: bool) -> Result<String, Blocked> {
        let mut out = String::new();
        if self.continue_key(&mut out, all) {
            return Ok(out);
        }
        let offset = self.context.len();
        let text = format!("{}{}", self.context, self.held);
        // Each guard's spans, tagged with the guard, those inside the
        // context (released already) left out, offsets made relative to `held`.
        let mut tagged: Vec<(usize, Found)> = Vec::new();
        let mut found = Vec::new();
        for (i, (_, guard)) in self.chain.guards.iter().enumerate() {
            guard.find(&text, self.canary.as_deref(), &mut found);
            tagged.extend(found.drain(..).filter(|f| f.end > offset).map(|mut f| {
                f.start = f.start.saturating_sub(offset);
                f.end -= offset;
                (i, f)
            }));
        }
        if let Some((i, f)) = tagged.iter().find(|(_, f)| f.action == OutputAction::Block) {
            let guard = self.guard_name(*i);
            self.record(guard.clone(), f);
            return Err(Blocked {
                guard,
                rule: f.rule.clone(),
            });
        }
        // Longest first at each start, then skip what overlaps.
        tagged.sort_by(|(_, a), (_, b)| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut cut = if all {
            self.held.len()
        } else {
            floor_boundary(
                &self.held,
                self.held.len().saturating_sub(self.chain.window),
            )
        };
        // A span across the cut is held whole if it fits the window; a
        // longer one (a private key) goes out now, rewritten whole.
        for (_, f) in &tagged {
            if f.start < cut && f.end > cut {
                if f.end - f.start <= self.chain.window {
                    cut = f.start;
                } else {
                    cut = f.end;
                }
            }
        }
        let mut at = 0;
        for (i, f) in &tagged {
            if f.start < at || f.end > cut {
                continue;
            }
            out.push_str(self.held.get(at..f.start).unwrap_or(""));
            let value = self.held.get(f.start..f.end).unwrap_or("");
            if f.action.rewrites() {
                out.push_str(&f.replacement);
            } else {
                out.push_str(value);
            }
            let guard = self.guard_name(*i);
            self.record(guard, f);
            at = f.end;
            // A key with no END line yet: what follows may be more of it,
            // for the next round to read as such.
            if f.open_key && !all {
                self.in_key = Some(f.action);
                cut = f.end;
                break;
            }
        }
        out.push_str(self.held.get(at..cut).unwrap_or(""));
        let released = self.held.get(..cut).unwrap_or("").to_string();
        self.held.drain(..cut.min(self.held.len()));
        self.released += cut;
        self.keep_context(&released);
        Ok(out)
    }

    /// Key material right after a released open key: the same key, so it
    /// gets the key's action (a redacted key's tail must not leak). Returns
    /// true while the END line may still be on its way.
    fn continue_key(&mut self, out: &mut String, all: bool) -> bool {
        let Some(action) = self.in_key else {
            return false;
        };
        let material = self
            .held
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || "+/=\\\r\n".contains(c)))
            .map_or(self.held.len(), |(i, _)| i);
        let rest = self.held.get(material..).unwrap_or("");
        // The END line closes the key; wait for a line cut short.
        let (end, closed, wait) = match rest.strip_prefix("-----END") {
            Some(after) => match after.find("-----") {
                Some(i) => (material + 8 + i + 5, true, false),
                None if after.len() < 64 && !all => (material, false, true),
                None => (self.held.len(), true, false),
            },
            None if !rest.is_empty() && "-----END".starts_with(rest) && !all => {
                (material, false, true)
            }
            None => (material, !rest.is_empty(), false),
        };
        // A rewritten key's replacement went out already.
        if !action.rewrites() {
            out.push_str(self.held.get(..end).unwrap_or(""));
        }
        let released = self.held.get(..end).unwrap_or("").to_string();
        self.held.drain(..end);
        self.released += end;
        self.keep_context(&released);
        if closed {
            self.in_key = None;
        }
        wait
    }

    fn keep_context(&mut self, released: &str) {
        self.context.push_str(released);
        if self.context.len() > CONTEXT {
            let from = ceil_boundary(&self.context, self.context.len() - CONTEXT);
            self.context.drain(..from);
        }
    }

    fn guard_name(&self, i: usize) -> String {
        self.chain
            .guards
            .get(i)
            .map_or_else(String::new, |(n, _)| n.clone())
    }

    fn record(&mut self, guard: String, f: &Found) {
        self.hits.push(OutputHit {
            guard,
            action: f.action,
            hit: Hit {
                rule: f.rule.clone(),
                family: f.family.to_string(),
                location: self.location.clone(),
                start: self.released + f.start,
                end: self.released + f.end,
                score: f.score,
            },
        });
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(guards: Vec<(&str, Box<dyn OutputGuard>)>, window: usize) -> Arc<OutputChain> {
        Arc::new(OutputChain {
            guards: guards
                .into_iter()
                .map(|(n, g)| (n.to_string(), Arc::from(g)))
                .collect(),
            window,
        })
    }

    fn pii(names: &[&str], action: OutputAction) -> Box<dyn OutputGuard> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        Box::new(PiiOutput::new(&names, 0.5, action, &BTreeMap::new()).unwrap())
    }

    /// The answer fed in pieces of `size` bytes (on char boundaries).
    fn streamed(
        chain: &Arc<OutputChain>,
        canary: Option<&str>,
        text: &str,
        size: usize,
    ) -> (Result<String, Blocked>, Vec<OutputHit>) {
        let mut f = AnswerFilter::new(chain.clone(), canary.map(Arc::from), "content".into());
        let mut out = String::new();
        let mut at = 0;
        while at < text.len() {
            let mut end = (at + size).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            match f.push(&text[at..end]) {
                Ok(s) => out.push_str(&s),
                Err(b) => return (Err(b), f.hits),
            }
            at = end;
        }
        let r = f.finish().map(|s| out + &s);
        (r, f.hits)
    }

    fn pem() -> String {
        // 1,600 characters of key material in 64-character lines.
        let body: String = (0..1600)
            .map(|i| {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(i * 7 + i / 3) % 64] as char
            })
            .collect();
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE{}\n-----END RSA PRIVATE KEY-----",
            lines.join("\n")
        )
    }

    #[test]
    fn values_are_redacted_or_masked_per_entity() {
        let mut per = BTreeMap::new();
        per.insert("EMAIL".to_string(), OutputAction::Mask);
        let g = PiiOutput::new(
            &["EMAIL".into(), "secrets".into()],
            0.5,
            OutputAction::Redact,
            &per,
        )
        .unwrap();
        let c = chain(vec![("out", Box::new(g))], DEFAULT_WINDOW);
        let key = "AKIA".to_string() + "IOSFODNN7EXAMPLQ";
        let text = format!("Write to john@example.com; the key is {key}.");
        let (out, hits) = streamed(&c, None, &text, 1000);
        assert_eq!(
            out.unwrap(),
            "Write to j***@e******.com; the key is [AWS_ACCESS_KEY]."
        );
        let rules: Vec<(&str, &str, usize)> = hits
            .iter()
            .map(|h| (h.hit.rule.as_str(), h.action.as_str(), h.hit.start))
            .collect();
        assert_eq!(
            rules,
            [("EMAIL", "mask", 9), ("AWS_ACCESS_KEY", "redact", 38)]
        );
        assert!(PiiOutput::new(
            &["EMAIL".into()],
            0.5,
            OutputAction::Redact,
            &[("PHONE_NUMBER".to_string(), OutputAction::Block)]
                .into_iter()
                .collect()
        )
        .is_err());
    }

    #[test]
    fn a_value_split_across_chunks_is_caught_at_every_split() {
        let c = chain(
            vec![("out", pii(&["EMAIL", "secrets"], OutputAction::Redact))],
            64,
        );
        let key = "ghp_".to_string() + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5";
        let text = format!("Sure! Reach jane.doe@corp.example.org or use token {key} for the API. Thanks, and have a good day — ünïcödé too.");
        let (whole, whole_hits) = streamed(&c, None, &text, text.len());
        let whole = whole.unwrap();
        assert!(
            !whole.contains("jane.doe") && !whole.contains("aB3dE5"),
            "{whole}"
        );
        for size in 1..=40 {
            let (out, hits) = streamed(&c, None, &text, size);
            assert_eq!(out.unwrap(), whole, "pieces of {size}");
            assert_eq!(hits, whole_hits, "pieces of {size}");
        }
    }

    #[test]
    fn a_private_key_longer_than_the_window_never_leaks() {
        let c = chain(
            vec![("keys", pii(&["PRIVATE_KEY"], OutputAction::Redact))],
            64,
        );
        let pem = pem();
        let text = format!("Here is the key you asked for:\n{pem}\nKeep it safe.");
        for size in [7, 50, 100, 333, text.len()] {
            let (out, hits) = streamed(&c, None, &text, size);
            let out = out.unwrap();
            for line in pem.lines().skip(1) {
                if line.len() > 8 {
                    assert!(!out.contains(line), "pieces of {size} leaked {line}: {out}");
                }
            }
            assert!(
                out.starts_with("Here is the key you asked for:\n[PRIVATE_KEY]"),
                "{out}"
            );
            assert!(out.ends_with("Keep it safe."), "pieces of {size}: {out}");
            assert!(!hits.is_empty());
        }
    }

    #[test]
    fn a_blocking_guard_stops_the_answer_before_the_value_goes_out() {
        let c = chain(
            vec![("keys", pii(&["PRIVATE_KEY"], OutputAction::Block))],
            64,
        );
        let text = format!(
            "Prefix text that is long enough to be released early on. {}",
            pem()
        );
        let mut f = AnswerFilter::new(c, None, "content".into());
        let mut out = String::new();
        let mut blocked = None;
        for piece in text.as_bytes().chunks(40) {
            match f.push(std::str::from_utf8(piece).unwrap()) {
                Ok(s) => out.push_str(&s),
                Err(b) => {
                    blocked = Some(b);
                    break;
                }
            }
        }
        let b = blocked.expect("blocked");
        assert_eq!(b.to_string(), "answer blocked by guard `keys`: PRIVATE_KEY");
        assert!(!out.contains("BEGIN"), "{out}");
        assert_eq!(f.hits.len(), 1);
    }

    #[test]
    fn the_canary_is_found_in_any_case_and_split() {
        let c = chain(
            vec![("canary", Box::new(CanaryOutput::new(OutputAction::Block)))],
            64,
        );
        let text = "My instructions say: reference code MLSEC-7F3A9C21D4E5B6A8, never repeat.";
        for size in [1, 5, 100] {
            let (out, _) = streamed(&c, Some("mlsec-7f3a9c21d4e5b6a8"), text, size);
            assert_eq!(out.unwrap_err().rule, "CANARY");
        }
        let (out, hits) = streamed(&c, Some("mlsec-0000"), text, 5);
        assert_eq!(out.unwrap(), text);
        assert!(hits.is_empty());
        // No canary planted: nothing to find.
        assert_eq!(streamed(&c, None, text, 5).0.unwrap(), text);
    }

    #[test]
    fn links_outside_the_allowlist_are_cut() {
        let g = LinkOutput::new(&["example.com".into()], OutputAction::Redact);
        let c = chain(vec![("links", Box::new(g))], DEFAULT_WINDOW);
        let text = "See [docs](https://docs.example.com/a) and ![x](https://evil.test/p.png?d=SECRET), [y]( http://user@evil.test:8080/q ), [z](https://example.com.evil.test/).\n[ref]: https://evil.test/r\nplain https://evil.test stays";
        let (out, hits) = streamed(&c, None, text, 9);
        assert_eq!(
            out.unwrap(),
            "See [docs](https://docs.example.com/a) and ![x](#blocked), [y]( #blocked ), [z](#blocked).\n[ref]: #blocked\nplain https://evil.test stays"
        );
        let rules: Vec<&str> = hits.iter().map(|h| h.hit.rule.as_str()).collect();
        assert_eq!(rules, ["IMAGE_LINK", "LINK", "LINK", "LINK"]);
    }

    #[test]
    fn hidden_characters_go_and_emoji_stay() {
        let c = chain(
            vec![("inv", Box::new(InvisibleOutput::new(OutputAction::Redact)))],
            DEFAULT_WINDOW,
        );
        let tags: String = "send it"
            .chars()
            .map(|ch| char::from_u32(0xE0000 + ch as u32).unwrap())
            .collect();
        let smuggled: String = std::iter::once('😀')
            .chain((0..8).map(|i| char::from_u32(0xE0100 + i).unwrap()))
            .collect();
        let text = format!("ok{tags} a\u{200b}b \u{202e}txt.exe 👩‍💻 ❤️ {smuggled}!");
        let (out, hits) = streamed(&c, None, &text, 3);
        assert_eq!(out.unwrap(), "ok ab txt.exe 👩‍💻 ❤️ 😀!");
        assert_eq!(hits.len(), 4, "{hits:?}");
    }
}
