//! Temporary files that must not outlive the process: a global registry of their paths, and a signal
//! thread that removes them when SIGINT, SIGTERM or SIGHUP arrives and then exits 130, 143 or 129
//! (128 + the signal number, the status a shell reports for a process killed by it).
//!
//! The three signals are blocked in every thread and taken by one thread with `sigwait`, so the removal
//! runs as ordinary code, not in an asynchronous signal handler: it may lock the registry and call
//! `unlink`. A file is created and registered under the registry's lock, and renamed into place and
//! unregistered under it, so a signal never finds a created-but-unregistered file nor removes a file that
//! has become the output. SIGKILL cannot be caught: it leaves the temporary file (`.NAME.XXXXXX.tmp`
//! beside the output) behind.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The signals after which the registered files are removed.
const CLEANUP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Paths of the temporary files that exist now and must be removed if the process is interrupted.
static REGISTRY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The registry, locked (a panic while it was held does not make it unusable).
pub(crate) fn lock_registry() -> MutexGuard<'static, Vec<PathBuf>> {
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Proof that a path is in the registry; unregisters it when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    path: PathBuf,
}

impl Registration {
    /// Registers `path` in the locked `registry`.
    pub(crate) fn new(registry: &mut Vec<PathBuf>, path: &Path) -> Registration {
        registry.push(path.to_path_buf());
        Registration {
            path: path.to_path_buf(),
        }
    }

    /// Unregisters the path in the already locked `registry`.
    pub(crate) fn release(self, registry: &mut Vec<PathBuf>) {
        remove_entry(registry, &self.path);
        std::mem::forget(self);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        remove_entry(&mut lock_registry(), &self.path);
    }
}

fn remove_entry(registry: &mut Vec<PathBuf>, path: &Path) {
    if let Some(i) = registry.iter().rposition(|p| p == path) {
        registry.swap_remove(i);
    }
}

/// Removes every registered file (called on a signal, and before a deliberate death by SIGPIPE).
pub fn remove_registered_files() {
    let registry = lock_registry();
    for path in registry.iter() {
        let _ = std::fs::remove_file(path);
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread started after it) and starts
/// the thread that waits for them, removes the registered files and exits with 128 + the signal number.
/// A signal the process was started with ignored (`nohup`, a background job) stays ignored. Call it first
/// thing in `main`, before any other thread exists.
pub fn install_signal_cleanup() -> io::Result<()> {
    // SAFETY: sigemptyset/sigaddset/sigaction/pthread_sigmask only read and write the local sets given.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in CLEANUP_SIGNALS {
            let mut current: libc::sigaction = std::mem::zeroed();
            let ignored = libc::sigaction(signal, std::ptr::null(), &mut current) == 0
                && current.sa_sigaction == libc::SIG_IGN;
            if !ignored {
                libc::sigaddset(&mut set, signal);
            }
        }
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        set
    };
    let spawned = std::thread::Builder::new()
        .name("signal-cleanup".into())
        .spawn(move || loop {
            let mut signal: libc::c_int = 0;
            // SAFETY: sigwait reads the set and writes the received signal number into `signal`.
            if unsafe { libc::sigwait(&set, &mut signal) } == 0 {
                remove_registered_files();
                // SAFETY: _exit ends the process at once, without unwinding other threads' stacks.
                unsafe { libc::_exit(128 + signal) };
            }
        });
    if let Err(error) = spawned {
        // SAFETY: as above; without the waiting thread the signals must act as before.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
        return Err(error);
    }
    Ok(())
}

/// Ends the process as a write into a closed pipe does by default (as `cat` or `head` do): removes the
/// registered files, then dies of SIGPIPE silently (a shell reports status 141).
pub fn die_of_broken_pipe() -> ! {
    remove_registered_files();
    // SAFETY: restoring the default action and raising the signal ends the process; _exit is the fallback.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
        libc::_exit(128 + libc::SIGPIPE)
    }
}
