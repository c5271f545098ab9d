//! A pre-check of the Parquet footer before the parquet crate decodes it: that
//! crate reserves memory for a Thrift list as large as the list's declared
//! length, so a 100-byte footer declaring a billion schema elements asks for
//! hundreds of gigabytes. This walk of the Thrift compact protocol checks that
//! every declared list, set, map and binary length fits in the bytes left, and
//! bounds nesting, so that reservations stay proportional to the footer's size.

const MAX_DEPTH: u32 = 64;

struct Walk<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Walk<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or("footer ends inside a value")?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("footer varint too long".into())
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        let left = (self.data.len() - self.pos) as u64;
        if n > left {
            return Err(format!("footer declares {n} bytes with {left} left"));
        }
        self.pos += n as usize;
        Ok(())
    }

    fn count(&mut self, n: u64) -> Result<u64, String> {
        let left = (self.data.len() - self.pos) as u64;
        if n > left {
            return Err(format!(
                "footer declares {n} elements with {left} bytes left"
            ));
        }
        Ok(n)
    }

    fn value(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("footer nested too deeply".into());
        }
        match kind {
            1 | 2 => Ok(()),
            3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let head = self.byte()?;
                let mut n = u64::from(head >> 4);
                if n == 15 {
                    n = self.varint()?;
                }
                let n = self.count(n)?;
                for _ in 0..n {
                    // Booleans in lists take one byte each.
                    let elem = head & 0x0f;
                    if elem == 1 || elem == 2 {
                        self.skip(1)?;
                    } else {
                        self.value(elem, depth + 1)?;
                    }
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                let n = self.count(n)?;
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        self.value(kv >> 4, depth + 1)?;
                        self.value(kv & 0x0f, depth + 1)?;
                    }
                }
                Ok(())
            }
            12 => self.structure(depth + 1),
            other => Err(format!("footer has unknown Thrift type {other}")),
        }
    }

    fn structure(&mut self, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("footer nested too deeply".into());
        }
        loop {
            let head = self.byte()?;
            if head == 0 {
                return Ok(());
            }
            if head >> 4 == 0 {
                self.varint()?; // explicit field id
            }
            self.value(head & 0x0f, depth)?;
        }
    }
}

/// Checks the footer of a whole Parquet file held in `data`.
pub fn check(data: &[u8]) -> Result<(), String> {
    let n = data.len();
    if n < 12 || data.get(n - 4..) != Some(b"PAR1") {
        return Err("no Parquet footer (file truncated?)".into());
    }
    let len_bytes: [u8; 4] = data
        .get(n - 8..n - 4)
        .and_then(|s| s.try_into().ok())
        .ok_or("no footer length")?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    if len > n - 8 {
        return Err(format!("footer length {len} is larger than the file"));
    }
    let footer = data.get(n - 8 - len..n - 8).ok_or("footer out of range")?;
    Walk {
        data: footer,
        pos: 0,
    }
    .structure(0)
}
