//! A writer whose errors name what was being written ("cannot write OUT: No space left on device").

use std::io::{self, Seek, SeekFrom, Write};

/// Wraps a writer so that every error it returns says which output failed; the error's kind is kept (a
/// closed pipe stays `BrokenPipe`).
#[derive(Debug)]
pub struct NamedWriter<W> {
    inner: W,
    name: String,
}

impl<W> NamedWriter<W> {
    /// Wraps `inner`, named `name` in errors (a path, or "standard output").
    pub fn new(inner: W, name: impl Into<String>) -> Self {
        NamedWriter {
            inner,
            name: name.into(),
        }
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }

    fn named(&self, error: io::Error) -> io::Error {
        io::Error::new(error.kind(), format!("cannot write {}: {error}", self.name))
    }
}

impl<W: Write> Write for NamedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.named(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.named(e))
    }
}

impl<W: Seek> Seek for NamedWriter<W> {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.inner.seek(position).map_err(|e| self.named(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_output_and_keep_their_kind() {
        let mut two_bytes = [0u8; 2];
        let mut full = NamedWriter::new(&mut two_bytes[..], "OUT");
        let error = full.write_all(b"abc").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
        assert!(
            error.to_string().starts_with("cannot write OUT: "),
            "{error}"
        );
    }
}
