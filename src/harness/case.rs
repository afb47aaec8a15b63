//! One case: a layout's write sequence sent down the raw path, the flattened path and a recorder in one
//! run ([`write_case`]), and the files a property looks at (`dump_files`).

use crate::model::{write_layout, write_layout_part, Layout, WriteError, WriteSummary};
use crate::sink::{DumpSink, FlatSink, RawSink, RecordingSink, TeeSink};

use super::property::{fail, Property, PropertyFailure};

/// The outputs of one layout's write sequence, written once down every path.
#[derive(Debug, Clone)]
pub struct CaseOutput {
    /// The raw kdump-compressed file (for a `--split` layout: the dump written as one file, in the
    /// layout's bitmap mode: what joining the set must give).
    pub raw: Vec<u8>,
    /// The flattened file.
    pub flat: Vec<u8>,
    /// Every write as (offset, length), in order.
    pub writes: Vec<(u64, u64)>,
    /// The writer's summary.
    pub summary: WriteSummary,
    /// For a `--split` layout, the files of the set in pfn order; empty otherwise.
    pub parts: Vec<PartOutput>,
}

/// One file of a `--split` set, written once down every path.
#[derive(Debug, Clone)]
pub struct PartOutput {
    /// Its pfn range `[start, end)` (from [`Layout::part_ranges`]).
    pub range: (u64, u64),
    /// The raw file.
    pub raw: Vec<u8>,
    /// The flattened file.
    pub flat: Vec<u8>,
    /// Every write as (offset, length), in order.
    pub writes: Vec<(u64, u64)>,
    /// The writer's summary.
    pub summary: WriteSummary,
}

/// Raw bytes, flattened bytes, writes and summary of one write sequence.
type Written = (Vec<u8>, Vec<u8>, Vec<(u64, u64)>, WriteSummary);

/// Runs one write sequence teed into a raw sink, a flattened sink and a recorder.
fn write_all_paths(
    write: impl FnOnce(&mut dyn DumpSink) -> Result<WriteSummary, WriteError>,
) -> Result<Written, WriteError> {
    let mut sink = TeeSink(
        TeeSink(RawSink::in_memory(), FlatSink::new(Vec::new())),
        RecordingSink::default(),
    );
    let summary = write(&mut sink as &mut dyn DumpSink)?;
    let TeeSink(TeeSink(raw, flat), recorder) = sink;
    Ok((
        raw.into_bytes(),
        flat.into_inner(),
        recorder.writes,
        summary,
    ))
}

/// Writes `layout` once, teeing the sequence into a raw sink, a flattened sink and a recorder; for a
/// `--split` layout also each file of the set.
pub fn write_case(layout: &Layout) -> Result<CaseOutput, PropertyFailure> {
    let writer_failed = |e: WriteError| fail(Property::P1, format!("the writer failed: {e}"));
    let (raw, flat, writes, summary) =
        write_all_paths(|sink| write_layout(layout, sink)).map_err(writer_failed)?;
    let mut parts = Vec::new();
    for (index, range) in layout
        .part_ranges()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let (raw, flat, writes, summary) =
            write_all_paths(|sink| write_layout_part(layout, index, sink)).map_err(|e| {
                fail(
                    Property::P1,
                    format!("the writer failed on file {index} of the set: {e}"),
                )
            })?;
        parts.push(PartOutput {
            range,
            raw,
            flat,
            writes,
            summary,
        });
    }
    Ok(CaseOutput {
        raw,
        flat,
        writes,
        summary,
        parts,
    })
}

/// One file a property looks at: the single file, or one file of a `--split` set.
pub(super) struct FileView<'a> {
    /// "file", or "part i [start, end)".
    pub(super) name: String,
    /// The pfn range of a file of a split set.
    pub(super) range: Option<(u64, u64)>,
    /// Its index in a split set (pfn order).
    pub(super) part: Option<usize>,
    /// Its raw bytes.
    pub(super) raw: &'a [u8],
    /// Its flattened bytes.
    pub(super) flat: &'a [u8],
    /// Its writes, (offset, length) in order.
    pub(super) writes: &'a [(u64, u64)],
}

/// The files of the dump as the layout writes them: the set's files for a `--split` layout, else the one
/// file.
pub(super) fn dump_files(output: &CaseOutput) -> Vec<FileView<'_>> {
    if output.parts.is_empty() {
        return vec![FileView {
            name: "file".into(),
            range: None,
            part: None,
            raw: &output.raw,
            flat: &output.flat,
            writes: &output.writes,
        }];
    }
    output
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| FileView {
            name: format!("part {i} [{:#x}, {:#x})", part.range.0, part.range.1),
            range: Some(part.range),
            part: Some(i),
            raw: &part.raw,
            flat: &part.flat,
            writes: &part.writes,
        })
        .collect()
}
