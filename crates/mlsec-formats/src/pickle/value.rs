//! Symbolic values: what the machine pushes, stores and builds, kept in an
//! arena owned by the trace, and how they are shown in messages.

use std::fmt::Write;
use std::rc::Rc;

/// A symbolic value on the pickle stack: its place in the [`Values`] arena of
/// the trace that made it (a `V` means nothing with another trace's arena).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct V(u32);

impl V {
    /// The arena index this handle stands for.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a pickle value is, as far as can be known without running anything.
#[derive(Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64 (or a LONG we did not decode).
    BigInt,
    Float(f64),
    Str(Box<str>),
    /// A string of up to [`SHORT_STR`] bytes kept inline, which saves an
    /// allocation for each of the thousands of short keys in a vocabulary.
    /// Read either kind with [`Value::as_str`].
    ShortStr {
        len: u8,
        bytes: [u8; SHORT_STR],
    },
    /// A string longer than [`MAX_KEPT_STRING`]: only its length is kept.
    LongStr(usize),
    /// Bytes of the analysed buffer, `start..start + len` (not copied).
    Bytes {
        start: usize,
        len: usize,
    },
    Tuple(Vec<V>),
    List(Vec<V>),
    Dict(Vec<(V, V)>),
    Set(Vec<V>),
    FrozenSet(Vec<V>),
    /// `module.name` as resolved by `find_class`; `import` indexes [`Trace::imports`].
    ///
    /// [`Trace::imports`]: super::Trace::imports
    Global {
        module: Rc<str>,
        name: Rc<str>,
        import: usize,
    },
    /// The result of calling `func` with `args`; `call` indexes [`Trace::calls`].
    ///
    /// [`Trace::calls`]: super::Trace::calls
    Call {
        func: V,
        args: V,
        call: usize,
        state: Option<V>,
    },
    /// A persistent id (how PyTorch refers to tensor storages).
    PersistentId(V),
    /// An object from the copyreg extension registry (EXT1/2/4).
    Extension(u32),
    /// An out-of-band buffer (protocol 5).
    Buffer,
    /// A value the machine cannot know (e.g. a global named by a computed value).
    Unknown,
}

/// Every value one pickle stream made, referred to by [`V`] handles and freed
/// all at once with the trace.
///
/// A hostile stream can nest values hundreds of thousands deep (`N` then
/// 200,000 TUPLE1) or put a list inside itself through the memo. Values hold
/// handles, not values, so freeing them is one pass over the arena: it never
/// recurses, and a cycle is just handles that point back. Values are not freed
/// before the trace is, but an opcode makes at most three (INST: the global,
/// the argument tuple and the call), so `max_opcodes` bounds the arena, as
/// it bounds the values a stream could keep alive by putting them in a list.
#[derive(Debug, Default)]
pub struct Values(Vec<Value>);

impl Values {
    pub(super) fn with_capacity(n: usize) -> Self {
        Values(Vec::with_capacity(n))
    }

    /// Stores `value` and returns its handle, or `None` when the arena holds
    /// as many values as a handle can name.
    #[inline(always)]
    pub(super) fn add(&mut self, value: Value) -> Option<V> {
        let id = u32::try_from(self.0.len()).ok()?;
        self.0.push(value);
        Some(V(id))
    }

    /// The value behind `v` ([`Value::Unknown`] for a handle that is not in
    /// the arena, which the machine never hands out).
    #[inline]
    pub fn get(&self, v: V) -> &Value {
        self.0.get(v.index()).unwrap_or(&Value::Unknown)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, v: V) -> Option<&mut Value> {
        self.0.get_mut(v.index())
    }

    /// How many values the stream made.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text of `v`, when it is a string.
    pub fn as_str(&self, v: V) -> Option<&str> {
        self.get(v).as_str()
    }

    /// Items of `v`, when it is a tuple, list, set or frozenset.
    pub fn items(&self, v: V) -> &[V] {
        self.get(v).items()
    }

    /// Value stored under string key `key` of dict `v`.
    pub fn dict_get(&self, v: V, key: &str) -> Option<V> {
        match self.get(v) {
            Value::Dict(d) => d
                .iter()
                .find(|(k, _)| self.as_str(*k) == Some(key))
                .map(|(_, v)| *v),
            _ => None,
        }
    }
}

/// Strings longer than this are not kept in memory (names never are this long).
pub const MAX_KEPT_STRING: usize = 64 * 1024;

/// The longest string kept inline in a [`Value`] (it stays 48 bytes).
pub const SHORT_STR: usize = 38;

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            // Built only from a `&str` or from ASCII bytes, so always UTF-8.
            Value::ShortStr { len, bytes } => bytes
                .get(..*len as usize)
                .and_then(|b| std::str::from_utf8(b).ok()),
            _ => None,
        }
    }

    /// Items of a tuple, list, set or frozenset.
    pub fn items(&self) -> &[V] {
        match self {
            Value::Tuple(v) | Value::FrozenSet(v) | Value::List(v) | Value::Set(v) => v,
            _ => &[],
        }
    }

    /// `module.name` when this is a global.
    pub fn global_path(&self) -> Option<String> {
        match self {
            Value::Global { module, name, .. } => Some(format!("{module}.{name}")),
            _ => None,
        }
    }
}

/// Renders value `v` of `values` as Python-like source for messages, bounded
/// in depth and length.
pub fn describe(values: &Values, v: V) -> String {
    finish(|out| describe_into(values, values.get(v), 0, out))
}

/// Renders the call `func(*args)` as [`describe`] renders a call value.
pub fn describe_call(values: &Values, func: V, args: V) -> String {
    finish(|out| describe_call_into(values, func, args, 0, out))
}

fn finish(render: impl FnOnce(&mut String)) -> String {
    let mut out = String::new();
    render(&mut out);
    if out.len() > 300 {
        let mut cut = 297;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

fn describe_call_into(values: &Values, func: V, args: V, depth: usize, out: &mut String) {
    describe_into(values, values.get(func), depth + 1, out);
    match values.get(args) {
        Value::Tuple(items) => {
            out.push('(');
            for (i, item) in items.iter().take(8).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                describe_into(values, values.get(*item), depth + 1, out);
            }
            out.push(')');
        }
        other => {
            out.push_str("(*");
            describe_into(values, other, depth + 1, out);
            out.push(')');
        }
    }
}

// Recursion bounded by the depth check: a value nested 200,000 deep is cut at 7.
fn describe_into(values: &Values, value: &Value, depth: usize, out: &mut String) {
    if depth > 6 || out.len() > 400 {
        out.push_str("...");
        return;
    }
    let seq = |items: &[V], open: &str, close: &str, out: &mut String| {
        out.push_str(open);
        for (i, item) in items.iter().take(8).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            describe_into(values, values.get(*item), depth + 1, out);
        }
        if items.len() > 8 {
            out.push_str(", ...");
        }
        if open == "(" && items.len() == 1 {
            out.push(',');
        }
        out.push_str(close);
    };
    match value {
        Value::None => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt => out.push_str("<big int>"),
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Str(_) | Value::ShortStr { .. } => {
            let shown: String = value
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(120)
                .collect();
            let _ = write!(out, "{shown:?}");
        }
        Value::LongStr(n) => {
            let _ = write!(out, "<str of {n} bytes>");
        }
        Value::Bytes { len, .. } => {
            let _ = write!(out, "<bytes of {len}>");
        }
        Value::Tuple(items) | Value::FrozenSet(items) => seq(items, "(", ")", out),
        Value::List(items) => seq(items, "[", "]", out),
        Value::Set(items) => seq(items, "{", "}", out),
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.iter().take(8).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                describe_into(values, values.get(*k), depth + 1, out);
                out.push_str(": ");
                describe_into(values, values.get(*v), depth + 1, out);
            }
            out.push('}');
        }
        Value::Global { module, name, .. } => {
            let _ = write!(out, "{module}.{name}");
        }
        Value::Call { func, args, .. } => describe_call_into(values, *func, *args, depth, out),
        Value::PersistentId(id) => {
            out.push_str("persistent_id(");
            describe_into(values, values.get(*id), depth + 1, out);
            out.push(')');
        }
        Value::Extension(code) => {
            let _ = write!(out, "<extension {code}>");
        }
        Value::Buffer => out.push_str("<buffer>"),
        Value::Unknown => out.push_str("<unknown>"),
    }
}
