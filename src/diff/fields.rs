//! The `disk_dump_header` and `kdump_sub_header` compared field by field, by name, in file order; bytes of
//! either structure that no decoded field explains (utsname after its NUL, padding) compared as bytes.

use std::io;

use serde_json::Value;

use super::report::{Collector, Difference, Structure};
use crate::kdump::{DiskDumpHeader, KdumpFile, KdumpSubHeader};
use crate::readat::ReadAt;

/// Bytes compared at once within a structure.
const SMALL_CHUNK: usize = 64 << 10;

/// Names of the six `new_utsname` fields, in order.
const UTS_FIELDS: [&str; 6] = [
    "sysname",
    "nodename",
    "release",
    "version",
    "machine",
    "domainname",
];

/// Fields of the header, by name, in file order.
fn header_fields(h: &DiskDumpHeader) -> Vec<(String, Value)> {
    let uts = &h.utsname;
    let uts_values = [
        &uts.sysname,
        &uts.nodename,
        &uts.release,
        &uts.version,
        &uts.machine,
        &uts.domainname,
    ];
    let mut fields = vec![
        (
            "layout".to_string(),
            Value::from(format!(
                "{}-bit {}-endian",
                h.class.bits(),
                h.byte_order.name()
            )),
        ),
        (
            "signature".to_string(),
            serde_json::to_value(h.signature).unwrap_or(Value::Null),
        ),
        ("header_version".to_string(), h.header_version.into()),
    ];
    for (name, value) in UTS_FIELDS.iter().zip(uts_values) {
        fields.push((format!("utsname.{name}"), value.as_str().into()));
    }
    let numbers: [(&str, i64); 13] = [
        ("timestamp", h.timestamp_sec),
        ("timestamp.tv_usec", h.timestamp_usec),
        ("status", h.status as i64),
        ("block_size", h.block_size as i64),
        ("sub_hdr_size", h.sub_hdr_size as i64),
        ("bitmap_blocks", h.bitmap_blocks as i64),
        ("max_mapnr", h.max_mapnr as i64),
        ("total_ram_blocks", h.total_ram_blocks as i64),
        ("device_blocks", h.device_blocks as i64),
        ("written_blocks", h.written_blocks as i64),
        ("current_cpu", h.current_cpu as i64),
        ("nr_cpus", h.nr_cpus as i64),
        ("header_size", h.size() as i64),
    ];
    fields.extend(
        numbers
            .iter()
            .map(|(name, value)| (name.to_string(), Value::from(*value))),
    );
    fields
}

/// Fields of the sub-header, by name, in file order (all of them: the header version says which exist,
/// and it is compared too).
fn sub_header_fields(s: &KdumpSubHeader) -> Vec<(String, Value)> {
    let fields: [(&str, Value); 16] = [
        ("layout", format!("{:?}", s.layout).into()),
        ("phys_base", s.phys_base.into()),
        ("dump_level", s.dump_level.into()),
        ("split", s.split.into()),
        ("start_pfn", s.start_pfn.into()),
        ("end_pfn", s.end_pfn.into()),
        ("offset_vmcoreinfo", s.offset_vmcoreinfo.into()),
        ("size_vmcoreinfo", s.size_vmcoreinfo.into()),
        ("offset_note", s.offset_note.into()),
        ("size_note", s.size_note.into()),
        ("offset_eraseinfo", s.offset_eraseinfo.into()),
        ("size_eraseinfo", s.size_eraseinfo.into()),
        ("start_pfn_64", s.start_pfn_64.into()),
        ("end_pfn_64", s.end_pfn_64.into()),
        ("max_mapnr_64", s.max_mapnr_64.into()),
        ("file_offset", s.file_offset.into()),
    ];
    fields
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// Compares two named field lists in the order of `a`, then the fields only `b` has.
fn compare_fields(
    structure: Structure,
    a: &[(String, Value)],
    b: &[(String, Value)],
    out: &mut Collector,
) -> bool {
    let mut differs = false;
    for (name, value_a) in a {
        let value_b = b
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Value::Null, |(_, v)| v.clone());
        if *value_a != value_b {
            differs = true;
            out.push(Difference::field(
                structure,
                name.clone(),
                value_a.clone(),
                value_b,
            ));
        }
    }
    for (name, value_b) in b {
        if !a.iter().any(|(n, _)| n == name) {
            differs = true;
            out.push(Difference::field(
                structure,
                name.clone(),
                Value::Null,
                value_b.clone(),
            ));
        }
    }
    differs
}

/// What the header byte at `offset` belongs to, in words.
fn header_byte_name(offset: usize, header_size: usize) -> String {
    if (12..12 + 6 * 65).contains(&offset) {
        let index = (offset - 12) / 65;
        return format!(
            "utsname.{} byte {} (after its terminating NUL)",
            UTS_FIELDS[index],
            (offset - 12) % 65
        );
    }
    if offset >= header_size {
        return "after the header, in block 0".into();
    }
    "padding between fields".into()
}

/// Compares the headers of `a` and `b` field by field. If no field differs, the header block's bytes
/// (block 0 up to the page size) are compared, and the first byte that differs is named.
pub fn compare_headers<R: ReadAt>(
    a: &KdumpFile<R>,
    b: &KdumpFile<R>,
    out: &mut Collector,
) -> io::Result<()> {
    let differs = compare_fields(
        Structure::Header,
        &header_fields(a.header()),
        &header_fields(b.header()),
        out,
    );
    if differs {
        return Ok(());
    }
    let len = a.page_size().min(b.page_size());
    if let Some((offset, byte_a, byte_b)) =
        first_byte_difference(a.reader(), b.reader(), 0, len, SMALL_CHUNK)?
    {
        out.push(
            Difference::field(
                Structure::Header,
                "bytes",
                byte_value(byte_a),
                byte_value(byte_b),
            )
            .with_detail(format!(
                "block 0 byte {offset:#x} ({}) differs; every decoded field is equal",
                header_byte_name(offset as usize, a.header().size())
            )),
        );
    }
    Ok(())
}

/// Compares the sub-headers field by field (and their bytes if no field differs).
pub fn compare_sub_headers<R: ReadAt>(
    a: &KdumpFile<R>,
    b: &KdumpFile<R>,
    out: &mut Collector,
) -> io::Result<()> {
    match (a.sub_header(), b.sub_header()) {
        (None, None) => {}
        (Some(sa), Some(sb)) => {
            if compare_fields(
                Structure::SubHeader,
                &sub_header_fields(sa),
                &sub_header_fields(sb),
                out,
            ) {
                return Ok(());
            }
            let len = sa.size().min(sb.size()) as u64;
            if let Some((offset, byte_a, byte_b)) =
                first_byte_difference(a.reader(), b.reader(), sa.file_offset, len, SMALL_CHUNK)?
            {
                out.push(
                    Difference::field(
                        Structure::SubHeader,
                        "bytes",
                        byte_value(byte_a),
                        byte_value(byte_b),
                    )
                    .with_detail(format!(
                        "sub-header byte {:#x} (file offset {offset:#x}, padding) differs; every \
                             decoded field is equal",
                        offset - sa.file_offset
                    )),
                );
            }
        }
        (sa, sb) => out.push(Difference::field(
            Structure::SubHeader,
            "present",
            sa.is_some(),
            sb.is_some(),
        )),
    }
    Ok(())
}

/// A byte that differs: its offset and the byte on each side (`None` past that side's end).
pub type ByteDifference = (u64, Option<u8>, Option<u8>);

/// The first offset in [start, start + len) where the two sources differ, reading `chunk` bytes at a time
/// (a source that ends first differs at its end).
pub fn first_byte_difference<A: ReadAt + ?Sized, B: ReadAt + ?Sized>(
    a: &A,
    b: &B,
    start: u64,
    len: u64,
    chunk: usize,
) -> io::Result<Option<ByteDifference>> {
    let chunk = (chunk as u64).min(len).max(1) as usize;
    let mut buf_a = vec![0u8; chunk];
    let mut buf_b = vec![0u8; chunk];
    let mut at = start;
    let end = start.saturating_add(len);
    while at < end {
        let n = (end - at).min(chunk as u64) as usize;
        let got_a = read_up_to(a, at, &mut buf_a[..n])?;
        let got_b = read_up_to(b, at, &mut buf_b[..n])?;
        let common = got_a.min(got_b);
        if buf_a[..common] != buf_b[..common] {
            let i = (0..common).find(|&i| buf_a[i] != buf_b[i]).unwrap_or(0);
            return Ok(Some((at + i as u64, Some(buf_a[i]), Some(buf_b[i]))));
        }
        if got_a != got_b {
            let byte = |got: usize, buf: &[u8]| (got > common).then(|| buf[common]);
            return Ok(Some((
                at + common as u64,
                byte(got_a, &buf_a),
                byte(got_b, &buf_b),
            )));
        }
        if got_a < n {
            return Ok(None);
        }
        at += n as u64;
    }
    Ok(None)
}

/// A byte as a JSON value: `"0x2a"`, or null past the end.
pub fn byte_value(byte: Option<u8>) -> Value {
    byte.map_or(Value::Null, |b| format!("{b:#04x}").into())
}

/// Reads as much of `buf` as the source has at `offset` (less only at its end).
fn read_up_to<R: ReadAt + ?Sized>(reader: &R, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match reader.read_at(offset + done as u64, &mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}
