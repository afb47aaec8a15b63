//! `kdump-flat info FILE [--json]`: what a kdump-compressed file says about itself.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use serde::Serialize;

use super::dump_input::open_input;
use super::{CliResult, Failure};
use crate::kdump::walk::{page_counts, PageCounts};
use crate::kdump::{
    ByteOrder, Class, DiskDumpHeader, KdumpError, KdumpFile, KdumpSubHeader, Signature,
    SubHeaderLayout,
};
use crate::readat::ReadAt;
use crate::source::DumpForm;

/// Arguments of `info`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The dump (raw or flattened).
    pub file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Counts of the notes.
#[derive(Debug, Serialize)]
pub struct NoteSummary {
    /// All notes.
    pub total: usize,
    /// `NT_PRSTATUS` notes named CORE.
    pub prstatus: usize,
    /// Notes named QEMU.
    pub qemu: usize,
    /// Whether a VMCOREINFO note is present.
    pub vmcoreinfo: bool,
    /// Every note as (name, type, size).
    pub list: Vec<(String, u32, u64)>,
}

/// What `info --json` prints.
#[derive(Debug, Serialize)]
pub struct Info {
    /// How the file is stored.
    pub form: DumpForm,
    /// Size of the (reassembled) file.
    pub file_size: u64,
    /// Word size.
    pub class: Class,
    /// Byte order.
    pub byte_order: ByteOrder,
    /// Compression named by the header.
    pub compression: String,
    /// Page size.
    pub page_size: u64,
    /// max_mapnr as stated (64-bit value from version 6).
    pub max_mapnr: u64,
    /// One past the highest readable pfn.
    pub max_pfn: u64,
    /// The header.
    pub header: DiskDumpHeader,
    /// The sub-header.
    pub sub_header: Option<KdumpSubHeader>,
    /// Offsets of the areas.
    pub bitmap1_offset: u64,
    /// Offset of bitmap 2.
    pub bitmap2_offset: u64,
    /// Offset of the descriptors.
    pub descriptors_offset: u64,
    /// Descriptors in this file.
    pub descriptors: u64,
    /// Where page data may start.
    pub data_offset: u64,
    /// Page counts.
    pub pages: PageCounts,
    /// The notes.
    pub notes: NoteSummary,
    /// Why the notes could not be read, if so.
    pub notes_error: Option<String>,
    /// VMCOREINFO OSRELEASE.
    pub osrelease: Option<String>,
    /// VMCOREINFO PAGESIZE.
    pub vmcoreinfo_page_size: Option<u64>,
    /// Bytes of VMCOREINFO text.
    pub vmcoreinfo_size: Option<usize>,
}

/// Gathers the information about one opened dump.
pub fn gather<R: ReadAt>(dump: &KdumpFile<R>, form: DumpForm) -> Result<Info, KdumpError> {
    let pages = page_counts(dump)?;
    let notes = dump.notes();
    let vmci = dump.vmcoreinfo();
    Ok(Info {
        form,
        file_size: dump.file_size(),
        class: dump.class(),
        byte_order: dump.byte_order(),
        compression: dump.compression().to_string(),
        page_size: dump.page_size(),
        max_mapnr: dump.max_mapnr(),
        max_pfn: dump.max_pfn(),
        header: dump.header().clone(),
        sub_header: dump.sub_header().cloned(),
        bitmap1_offset: dump.bitmaps().bitmap1_offset,
        bitmap2_offset: dump.bitmaps().bitmap2_offset,
        descriptors_offset: dump.descriptors_offset(),
        descriptors: dump.descriptor_count(),
        data_offset: dump.data_offset(),
        pages,
        notes: NoteSummary {
            total: notes.notes.len(),
            prstatus: notes.prstatus_count(),
            qemu: notes.qemu_count(),
            vmcoreinfo: notes.vmcoreinfo_note().is_some(),
            list: notes
                .notes
                .iter()
                .map(|n| (n.name.clone(), n.note_type, n.desc_size))
                .collect(),
        },
        notes_error: dump.notes_error().map(ToString::to_string),
        osrelease: vmci.and_then(|v| v.osrelease()).map(str::to_string),
        vmcoreinfo_page_size: vmci.and_then(|v| v.page_size()),
        vmcoreinfo_size: vmci.map(|v| v.text.len()),
    })
}

/// Renders the information as text.
pub fn render_text(info: &Info) -> String {
    let h = &info.header;
    let mut t = String::new();
    let mut line = |label: &str, value: String| t.push_str(&format!("{label:<14}{value}\n"));
    line(
        "format:",
        format!(
            "kdump-compressed, signature {:?}, header version {}, {} file",
            match h.signature {
                Signature::Kdump => "KDUMP   ",
                Signature::Diskdump => "DISKDUMP",
            },
            h.header_version,
            match info.form {
                DumpForm::Raw => "raw",
                DumpForm::Flattened => "flattened",
            }
        ),
    );
    line(
        "machine:",
        format!(
            "{}-bit {}-endian, utsname.machine {:?}, {} cpu(s)",
            info.class.bits(),
            info.byte_order.name(),
            h.utsname.machine,
            h.nr_cpus
        ),
    );
    if !h.utsname.release.is_empty() || !h.utsname.nodename.is_empty() {
        line(
            "utsname:",
            format!(
                "{} {} {} {}",
                h.utsname.sysname, h.utsname.nodename, h.utsname.release, h.utsname.version
            ),
        );
    }
    line(
        "compression:",
        format!("{} (status {:#x})", info.compression, h.status),
    );
    line("page size:", info.page_size.to_string());
    line(
        "max pfn:",
        format!(
            "{:#x} (header max_mapnr {:#x}{})",
            info.max_pfn,
            h.max_mapnr,
            info.sub_header
                .as_ref()
                .and_then(|s| s.max_mapnr_64())
                .map(|m| format!(", max_mapnr_64 {m:#x}"))
                .unwrap_or_default()
        ),
    );
    if let Some(sub) = &info.sub_header {
        line(
            "sub-header:",
            format!(
                "{} layout ({} bytes), {} block(s), phys_base {:#x}, dump level {}",
                match sub.layout {
                    SubHeaderLayout::Bits64 => "64-bit",
                    SubHeaderLayout::I386Packed => "32-bit packed (i386)",
                    SubHeaderLayout::Padded32 => "32-bit padded",
                },
                sub.size(),
                h.sub_hdr_size,
                sub.phys_base,
                sub.dump_level
            ),
        );
        if sub.is_split() {
            let (s, e) = sub.pfn_range();
            line(
                "split:",
                format!("part of a split set, pfns [{s:#x}, {e:#x})"),
            );
        }
        if let Some((o, s)) = sub.eraseinfo_range() {
            line("eraseinfo:", format!("{s} bytes at {o:#x}"));
        }
    }
    line(
        "layout:",
        format!(
            "bitmaps {} block(s) at {:#x} and {:#x}; {} descriptors at {:#x}; data from {:#x}; file {} bytes",
            h.bitmap_blocks,
            info.bitmap1_offset,
            info.bitmap2_offset,
            info.descriptors,
            info.descriptors_offset,
            info.data_offset,
            info.file_size
        ),
    );
    let p = &info.pages;
    line(
        "pages:",
        format!(
            "{} in memory, {} dumped ({} zero, {} compressed, {} raw), {} excluded",
            p.in_memory, p.dumped, p.zero, p.compressed, p.raw, p.excluded
        ),
    );
    let n = &info.notes;
    line(
        "notes:",
        format!(
            "{} ({} NT_PRSTATUS, {} QEMU, VMCOREINFO {})",
            n.total,
            n.prstatus,
            n.qemu,
            if n.vmcoreinfo { "yes" } else { "no" }
        ),
    );
    if let Some(e) = &info.notes_error {
        line("notes error:", e.clone());
    }
    if let Some(size) = info.vmcoreinfo_size {
        line(
            "vmcoreinfo:",
            format!(
                "{size} bytes; OSRELEASE={} PAGESIZE={}",
                info.osrelease.as_deref().unwrap_or("(absent)"),
                info.vmcoreinfo_page_size
                    .map_or("(absent)".to_string(), |p| p.to_string())
            ),
        );
    } else {
        line("vmcoreinfo:", "none".into());
    }
    t
}

/// Runs `info`.
pub fn run(args: Args) -> CliResult {
    let input = open_input(&args.file)?;
    let source = &input.source;
    let dump = KdumpFile::open(&*source.reader).map_err(Failure::from)?;
    let info = gather(&dump, source.form).map_err(Failure::from)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &info).map_err(|e| Failure::Io(anyhow!(e)))?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", render_text(&info))?;
    }
    Ok(())
}
