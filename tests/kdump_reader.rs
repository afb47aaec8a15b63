//! `KdumpFile` against the model of synthetic dumps: every word size, byte order, sub-header layout and
//! compression; page states; physical reads; header fields.

use crate::support::kdump::{synthetic_variants, Layout32, Page, Synth};

use kdump_flat::compress::Compression;
use kdump_flat::kdump::{
    ByteOrder, Class, KdumpError, KdumpFile, PageContent, PageState, SubHeaderLayout,
};

#[test]
fn every_variant_reads_back_its_model() {
    for (name, synth, built) in synthetic_variants() {
        let dump =
            KdumpFile::open(built.bytes.as_slice()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(dump.class(), synth.class, "{name}");
        assert_eq!(dump.byte_order(), synth.order, "{name}");
        assert_eq!(dump.page_size(), synth.page_size as u64, "{name}");
        assert_eq!(dump.max_mapnr(), synth.max_mapnr, "{name}");
        assert_eq!(dump.compression(), synth.compression, "{name}");
        assert_eq!(dump.header().utsname.machine, synth.machine, "{name}");
        let expected_layout = match (synth.class, synth.layout32) {
            (Class::Bits64, _) => SubHeaderLayout::Bits64,
            (Class::Bits32, Layout32::Packed) => SubHeaderLayout::I386Packed,
            (Class::Bits32, Layout32::Padded) => SubHeaderLayout::Padded32,
        };
        assert_eq!(dump.sub_header().unwrap().layout, expected_layout, "{name}");
        let vmci = dump.vmcoreinfo().expect("vmcoreinfo");
        assert_eq!(vmci.osrelease(), Some("6.1.0-synthetic"), "{name}");
        assert_eq!(vmci.page_size(), Some(synth.page_size as u64), "{name}");
        for pfn in 0..synth.max_mapnr {
            let got = dump.read_page(pfn).unwrap();
            match synth.pages.get(&pfn) {
                Some(Page::Dumped(bytes)) => {
                    assert_eq!(got, PageContent::Data(bytes.clone()), "{name} pfn {pfn}");
                    assert_eq!(dump.page_state(pfn).unwrap(), PageState::Dumped);
                }
                Some(Page::Excluded) => assert_eq!(got, PageContent::Excluded, "{name} {pfn}"),
                None => assert_eq!(got, PageContent::NotInMemory, "{name} pfn {pfn}"),
            }
        }
        assert!(matches!(
            dump.read_page(synth.max_mapnr),
            Err(KdumpError::PfnOutOfRange { .. })
        ));
    }
}

#[test]
fn physical_reads_cross_pages_and_report_missing_pages() {
    let synth = Synth::x86_64(Compression::Zlib, 64);
    let built = synth.build();
    let dump = KdumpFile::open(built.bytes.as_slice()).unwrap();
    let ps = 4096u64;
    let model = |pfn: u64| match synth.pages.get(&pfn) {
        Some(Page::Dumped(b)) => Some(b.clone()),
        _ => None,
    };
    // Find two consecutive dumped pages and read across their boundary.
    let pfn = (0..63)
        .find(|&p| model(p).is_some() && model(p + 1).is_some())
        .expect("two consecutive dumped pages");
    let mut buf = vec![0u8; 100];
    dump.read_phys(pfn * ps + ps - 50, &mut buf, false).unwrap();
    assert_eq!(&buf[..50], &model(pfn).unwrap()[4046..]);
    assert_eq!(&buf[50..], &model(pfn + 1).unwrap()[..50]);
    // An excluded page is an error unless zeros are asked for.
    let excluded = (0..64)
        .find(|p| matches!(synth.pages.get(p), Some(Page::Excluded)))
        .expect("an excluded page");
    let mut page = vec![1u8; ps as usize];
    let err = dump.read_phys(excluded * ps, &mut page, false).unwrap_err();
    assert!(matches!(err, KdumpError::NoData { pfn, excluded: true } if pfn == excluded));
    dump.read_phys(excluded * ps, &mut page, true).unwrap();
    assert!(page.iter().all(|&b| b == 0));
    assert_eq!(dump.read_page_or_zero(excluded).unwrap(), vec![0u8; 4096]);
}

#[test]
fn a_64_bit_header_whose_usec_looks_like_a_block_size_is_not_read_as_32_bit() {
    // libkdumpfile tries the 32-bit layout first: there, block_size is the 64-bit tv_usec, bitmap_blocks
    // the 64-bit status and max_mapnr the 64-bit block_size. Make all three plausible.
    let synth = Synth::x86_64(Compression::Lzo, 64);
    let mut built = synth.build();
    built.bytes[416..424].copy_from_slice(&8192u64.to_le_bytes());
    let dump = KdumpFile::open(built.bytes.as_slice()).unwrap();
    assert_eq!(dump.class(), Class::Bits64);
    assert_eq!(dump.byte_order(), ByteOrder::Little);
    assert_eq!(dump.header().timestamp_usec, 8192);
}

#[test]
fn every_header_version_reads_back_its_model_and_checks_valid() {
    for version in 0..=6 {
        let mut synth = Synth::x86_64(Compression::Zlib, 500);
        synth.header_version = version;
        let built = synth.build();
        let dump = KdumpFile::open(built.bytes.as_slice()).unwrap();
        assert_eq!(dump.header().header_version, version);
        assert_eq!(dump.sub_header().is_some(), version >= 1, "v{version}");
        assert_eq!(
            dump.notes().notes.len(),
            usize::from(version >= 4),
            "v{version}"
        );
        assert_eq!(dump.vmcoreinfo().is_some(), version >= 3, "v{version}");
        for (&pfn, page) in &synth.pages {
            let got = dump.read_page(pfn).unwrap();
            match page {
                Page::Dumped(bytes) => assert_eq!(got, PageContent::Data(bytes.clone())),
                Page::Excluded => assert_eq!(got, PageContent::Excluded),
            }
        }
        let readers: [&dyn kdump_flat::readat::ReadAt; 1] = [&built.bytes];
        let report = kdump_flat::kdump::check::check(&readers);
        assert!(report.is_valid(), "v{version}: {:#?}", report.violations);
    }
}

#[test]
fn a_huge_max_mapnr_on_a_small_file_is_an_error_without_a_huge_allocation() {
    let synth = Synth::x86_64(Compression::Zlib, 64);
    let mut bytes = synth.build().bytes;
    bytes.resize(1 << 20, 0);
    // max_mapnr 2^32 - 1: bitmaps of 2 x 512 MiB, as K9 requires.
    bytes[436..440].copy_from_slice(&(2u32 * (1 << 17)).to_le_bytes());
    bytes[440..444].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[4096 + 96..4096 + 104].copy_from_slice(&(u32::MAX as u64).to_le_bytes());
    let err = KdumpFile::open(bytes.as_slice()).err().unwrap();
    assert_eq!(
        err.invariant(),
        Some(kdump_flat::kdump::KInvariant::K12),
        "{err}"
    );
    let readers: [&dyn kdump_flat::readat::ReadAt; 1] = [&bytes];
    let report = kdump_flat::kdump::check::check(&readers);
    assert!(report.has(kdump_flat::kdump::KInvariant::K12));
}

#[test]
fn bitmaps_too_big_for_memory_are_read_lazily() {
    use std::os::unix::fs::FileExt;
    // max_mapnr 2^29 pfns: 64 MiB per bitmap, above the in-memory limit; a sparse file holds it.
    let pages: u64 = 1 << 29;
    let bitmap_len = pages / 8;
    let mut synth = Synth::x86_64(Compression::Lzo, 0);
    synth.vmcoreinfo = None;
    let small = synth.build();
    let file = tempfile::tempfile().unwrap();
    let bitmap1 = 2 * 4096u64;
    let descriptors = bitmap1 + 2 * bitmap_len;
    let mut header = small.bytes[..4096 + 104].to_vec();
    header[436..440].copy_from_slice(&((2 * bitmap_len / 4096) as u32).to_le_bytes());
    header[440..444].copy_from_slice(&(pages as u32).to_le_bytes());
    header[4096 + 96..4096 + 104].copy_from_slice(&pages.to_le_bytes());
    file.write_all_at(&header, 0).unwrap();
    let dumped = [5u64, 1 << 20, pages - 1];
    let data_start = descriptors + 24 * dumped.len() as u64;
    file.set_len(data_start + 4096 * dumped.len() as u64)
        .unwrap();
    // Three dumped pages far apart, each with its own raw data.
    for (i, &pfn) in dumped.iter().enumerate() {
        for base in [bitmap1, bitmap1 + bitmap_len] {
            let mut byte = [0u8; 1];
            file.read_exact_at(&mut byte, base + pfn / 8).unwrap();
            byte[0] |= 1 << (pfn % 8);
            file.write_all_at(&byte, base + pfn / 8).unwrap();
        }
        let offset = data_start + 4096 * i as u64;
        let mut desc = Vec::new();
        desc.extend_from_slice(&offset.to_le_bytes());
        desc.extend_from_slice(&4096u32.to_le_bytes());
        desc.extend_from_slice(&0u32.to_le_bytes());
        desc.extend_from_slice(&0u64.to_le_bytes());
        file.write_all_at(&desc, descriptors + 24 * i as u64)
            .unwrap();
        file.write_all_at(&vec![i as u8 + 1; 4096], offset).unwrap();
    }
    let readers: [&dyn kdump_flat::readat::ReadAt; 1] = [&file];
    let report = kdump_flat::kdump::check::check(&readers);
    assert!(report.is_valid(), "{:#?}", report.violations);
    assert_eq!(report.stats.pages.dumped, 3);
    let dump = KdumpFile::open(&file).unwrap();
    assert_eq!(dump.max_pfn(), pages);
    for (i, &pfn) in dumped.iter().enumerate() {
        assert_eq!(
            dump.read_page(pfn).unwrap(),
            PageContent::Data(vec![i as u8 + 1; 4096])
        );
        assert_eq!(
            dump.read_page(pfn + 1).ok(),
            if pfn + 1 < pages {
                Some(PageContent::NotInMemory)
            } else {
                None
            }
        );
    }
}
