//! The dump layout: a complete, serialisable description of one kdump-compressed dump — the machine, the
//! memory it had, what every page contained, how the dump was written — from which the writers produce
//! bytes and from which the harness derives what every page must read back as.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::compress::Compression;

/// The largest number of pages a layout may describe (keeps one harness case in milliseconds).
pub const MAX_LAYOUT_PAGES: u64 = 1 << 16;
/// The largest pfn a layout may reach (bounds the bitmaps: 2^22 pfns = 512 KiB of bitmap each).
pub const MAX_LAYOUT_PFN: u64 = 1 << 22;
/// The largest number of CPUs a layout may have.
pub const MAX_CPUS: u32 = 64;
/// The largest descriptor size of one ELF note.
pub const MAX_NOTE_DESC: u32 = 8192;

/// Which program's write sequence produces the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "lowercase")]
pub enum WriterKind {
    /// QEMU's `create_kdump_vmcore` (`dump-guest-memory -z`, `kdump-zlib`, `kdump-raw-zlib`, …).
    Qemu,
    /// makedumpfile's kdump-compressed writer (`makedumpfile -c/-l/-p/-z [-F]`).
    Makedumpfile,
}

impl fmt::Display for WriterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriterKind::Qemu => "qemu",
            WriterKind::Makedumpfile => "makedumpfile",
        })
    }
}

/// The dumped machine: fixes the ELF class (32/64-bit `long`), the byte order, the `utsname.machine`
/// string and, for 32-bit machines, the layout of `kdump_sub_header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "lowercase")]
pub enum Machine {
    /// 64-bit little-endian x86.
    X86_64,
    /// 32-bit little-endian x86: 64-bit fields are 4-byte aligned (80-byte sub-header).
    I386,
    /// 64-bit little-endian ARM.
    Aarch64,
    /// 64-bit big-endian POWER.
    Ppc64,
    /// 64-bit little-endian POWER.
    Ppc64le,
    /// 64-bit big-endian IBM Z.
    S390x,
    /// 32-bit little-endian ARM: 64-bit fields are 8-byte aligned (96-byte sub-header in makedumpfile).
    Arm,
    /// 32-bit big-endian POWER: 64-bit fields are 8-byte aligned.
    Ppc,
}

/// Byte order of the dumped machine, as the model states it. Deliberately the model's own type, not the
/// kdump reader's [`crate::kdump::ByteOrder`] (nor the ELF reader's [`crate::elf::ElfByteOrder`]): the model
/// encodes independently of the readers it checks (see [`crate::model::encode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

/// Every machine, for generators and loops.
pub const ALL_MACHINES: [Machine; 8] = [
    Machine::X86_64,
    Machine::I386,
    Machine::Aarch64,
    Machine::Ppc64,
    Machine::Ppc64le,
    Machine::S390x,
    Machine::Arm,
    Machine::Ppc,
];

impl Machine {
    /// True for machines with a 64-bit `long`.
    pub fn is_64bit(self) -> bool {
        !matches!(self, Machine::I386 | Machine::Arm | Machine::Ppc)
    }

    /// The machine's byte order.
    pub fn endian(self) -> Endian {
        match self {
            Machine::Ppc64 | Machine::S390x | Machine::Ppc => Endian::Big,
            _ => Endian::Little,
        }
    }

    /// The `utsname.machine` string Linux reports (and makedumpfile copies into the header).
    pub fn uname(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::I386 => "i686",
            Machine::Aarch64 => "aarch64",
            Machine::Ppc64 => "ppc64",
            Machine::Ppc64le => "ppc64le",
            Machine::S390x => "s390x",
            Machine::Arm => "armv7l",
            Machine::Ppc => "ppc",
        }
    }

    /// True when the C ABI aligns 64-bit integers to 4 bytes (i386), which makes makedumpfile's 32-bit
    /// `kdump_sub_header` 80 bytes with no padding instead of 96.
    pub fn packs_u64_to_4(self) -> bool {
        matches!(self, Machine::I386)
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uname())
    }
}

/// A page (= block) size the model covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
pub enum PageSize {
    /// 4 KiB (x86, most others).
    #[serde(rename = "4k")]
    K4,
    /// 16 KiB (arm64 16K kernels).
    #[serde(rename = "16k")]
    K16,
    /// 64 KiB (ppc64, arm64 64K kernels).
    #[serde(rename = "64k")]
    K64,
}

impl PageSize {
    /// Size in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            PageSize::K4 => 4096,
            PageSize::K16 => 16384,
            PageSize::K64 => 65536,
        }
    }
}

/// What a page (or a run of pages) contains. Contents are generated deterministically from the variant,
/// its seed and the pfn, so a layout file stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum PageContent {
    /// All zero bytes (writers point these at the shared zero page).
    Zero,
    /// Every byte equal to `byte` (a zero byte gives a zero page).
    Fill {
        /// The byte.
        byte: u8,
    },
    /// A short pattern, derived from the seed and the pfn, repeated over the page (compresses well).
    Pattern {
        /// Pattern length in bytes, 1..=64 after clamping.
        period: u8,
        /// Seed of the pattern bytes.
        seed: u32,
    },
    /// Text-like data: words from a small dictionary (compresses moderately).
    Text {
        /// Seed of the word sequence.
        seed: u32,
    },
    /// Pseudo-random bytes (incompressible: stored raw).
    Random {
        /// Seed of the generator.
        seed: u32,
    },
    /// A zero page except for one non-zero byte (must not be taken for a zero page).
    AlmostZero {
        /// Position of the byte (taken modulo the page size).
        at: u16,
        /// Its value (0 is read as 1).
        byte: u8,
    },
}

/// What the kernel used a page for, as makedumpfile's dump levels see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum PageClass {
    /// Kernel data: always dumped.
    #[default]
    Kernel,
    /// Page cache without private data: left out by dump level bit 2.
    Cache,
    /// Page cache with private data: left out by dump level bit 4.
    CachePrivate,
    /// User process data: left out by dump level bit 8.
    User,
    /// Free page: left out by dump level bit 16.
    Free,
}

impl PageClass {
    /// The `dump_level` bit that leaves this class out (0 = never left out).
    pub fn exclusion_bit(self) -> u8 {
        match self {
            PageClass::Kernel => 0,
            PageClass::Cache => 2,
            PageClass::CachePrivate => 4,
            PageClass::User => 8,
            PageClass::Free => 16,
        }
    }
}

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

/// The largest number of files of a `--split` set a layout may ask for.
pub const MAX_SPLIT_FILES: u32 = 8;
/// The most cycles a layout's cyclic buffer may give (keeps one case fast).
pub const MAX_CYCLES: u64 = 4096;
/// The largest `-b` block order a layout may ask for (caches of `page_size << 12` bytes).
pub const MAX_BLOCK_ORDER: u32 = 12;
/// The most threads a layout may ask for (`--num-threads`; the file does not depend on the number).
pub const MAX_THREADS: u32 = 16;
/// The free memory [`CyclicMode::Automatic`] assumes when a layout does not say: plenty (1 GiB), so the
/// buffer is bounded by the bitmaps, not the memory.
pub const PLENTY_OF_FREE_MEMORY: u64 = 1 << 30;

/// makedumpfile's bitmap mode: how many pfns each cycle of its writer covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CyclicMode {
    /// The non-cyclic mode: both bitmaps whole, copied from a temporary file (what makedumpfile picks
    /// without `--cyclic-buffer` when its automatic buffer holds both bitmaps; never with `--split`).
    #[default]
    NonCyclic,
    /// No `--cyclic-buffer`: makedumpfile's own choice
    /// ([`automatic_cyclic_buffer`](super::makedumpfile::automatic_cyclic_buffer)) with `free_memory`
    /// bytes of MemFree: non-cyclic or cyclic, one cycle or several.
    Automatic {
        /// MemFree in bytes (60 % of it bounds the buffer).
        free_memory: u64,
    },
    /// A cyclic buffer of `bytes` bitmap bytes per cycle (`--cyclic-buffer K` gives `K·1024`; smaller
    /// buffers are what the automatic choice gives with little free memory): cycles of `8·bytes` pfns.
    Buffer {
        /// Bitmap bytes per cycle (≥ 1).
        bytes: u64,
    },
}

/// makedumpfile's `--split`: the dump written as `files` files, balanced in splitblocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SplitSpec {
    /// Number of files (2..=[`MAX_SPLIT_FILES`]).
    pub files: u32,
    /// Pages per splitblock (`--splitblock-size K` gives `K·1024 / page size`; makedumpfile's default is
    /// 1 GiB of pages).
    pub splitblock_pages: u64,
}

/// The makedumpfile command-line choices that shape its write sequence, not the dump's contents:
/// bitmap mode, `--num-threads`, `-b` and `--split`. QEMU has none of them (the default value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MakedumpfileMode {
    /// Bitmap mode (non-cyclic by default).
    #[serde(default)]
    pub cyclic: CyclicMode,
    /// `--num-threads N` (0: none).
    #[serde(default)]
    pub num_threads: u32,
    /// `-b ORDER`: caches of `page_size << ORDER` bytes.
    #[serde(default = "default_block_order")]
    pub block_order: u32,
    /// `--split`, if the dump is written as a set of files.
    #[serde(default)]
    pub split: Option<SplitSpec>,
}

fn default_block_order() -> u32 {
    super::makedumpfile::DEFAULT_BLOCK_ORDER
}

impl Default for MakedumpfileMode {
    fn default() -> Self {
        MakedumpfileMode {
            cyclic: CyclicMode::NonCyclic,
            num_threads: 0,
            block_order: default_block_order(),
            split: None,
        }
    }
}

impl MakedumpfileMode {
    /// True for makedumpfile's default write sequence (non-cyclic, one thread, `-b 4`, one file).
    pub fn is_default(&self) -> bool {
        *self == MakedumpfileMode::default()
    }

    /// A short label of the bitmap mode: "non-cyclic", "automatic" or "buffer".
    pub fn cyclic_label(&self) -> &'static str {
        match self.cyclic {
            CyclicMode::NonCyclic => "non-cyclic",
            CyclicMode::Automatic { .. } => "automatic",
            CyclicMode::Buffer { .. } => "buffer",
        }
    }
}

impl fmt::Display for MakedumpfileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cyclic {
            CyclicMode::NonCyclic => f.write_str("non-cyclic")?,
            CyclicMode::Automatic { free_memory } => write!(f, "cyclic=auto({free_memory})")?,
            CyclicMode::Buffer { bytes } => write!(f, "cyclic={bytes}")?,
        }
        if self.num_threads > 0 {
            write!(f, " threads={}", self.num_threads)?;
        }
        if self.block_order != default_block_order() {
            write!(f, " b={}", self.block_order)?;
        }
        if let Some(split) = self.split {
            write!(f, " split={}x{}p", split.files, split.splitblock_pages)?;
        }
        Ok(())
    }
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
}

fn default_dump_level() -> u8 {
    1
}

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
    /// Page size in bytes.
    pub fn page_bytes(&self) -> u64 {
        self.page_size.bytes()
    }

    /// `max_mapnr`: one past the last pfn of the last block (the partial last page counts), plus the
    /// pfns the memory model counts beyond it.
    pub fn max_mapnr(&self) -> u64 {
        self.blocks.last().map_or(0, |b| b.end_pfn()) + u64::from(self.max_mapnr_beyond_memory)
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

    /// Checks that the layout is well formed, within bounds and producible by its writer.
    pub fn validate(&self) -> Result<(), LayoutError> {
        if self.blocks.is_empty() {
            return Err(LayoutError::NoMemory);
        }
        let page = self.page_bytes();
        let mut previous_end = 0u64;
        for (index, block) in self.blocks.iter().enumerate() {
            if block.runs.is_empty() || block.runs.iter().any(|r| r.count == 0) {
                return Err(LayoutError::EmptyBlock { index });
            }
            if index > 0 && block.start_pfn < previous_end {
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
        match self.writer {
            WriterKind::Qemu => {
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
            }
            WriterKind::Makedumpfile => {
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
                self.validate_mode()?;
            }
        }
        Ok(())
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
        match (mode.cyclic, self.cyclic_buffer()) {
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

    /// The number of files the writer produces: the `--split` files, or 1.
    pub fn file_count(&self) -> usize {
        self.mode.split.map_or(1, |s| s.files as usize)
    }

    /// The bitmap bytes per cycle makedumpfile's writer uses for this layout
    /// ([`MakedumpfileOptions::cyclic_buffer`](super::makedumpfile::MakedumpfileOptions::cyclic_buffer)):
    /// `None` for the non-cyclic mode (and for QEMU).
    pub fn cyclic_buffer(&self) -> Option<u64> {
        if self.writer != WriterKind::Makedumpfile {
            return None;
        }
        match self.mode.cyclic {
            CyclicMode::NonCyclic => None,
            CyclicMode::Automatic { free_memory } => super::makedumpfile::automatic_cyclic_buffer(
                self.max_mapnr(),
                self.file_count() as u64,
                free_memory,
            ),
            CyclicMode::Buffer { bytes } => Some(bytes),
        }
    }

    /// The pfn range `[start, end)` of each file of the `--split` set, as makedumpfile computes them
    /// ([`split_ranges`](super::makedumpfile::split_ranges) over the dumpable pfns); `None` for a dump
    /// written as one file.
    pub fn split_ranges(&self) -> Option<Vec<(u64, u64)>> {
        let split = self
            .mode
            .split
            .filter(|_| self.writer == WriterKind::Makedumpfile)?;
        Some(super::makedumpfile::split_ranges(
            self.dumped_pfns(),
            self.max_mapnr(),
            split.files as usize,
            split.splitblock_pages,
        ))
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

/// One page of a layout, with the recipe of its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRef {
    /// Page frame number.
    pub pfn: u64,
    /// Content recipe.
    pub content: PageContent,
    /// Use class.
    pub class: PageClass,
    /// Bytes that are memory (< page size only for a partial last page; the rest is zero).
    pub valid_bytes: u64,
}

impl PageRef {
    /// The page's bytes (page-size long; bytes past `valid_bytes` are zero).
    pub fn bytes(&self, page_size: u64) -> Vec<u8> {
        let mut out = vec![0u8; page_size as usize];
        fill_page(
            &mut out[..self.valid_bytes as usize],
            self.content,
            self.pfn,
        );
        out
    }
}

const WORDS: [&str; 16] = [
    "kernel ", "page ", "struct ", "dump ", "the ", "of ", "memory ", "0x0000 ", "task ", "\n",
    "NULL ", "error: ", "init ", "sched ", "vmcore ", "= ",
];

/// Fills `out` with the content recipe for `pfn`.
fn fill_page(out: &mut [u8], content: PageContent, pfn: u64) {
    match content {
        PageContent::Zero => out.fill(0),
        PageContent::Fill { byte } => out.fill(byte),
        PageContent::Pattern { period, seed } => {
            let period = usize::from(period.clamp(1, 64));
            let mut state = mix(u64::from(seed), pfn);
            let pattern: Vec<u8> = (0..period).map(|_| next_byte(&mut state)).collect();
            for (i, b) in out.iter_mut().enumerate() {
                *b = pattern[i % period];
            }
        }
        PageContent::Text { seed } => {
            let mut state = mix(u64::from(seed), pfn);
            let mut i = 0;
            while i < out.len() {
                let word = WORDS[(next_byte(&mut state) & 15) as usize].as_bytes();
                let n = word.len().min(out.len() - i);
                out[i..i + n].copy_from_slice(&word[..n]);
                i += n;
            }
        }
        PageContent::Random { seed } => {
            let mut state = mix(u64::from(seed), pfn);
            for chunk in out.chunks_mut(8) {
                let word = next_u64(&mut state).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
        }
        PageContent::AlmostZero { at, byte } => {
            out.fill(0);
            if !out.is_empty() {
                let at = usize::from(at) % out.len();
                out[at] = byte.max(1);
            }
        }
    }
}

fn mix(seed: u64, pfn: u64) -> u64 {
    let mut z = seed ^ pfn.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31) | 1
}

fn next_u64(state: &mut u64) -> u64 {
    // xorshift64*
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn next_byte(state: &mut u64) -> u8 {
    (next_u64(state) >> 56) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn page_recipes_depend_on_the_pfn() {
        let a = PageRef {
            pfn: 1,
            content: PageContent::Random { seed: 7 },
            class: PageClass::Kernel,
            valid_bytes: 4096,
        };
        let b = PageRef { pfn: 2, ..a };
        assert_ne!(a.bytes(4096), b.bytes(4096));
        assert_eq!(a.bytes(4096), a.bytes(4096));
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
