//! `DumpSink`: "write these bytes at this offset".
//!
//! QEMU writes every byte of a kdump dump through one call, `write_buffer(offset, bytes)`. In flattened mode
//! that call becomes a record; in raw mode it becomes a seek and a write. Every writer in this crate (the QEMU
//! and makedumpfile models, `flatten`) writes through [`DumpSink`], so one write sequence can be sent down both
//! paths in the same run and the outputs compared.

use std::io::{self, Seek, SeekFrom, Write};

use crate::flat::{FLAT_HEADER_SIZE, FLAT_SIGNATURE, FLAT_TYPE, FLAT_VERSION};

/// A destination for positioned writes.
pub trait DumpSink {
    /// Writes `data` at absolute offset `offset` of the (reassembled) dump.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Completes the output (the flattened end marker; a flush). Call once, after the last write.
    fn finish(&mut self) -> io::Result<()>;
}

impl<S: DumpSink + ?Sized> DumpSink for &mut S {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        (**self).write_at(offset, data)
    }

    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

/// Raw output: each write is a seek and a write into a seekable target (a file, or `Cursor<Vec<u8>>`).
///
/// Ranges never written stay holes (sparse in a file, zeros in a vector). The length is the largest end
/// offset written; an empty write changes nothing, as `lseek` + `write(…, 0)` does not.
pub struct RawSink<W: Write + Seek> {
    target: W,
    position: Option<u64>,
    end: u64,
}

impl<W: Write + Seek> RawSink<W> {
    /// Wraps a seekable target. Its current content is not truncated.
    pub fn new(target: W) -> Self {
        RawSink {
            target,
            position: None,
            end: 0,
        }
    }

    /// The largest `offset + len` written so far.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Returns the target.
    pub fn into_inner(self) -> W {
        self.target
    }
}

impl RawSink<io::Cursor<Vec<u8>>> {
    /// A raw sink into memory.
    pub fn in_memory() -> Self {
        RawSink::new(io::Cursor::new(Vec::new()))
    }

    /// The bytes written, as a raw dump.
    pub fn into_bytes(self) -> Vec<u8> {
        self.target.into_inner()
    }
}

impl<W: Write + Seek> DumpSink for RawSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.position != Some(offset) {
            self.target.seek(SeekFrom::Start(offset))?;
        }
        self.target.write_all(data)?;
        let new_end = offset + data.len() as u64;
        self.position = Some(new_end);
        self.end = self.end.max(new_end);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.target.flush()
    }
}

/// Flattened output into any `Write`: the 4096-byte header first, one record per
/// [`write_at`](DumpSink::write_at) call (empty writes included, as QEMU emits them), and the end marker on
/// [`finish`](DumpSink::finish).
pub struct FlatSink<W: Write> {
    target: W,
    header_written: bool,
    records: u64,
    finished: bool,
}

impl<W: Write> FlatSink<W> {
    /// Wraps a writer; the header is written with the first record (or at `finish`).
    pub fn new(target: W) -> Self {
        FlatSink {
            target,
            header_written: false,
            records: 0,
            finished: false,
        }
    }

    /// Number of data records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Returns the writer.
    pub fn into_inner(self) -> W {
        self.target
    }

    fn ensure_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.target.write_all(&flat_header_bytes())?;
            self.header_written = true;
        }
        Ok(())
    }
}

/// The 4096-byte flattened header makedumpfile and QEMU write: signature, type 1, version 1, zeros.
pub fn flat_header_bytes() -> [u8; FLAT_HEADER_SIZE] {
    let mut header = [0u8; FLAT_HEADER_SIZE];
    header[..FLAT_SIGNATURE.len()].copy_from_slice(FLAT_SIGNATURE);
    header[16..24].copy_from_slice(&FLAT_TYPE.to_be_bytes());
    header[24..32].copy_from_slice(&FLAT_VERSION.to_be_bytes());
    header
}

impl<W: Write> DumpSink for FlatSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.finished {
            return Err(io::Error::other("FlatSink: write after finish"));
        }
        let offset = i64::try_from(offset)
            .map_err(|_| io::Error::other(format!("FlatSink: offset {offset:#x} exceeds i64")))?;
        self.ensure_header()?;
        let mut record_header = [0u8; 16];
        record_header[..8].copy_from_slice(&offset.to_be_bytes());
        record_header[8..].copy_from_slice(&(data.len() as i64).to_be_bytes());
        self.target.write_all(&record_header)?;
        self.target.write_all(data)?;
        self.records += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.finished {
            return Ok(());
        }
        self.ensure_header()?;
        self.target.write_all(&[0xff; 16])?;
        self.target.flush()?;
        self.finished = true;
        Ok(())
    }
}

/// A sink that forwards every write to two sinks: one write sequence, both paths, one run.
pub struct TeeSink<A: DumpSink, B: DumpSink>(pub A, pub B);

impl<A: DumpSink, B: DumpSink> DumpSink for TeeSink<A, B> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_at(offset, data)?;
        self.1.write_at(offset, data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()?;
        self.1.finish()
    }
}

/// A sink that only records the (offset, size) of every write: for snapshots of write sequences.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordingSink {
    /// Every write as (offset, length), in order.
    pub writes: Vec<(u64, u64)>,
}

impl DumpSink for RecordingSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.writes.push((offset, data.len() as u64));
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_sink_replays_writes_with_later_ones_winning() {
        let mut sink = RawSink::in_memory();
        sink.write_at(4, b"abcd").unwrap();
        sink.write_at(2, b"XY").unwrap();
        sink.write_at(5, b"Z").unwrap();
        sink.finish().unwrap();
        assert_eq!(sink.into_bytes(), b"\0\0XYaZcd");
    }

    #[test]
    fn raw_sink_end_is_the_largest_end_written_and_ignores_empty_writes() {
        let mut sink = RawSink::in_memory();
        assert_eq!(sink.end(), 0);
        sink.write_at(4, b"abcd").unwrap();
        assert_eq!(sink.end(), 8);
        sink.write_at(1, b"x").unwrap();
        assert_eq!(sink.end(), 8, "a write ending earlier leaves the end");
        sink.write_at(100, b"").unwrap();
        assert_eq!(sink.end(), 8, "an empty write changes nothing");
        sink.write_at(6, b"wxyz").unwrap();
        assert_eq!(sink.end(), 10);
        assert_eq!(sink.into_bytes().len(), 10);
    }

    #[test]
    fn flat_sink_writes_header_records_and_end_marker() {
        let mut sink = FlatSink::new(Vec::new());
        sink.write_at(0x10, b"hi").unwrap();
        sink.finish().unwrap();
        let out = sink.into_inner();
        assert_eq!(out.len(), 4096 + 16 + 2 + 16);
        assert_eq!(&out[..13], b"makedumpfile\0");
        assert_eq!(&out[16..24], &1i64.to_be_bytes());
        assert_eq!(&out[24..32], &1i64.to_be_bytes());
        assert_eq!(&out[4096..4104], &0x10i64.to_be_bytes());
        assert_eq!(&out[4104..4112], &2i64.to_be_bytes());
        assert_eq!(&out[4112..4114], b"hi");
        assert_eq!(&out[4114..], &[0xff; 16]);
    }
}
