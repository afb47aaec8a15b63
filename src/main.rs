//! The `kdump-flat` command-line tool.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether file descriptor 1 was closed when the process started (`kdump-flat … >&-`). Rust's runtime
/// reopens a closed descriptor 1 on `/dev/null` before `main`, where writes then succeed silently, so this
/// is recorded earlier, by a constructor.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

extern "C" fn note_closed_stdout() {
    // SAFETY: fcntl(F_GETFD) only asks whether the descriptor is open.
    if unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } == -1 {
        STDOUT_CLOSED_AT_START.store(true, Ordering::Relaxed);
    }
}

/// Runs [`note_closed_stdout`] before the Rust runtime's own start-up code.
#[used]
#[link_section = ".init_array"]
static NOTE_CLOSED_STDOUT: extern "C" fn() = note_closed_stdout;

fn main() -> std::process::ExitCode {
    kdump_flat::cli::main(STDOUT_CLOSED_AT_START.load(Ordering::Relaxed))
}
