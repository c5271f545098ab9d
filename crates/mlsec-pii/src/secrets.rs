//! Credentials: vendor tokens found by their literal prefixes, PEM blocks,
//! connection-string passwords, and values after context words (password,
//! secret, token, key, bearer, and birth words for dates).

use memchr::memmem;
use regex::Regex;

use crate::classes::{self, Classes};
use crate::scan::{byte_before, dates, lower_before};
use crate::validate::{is_uuid, shannon_entropy};
use crate::{Entity, FieldCtx, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Aws,
    Github,
    Gitlab,
    Slack,
    SlackHook,
    Stripe,
    Google,
    Openai,
    Jwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Vendor(Vendor),
    Pem,
    Url,
    Password,
    /// `strong`: the word alone says the value is a secret (secret, token,
    /// api_key); `key` alone is weak, so hex-only values after it are hashes.
    Secret {
        strong: bool,
    },
    Bearer,
    Birth,
    /// Words before an identity or account number.
    Id(IdKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Passport,
    /// `driver`/`driving`: a licence word must follow.
    Driver,
    /// `DLN`: the number follows.
    License,
    Account,
}

/// Anchor literals: (text, matched case-sensitively, meaning).
const ANCHORS: &[(&str, bool, Anchor)] = &[
    ("AKIA", true, Anchor::Vendor(Vendor::Aws)),
    ("ASIA", true, Anchor::Vendor(Vendor::Aws)),
    ("ghp_", true, Anchor::Vendor(Vendor::Github)),
    ("gho_", true, Anchor::Vendor(Vendor::Github)),
    ("ghu_", true, Anchor::Vendor(Vendor::Github)),
    ("ghs_", true, Anchor::Vendor(Vendor::Github)),
    ("ghr_", true, Anchor::Vendor(Vendor::Github)),
    ("github_pat_", true, Anchor::Vendor(Vendor::Github)),
    ("glpat-", true, Anchor::Vendor(Vendor::Gitlab)),
    ("xoxa-", true, Anchor::Vendor(Vendor::Slack)),
    ("xoxb-", true, Anchor::Vendor(Vendor::Slack)),
    ("xoxp-", true, Anchor::Vendor(Vendor::Slack)),
    ("xoxr-", true, Anchor::Vendor(Vendor::Slack)),
    ("xoxs-", true, Anchor::Vendor(Vendor::Slack)),
    ("xoxe-", true, Anchor::Vendor(Vendor::Slack)),
    ("hooks.slack.com/", true, Anchor::Vendor(Vendor::SlackHook)),
    ("sk_live_", true, Anchor::Vendor(Vendor::Stripe)),
    ("rk_live_", true, Anchor::Vendor(Vendor::Stripe)),
    ("sk_test_", true, Anchor::Vendor(Vendor::Stripe)),
    ("rk_test_", true, Anchor::Vendor(Vendor::Stripe)),
    ("AIza", true, Anchor::Vendor(Vendor::Google)),
    ("sk-", true, Anchor::Vendor(Vendor::Openai)),
    ("eyJ", true, Anchor::Vendor(Vendor::Jwt)),
    ("-----BEGIN ", true, Anchor::Pem),
    ("://", true, Anchor::Url),
    ("password", false, Anchor::Password),
    ("passwd", false, Anchor::Password),
    ("passphrase", false, Anchor::Password),
    ("pwd", false, Anchor::Password),
    ("secret", false, Anchor::Secret { strong: true }),
    ("token", false, Anchor::Secret { strong: true }),
    ("api_key", false, Anchor::Secret { strong: true }),
    ("api-key", false, Anchor::Secret { strong: true }),
    ("apikey", false, Anchor::Secret { strong: true }),
    ("access_key", false, Anchor::Secret { strong: true }),
    ("private_key", false, Anchor::Secret { strong: true }),
    ("credential", false, Anchor::Secret { strong: true }),
    ("auth", false, Anchor::Secret { strong: true }),
    ("key", false, Anchor::Secret { strong: false }),
    ("bearer", false, Anchor::Bearer),
    ("born", false, Anchor::Birth),
    ("dob", false, Anchor::Birth),
    ("d.o.b", false, Anchor::Birth),
    ("birth", false, Anchor::Birth),
    ("birthday", false, Anchor::Birth),
    ("geburtsdatum", false, Anchor::Birth),
    ("date de naissance", false, Anchor::Birth),
    ("passport", false, Anchor::Id(IdKind::Passport)),
    ("driver", false, Anchor::Id(IdKind::Driver)),
    ("driving", false, Anchor::Id(IdKind::Driver)),
    ("dln", false, Anchor::Id(IdKind::License)),
    ("account", false, Anchor::Id(IdKind::Account)),
    ("acct", false, Anchor::Id(IdKind::Account)),
];

/// Longest vendor token we look at; windows never exceed these, so each
/// anchor costs bounded time.
const TOKEN_WINDOW: usize = 1024;
const JWT_WINDOW: usize = 12 * 1024;
const PEM_MAX: usize = 64 * 1024;

pub(crate) struct Secrets {
    /// For each lower-cased first byte, the range of [`Secrets::prefixes`]
    /// holding the anchors that start with it.
    by_first: [(u8, u8); 256],
    /// The first two bytes of every anchor, folded (bit `b0 << 8 | b1` of a
    /// 65,536-bit set): most word starts fail this one test.
    pairs: Vec<u64>,
    /// Anchors grouped by first byte, longest first within a group.
    prefixes: Vec<Prefix>,
    vendors: Vec<(Vendor, Regex)>,
}

/// An anchor's first four bytes (fewer for shorter literals) folded as
/// [`fold4`] folds text, with a mask over the bytes it has: a quick filter
/// before the exact comparison.
struct Prefix {
    folded: u32,
    mask: u32,
    anchor: usize,
}

/// Two bytes folded as [`fold4`] folds them, as a 16-bit number.
fn pair(first: u8, second: u8) -> usize {
    usize::from(first | 0x20) << 8 | usize::from(second | 0x20)
}

/// Four bytes with bit 5 set in each: upper-case letters become lower-case.
/// Some punctuation folds onto other bytes too, so a match is only a filter.
fn fold4(bytes: &[u8]) -> u32 {
    let four = match bytes.first_chunk::<4>() {
        Some(four) => *four,
        None => {
            let mut four = [0u8; 4];
            for (f, b) in four.iter_mut().zip(bytes) {
                *f = *b;
            }
            four
        }
    };
    u32::from_le_bytes(four) | 0x2020_2020
}

fn compile(pattern: &str) -> Regex {
    // Constant patterns; a failure is a bug every test catches.
    Regex::new(pattern).unwrap_or_else(|e| panic!("secret pattern {pattern}: {e}"))
}

impl Secrets {
    pub(crate) fn new() -> Secrets {
        // (index in ANCHORS, literal, its first byte lower-cased).
        let mut order: Vec<(usize, &[u8], u8)> = ANCHORS
            .iter()
            .enumerate()
            .map(|(i, (literal, ..))| {
                let literal = literal.as_bytes();
                let first = literal.first().map_or(0, u8::to_ascii_lowercase);
                (i, literal, first)
            })
            .collect();
        order.sort_by_key(|&(_, literal, first)| (first, std::cmp::Reverse(literal.len())));
        let mut by_first = [(0u8, 0u8); 256];
        let mut pairs = vec![0u64; 1 << 10];
        let mut prefixes = Vec::with_capacity(order.len());
        for (at, &(i, literal, first)) in order.iter().enumerate() {
            // Every literal has two bytes or more, and a pair is < 2^16.
            if let &[b0, b1, ..] = literal {
                let pair = pair(b0, b1);
                if let Some(bits) = pairs.get_mut(pair / 64) {
                    *bits |= 1 << (pair % 64);
                }
            }
            if let Some(group) = by_first.get_mut(usize::from(first)) {
                if group.1 == 0 {
                    group.0 = at as u8;
                }
                group.1 += 1;
            }
            let mask = u32::MAX >> (8 * (4 - literal.len().min(4)));
            prefixes.push(Prefix {
                folded: fold4(literal) & mask,
                mask,
                anchor: i,
            });
        }
        let vendors = vec![
            (Vendor::Aws, compile(r"^(?:AKIA|ASIA)[A-Z0-9]{16}")),
            (
                Vendor::Github,
                compile(r"^(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,242})"),
            ),
            (Vendor::Gitlab, compile(r"^glpat-[A-Za-z0-9_-]{20,64}")),
            (
                Vendor::Slack,
                compile(r"^xox[abeprs]-[0-9A-Za-z]{1,20}-[0-9A-Za-z-]{8,250}"),
            ),
            (
                Vendor::SlackHook,
                compile(
                    r"^hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,200}",
                ),
            ),
            (
                Vendor::Stripe,
                compile(r"^[rs]k_(?:live|test)_[A-Za-z0-9]{16,247}"),
            ),
            (Vendor::Google, compile(r"^AIza[0-9A-Za-z_-]{35}")),
            (
                Vendor::Openai,
                compile(r"^sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,250}"),
            ),
            (
                Vendor::Jwt,
                compile(r"^eyJ[A-Za-z0-9_-]{8,4000}\.[A-Za-z0-9_-]{2,8000}\.[A-Za-z0-9_-]{0,2000}"),
            ),
        ];
        Secrets {
            by_first,
            pairs,
            prefixes,
            vendors,
        }
    }

    /// The longest anchor literal starting at `s`: its end and meaning.
    fn anchor_at(&self, b: &[u8], s: usize) -> Option<(usize, Anchor)> {
        // Every anchor has at least three bytes.
        let rest = b.get(s..)?;
        let &[b0, b1, ..] = rest else {
            return None;
        };
        let pair = pair(b0, b1);
        if self.pairs.get(pair / 64)? & (1 << (pair % 64)) == 0 {
            return None;
        }
        let (from, len) = *self.by_first.get(usize::from(b0.to_ascii_lowercase()))?;
        if len == 0 {
            return None;
        }
        let folded = fold4(rest);
        let group = self
            .prefixes
            .get(usize::from(from)..usize::from(from) + usize::from(len))?;
        group.iter().find_map(|p| {
            if folded & p.mask != p.folded {
                return None;
            }
            let (literal, case_sensitive, anchor) = *ANCHORS.get(p.anchor)?;
            let window = rest.get(..literal.len())?;
            let found = if case_sensitive {
                window == literal.as_bytes()
            } else {
                window.eq_ignore_ascii_case(literal.as_bytes())
            };
            found.then_some((s + literal.len(), anchor))
        })
    }

    /// Every anchor in `text`, left to right, not overlapping. Anchors are
    /// only looked for where [`Classes::anchor`] says a word (or `://`, or a
    /// dash run) starts: every anchor is rejected elsewhere anyway.
    pub(crate) fn scan(
        &self,
        text: &str,
        cls: &Classes,
        ctx: &FieldCtx,
        date_re: &Regex,
        out: &mut Vec<Span>,
    ) {
        let b = text.as_bytes();
        let mut pem_end = PemEnd::default();
        let mut done = 0;
        for s in classes::iter(cls.anchor()) {
            if s < done {
                continue;
            }
            let Some((e, anchor)) = self.anchor_at(b, s) else {
                continue;
            };
            done = e;
            match anchor {
                Anchor::Vendor(vendor) => self.vendor(text, s, vendor, ctx, out),
                Anchor::Pem => pem(b, s, &mut pem_end, out),
                Anchor::Url => {
                    url_password(b, s, out);
                    url(b, s, out);
                }
                Anchor::Id(kind) => {
                    if keyword_start(b, s) {
                        id_value(b, e, kind, out);
                    }
                }
                Anchor::Birth => {
                    if keyword_start(b, s)
                        && !b
                            .get(e)
                            .is_some_and(|c| c.is_ascii_alphabetic() && !b"dD".contains(c))
                    {
                        let to = window_end(text, e, 48, true);
                        if let Some((ds, de)) = first_date_window(text, e, to) {
                            dates(date_re, text, ds, de, 0.9, out);
                        }
                    }
                }
                Anchor::Password | Anchor::Secret { .. } | Anchor::Bearer => {
                    if keyword_start(b, s) {
                        keyword_value(b, s, e, anchor, ctx, out);
                    }
                }
            }
        }
    }

    fn vendor(&self, text: &str, s: usize, vendor: Vendor, ctx: &FieldCtx, out: &mut Vec<Span>) {
        let b = text.as_bytes();
        if byte_before(b, s)
            .is_some_and(|c| c.is_ascii_alphanumeric() || (vendor == Vendor::Openai && c == b'-'))
        {
            return;
        }
        let Some(re) = self
            .vendors
            .iter()
            .find(|(v, _)| *v == vendor)
            .map(|(_, re)| re)
        else {
            return;
        };
        let window_len = if vendor == Vendor::Jwt {
            JWT_WINDOW
        } else {
            TOKEN_WINDOW
        };
        let Some(window) = text.get(s..window_end(text, s, window_len, false)) else {
            return;
        };
        let Some(m) = re.find(window) else {
            return;
        };
        let end = s + m.end();
        let continues = |extra: &[u8]| {
            b.get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        };
        let Some(token) = b.get(s..end) else {
            return;
        };
        let (entity, start, conf) = match vendor {
            Vendor::Aws => {
                if continues(b"") {
                    return;
                }
                let aws_context = ctx.aws || lower_before(b, s, 64).contains("aws");
                (
                    Entity::AwsAccessKey,
                    s,
                    if aws_context { 0.95 } else { 0.9 },
                )
            }
            Vendor::Github | Vendor::Stripe => {
                if continues(b"_") {
                    return;
                }
                (
                    if vendor == Vendor::Github {
                        Entity::GithubToken
                    } else {
                        Entity::StripeKey
                    },
                    s,
                    0.9,
                )
            }
            Vendor::Gitlab | Vendor::Google | Vendor::Slack => {
                if continues(b"_-") {
                    return;
                }
                let entity = match vendor {
                    Vendor::Gitlab => Entity::GitlabToken,
                    Vendor::Google => Entity::GoogleApiKey,
                    _ => Entity::SlackToken,
                };
                (entity, s, 0.9)
            }
            Vendor::SlackHook => {
                let start = ["https://", "http://"]
                    .iter()
                    .find(|p| {
                        b.get(..s)
                            .is_some_and(|before| before.ends_with(p.as_bytes()))
                    })
                    .map_or(s, |p| s - p.len());
                (Entity::SlackToken, start, 0.95)
            }
            Vendor::Openai => {
                // After `sk-` (the pattern's start).
                let body = token.get(3..).unwrap_or_default();
                let random = body.iter().any(u8::is_ascii_uppercase)
                    && body.iter().any(u8::is_ascii_lowercase)
                    && body.iter().any(u8::is_ascii_digit);
                if continues(b"_-") || !random {
                    return;
                }
                (Entity::OpenaiKey, s, 0.9)
            }
            Vendor::Jwt => {
                if continues(b"_-.") || !jwt_header_ok(token) {
                    return;
                }
                (Entity::Jwt, s, 0.95)
            }
        };
        out.push(Span {
            entity,
            start,
            end,
            confidence: conf,
        });
    }
}

/// The largest char boundary <= `from + len` (and <= text length); with
/// `line`, also stop at the first newline.
fn window_end(text: &str, from: usize, len: usize, line: bool) -> usize {
    let mut end = from.saturating_add(len).min(text.len());
    if line {
        if let Some(nl) = text
            .as_bytes()
            .get(from..end)
            .and_then(|w| memchr::memchr(b'\n', w))
        {
            end = from + nl;
        }
    }
    while end > from && !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// From a birth word to the end of its window, as long as the window is
/// still about that word (a second sentence or field is not).
fn first_date_window(text: &str, from: usize, to: usize) -> Option<(usize, usize)> {
    let w = text.as_bytes().get(from..to)?;
    let stop = w
        .iter()
        .position(|&c| c == b';' || c == b'|')
        .unwrap_or(w.len());
    Some((from, from + stop))
}

/// A context word starts a word: not preceded by a letter, except at a
/// camelCase boundary (`accessToken`).
fn keyword_start(b: &[u8], s: usize) -> bool {
    match s.checked_sub(1).and_then(|p| b.get(p)) {
        None => true,
        Some(p) if p.is_ascii_lowercase() => b.get(s).is_some_and(u8::is_ascii_uppercase),
        Some(p) => !p.is_ascii_alphabetic(),
    }
}

/// Decode a base64url JWT header and check it is a JSON object naming "alg".
fn jwt_header_ok(token: &[u8]) -> bool {
    let header = token.split(|&c| c == b'.').next().unwrap_or_default();
    let header = header.get(..1024).unwrap_or(header);
    let mut decoded = Vec::with_capacity(header.len());
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in header {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            decoded.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let json = String::from_utf8_lossy(&decoded);
    json.trim_start().starts_with('{') && json.contains("\"alg\"")
}

/// Where the next `-----END ` is, searched once per scan and reused.
#[derive(Default)]
struct PemEnd {
    searched_from: Option<usize>,
    found: Option<usize>,
}

impl PemEnd {
    fn next_after(&mut self, b: &[u8], pos: usize) -> Option<usize> {
        if let Some(from) = self.searched_from {
            match self.found {
                Some(q) if q >= pos => return Some(q),
                None if from <= pos => return None,
                _ => {}
            }
        }
        self.searched_from = Some(pos);
        self.found = memmem::find(b.get(pos..)?, b"-----END ").map(|q| q + pos);
        self.found
    }
}

/// A PEM private key block (`RSA`, `EC`, `DSA`, `OPENSSH`, `ENCRYPTED` or
/// plain `PRIVATE KEY`, and PGP's `PGP PRIVATE KEY BLOCK`): from its BEGIN
/// line through the matching END line, or, where that line is missing (a
/// truncated cell, a log line, a chat paste) or belongs to another block,
/// through the key material after the BEGIN line (see [`key_material`]). A
/// BEGIN line with no material after it is a mention, not a key.
fn pem(b: &[u8], s: usize, ends: &mut PemEnd, out: &mut Vec<Span>) {
    let label_start = s + "-----BEGIN ".len();
    let Some(head) = b.get(label_start..(label_start + 64).min(b.len())) else {
        return;
    };
    let Some(label) = memmem::find(head, b"-----").and_then(|n| head.get(..n)) else {
        return;
    };
    let label_len = label.len();
    if !(label.ends_with(b"PRIVATE KEY") || label.ends_with(b"PRIVATE KEY BLOCK")) {
        return;
    }
    let body = label_start + label_len + 5;
    let push = |end, confidence, out: &mut Vec<Span>| {
        out.push(Span {
            entity: Entity::PrivateKey,
            start: s,
            end,
            confidence,
        })
    };
    if let Some(end_at) = ends.next_after(b, body).filter(|&e| e - s <= PEM_MAX) {
        let tail = end_at + "-----END ".len();
        let closing_ok = b.get(tail..tail + label_len).is_some_and(|l| l == label)
            && b.get(tail + label_len..tail + label_len + 5) == Some(b"-----".as_slice());
        if closing_ok {
            push(tail + label_len + 5, 0.95, out);
            return;
        }
    }
    if let Some(end) = key_material(b, body, b.len().min(s + PEM_MAX)) {
        push(end, 0.9, out);
    }
}

/// Base64 characters of a key in the first line, and in all: less is a
/// mention or the fixed ASN.1 start every key of a kind shares
/// (`MIIEpAIBAAKCAQEA`), not key material.
const MIN_KEY_LINE: usize = 16;
const MIN_KEY_MATERIAL: usize = 32;

/// The end of the key material starting at `from` (right after a BEGIN
/// line), before `limit`, or None when there is too little of it.
///
/// The material is base64 lines, broken by real line breaks, escaped ones
/// (`\n` in a JSON string, `\r\n`), spaces (a key pasted into one line), or
/// not broken at all; encapsulated headers (`Proc-Type: 4,ENCRYPTED`,
/// `DEK-Info: ...`, PGP's `Version: ...`) may come first. Every line of a PEM
/// body but the last has the width of the first (64; 70 for OpenSSH): a
/// shorter line is the last one, and a token that is not base64 ends the
/// material. Prose after a BEGIN line fails on its first word (shorter than
/// a line, or not base64). Linear: each byte is looked at once.
fn key_material(b: &[u8], from: usize, limit: usize) -> Option<usize> {
    let (mut j, mut end, mut width, mut total, mut headers) = (from, from, 0, 0, 0);
    loop {
        j = skip_breaks(b, j, limit);
        if total == 0 && headers < 8 && encapsulated_header(b.get(j..limit).unwrap_or_default()) {
            j = line_end(b, j, limit)?;
            headers += 1;
            continue;
        }
        let (chunk_end, len) = base64_run(b, j, limit);
        // A word that goes on (`key.`, `user=bob`, `é`) is text, not a line of a key.
        let next = b.get(chunk_end).filter(|_| chunk_end < limit);
        let ends_token = next
            .is_none_or(|&c| !(c.is_ascii_alphanumeric() || c >= 0x80 || b"._:@!?=".contains(&c)));
        if len == 0 || !ends_token || (total > 0 && len > width) {
            break;
        }
        if total == 0 {
            if len < MIN_KEY_LINE {
                return None;
            }
            width = len;
        }
        total += len;
        end = chunk_end;
        j = chunk_end;
        if len < width {
            break;
        }
    }
    (total >= MIN_KEY_MATERIAL).then_some(end)
}

/// Past line breaks between the lines of a key: whitespace, and escaped
/// breaks (`\n`, `\r`, with any number of backslashes).
fn skip_breaks(b: &[u8], mut j: usize, limit: usize) -> usize {
    let b = b.get(..limit).unwrap_or(b);
    while let Some(&c) = b.get(j) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => j += 1,
            b'\\' => {
                let mut k = j;
                while b.get(k) == Some(&b'\\') {
                    k += 1;
                }
                if matches!(b.get(k), Some(b'n' | b'r')) {
                    j = k + 1;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    j
}

/// A run of base64 from `j` (an escaped slash `\/` counts as one
/// character), with at most two `=` of padding at its end: where it ends
/// and how many characters it has.
fn base64_run(b: &[u8], mut j: usize, limit: usize) -> (usize, usize) {
    let b = b.get(..limit).unwrap_or(b);
    let mut len = 0;
    while let Some(&c) = b.get(j) {
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            j += 1;
        } else if c == b'\\' && b.get(j + 1) == Some(&b'/') {
            j += 2;
        } else {
            break;
        }
        len += 1;
    }
    let mut pad = 0;
    while len > 0 && pad < 2 && b.get(j) == Some(&b'=') {
        j += 1;
        len += 1;
        pad += 1;
    }
    (j, len)
}

/// `Name: ` at the start of `w`, as RFC 1421 and OpenPGP armor headers are.
fn encapsulated_header(w: &[u8]) -> bool {
    let name = w
        .iter()
        .take(32)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
        .count();
    name > 0
        && w.first().is_some_and(u8::is_ascii_alphabetic)
        && w.get(name..name + 2) == Some(b": ".as_slice())
}

/// Just past the end of the line at `j` (a line break or an escaped one),
/// within a header's length.
fn line_end(b: &[u8], j: usize, limit: usize) -> Option<usize> {
    let w = b.get(j..limit.min(j + 256))?;
    w.iter()
        .enumerate()
        .find_map(|(k, &c)| match c {
            b'\n' => Some(k + 1),
            b'\\' if matches!(w.get(k + 1), Some(b'n')) => Some(k + 2),
            _ => None,
        })
        .map(|k| j + k)
}

/// Values that stand for a password rather than being one.
fn placeholder(v: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    let first = v.first().copied().unwrap_or(b'*');
    // `${VAR}`, `{{var}}`, `<password>`, `%(password)s`, `%PASSWORD%`, `****`.
    matches!(first, b'$' | b'{' | b'<' | b'*' | b'[' | b'(')
        || (first == b'%' && (v.get(1) == Some(&b'(') || v.last() == Some(&b'%')))
        || v.iter().all(|&c| c == first)
        || [
            "null",
            "none",
            "nil",
            "true",
            "false",
            "password",
            "passwd",
            "secret",
            "redacted",
            "hidden",
            "xxxx",
            "xxxxxx",
            "xxxxxxxx",
            "required",
            "optional",
            "string",
            "undefined",
            "example",
        ]
        .contains(&lower.as_str())
        || lower.chars().all(|c| c == 'x' || c == '*')
}

fn password_ok(v: &[u8], in_column: bool) -> bool {
    let min = if in_column { 4 } else { 6 };
    if !(min..=128).contains(&v.len())
        || placeholder(v)
        || v.iter().any(|c| c.is_ascii_whitespace())
    {
        return false;
    }
    // Prose after "password:" is lower-case words; a password mixes in something else.
    in_column || v.iter().any(|c| !c.is_ascii_lowercase())
}

fn aws_secret_shaped(v: &[u8]) -> bool {
    v.len() == 40
        && v.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'+'))
        && v.iter().any(u8::is_ascii_uppercase)
        && v.iter().any(u8::is_ascii_lowercase)
        && v.iter()
            .any(|c| c.is_ascii_digit() || matches!(c, b'/' | b'+'))
}

/// A high-entropy token: long enough, mixed classes, not a UUID, number, path or hash (unless `strong`).
fn generic_ok(v: &[u8], strong: bool, min_len: usize) -> bool {
    if !(min_len..=256).contains(&v.len())
        || !v.iter().all(|c| c.is_ascii_graphic())
        || is_uuid(v)
        || placeholder(v)
        || (v.contains(&b'/') && v.contains(&b'.'))
        || v.contains(&b':')
        || memmem::find(v, b"://").is_some()
    {
        return false;
    }
    let lower = v.iter().any(u8::is_ascii_lowercase);
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let digit = v.iter().any(u8::is_ascii_digit);
    let entropy = shannon_entropy(v);
    if v.iter().all(u8::is_ascii_hexdigit) {
        return strong && digit && (lower || upper) && entropy >= 3.0;
    }
    let threshold = if v.len() >= 20 { 3.5 } else { 3.2 };
    let mixed = (digit && (lower || upper)) || (lower && upper && v.len() >= 24);
    mixed && entropy >= threshold
}

/// Suffixes of a key name that make its value metadata about a secret, not the secret.
const NOT_SECRET_NAMES: &[&str] = &[
    "hash",
    "sha",
    "md5",
    "digest",
    "checksum",
    "fingerprint",
    "_id",
    "id\"",
    "_type",
    "_name",
    "_url",
    "count",
    "length",
    "_len",
    "expir",
    "file",
    "path",
    "_ttl",
    "size",
    "limit",
    "usage",
];

/// The value after a context word: `word[_more]["']? (:|=|:=|=>) ["']? VALUE`.
fn keyword_value(
    b: &[u8],
    s: usize,
    e: usize,
    anchor: Anchor,
    ctx: &FieldCtx,
    out: &mut Vec<Span>,
) {
    let n = b.len();
    let mut j = e;
    while j - e < 40
        && b.get(j)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        j += 1;
    }
    let ident = String::from_utf8_lossy(b.get(e..j).unwrap_or_default()).to_ascii_lowercase();
    if NOT_SECRET_NAMES.iter().any(|w| ident.contains(w))
        || (anchor == Anchor::Bearer && !ident.is_empty())
    {
        return;
    }
    let skip = |j: &mut usize, set: &[u8], max: usize| {
        let start = *j;
        while *j - start < max && b.get(*j).is_some_and(|c| set.contains(c)) {
            *j += 1;
        }
    };
    skip(&mut j, b"\"'` \t", 4);
    if anchor == Anchor::Bearer {
        if j == e {
            return;
        }
    } else {
        let sep_start = j;
        skip(&mut j, b":=>", 2);
        if j == sep_start {
            return;
        }
    }
    skip(&mut j, b" \t", 8);
    skip(&mut j, b"\"'`", 1);
    let vs = j;
    while j - vs <= 256
        && b.get(j)
            .is_some_and(|c| !c.is_ascii_whitespace() && !b"\"'`,;&<>(){}[]|\\".contains(c))
    {
        j += 1;
    }
    let mut ve = j;
    while ve > vs && byte_before(b, ve) == Some(b'.') {
        ve -= 1;
    }
    let Some(value) = b.get(vs..ve) else {
        return;
    };
    if value.is_empty() || (j < n && j - vs > 256) {
        return;
    }
    let push = |entity, confidence, out: &mut Vec<Span>| {
        out.push(Span {
            entity,
            start: vs,
            end: ve,
            confidence,
        })
    };
    match anchor {
        Anchor::Password if password_ok(value, false) => push(Entity::Password, 0.8, out),
        Anchor::Secret { strong } => {
            let aws = ctx.aws || ident.contains("aws") || lower_before(b, s, 64).contains("aws");
            if aws && aws_secret_shaped(value) {
                push(Entity::AwsSecretKey, 0.95, out);
            } else if generic_ok(value, strong, 16) {
                push(Entity::GenericSecret, 0.7, out);
            }
        }
        Anchor::Bearer if generic_ok(value, true, 16) => push(Entity::GenericSecret, 0.7, out),
        _ => {}
    }
}

/// The password of `scheme://user:password@host`.
fn url_password(b: &[u8], hit: usize, out: &mut Vec<Span>) {
    let mut s = hit;
    while hit - s < 32
        && byte_before(b, s)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
    {
        s -= 1;
    }
    if hit - s < 2 {
        return;
    }
    let u = hit + 3;
    let mut j = u;
    let mut at = None;
    // Raw `#` and `?` do occur in pasted DSN passwords; the last `@` before a
    // path, space or quote ends the userinfo.
    while j - u < 256 {
        let Some(&c) = b
            .get(j)
            .filter(|c| !c.is_ascii_whitespace() && !b"/\"'<>".contains(c))
        else {
            break;
        };
        if c == b'@' {
            at = Some(j);
        }
        j += 1;
    }
    let Some(at) = at else { return };
    let Some(userinfo) = b.get(u..at) else {
        return;
    };
    let Some(colon) = userinfo.iter().position(|&c| c == b':').map(|p| u + p) else {
        return;
    };
    let Some(password) = b.get(colon + 1..at) else {
        return;
    };
    let host_ok = b
        .get(at + 1)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'[');
    if host_ok && !password.is_empty() && !placeholder(password) {
        out.push(Span {
            entity: Entity::Password,
            start: colon + 1,
            end: at,
            confidence: 0.9,
        });
    }
}

/// Schemes whose URLs are reported (others are connection strings).
const URL_SCHEMES: &[&[u8]] = &[b"http", b"https", b"ftp", b"ftps", b"ws", b"wss"];

/// A URL around the `://` at `hit`: scheme, host, path, query, without
/// trailing punctuation. One with a password in it is that PASSWORD instead.
fn url(b: &[u8], hit: usize, out: &mut Vec<Span>) {
    let mut s = hit;
    while hit - s < 6 && byte_before(b, s).is_some_and(|c| c.is_ascii_alphabetic()) {
        s -= 1;
    }
    if byte_before(b, s).is_some_and(|c| c.is_ascii_alphanumeric() || c == b'+') {
        return;
    }
    let Some(scheme) = b.get(s..hit) else {
        return;
    };
    if !URL_SCHEMES.iter().any(|x| x.eq_ignore_ascii_case(scheme)) {
        return;
    }
    let h = hit + 3;
    if !b
        .get(h)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'[')
    {
        return;
    }
    let mut e = h;
    while e - h < 2048
        && b.get(e)
            .is_some_and(|&c| !c.is_ascii_whitespace() && !b"\"'<>`\\|{}^".contains(&c) && c < 0x80)
    {
        e += 1;
    }
    // Userinfo with a password: reported as PASSWORD by `url_password`.
    let after_scheme = b.get(h..e).unwrap_or_default();
    let host = after_scheme
        .split(|&c| c == b'/')
        .next()
        .unwrap_or_default();
    if let Some(at) = host.iter().rposition(|&c| c == b'@') {
        if host
            .get(..at)
            .is_some_and(|userinfo| userinfo.contains(&b':'))
        {
            return;
        }
    }
    while e > h {
        let Some(last) = byte_before(b, e).filter(|c| b".,;:!?)]'".contains(c)) else {
            break;
        };
        // Keep a closing parenthesis that closes one inside the URL.
        let part = b.get(h..e).unwrap_or_default();
        if last == b')'
            && part.iter().filter(|&&c| c == b'(').count()
                >= part.iter().filter(|&&c| c == b')').count()
        {
            break;
        }
        e -= 1;
    }
    if e - h >= 3 {
        out.push(Span {
            entity: Entity::Url,
            start: s,
            end: e,
            confidence: 0.9,
        });
    }
}

/// The identity or account number after `passport`, `driver's licence`,
/// `DLN`, `account`/`acct`: within 40 bytes and 5 words (`number`, `no.`,
/// `#`, `is`, ...), the first token holding a digit, validated by shape.
/// Without these words such numbers are digit runs like any other and are
/// not reported.
fn id_value(b: &[u8], e: usize, kind: IdKind, out: &mut Vec<Span>) {
    let mut j = e;
    let mut words = 0;
    let mut licence_word = kind != IdKind::Driver;
    let limit = (e + 48).min(b.len());
    let vs = loop {
        if j >= limit {
            return;
        }
        let Some(&c) = b.get(j) else {
            return;
        };
        if c.is_ascii_digit()
            || (c.is_ascii_uppercase() && b.get(j + 1).is_some_and(u8::is_ascii_digit))
        {
            break j;
        }
        if c.is_ascii_alphabetic() {
            let ws = j;
            while j < limit
                && b.get(j)
                    .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'\'')
            {
                j += 1;
            }
            let w = String::from_utf8_lossy(b.get(ws..j).unwrap_or_default()).to_ascii_lowercase();
            if w.starts_with("lic") || w == "dl" || w == "dln" || w == "permit" {
                licence_word = true;
            }
            if w == "routing" || w == "id" || w == "ids" {
                return;
            }
            words += 1;
            if words > 5 {
                return;
            }
            continue;
        }
        let sentence_end = c == b'.'
            && b.get(j + 1) == Some(&b' ')
            && b.get(j + 2).is_some_and(u8::is_ascii_uppercase)
            && b.get(j + 3).is_some_and(u8::is_ascii_lowercase);
        if matches!(c, b'\n' | b';' | b'|') || sentence_end {
            return;
        }
        j += 1;
    };
    if !licence_word {
        return;
    }
    let mut ve = vs;
    while ve - vs <= 24
        && b.get(ve).is_some_and(|&c| {
            c.is_ascii_alphanumeric()
                || (c == b'-' && b.get(ve + 1).is_some_and(u8::is_ascii_alphanumeric))
        })
    {
        ve += 1;
    }
    if b.get(ve)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'@')
    {
        return;
    }
    let Some(v) = b.get(vs..ve) else {
        return;
    };
    let entity = match kind {
        IdKind::Passport if crate::scan::passport_shaped(v) => Entity::UsPassport,
        IdKind::Driver | IdKind::License if crate::scan::license_shaped(v) => {
            Entity::UsDriverLicense
        }
        IdKind::Account if crate::scan::bank_shaped(v) => Entity::UsBankNumber,
        _ => return,
    };
    out.push(Span {
        entity,
        start: vs,
        end: ve,
        confidence: 0.8,
    });
}

/// The whole value of a password or secret column.
#[inline]
pub(crate) fn whole_field(text: &str, ctx: &FieldCtx, out: &mut Vec<Span>) {
    // The test inline, the work out of line: most columns are neither.
    if ctx.password || ctx.secret {
        secret_field(text, ctx, out);
    }
}

fn secret_field(text: &str, ctx: &FieldCtx, out: &mut Vec<Span>) {
    let trimmed = text.trim().trim_matches(|c| c == '"' || c == '\'');
    if trimmed.is_empty() || trimmed.len() > 256 {
        return;
    }
    // Non-empty `trimmed` lies inside `text`; find its offset by pointer distance.
    let start = trimmed.as_ptr() as usize - text.as_ptr() as usize;
    let end = start + trimmed.len();
    let v = trimmed.as_bytes();
    if v.iter().any(u8::is_ascii_whitespace) {
        return;
    }
    let (entity, confidence) = if ctx.aws && aws_secret_shaped(v) {
        (Entity::AwsSecretKey, 0.95)
    } else if ctx.password && password_ok(v, true) {
        (Entity::Password, 0.7)
    } else if ctx.secret && generic_ok(v, true, 12) {
        (Entity::GenericSecret, 0.7)
    } else {
        return;
    };
    out.push(Span {
        entity,
        start,
        end,
        confidence,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_found_at_every_case_and_nowhere_else() {
        let secrets = Secrets::new();
        for (literal, case_sensitive, _) in ANCHORS {
            let upper = literal.to_ascii_uppercase();
            for (text, found) in [
                (literal.to_string(), true),
                (upper.clone(), !case_sensitive || upper == *literal),
                (literal[..2].to_string(), false),
            ] {
                let at = secrets.anchor_at(text.as_bytes(), 0);
                assert_eq!(at.is_some(), found, "{text:?}");
                if found {
                    assert_eq!(at.map(|(e, _)| e), Some(literal.len()), "{text:?}");
                }
            }
        }
        // Words sharing a first letter or two with an anchor are not one.
        for word in ["the", "took", "pass", "access", "keys", "sk_", "auto"] {
            let found = secrets.anchor_at(word.as_bytes(), 0);
            assert!(found.is_none() || word == "keys", "{word}");
        }
    }

    #[test]
    fn every_anchor_starts_where_the_classes_look() {
        for (literal, _, _) in ANCHORS {
            let first = literal.as_bytes()[0];
            assert!(
                crate::classes::starts_anchor(first) || matches!(first, b':' | b'-'),
                "{literal}: add its first letter to classes::starts_anchor"
            );
            // Starts followed by a digit are not marked (classes::no_digit_next).
            assert!(
                !literal.as_bytes()[1].is_ascii_digit(),
                "{literal}: a digit second"
            );
        }
    }
}
