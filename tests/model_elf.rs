//! The model's QEMU ELF writer (`model::qemu_elf`) against QEMU's own ELF dumps of corpus/real, and
//! `gen --elf`. (P6, which ties the model's ELF to its raw and flattened files through from-elf and
//! to-elf, runs in every `run_case` of tests/model_properties.rs.)

use crate::support::elf_gz::read_elf;
use crate::support::real::corpus;

use assert_cmd::Command;
use kdump_flat::elf::{ElfDump, EM_386};
use kdump_flat::harness::p6_elf::model_elf;
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::qemu_elf::{write_qemu_elf, QemuElfOptions};
use kdump_flat::model::{qemu_class_is_64bit, write_layout, Endian, WriterKind};
use kdump_flat::sink::RawSink;

/// Writes, with the model, QEMU's ELF dump of the blocks and notes of the ELF file `gz` and compares.
fn assert_model_writes_qemus_elf(gz: &str) {
    let qemu = read_elf(corpus(gz).to_str().unwrap());
    let header = ElfDump::parse(&qemu.bytes[..]).unwrap();
    // QEMU's class rule, not the file's class: the firmware guests are EM_386 with memory up to 4 GiB
    assert_eq!(header.machine, EM_386, "{gz}");
    let options = QemuElfOptions {
        is_64bit: qemu_class_is_64bit(header.machine, qemu.memory_end()),
        endian: Endian::Little,
        machine: header.machine,
        page_size: 4096,
    };
    let mut sink = RawSink::in_memory();
    let len = write_qemu_elf(&qemu.blocks(), &qemu.notes, &options, &mut sink).unwrap();
    let ours = sink.into_bytes();
    assert_eq!(len, ours.len() as u64);
    assert!(
        ours == qemu.bytes,
        "{gz}: the model's ELF differs from QEMU's"
    );
}

#[test]
fn model_writes_qemu72s_elf_byte_for_byte() {
    assert_model_writes_qemus_elf("fw-q72.elf.gz");
}

#[test]
fn model_writes_qemu10s_elf_byte_for_byte() {
    assert_model_writes_qemus_elf("fw-q10.elf.gz");
}

#[test]
fn gen_elf_writes_the_models_elf_and_from_elf_turns_it_into_the_raw_file() {
    let dir = tempfile::tempdir().unwrap();
    let seed = (0..100)
        .find(|&s| layout_from_seed(s, SizeClass::Small).writer == WriterKind::Qemu)
        .unwrap();
    let layout = layout_from_seed(seed, SizeClass::Small);
    let run = |args: &[&str]| {
        Command::cargo_bin("kdump-flat")
            .unwrap()
            .current_dir(dir.path())
            .args(args)
            .assert()
            .success();
    };
    let seed_text = seed.to_string();
    run(&["gen", "--seed", &seed_text, "--elf", "model.elf"]);
    let elf = std::fs::read(dir.path().join("model.elf")).unwrap();
    assert!(elf == model_elf(&layout).unwrap());
    let parsed = ElfDump::parse(&elf[..]).unwrap();
    assert_eq!(parsed.blocks.len(), layout.blocks.len());
    // from-elf with the model's choices (what the ELF does not say) gives the model's raw file.
    let mut sink = RawSink::in_memory();
    write_layout(&layout, &mut sink).unwrap();
    let phys_base = format!("{:#x}", layout.phys_base);
    run(&[
        "from-elf",
        "model.elf",
        "model.raw",
        "--compress",
        layout.compression.name(),
        "--uts-machine",
        layout.uts_machine(),
        "--page-size",
        &layout.page_bytes().to_string(),
        "--phys-base",
        &phys_base,
    ]);
    assert!(std::fs::read(dir.path().join("model.raw")).unwrap() == sink.into_bytes());
}
