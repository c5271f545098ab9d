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
//! | `DATE_OF_BIRTH` | a valid calendar date after born/DOB/date of birth/birthday, or any date in a dob/birth column; other dates are `DATE_TIME` |
//! | `PERSON` | the value of a person column (`name`, `first_name`, `customer`, `patient`, `contact`, ...: names of things such as `product_name`, `file_name`, `username` excluded) when it has a name's shape; in text, capitalised words scored by a token model (below) |
//! | `LOCATION` | the value of a place column (`city`, `country`, `region`, ...; `state` only for listed states and countries); in text, the token model with GeoNames places |
//! | `STREET_ADDRESS` | a house number, one to four capitalised words or ordinals and a street type (`221B Baker Street`, `350 5th Avenue, Apt 4B`), or a German/Dutch street word and number (`Hauptstraße 12`); any value with digits and letters in an address column |
//! | `ORGANIZATION` | capitalised words ending in a legal form or organisation word (`Acme Corp`, `Blue Ridge Credit Union`), the token model, or an organisation column (`company`, `employer`, ...) |
//! | `DATE_TIME` | a valid calendar date, numeric or with a capitalised month name, and a clock time right after it; not ISO timestamps with `T`, dates with a time to the second (log and record metadata), epoch seconds, or dates after version/release/build |
//! | `URL` | `http`, `https`, `ftp`, `ftps`, `ws`, `wss` URLs, trailing punctuation off; one holding a password is reported as `PASSWORD` |
//! | `US_PASSPORT` | 9 digits or a letter and 8 digits after `passport` (within 5 words), or in a passport column |
//! | `US_DRIVER_LICENSE` | a state licence number (4-16 letters and digits, at least 4 digits) after `driver's/driving licence`, `DLN`, or in such a column |
//! | `US_BANK_NUMBER` | 8-17 digits after `account`/`acct` (not `account id`, not `routing`), or in a bank account column |
//! | `UK_NHS` | 10 digits (3-3-4) with a valid mod-11 check digit, next to `NHS` or in an NHS column; a number called an NHS number that fails the check is reported as nothing |
//! | `NRP` | a nationality, religion or political group word (`German`, `Catholic`, `Republicans`) standing alone, or the value of a nationality/religion/party column |
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
//! Numbers that are only digit runs (passport, licence, bank account, NHS)
//! need their context word or column, as Presidio's recognizers need theirs
//! for a high score: without one they are order numbers like any other.
//!
//! # Names, places and organisations
//!
//! Bundled lists (`data/`, see `data/LICENSES.md`): 20,000 US Census
//! surnames and 4,200 given names with frequency buckets, 31,000 GeoNames
//! cities of 15,000 people or more, countries and US states, 40,000 English
//! words, and hand-written titles, legal forms and group words, in one
//! fingerprint table. In text, each capitalised word that is not a plain
//! sentence opener is scored by a multinomial logistic regression over ~20
//! hashed features (list memberships and buckets, shape, suffix, the words
//! and punctuation around it, a title before it), trained at development
//! time by `src/ner_train.rs` on generated sentences (its own templates, half
//! its names from training-only list slices) into `data/ner_model.bin`;
//! adjacent capitalised words are judged together. Names written in lower
//! case, or starting with a non-ASCII capital (`Émile`), are found only in
//! name columns.
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
//! | 0.5-0.8 | a name, place or organisation from the token model (its probability, scaled) |
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

// Library code may not index, slice or unwrap: the text is untrusted, and an
// offset that is off by one must not become a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod classes;
mod entity;
mod lexicon;
mod mask;
mod ner;
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
    /// A person's name: `name`, `first_name`, `customer`, `patient`, ...
    pub person: bool,
    /// A place: `city`, `country`, `state`, `region`, ...
    pub location: bool,
    /// Only listed places count (`state`, which may also be an order state).
    pub state_only: bool,
    /// A street address: `address`, `street`, `address_line1`, ...
    pub address: bool,
    /// An organisation: `company`, `employer`, `organization`, ...
    pub org: bool,
    /// A nationality, religion or party: `nationality`, `religion`, ...
    pub nrp: bool,
    pub url: bool,
    pub passport: bool,
    pub license: bool,
    pub bank: bool,
    pub nhs: bool,
    /// Names of things, not people or places: `product_name`, `sku`,
    /// `file_name`, `title` (no free-text name search in its values).
    pub thing: bool,
}

/// Column-name words that make its values a person's name.
const PERSON_WORDS: &[&str] = &[
    "name",
    "firstname",
    "lastname",
    "surname",
    "fullname",
    "givenname",
    "middlename",
    "maidenname",
    "customer",
    "customername",
    "contact",
    "contactname",
    "patient",
    "patientname",
    "employee",
    "employeename",
    "author",
    "owner",
    "recipient",
    "sender",
    "person",
    "client",
    "clientname",
    "applicant",
    "cardholder",
    "holder",
    "beneficiary",
    "passenger",
    "guest",
    "member",
    "student",
    "teacher",
    "doctor",
    "physician",
    "nurse",
    "manager",
    "assignee",
    "reporter",
    "requester",
    "signatory",
    "spouse",
    "father",
    "mother",
    "parent",
    "child",
    "first",
    "last",
    "given",
    "family",
    "forename",
];
/// Column-name words that make `name` mean something else than a person.
const NOT_PERSON_WORDS: &[&str] = &[
    "file",
    "product",
    "company",
    "org",
    "organization",
    "organisation",
    "host",
    "user",
    "username",
    "dataset",
    "model",
    "table",
    "column",
    "field",
    "key",
    "path",
    "app",
    "project",
    "repo",
    "branch",
    "city",
    "country",
    "street",
    "domain",
    "brand",
    "item",
    "event",
    "team",
    "group",
    "bank",
    "business",
    "store",
    "shop",
    "vendor",
    "merchant",
    "category",
    "type",
    "class",
    "label",
    "tag",
    "feature",
    "device",
    "server",
    "service",
    "id",
    "email",
    "mail",
    "phone",
    "code",
    "count",
    "url",
    "sku",
    "plan",
    "role",
    "state",
    "status",
    "region",
    "place",
    "location",
    "address",
    "channel",
    "source",
    "campaign",
    "job",
    "task",
    "metric",
    "display",
    "screen",
    "nick",
    "nickname",
    "login",
    "account",
    "handle",
    "employer",
    "school",
];
const LOCATION_WORDS: &[&str] = &[
    "city",
    "town",
    "country",
    "province",
    "region",
    "county",
    "location",
    "place",
    "birthplace",
    "hometown",
    "destination",
    "origin",
    "village",
    "municipality",
    "district",
    "residence",
    "locality",
    "suburb",
];
const ADDRESS_WORDS: &[&str] = &[
    "address",
    "addr",
    "street",
    "address1",
    "address2",
    "addressline",
    "addressline1",
    "addressline2",
    "streetaddress",
    "line1",
    "line2",
];
const NOT_ADDRESS_WORDS: &[&str] = &[
    "email", "mail", "ip", "mac", "wallet", "web", "url", "id", "type", "hash", "server", "host",
    "bitcoin", "eth", "contract", "memory", "sender", "ipv4", "ipv6",
];
const ORG_WORDS: &[&str] = &[
    "company",
    "companyname",
    "organization",
    "organisation",
    "org",
    "employer",
    "business",
    "firm",
    "institution",
    "vendor",
    "merchant",
    "supplier",
    "school",
    "university",
    "insurer",
    "bank",
    "bankname",
    "hospital",
    "agency",
];
const NOT_ORG_WORDS: &[&str] = &[
    "id", "type", "code", "count", "size", "url", "domain", "key", "number", "no", "num",
    "account", "routing", "iban", "swift", "bic",
];

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
        let any = |words: &[&str]| name.split('_').any(|part| words.contains(&part));
        // camelCase and glued names (`firstName`, `customername`) as one word.
        let glued: String = name.chars().filter(|c| *c != '_').collect();
        let person = (any(PERSON_WORDS) || PERSON_WORDS.contains(&glued.as_str()))
            && !any(NOT_PERSON_WORDS)
            && !NOT_PERSON_WORDS.contains(&glued.as_str());
        let address = (any(ADDRESS_WORDS) || ADDRESS_WORDS.contains(&glued.as_str()))
            && !any(NOT_ADDRESS_WORDS);
        let state_only = word("state") && !any(LOCATION_WORDS);
        let location = !address
            && !person
            && (any(LOCATION_WORDS) || LOCATION_WORDS.contains(&glued.as_str()) || state_only);
        let org = !person
            && (any(ORG_WORDS) || ORG_WORDS.contains(&glued.as_str()))
            && !any(NOT_ORG_WORDS);
        FieldCtx {
            person,
            location,
            state_only,
            address,
            org,
            nrp: has(&[
                "nationality",
                "religion",
                "ethnicity",
                "ethnic",
                "citizenship",
                "faith",
            ]) || word("race")
                || word("party")
                || has(&["political"]),
            url: has(&["url", "website", "homepage", "webpage"]) || word("link") || word("uri"),
            passport: has(&["passport"]),
            license: has(&["driver", "driving"])
                || word("dl")
                || word("dln")
                || has(&["licence_n", "license_n"]),
            bank: (has(&[
                "bank",
                "acct",
                "account_number",
                "account_no",
                "accountnumber",
                "checking",
                "savings",
            ]) || word("account"))
                && !has(&[
                    "routing",
                    "iban",
                    "swift",
                    "bic",
                    "sort_code",
                    "type",
                    "name",
                    "id",
                ]),
            nhs: has(&["nhs"]),
            thing: !person
                && !location
                && !org
                && any(&[
                    "product", "item", "sku", "model", "file", "filename", "path", "title",
                    "category", "brand", "tag", "label", "url", "host", "hostname", "status",
                    "username", "login", "handle",
                ]),
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
        [
            c.dob,
            c.password,
            c.secret,
            c.aws,
            c.ssn,
            c.phone,
            c.person,
            c.location,
            c.state_only,
            c.address,
            c.org,
            c.nrp,
            c.url,
            c.passport,
            c.license,
            c.bank,
            c.nhs,
            c.thing,
        ]
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
            person: on(6),
            location: on(7),
            state_only: on(8),
            address: on(9),
            org: on(10),
            nrp: on(11),
            url: on(12),
            passport: on(13),
            license: on(14),
            bank: on(15),
            nhs: on(16),
            thing: on(17),
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

/// The entities of [`ner`].
const NER: &[Entity] = &[
    Entity::Person,
    Entity::Location,
    Entity::StreetAddress,
    Entity::Organization,
    Entity::Nrp,
];

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
        // Each scan below only visits the marks of its bitmap; most cells of
        // a table (ids, amounts, codes) have none of some kinds, and a check
        // of the bitmap's words costs less than entering the scan.
        let any = |bits: &[u64]| bits.iter().any(|w| *w != 0);
        if self.wants(Entity::Email) && any(cls.at()) {
            scan::emails(text, cls, out);
        }
        s.dates.clear();
        if self.wants_any(&[
            Entity::Phone,
            Entity::CreditCard,
            Entity::Iban,
            Entity::UsSsn,
            Entity::IpAddress,
            Entity::UkNhs,
            Entity::DateTime,
        ]) && any(cls.number())
        {
            scan::structured(text, cls.number(), &mut s.words, &mut s.dates, &ctx, out);
        }
        if self.wants(Entity::IpAddress) && any(cls.colon()) {
            scan::ipv6(text, cls, out);
        }
        if any(cls.anchor()) {
            self.secrets.scan(text, cls, &ctx, &self.dates, out);
        }
        if ctx.dob && self.wants(Entity::DateOfBirth) {
            scan::dates(&self.dates, text, 0, text.len(), 0.9, out);
        }
        // Capitalised words (names, months) and number runs are rare in
        // most cells: look only where there are some.
        let caps = any(cls.cap());
        if self.wants(Entity::DateTime) && !ctx.dob && (caps || !s.dates.is_empty()) {
            scan::date_times(&self.dates, text, cls, &s.dates, out);
        }
        secrets::whole_field(text, &ctx, out);
        scan::id_field(text, &ctx, out);
        if self.wants_any(NER) {
            let claimed = ner::field_value(text, &ctx, out);
            if !claimed && caps && !ctx.thing {
                ner::scan(text, cls, &mut s.ner.tagged, out);
            }
        }
        out.retain(|s| self.wants(s.entity) && s.start < s.end);
        if out.len() > 1 {
            resolve(out);
        }
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
    /// Where numeric dates may start (found by the number scan).
    dates: Vec<usize>,
    spans: Vec<Span>,
    ner: NerScratch,
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
        let found = [next, self.last].into_iter().chain(0..n).find_map(|i| {
            let (name, ctx) = self.fields.get(i)?;
            (**name == *field).then_some((i, *ctx))
        });
        if let Some((i, ctx)) = found {
            self.last = i;
            return ctx;
        }
        let ctx = FieldCtx::from_name(field);
        if n < CACHED {
            self.fields.push((field.into(), ctx));
            self.last = n;
        }
        ctx
    }
}

/// Buffers of the name model.
#[derive(Default)]
struct NerScratch {
    tagged: Vec<ner::Tagged>,
}

/// Rank for ties in confidence: vendor-specific entities beat generic ones.
fn specificity(entity: Entity) -> u8 {
    match entity {
        Entity::GenericSecret => 0,
        Entity::Password => 1,
        Entity::Phone
        | Entity::DateOfBirth
        | Entity::DateTime
        | Entity::Person
        | Entity::Location
        | Entity::Organization
        | Entity::Nrp
        | Entity::Url => 2,
        _ => 3,
    }
}

/// Keep the best of overlapping candidates (confidence, then specificity,
/// then length), sorted by start.
fn resolve(spans: &mut Vec<Span>) {
    spans.sort_unstable_by_key(|s| (s.start, s.end));
    // Usually nothing overlaps: then all are kept.
    if spans
        .iter()
        .zip(spans.iter().skip(1))
        .all(|(a, b)| a.end <= b.start)
    {
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
