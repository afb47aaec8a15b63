//! The model's own encoder of the kdump-compressed structures, written from the byte tables of
//! docs/FORMATS.md §2 and nothing else: `disk_dump_header` (464 bytes on 64-bit, 452 on 32-bit),
//! `kdump_sub_header` (104 bytes on 64-bit; 80 packed; 96 padded) and `page_desc` (24 bytes), in the dumped
//! machine's byte order.
//!
//! This deliberately shares no code with the reader's decoding structs in `crate::kdump`, not even the
//! byte-order type (the model's [`Endian`], not the reader's `kdump::ByteOrder`): the harness compares the
//! two, so a misplaced field must be misplaced in two independent statements of the format to go
//! unnoticed.

use super::Endian;

/// Size of `page_desc` in every ABI.
pub const PAGE_DESC_SIZE: u64 = 24;
/// `KDUMP_SIGNATURE`, 8 bytes.
pub const KDUMP_SIGNATURE: &[u8; 8] = b"KDUMP   ";
/// Size of one `new_utsname` field.
pub const UTS_FIELD: usize = 65;

/// Which C layout of the 32/64-bit structures to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructAbi {
    /// 64-bit `long`: header 464, sub-header 104.
    Lp64,
    /// 32-bit `long`, 64-bit fields 4-byte aligned (i386, and QEMU's `QEMU_PACKED` 32-bit sub-header):
    /// header 452, sub-header 80.
    Ilp32Packed,
    /// 32-bit `long`, 64-bit fields 8-byte aligned (arm, ppc, mips): header 452, sub-header 96.
    Ilp32Padded,
}

impl StructAbi {
    /// `sizeof(struct disk_dump_header)`.
    pub fn header_size(self) -> u64 {
        match self {
            StructAbi::Lp64 => 464,
            _ => 452,
        }
    }

    /// `sizeof(struct kdump_sub_header)`.
    pub fn sub_header_size(self) -> u64 {
        match self {
            StructAbi::Lp64 => 104,
            StructAbi::Ilp32Packed => 80,
            StructAbi::Ilp32Padded => 96,
        }
    }
}

/// A byte buffer with endian-aware positioned stores.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// The bytes.
    pub bytes: Vec<u8>,
    endian: Endian,
}

impl Encoder {
    /// A zeroed buffer of `len` bytes.
    pub fn new(len: usize, endian: Endian) -> Self {
        Encoder {
            bytes: vec![0; len],
            endian,
        }
    }

    /// Stores a 16-bit value at `at`.
    pub fn u16(&mut self, at: usize, value: u16) {
        let b = match self.endian {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        };
        self.bytes[at..at + 2].copy_from_slice(&b);
    }

    /// Stores a 32-bit value at `at`.
    pub fn u32(&mut self, at: usize, value: u32) {
        let b = match self.endian {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        };
        self.bytes[at..at + 4].copy_from_slice(&b);
    }

    /// Stores a 64-bit value at `at`.
    pub fn u64(&mut self, at: usize, value: u64) {
        let b = match self.endian {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        };
        self.bytes[at..at + 8].copy_from_slice(&b);
    }

    /// Stores a C `long` (32 or 64 bits by `abi`); a 32-bit store keeps the low 32 bits.
    pub fn long(&mut self, abi: StructAbi, at: usize, value: u64) {
        match abi {
            StructAbi::Lp64 => self.u64(at, value),
            _ => self.u32(at, value as u32),
        }
    }

    /// Copies raw bytes at `at`.
    pub fn bytes_at(&mut self, at: usize, data: &[u8]) {
        self.bytes[at..at + data.len()].copy_from_slice(data);
    }
}

/// The values of `disk_dump_header`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderFields {
    /// `header_version`.
    pub header_version: u32,
    /// The six utsname strings: sysname, nodename, release, version, machine, domainname.
    pub utsname: [String; 6],
    /// `timestamp.tv_sec`, `timestamp.tv_usec`.
    pub timestamp: (u64, u64),
    /// `status`.
    pub status: u32,
    /// `block_size`.
    pub block_size: u32,
    /// `sub_hdr_size` in blocks.
    pub sub_hdr_size: u32,
    /// `bitmap_blocks`.
    pub bitmap_blocks: u32,
    /// `max_mapnr` (32-bit, already clamped).
    pub max_mapnr: u32,
    /// `nr_cpus`.
    pub nr_cpus: u32,
}

/// Encodes `disk_dump_header`.
pub fn encode_header(abi: StructAbi, endian: Endian, h: &HeaderFields) -> Vec<u8> {
    let mut e = Encoder::new(abi.header_size() as usize, endian);
    e.bytes_at(0, KDUMP_SIGNATURE);
    e.u32(8, h.header_version);
    for (i, field) in h.utsname.iter().enumerate() {
        let bytes = field.as_bytes();
        let n = bytes.len().min(UTS_FIELD - 1);
        e.bytes_at(12 + i * UTS_FIELD, &bytes[..n]);
    }
    // utsname ends at 12 + 6*65 = 402; timeval is aligned to its long.
    let (timestamp, after) = match abi {
        StructAbi::Lp64 => (408, 424),
        _ => (404, 412),
    };
    e.long(abi, timestamp, h.timestamp.0);
    e.long(abi, timestamp + abi_long(abi), h.timestamp.1);
    e.u32(after, h.status);
    e.u32(after + 4, h.block_size);
    e.u32(after + 8, h.sub_hdr_size);
    e.u32(after + 12, h.bitmap_blocks);
    e.u32(after + 16, h.max_mapnr);
    // total_ram_blocks, device_blocks, written_blocks, current_cpu stay 0.
    e.u32(after + 36, h.nr_cpus);
    e.bytes
}

fn abi_long(abi: StructAbi) -> usize {
    match abi {
        StructAbi::Lp64 => 8,
        _ => 4,
    }
}

/// The values of `kdump_sub_header` (version 6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubHeaderFields {
    /// `phys_base`.
    pub phys_base: u64,
    /// `dump_level`.
    pub dump_level: u32,
    /// `split`.
    pub split: u32,
    /// `start_pfn` (legacy, long).
    pub start_pfn: u64,
    /// `end_pfn` (legacy, long).
    pub end_pfn: u64,
    /// `offset_vmcoreinfo`.
    pub offset_vmcoreinfo: u64,
    /// `size_vmcoreinfo`.
    pub size_vmcoreinfo: u64,
    /// `offset_note`.
    pub offset_note: u64,
    /// `size_note`.
    pub size_note: u64,
    /// `offset_eraseinfo`.
    pub offset_eraseinfo: u64,
    /// `size_eraseinfo`.
    pub size_eraseinfo: u64,
    /// `start_pfn_64`.
    pub start_pfn_64: u64,
    /// `end_pfn_64`.
    pub end_pfn_64: u64,
    /// `max_mapnr_64`.
    pub max_mapnr_64: u64,
}

/// Encodes `kdump_sub_header`.
pub fn encode_sub_header(abi: StructAbi, endian: Endian, s: &SubHeaderFields) -> Vec<u8> {
    let mut e = Encoder::new(abi.sub_header_size() as usize, endian);
    // Offsets of: phys_base, dump_level, split, start_pfn, end_pfn, offset_vmcoreinfo, size_vmcoreinfo,
    // offset_note, size_note, offset_eraseinfo, size_eraseinfo, start_pfn_64, end_pfn_64, max_mapnr_64.
    let at: [usize; 14] = match abi {
        StructAbi::Lp64 => [0, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96],
        StructAbi::Ilp32Packed => [0, 4, 8, 12, 16, 20, 28, 32, 40, 44, 52, 56, 64, 72],
        StructAbi::Ilp32Padded => [0, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88],
    };
    e.long(abi, at[0], s.phys_base);
    e.u32(at[1], s.dump_level);
    e.u32(at[2], s.split);
    e.long(abi, at[3], s.start_pfn);
    e.long(abi, at[4], s.end_pfn);
    e.u64(at[5], s.offset_vmcoreinfo);
    e.long(abi, at[6], s.size_vmcoreinfo);
    e.u64(at[7], s.offset_note);
    e.long(abi, at[8], s.size_note);
    e.u64(at[9], s.offset_eraseinfo);
    e.long(abi, at[10], s.size_eraseinfo);
    e.u64(at[11], s.start_pfn_64);
    e.u64(at[12], s.end_pfn_64);
    e.u64(at[13], s.max_mapnr_64);
    e.bytes
}

/// Encodes one `page_desc`: offset, size, flags, page_flags = 0.
pub fn encode_page_desc(endian: Endian, offset: u64, size: u32, flags: u32) -> [u8; 24] {
    let mut e = Encoder::new(24, endian);
    e.u64(0, offset);
    e.u32(8, size);
    e.u32(12, flags);
    let mut out = [0u8; 24];
    out.copy_from_slice(&e.bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_land_where_formats_md_puts_them() {
        let h = HeaderFields {
            header_version: 6,
            utsname: Default::default(),
            timestamp: (0, 0),
            status: 1,
            block_size: 4096,
            sub_hdr_size: 1,
            bitmap_blocks: 64,
            max_mapnr: 0x100000,
            nr_cpus: 3,
        };
        let b64 = encode_header(StructAbi::Lp64, Endian::Little, &h);
        assert_eq!(b64.len(), 464);
        assert_eq!(&b64[..8], b"KDUMP   ");
        assert_eq!(b64[424], 1);
        assert_eq!(&b64[428..432], &4096u32.to_le_bytes());
        assert_eq!(&b64[440..444], &0x100000u32.to_le_bytes());
        assert_eq!(b64[460], 3);
        let b32 = encode_header(StructAbi::Ilp32Packed, Endian::Big, &h);
        assert_eq!(b32.len(), 452);
        assert_eq!(&b32[416..420], &4096u32.to_be_bytes());
        assert_eq!(&b32[428..432], &0x100000u32.to_be_bytes());
        assert_eq!(b32[451], 3);
    }

    #[test]
    fn sub_header_layouts() {
        let s = SubHeaderFields {
            offset_note: 0x1068,
            max_mapnr_64: 0x1234,
            ..Default::default()
        };
        let lp64 = encode_sub_header(StructAbi::Lp64, Endian::Little, &s);
        assert_eq!(&lp64[48..56], &0x1068u64.to_le_bytes());
        assert_eq!(&lp64[96..104], &0x1234u64.to_le_bytes());
        let packed = encode_sub_header(StructAbi::Ilp32Packed, Endian::Little, &s);
        assert_eq!(&packed[32..40], &0x1068u64.to_le_bytes());
        assert_eq!(&packed[72..80], &0x1234u64.to_le_bytes());
        let padded = encode_sub_header(StructAbi::Ilp32Padded, Endian::Little, &s);
        assert_eq!(&padded[40..48], &0x1068u64.to_le_bytes());
        assert_eq!(&padded[88..96], &0x1234u64.to_le_bytes());
    }
}
