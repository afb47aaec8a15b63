//! A gzipped QEMU ELF dump of corpus/real, parsed by the crate's ELF reader into what the model's writers
//! take: the file bytes, the PT_LOAD segments and the PT_NOTE bytes. A module of tests/support,
//! used by the model oracle tests.

use std::io::Read;

use kdump_flat::model::GuestBlock;

/// A QEMU ELF dump (gunzipped): PT_LOADs as (paddr, file offset, size), and the PT_NOTE bytes.
pub struct ElfDump {
    /// The whole ELF file.
    pub bytes: Vec<u8>,
    /// (physical address, file offset, size) of every PT_LOAD, in file order.
    pub loads: Vec<(u64, u64, u64)>,
    /// The PT_NOTE segment's bytes.
    pub notes: Vec<u8>,
    /// `e_machine`.
    pub machine: u16,
}

/// Reads and parses the gzipped ELF dump at `gz_path`.
pub fn read_elf(gz_path: &str) -> ElfDump {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(gz_path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    parse_elf(bytes)
}

/// Parses an ELF dump's bytes.
pub fn parse_elf(bytes: Vec<u8>) -> ElfDump {
    let parsed = kdump_flat::elf::ElfDump::parse(bytes.as_slice()).unwrap();
    let loads = parsed
        .blocks
        .iter()
        .map(|b| (b.phys_addr, b.file_offset, b.file_size))
        .collect();
    ElfDump {
        bytes,
        loads,
        notes: parsed.note_bytes,
        machine: parsed.machine,
    }
}

impl ElfDump {
    /// One past the last byte of guest memory.
    pub fn memory_end(&self) -> u64 {
        self.loads
            .iter()
            .map(|&(start, _, len)| start + len)
            .max()
            .unwrap_or(0)
    }

    /// The PT_LOADs as the model's guest memory blocks, in ascending physical address.
    pub fn blocks(&self) -> Vec<GuestBlock<'_>> {
        let mut loads = self.loads.clone();
        loads.sort();
        loads
            .iter()
            .map(|&(start, data_offset, len)| GuestBlock {
                start,
                len,
                data: &self.bytes,
                data_offset,
            })
            .collect()
    }
}
