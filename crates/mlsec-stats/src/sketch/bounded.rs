//! Deserialisers that stop at a cap, so a hostile file cannot make us hold
//! more than the cap (serde's own `Vec` trusts the input's length).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};

/// A `Vec<T>` of at most `CAP` elements; more is an error, found while reading.
pub(crate) fn vec<'de, D, T, const CAP: usize>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T, const CAP: usize>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>, const CAP: usize> Visitor<'de> for V<T, CAP> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a sequence of at most {CAP} elements")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            // The hint comes from the input: never reserve more than a page's worth on it.
            let hint = seq.size_hint().unwrap_or(0).min(CAP).min(1024);
            let mut out = Vec::with_capacity(hint);
            while let Some(x) = seq.next_element()? {
                if out.len() >= CAP {
                    return Err(A::Error::invalid_length(CAP.saturating_add(1), &self));
                }
                out.push(x);
            }
            Ok(out)
        }
    }
    de.deserialize_seq(V::<T, CAP>(PhantomData))
}

/// A string-keyed map of at most `CAP` entries, keys of at most `KEY` bytes,
/// no duplicate keys; anything else is an error, found while reading.
pub(crate) fn map<'de, D, const CAP: usize, const KEY: usize>(
    de: D,
) -> Result<BTreeMap<String, u64>, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<const CAP: usize, const KEY: usize>;
    impl<'de, const CAP: usize, const KEY: usize> Visitor<'de> for V<CAP, KEY> {
        type Value = BTreeMap<String, u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "a map of at most {CAP} entries with keys of at most {KEY} bytes"
            )
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, count)) = map.next_entry::<String, u64>()? {
                if out.len() >= CAP {
                    return Err(A::Error::invalid_length(CAP.saturating_add(1), &self));
                }
                if key.len() > KEY {
                    return Err(A::Error::custom(format!(
                        "key of {} bytes, more than {KEY}",
                        key.len()
                    )));
                }
                if out.insert(key, count).is_some() {
                    return Err(A::Error::custom("duplicate key"));
                }
            }
            Ok(out)
        }
    }
    de.deserialize_map(V::<CAP, KEY>)
}
