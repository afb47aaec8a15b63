//! Opening the input of `check`, `info` and `read`: a path, or `-` for standard input, which is spooled to
//! a temporary file first (positional reads need a seekable source; the file is removed on drop).

use std::io;
use std::path::Path;

use super::Failure;
use crate::source::{open_dump, DumpSource};

/// An opened input and, for standard input, the temporary file holding it.
pub struct DumpInput {
    /// The dump.
    pub source: DumpSource,
    /// Keeps the spooled copy of standard input alive.
    _spool: Option<crate::output::SpoolFile>,
}

impl DumpInput {
    /// The source, and the spooled copy of standard input that must live as long as the source is read.
    pub fn into_parts(self) -> (DumpSource, Option<crate::output::SpoolFile>) {
        (self.source, self._spool)
    }
}

/// Opens `path` (raw or flattened), or standard input for `-`.
pub fn open_input(path: &Path) -> Result<DumpInput, Failure> {
    if path.as_os_str() != "-" {
        return Ok(DumpInput {
            source: open_dump(path)?,
            _spool: None,
        });
    }
    let mut spool = crate::output::spool_file()?;
    io::copy(&mut io::stdin().lock(), spool.file()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot copy standard input to {}: {e}",
                spool.path().display()
            ),
        )
    })?;
    let source = open_dump(spool.path())?;
    Ok(DumpInput {
        source,
        _spool: Some(spool),
    })
}

/// Opens every file of one dump or split set (`-` for standard input only when it is the one file).
pub fn open_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<DumpInput>, Failure> {
    if paths.len() > 1 && paths.iter().any(|path| path.as_os_str() == "-") {
        return Err(Failure::Io(anyhow::anyhow!(
            "standard input (-) can only be the one file"
        )));
    }
    paths.iter().map(|path| open_input(path)).collect()
}
