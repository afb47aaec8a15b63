//! `disk_dump_header`: the first block of a kdump-compressed file, in the dumped machine's byte order and
//! word size, and the detection of both (as libkdumpfile does it).

use serde::Serialize;

use super::error::{read_structure, KInvariant, KdumpError};
use crate::readat::ReadAt;

/// Byte order of the dumped machine (every multi-byte field of the file uses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ByteOrder {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl ByteOrder {
    /// Reads a u16 at `at` of `bytes` (caller guarantees the range).
    pub fn u16(self, bytes: &[u8], at: usize) -> u16 {
        let b = [bytes[at], bytes[at + 1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        }
    }

    /// Reads a u32 at `at` of `bytes` (caller guarantees the range).
    pub fn u32(self, bytes: &[u8], at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[at..at + 4]);
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }

    /// Reads an i32 at `at` of `bytes`.
    pub fn i32(self, bytes: &[u8], at: usize) -> i32 {
        self.u32(bytes, at) as i32
    }

    /// Reads a u64 at `at` of `bytes` (caller guarantees the range).
    pub fn u64(self, bytes: &[u8], at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        match self {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
        }
    }

    /// Reads an i64 at `at` of `bytes`.
    pub fn i64(self, bytes: &[u8], at: usize) -> i64 {
        self.u64(bytes, at) as i64
    }

    /// Writes `value` as a u32 at `at` of `bytes` (caller guarantees the range).
    pub fn put_u32(self, bytes: &mut [u8], at: usize, value: u32) {
        let b = match self {
            ByteOrder::Little => value.to_le_bytes(),
            ByteOrder::Big => value.to_be_bytes(),
        };
        bytes[at..at + 4].copy_from_slice(&b);
    }

    /// Writes `value` as a u64 at `at` of `bytes` (caller guarantees the range).
    pub fn put_u64(self, bytes: &mut [u8], at: usize, value: u64) {
        let b = match self {
            ByteOrder::Little => value.to_le_bytes(),
            ByteOrder::Big => value.to_be_bytes(),
        };
        bytes[at..at + 8].copy_from_slice(&b);
    }

    /// Lower-case name ("little", "big").
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }
}

/// Word size (`sizeof(long)`) of the dumped machine: it decides the header and sub-header layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Class {
    /// 32-bit `long` (452-byte header).
    #[serde(rename = "32")]
    Bits32,
    /// 64-bit `long` (464-byte header).
    #[serde(rename = "64")]
    Bits64,
}

impl Class {
    /// 32 or 64.
    pub fn bits(self) -> u32 {
        match self {
            Class::Bits32 => 32,
            Class::Bits64 => 64,
        }
    }
}

/// Signature of a KDUMP dump written by makedumpfile and QEMU.
pub const SIGNATURE_KDUMP: &[u8; 8] = b"KDUMP   ";
/// Signature of the older diskdump format.
pub const SIGNATURE_DISKDUMP: &[u8; 8] = b"DISKDUMP";
/// Smallest block size libkdumpfile accepts.
pub const MIN_BLOCK_SIZE: u32 = 4096;
/// Largest block size libkdumpfile accepts.
pub const MAX_BLOCK_SIZE: u32 = 262144;
/// Highest header version known.
pub const MAX_HEADER_VERSION: i32 = 6;
/// Length of one `new_utsname` field.
pub const UTS_FIELD_LEN: usize = 65;

/// Which signature the file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// `"KDUMP   "` (makedumpfile, QEMU).
    Kdump,
    /// `"DISKDUMP"` (legacy diskdump).
    Diskdump,
}

/// `struct new_utsname` copied from the dumped kernel (QEMU fills only `machine`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Utsname {
    /// `sysname` ("Linux").
    pub sysname: String,
    /// `nodename` (host name).
    pub nodename: String,
    /// `release` (kernel release).
    pub release: String,
    /// `version` (kernel build version).
    pub version: String,
    /// `machine` (architecture: "x86_64"; QEMU ≥ 8.0 writes "Unknown").
    pub machine: String,
    /// `domainname`.
    pub domainname: String,
}

/// Field offsets of one header layout.
struct HeaderLayout {
    timestamp: usize,
    status: usize,
    size: usize,
}

const LAYOUT_32: HeaderLayout = HeaderLayout {
    timestamp: 404,
    status: 412,
    size: 452,
};
const LAYOUT_64: HeaderLayout = HeaderLayout {
    timestamp: 408,
    status: 424,
    size: 464,
};

impl Class {
    fn layout(self) -> &'static HeaderLayout {
        match self {
            Class::Bits32 => &LAYOUT_32,
            Class::Bits64 => &LAYOUT_64,
        }
    }
}

/// `struct disk_dump_header`, decoded. Every field as the file holds it (sign as in the C struct).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskDumpHeader {
    /// `signature[8]`: `"KDUMP   "` or `"DISKDUMP"`.
    pub signature: Signature,
    /// `header_version`: 0–6 (writers use 6); decides which sub-header fields exist.
    pub header_version: i32,
    /// `utsname`: the dumped kernel's uname.
    pub utsname: Utsname,
    /// `timestamp.tv_sec` (QEMU writes 0).
    pub timestamp_sec: i64,
    /// `timestamp.tv_usec`.
    pub timestamp_usec: i64,
    /// `status`: compression bit (ZLIB 0x1, LZO 0x2, SNAPPY 0x4, ZSTD 0x20), INCOMPLETE 0x8,
    /// EXCLUDED_VMEMMAP 0x10.
    pub status: u32,
    /// `block_size`: the page size, in bytes.
    pub block_size: i32,
    /// `sub_hdr_size`: blocks taken by the sub-header and the notes.
    pub sub_hdr_size: i32,
    /// `bitmap_blocks`: blocks taken by both bitmaps together.
    pub bitmap_blocks: u32,
    /// `max_mapnr`: one past the highest pfn, truncated to 32 bits (v6 has the full value in the sub-header).
    pub max_mapnr: u32,
    /// `total_ram_blocks` (unused, 0).
    pub total_ram_blocks: u32,
    /// `device_blocks` (unused, 0).
    pub device_blocks: u32,
    /// `written_blocks` (unused, 0).
    pub written_blocks: u32,
    /// `current_cpu` (unused, 0).
    pub current_cpu: u32,
    /// `nr_cpus`: CPUs of the dumped machine.
    pub nr_cpus: i32,
    /// Word size the header was decoded with.
    pub class: Class,
    /// Byte order the header was decoded with.
    pub byte_order: ByteOrder,
}

impl DiskDumpHeader {
    /// Size of the header in bytes for its class (452 or 464).
    pub fn size(&self) -> usize {
        self.class.layout().size
    }

    /// The compression bits of `status`.
    pub fn compression_bits(&self) -> u32 {
        self.status & crate::compress::flags::COMPRESSION_MASK
    }
}

/// libkdumpfile's acceptance test for a layout.
fn libkdumpfile_accepts(block_size: u32, bitmap_blocks: u32, max_mapnr: u32) -> bool {
    (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size)
        && 8 * bitmap_blocks as u64 * block_size as u64 >= max_mapnr as u64
}

/// How well a decoded header fits what writers produce: one point per plausible field.
fn plausibility(h: &DiskDumpHeader) -> u32 {
    let block_size = h.block_size as u32;
    [
        block_size.is_power_of_two(),
        h.bitmap_blocks as u64 == expected_bitmap_blocks(h.max_mapnr as u64, block_size as u64),
        (0..=MAX_HEADER_VERSION).contains(&h.header_version),
        h.header_version < 1 || h.sub_hdr_size > 0,
        h.nr_cpus > 0,
        h.total_ram_blocks == 0 && h.device_blocks == 0 && h.written_blocks == 0,
    ]
    .iter()
    .filter(|&&ok| ok)
    .count() as u32
}

/// `2·ceil(ceil(max_mapnr/8)/block_size)`: the bitmap blocks a writer emits for `max_mapnr` pfns.
pub fn expected_bitmap_blocks(max_mapnr: u64, block_size: u64) -> u64 {
    if block_size == 0 {
        return 0;
    }
    2 * max_mapnr.div_ceil(8).div_ceil(block_size)
}

fn uts_field(bytes: &[u8], index: usize) -> String {
    let field = &bytes[12 + index * UTS_FIELD_LEN..12 + (index + 1) * UTS_FIELD_LEN];
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn decode(bytes: &[u8], class: Class, order: ByteOrder, signature: Signature) -> DiskDumpHeader {
    let layout = class.layout();
    let (timestamp_sec, timestamp_usec) = match class {
        Class::Bits32 => (
            order.i32(bytes, layout.timestamp) as i64,
            order.i32(bytes, layout.timestamp + 4) as i64,
        ),
        Class::Bits64 => (
            order.i64(bytes, layout.timestamp),
            order.i64(bytes, layout.timestamp + 8),
        ),
    };
    let field = |i: usize| order.u32(bytes, layout.status + 4 * i);
    DiskDumpHeader {
        signature,
        header_version: order.i32(bytes, 8),
        utsname: Utsname {
            sysname: uts_field(bytes, 0),
            nodename: uts_field(bytes, 1),
            release: uts_field(bytes, 2),
            version: uts_field(bytes, 3),
            machine: uts_field(bytes, 4),
            domainname: uts_field(bytes, 5),
        },
        timestamp_sec,
        timestamp_usec,
        status: field(0),
        block_size: field(1) as i32,
        sub_hdr_size: field(2) as i32,
        bitmap_blocks: field(3),
        max_mapnr: field(4),
        total_ram_blocks: field(5),
        device_blocks: field(6),
        written_blocks: field(7),
        current_cpu: field(8),
        nr_cpus: field(9) as i32,
        class,
        byte_order: order,
    }
}

/// Reads and decodes the header at offset 0.
///
/// The layout is detected like libkdumpfile: 32-bit little, 32-bit big, 64-bit little, 64-bit big, taking
/// `block_size`, `bitmap_blocks` and `max_mapnr` at that layout's offsets and accepting a block size in
/// [4096, 262144] whose bitmaps cover `max_mapnr`. libkdumpfile takes the first layout that passes; a 64-bit
/// dump whose `timestamp.tv_usec` happens to look like a block size would then be misread as 32-bit, so
/// among the layouts that pass we take the most plausible one (power-of-two block size, `bitmap_blocks` as
/// a writer computes it, known version, sub-header blocks present, CPUs counted, unused fields zero),
/// libkdumpfile's order breaking ties.
pub fn read_header<R: ReadAt + ?Sized>(reader: &R) -> Result<DiskDumpHeader, KdumpError> {
    let mut bytes = [0u8; 464];
    let available = reader
        .size()
        .map_err(|source| KdumpError::Io { offset: 0, source })?;
    if available < 8 {
        return Err(KdumpError::invalid(
            KInvariant::K1,
            Some(0),
            None,
            format!("the file is {available} bytes long, too short for a signature"),
        ));
    }
    read_structure(reader, 0, &mut bytes[..8], KInvariant::K1, "signature")?;
    let signature = if &bytes[..8] == SIGNATURE_KDUMP {
        Signature::Kdump
    } else if &bytes[..8] == SIGNATURE_DISKDUMP {
        Signature::Diskdump
    } else {
        return Err(KdumpError::invalid(
            KInvariant::K1,
            Some(0),
            None,
            format!(
                "signature is \"{}\", expected \"KDUMP   \" or \"DISKDUMP\"",
                bytes[..8].escape_ascii()
            ),
        ));
    };
    let len = available.min(464) as usize;
    read_structure(
        reader,
        0,
        &mut bytes[..len],
        KInvariant::K2,
        "disk_dump_header",
    )?;
    let candidates = [
        (Class::Bits32, ByteOrder::Little),
        (Class::Bits32, ByteOrder::Big),
        (Class::Bits64, ByteOrder::Little),
        (Class::Bits64, ByteOrder::Big),
    ];
    let mut accepted = Vec::new();
    for (class, order) in candidates {
        let layout = class.layout();
        if len < layout.size {
            continue;
        }
        let block_size = order.u32(&bytes, layout.status + 4);
        let bitmap_blocks = order.u32(&bytes, layout.status + 12);
        let max_mapnr = order.u32(&bytes, layout.status + 16);
        if libkdumpfile_accepts(block_size, bitmap_blocks, max_mapnr) {
            let header = decode(&bytes, class, order, signature);
            accepted.push((plausibility(&header), header));
        }
    }
    // max_by_key keeps the last of equals: search in reverse so libkdumpfile's first choice wins ties.
    let chosen = accepted.into_iter().rev().max_by_key(|(score, _)| *score);
    match chosen {
        Some((_, header)) => Ok(header),
        None if len < LAYOUT_32.size => Err(KdumpError::invalid(
            KInvariant::K12,
            Some(0),
            None,
            format!("the file is {available} bytes long, too short for a disk_dump_header"),
        )),
        None => Err(KdumpError::invalid(
            KInvariant::K2,
            Some(0),
            None,
            "no layout (32/64-bit, little/big-endian) gives a block_size in [4096, 262144] whose \
             bitmaps cover max_mapnr",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit header as writers produce it: every field [`plausibility`] looks at is plausible.
    fn plausible_header() -> DiskDumpHeader {
        let mut header = decode(
            &[0u8; 464],
            Class::Bits64,
            ByteOrder::Little,
            Signature::Kdump,
        );
        header.block_size = 4096;
        header.max_mapnr = 100;
        header.bitmap_blocks = expected_bitmap_blocks(100, 4096) as u32;
        header.header_version = 6;
        header.sub_hdr_size = 1;
        header.nr_cpus = 1;
        header
    }

    /// One point per plausible field: each unused block count (`total_ram_blocks`, `device_blocks`,
    /// `written_blocks`) that is not 0 costs the point they share, alone or together (campaign 6: `||`
    /// for the first `&&` gave it for a non-zero `total_ram_blocks`); a version from 1 on without a
    /// sub-header costs one (campaign 7: `< 1` → `<= 1`).
    #[test]
    fn each_implausible_field_costs_its_point() {
        assert_eq!(plausibility(&plausible_header()), 6);
        let unused: [fn(&mut DiskDumpHeader) -> &mut u32; 3] = [
            |h| &mut h.total_ram_blocks,
            |h| &mut h.device_blocks,
            |h| &mut h.written_blocks,
        ];
        for (i, field) in unused.iter().enumerate() {
            let mut header = plausible_header();
            *field(&mut header) = 1;
            assert_eq!(plausibility(&header), 5, "field {i}");
        }
        // a sub-header from version 1: version 0 needs none, version 1 without one loses the point
        let mut header = plausible_header();
        (header.header_version, header.sub_hdr_size) = (0, 0);
        assert_eq!(plausibility(&header), 6, "version 0 without a sub-header");
        header.header_version = 1;
        assert_eq!(plausibility(&header), 5, "version 1 without a sub-header");
        let mut header = plausible_header();
        header.nr_cpus = 0;
        header.block_size = 4095;
        assert_eq!(
            plausibility(&header),
            4,
            "a block size not a power of two, no CPUs"
        );
    }
}
