//! Names, places, organisations, group words and street addresses.
//!
//! Two ways in. A field whose name says what its values are (`first_name`,
//! `customer`, `city`, `company`, `address`, `nationality`) has its whole
//! value judged as that entity when the value has the shape of one (words,
//! no digits, not a placeholder), the bundled lists raising the confidence.
//! Free text goes through a token model: every capitalised word that is not
//! a plain sentence opener is scored by a multinomial logistic regression
//! over hashed features (list memberships and frequency buckets, shape,
//! suffix, the words around it, a title before it), trained at development
//! time (`ner_train.rs`, weights in `data/ner_model.bin`), and adjacent
//! tokens of the same class become one span. Legal suffixes (`Inc`, `GmbH`)
//! make the capitalised words before them an organisation; a house number,
//! capitalised words and a street type make a street address; group words
//! (`German`, `Catholic`, `Republican`) are NRP.
//!
//! Cost: the capitalised word starts come from the same SIMD pass as every
//! other candidate (`Classes::cap`); a sentence opener that is in no name or
//! place list costs one hash lookup; the model (about 20 table reads) runs
//! only on the rest.

use std::sync::OnceLock;

use crate::classes::{self, Classes};
use crate::lexicon::{
    city_bucket, given_bucket, surname_bucket, Lexicon, CITY, COUNTRY, GIVEN, MONTH, NAMEISH, NRP,
    ORG_LEGAL, ORG_WORD, PHRASE_START, STATE, STOP, STREET, SURNAME, TITLE, WORD,
};
use crate::scan::{byte_before, leading_digits};
use crate::{Entity, FieldCtx, Span};

/// Model classes: 0 is "none" (its weights are 0: the others are relative to it).
pub(crate) const CLASSES: [Entity; 3] = [Entity::Person, Entity::Location, Entity::Organization];
/// Hashed feature table: 2^BITS buckets of [`CLASSES`] weights.
pub(crate) const BITS: u32 = 16;
/// Weights are stored as i16 times this.
pub(crate) const SCALE: f32 = 1024.0;
const MODEL: &[u8] = include_bytes!("../data/ner_model.bin");

/// The trained weights, decoded on first use. Kept as the stored i16s (half
/// the memory of f32s, and these reads are mostly cache misses) and summed
/// as integers: every partial sum of at most [`Features::MAX`] weights (each
/// below 32 in magnitude) is a multiple of 1/1024 below 2^10, which an f32
/// holds exactly, so the scores are bit for bit those of summing the
/// weights as f32s.
pub(crate) struct Model {
    pub(crate) w: Vec<[i16; 3]>,
}

impl Model {
    pub(crate) fn get() -> &'static Model {
        static MODEL_WEIGHTS: OnceLock<Model> = OnceLock::new();
        MODEL_WEIGHTS.get_or_init(|| Model::decode(MODEL))
    }

    fn decode(bytes: &[u8]) -> Model {
        let n = 1usize << BITS;
        let mut w = vec![[0i16; 3]; n];
        // A file of another size (not yet trained) leaves the weights at 0:
        // the model then finds nothing, and the unit tests say so.
        if bytes.len() == n * 6 {
            let (records, _) = bytes.as_chunks::<6>();
            for (weights, record) in w.iter_mut().zip(records) {
                let (halves, _) = record.as_chunks::<2>();
                for (weight, half) in weights.iter_mut().zip(halves) {
                    *weight = i16::from_le_bytes(*half);
                }
            }
        }
        Model { w }
    }

    /// Scores of the three classes relative to "none".
    pub(crate) fn scores(&self, feats: &Features) -> [f32; 3] {
        let mut s = [0i32; 3];
        // Hashes are < 2^BITS, the table's length.
        for w in feats
            .hashes()
            .iter()
            .filter_map(|&h| self.w.get(h as usize))
        {
            s[0] += i32::from(w[0]);
            s[1] += i32::from(w[1]);
            s[2] += i32::from(w[2]);
        }
        s.map(|v| v as f32 / SCALE)
    }
}

// ---------------------------------------------------------------- tokens

/// Letters of a name: ASCII letters and any non-ASCII character that is alphabetic.
fn letter_at(text: &str, i: usize) -> Option<char> {
    // U+00C0..=U+00FF (`é`, `Ü`, `ß`; lead byte 0xC3, a char boundary) are
    // letters but for `×` and `÷`: no Unicode table for the usual case.
    if let [0xC3, c2, ..] = text.as_bytes().get(i..)? {
        let c = char::from_u32(0xC0 + u32::from(c2 & 0x3F))?;
        return (c != '×' && c != '÷').then_some(c);
    }
    let c = text.get(i..)?.chars().next()?;
    c.is_alphabetic().then_some(c)
}

/// The end of the word starting at `s`: letters, with inner `-` and `'`
/// (`Jean-Luc`, `O'Brien`), not a trailing possessive `'s`.
pub(crate) fn word_end(text: &str, s: usize) -> usize {
    let b = text.as_bytes();
    let end = b.len().min(s + 64);
    let mut i = s;
    while i < end {
        // ASCII letters, most of every word, in a loop of their own.
        while i < end && b.get(i).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
        }
        if i >= end {
            break;
        }
        let Some(&c) = b.get(i) else {
            break;
        };
        if c >= 0x80 {
            match letter_at(text, i) {
                Some(ch) => i += ch.len_utf8(),
                None => break,
            }
        } else if matches!(c, b'-' | b'\'') && i > s {
            let next_letter = b.get(i + 1).is_some_and(u8::is_ascii_alphabetic);
            let possessive = c == b'\''
                && matches!(b.get(i + 1), Some(b's'))
                && !b.get(i + 2).is_some_and(u8::is_ascii_alphabetic);
            if next_letter && !possessive {
                i += 1;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    i
}

/// The start of the word ending at `e` (exclusive).
fn word_start(text: &str, e: usize) -> usize {
    let mut s = e;
    for (i, c) in text.get(..e).unwrap_or_default().char_indices().rev() {
        if c.is_alphabetic() || ((c == '-' || c == '\'') && i + 1 < s) {
            s = i;
        } else {
            break;
        }
        if e - s > 64 {
            break;
        }
    }
    s
}

/// What stands next to a token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Near {
    /// Start or end of the text.
    Edge,
    /// A word: its byte range.
    Word(usize, usize),
    /// Any other character (ASCII; digits as `0`, non-ASCII as `~`).
    Punct(u8),
}

fn punct(c: u8) -> u8 {
    if c.is_ascii_digit() {
        b'0'
    } else if c >= 0x80 {
        b'~'
    } else {
        c
    }
}

/// What comes before byte `s`, skipping spaces. A title or initial
/// followed by `.` (`Dr.`, `J.`) counts as the word.
pub(crate) fn before(text: &str, s: usize) -> Near {
    let b = text.as_bytes();
    let mut i = s;
    while i > 0 && s - i < 8 && matches!(b.get(i - 1), Some(b' ' | b'\t')) {
        i -= 1;
    }
    if i == 0 {
        return Near::Edge;
    }
    let Some(&c) = b.get(i - 1) else {
        return Near::Edge;
    };
    if c == b'.' && i >= 2 && b.get(i - 2).is_some_and(u8::is_ascii_alphabetic) {
        let ws = word_start(text, i - 1);
        let word = text.get(ws..i - 1).unwrap_or_default();
        if word.len() == 1 || Lexicon::get().flags(word) & TITLE != 0 {
            return Near::Word(ws, i - 1);
        }
    }
    if c.is_ascii_alphabetic()
        || (c >= 0x80
            && text
                .get(..i)
                .and_then(|t| t.chars().next_back())
                .is_some_and(char::is_alphabetic))
    {
        let ws = word_start(text, i);
        if ws < i {
            return Near::Word(ws, i);
        }
    }
    Near::Punct(punct(c))
}

/// What comes after byte `e`, skipping spaces.
pub(crate) fn after(text: &str, e: usize) -> Near {
    let b = text.as_bytes();
    let mut i = e;
    while i < b.len() && i - e < 8 && matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let Some(&c) = b.get(i) else {
        return Near::Edge;
    };
    if c.is_ascii_alphabetic() || letter_at(text, i).is_some() {
        let we = word_end(text, i);
        if we > i {
            return Near::Word(i, we);
        }
    }
    Near::Punct(punct(c))
}

fn is_cap(text: &str, s: usize) -> bool {
    // ASCII first: no char decoding for the usual case.
    match text.as_bytes().get(s) {
        Some(c) if c.is_ascii() => c.is_ascii_uppercase(),
        _ => text
            .get(s..)
            .and_then(|t| t.chars().next())
            .is_some_and(char::is_uppercase),
    }
}

/// The next word is capitalised and longer than one letter (`I` is not).
fn next_is_cap(text: &str, e: usize) -> bool {
    cap_word(text, after(text, e))
}

/// `near` is a capitalised word longer than one letter.
fn cap_word(text: &str, near: Near) -> bool {
    matches!(near, Near::Word(ns, ne) if ne > ns + 1 && is_cap(text, ns))
}

/// A sentence (or cell, or line) starts before this token.
fn initial(near: Near) -> bool {
    match near {
        Near::Edge => true,
        Near::Punct(c) => b".!?\n\r:;\"(*-|>[{~".contains(&c),
        Near::Word(..) => false,
    }
}

// ---------------------------------------------------------------- features

/// The hashed features of one token (at most [`Features::MAX`]).
pub(crate) struct Features {
    h: [u32; Features::MAX],
    n: usize,
}

impl Features {
    const MAX: usize = 24;

    fn new() -> Features {
        Features {
            h: [0; Features::MAX],
            n: 0,
        }
    }

    pub(crate) fn hashes(&self) -> &[u32] {
        self.h.get(..self.n).unwrap_or_default()
    }

    fn push(&mut self, template: u8, bytes: &[u8], extra: u32) {
        // Full: no more features.
        let Some(slot) = self.h.get_mut(self.n) else {
            return;
        };
        let mut h: u32 = 0x811c_9dc5 ^ u32::from(template);
        h = h.wrapping_mul(0x0100_0193);
        for &b in bytes {
            h ^= u32::from(b.to_ascii_lowercase());
            h = h.wrapping_mul(0x0100_0193);
        }
        for b in extra.to_le_bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        *slot = (h ^ (h >> BITS)) & ((1 << BITS) - 1);
        self.n += 1;
    }
}

/// A capitalised token and what the lists say of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub(crate) s: usize,
    pub(crate) e: usize,
    pub(crate) flags: u32,
}

impl Token {
    /// The token's text (`s` and `e` are char boundaries of `text`).
    fn word(self, text: &str) -> &str {
        text.get(self.s..self.e).unwrap_or_default()
    }
}

/// Word shape: 0 Xxxx, 1 XXXX, 2 with `-`, 3 with `'`, 4 inner capital
/// (McDonald), 5 non-ASCII letters.
fn shape(word: &str) -> u32 {
    // One pass; a phrase (`New York`) has the shape of its first word.
    let (mut upper, mut inner_upper, mut dash, mut quote, mut len) = (0, false, false, false, 0);
    for &c in word.as_bytes() {
        match c {
            b' ' => break,
            b'A'..=b'Z' => {
                upper += 1;
                inner_upper |= len > 0;
            }
            b'-' => dash = true,
            b'\'' => quote = true,
            0x80.. => return 5,
            _ => {}
        }
        len += 1;
    }
    if dash {
        2
    } else if quote {
        3
    } else if upper == len {
        1
    } else if inner_upper {
        4
    } else {
        0
    }
}

fn near_features(f: &mut Features, text: &str, near: Near, word_t: u8, cap_t: u8, punct_t: u8) {
    let lex = Lexicon::get();
    match near {
        Near::Edge => f.push(punct_t, b"^", 0),
        Near::Punct(c) => f.push(punct_t, &[c], 0),
        Near::Word(s, e) => {
            let w = text.get(s..e).unwrap_or_default();
            f.push(word_t, w.as_bytes(), 0);
            if is_cap(text, s) {
                let flags = lex.flags(w);
                f.push(cap_t, b"", flags & !(WORD | PHRASE_START));
            }
        }
    }
}

/// [`features_next`], working out what follows the token (for training).
#[cfg(test)]
pub(crate) fn features(text: &str, tok: Token) -> Features {
    features_next(text, tok, after(text, tok.e))
}

/// The features of `tok` in `text`, `next` being what follows it (`scan`
/// has it already; training computes the same features through [`features`]).
fn features_next(text: &str, tok: Token, next: Near) -> Features {
    let mut f = Features::new();
    let word = tok.word(text);
    let fl = tok.flags & !PHRASE_START;
    f.push(0, b"", 0);
    f.push(1, b"", fl);
    f.push(2, b"", given_bucket(fl));
    f.push(3, b"", surname_bucket(fl));
    f.push(4, b"", city_bucket(fl));
    f.push(
        5,
        b"",
        fl & (COUNTRY | STATE | WORD | STOP | TITLE | ORG_LEGAL | ORG_WORD | STREET | NRP | MONTH),
    );
    f.push(6, b"", shape(word));
    // `push` lower-cases what it hashes.
    let suffix = word
        .as_bytes()
        .get(word.len().saturating_sub(3)..)
        .unwrap_or_default();
    f.push(7, suffix, 0);
    f.push(8, b"", word.chars().count().min(12) as u32);
    let prev = before(text, tok.s);
    f.push(9, b"", u32::from(initial(prev)));
    near_features(&mut f, text, prev, 10, 11, 12);
    near_features(&mut f, text, next, 13, 14, 15);
    let prev2 = match prev {
        Near::Word(s, _) => before(text, s),
        _ => Near::Edge,
    };
    let next2 = match next {
        Near::Word(_, e) => after(text, e),
        _ => Near::Edge,
    };
    near_features(&mut f, text, prev2, 16, 17, 18);
    near_features(&mut f, text, next2, 19, 20, 21);
    // The previous word with this token's list class: "in" + city, "mr" + surname.
    if let Near::Word(s, e) = prev {
        f.push(
            22,
            text.as_bytes().get(s..e).unwrap_or_default(),
            fl & (GIVEN | SURNAME | CITY | COUNTRY),
        );
    }
    f
}

// ---------------------------------------------------------------- free text

/// A scored token: its class (0 none, else 1 + index in [`CLASSES`]) and margin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tagged {
    tok: Token,
    class: u8,
    conf: f32,
    scores: [f32; 3],
}

/// What a token may follow: white space, brackets, quotes, punctuation (a
/// match, where `contains` on the byte list was a memchr call per token).
fn may_precede_word(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b'('
            | b'"'
            | b'\''
            | b'['
            | b'{'
            | b','
            | b';'
            | b':'
            | b'.'
            | b'!'
            | b'?'
            | b'>'
            | b'*'
            | b'|'
            | b'-'
    )
}

/// The token starting at `s`, extended to the longest phrase in the lists
/// (`New York`, `Rio de Janeiro`) when its first word starts one.
fn token_at(text: &str, s: usize, lex: &Lexicon) -> Option<Token> {
    let e = word_end(text, s);
    if e <= s + 1 {
        return None;
    }
    let word = text.get(s..e)?;
    let b = text.as_bytes();
    // Inside code, base64 or identifiers: `+JMc`, `User Id=`, `AKIAshort`, `x/Foo_1`.
    if byte_before(b, s).is_some_and(|c| !may_precede_word(c)) {
        return None;
    }
    if b.get(e)
        .is_some_and(|c| c.is_ascii_digit() || b"_=+@/\\<#$%".contains(c))
    {
        return None;
    }
    // `StreetView.tsx`, `Config.toml`: a file or domain name.
    if b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let inner_caps = word.bytes().skip(1).filter(u8::is_ascii_uppercase).count();
    if inner_caps > 1 && inner_caps + 1 < word.len() {
        return None;
    }
    // An ALL-CAPS word (`ORD`, `SKU`) matters only as a legal form after a
    // capitalised word (`Acme LLC`): skip the lookup otherwise.
    if inner_caps + 1 == word.len()
        && !matches!(before(text, s), Near::Word(ps, _) if is_cap(text, ps))
    {
        return None;
    }
    let mut tok = Token {
        s,
        e,
        flags: lex.flags(word),
    };
    if tok.flags & PHRASE_START != 0 {
        let mut end = e;
        for _ in 0..3 {
            let b = text.as_bytes();
            if b.get(end) != Some(&b' ') {
                break;
            }
            let we = word_end(text, end + 1);
            if we <= end + 1 {
                break;
            }
            end = we;
            let flags = text.get(s..end).map_or(0, |phrase| lex.flags(phrase));
            if flags & (CITY | COUNTRY | STATE | NRP) != 0 {
                tok.e = end;
                tok.flags = flags | PHRASE_START;
            }
        }
    }
    Some(tok)
}

/// Street-type words glued to a German or Dutch street name.
const STREET_ENDINGS: &[&str] = &[
    "straße", "strasse", "str.", "weg", "allee", "platz", "gasse", "damm", "ring", "straat",
    "laan", "gracht",
];

/// The end of a house number at `i` (`12`, `221B`, `12-14`), if one is there.
fn house_number_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + leading_digits(b.get(i..).unwrap_or_default(), 6);
    if j == i {
        return None;
    }
    if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j += 1;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
    }
    if b.get(j).is_some_and(u8::is_ascii_alphabetic)
        && !b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric)
    {
        j += 1;
    }
    (!b.get(j).is_some_and(u8::is_ascii_alphanumeric)).then_some(j)
}

/// A unit after a street address: `, Apt 4B`, ` Suite 200`, ` #12`.
fn unit_end(text: &str, e: usize) -> usize {
    let b = text.as_bytes();
    let mut i = e;
    if b.get(i) == Some(&b'.') {
        i += 1;
    }
    if b.get(i) == Some(&b',') {
        i += 1;
    }
    if b.get(i) != Some(&b' ') {
        return e;
    }
    i += 1;
    let we = word_end(text, i);
    let w = text.get(i..we).unwrap_or_default().to_ascii_lowercase();
    let mut j = if matches!(
        w.as_str(),
        "apt" | "apartment" | "suite" | "ste" | "unit" | "flat" | "floor" | "room"
    ) {
        let mut j = we;
        if b.get(j) == Some(&b'.') {
            j += 1;
        }
        j
    } else if b.get(i) == Some(&b'#') {
        i
    } else {
        return e;
    };
    if b.get(j) == Some(&b' ') {
        j += 1;
    }
    if b.get(j) == Some(&b'#') {
        j += 1;
    }
    let vs = j;
    while j - vs < 8 && b.get(j).is_some_and(u8::is_ascii_alphanumeric) {
        j += 1;
    }
    if b.get(vs..j)
        .is_some_and(|v| v.iter().any(u8::is_ascii_digit))
    {
        j
    } else {
        e
    }
}

/// A product or code name: a capital inside the word that no name prefix
/// explains (`AirPods`, `PlayStation`; not `McDonald`, `DeAndre`, `O'Brien`).
fn camel(word: &str) -> bool {
    if word.contains(' ') {
        return false;
    }
    let b = word.as_bytes();
    // Up to the inner capital (ASCII: a char boundary).
    let Some(head) = b
        .iter()
        .skip(1)
        .position(u8::is_ascii_uppercase)
        .and_then(|p| word.get(..p + 1))
    else {
        return false;
    };
    !matches!(
        head,
        "Mc" | "Mac" | "De" | "Di" | "Da" | "La" | "Le" | "Van" | "Von" | "Du" | "St"
    ) && !head.ends_with(['\'', '-'])
}

/// A street address whose street type is `tok` (`Street`, `Ave`): a house
/// number, then one to four capitalised words or ordinals (`5th`), then `tok`.
fn address_ending_at(text: &str, tok: Token) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut s = tok.s;
    let mut words = 0;
    loop {
        if s < 2 || byte_before(b, s) != Some(b' ') {
            return None;
        }
        let pe = s - 1;
        let mut ns = pe;
        while pe - ns < 40
            && byte_before(b, ns).is_some_and(|c| {
                c.is_ascii_alphanumeric() || c >= 0x80 || matches!(c, b'-' | b'\'')
            })
        {
            ns -= 1;
        }
        if ns == pe || !text.is_char_boundary(ns) {
            return None;
        }
        if b.get(ns).is_some_and(u8::is_ascii_digit) {
            if words >= 1 && house_number_end(b, ns) == Some(pe) {
                let bounded = byte_before(b, ns).is_none_or(|c| {
                    matches!(c, b' ' | b',' | b'(' | b'\n' | b'\t' | b':' | b'"' | b';')
                });
                return bounded.then(|| (ns, unit_end(text, tok.e)));
            }
            let ord = text.get(ns..pe)?.to_ascii_lowercase();
            let is_ord =
                ord.len() >= 3 && ["st", "nd", "rd", "th"].iter().any(|x| ord.ends_with(x));
            if !is_ord || words == 4 {
                return None;
            }
        } else if !is_cap(text, ns) || words == 4 {
            return None;
        }
        words += 1;
        s = ns;
    }
}

/// `Hauptstraße 12`, `Keizersgracht 123`.
fn glued_street(text: &str, tok: Token) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut e = tok.e;
    if b.get(e) == Some(&b'.') {
        e += 1;
    }
    if b.get(e) != Some(&b' ') || !b.get(e + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let lower = text.get(tok.s..e)?.to_lowercase();
    if !STREET_ENDINGS
        .iter()
        .any(|x| lower.ends_with(x) && lower.len() > x.len() + 2)
    {
        return None;
    }
    let ne = house_number_end(b, e + 1)?;
    if (ne - e - 1) > 4 {
        return None;
    }
    Some((tok.s, ne))
}

fn push(out: &mut Vec<Span>, entity: Entity, start: usize, end: usize, confidence: f32) {
    out.push(Span {
        entity,
        start,
        end,
        confidence,
    });
}

/// Names, places, organisations, NRP words and street addresses in free text.
pub(crate) fn scan(text: &str, cls: &Classes, tagged: &mut Vec<Tagged>, out: &mut Vec<Span>) {
    let lex = Lexicon::get();
    let model = Model::get();
    let b = text.as_bytes();
    tagged.clear();
    let mut done = 0;
    for s in classes::iter(cls.cap()) {
        // A name starts with a capital and a lower-case letter (`Maria`,
        // `O'Brien`, `Zoë`): codes and acronyms (`ORD`, `SKU`, `ERROR`) cost
        // nothing more. Legal forms in capitals (`LLC`) are picked up after
        // a run (see `merge`).
        if s < done
            || !b
                .get(s + 1)
                .is_some_and(|&c| c.is_ascii_lowercase() || c == b'\'' || c >= 0x80)
        {
            continue;
        }
        // `I'm`, `I'd`, `I've`, `I'll` are the pronoun, not the start of a
        // name (`I'm Priya Patel` names Priya Patel).
        if b.get(s) == Some(&b'I')
            && b.get(s + 1) == Some(&b'\'')
            && is_pronoun_contraction(b.get(s + 2..).unwrap_or_default())
        {
            continue;
        }
        let Some(tok) = token_at(text, s, lex) else {
            continue;
        };
        done = tok.e;
        let flags = tok.flags;
        if flags & STREET != 0 {
            if let Some((as_, ae)) = address_ending_at(text, tok) {
                push(out, Entity::StreetAddress, as_, ae, 0.85);
                done = ae;
                continue;
            }
        }
        if let Some((as_, ae)) = glued_street(text, tok) {
            push(out, Entity::StreetAddress, as_, ae, 0.85);
            done = ae;
            continue;
        }
        if nrp_word(text, tok) {
            push(out, Entity::Nrp, tok.s, tok.e, 0.7);
            continue;
        }
        // What follows the token: both the filter and the features need it.
        let next = after(text, tok.e);
        if !scored_next(text, tok, next) {
            continue;
        }
        let scores = model.scores(&features_next(text, tok, next));
        let (best, score) = scores
            .iter()
            .enumerate()
            .fold(
                (0usize, 0f32),
                |acc, (k, &v)| if v > acc.1 { (k + 1, v) } else { acc },
            );
        let conf = if best == 0 {
            0.0
        } else {
            // Softmax probability of the winner, squeezed into 0.5..0.8.
            let z: f32 = 1.0 + scores.iter().map(|v| v.exp()).sum::<f32>();
            0.5 + 0.3 * (score.exp() / z)
        };
        tagged.push(Tagged {
            tok,
            class: best as u8,
            conf,
            scores,
        });
    }
    merge(text, b, lex, tagged, out);
}

/// What follows `I'` in a contraction (`m`, `d`, `ve`, `ll`), ending the word.
fn is_pronoun_contraction(rest: &[u8]) -> bool {
    ["m", "d", "ve", "ll"].iter().any(|tail| {
        rest.starts_with(tail.as_bytes())
            && !rest
                .get(tail.len())
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c >= 0x80)
    })
}

/// A group word standing alone (`a German citizen`, not `German Shepherd`).
fn nrp_word(text: &str, tok: Token) -> bool {
    if tok.flags & NRP == 0 {
        return false;
    }
    let lex = Lexicon::get();
    let next_cap = next_is_cap(text, tok.e);
    // `The German community` is a group; `Mr German`, `Anna German` a name.
    let prev_cap = matches!(before(text, tok.s), Near::Word(ps, pe)
        if is_cap(text, ps) && text.get(ps..pe).is_some_and(|w| lex.flags(w) & STOP == 0));
    !next_cap && !prev_cap
}

/// [`scored_next`], working out what follows the token (for training).
#[cfg(test)]
pub(crate) fn scored(text: &str, tok: Token) -> bool {
    scored_next(text, tok, after(text, tok.e))
}

/// Whether the model scores this token, `next` being what follows it: not
/// an ALL-CAPS code (SKU, API; a legal form such as LLC is kept), not a
/// group word, and not a plain sentence opener or function word in no name
/// or place list.
fn scored_next(text: &str, tok: Token, next: Near) -> bool {
    let flags = tok.flags;
    if shape(tok.word(text)) == 1 && flags & ORG_LEGAL == 0 {
        return false;
    }
    if nrp_word(text, tok) {
        return false;
    }
    let next_cap = cap_word(text, next);
    // Function words and openers that are also names (`May I`, `To:`,
    // `See https://`, `Best,`) only count before another capitalised word.
    if flags & (STOP | TITLE) != 0 && !next_cap {
        return false;
    }
    if flags & NAMEISH != 0 || next_cap {
        return true;
    }
    if flags & MONTH != 0 {
        return false;
    }
    // A sentence opener is scored only when it is no English word and a
    // lower-case word follows (`Ravi pasted ...`; not `Please ...`, `Docs:`).
    !initial(before(text, tok.s))
        || (flags & WORD == 0
            && tok.e - tok.s >= 3
            && matches!(next, Near::Word(ns, _) if !is_cap(text, ns)))
}

/// Adjacent capitalised tokens (one space, a hyphen, ` & `, a middle
/// initial between them) form a run, judged as one: its class is that of the
/// summed scores of its tokens, after dropping leading and trailing tokens
/// that are none by themselves and in no list (`Visited Paris`), and
/// leading titles and function words (`Dr`, `The`). A run with an
/// organisation cue (a legal form or organisation word at its end, or a
/// token scored as one) is an organisation. A run of nothing but
/// [`word_surname`]s needs [`name_evidence`] to be anything.
fn merge(text: &str, b: &[u8], lex: &Lexicon, tagged: &[Tagged], out: &mut Vec<Span>) {
    let adjacent = |a: &Tagged, c: &Tagged| {
        let Some(gap) = b.get(a.tok.e..c.tok.s) else {
            return false;
        };
        gap == b" "
            || gap == b"-"
            || gap == b" & "
            || (gap == b", " && c.tok.flags & ORG_LEGAL != 0)
            // A middle initial: `John F. Kennedy`.
            || matches!(gap, [b' ', initial, b'.', b' '] if initial.is_ascii_uppercase())
    };
    for mut run in tagged.chunk_by(adjacent) {
        while let [first, rest @ ..] = run {
            let weak = first.class == 0
                && first.tok.flags & NAMEISH == 0
                && initial(before(text, first.tok.s));
            if weak || first.tok.flags & (STOP | TITLE) != 0 && first.tok.flags & NAMEISH == 0 {
                run = rest;
            } else {
                break;
            }
        }
        while let [rest @ .., last] = run {
            if last.class == 0 && last.tok.flags & NAMEISH == 0 {
                run = rest;
            } else {
                break;
            }
        }
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        if run
            .iter()
            .any(|t| t.tok.flags & ORG_LEGAL == 0 && camel(t.tok.word(text)))
        {
            continue;
        }
        // `Acme LLC`, `Globex AG`: a legal form in capitals right after the run.
        let mut end = last.tok.e;
        let mut legal_after = false;
        if b.get(end) == Some(&b' ') {
            let we = word_end(text, end + 1);
            let w = text.get(end + 1..we).unwrap_or_default();
            if we > end + 2 && shape(w) == 1 && lex.flags(w) & ORG_LEGAL != 0 {
                end = we;
                legal_after = true;
            }
        }
        if !legal_after
            && run.iter().all(|t| word_surname(t.tok.flags))
            && !name_evidence(text, lex, first.tok.s, last.tok.e)
        {
            continue;
        }
        let org_cue = legal_after
            || (last.tok.flags & (ORG_LEGAL | ORG_WORD) != 0
                && last.tok.flags & (GIVEN | SURNAME) == 0
                && run.len() > 1)
            || (run.len() == 1 && first.class == 3);
        let place = run.len() == 1
            && first.tok.flags & (COUNTRY | STATE) != 0
            && first.tok.flags & (GIVEN | SURNAME) == 0;
        let class = if place && !legal_after {
            2
        } else if org_cue {
            if b.get(end) == Some(&b'.')
                && text
                    .get(last.tok.s..end)
                    .is_some_and(|w| lex.flags(w) & ORG_LEGAL != 0)
            {
                end += 1;
            }
            3
        } else {
            let mut sum = [0f32; 3];
            for t in run {
                for (total, v) in sum.iter_mut().zip(&t.scores) {
                    *total += v;
                }
            }
            sum.iter()
                .enumerate()
                .fold(
                    (0usize, 0f32),
                    |acc, (k, &v)| if v > acc.1 { (k + 1, v) } else { acc },
                )
                .0
        };
        // Class 0 is none, class k the entity CLASSES[k - 1].
        if let Some(&entity) = class.checked_sub(1).and_then(|k| CLASSES.get(k)) {
            let conf = run.iter().map(|t| t.conf).fold(0.0, f32::max).max(0.6);
            push(out, entity, first.tok.s, end, conf);
        }
    }
}

/// An everyday English word whose only list is a surname outside the most
/// common thousand (`Card`, `Check`, `Field`). Alone it is far more often
/// the word, yet the surname flag makes the model (which saw lone surnames
/// only after titles) call it a person, or a place before a number
/// (`Card 4111 ...`, read like a town before its postcode).
fn word_surname(flags: u32) -> bool {
    flags & WORD != 0 && surname_bucket(flags) >= 2 && flags & NAMEISH & !SURNAME == 0
}

/// What makes a run of [`word_surname`] tokens (`s..e`) a name after all:
/// a title before it (`Mr. Card`) or a state or country after a comma
/// (`Ream, Oregon`). (A given name next to it, `Walter Card`, makes the
/// run more than such words.)
fn name_evidence(text: &str, lex: &Lexicon, s: usize, e: usize) -> bool {
    let titled = matches!(before(text, s), Near::Word(ps, pe)
        if text.get(ps..pe).is_some_and(|w| lex.flags(w) & TITLE != 0));
    let placed = text.as_bytes().get(e) == Some(&b',')
        && matches!(after(text, e + 1), Near::Word(ns, ne)
            if text.get(ns..ne).is_some_and(|w| lex.flags(w) & (STATE | COUNTRY) != 0));
    titled || placed
}

// ---------------------------------------------------------------- fields

/// Values that stand for "no value".
fn placeholder(v: &str) -> bool {
    v.len() <= 9
        && v.as_bytes().first().is_some_and(|c| {
            matches!(
                c | 0x20,
                b'n' | b'u' | b't' | b'a' | b'r' | b'-' | b'o' | b'y' | b'f'
            )
        })
        && [
            "n/a",
            "na",
            "none",
            "null",
            "nil",
            "unknown",
            "test",
            "anonymous",
            "redacted",
            "-",
            "--",
            "tbd",
            "other",
            "yes",
            "no",
            "true",
            "false",
            "nan",
            "undefined",
        ]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(v))
}

/// The words of a name-like value: letters with inner `-`, `'`, `.`,
/// separated by spaces or `, `; at most `max_words`; no digits.
fn name_words(v: &str, max_words: usize) -> Option<usize> {
    // Byte by byte: non-ASCII bytes are taken as letters (`José`, `Zoë`).
    let b = v.as_bytes();
    let letter = |c: u8| c.is_ascii_alphabetic() || c >= 0x80;
    if !b.first().is_some_and(|&c| letter(c)) || b.len() > 80 {
        return None;
    }
    let mut words = 1;
    for (k, &c) in b.iter().enumerate() {
        if c == b' ' || c == b',' {
            if let Some(&next) = b.get(k + 1).filter(|n| !matches!(n, b' ' | b',')) {
                if !letter(next) {
                    return None;
                }
                words += 1;
            }
        } else if !(letter(c) || matches!(c, b'-' | b'\'' | b'.')) {
            return None;
        }
    }
    (words <= max_words).then_some(words)
}

/// The trimmed value of a field (quotes and spaces off) and its offset.
fn trimmed(text: &str) -> Option<(usize, &str)> {
    let t = text.trim_ascii().trim_matches(['"', '\'']).trim_ascii();
    if t.is_empty() || t.len() > 200 {
        return None;
    }
    Some((t.as_ptr() as usize - text.as_ptr() as usize, t))
}

/// The flags of the words of a value, or-ed.
fn word_flags(v: &str) -> u32 {
    let lex = Lexicon::get();
    let b = v.as_bytes();
    let (mut flags, mut ws) = (0, 0);
    for k in 0..=b.len() {
        if b.get(k)
            .is_none_or(|c| matches!(c, b' ' | b',' | b'-' | b'.'))
        {
            // Split at ASCII bytes: always char boundaries.
            if let Some(word) = v.get(ws..k).filter(|w| !w.is_empty()) {
                flags |= lex.flags(word);
            }
            ws = k + 1;
        }
    }
    flags
}

/// The whole value of a field whose name says what it holds. True when the
/// value was taken as that entity (free-text scanning of names is then
/// skipped for it).
#[inline]
pub(crate) fn field_value(text: &str, ctx: &FieldCtx, out: &mut Vec<Span>) -> bool {
    // The test inline, the work out of line: most columns are none of these.
    (ctx.person || ctx.location || ctx.address || ctx.org || ctx.nrp) && named_value(text, ctx, out)
}

fn named_value(text: &str, ctx: &FieldCtx, out: &mut Vec<Span>) -> bool {
    let Some((start, v)) = trimmed(text) else {
        return false;
    };
    if placeholder(v) {
        return false;
    }
    let end = start + v.len();
    let lex = Lexicon::get();
    if ctx.address
        && v.bytes().any(|c| c.is_ascii_digit())
        && v.chars().any(char::is_alphabetic)
        && v.len() >= 5
    {
        push(out, Entity::StreetAddress, start, end, 0.85);
        return true;
    }
    if ctx.person {
        if name_words(v, 5).is_some() {
            let flags = word_flags(v);
            if flags & ORG_LEGAL != 0 {
                push(out, Entity::Organization, start, end, 0.8);
            } else {
                let listed = flags & (GIVEN | SURNAME) != 0;
                push(
                    out,
                    Entity::Person,
                    start,
                    end,
                    if listed { 0.85 } else { 0.7 },
                );
            }
            return true;
        }
        return false;
    }
    if ctx.location || ctx.address {
        if name_words(v, 5).is_some() {
            let flags = lex.flags(v);
            let listed = flags & (CITY | COUNTRY | STATE) != 0;
            if ctx.state_only && !listed {
                return false;
            }
            push(
                out,
                Entity::Location,
                start,
                end,
                if listed { 0.85 } else { 0.7 },
            );
            return true;
        }
        return false;
    }
    if ctx.org {
        let ok = v.len() >= 2
            && v.split(' ').filter(|w| !w.is_empty()).count() <= 8
            && v.chars().next().is_some_and(char::is_alphanumeric)
            && v.chars().any(char::is_alphabetic)
            && v.chars()
                .all(|c| c.is_alphanumeric() || " &.,'-()’".contains(c));
        if ok {
            let listed = word_flags(v) & (ORG_LEGAL | ORG_WORD) != 0;
            push(
                out,
                Entity::Organization,
                start,
                end,
                if listed { 0.85 } else { 0.7 },
            );
            return true;
        }
        return false;
    }
    if ctx.nrp {
        if name_words(v, 4).is_some() {
            let listed = word_flags(v) & NRP != 0;
            push(
                out,
                Entity::Nrp,
                start,
                end,
                if listed { 0.85 } else { 0.7 },
            );
            return true;
        }
        return false;
    }
    false
}

#[cfg(test)]
#[path = "ner_train.rs"]
mod train;

#[cfg(test)]
mod letter_tests {
    #[test]
    fn latin1_fast_path_agrees_with_unicode() {
        for c in '\u{80}'..='\u{24F}' {
            let text = format!("{c}x");
            assert_eq!(
                super::letter_at(&text, 0),
                c.is_alphabetic().then_some(c),
                "{c}"
            );
        }
    }
}
