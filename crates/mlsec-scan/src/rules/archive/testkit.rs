//! Builders for archives in tests: valid ones, and the malformed variants the
//! rules exist for (patched headers, lying sizes, hidden data).

use crate::{Ctx, Report, ScanConfig};
use std::io::Write;

/// Scans `data` as a file named `t` with the default configuration.
pub fn scan(data: &[u8]) -> Report {
    scan_with(&ScanConfig::default(), data)
}

pub fn scan_with(config: &ScanConfig, data: &[u8]) -> Report {
    let ctx = Ctx::new(config, "t", None);
    let mut report = Report::default();
    crate::scan_bytes(&ctx, data, &mut report);
    report
}

/// The rule ids of a report's findings, sorted.
pub fn rules(report: &Report) -> Vec<&str> {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    ids.sort_unstable();
    ids
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One zip member and every header field a test may want to falsify.
pub struct EntrySpec {
    pub name: String,
    pub data: Vec<u8>,
    pub deflate: bool,
    /// Method written in both headers instead of the real one.
    pub method: Option<u16>,
    pub local_method: Option<u16>,
    pub flags: u16,
    pub local_flags: Option<u16>,
    pub local_name: Option<String>,
    pub crc: Option<u32>,
    pub central_compressed: Option<u32>,
    pub central_uncompressed: Option<u32>,
    pub external_attrs: u32,
}

#[derive(Default)]
pub struct ZipBuilder {
    entries: Vec<EntrySpec>,
    prefix: Vec<u8>,
    zip64: bool,
}

impl ZipBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stored(self, name: &str, data: &[u8]) -> Self {
        self.entry(name, data, |_| {})
    }

    pub fn deflated(self, name: &str, data: &[u8]) -> Self {
        self.entry(name, data, |e| e.deflate = true)
    }

    pub fn entry(mut self, name: &str, data: &[u8], edit: impl FnOnce(&mut EntrySpec)) -> Self {
        let mut spec = EntrySpec {
            name: name.into(),
            data: data.to_vec(),
            deflate: false,
            method: None,
            local_method: None,
            flags: 0,
            local_flags: None,
            local_name: None,
            crc: None,
            central_compressed: None,
            central_uncompressed: None,
            external_attrs: 0o100644 << 16,
        };
        edit(&mut spec);
        self.entries.push(spec);
        self
    }

    /// Bytes before the first local header, with offsets that account for them.
    pub fn prefix(mut self, bytes: &[u8]) -> Self {
        self.prefix = bytes.to_vec();
        self
    }

    /// Writes ZIP64 end records and extra fields for every entry.
    pub fn zip64(mut self) -> Self {
        self.zip64 = true;
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let mut central = Vec::new();
        for e in &self.entries {
            let offset = out.len() as u64;
            let stored = if e.deflate {
                deflate(&e.data)
            } else {
                e.data.clone()
            };
            let method = e.method.unwrap_or(if e.deflate { 8 } else { 0 });
            let crc = e.crc.unwrap_or_else(|| crc32fast::hash(&e.data));
            let local_name = e.local_name.as_deref().unwrap_or(&e.name);
            let csize = stored.len() as u32;
            let usize_ = e.data.len() as u32;

            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&e.local_flags.unwrap_or(e.flags).to_le_bytes());
            out.extend_from_slice(&e.local_method.unwrap_or(method).to_le_bytes());
            out.extend_from_slice(&[0u8; 4]);
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&csize.to_le_bytes());
            out.extend_from_slice(&usize_.to_le_bytes());
            out.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(local_name.as_bytes());
            out.extend_from_slice(&stored);

            let (c_csize, c_usize, c_offset, extra) = if self.zip64 {
                let mut x = Vec::new();
                x.extend_from_slice(&1u16.to_le_bytes());
                x.extend_from_slice(&24u16.to_le_bytes());
                x.extend_from_slice(
                    &u64::from(e.central_uncompressed.unwrap_or(usize_)).to_le_bytes(),
                );
                x.extend_from_slice(
                    &u64::from(e.central_compressed.unwrap_or(csize)).to_le_bytes(),
                );
                x.extend_from_slice(&offset.to_le_bytes());
                (u32::MAX, u32::MAX, u32::MAX, x)
            } else {
                (
                    e.central_compressed.unwrap_or(csize),
                    e.central_uncompressed.unwrap_or(usize_),
                    offset as u32,
                    Vec::new(),
                )
            };
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&0x031eu16.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&e.flags.to_le_bytes());
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&[0u8; 4]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&c_csize.to_le_bytes());
            central.extend_from_slice(&c_usize.to_le_bytes());
            central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            central.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0u8; 6]);
            central.extend_from_slice(&e.external_attrs.to_le_bytes());
            central.extend_from_slice(&c_offset.to_le_bytes());
            central.extend_from_slice(e.name.as_bytes());
            central.extend_from_slice(&extra);
        }
        let cd_offset = out.len() as u64;
        let count = self.entries.len() as u64;
        out.extend_from_slice(&central);
        if self.zip64 {
            let record = out.len() as u64;
            out.extend_from_slice(b"PK\x06\x06");
            out.extend_from_slice(&44u64.to_le_bytes());
            out.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            out.extend_from_slice(&(central.len() as u64).to_le_bytes());
            out.extend_from_slice(&cd_offset.to_le_bytes());
            out.extend_from_slice(b"PK\x06\x07");
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&record.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0u8; 4]);
        let (n, size, off) = if self.zip64 {
            (u16::MAX, u32::MAX, u32::MAX)
        } else {
            (count as u16, central.len() as u32, cd_offset as u32)
        };
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

/// A ustar archive of `(name, type flag, data, link target)` members.
pub fn tar_of(members: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data, link) in members {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = *kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend(h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend([0u8; 1024]);
    out
}
