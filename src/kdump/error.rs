//! Errors of the kdump-compressed reader and the invariant ids (K1–K18) they name.

use std::fmt;
use std::io;

use serde::Serialize;

/// An invariant of the kdump-compressed format (docs/FORMATS.md §2), displayed as `K1` … `K18`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KInvariant {
    /// K1: signature `KDUMP   ` or `DISKDUMP`.
    K1,
    /// K2: a consistent byte order and ABI (32/64-bit) can be detected.
    K2,
    /// K3: 0 ≤ header_version ≤ 6.
    K3,
    /// K4: block_size a power of two in [4096, 262144].
    K4,
    /// K5: nr_cpus > 0 (warning).
    K5,
    /// K6: known utsname.machine (warning).
    K6,
    /// K7: unused header fields zero, status only known bits with at most one compression bit.
    K7,
    /// K8: sub-header and notes fit in the sub-header blocks, notes parse, VMCOREINFO inside the notes.
    K8,
    /// K9: bitmap_blocks even and = 2·ceil(ceil(max_mapnr/8)/PS).
    K9,
    /// K10: 32-bit max_mapnr = min(max_mapnr_64, 2^32-1) (version 6).
    K10,
    /// K11: bitmap 2 ⊆ bitmap 1, no bits at or beyond max_mapnr.
    K11,
    /// K12: the file reaches at least the end of the page descriptors.
    K12,
    /// K13: per descriptor: at most one compression flag, raw ⇒ size = PS, compressed ⇒ 0 < size < PS,
    /// page_flags = 0.
    K13,
    /// K14: descriptor data within [data start, EOF]; offset 0 only in an incomplete dump.
    K14,
    /// K15: data ranges sequential and disjoint, except references to the shared zero page.
    K15,
    /// K16: every page decompresses to exactly PS bytes.
    K16,
    /// K17: eraseinfo after the page data and inside the file.
    K17,
    /// K18: a split set covers [0, max_mapnr) with identical headers and contiguous ranges.
    K18,
}

/// Every invariant, in order.
pub const ALL_INVARIANTS: [KInvariant; 18] = [
    KInvariant::K1,
    KInvariant::K2,
    KInvariant::K3,
    KInvariant::K4,
    KInvariant::K5,
    KInvariant::K6,
    KInvariant::K7,
    KInvariant::K8,
    KInvariant::K9,
    KInvariant::K10,
    KInvariant::K11,
    KInvariant::K12,
    KInvariant::K13,
    KInvariant::K14,
    KInvariant::K15,
    KInvariant::K16,
    KInvariant::K17,
    KInvariant::K18,
];

impl KInvariant {
    /// The number of the invariant (1 for K1).
    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// One line saying what the invariant requires.
    pub fn description(self) -> &'static str {
        match self {
            KInvariant::K1 => "signature is \"KDUMP   \" or \"DISKDUMP\"",
            KInvariant::K2 => "a consistent byte order and word size can be detected",
            KInvariant::K3 => "0 <= header_version <= 6",
            KInvariant::K4 => "block_size is a power of two in [4096, 262144]",
            KInvariant::K5 => "nr_cpus > 0",
            KInvariant::K6 => "utsname.machine names a known architecture",
            KInvariant::K7 => {
                "unused header fields are zero; status has known bits, at most one compression"
            }
            KInvariant::K8 => {
                "sub-header and notes fit their blocks; notes parse; VMCOREINFO inside the notes"
            }
            KInvariant::K9 => "bitmap_blocks = 2*ceil(ceil(max_mapnr/8)/block_size)",
            KInvariant::K10 => "max_mapnr = min(max_mapnr_64, 2^32-1)",
            KInvariant::K11 => "bitmap 2 is a subset of bitmap 1; no bits at or beyond max_mapnr",
            KInvariant::K12 => "the file reaches the end of the page descriptors",
            KInvariant::K13 => "descriptor flags and size are consistent; page_flags = 0",
            KInvariant::K14 => "page data lies between the data start and the end of the file",
            KInvariant::K15 => {
                "page data ranges are sequential and disjoint (shared zero page excepted)"
            }
            KInvariant::K16 => "every page decompresses to exactly block_size bytes",
            KInvariant::K17 => "eraseinfo lies after the page data and inside the file",
            KInvariant::K18 => {
                "a split set covers [0, max_mapnr) contiguously with identical headers"
            }
        }
    }
}

impl fmt::Display for KInvariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "K{}", self.number())
    }
}

impl Serialize for KInvariant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Why a kdump-compressed file (or one page of it) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KdumpError {
    /// The file breaks an invariant in a way that stops this read.
    #[error("{invariant}{}{}: {message}", fmt_offset(*offset), fmt_pfn(*pfn))]
    Invalid {
        /// The invariant broken.
        invariant: KInvariant,
        /// Byte offset in the (reassembled) file of the offending structure, when one applies.
        offset: Option<u64>,
        /// Page frame number concerned, when one applies.
        pfn: Option<u64>,
        /// What is wrong, in words.
        message: String,
    },
    /// The pfn is at or beyond the end of the dumped physical memory.
    #[error("pfn {pfn:#x} is beyond the dump's last page frame (max pfn {max_pfn:#x})")]
    PfnOutOfRange {
        /// The pfn asked for.
        pfn: u64,
        /// One past the highest pfn of the dump.
        max_pfn: u64,
    },
    /// The page is dumped, but in another file of a split set.
    #[error("pfn {pfn:#x} is stored in another file of the split set (this one holds [{start_pfn:#x}, {end_pfn:#x}))")]
    PfnInOtherSplitFile {
        /// The pfn asked for.
        pfn: u64,
        /// First pfn of this file.
        start_pfn: u64,
        /// One past the last pfn of this file.
        end_pfn: u64,
    },
    /// The page is not in the dump (excluded or not memory) and zeros were not asked for.
    #[error("pfn {pfn:#x} is {}", if *excluded { "excluded from the dump" } else { "not in memory" })]
    NoData {
        /// The pfn.
        pfn: u64,
        /// True if the page was in memory but left out by the dump level.
        excluded: bool,
    },
    /// The underlying source failed (not a short read: those are `Invalid`).
    #[error("I/O error at offset {offset:#x}: {source}")]
    Io {
        /// Where the read started.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// Why the notes or the VMCOREINFO of a dump could not be read (K8): where, and what. Such a problem does
/// not fail opening the dump; `check` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotesProblem {
    /// Byte offset of the offending structure, when known.
    pub offset: Option<u64>,
    /// What is wrong, in words (without the invariant id and offset, which [`Display`] adds).
    ///
    /// [`Display`]: std::fmt::Display
    pub message: String,
}

impl From<KdumpError> for NotesProblem {
    fn from(error: KdumpError) -> Self {
        match error {
            KdumpError::Invalid {
                offset, message, ..
            } => NotesProblem { offset, message },
            KdumpError::Io { offset, source } => NotesProblem {
                offset: Some(offset),
                message: format!("cannot read: {source}"),
            },
            other => NotesProblem {
                offset: None,
                message: other.to_string(),
            },
        }
    }
}

impl std::fmt::Display for NotesProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}: {}",
            KInvariant::K8,
            fmt_offset(self.offset),
            self.message
        )
    }
}

fn fmt_offset(offset: Option<u64>) -> String {
    offset
        .map(|o| format!(" at offset {o:#x}"))
        .unwrap_or_default()
}

fn fmt_pfn(pfn: Option<u64>) -> String {
    pfn.map(|p| format!(" (pfn {p:#x})")).unwrap_or_default()
}

impl KdumpError {
    /// Builds an [`KdumpError::Invalid`].
    pub fn invalid(
        invariant: KInvariant,
        offset: Option<u64>,
        pfn: Option<u64>,
        message: impl Into<String>,
    ) -> KdumpError {
        KdumpError::Invalid {
            invariant,
            offset,
            pfn,
            message: message.into(),
        }
    }

    /// The invariant named by this error, if any.
    pub fn invariant(&self) -> Option<KInvariant> {
        match self {
            KdumpError::Invalid { invariant, .. } => Some(*invariant),
            _ => None,
        }
    }

    /// True if the error says the input is invalid (as opposed to an I/O failure or a caller's question
    /// about a page that is not there).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, KdumpError::Invalid { .. })
    }
}

/// Reads exactly `buf.len()` bytes at `offset`; a short read is a violation of `invariant` (the file is
/// too short for the structure named `what`).
pub(crate) fn read_structure<R: crate::readat::ReadAt + ?Sized>(
    reader: &R,
    offset: u64,
    buf: &mut [u8],
    invariant: KInvariant,
    what: &str,
) -> Result<(), KdumpError> {
    match reader.read_exact_at(offset, buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(KdumpError::invalid(
            invariant,
            Some(offset),
            None,
            format!("the file ends inside the {what} ({} bytes)", buf.len()),
        )),
        Err(source) => Err(KdumpError::Io { offset, source }),
    }
}
