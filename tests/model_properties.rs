//! The harness properties over random layouts: seeded cases of every size class and a proptest that
//! shrinks a failure to a small layout.

use kdump_flat::harness::{
    p1_flat_reassembles_to_raw, p2_raw_extent_matches_layout, run_case, write_case, CaseOptions,
    Outcome,
};
use kdump_flat::harness::{p3_pages_read_back, p4_check_passes};
use kdump_flat::model::gen::{layout_from_seed, layout_strategy, SizeClass};
use kdump_flat::model::{Machine, WriterKind};
use proptest::prelude::*;

fn assert_properties(seed: u64, size: SizeClass) {
    let layout = layout_from_seed(seed, size);
    let report = run_case(&layout, &CaseOptions::default());
    for (property, outcome) in &report.outcomes {
        if let Outcome::Fail(detail) = outcome {
            panic!(
                "seed {seed} {size:?}: {property} failed: {detail}\nlayout: {}",
                serde_json::to_string(&layout).unwrap()
            );
        }
    }
}

#[test]
fn small_layouts_hold_every_property() {
    for seed in 0..300 {
        assert_properties(seed, SizeClass::Small);
    }
}

#[test]
fn medium_layouts_hold_every_property() {
    for seed in 1000..1040 {
        assert_properties(seed, SizeClass::Medium);
    }
}

#[test]
fn large_layouts_hold_every_property() {
    for seed in 2000..2003 {
        assert_properties(seed, SizeClass::Large);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flattened_reassembles_to_raw_and_extents_match(layout in layout_strategy(SizeClass::Small)) {
        let output = write_case(&layout).map_err(|e| TestCaseError::fail(e.to_string()))?;
        p1_flat_reassembles_to_raw(&output).map_err(|e| TestCaseError::fail(e.to_string()))?;
        p2_raw_extent_matches_layout(&layout, &output).map_err(|e| TestCaseError::fail(e.to_string()))?;
        p3_pages_read_back(&layout, &output).map_err(|e| TestCaseError::fail(e.to_string()))?;
        p4_check_passes(&layout, &output).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}

/// Regression: makedumpfile on arm or ppc (32-bit, 64-bit fields 8-byte aligned) writes the 96-byte
/// padded sub-header. Without VMCOREINFO the packed reading of `offset_vmcoreinfo`/`size_vmcoreinfo` is
/// zero too, and the reader took the file for i386-packed (max_mapnr 0; K8/K9/K10/K11). Found by
/// `kdump-flat selftest`, fixed in the reader (8e87ef6). libkdumpfile 0.5.1 still has the gap
/// (tests/model_real_readers.rs).
#[test]
fn reader_reads_a_padded_32bit_makedumpfile_dump_without_vmcoreinfo() {
    let mut layout = layout_from_seed(3, SizeClass::Small);
    layout.writer = WriterKind::Makedumpfile;
    layout.machine = Machine::Arm;
    layout.notes.vmcoreinfo = None;
    layout.notes.qemu_cpu_state_size = None;
    layout.dump_level = 0;
    layout.eraseinfo = None;
    layout.validate().unwrap();
    let output = write_case(&layout).unwrap();
    p3_pages_read_back(&layout, &output).unwrap();
    p4_check_passes(&layout, &output).unwrap();
}

/// A makedumpfile layout with CPUs, VMCOREINFO and eraseinfo, so every structure is present.
fn full_makedumpfile_layout() -> kdump_flat::model::Layout {
    let mut layout = layout_from_seed(3, SizeClass::Small);
    layout.writer = WriterKind::Makedumpfile;
    layout.machine = Machine::X86_64;
    layout.notes.cpus = layout.notes.cpus.max(2);
    layout.notes.qemu_cpu_state_size = None;
    layout.notes.vmcoreinfo = Some("OSRELEASE=6.1.0\nPAGESIZE=4096\n".into());
    layout.eraseinfo = Some("erase init_uts_ns.name.nodename size 65\n".into());
    layout.validate().unwrap();
    layout
}

/// The structure read-back of P3 notices a changed byte in fields no page read depends on: the header
/// timestamp, a utsname character, the note section, the VMCOREINFO text and the eraseinfo text.
#[test]
fn read_back_compares_header_fields_notes_and_eraseinfo() {
    use kdump_flat::harness::expected_extents;
    let layout = full_makedumpfile_layout();
    let output = write_case(&layout).unwrap();
    p3_pages_read_back(&layout, &output).unwrap();
    let start_of = |name: &str| {
        expected_extents(&layout)
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no {name} extent"))
            .start
    };
    let vmcoreinfo_text_end =
        start_of("notes") + kdump_flat::model::notes::note_section(&layout).len() as u64 - 4;
    let targets = [
        ("timestamp", 408),
        ("utsname", 12),
        ("note section", start_of("notes") + 20),
        ("VMCOREINFO", vmcoreinfo_text_end),
        ("eraseinfo", start_of("eraseinfo") + 3),
    ];
    for (what, at) in targets {
        let mut corrupted = output.clone();
        corrupted.raw[at as usize] ^= 0x20;
        let failure = p3_pages_read_back(&layout, &corrupted)
            .expect_err(&format!("a changed {what} byte at {at:#x} went unnoticed"));
        assert!(
            failure.detail.starts_with("raw: ") && failure.detail.contains(what),
            "{what}: {failure}"
        );
    }
}

/// K5: a dump that claims CPUs but whose note section holds no `NT_PRSTATUS` note gets a warning (and stays
/// valid: a warning, not a violation).
#[test]
fn check_warns_when_cpus_have_no_prstatus_note() {
    use kdump_flat::harness::expected_extents;
    use kdump_flat::kdump::check::check;
    use kdump_flat::kdump::KInvariant;
    use kdump_flat::readat::ReadAt;
    let layout = full_makedumpfile_layout();
    let output = write_case(&layout).unwrap();
    let clean = check(&[&output.raw.as_slice() as &dyn ReadAt]);
    assert!(
        !clean.warning_counts.contains_key(&KInvariant::K5),
        "{clean:?}"
    );
    let notes = expected_extents(&layout)
        .into_iter()
        .find(|e| e.name == "notes")
        .unwrap();
    let mut raw = output.raw.clone();
    raw[notes.start as usize..notes.end as usize].fill(0);
    let report = check(&[&raw.as_slice() as &dyn ReadAt]);
    assert!(report.is_valid(), "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.id == KInvariant::K5 && w.message.contains("no NT_PRSTATUS")),
        "{:?}",
        report.warnings
    );
}

/// The fuzz target's logic on 100 pseudo-random inputs (so `cargo test` exercises it on stable Rust).
#[test]
fn fuzz_target_smoke() {
    use kdump_flat::fuzzing::model_roundtrip::run;
    use rand::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    for len in 0..100usize {
        let mut data = vec![0u8; len * 7];
        rng.fill_bytes(&mut data);
        run(&data);
    }
}
