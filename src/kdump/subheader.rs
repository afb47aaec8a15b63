//! `kdump_sub_header`: the block after the header (phys_base, dump level, split range, where the notes,
//! VMCOREINFO and eraseinfo are). Three layouts: 64-bit, 32-bit packed (i386) and 32-bit padded (others).

use serde::Serialize;

use super::error::{read_structure, KInvariant, KdumpError};
use super::header::{ByteOrder, Class, DiskDumpHeader};
use crate::readat::ReadAt;

/// Layout of the sub-header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubHeaderLayout {
    /// 64-bit machines: 104 bytes.
    Bits64,
    /// 32-bit machines aligning 64-bit fields to 4 bytes (i386): 80 bytes.
    I386Packed,
    /// Other 32-bit machines (64-bit fields aligned to 8 bytes): 96 bytes.
    Padded32,
}

impl SubHeaderLayout {
    /// Size of this layout in bytes.
    pub fn size(self) -> usize {
        match self {
            SubHeaderLayout::Bits64 => 104,
            SubHeaderLayout::I386Packed => 80,
            SubHeaderLayout::Padded32 => 96,
        }
    }

    /// (offset, width in bytes) of the fields that make a file one part of a split set: `split`,
    /// `start_pfn`, `end_pfn`, `start_pfn_64`, `end_pfn_64`.
    pub fn split_fields(self) -> [(usize, usize); 5] {
        let pfn64 = offsets(self).pfn64;
        let (split, long) = if self == SubHeaderLayout::Bits64 {
            (12, 8)
        } else {
            (8, 4)
        };
        [
            (split, 4),
            (split + 4, long),
            (split + 4 + long, long),
            (pfn64, 8),
            (pfn64 + 8, 8),
        ]
    }

    /// (offset, width in bytes) of `offset_eraseinfo` and `size_eraseinfo`.
    pub fn eraseinfo_fields(self) -> [(usize, usize); 2] {
        let at = offsets(self).eraseinfo;
        let long = if self == SubHeaderLayout::Bits64 {
            8
        } else {
            4
        };
        [(at, 8), (at + 8, long)]
    }
}

/// Offsets of the fields after `end_pfn` (each pair: offset field, size field).
struct Offsets {
    vmcoreinfo: usize,
    note: usize,
    eraseinfo: usize,
    pfn64: usize,
}

fn offsets(layout: SubHeaderLayout) -> Offsets {
    match layout {
        SubHeaderLayout::Bits64 => Offsets {
            vmcoreinfo: 32,
            note: 48,
            eraseinfo: 64,
            pfn64: 80,
        },
        SubHeaderLayout::I386Packed => Offsets {
            vmcoreinfo: 20,
            note: 32,
            eraseinfo: 44,
            pfn64: 56,
        },
        SubHeaderLayout::Padded32 => Offsets {
            vmcoreinfo: 24,
            note: 40,
            eraseinfo: 56,
            pfn64: 72,
        },
    }
}

/// `struct kdump_sub_header`, decoded (32-bit fields widened). Fields newer than the header version are
/// read as the file holds them but have no meaning; use the accessors, which respect the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KdumpSubHeader {
    /// Layout the sub-header was decoded with.
    pub layout: SubHeaderLayout,
    /// Offset of the sub-header in the file (= block_size).
    pub file_offset: u64,
    /// `phys_base`: physical load address correction of the kernel.
    pub phys_base: u64,
    /// `dump_level` (v1+): makedumpfile's `-d` bits (1 zero pages, 2/4 cache, 8 user, 16 free).
    pub dump_level: i32,
    /// `split` (v2+): nonzero if this file is one part of a `--split` set.
    pub split: i32,
    /// `start_pfn` (v2+, 32-bit on 32-bit machines): first pfn of this part.
    pub start_pfn: u64,
    /// `end_pfn` (v2+): one past the last pfn of this part.
    pub end_pfn: u64,
    /// `offset_vmcoreinfo` (v3+): file offset of the VMCOREINFO text.
    pub offset_vmcoreinfo: u64,
    /// `size_vmcoreinfo` (v3+).
    pub size_vmcoreinfo: u64,
    /// `offset_note` (v4+): file offset of the ELF notes.
    pub offset_note: u64,
    /// `size_note` (v4+).
    pub size_note: u64,
    /// `offset_eraseinfo` (v5+): file offset of the eraseinfo text.
    pub offset_eraseinfo: u64,
    /// `size_eraseinfo` (v5+).
    pub size_eraseinfo: u64,
    /// `start_pfn_64` (v6+).
    pub start_pfn_64: u64,
    /// `end_pfn_64` (v6+).
    pub end_pfn_64: u64,
    /// `max_mapnr_64` (v6+): the full one-past-highest pfn.
    pub max_mapnr_64: u64,
    /// The header version this sub-header belongs to.
    pub header_version: i32,
}

impl KdumpSubHeader {
    /// Size of the sub-header in bytes.
    pub fn size(&self) -> usize {
        self.layout.size()
    }

    /// (offset, size) of the ELF notes, for version 4 and later.
    pub fn notes_range(&self) -> Option<(u64, u64)> {
        (self.header_version >= 4).then_some((self.offset_note, self.size_note))
    }

    /// (offset, size) of the VMCOREINFO text, for version 3 and later, when present.
    pub fn vmcoreinfo_range(&self) -> Option<(u64, u64)> {
        (self.header_version >= 3 && self.size_vmcoreinfo > 0)
            .then_some((self.offset_vmcoreinfo, self.size_vmcoreinfo))
    }

    /// (offset, size) of the eraseinfo text, for version 5 and later, when present.
    pub fn eraseinfo_range(&self) -> Option<(u64, u64)> {
        (self.header_version >= 5 && self.size_eraseinfo > 0)
            .then_some((self.offset_eraseinfo, self.size_eraseinfo))
    }

    /// True if this file is one part of a split set (version 2 and later).
    pub fn is_split(&self) -> bool {
        self.header_version >= 2 && self.split != 0
    }

    /// The pfn range [start, end) this file holds descriptors for: the split range for a split part
    /// (64-bit fields from version 6), otherwise everything.
    pub fn pfn_range(&self) -> (u64, u64) {
        if !self.is_split() {
            (0, u64::MAX)
        } else if self.header_version >= 6 {
            (self.start_pfn_64, self.end_pfn_64)
        } else {
            (self.start_pfn, self.end_pfn)
        }
    }

    /// `max_mapnr_64` for version 6 and later.
    pub fn max_mapnr_64(&self) -> Option<u64> {
        (self.header_version >= 6).then_some(self.max_mapnr_64)
    }
}

fn decode(
    bytes: &[u8],
    layout: SubHeaderLayout,
    order: ByteOrder,
    file_offset: u64,
    header_version: i32,
) -> KdumpSubHeader {
    let o = offsets(layout);
    let wide = layout == SubHeaderLayout::Bits64;
    // A `long`/`unsigned long` field: 8 bytes on 64-bit, 4 on 32-bit.
    let long = |at: usize| {
        if wide {
            order.u64(bytes, at)
        } else {
            order.u32(bytes, at) as u64
        }
    };
    let (dump_level_at, split_at, start_at, end_at) = if wide {
        (8, 12, 16, 24)
    } else {
        (4, 8, 12, 16)
    };
    KdumpSubHeader {
        layout,
        file_offset,
        phys_base: long(0),
        dump_level: order.i32(bytes, dump_level_at),
        split: order.i32(bytes, split_at),
        start_pfn: long(start_at),
        end_pfn: long(end_at),
        offset_vmcoreinfo: order.u64(bytes, o.vmcoreinfo),
        size_vmcoreinfo: long(o.vmcoreinfo + 8),
        offset_note: order.u64(bytes, o.note),
        size_note: long(o.note + 8),
        offset_eraseinfo: order.u64(bytes, o.eraseinfo),
        size_eraseinfo: long(o.eraseinfo + 8),
        start_pfn_64: order.u64(bytes, o.pfn64),
        end_pfn_64: order.u64(bytes, o.pfn64 + 8),
        max_mapnr_64: order.u64(bytes, o.pfn64 + 16),
        header_version,
    }
}

/// Chooses between the i386-packed and the padded 32-bit sub-header layouts, given the sub-header's first
/// 96 bytes (80 when the file has no more).
///
/// In order: versions below 3 are read packed (the layouts agree up to there); from version 4, the layout
/// whose `offset_note` points right behind the sub-header (where every writer puts the notes), if only one
/// does; if both do (one layout's `size_note` can equal the other's note offset), from version 6 the layout
/// whose `max_mapnr_64` agrees with the header's `max_mapnr`, then the layout whose `size_note` is not 0;
/// then a known `utsname.machine` (i386…i686 packed, any other named architecture padded: makedumpfile
/// follows the compiler's alignment, while QEMU packs its 32-bit sub-header for every target); last, like
/// libkdumpfile, the packed layout when its `offset_vmcoreinfo`/`size_vmcoreinfo` are both zero or point
/// inside the sub-header blocks. Without the machine name and the note check, a padded dump without
/// VMCOREINFO would be taken for packed (found by `kdump-flat selftest`; libkdumpfile 0.5.1 has that gap).
pub fn choose_32bit_layout(bytes: &[u8], header: &DiskDumpHeader) -> SubHeaderLayout {
    let packed = &bytes[..80];
    let order = header.byte_order;
    let version = header.header_version;
    let block_size = header.block_size as u64;
    if version < 3 {
        return SubHeaderLayout::I386Packed;
    }
    if version >= 4 {
        let packed_note = order.u64(packed, 32);
        let padded_note = order.u64(packed, 40);
        let packed_fits = packed_note == block_size + SubHeaderLayout::I386Packed.size() as u64;
        let padded_fits = padded_note == block_size + SubHeaderLayout::Padded32.size() as u64;
        if packed_fits != padded_fits {
            return if packed_fits {
                SubHeaderLayout::I386Packed
            } else {
                SubHeaderLayout::Padded32
            };
        }
        if packed_fits {
            // both fit: one layout's size_note can equal the other's note offset (QEMU's packed
            // sub-header with notes of exactly block_size + 96 bytes, found by the model's proptest).
            // From version 6, max_mapnr_64 must agree with the header's max_mapnr (K10).
            if version >= 6 && bytes.len() >= 96 {
                let agrees =
                    |mapnr_64: u64| mapnr_64.min(u32::MAX as u64) == header.max_mapnr as u64;
                let packed_agrees = agrees(order.u64(bytes, 72));
                let padded_agrees = agrees(order.u64(bytes, 88));
                if packed_agrees != padded_agrees {
                    return if packed_agrees {
                        SubHeaderLayout::I386Packed
                    } else {
                        SubHeaderLayout::Padded32
                    };
                }
            }
            // a note offset with size 0 is no writer's
            let packed_size = order.u32(packed, 40);
            let padded_size = order.u32(packed, 48);
            if (packed_size == 0) != (padded_size == 0) {
                return if packed_size != 0 {
                    SubHeaderLayout::I386Packed
                } else {
                    SubHeaderLayout::Padded32
                };
            }
        }
    }
    let machine = header.utsname.machine.as_str();
    let is_x86_32 = machine.len() == 4
        && machine.starts_with('i')
        && machine.ends_with("86")
        && matches!(machine.as_bytes()[1], b'3'..=b'6');
    if is_x86_32 {
        return SubHeaderLayout::I386Packed;
    }
    if !machine.is_empty() && machine != "Unknown" {
        return SubHeaderLayout::Padded32;
    }
    let payload = block_size.saturating_mul(1 + header.sub_hdr_size.max(0) as u64);
    let off = order.u64(packed, 20);
    let size = order.u32(packed, 28) as u64;
    if (off == 0 && size == 0) || (off > block_size && off.saturating_add(size) <= payload) {
        SubHeaderLayout::I386Packed
    } else {
        SubHeaderLayout::Padded32
    }
}

/// Reads the sub-header at offset `block_size`; `None` for header version 0 (or negative), which has none.
///
/// For 32-bit dumps the layout is chosen by [`choose_32bit_layout`].
pub fn read_sub_header<R: ReadAt + ?Sized>(
    reader: &R,
    header: &DiskDumpHeader,
) -> Result<Option<KdumpSubHeader>, KdumpError> {
    if header.header_version < 1 {
        return Ok(None);
    }
    let block_size = header.block_size as u64;
    let order = header.byte_order;
    let version = header.header_version;
    let layout = match header.class {
        Class::Bits64 => SubHeaderLayout::Bits64,
        Class::Bits32 => {
            // 96 bytes (the padded size) when the file has them, for the tie-break on max_mapnr_64
            let mut first = [0u8; 96];
            let padded_readable = read_structure(
                reader,
                block_size,
                &mut first,
                KInvariant::K8,
                "kdump_sub_header",
            )
            .is_ok();
            if !padded_readable {
                read_structure(
                    reader,
                    block_size,
                    &mut first[..80],
                    KInvariant::K8,
                    "kdump_sub_header",
                )?;
            }
            let len = if padded_readable { 96 } else { 80 };
            choose_32bit_layout(&first[..len], header)
        }
    };
    let mut bytes = vec![0u8; layout.size()];
    read_structure(
        reader,
        block_size,
        &mut bytes,
        KInvariant::K8,
        "kdump_sub_header",
    )?;
    Ok(Some(decode(&bytes, layout, order, block_size, version)))
}
