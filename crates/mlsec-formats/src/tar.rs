//! Tar listing over a byte slice: names, kinds, link targets and where each
//! member's data lies, so members are borrowed from the (memory-mapped) file
//! instead of copied. Header parsing, GNU long names and PAX records are the
//! `tar` crate's; this module adds the bounds checks and the shape callers need.

use std::io::Cursor;
use std::ops::Range;

/// What a tar member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// GNU sparse file: its data is a map of holes, not a plain byte run.
    Sparse,
    /// PAX global headers and unknown type flags.
    Other(u8),
}

/// One member of a tar archive.
#[derive(Debug, Clone)]
pub struct Member {
    /// Path as extractors see it (PAX `path` and GNU long names applied),
    /// decoded as UTF-8 with replacement characters.
    pub name: String,
    pub kind: Kind,
    /// Link target of symlinks and hard links.
    pub link: Option<String>,
    /// Offset of the member's header.
    pub header_offset: u64,
    /// Where the member's data lies in the archive (not checked against the
    /// file length: see [`Tar::data`]).
    pub data: Range<u64>,
}

/// A tar archive as far as it could be read.
#[derive(Debug)]
pub struct Tar<'a> {
    bytes: &'a [u8],
    pub members: Vec<Member>,
    /// Why reading stopped early, and at which offset.
    pub error: Option<(u64, String)>,
    /// True when more members exist than `max_members` allowed to read.
    pub members_truncated: bool,
}

impl<'a> Tar<'a> {
    /// The member's data, or why it lies outside the archive.
    pub fn data(&self, member: &Member) -> Result<&'a [u8], String> {
        let (Ok(start), Ok(end)) = (
            usize::try_from(member.data.start),
            usize::try_from(member.data.end),
        ) else {
            return Err("data offset does not fit in memory".into());
        };
        self.bytes.get(start..end).ok_or_else(|| {
            format!(
                "data {start}..{end} runs past the end of the {}-byte archive",
                self.bytes.len()
            )
        })
    }
}

/// Lists the members of `data`, reading at most `max_members` of them.
pub fn parse(data: &[u8], max_members: usize) -> Tar<'_> {
    let mut tar = Tar {
        bytes: data,
        members: Vec::new(),
        error: None,
        members_truncated: false,
    };
    let mut archive = tar::Archive::new(Cursor::new(data));
    let entries = match archive.entries_with_seek() {
        Ok(entries) => entries,
        Err(e) => {
            tar.error = Some((0, e.to_string()));
            return tar;
        }
    };
    let mut next_offset = 0u64;
    for entry in entries {
        if tar.members.len() >= max_members {
            tar.members_truncated = true;
            break;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tar.error = Some((next_offset, e.to_string()));
                break;
            }
        };
        let start = entry.raw_file_position();
        let end = start.saturating_add(entry.size());
        let kind = kind_of(entry.header().entry_type());
        let member = Member {
            name: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            kind,
            link: entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned()),
            header_offset: entry.raw_header_position(),
            data: start..end,
        };
        // The next header follows the data, padded to a 512-byte block.
        next_offset = end.saturating_add(511) & !511;
        if kind == Kind::File && end > data.len() as u64 {
            tar.error = Some((
                member.header_offset,
                format!(
                    "{}: declares {} bytes of data at {start}, past the end of the {}-byte archive",
                    member.name,
                    entry.size(),
                    data.len()
                ),
            ));
            tar.members.push(member);
            break;
        }
        tar.members.push(member);
    }
    tar
}

fn kind_of(t: tar::EntryType) -> Kind {
    use tar::EntryType as T;
    match t {
        T::Regular | T::Continuous => Kind::File,
        T::Directory => Kind::Dir,
        T::Symlink => Kind::Symlink,
        T::Link => Kind::Hardlink,
        T::Char => Kind::CharDevice,
        T::Block => Kind::BlockDevice,
        T::Fifo => Kind::Fifo,
        T::GNUSparse => Kind::Sparse,
        other => Kind::Other(other.as_byte()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ustar header block for `name` of `kind` with `size` bytes of data.
    fn header(name: &str, kind: u8, size: usize, link: &str) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn tar_of(members: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, data, link) in members {
            out.extend(header(name, *kind, data.len(), link));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend([0u8; 1024]);
        out
    }

    #[test]
    fn lists_members_and_borrows_data() {
        let t = tar_of(&[
            ("pickle", b'0', b"\x80\x02N.", ""),
            ("lnk", b'2', b"", "/etc/passwd"),
            ("dev", b'3', b"", ""),
        ]);
        let tar = parse(&t, 100);
        assert!(tar.error.is_none(), "{:?}", tar.error);
        assert_eq!(tar.members.len(), 3);
        assert_eq!(tar.data(&tar.members[0]).unwrap(), b"\x80\x02N.");
        assert_eq!(tar.members[1].kind, Kind::Symlink);
        assert_eq!(tar.members[1].link.as_deref(), Some("/etc/passwd"));
        assert_eq!(tar.members[2].kind, Kind::CharDevice);
    }

    #[test]
    fn huge_declared_size_is_an_error_not_an_allocation() {
        let mut t = header("big", b'0', 0, "");
        t[124..135].copy_from_slice(b"77777777777");
        t[148..156].fill(b' ');
        let sum: u32 = t.iter().map(|b| u32::from(*b)).sum();
        t[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        t.extend([0u8; 1024]);
        let tar = parse(&t, 100);
        assert!(tar.error.is_some());
        assert!(tar.data(&tar.members[0]).is_err());
    }

    #[test]
    fn truncation_is_reported() {
        let t = tar_of(&[("a", b'0', &[7u8; 600], ""), ("b", b'0', b"x", "")]);
        for cut in [100, 700, 1100, 1600] {
            let tar = parse(&t[..cut], 100);
            let bad_data = tar.members.iter().any(|m| tar.data(m).is_err());
            assert!(tar.error.is_some() || bad_data, "cut {cut}");
        }
    }

    #[test]
    fn caps_members() {
        let t = tar_of(&[
            ("a", b'0', b"", ""),
            ("b", b'0', b"", ""),
            ("c", b'0', b"", ""),
        ]);
        let tar = parse(&t, 2);
        assert_eq!(tar.members.len(), 2);
        assert!(tar.members_truncated);
    }
}
