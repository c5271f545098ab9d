//! A symbolic pickle machine.
//!
//! [`analyze`] runs every opcode of a pickle stream (protocols 0 to 5) the way
//! CPython's unpickler does — same stack, mark stack and memo semantics — but
//! instead of importing and calling anything it builds symbolic [`Value`]s:
//! `GLOBAL os system` becomes [`Value::Global`], `REDUCE` on it becomes a
//! [`Value::Call`]. The result is a [`Trace`] of every import, call and `BUILD`,
//! with the values flowing between them, for the rules to judge. Because values
//! are tracked, not just the previous opcode's argument, a name that reaches
//! `STACK_GLOBAL` through the memo, a call whose callee is itself a call result,
//! or a `BUILD` that patches attributes of an imported function are all visible.
//!
//! The machine stops at the first fault, as CPython does, and reports it in
//! [`Trace::error`]; everything seen before the fault stays in the trace.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write};
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
            // Only the last owner of a value with children frees it here; its
            // children join the list before it goes, so the drop below runs on
            // a value that holds none. Leaves and shared values just go.
            if Rc::strong_count(&child) == 1 && child.has_children() {
                if let Ok(mut inner) = Rc::try_unwrap(child) {
                    inner.move_children(&mut pending);
                }
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
            Value::ShortStr { len, bytes } => std::str::from_utf8(&bytes[..*len as usize]).ok(),
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

/// How a call came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `REDUCE`: `func(*args)`.
    Reduce,
    /// `NEWOBJ`: `cls.__new__(cls, *args)`.
    NewObj,
    /// `NEWOBJ_EX`: `cls.__new__(cls, *args, **kwargs)`.
    NewObjEx,
    /// `INST` (protocol 0): `find_class(module, name)(*args)`.
    Inst,
    /// `OBJ`: `cls(*args)` from the marked items.
    Obj,
    /// `APPEND`/`APPENDS`/`SETITEM(S)`/`ADDITEMS` on something that is not a
    /// plain container, which calls its `append`/`extend`/`__setitem__`/`add`.
    Method,
}

impl CallKind {
    pub fn opcode(self) -> &'static str {
        match self {
            CallKind::Reduce => "REDUCE",
            CallKind::NewObj => "NEWOBJ",
            CallKind::NewObjEx => "NEWOBJ_EX",
            CallKind::Inst => "INST",
            CallKind::Obj => "OBJ",
            CallKind::Method => "container method",
        }
    }
}

/// A `find_class` the unpickler would perform.
#[derive(Debug, Clone)]
pub struct Import {
    pub module: Rc<str>,
    pub name: Rc<str>,
    /// Offset of the opcode (GLOBAL, STACK_GLOBAL, INST) in the analysed buffer.
    pub offset: usize,
    pub opcode: &'static str,
}

/// A call the unpickler would make.
#[derive(Debug, Clone)]
pub struct Call {
    pub func: V,
    pub args: V,
    pub kind: CallKind,
    pub offset: usize,
}

/// A `BUILD`: `target.__setstate__(state)` or `target.__dict__.update(state)`.
#[derive(Debug, Clone)]
pub struct Build {
    pub target: V,
    pub state: V,
    pub offset: usize,
}

/// A `STACK_GLOBAL` whose module or name is not a literal string, so the import
/// depends on state built at load time (e.g. an attribute a `BUILD` planted).
#[derive(Debug, Clone)]
pub struct ComputedGlobal {
    pub module: V,
    pub name: V,
    pub offset: usize,
}

/// Why the machine stopped before `STOP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    pub offset: usize,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    Truncated(&'static str),
    UnknownOpcode(u8),
    StackUnderflow(&'static str),
    MarkNotFound(&'static str),
    MemoMissing(u64),
    BadArgument(&'static str, String),
    UnsupportedProtocol(u8),
    /// A resource limit of [`PickleLimits`] was hit.
    Limit(&'static str),
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Truncated(op) => {
                write!(f, "pickle ends inside {op} at offset {}", self.offset)
            }
            ErrorKind::UnknownOpcode(b) => {
                write!(f, "unknown opcode 0x{b:02x} at offset {}", self.offset)
            }
            ErrorKind::StackUnderflow(op) => {
                write!(f, "{op} at offset {} pops from an empty stack", self.offset)
            }
            ErrorKind::MarkNotFound(op) => write!(
                f,
                "{op} at offset {} needs a MARK that is not there",
                self.offset
            ),
            ErrorKind::MemoMissing(k) => write!(
                f,
                "memo key {k} read at offset {} was never stored",
                self.offset
            ),
            ErrorKind::BadArgument(op, why) => {
                write!(f, "bad {op} argument at offset {}: {why}", self.offset)
            }
            ErrorKind::UnsupportedProtocol(p) => write!(
                f,
                "unsupported pickle protocol {p} at offset {}",
                self.offset
            ),
            ErrorKind::Limit(what) => write!(f, "{what} at offset {}", self.offset),
        }
    }
}

/// Resource bounds of one analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickleLimits {
    /// Most opcodes executed; bounds time and the number of values held.
    pub max_opcodes: usize,
    pub max_memo_entries: usize,
    pub max_stack_depth: usize,
    /// How deep nested pickles (joblib object arrays) are followed.
    pub max_nesting: u32,
}

/// The same numbers as `mlsec_core::Limits::default()` (this crate does not
/// depend on core; a test in mlsec-scan checks that they agree). Scans pass
/// the configured limits instead.
impl Default for PickleLimits {
    fn default() -> Self {
        PickleLimits {
            max_opcodes: 20_000_000,
            max_memo_entries: 1 << 20,
            max_stack_depth: 1 << 16,
            max_nesting: 8,
        }
    }
}

/// Everything one pickle stream would do when loaded.
#[derive(Debug, Default)]
pub struct Trace {
    pub imports: Vec<Import>,
    pub calls: Vec<Call>,
    pub builds: Vec<Build>,
    pub computed_globals: Vec<ComputedGlobal>,
    /// Offsets of EXT1/EXT2/EXT4 opcodes and their codes.
    pub extensions: Vec<(usize, u32)>,
    /// Highest protocol announced by PROTO.
    pub protocol: Option<u8>,
    /// Number of opcodes executed.
    pub opcodes: usize,
    /// Offset just past STOP, when reached.
    pub end: Option<usize>,
    /// The value STOP returned.
    pub result: Option<V>,
    pub error: Option<PickleError>,
    /// Array payloads skipped inside joblib streams: (offset, length).
    pub joblib_arrays: Vec<(usize, usize)>,
    /// Pickles embedded inside this stream (joblib object arrays), analysed in place.
    pub nested: Vec<(usize, Trace)>,
    /// When the stream may have built a reference cycle (a list, dict, set or
    /// object fetched again from the memo or duplicated, so it can be put
    /// inside itself): every value the machine still held, so that dropping
    /// the trace can break the cycles instead of leaking them.
    cycle_roots: Vec<V>,
}

// `memo[0] = [memo[0]]` makes an `Rc` cycle, which reference counting never
// frees: a folder of such files, or a gateway judging uploads, would grow
// without bound. Taking the contents out of every mutable container reachable
// from the trace breaks every cycle (an immutable tuple cannot hold itself
// except through one), and the values then go as usual.
impl Drop for Trace {
    fn drop(&mut self) {
        if self.cycle_roots.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.cycle_roots);
        pending.extend(self.result.take());
        for c in &self.calls {
            pending.push(c.func.clone());
            pending.push(c.args.clone());
        }
        for b in &self.builds {
            pending.push(b.target.clone());
            pending.push(b.state.clone());
        }
        let mut seen = std::collections::HashSet::new();
        while let Some(value) = pending.pop() {
            if !seen.insert(Rc::as_ptr(&value)) {
                continue;
            }
            match &*value {
                Value::List(items) | Value::Set(items) => {
                    pending.append(&mut items.borrow_mut());
                }
                Value::Dict(pairs) => {
                    for (k, v) in pairs.borrow_mut().drain(..) {
                        pending.push(k);
                        pending.push(v);
                    }
                }
                Value::Tuple(items) | Value::FrozenSet(items) => {
                    pending.extend(items.iter().cloned());
                }
                Value::Call {
                    func, args, state, ..
                } => {
                    pending.extend(state.borrow_mut().take());
                    pending.push(func.clone());
                    pending.push(args.clone());
                }
                Value::PersistentId(id) => pending.push(id.clone()),
                _ => {}
            }
        }
    }
}

impl Trace {
    /// True when the stream reached STOP without a fault.
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.end.is_some()
    }
}

/// Analyses the pickle starting at `data[start..]`. Offsets in the trace are
/// offsets into `data`.
pub fn analyze(data: &[u8], start: usize, limits: &PickleLimits) -> Trace {
    analyze_nested(data, start, limits, 0)
}

fn analyze_nested(data: &[u8], start: usize, limits: &PickleLimits, depth: u32) -> Trace {
    let mut m = Machine {
        data,
        pos: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Memo::default(),
        trace: Trace::default(),
        limits,
        depth,
        op_start: start,
        constants: CONSTANTS.with(Rc::clone),
        may_cycle: false,
    };
    if let Err(kind) = m.run() {
        m.trace.error = Some(PickleError {
            offset: m.op_start,
            kind,
        });
    }
    if m.may_cycle {
        let mut roots = std::mem::take(&mut m.stack);
        roots.extend(m.marks.drain(..).flatten());
        roots.extend(m.memo.dense.drain(..).flatten());
        roots.extend(m.memo.sparse.drain().map(|(_, v)| v));
        m.trace.cycle_roots = roots;
    }
    std::mem::take(&mut m.trace)
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<V>,
    marks: Vec<Vec<V>>,
    memo: Memo,
    trace: Trace,
    limits: &'a PickleLimits,
    depth: u32,
    /// Offset of the opcode being executed, for error reports.
    op_start: usize,
    /// Shared values for None, False, True and the ints 0..=255, which most
    /// pickles push thousands of times (CPython shares them too).
    constants: Rc<Constants>,
    /// A container was fetched again (memo or DUP): a cycle is possible.
    may_cycle: bool,
}

thread_local! {
    /// One set of shared constants per thread, not one per pickle: a folder of
    /// small pickles would otherwise allocate and free 258 values per file.
    static CONSTANTS: Rc<Constants> = Rc::new(Constants::default());
}

struct Constants {
    none: V,
    bools: [V; 2],
    small_ints: Vec<V>,
}

impl Default for Constants {
    fn default() -> Self {
        Constants {
            none: v(Value::None),
            bools: [v(Value::Bool(false)), v(Value::Bool(true))],
            small_ints: (0..=255).map(|i| v(Value::Int(i))).collect(),
        }
    }
}

impl Constants {
    fn int(&self, i: i64) -> V {
        match usize::try_from(i) {
            Ok(u) if u < self.small_ints.len() => self.small_ints[u].clone(),
            _ => v(Value::Int(i)),
        }
    }
}

/// The memo: dense keys (what picklers write) live in a vector, as in CPython's
/// C unpickler; sparse ones (hostile LONG_BINPUT keys) in a map. `len` counts
/// filled slots, which is what MEMOIZE uses as its key.
#[derive(Default)]
struct Memo {
    dense: Vec<Option<V>>,
    sparse: HashMap<u64, V>,
    len: usize,
}

impl Memo {
    const DENSE_LIMIT: u64 = 1 << 16;

    fn get(&self, key: u64) -> Option<V> {
        if key < Self::DENSE_LIMIT {
            self.dense.get(key as usize).cloned().flatten()
        } else {
            self.sparse.get(&key).cloned()
        }
    }

    fn contains(&self, key: u64) -> bool {
        if key < Self::DENSE_LIMIT {
            matches!(self.dense.get(key as usize), Some(Some(_)))
        } else {
            self.sparse.contains_key(&key)
        }
    }

    fn put(&mut self, key: u64, value: V) {
        // The common case: MEMOIZE or BINPUT of the next key.
        if key == self.dense.len() as u64 && key < Self::DENSE_LIMIT {
            self.dense.push(Some(value));
            self.len += 1;
            return;
        }
        let old = if key < Self::DENSE_LIMIT {
            let i = key as usize;
            if i >= self.dense.len() {
                self.dense.resize(i + 1, None);
            }
            self.dense[i].replace(value)
        } else {
            self.sparse.insert(key, value)
        };
        if old.is_none() {
            self.len += 1;
        }
    }
}

type R<T> = Result<T, ErrorKind>;

fn v(value: Value) -> V {
    Rc::new(value)
}

impl<'a> Machine<'a> {
    fn run(&mut self) -> R<()> {
        loop {
            self.op_start = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                return Err(ErrorKind::Truncated("the stream (no STOP)"));
            };
            self.pos += 1;
            self.trace.opcodes += 1;
            if self.trace.opcodes > self.limits.max_opcodes {
                return Err(ErrorKind::Limit("more opcodes than the limit"));
            }
            if self.stack.len() + self.marks.len() > self.limits.max_stack_depth {
                return Err(ErrorKind::Limit("stack deeper than the limit"));
            }
            if self.step(op)? {
                return Ok(());
            }
        }
    }
}

impl<'a> Machine<'a> {
    /// Executes one opcode; returns true at STOP.
    fn step(&mut self, op: u8) -> R<bool> {
        match op {
            b'(' => {
                // MARK: the current stack is set aside until the matching pop_mark.
                let stack = std::mem::take(&mut self.stack);
                self.marks.push(stack);
            }
            b'.' => {
                let result = self.pop("STOP")?;
                self.trace.result = Some(result);
                self.trace.end = Some(self.pos);
                return Ok(true);
            }
            b'0' => {
                if self.stack.pop().is_none() {
                    self.pop_mark("POP")?;
                }
            }
            b'1' => {
                self.pop_mark("POP_MARK")?;
            }
            b'2' => {
                let top = self.top("DUP")?;
                self.note_refetch(&top);
                self.push(top);
            }
            b'F' => {
                let line = self.line("FLOAT")?;
                let f = ascii(line)
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| bad("FLOAT", line))?;
                self.push(v(Value::Float(f)));
            }
            b'I' => {
                let line = self.line("INT")?;
                let value = match line {
                    b"00" => Value::Bool(false),
                    b"01" => Value::Bool(true),
                    _ => parse_decimal(line, "INT")?,
                };
                self.push(v(value));
            }
            b'L' => {
                let line = self.line("LONG")?;
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                let value = parse_decimal(digits, "LONG")?;
                self.push(v(value));
            }
            b'J' => {
                let b = self.take(4, "BININT")?;
                self.push(v(Value::Int(
                    i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
                )));
            }
            b'K' => {
                let b = self.take(1, "BININT1")?;
                let i = self.constants.int(b[0].into());
                self.push(i);
            }
            b'M' => {
                let b = self.take(2, "BININT2")?;
                let i = self.constants.int(u16::from_le_bytes([b[0], b[1]]).into());
                self.push(i);
            }
            0x8a => {
                let n = self.take(1, "LONG1")?[0] as usize;
                let b = self.take(n, "LONG1")?;
                self.push(v(decode_long(b)));
            }
            0x8b => {
                let n = self.i32_len("LONG4")?;
                let b = self.take(n, "LONG4")?;
                self.push(v(decode_long(b)));
            }
            b'N' => self.push(self.constants.none.clone()),
            0x88 => self.push(self.constants.bools[1].clone()),
            0x89 => self.push(self.constants.bools[0].clone()),
            b'G' => {
                let b = self.take(8, "BINFLOAT")?;
                let bits = u64::from_be_bytes(b.try_into().unwrap_or_default());
                self.push(v(Value::Float(f64::from_bits(bits))));
            }
            b'S' => {
                let line = self.line("STRING")?;
                let quoted = line.len() >= 2
                    && line[0] == line[line.len() - 1]
                    && (line[0] == b'\'' || line[0] == b'"');
                if !quoted {
                    return Err(bad("STRING", line));
                }
                let raw = escape_decode(&line[1..line.len() - 1]);
                self.push(v(bytes_to_str_value(&raw)));
            }
            b'T' => {
                let n = self.i32_len("BINSTRING")?;
                let start = self.pos;
                self.take(n, "BINSTRING")?;
                self.push(v(self.string_or_bytes(start, n)));
            }
            b'U' => {
                let n = self.take(1, "SHORT_BINSTRING")?[0] as usize;
                let start = self.pos;
                self.take(n, "SHORT_BINSTRING")?;
                self.push(v(self.string_or_bytes(start, n)));
            }
            b'V' => {
                let line = self.line("UNICODE")?;
                let s = raw_unicode_escape_decode(line);
                self.push(v(str_value(&s)));
            }
            b'X' => {
                let n = self.u32_len("BINUNICODE")?;
                self.unicode(n, "BINUNICODE")?;
            }
            0x8c => {
                let n = self.take(1, "SHORT_BINUNICODE")?[0] as usize;
                self.unicode(n, "SHORT_BINUNICODE")?;
            }
            0x8d => {
                let n = self.u64_len("BINUNICODE8")?;
                self.unicode(n, "BINUNICODE8")?;
            }
            b'B' => {
                let n = self.u32_len("BINBYTES")?;
                self.bytes(n, "BINBYTES")?;
            }
            b'C' => {
                let n = self.take(1, "SHORT_BINBYTES")?[0] as usize;
                self.bytes(n, "SHORT_BINBYTES")?;
            }
            0x8e => {
                let n = self.u64_len("BINBYTES8")?;
                self.bytes(n, "BINBYTES8")?;
            }
            0x96 => {
                let n = self.u64_len("BYTEARRAY8")?;
                self.bytes(n, "BYTEARRAY8")?;
            }
            0x97 => self.push(v(Value::Buffer)),
            0x98 => {
                self.top("READONLY_BUFFER")?;
            }
            b')' => self.push(v(Value::Tuple(Vec::new()))),
            b't' => {
                let items = self.pop_mark("TUPLE")?;
                self.push(v(Value::Tuple(items)));
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return Err(ErrorKind::StackUnderflow("TUPLEn"));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push(v(Value::Tuple(items)));
            }
            b']' => self.push(v(Value::List(RefCell::new(Vec::new())))),
            b'l' => {
                let items = self.pop_mark("LIST")?;
                self.push(v(Value::List(RefCell::new(items))));
            }
            b'}' => self.push(v(Value::Dict(RefCell::new(Vec::new())))),
            b'd' => {
                let items = self.pop_mark("DICT")?;
                if items.len() % 2 != 0 {
                    return Err(ErrorKind::BadArgument("DICT", "odd number of items".into()));
                }
                let pairs = pairs(items);
                self.push(v(Value::Dict(RefCell::new(pairs))));
            }
            0x8f => self.push(v(Value::Set(RefCell::new(Vec::new())))),
            0x91 => {
                let items = self.pop_mark("FROZENSET")?;
                self.push(v(Value::FrozenSet(items)));
            }
            b'a' => {
                let item = self.pop("APPEND")?;
                let target = self.top("APPEND")?;
                self.add_items(&target, vec![item]);
            }
            b'e' => {
                let items = self.pop_mark("APPENDS")?;
                let target = self.top("APPENDS")?;
                self.add_items(&target, items);
            }
            0x90 => {
                let items = self.pop_mark("ADDITEMS")?;
                let target = self.top("ADDITEMS")?;
                self.add_items(&target, items);
            }
            b's' => {
                let value = self.pop("SETITEM")?;
                let key = self.pop("SETITEM")?;
                let target = self.top("SETITEM")?;
                self.set_items(&target, vec![(key, value)]);
            }
            b'u' => {
                let items = self.pop_mark("SETITEMS")?;
                if items.len() % 2 != 0 {
                    return Err(ErrorKind::BadArgument(
                        "SETITEMS",
                        "odd number of items".into(),
                    ));
                }
                let target = self.top("SETITEMS")?;
                self.set_items(&target, pairs(items));
            }
            b'g' => {
                let line = self.line("GET")?;
                let key = parse_memo_key(line, "GET")?;
                self.get(key)?;
            }
            b'h' => {
                let key = self.take(1, "BINGET")?[0] as u64;
                self.get(key)?;
            }
            b'j' => {
                let b = self.take(4, "LONG_BINGET")?;
                self.get(u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into())?;
            }
            b'p' => {
                let line = self.line("PUT")?;
                let key = parse_memo_key(line, "PUT")?;
                self.put(key, "PUT")?;
            }
            b'q' => {
                let key = self.take(1, "BINPUT")?[0] as u64;
                self.put(key, "BINPUT")?;
            }
            b'r' => {
                let b = self.take(4, "LONG_BINPUT")?;
                self.put(
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
                    "LONG_BINPUT",
                )?;
            }
            0x94 => {
                // MEMOIZE stores under the number of entries the memo holds, as CPython does.
                let key = self.memo.len as u64;
                self.put(key, "MEMOIZE")?;
            }
            b'c' => {
                let module = self.line("GLOBAL")?;
                let name = self.line("GLOBAL")?;
                let g = self.import(module, name, "GLOBAL")?;
                self.push(g);
            }
            0x93 => {
                let name = self.pop("STACK_GLOBAL")?;
                let module = self.pop("STACK_GLOBAL")?;
                match (module.as_str(), name.as_str()) {
                    (Some(m), Some(n)) => {
                        let g = self.import_str(m, n, "STACK_GLOBAL");
                        self.push(g);
                    }
                    _ => {
                        self.trace.computed_globals.push(ComputedGlobal {
                            module,
                            name,
                            offset: self.op_start,
                        });
                        self.push(v(Value::Unknown));
                    }
                }
            }
            b'i' => {
                let module = self.line("INST")?;
                let name = self.line("INST")?;
                // CPython imports before it looks for the mark.
                let cls = self.import(module, name, "INST")?;
                let args = self.pop_mark("INST")?;
                self.call(cls, v(Value::Tuple(args)), CallKind::Inst);
            }
            b'o' => {
                let mut items = self.pop_mark("OBJ")?;
                if items.is_empty() {
                    return Err(ErrorKind::StackUnderflow("OBJ"));
                }
                let cls = items.remove(0);
                self.call(cls, v(Value::Tuple(items)), CallKind::Obj);
            }
            b'R' => {
                let args = self.pop("REDUCE")?;
                let func = self.pop("REDUCE")?;
                self.call(func, args, CallKind::Reduce);
            }
            0x81 => {
                let args = self.pop("NEWOBJ")?;
                let cls = self.pop("NEWOBJ")?;
                self.call(cls, args, CallKind::NewObj);
            }
            0x92 => {
                let kwargs = self.pop("NEWOBJ_EX")?;
                let args = self.pop("NEWOBJ_EX")?;
                let cls = self.pop("NEWOBJ_EX")?;
                let all = v(Value::Tuple(vec![args, kwargs]));
                self.call(cls, all, CallKind::NewObjEx);
            }
            b'b' => {
                let state = self.pop("BUILD")?;
                let target = self.top("BUILD")?;
                self.trace.builds.push(Build {
                    target: target.clone(),
                    state: state.clone(),
                    offset: self.op_start,
                });
                if let Value::Call { state: slot, .. } = &*target {
                    *slot.borrow_mut() = Some(state);
                }
                self.after_build(&target)?;
            }
            b'P' => {
                let line = self.line("PERSID")?;
                let id = ascii(line).ok_or_else(|| bad("PERSID", line))?;
                self.push(v(Value::PersistentId(v(str_value(id)))));
            }
            b'Q' => {
                let id = self.pop("BINPERSID")?;
                self.push(v(Value::PersistentId(id)));
            }
            0x82 => {
                let code = self.take(1, "EXT1")?[0] as u32;
                self.extension(code);
            }
            0x83 => {
                let b = self.take(2, "EXT2")?;
                self.extension(u16::from_le_bytes([b[0], b[1]]).into());
            }
            0x84 => {
                let b = self.take(4, "EXT4")?;
                self.extension(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
            0x80 => {
                let proto = self.take(1, "PROTO")?[0];
                if proto > 5 {
                    return Err(ErrorKind::UnsupportedProtocol(proto));
                }
                self.trace.protocol = Some(self.trace.protocol.map_or(proto, |p| p.max(proto)));
            }
            0x95 => {
                let n = self.u64_len("FRAME")?;
                if n > self.data.len() - self.pos {
                    return Err(ErrorKind::Truncated("FRAME"));
                }
            }
            other => return Err(ErrorKind::UnknownOpcode(other)),
        }
        Ok(false)
    }

    fn push(&mut self, value: V) {
        self.stack.push(value);
    }

    fn pop(&mut self, op: &'static str) -> R<V> {
        self.stack.pop().ok_or(ErrorKind::StackUnderflow(op))
    }

    fn top(&self, op: &'static str) -> R<V> {
        self.stack
            .last()
            .cloned()
            .ok_or(ErrorKind::StackUnderflow(op))
    }

    fn pop_mark(&mut self, op: &'static str) -> R<Vec<V>> {
        let outer = self.marks.pop().ok_or(ErrorKind::MarkNotFound(op))?;
        Ok(std::mem::replace(&mut self.stack, outer))
    }

    fn take(&mut self, n: usize, op: &'static str) -> R<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or(ErrorKind::Truncated(op))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn line(&mut self, op: &'static str) -> R<&'a [u8]> {
        let rest = &self.data[self.pos..];
        let n = memchr(b'\n', rest).ok_or(ErrorKind::Truncated(op))?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    fn u32_len(&mut self, op: &'static str) -> R<usize> {
        let b = self.take(4, op)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn i32_len(&mut self, op: &'static str) -> R<usize> {
        let b = self.take(4, op)?;
        let n = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(n).map_err(|_| ErrorKind::BadArgument(op, format!("negative length {n}")))
    }

    fn u64_len(&mut self, op: &'static str) -> R<usize> {
        let b = self.take(8, op)?;
        let n = u64::from_le_bytes(b.try_into().unwrap_or_default());
        usize::try_from(n).map_err(|_| ErrorKind::Truncated(op))
    }

    fn unicode(&mut self, n: usize, op: &'static str) -> R<()> {
        let b = self.take(n, op)?;
        if n > MAX_KEPT_STRING {
            self.push(v(Value::LongStr(n)));
            return Ok(());
        }
        // Most pickled strings (dictionary keys, names) are short and ASCII,
        // which is UTF-8: kept inline without the general check, whose set-up
        // cost more than the copy.
        if n <= SHORT_STR && b.is_ascii() {
            let mut bytes = [0; SHORT_STR];
            bytes[..n].copy_from_slice(b);
            self.push(v(Value::ShortStr {
                len: n as u8,
                bytes,
            }));
            return Ok(());
        }
        // CPython decodes with 'surrogatepass'; invalid UTF-8 otherwise fails the load.
        let s = std::str::from_utf8(b)
            .map_err(|_| ErrorKind::BadArgument(op, "invalid UTF-8".into()))?;
        self.push(v(str_value(s)));
        Ok(())
    }

    fn bytes(&mut self, n: usize, op: &'static str) -> R<()> {
        let start = self.pos;
        self.take(n, op)?;
        self.push(v(Value::Bytes { start, len: n }));
        Ok(())
    }

    /// Protocol-0/1 strings: CPython decodes them (ASCII by default, UTF-8 under
    /// torch.load); a string that is not text stays bytes.
    fn string_or_bytes(&self, start: usize, n: usize) -> Value {
        match std::str::from_utf8(&self.data[start..start + n]) {
            Ok(s) if n <= MAX_KEPT_STRING => str_value(s),
            _ => Value::Bytes { start, len: n },
        }
    }

    fn get(&mut self, key: u64) -> R<()> {
        let value = self.memo.get(key).ok_or(ErrorKind::MemoMissing(key))?;
        self.note_refetch(&value);
        self.push(value);
        Ok(())
    }

    /// A container seen a second time can end up inside itself.
    fn note_refetch(&mut self, value: &V) {
        if matches!(
            **value,
            Value::List(_) | Value::Dict(_) | Value::Set(_) | Value::Call { .. }
        ) {
            self.may_cycle = true;
        }
    }

    fn put(&mut self, key: u64, op: &'static str) -> R<()> {
        let top = self.top(op)?;
        if self.memo.len >= self.limits.max_memo_entries && !self.memo.contains(key) {
            return Err(ErrorKind::Limit("more memo entries than the limit"));
        }
        self.memo.put(key, top);
        Ok(())
    }

    fn import(&mut self, module: &[u8], name: &[u8], op: &'static str) -> R<V> {
        let m = std::str::from_utf8(module).map_err(|_| bad(op, module))?;
        let n = std::str::from_utf8(name).map_err(|_| bad(op, name))?;
        Ok(self.import_str(m, n, op))
    }

    fn import_str(&mut self, module: &str, name: &str, opcode: &'static str) -> V {
        let (module, name): (Rc<str>, Rc<str>) = (module.into(), name.into());
        let import = self.trace.imports.len();
        self.trace.imports.push(Import {
            module: module.clone(),
            name: name.clone(),
            offset: self.op_start,
            opcode,
        });
        v(Value::Global {
            module,
            name,
            import,
        })
    }

    fn call(&mut self, func: V, args: V, kind: CallKind) {
        let call = self.trace.calls.len();
        self.trace.calls.push(Call {
            func: func.clone(),
            args: args.clone(),
            kind,
            offset: self.op_start,
        });
        self.push(v(Value::Call {
            func,
            args,
            call,
            state: RefCell::new(None),
        }));
    }

    fn extension(&mut self, code: u32) {
        self.trace.extensions.push((self.op_start, code));
        self.push(v(Value::Extension(code)));
    }

    /// APPEND(S)/ADDITEMS: plain containers grow; anything else has its
    /// `append`/`extend`/`add` method called, which is a call like any other.
    fn add_items(&mut self, target: &V, items: Vec<V>) {
        match &**target {
            Value::List(l) | Value::Set(l) => l.borrow_mut().extend(items),
            _ => self.method_call(target, items),
        }
    }

    fn set_items(&mut self, target: &V, items: Vec<(V, V)>) {
        match &**target {
            Value::Dict(d) => d.borrow_mut().extend(items),
            _ => self.method_call(
                target,
                items.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            ),
        }
    }

    fn method_call(&mut self, target: &V, args: Vec<V>) {
        self.trace.calls.push(Call {
            func: target.clone(),
            args: v(Value::Tuple(args)),
            kind: CallKind::Method,
            offset: self.op_start,
        });
    }
}

fn bad(op: &'static str, arg: &[u8]) -> ErrorKind {
    let shown: String = String::from_utf8_lossy(&arg[..arg.len().min(40)]).into_owned();
    ErrorKind::BadArgument(op, format!("{shown:?}"))
}

fn ascii(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok().filter(|s| s.is_ascii())
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

fn str_value(s: &str) -> Value {
    if s.len() > MAX_KEPT_STRING {
        Value::LongStr(s.len())
    } else if s.len() <= SHORT_STR {
        let mut bytes = [0; SHORT_STR];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Value::ShortStr {
            len: s.len() as u8,
            bytes,
        }
    } else {
        Value::Str(Rc::from(s))
    }
}

fn bytes_to_str_value(raw: &[u8]) -> Value {
    match std::str::from_utf8(raw) {
        Ok(s) => str_value(s),
        // Kept as a lossy string: it can only matter as a name, and a name must be text.
        Err(_) => str_value(&String::from_utf8_lossy(raw)),
    }
}

fn parse_decimal(line: &[u8], op: &'static str) -> R<Value> {
    let s = ascii(line).ok_or_else(|| bad(op, line))?.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(op, line));
    }
    Ok(s.parse::<i64>().map(Value::Int).unwrap_or(Value::BigInt))
}

fn parse_memo_key(line: &[u8], op: &'static str) -> R<u64> {
    let s = ascii(line).ok_or_else(|| bad(op, line))?.trim();
    s.parse::<u64>().map_err(|_| bad(op, line))
}

fn decode_long(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() > 8 {
        return Value::BigInt;
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
    buf[..b.len()].copy_from_slice(b);
    Value::Int(i64::from_le_bytes(buf))
}

fn pairs(items: Vec<V>) -> Vec<(V, V)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// Python's `codecs.escape_decode`, used by the protocol-0 STRING opcode.
fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' || i >= s.len() {
            out.push(c);
            continue;
        }
        let e = s[i];
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut n = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            n = n * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((n & 0xff) as u8);
            }
            b'x' => match s
                .get(i..i + 2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.extend_from_slice(b"\\x"),
            },
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

/// Python's `raw_unicode_escape` decoding, used by the protocol-0 UNICODE opcode:
/// `\uXXXX` and `\UXXXXXXXX` escapes, every other byte is Latin-1.
fn raw_unicode_escape_decode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            let width = match s.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            if width > 0 {
                let hex = s
                    .get(i + 2..i + 2 + width)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(c) = hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    out.push(c);
                    i += 2 + width;
                    continue;
                }
            }
        }
        out.push(char::from(s[i]));
        i += 1;
    }
    out
}

// joblib writes numpy array bytes straight into the pickle stream, right after
// the BUILD of a `NumpyArrayWrapper`; its unpickler reads them there. The
// machine must skip exactly those bytes, or it would read array data as opcodes.
impl Machine<'_> {
    fn after_build(&mut self, target: &V) -> R<()> {
        let Some(state) = joblib_wrapper_state(target) else {
            return Ok(());
        };
        let dtype = state.get("dtype").ok_or_else(|| joblib_bad("no dtype"))?;
        let item_size = array_item_size(&dtype);
        // Raw arrays (not object arrays) are preceded by a padding-length byte and
        // that much padding when the wrapper records an alignment.
        let align = state.get("numpy_array_alignment_bytes");
        if matches!(item_size, Some(ItemSize::Bytes(_)))
            && align.is_some_and(|a| matches!(*a, Value::Int(_)))
        {
            let pad = self.take(1, "joblib array padding")?[0] as usize;
            self.take(pad, "joblib array padding")?;
        }
        let start = self.pos;
        match item_size {
            Some(ItemSize::Object) => {
                // Object arrays are written as a nested pickle (protocol 2).
                if self.depth >= self.limits.max_nesting {
                    return Err(ErrorKind::Limit(
                        "joblib object arrays nested deeper than the limit",
                    ));
                }
                let nested = analyze_nested(self.data, start, self.limits, self.depth + 1);
                let end = nested.end;
                let failed = nested.error.is_some();
                self.trace.nested.push((start, nested));
                match end {
                    Some(end) if !failed => self.pos = end,
                    _ => {
                        return Err(joblib_bad(
                            "the object array's embedded pickle is malformed",
                        ))
                    }
                }
            }
            Some(ItemSize::Bytes(item)) => {
                let shape = state.get("shape").ok_or_else(|| joblib_bad("no shape"))?;
                let mut count: usize = 1;
                for dim in shape.items() {
                    let Value::Int(d) = *dim else {
                        return Err(joblib_bad("non-integer shape"));
                    };
                    let d = usize::try_from(d).map_err(|_| joblib_bad("negative dimension"))?;
                    count = count
                        .checked_mul(d)
                        .ok_or_else(|| joblib_bad("shape overflows"))?;
                }
                let len = count
                    .checked_mul(item)
                    .ok_or_else(|| joblib_bad("array size overflows"))?;
                self.take(len, "joblib array data")?;
                self.trace.joblib_arrays.push((start, len));
            }
            None => return Err(joblib_bad("dtype of unknown size")),
        }
        Ok(())
    }
}

fn joblib_bad(why: &str) -> ErrorKind {
    ErrorKind::BadArgument("joblib NumpyArrayWrapper", why.to_string())
}

fn is_joblib_wrapper_class(v: &Value) -> bool {
    matches!(v, Value::Global { module, name, .. }
        if &**name == "NumpyArrayWrapper" && module.ends_with("joblib.numpy_pickle"))
}

/// The BUILD state of a joblib `NumpyArrayWrapper` instance, created by NEWOBJ
/// (protocol 2+) or by `copyreg._reconstructor(NumpyArrayWrapper, ...)`.
fn joblib_wrapper_state(target: &V) -> Option<V> {
    let Value::Call {
        func, args, state, ..
    } = &**target
    else {
        return None;
    };
    let is_wrapper = is_joblib_wrapper_class(func)
        || (func
            .global_path()
            .is_some_and(|p| p == "copyreg._reconstructor" || p == "copy_reg._reconstructor")
            && args
                .items()
                .first()
                .is_some_and(|c| is_joblib_wrapper_class(c)));
    if !is_wrapper {
        return None;
    }
    state.borrow().clone()
}

enum ItemSize {
    Object,
    Bytes(usize),
}

/// Item size of a pickled `numpy.dtype(descr, align, copy)` with its BUILD state
/// `(version, byteorder, subarray, names, fields, elsize, alignment, flags)`,
/// computed the way NumPy does: fixed-size kinds take their size from the
/// descriptor and ignore the state's `elsize`; only flexible kinds (`S`, `U`,
/// `V`) use it. A structured dtype with an object field holds objects, which
/// joblib writes as a nested pickle.
fn array_item_size(dtype: &V) -> Option<ItemSize> {
    array_item_size_at(dtype, 0)
}

fn array_item_size_at(dtype: &V, depth: usize) -> Option<ItemSize> {
    let Value::Call { args, state, .. } = &**dtype else {
        return None;
    };
    let descr = args.items().first()?.as_str()?.to_string();
    let kind = descr.chars().next()?;
    if kind == 'O' {
        return Some(ItemSize::Object);
    }
    let state = state.borrow().clone();
    let fields = state.as_ref().and_then(|st| st.items().get(4).cloned());
    if let Some(fields) = fields {
        if let Value::Dict(d) = &*fields {
            for (_, field) in d.borrow().iter() {
                let field_dtype = field.items().first().cloned();
                if depth < 8
                    && matches!(
                        field_dtype.and_then(|f| array_item_size_at(&f, depth + 1)),
                        Some(ItemSize::Object)
                    )
                {
                    return Some(ItemSize::Object);
                }
            }
        }
    }
    let digits: String = descr
        .chars()
        .skip(1)
        .take_while(char::is_ascii_digit)
        .collect();
    let n: usize = digits.parse().ok()?;
    let elsize = state
        .as_ref()
        .and_then(|st| st.items().get(5).cloned())
        .and_then(|e| match *e {
            Value::Int(n) if n > 0 => usize::try_from(n).ok(),
            _ => None,
        });
    match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' | '?' if n > 0 => Some(ItemSize::Bytes(n)),
        'U' => elsize.or(n.checked_mul(4)).map(ItemSize::Bytes),
        'S' | 'a' | 'V' => Some(ItemSize::Bytes(elsize.unwrap_or(n))),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> Trace {
        analyze(data, 0, &PickleLimits::default())
    }

    #[test]
    fn short_strings_stay_inline_and_read_back_whole() {
        assert!(std::mem::size_of::<Value>() <= 48, "Value grew");
        // SHORT_BINUNICODE of 38 bytes (inline, multi-byte UTF-8 at the edge)
        // and of 39 bytes (heap), in a tuple.
        let short = "é".repeat(19);
        let long = format!("{short}x");
        let mut p = b"\x80\x04".to_vec();
        for s in [&short, &long] {
            p.push(0x8c);
            p.push(s.len() as u8);
            p.extend_from_slice(s.as_bytes());
        }
        p.extend_from_slice(b"\x86."); // TUPLE2, STOP
        let t = run(&p);
        assert!(t.complete(), "{:?}", t.error);
        let items = t.result.as_ref().unwrap().items();
        assert!(matches!(*items[0], Value::ShortStr { .. }));
        assert!(matches!(*items[1], Value::Str(_)));
        assert_eq!(items[0].as_str(), Some(short.as_str()));
        assert_eq!(items[1].as_str(), Some(long.as_str()));
        assert_eq!(describe(&items[0]), format!("{short:?}"));
    }

    #[test]
    fn short_strings_that_are_not_utf8_fail_the_load_as_in_cpython() {
        // SHORT_BINUNICODE of 3 bytes: ASCII (kept inline), a lone
        // continuation byte and a truncated sequence (both errors).
        assert!(run(b"\x80\x04\x8c\x03abc.").complete());
        for bad in [&b"a\x80c"[..], &b"ab\xe2"[..]] {
            let mut p = b"\x80\x04\x8c\x03".to_vec();
            p.extend_from_slice(bad);
            p.push(b'.');
            let t = run(&p);
            assert!(
                matches!(&t.error, Some(e) if matches!(e.kind, ErrorKind::BadArgument(_, _))),
                "{:?}",
                t.error
            );
        }
    }

    /// Values that hold themselves (a list appended to itself through the
    /// memo, a dict through DUP, an object whose state holds it) are freed
    /// with the trace, not leaked.
    #[test]
    fn reference_cycles_are_freed_with_the_trace() {
        let cases: [&[u8]; 3] = [
            // memo[0] = []; memo[0].append(memo[0])
            b"\x80\x02]q\x00h\x00a.",
            // d = {}; DUP; d["k"] = d
            b"\x80\x02}2X\x01\x00\x00\x00k2s0.",
            // o = m.C(); memo[0] = o; o.__setstate__(o)
            b"\x80\x02cm\nC\n)Rq\x00h\x00b.",
        ];
        for p in cases {
            let t = run(p);
            assert!(t.complete(), "{p:?}: {:?}", t.error);
            let weak = Rc::downgrade(t.result.as_ref().unwrap());
            drop(t);
            assert!(weak.upgrade().is_none(), "{p:?} leaked its cycle");
        }
        // Without a second reference nothing is walked at drop.
        let t = run(b"\x80\x02]q\x00K\x01a.");
        assert!(t.cycle_roots.is_empty());
    }

    fn imports(t: &Trace) -> Vec<String> {
        t.imports
            .iter()
            .map(|i| format!("{}.{}", i.module, i.name))
            .collect()
    }

    /// Runs `f` on a thread with a 256 KiB stack, so that recursion over a deep
    /// value overflows in the test as it would on a scanner's worker thread.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn values_nested_200k_deep_are_freed_without_recursion() {
        on_small_stack(|| {
            // N, then 200,000 TUPLE1: ((((None,),),),...)
            let mut p = b"\x80\x02N".to_vec();
            p.extend(std::iter::repeat_n(0x85u8, 200_000));
            p.push(b'.');
            let t = run(&p);
            assert!(t.complete(), "{:?}", t.error);
            drop(t);
            // Lists nested through the memo: memo[0] = [memo[0]] 50,000 times,
            // then calls, builds and persistent ids wrapped around them.
            let mut p = b"\x80\x02Nq\x00".to_vec();
            for _ in 0..50_000 {
                p.extend_from_slice(b"(h\x00lq\x00\x30");
            }
            for _ in 0..50_000 {
                p.extend_from_slice(b"h\x00cmod\nf\n\x85Rq\x00\x30h\x00Q}bq\x00\x30");
            }
            p.extend_from_slice(b"h\x00.");
            let t = run(&p);
            assert!(t.complete(), "{:?}", t.error);
            assert_eq!(t.calls.len(), 50_000);
            assert!(describe(t.result.as_ref().unwrap()).len() <= 300);
        });
    }

    #[test]
    fn protocol0_global_reduce() {
        let t = run(b"cos\nsystem\n(S'echo hi'\ntR.");
        assert!(t.complete(), "{:?}", t.error);
        assert_eq!(imports(&t), ["os.system"]);
        assert_eq!(t.calls.len(), 1);
        assert_eq!(
            describe(&Value::Call {
                func: t.calls[0].func.clone(),
                args: t.calls[0].args.clone(),
                call: 0,
                state: RefCell::new(None)
            }),
            "os.system(\"echo hi\")"
        );
    }

    #[test]
    fn stack_global_through_memo_and_memoize() {
        // PUT 5 then MEMOIZE: MEMOIZE uses len(memo) == 1, not 6.
        let mut p = vec![0x80, 4];
        p.extend_from_slice(b"\x8c\x02os\x94"); // memo[0] = "os"
        p.extend_from_slice(b"\x8c\x05torchp5\n"); // memo[5] = "torch"
        p.extend_from_slice(b"0\x8c\x06system\x94"); // pop; memo[2] = "system"
        p.extend_from_slice(b"0h\x00h\x02\x93)R."); // os.system()
        let t = run(&p);
        assert!(t.complete(), "{:?}", t.error);
        assert_eq!(imports(&t), ["os.system"]);
    }

    #[test]
    fn inst_and_obj_are_calls() {
        let t = run(b"(S'ls'\nios\nsystem\n.");
        assert_eq!(imports(&t), ["os.system"]);
        assert_eq!(t.calls[0].kind, CallKind::Inst);
        let t = run(b"(cos\nsystem\nS'ls'\no.");
        assert_eq!(t.calls[0].kind, CallKind::Obj);
    }

    #[test]
    fn computed_stack_global_operand_is_recorded() {
        // GLOBAL numpy prod.a (a BUILD-planted attribute) used as STACK_GLOBAL module.
        let t = run(b"\x80\x04cnumpy\nprod.a\n\x8c\x06system\x93.");
        assert_eq!(t.computed_globals.len(), 1);
        assert!(t.complete());
    }

    #[test]
    fn faults_keep_what_came_before() {
        let t = run(b"cos\nsystem\n(S'id'\ntRh\x07.");
        assert_eq!(t.calls.len(), 1);
        assert_eq!(
            t.error.as_ref().map(|e| e.kind.clone()),
            Some(ErrorKind::MemoMissing(7))
        );
        assert_eq!(t.error.as_ref().unwrap().offset, 20);
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"\x80",
            b"\x80\x09.",
            b"\xff",
            b"0",
            b"t",
            b"X\xff\xff\xff\xff",
            b"\x8d\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x95\xff\xff\xff\xff\xff\xff\xff\x7fN.",
            b"T\xff\xff\xff\xff",
            b"\x8b\x00\x00\x00\x80",
            b"cos\n",
            b"Ix\n.",
            b"p-1\n",
            b"S'unterminated\n.",
            b"(d",
        ] {
            let t = run(bad);
            assert!(t.error.is_some(), "{bad:?} should fail");
        }
    }

    #[test]
    fn every_prefix_of_a_pickle_fails_cleanly() {
        let p = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93)R\x94.";
        assert!(run(p).complete());
        for n in 0..p.len() {
            assert!(run(&p[..n]).error.is_some(), "prefix {n}");
        }
    }

    #[test]
    fn stack_and_memo_limits() {
        let limits = PickleLimits {
            max_opcodes: 1000,
            max_memo_entries: 4,
            max_stack_depth: 16,
            max_nesting: 2,
        };
        let deep = vec![b'('; 100];
        let t = analyze(&deep, 0, &limits);
        assert!(matches!(
            t.error.as_ref().unwrap().kind,
            ErrorKind::Limit(_)
        ));
        let mut memo = b"N".to_vec();
        for i in 0..10u8 {
            memo.extend_from_slice(&[b'q', i]);
        }
        let t = analyze(&memo, 0, &limits);
        assert!(matches!(
            t.error.as_ref().unwrap().kind,
            ErrorKind::Limit(_)
        ));
    }

    #[test]
    fn escapes_and_strings() {
        assert_eq!(escape_decode(br"o\x73\n\\\101"), b"os\n\\A");
        assert_eq!(raw_unicode_escape_decode(br"sy\u0073tem"), "system");
        let t = run(b"S'o\\x73'\nS'sy\\163tem'\n\x93.");
        assert_eq!(imports(&t), ["os.system"]);
    }

    /// Assembles protocol-4 opcodes: `s(..)` pushes a short string.
    fn s(text: &str) -> Vec<u8> {
        let mut out = vec![0x8c, text.len() as u8];
        out.extend_from_slice(text.as_bytes());
        out
    }

    fn global(module: &str, name: &str) -> Vec<u8> {
        [s(module), s(name), vec![0x93]].concat()
    }

    /// `numpy.dtype(descr, False, True)` with its BUILD state.
    fn dtype(descr: &str, state: &[u8]) -> Vec<u8> {
        [
            global("numpy", "dtype"),
            s(descr),
            b"\x89\x88\x87R".to_vec(),
            state.to_vec(),
            b"b".to_vec(),
        ]
        .concat()
    }

    fn joblib_wrapper(dtype: Vec<u8>, payload: &[u8]) -> Vec<u8> {
        [
            b"\x80\x04".to_vec(),
            global("joblib.numpy_pickle", "NumpyArrayWrapper"),
            b")\x81}(".to_vec(),
            s("shape"),
            b"K\x01\x85".to_vec(),
            s("dtype"),
            dtype,
            b"ub".to_vec(),
            payload.to_vec(),
            b".".to_vec(),
        ]
        .concat()
    }

    #[test]
    fn joblib_structured_dtype_with_object_field_is_a_nested_pickle() {
        // dtype V8 whose single field is an object: NumPy says hasobject, so joblib
        // writes the array as a nested pickle, not as 8 raw bytes.
        let object_field = dtype(
            "O8",
            b"(K\x03\x8c\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t",
        );
        let fields = [b"}".to_vec(), s("a"), object_field, b"K\x00\x86s".to_vec()].concat();
        let state = [
            b"(K\x03".to_vec(),
            s("|"),
            b"N".to_vec(),
            s("a"),
            b"\x85".to_vec(),
            fields,
            b"K\x08K\x01K?t".to_vec(),
        ]
        .concat();
        let nested = b"\x80\x02cos\nsystem\n)R.";
        let t = run(&joblib_wrapper(dtype("V8", &state), nested));
        assert!(t.complete(), "{:?}", t.error);
        assert_eq!(t.nested.len(), 1);
        assert_eq!(
            t.nested[0].1.imports.len(),
            1,
            "the nested pickle is analysed"
        );
        assert!(t.joblib_arrays.is_empty());
    }

    #[test]
    fn joblib_fixed_size_dtype_ignores_a_forged_elsize() {
        // 'f8' with elsize 100 in its state: NumPy reads 8 bytes per item, so must we.
        let forged = [
            b"(K\x03".to_vec(),
            s("<"),
            b"NNNK\x64J\xff\xff\xff\xffK\x00t".to_vec(),
        ]
        .concat();
        let t = run(&joblib_wrapper(dtype("f8", &forged), &[0u8; 8]));
        assert!(t.complete(), "{:?}", t.error);
        assert_eq!(t.joblib_arrays.len(), 1);
        assert_eq!(t.joblib_arrays[0].1, 8);
    }

    #[test]
    fn long_opcodes() {
        let t = run(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.");
        assert!(matches!(**t.result.as_ref().unwrap(), Value::BigInt));
        let t = run(b"\x8a\x02\xff\xff.");
        assert!(matches!(**t.result.as_ref().unwrap(), Value::Int(-1)));
    }
}
