//! ELF notes of a model dump: per CPU an `NT_PRSTATUS` "CORE" note, then (QEMU) per CPU a "QEMU" note,
//! then the guest's "VMCOREINFO" note, each `{namesz, descsz, type}` (12 bytes, 32- and 64-bit alike) with
//! name and descriptor padded to 4 bytes, in the machine's byte order.

use super::encode::Encoder;
use super::{Endian, Layout};

/// `NT_PRSTATUS`.
pub const NT_PRSTATUS: u32 = 1;

/// Encodes one ELF note.
pub fn encode_note(endian: Endian, name: &str, note_type: u32, desc: &[u8]) -> Vec<u8> {
    let namesz = name.len() + 1;
    let total = 12 + pad4(namesz) + pad4(desc.len());
    let mut e = Encoder::new(total, endian);
    e.u32(0, namesz as u32);
    e.u32(4, desc.len() as u32);
    e.u32(8, note_type);
    e.bytes_at(12, name.as_bytes());
    e.bytes_at(12 + pad4(namesz), desc);
    e.bytes
}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// The whole note section of a layout.
pub fn note_section(layout: &Layout) -> Vec<u8> {
    let endian = layout.machine.endian();
    let spec = &layout.notes;
    let mut out = Vec::new();
    for cpu in 0..spec.cpus {
        let mut desc = vec![0u8; spec.prstatus_size as usize];
        for (i, b) in desc.iter_mut().enumerate() {
            *b = (i as u32).wrapping_mul(31).wrapping_add(cpu * 7) as u8;
        }
        out.extend(encode_note(endian, "CORE", NT_PRSTATUS, &desc));
    }
    if let Some(size) = spec.qemu_cpu_state_size {
        for cpu in 0..spec.cpus {
            let desc: Vec<u8> = (0..size).map(|i| (i ^ cpu) as u8).collect();
            out.extend(encode_note(endian, "QEMU", 0, &desc));
        }
    }
    if let Some(text) = &spec.vmcoreinfo {
        out.extend(encode_note(endian, "VMCOREINFO", 0, text.as_bytes()));
    }
    out
}

/// Where the descriptor of the last note lies, if that note is named "VMCOREINFO": (offset of the
/// descriptor within `notes`, descriptor size). This is how QEMU finds the guest's VMCOREINFO (its
/// `guest_note` is always appended last). Malformed notes give `None`.
pub fn trailing_vmcoreinfo(notes: &[u8], endian: Endian) -> Option<(u64, u64)> {
    let read_u32 = |at: usize| -> Option<u32> {
        let b: [u8; 4] = notes.get(at..at + 4)?.try_into().ok()?;
        Some(match endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        })
    };
    let mut at = 0usize;
    let mut last = None;
    while at + 12 <= notes.len() {
        let namesz = read_u32(at)? as usize;
        let descsz = read_u32(at + 4)? as usize;
        let name_at = at + 12;
        let desc_at = name_at.checked_add(pad4(namesz))?;
        let next = desc_at.checked_add(pad4(descsz))?;
        if next > notes.len() {
            return None;
        }
        let name = &notes[name_at..name_at + namesz];
        last = Some((name.to_vec(), desc_at as u64, descsz as u64));
        at = next;
    }
    match last {
        Some((name, desc_at, descsz)) if name == b"VMCOREINFO\0" => Some((desc_at, descsz)),
        _ => None,
    }
}

/// Every note of a note section as (name without the NUL, type, descriptor); stops at the first malformed
/// note.
pub fn parse_notes(notes: &[u8], endian: Endian) -> Vec<(Vec<u8>, u32, &[u8])> {
    let read_u32 = |at: usize| -> Option<u32> {
        let b: [u8; 4] = notes.get(at..at + 4)?.try_into().ok()?;
        Some(match endian {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        })
    };
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 12 <= notes.len() {
        let (Some(namesz), Some(descsz), Some(kind)) =
            (read_u32(at), read_u32(at + 4), read_u32(at + 8))
        else {
            break;
        };
        let name_at = at + 12;
        let Some(desc_at) = name_at.checked_add(pad4(namesz as usize)) else {
            break;
        };
        let Some(next) = desc_at.checked_add(pad4(descsz as usize)) else {
            break;
        };
        if next > notes.len() || desc_at + descsz as usize > notes.len() {
            break;
        }
        let name = &notes[name_at..name_at + namesz as usize];
        let name = name.strip_suffix(&[0]).unwrap_or(name).to_vec();
        out.push((name, kind, &notes[desc_at..desc_at + descsz as usize]));
        at = next;
    }
    out
}

/// Number of `NT_PRSTATUS` notes (makedumpfile's `nr_cpus`; QEMU writes one per vCPU).
pub fn count_prstatus(notes: &[u8], endian: Endian) -> u32 {
    parse_notes(notes, endian)
        .iter()
        .filter(|(name, kind, _)| name == b"CORE" && *kind == NT_PRSTATUS)
        .count() as u32
}

/// `phys_base` as QEMU takes it from the guest's trailing VMCOREINFO note: the value of
/// `NUMBER(phys_base)=` (x86_64) or `NUMBER(PHYS_OFFSET)=` (aarch64) parsed like QEMU's
/// `qemu_strtou64(…, 16)`, i.e. `strtoull` in base 16: optional sign and `0x`, the whole rest must be hex
/// digits, a leading `-` negates (wrapping). The kernel prints `phys_base` in *decimal* (`%ld`), so with
/// KASLR QEMU records a wrong value (`-272629760` becomes 0xfffffffd8d9d68a0); the model reproduces that.
/// `None` if the key is absent or does not parse (QEMU then keeps its own guess).
pub fn vmcoreinfo_phys_base(notes: &[u8], endian: Endian, key: &str) -> Option<u64> {
    let (desc_at, size) = trailing_vmcoreinfo(notes, endian)?;
    let text = &notes[desc_at as usize..(desc_at + size) as usize];
    let text = String::from_utf8_lossy(text);
    let prefix = format!("NUMBER({key})=");
    let value = text.lines().find_map(|line| line.strip_prefix(&prefix))?;
    strtoull_base16(value)
}

/// `strtoull(text, &end, 16)` requiring `*end == '\0'`, as `qemu_strtou64(…, 16)` does: optional leading
/// whitespace, sign and "0x", then hex digits and nothing else; a leading '-' negates (wrapping). `None`
/// where QEMU returns an error.
pub fn strtoull_base16(text: &str) -> Option<u64> {
    let text = text.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
        .unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let value = u64::from_str_radix(digits, 16).ok()?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_padded_and_the_trailing_vmcoreinfo_is_found() {
        let a = encode_note(Endian::Little, "CORE", 1, &[1, 2, 3, 4, 5]);
        assert_eq!(a.len(), 12 + 8 + 8);
        let b = encode_note(Endian::Little, "VMCOREINFO", 0, b"OSRELEASE=6.1\n");
        let mut all = a.clone();
        all.extend(&b);
        assert_eq!(
            trailing_vmcoreinfo(&all, Endian::Little),
            Some((a.len() as u64 + 24, 14))
        );
        assert_eq!(trailing_vmcoreinfo(&a, Endian::Little), None);
        assert_eq!(trailing_vmcoreinfo(&all[..30], Endian::Little), None);
        assert_eq!(count_prstatus(&all, Endian::Little), 1);
        let v = encode_note(
            Endian::Big,
            "VMCOREINFO",
            0,
            b"A=1\nNUMBER(phys_base)=1a000000\n",
        );
        assert_eq!(
            vmcoreinfo_phys_base(&v, Endian::Big, "phys_base"),
            Some(0x1a00_0000)
        );
        let k = encode_note(
            Endian::Little,
            "VMCOREINFO",
            0,
            b"NUMBER(phys_base)=-272629760\n",
        );
        assert_eq!(
            vmcoreinfo_phys_base(&k, Endian::Little, "phys_base"),
            Some(0xffff_fffd_8d9d_68a0)
        );
    }
}
