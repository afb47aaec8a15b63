//! `kdump-flat info FILE... [--json]`: what a kdump-compressed file, or the files of one split set, say
//! about themselves.

use std::io::Write;
use std::path::PathBuf;

use anyhow::anyhow;
use serde::Serialize;

use super::dump_input::{open_inputs, DumpInput};
use super::{CliResult, Failure};
use crate::kdump::walk::{page_counts, PageCounts};
use crate::kdump::{
    split_set_problems, ByteOrder, Class, DiskDumpHeader, KInvariant, KdumpError, KdumpFile,
    KdumpSet, KdumpSubHeader, Signature, SubHeaderLayout,
};
use crate::readat::ReadAt;
use crate::source::DumpForm;

/// Arguments of `info`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat info vmcore
  kdump-flat info --json vmcore.flat | jq .pages
  kdump-flat info vmcore.2 vmcore.1             a split set: each part and the totals")]
pub struct Args {
    /// The dump (raw or flattened), or every file of one split set in any order (`makedumpfile --split`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
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

/// One file of a split set, as `info` shows it.
#[derive(Debug, Serialize)]
pub struct PartInfo {
    /// The file, as given on the command line.
    pub file: String,
    /// The pfns this part holds, `[start, end)`.
    pub pfn_range: (u64, u64),
    /// Everything about the file on its own.
    pub info: Info,
}

/// What `info --json` prints for the files of a split set.
#[derive(Debug, Serialize)]
pub struct SetInfo {
    /// The parts, in pfn order.
    pub parts: Vec<PartInfo>,
    /// The whole set's page counts: memory and exclusions from the bitmaps (every part carries the full
    /// bitmaps), dumped pages summed over the parts.
    pub pages: PageCounts,
}

/// The page counts of a whole set from those of its parts.
pub fn set_page_counts(parts: &[PartInfo]) -> PageCounts {
    let mut total = parts.first().map(|p| p.info.pages).unwrap_or_default();
    total.dumped = 0;
    total.zero = 0;
    total.compressed = 0;
    total.raw = 0;
    for part in parts {
        let p = &part.info.pages;
        total.dumped += p.dumped;
        total.zero += p.zero;
        total.compressed += p.compressed;
        total.raw += p.raw;
    }
    total
}

/// Appends one `label value` line of the text output.
fn push_line(text: &mut String, label: &str, value: String) {
    text.push_str(&format!("{label:<14}{value}\n"));
}

fn form_name(form: DumpForm) -> &'static str {
    match form {
        DumpForm::Raw => "raw",
        DumpForm::Flattened => "flattened",
    }
}

/// The lines every part of a dump shares: format (ending in `storage`), machine, compression, page size,
/// max pfn and the sub-header.
fn push_dump_lines(t: &mut String, info: &Info, storage: &str) {
    let h = &info.header;
    push_line(
        t,
        "format:",
        format!(
            "kdump-compressed, signature {:?}, header version {}, {storage}",
            match h.signature {
                Signature::Kdump => "KDUMP   ",
                Signature::Diskdump => "DISKDUMP",
            },
            h.header_version,
        ),
    );
    push_line(
        t,
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
        push_line(
            t,
            "utsname:",
            format!(
                "{} {} {} {}",
                h.utsname.sysname, h.utsname.nodename, h.utsname.release, h.utsname.version
            ),
        );
    }
    push_line(
        t,
        "compression:",
        format!("{} (status {:#x})", info.compression, h.status),
    );
    push_line(t, "page size:", info.page_size.to_string());
    push_line(
        t,
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
        push_line(
            t,
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
    }
}

/// The eraseinfo and layout lines of one file.
fn push_file_lines(t: &mut String, info: &Info) {
    if let Some((o, s)) = info.sub_header.as_ref().and_then(|s| s.eraseinfo_range()) {
        push_line(t, "eraseinfo:", format!("{s} bytes at {o:#x}"));
    }
    push_line(
        t,
        "layout:",
        format!(
            "bitmaps {} block(s) at {:#x} and {:#x}; {} descriptors at {:#x}; data from {:#x}; file {} bytes",
            info.header.bitmap_blocks,
            info.bitmap1_offset,
            info.bitmap2_offset,
            info.descriptors,
            info.descriptors_offset,
            info.data_offset,
            info.file_size
        ),
    );
}

/// The pages line.
fn push_pages_line(t: &mut String, p: &PageCounts) {
    push_line(
        t,
        "pages:",
        format!(
            "{} in memory, {} dumped ({} zero, {} compressed, {} raw), {} excluded",
            p.in_memory, p.dumped, p.zero, p.compressed, p.raw, p.excluded
        ),
    );
}

/// The notes and VMCOREINFO lines.
fn push_notes_lines(t: &mut String, info: &Info) {
    let n = &info.notes;
    push_line(
        t,
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
        push_line(t, "notes error:", e.clone());
    }
    if let Some(size) = info.vmcoreinfo_size {
        push_line(
            t,
            "vmcoreinfo:",
            format!(
                "{size} bytes; OSRELEASE={} PAGESIZE={}",
                info.osrelease.as_deref().unwrap_or("(absent)"),
                info.vmcoreinfo_page_size
                    .map_or("(absent)".to_string(), |p| p.to_string())
            ),
        );
    } else {
        push_line(t, "vmcoreinfo:", "none".into());
    }
}

/// Renders the information about one file as text.
pub fn render_text(info: &Info) -> String {
    let mut t = String::new();
    push_dump_lines(&mut t, info, &format!("{} file", form_name(info.form)));
    if let Some(sub) = info.sub_header.as_ref().filter(|s| s.is_split()) {
        let (s, e) = sub.pfn_range();
        push_line(
            &mut t,
            "split:",
            format!("part of a split set, pfns [{s:#x}, {e:#x})"),
        );
    }
    push_file_lines(&mut t, info);
    push_pages_line(&mut t, &info.pages);
    push_notes_lines(&mut t, info);
    t
}

/// Renders the information about a split set as text: what the parts share (from the first), then each
/// part, then the whole set's pages.
pub fn render_set_text(set: &SetInfo) -> String {
    let mut t = String::new();
    let Some(first) = set.parts.first() else {
        return t;
    };
    let end = set.parts.last().map_or(0, |p| p.pfn_range.1);
    push_dump_lines(
        &mut t,
        &first.info,
        &format!(
            "split set of {} files, pfns [0x0, {end:#x})",
            set.parts.len()
        ),
    );
    for (number, part) in set.parts.iter().enumerate() {
        let (s, e) = part.pfn_range;
        let p = &part.info.pages;
        push_line(
            &mut t,
            &format!("part {}:", number + 1),
            format!(
                "{} ({} file, {} bytes): pfns [{s:#x}, {e:#x}), {} dumped ({} zero, {} compressed, {} raw)",
                part.file,
                form_name(part.info.form),
                part.info.file_size,
                p.dumped,
                p.zero,
                p.compressed,
                p.raw
            ),
        );
    }
    push_pages_line(&mut t, &set.pages);
    push_notes_lines(&mut t, &first.info);
    t
}

/// Runs `info`.
pub fn run(args: Args) -> CliResult {
    let inputs = open_inputs(&args.files)?;
    let mut dumps = Vec::with_capacity(inputs.len());
    for (input, path) in inputs.iter().zip(&args.files) {
        let reader: &dyn ReadAt = &*input.source.reader;
        dumps.push(KdumpFile::open(reader).map_err(|e| Failure::from(e).in_file(path))?);
    }
    let mut stdout = std::io::stdout().lock();
    if dumps.len() == 1 {
        let info = gather(&dumps[0], inputs[0].source.form).map_err(Failure::from)?;
        if args.json {
            serde_json::to_writer_pretty(&mut stdout, &info)
                .map_err(|e| Failure::Io(anyhow!(e)))?;
        } else {
            write!(stdout, "{}", render_text(&info))?;
        }
    } else {
        let set = gather_set(dumps, &inputs, &args.files)?;
        if args.json {
            serde_json::to_writer_pretty(&mut stdout, &set).map_err(|e| Failure::Io(anyhow!(e)))?;
        } else {
            write!(stdout, "{}", render_set_text(&set))?;
        }
    }
    if args.json {
        writeln!(stdout)?;
    }
    Ok(())
}

/// Gathers the information about the opened files of one split set (`dumps[i]` opened from `paths[i]`);
/// fails naming the file if they do not form a complete set (K18).
fn gather_set<R: ReadAt>(
    dumps: Vec<KdumpFile<R>>,
    inputs: &[DumpInput],
    paths: &[PathBuf],
) -> Result<SetInfo, Failure> {
    let numbered: Vec<(usize, &KdumpFile<R>)> = dumps.iter().enumerate().collect();
    if let Some((index, problem)) = split_set_problems(&numbered, dumps.len())
        .into_iter()
        .next()
    {
        let path = paths[index].display();
        return Err(Failure::Invalid(anyhow!(
            "file {index} ({path}): {}",
            KdumpError::invalid(KInvariant::K18, None, None, problem)
        )));
    }
    let set = KdumpSet::new(dumps).map_err(Failure::from)?;
    let mut parts = Vec::with_capacity(set.parts().len());
    for (number, part) in set.parts().iter().enumerate() {
        let index = set.given_index(number);
        let info = gather(part, inputs[index].source.form)
            .map_err(|e| Failure::from(e).in_file(&paths[index]))?;
        parts.push(PartInfo {
            file: paths[index].display().to_string(),
            pfn_range: part.pfn_range(),
            info,
        });
    }
    let pages = set_page_counts(&parts);
    Ok(SetInfo { parts, pages })
}
