//! Corruption suite: each structure of a real and a synthetic dump corrupted in turn; `check` must name
//! the invariant the format definition (docs/FORMATS.md §2) says is broken, and nothing may panic.
//! Offsets come from the format definition (64-bit header: status @424, block_size @428, …) and from the
//! independent synthetic writer, not from the reader under test.

use crate::support::kdump::{Layout32, Synth};

use std::collections::BTreeSet;
use std::path::Path;

use kdump_flat::compress::Compression;
use kdump_flat::kdump::check::{check, CheckReport};
use kdump_flat::kdump::{KInvariant, KInvariant::*, KdumpFile, ALL_INVARIANTS};
use kdump_flat::readat::ReadAt;
use rand::{Rng, SeedableRng};

const PS: u64 = 4096;
/// fw-mdf-lzo-d1 (makedumpfile 1.7.2, lzo, 64-bit LE, v6): bitmaps at 0x2000/0x22000, descriptors at
/// 0x42000, 4128 of them, data from 0x5a300 (the shared zero page).
const BITMAP1: usize = 0x2000;
const BITMAP2: usize = 0x22000;
const DESCRIPTORS: usize = 0x42000;

fn real_dump() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real/fw-mdf-lzo-d1")).unwrap()
}

fn report(bytes: &[u8]) -> CheckReport {
    let readers: [&dyn ReadAt; 1] = [&bytes];
    check(&readers)
}

fn ids(report: &CheckReport) -> BTreeSet<KInvariant> {
    report.violation_counts.keys().copied().collect()
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Applies `corrupt` to a copy of `base` and asserts the check reports exactly `expected`.
fn expect_exactly(
    base: &[u8],
    what: &str,
    expected: &[KInvariant],
    corrupt: impl Fn(&mut Vec<u8>),
) {
    let mut bytes = base.to_vec();
    corrupt(&mut bytes);
    let r = report(&bytes);
    let want: BTreeSet<KInvariant> = expected.iter().copied().collect();
    assert_eq!(ids(&r), want, "{what}: {:#?}", r.violations);
    for id in ALL_INVARIANTS {
        assert_eq!(r.has(id), want.contains(&id), "{what}: has({id})");
    }
    read_everything(&bytes);
}

/// Applies `corrupt` and asserts that `expected` is among the violations.
fn expect_includes(base: &[u8], what: &str, expected: KInvariant, corrupt: impl Fn(&mut Vec<u8>)) {
    let mut bytes = base.to_vec();
    corrupt(&mut bytes);
    let r = report(&bytes);
    assert!(
        r.has(expected),
        "{what}: expected {expected}, got {:#?}",
        r.violations
    );
    read_everything(&bytes);
}

/// Opens and reads every page; only asks that nothing panics or hangs.
fn read_everything(bytes: &[u8]) {
    if let Ok(dump) = KdumpFile::open(bytes) {
        for pfn in 0..dump.max_pfn().min(1 << 21) {
            let _ = dump.read_page(pfn);
        }
        let mut buf = [0u8; 64];
        let _ = dump.read_phys(u64::MAX - 10, &mut buf, true);
    }
}

#[test]
fn the_real_base_dump_is_valid() {
    let r = report(&real_dump());
    assert!(r.is_valid(), "{:#?}", r.violations);
    assert_eq!(r.stats.pages.dumped, 4128);
}

#[test]
fn header_fields() {
    let base = real_dump();
    expect_exactly(&base, "signature", &[K1], |b| b[0] = b'X');
    expect_exactly(&base, "version 7", &[K3], |b| put_u32(b, 8, 7));
    expect_exactly(&base, "version -1", &[K3], |b| put_u32(b, 8, u32::MAX));
    // 12288 is inside libkdumpfile's range but not a power of two; the file no longer lines up.
    expect_includes(&base, "block_size 12288", K4, |b| put_u32(b, 428, 12288));
    // No layout gives a block size in range: nothing else can be read.
    expect_exactly(&base, "block_size 1000", &[K2], |b| put_u32(b, 428, 1000));
    expect_exactly(&base, "unknown status bit", &[K7], |b| {
        put_u32(b, 424, 0x2 | 0x40)
    });
    expect_exactly(&base, "two compressions", &[K7], |b| put_u32(b, 424, 0x3));
    expect_exactly(&base, "total_ram_blocks", &[K7], |b| put_u32(b, 444, 5));
    expect_exactly(&base, "current_cpu", &[K7], |b| put_u32(b, 456, 1));
    expect_exactly(&base, "max_mapnr below max_mapnr_64", &[K10], |b| {
        put_u32(b, 440, 0x100000 - 8)
    });
    expect_includes(&base, "bitmap_blocks + 2", K9, |b| put_u32(b, 436, 66));
    expect_includes(&base, "bitmap_blocks odd", K9, |b| put_u32(b, 436, 65));
}

#[test]
fn warnings_do_not_invalidate() {
    let base = real_dump();
    let mut bytes = base.clone();
    put_u32(&mut bytes, 460, 0); // nr_cpus
    let r = report(&bytes);
    assert!(r.is_valid());
    assert!(r.has_deviation(K5));
    // The real file's utsname.machine is empty, as makedumpfile writes it without VMCOREINFO: no finding.
    assert!(!r.warning_counts.contains_key(&K6));
    bytes[272..278].copy_from_slice(b"vax\0\0\0");
    let r = report(&bytes);
    assert!(r.is_valid() && !r.is_strictly_valid());
    assert!(r.has_deviation(K6));
}

/// Applies `corrupt` and asserts the file stays valid with a deviation of `expected` (readers read it the
/// same way), and reads every page.
fn expect_deviation(base: &[u8], what: &str, expected: KInvariant, corrupt: impl Fn(&mut Vec<u8>)) {
    let mut bytes = base.to_vec();
    corrupt(&mut bytes);
    let r = report(&bytes);
    assert!(r.is_valid(), "{what}: {:#?}", r.violations);
    assert!(r.has_deviation(expected), "{what}: {:#?}", r.warnings);
    read_everything(&bytes);
}

#[test]
fn sub_header_and_notes() {
    let base = real_dump();
    let sub = PS as usize;
    expect_deviation(&base, "offset_note moved", K8, |b| {
        let v = get_u64(b, sub + 48);
        put_u64(b, sub + 48, v + 4);
    });
    // The notes then run into zeros and bitmap bytes, which do not parse.
    expect_includes(&base, "size_note past the block", K8, |b| {
        put_u64(b, sub + 56, PS)
    });
    expect_exactly(&base, "note header garbage", &[K8], |b| {
        put_u32(b, sub + 104, 0x7fff_ffff)
    });
    // The bitmaps then start at block 1, over the sub-header: the K8 part is a deviation, what the
    // sub-header's bytes do to bitmap 1 is not.
    let mut moved = base.clone();
    put_u32(&mut moved, 432, 0);
    let r = report(&moved);
    assert!(r.has_deviation(K8), "{:#?}", r.warnings);
    // VMCOREINFO outside the notes (synthetic dump: the real one has none).
    let synth = Synth::x86_64(Compression::Zlib, 256).build();
    let vmci = synth.sub_header_offset as usize + 32;
    expect_exactly(&synth.bytes, "vmcoreinfo outside notes", &[K8], |b| {
        let v = get_u64(b, vmci);
        put_u64(b, vmci, v + 0x1000);
    });
    // Without notes (version 3: no offset_note), VMCOREINFO outside the sub-header blocks is a
    // deviation (kdump/check/sub_header.rs).
    let v3 = Synth {
        header_version: 3,
        ..Synth::x86_64(Compression::Zlib, 256)
    }
    .build();
    let vmci3 = v3.sub_header_offset as usize + 32;
    expect_deviation(&v3.bytes, "vmcoreinfo in bitmap 1, no notes", K8, |b| {
        put_u64(b, vmci3, v3.bitmap1_offset)
    });
    assert!(!report(&v3.bytes).has_deviation(K8));
    // VMCOREINFO starting 8 bytes before the notes and ending inside them (kdump/check/sub_header.rs).
    let starts_early = |b: &mut Vec<u8>| {
        let v = get_u64(b, vmci);
        let size = get_u64(b, vmci + 8);
        let early = synth.notes_offset - 8;
        put_u64(b, vmci, early);
        put_u64(b, vmci + 8, size + (v - early));
    };
    expect_exactly(
        &synth.bytes,
        "vmcoreinfo starting before the notes",
        &[K8],
        starts_early,
    );
    let mut early = synth.bytes.clone();
    starts_early(&mut early);
    let k8: Vec<_> = report(&early)
        .violations
        .into_iter()
        .filter(|v| v.id == K8)
        .collect();
    assert_eq!(k8.len(), 1, "{k8:#?}");
    assert_eq!(k8[0].offset, Some(synth.notes_offset - 8), "{k8:#?}");
}

#[test]
fn bitmap_bits() {
    let base = real_dump();
    // pfn 0 is dumped: clearing it in bitmap 1 breaks only "bitmap 2 within bitmap 1".
    expect_exactly(&base, "bitmap 1 bit cleared", &[K11], |b| b[BITMAP1] &= !1);
    let r = {
        let mut b = base.clone();
        for byte in &mut b[BITMAP1..BITMAP1 + 512] {
            *byte = 0;
        }
        report(&b)
    };
    assert_eq!(ids(&r), [K11].into());
    // pfns 0..4096 minus the VGA hole 0xa0..0xc0 (guest memory blocks in corpus/real/README.md).
    assert_eq!(r.violation_counts[&K11], 4096 - 32, "every pfn counted");
    assert_eq!(r.violations.len(), 100, "only the first 100 kept");
    assert!(r
        .violations
        .iter()
        .all(|v| v.pfn.is_some() && v.offset.is_some()));
    // A bit at or beyond max_mapnr (synthetic dump with max_mapnr 3000, not a multiple of 8).
    let synth = Synth::x86_64(Compression::Zlib, 3000).build();
    let at = synth.bitmap1_offset as usize + 3000 / 8;
    expect_exactly(&synth.bytes, "bit beyond max_mapnr", &[K11], |b| {
        b[at] |= 1 << (3001 % 8)
    });
    // pfn 0xa0 is in the VGA hole (not memory): adding it to bitmap 2 also shifts every later
    // descriptor by one.
    expect_includes(&base, "bitmap 2 bit set", K11, |b| {
        b[BITMAP2 + 0xa0 / 8] |= 1
    });
}

/// Byte offset of descriptor `i` in the real dump.
fn desc(i: usize) -> usize {
    DESCRIPTORS + 24 * i
}

/// The pfn of descriptor `index` of the real dump: the index-th set bit of bitmap 2.
fn pfn_of_descriptor(b: &[u8], index: usize) -> u64 {
    let mut seen = 0;
    for byte in 0..0x20000 {
        for bit in 0..8 {
            if b[BITMAP2 + byte] & (1 << bit) != 0 {
                if seen == index {
                    return (byte * 8 + bit) as u64;
                }
                seen += 1;
            }
        }
    }
    panic!("descriptor {index} has no pfn")
}

/// Index of the first descriptor of the real dump that is compressed (flags != 0).
fn first_compressed(b: &[u8]) -> usize {
    (0..4128).find(|&i| get_u32(b, desc(i) + 12) != 0).unwrap()
}

#[test]
fn descriptors() {
    let base = real_dump();
    let c = first_compressed(&base);
    expect_exactly(&base, "two compression flags", &[K13], |b| {
        put_u32(b, desc(c) + 12, 0x3)
    });
    expect_exactly(&base, "unknown flag", &[K13], |b| {
        put_u32(b, desc(c) + 12, 0x2 | 0x100)
    });
    expect_exactly(&base, "compressed size 0", &[K13], |b| {
        put_u32(b, desc(c) + 8, 0)
    });
    expect_exactly(&base, "compressed size = page", &[K13], |b| {
        put_u32(b, desc(c) + 8, 4096)
    });
    expect_exactly(&base, "raw page of 4095 bytes", &[K13], |b| {
        put_u32(b, desc(0) + 8, 4095)
    });
    expect_exactly(&base, "page_flags", &[K13], |b| put_u64(b, desc(c) + 16, 1));
    expect_exactly(&base, "offset 0", &[K14], |b| put_u64(b, desc(c), 0));
    expect_exactly(&base, "offset in the header", &[K14], |b| {
        put_u64(b, desc(c), 16)
    });
    expect_exactly(&base, "offset past EOF", &[K14], |b| {
        let len = b.len() as u64;
        put_u64(b, desc(c), len - 10)
    });
    // Two compressed pages sharing data: the second starts before the first ends.
    expect_exactly(&base, "overlapping data", &[K15], |b| {
        let first = get_u64(b, desc(c));
        let size = get_u32(b, desc(c) + 8);
        let next = (c + 1..4128)
            .find(|&i| get_u32(b, desc(i) + 12) != 0)
            .unwrap();
        put_u64(b, desc(next), first);
        put_u32(b, desc(next) + 8, size);
    });
    // A compressed page shortened by one byte: its data no longer decompresses.
    expect_exactly(&base, "compressed size - 1", &[K16], |b| {
        let size = get_u32(b, desc(c) + 8);
        put_u32(b, desc(c) + 8, size - 1)
    });
}

#[test]
fn compressed_bytes() {
    let base = real_dump();
    let c = first_compressed(&base);
    let at = get_u64(&base, desc(c)) as usize;
    let size = get_u32(&base, desc(c) + 8) as usize;
    expect_exactly(&base, "lzo data garbage", &[K16], |b| {
        for byte in &mut b[at..at + size] {
            *byte = 0xff;
        }
    });
    // Every codec: corrupt the middle of every compressed page of a synthetic dump.
    for compression in [
        Compression::Zlib,
        Compression::Lzo,
        Compression::Snappy,
        Compression::Zstd,
    ] {
        let synth = Synth::x86_64(compression, 300).build();
        let compressed: Vec<_> = synth
            .descriptors
            .iter()
            .filter(|d| d.4 != 0)
            .copied()
            .collect();
        let mut bytes = synth.bytes.clone();
        for &(_, _, offset, size, _) in &compressed {
            for byte in &mut bytes[offset as usize..(offset + size as u64) as usize] {
                *byte ^= 0x5a;
            }
        }
        let r = report(&bytes);
        assert_eq!(ids(&r), [K16].into(), "{compression}: {:#?}", r.violations);
        // Some corrupted streams may still decode to a full page; most must not.
        assert!(
            r.violation_counts[&K16] * 2 > compressed.len() as u64,
            "{compression}: {} of {}",
            r.violation_counts[&K16],
            compressed.len()
        );
        read_everything(&bytes);
    }
}

#[test]
fn truncation() {
    let base = real_dump();
    expect_exactly(&base, "cut inside the header", &[K12], |b| b.truncate(300));
    expect_exactly(&base, "cut inside the sub-header", &[K8], |b| {
        b.truncate(4096 + 50)
    });
    expect_exactly(&base, "cut inside the bitmaps", &[K12], |b| {
        b.truncate(BITMAP2 + 10)
    });
    expect_includes(&base, "cut inside the descriptors", K12, |b| {
        b.truncate(desc(100) + 5)
    });
    expect_exactly(&base, "cut inside the page data", &[K14], |b| {
        let len = b.len();
        b.truncate(len - 100)
    });
}

#[test]
fn eraseinfo() {
    let mut synth = Synth::x86_64(Compression::Zlib, 256);
    synth.eraseinfo = Some(b"erase init_task.comm\n".to_vec());
    let built = synth.build();
    assert!(report(&built.bytes).is_valid());
    let dump = KdumpFile::open(built.bytes.as_slice()).unwrap();
    assert_eq!(
        dump.eraseinfo().unwrap().as_deref(),
        Some(b"erase init_task.comm\n".as_slice())
    );
    let at = built.sub_header_offset as usize + 64;
    expect_exactly(
        &built.bytes,
        "eraseinfo inside the page data",
        &[K17],
        |b| put_u64(b, at, built.data_offset + 10),
    );
    expect_exactly(&built.bytes, "eraseinfo past EOF", &[K17], |b| {
        let len = b.len() as u64;
        put_u64(b, at, len - 4)
    });
    let mut past = built.bytes.clone();
    let len = past.len() as u64;
    put_u64(&mut past, at, len - 4);
    let dump = KdumpFile::open(past.as_slice()).unwrap();
    assert_eq!(dump.eraseinfo().unwrap_err().invariant(), Some(K17));
}

#[test]
fn split_sets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let one = std::fs::read(dir.join("fw-mdf-split-d1.1")).unwrap();
    let two = std::fs::read(dir.join("fw-mdf-split-d1.2")).unwrap();
    let set = |a: &[u8], b: &[u8]| {
        let readers: [&dyn ReadAt; 2] = [&a, &b];
        check(&readers)
    };
    assert!(set(&one, &two).is_valid());
    assert!(
        set(&two, &one).is_valid(),
        "order of the files does not matter"
    );
    let alone = report(&one);
    assert!(
        alone.is_valid(),
        "one part alone reads: {:#?}",
        alone.violations
    );
    assert!(alone.has_deviation(K18), "one part alone is incomplete");
    // Part 2 starts one pfn late: a gap in the coverage.
    let mut gap = two.clone();
    let start = get_u64(&gap, 4096 + 80);
    put_u64(&mut gap, 4096 + 80, start + 1);
    put_u64(&mut gap, 4096 + 16, start + 1);
    let with_gap = set(&one, &gap);
    assert!(with_gap.is_valid() && with_gap.has_deviation(K18));
    // Headers that differ in the timestamp only: a deviation too.
    let mut later = two.clone();
    let stamp = get_u64(&later, 408);
    put_u64(&mut later, 408, stamp + 1);
    let stamped = set(&one, &later);
    assert!(
        stamped.is_valid() && stamped.has_deviation(K18),
        "{stamped:#?}"
    );
    // Bitmap 1 of part 2 differs at byte 0x10: reported at that byte of part 2's bitmap 1
    // (kdump/check/split_set.rs).
    let mut flipped = two.clone();
    flipped[BITMAP1 + 0x10] ^= 0x80;
    let r = set(&one, &flipped);
    let at = r
        .violations
        .iter()
        .find(|v| v.id == K18)
        .unwrap_or_else(|| panic!("{:#?}", r.violations));
    assert_eq!(
        (at.file, at.offset, at.pfn),
        (1, Some((BITMAP1 + 0x10) as u64), Some(0x80)),
        "{at:#?}"
    );
    // Overlapping ranges are not.
    assert!(set(&one, &one).has(K18));
    // Headers that differ.
    let mut other = two.clone();
    put_u32(&mut other, 460, 2);
    assert_eq!(ids(&set(&one, &other)), [K18].into());
    // A non-split file in a set.
    let whole = real_dump();
    assert!(set(&whole, &two).has(K18));
}

#[test]
fn random_corruption_never_panics() {
    let synth = Synth::x86_64(Compression::Lzo, 200).build();
    let real = real_dump();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for round in 0..300 {
        let base = if round % 2 == 0 { &synth.bytes } else { &real };
        let mut bytes = base.clone();
        // Corrupt the metadata (first 0x60000 bytes hold headers, bitmaps and descriptors).
        let limit = bytes.len().min(0x60000);
        for _ in 0..rng.gen_range(1..8) {
            let at = rng.gen_range(0..limit);
            bytes[at] ^= 1 << rng.gen_range(0..8);
        }
        if round % 7 == 0 {
            let cut = rng.gen_range(0..bytes.len());
            bytes.truncate(cut);
        }
        let r = report(&bytes);
        let _ = r.is_valid();
        read_everything(&bytes);
    }
}

#[test]
fn an_incomplete_dump_may_leave_pages_unwritten() {
    let base = real_dump();
    let c = first_compressed(&base);
    let mut bytes = base.clone();
    // status INCOMPLETE (0x8) with lzo; one descriptor zeroed as makedumpfile leaves unwritten ones.
    put_u32(&mut bytes, 424, 0x2 | 0x8);
    bytes[desc(c)..desc(c) + 24].fill(0);
    let r = report(&bytes);
    assert!(r.is_valid(), "{:#?}", r.violations);
    assert_eq!(r.warning_counts.get(&K14), Some(&1));
    let dump = KdumpFile::open(bytes.as_slice()).unwrap();
    let pfn = pfn_of_descriptor(&bytes, c);
    match dump.read_page(pfn) {
        Err(err) => assert_eq!(err.invariant(), Some(K14), "{err}"),
        Ok(_) => panic!("pfn {pfn:#x}: an unwritten page must not read as data"),
    }
    // Without the INCOMPLETE flag the same (all-zero) descriptor is a violation: a raw page of 0 bytes.
    put_u32(&mut bytes, 424, 0x2);
    assert_eq!(ids(&report(&bytes)), [K13].into());
}

#[test]
fn hundreds_of_millions_of_violations_are_counted_quickly_and_kept_to_100() {
    use std::os::unix::fs::FileExt;
    // 2^29 pfns: bitmaps of 64 MiB each (read lazily). Bitmap 1 empty, bitmap 2 full: every pfn breaks
    // K11, and the 2^29 descriptors the bitmap asks for are far beyond the end of the file (K12).
    let pages: u64 = 1 << 29;
    let bitmap_len = pages / 8;
    let mut synth = Synth::x86_64(Compression::Lzo, 0);
    synth.vmcoreinfo = None;
    let small = synth.build();
    let mut header = small.bytes[..4096 + 104].to_vec();
    put_u32(&mut header, 436, (2 * bitmap_len / PS) as u32);
    put_u32(&mut header, 440, pages as u32);
    put_u64(&mut header, 4096 + 96, pages);
    let file = tempfile::tempfile().unwrap();
    file.write_all_at(&header, 0).unwrap();
    let full = vec![0xffu8; 1 << 20];
    for chunk in 0..bitmap_len / (1 << 20) {
        file.write_all_at(&full, 2 * PS + bitmap_len + chunk * (1 << 20))
            .unwrap();
    }
    file.set_len(2 * PS + 2 * bitmap_len + 4096).unwrap();
    let readers: [&dyn ReadAt; 1] = [&file];
    let r = check(&readers);
    assert_eq!(r.violation_counts[&K11], pages);
    assert!(r.has(K12));
    assert!(r.violations.len() <= 100 * r.violation_counts.len());
}

/// Writes synthetic seeds of the `parse_kdump` fuzz target (small complete synthetic dumps of every word
/// size and byte order, and the heads of real dumps). Run by hand; the output is committed.
#[test]
#[ignore]
fn write_parse_kdump_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/parse_kdump");
    std::fs::create_dir_all(&dir).unwrap();
    let mut seeds = Vec::new();
    for (name, compression) in [
        ("x86_64-zlib", Compression::Zlib),
        ("x86_64-lzo", Compression::Lzo),
    ] {
        seeds.push((name, Synth::x86_64(compression, 48)));
    }
    let mut ppc = Synth::x86_64(Compression::Zstd, 48);
    ppc.class = kdump_flat::kdump::Class::Bits32;
    ppc.order = kdump_flat::kdump::ByteOrder::Big;
    ppc.layout32 = Layout32::Padded;
    ppc.machine = "ppc".into();
    seeds.push(("ppc-be-padded-zstd", ppc));
    let mut i386 = Synth::x86_64(Compression::Snappy, 48);
    i386.class = kdump_flat::kdump::Class::Bits32;
    i386.layout32 = Layout32::Packed;
    i386.machine = "i686".into();
    i386.eraseinfo = Some(b"erase jiffies\n".to_vec());
    seeds.push(("i386-packed-snappy-eraseinfo", i386));
    for (name, synth) in seeds {
        std::fs::write(dir.join(name), synth.build().bytes).unwrap();
    }
}
