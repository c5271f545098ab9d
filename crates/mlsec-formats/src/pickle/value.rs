//! Symbolic values: what the machine pushes, stores and builds, how they are
//! freed without recursion, and how they are shown in messages.

use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;

/// A symbolic value on the pickle stack.
pub type V = Rc<Value>;

/// What a pickle value is, as far as can be known without running anything.
#[derive(Debug)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64 (or a LONG we did not decode).
    BigInt,
    Float(f64),
    Str(Rc<str>),
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
    List(RefCell<Vec<V>>),
    Dict(RefCell<Vec<(V, V)>>),
    Set(RefCell<Vec<V>>),
    FrozenSet(Vec<V>),
    /// `module.name` as resolved by `find_class`; `import` indexes [`Trace::imports`].
    Global {
        module: Rc<str>,
        name: Rc<str>,
        import: usize,
    },
    /// The result of calling `func` with `args`; `call` indexes [`Trace::calls`].
    Call {
        func: V,
        args: V,
        call: usize,
        state: RefCell<Option<V>>,
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

// A hostile stream can nest values hundreds of thousands deep (`N` then 200,000
// TUPLE1). The compiler's drop glue would free such a chain recursively and
// overflow the stack, so values are freed with an explicit work list instead.
impl Drop for Value {
    fn drop(&mut self) {
        if !self.has_children() {
            return;
        }
        let mut pending = Vec::new();
        self.move_children(&mut pending);
        while let Some(child) = pending.pop() {
            // `move_children` queues only values it was the last owner of
            // and that hold values: each is unwrapped here and its children
            // join the list before it goes, so its own drop finds none.
            if let Ok(mut inner) = Rc::try_unwrap(child) {
                inner.move_children(&mut pending);
            }
        }
    }
}

thread_local! {
    /// Stands in for a child moved out of a value that is being freed.
    static HOLE: V = Rc::new(Value::None);
}

impl Value {
    /// Whether freeing this value frees other values (and so could recurse).
    fn has_children(&self) -> bool {
        match self {
            Value::Tuple(items) | Value::FrozenSet(items) => !items.is_empty(),
            Value::List(items) | Value::Set(items) => !items.borrow().is_empty(),
            Value::Dict(pairs) => !pairs.borrow().is_empty(),
            Value::Call { .. } | Value::PersistentId(_) => true,
            _ => false,
        }
    }

    /// Moves the children this value is the last owner of and that hold
    /// values of their own into `out`; the others are released on the spot
    /// (that cannot recurse), which keeps the work list short for the common
    /// dict of strings and numbers.
    fn move_children(&mut self, out: &mut Vec<V>) {
        let hole = || {
            HOLE.try_with(Rc::clone)
                .unwrap_or_else(|_| Rc::new(Value::None))
        };
        let mut keep = |child: V| {
            if Rc::strong_count(&child) == 1 && child.has_children() {
                out.push(child);
            }
        };
        match self {
            Value::Tuple(items) | Value::FrozenSet(items) => items.drain(..).for_each(&mut keep),
            Value::List(items) | Value::Set(items) => items.get_mut().drain(..).for_each(&mut keep),
            Value::Dict(pairs) => {
                for (k, v) in pairs.get_mut().drain(..) {
                    keep(k);
                    keep(v);
                }
            }
            Value::Call {
                func, args, state, ..
            } => {
                keep(std::mem::replace(func, hole()));
                keep(std::mem::replace(args, hole()));
                if let Some(state) = state.get_mut().take() {
                    keep(state);
                }
            }
            Value::PersistentId(id) => keep(std::mem::replace(id, hole())),
            _ => {}
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
    pub fn items(&self) -> Vec<V> {
        match self {
            Value::Tuple(v) | Value::FrozenSet(v) => v.clone(),
            Value::List(v) | Value::Set(v) => v.borrow().clone(),
            _ => Vec::new(),
        }
    }

    /// Value stored under string key `key` of a dict.
    pub fn get(&self, key: &str) -> Option<V> {
        match self {
            Value::Dict(d) => d
                .borrow()
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v.clone()),
            _ => None,
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

/// Renders a value as Python-like source for messages, bounded in depth and length.
pub fn describe(value: &Value) -> String {
    let mut out = String::new();
    describe_into(value, 0, &mut out);
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

fn describe_into(value: &Value, depth: usize, out: &mut String) {
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
            describe_into(item, depth + 1, out);
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
        Value::List(items) => seq(&items.borrow(), "[", "]", out),
        Value::Set(items) => seq(&items.borrow(), "{", "}", out),
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.borrow().iter().take(8).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                describe_into(k, depth + 1, out);
                out.push_str(": ");
                describe_into(v, depth + 1, out);
            }
            out.push('}');
        }
        Value::Global { module, name, .. } => {
            let _ = write!(out, "{module}.{name}");
        }
        Value::Call { func, args, .. } => {
            describe_into(func, depth + 1, out);
            match &**args {
                Value::Tuple(items) => {
                    out.push('(');
                    for (i, item) in items.iter().take(8).enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        describe_into(item, depth + 1, out);
                    }
                    out.push(')');
                }
                other => {
                    out.push_str("(*");
                    describe_into(other, depth + 1, out);
                    out.push(')');
                }
            }
        }
        Value::PersistentId(id) => {
            out.push_str("persistent_id(");
            describe_into(id, depth + 1, out);
            out.push(')');
        }
        Value::Extension(code) => {
            let _ = write!(out, "<extension {code}>");
        }
        Value::Buffer => out.push_str("<buffer>"),
        Value::Unknown => out.push_str("<unknown>"),
    }
}
