//! joblib's numpy arrays inside the pickle stream.

use super::machine::{analyze_nested, Machine};
use super::value::{Value, Values, V};
use super::ErrorKind;
use super::R;

// joblib writes numpy array bytes straight into the pickle stream, right after
// the BUILD of a `NumpyArrayWrapper`; its unpickler reads them there. The
// machine must skip exactly those bytes, or it would read array data as opcodes.
impl Machine<'_> {
    pub(super) fn after_build(&mut self, target: V) -> R<()> {
        let values = &self.trace.values;
        let Some(state) = joblib_wrapper_state(values, target) else {
            return Ok(());
        };
        let dtype = values
            .dict_get(state, "dtype")
            .ok_or_else(|| joblib_bad("no dtype"))?;
        let item_size = array_item_size(values, dtype);
        // Raw arrays (not object arrays) are preceded by a padding-length byte and
        // that much padding when the wrapper records an alignment.
        let align = values.dict_get(state, "numpy_array_alignment_bytes");
        let shape = values.dict_get(state, "shape");
        if matches!(item_size, Some(ItemSize::Bytes(_)))
            && align.is_some_and(|a| matches!(values.get(a), Value::Int(_)))
        {
            let pad = self.take_u8("joblib array padding")? as usize;
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
                let shape = shape.ok_or_else(|| joblib_bad("no shape"))?;
                let values = &self.trace.values;
                let mut count: usize = 1;
                for dim in values.items(shape) {
                    let Value::Int(d) = *values.get(*dim) else {
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
fn joblib_wrapper_state(values: &Values, target: V) -> Option<V> {
    let Value::Call {
        func, args, state, ..
    } = values.get(target)
    else {
        return None;
    };
    let func = values.get(*func);
    let is_wrapper = is_joblib_wrapper_class(func)
        || (func
            .global_path()
            .is_some_and(|p| p == "copyreg._reconstructor" || p == "copy_reg._reconstructor")
            && values
                .items(*args)
                .first()
                .is_some_and(|c| is_joblib_wrapper_class(values.get(*c))));
    if !is_wrapper {
        return None;
    }
    *state
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
fn array_item_size(values: &Values, dtype: V) -> Option<ItemSize> {
    array_item_size_at(values, dtype, 0)
}

// Recursion bounded by `depth`: a field's dtype is followed at most 8 deep.
fn array_item_size_at(values: &Values, dtype: V, depth: usize) -> Option<ItemSize> {
    let Value::Call { args, state, .. } = values.get(dtype) else {
        return None;
    };
    let descr = values.as_str(*values.items(*args).first()?)?;
    let kind = descr.chars().next()?;
    if kind == 'O' {
        return Some(ItemSize::Object);
    }
    let state = *state;
    let fields = state.and_then(|st| values.items(st).get(4).copied());
    if let Some(fields) = fields {
        if let Value::Dict(d) = values.get(fields) {
            for (_, field) in d {
                let field_dtype = values.items(*field).first().copied();
                if depth < 8
                    && matches!(
                        field_dtype.and_then(|f| array_item_size_at(values, f, depth + 1)),
                        Some(ItemSize::Object)
                    )
                {
                    return Some(ItemSize::Object);
                }
            }
        }
    }
    let n = usize::try_from(crate::npy::scalar_itemsize(descr)?).ok()?;
    let elsize = state
        .and_then(|st| values.items(st).get(5).copied())
        .and_then(|e| match *values.get(e) {
            Value::Int(n) if n > 0 => usize::try_from(n).ok(),
            _ => None,
        });
    match kind {
        'U' | 'S' | 'a' | 'V' => Some(ItemSize::Bytes(elsize.unwrap_or(n))),
        _ if n > 0 => Some(ItemSize::Bytes(n)),
        _ => None,
    }
}
