//! The report for people: both sides, whether the bytes and the memory are the same, then the differences
//! grouped by structure in the order of the format, ranges of pfns with their counts, the first N of each.

use std::fmt::Write;

use serde_json::Value;

use super::report::{DiffMode, DiffReport, Difference, SideInfo};
use crate::source::DumpForm;

fn form_name(form: DumpForm) -> &'static str {
    match form {
        DumpForm::Raw => "raw",
        DumpForm::Flattened => "flattened",
    }
}

fn describe_side(label: &str, side: &SideInfo) -> String {
    let kind = match side.kind {
        super::report::DumpKind::Kdump => "kdump",
        super::report::DumpKind::Elf => "ELF",
    };
    let files: Vec<String> = side
        .files
        .iter()
        .zip(&side.forms)
        .zip(&side.lengths)
        .map(|((name, form), len)| match form {
            DumpForm::Raw => format!("{name} (raw, {len} bytes)"),
            DumpForm::Flattened => format!("{name} (flattened, {len} bytes reassembled)"),
        })
        .collect();
    let set = if files.len() > 1 { " split set:" } else { "" };
    format!("{label}: {kind}{set} {}\n", files.join(", "))
}

/// A value for people: strings quoted, numbers above 9 also in hex, objects and the rest as JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "(absent)".into(),
        Value::Number(n) => match n.as_u64() {
            Some(v) if v > 9 => format!("{v} ({v:#x})"),
            _ => n.to_string(),
        },
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| match v.as_u64() {
                    Some(n) if k == "offset" || k == "flags" => format!("{k} {n:#x}"),
                    _ => format!("{k} {v}"),
                })
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

fn difference_line(d: &Difference) -> String {
    let mut line = String::from("  ");
    if let Some([first, last]) = d.pfns {
        if first == last {
            let _ = write!(line, "pfn {first:#x}: ");
        } else {
            let count = d.count.unwrap_or(0);
            let _ = write!(line, "pfns {first:#x}-{last:#x} ({count} pfns): ");
        }
    }
    let _ = write!(
        line,
        "{}: A {} | B {}",
        d.field,
        value_text(&d.a),
        value_text(&d.b)
    );
    if let Some(detail) = &d.detail {
        let _ = write!(line, "\n      {detail}");
    }
    line.push('\n');
    line
}

/// The human-readable report.
pub fn render_text(report: &DiffReport) -> String {
    let mut text = describe_side("A", &report.a);
    text.push_str(&describe_side("B", &report.b));
    let forms = |side: &SideInfo| {
        side.forms
            .iter()
            .map(|f| form_name(*f))
            .collect::<Vec<_>>()
            .join("+")
    };
    match &report.first_byte_difference {
        None if report.same_bytes => {
            let how = if report.a.forms == report.b.forms {
                String::new()
            } else {
                format!(" (A is {}, B is {})", forms(&report.a), forms(&report.b))
            };
            let _ = writeln!(text, "bytes: identical after reassembly{how}");
        }
        None => text.push_str("bytes: differ (different numbers of files)\n"),
        Some(first) => {
            let file = if report.a.files.len() > 1 {
                format!("file {}, ", first.part)
            } else {
                String::new()
            };
            let _ = writeln!(
                text,
                "bytes: differ from offset {:#x} ({file}in A's {})",
                first.offset, first.region
            );
        }
    }
    for (structure, count) in &report.counts {
        let listed: Vec<&Difference> = report
            .differences
            .iter()
            .filter(|d| d.structure == *structure)
            .collect();
        let ranged = listed.iter().any(|d| d.pfns.is_some());
        let unit = if ranged { "range" } else { "difference" };
        let plural = if *count == 1 { "" } else { "s" };
        let _ = writeln!(text, "{}: {count} {unit}{plural}", structure.name());
        for d in &listed {
            text.push_str(&difference_line(d));
        }
        if *count > listed.len() as u64 {
            let _ = writeln!(
                text,
                "  ... {} more not shown (--limit {})",
                *count - listed.len() as u64,
                report.limit
            );
        }
    }
    let s = &report.summary;
    let memory = if report.same_memory {
        "same"
    } else {
        "differs"
    };
    let _ = write!(
        text,
        "memory: {memory} ({} pfns compared, {} differing, {} only in A, {} only in B",
        s.pfns_compared, s.pfns_differing, s.only_in_a, s.only_in_b
    );
    if s.pfns_reencoded > 0 {
        let _ = write!(
            text,
            "; {} identical pages stored differently",
            s.pfns_reencoded
        );
    }
    text.push_str(")\n");
    let level = match report.mode {
        DiffMode::Structure => "structures",
        DiffMode::Memory => "memory and notes",
    };
    if report.is_same() {
        let _ = writeln!(text, "result: no difference in {level}");
    } else {
        let structures = report.counts.len();
        let _ = writeln!(
            text,
            "result: {} difference(s) in {structures} structure(s) ({level})",
            report.difference_total()
        );
    }
    text
}
