//! **P5**: single-byte corruptions of each structure, and whether the checker or the read-back notices
//! (a measurement: detection rates per structure).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::flat::index::FlatIndex;
use crate::kdump::check::check;
use crate::model::{Layout, PageRef};
use crate::readat::ReadAt;

use super::case::{dump_files, CaseOutput, FileView};
use super::extents::expected_file_extents;
use super::p3_read_back::{expected_pages, read_back_flat_set, read_back_set, FileExpectation};
use super::property::{fail, Property, PropertyFailure};

/// P5's measurements on one case.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorruptionStats {
    /// Per structure: (corruptions detected, corruptions tried).
    pub per_structure: BTreeMap<String, (u64, u64)>,
    /// Corruptions nobody noticed: (structure, byte offset in the raw file).
    pub undetected: Vec<(String, u64)>,
}

/// P5: flips one random byte (XOR with a random non-zero value) `trials` times in each structure of the
/// raw dump (header, sub-header, notes, bitmap 1, bitmap 2, descriptors, page data, eraseinfo) and of the
/// flattened file (its header, a record header, the end marker) and records whether the flattened index,
/// `check` or a read-back against the model notices. Fails only if a reader panics on the
/// corrupted input; the detection rates are the measurement. For a `--split` layout each trial corrupts
/// one file of the set (chosen at random among those holding the structure) and `check`, `KdumpSet` and
/// the read-back look at the whole set; its structures are counted apart, as "split …".
pub fn p5_corruption_is_detected(
    layout: &Layout,
    output: &CaseOutput,
    seed: u64,
    trials: u32,
) -> Result<CorruptionStats, PropertyFailure> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let case = CorruptionCase::new(layout, output);
    let mut stats = CorruptionStats::default();
    for (name, holders) in raw_structures(layout, &case.files) {
        for _ in 0..trials {
            let (file, start, end) = holders[rng.gen_range(0..holders.len())];
            let at = rng.gen_range(start..end);
            let flip: u8 = rng.gen_range(1..=255);
            let detected = case
                .raw_trial(file, at, flip)
                .ok_or_else(|| case.panicked("dump", name, file, at, flip))?;
            record_trial(&mut stats, &case.label(name), detected, at);
        }
    }
    for (name, pick) in flattened_targets(&case.files) {
        for _ in 0..trials {
            let file = rng.gen_range(0..case.files.len());
            let at = pick(file, &mut rng);
            let flip: u8 = rng.gen_range(1..=255);
            let detected = case
                .flat_trial(file, at, flip)
                .ok_or_else(|| case.panicked("flattened dump", name, file, at, flip))?;
            record_trial(&mut stats, &case.label(name), detected, at);
        }
    }
    Ok(stats)
}

/// The dump P5 corrupts, one byte at a time, and what the model says it must read back as.
struct CorruptionCase<'a> {
    layout: &'a Layout,
    /// The files of the dump (the set's files for a `--split` layout).
    files: Vec<FileView<'a>>,
    /// Is the dump a `--split` set (its structures are counted apart).
    is_set: bool,
    /// What every pfn must read back as.
    expected: Vec<Option<PageRef>>,
    /// What each file's sub-header must say.
    expectations: Vec<FileExpectation>,
}

impl<'a> CorruptionCase<'a> {
    fn new(layout: &'a Layout, output: &'a CaseOutput) -> Self {
        let files = dump_files(output);
        let expectations = files
            .iter()
            .map(|f| FileExpectation::new(layout, f.range, f.part))
            .collect();
        CorruptionCase {
            layout,
            files,
            is_set: !output.parts.is_empty(),
            expected: expected_pages(layout),
            expectations,
        }
    }

    /// The name a structure is counted under ("split …" for a set).
    fn label(&self, name: &str) -> String {
        if self.is_set {
            format!("split {name}")
        } else {
            name.to_string()
        }
    }

    /// Flips byte `at` of raw file `file` by `flip`: does `check` or the read-back of the set notice?
    /// `None` if a reader panicked.
    fn raw_trial(&self, file: usize, at: u64, flip: u8) -> Option<bool> {
        let raws: Vec<&[u8]> = self.files.iter().map(|f| f.raw).collect();
        let mut corrupted = raws[file].to_vec();
        corrupted[at as usize] ^= flip;
        let mut set = raws.clone();
        set[file] = &corrupted;
        catch_unwind(AssertUnwindSafe(|| {
            let readers: Vec<&dyn ReadAt> = set.iter().map(|r| r as &dyn ReadAt).collect();
            !check(&readers).is_valid()
                || read_back_set(self.layout, &self.expected, &self.expectations, &set).is_err()
        }))
        .ok()
    }

    /// Flips byte `at` of flattened file `file` by `flip`: does indexing, `check` or the read-back of the
    /// set notice? `None` if a reader panicked.
    fn flat_trial(&self, file: usize, at: u64, flip: u8) -> Option<bool> {
        let flats: Vec<&[u8]> = self.files.iter().map(|f| f.flat).collect();
        let mut corrupted = flats[file].to_vec();
        corrupted[at as usize] ^= flip;
        let mut set = flats.clone();
        set[file] = &corrupted;
        catch_unwind(AssertUnwindSafe(|| {
            let Ok(indexes) = set
                .iter()
                .map(|flat| FlatIndex::open(*flat))
                .collect::<Result<Vec<_>, _>>()
            else {
                return true;
            };
            let readers: Vec<&dyn ReadAt> = indexes.iter().map(|r| r as &dyn ReadAt).collect();
            !check(&readers).is_valid()
                || read_back_flat_set(self.layout, &self.expected, &self.expectations, &set)
                    .is_err()
        }))
        .ok()
    }

    /// P5's failure: a reader panicked on `what` ("dump", "flattened dump") with byte `at` of file
    /// `file` changed.
    fn panicked(&self, what: &str, name: &str, file: usize, at: u64, flip: u8) -> PropertyFailure {
        fail(
            Property::P5,
            format!(
                "a reader panicked on the {what} with byte {at:#x} ({name}) of {} XOR {flip:#04x}",
                self.files[file].name
            ),
        )
    }
}

/// The raw structures in file order, each with the files that hold it and where (only the bitmap bytes
/// that cover pfns below max_mapnr: they carry meaning for every writer).
fn raw_structures(
    layout: &Layout,
    files: &[FileView<'_>],
) -> Vec<(&'static str, Vec<StructureSpan>)> {
    let mut structures: Vec<(&'static str, Vec<StructureSpan>)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        for extent in expected_file_extents(layout, file.range) {
            let end = match extent.name {
                "bitmap 1" | "bitmap 2" => extent.start + layout.max_mapnr().div_ceil(8),
                _ => extent.end,
            };
            match structures.iter_mut().find(|(name, _)| *name == extent.name) {
                Some((_, holders)) => holders.push((i, extent.start, end)),
                None => structures.push((extent.name, vec![(i, extent.start, end)])),
            }
        }
    }
    structures
}

/// Where a structure lies in one file of the dump: (file index, first byte, one past the last byte).
type StructureSpan = (usize, u64, u64);

fn record_trial(stats: &mut CorruptionStats, structure: &str, detected: bool, at: u64) {
    let entry = stats
        .per_structure
        .entry(structure.to_string())
        .or_default();
    entry.1 += 1;
    if detected {
        entry.0 += 1;
    } else {
        stats.undetected.push((structure.to_string(), at));
    }
}

/// Chooses a byte offset to corrupt in the flattened form of file `file`.
type BytePicker<'a> = Box<dyn Fn(usize, &mut ChaCha8Rng) -> u64 + 'a>;

/// The flattened side of P5: one byte of the flattened file header (its first 32 bytes), of a record
/// header, or of the end marker.
fn flattened_targets<'a>(files: &'a [FileView<'a>]) -> [(&'static str, BytePicker<'a>); 3] {
    // Per file: the offset of every record header, and of the end marker.
    let layouts: Vec<(Vec<u64>, u64)> = files
        .iter()
        .map(|file| {
            let mut record_headers = Vec::with_capacity(file.writes.len());
            let mut position = 4096u64;
            for &(_, len) in file.writes {
                record_headers.push(position);
                position += 16 + len;
            }
            (record_headers, position)
        })
        .collect();
    let layouts = std::rc::Rc::new(layouts);
    let for_records = layouts.clone();
    [
        (
            "flat header",
            Box::new(|_, rng: &mut ChaCha8Rng| rng.gen_range(0..32)),
        ),
        (
            "flat record header",
            Box::new(move |file, rng: &mut ChaCha8Rng| {
                let headers = &for_records[file].0;
                headers[rng.gen_range(0..headers.len())] + rng.gen_range(0..16)
            }),
        ),
        (
            "flat end marker",
            Box::new(move |file, rng: &mut ChaCha8Rng| layouts[file].1 + rng.gen_range(0..16)),
        ),
    ]
}
