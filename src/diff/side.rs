//! One side of a comparison: a kdump-compressed file or split set, or an ELF dump, opened from
//! [`DumpSource`]s (raw or flattened files); and the trouble that stops a comparison (exit 2): which side,
//! what was wrong, and what `check` found in it.

use std::fmt;
use std::io;
use std::sync::Arc;

use super::report::{DumpKind, SideInfo};
use crate::elf::ElfDump;
use crate::kdump::check::check;
use crate::kdump::{KdumpFile, KdumpSet};
use crate::readat::ReadAt;
use crate::source::DumpSource;

/// Violations of `check` quoted when a side cannot be compared.
const CHECK_FINDINGS_QUOTED: usize = 5;

/// A shared handle on a source: kept for `check` when opening a side fails.
#[derive(Clone)]
pub struct SharedReader(Arc<dyn ReadAt + Send>);

impl SharedReader {
    /// Wraps a boxed source.
    pub fn new(reader: Box<dyn ReadAt + Send>) -> SharedReader {
        SharedReader(Arc::from(reader))
    }
}

impl ReadAt for SharedReader {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        self.0.size()
    }
}

/// What a side holds.
pub enum SideContent {
    /// A kdump-compressed file, or the files of one split set.
    Kdump(KdumpSet<SharedReader>),
    /// An ELF dump.
    Elf {
        /// Its headers, memory blocks and notes.
        dump: ElfDump,
        /// Its bytes.
        reader: SharedReader,
    },
}

/// One opened side.
pub struct Side {
    /// Names, forms, kind and lengths.
    pub info: SideInfo,
    /// The dump.
    pub content: SideContent,
}

/// Why a side cannot be compared (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideTrouble {
    /// "A" or "B".
    pub side: &'static str,
    /// The side's files.
    pub files: Vec<String>,
    /// What went wrong opening it.
    pub problem: String,
    /// The first violations `check` finds in it (empty for an ELF dump or unreadable files).
    pub check_found: Vec<String>,
}

impl fmt::Display for SideTrouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "side {} ({}) cannot be compared: {}",
            self.side,
            self.files.join(", "),
            self.problem
        )?;
        if !self.check_found.is_empty() {
            write!(f, "; check found: {}", self.check_found.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for SideTrouble {}

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

impl Side {
    /// Opens side `side` ("A" or "B") from its files (name and source; several = one split set). A file
    /// starting with the ELF magic is an ELF dump (it must be the only one); anything else is read as
    /// kdump-compressed. Fails with the problem and, for kdump files, what `check` finds in them.
    pub fn open(side: &'static str, files: Vec<(String, DumpSource)>) -> Result<Side, SideTrouble> {
        let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
        let trouble = |problem: String, check_found: Vec<String>| SideTrouble {
            side,
            files: names.clone(),
            problem,
            check_found,
        };
        if files.is_empty() {
            return Err(trouble("no file given".into(), Vec::new()));
        }
        let forms = files.iter().map(|(_, source)| source.form).collect();
        let readers: Vec<SharedReader> = files
            .into_iter()
            .map(|(_, source)| SharedReader::new(source.reader))
            .collect();
        let lengths = readers
            .iter()
            .zip(&names)
            .map(|(reader, name)| {
                reader.size().map_err(|e| {
                    trouble(format!("{name}: cannot read its length: {e}"), Vec::new())
                })
            })
            .collect::<Result<Vec<u64>, SideTrouble>>()?;
        let mut magic = [0u8; 4];
        let is_elf = readers[0].read_exact_at(0, &mut magic).is_ok() && &magic == ELF_MAGIC;
        let info = |kind| SideInfo {
            files: names.clone(),
            forms,
            kind,
            lengths,
        };
        if is_elf {
            if readers.len() > 1 {
                return Err(trouble(
                    "an ELF dump is one file; several files are read as one split kdump set".into(),
                    Vec::new(),
                ));
            }
            let reader = readers.into_iter().next().expect("one reader");
            let dump = ElfDump::parse(&reader)
                .and_then(|dump| dump.check_blocks_disjoint().map(|()| dump))
                .map_err(|e| trouble(format!("not a readable ELF dump: {e}"), Vec::new()))?;
            return Ok(Side {
                info: info(DumpKind::Elf),
                content: SideContent::Elf { dump, reader },
            });
        }
        let mut parts = Vec::with_capacity(readers.len());
        for (reader, name) in readers.iter().zip(&names) {
            match KdumpFile::open(reader.clone()) {
                Ok(part) => parts.push(part),
                Err(e) => {
                    let found = check_findings(&readers)
                        .into_iter()
                        .filter(|finding| *finding != e.to_string())
                        .collect();
                    return Err(trouble(
                        format!("{name}: not a readable kdump-compressed dump: {e}"),
                        found,
                    ));
                }
            }
        }
        let set = KdumpSet::new(parts).map_err(|e| {
            trouble(
                format!("the files are not one split set: {e}"),
                check_findings(&readers),
            )
        })?;
        Ok(Side {
            info: info(DumpKind::Kdump),
            content: SideContent::Kdump(set),
        })
    }

    /// Page size: the kdump block size; an ELF dump has none and takes `fallback`.
    pub fn page_size(&self, fallback: u64) -> u64 {
        match &self.content {
            SideContent::Kdump(set) => set.page_size(),
            SideContent::Elf { .. } => fallback,
        }
    }

    /// The readers of the side's files, in the order given.
    pub fn readers(&self) -> Vec<&SharedReader> {
        match &self.content {
            SideContent::Kdump(set) => {
                let mut parts: Vec<(usize, &SharedReader)> = set
                    .parts()
                    .iter()
                    .enumerate()
                    .map(|(i, part)| (set.given_index(i), part.reader()))
                    .collect();
                parts.sort_by_key(|(given, _)| *given);
                parts.into_iter().map(|(_, reader)| reader).collect()
            }
            SideContent::Elf { reader, .. } => vec![reader],
        }
    }
}

/// What `check` finds in the files of a side that could not be opened: its first violations.
fn check_findings(readers: &[SharedReader]) -> Vec<String> {
    let refs: Vec<&dyn ReadAt> = readers.iter().map(|r| r as &dyn ReadAt).collect();
    let report = check(&refs);
    let mut found: Vec<String> = report
        .violations
        .iter()
        .take(CHECK_FINDINGS_QUOTED)
        .map(|v| {
            if readers.len() > 1 {
                format!("[file {}] {v}", v.file)
            } else {
                v.to_string()
            }
        })
        .collect();
    let total = report.violation_total();
    if total > found.len() as u64 {
        found.push(format!("{} more violation(s)", total - found.len() as u64));
    }
    found.extend(report.io_errors.iter().cloned());
    found
}
