//! Pages compared pfn by pfn in windows of pfns (bounded memory whatever the dump size): pages present on
//! both sides decompressed on all cores and compared; descriptors of pfns dumped on both sides compared
//! field by field; pages present on one side only counted (and listed with `--memory`).

use rayon::prelude::*;
use serde_json::{json, Value};

use super::memory::{MemoryView, PageRef};
use super::report::{Collector, Difference, PfnDifference, RangeMerger, Structure, Summary};
use crate::kdump::{KdumpError, PageDesc};

/// Pfns per window.
const WINDOW_PFNS: u64 = 1 << 16;
/// Page bytes per side loaded by one parallel task.
const BATCH_BYTES: usize = 256 << 10;
/// Page bytes shown from the first difference on.
const SHOWN_BYTES: usize = 16;

/// What the page walk compares besides contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWalk {
    /// Compare the descriptors of pfns dumped on both sides (both sides kdump, structure mode).
    pub descriptors: bool,
    /// List pages present on one side only as `page` differences (`--memory`).
    pub list_one_sided: bool,
}

/// How the pages of one compared pfn relate.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Same,
    Differs {
        at: usize,
        a: Value,
        b: Value,
    },
    Undecodable {
        a: Option<String>,
        b: Option<String>,
    },
}

/// The largest end of page data (offset + size) seen per side and part, for the trailing bytes.
#[derive(Debug, Clone, Default)]
pub struct DataEnds {
    /// Side A, per part.
    pub a: Vec<u64>,
    /// Side B, per part.
    pub b: Vec<u64>,
}

fn note_data_end(ends: &mut Vec<u64>, refs: &[(u64, PageRef)]) {
    for (_, page_ref) in refs {
        if let PageRef::Stored { part, desc } = page_ref {
            if ends.len() <= *part {
                ends.resize(part + 1, 0);
            }
            if desc.offset > 0 {
                let end = (desc.offset as u64).saturating_add(desc.size as u64);
                ends[*part] = ends[*part].max(end);
            }
        }
    }
}

/// Which side failed reading its memory.
#[derive(Debug)]
pub struct PageWalkError {
    /// "A" or "B".
    pub side: &'static str,
    /// The error.
    pub error: KdumpError,
}

/// Walks every pfn of both sides in windows; fills `summary`, adds descriptor and page differences to
/// `out`; calls `progress(done, total)` in pfns after each window.
pub fn compare_pages(
    a: &MemoryView<'_>,
    b: &MemoryView<'_>,
    page_size: u64,
    walk: PageWalk,
    out: &mut Collector,
    summary: &mut Summary,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<DataEnds, PageWalkError> {
    let mut ends = DataEnds::default();
    let mut mergers = Mergers::new();
    let total = end_hint(a, b);
    let mut start = 0u64;
    let (mut refs_a, mut refs_b) = (Vec::new(), Vec::new());
    while let Some(next) = [a.next_candidate(start), b.next_candidate(start)]
        .into_iter()
        .flatten()
        .min()
    {
        let end = next.saturating_add(WINDOW_PFNS);
        refs_a.clear();
        refs_b.clear();
        a.window(next, end, &mut refs_a)
            .map_err(|error| PageWalkError { side: "A", error })?;
        b.window(next, end, &mut refs_b)
            .map_err(|error| PageWalkError { side: "B", error })?;
        note_data_end(&mut ends.a, &refs_a);
        note_data_end(&mut ends.b, &refs_b);
        compare_window(
            a,
            b,
            page_size,
            walk,
            &refs_a,
            &refs_b,
            &mut mergers,
            out,
            summary,
        );
        progress(end.min(total), total);
        if end == u64::MAX {
            break;
        }
        start = end;
    }
    mergers.close(out);
    Ok(ends)
}

/// One past the last pfn either side may hold (for progress only).
fn end_hint(a: &MemoryView<'_>, b: &MemoryView<'_>) -> u64 {
    [a, b]
        .iter()
        .map(|view| match view {
            MemoryView::Kdump { set, .. } => set.max_pfn(),
            MemoryView::Elf {
                blocks, page_size, ..
            } => blocks
                .iter()
                .map(|b| b.phys_end().div_ceil(*page_size))
                .max()
                .unwrap_or(0),
        })
        .max()
        .unwrap_or(0)
}

/// The range mergers of the walk, fed in pfn order.
struct Mergers {
    descriptor: RangeMerger<(Vec<&'static str>, bool)>,
    page: RangeMerger<(u8, bool, bool)>,
    one_sided: RangeMerger<bool>,
}

impl Mergers {
    fn new() -> Mergers {
        Mergers {
            descriptor: RangeMerger::new(false),
            page: RangeMerger::new(false),
            one_sided: RangeMerger::new(false),
        }
    }

    fn close(&mut self, out: &mut Collector) {
        self.descriptor.close(out);
        self.page.close(out);
        self.one_sided.close(out);
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_window(
    a: &MemoryView<'_>,
    b: &MemoryView<'_>,
    page_size: u64,
    walk: PageWalk,
    refs_a: &[(u64, PageRef)],
    refs_b: &[(u64, PageRef)],
    mergers: &mut Mergers,
    out: &mut Collector,
    summary: &mut Summary,
) {
    // Merge the two ascending pfn lists: pairs present on both sides, and one-sided pfns.
    enum Event<'r> {
        Both(u64, &'r PageRef, &'r PageRef),
        OnlyA(u64),
        OnlyB(u64),
    }
    let mut events = Vec::with_capacity(refs_a.len().max(refs_b.len()));
    let (mut i, mut j) = (0, 0);
    while i < refs_a.len() || j < refs_b.len() {
        match (refs_a.get(i), refs_b.get(j)) {
            (Some((pa, ra)), Some((pb, rb))) if pa == pb => {
                events.push(Event::Both(*pa, ra, rb));
                i += 1;
                j += 1;
            }
            (Some((pa, _)), Some((pb, _))) if pa < pb => {
                events.push(Event::OnlyA(*pa));
                i += 1;
            }
            (Some((pa, _)), None) => {
                events.push(Event::OnlyA(*pa));
                i += 1;
            }
            (_, Some((pb, _))) => {
                events.push(Event::OnlyB(*pb));
                j += 1;
            }
            (None, None) => break,
        }
    }
    let pairs: Vec<(u64, &PageRef, &PageRef)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Both(pfn, ra, rb) => Some((*pfn, *ra, *rb)),
            _ => None,
        })
        .collect();
    let batch = (BATCH_BYTES / page_size as usize).max(1);
    let outcomes: Vec<Outcome> = pairs
        .par_chunks(batch)
        .map(|chunk| compare_batch(a, b, page_size as usize, chunk))
        .collect::<Vec<Vec<Outcome>>>()
        .into_iter()
        .flatten()
        .collect();
    let mut outcomes = outcomes.into_iter();
    for event in &events {
        match event {
            Event::Both(pfn, ra, rb) => {
                let outcome = outcomes.next().unwrap_or(Outcome::Same);
                summary.pfns_compared += 1;
                mergers.one_sided.same(out);
                record_pair(*pfn, ra, rb, &outcome, walk, mergers, out, summary);
            }
            Event::OnlyA(pfn) | Event::OnlyB(pfn) => {
                let in_a = matches!(event, Event::OnlyA(_));
                if in_a {
                    summary.only_in_a += 1;
                } else {
                    summary.only_in_b += 1;
                }
                if walk.list_one_sided {
                    mergers.one_sided.add(
                        PfnDifference {
                            pfn: *pfn,
                            key: in_a,
                            first: Difference::field(Structure::Page, "present", in_a, !in_a),
                        },
                        out,
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn record_pair(
    pfn: u64,
    ra: &PageRef,
    rb: &PageRef,
    outcome: &Outcome,
    walk: PageWalk,
    mergers: &mut Mergers,
    out: &mut Collector,
    summary: &mut Summary,
) {
    let same_content = *outcome == Outcome::Same;
    let descs = match (ra, rb) {
        (PageRef::Stored { desc: da, .. }, PageRef::Stored { desc: db, .. }) => Some((da, db)),
        _ => None,
    };
    if let Some((da, db)) = descs {
        let fields = differing_fields(da, db);
        let reencoded = fields.iter().any(|f| *f == "size" || *f == "flags");
        if same_content && reencoded {
            summary.pfns_reencoded += 1;
        }
        if walk.descriptors {
            if fields.is_empty() {
                mergers.descriptor.same(out);
            } else {
                let detail = match (same_content, reencoded) {
                    (true, true) => Some("the pages are identical after decompression: the encoding differs, the memory does not"),
                    (true, false) => Some("the pages are identical: stored at other offsets"),
                    (false, _) => None,
                };
                let mut first = Difference::field(
                    Structure::Descriptor,
                    fields.join(","),
                    desc_value(da),
                    desc_value(db),
                );
                first.detail = detail.map(String::from);
                mergers.descriptor.add(
                    PfnDifference {
                        pfn,
                        key: (fields, same_content),
                        first,
                    },
                    out,
                );
            }
        }
    }
    match outcome {
        Outcome::Same => mergers.page.same(out),
        Outcome::Differs { at, a, b } => {
            summary.pfns_differing += 1;
            mergers.page.add(
                PfnDifference {
                    pfn,
                    key: (0, false, false),
                    first: Difference::field(Structure::Page, "content", a.clone(), b.clone()).with_detail(
                        format!("pfn {pfn:#x} first differs at byte {at:#x} ({SHOWN_BYTES} bytes from there shown)"),
                    ),
                },
                out,
            );
        }
        Outcome::Undecodable { a, b } => {
            summary.pfns_differing += 1;
            let value =
                |error: &Option<String>| error.clone().map_or(Value::from("decoded"), Value::from);
            mergers.page.add(
                PfnDifference {
                    pfn,
                    key: (1, a.is_some(), b.is_some()),
                    first: Difference::field(Structure::Page, "undecodable", value(a), value(b)),
                },
                out,
            );
        }
    }
}

fn differing_fields(a: &PageDesc, b: &PageDesc) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if a.offset != b.offset {
        fields.push("offset");
    }
    if a.size != b.size {
        fields.push("size");
    }
    if a.flags != b.flags {
        fields.push("flags");
    }
    if a.page_flags != b.page_flags {
        fields.push("page_flags");
    }
    fields
}

fn desc_value(desc: &PageDesc) -> Value {
    json!({"offset": desc.offset, "size": desc.size, "flags": desc.flags, "page_flags": desc.page_flags})
}

fn hex_from(page: &[u8], at: usize) -> Value {
    let end = (at + SHOWN_BYTES).min(page.len());
    page[at..end]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into()
}

/// The items not marked `same`.
fn to_decode<'r>(items: &[(u64, &'r PageRef)], same: &[bool]) -> Vec<(u64, &'r PageRef)> {
    items
        .iter()
        .zip(same)
        .filter(|(_, same)| !**same)
        .map(|(item, _)| *item)
        .collect()
}

/// Loads a batch of pairs on both sides and compares them.
fn compare_batch(
    a: &MemoryView<'_>,
    b: &MemoryView<'_>,
    page_size: usize,
    pairs: &[(u64, &PageRef, &PageRef)],
) -> Vec<Outcome> {
    let items_a: Vec<(u64, &PageRef)> = pairs.iter().map(|(pfn, ra, _)| (*pfn, *ra)).collect();
    let items_b: Vec<(u64, &PageRef)> = pairs.iter().map(|(pfn, _, rb)| (*pfn, *rb)).collect();
    // Pages stored with the same flags and bytes on both sides are the same page: not decompressed.
    let (stored_a, stored_b) = (a.stored_bytes(&items_a), b.stored_bytes(&items_b));
    let same_stored: Vec<bool> = stored_a
        .iter()
        .zip(&stored_b)
        .map(|(x, y)| x.is_some() && x == y)
        .collect();
    let (decode_a, decode_b) = (
        to_decode(&items_a, &same_stored),
        to_decode(&items_b, &same_stored),
    );
    let mut pages_a = vec![0u8; decode_a.len() * page_size];
    let mut pages_b = vec![0u8; decode_b.len() * page_size];
    let mut results_a = a.load(&decode_a, &mut pages_a).into_iter();
    let mut results_b = b.load(&decode_b, &mut pages_b).into_iter();
    let mut decoded = 0;
    same_stored
        .iter()
        .map(|&same| {
            if same {
                return Outcome::Same;
            }
            let i = decoded;
            decoded += 1;
            let (ra, rb) = (
                results_a.next().unwrap_or(Ok(())),
                results_b.next().unwrap_or(Ok(())),
            );
            if ra.is_err() || rb.is_err() {
                return Outcome::Undecodable {
                    a: ra.err(),
                    b: rb.err(),
                };
            }
            let pa = &pages_a[i * page_size..(i + 1) * page_size];
            let pb = &pages_b[i * page_size..(i + 1) * page_size];
            if pa == pb {
                return Outcome::Same;
            }
            match pa.iter().zip(pb).position(|(x, y)| x != y) {
                None => Outcome::Same,
                Some(at) => Outcome::Differs {
                    at,
                    a: hex_from(pa, at),
                    b: hex_from(pb, at),
                },
            }
        })
        .collect()
}
