//! What the checker reports: [`Violation`]s and warnings (the first [`KEPT_PER_INVARIANT`] of each
//! invariant kept in full, all counted), [`CheckStats`], and the per-file recorder the checks write to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::kdump::walk::PageCounts;
use crate::kdump::{KInvariant, KdumpError};

/// Violations (and warnings) kept in full per invariant; the rest are only counted.
pub const KEPT_PER_INVARIANT: usize = 100;

/// One broken invariant (or a warning), where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The invariant.
    pub id: KInvariant,
    /// Byte offset in the (reassembled) file, when one applies.
    pub offset: Option<u64>,
    /// Page frame number, when one applies.
    pub pfn: Option<u64>,
    /// Index of the file in the set given to [`check`](super::check).
    pub file: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(offset) = self.offset {
            write!(f, " at offset {offset:#x}")?;
        }
        if let Some(pfn) = self.pfn {
            write!(f, " (pfn {pfn:#x})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Figures gathered while checking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckStats {
    /// Files in the set.
    pub files: usize,
    /// Page counts over the set (in-memory and excluded counts from the first file's bitmaps).
    pub pages: PageCounts,
    /// Pages whose data was read and decompressed (the shared zero page once per file).
    pub pages_decompressed: u64,
    /// Bytes of page data read.
    pub data_bytes: u64,
}

/// The outcome of [`check`](super::check).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Violations, at most [`KEPT_PER_INVARIANT`] per invariant, in the order found.
    pub violations: Vec<Violation>,
    /// Number of violations of each invariant (all of them, kept or not).
    pub violation_counts: BTreeMap<KInvariant, u64>,
    /// Warnings (K3 for files newer than known, K5, K6, gaps), capped like violations.
    pub warnings: Vec<Violation>,
    /// Number of warnings of each invariant.
    pub warning_counts: BTreeMap<KInvariant, u64>,
    /// I/O errors that stopped part of the check (the report is then incomplete).
    pub io_errors: Vec<String>,
    /// Figures.
    pub stats: CheckStats,
}

impl CheckReport {
    /// True if no invariant is violated (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.violation_counts.is_empty()
    }

    /// Total number of violations.
    pub fn violation_total(&self) -> u64 {
        self.violation_counts.values().sum()
    }

    /// True if `id` was violated at least once.
    pub fn has(&self, id: KInvariant) -> bool {
        self.violation_counts.contains_key(&id)
    }

    /// True if violations of `id` are no longer kept in full (only counted).
    pub(super) fn is_full(&self, id: KInvariant) -> bool {
        self.violation_counts.get(&id).copied().unwrap_or(0) >= KEPT_PER_INVARIANT as u64
    }

    /// Counts `n` violations of `id` without keeping them (used once [`CheckReport::is_full`]).
    pub(super) fn count_only(&mut self, id: KInvariant, n: u64) {
        if n > 0 {
            *self.violation_counts.entry(id).or_insert(0) += n;
        }
    }

    pub(super) fn violation(&mut self, v: Violation) {
        let count = self.violation_counts.entry(v.id).or_insert(0);
        *count += 1;
        if *count <= KEPT_PER_INVARIANT as u64 {
            self.violations.push(v);
        }
    }

    fn warning(&mut self, v: Violation) {
        let count = self.warning_counts.entry(v.id).or_insert(0);
        *count += 1;
        if *count <= KEPT_PER_INVARIANT as u64 {
            self.warnings.push(v);
        }
    }

    pub(super) fn error(&mut self, file: usize, error: KdumpError) {
        match &error {
            KdumpError::Invalid {
                invariant,
                offset,
                pfn,
                message,
            } => self.violation(Violation {
                id: *invariant,
                offset: *offset,
                pfn: *pfn,
                file,
                message: message.clone(),
            }),
            KdumpError::Io { .. } => self.io_errors.push(format!("file {file}: {error}")),
            other => self.violation(Violation {
                id: KInvariant::K12,
                offset: None,
                pfn: None,
                file,
                message: other.to_string(),
            }),
        }
    }
}

/// Builds violations for one file.
pub(super) struct FileReport<'a> {
    pub(super) report: &'a mut CheckReport,
    pub(super) file: usize,
    /// Called with the bytes checked so far (earlier files whole, this one up to its page data done).
    pub(super) progress: &'a (dyn Fn(u64) + Sync),
    /// Total size of the earlier files.
    pub(super) done_before: u64,
}

impl FileReport<'_> {
    /// Records a violation of `id` in this file.
    pub(super) fn violation(
        &mut self,
        id: KInvariant,
        offset: Option<u64>,
        pfn: Option<u64>,
        message: String,
    ) {
        self.report.violation(Violation {
            id,
            offset,
            pfn,
            file: self.file,
            message,
        });
    }

    /// Like `violation`, formatting the message only if the violation is kept.
    pub(super) fn violation_with(
        &mut self,
        id: KInvariant,
        offset: Option<u64>,
        pfn: Option<u64>,
        message: impl FnOnce() -> String,
    ) {
        if self.report.is_full(id) {
            self.report.count_only(id, 1);
        } else {
            self.violation(id, offset, pfn, message());
        }
    }

    /// Records a warning about `id` in this file.
    pub(super) fn warning(&mut self, id: KInvariant, offset: Option<u64>, message: String) {
        self.report.warning(Violation {
            id,
            offset,
            pfn: None,
            file: self.file,
            message,
        });
    }
}
