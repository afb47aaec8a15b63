//! **P1**: the flattened output reassembles to the raw output; a `--split` set joins to the one-file dump.

use std::borrow::Cow;

use crate::kdump::{join, KInvariant, KdumpFile, KdumpSet};
use crate::model::deviation::split_gaps;
use crate::model::makedumpfile::{
    makedumpfile_default_options, write_makedumpfile_kdump_with, MakedumpfileOptions,
};
use crate::model::{Layout, SplitStamps};
use crate::sink::{DumpSink, RawSink};

use super::bytes::{compare_dumps, reassemble_bytes};
use super::case::{dump_files, CaseOutput};
use super::property::{fail, Property, PropertyFailure};

/// P1: the flattened output, reassembled by `flat::reassemble`, equals the raw output byte for byte (for
/// a `--split` layout: the one-file form and every file of the set).
pub fn p1_flat_reassembles_to_raw(output: &CaseOutput) -> Result<(), PropertyFailure> {
    let reassembled = reassemble_bytes(&output.flat).map_err(|e| fail(Property::P1, e))?;
    compare_dumps(("reassembled", &reassembled), ("raw", &output.raw))
        .map_err(|d| fail(Property::P1, d))?;
    if output.parts.is_empty() {
        return Ok(());
    }
    for file in dump_files(output) {
        let reassembled = reassemble_bytes(file.flat)
            .map_err(|e| fail(Property::P1, format!("{}: {e}", file.name)))?;
        compare_dumps(("reassembled", &reassembled), ("raw", file.raw))
            .map_err(|d| fail(Property::P1, format!("{}: {d}", file.name)))?;
    }
    Ok(())
}

/// P1 for a `--split` layout (nothing to do otherwise): `kdump::join` of the set's raw files, given in
/// reverse order, is the model's one-file dump byte for byte, except that the joined file holds the
/// eraseinfo text once per file (every `--split` file carries the whole text, and joining concatenates
/// them, as `makedumpfile --reassemble` does). A set whose files have their own timestamps or leave gaps
/// ([`crate::model::Deviations`]) must be refused instead, with a K18 error, as `makedumpfile --reassemble`
/// refuses it.
pub fn p1_set_joins_to_one_file(
    layout: &Layout,
    output: &CaseOutput,
) -> Result<(), PropertyFailure> {
    if output.parts.is_empty() {
        return Ok(());
    }
    let files = output
        .parts
        .iter()
        .rev()
        .map(|part| KdumpFile::open(part.raw.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            fail(
                Property::P1,
                format!("join: a file of the set does not open: {e}"),
            )
        })?;
    let restamped = layout.deviations.split_stamps == SplitStamps::PerPart && files.len() > 1;
    let must_refuse = restamped || !split_gaps(layout).is_empty();
    let set = match (KdumpSet::new(files), must_refuse) {
        (Ok(set), false) => set,
        (Err(e), true) if e.invariant() == Some(KInvariant::K18) => return Ok(()),
        (Err(e), _) => return Err(fail(Property::P1, format!("join: not a set: {e}"))),
        (Ok(_), true) => {
            return Err(fail(
                Property::P1,
                format!(
                "join: a set with {} was taken as one set; makedumpfile --reassemble refuses it",
                layout.deviations
            ),
            ))
        }
    };
    let mut sink = RawSink::in_memory();
    join(&set, &mut sink).map_err(|e| fail(Property::P1, format!("join failed: {e}")))?;
    sink.finish()
        .map_err(|e| fail(Property::P1, format!("join: {e}")))?;
    let joined = sink.into_bytes();
    let expected = match layout.eraseinfo.as_ref().filter(|t| !t.is_empty()) {
        None => Cow::Borrowed(&output.raw),
        Some(text) => {
            let options = MakedumpfileOptions {
                eraseinfo: Some(text.repeat(output.parts.len())),
                ..makedumpfile_default_options(layout)
            };
            let mut sink = RawSink::in_memory();
            write_makedumpfile_kdump_with(layout, &options, &mut sink).map_err(|e| {
                fail(
                    Property::P1,
                    format!("join: the model's one-file dump: {e}"),
                )
            })?;
            Cow::Owned(sink.into_bytes())
        }
    };
    compare_dumps(("joined", &joined), ("model", &expected)).map_err(|d| {
        fail(
            Property::P1,
            format!("the joined set differs from the model's one-file dump: {d}"),
        )
    })
}
