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

mod decode;
mod joblib;
mod machine;
mod value;

pub use value::{describe, describe_call, Value, Values, MAX_KEPT_STRING, SHORT_STR, V};

use machine::analyze_nested;
use std::fmt;
use std::rc::Rc;

/// What the machine and its decoders return.
type R<T> = Result<T, ErrorKind>;

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
    /// Every value the stream made: the handles above are read here.
    pub values: Values,
}

impl Trace {
    /// The value behind handle `v` of this trace.
    pub fn value(&self, v: V) -> &Value {
        self.values.get(v)
    }

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

#[cfg(test)]
mod tests;
