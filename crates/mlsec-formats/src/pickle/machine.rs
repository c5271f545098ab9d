//! The machine: CPython's unpickler loop with symbolic values in place of
//! imports and calls.

use super::decode::{
    ascii, bad, bytes_to_str_value, decode_long, escape_decode, extend_pairs, parse_decimal,
    parse_memo_key, raw_unicode_escape_decode, short_str, str_value,
};
use super::value::{Value, Values, MAX_KEPT_STRING, SHORT_STR, V};
use super::{
    Build, Call, CallKind, ComputedGlobal, ErrorKind, Import, PickleError, PickleLimits, Trace, R,
};
use std::collections::HashMap;
use std::rc::Rc;

pub(super) fn analyze_nested(
    data: &[u8],
    start: usize,
    limits: &PickleLimits,
    depth: u32,
) -> Trace {
    // Every opcode takes at least a byte and makes at most about one value:
    // room for a value per few bytes saves the arena most of its regrowth.
    let room = data.len().saturating_sub(start) / 4;
    let mut m = Machine {
        data,
        pos: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Memo::default(),
        trace: Trace {
            values: Values::with_capacity(room.min(1 << 16)),
            ..Trace::default()
        },
        limits,
        depth,
        op_start: start,
        shared: [None; SHARED_LEN],
        spare: Vec::new(),
    };
    if let Err(kind) = m.run() {
        m.trace.error = Some(PickleError {
            offset: m.op_start,
            kind,
        });
    }
    m.trace
}

pub(super) struct Machine<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    stack: Vec<V>,
    marks: Vec<Vec<V>>,
    memo: Memo,
    /// What the stream did so far, and the arena of every value it made.
    pub(super) trace: Trace,
    pub(super) limits: &'a PickleLimits,
    pub(super) depth: u32,
    /// Offset of the opcode being executed, for error reports.
    op_start: usize,
    /// Handles of the shared values (see [`Machine::push_shared`]), once made.
    shared: [Option<V>; SHARED_LEN],
    /// Emptied stack buffers for the next MARK (see [`Machine::recycle`]).
    spare: Vec<Vec<V>>,
}

/// How many emptied stack buffers are kept (more are freed).
const MAX_SPARE_STACKS: usize = 8;

const SHARED_NONE: usize = 0;
const SHARED_FALSE: usize = 1;
const SHARED_TRUE: usize = 2;
const SHARED_INTS: usize = 3;
const SHARED_LEN: usize = SHARED_INTS + 256;

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
            self.dense.get(key as usize).copied().flatten()
        } else {
            self.sparse.get(&key).copied()
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
            match self.dense.get_mut(i) {
                Some(slot) => slot.replace(value),
                None => {
                    self.dense.resize(i, None);
                    self.dense.push(Some(value));
                    None
                }
            }
        } else {
            self.sparse.insert(key, value)
        };
        if old.is_none() {
            self.len += 1;
        }
    }
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
                let fresh = self.spare.pop().unwrap_or_default();
                let stack = std::mem::replace(&mut self.stack, fresh);
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
                    let items = self.pop_mark("POP")?;
                    self.recycle(items);
                }
            }
            b'1' => {
                let items = self.pop_mark("POP_MARK")?;
                self.recycle(items);
            }
            b'2' => {
                let top = self.top("DUP")?;
                self.push(top);
            }
            b'F' => {
                let line = self.line("FLOAT")?;
                let f = ascii(line)
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .ok_or_else(|| bad("FLOAT", line))?;
                self.push_new(Value::Float(f))?;
            }
            b'I' => {
                let line = self.line("INT")?;
                let value = match line {
                    b"00" => Value::Bool(false),
                    b"01" => Value::Bool(true),
                    _ => parse_decimal(line, "INT")?,
                };
                self.push_new(value)?;
            }
            b'L' => {
                let line = self.line("LONG")?;
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                let value = parse_decimal(digits, "LONG")?;
                self.push_new(value)?;
            }
            b'J' => {
                let b = self.take_array("BININT")?;
                self.push_new(Value::Int(i32::from_le_bytes(b).into()))?;
            }
            b'K' => {
                let b = self.take_u8("BININT1")?;
                self.push_small_int(b.into())?;
            }
            b'M' => {
                let b = self.take_array("BININT2")?;
                self.push_small_int(u16::from_le_bytes(b).into())?;
            }
            0x8a => {
                let n = self.take_u8("LONG1")? as usize;
                let b = self.take(n, "LONG1")?;
                self.push_new(decode_long(b))?;
            }
            0x8b => {
                let n = self.i32_len("LONG4")?;
                let b = self.take(n, "LONG4")?;
                self.push_new(decode_long(b))?;
            }
            b'N' => self.push_shared(SHARED_NONE, || Value::None)?,
            0x88 => self.push_shared(SHARED_TRUE, || Value::Bool(true))?,
            0x89 => self.push_shared(SHARED_FALSE, || Value::Bool(false))?,
            b'G' => {
                let bits = u64::from_be_bytes(self.take_array("BINFLOAT")?);
                self.push_new(Value::Float(f64::from_bits(bits)))?;
            }
            b'S' => {
                let line = self.line("STRING")?;
                let inner = match line {
                    [q @ (b'\'' | b'"'), inner @ .., last] if last == q => inner,
                    _ => return Err(bad("STRING", line)),
                };
                let raw = escape_decode(inner);
                self.push_new(bytes_to_str_value(&raw))?;
            }
            b'T' => {
                let n = self.i32_len("BINSTRING")?;
                let start = self.pos;
                let b = self.take(n, "BINSTRING")?;
                self.push_new(Self::string_or_bytes(start, b))?;
            }
            b'U' => {
                let n = self.take_u8("SHORT_BINSTRING")? as usize;
                let start = self.pos;
                let b = self.take(n, "SHORT_BINSTRING")?;
                self.push_new(Self::string_or_bytes(start, b))?;
            }
            b'V' => {
                let line = self.line("UNICODE")?;
                let s = raw_unicode_escape_decode(line);
                self.push_new(str_value(&s))?;
            }
            b'X' => {
                let n = self.u32_len("BINUNICODE")?;
                self.unicode(n, "BINUNICODE")?;
            }
            0x8c => {
                let n = self.take_u8("SHORT_BINUNICODE")? as usize;
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
                let n = self.take_u8("SHORT_BINBYTES")? as usize;
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
            0x97 => self.push_new(Value::Buffer)?,
            0x98 => {
                self.top("READONLY_BUFFER")?;
            }
            b')' => self.push_new(Value::Tuple(Vec::new()))?,
            b't' => {
                let items = self.pop_mark("TUPLE")?;
                self.push_new(Value::Tuple(items.to_vec()))?;
                self.recycle(items);
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return Err(ErrorKind::StackUnderflow("TUPLEn"));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push_new(Value::Tuple(items))?;
            }
            b']' => self.push_new(Value::List(Vec::new()))?,
            b'l' => {
                let items = self.pop_mark("LIST")?;
                self.push_new(Value::List(items.to_vec()))?;
                self.recycle(items);
            }
            b'}' => self.push_new(Value::Dict(Vec::new()))?,
            b'd' => {
                let items = self.pop_mark("DICT")?;
                if items.len() % 2 != 0 {
                    return Err(ErrorKind::BadArgument("DICT", "odd number of items".into()));
                }
                let mut dict = Vec::new();
                extend_pairs(&mut dict, &items);
                self.push_new(Value::Dict(dict))?;
                self.recycle(items);
            }
            0x8f => self.push_new(Value::Set(Vec::new()))?,
            0x91 => {
                let items = self.pop_mark("FROZENSET")?;
                self.push_new(Value::FrozenSet(items.to_vec()))?;
                self.recycle(items);
            }
            b'a' => {
                let item = self.pop("APPEND")?;
                let target = self.top("APPEND")?;
                match self.trace.values.get_mut(target) {
                    Some(Value::List(l) | Value::Set(l)) => l.push(item),
                    _ => self.method_call(target, vec![item])?,
                }
            }
            b'e' => {
                let items = self.pop_mark("APPENDS")?;
                let target = self.top("APPENDS")?;
                self.add_items(target, items)?;
            }
            0x90 => {
                let items = self.pop_mark("ADDITEMS")?;
                let target = self.top("ADDITEMS")?;
                self.add_items(target, items)?;
            }
            b's' => {
                let value = self.pop("SETITEM")?;
                let key = self.pop("SETITEM")?;
                let target = self.top("SETITEM")?;
                match self.trace.values.get_mut(target) {
                    Some(Value::Dict(d)) => d.push((key, value)),
                    _ => self.method_call(target, vec![key, value])?,
                }
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
                self.set_items(target, items)?;
            }
            b'g' => {
                let line = self.line("GET")?;
                let key = parse_memo_key(line, "GET")?;
                self.get(key)?;
            }
            b'h' => {
                let key = self.take_u8("BINGET")? as u64;
                self.get(key)?;
            }
            b'j' => {
                let b = self.take_array("LONG_BINGET")?;
                self.get(u32::from_le_bytes(b).into())?;
            }
            b'p' => {
                let line = self.line("PUT")?;
                let key = parse_memo_key(line, "PUT")?;
                self.put(key, "PUT")?;
            }
            b'q' => {
                let key = self.take_u8("BINPUT")? as u64;
                self.put(key, "BINPUT")?;
            }
            b'r' => {
                let b = self.take_array("LONG_BINPUT")?;
                self.put(u32::from_le_bytes(b).into(), "LONG_BINPUT")?;
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
                let values = &self.trace.values;
                match (values.as_str(module), values.as_str(name)) {
                    (Some(m), Some(n)) => {
                        let (m, n) = (m.into(), n.into());
                        let g = self.import_rc(m, n, "STACK_GLOBAL")?;
                        self.push(g);
                    }
                    _ => {
                        self.trace.computed_globals.push(ComputedGlobal {
                            module,
                            name,
                            offset: self.op_start,
                        });
                        self.push_new(Value::Unknown)?;
                    }
                }
            }
            b'i' => {
                let module = self.line("INST")?;
                let name = self.line("INST")?;
                // CPython imports before it looks for the mark.
                let cls = self.import(module, name, "INST")?;
                let items = self.pop_mark("INST")?;
                let args = self.new_value(Value::Tuple(items.to_vec()))?;
                self.recycle(items);
                self.call(cls, args, CallKind::Inst)?;
            }
            b'o' => {
                let items = self.pop_mark("OBJ")?;
                let Some((&cls, rest)) = items.split_first() else {
                    return Err(ErrorKind::StackUnderflow("OBJ"));
                };
                let args = self.new_value(Value::Tuple(rest.to_vec()))?;
                self.recycle(items);
                self.call(cls, args, CallKind::Obj)?;
            }
            b'R' => {
                let args = self.pop("REDUCE")?;
                let func = self.pop("REDUCE")?;
                self.call(func, args, CallKind::Reduce)?;
            }
            0x81 => {
                let args = self.pop("NEWOBJ")?;
                let cls = self.pop("NEWOBJ")?;
                self.call(cls, args, CallKind::NewObj)?;
            }
            0x92 => {
                let kwargs = self.pop("NEWOBJ_EX")?;
                let args = self.pop("NEWOBJ_EX")?;
                let cls = self.pop("NEWOBJ_EX")?;
                let all = self.new_value(Value::Tuple(vec![args, kwargs]))?;
                self.call(cls, all, CallKind::NewObjEx)?;
            }
            b'b' => {
                let state = self.pop("BUILD")?;
                let target = self.top("BUILD")?;
                self.trace.builds.push(Build {
                    target,
                    state,
                    offset: self.op_start,
                });
                if let Some(Value::Call { state: slot, .. }) = self.trace.values.get_mut(target) {
                    *slot = Some(state);
                }
                self.after_build(target)?;
            }
            b'P' => {
                let line = self.line("PERSID")?;
                let id = ascii(line).ok_or_else(|| bad("PERSID", line))?;
                let id = self.new_value(str_value(id))?;
                self.push_new(Value::PersistentId(id))?;
            }
            b'Q' => {
                let id = self.pop("BINPERSID")?;
                self.push_new(Value::PersistentId(id))?;
            }
            0x82 => {
                let code = self.take_u8("EXT1")? as u32;
                self.extension(code)?;
            }
            0x83 => {
                let b = self.take_array("EXT2")?;
                self.extension(u16::from_le_bytes(b).into())?;
            }
            0x84 => {
                let b = self.take_array("EXT4")?;
                self.extension(u32::from_le_bytes(b))?;
            }
            0x80 => {
                let proto = self.take_u8("PROTO")?;
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

    // Called for nearly every opcode: kept inline in `step`.
    #[inline(always)]
    fn push(&mut self, value: V) {
        self.stack.push(value);
    }

    /// Stores `value` in the arena and returns its handle.
    #[inline(always)]
    fn new_value(&mut self, value: Value) -> R<V> {
        self.trace
            .values
            .add(value)
            .ok_or(ErrorKind::Limit("more values than the analyser can hold"))
    }

    /// Stores `value` in the arena and pushes it.
    #[inline(always)]
    fn push_new(&mut self, value: Value) -> R<()> {
        let id = self.new_value(value)?;
        self.stack.push(id);
        Ok(())
    }

    /// Pushes the shared value of `slot`, made on first use: None, the
    /// booleans and the ints 0..=255 are pushed thousands of times by most
    /// pickles, and one copy of each (as in CPython) keeps the arena small.
    #[inline(always)]
    fn push_shared(&mut self, slot: usize, make: impl FnOnce() -> Value) -> R<()> {
        let id = match self.shared.get(slot).copied().flatten() {
            Some(id) => id,
            None => {
                let id = self.new_value(make())?;
                if let Some(s) = self.shared.get_mut(slot) {
                    *s = Some(id);
                }
                id
            }
        };
        self.stack.push(id);
        Ok(())
    }

    #[inline(always)]
    fn push_small_int(&mut self, i: i64) -> R<()> {
        match u8::try_from(i) {
            Ok(b) => self.push_shared(SHARED_INTS + usize::from(b), || Value::Int(i)),
            Err(_) => self.push_new(Value::Int(i)),
        }
    }

    fn pop(&mut self, op: &'static str) -> R<V> {
        self.stack.pop().ok_or(ErrorKind::StackUnderflow(op))
    }

    fn top(&self, op: &'static str) -> R<V> {
        self.stack
            .last()
            .copied()
            .ok_or(ErrorKind::StackUnderflow(op))
    }

    fn pop_mark(&mut self, op: &'static str) -> R<Vec<V>> {
        let outer = self.marks.pop().ok_or(ErrorKind::MarkNotFound(op))?;
        Ok(std::mem::replace(&mut self.stack, outer))
    }

    /// Keeps the buffer of a stack that `pop_mark` returned for a later MARK,
    /// so that a pickle's batches of 1,000 items do not each grow a new one.
    /// Values copy their items out (at their size) before it comes back.
    fn recycle(&mut self, mut items: Vec<V>) {
        if self.spare.len() < MAX_SPARE_STACKS {
            items.clear();
            self.spare.push(items);
        }
    }

    pub(super) fn take(&mut self, n: usize, op: &'static str) -> R<&'a [u8]> {
        let s = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.get(..n))
            .ok_or(ErrorKind::Truncated(op))?;
        self.pos += n;
        Ok(s)
    }

    /// The next `N` bytes, for fixed-width arguments.
    fn take_array<const N: usize>(&mut self, op: &'static str) -> R<[u8; N]> {
        let (head, _) = self
            .data
            .get(self.pos..)
            .and_then(<[u8]>::split_first_chunk)
            .ok_or(ErrorKind::Truncated(op))?;
        self.pos += N;
        Ok(*head)
    }

    pub(super) fn take_u8(&mut self, op: &'static str) -> R<u8> {
        let [b] = self.take_array(op)?;
        Ok(b)
    }

    fn line(&mut self, op: &'static str) -> R<&'a [u8]> {
        let line = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.split_inclusive(|b| *b == b'\n').next())
            .and_then(|line| line.strip_suffix(b"\n"))
            .ok_or(ErrorKind::Truncated(op))?;
        self.pos += line.len() + 1;
        Ok(line)
    }

    fn u32_len(&mut self, op: &'static str) -> R<usize> {
        Ok(u32::from_le_bytes(self.take_array(op)?) as usize)
    }

    fn i32_len(&mut self, op: &'static str) -> R<usize> {
        let n = i32::from_le_bytes(self.take_array(op)?);
        usize::try_from(n).map_err(|_| ErrorKind::BadArgument(op, format!("negative length {n}")))
    }

    fn u64_len(&mut self, op: &'static str) -> R<usize> {
        let n = u64::from_le_bytes(self.take_array(op)?);
        usize::try_from(n).map_err(|_| ErrorKind::Truncated(op))
    }

    fn unicode(&mut self, n: usize, op: &'static str) -> R<()> {
        let b = self.take(n, op)?;
        if n > MAX_KEPT_STRING {
            self.push_new(Value::LongStr(n))?;
            return Ok(());
        }
        // Most pickled strings (dictionary keys, names) are short and ASCII,
        // which is UTF-8: kept inline without the general check, whose set-up
        // cost more than the copy.
        if n <= SHORT_STR && b.is_ascii() {
            if let Some(short) = short_str(b) {
                self.push_new(short)?;
                return Ok(());
            }
        }
        // CPython decodes with 'surrogatepass'; invalid UTF-8 otherwise fails the load.
        let s = std::str::from_utf8(b)
            .map_err(|_| ErrorKind::BadArgument(op, "invalid UTF-8".into()))?;
        self.push_new(str_value(s))?;
        Ok(())
    }

    fn bytes(&mut self, n: usize, op: &'static str) -> R<()> {
        let start = self.pos;
        self.take(n, op)?;
        self.push_new(Value::Bytes { start, len: n })?;
        Ok(())
    }

    /// Protocol-0/1 strings: CPython decodes them (ASCII by default, UTF-8 under
    /// torch.load); a string that is not text stays bytes. `b` was read at `start`.
    fn string_or_bytes(start: usize, b: &[u8]) -> Value {
        match std::str::from_utf8(b) {
            Ok(s) if b.len() <= MAX_KEPT_STRING => str_value(s),
            _ => Value::Bytes {
                start,
                len: b.len(),
            },
        }
    }

    fn get(&mut self, key: u64) -> R<()> {
        let value = self.memo.get(key).ok_or(ErrorKind::MemoMissing(key))?;
        self.push(value);
        Ok(())
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
        self.import_rc(m.into(), n.into(), op)
    }

    fn import_rc(&mut self, module: Rc<str>, name: Rc<str>, opcode: &'static str) -> R<V> {
        let import = self.trace.imports.len();
        self.trace.imports.push(Import {
            module: module.clone(),
            name: name.clone(),
            offset: self.op_start,
            opcode,
        });
        self.new_value(Value::Global {
            module,
            name,
            import,
        })
    }

    fn call(&mut self, func: V, args: V, kind: CallKind) -> R<()> {
        let call = self.trace.calls.len();
        self.trace.calls.push(Call {
            func,
            args,
            kind,
            offset: self.op_start,
        });
        self.push_new(Value::Call {
            func,
            args,
            call,
            state: None,
        })
    }

    fn extension(&mut self, code: u32) -> R<()> {
        self.trace.extensions.push((self.op_start, code));
        self.push_new(Value::Extension(code))
    }

    /// APPENDS/ADDITEMS: plain containers grow; anything else has its
    /// `extend`/`add` method called, which is a call like any other.
    fn add_items(&mut self, target: V, items: Vec<V>) -> R<()> {
        match self.trace.values.get_mut(target) {
            Some(Value::List(l) | Value::Set(l)) => {
                l.extend_from_slice(&items);
                self.recycle(items);
                Ok(())
            }
            _ => self.method_call(target, items),
        }
    }

    /// SETITEMS: `items` are keys and values, alternately (an even number).
    fn set_items(&mut self, target: V, items: Vec<V>) -> R<()> {
        match self.trace.values.get_mut(target) {
            Some(Value::Dict(d)) => {
                extend_pairs(d, &items);
                self.recycle(items);
                Ok(())
            }
            _ => self.method_call(target, items),
        }
    }

    fn method_call(&mut self, target: V, items: Vec<V>) -> R<()> {
        let args = self.new_value(Value::Tuple(items.to_vec()))?;
        self.recycle(items);
        self.trace.calls.push(Call {
            func: target,
            args,
            kind: CallKind::Method,
            offset: self.op_start,
        });
        Ok(())
    }
}
