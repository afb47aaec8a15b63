//! makedumpfile's `cache_data` ([`MdfCache`]) and the page loop state that feeds a pair of them
//! ([`PageWriter`]: `write_kdump_page`, `write_kdump_pages_cyclic`).

use std::io;

use crate::compress::Compression;
use crate::model::encode::{encode_page_desc, PAGE_DESC_SIZE};
use crate::model::write::{store_page, Counting, GuestBlock, WriteError};
use crate::model::Endian;

/// makedumpfile's `cache_data`: writes exactly `capacity` bytes whenever the buffer reaches it.
pub(super) struct MdfCache {
    /// Where the buffer's first byte goes.
    pub(super) offset: u64,
    buf: Vec<u8>,
    capacity: usize,
}

impl MdfCache {
    fn new(offset: u64, capacity: usize) -> Self {
        MdfCache {
            offset,
            buf: Vec::new(),
            capacity,
        }
    }

    pub(super) fn put(&mut self, out: &mut Counting<'_>, item: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(item);
        if self.buf.len() < self.capacity {
            return Ok(());
        }
        out.write(self.offset, &self.buf[..self.capacity])?;
        self.buf.drain(..self.capacity);
        self.offset += self.capacity as u64;
        Ok(())
    }

    pub(super) fn flush_remainder(&mut self, out: &mut Counting<'_>) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        out.write(self.offset, &self.buf)?;
        self.offset += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// makedumpfile's `cache_data` pair and page loop state (`write_kdump_page`, `write_kdump_pages_cyclic`).
pub(super) struct PageWriter {
    descriptors: MdfCache,
    /// The data cache (eraseinfo goes through it too).
    pub(super) data: MdfCache,
    next_data: u64,
    zero_desc: [u8; PAGE_DESC_SIZE as usize],
    shares_zero: bool,
    early_flush: bool,
    compression: Compression,
    endian: Endian,
    page: Vec<u8>,
    /// Pages stored as the shared zero page so far.
    pub(super) zero_pages: u64,
    /// Pages stored compressed so far.
    pub(super) compressed_pages: u64,
}

/// How [`PageWriter`] stores pages: the choices of makedumpfile's command line that matter to it.
pub(super) struct PagePolicy {
    /// Page size = block size.
    pub(super) page_size: u64,
    /// Bytes of each cache (`page_size << block_order`).
    pub(super) cache_size: usize,
    /// Dump level bit 1: zero pages share one stored zero page.
    pub(super) shares_zero: bool,
    /// `write_kdump_page`'s early flush of both caches (off with `--num-threads`).
    pub(super) early_flush: bool,
    /// Page compression.
    pub(super) compression: Compression,
    /// The dumped machine's byte order.
    pub(super) endian: Endian,
}

impl PageWriter {
    /// Caches for descriptors at `descriptors_offset` and data at `data_offset`, empty.
    pub(super) fn new(policy: &PagePolicy, descriptors_offset: u64, data_offset: u64) -> Self {
        let ps = policy.page_size;
        PageWriter {
            descriptors: MdfCache::new(descriptors_offset, policy.cache_size),
            data: MdfCache::new(data_offset, policy.cache_size),
            next_data: data_offset,
            zero_desc: encode_page_desc(policy.endian, data_offset, ps as u32, 0),
            shares_zero: policy.shares_zero,
            early_flush: policy.early_flush,
            compression: policy.compression,
            endian: policy.endian,
            page: vec![0u8; ps as usize],
            zero_pages: 0,
            compressed_pages: 0,
        }
    }

    /// Step 2: the shared zero page goes first into the data cache (dump level bit 1 only).
    pub(super) fn put_shared_zero_page(&mut self, out: &mut Counting<'_>) -> io::Result<()> {
        if self.shares_zero {
            let ps = self.page.len();
            self.data.put(out, &vec![0u8; ps])?;
            self.next_data += ps as u64;
        }
        Ok(())
    }

    /// Step 5: the caches' remainders, data first, then descriptors.
    pub(super) fn flush_remainders(&mut self, out: &mut Counting<'_>) -> io::Result<()> {
        self.data.flush_remainder(out)?;
        self.descriptors.flush_remainder(out)
    }

    /// Reads, stores and caches the page `pfn` of `block`.
    pub(super) fn write_page(
        &mut self,
        out: &mut Counting<'_>,
        pfn: u64,
        block: &GuestBlock<'_>,
    ) -> Result<(), WriteError> {
        let ps = self.page.len() as u64;
        let within = pfn * ps - block.start;
        let valid = (block.len - within).min(ps) as usize;
        self.page[valid..].fill(0);
        block
            .data
            .read_exact_at(block.data_offset + within, &mut self.page[..valid])?;
        if self.shares_zero && self.page.iter().all(|&b| b == 0) {
            self.descriptors.put(out, &self.zero_desc)?;
            self.zero_pages += 1;
            return Ok(());
        }
        let (flags, stored) = store_page(self.compression, &self.page);
        if flags != 0 {
            self.compressed_pages += 1;
        }
        let desc = encode_page_desc(self.endian, self.next_data, stored.len() as u32, flags);
        self.next_data += stored.len() as u64;
        let cache_size = self.descriptors.capacity;
        // write_kdump_page: when either cache is nearly full, both are written out first.
        if self.early_flush
            && (self.descriptors.buf.len() + desc.len() >= cache_size
                || self.data.buf.len() + stored.len() >= cache_size)
        {
            self.descriptors.flush_remainder(out)?;
            self.data.flush_remainder(out)?;
        }
        self.descriptors.put(out, &desc)?;
        self.data.put(out, &stored)?;
        Ok(())
    }
}
