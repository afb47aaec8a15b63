//! The dump layout: a complete, serialisable description of one kdump-compressed dump — the machine, the
//! memory it had, what every page contained, how the dump was written — from which the writers produce
//! bytes and from which the harness derives what every page must read back as.
use serde::{Deserialize, Serialize};

use crate::compress::Compression;

use super::{
    Deviations, Machine, MakedumpfileMode, PageClass, PageContent, PageRef, PageSize, WriterKind,
};

/// `count` consecutive pages with the same content recipe and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageRun {
    /// Number of pages (≥ 1).
    pub count: u32,
    /// What they contain.
    pub content: PageContent,
    /// What they were used for.
    #[serde(default)]
    pub class: PageClass,
}

/// A block of physical memory: pages from `start_pfn`, contents by runs. The last page may be partial
/// (`short_tail` bytes missing at its end): those bytes are not memory and read back as zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryBlock {
    /// First page frame number.
    pub start_pfn: u64,
    /// Page contents, in order.
    pub runs: Vec<PageRun>,
    /// Bytes missing at the end of the last page (0 = page-aligned end; < page size).
    #[serde(default)]
    pub short_tail: u32,
}

impl MemoryBlock {
    /// Number of pages (a partial last page counts).
    pub fn page_count(&self) -> u64 {
        self.runs.iter().map(|r| u64::from(r.count)).sum()
    }

    /// One past the last pfn.
    pub fn end_pfn(&self) -> u64 {
        self.start_pfn + self.page_count()
    }
}

/// The `new_utsname` strings of the dump header (each at most 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Utsname {
    /// `sysname` ("Linux").
    #[serde(default)]
    pub sysname: String,
    /// `nodename` (host name).
    #[serde(default)]
    pub nodename: String,
    /// `release` (kernel release).
    #[serde(default)]
    pub release: String,
    /// `version`.
    #[serde(default)]
    pub version: String,
    /// `machine`; empty means the machine's own name.
    #[serde(default)]
    pub machine: String,
    /// `domainname`.
    #[serde(default)]
    pub domainname: String,
}

/// The ELF notes of the dump: per CPU an `NT_PRSTATUS` note, optionally per CPU a "QEMU" note, and
/// optionally the guest's VMCOREINFO note last.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NoteSpec {
    /// Number of CPUs (`nr_cpus`); 0 gives no CPU notes.
    pub cpus: u32,
    /// Descriptor size of each `NT_PRSTATUS` note (x86_64: 336, i386: 144).
    pub prstatus_size: u32,
    /// Descriptor size of each per-CPU "QEMU" note, if QEMU wrote them (x86_64: 0x1b8 = 440).
    #[serde(default)]
    pub qemu_cpu_state_size: Option<u32>,
    /// The VMCOREINFO text, if the guest published one.
    #[serde(default)]
    pub vmcoreinfo: Option<String>,
}

/// A complete dump description.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layout {
    /// Whose write sequence produces the file.
    pub writer: WriterKind,
    /// The dumped machine.
    pub machine: Machine,
    /// Page size = block size.
    pub page_size: PageSize,
    /// Page compression (one per dump).
    pub compression: Compression,
    /// Physical memory, ascending, non-overlapping.
    pub blocks: Vec<MemoryBlock>,
    /// The ELF notes.
    pub notes: NoteSpec,
    /// makedumpfile's dump level (0..=31). QEMU always writes 1 and dumps every page.
    #[serde(default = "default_dump_level")]
    pub dump_level: u8,
    /// makedumpfile's eraseinfo text (`erase SYMBOL size N` lines), written after the page data.
    #[serde(default)]
    pub eraseinfo: Option<String>,
    /// `kdump_sub_header.phys_base`.
    #[serde(default)]
    pub phys_base: u64,
    /// Header timestamp (seconds, microseconds); QEMU writes zero.
    #[serde(default)]
    pub timestamp: (u32, u32),
    /// Header utsname (makedumpfile); QEMU fills only `machine`.
    #[serde(default)]
    pub utsname: Utsname,
    /// Page frames after the last memory block that makedumpfile still counts in `max_mapnr` (it takes
    /// `max_mapnr` from the kernel's memory model, e.g. a 96 MiB guest gives 128 MiB of pfns). QEMU: 0.
    #[serde(default)]
    pub max_mapnr_beyond_memory: u32,
    /// makedumpfile's write mode (bitmap mode, threads, block order, `--split`); the default for QEMU.
    /// Only the write sequence and, with `--split`, the files depend on it: a file written in any mode
    /// is the same bytes.
    #[serde(default, skip_serializing_if = "MakedumpfileMode::is_default")]
    pub mode: MakedumpfileMode,
    /// Other writers' layout features that every reader reads alike (notes after the data, data out of
    /// pfn order, `sub_hdr_size` 0, split files with their own timestamps or with gaps):
    /// [`super::deviation`]. None by default (absent in older reproducers).
    #[serde(default, skip_serializing_if = "Deviations::is_none")]
    pub deviations: Deviations,
}

fn default_dump_level() -> u8 {
    1
}

impl Layout {
    /// Page size in bytes.
    pub fn page_bytes(&self) -> u64 {
        self.page_size.bytes()
    }

    /// `max_mapnr`: one past the last pfn of the last block (the partial last page counts), plus the
    /// pfns the memory model counts beyond it.
    pub fn max_mapnr(&self) -> u64 {
        self.blocks.last().map_or(0, |b| b.end_pfn()) + u64::from(self.max_mapnr_beyond_memory)
    }

    /// One past the last byte of memory (the last block's end, its short tail left out).
    pub fn memory_end(&self) -> u64 {
        self.blocks.last().map_or(0, |b| {
            b.end_pfn() * self.page_bytes() - u64::from(b.short_tail)
        })
    }

    /// Total pages in memory blocks.
    pub fn memory_pages(&self) -> u64 {
        self.blocks.iter().map(|b| b.page_count()).sum()
    }

    /// The `utsname.machine` string the header carries.
    pub fn uts_machine(&self) -> &str {
        if self.utsname.machine.is_empty() {
            self.machine.uname()
        } else {
            &self.utsname.machine
        }
    }

    /// The dump level the writer records (QEMU: always 1).
    pub fn effective_dump_level(&self) -> u8 {
        match self.writer {
            WriterKind::Qemu => 1,
            WriterKind::Makedumpfile => self.dump_level,
        }
    }

    /// The number of files the writer produces: the `--split` files, or 1.
    pub fn file_count(&self) -> usize {
        self.mode.split.map_or(1, |s| s.files as usize)
    }

    /// The pfn range of each file of the `--split` set as written (makedumpfile's ranges, trimmed by
    /// [`Deviations::split_coverage`]); `None` for a dump written as one file.
    pub fn part_ranges(&self) -> Option<Vec<(u64, u64)>> {
        super::deviation::part_ranges(self)
    }

    /// Every page in memory, ascending by pfn.
    pub fn pages(&self) -> impl Iterator<Item = PageRef> + '_ {
        self.blocks
            .iter()
            .flat_map(move |block| self.pages_of(block))
    }

    /// True when makedumpfile's dump level leaves a page of this class out.
    pub fn excludes(&self, class: PageClass) -> bool {
        self.writer == WriterKind::Makedumpfile && self.dump_level & class.exclusion_bit() != 0
    }

    /// The pfns of the pages the dump contains (bits set in bitmap 2), ascending.
    pub fn dumped_pfns(&self) -> impl Iterator<Item = u64> + '_ {
        self.pages()
            .filter(|p| !self.excludes(p.class))
            .map(|p| p.pfn)
    }

    /// Number of pages the dump contains (bits set in bitmap 2): D.
    pub fn dumped_pages(&self) -> u64 {
        self.dumped_pfns().count() as u64
    }

    /// True when zero pages share one stored zero page (QEMU always; makedumpfile with dump level bit 1).
    pub fn shares_zero_page(&self) -> bool {
        match self.writer {
            WriterKind::Qemu => true,
            WriterKind::Makedumpfile => self.dump_level & 1 != 0,
        }
    }

    /// Total size of the ELF notes, N.
    pub fn note_bytes(&self) -> u64 {
        super::notes::note_section(self).len() as u64
    }

    /// What the dump must give back for `pfn`.
    pub fn expected_page(&self, pfn: u64) -> ExpectedPage {
        for block in &self.blocks {
            if pfn >= block.start_pfn && pfn < block.end_pfn() {
                let page = self
                    .pages_of(block)
                    .find(|p| p.pfn == pfn)
                    .expect("pfn lies inside the block");
                if self.excludes(page.class) {
                    return ExpectedPage::Excluded;
                }
                return ExpectedPage::Data(page.bytes(self.page_bytes()));
            }
        }
        ExpectedPage::NotInMemory
    }

    fn pages_of<'a>(&'a self, block: &'a MemoryBlock) -> impl Iterator<Item = PageRef> + 'a {
        let page = self.page_bytes();
        let last = block.end_pfn() - 1;
        let mut pfn = block.start_pfn;
        block.runs.iter().flat_map(move |run| {
            let first = pfn;
            pfn += u64::from(run.count);
            (first..first + u64::from(run.count)).map(move |p| PageRef {
                pfn: p,
                content: run.content,
                class: run.class,
                valid_bytes: if p == last {
                    page - u64::from(block.short_tail)
                } else {
                    page
                },
            })
        })
    }

    /// A short human summary: writer, machine, page size, compression, pages, blocks (and makedumpfile's
    /// write mode when it is not the default).
    pub fn summary(&self) -> String {
        let mut text = self.contents_summary();
        if !self.mode.is_default() {
            text.push_str(&format!(" mode={}", self.mode));
        }
        if !self.deviations.is_none() {
            text.push_str(&format!(" deviations={}", self.deviations));
        }
        text
    }

    fn contents_summary(&self) -> String {
        format!(
            "{} {} {}K {} pages={} blocks={} max_mapnr={:#x} cpus={} vmcoreinfo={} dump_level={} eraseinfo={}",
            self.writer,
            self.machine,
            self.page_bytes() / 1024,
            self.compression,
            self.memory_pages(),
            self.blocks.len(),
            self.max_mapnr(),
            self.notes.cpus,
            self.notes.vmcoreinfo.is_some(),
            self.effective_dump_level(),
            self.eraseinfo.is_some()
        )
    }
}

/// What reading one pfn must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedPage {
    /// The page's bytes.
    Data(Vec<u8>),
    /// In memory (bitmap 1) but left out by the dump level (not in bitmap 2).
    Excluded,
    /// Not in any memory block.
    NotInMemory,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LayoutError;

    fn layout() -> Layout {
        Layout {
            writer: WriterKind::Makedumpfile,
            machine: Machine::X86_64,
            page_size: PageSize::K4,
            compression: Compression::Zlib,
            blocks: vec![
                MemoryBlock {
                    start_pfn: 0,
                    runs: vec![
                        PageRun {
                            count: 2,
                            content: PageContent::Zero,
                            class: PageClass::Kernel,
                        },
                        PageRun {
                            count: 1,
                            content: PageContent::Random { seed: 1 },
                            class: PageClass::User,
                        },
                    ],
                    short_tail: 0,
                },
                MemoryBlock {
                    start_pfn: 10,
                    runs: vec![PageRun {
                        count: 2,
                        content: PageContent::Text { seed: 3 },
                        class: PageClass::Kernel,
                    }],
                    short_tail: 100,
                },
            ],
            notes: NoteSpec {
                cpus: 1,
                prstatus_size: 336,
                qemu_cpu_state_size: None,
                vmcoreinfo: None,
            },
            dump_level: 9,
            eraseinfo: None,
            phys_base: 0,
            timestamp: (0, 0),
            utsname: Utsname::default(),
            max_mapnr_beyond_memory: 0,
            mode: MakedumpfileMode::default(),
            deviations: Deviations::default(),
        }
    }

    #[test]
    fn expected_pages_follow_blocks_classes_and_partial_tails() {
        let l = layout();
        l.validate().unwrap();
        assert_eq!(l.max_mapnr(), 12);
        assert_eq!(l.dumped_pages(), 4);
        assert_eq!(l.expected_page(0), ExpectedPage::Data(vec![0; 4096]));
        assert_eq!(l.expected_page(2), ExpectedPage::Excluded);
        assert_eq!(l.expected_page(5), ExpectedPage::NotInMemory);
        let ExpectedPage::Data(last) = l.expected_page(11) else {
            panic!("pfn 11 is dumped")
        };
        assert!(last[..3996].iter().any(|&b| b != 0));
        assert!(last[3996..].iter().all(|&b| b == 0));
        assert_eq!(l.expected_page(12), ExpectedPage::NotInMemory);
    }

    #[test]
    fn unordered_blocks_are_rejected() {
        let mut l = layout();
        l.blocks[1].start_pfn = 2;
        assert!(matches!(
            l.validate(),
            Err(LayoutError::Unordered { index: 1, .. })
        ));
    }
}
