//! Jinja2's lexer, as far as judging a template needs: which parts of a
//! template are code (`{{ }}` and `{% %}` tags), and the tokens of that code.
//! Chat templates arrive inside model files (GGUF metadata,
//! `tokenizer_config.json`), so this reads untrusted text: it is linear in the
//! input, never panics and allocates at most in proportion to it.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Name(String),
    Str {
        value: String,
        /// An escape spelled a letter, digit, `_` or `.`, or used `\N{...}`.
        hides_letters: bool,
    },
    Op(char),
    Num(String),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    /// Byte position in the template.
    pub pos: usize,
}

/// The code of one `{{ }}` or `{% %}` tag.
#[derive(Debug)]
pub struct Tag {
    /// `{% %}` rather than `{{ }}`.
    pub block: bool,
    pub tokens: Vec<Token>,
}

/// Splits a template into tags the way Jinja's lexer does: `{# #}` comments
/// and `{% raw %}` blocks are text; inside a tag, strings are skipped whole and
/// the closing delimiter only counts outside brackets.
pub fn lex(src: &str) -> Vec<Tag> {
    let b = src.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(rel) = b.get(i..).and_then(find_tag_start) {
        let start = i + rel;
        match b.get(start + 1) {
            Some(b'#') => match find(b, start + 2, b"#}") {
                Some(end) => i = end + 2,
                // An unterminated comment is a syntax error: nothing renders.
                None => break,
            },
            Some(&c) => {
                let block = c == b'%';
                let close = if block { b"%}" } else { b"}}" };
                let (tokens, next) = lex_code(src, start + 2, close);
                let is_raw = block
                    && matches!(tokens.as_slice(), [Token { tok: Tok::Name(n), .. }] if n == "raw");
                tags.push(Tag { block, tokens });
                i = next;
                if is_raw {
                    match find_endraw(b, i) {
                        Some(after) => i = after,
                        None => break,
                    }
                }
            }
            None => break,
        }
    }
    tags
}

fn find_tag_start(b: &[u8]) -> Option<usize> {
    b.windows(2)
        .position(|w| matches!(w, [b'{', b'{' | b'%' | b'#']))
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Position after `{% endraw %}` (with optional whitespace control), if any.
fn find_endraw(b: &[u8], mut from: usize) -> Option<usize> {
    while let Some(start) = find(b, from, b"{%") {
        let mut j = start + 2;
        if matches!(b.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        while b.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        if b.get(j..j + 6) == Some(b"endraw") {
            j += 6;
            while b.get(j).is_some_and(u8::is_ascii_whitespace) {
                j += 1;
            }
            if matches!(b.get(j), Some(b'-' | b'+')) {
                j += 1;
            }
            if b.get(j..j + 2) == Some(b"%}") {
                return Some(j + 2);
            }
        }
        from = start + 2;
    }
    None
}

/// Tokens of one tag starting at `i`, and the position after its closing
/// delimiter (the end of input for an unterminated tag, whose tokens are still
/// judged).
fn lex_code(src: &str, mut i: usize, close: &[u8]) -> (Vec<Token>, usize) {
    let b = src.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    loop {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            return (tokens, b.len());
        };
        if depth == 0 {
            let j = if matches!(c, b'-' | b'+') { i + 1 } else { i };
            if b.get(j..j + 2) == Some(close) {
                return (tokens, j + 2);
            }
        }
        let pos = i;
        if c == b'\'' || c == b'"' {
            let (tok, next) = lex_string(src, i, c);
            tokens.push(Token { tok, pos });
            i = next;
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            // `i` is always on a character boundary: every step moves by
            // whole characters or over ASCII bytes.
            let rest = src.get(i..).unwrap_or("");
            let end = rest
                .char_indices()
                .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
                .map_or(b.len(), |(k, _)| i + k);
            // A lone non-alphanumeric non-ASCII character: step over it.
            let end = if end == i {
                i + rest.chars().next().map_or(1, char::len_utf8)
            } else {
                end
            };
            tokens.push(Token {
                tok: Tok::Name(src.get(i..end).unwrap_or("").to_string()),
                pos,
            });
            i = end;
        } else if c.is_ascii_digit() {
            while b
                .get(i)
                .is_some_and(|d| d.is_ascii_alphanumeric() || *d == b'_' || *d == b'.')
            {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Num(src.get(pos..i).unwrap_or("").to_string()),
                pos,
            });
        } else {
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            tokens.push(Token {
                tok: Tok::Op(char::from(c)),
                pos,
            });
            i += 1;
        }
    }
}

/// A Jinja string literal at `i`, which opens with `quote` (Python
/// `unicode-escape` rules), and the position after it.
fn lex_string(src: &str, i: usize, quote: u8) -> (Tok, usize) {
    let b = src.as_bytes();
    let mut value = String::new();
    let mut hides_letters = false;
    let mut j = i + 1;
    while let Some(&c) = b.get(j) {
        if c == quote {
            return (
                Tok::Str {
                    value,
                    hides_letters,
                },
                j + 1,
            );
        }
        if c != b'\\' {
            let ch = src
                .get(j..)
                .and_then(|s| s.chars().next())
                .unwrap_or('\u{fffd}');
            value.push(ch);
            j += ch.len_utf8();
            continue;
        }
        let Some(&e) = b.get(j + 1) else {
            break;
        };
        j += 2;
        let decoded = match e {
            b'\\' | b'\'' | b'"' => Some(char::from(e)),
            b'n' => Some('\n'),
            b't' => Some('\t'),
            b'r' => Some('\r'),
            b'a' => Some('\x07'),
            b'b' => Some('\x08'),
            b'f' => Some('\x0c'),
            b'v' => Some('\x0b'),
            b'\n' => None,
            b'x' | b'u' | b'U' => {
                let n = match e {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = src.get(j..j + n).unwrap_or("");
                let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                if ch.is_some() {
                    j += n;
                }
                hides_letters |= ch.is_some_and(is_name_char);
                ch.or(Some('\u{fffd}'))
            }
            b'0'..=b'7' => {
                let digits = b
                    .iter()
                    .skip(j - 1)
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count();
                let octal = src.get(j - 1..j - 1 + digits).unwrap_or("");
                let ch = u32::from_str_radix(octal, 8).ok().and_then(char::from_u32);
                j += digits - 1;
                hides_letters |= ch.is_some_and(is_name_char);
                ch
            }
            b'N' if b.get(j) == Some(&b'{') => {
                let close = find(b, j, b"}").unwrap_or(b.len().saturating_sub(1));
                let name = src.get(j + 1..close).unwrap_or("");
                j = close + 1;
                hides_letters = true;
                Some(unicode_name(name))
            }
            _ => {
                value.push('\\');
                j -= 1;
                None
            }
        };
        if let Some(ch) = decoded {
            value.push(ch);
        }
    }
    // Unterminated: Jinja refuses the template; judge what was read.
    (
        Tok::Str {
            value,
            hides_letters,
        },
        b.len(),
    )
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// The few Unicode names an obfuscated template needs.
fn unicode_name(name: &str) -> char {
    let name = name.to_ascii_uppercase();
    if name == "LOW LINE" {
        return '_';
    }
    if name == "FULL STOP" {
        return '.';
    }
    for (prefix, lower) in [
        ("LATIN SMALL LETTER ", true),
        ("LATIN CAPITAL LETTER ", false),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            if let [c] = rest.as_bytes() {
                let c = char::from(*c);
                return if lower { c.to_ascii_lowercase() } else { c };
            }
        }
    }
    '\u{fffd}'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tag: &Tag) -> Vec<String> {
        tag.tokens
            .iter()
            .map(|t| match &t.tok {
                Tok::Name(n) | Tok::Num(n) => n.clone(),
                Tok::Str { value, .. } => format!("{value:?}"),
                Tok::Op(c) => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn only_tags_are_code() {
        let tags =
            lex("hi {# {{ a }} #}{% raw %}{{ b }}{% endraw %}{{ c.d }} {%- if x -%}y{% endif %}");
        let code: Vec<(bool, Vec<String>)> = tags.iter().map(|t| (t.block, names(t))).collect();
        assert_eq!(
            code,
            [
                (true, vec!["raw".to_string()]),
                (false, vec!["c".into(), ".".into(), "d".into()]),
                (true, vec!["if".into(), "x".into()]),
                (true, vec!["endif".into()]),
            ]
        );
    }

    #[test]
    fn a_closing_delimiter_inside_a_string_or_brackets_does_not_close() {
        let tags = lex("{{ '}}' ~ x[{'k': 1}] }}rest");
        assert_eq!(tags.len(), 1);
        assert_eq!(
            names(&tags[0]),
            ["\"}}\"", "~", "x", "[", "{", "\"k\"", ":", "1", "}", "]"]
        );
        // Positions are byte offsets into the template, in order.
        let positions: Vec<usize> = tags[0].tokens.iter().map(|t| t.pos).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        assert_eq!(positions[0], 3);
    }

    #[test]
    fn hostile_shapes_end_without_panicking() {
        // Unterminated tags and strings, lone delimiters, deep brackets, escapes
        // cut short, invalid names, multi-byte text.
        let deep = format!("{{{{ {} }}}}", "(".repeat(100_000));
        for src in [
            "{{",
            "{%",
            "{#",
            "{{ 'abc",
            "{{ '\\",
            "{{ '\\N{",
            "{{ '\\x4",
            "{{ '\\u12",
            "{% raw %}",
            "{%- raw -%}{{ x }}",
            "}} %} #}",
            "{{ é ü 日本 }}",
            deep.as_str(),
        ] {
            let tags = lex(src);
            for tag in &tags {
                assert!(tag.tokens.iter().all(|t| t.pos < src.len()), "{src:?}");
            }
        }
        // The closing `}}` sits inside open brackets, so it is code too and
        // the tag runs to the end of the input.
        assert_eq!(lex(&deep)[0].tokens.len(), 100_002);
    }
}
