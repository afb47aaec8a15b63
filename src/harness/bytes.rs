//! Byte-level helpers of the properties: reassembling flattened bytes in memory and naming the first
//! difference between two byte strings.

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
