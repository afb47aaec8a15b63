//! `KdumpFile` against the model of synthetic dumps: every word size, byte order, sub-header layout and
//! compression; page states; physical reads; header fields.

#[path = "kdump_common/mod.rs"]
mod common;

use common::{Page, Synth};
use kdump_flat::compress::Compression;
use kdump_flat::kdump::{
    ByteOrder, Class, KdumpError, KdumpFile, PageContent, PageState, SubHeaderLayout,
};

#[test]
fn every_variant_reads_back_its_model() {
    for (name, synth, built) in common::synthetic_variants() {
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
            (Class::Bits32, common::Layout32::Packed) => SubHeaderLayout::I386Packed,
            (Class::Bits32, common::Layout32::Padded) => SubHeaderLayout::Padded32,
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
