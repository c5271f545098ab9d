//! A lenient, bounded zip reader that sees archives the way model loaders do.
//!
//! PyTorch reads checkpoints with miniz, which trusts the central directory,
//! ignores CRCs and most general-purpose flags, and never compares a local
//! header with its central record. Strict readers (Python's `zipfile`, the
//! `zip` crate) reject exactly those files, so a scanner built on them is blind
//! where an attacker wants it. This reader locates the central directory the
//! same way (backwards search for the end record, ZIP64 locator and record,
//! ZIP64 extra fields), reads every central entry and its local header, and
//! records each irregularity as a [`Problem`] or as a field the caller can
//! compare, instead of refusing the file. Only the end record and central
//! directory are read eagerly; member data is touched only when asked for.

use crate::compress::{self, Bounds, Codec, Inflated, Outcome};
use std::borrow::Cow;
use std::ops::Range;

const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const ZIP64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const ZIP64_EOCD_SIG: &[u8; 4] = b"PK\x06\x06";
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_LEN: usize = 56;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// The end record sits within its own size plus the longest comment of the end.
const EOCD_SEARCH: usize = EOCD_LEN + u16::MAX as usize;

/// General-purpose flag bits every ordinary writer may set: compression
/// options (1, 2), data descriptor (3) and UTF-8 names (11).
pub const ORDINARY_FLAGS: u16 = 0b0000_1000_0000_1110;
/// Flag bit 0: traditional PKWARE encryption.
pub const FLAG_ENCRYPTED: u16 = 1;
/// Flag bit 1 for LZMA: the stream ends with an end marker.
const FLAG_LZMA_EOS: u16 = 1 << 1;

/// A zip that could be opened: its central directory and what is odd about it.
#[derive(Debug)]
pub struct Zip<'a> {
    data: &'a [u8],
    pub entries: Vec<Entry>,
    /// Irregularities in the end records and central directory.
    pub problems: Vec<Problem>,
    /// Offset of the end-of-central-directory record.
    pub eocd_offset: u64,
    /// Where the central directory was found, and its length.
    pub central_directory: Range<u64>,
    /// Bytes the archive is shifted by: data prepended to a zip whose offsets
    /// count from its own start (what Python's `zipfile` corrects for).
    pub shift: u64,
    /// Entries the end record declares; may disagree with what is there.
    pub declared_entries: u64,
    /// True when more entries exist than `max_members` allowed to read.
    pub members_truncated: bool,
}

/// Something irregular in the archive structure, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub offset: u64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The structure is broken: part of the archive could not be read.
    Malformed,
    /// The structure reads but is laid out in a way no ordinary writer
    /// produces (counts that disagree, records pointing at the wrong place).
    Layout,
}

/// One central-directory entry and its local header.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position in the central directory.
    pub index: usize,
    /// Name from the central directory (what loaders look members up by),
    /// decoded as UTF-8 with replacement characters.
    pub name: String,
    pub raw_name: Vec<u8>,
    /// Offset of the central-directory record.
    pub central_offset: u64,
    pub version_made_by: u16,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub external_attrs: u32,
    /// Where the local header is, after applying [`Zip::shift`].
    pub local_offset: u64,
    /// The local header, or why it could not be read.
    pub local: Result<LocalHeader, String>,
}

/// The fields of a local header that can disagree with the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHeader {
    pub raw_name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    /// Where the member's data starts: after the LOCAL name and extra field,
    /// whose lengths may differ from the central record's.
    pub data_offset: u64,
}

impl Entry {
    /// A directory entry: the name ends with a separator.
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/') || self.name.ends_with('\\')
    }

    /// Unix mode bits from the external attributes, when the writer set them.
    pub fn unix_mode(&self) -> Option<u32> {
        let mode = self.external_attrs >> 16;
        (mode != 0).then_some(mode)
    }

    /// The entry is a symbolic link (`S_IFLNK` in its Unix mode), which
    /// extractors such as Info-ZIP recreate as a link.
    pub fn is_symlink(&self) -> bool {
        self.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000)
    }

    /// Byte range of the member's stored (compressed) data in the archive.
    pub fn data_range(&self) -> Result<Range<u64>, String> {
        let local = self.local.as_ref().map_err(Clone::clone)?;
        let end = local
            .data_offset
            .checked_add(self.compressed_size)
            .ok_or("compressed size overflows")?;
        Ok(local.data_offset..end)
    }

    /// Bytes this member occupies from its local header to the end of its data.
    pub fn span(&self) -> Option<Range<u64>> {
        let data = self.data_range().ok()?;
        Some(self.local_offset..data.end)
    }
}

/// A member's content as read: decompressed (or borrowed when stored),
/// with its CRC-32 and how decompression ended.
#[derive(Debug)]
pub struct Content<'a> {
    pub data: Cow<'a, [u8]>,
    pub outcome: Outcome,
    /// CRC-32 of `data`.
    pub crc32: u32,
    /// Compressed bytes the decoder consumed.
    pub consumed: u64,
}

/// Why a member's content could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The compression method is not one this reader decodes.
    UnsupportedMethod(u16),
    /// The local header or data lies outside the file.
    OutOfBounds(String),
}

/// Compression methods this reader decodes.
pub fn method_name(method: u16) -> &'static str {
    match method {
        0 => "stored",
        1 => "shrunk",
        6 => "imploded",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        98 => "ppmd",
        99 => "aes-encrypted",
        _ => "unknown",
    }
}

impl<'a> Zip<'a> {
    /// The archive bytes this reader was opened on.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The member's stored bytes, without decompressing.
    pub fn raw(&self, entry: &Entry) -> Result<&'a [u8], ReadError> {
        let range = entry.data_range().map_err(ReadError::OutOfBounds)?;
        slice(self.data, range.clone()).ok_or_else(|| {
            ReadError::OutOfBounds(format!(
                "data {}..{} runs past the end of the {}-byte archive",
                range.start,
                range.end,
                self.data.len()
            ))
        })
    }

    /// Reads and decompresses one member within `bounds`. Stored members are
    /// borrowed, not copied. CRC and sizes are computed, never enforced: the
    /// caller compares them with the entry.
    pub fn read(&self, entry: &Entry, bounds: Bounds) -> Result<Content<'a>, ReadError> {
        let raw = self.raw(entry)?;
        let codec = match entry.method {
            0 => {
                return Ok(Content {
                    crc32: crc32fast::hash(raw),
                    consumed: raw.len() as u64,
                    data: Cow::Borrowed(raw),
                    outcome: Outcome::Complete,
                })
            }
            8 => Codec::Deflate,
            12 => Codec::Bzip2,
            14 => Codec::ZipLzma {
                end_marker: entry.flags & FLAG_LZMA_EOS != 0,
                size: entry.uncompressed_size,
            },
            m => return Err(ReadError::UnsupportedMethod(m)),
        };
        let Inflated {
            data,
            consumed,
            outcome,
        } = compress::decompress(codec, raw, bounds);
        Ok(Content {
            crc32: crc32fast::hash(&data),
            data: Cow::Owned(data),
            outcome,
            consumed,
        })
    }
}

/// Opens `data` as a zip. Fails only when no usable central directory can be
/// found; everything else is recorded in [`Zip::problems`] or on the entries.
/// At most `max_members` entries are read.
pub fn parse(data: &[u8], max_members: usize) -> Result<Zip<'_>, Problem> {
    let (eocd_offset, mut problems) = find_eocd(data)?;
    let eocd = slice(
        data,
        eocd_offset as u64..eocd_offset as u64 + EOCD_LEN as u64,
    )
    .ok_or_else(|| malformed(eocd_offset as u64, "end record is truncated"))?;
    let mut declared_entries = u64::from(le16(eocd, 10));
    let mut cd_size = u64::from(le32(eocd, 12));
    let mut cd_offset = u64::from(le32(eocd, 16));
    // Where the central directory must end if offsets count from the file start.
    let mut cd_end_expected = eocd_offset as u64;

    if let Some(loc) = eocd_offset
        .checked_sub(ZIP64_LOCATOR_LEN)
        .and_then(|o| data.get(o..eocd_offset))
        .filter(|loc| loc.starts_with(ZIP64_LOCATOR_SIG))
    {
        let locator_offset = (eocd_offset - ZIP64_LOCATOR_LEN) as u64;
        let record_offset = le64(loc, 8);
        match slice(
            data,
            record_offset..record_offset.saturating_add(ZIP64_EOCD_LEN as u64),
        )
        .filter(|r| r.starts_with(ZIP64_EOCD_SIG))
        {
            Some(rec) => {
                declared_entries = le64(rec, 32);
                cd_size = le64(rec, 40);
                cd_offset = le64(rec, 48);
                cd_end_expected = record_offset;
            }
            None => {
                // Loaders fail here; so do we, unless the 32-bit fields suffice.
                problems.push(malformed(
                    locator_offset,
                    format!(
                        "ZIP64 locator points at {record_offset}, where no ZIP64 end record is"
                    ),
                ));
                cd_end_expected = locator_offset;
            }
        }
    }

    // Data prepended to an archive whose offsets count from its own start
    // shifts everything by the gap between where the directory should end and
    // where it is declared to end.
    let declared_end = cd_offset.saturating_add(cd_size);
    let mut shift = 0u64;
    if !at_sig(data, cd_offset, CENTRAL_SIG) && declared_entries > 0 {
        let delta = cd_end_expected.saturating_sub(declared_end);
        if delta > 0 && at_sig(data, cd_offset.saturating_add(delta), CENTRAL_SIG) {
            shift = delta;
            problems.push(Problem {
                kind: ProblemKind::Layout,
                offset: 0,
                message: format!(
                    "archive offsets are shifted by {delta} bytes: data was prepended to the zip"
                ),
            });
        } else {
            return Err(malformed(
                cd_offset,
                format!("no central directory at the declared offset {cd_offset}"),
            ));
        }
    }
    let cd_start = cd_offset.saturating_add(shift);
    let cd_end = cd_start.saturating_add(cd_size);
    if cd_end > data.len() as u64 {
        problems.push(malformed(
            cd_start,
            format!(
                "central directory ({cd_size} bytes at {cd_start}) runs past the end of the {}-byte file",
                data.len()
            ),
        ));
    }

    let mut zip = Zip {
        data,
        entries: Vec::new(),
        problems,
        eocd_offset: eocd_offset as u64,
        central_directory: cd_start..cd_end.min(data.len() as u64),
        shift,
        declared_entries,
        members_truncated: false,
    };
    read_central_directory(&mut zip, cd_start, cd_end, max_members);
    Ok(zip)
}

/// Finds the end record by a bounded backwards search, as loaders do: the
/// last signature whose record fits in the file wins.
fn find_eocd(data: &[u8]) -> Result<(usize, Vec<Problem>), Problem> {
    if data.len() < EOCD_LEN {
        return Err(malformed(
            0,
            format!("{} bytes is too short for a zip", data.len()),
        ));
    }
    let lowest = data.len().saturating_sub(EOCD_SEARCH + EOCD_LEN);
    let mut problems = Vec::new();
    let mut pos = data.len() - EOCD_LEN;
    loop {
        if data.get(pos..pos + 4) == Some(EOCD_SIG.as_slice()) {
            let comment_len = usize::from(le16(data, pos + 20));
            let end = pos + EOCD_LEN + comment_len;
            if end != data.len() {
                problems.push(Problem {
                    kind: ProblemKind::Layout,
                    offset: pos as u64,
                    message: format!(
                        "end record's comment ends at {end}, but the file is {} bytes",
                        data.len()
                    ),
                });
            }
            return Ok((pos, problems));
        }
        if pos == lowest {
            return Err(malformed(
                lowest as u64,
                "no end-of-central-directory record: truncated or not a zip",
            ));
        }
        pos -= 1;
    }
}

fn read_central_directory(zip: &mut Zip<'_>, cd_start: u64, cd_end: u64, max_members: usize) {
    let data = zip.data;
    let mut pos = cd_start;
    // Loaders differ: miniz trusts the declared count, Python the byte size.
    // Read by bytes (the superset) and report a disagreement.
    while pos < cd_end {
        if zip.entries.len() >= max_members {
            zip.members_truncated = true;
            return;
        }
        let Some(rec) = slice(data, pos..pos.saturating_add(CENTRAL_LEN as u64)) else {
            zip.problems
                .push(malformed(pos, "central directory is truncated mid-record"));
            return;
        };
        if !rec.starts_with(CENTRAL_SIG) {
            zip.problems.push(malformed(
                pos,
                "central directory record has a bad signature",
            ));
            return;
        }
        let name_len = u64::from(le16(rec, 28));
        let extra_len = u64::from(le16(rec, 30));
        let comment_len = u64::from(le16(rec, 32));
        let name_start = pos + CENTRAL_LEN as u64;
        let extra_start = name_start + name_len;
        let next = extra_start + extra_len + comment_len;
        let (Some(raw_name), Some(extra)) = (
            slice(data, name_start..extra_start),
            slice(data, extra_start..extra_start + extra_len),
        ) else {
            zip.problems.push(malformed(
                pos,
                "central directory record's name or extra field runs past the end of the file",
            ));
            return;
        };
        let mut entry = Entry {
            index: zip.entries.len(),
            name: String::from_utf8_lossy(raw_name).into_owned(),
            raw_name: raw_name.to_vec(),
            central_offset: pos,
            version_made_by: le16(rec, 4),
            flags: le16(rec, 8),
            method: le16(rec, 10),
            crc32: le32(rec, 16),
            compressed_size: u64::from(le32(rec, 20)),
            uncompressed_size: u64::from(le32(rec, 24)),
            external_attrs: le32(rec, 38),
            local_offset: u64::from(le32(rec, 42)),
            local: Err(String::new()),
        };
        if let Err(msg) = apply_zip64_extra(&mut entry, extra) {
            zip.problems
                .push(malformed(pos, format!("{}: {msg}", entry.name)));
        }
        entry.local_offset = entry.local_offset.saturating_add(zip.shift);
        entry.local = read_local_header(data, entry.local_offset);
        zip.entries.push(entry);
        pos = next;
    }
    if pos > cd_end {
        zip.problems.push(malformed(
            cd_end,
            "last central directory record runs past the directory's declared size",
        ));
    }
    let found = zip.entries.len() as u64;
    if found != zip.declared_entries && !zip.members_truncated {
        zip.problems.push(Problem {
            kind: ProblemKind::Layout,
            offset: zip.eocd_offset,
            message: format!(
                "end record declares {} entries, the central directory holds {found}",
                zip.declared_entries
            ),
        });
    }
}

/// Replaces saturated 32-bit fields with their ZIP64 extra-field values, in
/// the order the spec gives: uncompressed size, compressed size, offset.
fn apply_zip64_extra(entry: &mut Entry, mut extra: &[u8]) -> Result<(), String> {
    let needs_usize = entry.uncompressed_size == u64::from(u32::MAX);
    let needs_csize = entry.compressed_size == u64::from(u32::MAX);
    let needs_offset = entry.local_offset == u64::from(u32::MAX);
    if !(needs_usize || needs_csize || needs_offset) {
        return Ok(());
    }
    while let Some((head, rest)) = extra.split_first_chunk::<4>() {
        let id = le16(head, 0);
        let len = usize::from(le16(head, 2));
        let body = rest.get(..len).unwrap_or(rest);
        if id == 0x0001 {
            let mut fields = body.chunks_exact(8).map(|c| le64(c, 0));
            for (needed, slot) in [
                (needs_usize, &mut entry.uncompressed_size),
                (needs_csize, &mut entry.compressed_size),
                (needs_offset, &mut entry.local_offset),
            ] {
                if needed {
                    *slot = fields
                        .next()
                        .ok_or("ZIP64 extra field is shorter than the fields it must hold")?;
                }
            }
            return Ok(());
        }
        extra = rest.get(len..).unwrap_or_default();
    }
    Err("sizes or offset are saturated but there is no ZIP64 extra field".into())
}

fn read_local_header(data: &[u8], offset: u64) -> Result<LocalHeader, String> {
    let rec = slice(data, offset..offset.saturating_add(LOCAL_LEN as u64))
        .ok_or_else(|| format!("local header at {offset} lies past the end of the file"))?;
    if !rec.starts_with(LOCAL_SIG) {
        return Err(format!("no local header signature at {offset}"));
    }
    let name_len = u64::from(le16(rec, 26));
    let extra_len = u64::from(le16(rec, 28));
    let name_start = offset + LOCAL_LEN as u64;
    let raw_name = slice(data, name_start..name_start + name_len).ok_or_else(|| {
        format!("local header name at {name_start} runs past the end of the file")
    })?;
    Ok(LocalHeader {
        raw_name: raw_name.to_vec(),
        flags: le16(rec, 6),
        method: le16(rec, 8),
        data_offset: name_start + name_len + extra_len,
    })
}

fn malformed(offset: impl TryInto<u64>, message: impl Into<String>) -> Problem {
    Problem {
        kind: ProblemKind::Malformed,
        offset: offset.try_into().unwrap_or(u64::MAX),
        message: message.into(),
    }
}

fn slice(data: &[u8], range: Range<u64>) -> Option<&[u8]> {
    let start = usize::try_from(range.start).ok()?;
    let end = usize::try_from(range.end).ok()?;
    data.get(start..end)
}

fn at_sig(data: &[u8], offset: u64, sig: &[u8; 4]) -> bool {
    slice(data, offset..offset.saturating_add(4)) == Some(sig.as_slice())
}

/// Little-endian readers over a record whose length the caller has checked;
/// a short record reads as zeros rather than panicking.
fn le16(b: &[u8], at: usize) -> u16 {
    let mut v = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        v.copy_from_slice(s);
    }
    u16::from_le_bytes(v)
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        v.copy_from_slice(s);
    }
    u32::from_le_bytes(v)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        v.copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: Bounds = Bounds {
        max_output: 1 << 20,
        max_ratio: 200,
    };

    /// A stored-only zip of `(name, data)` members.
    fn stored_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in members {
            let offset = out.len() as u32;
            let crc = crc32fast::hash(data);
            let mut fixed = Vec::new();
            fixed.extend_from_slice(&0u16.to_le_bytes()); // flags
            fixed.extend_from_slice(&0u16.to_le_bytes()); // method
            fixed.extend_from_slice(&0u32.to_le_bytes()); // time, date
            fixed.extend_from_slice(&crc.to_le_bytes());
            fixed.extend_from_slice(&(data.len() as u32).to_le_bytes());
            fixed.extend_from_slice(&(data.len() as u32).to_le_bytes());
            fixed.extend_from_slice(&(name.len() as u16).to_le_bytes());
            fixed.extend_from_slice(&0u16.to_le_bytes()); // extra
            out.extend_from_slice(LOCAL_SIG);
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&fixed);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            central.extend_from_slice(CENTRAL_SIG);
            central.extend_from_slice(&0x031eu16.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&fixed);
            central.extend_from_slice(&[0u8; 6]); // comment, disk, internal attrs
            central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(EOCD_SIG);
        out.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_members() {
        let z = stored_zip(&[("a/data.pkl", b"\x80\x02N."), ("a/version", b"3\n")]);
        let zip = parse(&z, 100).unwrap();
        assert!(zip.problems.is_empty(), "{:?}", zip.problems);
        let names: Vec<_> = zip.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a/data.pkl", "a/version"]);
        let c = zip.read(&zip.entries[0], BOUNDS).unwrap();
        assert_eq!(&*c.data, b"\x80\x02N.");
        assert_eq!(c.crc32, zip.entries[0].crc32);
        assert!(!zip.entries[0].is_symlink());
    }

    #[test]
    fn every_truncation_fails_or_records_a_problem() {
        let z = stored_zip(&[("x.npy", b"0123456789"), ("y", b"abc")]);
        for cut in 0..z.len() {
            match parse(&z[..cut], 100) {
                Err(p) => assert_eq!(p.kind, ProblemKind::Malformed),
                Ok(zip) => assert!(
                    !zip.problems.is_empty() || zip.entries.iter().any(|e| zip.raw(e).is_err()),
                    "cut at {cut} looked intact"
                ),
            }
        }
    }

    #[test]
    fn finds_the_end_record_behind_a_comment() {
        let mut z = stored_zip(&[("m", b"x")]);
        let n = z.len();
        z[n - 2..].copy_from_slice(&7u16.to_le_bytes());
        z.extend_from_slice(b"comment");
        let zip = parse(&z, 100).unwrap();
        assert_eq!(zip.entries.len(), 1);
        assert!(zip.problems.is_empty());
    }

    #[test]
    fn caps_members_read() {
        let z = stored_zip(&[("a", b""), ("b", b""), ("c", b"")]);
        let zip = parse(&z, 2).unwrap();
        assert_eq!(zip.entries.len(), 2);
        assert!(zip.members_truncated);
    }

    #[test]
    fn prepended_data_shifts_offsets() {
        let mut z = b"#!/bin/sh\nexit 0\n".to_vec();
        z.extend_from_slice(&stored_zip(&[("m", b"payload")]));
        let zip = parse(&z, 100).unwrap();
        assert_eq!(zip.shift, 17);
        assert!(zip.problems.iter().any(|p| p.kind == ProblemKind::Layout));
        assert_eq!(
            &*zip.read(&zip.entries[0], BOUNDS).unwrap().data,
            b"payload"
        );
    }

    #[test]
    fn huge_declared_size_is_out_of_bounds_not_an_allocation() {
        let mut z = stored_zip(&[("m", b"x")]);
        let cd = z.windows(4).position(|w| w == CENTRAL_SIG).unwrap();
        z[cd + 20..cd + 24].copy_from_slice(&u32::MAX.to_le_bytes());
        z[cd + 24..cd + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        let zip = parse(&z, 100).unwrap();
        // Saturated sizes without a ZIP64 field are a problem, and reading fails cleanly.
        assert!(!zip.problems.is_empty());
        assert!(matches!(
            zip.read(&zip.entries[0], BOUNDS),
            Err(ReadError::OutOfBounds(_))
        ));
    }

    #[test]
    fn unsupported_method_is_reported() {
        let mut z = stored_zip(&[("m", b"x")]);
        let cd = z.windows(4).position(|w| w == CENTRAL_SIG).unwrap();
        z[cd + 10..cd + 12].copy_from_slice(&93u16.to_le_bytes());
        let zip = parse(&z, 100).unwrap();
        assert_eq!(
            zip.read(&zip.entries[0], BOUNDS).unwrap_err(),
            ReadError::UnsupportedMethod(93)
        );
        assert_eq!(method_name(93), "zstd");
    }
}
