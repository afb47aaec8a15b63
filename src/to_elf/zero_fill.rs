//! A [`DumpSink`] for a stream that cannot seek (standard output, a pipe): writes must come in ascending
//! order, and the gaps between them (holes) are written as zeros.

use std::io::{self, Write};

use crate::sink::DumpSink;

/// Zeros written at once to fill a gap.
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// Sequential output that fills holes with zeros.
pub struct ZeroFillSink<W: Write> {
    target: W,
    position: u64,
}

impl<W: Write> ZeroFillSink<W> {
    /// Wraps a writer positioned at offset 0.
    pub fn new(target: W) -> Self {
        ZeroFillSink {
            target,
            position: 0,
        }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Returns the writer.
    pub fn into_inner(self) -> W {
        self.target
    }
}

impl<W: Write> DumpSink for ZeroFillSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if offset < self.position {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write at {offset:#x} goes back before {:#x}: a stream cannot seek",
                    self.position
                ),
            ));
        }
        while self.position < offset {
            let n = (offset - self.position).min(ZEROS.len() as u64) as usize;
            self.target.write_all(&ZEROS[..n])?;
            self.position += n as u64;
        }
        self.target.write_all(data)?;
        self.position += data.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.target.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_become_zeros_and_backward_writes_fail() {
        let mut sink = ZeroFillSink::new(Vec::new());
        sink.write_at(2, b"ab").unwrap();
        sink.write_at(4, b"c").unwrap();
        sink.write_at(100_000, b"d").unwrap();
        assert!(sink.write_at(3, b"x").is_err());
        let bytes = sink.into_inner();
        assert_eq!(&bytes[..5], b"\0\0abc");
        assert_eq!(bytes.len(), 100_001);
        assert!(bytes[5..100_000].iter().all(|&b| b == 0));
        assert_eq!(bytes[100_000], b'd');
    }
}
