//! The strict validator: every invariant K1–K18 over one file or a split set, every violation reported
//! (the first [`KEPT_PER_INVARIANT`] of each kept in full, all counted), every page decompressed on all
//! cores.
//!
//! One file per structure, so the place an invariant is checked follows from its name:
//!
//! | file | invariants |
//! |---|---|
//! | `header.rs` | K3–K7, K9, K10 (`disk_dump_header`; K1, K2 fail [`Headers::read`] itself) |
//! | `sub_header.rs` | K8 (sub-header, notes, VMCOREINFO) |
//! | `bitmaps.rs` | K11 |
//! | `pages.rs` | K12–K16 (descriptors and page data) |
//! | `eraseinfo.rs` | K17 |
//! | `split_set.rs` | K18 |
//! | `report.rs` | [`CheckReport`], [`Violation`], [`CheckStats`] |

mod bitmaps;
mod eraseinfo;
mod header;
mod pages;
mod report;
mod split_set;
mod sub_header;

pub use self::header::KNOWN_MACHINES;
pub use self::report::{CheckReport, CheckStats, Violation, KEPT_PER_INVARIANT};

use self::bitmaps::check_bitmaps;
use self::eraseinfo::check_eraseinfo;
use self::header::check_header;
use self::pages::{check_descriptor_area, check_pages};
use self::report::FileReport;
use self::split_set::check_split_set;
use self::sub_header::check_sub_header;
use crate::kdump::{Headers, KdumpFile};
use crate::readat::ReadAt;

/// Checks a kdump-compressed file, or the files of one split set, against K1–K18.
///
/// Runs on rayon's current pool (the global one unless called inside `ThreadPool::install`), on one of its
/// workers, so the calling thread's work and the parallel decompression share the pool's threads.
pub fn check(files: &[&dyn ReadAt]) -> CheckReport {
    check_with_progress(files, &|_| {})
}

/// [`check`], calling `progress` now and then with the number of bytes checked so far (out of the sum of
/// the files' sizes), for a progress bar.
pub fn check_with_progress(files: &[&dyn ReadAt], progress: &(dyn Fn(u64) + Sync)) -> CheckReport {
    rayon::scope(|_| check_on_pool(files, progress))
}

fn check_on_pool(files: &[&dyn ReadAt], progress: &(dyn Fn(u64) + Sync)) -> CheckReport {
    let mut report = CheckReport::default();
    report.stats.files = files.len();
    let mut opened = Vec::with_capacity(files.len());
    let mut done_before = 0;
    for (index, &reader) in files.iter().enumerate() {
        let mut out = FileReport {
            report: &mut report,
            file: index,
            progress,
            done_before,
        };
        opened.push(open_and_check(reader, &mut out, index == 0));
        done_before += reader.size().unwrap_or(0);
        progress(done_before);
    }
    check_split_set(&opened, &mut report);
    report
}

/// Checks one file; returns it opened if its pages could be located.
fn open_and_check<'a>(
    reader: &'a dyn ReadAt,
    out: &mut FileReport<'_>,
    first: bool,
) -> Option<KdumpFile<&'a dyn ReadAt>> {
    let headers = match Headers::read(reader) {
        Ok(headers) => headers,
        Err(e) => {
            out.report.error(out.file, e);
            return None;
        }
    };
    check_header(&headers, out);
    check_sub_header(&headers, out);
    match KdumpFile::from_headers(reader, headers) {
        Ok(dump) => {
            check_file(&dump, out, first);
            Some(dump)
        }
        Err(e) => {
            out.report.error(out.file, e);
            None
        }
    }
}

/// K11–K17 for one opened file.
fn check_file<R: ReadAt>(dump: &KdumpFile<R>, out: &mut FileReport<'_>, first: bool) {
    if let Err(e) = check_bitmaps(dump, out, first) {
        out.report.error(out.file, e);
        return;
    }
    check_descriptor_area(dump, out);
    match check_pages(dump, out) {
        Ok(data_end) => check_eraseinfo(dump, out, data_end),
        Err(e) => out.report.error(out.file, e),
    }
}
