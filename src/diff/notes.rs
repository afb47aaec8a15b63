//! ELF notes compared one by one (name, type, descriptor bytes, by index) and VMCOREINFO key by key, for
//! kdump-compressed and ELF dumps alike (QEMU writes the same notes into both).

use serde_json::Value;

use super::report::{Collector, Difference, Structure};
use crate::elf::ElfDump;
use crate::kdump::KdumpFile;
use crate::readat::ReadAt;

/// Descriptor bytes shown from the first difference on.
const SHOWN_BYTES: usize = 16;
/// Longest VMCOREINFO value shown in full.
const SHOWN_VALUE_CHARS: usize = 200;

/// One note, with its descriptor bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteView {
    /// The name ("CORE", "QEMU", "VMCOREINFO").
    pub name: String,
    /// `n_type`.
    pub note_type: u32,
    /// The descriptor bytes.
    pub desc: Vec<u8>,
}

/// The notes of one side, and its VMCOREINFO text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideNotes {
    /// The notes, in file order.
    pub notes: Vec<NoteView>,
    /// Why the notes could not be read, if so.
    pub problem: Option<String>,
    /// The VMCOREINFO text, if any.
    pub vmcoreinfo: Option<String>,
}

/// The notes of a kdump-compressed file (read from the file, descriptor bytes included).
pub fn kdump_notes<R: ReadAt>(file: &KdumpFile<R>) -> SideNotes {
    let mut side = SideNotes {
        problem: file.notes_error().map(|p| p.to_string()),
        vmcoreinfo: file.vmcoreinfo().map(|v| v.text.clone()),
        ..SideNotes::default()
    };
    for note in &file.notes().notes {
        // parse_notes found the descriptor inside the notes area, which is at most MAX_NOTES_SIZE bytes.
        let mut desc = vec![0u8; note.desc_size as usize];
        if let Err(e) = file.reader().read_exact_at(note.desc_offset, &mut desc) {
            side.problem.get_or_insert(format!(
                "cannot read the descriptor of note {:?} at {:#x}: {e}",
                note.name, note.desc_offset
            ));
        }
        side.notes.push(NoteView {
            name: note.name.clone(),
            note_type: note.note_type,
            desc,
        });
    }
    side
}

/// The notes of an ELF dump.
pub fn elf_notes(dump: &ElfDump) -> SideNotes {
    SideNotes {
        notes: dump
            .notes
            .iter()
            .map(|note| NoteView {
                name: String::from_utf8_lossy(&note.name).into_owned(),
                note_type: note.note_type,
                desc: note.desc.clone(),
            })
            .collect(),
        problem: None,
        vmcoreinfo: dump.vmcoreinfo().map(|note| {
            let end = note.desc.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
            String::from_utf8_lossy(&note.desc[..end]).into_owned()
        }),
    }
}

fn describe(note: &NoteView) -> Value {
    format!(
        "{} type {}, {} bytes",
        note.name,
        note.note_type,
        note.desc.len()
    )
    .into()
}

fn hex_from(bytes: &[u8], at: usize) -> Value {
    let end = (at + SHOWN_BYTES).min(bytes.len());
    let hex: String = bytes[at.min(end)..end]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex.into()
}

/// Compares the notes one by one, then VMCOREINFO key by key (the VMCOREINFO note's descriptor is
/// compared through its keys). Returns true if anything differs.
pub fn compare_notes(a: &SideNotes, b: &SideNotes, out: &mut Collector) -> bool {
    let before = out.counts.clone();
    if a.problem != b.problem {
        out.push(Difference::field(
            Structure::Note,
            "readable",
            a.problem.clone().map_or(Value::from("yes"), Value::from),
            b.problem.clone().map_or(Value::from("yes"), Value::from),
        ));
    }
    if a.notes.len() != b.notes.len() {
        out.push(Difference::field(
            Structure::Note,
            "count",
            a.notes.len(),
            b.notes.len(),
        ));
    }
    for index in 0..a.notes.len().max(b.notes.len()) {
        match (a.notes.get(index), b.notes.get(index)) {
            (Some(na), Some(nb)) => compare_note(index, na, nb, out),
            (na, nb) => out.push(Difference::field(
                Structure::Note,
                format!("note[{index}]"),
                na.map_or(Value::Null, describe),
                nb.map_or(Value::Null, describe),
            )),
        }
    }
    compare_vmcoreinfo(a.vmcoreinfo.as_deref(), b.vmcoreinfo.as_deref(), out);
    out.counts != before
}

fn compare_note(index: usize, a: &NoteView, b: &NoteView, out: &mut Collector) {
    let label = format!("note[{index}] ({} type {})", a.name, a.note_type);
    if a.name != b.name {
        out.push(
            Difference::field(
                Structure::Note,
                format!("note[{index}].name"),
                a.name.as_str(),
                b.name.as_str(),
            )
            .with_detail(label.clone()),
        );
    }
    if a.note_type != b.note_type {
        out.push(
            Difference::field(
                Structure::Note,
                format!("note[{index}].type"),
                a.note_type,
                b.note_type,
            )
            .with_detail(label.clone()),
        );
    }
    let both_vmcoreinfo = a.name == "VMCOREINFO" && b.name == "VMCOREINFO";
    if a.desc != b.desc && !both_vmcoreinfo {
        let first = a
            .desc
            .iter()
            .zip(&b.desc)
            .position(|(x, y)| x != y)
            .unwrap_or(a.desc.len().min(b.desc.len()));
        out.push(
            Difference::field(
                Structure::Note,
                format!("note[{index}].desc"),
                hex_from(&a.desc, first),
                hex_from(&b.desc, first),
            )
            .with_detail(format!(
                "{label}: descriptors of {} and {} bytes first differ at byte {first:#x} (bytes from there shown)",
                a.desc.len(),
                b.desc.len()
            )),
        );
    }
}

/// `KEY=VALUE` lines in order (a line without `=` is a key with an empty value).
fn vmcoreinfo_entries(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split_once('=').unwrap_or((line, "")))
        .collect()
}

fn shown(value: &str) -> Value {
    if value.chars().count() <= SHOWN_VALUE_CHARS {
        value.into()
    } else {
        let cut: String = value.chars().take(SHOWN_VALUE_CHARS).collect();
        format!("{cut}…").into()
    }
}

fn compare_vmcoreinfo(a: Option<&str>, b: Option<&str>, out: &mut Collector) {
    let (a, b) = match (a, b) {
        (None, None) => return,
        (Some(a), Some(b)) => (a, b),
        (a, b) => {
            out.push(Difference::field(
                Structure::Vmcoreinfo,
                "present",
                a.is_some(),
                b.is_some(),
            ));
            return;
        }
    };
    if a == b {
        return;
    }
    let (ea, eb) = (vmcoreinfo_entries(a), vmcoreinfo_entries(b));
    let lookup = |entries: &[(&str, &str)], key: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(Value::Null, |(_, v)| shown(v))
    };
    let mut differs = false;
    for (key, value) in &ea {
        let other = lookup(&eb, key);
        if other != shown(value) {
            differs = true;
            out.push(Difference::field(
                Structure::Vmcoreinfo,
                *key,
                shown(value),
                other,
            ));
        }
    }
    for (key, value) in &eb {
        if !ea.iter().any(|(k, _)| k == key) {
            differs = true;
            out.push(Difference::field(
                Structure::Vmcoreinfo,
                *key,
                Value::Null,
                shown(value),
            ));
        }
    }
    if !differs {
        out.push(
            Difference::field(Structure::Vmcoreinfo, "text", a.len(), b.len()).with_detail(
                "the same keys and values, in another order or with other line breaks",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(vmcoreinfo: &str, desc: &[u8]) -> SideNotes {
        SideNotes {
            notes: vec![NoteView {
                name: "CORE".into(),
                note_type: 1,
                desc: desc.to_vec(),
            }],
            problem: None,
            vmcoreinfo: Some(vmcoreinfo.into()),
        }
    }

    #[test]
    fn vmcoreinfo_is_compared_key_by_key_and_notes_by_index() {
        let a = notes("OSRELEASE=6.1\nPAGESIZE=4096\n", &[1, 2, 3]);
        let b = notes("OSRELEASE=6.2\nPAGESIZE=4096\nKERNELOFFSET=0\n", &[1, 9, 3]);
        let mut out = Collector::new(10);
        assert!(compare_notes(&a, &b, &mut out));
        let fields: Vec<(&str, &str)> = out
            .differences
            .iter()
            .map(|d| (d.structure.name(), d.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("note", "note[0].desc"),
                ("vmcoreinfo", "OSRELEASE"),
                ("vmcoreinfo", "KERNELOFFSET")
            ]
        );
        assert_eq!(out.differences[0].a, Value::from("0203"));
        assert_eq!(out.differences[0].b, Value::from("0903"));
        let mut same = Collector::new(10);
        assert!(!compare_notes(&a, &a.clone(), &mut same));
        assert!(same.differences.is_empty());
    }
}
