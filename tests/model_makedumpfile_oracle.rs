//! The model's makedumpfile write sequence against real makedumpfile output: the memory and notes of the
//! QEMU ELF dump that makedumpfile read (corpus/real/fw-q72.elf.gz) fed into
//! `write_makedumpfile_kdump_from` with the same options must give makedumpfile's own files: the committed
//! ones of corpus/real, and those of the installed makedumpfile (1.7.2, Debian's package) run now in a
//! temporary directory on that ELF (program headers moved, as scripts/make-real-dumps.sh does; also with
//! its ROM moved for a max_mapnr that is not a multiple of 8): cyclic mode (`--cyclic-buffer`, several
//! cycles), `--split` sets, `--num-threads`, `-b`, flattened and raw. A missing makedumpfile fails these
//! tests. The ignored test runs makedumpfile 1.7.6 (scripts/fetch-extras.sh) with zstd.

use kdump_flat::compress::Compression;
use kdump_flat::model::makedumpfile::{
    automatic_cyclic_buffer, split_ranges, write_makedumpfile_kdump_from, MakedumpfileOptions,
};
use kdump_flat::model::GuestBlock;
use kdump_flat::sink::{DumpSink, FlatSink, RawSink, RecordingSink, TeeSink};

use crate::support::elf_gz::{parse_elf, read_elf, ElfDump};

fn write(elf: &ElfDump, compression: Compression) -> (Vec<u8>, Vec<u8>, Vec<(u64, u64)>) {
    let blocks = elf.blocks();
    let options = fw_options(compression, 1);
    let mut sink = TeeSink(
        TeeSink(FlatSink::new(Vec::new()), RawSink::in_memory()),
        RecordingSink::default(),
    );
    write_makedumpfile_kdump_from(
        &blocks,
        &|_| true,
        &elf.notes,
        &options,
        &mut sink as &mut dyn DumpSink,
    )
    .unwrap();
    let TeeSink(TeeSink(flat, raw), rec) = sink;
    (flat.into_inner(), raw.into_bytes(), rec.writes)
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[test]
fn makedumpfile_1_7_6_zstd_flattened_is_reproduced_byte_for_byte() {
    let elf = read_elf("corpus/real/fw-q72.elf.gz");
    let (flat, _, writes) = write(&elf, Compression::Zstd);
    let real = std::fs::read("corpus/real/fw-mdf-zstd-d1.flat").unwrap();
    assert_eq!(
        first_difference(&flat, &real),
        None,
        "vs makedumpfile -F -d 1 -z"
    );
    assert_eq!(writes.len(), 76);
}

#[test]
fn makedumpfile_1_7_2_lzo_raw_and_flattened_are_reproduced_byte_for_byte() {
    let elf = read_elf("corpus/real/fw-q72.elf.gz");
    let (flat, raw, _) = write(&elf, Compression::Lzo);
    let real_raw = std::fs::read("corpus/real/fw-mdf-lzo-d1").unwrap();
    let real_flat = std::fs::read("corpus/real/fw-mdf-lzo-d1.flat").unwrap();
    assert_eq!(
        first_difference(&raw, &real_raw),
        None,
        "vs makedumpfile -d 1 -l"
    );
    assert_eq!(
        first_difference(&flat, &real_flat),
        None,
        "vs makedumpfile -F -d 1 -l"
    );
}

// ---------------------------------------------------------------------------------------------------------
// Cyclic mode and --split, against makedumpfile run now (installed from Debian's `makedumpfile` package; a
// missing makedumpfile makes these tests fail).

/// The installed makedumpfile (Debian puts it in /usr/sbin, which a test's PATH may lack).
fn makedumpfile_binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/makedumpfile").exists() {
        "/usr/sbin/makedumpfile"
    } else {
        "makedumpfile"
    }
}

/// A QEMU ELF dump as makedumpfile reads it, with its bytes parsed the way the model takes them.
struct OracleElf {
    dir: tempfile::TempDir,
    elf: ElfDump,
}

impl OracleElf {
    /// corpus/real/fw-q72.elf.gz with its program headers moved right after the ELF header (makedumpfile
    /// <= 1.7.x expects them there; scripts/make-real-dumps.sh does the same), and, with `rom_at`, its
    /// last PT_LOAD (the 256 KiB BIOS ROM at 4 GiB - 256 KiB) moved to that physical address.
    fn new(rom_at: Option<u64>) -> Self {
        let mut bytes = read_elf("corpus/real/fw-q72.elf.gz").bytes;
        let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as usize;
        let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let phoff = u64_at(&bytes, 0x20) as usize;
        let (phentsize, phnum) = (u16_at(&bytes, 0x36), u16_at(&bytes, 0x38));
        let mut phdrs = bytes[phoff..phoff + phentsize * phnum].to_vec();
        let first_segment = (0..phnum)
            .map(|i| u64_at(&phdrs, i * phentsize + 8) as usize)
            .min()
            .unwrap();
        if let Some(paddr) = rom_at {
            let last = (phnum - 1) * phentsize;
            assert_eq!(
                u64_at(&phdrs, last + 0x18),
                0xfffc_0000,
                "the ROM's PT_LOAD"
            );
            phdrs[last + 0x10..last + 0x18].copy_from_slice(&paddr.to_le_bytes()); // p_vaddr
            phdrs[last + 0x18..last + 0x20].copy_from_slice(&paddr.to_le_bytes());
            // p_paddr
        }
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        bytes[0x28..0x30].copy_from_slice(&0u64.to_le_bytes()); // e_shoff
        bytes[0x34..0x36].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        bytes[0x3a..0x40].fill(0); // e_shentsize, e_shnum, e_shstrndx
        bytes[64..64 + phdrs.len()].copy_from_slice(&phdrs);
        bytes[64 + phdrs.len()..first_segment].fill(0);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vmcore.elf"), &bytes).unwrap();
        OracleElf {
            dir,
            elf: parse_elf(bytes),
        }
    }

    fn blocks(&self) -> Vec<GuestBlock<'_>> {
        self.elf.blocks()
    }

    /// One past the last pfn of the memory (makedumpfile's max_mapnr for an ELF without VMCOREINFO).
    fn max_mapnr(&self) -> u64 {
        self.blocks()
            .iter()
            .map(|b| (b.start + b.len) / 4096)
            .max()
            .unwrap()
    }

    /// makedumpfile's `--split` ranges for `files` files (every page dumpable, as at -d 1).
    fn split_ranges(&self, files: usize, splitblock_pages: u64) -> Vec<(u64, u64)> {
        let dumpable = self
            .blocks()
            .iter()
            .flat_map(|b| b.start / 4096..(b.start + b.len) / 4096)
            .collect::<Vec<_>>();
        split_ranges(dumpable, self.max_mapnr(), files, splitblock_pages)
    }

    /// Runs makedumpfile with `args` on this ELF, then `outputs` (file names in the temporary directory,
    /// none for `-F`, whose stdout is returned); returns the output files' bytes (or stdout).
    fn makedumpfile(&self, args: &[&str], outputs: &[&str]) -> Vec<Vec<u8>> {
        self.makedumpfile_from(makedumpfile_binary(), args, outputs)
    }

    /// [`Self::makedumpfile`] with another makedumpfile binary.
    fn makedumpfile_from(&self, binary: &str, args: &[&str], outputs: &[&str]) -> Vec<Vec<u8>> {
        let path = |name: &str| self.dir.path().join(name);
        // makedumpfile's --num-threads workers end with pthread_exit, for which glibc dlopens
        // libgcc_s.so.1 at first use. Under load that occasionally failed here (twice in about 200
        // runs): makedumpfile aborts with "libgcc_s.so.1 must be installed for pthread_exit to work"
        // before writing anything useful. Such an abort of the tool is retried (up to 3 runs); any
        // other failure, and every output, is taken as it comes.
        const PTHREAD_EXIT_ABORT: &str = "libgcc_s.so.1 must be installed for pthread_exit";
        let mut attempts = 0;
        let run = loop {
            for name in outputs {
                let _ = std::fs::remove_file(path(name));
            }
            let run = std::process::Command::new(binary)
                .args(args)
                .arg(path("vmcore.elf"))
                .args(outputs.iter().map(|name| path(name)))
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run makedumpfile (apt-get install makedumpfile): {e}")
                });
            attempts += 1;
            let aborted_in_pthread_exit = !run.status.success()
                && String::from_utf8_lossy(&run.stderr).contains(PTHREAD_EXIT_ABORT);
            if !aborted_in_pthread_exit || attempts == 3 {
                break run;
            }
        };
        assert!(
            run.status.success(),
            "makedumpfile {args:?} failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        if outputs.is_empty() {
            return vec![run.stdout];
        }
        outputs
            .iter()
            .map(|name| std::fs::read(path(name)).unwrap())
            .collect()
    }

    /// The model's flattened and raw files and its write list, for `options`.
    fn model(&self, options: &MakedumpfileOptions) -> (Vec<u8>, Vec<u8>, Vec<(u64, u64)>) {
        let mut sink = TeeSink(
            TeeSink(FlatSink::new(Vec::new()), RawSink::in_memory()),
            RecordingSink::default(),
        );
        write_makedumpfile_kdump_from(
            &self.blocks(),
            &|_| true,
            &self.elf.notes,
            options,
            &mut sink as &mut dyn DumpSink,
        )
        .unwrap();
        let TeeSink(TeeSink(flat, raw), rec) = sink;
        (flat.into_inner(), raw.into_bytes(), rec.writes)
    }
}

/// The options makedumpfile uses for the firmware ELF (no VMCOREINFO: no utsname, phys_base 0).
fn fw_options(compression: Compression, dump_level: u8) -> MakedumpfileOptions {
    MakedumpfileOptions {
        compression,
        dump_level,
        ..MakedumpfileOptions::default()
    }
}

/// The records (offset, size) of a flattened file and where each one's payload starts in it.
fn flat_records(flat: &[u8]) -> Vec<(u64, u64, usize)> {
    let mut records = Vec::new();
    let mut at = 4096;
    while at + 16 <= flat.len() {
        let offset = i64::from_be_bytes(flat[at..at + 8].try_into().unwrap());
        let size = i64::from_be_bytes(flat[at + 8..at + 16].try_into().unwrap());
        if offset < 0 {
            break;
        }
        records.push((offset as u64, size as u64, at + 16));
        at += 16 + size as usize;
    }
    records
}

/// Asserts the model's flattened file is makedumpfile's, naming the first differing record if not.
fn assert_same_flat(model: &[u8], real: &[u8], what: &str) {
    let Some(at) = first_difference(model, real) else {
        return;
    };
    let (model_records, real_records) = (flat_records(model), flat_records(real));
    let record = real_records
        .iter()
        .zip(&model_records)
        .position(|(r, m)| r.0 != m.0 || r.1 != m.1 || r.2 + r.1 as usize > at)
        .unwrap_or(real_records.len().min(model_records.len()));
    panic!(
        "{what}: flattened files differ from byte {at:#x} (record {record}: makedumpfile {:x?}, \
         model {:x?}; {} vs {} records)",
        real_records.get(record).map(|r| (r.0, r.1)),
        model_records.get(record).map(|r| (r.0, r.1)),
        real_records.len(),
        model_records.len()
    );
}

/// Asserts the model's raw file is makedumpfile's, naming the first differing offset if not.
fn assert_same_raw(model: &[u8], real: &[u8], what: &str) {
    if let Some(at) = first_difference(model, real) {
        panic!(
            "{what}: raw files differ from offset {at:#x} (model {} bytes, makedumpfile {} bytes)",
            model.len(),
            real.len()
        );
    }
}

/// makedumpfile's cyclic mode (`--cyclic-buffer K`: cycles of K·1024·8 pfns, bitmap 1 cycle by cycle,
/// then per cycle bitmap 2's part and the cycle's pages) against the model, flattened and raw.
fn check_cyclic(
    elf: &OracleElf,
    compression: Compression,
    dump_level: u8,
    buffer_kib: u64,
) -> usize {
    let flag = match compression {
        Compression::Zlib => "-c",
        Compression::Lzo => "-l",
        Compression::None => "",
        other => panic!("makedumpfile 1.7.2 has no {other:?}"),
    };
    let level = dump_level.to_string();
    let buffer = buffer_kib.to_string();
    let mut args = vec!["-d", &level, "--cyclic-buffer", &buffer];
    if !flag.is_empty() {
        args.push(flag);
    }
    let options = MakedumpfileOptions {
        cyclic_buffer: Some(buffer_kib * 1024),
        ..fw_options(compression, dump_level)
    };
    let (flat, raw, writes) = elf.model(&options);
    let what = format!("makedumpfile {args:?}");
    let real_flat = elf.makedumpfile(&[&["-F"], args.as_slice()].concat(), &[]);
    assert_same_flat(&flat, &real_flat[0], &what);
    let real_raw = elf.makedumpfile(&args, &["vmcore"]);
    assert_same_raw(&raw, &real_raw[0], &what);
    writes.len()
}

#[test]
fn makedumpfile_cyclic_buffers_are_reproduced_byte_for_byte() {
    let elf = OracleElf::new(None);
    // max_mapnr 0x100000 (the ROM ends at 4 GiB): 1 KiB = 8192 pfns a cycle, 128 cycles; 3 KiB: 43 cycles,
    // the last one shorter; 100 KiB: 2 cycles; 200 KiB: one cycle, but cyclic (one write per bitmap).
    let writes: Vec<usize> = [1, 3, 100, 200]
        .iter()
        .map(|&kib| check_cyclic(&elf, Compression::Lzo, 1, kib))
        .collect();
    assert_eq!(writes, [268, 98, 16, 14]);
    check_cyclic(&elf, Compression::Zlib, 1, 4);
    check_cyclic(&elf, Compression::None, 0, 2);
}

#[test]
fn makedumpfile_cycles_ending_inside_a_bitmap_byte_are_reproduced() {
    // The ROM moved to 0x5001000: max_mapnr 0x5041, not a multiple of 8; 1 KiB cycles: 3 cycles, the last
    // of 4161 pfns = 521 bitmap bytes; the bitmaps' page-rounding tail is never written in cyclic mode.
    let elf = OracleElf::new(Some(0x500_1000));
    check_cyclic(&elf, Compression::Lzo, 1, 1);
    check_cyclic(&elf, Compression::Zlib, 0, 1);
    // Without --cyclic-buffer: max_mapnr is not a multiple of 4, so makedumpfile's own buffer (5136 bytes,
    // 41088 pfns) misses 2·max_mapnr bits by 2: cyclic mode, one cycle.
    let automatic = automatic_cyclic_buffer(0x5041, 1, u64::MAX);
    assert_eq!(automatic, Some(5136));
    let options = MakedumpfileOptions {
        cyclic_buffer: automatic,
        ..fw_options(Compression::Lzo, 1)
    };
    let (flat, _, writes) = elf.model(&options);
    let real = elf.makedumpfile(&["-F", "-d", "1", "-l"], &[]);
    assert_same_flat(&flat, &real[0], "makedumpfile -F -d 1 -l (moved ROM)");
    assert_eq!(
        writes[3],
        (0x2000, 0xa09),
        "bitmap 1 in one write of ceil(0x5041/8) bytes"
    );
}

/// makedumpfile `--split` into `files` files with `extra` options, against the model's files: the pfn
/// ranges from [`split_ranges`] (splitblocks of `splitblock_pages` pfns), each file written with
/// `cyclic_buffer` and its range. Returns the ranges.
fn check_split(
    elf: &OracleElf,
    extra: &[&str],
    files: usize,
    splitblock_pages: u64,
    cyclic_buffer: Option<u64>,
) -> Vec<(u64, u64)> {
    let names: Vec<String> = (1..=files).map(|i| format!("vmcore.{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let args = [&["--split", "-d", "1", "-l"], extra].concat();
    let real = elf.makedumpfile(&args, &names);
    let ranges = elf.split_ranges(files, splitblock_pages);
    for (i, (&range, real_file)) in ranges.iter().zip(&real).enumerate() {
        let options = MakedumpfileOptions {
            cyclic_buffer,
            split: Some(range),
            ..fw_options(Compression::Lzo, 1)
        };
        let (_, raw, _) = elf.model(&options);
        assert_same_raw(&raw, real_file, &format!("makedumpfile {args:?}, file {i}"));
    }
    ranges
}

#[test]
fn makedumpfile_split_sets_are_reproduced_byte_for_byte() {
    let elf = OracleElf::new(None);
    let gib = 1 << 18; // pfns in a default splitblock (1 GiB)
                       // Default splitblocks: the first GiB holds 4064 of the 4128 pages, at least half: file 1 gets it.
                       // 1 KiB cycles: 128 cycles in each file, pages only in the file's range.
    let ranges = check_split(&elf, &["--cyclic-buffer", "1"], 2, gib, Some(1024));
    assert_eq!(ranges, [(0, 0x40000), (0x40000, 0x100000)]);
    // Without --cyclic-buffer: a buffer per file of 0x100000·2/8/2 bytes, one cycle (as corpus/real's set).
    let automatic = automatic_cyclic_buffer(0x10_0000, 2, u64::MAX);
    assert_eq!(automatic, Some(0x20000));
    check_split(&elf, &[], 2, gib, automatic);
    for (i, name) in ["fw-mdf-split-d1.1", "fw-mdf-split-d1.2"]
        .iter()
        .enumerate()
    {
        let options = MakedumpfileOptions {
            cyclic_buffer: automatic,
            split: Some(ranges[i]),
            ..fw_options(Compression::Lzo, 1)
        };
        let real = std::fs::read(format!("corpus/real/{name}")).unwrap();
        assert_same_raw(&elf.model(&options).1, &real, name);
    }
    // 4 MiB splitblocks (1024 pfns), 3 files: 4128 / 3 = 1376 pages each at least; blocks of 992
    // (the VGA hole), 1024, 1024, ...; automatic buffer 0x100000·2/8/3 = 87381 bytes: 2 cycles.
    let automatic = automatic_cyclic_buffer(0x10_0000, 3, u64::MAX);
    assert_eq!(automatic, Some(87381));
    let ranges = check_split(&elf, &["--splitblock-size", "4096"], 3, 1024, automatic);
    assert_eq!(ranges, [(0, 2048), (2048, 4096), (4096, 0x100000)]);
}

#[test]
fn makedumpfile_split_edge_cases_are_reproduced_byte_for_byte() {
    // The ROM moved to 0x5001000: max_mapnr 0x5041 is below one default splitblock, whose count stays 0:
    // file 1 gets everything, file 2 the empty range [0x5041, 0x5041) (header, bitmaps and the zero page
    // only). The automatic buffer, 0x5041·2/8/2 = 2568 bytes = 20544 pfns, leaves a second cycle of 1 pfn.
    let elf = OracleElf::new(Some(0x500_1000));
    let automatic = automatic_cyclic_buffer(0x5041, 2, u64::MAX);
    assert_eq!(automatic, Some(2568));
    let ranges = check_split(&elf, &[], 2, 1 << 18, automatic);
    assert_eq!(ranges, [(0, 0x5041), (0x5041, 0x5041)]);
    // 4 MiB splitblocks: the ROM's pages are in the partial last splitblock, counted in the total (4128)
    // but not in the table: 992 + 1024 < 2064, + 1024 reaches it.
    let ranges = check_split(
        &elf,
        &["--splitblock-size", "4096", "--cyclic-buffer", "1"],
        2,
        1024,
        Some(1024),
    );
    assert_eq!(ranges, [(0, 3072), (3072, 0x5041)]);
}

#[test]
fn makedumpfile_num_threads_is_reproduced_byte_for_byte() {
    // --num-threads: the writer thread uses plain write_cache (no early flush of both caches): 73 records
    // instead of the single-threaded 76, the same with 1, 2 or 3 threads.
    let elf = OracleElf::new(None);
    for (args, cyclic_buffer) in [
        (vec!["-F", "-d", "1", "-l", "--num-threads", "2"], None),
        (vec!["-F", "-d", "1", "-l", "--num-threads", "1"], None),
        (
            vec![
                "-F",
                "-d",
                "1",
                "-c",
                "--num-threads",
                "3",
                "--cyclic-buffer",
                "1",
            ],
            Some(1024),
        ),
    ] {
        let compression = if args.contains(&"-c") {
            Compression::Zlib
        } else {
            Compression::Lzo
        };
        let options = MakedumpfileOptions {
            cyclic_buffer,
            num_threads: 2,
            ..fw_options(compression, 1)
        };
        let (flat, _, writes) = elf.model(&options);
        let real = elf.makedumpfile(&args, &[]);
        assert_same_flat(&flat, &real[0], &format!("makedumpfile {args:?}"));
        if cyclic_buffer.is_none() {
            assert_eq!(writes.len(), 73);
        }
    }
}

#[test]
fn makedumpfile_block_orders_are_reproduced_byte_for_byte() {
    // -b ORDER: caches of 4096 << ORDER bytes (242, 154 and 69 records for 0, 1 and 6; 76 for the
    // default 4), with 1 KiB cycles for order 2.
    let elf = OracleElf::new(None);
    for (order, cyclic_buffer) in [(0u32, None), (1, None), (6, None), (2, Some(1024))] {
        let order_arg = order.to_string();
        let mut args = vec!["-F", "-d", "1", "-l", "-b", order_arg.as_str()];
        if cyclic_buffer.is_some() {
            args.extend(["--cyclic-buffer", "1"]);
        }
        let options = MakedumpfileOptions {
            block_order: order,
            cyclic_buffer,
            ..fw_options(Compression::Lzo, 1)
        };
        let (flat, _, _) = elf.model(&options);
        let real = elf.makedumpfile(&args, &[]);
        assert_same_flat(&flat, &real[0], &format!("makedumpfile {args:?}"));
    }
}

#[test]
#[ignore = "needs makedumpfile 1.7.6 of scripts/fetch-extras.sh (ORACLES_DIR, default /tmp/kdump-oracles)"]
fn makedumpfile_1_7_6_zstd_cyclic_and_split_are_reproduced_byte_for_byte() {
    let oracles = std::env::var("ORACLES_DIR").unwrap_or_else(|_| "/tmp/kdump-oracles".into());
    let mdf176 = format!("{oracles}/mdf176/usr/bin/makedumpfile");
    for rom_at in [None, Some(0x500_1000)] {
        let elf = OracleElf::new(rom_at);
        let options = MakedumpfileOptions {
            cyclic_buffer: Some(1024),
            ..fw_options(Compression::Zstd, 1)
        };
        let (flat, raw, _) = elf.model(&options);
        let args = ["-d", "1", "-z", "--cyclic-buffer", "1"];
        let real_flat = elf.makedumpfile_from(&mdf176, &[&["-F"], &args[..]].concat(), &[]);
        assert_same_flat(
            &flat,
            &real_flat[0],
            "makedumpfile 1.7.6 -F -z --cyclic-buffer 1",
        );
        let real_raw = elf.makedumpfile_from(&mdf176, &args, &["vmcore"]);
        assert_same_raw(
            &raw,
            &real_raw[0],
            "makedumpfile 1.7.6 -z --cyclic-buffer 1",
        );
        let max_mapnr = elf.max_mapnr();
        let ranges = elf.split_ranges(3, 1024);
        let names = ["vmcore.1", "vmcore.2", "vmcore.3"];
        let args = ["--split", "-d", "1", "-z", "--splitblock-size", "4096"];
        let real = elf.makedumpfile_from(&mdf176, &args, &names);
        for (i, (&range, real_file)) in ranges.iter().zip(&real).enumerate() {
            let options = MakedumpfileOptions {
                cyclic_buffer: automatic_cyclic_buffer(max_mapnr, 3, u64::MAX),
                split: Some(range),
                ..fw_options(Compression::Zstd, 1)
            };
            let what = format!("makedumpfile 1.7.6 {args:?}, file {i}");
            assert_same_raw(&elf.model(&options).1, real_file, &what);
        }
    }
}

#[test]
fn a_real_split_file_without_pages_that_ends_inside_its_bitmaps_is_valid() {
    // makedumpfile --split -d 0 with the ROM at 0x5001000: every page goes into the first file; the second
    // holds an empty pfn range, no zero page (dump level 0) and no descriptors, and since cyclic mode never
    // writes the bitmaps' page-rounding tail, the file ends inside bitmap 2's last block.
    let elf = OracleElf::new(Some(0x500_1000));
    let files = elf.makedumpfile(&["--split", "-d", "0", "-l"], &["r0.1", "r0.2"]);
    let second = &files[1];
    let bitmap_blocks_end = 2 * 4096 + 2 * 4096; // header, sub-header, two bitmaps of one block each
    assert!(
        (second.len() as u64) < bitmap_blocks_end,
        "the second file ({} bytes) ends inside its bitmaps",
        second.len()
    );
    let readers: Vec<&dyn kdump_flat::readat::ReadAt> = files
        .iter()
        .map(|f| f as &dyn kdump_flat::readat::ReadAt)
        .collect();
    let report = kdump_flat::kdump::check::check(&readers);
    assert!(report.is_valid(), "{report:?}");
    let warning = report
        .warnings
        .iter()
        .find(|w| w.id == kdump_flat::kdump::KInvariant::K12 && w.file == 1)
        .expect("a K12 warning on the second file");
    insta::assert_snapshot!(warning.to_string());
    let set = kdump_flat::kdump::KdumpSet::new(
        files
            .iter()
            .map(|f| kdump_flat::kdump::KdumpFile::open(f.clone()).unwrap())
            .collect(),
    )
    .unwrap();
    let whole = kdump_flat::kdump::KdumpFile::open(
        elf.makedumpfile(&["-d", "0", "-l"], &["whole"]).remove(0),
    )
    .unwrap();
    for pfn in 0..whole.max_pfn() {
        assert_eq!(
            set.read_page(pfn).unwrap(),
            whole.read_page(pfn).unwrap(),
            "pfn {pfn:#x}"
        );
    }
}
