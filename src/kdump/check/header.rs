//! The `disk_dump_header` checks: K3 (header version), K4 (block size), K5 (CPUs, a deviation), K6
//! (machine, a deviation), K7 (unused fields and status bits), K9 (bitmap size) and K10 (the 32-bit `max_mapnr`). K1 and
//! K2 (signature, byte order and word size) are checked by [`Headers::read`], which fails without them.

use super::report::FileReport;
use crate::compress::flags;
use crate::kdump::header::{expected_bitmap_blocks, MAX_HEADER_VERSION};
use crate::kdump::{Headers, KInvariant};

/// Architectures `utsname.machine` may name (K6).
pub const KNOWN_MACHINES: &[&str] = &[
    "x86_64",
    "i386",
    "i486",
    "i586",
    "i686",
    "aarch64",
    "arm64",
    "arm",
    "armv5tel",
    "armv5tejl",
    "armv6l",
    "armv7l",
    "armv8l",
    "ppc",
    "ppc64",
    "ppc64le",
    "s390",
    "s390x",
    "riscv32",
    "riscv64",
    "mips",
    "mips64",
    "loongarch64",
    "sparc64",
    "ia64",
    "alpha",
    "sh",
];

/// K3–K7, K9 and K10 for one file's headers, in that order.
pub(super) fn check_header(dump: &Headers, out: &mut FileReport<'_>) {
    check_version_and_block_size(dump, out);
    check_cpus(dump, out);
    check_machine(dump, out);
    check_unused_fields_and_status(dump, out);
    check_bitmap_blocks(dump, out);
    check_max_mapnr(dump, out);
}

/// K3: `header_version` is known; K4: `block_size` is a power of two.
fn check_version_and_block_size(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    if h.header_version < 0 || h.header_version > MAX_HEADER_VERSION {
        out.violation(
            KInvariant::K3,
            Some(8),
            None,
            format!(
                "header_version is {}, expected 0..={MAX_HEADER_VERSION}",
                h.header_version
            ),
        );
    }
    let block_size = h.block_size as u32;
    if !block_size.is_power_of_two() {
        out.violation(
            KInvariant::K4,
            None,
            None,
            format!("block_size {block_size} is not a power of two"),
        );
    }
}

/// K5 (a deviation: readers read the pages regardless; QEMU and makedumpfile always record the CPUs):
/// `nr_cpus` is positive and the notes hold an `NT_PRSTATUS` note.
fn check_cpus(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    if h.nr_cpus <= 0 {
        out.deviation(
            KInvariant::K5,
            None,
            None,
            format!("nr_cpus is {}", h.nr_cpus),
        );
    } else if dump.notes_error.is_none()
        && dump
            .sub_header
            .as_ref()
            .is_some_and(|s| s.notes_range().is_some())
        && dump.notes.prstatus_count() == 0
    {
        // Every writer emits one NT_PRSTATUS note per CPU: a zeroed note section would pass silently.
        out.deviation(
            KInvariant::K5,
            dump.sub_header.as_ref().map(|s| s.offset_note),
            None,
            format!(
                "nr_cpus is {} but the notes hold no NT_PRSTATUS note",
                h.nr_cpus
            ),
        );
    }
}

/// What the writers themselves put into `utsname.machine` when they do not know the architecture: QEMU
/// ≥ 8.0 writes "Unknown" (docs/FORMATS.md §3), makedumpfile an empty utsname when the input has no VMCOREINFO
/// (`corpus/real/fw-mdf-lzo-d1`). Neither is a finding.
pub const WRITERS_UNKNOWN_MACHINES: &[&str] = &["Unknown", ""];

/// K6 (a deviation: readers take the architecture from the notes or VMCOREINFO, not from this field):
/// `utsname.machine` names a known architecture, or is what QEMU or makedumpfile write without one.
fn check_machine(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    let machine = h.utsname.machine.as_str();
    if !KNOWN_MACHINES.contains(&machine) && !WRITERS_UNKNOWN_MACHINES.contains(&machine) {
        out.deviation(
            KInvariant::K6,
            Some(12 + 4 * 65),
            None,
            format!(
                "utsname.machine {:?} is not a known architecture",
                h.utsname.machine
            ),
        );
    }
}

/// K7: the unused header fields are zero; `status` has known bits only and at most one compression.
fn check_unused_fields_and_status(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    let unused = [
        ("total_ram_blocks", h.total_ram_blocks),
        ("device_blocks", h.device_blocks),
        ("written_blocks", h.written_blocks),
        ("current_cpu", h.current_cpu),
    ];
    for (name, value) in unused {
        if value != 0 {
            out.violation(
                KInvariant::K7,
                None,
                None,
                format!("{name} is {value:#x}, expected 0"),
            );
        }
    }
    let known = flags::COMPRESSION_MASK | flags::INCOMPLETE | flags::EXCLUDED_VMEMMAP;
    if h.status & !known != 0 {
        out.violation(
            KInvariant::K7,
            None,
            None,
            format!(
                "status {:#x} has unknown bits {:#x}",
                h.status,
                h.status & !known
            ),
        );
    }
    if h.compression_bits().count_ones() > 1 {
        out.violation(
            KInvariant::K7,
            None,
            None,
            format!("status {:#x} names several compressions", h.status),
        );
    }
}

/// K9: `bitmap_blocks` is what `max_mapnr` and the block size need.
fn check_bitmap_blocks(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    let expected = expected_bitmap_blocks(dump.max_mapnr(), dump.page_size());
    if h.bitmap_blocks as u64 != expected {
        out.violation(
            KInvariant::K9,
            None,
            None,
            format!(
                "bitmap_blocks is {}, expected {expected} for max_mapnr {:#x} and block_size {}",
                h.bitmap_blocks,
                dump.max_mapnr(),
                dump.page_size()
            ),
        );
    }
}

/// K10: the 32-bit `max_mapnr` is `min(max_mapnr_64, 2^32-1)` (version 6).
fn check_max_mapnr(dump: &Headers, out: &mut FileReport<'_>) {
    let h = &dump.header;
    if let Some(max64) = dump.sub_header.as_ref().and_then(|s| s.max_mapnr_64()) {
        let expected = max64.min(u32::MAX as u64);
        if h.max_mapnr as u64 != expected {
            out.violation(
                KInvariant::K10,
                None,
                None,
                format!(
                    "max_mapnr is {:#x}, expected min(max_mapnr_64 {max64:#x}, 2^32-1) = {expected:#x}",
                    h.max_mapnr
                ),
            );
        }
    }
}
