//! Safe output files: write to a temporary file beside the target and rename it into place on success.
//!
//! An existing target is refused unless the caller forces overwriting; a run that fails (or panics) before
//! [`AtomicOutput::commit`] leaves no output behind, because the temporary file is removed on drop, and a
//! run interrupted by SIGINT, SIGTERM or SIGHUP leaves none either once [`install_signal_cleanup`] runs
//! (see [`cleanup`]). What the target may be:
//!
//! - a new path, or (with `force`) an existing regular file: replaced by rename; the temporary file is
//!   `.NAME.XXXXXX.tmp` in the same directory (NAME shortened so that it fits in 255 bytes), created 0600;
//! - a symbolic link to a regular file: with `force`, the file it points to is replaced and the link
//!   kept; a link to nothing is refused;
//! - a character device or FIFO (`/dev/null`, `/dev/stdout` on a pipe or terminal, `mkfifo`): never
//!   replaced, written into directly, with or without `force`, by the commands that write sequentially
//!   ([`AtomicOutput::create_stream`]); a block device likewise, but only with `force`; a socket or a
//!   directory is refused. Commands that write at offsets ([`AtomicOutput::create`]) refuse special files.

pub mod cleanup;
mod named;

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

pub use cleanup::{die_of_broken_pipe, install_signal_cleanup, remove_registered_files};
pub use named::NamedWriter;

use cleanup::{lock_registry, Registration};

/// The longest file name (bytes) the temporary file may have (Linux's NAME_MAX).
const NAME_MAX: usize = 255;
/// Bytes the temporary name adds to the target's: a leading `.`, then `.XXXXXX.tmp`.
const TEMP_NAME_OVERHEAD: usize = 1 + 1 + 6 + 4;

/// How a command writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// At arbitrary offsets, with holes and `set_len`: a regular file only.
    Seekable,
    /// Front to back: a character device, FIFO or block device may be written into directly.
    Sequential,
}

/// An output file under construction.
#[derive(Debug)]
pub struct AtomicOutput {
    target: PathBuf,
    state: State,
}

#[derive(Debug)]
enum State {
    /// A temporary file to rename onto `destination` (the target, or the file a symlink target names).
    /// Field order matters: the file is removed on drop before it is unregistered.
    Temporary {
        temp: tempfile::NamedTempFile,
        registration: Registration,
        destination: PathBuf,
        force: bool,
    },
    /// A special file written into directly.
    Direct(File),
}

impl AtomicOutput {
    /// Starts writing `target` for a command that writes at offsets: a new file, or with `force` an
    /// existing regular file (or the regular file a symlink names). Fails with `AlreadyExists` if it exists
    /// and `force` is false; a device, FIFO, socket or directory is refused.
    pub fn create(target: &Path, force: bool) -> io::Result<AtomicOutput> {
        Self::open(target, force, Access::Seekable)
    }

    /// Starts writing `target` for a command that writes front to back: as [`create`](Self::create), but a
    /// character device or FIFO is written into directly (never replaced), and so is a block device with
    /// `force`.
    pub fn create_stream(target: &Path, force: bool) -> io::Result<AtomicOutput> {
        Self::open(target, force, Access::Sequential)
    }

    fn open(target: &Path, force: bool, access: Access) -> io::Result<AtomicOutput> {
        let shown = target.display();
        let destination = match std::fs::metadata(target) {
            Ok(metadata) => {
                let kind = metadata.file_type();
                if kind.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{shown} is a directory: give the output a file name"),
                    ));
                }
                if !kind.is_file() {
                    let file = open_special(target, special_kind(&kind), force, access)?;
                    return Ok(AtomicOutput {
                        target: target.to_path_buf(),
                        state: State::Direct(file),
                    });
                }
                if !force {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{shown} exists; refusing to overwrite it (use --force)"),
                    ));
                }
                resolve_symlink(target)?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if target.symlink_metadata().is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!(
                            "{shown} is a symbolic link to a file that does not exist; refusing to \
                             write through it (remove the link or name the file)"
                        ),
                    ));
                }
                target.to_path_buf()
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot inspect the output {shown}: {e}"),
                ))
            }
        };
        let (temp, registration) = create_temporary(&destination)?;
        Ok(AtomicOutput {
            target: target.to_path_buf(),
            state: State::Temporary {
                temp,
                registration,
                destination,
                force,
            },
        })
    }

    /// The file to write into: the temporary file, or the special file itself.
    pub fn file(&mut self) -> &mut File {
        match &mut self.state {
            State::Temporary { temp, .. } => temp.as_file_mut(),
            State::Direct(file) => file,
        }
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file's path, if the output is written through one.
    pub fn temporary_path(&self) -> Option<&Path> {
        match &self.state {
            State::Temporary { temp, .. } => Some(temp.path()),
            State::Direct(_) => None,
        }
    }

    /// The output in words for messages: "OUT (temporary file T)", or "OUT" for a special file.
    pub fn describe(&self) -> String {
        match self.temporary_path() {
            Some(temp) => format!(
                "{} (temporary file {})",
                self.target.display(),
                temp.display()
            ),
            None => self.target.display().to_string(),
        }
    }

    /// `error`, met while writing this output, as "cannot write OUT (temporary file T): error", its kind
    /// kept.
    pub fn write_error(&self, error: io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!("cannot write {}: {error}", self.describe()),
        )
    }

    /// [`file`](Self::file) wrapped so that its errors say "cannot write OUT (temporary file T): …".
    pub fn named_file(&mut self) -> NamedWriter<&mut File> {
        let name = self.describe();
        NamedWriter::new(self.file(), name)
    }

    /// Flushes the data to disk and renames the temporary file onto the target (a special file is only
    /// flushed).
    pub fn commit(self) -> io::Result<()> {
        if let State::Temporary { temp, .. } = &self.state {
            temp.as_file().sync_all().map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot flush {} to disk: {e}", temp.path().display()),
                )
            })?;
        }
        self.rename()
    }

    /// Renames the temporary file onto the target without waiting for the data to reach the disk (it gets
    /// there by the page cache's normal write-back, as with `cp`); what `reassemble` does unless `--sync` is given.
    pub fn commit_unsynced(self) -> io::Result<()> {
        self.rename()
    }

    fn rename(self) -> io::Result<()> {
        let State::Temporary {
            temp,
            registration,
            destination,
            force,
        } = self.state
        else {
            return Ok(());
        };
        // Rename and unregister under the registry's lock: a signal then either removes the temporary file
        // before the rename or finds nothing left to remove.
        let mut registry = lock_registry();
        let result = if force {
            temp.persist(&destination).map(|_| ())
        } else {
            temp.persist_noclobber(&destination).map(|_| ())
        };
        registration.release(&mut registry);
        result.map_err(|e| {
            io::Error::new(
                e.error.kind(),
                format!(
                    "cannot rename output into {}: {}",
                    destination.display(),
                    e.error
                ),
            )
        })
    }
}

/// The kind of a special file, in words.
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// Opens an existing device or FIFO for writing into it directly, or refuses it.
fn open_special(target: &Path, kind: &str, force: bool, access: Access) -> io::Result<File> {
    let shown = target.display();
    let refuse = |why: String| Err(io::Error::new(io::ErrorKind::InvalidInput, why));
    if access == Access::Seekable {
        return refuse(format!(
            "{shown} is a {kind}: this command writes at offsets and needs a regular file (it never \
             replaces a {kind})"
        ));
    }
    match kind {
        "character device" | "FIFO" => {}
        "block device" if force => {}
        "block device" => {
            return refuse(format!(
                "{shown} is a block device: writing into it overwrites its content (use --force)"
            ))
        }
        _ => return refuse(format!("{shown} is a {kind}: cannot write into it")),
    }
    OpenOptions::new()
        .write(true)
        .open(target)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {shown} for writing: {e}")))
}

/// The regular file `target` names: itself, or what its symbolic link(s) point to.
fn resolve_symlink(target: &Path) -> io::Result<PathBuf> {
    let is_link = target
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(target.to_path_buf());
    }
    std::fs::canonicalize(target).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot resolve the symbolic link {}: {e}", target.display()),
        )
    })
}

/// Creates and registers the temporary file for `destination`: `.NAME.XXXXXX.tmp` in its directory, NAME
/// cut so that the whole name fits in [`NAME_MAX`] bytes.
fn create_temporary(destination: &Path) -> io::Result<(tempfile::NamedTempFile, Registration)> {
    let dir = match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = destination
        .file_name()
        .map_or(&b"output"[..], |n| n.as_bytes());
    let kept = &name[..name.len().min(NAME_MAX - TEMP_NAME_OVERHEAD)];
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(kept);
    prefix.push(b'.');
    let mut registry = lock_registry();
    let temp = tempfile::Builder::new()
        .prefix(OsStr::from_bytes(&prefix))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create a temporary file in {}: {e}", dir.display()),
            )
        })?;
    let registration = Registration::new(&mut registry, temp.path());
    Ok((temp, registration))
}

/// Creates a registered temporary file in the system's temporary directory (for spooling standard input):
/// removed on drop and on SIGINT/SIGTERM/SIGHUP.
pub fn spool_file() -> io::Result<SpoolFile> {
    let mut registry = lock_registry();
    let temp = tempfile::Builder::new()
        .prefix(".kdump-flat-stdin.")
        .tempfile()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create a temporary file in {} to spool standard input: {e}",
                    std::env::temp_dir().display()
                ),
            )
        })?;
    let registration = Registration::new(&mut registry, temp.path());
    Ok(SpoolFile {
        temp,
        _registration: registration,
    })
}

/// A registered temporary file (see [`spool_file`]).
#[derive(Debug)]
pub struct SpoolFile {
    temp: tempfile::NamedTempFile,
    _registration: Registration,
}

impl SpoolFile {
    /// Its path.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }
}

#[cfg(test)]
mod tests;
