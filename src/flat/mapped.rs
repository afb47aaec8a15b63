//! A sliding read-only memory map over a regular file: the flattened reader's buffer when the input is a
//! file, so that payloads go from the page cache to the output with one copy (`pwritev` straight from the
//! map), as `cp` does with `copy_file_range`. Only one window of [`MAP_WINDOW`] bytes is mapped at a time,
//! so the resident set stays small whatever the file size.
//!
//! The file must not be truncated while it is mapped (the kernel would raise SIGBUS); a file that grows is
//! read up to the length it had when the window was mapped.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

/// Bytes mapped at a time (the mapped reader's resident input).
pub const MAP_WINDOW: usize = 4 << 20;

/// The currently mapped window of a file.
pub(crate) struct MappedWindow {
    window_len: u64,
    file_len: u64,
    offset: u64,
    map: Option<(NonNull<u8>, usize)>,
}

// SAFETY: the window is a read-only mapping owned by this value; sharing or sending it is like sharing a
// `Box<[u8]>`.
unsafe impl Send for MappedWindow {}
// SAFETY: as above; `bytes()` hands out shared references only.
unsafe impl Sync for MappedWindow {}

impl MappedWindow {
    /// No window yet over `file` (its length is taken now); windows of `window_len` bytes, at least two
    /// pages (so that a 16-byte header anywhere fits in the window mapped at its page).
    pub(crate) fn new(file: &File, window_len: usize) -> io::Result<Self> {
        let page = page_size();
        Ok(MappedWindow {
            window_len: (window_len as u64).div_ceil(page).max(2) * page,
            file_len: file.metadata()?.len(),
            offset: 0,
            map: None,
        })
    }

    /// The mapped bytes (file offsets `offset()..offset() + len`).
    pub(crate) fn bytes(&self) -> &[u8] {
        match self.map {
            // SAFETY: `ptr` maps `len` readable bytes until `unmap`, which needs `&mut self`.
            Some((ptr, len)) => unsafe { std::slice::from_raw_parts(ptr.as_ptr(), len) },
            None => &[],
        }
    }

    /// Whether the window reaches the end of the file.
    pub(crate) fn at_end(&self) -> bool {
        self.offset + self.bytes().len() as u64 >= self.file_len
    }

    /// Maps the window starting at the page boundary at or before `position`; returns the index of
    /// `position` in [`MappedWindow::bytes`].
    pub(crate) fn map_at(&mut self, file: &File, position: u64) -> io::Result<usize> {
        self.unmap();
        let page = page_size();
        let offset = position / page * page;
        let len = (self.file_len.saturating_sub(offset)).min(self.window_len) as usize;
        self.offset = offset;
        if len == 0 {
            return Ok(0);
        }
        let file_offset = libc::off_t::try_from(offset).map_err(io::Error::other)?;
        // SAFETY: a new private read-only mapping of a file we hold open; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap gave NULL"))?;
        self.map = Some((ptr, len));
        Ok((position - offset) as usize)
    }

    fn unmap(&mut self) {
        if let Some((ptr, len)) = self.map.take() {
            // SAFETY: unmapping exactly the mapping made in `map_at`; no reference into it outlives
            // `&mut self`.
            unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
        }
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as u64
}

impl Drop for MappedWindow {
    fn drop(&mut self) {
        self.unmap();
    }
}
