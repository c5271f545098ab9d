//! Detectors for personal data: e-mail, numbers (card, phone, SSN, IPv4),
//! IBAN, IPv6 and dates. Each finds cheap candidates by bytes, then validates.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::classes::{self, Classes};

use crate::validate::{
    country_code_len, iban_length, is_card_number, is_date, is_iban, is_nhs, is_ssn,
};
use crate::{Entity, FieldCtx, Span};

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// How many ASCII digits `b` starts with, counting at most `max`.
#[inline]
pub(crate) fn leading_digits(b: &[u8], max: usize) -> usize {
    b.iter()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// The byte before position `i` of `b`, if there is one.
#[inline]
pub(crate) fn byte_before(b: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| b.get(j)).copied()
}

fn span(entity: Entity, start: usize, end: usize, confidence: f32) -> Span {
    Span {
        entity,
        start,
        end,
        confidence,
    }
}

/// Lower-cased ASCII of up to `len` bytes before `pos`, for context words.
pub(crate) fn lower_before(b: &[u8], pos: usize, len: usize) -> String {
    let from = pos.saturating_sub(len);
    b.get(from..pos)
        .unwrap_or(&[])
        .iter()
        .map(|c| c.to_ascii_lowercase() as char)
        .collect()
}

// ---------------------------------------------------------------- e-mail

/// Byte classes of e-mail addresses, one table read per byte in the scans
/// around each `@` (bit 0: local part, bit 1: domain).
// Built at compile time, `c < 256`: a bad index would fail the build.
#[allow(clippy::indexing_slicing)]
const EMAIL_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-') {
            t[c] = 0b11;
        } else if matches!(b, b'_' | b'%' | b'+' | b'\'') {
            t[c] = 0b01;
        }
        c += 1;
    }
    t
};

/// (A byte always indexes the 256-entry table.)
fn is_local(b: u8) -> bool {
    EMAIL_BYTES.get(usize::from(b)).is_some_and(|t| t & 1 != 0)
}

fn is_domain(b: u8) -> bool {
    EMAIL_BYTES.get(usize::from(b)).is_some_and(|t| t & 2 != 0)
}

/// File extensions that follow `@` in asset names such as `icon@2x.png`.
const NOT_TLDS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "css", "py", "rs",
];

fn valid_domain(domain: &[u8]) -> bool {
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty()
            || label.len() > 63
            || label.first() == Some(&b'-')
            || label.last() == Some(&b'-')
        {
            return false;
        }
        labels += 1;
        tld = label;
    }
    labels >= 2
        && (2..=24).contains(&tld.len())
        && tld.iter().all(u8::is_ascii_alphabetic)
        && !NOT_TLDS
            .iter()
            .any(|t| t.as_bytes().eq_ignore_ascii_case(tld))
}

/// E-mail addresses around each `@`.
pub(crate) fn emails(text: &str, cls: &Classes, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let mut done = 0;
    for at in classes::iter(cls.at()) {
        if at < done {
            continue;
        }
        let mut s = at;
        while at - s < 64 && byte_before(b, s).is_some_and(is_local) {
            s -= 1;
        }
        if byte_before(b, s).is_some_and(|c| is_local(c) || c >= 0x80) {
            continue;
        }
        while s < at && b.get(s) == Some(&b'.') {
            s += 1;
        }
        let Some(local) = b.get(s..at) else {
            continue;
        };
        // Short windows: a plain loop beats building a memmem searcher per address.
        if local.is_empty() || local.last() == Some(&b'.') || local.windows(2).any(|w| w == b"..") {
            continue;
        }
        // `scheme://user:password@host` is a URL's userinfo, not an address.
        let back = s.saturating_sub(256);
        let token_start = b
            .get(back..s)
            .unwrap_or_default()
            .iter()
            .rposition(|c| c.is_ascii_whitespace() || *c == b'"');
        let token_start = token_start.map_or(back, |p| back + p);
        let token = b.get(token_start..s).unwrap_or_default();
        if token.windows(3).any(|w| w == b"://") {
            continue;
        }
        let mut e = at + 1;
        while e - at <= 254 && b.get(e).is_some_and(|&c| is_domain(c)) {
            e += 1;
        }
        while e > at + 1 && matches!(byte_before(b, e), Some(b'.' | b'-')) {
            e -= 1;
        }
        if b.get(e).is_some_and(|&c| is_word(c) || c == b'@') {
            continue;
        }
        // `git@github.com:org/repo.git`: an SSH remote (scp syntax), not a mailbox.
        if b.get(e) == Some(&b':')
            && b.get(e + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'~' || *c == b'/')
        {
            continue;
        }
        if b.get(at + 1..e).is_some_and(valid_domain) {
            out.push(span(Entity::Email, s, e, 0.85));
            done = e;
        }
    }
}

// ---------------------------------------------------------------- numbers

/// True when a number starting at `i` is not glued to a preceding word
/// (`v1.2`, `ORD-2024`, `#12345`, `x_99`).
fn number_starts_word(b: &[u8], i: usize) -> bool {
    let Some(&p) = i.checked_sub(1).and_then(|j| b.get(j)) else {
        return true;
    };
    if is_word(p) || matches!(p, b'#' | b'$' | b'@') {
        return false;
    }
    if matches!(p, b'-' | b'.' | b'/' | b'+') {
        let glued = i
            .checked_sub(2)
            .and_then(|j| b.get(j))
            .is_some_and(|&pp| is_word(pp));
        return !glued;
    }
    true
}

/// One pass over the text: every digit run that starts a word becomes a card
/// / SSN / IPv4 / phone candidate; two upper-case letters right before it, an
/// IBAN candidate.
pub(crate) fn structured(
    text: &str,
    numbers: &[u64],
    words: &mut Vec<(usize, usize)>,
    dates: &mut Vec<usize>,
    ctx: &FieldCtx,
    out: &mut Vec<Span>,
) {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(digit) = classes::next(numbers, i) {
        i = digit;
        let start = if matches!(byte_before(b, i), Some(b'+' | b'(')) {
            i - 1
        } else {
            i
        };
        if number_starts_word(b, start) {
            i = numeric_run(text, start, ctx, words, dates, out).max(i + 1);
            continue;
        }
        if i >= 2
            && b.get(i - 2).is_some_and(u8::is_ascii_uppercase)
            && b.get(i - 1).is_some_and(u8::is_ascii_uppercase)
            && number_starts_word(b, i - 2)
        {
            let country = b.get(i - 2..i).unwrap_or_default();
            if let Some(end) = iban_at(b, i - 2) {
                out.push(span(Entity::Iban, i - 2, end, 0.95));
                i = end;
                continue;
            }
            // An IBAN-shaped value with a bad check: its digit groups are
            // not a phone number either.
            if iban_length(country).is_some() && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i = skip_iban_shape(b, i);
                continue;
            }
        }
        // Digits glued to this one's word are not marked: none can start a
        // number (a number must start a word).
        i += 1;
    }
}

/// The end of upper-case/digit groups joined by single spaces (at most 34
/// characters, the longest IBAN).
fn skip_iban_shape(b: &[u8], mut j: usize) -> usize {
    let mut seen = 0;
    while seen < 34 {
        let Some(&c) = b.get(j) else {
            break;
        };
        if c.is_ascii_digit() || c.is_ascii_uppercase() {
            seen += 1;
        } else if !(c == b' ' && b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric)) {
            break;
        }
        j += 1;
    }
    j.max(1)
}

/// An IBAN starting at `i` (country letters, check digits, then groups of
/// alphanumerics with optional single spaces), ending where its country's
/// registered length says.
fn iban_at(b: &[u8], i: usize) -> Option<usize> {
    let &[c0, c1, d0, d1] = b.get(i..i + 4)? else {
        return None;
    };
    if !(c0.is_ascii_uppercase()
        && c1.is_ascii_uppercase()
        && d0.is_ascii_digit()
        && d1.is_ascii_digit())
    {
        return None;
    }
    let want = iban_length(&[c0, c1])?;
    let mut compact = Vec::with_capacity(want);
    let mut j = i;
    while compact.len() < want {
        match b.get(j) {
            Some(&c) if c.is_ascii_digit() || c.is_ascii_uppercase() => compact.push(c),
            Some(b' ')
                if b.get(j + 1).is_some_and(|c| c.is_ascii_alphanumeric())
                    && !compact.is_empty() => {}
            _ => return None,
        }
        j += 1;
    }
    if b.get(j).is_some_and(|&c| is_word(c)) {
        return None;
    }
    is_iban(&compact).then_some(j)
}

fn run_byte(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'-' | b'.' | b'/' | b'(' | b')' | b'+')
}

/// Classify the digit run starting at `start`; returns where it ends.
fn numeric_run(
    text: &str,
    start: usize,
    ctx: &FieldCtx,
    words: &mut Vec<(usize, usize)>,
    dates: &mut Vec<usize>,
    out: &mut Vec<Span>,
) -> usize {
    let b = text.as_bytes();
    let mut j = start;
    let (mut digits, mut spaces) = (0usize, 0usize);
    let mut seps = false;
    while let Some(&c) = b.get(j) {
        if run_byte(c) {
            digits += usize::from(c.is_ascii_digit());
            seps |= matches!(c, b'-' | b'/' | b'.');
            j += 1;
        } else if c == b' '
            && b.get(j + 1)
                .is_some_and(|&d| d.is_ascii_digit() || d == b'(' || d == b'+')
        {
            spaces += 1;
            j += 1;
        } else {
            break;
        }
    }
    let raw_end = j;
    // Numeric dates start a word of the run: `2024-03-12`, `ref 7 12/03/2024`.
    if seps && digits >= 3 {
        let mut ws = start;
        while ws < raw_end {
            let rest = b.get(ws..raw_end).unwrap_or_default();
            let g = leading_digits(rest, 5);
            if (1..=4).contains(&g) && numeric_date_shape(b, ws + g) {
                dates.push(ws);
            }
            match rest.iter().position(|&c| c == b' ') {
                Some(p) => ws += p + 1,
                None => break,
            }
        }
    }
    // A last word glued to letters (`1.5GB`, `4567abc`) is not a number.
    let glued = b.get(raw_end).is_some_and(|&c| is_word(c) || c == b'@');
    if digits < 4 || (glued && spaces == 0) {
        return raw_end;
    }
    // The most common run, a plain integer (ids, counts): only a card has
    // no separators, unless the column says phone or SSN.
    if digits == raw_end - start
        && !(13..=19).contains(&digits)
        && digits != 9
        && !ctx.phone
        && !(digits == 10 && nhs_context(b, start, ctx))
    {
        return raw_end;
    }
    run_words(text, start, raw_end, glued, ctx, words, out);
    raw_end
}

/// The words of a digit run that may hold a number worth classifying
/// (`text[start..raw_end]`, the last word glued to letters when `glued`):
/// the longest groups of words that classify as something. Kept out of
/// line: most runs (short numbers, ids, parts of timestamps) end before
/// this, and [`numeric_run`] stays small for them.
#[inline(never)]
fn run_words(
    text: &str,
    start: usize,
    raw_end: usize,
    glued: bool,
    ctx: &FieldCtx,
    words: &mut Vec<(usize, usize)>,
    out: &mut Vec<Span>,
) {
    let b = text.as_bytes();
    // Words of the run, split on single spaces.
    words.clear();
    let mut ws = start;
    loop {
        // A search for the next space, not a test of every byte.
        let k = b
            .get(ws..raw_end)
            .and_then(|rest| rest.iter().position(|&c| c == b' '))
            .map_or(raw_end, |p| ws + p);
        let mut we = k;
        while we > ws && matches!(byte_before(b, we), Some(b'-' | b'.' | b'/' | b'+' | b'(')) {
            we -= 1;
        }
        if we > ws {
            words.push((ws, we));
        }
        if k == raw_end {
            break;
        }
        ws = k + 1;
    }
    if glued {
        words.pop();
    }
    // The same integer followed by a separator (`12345.`).
    if let [(s, e)] = words.as_slice() {
        let len = e - s;
        if b.get(*s..*e)
            .is_some_and(|w| w.iter().all(u8::is_ascii_digit))
            && !(13..=19).contains(&len)
            && len != 9
            && !ctx.phone
            && !(len == 10 && nhs_context(b, *s, ctx))
        {
            return;
        }
    }
    let mut w = 0;
    while let Some(&(s, _)) = words.get(w) {
        let mut taken = 0;
        for len in (1..=(words.len() - w).min(7)).rev() {
            let Some(&(_, e)) = words.get(w + len - 1) else {
                continue;
            };
            let whole_run = len == words.len();
            if let Some((entity, conf)) = classify(text, s, e, len, whole_run, ctx) {
                out.push(span(entity, s, e, conf));
                taken = len;
                break;
            }
        }
        w += taken.max(1);
    }
}

/// An NHS column, or "NHS" in the 48 bytes before `s`.
fn nhs_context(b: &[u8], s: usize, ctx: &FieldCtx) -> bool {
    ctx.nhs
        || b.get(s.saturating_sub(48)..s)
            .unwrap_or_default()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"nhs"))
}

/// Labels of other numbering schemes whose values can pass Luhn by chance.
const NOT_CARD_WORDS: &[&str] = &[
    "ean", "gtin", "isbn", "upc", "barcode", "sku", "tracking", "parcel", "order", "invoice",
    "ref", "imei", "iccid", "acct", "account",
];
const SSN_WORDS: &[&str] = &[
    "ssn",
    "social security",
    "social sec",
    "ss#",
    "ss #",
    "ss no",
];
const VERSION_WORDS: &[&str] = &[
    "version", "ver", "v", "release", "build", "firmware", "rev", "revision",
];

/// The last word before `pos` (skipping spaces and `:`/`=`/`#`): the ASCII
/// letters ending there, within 24 bytes, lower-cased on the stack (this runs
/// for every date and card candidate, so it allocates nothing).
struct PrevWord {
    buf: [u8; 24],
    len: usize,
}

impl PrevWord {
    fn is_in(&self, words: &[&str]) -> bool {
        let word = self.buf.get(..self.len).unwrap_or_default();
        words.iter().any(|w| w.as_bytes() == word)
    }
}

fn previous_word(b: &[u8], pos: usize) -> PrevWord {
    let back = b.get(pos.saturating_sub(24)..pos).unwrap_or(&[]);
    let mut end = back.len();
    // Each byte read as a char, as `char::is_whitespace` sees it (so 0x85
    // and 0xA0 count, as they did when the window was a Latin-1 string).
    while byte_before(back, end)
        .is_some_and(|c| char::from(c).is_whitespace() || matches!(c, b':' | b'=' | b'#'))
    {
        end -= 1;
    }
    let mut start = end;
    while byte_before(back, start).is_some_and(|c| c.is_ascii_alphabetic()) {
        start -= 1;
    }
    let mut word = PrevWord {
        buf: [0; 24],
        len: end - start,
    };
    for (d, c) in word
        .buf
        .iter_mut()
        .zip(back.get(start..end).unwrap_or_default())
    {
        *d = c.to_ascii_lowercase();
    }
    word
}

/// Whether one of `words` (lower-case ASCII) is in the `len` bytes before
/// `pos`, any case.
fn mentioned_before(b: &[u8], pos: usize, len: usize, words: &[&str]) -> bool {
    let back = b.get(pos.saturating_sub(len)..pos).unwrap_or(&[]);
    words.iter().any(|w| {
        back.windows(w.len())
            .any(|x| x.eq_ignore_ascii_case(w.as_bytes()))
    })
}

/// What the words `text[s..e]` of a digit run are, if anything. `whole_run`:
/// they are the entire run (a phone number inside a longer run of digit
/// groups is a slice of an account or card number, unless it starts with `+`
/// or `(`).
fn classify(
    text: &str,
    s: usize,
    e: usize,
    nwords: usize,
    whole_run: bool,
    ctx: &FieldCtx,
) -> Option<(Entity, f32)> {
    let b = text.as_bytes();
    let w = b.get(s..e)?;
    let mut digits = [0u8; 20];
    let mut nd = 0;
    for &c in w {
        if c.is_ascii_digit() {
            // More than 20 digits: none.
            *digits.get_mut(nd)? = c;
            nd += 1;
        }
    }
    let digits = digits.get(..nd)?;
    if nd < 4 {
        return None;
    }
    let ssn_context = || ctx.ssn || mentioned_before(b, s, 32, SSN_WORDS);
    if nd == 10
        && (w.len() == 10
            || (w.len() == 12 && w.get(3) == w.get(7) && matches!(w.get(3), Some(b' ' | b'-'))))
        && (shaped(w, &[3, 3, 4], b' ') || shaped(w, &[3, 3, 4], b'-') || w.len() == 10)
        && nhs_context(b, s, ctx)
    {
        // Called an NHS number: one with a bad check digit is a typo, not a phone number.
        return is_nhs(digits).then_some((Entity::UkNhs, 0.95));
    }
    if nwords == 1 {
        if let Some(ip) = ipv4(w) {
            if !previous_word(b, s).is_in(VERSION_WORDS) && !ip.is_unspecified() {
                return Some((Entity::IpAddress, 0.85));
            }
            return None;
        }
        if shaped(w, &[3, 2, 4], b'-') && is_ssn(digits) {
            return Some((Entity::UsSsn, if ssn_context() { 0.95 } else { 0.85 }));
        }
        if nd == 9 && w.len() == 9 && is_ssn(digits) && ssn_context() {
            return Some((Entity::UsSsn, if ctx.ssn { 0.6 } else { 0.8 }));
        }
    }
    if nwords == 3 && shaped(w, &[3, 2, 4], b' ') && is_ssn(digits) && ssn_context() {
        return Some((Entity::UsSsn, 0.8));
    }
    if (13..=19).contains(&nd)
        && card_shaped(w)
        && is_card_number(digits)
        && !previous_word(b, s).is_in(NOT_CARD_WORDS)
        && !ctx.bank
    {
        return Some((Entity::CreditCard, 0.95));
    }
    if !whole_run && !matches!(w.first(), Some(b'+' | b'(')) {
        return None;
    }
    if holds_decimal(w) {
        return None;
    }
    phone(w, digits, ctx.phone).map(|conf| (Entity::Phone, conf))
}

/// A decimal number: digits, one `.`, digits, as programs print fractions
/// (`0.0567809958231964`, `-12.5551234567` from its digits on, a signed
/// `+86.2143357863651`, `(0.25)`). An integer part with a leading zero
/// (`030.1234567`) is no printed number but a trunk prefix, so not one.
fn is_decimal(word: &[u8]) -> bool {
    let word = match word {
        [b'+' | b'(', rest @ ..] => rest,
        _ => word,
    };
    let word = word.strip_suffix(b")").unwrap_or(word);
    // Before and after the first dot.
    let mut parts = word.splitn(2, |&c| c == b'.');
    let (Some(int), Some(frac)) = (parts.next(), parts.next()) else {
        return false;
    };
    !int.is_empty()
        && !frac.is_empty()
        && int.iter().chain(frac).all(u8::is_ascii_digit)
        && (int == b"0" || int.first() != Some(&b'0'))
}

/// Whether the words of a phone candidate (joined by single spaces) hold a
/// decimal number: digits after a decimal point are a fraction, not part of a
/// phone number. Random floats otherwise read as numbers dialled abroad
/// (`0.0948123594256941`: 00, then 94 for Sri Lanka) or, with the integer
/// before them, as `0 0.8129...`: up to one in a hundred did. After an
/// explicit `+` country code or `(` area code only the first word counts:
/// there a later single-dot group is a separator style (`+1 415 555.0132`).
/// Dotted phone numbers have two dots or more in a word (`+1.415.555.0132`,
/// `06.12.34.56.78`), and are kept.
fn holds_decimal(w: &[u8]) -> bool {
    let mut words = w.split(|&c| c == b' ');
    if matches!(w.first(), Some(b'+' | b'(')) {
        words.next().is_some_and(is_decimal)
    } else {
        words.any(is_decimal)
    }
}

/// Digit groups of exactly these sizes joined by `sep`.
fn shaped(w: &[u8], sizes: &[usize], sep: u8) -> bool {
    w.len() == sizes.iter().sum::<usize>() + sizes.len() - 1
        && w.split(|&c| c == sep).count() == sizes.len()
        && w.split(|&c| c == sep)
            .zip(sizes)
            .all(|(g, &n)| g.len() == n && g.iter().all(u8::is_ascii_digit))
}

fn card_shaped(w: &[u8]) -> bool {
    let mut sep = None;
    for &c in w {
        if c.is_ascii_digit() {
            continue;
        }
        if !matches!(c, b' ' | b'-') || sep.is_some_and(|s| s != c) {
            return false;
        }
        sep = Some(c);
    }
    match sep {
        None => true,
        Some(sep) => w.split(|&c| c == sep).all(|g| g.len() >= 3),
    }
}

fn ipv4(w: &[u8]) -> Option<Ipv4Addr> {
    let addr = w.split(|&c| c == b'/').next()?;
    if addr.iter().filter(|&&c| c == b'.').count() != 3 {
        return None;
    }
    std::str::from_utf8(addr).ok()?.parse().ok()
}

/// A phone number's confidence, or None. `w` holds only digits, spaces and
/// `- . / ( ) +`; `digits` are its digits.
fn phone(w: &[u8], digits: &[u8], phone_column: bool) -> Option<f32> {
    // E.164 allows 8..=15 digits, plus a 00 prefix; national numbers have 10..=12.
    if !(8..=17).contains(&digits.len()) || w.iter().skip(1).any(|&c| c == b'+') {
        return None;
    }
    let plus = w.first() == Some(&b'+');
    // Digit group sizes, their digits, and the separator kinds between them.
    // On the stack, small: this runs for most digit runs of every cell. At
    // most 17 digits means at most 17 groups; separators are run bytes, at
    // most 7 kinds.
    let mut sizes_buf = [0u8; 17];
    let mut ngroups = 0;
    let mut national_buf = [0u8; 17];
    let mut nnational = 0;
    let mut kinds_buf = [0u8; 8];
    let mut nkinds = 0;
    let mut parens = 0;
    // Opening minus closing parentheses.
    let mut balance = 0isize;
    let mut k = 0;
    while let Some(&c) = w.get(k) {
        if c.is_ascii_digit() {
            let gs = k;
            while w.get(k).is_some_and(u8::is_ascii_digit) {
                k += 1;
            }
            let group = w.get(gs..k)?;
            let in_parens = byte_before(w, gs) == Some(b'(') && w.get(k) == Some(&b')');
            // The UK/DE "+44 (0)20 ..." trunk zero is not dialled from abroad.
            if !(in_parens && group == b"0" && plus) {
                *sizes_buf.get_mut(ngroups)? = (k - gs) as u8;
                ngroups += 1;
                national_buf
                    .get_mut(nnational..nnational + group.len())?
                    .copy_from_slice(group);
                nnational += group.len();
            }
            continue;
        }
        let ss = k;
        while w.get(k).is_some_and(|c| !c.is_ascii_digit()) {
            k += 1;
        }
        let sep = w.get(ss..k)?;
        // Every byte that is not a digit is in some `sep`: count the
        // parentheses here rather than in two more passes over `w`.
        let opened = sep.iter().filter(|&&c| c == b'(').count();
        let closed = sep.iter().filter(|&&c| c == b')').count();
        balance += opened as isize - closed as isize;
        if opened + closed > 0 {
            parens += 1;
            if sep
                .iter()
                .filter(|&&c| !matches!(c, b'(' | b')' | b' '))
                .count()
                > 0
                && ss > 0
            {
                return None;
            }
        } else if ss > 0 {
            let &[kind] = sep else {
                return None;
            };
            if !kinds_buf.get(..nkinds)?.contains(&kind) {
                *kinds_buf.get_mut(nkinds)? = kind;
                nkinds += 1;
            }
        }
    }
    if parens > 2 || balance != 0 {
        return None;
    }
    let kinds = kinds_buf.get(..nkinds)?;
    let sizes = sizes_buf.get(..ngroups)?;
    let formatted = ngroups > 1;
    let national_digits = national_buf.get(..nnational)?;
    let boost = |c: f32| if phone_column { 0.95 } else { c };

    // International: +CC or 00CC.
    let intl = if plus {
        Some(national_digits)
    } else if national_digits.starts_with(b"00") && formatted {
        national_digits.get(2..)
    } else {
        None
    };
    if let Some(intl) = intl {
        let cc = country_code_len(intl)?;
        if !(8..=15).contains(&intl.len()) || kinds.len() > 2 {
            return None;
        }
        let first_group = usize::from(if plus {
            sizes.first().copied()?
        } else {
            sizes.first()?.saturating_sub(2)
        });
        if formatted && first_group != 0 && first_group < cc {
            return None;
        }
        // Abroad the national trunk 0 is dropped (Italy keeps it).
        if intl.get(cc) == Some(&b'0') && !intl.starts_with(b"39") {
            return None;
        }
        if cc == 1 && (intl.len() != 11 || !intl.get(1..).is_some_and(nanp_ok)) {
            return None;
        }
        return Some(boost(0.85));
    }
    if kinds.len() > 1 || kinds.contains(&b'/') && sizes.len() != 2 {
        return None;
    }
    let nanp = match sizes {
        [3, 3, 4] => nanp_ok(digits),
        [1, 3, 3, 4] => matches!(digits, [b'1', rest @ ..] if nanp_ok(rest)),
        _ => false,
    };
    // A dotted 3-3-4 is as often a version or a decimal series; keep it only in a phone column.
    if nanp && (!kinds.contains(&b'.') || phone_column) {
        return Some(boost(0.85));
    }
    let trunk = digits.first() == Some(&b'0')
        && digits.get(1).is_some_and(|&d| d != b'0')
        && (10..=12).contains(&digits.len())
        && sizes.len() >= 2
        && sizes.iter().all(|&g| g >= 2)
        && sizes.first().is_some_and(|&g| g <= 5)
        // UK/DE numbers end in a group of 3 or more, French ones are all pairs.
        && (sizes.last().is_some_and(|&g| g >= 3) || sizes.iter().skip(1).all(|&g| g == 2))
        && parens == 0;
    if trunk {
        return Some(boost(0.85));
    }
    if sizes == [5, 5] && digits.first().is_some_and(|&d| d >= b'6') && parens == 0 {
        return Some(boost(0.8));
    }
    if phone_column && !formatted && parens == 0 {
        let bare = (digits.len() == 10 && nanp_ok(digits))
            || (digits.len() == 11 && matches!(digits, [b'1', rest @ ..] if nanp_ok(rest)))
            || (digits.first() == Some(&b'0') && (10..=11).contains(&digits.len()));
        if bare {
            return Some(0.6);
        }
    }
    None
}

/// A NANP number's 10 digits: area and exchange start with 2-9, the area is not an N11 service code.
fn nanp_ok(d: &[u8]) -> bool {
    matches!(*d, [a0, a1, a2, x0, _, _, _, _, _, _]
        if a0 >= b'2' && x0 >= b'2' && !(a1 == b'1' && a2 == b'1'))
}

// ---------------------------------------------------------------- IPv6

fn is_v6(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

/// IPv6 addresses around each `:`.
pub(crate) fn ipv6(text: &str, cls: &Classes, out: &mut Vec<Span>) {
    let b = text.as_bytes();
    let mut done = 0;
    for c in classes::iter(cls.colon()) {
        if c < done {
            continue;
        }
        let mut s = c;
        while c - s < 46 && byte_before(b, s).is_some_and(is_v6) {
            s -= 1;
        }
        let mut e = c;
        while b.get(e).is_some_and(|&x| is_v6(x)) {
            e += 1;
        }
        done = e;
        while e > s
            && matches!(byte_before(b, e), Some(b'.' | b':'))
            && b.get(..e).is_some_and(|x| !x.ends_with(b"::"))
        {
            e -= 1;
        }
        if byte_before(b, s).is_some_and(|x| is_v6(x) || is_word(x))
            || b.get(done).is_some_and(|&x| is_word(x))
        {
            continue;
        }
        let Some(token) = b.get(s..e) else {
            continue;
        };
        if !(6..=45).contains(&token.len()) || token.iter().filter(|&&x| x == b':').count() < 2 {
            continue;
        }
        let hex_groups = token
            .split(|&x| x == b':')
            .filter(|g| !g.is_empty())
            .count();
        if hex_groups < 2 {
            continue;
        }
        let parsed = std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<Ipv6Addr>().ok());
        if parsed.is_some() {
            out.push(span(Entity::IpAddress, s, e, 0.85));
        }
    }
}

// ---------------------------------------------------------------- dates

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Numeric (`1984-03-12`, `12/03/1984`, `12.03.84`) and written (`12 March
/// 1984`, `March 12, 1984`) dates.
pub(crate) fn date_regex() -> regex::Regex {
    let month = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?";
    let pattern = format!(
        r"(?i-u)\b(?:(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}})|(\d{{1,2}})[-/.](\d{{1,2}})[-/.](\d{{4}}|\d{{2}})|(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({month}),?\s+(\d{{4}})|({month})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}}))\b"
    );
    // The pattern is a constant; a failure here is a bug caught by every test.
    regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("date pattern: {e}"))
}

fn month_number(name: &str) -> u32 {
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| lower.starts_with(m))
        .map_or(0, |p| p as u32 + 1)
}

/// Valid dates within `text[from..to]`, reported as DATE_OF_BIRTH (the caller
/// has the birth context: a birth word right before, or a dob column).
pub(crate) fn dates(
    re: &regex::Regex,
    text: &str,
    from: usize,
    to: usize,
    conf: f32,
    out: &mut Vec<Span>,
) {
    let Some(window) = text.get(from..to) else {
        return;
    };
    for caps in re.captures_iter(window) {
        let Some(m) = caps.get(0) else { continue };
        if valid_date(&caps) {
            out.push(span(
                Entity::DateOfBirth,
                from + m.start(),
                from + m.end(),
                conf,
            ));
        }
    }
}

/// Whether a match of [`date_regex`] is a real calendar date.
fn valid_date(caps: &regex::Captures) -> bool {
    let num = |c: &regex::Captures, i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    {
        if let (Some(y), Some(mo), Some(d)) = (num(caps, 1), num(caps, 2), num(caps, 3)) {
            is_date(y, mo, d, true)
        } else if let (Some(a), Some(bb), Some(y)) = (num(caps, 4), num(caps, 5), num(caps, 6)) {
            let four = caps.get(6).is_some_and(|m| m.len() == 4);
            is_date(y, bb, a, four) || is_date(y, a, bb, four)
        } else if let (Some(d), Some(mo), Some(y)) = (num(caps, 7), caps.get(8), num(caps, 9)) {
            is_date(y, month_number(mo.as_str()), d, true)
        } else if let (Some(mo), Some(d), Some(y)) = (caps.get(10), num(caps, 11), num(caps, 12)) {
            is_date(y, month_number(mo.as_str()), d, true)
        } else {
            false
        }
    }
}

/// The first three letters of a month name at `b[i..]`, any case.
fn month_at(b: &[u8], i: usize) -> bool {
    let Some(&[m0, m1, m2]) = b.get(i..i + 3) else {
        return false;
    };
    let m = [m0 | 0x20, m1 | 0x20, m2 | 0x20];
    MONTHS.iter().any(|x| x.as_bytes() == m)
}

/// Calendar dates anywhere, as DATE_TIME: numeric (`2024-03-12`,
/// `12/03/2024`, `12.03.24`; their starts `dates` come from the number scan)
/// and written with a capitalised month (`12 March 2024`, `March 12, 2024`,
/// `Mar 3, 2024`), with a clock time right after (`14:30`, `at 9:05 pm`).
/// Not after version words, and not an ISO timestamp with a `T` time or a
/// date with a time to the second (machine metadata).
pub(crate) fn date_times(
    re: &regex::Regex,
    text: &str,
    cls: &Classes,
    dates: &[usize],
    out: &mut Vec<Span>,
) {
    let b = text.as_bytes();
    let mut done = 0;
    for &from in dates {
        if from >= done {
            done = date_at(re, text, from, out).unwrap_or(from);
        }
    }
    // Written dates, from a capitalised month name.
    for m in classes::iter(cls.cap()) {
        // Month names start with one of these letters.
        if m < done
            || !b.get(m).is_some_and(|c| b"JFMASOND".contains(c))
            || !b.get(m + 1).is_some_and(u8::is_ascii_lowercase)
            || !month_at(b, m)
        {
            continue;
        }
        let mut e = m;
        while e - m < 10 && b.get(e).is_some_and(u8::is_ascii_alphabetic) {
            e += 1;
        }
        if text.get(m..e).map_or(0, month_number) == 0 || e - m > 9 {
            continue;
        }
        // `12 March 2024`, `3rd of May 2024`: the day before the month.
        let mut from = m;
        let mut k = m;
        if k >= 4 && b.get(k - 3..k) == Some(b"of ".as_slice()) {
            k -= 3;
        }
        if k >= 2 && byte_before(b, k) == Some(b' ') {
            let mut d = k - 1;
            if d >= 2
                && b.get(d - 2..d)
                    .is_some_and(|x| x.iter().all(u8::is_ascii_alphabetic))
                && b.get(d.wrapping_sub(3)).is_some_and(u8::is_ascii_digit)
            {
                d -= 2;
            }
            let mut ds = d;
            while d - ds < 2 && byte_before(b, ds).is_some_and(|c| c.is_ascii_digit()) {
                ds -= 1;
            }
            if ds < d && number_starts_word(b, ds) {
                from = ds;
            }
        }
        if let Some(end) = date_at(re, text, from, out) {
            done = end;
        }
    }
}

/// A date starting exactly at `from`, pushed as DATE_TIME; its end.
fn date_at(re: &regex::Regex, text: &str, from: usize, out: &mut Vec<Span>) -> Option<usize> {
    let b = text.as_bytes();
    if previous_word(b, from).is_in(VERSION_WORDS) {
        return None;
    }
    let mut to = (from + 40).min(b.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let caps = re.captures(text.get(from..to)?)?;
    let m = caps.get(0)?;
    if m.start() != 0 || !valid_date(&caps) || to_the_second(b, from + m.end()) {
        return None;
    }
    let end = time_end(b, from + m.end());
    out.push(span(Entity::DateTime, from, end, 0.85));
    Some(end)
}

/// After a first group of digits ending at `j`: `sep`, 1-2 digits, the same
/// `sep`, 2 or 4 digits, and no letter or digit after (so not `123.45`, not
/// `2024-03-12T10:00`). A cheap test before the date pattern runs.
fn numeric_date_shape(b: &[u8], j: usize) -> bool {
    let Some(&sep) = b.get(j).filter(|c| matches!(c, b'-' | b'/' | b'.')) else {
        return false;
    };
    let group = |from: usize| {
        let n = leading_digits(b.get(from..).unwrap_or_default(), 5);
        (from + n, n)
    };
    let (k, n2) = group(j + 1);
    if !(1..=2).contains(&n2) || b.get(k) != Some(&sep) {
        return false;
    }
    let (k, n3) = group(k + 1);
    (n3 == 2 || n3 == 4) && !b.get(k).is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Past a clock time after a date (`14:30`, `T`-less `at 9:05 pm`), or `e`.
fn time_end(b: &[u8], e: usize) -> usize {
    let mut i = e;
    if b.get(i) != Some(&b' ') {
        return e;
    }
    i += 1;
    if b.get(i..i + 3) == Some(b"at ") {
        i += 3;
    }
    let hs = i;
    i += leading_digits(b.get(i..).unwrap_or_default(), 2);
    if i == hs || b.get(i) != Some(&b':') {
        return e;
    }
    let ms = i + 1;
    let two = |p: usize| {
        b.get(p..p + 2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if !two(ms) {
        return e;
    }
    i = ms + 2;
    if b.get(i) == Some(&b':') && two(i + 1) {
        i += 3;
    }
    let ampm = |p: usize| matches!(b.get(p..p + 2), Some(&[x, y]) if matches!([x | 0x20, y | 0x20], [b'a' | b'p', b'm']));
    if ampm(i) {
        i += 2;
    } else if b.get(i) == Some(&b' ')
        && ampm(i + 1)
        && !b.get(i + 3).is_some_and(u8::is_ascii_alphanumeric)
    {
        i += 3;
    }
    if b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        return e;
    }
    i
}

/// A date followed by a time to the second (`2024-05-01 12:00:01`): a
/// machine timestamp (log lines, `created_at`), like the `T` form.
fn to_the_second(b: &[u8], date_end: usize) -> bool {
    let digits = |x: &[&u8]| x.iter().all(|c| c.is_ascii_digit());
    // ` 12:00:01` or ` 9:00:01` (then one byte more, whatever it is).
    match b.get(date_end..).unwrap_or_default() {
        [b' ', h0, h1, b':', m0, m1, b':', s0, s1, ..] if digits(&[h0, h1, m0, m1, s0, s1]) => true,
        [b' ', h, b':', m0, m1, b':', s0, s1, _, ..] => digits(&[h, m0, m1, s0, s1]),
        _ => false,
    }
}

/// The whole value of a passport, driver's licence, bank account or NHS
/// column, when it has the shape of one.
#[inline]
pub(crate) fn id_field(text: &str, ctx: &FieldCtx, out: &mut Vec<Span>) {
    // The test inline, the work out of line: most columns are none of these.
    if ctx.passport || ctx.license || ctx.bank || ctx.nhs {
        id_value(text, ctx, out);
    }
}

fn id_value(text: &str, ctx: &FieldCtx, out: &mut Vec<Span>) {
    let t = text.trim().trim_matches('"').trim();
    if t.is_empty() || t.len() > 32 {
        return;
    }
    let start = t.as_ptr() as usize - text.as_ptr() as usize;
    let v = t.as_bytes();
    let entity = if ctx.passport && passport_shaped(v) {
        Entity::UsPassport
    } else if ctx.license && license_shaped(v) {
        Entity::UsDriverLicense
    } else if ctx.nhs && {
        let d: Vec<u8> = v.iter().copied().filter(u8::is_ascii_digit).collect();
        is_nhs(&d)
            && v.iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b' ' | b'-'))
    } {
        Entity::UkNhs
    } else if ctx.bank && bank_shaped(v) {
        Entity::UsBankNumber
    } else {
        return;
    };
    out.push(span(entity, start, start + t.len(), 0.8));
}

/// 9 digits, or a capital letter and 8 digits.
pub(crate) fn passport_shaped(v: &[u8]) -> bool {
    v.len() == 9
        && v.split_first().is_some_and(|(first, rest)| {
            (first.is_ascii_digit() || first.is_ascii_uppercase())
                && rest.iter().all(u8::is_ascii_digit)
        })
}

/// Letters and digits (4 to 16, at least 4 digits, at most 3 letters), with
/// single dashes or spaces between groups: the state formats.
pub(crate) fn license_shaped(v: &[u8]) -> bool {
    let digits = v.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = v.iter().filter(|c| c.is_ascii_alphabetic()).count();
    (5..=20).contains(&v.len())
        && digits >= 4
        && letters <= 3
        && v.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, b'-' | b' '))
        && v.first().is_some_and(u8::is_ascii_alphanumeric)
        && v.last().is_some_and(u8::is_ascii_alphanumeric)
        && !v
            .iter()
            .zip(v.iter().skip(1))
            .any(|(a, b)| !a.is_ascii_alphanumeric() && !b.is_ascii_alphanumeric())
}

/// 8 to 17 digits, optionally in dash-separated groups.
pub(crate) fn bank_shaped(v: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (v.first(), v.last()) else {
        return false;
    };
    let digits = v.iter().filter(|c| c.is_ascii_digit()).count();
    (8..=17).contains(&digits)
        && v.iter().all(|c| c.is_ascii_digit() || *c == b'-')
        && first.is_ascii_digit()
        && last.is_ascii_digit()
        && !v.windows(2).any(|w| w == b"--")
        && !v.iter().all(|&c| c == first)
}

#[cfg(test)]
mod tests {
    #[test]
    fn email_byte_table_matches_its_definition() {
        for b in 0..=255u8 {
            let local =
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'');
            let domain = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
            assert_eq!(super::is_local(b), local, "{b}");
            assert_eq!(super::is_domain(b), domain, "{b}");
        }
    }
}
