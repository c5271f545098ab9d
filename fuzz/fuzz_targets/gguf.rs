#![no_main]
//! The GGUF parser, the GGUF rules and the chat-template checker, on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::gguf;
use mlsec_scan::rules::template::{self, TemplateSite};
use mlsec_scan::{rules, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let parsed = gguf::parse(data);
    for t in &parsed.tensors {
        let _ = gguf::tensor_range(&parsed, &t, data.len() as u64);
    }
    // The on-demand accessors and the repeat finder, over the same entries.
    let _ = (parsed.kvs.repeated(), parsed.tensors.repeated());
    for i in 0..parsed.kvs.len() {
        let _ = (parsed.kvs.key(i), parsed.kvs.get(i));
    }
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "fuzz.gguf", None);
    let mut report = Report::default();
    rules::gguf::scan(&ctx, data, &mut report);
    // The same bytes as a chat template, for the Jinja lexer.
    let site = TemplateSite {
        key: "tokenizer.chat_template",
        offset: None,
        sandboxed: false,
    };
    template::check(&ctx, &site, &String::from_utf8_lossy(data), &mut report);
});
