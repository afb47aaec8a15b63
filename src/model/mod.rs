//! The reference model of kdump-compressed dumps.
//!
//! A [`Layout`] describes a dump completely: machine (32/64-bit, byte order), page size, memory blocks with
//! gaps and partial last pages, what every page contains and what it was used for, compression, CPUs and
//! notes, VMCOREINFO, dump level, eraseinfo, and whose write sequence produces it. From a layout the model
//!
//! - writes the dump through a [`DumpSink`](crate::sink::DumpSink) with QEMU's sequence
//!   ([`qemu::write_qemu_kdump`]) or makedumpfile's ([`makedumpfile::write_makedumpfile_kdump`]) —
//!   [`write_layout()`] picks by [`Layout::writer`] — so one sequence goes down the flattened and the raw
//!   path in the same run;
//! - writes makedumpfile's dumps in the write mode the layout asks for ([`Layout::mode`]: non-cyclic or
//!   cyclic bitmaps, `--num-threads`, `-b`; the file is the same whatever the mode) and, for a `--split`
//!   layout, each file of the set ([`write_layout_part`], ranges from [`makedumpfile::layout_split_ranges`];
//!   [`write_layout()`] writes such a layout's dump as one file);
//! - knows what every pfn must read back as ([`Layout::expected_page`]);
//! - writes the layouts of other writers that every reader reads alike ([`Layout::deviations`],
//!   [`deviation`]: notes after the data, data out of pfn order, `sub_hdr_size` 0, split parts with their
//!   own timestamps or with gaps), a single file through [`variant_writer`].
//!
//! **Independence.** The structures are encoded by this module's own encoder ([`encode`]), written from
//! the byte tables of docs/FORMATS.md, not with the reader's decoding structs in `crate::kdump`. This is
//! deliberate: the harness checks the reader against the model and the model against the reader, and a
//! field misplaced in a shared definition would be misplaced on both sides and never caught. Only the
//! compression codecs (`crate::compress`) and the sinks are shared.
//!
//! **Rooms.** The description: [`layout`] (the [`Layout`], its memory blocks and notes), [`machine`] (writer,
//! machine, page size), [`page_content`] (what a page contains and its bytes), [`mode`] (makedumpfile's write
//! mode), [`validate`] (well formed, in bounds, producible). The writers: [`qemu`] and [`makedumpfile`] (each
//! with its own policies), sharing only [`write`](mod@write) (blocks, counting sink, summary, errors, page
//! storage, geometry) and the encoder [`encode`] and [`notes`]; neither imports the other, and the
//! description imports only makedumpfile's pure policies ([`makedumpfile::policy`]) to validate a mode.
//! [`memory`] and [`write_layout`](mod@write_layout) connect a layout to the writers.
//!
//! Random layouts come from [`arbitrary`] ([`gen::arbitrary_layout`], for fuzzing) and from proptest
//! strategies that shrink towards small layouts ([`gen::layout_strategy`]).
//!
//! ```
//! use kdump_flat::model::gen::{layout_from_seed, SizeClass};
//! use kdump_flat::model::{write_layout, ExpectedPage};
//! use kdump_flat::sink::{FlatSink, RawSink, TeeSink};
//!
//! let layout = layout_from_seed(1, SizeClass::Small);
//! let mut both = TeeSink(RawSink::in_memory(), FlatSink::new(Vec::new()));
//! let summary = write_layout(&layout, &mut both).unwrap();
//! let TeeSink(raw, flat) = both;
//! assert_eq!(raw.into_bytes().len() as u64, summary.end);
//! assert_eq!(&flat.into_inner()[..12], b"makedumpfile");
//! let first = layout.blocks[0].start_pfn;
//! assert!(matches!(layout.expected_page(first), ExpectedPage::Data(_) | ExpectedPage::Excluded));
//! ```

pub mod deviation;
#[cfg(feature = "harness")]
pub mod edges;
pub mod encode;
#[cfg(feature = "harness")]
pub mod gen;
pub mod layout;
pub mod machine;
pub mod makedumpfile;
pub mod memory;
pub mod mode;
pub mod notes;
pub mod page_content;
pub mod qemu;
pub mod qemu_elf;
pub mod validate;
pub mod variant_writer;
pub mod write;
pub mod write_layout;

pub use deviation::{
    DataOrder, Deviations, NotesPlacement, SplitCoverage, SplitStamps, SubHeaderBlocks,
};
pub use layout::{ExpectedPage, Layout, MemoryBlock, NoteSpec, PageRun, Utsname};
pub use machine::{Endian, Machine, PageSize, WriterKind, ALL_MACHINES};
pub use memory::BlockMemory;
pub(crate) use memory::{block_memories, guest_blocks};
pub use mode::{
    CyclicMode, MakedumpfileMode, SplitSpec, DEFAULT_BLOCK_ORDER, MAX_BLOCK_ORDER, MAX_CYCLES,
    MAX_SPLIT_FILES, MAX_THREADS, PLENTY_OF_FREE_MEMORY,
};
pub use page_content::{PageClass, PageContent, PageRef};
pub use qemu::{write_qemu_kdump, QemuDumpOptions};
pub use qemu_elf::{qemu_class_is_64bit, qemu_writes_64bit};
pub use validate::{LayoutError, MAX_CPUS, MAX_LAYOUT_PAGES, MAX_LAYOUT_PFN, MAX_NOTE_DESC};
pub use write::{store_page, GuestBlock, WriteError, WriteSummary};
pub use write_layout::{qemu_options, struct_abi, write_layout, write_layout_part};
