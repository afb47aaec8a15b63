//! `page_desc`: one 24-byte descriptor per dumped page, in pfn order, after the bitmaps.

use serde::Serialize;

use super::error::{KInvariant, KdumpError};
use super::header::ByteOrder;
use crate::compress::{flags, Compression};

/// Size of one descriptor in bytes.
pub const PAGE_DESC_SIZE: u64 = 24;

/// `struct page_desc`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageDesc {
    /// `offset`: file offset of the page data.
    pub offset: i64,
    /// `size`: bytes of page data (block_size when stored raw).
    pub size: u32,
    /// `flags`: compression bit of the data (0 = raw).
    pub flags: u32,
    /// `page_flags`: unused, 0.
    pub page_flags: u64,
}

impl PageDesc {
    /// Decodes 24 bytes.
    pub fn decode(bytes: &[u8], order: ByteOrder) -> PageDesc {
        PageDesc {
            offset: order.i64(bytes, 0),
            size: order.u32(bytes, 8),
            flags: order.u32(bytes, 12),
            page_flags: order.u64(bytes, 16),
        }
    }

    /// Encodes the 24 bytes of the descriptor in byte order `order` (the inverse of [`PageDesc::decode`]).
    pub fn encode(&self, order: ByteOrder) -> [u8; PAGE_DESC_SIZE as usize] {
        let mut bytes = [0u8; PAGE_DESC_SIZE as usize];
        order.put_u64(&mut bytes, 0, self.offset as u64);
        order.put_u32(&mut bytes, 8, self.size);
        order.put_u32(&mut bytes, 12, self.flags);
        order.put_u64(&mut bytes, 16, self.page_flags);
        bytes
    }

    /// The compression of the data; `None` if several compression bits are set.
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_flags(self.flags)
    }

    /// True if a compression bit is set.
    pub fn is_compressed(&self) -> bool {
        self.flags & flags::COMPRESSION_MASK != 0
    }
}

/// Checks K13 for one descriptor (and that a zero offset only appears in an incomplete dump, K14).
pub fn validate_descriptor(desc: &PageDesc, page_size: u64, status: u32) -> Result<(), KdumpError> {
    let fail = |invariant, message: String| {
        Err(KdumpError::invalid(
            invariant,
            Some(desc.offset as u64),
            None,
            message,
        ))
    };
    if desc.offset == 0 && status & flags::INCOMPLETE != 0 {
        return fail(
            KInvariant::K14,
            "page was not written (offset 0 in a dump marked incomplete)".to_string(),
        );
    }
    let bits = desc.flags & flags::COMPRESSION_MASK;
    if bits.count_ones() > 1 {
        return fail(
            KInvariant::K13,
            format!(
                "descriptor flags {:#x} name several compressions",
                desc.flags
            ),
        );
    }
    if desc.flags & !flags::COMPRESSION_MASK != 0 {
        return fail(
            KInvariant::K13,
            format!("descriptor flags {:#x} have unknown bits", desc.flags),
        );
    }
    if bits == 0 && desc.size as u64 != page_size {
        return fail(
            KInvariant::K13,
            format!(
                "uncompressed page of {} bytes, expected the page size {page_size}",
                desc.size
            ),
        );
    }
    if bits != 0 && (desc.size == 0 || desc.size as u64 >= page_size) {
        return fail(
            KInvariant::K13,
            format!(
                "compressed page of {} bytes: must be more than 0 and less than the page size {page_size}",
                desc.size
            ),
        );
    }
    if desc.page_flags != 0 {
        return fail(
            KInvariant::K13,
            format!("page_flags is {:#x}, expected 0", desc.page_flags),
        );
    }
    if desc.offset <= 0 {
        return fail(
            KInvariant::K14,
            format!("page data offset is {}", desc.offset),
        );
    }
    Ok(())
}
