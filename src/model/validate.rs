//! Checking a [`Layout`]: well formed (ordered, non-empty blocks), within the model's bounds, and
//! producible by its writer (QEMU's fixed choices, makedumpfile's write-mode restrictions).

use super::deviation::sub_header_zero_first_pfn;
use super::makedumpfile::policy::cyclic_buffer;
use super::{
    struct_abi, CyclicMode, Layout, NotesPlacement, SplitCoverage, SubHeaderBlocks, WriterKind,
    MAX_BLOCK_ORDER, MAX_CYCLES, MAX_SPLIT_FILES, MAX_THREADS,
};

/// The largest number of pages a layout may describe (keeps one harness case in milliseconds).
pub const MAX_LAYOUT_PAGES: u64 = 1 << 16;
/// The largest pfn a layout may reach (bounds the bitmaps: 2^22 pfns = 512 KiB of bitmap each).
pub const MAX_LAYOUT_PFN: u64 = 1 << 22;
/// The largest number of CPUs a layout may have.
pub const MAX_CPUS: u32 = 64;
/// The largest descriptor size of one ELF note.
pub const MAX_NOTE_DESC: u32 = 8192;

/// Why a layout cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The layout describes no memory.
    #[error("the layout has no memory blocks (or only empty ones)")]
    NoMemory,
    /// Blocks overlap or are not ascending.
    #[error("memory block {index} starts at pfn {start:#x}, before the end of the previous block ({previous_end:#x})")]
    Unordered {
        /// Block index.
        index: usize,
        /// Its start pfn.
        start: u64,
        /// End pfn of the block before it.
        previous_end: u64,
    },
    /// A run or block without pages.
    #[error("memory block {index} has an empty run or no pages")]
    EmptyBlock {
        /// Block index.
        index: usize,
    },
    /// `short_tail` not below the page size.
    #[error(
        "memory block {index}: short_tail {short_tail} must be below the page size {page_size}"
    )]
    BadTail {
        /// Block index.
        index: usize,
        /// The value.
        short_tail: u32,
        /// The page size.
        page_size: u64,
    },
    /// Too big for the model's bounds.
    #[error("the layout exceeds the model's bounds: {what}")]
    TooBig {
        /// What is too big.
        what: String,
    },
    /// A combination the chosen writer never produces.
    #[error("{writer} never writes this: {what}")]
    NotProducible {
        /// The writer.
        writer: WriterKind,
        /// The combination.
        what: String,
    },
}

impl Layout {
    /// Checks that the layout is well formed, within bounds and producible by its writer.
    pub fn validate(&self) -> Result<(), LayoutError> {
        self.validate_blocks()?;
        self.validate_bounds()?;
        match self.writer {
            WriterKind::Qemu => self.validate_for_qemu(),
            WriterKind::Makedumpfile => self.validate_for_makedumpfile(),
        }?;
        self.validate_deviations()
    }

    /// Checks the other writers' features ([`Layout::deviations`]): makedumpfile layouts only; the file
    /// variants for a single file in the default write mode (another writer has no makedumpfile modes),
    /// the split variants for `--split` sets; with `sub_hdr_size` 0 the notes after the data and no
    /// memory below 8 × sizeof(sub-header) pfns (see [`super::deviation`]).
    fn validate_deviations(&self) -> Result<(), LayoutError> {
        let d = &self.deviations;
        if d.is_none() {
            return Ok(());
        }
        let not_producible = |what: &str| {
            Err(LayoutError::NotProducible {
                writer: self.writer,
                what: format!("{what} (deviations {d})"),
            })
        };
        if self.writer != WriterKind::Makedumpfile {
            return not_producible(
                "another writer's layout on a QEMU dump (the model varies makedumpfile's)",
            );
        }
        if d.changes_file_layout() && !self.mode.is_default() {
            return not_producible("another writer's file layout in a makedumpfile write mode");
        }
        if d.changes_split_set() && self.mode.split.is_none() {
            return not_producible("split-set variants without --split");
        }
        if let SplitCoverage::Trimmed { pfns: 0 } = d.split_coverage {
            return not_producible("ranges trimmed by 0 pfns");
        }
        if d.sub_header_blocks == SubHeaderBlocks::Zero {
            if d.notes != NotesPlacement::AfterData {
                return not_producible(
                    "sub_hdr_size 0 with the notes after the sub-header (no room)",
                );
            }
            let first = sub_header_zero_first_pfn(struct_abi(self));
            if self.blocks[0].start_pfn < first {
                return not_producible(&format!(
                    "sub_hdr_size 0 with memory below pfn {first:#x} (those pfns' bitmap-1 bits are the \
                     sub-header's bytes)"
                ));
            }
        }
        Ok(())
    }

    /// Checks the memory blocks: some, none empty, ascending, tails below the page size, in bounds.
    fn validate_blocks(&self) -> Result<(), LayoutError> {
        if self.blocks.is_empty() {
            return Err(LayoutError::NoMemory);
        }
        let page = self.page_bytes();
        let mut previous_end = 0u64;
        for (index, block) in self.blocks.iter().enumerate() {
            if block.runs.is_empty() || block.runs.iter().any(|r| r.count == 0) {
                return Err(LayoutError::EmptyBlock { index });
            }
            // the first block's previous end is 0, which no start lies below
            if block.start_pfn < previous_end {
                return Err(LayoutError::Unordered {
                    index,
                    start: block.start_pfn,
                    previous_end,
                });
            }
            if u64::from(block.short_tail) >= page {
                return Err(LayoutError::BadTail {
                    index,
                    short_tail: block.short_tail,
                    page_size: page,
                });
            }
            if block.start_pfn > MAX_LAYOUT_PFN || block.page_count() > MAX_LAYOUT_PAGES {
                return Err(LayoutError::TooBig {
                    what: format!("block {index} beyond pfn {MAX_LAYOUT_PFN:#x}"),
                });
            }
            previous_end = block.end_pfn();
        }
        Ok(())
    }

    /// Checks the model's bounds on the whole layout: pfns, pages, notes, eraseinfo, dump level,
    /// utsname.
    fn validate_bounds(&self) -> Result<(), LayoutError> {
        if self.max_mapnr() > MAX_LAYOUT_PFN {
            return Err(LayoutError::TooBig {
                what: format!("max_mapnr {:#x} > {MAX_LAYOUT_PFN:#x}", self.max_mapnr()),
            });
        }
        if self.memory_pages() > MAX_LAYOUT_PAGES {
            return Err(LayoutError::TooBig {
                what: format!("{} pages > {MAX_LAYOUT_PAGES}", self.memory_pages()),
            });
        }
        if self.notes.cpus > MAX_CPUS
            || self.notes.prstatus_size > MAX_NOTE_DESC
            || self.notes.qemu_cpu_state_size.unwrap_or(0) > MAX_NOTE_DESC
            || self.notes.vmcoreinfo.as_ref().map_or(0, |v| v.len()) > MAX_NOTE_DESC as usize
        {
            return Err(LayoutError::TooBig {
                what: "notes".into(),
            });
        }
        if self.eraseinfo.as_ref().map_or(0, |e| e.len()) > 4096 {
            return Err(LayoutError::TooBig {
                what: "eraseinfo longer than 4096 bytes".into(),
            });
        }
        if self.dump_level > 31 {
            return Err(LayoutError::TooBig {
                what: format!("dump level {} > 31", self.dump_level),
            });
        }
        let uts = &self.utsname;
        for field in [
            &uts.sysname,
            &uts.nodename,
            &uts.release,
            &uts.version,
            &uts.machine,
            &uts.domainname,
        ] {
            if field.len() > 64 || field.as_bytes().contains(&0) {
                return Err(LayoutError::TooBig {
                    what: format!("utsname field {field:?} (at most 64 bytes, no NUL)"),
                });
            }
        }
        Ok(())
    }

    /// Checks what QEMU never writes: a dump level other than 1, eraseinfo, `max_mapnr` beyond memory,
    /// a makedumpfile write mode, no notes.
    fn validate_for_qemu(&self) -> Result<(), LayoutError> {
        if self.dump_level != 1 {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: format!("dump level {} (QEMU always writes 1)", self.dump_level),
            });
        }
        if self.eraseinfo.is_some() {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: "eraseinfo".into(),
            });
        }
        if self.max_mapnr_beyond_memory != 0 {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: "max_mapnr beyond the last memory block".into(),
            });
        }
        if !self.mode.is_default() {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: format!("makedumpfile's write mode {}", self.mode),
            });
        }
        if self.note_bytes() == 0 {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: "a dump without notes (QEMU always writes CPU notes)".into(),
            });
        }
        Ok(())
    }

    /// Checks what makedumpfile never writes: no page at all, QEMU's CPU-state notes, an impossible
    /// write mode.
    fn validate_for_makedumpfile(&self) -> Result<(), LayoutError> {
        if self.dumped_pages() == 0 {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: "a dump in which the dump level leaves out every page".into(),
            });
        }
        if self.notes.qemu_cpu_state_size.is_some() {
            return Err(LayoutError::NotProducible {
                writer: self.writer,
                what: "QEMU CPU-state notes".into(),
            });
        }
        self.validate_mode()
    }

    /// Checks [`Layout::mode`] (makedumpfile only: QEMU has none of these options).
    fn validate_mode(&self) -> Result<(), LayoutError> {
        let mode = &self.mode;
        let not_producible = |what: String| LayoutError::NotProducible {
            writer: self.writer,
            what,
        };
        if mode.num_threads > MAX_THREADS || mode.block_order > MAX_BLOCK_ORDER {
            return Err(LayoutError::TooBig {
                what: format!(
                    "--num-threads {} (at most {MAX_THREADS}) or -b {} (at most {MAX_BLOCK_ORDER})",
                    mode.num_threads, mode.block_order
                ),
            });
        }
        if let Some(split) = mode.split {
            if !(2..=MAX_SPLIT_FILES).contains(&split.files) || split.splitblock_pages == 0 {
                return Err(LayoutError::TooBig {
                    what: format!(
                        "--split into {} files of splitblocks of {} pages (2..={MAX_SPLIT_FILES} files, \
                         at least one page)",
                        split.files, split.splitblock_pages
                    ),
                });
            }
            if mode.num_threads > 0 {
                return Err(not_producible(
                    "--num-threads with --split (\"--num-threads cannot used with --split\")"
                        .into(),
                ));
            }
            if mode.cyclic == CyclicMode::NonCyclic {
                return Err(not_producible(
                    "the non-cyclic mode with --split (--split always runs cyclic)".into(),
                ));
            }
        }
        let buffer = cyclic_buffer(mode.cyclic, self.max_mapnr(), self.file_count() as u64);
        match (mode.cyclic, buffer) {
            (CyclicMode::NonCyclic, _) | (_, None) => {}
            (_, Some(0)) => {
                return Err(not_producible(format!(
                    "{}: a cyclic buffer of 0 bytes (makedumpfile cannot make progress)",
                    mode
                )))
            }
            (_, Some(bytes)) => {
                let cycles = self.max_mapnr().div_ceil(bytes.saturating_mul(8));
                if cycles > MAX_CYCLES {
                    return Err(LayoutError::TooBig {
                        what: format!("{cycles} cycles (at most {MAX_CYCLES})"),
                    });
                }
            }
        }
        Ok(())
    }
}
