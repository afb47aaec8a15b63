//! Opening a dump file as a [`ReadAt`] source, whatever its form.
//!
//! A raw file (kdump-compressed or other) is read as it is. A file that starts with the flattened signature
//! (`makedumpfile`) is indexed in place ([`FlatIndex`]): every reader (`info`, `check`, `read`) then sees the
//! bytes its reassembly would hold, without reassembling it.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::flat::index::FlatIndex;
use crate::flat::FlatError;
use crate::readat::ReadAt;

/// The first bytes of a flattened file, as `makedumpfile-R.pl` detects it (the strict check of the 13-byte
/// signature, F2, is the index's).
const FLAT_SIGNATURE_PREFIX: &[u8; 12] = b"makedumpfile";

/// The form of a dump file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DumpForm {
    /// A seekable kdump-compressed (or other) file, read as it is.
    Raw,
    /// makedumpfile's flattened stream, read through its record index.
    Flattened,
}

/// An opened dump: a positional source over the (reassembled) bytes, and the form it came in.
pub struct DumpSource {
    /// Bytes of the dump as a raw file would hold them.
    pub reader: Box<dyn ReadAt + Send>,
    /// The form of the file on disk.
    pub form: DumpForm,
}

/// A file that starts like a flattened dump but breaks an F invariant. It is the inner error of the
/// `io::Error` (kind `InvalidData`) that [`open_dump`] returns: callers map it to "invalid input" (exit 1)
/// by `error.get_ref().and_then(|e| e.downcast_ref::<InvalidFlattenedDump>())`.
#[derive(Debug)]
pub struct InvalidFlattenedDump {
    /// The file.
    pub path: PathBuf,
    /// The violated invariant, where.
    pub error: FlatError,
}

impl fmt::Display for InvalidFlattenedDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: invalid flattened dump: {}",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for InvalidFlattenedDump {}

/// Opens `path` for reading as a dump: a flattened file (detected by its signature) is read through its
/// record index, anything else as it is. An invalid flattened file is an `InvalidData` error carrying an
/// [`InvalidFlattenedDump`].
pub fn open_dump(path: &Path) -> io::Result<DumpSource> {
    let file = open_file(path)?;
    if is_flattened(&file)? {
        let index = index_flattened(file, path)?;
        return Ok(DumpSource {
            reader: Box::new(index),
            form: DumpForm::Flattened,
        });
    }
    Ok(DumpSource {
        reader: Box::new(file),
        form: DumpForm::Raw,
    })
}

/// Opens `path` as a flattened dump and returns its index (strict checks), for callers that want the
/// index's statistics and warnings as well as its bytes.
pub fn open_flattened(path: &Path) -> io::Result<FlatIndex<File>> {
    index_flattened(open_file(path)?, path)
}

fn open_file(path: &Path) -> io::Result<File> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused (it changes nothing for
    // regular files and block devices).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    let kind = file
        .metadata()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot inspect {}: {e}", path.display())))?
        .file_type();
    if kind.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is a directory", path.display()),
        ));
    }
    let stream = if kind.is_fifo() {
        Some("FIFO")
    } else if kind.is_char_device() {
        Some("character device")
    } else if kind.is_socket() {
        Some("socket")
    } else {
        None
    };
    if let Some(stream) = stream {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a {stream}, not a file: a dump is read at offsets (give a regular file, or \
                 pipe the stream into `-`)",
                path.display()
            ),
        ));
    }
    Ok(file)
}

fn is_flattened(file: &File) -> io::Result<bool> {
    let mut prefix = [0u8; FLAT_SIGNATURE_PREFIX.len()];
    let mut filled = 0;
    while filled < prefix.len() {
        let n = ReadAt::read_at(file, filled as u64, &mut prefix[filled..])?;
        if n == 0 {
            return Ok(false);
        }
        filled += n;
    }
    Ok(&prefix == FLAT_SIGNATURE_PREFIX)
}

fn index_flattened(file: File, path: &Path) -> io::Result<FlatIndex<File>> {
    FlatIndex::open(file).map_err(|e| match e {
        crate::flat::ReadError::Format(error) => io::Error::new(
            io::ErrorKind::InvalidData,
            InvalidFlattenedDump {
                path: path.to_path_buf(),
                error,
            },
        ),
        crate::flat::ReadError::Io(error) => io::Error::new(
            error.kind(),
            format!("cannot read {}: {error}", path.display()),
        ),
    })
}
