#![no_main]
//! Jinja lexer (chat templates from GGUF metadata and tokenizer configs) on
//! any text: it must end, never panic, and keep token positions inside the
//! template and in order.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for tag in mlsec_formats::jinja::lex(&text) {
        let mut last = None;
        for token in &tag.tokens {
            assert!(token.pos < text.len());
            assert!(last.is_none_or(|p| p < token.pos));
            last = Some(token.pos);
        }
    }
});
