//! Opening a dump file as a [`ReadAt`] source, whatever its form.
//!
//! Today a file is read as it is (a raw kdump-compressed file). The flattened in-place index (issue 5) plugs
//! in here: `open_dump` detects the flattened signature and returns the index instead, so every reader
//! (`info`, `check`, `read`) works on both forms without reassembly.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::readat::ReadAt;

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

/// Opens `path` for reading as a dump.
pub fn open_dump(path: &Path) -> io::Result<DumpSource> {
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
    if file.metadata()?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is a directory", path.display()),
        ));
    }
    Ok(DumpSource {
        reader: Box::new(file),
        form: DumpForm::Raw,
    })
}
