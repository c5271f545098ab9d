//! Tensor sizes and types: whether a tensor's data matches what it declares.

use super::*;

/// product(dims), or `None` when a dim is negative or the product overflows.
pub(super) fn element_count(dims: &[i64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, d| {
        u64::try_from(*d).ok().and_then(|d| acc.checked_mul(d))
    })
}

/// Bits per element of an ONNX `TensorProto.DataType`; `None` for STRING,
/// UNDEFINED and types newer than the table.
pub(super) fn element_bits(code: i32) -> Option<u64> {
    data_type(code).and_then(|t| t.bits)
}

pub(super) fn byte_size(elements: u64, bits: u64) -> Option<u64> {
    elements.checked_mul(bits).map(|b| b.div_ceil(8))
}

pub(super) fn type_name(code: i32) -> String {
    data_type(code).map_or_else(|| format!("type {code}"), |t| t.name.to_string())
}

/// What is wrong with an in-file tensor's data, if anything.
pub(super) fn data_mismatch(t: &TensorProto, elements: u64) -> Option<String> {
    let ty = type_name(t.data_type);
    if t.data_type == 0 {
        let has_data = t.raw_data.is_some() || typed_total(t) > 0;
        return has_data.then(|| "holds data but declares no data type".to_string());
    }
    if t.data_type == 8 {
        if t.raw_data.is_some() {
            return Some("STRING tensor stores raw_data, which the format forbids".into());
        }
        return (t.string_data != elements).then(|| {
            format!(
                "declares {elements} STRING elements but holds {}",
                t.string_data
            )
        });
    }
    let bits = element_bits(t.data_type)?; // newer types: size rules unknown here
    if let Some(raw) = t.raw_data {
        let expected = byte_size(elements, bits)?;
        return (raw.len != expected).then(|| {
            format!(
                "declares dims {:?} of {ty} = {expected} bytes but raw_data holds {} bytes",
                t.dims, raw.len
            )
        });
    }
    // Which typed field may hold this type, and how many entries per element.
    let (field, count) = match t.data_type {
        1 | 14 => ("float_data", t.float_data),
        7 => ("int64_data", t.int64_data),
        11 | 15 => ("double_data", t.double_data),
        12 | 13 => ("uint64_data", t.uint64_data),
        _ => ("int32_data", t.int32_data),
    };
    let total = typed_total(t);
    if count != total {
        return Some(format!(
            "{ty} tensor keeps data in a field other than {field}"
        ));
    }
    let accepted: Vec<u64> = match t.data_type {
        14 | 15 => vec![elements.checked_mul(2)?],
        // Sub-byte types may be packed (several per entry) or one per entry.
        21..=23 => vec![elements.div_ceil(2), elements],
        25 | 26 => vec![elements.div_ceil(4), elements],
        _ => vec![elements],
    };
    (!accepted.contains(&count)).then(|| {
        format!(
            "declares dims {:?} ({elements} {ty} elements) but {field} holds {count}",
            t.dims
        )
    })
}

fn typed_total(t: &TensorProto) -> u64 {
    [
        t.float_data,
        t.int32_data,
        t.int64_data,
        t.double_data,
        t.uint64_data,
        t.string_data,
    ]
    .iter()
    .fold(0u64, |a, b| a.saturating_add(*b))
}
