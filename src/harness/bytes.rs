//! Byte-level helpers of the properties: reassembling flattened bytes in memory, naming the first
//! difference between two byte strings and, for two dumps, explaining it with their structural diff.

use std::io::{Read, Seek, SeekFrom};

use crate::flat::{reassemble, ReassembleOptions};

/// Reassembles flattened bytes with the crate's reassembler (into a temporary file) and returns the result.
pub fn reassemble_bytes(flat: &[u8]) -> Result<Vec<u8>, String> {
    let mut file =
        tempfile::tempfile().map_err(|e| format!("cannot create a temporary file: {e}"))?;
    reassemble(flat, &mut file, ReassembleOptions::default())
        .map_err(|e| format!("reassembly failed: {e}"))?;
    let mut out = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut out))
        .map_err(|e| format!("cannot read the reassembled file: {e}"))?;
    Ok(out)
}

/// Differences per structure a failing property lists from the structural diff.
const DIFF_LIMIT: usize = 5;

/// [`compare_bytes`] for two dumps (each named): when they differ, the first differing offset and then
/// the structural diff of the two (`kdump-flat diff`: which header field, bitmap range, descriptor or page
/// differs), so that a failing property explains the difference.
pub fn compare_dumps(actual: (&str, &[u8]), expected: (&str, &[u8])) -> Result<(), String> {
    compare_bytes(actual.1, expected.1).map_err(|detail| {
        let diff = crate::diff::describe_in_memory(actual, expected, DIFF_LIMIT);
        let indented: String = diff.lines().map(|line| format!("\n    {line}")).collect();
        format!(
            "{detail}; structural diff (kdump-flat diff {} {}):{indented}",
            actual.0, expected.0
        )
    })
}

/// Describes the first difference between `actual` and `expected`, if any.
pub fn compare_bytes(actual: &[u8], expected: &[u8]) -> Result<(), String> {
    if let Some(at) = actual.iter().zip(expected).position(|(a, b)| a != b) {
        return Err(format!(
            "first difference at offset {at:#x}: {:#04x} instead of {:#04x} (lengths {} and {})",
            actual[at],
            expected[at],
            actual.len(),
            expected.len()
        ));
    }
    if actual.len() != expected.len() {
        return Err(format!(
            "length {} instead of {} (equal up to the shorter)",
            actual.len(),
            expected.len()
        ));
    }
    Ok(())
}
