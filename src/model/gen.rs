//! Random layouts: from `arbitrary` bytes (fuzzing), from a seed (the CLI), as a proptest strategy, and a
//! greedy shrinker that turns a failing layout into a small one.
//!
//! Every generated layout is valid for its writer and bounded by a [`SizeClass`], so one harness case takes
//! milliseconds. Generation reads choices from an [`Unstructured`]; when the bytes run out every choice
//! takes its smallest value, so shorter inputs give smaller layouts and proptest's shrinking of the byte
//! vector shrinks the layout.

use arbitrary::{Result as ArbResult, Unstructured};
use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::compress::{Compression, ALL_COMPRESSIONS};

use super::deviation::sub_header_zero_first_pfn;
use super::edges::draw_boundary;
use super::makedumpfile::layout_cyclic_buffer;
use super::{
    struct_abi, CyclicMode, DataOrder, Deviations, Layout, Machine, MakedumpfileMode, MemoryBlock,
    NoteSpec, NotesPlacement, PageClass, PageContent, PageRun, PageSize, SplitCoverage, SplitSpec,
    SplitStamps, SubHeaderBlocks, Utsname, WriterKind, ALL_MACHINES, MAX_CYCLES,
    PLENTY_OF_FREE_MEMORY,
};

/// How big generated layouts may be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum SizeClass {
    /// At most 96 pages (3 blocks, gaps ≤ 64 pfns): milliseconds a case.
    #[default]
    Small,
    /// At most 2048 pages (4 blocks, gaps ≤ 8192 pfns).
    Medium,
    /// At most 36864 pages (6 blocks, gaps ≤ 300000 pfns): several bitmap chunks and many cache flushes.
    Large,
}

struct Bounds {
    max_blocks: u32,
    max_runs: u32,
    max_run_pages: u32,
    max_gap: u64,
}

impl SizeClass {
    fn bounds(self) -> Bounds {
        match self {
            SizeClass::Small => Bounds {
                max_blocks: 3,
                max_runs: 4,
                max_run_pages: 8,
                max_gap: 64,
            },
            SizeClass::Medium => Bounds {
                max_blocks: 4,
                max_runs: 8,
                max_run_pages: 64,
                max_gap: 8192,
            },
            SizeClass::Large => Bounds {
                max_blocks: 6,
                max_runs: 12,
                max_run_pages: 512,
                max_gap: 300_000,
            },
        }
    }
}

/// The bytes of its last page a block ending mid-page holds: 1 to `page_bytes` − 1.
fn short_tail(u: &mut Unstructured<'_>, page_bytes: u32) -> ArbResult<u32> {
    u.int_in_range(1..=page_bytes - 1)
}

fn pick<T: Copy>(u: &mut Unstructured<'_>, items: &[T]) -> ArbResult<T> {
    Ok(items[u.choose_index(items.len()).unwrap_or(0)])
}

fn content(u: &mut Unstructured<'_>) -> ArbResult<PageContent> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=1 => PageContent::Zero,
        2 => PageContent::Fill {
            byte: u.arbitrary()?,
        },
        3..=4 => PageContent::Pattern {
            period: u.int_in_range(1..=64)?,
            seed: u.arbitrary()?,
        },
        5..=6 => PageContent::Text {
            seed: u.arbitrary()?,
        },
        7..=8 => PageContent::Random {
            seed: u.arbitrary()?,
        },
        _ => PageContent::AlmostZero {
            at: u.arbitrary()?,
            byte: u.arbitrary()?,
        },
    })
}

fn class(u: &mut Unstructured<'_>) -> ArbResult<PageClass> {
    // Mostly kernel pages, so most pages are dumped whatever the dump level.
    Ok(match u.int_in_range(0u8..=9)? {
        0..=5 => PageClass::Kernel,
        6 => PageClass::Cache,
        7 => PageClass::CachePrivate,
        8 => PageClass::User,
        _ => PageClass::Free,
    })
}

fn vmcoreinfo(
    u: &mut Unstructured<'_>,
    machine: Machine,
    page_size: PageSize,
) -> ArbResult<String> {
    let mut text = format!(
        "OSRELEASE=6.1.0-model\nBUILD-ID=0123456789abcdef\nPAGESIZE={}\n",
        page_size.bytes()
    );
    if machine == Machine::X86_64 {
        text.push_str("NUMBER(phys_base)=0\n");
    }
    let extra = u.int_in_range(0u8..=6)?;
    for i in 0..extra {
        let value: u32 = u.arbitrary()?;
        text.push_str(&format!("NUMBER(model_field_{i})={value}\n"));
    }
    text.push_str("CRASHTIME=1700000000\n");
    Ok(text)
}

fn eraseinfo(u: &mut Unstructured<'_>) -> ArbResult<String> {
    let lines = u.int_in_range(1u8..=4)?;
    let mut text = String::new();
    for i in 0..lines {
        let size: u16 = u.arbitrary()?;
        if u.arbitrary()? {
            text.push_str(&format!("erase modelsym{i}.field nullify\n"));
        } else {
            text.push_str(&format!("erase modelsym{i} size {}\n", u32::from(size) + 1));
        }
    }
    Ok(text)
}

/// Builds a valid layout of the given size class from unstructured bytes (for fuzz targets).
pub fn arbitrary_layout(u: &mut Unstructured<'_>, size: SizeClass) -> ArbResult<Layout> {
    let bounds = size.bounds();
    let writer = if u.arbitrary()? {
        WriterKind::Makedumpfile
    } else {
        WriterKind::Qemu
    };
    let machine = pick(u, &ALL_MACHINES)?;
    // 4 KiB most of the time; larger pages get proportionally fewer pages.
    let page_size = match u.int_in_range(0u8..=5)? {
        0..=3 => PageSize::K4,
        4 => PageSize::K16,
        _ => PageSize::K64,
    };
    let compression = arbitrary_compression(u, writer)?;
    let blocks = arbitrary_blocks(u, &bounds, page_size)?;
    let notes = arbitrary_notes(u, writer, machine, page_size)?;
    let (dump_level, eraseinfo, utsname, timestamp) = match writer {
        WriterKind::Qemu => (1, None, Utsname::default(), (0, 0)),
        WriterKind::Makedumpfile => arbitrary_makedumpfile_header(u)?,
    };
    let phys_base = if u.arbitrary()? {
        0
    } else {
        u64::from(u.arbitrary::<u16>()?) << 20
    };
    let mut layout = Layout {
        writer,
        machine,
        page_size,
        compression,
        blocks,
        notes,
        dump_level,
        eraseinfo,
        phys_base,
        timestamp,
        utsname,
        max_mapnr_beyond_memory: 0,
        mode: MakedumpfileMode::default(),
        deviations: Deviations::default(),
    };
    if writer == WriterKind::Makedumpfile && u.ratio(1u8, 4)? {
        layout.max_mapnr_beyond_memory = u.int_in_range(1..=256)?;
    }
    // makedumpfile refuses to write a dump with no dumpable page: keep one kernel page.
    if layout.writer == WriterKind::Makedumpfile && layout.dumped_pages() == 0 {
        layout.blocks[0].runs[0].class = PageClass::Kernel;
    }
    // About half the layouts are moved onto a bitmap edge, an extreme partial page or touching blocks.
    draw_boundary(u, &mut layout)?;
    // Chosen last, so the layout's contents do not depend on it (and a seed's contents stay those it had
    // before modes were generated).
    if layout.writer == WriterKind::Makedumpfile {
        layout.mode = makedumpfile_mode(u, &layout)?;
        // Last of all, so a seed that draws no variant is the layout it was before variants existed.
        draw_deviations(u, &mut layout)?;
    }
    Ok(layout)
}

/// The page compression: every method for makedumpfile; mostly zlib for QEMU (what it is mostly used
/// with), every method covered.
fn arbitrary_compression(u: &mut Unstructured<'_>, writer: WriterKind) -> ArbResult<Compression> {
    Ok(match writer {
        // zlib is what QEMU is mostly used with; every method is covered.
        WriterKind::Qemu => pick(
            u,
            &[
                Compression::Zlib,
                Compression::Zlib,
                Compression::Lzo,
                Compression::Snappy,
                Compression::None,
                Compression::Zstd,
            ],
        )?,
        WriterKind::Makedumpfile => pick(u, &ALL_COMPRESSIONS)?,
    })
}

/// The memory blocks: gaps between them, runs of pages, maybe a partial last page (larger pages get
/// proportionally fewer pages).
fn arbitrary_blocks(
    u: &mut Unstructured<'_>,
    bounds: &Bounds,
    page_size: PageSize,
) -> ArbResult<Vec<MemoryBlock>> {
    let scale = (page_size.bytes() / 4096) as u32;
    let block_count = u.int_in_range(1..=bounds.max_blocks)?;
    let mut blocks = Vec::new();
    let mut next_pfn = u.int_in_range(0..=bounds.max_gap.min(256))?;
    for index in 0..block_count {
        let run_count = u.int_in_range(1..=bounds.max_runs)?;
        let mut runs = Vec::new();
        for _ in 0..run_count {
            runs.push(PageRun {
                count: u.int_in_range(1..=(bounds.max_run_pages / scale).max(1))?,
                content: content(u)?,
                class: class(u)?,
            });
        }
        let short_tail = if index + 1 == block_count && u.ratio(1u8, 4)? {
            short_tail(u, page_size.bytes() as u32)?
        } else {
            0
        };
        let block = MemoryBlock {
            start_pfn: next_pfn,
            runs,
            short_tail,
        };
        next_pfn = block.end_pfn() + u.int_in_range(0..=bounds.max_gap)?;
        blocks.push(block);
    }
    Ok(blocks)
}

/// The notes: CPUs (QEMU has at least one), NT_PRSTATUS size, QEMU's CPU-state notes, VMCOREINFO.
fn arbitrary_notes(
    u: &mut Unstructured<'_>,
    writer: WriterKind,
    machine: Machine,
    page_size: PageSize,
) -> ArbResult<NoteSpec> {
    let cpus = match writer {
        WriterKind::Qemu => u.int_in_range(1..=4)?,
        WriterKind::Makedumpfile => u.int_in_range(0..=4)?,
    };
    let default_prstatus = if machine.is_64bit() { 336 } else { 144 };
    let prstatus_size = if u.ratio(3u8, 4)? {
        default_prstatus
    } else {
        u.int_in_range(0..=600)?
    };
    let qemu_cpu_state_size = match writer {
        WriterKind::Qemu => Some(if u.ratio(3u8, 4)? {
            0x1b8
        } else {
            u.int_in_range(0..=600)?
        }),
        WriterKind::Makedumpfile => None,
    };
    let vmcoreinfo = if u.arbitrary()? {
        Some(vmcoreinfo(u, machine, page_size)?)
    } else {
        None
    };
    Ok(NoteSpec {
        cpus,
        prstatus_size,
        qemu_cpu_state_size,
        vmcoreinfo,
    })
}

/// makedumpfile's header choices: dump level, eraseinfo, utsname, timestamp (seconds, microseconds).
type HeaderChoices = (u8, Option<String>, Utsname, (u32, u32));

/// makedumpfile's dump level, eraseinfo, utsname and timestamp.
fn arbitrary_makedumpfile_header(u: &mut Unstructured<'_>) -> ArbResult<HeaderChoices> {
    let dump_level = u.int_in_range(0..=31)?;
    let erase = if u.ratio(1u8, 3)? {
        Some(eraseinfo(u)?)
    } else {
        None
    };
    let uts = Utsname {
        sysname: "Linux".into(),
        nodename: "model-host".into(),
        release: "6.1.0-model".into(),
        version: "#1 SMP PREEMPT_DYNAMIC".into(),
        machine: String::new(),
        domainname: "(none)".into(),
    };
    Ok((
        dump_level,
        erase,
        uts,
        (
            u.int_in_range(0..=2_000_000_000)?,
            u.int_in_range(0..=999_999)?,
        ),
    ))
}

/// makedumpfile's write mode for `layout`: about a quarter of the layouts split into 2–4 files (a few
/// into up to 8, small splitblocks mostly, so small layouts get several non-empty files; sometimes the
/// default 1 GiB splitblock, which puts everything in the first file); the bitmap mode non-cyclic,
/// automatic (plenty of free memory, or little: many cycles) or an explicit buffer giving 1 to 64
/// cycles (cycles may end inside a bitmap byte's worth of pfns only at the end); `--num-threads` for a
/// quarter of the single files; `-b` other than 4 for a quarter.
fn makedumpfile_mode(u: &mut Unstructured<'_>, layout: &Layout) -> ArbResult<MakedumpfileMode> {
    let mut mode = MakedumpfileMode::default();
    let bitmap_bytes = layout.max_mapnr().div_ceil(8).max(1);
    if u.ratio(1u8, 4)? {
        let files = if u.ratio(1u8, 8)? {
            u.int_in_range(5..=8)?
        } else {
            u.int_in_range(2..=4)?
        };
        let splitblock_pages = match u.int_in_range(0u8..=7)? {
            0 => (1u64 << 30) / layout.page_bytes(),
            1..=3 => u.int_in_range(1..=4)?,
            _ => u.int_in_range(1..=16)?,
        };
        mode.split = Some(SplitSpec {
            files,
            splitblock_pages,
        });
    }
    let buffer_for_cycles = |cycles: u64| bitmap_bytes.div_ceil(cycles).max(1);
    mode.cyclic = match u.int_in_range(0u8..=9)? {
        0..=3 if mode.split.is_none() => CyclicMode::NonCyclic,
        0..=4 => CyclicMode::Automatic {
            free_memory: PLENTY_OF_FREE_MEMORY,
        },
        5 => {
            // Little free memory: 60 % of it is the buffer (at least one byte, at most 64 cycles).
            let bytes = buffer_for_cycles(u.int_in_range(1..=64)?);
            CyclicMode::Automatic {
                free_memory: free_memory_giving_buffer(bytes),
            }
        }
        6 => CyclicMode::Buffer {
            // --cyclic-buffer K: K KiB.
            bytes: u64::from(u.int_in_range(1u8..=4)?) * 1024,
        },
        _ => CyclicMode::Buffer {
            bytes: buffer_for_cycles(u.int_in_range(1..=64)?),
        },
    };
    if mode.split.is_none() && u.ratio(1u8, 4)? {
        mode.num_threads = u.int_in_range(1..=4)?;
    }
    if u.ratio(1u8, 4)? {
        mode.block_order = u.int_in_range(0..=6)?;
    }
    // Automatic with a split set can give a buffer of 0 bytes for a tiny max_mapnr (max_mapnr·2/8/files):
    // makedumpfile could not write that; take an explicit byte.
    let probe = Layout {
        mode,
        ..layout.clone()
    };
    if layout_cyclic_buffer(&probe) == Some(0)
        || layout_cyclic_buffer(&probe)
            .is_some_and(|b| layout.max_mapnr().div_ceil(b * 8) > MAX_CYCLES)
    {
        mode.cyclic = CyclicMode::Buffer {
            bytes: buffer_for_cycles(MAX_CYCLES.min(64)),
        };
    }
    Ok(mode)
}

/// The free memory (MemFree) for which makedumpfile's automatic cyclic buffer, 60 % of it rounded down,
/// is `bytes` bytes (when neither the 4 MiB cap nor the bitmaps' size binds).
fn free_memory_giving_buffer(bytes: u64) -> u64 {
    bytes * 5 / 3 + 1
}

/// True with probability 1/`n` (false when the bytes run out, so shrinking removes the choice).
fn one_in(u: &mut Unstructured<'_>, n: u8) -> ArbResult<bool> {
    Ok(u.int_in_range(1..=n)? == n)
}

/// Other writers' layouts ([`super::deviation`]), at the rates docs/harness.md states: for a single file,
/// the notes after the data (1 in 10), the data reversed or shuffled (1 in 10, half each) and
/// `sub_hdr_size` 0 (1 in 12; the notes then go after the data and the memory moves up above the pfns
/// whose bitmap-1 bits the sub-header's bytes are); such a file is another writer's, so it has
/// makedumpfile's default write mode. For a `--split` set: every file with its own timestamp (1 in 4),
/// every range trimmed by 1–8 pfns at its end (1 in 4).
fn draw_deviations(u: &mut Unstructured<'_>, layout: &mut Layout) -> ArbResult<()> {
    let mut d = Deviations::default();
    if layout.mode.split.is_some() {
        if one_in(u, 4)? {
            d.split_stamps = SplitStamps::PerPart;
        }
        if one_in(u, 4)? {
            d.split_coverage = SplitCoverage::Trimmed {
                pfns: u.int_in_range(1..=8)?,
            };
        }
    } else {
        if one_in(u, 10)? {
            d.notes = NotesPlacement::AfterData;
        }
        if one_in(u, 10)? {
            d.data_order = if u.arbitrary()? {
                DataOrder::Reversed
            } else {
                DataOrder::Shuffled {
                    seed: u.arbitrary()?,
                }
            };
        }
        if one_in(u, 12)? {
            d.sub_header_blocks = SubHeaderBlocks::Zero;
            d.notes = NotesPlacement::AfterData;
            let first = sub_header_zero_first_pfn(struct_abi(layout));
            let shift = first.saturating_sub(layout.blocks[0].start_pfn);
            for block in &mut layout.blocks {
                block.start_pfn += shift;
            }
        }
        if d.changes_file_layout() {
            layout.mode = MakedumpfileMode::default();
        }
    }
    layout.deviations = d;
    Ok(())
}

/// A deterministic random layout from a seed (what `kdump-flat gen --seed` and `selftest` use).
pub fn layout_from_seed(seed: u64, size: SizeClass) -> Layout {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut bytes = vec![0u8; 4096];
    rng.fill_bytes(&mut bytes);
    let mut u = Unstructured::new(&bytes);
    arbitrary_layout(&mut u, size)
        .expect("layout generation never fails: choices default when bytes run out")
}

/// A proptest strategy for layouts of a size class; shrinks towards fewer, smaller blocks and simpler
/// choices (its input bytes shrink towards fewer and smaller values).
pub fn layout_strategy(size: SizeClass) -> impl Strategy<Value = Layout> {
    proptest::collection::vec(any::<u8>(), 0..1024).prop_map(move |bytes| {
        let mut u = Unstructured::new(&bytes);
        arbitrary_layout(&mut u, size).expect("layout generation never fails")
    })
}

/// Simpler variants of a layout (one step each), for greedy shrinking: fewer blocks, fewer runs, shorter
/// runs, smaller gaps, fewer CPUs, no vmcoreinfo or eraseinfo, no compression, 4 KiB pages.
pub fn shrink_candidates(layout: &Layout) -> Vec<Layout> {
    let mut out = Vec::new();
    let mut push = |l: Layout| {
        if l.validate().is_ok() && &l != layout {
            out.push(l);
        }
    };
    for i in 0..layout.blocks.len() {
        if layout.blocks.len() > 1 {
            let mut l = layout.clone();
            l.blocks.remove(i);
            push(l);
        }
        for j in 0..layout.blocks[i].runs.len() {
            if layout.blocks[i].runs.len() > 1 {
                let mut l = layout.clone();
                l.blocks[i].runs.remove(j);
                push(l);
            }
            let count = layout.blocks[i].runs[j].count;
            if count > 1 {
                let mut l = layout.clone();
                l.blocks[i].runs[j].count = count / 2;
                push(l);
                let mut l = layout.clone();
                l.blocks[i].runs[j].count = count - 1;
                push(l);
            }
            if layout.blocks[i].runs[j].content != PageContent::Zero {
                let mut l = layout.clone();
                l.blocks[i].runs[j].content = PageContent::Zero;
                push(l);
            }
            if layout.blocks[i].runs[j].class != PageClass::Kernel {
                let mut l = layout.clone();
                l.blocks[i].runs[j].class = PageClass::Kernel;
                push(l);
            }
        }
        let gap_floor = if i == 0 {
            0
        } else {
            layout.blocks[i - 1].end_pfn()
        };
        if layout.blocks[i].start_pfn > gap_floor {
            let shift = (layout.blocks[i].start_pfn - gap_floor).div_ceil(2);
            let mut l = layout.clone();
            for b in &mut l.blocks[i..] {
                b.start_pfn -= shift;
            }
            push(l);
        }
        if layout.blocks[i].short_tail != 0 {
            let mut l = layout.clone();
            l.blocks[i].short_tail = 0;
            push(l);
        }
    }
    if layout.notes.cpus > 1 {
        let mut l = layout.clone();
        l.notes.cpus = 1;
        push(l);
    }
    if layout.notes.vmcoreinfo.is_some() {
        let mut l = layout.clone();
        l.notes.vmcoreinfo = None;
        push(l);
    }
    if layout.eraseinfo.is_some() {
        let mut l = layout.clone();
        l.eraseinfo = None;
        push(l);
    }
    if layout.compression != Compression::None {
        let mut l = layout.clone();
        l.compression = Compression::None;
        push(l);
    }
    if layout.page_size != PageSize::K4 {
        let mut l = layout.clone();
        l.page_size = PageSize::K4;
        for b in &mut l.blocks {
            b.short_tail = b.short_tail.min(4095);
        }
        push(l);
    }
    if layout.max_mapnr_beyond_memory != 0 {
        let mut l = layout.clone();
        l.max_mapnr_beyond_memory = 0;
        push(l);
    }
    if !layout.mode.is_default() {
        let mut l = layout.clone();
        l.mode = MakedumpfileMode::default();
        push(l);
        if let Some(split) = layout.mode.split {
            let mut l = layout.clone();
            l.mode.split = None;
            push(l);
            if split.files > 2 {
                let mut l = layout.clone();
                l.mode.split = Some(SplitSpec {
                    files: split.files - 1,
                    ..split
                });
                push(l);
            }
        }
        for simpler in [
            MakedumpfileMode {
                num_threads: 0,
                ..layout.mode
            },
            MakedumpfileMode {
                block_order: MakedumpfileMode::default().block_order,
                ..layout.mode
            },
        ] {
            let mut l = layout.clone();
            l.mode = simpler;
            push(l);
        }
    }
    if !layout.deviations.is_none() {
        let mut l = layout.clone();
        l.deviations = Deviations::default();
        push(l);
    }
    if layout.writer == WriterKind::Makedumpfile && layout.dump_level != 0 {
        let mut l = layout.clone();
        l.dump_level = 0;
        push(l);
    }
    out
}

/// Greedily shrinks `layout` while `still_fails` holds, trying at most `budget` candidates.
pub fn shrink_layout(
    layout: &Layout,
    budget: usize,
    mut still_fails: impl FnMut(&Layout) -> bool,
) -> Layout {
    let mut current = layout.clone();
    let mut tried = 0;
    'outer: while tried < budget {
        for candidate in shrink_candidates(&current) {
            tried += 1;
            if still_fails(&candidate) {
                current = candidate;
                continue 'outer;
            }
            if tried >= budget {
                break 'outer;
            }
        }
        break;
    }
    current
}

/// The first small layout (seeds from 0) that `wanted` accepts: the unit tests' way to a layout of some
/// kind. Panics naming `what` if none of the first 5000 seeds gives one.
#[cfg(test)]
pub(crate) fn first_small_layout_where(what: &str, wanted: impl Fn(&Layout) -> bool) -> Layout {
    (0..5000)
        .map(|seed| layout_from_seed(seed, SizeClass::Small))
        .find(|l| wanted(l))
        .unwrap_or_else(|| panic!("no seed below 5000 gives {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tails_reach_both_ends_of_their_range_and_never_a_whole_page() {
        let mut bytes = vec![0u8; 1 << 20];
        ChaCha8Rng::seed_from_u64(5).fill_bytes(&mut bytes);
        let mut u = Unstructured::new(&bytes);
        let drawn: Vec<u32> = (0..200_000)
            .map(|_| short_tail(&mut u, 4096).unwrap())
            .collect();
        assert_eq!(drawn.iter().min(), Some(&1));
        assert_eq!(drawn.iter().max(), Some(&4095));
    }

    /// Names a kind of page content and tells whether a content is of that kind.
    type ContentKind = (&'static str, fn(&PageContent) -> bool);

    #[test]
    fn small_layouts_draw_every_page_content_kind() {
        let kinds: [ContentKind; 6] = [
            ("zero pages", |c| matches!(c, PageContent::Zero)),
            ("filled pages", |c| matches!(c, PageContent::Fill { .. })),
            ("pattern pages", |c| {
                matches!(c, PageContent::Pattern { .. })
            }),
            ("text pages", |c| matches!(c, PageContent::Text { .. })),
            ("random pages", |c| matches!(c, PageContent::Random { .. })),
            ("almost-zero pages", |c| {
                matches!(c, PageContent::AlmostZero { .. })
            }),
        ];
        for (what, is_kind) in kinds {
            first_small_layout_where(what, |layout| {
                layout
                    .blocks
                    .iter()
                    .flat_map(|block| &block.runs)
                    .any(|run| is_kind(&run.content))
            });
        }
    }

    #[test]
    fn little_free_memory_gives_the_buffer_drawn() {
        use crate::model::makedumpfile::automatic_cyclic_buffer;
        // max_mapnr 2^30: 256 MiB of bitmaps, so only free memory and the 4 MiB cap can bind
        for bytes in (1..=3000).chain([4095, 4096, 65537, (4 << 20) - 1, 4 << 20]) {
            let free_memory = free_memory_giving_buffer(bytes);
            assert_eq!(
                automatic_cyclic_buffer(1 << 30, 1, free_memory),
                Some(bytes),
                "free memory {free_memory}"
            );
        }
    }

    #[test]
    fn seeded_layouts_are_valid_and_deterministic() {
        for seed in 0..200 {
            for size in [SizeClass::Small, SizeClass::Medium, SizeClass::Large] {
                let layout = layout_from_seed(seed, size);
                layout
                    .validate()
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                assert_eq!(layout, layout_from_seed(seed, size));
            }
        }
    }

    #[test]
    fn empty_input_gives_the_smallest_layout() {
        let mut u = Unstructured::new(&[]);
        let layout = arbitrary_layout(&mut u, SizeClass::Large).unwrap();
        layout.validate().unwrap();
        assert_eq!(layout.memory_pages(), 1);
    }

    /// A failure that needs a `--split` set shrinks to a set of two files (one fewer file per step).
    #[test]
    fn shrinking_a_split_failure_reaches_two_files() {
        let layout = first_small_layout_where("a split set of 3 files or more", |l| {
            l.mode.split.is_some_and(|s| s.files > 2)
        });
        let small = shrink_layout(&layout, 10_000, |l| l.mode.split.is_some());
        assert_eq!(small.mode.split.map(|s| s.files), Some(2), "{small:?}");
    }

    #[test]
    fn shrinking_drops_short_tails() {
        let layout = first_small_layout_where("a short tail", |l| {
            l.blocks.iter().any(|b| b.short_tail != 0)
        });
        let small = shrink_layout(&layout, 10_000, |_| true);
        assert!(small.blocks.iter().all(|b| b.short_tail == 0), "{small:?}");
    }

    #[test]
    fn shrinking_reaches_one_cpu() {
        let layout = first_small_layout_where("several CPUs", |l| l.notes.cpus > 1);
        let small = shrink_layout(&layout, 10_000, |_| true);
        assert_eq!(small.notes.cpus, 1, "{small:?}");
    }

    #[test]
    fn shrinking_reaches_a_small_layout() {
        let layout = layout_from_seed(7, SizeClass::Medium);
        let small = shrink_layout(&layout, 10_000, |_| true);
        assert_eq!(small.memory_pages(), 1, "{small:?}");
        assert_eq!(small.blocks.len(), 1);
    }
}
