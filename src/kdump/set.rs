//! A split set (`makedumpfile --split`) read as one dump.
//!
//! makedumpfile writes N files with the same `disk_dump_header`, the same full bitmaps and each the
//! descriptors and data of one pfn range (`start_pfn_64`..`end_pfn_64` in its sub-header); together the
//! ranges cover [0, max_mapnr) (K18). [`KdumpSet`] serves every pfn from the part whose range holds it, so
//! `read` works on a set as on one file. A single file, split or not, is a set of one.

use super::{
    read_phys_from, DiskDumpHeader, KInvariant, KdumpError, KdumpFile, PageContent, PageReader,
    PageState, Which,
};
use crate::readat::ReadAt;

/// What keeps files from forming one split set as makedumpfile writes it (K18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetProblem {
    /// The index of the file concerned, in the order given.
    pub file: usize,
    /// What is wrong.
    pub message: String,
    /// True if readers still read the set the same way (headers differing only in the timestamp, pfns
    /// that no part covers: those pages are not in the dump), as libkdumpfile does; `makedumpfile
    /// --reassemble` and `join` refuse it all the same.
    pub readable: bool,
}

impl SetProblem {
    fn fatal(file: usize, message: impl Into<String>) -> Self {
        SetProblem {
            file,
            message: message.into(),
            readable: false,
        }
    }

    fn readable(file: usize, message: impl Into<String>) -> Self {
        SetProblem {
            file,
            message: message.into(),
            readable: true,
        }
    }
}

/// True if `a` and `b` differ only in the timestamp.
fn differ_only_in_timestamp(a: &DiskDumpHeader, b: &DiskDumpHeader) -> bool {
    let mut b = b.clone();
    b.timestamp_sec = a.timestamp_sec;
    b.timestamp_usec = a.timestamp_usec;
    *a == b
}

/// The K18 problems of the opened files `parts` (index in the order given, file), out of `files_given`
/// files (more than `parts.len()` when some could not be opened). Empty when they form a complete set,
/// or when a single file that is not part of a split set was given.
pub fn split_set_problems<R: ReadAt>(
    parts: &[(usize, &KdumpFile<R>)],
    files_given: usize,
) -> Vec<SetProblem> {
    let mut problems = Vec::new();
    let Some(&(first_index, first)) = parts.first() else {
        return problems;
    };
    let is_split = |dump: &KdumpFile<R>| dump.sub_header().is_some_and(|s| s.is_split());
    if files_given == 1 && !parts.iter().any(|&(_, d)| is_split(d)) {
        return problems;
    }
    if parts.len() < files_given {
        problems.push(SetProblem::fatal(
            first_index,
            "some files of the set could not be opened; the set cannot be complete",
        ));
    }
    for &(index, dump) in parts {
        if !is_split(dump) {
            problems.push(SetProblem::fatal(
                index,
                "given as part of a set of several files, but its split flag is not set",
            ));
        }
        if index != first_index && dump.header() != first.header() {
            if differ_only_in_timestamp(first.header(), dump.header()) {
                problems.push(SetProblem::readable(
                    index,
                    format!("its disk_dump_header differs from file {first_index}'s in the timestamp only"),
                ));
            } else {
                problems.push(SetProblem::fatal(
                    index,
                    format!("its disk_dump_header differs from file {first_index}'s"),
                ));
            }
        }
    }
    let max_mapnr = first.max_mapnr();
    let mut ranges: Vec<(u64, u64, usize)> = parts
        .iter()
        .map(|&(i, d)| {
            let (s, e) = d
                .sub_header()
                .filter(|s| s.is_split())
                .map_or((0, max_mapnr), |s| s.pfn_range());
            (s, e, i)
        })
        .collect();
    ranges.sort();
    let mut covered = 0u64;
    for &(start, end, index) in &ranges {
        if start > covered {
            problems.push(SetProblem::readable(
                index,
                format!(
                    "its pfn range [{start:#x}, {end:#x}) leaves a gap after the previous part's end \
                     ({covered:#x}): pfns [{covered:#x}, {start:#x}) are in no part"
                ),
            ));
        } else if start < covered {
            problems.push(SetProblem::fatal(
                index,
                format!(
                    "its pfn range [{start:#x}, {end:#x}) overlaps the previous part's (which ends at {covered:#x})"
                ),
            ));
        }
        if end < start {
            problems.push(SetProblem::fatal(
                index,
                format!("its pfn range [{start:#x}, {end:#x}) is reversed"),
            ));
        }
        covered = covered.max(end);
    }
    let last = ranges.last().map_or(first_index, |r| r.2);
    if covered < max_mapnr {
        problems.push(SetProblem::readable(
            last,
            format!(
                "the set covers pfns up to {covered:#x}, not max_mapnr {max_mapnr:#x}: pfns [{covered:#x}, \
                 {max_mapnr:#x}) are in no part"
            ),
        ));
    } else if covered > max_mapnr {
        problems.push(SetProblem::fatal(
            last,
            format!("the set covers pfns up to {covered:#x}, beyond max_mapnr {max_mapnr:#x}"),
        ));
    }
    problems
}

/// Which file a bitmap comparison could not read: the reference or the other.
#[derive(Debug)]
pub enum BitmapReadError {
    /// Reading the reference file's bitmap failed.
    Reference(KdumpError),
    /// Reading the other file's bitmap failed.
    Other(KdumpError),
}

/// The first byte (index into the bitmap) at which bitmap `which` of `other` differs from that of
/// `reference`, or `None` if they are equal (K18: the files of a split set carry the same bitmaps).
/// Bitmaps of different lengths are compared over the shorter one (their headers differ, which
/// [`split_set_problems`] reports). A tail of bitmap 2 missing from a file without pages reads as zeros
/// (see [`super::Bitmaps::read`]). Memory: two chunks of at most 1 MiB.
pub fn first_bitmap_difference<R: ReadAt>(
    reference: &KdumpFile<R>,
    other: &KdumpFile<R>,
    which: Which,
) -> Result<Option<u64>, BitmapReadError> {
    const CHUNK: u64 = 1 << 20;
    let len = reference.bitmaps().len.min(other.bitmaps().len);
    let chunk = CHUNK.min(len) as usize;
    let (mut ours, mut theirs) = (vec![0u8; chunk], vec![0u8; chunk]);
    let mut at = 0u64;
    while at < len {
        let n = (len - at).min(CHUNK) as usize;
        reference
            .bitmaps()
            .read(reference.reader(), which, at, &mut ours[..n])
            .map_err(BitmapReadError::Reference)?;
        other
            .bitmaps()
            .read(other.reader(), which, at, &mut theirs[..n])
            .map_err(BitmapReadError::Other)?;
        if let Some(i) = ours[..n].iter().zip(&theirs[..n]).position(|(a, b)| a != b) {
            return Ok(Some(at + i as u64));
        }
        at += n as u64;
    }
    Ok(None)
}

/// The files of one dump, a split set or a single file, read as one dump.
pub struct KdumpSet<R: ReadAt> {
    /// The parts, sorted by the first pfn of their range.
    parts: Vec<KdumpFile<R>>,
    /// For each part (in `parts` order), its index in the order the files were given.
    given_index: Vec<usize>,
}

impl<R: ReadAt> KdumpSet<R> {
    /// Takes the opened files of one dump in any order. Several files must form a complete split set
    /// (K18: split flags, equal headers, pfn ranges covering [0, max_mapnr) without gap or overlap); the
    /// error names the first problem and the file (index in the order given). One file is taken as it is
    /// (a lone part of a split set reads its own range only).
    pub fn new(files: Vec<KdumpFile<R>>) -> Result<Self, KdumpError> {
        Self::open_set(files, false).map(|(set, _)| set)
    }

    /// Like [`KdumpSet::new`], but also takes a set that readers still read the same way (see
    /// [`SetProblem::readable`]: headers differing only in the timestamp, pfns no part covers, which read
    /// as not in the dump). Returns the set and those problems, for warnings.
    pub fn new_readable(files: Vec<KdumpFile<R>>) -> Result<(Self, Vec<SetProblem>), KdumpError> {
        Self::open_set(files, true)
    }

    fn open_set(
        files: Vec<KdumpFile<R>>,
        take_readable: bool,
    ) -> Result<(Self, Vec<SetProblem>), KdumpError> {
        if files.is_empty() {
            return Err(KdumpError::invalid(
                KInvariant::K18,
                None,
                None,
                "no file given",
            ));
        }
        let mut problems = Vec::new();
        if files.len() > 1 {
            let parts: Vec<(usize, &KdumpFile<R>)> = files.iter().enumerate().collect();
            problems = split_set_problems(&parts, files.len());
            if let Some(problem) = problems
                .iter()
                .find(|problem| !(take_readable && problem.readable))
            {
                return Err(KdumpError::invalid(
                    KInvariant::K18,
                    None,
                    None,
                    format!("file {} of the set: {}", problem.file, problem.message),
                ));
            }
        }
        let mut numbered: Vec<(usize, KdumpFile<R>)> = files.into_iter().enumerate().collect();
        numbered.sort_by_key(|(_, part)| part.pfn_range());
        let (given_index, parts) = numbered.into_iter().unzip();
        Ok((KdumpSet { parts, given_index }, problems))
    }

    /// The index, in the order the files were given to [`KdumpSet::new`], of part `part` (an index into
    /// [`KdumpSet::parts`]): to name the file a problem was found in.
    pub fn given_index(&self, part: usize) -> usize {
        self.given_index.get(part).copied().unwrap_or(part)
    }

    /// The parts, sorted by the first pfn of their range.
    pub fn parts(&self) -> &[KdumpFile<R>] {
        &self.parts
    }

    /// The part holding pfn 0 (all parts share its headers, notes and bitmaps).
    pub fn first(&self) -> &KdumpFile<R> {
        &self.parts[0]
    }

    /// Page size (`block_size`).
    pub fn page_size(&self) -> u64 {
        self.first().page_size()
    }

    /// One past the highest pfn of the dump.
    pub fn max_pfn(&self) -> u64 {
        self.first().max_pfn()
    }

    /// The part whose pfn range holds `pfn` (the first part for a pfn no range holds, whose read then
    /// reports it).
    pub fn part_for(&self, pfn: u64) -> &KdumpFile<R> {
        self.part_holding(pfn).unwrap_or_else(|| self.first())
    }

    /// The part whose pfn range holds `pfn`, if any.
    fn part_holding(&self, pfn: u64) -> Option<&KdumpFile<R>> {
        self.parts.iter().find(|part| {
            let (start, end) = part.pfn_range();
            start <= pfn && pfn < end
        })
    }

    /// True if `pfn` is below max_mapnr in a set of several parts but no part's range holds it (a gap
    /// that [`KdumpSet::new_readable`] accepted): the bitmaps may call it dumped, but no file has it.
    fn in_gap(&self, pfn: u64) -> bool {
        self.parts.len() > 1 && pfn < self.max_pfn() && self.part_holding(pfn).is_none()
    }

    /// Where `pfn` stands according to the bitmaps (a pfn in a gap between parts that is memory counts
    /// as excluded: it is not in the dump).
    pub fn page_state(&self, pfn: u64) -> Result<PageState, KdumpError> {
        let state = self.part_for(pfn).page_state(pfn)?;
        Ok(match state {
            PageState::Dumped if self.in_gap(pfn) => PageState::Excluded,
            state => state,
        })
    }

    /// Reads and decompresses the page of `pfn`, from the part that holds it (a pfn in a gap between
    /// parts reads as excluded, or not memory, from the bitmaps all parts share).
    pub fn read_page(&self, pfn: u64) -> Result<PageContent, KdumpError> {
        if self.in_gap(pfn) {
            return Ok(match self.first().page_state(pfn)? {
                PageState::NotInMemory => PageContent::NotInMemory,
                PageState::Excluded | PageState::Dumped => PageContent::Excluded,
            });
        }
        self.part_for(pfn).read_page(pfn)
    }

    /// Fills `buf` with guest-physical bytes from `addr`, as [`KdumpFile::read_phys`], across parts.
    pub fn read_phys(
        &self,
        addr: u64,
        buf: &mut [u8],
        zero_fill_excluded: bool,
    ) -> Result<(), KdumpError> {
        read_phys_from(self, addr, buf, zero_fill_excluded)
    }
}

impl<R: ReadAt> PageReader for KdumpSet<R> {
    fn page_size(&self) -> u64 {
        KdumpSet::page_size(self)
    }

    fn max_pfn(&self) -> u64 {
        KdumpSet::max_pfn(self)
    }

    fn read_page(&self, pfn: u64) -> Result<PageContent, KdumpError> {
        KdumpSet::read_page(self, pfn)
    }
}
