use super::*;

/// What a synthetic ELF dump should hold.
struct Spec {
    class: ElfClass,
    byte_order: ElfByteOrder,
    /// (guest-physical address, bytes in the file, extra zero bytes in memory only)
    blocks: Vec<(u64, Vec<u8>, u64)>,
    notes: Vec<(&'static [u8], u32, Vec<u8>)>,
    /// Write e_phnum = PN_XNUM and the count in section 0 (as QEMU does past 65534 segments).
    overflow_count: bool,
}

struct Out(Vec<u8>, ElfByteOrder);
impl Out {
    fn u16(&mut self, v: u16) {
        let b = match self.1 {
            ElfByteOrder::Little => v.to_le_bytes(),
            ElfByteOrder::Big => v.to_be_bytes(),
        };
        self.0.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = match self.1 {
            ElfByteOrder::Little => v.to_le_bytes(),
            ElfByteOrder::Big => v.to_be_bytes(),
        };
        self.0.extend_from_slice(&b);
    }
    fn u64(&mut self, v: u64) {
        let b = match self.1 {
            ElfByteOrder::Little => v.to_le_bytes(),
            ElfByteOrder::Big => v.to_be_bytes(),
        };
        self.0.extend_from_slice(&b);
    }
    fn word(&mut self, class: ElfClass, v: u64) {
        match class {
            ElfClass::Elf32 => self.u32(v as u32),
            ElfClass::Elf64 => self.u64(v),
        }
    }
}

/// Lays a file out as QEMU does: ELF header, one section header (null), program headers, notes, data.
fn build(spec: &Spec) -> Vec<u8> {
    let (eh, ph, sh) = match spec.class {
        ElfClass::Elf32 => (52u64, 32u64, 40u64),
        ElfClass::Elf64 => (64, 56, 64),
    };
    let mut note_seg = Out(Vec::new(), spec.byte_order);
    for (name, ty, desc) in &spec.notes {
        note_seg.u32(name.len() as u32 + 1);
        note_seg.u32(desc.len() as u32);
        note_seg.u32(*ty);
        note_seg.0.extend_from_slice(name);
        note_seg.0.push(0);
        while note_seg.0.len() % 4 != 0 {
            note_seg.0.push(0);
        }
        note_seg.0.extend_from_slice(desc);
        while note_seg.0.len() % 4 != 0 {
            note_seg.0.push(0);
        }
    }
    let phnum = 1 + spec.blocks.len() as u64;
    let shoff = eh;
    let phoff = eh + sh;
    let note_off = phoff + ph * phnum;
    let mut data_off = note_off + note_seg.0.len() as u64;
    let c = spec.class;
    let mut o = Out(Vec::new(), spec.byte_order);
    o.0.extend_from_slice(b"\x7fELF");
    o.0.push(if c == ElfClass::Elf32 { 1 } else { 2 });
    o.0.push(if spec.byte_order == ElfByteOrder::Little {
        1
    } else {
        2
    });
    o.0.push(1);
    o.0.resize(16, 0);
    o.u16(ET_CORE);
    o.u16(EM_X86_64);
    o.u32(1);
    o.word(c, 0); // entry
    o.word(c, phoff);
    o.word(c, shoff);
    o.u32(0); // flags
    o.u16(8); // e_ehsize as QEMU writes it
    o.u16(ph as u16);
    o.u16(if spec.overflow_count {
        PN_XNUM
    } else {
        phnum as u16
    });
    o.u16(sh as u16);
    o.u16(1);
    o.u16(0);
    assert_eq!(o.0.len() as u64, eh);
    // Section 0: all zero but sh_info = the program header count when it overflows.
    let info = if spec.overflow_count { phnum as u32 } else { 0 };
    match c {
        ElfClass::Elf32 => {
            o.0.extend_from_slice(&[0; 28]);
            o.u32(info);
            o.0.extend_from_slice(&[0; 8]);
        }
        ElfClass::Elf64 => {
            o.0.extend_from_slice(&[0; 44]);
            o.u32(info);
            o.0.extend_from_slice(&[0; 16]);
        }
    }
    let phdr = |o: &mut Out, ty: u32, off: u64, paddr: u64, filesz: u64, memsz: u64| match c {
        ElfClass::Elf32 => {
            o.u32(ty);
            for v in [off, 0, paddr, filesz, memsz, 0, 0] {
                o.u32(v as u32);
            }
        }
        ElfClass::Elf64 => {
            o.u32(ty);
            o.u32(0);
            for v in [off, 0, paddr, filesz, memsz, 0] {
                o.u64(v);
            }
        }
    };
    phdr(
        &mut o,
        PT_NOTE,
        note_off,
        0,
        note_seg.0.len() as u64,
        note_seg.0.len() as u64,
    );
    for (paddr, bytes, extra) in &spec.blocks {
        let n = bytes.len() as u64;
        phdr(&mut o, PT_LOAD, data_off, *paddr, n, n + extra);
        data_off += n;
    }
    o.0.extend_from_slice(&note_seg.0);
    for (_, bytes, _) in &spec.blocks {
        o.0.extend_from_slice(bytes);
    }
    o.0
}

fn spec(class: ElfClass, byte_order: ElfByteOrder) -> Spec {
    Spec {
        class,
        byte_order,
        blocks: vec![
            (0, (0..4096u32).map(|i| i as u8).collect(), 0),
            (0x3000, vec![0xab; 100], 28),
        ],
        notes: vec![
            (b"CORE", 1, vec![1, 2, 3, 4, 5]),
            (b"QEMU", 0, vec![9; 8]),
            (b"VMCOREINFO", 0, b"OSRELEASE=6.1\n".to_vec()),
        ],
        overflow_count: false,
    }
}

fn check_parsed(spec: &Spec, file: &[u8]) {
    let dump = ElfDump::parse(file).unwrap();
    assert_eq!(dump.class, spec.class);
    assert_eq!(dump.byte_order, spec.byte_order);
    assert_eq!(dump.machine, EM_X86_64);
    assert_eq!(dump.program_header_count, 1 + spec.blocks.len() as u64);
    assert_eq!(dump.blocks.len(), spec.blocks.len());
    for (block, (paddr, bytes, extra)) in dump.blocks.iter().zip(&spec.blocks) {
        assert_eq!(block.phys_addr, *paddr);
        assert_eq!(block.file_size, bytes.len() as u64);
        assert_eq!(block.mem_size, bytes.len() as u64 + extra);
        let mut got = vec![0xee; bytes.len() + *extra as usize];
        guest_phys_read(&dump, file, *paddr, &mut got).unwrap();
        assert_eq!(&got[..bytes.len()], &bytes[..]);
        assert!(got[bytes.len()..].iter().all(|&b| b == 0));
    }
    let names: Vec<&[u8]> = dump.notes.iter().map(|n| n.name.as_slice()).collect();
    assert_eq!(names, [&b"CORE"[..], b"QEMU", b"VMCOREINFO"]);
    assert_eq!(dump.notes[0].desc, [1, 2, 3, 4, 5]);
    assert_eq!(dump.notes[0].total_size, 12 + 8 + 8);
    assert_eq!(dump.cpu_count(), 1);
    assert_eq!(dump.vmcoreinfo().unwrap().desc, b"OSRELEASE=6.1\n");
    let last = dump.notes.last().unwrap();
    assert_eq!(last.offset + last.total_size, dump.note_bytes.len() as u64);
    dump.check_blocks_disjoint().unwrap();
}

#[test]
fn all_classes_and_byte_orders_parse() {
    for class in [ElfClass::Elf32, ElfClass::Elf64] {
        for byte_order in [ElfByteOrder::Little, ElfByteOrder::Big] {
            let s = spec(class, byte_order);
            check_parsed(&s, &build(&s));
        }
    }
}

#[test]
fn pn_xnum_takes_the_count_from_section_zero() {
    for class in [ElfClass::Elf32, ElfClass::Elf64] {
        let mut s = spec(class, ElfByteOrder::Big);
        s.overflow_count = true;
        check_parsed(&s, &build(&s));
    }
}

#[test]
fn pn_xnum_without_section_headers_is_an_error() {
    let mut s = spec(ElfClass::Elf64, ElfByteOrder::Little);
    s.overflow_count = true;
    let mut file = build(&s);
    file[60..62].copy_from_slice(&0u16.to_le_bytes()); // e_shnum = 0
    assert!(matches!(
        ElfDump::parse(&file[..]),
        Err(ElfError::MissingCountSection)
    ));
}

#[test]
fn reads_across_adjacent_blocks_and_fail_on_gaps() {
    let s = Spec {
        blocks: vec![
            (0, vec![1; 10], 0),
            (10, vec![2; 10], 0),
            (0x100, vec![3; 4], 0),
        ],
        ..spec(ElfClass::Elf64, ElfByteOrder::Little)
    };
    let file = build(&s);
    let dump = ElfDump::parse(&file[..]).unwrap();
    let mut buf = [0u8; 14];
    guest_phys_read(&dump, &file[..], 4, &mut buf).unwrap();
    assert_eq!(buf, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
    let err = guest_phys_read(&dump, &file[..], 15, &mut [0u8; 8]).unwrap_err();
    assert!(
        matches!(err, ElfError::NotInDump { phys_addr: 20 }),
        "{err}"
    );
}

#[test]
fn every_truncation_is_a_typed_error_not_a_panic() {
    let s = spec(ElfClass::Elf64, ElfByteOrder::Little);
    let file = build(&s);
    for len in 0..file.len() {
        let err = ElfDump::parse(&file[..len]).unwrap_err();
        assert!(
            matches!(err, ElfError::Truncated { .. } | ElfError::BadNote { .. }),
            "length {len}: {err}"
        );
    }
}

#[test]
fn header_corruptions_are_named() {
    let s = spec(ElfClass::Elf64, ElfByteOrder::Little);
    let good = build(&s);
    let with = |at: usize, bytes: &[u8]| {
        let mut f = good.clone();
        f[at..at + bytes.len()].copy_from_slice(bytes);
        ElfDump::parse(&f[..]).unwrap_err().to_string()
    };
    assert!(with(0, b"\x7fELG").contains("not an ELF file"));
    assert!(with(4, &[3]).contains("unknown ELF class 3"));
    assert!(with(5, &[0]).contains("byte order 0"));
    assert!(with(16, &2u16.to_le_bytes()).contains("not ET_CORE"));
    assert!(with(54, &32u16.to_le_bytes()).contains("e_phentsize is 32"));
    assert!(with(56, &0u16.to_le_bytes()).contains("no program headers"));
    // p_filesz of the first PT_LOAD (program header 1) made larger than the file.
    let ph1 = 64 + 64 + 56;
    assert!(with(ph1 + 32, &u64::MAX.to_le_bytes()).contains("p_filesz"));
    // A note whose n_descsz runs past the segment.
    let note = 64 + 64 + 3 * 56;
    assert!(with(note + 4, &1000u32.to_le_bytes()).contains("malformed note"));
}

#[test]
fn overlapping_blocks_are_reported() {
    let s = Spec {
        blocks: vec![(0, vec![1; 16], 0), (8, vec![2; 16], 0)],
        ..spec(ElfClass::Elf32, ElfByteOrder::Little)
    };
    let dump = ElfDump::parse(&build(&s)[..]).unwrap();
    let err = dump.check_blocks_disjoint().unwrap_err();
    assert!(matches!(
        err,
        ElfError::OverlappingBlocks {
            first: 0,
            second: 1,
            phys_addr: 8
        }
    ));
}
