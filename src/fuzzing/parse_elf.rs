//! Fuzz target `parse_elf`: arbitrary bytes into the ELF dump reader, and accepted small dumps through
//! `from-elf`'s conversion.
//!
//! Checks, beyond "no panic, no hang, no allocation sized by an input field":
//! - every parsed note lies inside the note bytes, in order, and the reported sizes add up;
//! - `guest_phys_read` of every block (bounded) either succeeds or names an address no block covers;
//! - for dumps with little memory, the conversion sent down the flattened path and the raw path in one run
//!   gives the same bytes once reassembled (the property this crate exists for, on ELF input).

use crate::elf::{guest_phys_read, ElfDump, ElfError};
use crate::flat::{FlatEvent, FlatReader, ParseMode};
use crate::from_elf::{write_kdump_from_elf, FromElfOptions};
use crate::sink::{DumpSink, FlatSink, RawSink, TeeSink};

/// Largest guest-physical end address converted (keeps one case in milliseconds).
const MAX_CONVERTED_PHYS_END: u64 = 1 << 20;
/// Largest read per block.
const MAX_READ: u64 = 1 << 16;

/// Runs the target on one input.
pub fn parse_elf(data: &[u8]) {
    let Ok(dump) = ElfDump::parse(data) else {
        return;
    };
    let mut end = 0u64;
    for note in &dump.notes {
        assert!(note.offset >= end, "notes in order");
        assert!(note.desc_offset + note.desc.len() as u64 <= note.offset + note.total_size);
        end = note.offset + note.total_size;
        assert!(
            end <= dump.note_bytes.len() as u64,
            "note inside the note bytes"
        );
    }
    for block in &dump.blocks {
        assert!(block.file_size <= block.mem_size);
        assert!(block.file_offset + block.file_size <= data.len() as u64);
        let len = block.mem_size.min(MAX_READ) as usize;
        let mut buf = vec![0u8; len];
        match guest_phys_read(&dump, data, block.phys_addr, &mut buf) {
            Ok(()) => {}
            Err(ElfError::NotInDump { .. }) => panic!("a block's own start is not readable"),
            Err(e) => panic!("unexpected error reading a block: {e}"),
        }
    }
    if dump.phys_end() <= MAX_CONVERTED_PHYS_END && !dump.blocks.is_empty() {
        let mut flat = FlatSink::new(Vec::new());
        let mut raw = RawSink::in_memory();
        let options = FromElfOptions::default();
        if write_kdump_from_elf(data, &dump, &options, &mut TeeSink(&mut flat, &mut raw)).is_ok() {
            let flat = flat.into_inner();
            let raw = raw.into_bytes();
            let reassembled = replay(&flat);
            assert!(reassembled == raw, "flattened and raw conversions differ");
        }
    }
}

/// Replays a flattened stream (ours, so valid) into memory.
fn replay(flat: &[u8]) -> Vec<u8> {
    let mut reader = FlatReader::new(flat, ParseMode::Strict);
    let mut out = RawSink::in_memory();
    while let Some(event) = reader
        .next_event()
        .expect("our own flattened output parses")
    {
        if let FlatEvent::Data { offset, bytes, .. } = event {
            out.write_at(offset, bytes).expect("in memory");
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::smoke::{overwrite_random_bytes, SmokeLoop};
    use rand::Rng;

    /// A small valid ELF64 LE dump: one note, two blocks.
    fn seed() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF\x02\x01\x01");
        f.resize(16, 0);
        let phnum = 3u16;
        let note = {
            let mut n = Vec::new();
            n.extend_from_slice(&5u32.to_le_bytes());
            n.extend_from_slice(&8u32.to_le_bytes());
            n.extend_from_slice(&1u32.to_le_bytes());
            n.extend_from_slice(b"CORE\0\0\0\0");
            n.extend_from_slice(&[7; 8]);
            n
        };
        let phoff = 64u64;
        let note_off = phoff + 56 * u64::from(phnum);
        let data_off = note_off + note.len() as u64;
        for v in [4u16, 62] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        f.extend_from_slice(&phoff.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        for v in [64u16, 56, phnum, 64, 0, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        let mut phdr = |ty: u32, off: u64, paddr: u64, size: u64| {
            f.extend_from_slice(&ty.to_le_bytes());
            f.extend_from_slice(&0u32.to_le_bytes());
            for v in [off, paddr, paddr, size, size, 0] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        };
        phdr(4, note_off, 0, note.len() as u64);
        phdr(1, data_off, 0, 8192);
        phdr(1, data_off + 8192, 0x4000, 4096);
        f.extend_from_slice(&note);
        f.extend((0..3 * 4096u32).map(|i| if i % 3 == 0 { (i / 7) as u8 } else { 0 }));
        f
    }

    #[test]
    fn seed_is_accepted_and_converted() {
        let data = seed();
        let dump = ElfDump::parse(&data[..]).unwrap();
        assert_eq!(dump.blocks.len(), 2);
        assert_eq!(dump.cpu_count(), 1);
        let mut raw = RawSink::in_memory();
        let summary =
            write_kdump_from_elf(&data[..], &dump, &FromElfOptions::default(), &mut raw).unwrap();
        assert_eq!(summary.dumped_pages, 3);
        parse_elf(&data);
    }

    #[test]
    fn smoke_random_mutations() {
        let base = seed();
        let smoke = SmokeLoop {
            target: "parse_elf",
            seed: 6,
            rounds: 300,
        };
        smoke.run(parse_elf, |rng, _| {
            let mut data = base.clone();
            overwrite_random_bytes(rng, &mut data, 1..6);
            if rng.gen_bool(0.2) {
                data.truncate(rng.gen_range(0..data.len()));
            }
            vec![data]
        });
    }
}
