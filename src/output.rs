//! Safe output files: write to a temporary file beside the target and rename it into place on success.
//!
//! An existing target is refused unless the caller forces overwriting; a run that fails (or panics) before
//! [`AtomicOutput::commit`] leaves no output behind, because the temporary file is removed on drop.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// An output file under construction.
pub struct AtomicOutput {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
    force: bool,
}

impl AtomicOutput {
    /// Starts writing `target`. Fails with `AlreadyExists` if it exists and `force` is false.
    pub fn create(target: &Path, force: bool) -> io::Result<AtomicOutput> {
        if !force && target.symlink_metadata().is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists; refusing to overwrite it (use --force)",
                    target.display()
                ),
            ));
        }
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                )
            })?;
        Ok(AtomicOutput {
            temp,
            target: target.to_path_buf(),
            force,
        })
    }

    /// The temporary file, to write into.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes the data to disk and renames the temporary file onto the target.
    pub fn commit(self) -> io::Result<()> {
        self.temp.as_file().sync_all()?;
        self.rename()
    }

    /// Renames the temporary file onto the target without waiting for the data to reach the disk (it gets
    /// there by the page cache's normal write-back, as with `cp`); what `reassemble` does unless `--sync` is given.
    pub fn commit_unsynced(self) -> io::Result<()> {
        self.rename()
    }

    fn rename(self) -> io::Result<()> {
        let result = if self.force {
            self.temp.persist(&self.target).map(|_| ())
        } else {
            self.temp.persist_noclobber(&self.target).map(|_| ())
        };
        result.map_err(|e| {
            io::Error::new(
                e.error.kind(),
                format!(
                    "cannot rename output into {}: {}",
                    self.target.display(),
                    e.error
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn dropped_output_leaves_nothing_and_existing_targets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        {
            let mut out = AtomicOutput::create(&target, false).unwrap();
            out.file().write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut out = AtomicOutput::create(&target, false).unwrap();
        out.file().write_all(b"done").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
        let err = AtomicOutput::create(&target, false).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(AtomicOutput::create(&target, true).is_ok());
    }
}
