//! Test support: a small, independent writer of kdump-compressed files (from the format definition in
//! docs/FORMATS.md §2, not from the reader under test), and the corpus file list.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kdump_flat::compress::{compress, Compression};
use kdump_flat::kdump::{ByteOrder, Class};

/// Raw kdump-compressed files of corpus/real (signature "KDUMP   " or "DISKDUMP" at offset 0).
pub fn corpus_kdump_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let mut sig = [0u8; 8];
            std::fs::File::open(p)
                .and_then(|f| std::os::unix::fs::FileExt::read_exact_at(&f, &mut sig, 0))
                .is_ok()
                && (&sig == b"KDUMP   " || &sig == b"DISKDUMP")
        })
        .collect();
    files.sort();
    files
}

/// What a pfn holds in a synthetic dump.
#[derive(Clone, Debug)]
pub enum Page {
    /// Memory, dumped with these bytes (page_size of them).
    Dumped(Vec<u8>),
    /// Memory, excluded by the dump level.
    Excluded,
}

/// 32-bit sub-header layout choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout32 {
    /// i386: 64-bit fields aligned to 4.
    Packed,
    /// Others: 64-bit fields aligned to 8.
    Padded,
}

/// A description of a dump to write.
#[derive(Clone, Debug)]
pub struct Synth {
    pub class: Class,
    pub order: ByteOrder,
    pub layout32: Layout32,
    pub page_size: u32,
    pub compression: Compression,
    pub header_version: i32,
    pub signature: [u8; 8],
    pub machine: String,
    pub nr_cpus: i32,
    pub max_mapnr: u64,
    pub pages: BTreeMap<u64, Page>,
    pub vmcoreinfo: Option<String>,
    pub eraseinfo: Option<Vec<u8>>,
}

/// Where things went in a written dump (for corruption tests).
#[derive(Clone, Debug)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub page_size: u64,
    pub header_size: usize,
    pub sub_header_offset: u64,
    pub notes_offset: u64,
    pub notes_size: u64,
    pub bitmap1_offset: u64,
    pub bitmap2_offset: u64,
    pub descriptors_offset: u64,
    pub data_offset: u64,
    /// (pfn, descriptor offset, data offset, data size, flags) for every dumped pfn, ascending.
    pub descriptors: Vec<(u64, u64, u64, u32, u32)>,
    pub eraseinfo_offset: Option<u64>,
    pub order: ByteOrder,
}

impl Built {
    /// Number of dumped pages.
    pub fn dumped_pages(&self) -> u64 {
        self.descriptors.len() as u64
    }
}

struct Out {
    order: ByteOrder,
    bytes: Vec<u8>,
}

impl Out {
    fn put(&mut self, at: u64, data: &[u8]) {
        let end = at as usize + data.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[at as usize..end].copy_from_slice(data);
    }
    fn u32(&mut self, at: u64, v: u32) {
        let b = match self.order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        self.put(at, &b);
    }
    fn u64(&mut self, at: u64, v: u64) {
        let b = match self.order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        self.put(at, &b);
    }
    /// A C `long` of the dumped machine.
    fn long(&mut self, class: Class, at: u64, v: u64) {
        match class {
            Class::Bits32 => self.u32(at, v as u32),
            Class::Bits64 => self.u64(at, v),
        }
    }
}

fn note(out: &mut Vec<u8>, order: ByteOrder, name: &str, ty: u32, desc: &[u8]) -> u64 {
    let w = |v: u32| match order {
        ByteOrder::Little => v.to_le_bytes(),
        ByteOrder::Big => v.to_be_bytes(),
    };
    out.extend_from_slice(&w(name.len() as u32 + 1));
    out.extend_from_slice(&w(desc.len() as u32));
    out.extend_from_slice(&w(ty));
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    let desc_at = out.len() as u64;
    out.extend_from_slice(desc);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    desc_at
}

impl Synth {
    /// A 64-bit little-endian x86_64 dump with `pfns` page frames, a mix of page contents.
    pub fn x86_64(compression: Compression, pfns: u64) -> Synth {
        Synth {
            class: Class::Bits64,
            order: ByteOrder::Little,
            layout32: Layout32::Padded,
            page_size: 4096,
            compression,
            header_version: 6,
            signature: *b"KDUMP   ",
            machine: "x86_64".into(),
            nr_cpus: 1,
            max_mapnr: pfns,
            pages: mixed_pages(pfns, 4096, 1),
            vmcoreinfo: Some("OSRELEASE=6.1.0-synthetic\nPAGESIZE=4096\n".into()),
            eraseinfo: None,
        }
    }

    /// Writes the dump as makedumpfile/QEMU lay it out.
    pub fn build(&self) -> Built {
        let ps = self.page_size as u64;
        let class = self.class;
        let mut o = Out {
            order: self.order,
            bytes: Vec::new(),
        };
        // Header.
        let (status_at, header_size) = match class {
            Class::Bits32 => (412u64, 452usize),
            Class::Bits64 => (424u64, 464usize),
        };
        o.put(0, &self.signature);
        o.u32(8, self.header_version as u32);
        o.put(12, b"Linux");
        o.put(12 + 65 * 2, b"6.1.0-synthetic");
        o.put(12 + 65 * 4, self.machine.as_bytes());
        let bitmap_len = self.max_mapnr.div_ceil(8).div_ceil(ps) * ps;
        let bitmap_blocks = 2 * bitmap_len / ps;
        // Notes: VMCOREINFO only.
        let mut notes = Vec::new();
        let mut vmci_desc = None;
        if let Some(text) = &self.vmcoreinfo {
            let at = note(&mut notes, self.order, "VMCOREINFO", 0, text.as_bytes());
            vmci_desc = Some((at, text.len() as u64));
        }
        let sub_size: u64 = match (class, self.layout32) {
            (Class::Bits64, _) => 104,
            (Class::Bits32, Layout32::Packed) => 80,
            (Class::Bits32, Layout32::Padded) => 96,
        };
        let sub_hdr_blocks = (sub_size + notes.len() as u64).div_ceil(ps);
        let status = self.compression.flag();
        o.u32(status_at, status);
        o.u32(status_at + 4, self.page_size);
        o.u32(status_at + 8, sub_hdr_blocks as u32);
        o.u32(status_at + 12, bitmap_blocks as u32);
        o.u32(status_at + 16, self.max_mapnr.min(u32::MAX as u64) as u32);
        o.u32(status_at + 36, self.nr_cpus as u32);
        // Sub-header.
        let sub = ps;
        let notes_offset = ps + sub_size;
        o.put(notes_offset, &notes);
        let (vmci_at, note_at, erase_at, pfn64_at) = match (class, self.layout32) {
            (Class::Bits64, _) => (32, 48, 64, 80),
            (Class::Bits32, Layout32::Packed) => (20, 32, 44, 56),
            (Class::Bits32, Layout32::Padded) => (24, 40, 56, 72),
        };
        o.long(class, sub, 0x1000000); // phys_base
        let (dl_at, split_at) = match class {
            Class::Bits64 => (8, 12),
            Class::Bits32 => (4, 8),
        };
        o.u32(sub + dl_at, 1);
        o.u32(sub + split_at, 0);
        if let Some((at, len)) = vmci_desc {
            o.u64(sub + vmci_at, notes_offset + at);
            o.long(class, sub + vmci_at + 8, len);
        }
        o.u64(sub + note_at, notes_offset);
        o.long(class, sub + note_at + 8, notes.len() as u64);
        o.u64(sub + pfn64_at + 16, self.max_mapnr);
        // Bitmaps.
        let bitmap1 = ps * (1 + sub_hdr_blocks);
        let bitmap2 = bitmap1 + bitmap_len;
        o.put(bitmap2 + bitmap_len - 1, &[0]);
        for (&pfn, page) in &self.pages {
            let byte = pfn / 8;
            let bit = 1u8 << (pfn % 8);
            o.bytes[(bitmap1 + byte) as usize] |= bit;
            if matches!(page, Page::Dumped(_)) {
                o.bytes[(bitmap2 + byte) as usize] |= bit;
            }
        }
        // Descriptors and data.
        let dumped: Vec<(u64, &Vec<u8>)> = self
            .pages
            .iter()
            .filter_map(|(&pfn, p)| match p {
                Page::Dumped(bytes) => Some((pfn, bytes)),
                Page::Excluded => None,
            })
            .collect();
        let descriptors_offset = bitmap2 + bitmap_len;
        let data_offset = descriptors_offset + 24 * dumped.len() as u64;
        let mut data_at = data_offset;
        let zero_page_at = data_offset;
        o.put(zero_page_at, &vec![0u8; ps as usize]);
        data_at += ps;
        let mut descriptors = Vec::new();
        for (i, (pfn, page)) in dumped.iter().enumerate() {
            let desc_at = descriptors_offset + 24 * i as u64;
            let (offset, size, flags) = if page.iter().all(|&b| b == 0) {
                (zero_page_at, ps as u32, 0)
            } else {
                let packed = compress(self.compression, page);
                let (stored, flags) =
                    if self.compression != Compression::None && (packed.len() as u64) < ps {
                        (packed, self.compression.flag())
                    } else {
                        ((*page).clone(), 0)
                    };
                let at = data_at;
                o.put(at, &stored);
                data_at += stored.len() as u64;
                (at, stored.len() as u32, flags)
            };
            o.u64(desc_at, offset);
            o.u32(desc_at + 8, size);
            o.u32(desc_at + 12, flags);
            o.u64(desc_at + 16, 0);
            descriptors.push((*pfn, desc_at, offset, size, flags));
        }
        let mut eraseinfo_offset = None;
        if let Some(text) = &self.eraseinfo {
            o.put(data_at, text);
            o.u64(sub + erase_at, data_at);
            o.long(class, sub + erase_at + 8, text.len() as u64);
            eraseinfo_offset = Some(data_at);
        }
        Built {
            bytes: o.bytes,
            page_size: ps,
            header_size,
            sub_header_offset: sub,
            notes_offset,
            notes_size: notes.len() as u64,
            bitmap1_offset: bitmap1,
            bitmap2_offset: bitmap2,
            descriptors_offset,
            data_offset,
            descriptors,
            eraseinfo_offset,
            order: self.order,
        }
    }
}

/// Page contents for `pfns` frames: holes (not memory), excluded pages, zero pages, text-like
/// (compressible) pages and pseudo-random (incompressible) pages, chosen by a fixed pattern from `seed`.
pub fn mixed_pages(pfns: u64, page_size: usize, seed: u64) -> BTreeMap<u64, Page> {
    let mut pages = BTreeMap::new();
    let mut state = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for pfn in 0..pfns {
        let kind = next() % 10;
        let page = match kind {
            0 => continue, // not memory
            1 => Page::Excluded,
            2 | 3 => Page::Dumped(vec![0u8; page_size]),
            4 => Page::Dumped((0..page_size).map(|_| next() as u8).collect()),
            _ => {
                let word = next();
                Page::Dumped(
                    (0..page_size)
                        .map(|i| {
                            if i % 64 < 8 {
                                (word >> (8 * (i % 8))) as u8
                            } else {
                                b"kdump-flat synthetic page "[i % 26]
                            }
                        })
                        .collect(),
                )
            }
        };
        pages.insert(pfn, page);
    }
    pages
}

/// Synthetic dumps covering every word size, byte order, sub-header layout and compression.
pub fn synthetic_variants() -> Vec<(&'static str, Synth, Built)> {
    let mut variants = Vec::new();
    for (name, compression) in [
        ("x86_64-zlib", Compression::Zlib),
        ("x86_64-lzo", Compression::Lzo),
        ("x86_64-snappy", Compression::Snappy),
        ("x86_64-zstd", Compression::Zstd),
        ("x86_64-none", Compression::None),
    ] {
        let synth = Synth::x86_64(compression, 3000);
        let built = synth.build();
        variants.push((name, synth, built));
    }
    let mut ppc64 = Synth::x86_64(Compression::Zlib, 700);
    ppc64.order = ByteOrder::Big;
    ppc64.machine = "ppc64".into();
    ppc64.page_size = 65536;
    ppc64.pages = mixed_pages(700, 65536, 2);
    ppc64.vmcoreinfo = Some("OSRELEASE=6.1.0-synthetic\nPAGESIZE=65536\n".into());
    let built = ppc64.build();
    variants.push(("ppc64-be-zlib-64k", ppc64, built));
    let mut i386 = Synth::x86_64(Compression::Lzo, 2000);
    i386.class = Class::Bits32;
    i386.layout32 = Layout32::Packed;
    i386.machine = "i686".into();
    let built = i386.build();
    variants.push(("i386-packed-lzo", i386, built));
    let mut arm = Synth::x86_64(Compression::Snappy, 2000);
    arm.class = Class::Bits32;
    arm.layout32 = Layout32::Padded;
    arm.machine = "armv7l".into();
    let built = arm.build();
    variants.push(("arm-padded-snappy", arm, built));
    let mut ppc = Synth::x86_64(Compression::Zstd, 2000);
    ppc.class = Class::Bits32;
    ppc.order = ByteOrder::Big;
    ppc.layout32 = Layout32::Padded;
    ppc.machine = "ppc".into();
    let built = ppc.build();
    variants.push(("ppc-be-padded-zstd", ppc, built));
    let mut diskdump = Synth::x86_64(Compression::Zlib, 1500);
    diskdump.signature = *b"DISKDUMP";
    let built = diskdump.build();
    variants.push(("diskdump-signature", diskdump, built));
    variants
}
