//! The model's write sequences against real dumps of a booted Linux guest (VMCOREINFO present, dump level
//! 31 excluding pages): too big to commit, made by `scripts/make-real-dumps.sh OUT kernel`
//! (which downloads a Debian kernel); `scripts/test-real.sh` runs this test with the others. Run with `KDUMP_REAL_DIR=OUT cargo test --test all
//! -- --ignored model_kernel_oracle::`; the directory must hold `lk.elf`, `lk.fixed.elf`, `lk.kdump-zlib.flat` (QEMU 7.2) and
//! `mdf-lzo-d31` (makedumpfile 1.7.2 `-d 31 -l`).

use kdump_flat::compress::Compression;
use kdump_flat::model::encode::StructAbi;
use kdump_flat::model::makedumpfile::{
    automatic_cyclic_buffer, split_ranges, write_makedumpfile_kdump_from, MakedumpfileOptions,
};
use kdump_flat::model::notes::{count_prstatus, vmcoreinfo_phys_base};
use kdump_flat::model::{write_qemu_kdump, Endian, GuestBlock, QemuDumpOptions};
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::{DumpSink, FlatSink, RawSink};

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..n].copy_from_slice(&b[at..at + n]);
    u64::from_le_bytes(v)
}

fn dir() -> std::path::PathBuf {
    std::env::var_os("KDUMP_REAL_DIR")
        .expect("set KDUMP_REAL_DIR to the output directory of scripts/make-real-dumps.sh (kernel part)")
        .into()
}

/// PT_LOADs (paddr, offset, size) and the PT_NOTE bytes, by the crate's ELF reader.
fn read_elf(bytes: &[u8]) -> (Vec<(u64, u64, u64)>, Vec<u8>) {
    let parsed = kdump_flat::elf::ElfDump::parse(bytes).unwrap();
    let loads = parsed
        .blocks
        .iter()
        .map(|b| (b.phys_addr, b.file_offset, b.file_size))
        .collect();
    (loads, parsed.note_bytes)
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
#[ignore = "needs the booted-guest dumps of scripts/make-real-dumps.sh (KDUMP_REAL_DIR)"]
fn qemu_kdump_of_a_booted_guest_with_vmcoreinfo_is_reproduced() {
    let elf = std::fs::read(dir().join("lk.elf")).unwrap();
    let (loads, notes) = read_elf(&elf);
    let blocks: Vec<GuestBlock<'_>> = loads
        .iter()
        .map(|&(start, offset, len)| GuestBlock {
            start,
            len,
            data: &elf,
            data_offset: offset,
        })
        .collect();
    let options = QemuDumpOptions {
        is_64bit: true,
        endian: Endian::Little,
        page_size: 4096,
        compression: Compression::Zlib,
        nr_cpus: count_prstatus(&notes, Endian::Little),
        phys_base: vmcoreinfo_phys_base(&notes, Endian::Little, "phys_base").unwrap_or(0),
        uts_machine: "x86_64".into(),
    };
    let mut sink = FlatSink::new(Vec::new());
    write_qemu_kdump(&blocks, &notes, &options, &mut sink as &mut dyn DumpSink).unwrap();
    let real = std::fs::read(dir().join("lk.kdump-zlib.flat")).unwrap();
    assert_eq!(first_difference(&sink.into_inner(), &real), None);
}

/// What makedumpfile decided from the kernel's data structures, taken from one of its files (`real`): the
/// options (max_mapnr from the kernel's memory model, the header's values) and bitmap 2 (the pages it
/// kept; every file of a split set carries all of it).
fn decisions_of(real: &[u8]) -> (MakedumpfileOptions, Vec<u8>) {
    let ps = 4096u64;
    let sub_hdr_blocks = le(real, 432, 4);
    let bitmap_blocks = le(real, 436, 4);
    let max_mapnr = le(real, 4096 + 96, 8);
    let bitmap2 = ((1 + sub_hdr_blocks + bitmap_blocks / 2) * ps) as usize;
    let uts = |i: usize| {
        let field = &real[12 + i * 65..12 + i * 65 + 65];
        String::from_utf8_lossy(&field[..field.iter().position(|&b| b == 0).unwrap_or(65)])
            .into_owned()
    };
    let options = MakedumpfileOptions {
        abi: StructAbi::Lp64,
        endian: Endian::Little,
        page_size: ps,
        compression: Compression::Lzo,
        dump_level: 31,
        nr_cpus: le(real, 460, 4) as u32,
        phys_base: le(real, 4096, 8),
        utsname: [uts(0), uts(1), uts(2), uts(3), uts(4), uts(5)],
        timestamp: (le(real, 408, 8), le(real, 416, 8)),
        eraseinfo: None,
        max_mapnr: Some(max_mapnr),
        cyclic_buffer: None,
        split: None,
        num_threads: 0,
        block_order: 4,
    };
    let bitmap = real[bitmap2..bitmap2 + max_mapnr.div_ceil(8) as usize].to_vec();
    (options, bitmap)
}

/// The ELF's PT_LOADs below `max_mapnr` as the model's blocks.
fn blocks_below<'a>(
    elf: &'a dyn ReadAt,
    loads: &[(u64, u64, u64)],
    max_mapnr: u64,
) -> Vec<GuestBlock<'a>> {
    let ps = 4096u64;
    loads
        .iter()
        .filter(|&&(start, _, _)| start / ps < max_mapnr)
        .map(|&(start, offset, len)| GuestBlock {
            start,
            len: len.min(max_mapnr * ps - start),
            data: elf,
            data_offset: offset,
        })
        .collect()
}

/// The model's file for `options`, with bitmap 2 = `bitmap2`, flattened (`flat`) or raw.
fn model_file(
    elf: &dyn ReadAt,
    loads: &[(u64, u64, u64)],
    notes: &[u8],
    options: &MakedumpfileOptions,
    bitmap2: &[u8],
    flat: bool,
) -> Vec<u8> {
    let max_mapnr = options.max_mapnr.unwrap();
    let blocks = blocks_below(elf, loads, max_mapnr);
    let is_dumped = |pfn: u64| bitmap2[(pfn / 8) as usize] & (1 << (pfn % 8)) != 0;
    if flat {
        let mut sink = FlatSink::new(Vec::new());
        write_makedumpfile_kdump_from(&blocks, &is_dumped, notes, options, &mut sink).unwrap();
        sink.into_inner()
    } else {
        let mut sink = RawSink::in_memory();
        write_makedumpfile_kdump_from(&blocks, &is_dumped, notes, options, &mut sink).unwrap();
        sink.into_bytes()
    }
}

#[test]
#[ignore = "needs the booted-guest dumps of scripts/make-real-dumps.sh (KDUMP_REAL_DIR)"]
fn makedumpfile_level_31_of_a_booted_guest_is_reproduced() {
    let real = std::fs::read(dir().join("mdf-lzo-d31")).unwrap();
    let elf = std::fs::read(dir().join("lk.fixed.elf")).unwrap();
    let (loads, notes) = read_elf(&elf);
    let (options, bitmap2) = decisions_of(&real);
    let model = model_file(&elf, &loads, &notes, &options, &bitmap2, false);
    assert_eq!(first_difference(&model, &real), None);
}

/// Runs makedumpfile (`binary`) with `args` on `elf_path`, writing `outputs` in `dir` (none: `-F`, stdout).
fn run_makedumpfile(
    binary: &str,
    args: &[&str],
    elf_path: &std::path::Path,
    dir: &std::path::Path,
    outputs: &[&str],
) -> Vec<Vec<u8>> {
    for name in outputs {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let run = std::process::Command::new(binary)
        .args(args)
        .arg(elf_path)
        .args(outputs.iter().map(|name| dir.join(name)))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    assert!(
        run.status.success(),
        "{binary} {args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    if outputs.is_empty() {
        return vec![run.stdout];
    }
    outputs
        .iter()
        .map(|name| std::fs::read(dir.join(name)).unwrap())
        .collect()
}

#[test]
#[ignore = "needs the booted-guest dumps of scripts/make-real-dumps.sh (KDUMP_REAL_DIR)"]
fn makedumpfile_cyclic_and_split_level_31_of_a_booted_guest_are_reproduced() {
    let elf_path = dir().join("lk.fixed.elf");
    let elf = std::fs::read(&elf_path).unwrap();
    let (loads, notes) = read_elf(&elf);
    let tmp = tempfile::tempdir().unwrap();
    let mdf172 = if std::path::Path::new("/usr/sbin/makedumpfile").exists() {
        "/usr/sbin/makedumpfile"
    } else {
        "makedumpfile"
    };
    let oracles = std::env::var("ORACLES_DIR").unwrap_or_else(|_| "/tmp/kdump-oracles".into());
    let mdf176 = format!("{oracles}/mdf176/usr/bin/makedumpfile");
    // max_mapnr 0x8000: 1 KiB = 8192 pfns, 4 cycles; 3 KiB = 24576 pfns, 2 cycles. Bitmap 2 (the pages
    // kept, decided per cycle from the kernel's structures) is taken from makedumpfile's own file.
    for (binary, compression, flag, kib) in [
        (mdf172, Compression::Lzo, "-l", 1u64),
        (mdf172, Compression::Zlib, "-c", 3),
        (mdf176.as_str(), Compression::Zstd, "-z", 1),
    ] {
        let buffer = kib.to_string();
        let args = ["-d", "31", flag, "--cyclic-buffer", buffer.as_str()];
        let raw = &run_makedumpfile(binary, &args, &elf_path, tmp.path(), &["vmcore"])[0];
        let flat_args = [&["-F"], &args[..]].concat();
        let flat = &run_makedumpfile(binary, &flat_args, &elf_path, tmp.path(), &[])[0];
        let (options, bitmap2) = decisions_of(raw);
        let options = MakedumpfileOptions {
            compression,
            cyclic_buffer: Some(kib * 1024),
            ..options
        };
        let model = model_file(&elf, &loads, &notes, &options, &bitmap2, false);
        assert_eq!(first_difference(&model, raw), None, "{binary} {args:?}");
        let model = model_file(&elf, &loads, &notes, &options, &bitmap2, true);
        assert_eq!(
            first_difference(&model, flat),
            None,
            "{binary} {flat_args:?}"
        );
    }
    // --split into 3 files with 8 MiB splitblocks (2048 pfns); the automatic buffer per file,
    // 0x8000·2/8/3 = 2730 bytes, makes 2 cycles of 21840 pfns.
    let names = ["vmcore.1", "vmcore.2", "vmcore.3"];
    let args = ["--split", "-d", "31", "-l", "--splitblock-size", "8192"];
    let real = run_makedumpfile(mdf172, &args, &elf_path, tmp.path(), &names);
    let (options, bitmap2) = decisions_of(&real[0]);
    let max_mapnr = options.max_mapnr.unwrap();
    let dumpable =
        (0..max_mapnr).filter(|&pfn| bitmap2[(pfn / 8) as usize] & (1 << (pfn % 8)) != 0);
    let ranges = split_ranges(dumpable, max_mapnr, 3, 2048);
    let cyclic_buffer = automatic_cyclic_buffer(max_mapnr, 3, u64::MAX);
    assert_eq!(cyclic_buffer, Some(2730));
    for (i, (&range, real_file)) in ranges.iter().zip(&real).enumerate() {
        assert_eq!(
            le(real_file, 4096 + 80, 8),
            range.0,
            "file {i}: start_pfn_64"
        );
        assert_eq!(le(real_file, 4096 + 88, 8), range.1, "file {i}: end_pfn_64");
        let options = MakedumpfileOptions {
            cyclic_buffer,
            split: Some(range),
            ..options.clone()
        };
        let model = model_file(&elf, &loads, &notes, &options, &bitmap2, false);
        assert_eq!(
            first_difference(&model, real_file),
            None,
            "{args:?}, file {i}"
        );
    }
}
