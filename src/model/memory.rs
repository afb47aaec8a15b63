//! A layout's memory as the writers read it: [`BlockMemory`] generates one block's bytes on demand
//! (a [`ReadAt`]), `guest_blocks` hands the blocks to a writer as [`GuestBlock`]s.

use std::io;

use crate::readat::ReadAt;

use super::write::GuestBlock;
use super::{Layout, MemoryBlock, PageRef};

/// The bytes of one memory block of a layout, generated on demand (a [`ReadAt`] over the block).
pub struct BlockMemory<'a> {
    layout: &'a Layout,
    block: &'a MemoryBlock,
}

impl<'a> BlockMemory<'a> {
    /// The memory of `block` (one of `layout.blocks`).
    pub fn new(layout: &'a Layout, block: &'a MemoryBlock) -> Self {
        BlockMemory { layout, block }
    }

    /// Length in bytes (a partial last page counts only its valid bytes).
    pub fn len(&self) -> u64 {
        self.block.page_count() * self.layout.page_bytes() - u64::from(self.block.short_tail)
    }

    /// True if the block has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReadAt for BlockMemory<'_> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.len();
        if offset >= len || buf.is_empty() {
            return Ok(0);
        }
        let ps = self.layout.page_bytes();
        let index = offset / ps;
        let mut pfn = self.block.start_pfn;
        let mut found = None;
        for run in &self.block.runs {
            let next = pfn + u64::from(run.count);
            if self.block.start_pfn + index < next {
                let pfn = self.block.start_pfn + index;
                let is_last = pfn + 1 == self.block.end_pfn();
                found = Some(PageRef {
                    pfn,
                    content: run.content,
                    class: run.class,
                    valid_bytes: if is_last {
                        ps - u64::from(self.block.short_tail)
                    } else {
                        ps
                    },
                });
                break;
            }
            pfn = next;
        }
        let Some(page) = found else { return Ok(0) };
        let bytes = page.bytes(ps);
        let within = (offset % ps) as usize;
        let n = buf
            .len()
            .min(ps as usize - within)
            .min((len - offset) as usize);
        buf[..n].copy_from_slice(&bytes[within..within + n]);
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len())
    }
}

/// The memory of every block of `layout`, generated on demand.
pub(crate) fn block_memories(layout: &Layout) -> Vec<BlockMemory<'_>> {
    layout
        .blocks
        .iter()
        .map(|b| BlockMemory::new(layout, b))
        .collect()
}

/// The blocks of `layout` as the writers take them (guest-physical start, length, memory).
pub(crate) fn guest_blocks<'a>(
    layout: &Layout,
    memories: &'a [BlockMemory<'a>],
) -> Vec<GuestBlock<'a>> {
    layout
        .blocks
        .iter()
        .zip(memories)
        .map(|(b, m)| GuestBlock {
            start: b.start_pfn * layout.page_bytes(),
            len: m.len(),
            data: m,
            data_offset: 0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gen::{first_small_layout_where, layout_from_seed, SizeClass};

    #[test]
    fn a_block_with_a_short_tail_reads_up_to_its_length_only() {
        let layout = first_small_layout_where("a short tail", |l| {
            l.blocks.iter().any(|b| b.short_tail != 0)
        });
        let block = layout.blocks.iter().find(|b| b.short_tail != 0).unwrap();
        let memory = BlockMemory::new(&layout, block);
        let len = memory.len();
        let mut buf = vec![0u8; 2 * layout.page_bytes() as usize];
        assert_eq!(memory.read_at(len - 10, &mut buf).unwrap(), 10);
        assert_eq!(memory.read_at(len - 1, &mut buf).unwrap(), 1);
        assert_eq!(memory.read_at(len, &mut buf).unwrap(), 0);
    }

    #[test]
    fn a_read_stops_at_the_end_of_its_page() {
        let layout = layout_from_seed(3, SizeClass::Small);
        let block = layout
            .blocks
            .iter()
            .find(|b| b.page_count() >= 2)
            .expect("a block of two pages or more");
        let memory = BlockMemory::new(&layout, block);
        let ps = layout.page_bytes();
        let mut buf = vec![0u8; 2 * ps as usize];
        assert_eq!(memory.read_at(ps / 2, &mut buf).unwrap() as u64, ps / 2);
        assert_eq!(memory.read_at(0, &mut buf).unwrap() as u64, ps);
    }
}
