//! The ELF notes stored after the sub-header (per-CPU `NT_PRSTATUS`, QEMU's CPU state notes, the guest's
//! VMCOREINFO) and the VMCOREINFO text itself.

use serde::Serialize;

use super::error::{KInvariant, KdumpError};
use super::header::ByteOrder;

/// `NT_PRSTATUS`: per-CPU registers (name "CORE").
pub const NT_PRSTATUS: u32 = 1;

/// One ELF note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// File offset of the note header.
    pub offset: u64,
    /// The note's name without its NUL ("CORE", "QEMU", "VMCOREINFO").
    pub name: String,
    /// `n_type`.
    pub note_type: u32,
    /// File offset of the descriptor bytes.
    pub desc_offset: u64,
    /// Length of the descriptor bytes.
    pub desc_size: u64,
}

/// The notes of a dump, in file order, with the VMCOREINFO text if one is there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notes {
    /// Every note.
    pub notes: Vec<Note>,
}

impl Notes {
    /// Number of `NT_PRSTATUS` notes named "CORE" (one per CPU).
    pub fn prstatus_count(&self) -> usize {
        self.notes
            .iter()
            .filter(|n| n.name == "CORE" && n.note_type == NT_PRSTATUS)
            .count()
    }

    /// Number of notes named "QEMU" (QEMU's per-CPU state).
    pub fn qemu_count(&self) -> usize {
        self.notes.iter().filter(|n| n.name == "QEMU").count()
    }

    /// The VMCOREINFO note, if any.
    pub fn vmcoreinfo_note(&self) -> Option<&Note> {
        self.notes.iter().find(|n| n.name == "VMCOREINFO")
    }
}

/// The most notes a dump's note area may hold (K8). A dump has two notes per CPU and one VMCOREINFO note:
/// 16,385 for Linux's largest `NR_CPUS` (8192); the bound keeps the memory of the list (about 80 bytes a
/// note) small whatever the note area holds.
pub const MAX_NOTES: usize = 1 << 16;

fn align4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

/// Parses `bytes` (read from file offset `base`) as a sequence of ELF notes (12-byte headers, name and
/// descriptor each padded to 4 bytes). Trailing zero bytes (padding) are accepted. More than
/// [`MAX_NOTES`] notes are a K8 violation.
pub fn parse_notes(bytes: &[u8], base: u64, order: ByteOrder) -> Result<Notes, KdumpError> {
    let mut notes = Vec::new();
    let mut at: u64 = 0;
    let len = bytes.len() as u64;
    while at < len {
        if bytes[at as usize..].iter().all(|&b| b == 0) {
            break;
        }
        let offset = base + at;
        if notes.len() == MAX_NOTES {
            return Err(KdumpError::invalid(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "more than {MAX_NOTES} notes in the note area (a dump has two per CPU and one \
                     VMCOREINFO note); the note area is not read past note {MAX_NOTES}"
                ),
            ));
        }
        if len - at < 12 {
            return Err(KdumpError::invalid(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "truncated note header: {} bytes left of the notes",
                    len - at
                ),
            ));
        }
        let h = at as usize;
        let namesz = order.u32(bytes, h) as u64;
        let descsz = order.u32(bytes, h + 4) as u64;
        let note_type = order.u32(bytes, h + 8);
        let name_at = at + 12;
        let desc_at = name_at + align4(namesz);
        let end = desc_at + align4(descsz);
        if end > len {
            return Err(KdumpError::invalid(
                KInvariant::K8,
                Some(offset),
                None,
                format!(
                    "note (namesz {namesz}, descsz {descsz}) runs past the end of the notes \
                     ({} bytes at {:#x})",
                    len, base
                ),
            ));
        }
        let raw_name = &bytes[name_at as usize..(name_at + namesz) as usize];
        let name_end = raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw_name.len());
        notes.push(Note {
            offset,
            name: String::from_utf8_lossy(&raw_name[..name_end]).into_owned(),
            note_type,
            desc_offset: base + desc_at,
            desc_size: descsz,
        });
        at = end;
    }
    Ok(Notes { notes })
}

/// The VMCOREINFO text: `KEY=VALUE` lines written by the dumped kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vmcoreinfo {
    /// File offset of the text.
    pub offset: u64,
    /// The text (lossily decoded, trailing NULs removed).
    pub text: String,
}

impl Vmcoreinfo {
    /// Builds one from raw bytes read at `offset`.
    pub fn from_bytes(offset: u64, bytes: &[u8]) -> Vmcoreinfo {
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        Vmcoreinfo {
            offset,
            text: String::from_utf8_lossy(&bytes[..end]).into_owned(),
        }
    }

    /// The value of `key` (the part after the first `=` of the first line `key=…`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k == key).then_some(v)
        })
    }

    /// `OSRELEASE`: the dumped kernel's release.
    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }

    /// `PAGESIZE`, parsed.
    pub fn page_size(&self) -> Option<u64> {
        self.get("PAGESIZE")?.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(name: &str, ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn notes_are_counted_and_bounds_checked() {
        let mut bytes = note("CORE", 1, &[7; 336]);
        bytes.extend(note("QEMU", 0, &[1; 437]));
        bytes.extend(note("VMCOREINFO", 0, b"OSRELEASE=6.1.0\nPAGESIZE=4096\n"));
        let notes = parse_notes(&bytes, 0x1000, ByteOrder::Little).unwrap();
        assert_eq!(notes.prstatus_count(), 1);
        assert_eq!(notes.qemu_count(), 1);
        let mut two = bytes.clone();
        two.extend(note("QEMU", 0, &[2; 437]));
        let two = parse_notes(&two, 0x1000, ByteOrder::Little).unwrap();
        assert_eq!(two.qemu_count(), 2);
        let none = parse_notes(&note("CORE", 1, &[7; 336]), 0x1000, ByteOrder::Little).unwrap();
        assert_eq!(none.qemu_count(), 0);
        let vmci = notes.vmcoreinfo_note().unwrap();
        let start = (vmci.desc_offset - 0x1000) as usize;
        let text = Vmcoreinfo::from_bytes(
            vmci.desc_offset,
            &bytes[start..start + vmci.desc_size as usize],
        );
        assert_eq!(text.osrelease(), Some("6.1.0"));
        assert_eq!(text.page_size(), Some(4096));
        let cut = &bytes[..bytes.len() - 8];
        let err = parse_notes(cut, 0x1000, ByteOrder::Little).unwrap_err();
        assert_eq!(err.invariant(), Some(KInvariant::K8));
    }

    /// QEMU's aarch64 and s390x dumps hold more "CORE" notes per CPU than `NT_PRSTATUS` (`NT_PRFPREG`,
    /// type 2, and others): only the `NT_PRSTATUS` ones count CPUs, and a type-1 note named otherwise
    /// does not either.
    #[test]
    fn only_core_prstatus_notes_count_cpus() {
        let mut bytes = Vec::new();
        for _cpu in 0..2 {
            bytes.extend(note("CORE", 1, &[7; 392]));
            bytes.extend(note("CORE", 2, &[8; 528]));
        }
        bytes.extend(note("LINUX", 1, &[9; 16]));
        let notes = parse_notes(&bytes, 0, ByteOrder::Little).unwrap();
        assert_eq!(notes.notes.len(), 5);
        assert_eq!(notes.prstatus_count(), 2);
    }

    #[test]
    fn more_than_max_notes_is_a_k8_violation_naming_where() {
        let empty = note("", 1, &[]);
        let at_bound = empty.repeat(MAX_NOTES);
        assert_eq!(
            parse_notes(&at_bound, 0, ByteOrder::Little)
                .unwrap()
                .notes
                .len(),
            MAX_NOTES
        );
        let past = empty.repeat(MAX_NOTES + 1);
        let err = parse_notes(&past, 0x1000, ByteOrder::Little).unwrap_err();
        assert_eq!(err.invariant(), Some(KInvariant::K8));
        let where_ = format!("{:#x}", 0x1000 + empty.len() * MAX_NOTES);
        assert!(err.to_string().contains(&where_), "{err}");
    }
}
