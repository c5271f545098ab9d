//! PII and secret detection for text: validated entities, typed spans, masked previews.
//!
//! This crate does no I/O. Give it a string (a CSV cell, a JSONL value, a line
//! of a log, a request body) and, optionally, the name of the field it came
//! from; get back [`Span`]s with byte offsets, an [`Entity`] and a confidence.
//! `mlsec data pii` and `mlsec data redact` are built on it, and the gateway
//! calls it per request, so a [`Detector`] is built once and shared
//! (`Send + Sync`).
//!
//! # Entities
//!
//! | Name | What is detected |
//! |---|---|
//! | `EMAIL` | e-mail address (RFC 5321 shape, dotted domain, alphabetic TLD) |
//! | `PHONE` | +CC / 00CC international numbers (E.164, assigned country code) and national US/NANP, UK, DE, FR, IN formats; bare digit runs only in a phone column; never a decimal number (`0.0567809958231964`: digits after a decimal point are a fraction) |
//! | `CREDIT_CARD` | card number passing Luhn and an issuer's prefix and length (Visa, Mastercard incl. 2-series, Amex, Discover, JCB, Diners, UnionPay, Maestro); spaces or dashes allowed |
//! | `IBAN` | IBAN with the registered length of its country and valid mod-97 check digits |
//! | `US_SSN` | `123-45-6789` with area 000/666/9xx, group 00, serial 0000 and published sample numbers excluded; spaced or bare 9 digits only next to SSN words or in an SSN column |
//! | `IP_ADDRESS` | IPv4 and IPv6 parsed by `std::net`; an IPv4 right after version/release/build/firmware is a version string and is skipped |
//! | `DATE_OF_BIRTH` | a valid calendar date after born/DOB/date of birth/birthday, or any date in a dob/birth column; other dates are never reported |
//! | `AWS_ACCESS_KEY` | `AKIA`/`ASIA` + 16 upper-case alphanumerics |
//! | `AWS_SECRET_KEY` | 40 base64 characters after an aws/secret word, or in an aws secret column |
//! | `GITHUB_TOKEN` | `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 or more, `github_pat_` |
//! | `GITLAB_TOKEN` | `glpat-` personal access tokens |
//! | `SLACK_TOKEN` | `xoxb-`/`xoxp-`/`xoxa-`/`xoxr-`/`xoxs-` tokens and `hooks.slack.com` webhook URLs |
//! | `STRIPE_KEY` | `sk_live_`, `rk_live_`, `sk_test_`, `rk_test_` keys |
//! | `GOOGLE_API_KEY` | `AIza` + 35 characters |
//! | `OPENAI_KEY` | `sk-` / `sk-proj-` keys with upper, lower and digits |
//! | `JWT` | three base64url parts whose header decodes to JSON with `"alg"` |
//! | `PRIVATE_KEY` | a PEM block from `-----BEGIN ... PRIVATE KEY-----` (RSA, EC, DSA, OPENSSH, ENCRYPTED, plain, and `PGP PRIVATE KEY BLOCK`) to its END line; without one (cut short), through the base64 key material after the BEGIN line, its line breaks real, escaped (`\n`) or removed; a BEGIN line with no material after it is not reported |
//! | `PASSWORD` | the password of `scheme://user:PASSWORD@host`, a value after `password=`/`pwd=`/`password:`, or a value in a password column |
//! | `GENERIC_SECRET` | a high-entropy token (length >= 16, mixed character classes, Shannon entropy >= 3.5 bits/char) after key/secret/token/api_key/bearer, or in such a column |
//!
//! # Hard negatives
//!
//! Not reported: order and invoice numbers (digit runs glued to letters, `#`
//! or `ORD-` prefixes, unformatted digit runs outside a phone column), decimal
//! numbers (scores, measurements), version strings, UUIDs, timestamps and ISO
//! dates without birth context, card-like numbers failing Luhn or issuer
//! ranges, hex hashes and git commit ids (only accepted as a secret right
//! after a strong secret word), and base64 blobs without secret context.
//!
//! # Confidence scale
//!
//! | Confidence | Meaning |
//! |---|---|
//! | 0.95 | structure and a checksum or decoded structure (card Luhn + issuer, IBAN mod-97, JWT header, PEM block), or a validated value with supporting context (SSN after "SSN", AWS key next to "aws", a formatted phone in a phone column) |
//! | 0.90 | a vendor prefix with the exact token shape (GitHub, GitLab, Slack, Stripe, Google, OpenAI, AWS key id); a PEM private key without its END line; a password in a connection string; a date of birth next to a birth word |
//! | 0.85 | validated structure without checksum (e-mail, phone, IP address, SSN ranges) |
//! | 0.80 | a value after password=/pwd=; a spaced or bare SSN next to SSN words |
//! | 0.70 | context only: a high-entropy value after a secret word, or a value in a password/secret column |
//! | 0.60 | a bare digit run in a phone or SSN column |
//!
//! # Speed
//!
//! One pass over the text, 64 bytes at a time with AVX-512BW where the CPU
//! has it (else 16 at a time with SSE2 on x86-64, or a scalar loop), marks
//! digits, `@`, `:` and the places where an anchor literal can start (a word
//! starting with one of its first letters: vendor prefixes, context words,
//! `://`, `-----BEGIN`). The detectors jump between those marks: digit runs become
//! card, phone, SSN, IP and IBAN candidates, `@` e-mail candidates, and each
//! anchor start is compared with the few literals sharing its first letter.
//! Regexes and validators run only on the short candidates these find, always
//! on bounded windows, so time is linear in the input.
//!
//! # Example
//!
//! ```
//! use mlsec_pii::{Detector, Entity};
//!
//! let detector = Detector::new(&[]);
//! let text = "contact jane.doe@example.org, card 4111 1111 1111 1111";
//! let spans = detector.detect(text);
//! assert_eq!(spans.len(), 2);
//! assert_eq!(spans[0].entity, Entity::Email);
//! assert_eq!(&text[spans[1].start..spans[1].end], "4111 1111 1111 1111");
//! ```

mod classes;
mod entity;
mod mask;
mod scan;
mod secrets;
pub mod validate;

use std::collections::BTreeMap;

pub use entity::{Entity, UnknownEntity};
pub use mask::mask;

/// One finding: `text[start..end]` (byte offsets, end exclusive, on char
/// boundaries) holds an `entity`, with a `confidence` in 0..=1 (see the crate
/// docs for the scale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub entity: Entity,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

/// What a field (column or key) name says about its values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FieldCtx {
    pub dob: bool,
    pub password: bool,
    pub secret: bool,
    pub aws: bool,
    pub ssn: bool,
    pub phone: bool,
}

impl FieldCtx {
    fn from_name(field: &str) -> FieldCtx {
        let name: String = field
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
        let word = |w: &str| name.split('_').any(|part| part == w);
        FieldCtx {
            dob: has(&["dob", "birth", "born"]),
            password: has(&["password", "passwd", "passphrase", "pwd"]) || word("pass"),
            secret: has(&[
                "secret",
                "token",
                "apikey",
                "api_key",
                "private_key",
                "access_key",
                "credential",
            ]) || word("key"),
            aws: has(&["aws"]),
            ssn: word("ssn") || has(&["social_security", "socialsecurity"]),
            phone: has(&["phone", "mobile", "fax"]) || word("tel") || word("cell"),
        }
    }
}

/// What a field name tells the detectors, worked out once (see
/// [`Detector::field`]) and passed with every value of that field: a table
/// scan then spends nothing per cell on its column's name.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Field(FieldCtx);

impl Field {
    /// The field as a small number, to carry it through code that does not
    /// know this crate (the data commands' detector seam).
    pub fn to_bits(self) -> u32 {
        let c = self.0;
        [c.dob, c.password, c.secret, c.aws, c.ssn, c.phone]
            .iter()
            .enumerate()
            .fold(0, |acc, (i, &on)| acc | u32::from(on) << i)
    }

    /// The field [`Field::to_bits`] made this number of; unknown bits are ignored.
    pub fn from_bits(bits: u32) -> Field {
        let on = |i: u32| bits & (1 << i) != 0;
        Field(FieldCtx {
            dob: on(0),
            password: on(1),
            secret: on(2),
            aws: on(3),
            ssn: on(4),
            phone: on(5),
        })
    }
}

/// The configured detector. Build once (it compiles its patterns), reuse from
/// any number of threads.
pub struct Detector {
    enabled: u32,
    secrets: secrets::Secrets,
    dates: regex::Regex,
}

fn bit(entity: Entity) -> u32 {
    1 << (entity as u32)
}

impl Detector {
    /// A detector for these entities; an empty slice means all of them.
    pub fn new(entities: &[Entity]) -> Detector {
        let enabled = if entities.is_empty() {
            Entity::ALL.iter().fold(0, |acc, e| acc | bit(*e))
        } else {
            entities.iter().fold(0, |acc, e| acc | bit(*e))
        };
        Detector {
            enabled,
            secrets: secrets::Secrets::new(),
            dates: scan::date_regex(),
        }
    }

    fn wants(&self, entity: Entity) -> bool {
        self.enabled & bit(entity) != 0
    }

    fn wants_any(&self, entities: &[Entity]) -> bool {
        entities.iter().any(|e| self.wants(*e))
    }

    /// The entities in `text`, sorted by start, not overlapping.
    pub fn detect(&self, text: &str) -> Vec<Span> {
        self.detect_in_field(None, text)
    }

    /// Like [`Detector::detect`], for a value of the named field (a column or
    /// a JSON key such as `dob`, `password`, `phone`). The name raises
    /// confidence and enables entities that only context reveals: any date in
    /// a dob column, the whole value of a password or secret column, bare digit
    /// runs in phone and SSN columns.
    pub fn detect_in_field(&self, field: Option<&str>, text: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        self.detect_into(field, text, &mut spans);
        spans
    }

    /// Like [`Detector::detect_in_field`], appending to `out`: a caller that
    /// scans many values reuses one buffer instead of allocating per value.
    pub fn detect_into(&self, field: Option<&str>, text: &str, out: &mut Vec<Span>) {
        self.detect_each(field, text, |span| out.push(span));
    }

    /// Like [`Detector::detect_into`], handing each span to `each`, in order.
    pub fn detect_each(&self, field: Option<&str>, text: &str, mut each: impl FnMut(Span)) {
        with_scratch(|s| {
            let ctx = s.field_ctx(field);
            self.run(ctx, text, s, &mut each)
        })
    }

    /// What the name of a field (a column, a JSON key) tells the detectors;
    /// `None` for text that is not a field's value.
    pub fn field(&self, name: Option<&str>) -> Field {
        Field(name.map(FieldCtx::from_name).unwrap_or_default())
    }

    /// Like [`Detector::detect_each`], for a value of a field prepared with
    /// [`Detector::field`]: the same spans, without looking at the name.
    pub fn detect_each_in(&self, field: Field, text: &str, mut each: impl FnMut(Span)) {
        with_scratch(|s| self.run(field.0, text, s, &mut each))
    }

    fn run(&self, ctx: FieldCtx, text: &str, s: &mut Scratch, each: &mut impl FnMut(Span)) {
        s.classes.fill(text.as_bytes());
        s.words.clear();
        let (cls, out) = (&s.classes, &mut s.spans);
        out.clear();
        if self.wants(Entity::Email) {
            scan::emails(text, cls, out);
        }
        if self.wants_any(&[
            Entity::Phone,
            Entity::CreditCard,
            Entity::Iban,
            Entity::UsSsn,
            Entity::IpAddress,
        ]) {
            scan::structured(text, cls.number(), &mut s.words, &ctx, out);
        }
        if self.wants(Entity::IpAddress) {
            scan::ipv6(text, cls, out);
        }
        self.secrets.scan(text, cls, &ctx, &self.dates, out);
        if ctx.dob && self.wants(Entity::DateOfBirth) {
            scan::dates(&self.dates, text, 0, text.len(), 0.9, out);
        }
        secrets::whole_field(text, &ctx, out);
        out.retain(|s| self.wants(s.entity) && s.start < s.end);
        resolve(out);
        out.drain(..).for_each(each);
    }
}

/// Runs `f` with this thread's scratch buffers.
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        // Re-entered from inside a callback: fresh buffers.
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Buffers a detector uses per thread, reused from call to call so that a
/// call allocates nothing once they have grown.
#[derive(Default)]
struct Scratch {
    classes: classes::Classes,
    words: classes::Words,
    spans: Vec<Span>,
    /// Field names seen on this thread and what they say: tables repeat the
    /// same few column names on every row, and working one out takes dozens
    /// of substring searches.
    fields: Vec<(Box<str>, FieldCtx)>,
    /// The index in `fields` of the last name: columns come round in order.
    last: usize,
}

impl Scratch {
    fn field_ctx(&mut self, field: Option<&str>) -> FieldCtx {
        /// Names remembered (JSON keys are unbounded).
        const CACHED: usize = 256;
        let Some(field) = field else {
            return FieldCtx::default();
        };
        let n = self.fields.len();
        let next = (self.last + 1) % n.max(1);
        let found = [next, self.last]
            .into_iter()
            .chain(0..n)
            .find(|&i| self.fields.get(i).is_some_and(|(name, _)| **name == *field));
        if let Some(i) = found {
            self.last = i;
            return self.fields[i].1;
        }
        let ctx = FieldCtx::from_name(field);
        if n < CACHED {
            self.fields.push((field.into(), ctx));
            self.last = n;
        }
        ctx
    }
}

/// Rank for ties in confidence: vendor-specific entities beat generic ones.
fn specificity(entity: Entity) -> u8 {
    match entity {
        Entity::GenericSecret => 0,
        Entity::Password => 1,
        Entity::Phone | Entity::DateOfBirth => 2,
        _ => 3,
    }
}

/// Keep the best of overlapping candidates (confidence, then specificity,
/// then length), sorted by start.
fn resolve(spans: &mut Vec<Span>) {
    spans.sort_unstable_by_key(|s| (s.start, s.end));
    // Usually nothing overlaps: then all are kept.
    if spans.windows(2).all(|w| w[0].end <= w[1].start) {
        return;
    }
    spans.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(specificity(b.entity).cmp(&specificity(a.entity)))
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    // start -> span, over accepted spans only.
    let mut kept: BTreeMap<usize, Span> = BTreeMap::new();
    for span in spans.drain(..) {
        let before = kept.range(..span.end).next_back().map(|(_, s)| *s);
        if before.is_some_and(|b| b.end > span.start) {
            continue;
        }
        kept.insert(span.start, span);
    }
    spans.extend(kept.into_values());
}

#[cfg(test)]
mod tests;
