//! **P3**: through `kdump::KdumpFile` (and `kdump::KdumpSet` for a split set), over raw and flattened
//! bytes, the structures read back as the layout implies ([`super::structures`]) and every pfn reads
//! back as the model says.

use crate::flat::index::FlatIndex;
use crate::kdump::{KdumpError, KdumpFile, KdumpSet, PageContent};
use crate::model::deviation::{part_timestamp, split_gaps};
use crate::model::variant_writer::bitmap1_overlay;
use crate::model::{Layout, PageRef};
use crate::readat::ReadAt;

use super::case::{dump_files, CaseOutput};
use super::extents::expected_file_extents;
use super::property::{fail, Property, PropertyFailure};
use super::structures::compare_structures;

/// P3: through `kdump::KdumpFile`, over the raw bytes and over the flattened bytes read in place
/// (`flat::index::FlatIndex`), the header, sub-header, notes, VMCOREINFO and eraseinfo read back as the
/// layout implies and every pfn reads back as the model says (data equal to the model's page, excluded,
/// not in memory). For a `--split` layout, also through `kdump::KdumpSet` over the set's raw files and over
/// its flattened files read in place: every file's headers (split range, its eraseinfo) and every pfn.
pub fn p3_pages_read_back(layout: &Layout, output: &CaseOutput) -> Result<(), PropertyFailure> {
    let expected = expected_pages(layout);
    let raw = KdumpFile::open(output.raw.as_slice())
        .map_err(|e| fail(Property::P3, format!("raw: cannot open: {e}")))?;
    compare_read_back(layout, &expected, &raw)
        .map_err(|d| fail(Property::P3, format!("raw: {d}")))?;
    let index = FlatIndex::open(output.flat.as_slice())
        .map_err(|e| fail(Property::P3, format!("flattened: cannot index: {e}")))?;
    let flat = KdumpFile::open(index)
        .map_err(|e| fail(Property::P3, format!("flattened: cannot open: {e}")))?;
    compare_read_back(layout, &expected, &flat)
        .map_err(|d| fail(Property::P3, format!("flattened: {d}")))?;
    if output.parts.is_empty() {
        return Ok(());
    }
    let files = dump_files(output);
    let expectations: Vec<FileExpectation> = files
        .iter()
        .map(|f| FileExpectation::new(layout, f.range, f.part))
        .collect();
    let raws: Vec<&[u8]> = files.iter().map(|f| f.raw).collect();
    read_back_set(layout, &expected, &expectations, &raws)
        .map_err(|d| fail(Property::P3, format!("split set, raw: {d}")))?;
    let flats: Vec<&[u8]> = files.iter().map(|f| f.flat).collect();
    read_back_flat_set(layout, &expected, &expectations, &flats)
        .map_err(|d| fail(Property::P3, format!("split set, flattened: {d}")))
}

/// Opens raw files (given in reverse order) as one [`KdumpSet`] and compares it with the model.
pub(super) fn read_back_set(
    layout: &Layout,
    expected: &[Option<PageRef>],
    expectations: &[FileExpectation],
    raws: &[&[u8]],
) -> Result<(), String> {
    let files = raws
        .iter()
        .enumerate()
        .rev()
        .map(|(i, raw)| KdumpFile::open(*raw).map_err(|e| format!("file {i}: cannot open: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let set = open_set(layout, files).map_err(|e| format!("not one set: {e}"))?;
    compare_set_read_back(layout, expected, &set, expectations)
}

/// Indexes flattened files in place (given in reverse order), opens them as one [`KdumpSet`] and
/// compares it with the model.
pub(super) fn read_back_flat_set(
    layout: &Layout,
    expected: &[Option<PageRef>],
    expectations: &[FileExpectation],
    flats: &[&[u8]],
) -> Result<(), String> {
    let files = flats
        .iter()
        .enumerate()
        .rev()
        .map(|(i, flat)| {
            let index =
                FlatIndex::open(*flat).map_err(|e| format!("file {i}: cannot index: {e}"))?;
            KdumpFile::open(index).map_err(|e| format!("file {i}: cannot open: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let set = open_set(layout, files).map_err(|e| format!("not one set: {e}"))?;
    compare_set_read_back(layout, expected, &set, expectations)
}

/// What every pfn below `max_mapnr` must read back as, in pfn order: `Some(page)` for a page in memory,
/// `None` for a pfn in no memory block.
pub(super) fn expected_pages(layout: &Layout) -> Vec<Option<PageRef>> {
    let mut out = vec![None; layout.max_mapnr() as usize];
    for page in layout.pages() {
        out[page.pfn as usize] = Some(page);
    }
    out
}

/// What one file's sub-header must say beyond what the whole dump implies: its split range and where its
/// eraseinfo is.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileExpectation {
    /// The pfn range of a file of a `--split` set.
    pub(super) range: Option<(u64, u64)>,
    /// `offset_eraseinfo`, `size_eraseinfo` ((0, 0) without eraseinfo).
    pub(super) eraseinfo: (u64, u64),
    /// The header's timestamp (a split file's own with [`crate::model::SplitStamps::PerPart`]).
    pub(super) timestamp: (u32, u32),
}

impl FileExpectation {
    /// What file `part` of a split set, holding `range`, must say (`None`, `None`: the one file).
    pub(super) fn new(layout: &Layout, range: Option<(u64, u64)>, part: Option<usize>) -> Self {
        let eraseinfo = expected_file_extents(layout, range)
            .iter()
            .find(|e| e.name == "eraseinfo")
            .map_or((0, 0), |e| (e.start, e.end - e.start));
        FileExpectation {
            range,
            eraseinfo,
            timestamp: part_timestamp(layout, part.unwrap_or(0)),
        }
    }
}

/// Compares every pfn read through `dump` (a single file) with the model; the first disagreement is
/// returned.
fn compare_read_back<R: ReadAt>(
    layout: &Layout,
    expected: &[Option<PageRef>],
    dump: &KdumpFile<R>,
) -> Result<(), String> {
    compare_file_structures(layout, dump, &FileExpectation::new(layout, None, None))?;
    compare_pages(layout, expected, &[], |pfn| dump.read_page(pfn))
}

/// Compares the headers of every file of `set` (opened from the files in reverse order) with the model
/// (`files`: what each file, in pfn order, must say), then every pfn read through the set.
fn compare_set_read_back<R: ReadAt>(
    layout: &Layout,
    expected: &[Option<PageRef>],
    set: &KdumpSet<R>,
    files: &[FileExpectation],
) -> Result<(), String> {
    if set.parts().len() != files.len() {
        return Err(format!(
            "the set has {} files, the model wrote {}",
            set.parts().len(),
            files.len()
        ));
    }
    // The files were given in reverse order: part i of the set is file n - 1 - given_index(i) (parts
    // with equal ranges, e.g. empty ones, sort in the order given).
    for (i, part) in set.parts().iter().enumerate() {
        let file = files.len() - 1 - set.given_index(i);
        compare_file_structures(layout, part, &files[file])
            .map_err(|d| format!("file {file}: {d}"))?;
    }
    compare_pages(layout, expected, &split_gaps(layout), |pfn| {
        set.read_page(pfn)
    })
}

fn compare_file_structures<R: ReadAt>(
    layout: &Layout,
    dump: &KdumpFile<R>,
    file: &FileExpectation,
) -> Result<(), String> {
    if dump.max_mapnr() != layout.max_mapnr() {
        return Err(format!(
            "max_mapnr {:#x} read, the layout has {:#x}",
            dump.max_mapnr(),
            layout.max_mapnr()
        ));
    }
    compare_structures(layout, dump, file)
}

/// What one pfn must read back as.
enum Want<'a> {
    NotInMemory,
    Excluded,
    Data(&'a PageRef),
}

/// Compares every pfn below max_mapnr, read through `read_page`, with the model, and checks that
/// max_mapnr itself is not readable. A pfn in one of `gaps` (pfns no file of a split set holds) is not in
/// the dump: excluded when it is memory. With `sub_hdr_size` 0 a pfn in no memory block whose bitmap-1 bit
/// the sub-header's bytes set reads as excluded ([`bitmap1_overlay`]).
fn compare_pages(
    layout: &Layout,
    expected: &[Option<PageRef>],
    gaps: &[(u64, u64)],
    read_page: impl Fn(u64) -> Result<PageContent, KdumpError>,
) -> Result<(), String> {
    let ps = layout.page_bytes();
    let overlay = bitmap1_overlay(layout).unwrap_or_default();
    let overlay_bit = |pfn: u64| {
        overlay
            .get((pfn / 8) as usize)
            .is_some_and(|byte| byte >> (pfn % 8) & 1 == 1)
    };
    for (pfn, page) in expected.iter().enumerate() {
        let pfn = pfn as u64;
        let in_gap = gaps.iter().any(|&(start, end)| (start..end).contains(&pfn));
        let want = match page {
            None if overlay_bit(pfn) => Want::Excluded,
            None => Want::NotInMemory,
            Some(p) if in_gap || layout.excludes(p.class) => Want::Excluded,
            Some(p) => Want::Data(p),
        };
        let read = read_page(pfn).map_err(|e| format!("pfn {pfn:#x}: read failed: {e}"))?;
        match (want, read) {
            (Want::NotInMemory, PageContent::NotInMemory) => {}
            (Want::Excluded, PageContent::Excluded) => {}
            (Want::Data(p), PageContent::Data(bytes)) => {
                let want = p.bytes(ps);
                if bytes != want {
                    let at = bytes.iter().zip(&want).position(|(a, b)| a != b);
                    return Err(format!(
                        "pfn {pfn:#x}: data differs from the model (first at byte {at:?} of the page)"
                    ));
                }
            }
            (want, got) => {
                let want = match want {
                    Want::NotInMemory => "not in memory",
                    Want::Excluded if in_gap => "excluded (in a gap between the split files)",
                    Want::Excluded => "excluded",
                    Want::Data(_) => "data",
                };
                let got = match got {
                    PageContent::Data(_) => "data",
                    PageContent::Excluded => "excluded",
                    PageContent::NotInMemory => "not in memory",
                };
                return Err(format!(
                    "pfn {pfn:#x}: read as {got}, the model says {want}"
                ));
            }
        }
    }
    match read_page(layout.max_mapnr()) {
        Err(_) => Ok(()),
        Ok(_) => Err(format!(
            "pfn {:#x} (= max_mapnr) was readable",
            layout.max_mapnr()
        )),
    }
}

/// Opens `files` as one set: strictly ([`KdumpSet::new`]) for makedumpfile's own sets, as readers read
/// them ([`KdumpSet::new_readable`]) when the layout's files have their own timestamps or leave gaps.
pub(super) fn open_set<R: ReadAt>(
    layout: &Layout,
    files: Vec<KdumpFile<R>>,
) -> Result<KdumpSet<R>, KdumpError> {
    if layout.deviations.changes_split_set() {
        KdumpSet::new_readable(files).map(|(set, _)| set)
    } else {
        KdumpSet::new(files)
    }
}
