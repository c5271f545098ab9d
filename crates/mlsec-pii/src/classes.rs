//! Where the detectors should look in a text: bitmaps (bit `i` = byte `i`) of
//! digits that may start a number, `@`, `:` and possible anchor starts,
//! computed once per text, 64 bytes at a time with AVX-512BW where the CPU has
//! it, else 16 at a time with SSE2 on x86-64 (a scalar loop elsewhere). Each
//! detector then jumps from one set bit to the next instead of testing every
//! byte itself, so text without candidates costs well under an instruction a
//! byte.

/// The bitmaps of one text. Kept and refilled per thread, so that a call
/// allocates nothing once the buffers have grown.
#[derive(Default)]
pub(crate) struct Classes {
    /// 64-bit words in use (the buffers may be longer).
    words: usize,
    number: Vec<u64>,
    at: Vec<u64>,
    colon: Vec<u64>,
    anchor: Vec<u64>,
    cap: Vec<u64>,
}

/// Byte ranges of the digit groups of a number (see `scan::numeric_run`).
pub(crate) type Words = Vec<(usize, usize)>;

/// The masks of 16 bytes, in the low 16 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Piece {
    number: u64,
    at: u64,
    colon: u64,
    anchor: u64,
    cap: u64,
    /// Every ASCII digit (for [`no_digit_next`]).
    digit: u64,
}

/// `anchor` without the starts that a digit follows: no anchor literal has
/// a digit as its second byte, and in hex, timestamps, dates, UUIDs and
/// phone numbers (`a8`, `:00`, `-12`) they are a good share of all starts.
/// `digit` marks the word's digits; `next` is the byte after the word.
#[inline(always)]
fn no_digit_next(anchor: u64, digit: u64, next: Option<&u8>) -> u64 {
    let next_digit = u64::from(next.is_some_and(u8::is_ascii_digit));
    anchor & !((digit >> 1) | next_digit << 63)
}

/// The letters (either case) that anchor literals start with; the SSE2 code
/// tests the same set with ranges.
pub(crate) fn starts_anchor(c: u8) -> bool {
    matches!(c.to_ascii_lowercase(), b'a'..=b'e' | b'g' | b'h' | b'k' | b'p' | b'r'..=b't' | b'x')
}

impl Classes {
    /// ASCII digits that may start a number: after a byte that is not part
    /// of a word (an ASCII letter or digit, `_`, a non-ASCII byte), or after an
    /// upper-case letter (the country of an IBAN). A digit inside a word
    /// (`x9`, `a1b2`, hex) never starts one, and skipping them all here is
    /// what makes digit-heavy text (hashes, UUIDs, ids) cheap.
    pub(crate) fn number(&self) -> &[u64] {
        self.number.get(..self.words).unwrap_or_default()
    }

    /// `@`, the centre of an e-mail address.
    pub(crate) fn at(&self) -> &[u64] {
        self.at.get(..self.words).unwrap_or_default()
    }

    /// `:`, in IPv6 addresses and `://`.
    pub(crate) fn colon(&self) -> &[u64] {
        self.colon.get(..self.words).unwrap_or_default()
    }

    /// Where an anchor literal may start: a letter that can begin one (see
    /// [`starts_anchor`]) at the start of a word (after a byte that is not an
    /// ASCII letter) or upper-case after a lower-case one (`accessToken`); a
    /// `:`; the first `-` of a run. None of them followed by a digit.
    pub(crate) fn anchor(&self) -> &[u64] {
        self.anchor.get(..self.words).unwrap_or_default()
    }

    /// ASCII capital letters that start a word (after a byte that is not
    /// part of one): where a name, place or organisation can start.
    pub(crate) fn cap(&self) -> &[u64] {
        self.cap.get(..self.words).unwrap_or_default()
    }

    /// Computes the bitmaps of `text`, reusing the buffers.
    pub(crate) fn fill(&mut self, text: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512BW (checked just above), all that
            // `avx512::fill` needs.
            #[allow(unsafe_code)]
            unsafe {
                avx512::fill(self, text)
            };
            return;
        }
        self.fill_portable(text)
    }

    /// [`Classes::fill`] without AVX-512: SSE2 on x86-64, else scalar.
    fn fill_portable(&mut self, text: &[u8]) {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        // SAFETY: `sse2::fill` only needs SSE2, which this build targets (the
        // cfg above; every x86-64 CPU has it). Its intrinsics are safe to call
        // inside a function with the feature; calling that function is what
        // needs the promise.
        #[allow(unsafe_code)]
        unsafe {
            sse2::fill(self, text)
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        self.fill_with(text, scalar::Pieces::default())
    }

    /// Makes room for the bitmaps of `len` bytes.
    #[inline]
    fn reserve(&mut self, len: usize) -> usize {
        let words = len.div_ceil(64);
        self.words = words;
        if self.number.len() < words {
            for v in [
                &mut self.number,
                &mut self.at,
                &mut self.colon,
                &mut self.anchor,
                &mut self.cap,
            ] {
                v.resize(words, 0);
            }
        }
        words
    }

    /// The words of the bitmaps, in order: `(number, at, colon, anchor,
    /// cap)`, one of each per 64 bytes (all the buffers hold, `reserve` first).
    #[inline(always)]
    fn slots(&mut self) -> impl Iterator<Item = [&mut u64; 5]> {
        let Classes {
            number,
            at,
            colon,
            anchor,
            cap,
            ..
        } = self;
        number
            .iter_mut()
            .zip(at.iter_mut())
            .zip(colon.iter_mut())
            .zip(anchor.iter_mut())
            .zip(cap.iter_mut())
            .map(|((((number, at), colon), anchor), cap)| [number, at, colon, anchor, cap])
    }

    /// Fills the bitmaps of `text`, 16 bytes at a time with `pieces`, which
    /// carries what it needs of the byte before each piece.
    #[inline(always)]
    fn fill_with(&mut self, text: &[u8], mut pieces: impl PieceFn) {
        self.reserve(text.len());
        for ((w, word), [number, at, colon, anchor, cap]) in
            text.chunks(64).enumerate().zip(self.slots())
        {
            let mut out = Piece::default();
            for (k, chunk) in word.chunks(16).enumerate() {
                let p = match chunk.first_chunk::<16>() {
                    Some(full) => pieces.next(full),
                    None => last_piece(text, chunk.len(), &mut pieces),
                };
                let shift = 16 * k;
                out.number |= p.number << shift;
                out.at |= p.at << shift;
                out.colon |= p.colon << shift;
                out.anchor |= p.anchor << shift;
                out.cap |= p.cap << shift;
                out.digit |= p.digit << shift;
            }
            (*number, *at, *colon, *cap) = (out.number, out.at, out.colon, out.cap);
            *anchor = no_digit_next(out.anchor, out.digit, text.get(64 * w + 64));
        }
    }
}

/// The masks of the last `rest` (< 16) bytes of `text`. From a text of 16
/// bytes or more: the masks of its last 16, shifted past the bytes already
/// done, without a copy. The carried state is wrong only for the first of
/// those 16 bytes, which is among those dropped.
#[inline(always)]
fn last_piece(text: &[u8], rest: usize, pieces: &mut impl PieceFn) -> Piece {
    let (drop, p) = match text.last_chunk::<16>() {
        Some(last) => (16 - rest, pieces.next(last)),
        None => {
            let mut padded = [0u8; 16];
            // `text` is shorter than 16 bytes here, and `rest` is all of it.
            let tail = text.get(text.len() - rest..).unwrap_or_default();
            if let Some(head) = padded.get_mut(..tail.len()) {
                head.copy_from_slice(tail);
            }
            (0, pieces.next(&padded))
        }
    };
    Piece {
        number: p.number >> drop,
        at: p.at >> drop,
        colon: p.colon >> drop,
        anchor: p.anchor >> drop,
        cap: p.cap >> drop,
        digit: p.digit >> drop,
    }
}

/// Computes the masks of consecutive 16-byte pieces of one text.
trait PieceFn {
    fn next(&mut self, chunk: &[u8; 16]) -> Piece;
}

/// The first set bit at or after `from`.
pub(crate) fn next(bits: &[u64], from: usize) -> Option<usize> {
    let mut w = from / 64;
    let mut word = bits.get(w)? & (u64::MAX << (from % 64));
    loop {
        if word != 0 {
            return Some(w * 64 + word.trailing_zeros() as usize);
        }
        w += 1;
        word = *bits.get(w)?;
    }
}

/// The set bits, in order.
pub(crate) fn iter(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let bit = next(bits, from)?;
        from = bit + 1;
        Some(bit)
    })
}

/// The portable definition; the SSE2 version is tested against it.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
mod scalar {
    use super::{starts_anchor, Piece, PieceFn};

    /// What the last byte of the previous piece was.
    #[derive(Default)]
    pub(super) struct Pieces {
        alpha: bool,
        lower: bool,
        upper: bool,
        word: bool,
        dash: bool,
    }

    impl PieceFn for Pieces {
        fn next(&mut self, chunk: &[u8; 16]) -> Piece {
            let mut out = Piece::default();
            for (k, &c) in chunk.iter().enumerate() {
                let set = |flag: bool| u64::from(flag) << k;
                let (alpha, lower, upper, dash) = (
                    c.is_ascii_alphabetic(),
                    c.is_ascii_lowercase(),
                    c.is_ascii_uppercase(),
                    c == b'-',
                );
                let word = c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
                let starts_word = (alpha && !self.alpha) || (upper && self.lower);
                out.number |= set(c.is_ascii_digit() && (!self.word || self.upper));
                out.cap |= set(upper && !self.word);
                out.at |= set(c == b'@');
                out.digit |= set(c.is_ascii_digit());
                out.colon |= set(c == b':');
                out.anchor |=
                    set((starts_word && starts_anchor(c)) || c == b':' || (dash && !self.dash));
                (self.alpha, self.lower, self.upper, self.word, self.dash) =
                    (alpha, lower, upper, word, dash);
            }
            out
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use super::{Classes, Piece, PieceFn};
    use std::arch::x86_64::*;

    /// Bytes in `lo..=hi` as 0xFF: shift the range to start at -128, then
    /// one signed compare (SSE2 has no unsigned byte compare).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn in_range(v: __m128i, lo: u8, hi: u8) -> __m128i {
        let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
        _mm_cmplt_epi8(shifted, _mm_set1_epi8(((hi - lo + 1) ^ 0x80) as i8))
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn equal(v: __m128i, byte: u8) -> __m128i {
        _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8))
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn or(a: __m128i, b: __m128i) -> __m128i {
        _mm_or_si128(a, b)
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn bits(m: __m128i) -> u64 {
        u64::from(_mm_movemask_epi8(m) as u16)
    }

    /// Each byte's flag from the byte before it: the previous piece's last
    /// byte comes in as lane 0.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn before(current: __m128i, previous: __m128i) -> __m128i {
        _mm_or_si128(_mm_slli_si128(current, 1), _mm_srli_si128(previous, 15))
    }

    /// Flags of the previous piece (all lanes; only the last is used).
    pub(super) struct Pieces {
        alpha: __m128i,
        lower: __m128i,
        upper: __m128i,
        word: __m128i,
        dash: __m128i,
    }

    impl PieceFn for Pieces {
        #[inline(always)]
        fn next(&mut self, chunk: &[u8; 16]) -> Piece {
            // SAFETY: as in `Classes::fill`: this build targets SSE2.
            #[allow(unsafe_code)]
            unsafe {
                self.piece(chunk)
            }
        }
    }

    impl Pieces {
        #[inline]
        #[target_feature(enable = "sse2")]
        fn piece(&mut self, chunk: &[u8; 16]) -> Piece {
            let (lo, hi) = chunk.split_at(8);
            let half = |h: &[u8]| {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(h);
                i64::from_le_bytes(eight)
            };
            // Two 8-byte halves; the compiler makes this one 16-byte load.
            let v = _mm_set_epi64x(half(hi), half(lo));
            let lower = in_range(v, b'a', b'z');
            let upper = in_range(v, b'A', b'Z');
            let alpha = or(lower, upper);
            let dash = equal(v, b'-');
            let colon = equal(v, b':');
            // Upper-case letters folded onto lower-case; other bytes move
            // too, but none of them onto a letter.
            let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let first = or(
                or(in_range(folded, b'a', b'e'), in_range(folded, b'g', b'h')),
                or(
                    or(equal(folded, b'k'), equal(folded, b'p')),
                    or(in_range(folded, b'r', b't'), equal(folded, b'x')),
                ),
            );
            let word_start = or(
                _mm_andnot_si128(before(alpha, self.alpha), alpha),
                _mm_and_si128(upper, before(lower, self.lower)),
            );
            let anchor = or(
                or(_mm_and_si128(word_start, first), colon),
                _mm_andnot_si128(before(dash, self.dash), dash),
            );
            let digit = in_range(v, b'0', b'9');
            // Bytes >= 0x80 are negative as signed bytes.
            let high = _mm_cmplt_epi8(v, _mm_setzero_si128());
            let word = or(or(alpha, digit), or(equal(v, b'_'), high));
            let number = _mm_and_si128(
                digit,
                or(
                    _mm_andnot_si128(before(word, self.word), _mm_set1_epi8(-1)),
                    before(upper, self.upper),
                ),
            );
            let cap = _mm_andnot_si128(before(word, self.word), upper);
            (self.alpha, self.lower, self.upper, self.word, self.dash) =
                (alpha, lower, upper, word, dash);
            Piece {
                cap: bits(cap),
                number: bits(number),
                at: bits(equal(v, b'@')),
                colon: bits(colon),
                anchor: bits(anchor),
                digit: bits(digit),
            }
        }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn fill(classes: &mut Classes, text: &[u8]) {
        let zero = _mm_setzero_si128();
        classes.fill_with(
            text,
            Pieces {
                alpha: zero,
                lower: zero,
                upper: zero,
                word: zero,
                dash: zero,
            },
        )
    }
}

/// 64 bytes at a time with AVX-512BW, whose compares yield the 64-bit masks
/// directly: the flags that depend on the byte before are then shifts of
/// whole words, with one carried bit.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{no_digit_next, Classes};
    use std::arch::x86_64::*;

    /// Bytes in `lo..=hi`.
    #[inline]
    #[target_feature(enable = "avx512bw")]
    fn in_range(v: __m512i, lo: u8, hi: u8) -> u64 {
        let shifted = _mm512_sub_epi8(v, _mm512_set1_epi8(lo as i8));
        _mm512_cmple_epu8_mask(shifted, _mm512_set1_epi8((hi - lo) as i8))
    }

    #[inline]
    #[target_feature(enable = "avx512bw")]
    fn equal(v: __m512i, byte: u8) -> u64 {
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(byte as i8))
    }

    /// Each bit from the bit before it; bit 0 from the last of the word before.
    fn before(bits: u64, previous: u64) -> u64 {
        (bits << 1) | (previous >> 63)
    }

    #[target_feature(enable = "avx512bw")]
    pub(super) fn fill(classes: &mut Classes, text: &[u8]) {
        let words = classes.reserve(text.len());
        // The previous word's masks (only their top bits are used).
        let (mut alpha0, mut lower0, mut upper0, mut word0, mut dash0) = (0, 0, 0, 0, 0);
        for (w, [out_number, out_at, out_colon, out_anchor, out_cap]) in
            (0..words).zip(classes.slots())
        {
            let at = w * 64;
            let n = (text.len() - at).min(64);
            let keep = if n == 64 { u64::MAX } else { (1 << n) - 1 };
            // SAFETY: lanes outside `keep` are not read (AVX-512 masked loads
            // do not touch, nor fault on, masked-out bytes); those inside are
            // `text[at..at + n]`. Masked-out lanes read as 0, in no class.
            #[allow(unsafe_code)]
            let v = unsafe { _mm512_maskz_loadu_epi8(keep, text.as_ptr().add(at).cast()) };
            let lower = in_range(v, b'a', b'z');
            let upper = in_range(v, b'A', b'Z');
            let digit = in_range(v, b'0', b'9');
            let dash = equal(v, b'-');
            let colon = equal(v, b':');
            let alpha = lower | upper;
            // Bytes >= 0x80 have the sign bit set.
            let word = alpha | digit | equal(v, b'_') | _mm512_movepi8_mask(v);
            // Upper case folded onto lower; no other byte lands on a letter.
            let f = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
            let first = in_range(f, b'a', b'e')
                | in_range(f, b'g', b'h')
                | equal(f, b'k')
                | equal(f, b'p')
                | in_range(f, b'r', b't')
                | equal(f, b'x');
            let word_start = (alpha & !before(alpha, alpha0)) | (upper & before(lower, lower0));
            let anchor = (word_start & first) | colon | (dash & !before(dash, dash0));
            *out_anchor = no_digit_next(anchor, digit, text.get(at + 64));
            *out_number = digit & (!before(word, word0) | before(upper, upper0));
            *out_at = equal(v, b'@');
            *out_colon = colon;
            *out_cap = upper & !before(word, word0);
            (alpha0, lower0, upper0, word0, dash0) = (alpha, lower, upper, word, dash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classes as the scalar definition computes them.
    fn scalar(text: &[u8]) -> Classes {
        let mut classes = Classes::default();
        classes.fill_with(text, scalar::Pieces::default());
        classes
    }

    #[test]
    fn simd_classes_match_the_scalar_definition() {
        // Every byte value in every lane and after every byte value, and
        // text with all the classes, at every length and offset.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut data: Vec<u8> = (0..=255u8).collect();
        data.extend((0..8192).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Mostly text-like bytes, so that words and runs form.
            b"aZk-:@ 0x9Ts\xff_Ab"[(state % 16) as usize]
                ^ if state.is_multiple_of(97) { 0x80 } else { 0 }
        }));
        data.extend_from_slice(
            b"Mail jane@example.org at 10:30, token=abc-----BEGIN x aToken 42 --- ::1",
        );
        let mut classes = Classes::default();
        for len in 0..=300 {
            for start in [0, 1, 15, 16, 17, 63, 64, data.len() - len] {
                let Some(text) = data.get(start..start + len) else {
                    continue;
                };
                let want = scalar(text);
                // What this CPU runs, and the SSE2 path where AVX-512 is there.
                classes.fill(text);
                let mut portable = Classes::default();
                portable.fill_portable(text);
                for got in [&classes, &portable] {
                    assert_eq!(got.number(), want.number(), "{start}+{len}");
                    assert_eq!(got.at(), want.at(), "{start}+{len}");
                    assert_eq!(got.colon(), want.colon(), "{start}+{len}");
                    assert_eq!(got.anchor(), want.anchor(), "{start}+{len}");
                    assert_eq!(got.cap(), want.cap(), "{start}+{len}");
                }
            }
        }
    }

    #[test]
    fn anchors_start_words_camel_humps_colons_and_dash_runs() {
        let text = "x key=1 apiKey 2token éauth ab:cd --- wow k";
        let mut classes = Classes::default();
        classes.fill(text.as_bytes());
        let starts: Vec<usize> = iter(classes.anchor()).collect();
        let at = |w: &str| text.find(w).unwrap();
        let expect = [
            0,
            at("key"),
            at("api"),
            at("Key"),
            at("token"),
            at("auth"),
            at("ab"),
            at(":cd"),
            at("cd"),
            at("---"),
            text.len() - 1,
        ];
        assert_eq!(starts, expect);
        // Pieces and words carry the previous byte across their boundaries.
        let long = format!("{}token {}s", "a".repeat(63), "b".repeat(70));
        classes.fill(long.as_bytes());
        let starts: Vec<usize> = iter(classes.anchor()).collect();
        assert_eq!(starts, [0, 69]);
        assert_eq!(next(classes.anchor(), 1), Some(69));
        assert_eq!(next(classes.anchor(), 70), None);
        // A shorter text after a longer one uses only its own words.
        classes.fill(b"4 key");
        assert_eq!(classes.number(), [1]);
        assert_eq!(iter(classes.anchor()).collect::<Vec<_>>(), [2]);
        // Not where a digit follows (`:30`, `a8`, `-12`), also across words.
        classes.fill(b"12:30 3a8f ORD-12 d1 :/");
        assert_eq!(iter(classes.anchor()).collect::<Vec<_>>(), [21]);
        let edge = format!("k{}a9", " ".repeat(62));
        classes.fill(edge.as_bytes());
        assert_eq!(iter(classes.anchor()).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn numbers_start_only_outside_words_or_after_capitals() {
        let mut classes = Classes::default();
        // '7' starts; 'x9' and 'a1' are inside words; in 'DE89' (an IBAN's
        // country) only the '8' after the capital starts; '(5' and '+4' start
        // after punctuation; 'é3' is glued to a non-ASCII letter, '_8' to an
        // underscore.
        let text = "7 x9 a1 DE89 (5 +4 é3 _8".as_bytes();
        classes.fill(text);
        let starts: Vec<usize> = iter(classes.number()).collect();
        assert_eq!(starts, [0, 10, 14, 17]);
    }
}
