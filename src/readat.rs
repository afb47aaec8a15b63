//! Positional reads: "give me the bytes at this offset".
//!
//! Every reader in this crate (`info`, `check`, page reads) is written once against [`ReadAt`], so the same
//! code reads a raw dump file, a byte slice in memory, or a flattened dump through its record index.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// A source of bytes addressed by absolute offset. Implementations must be usable from several threads.
pub trait ReadAt: Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read (0 at or past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Total length of the source in bytes (for a flattened dump: the reassembled length).
    fn size(&self) -> io::Result<u64>;

    /// Fills `buf` entirely from `offset`, or fails with `UnexpectedEof` naming the offset.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_at(offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "short read: wanted {} bytes at offset {:#x}, the source ends after {} of them",
                        buf.len(),
                        offset,
                        done
                    ),
                ));
            }
            done += n;
        }
        Ok(())
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.len() as u64;
        if offset >= len {
            return Ok(0);
        }
        let start = offset as usize;
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl ReadAt for File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match FileExt::read_at(self, buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// The file's length; for a block device (whose metadata says 0), its size by seeking to its end.
    fn size(&self) -> io::Result<u64> {
        let metadata = self.metadata()?;
        if std::os::unix::fs::FileTypeExt::is_block_device(&metadata.file_type()) {
            return io::Seek::seek(&mut &*self, io::SeekFrom::End(0));
        }
        Ok(metadata.len())
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

impl<T: ReadAt + ?Sized + Send> ReadAt for Box<T> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        (**self).read_at(offset, buf)
    }

    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_reads_are_clipped_at_the_end() {
        let data = vec![1u8, 2, 3, 4];
        let mut buf = [0u8; 3];
        assert_eq!(data.read_at(2, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], &[3, 4]);
        assert_eq!(data.read_at(4, &mut buf).unwrap(), 0);
        let err = data.read_exact_at(3, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A read error other than EINTR is returned, not retried: here EBADF from a file opened for writing
    /// only. The read runs in a thread so that a retry loop fails the test instead of hanging it.
    #[test]
    fn a_file_read_error_is_returned_not_retried() {
        let named = tempfile::NamedTempFile::new().unwrap();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(named.path())
            .unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8];
            let _ = sender.send(ReadAt::read_at(&file, 0, &mut buf).map_err(|e| e.raw_os_error()));
        });
        let result = receiver
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the read returned");
        assert_eq!(result, Err(Some(libc::EBADF)));
    }
}
