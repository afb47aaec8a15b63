//! The committed firmware-guest dumps are reproducible: running the real tools again
//! (`scripts/make-real-dumps.sh DIR firmware`) gives the same bytes. Needs QEMU 7.2, makedumpfile and the
//! extras of scripts/fetch-extras.sh (QEMU 10, makedumpfile 1.7.6), hence #[ignore]; run by
//! scripts/test-real.sh.

use crate::support::real::*;

use std::process::Command;
use std::time::Duration;

#[test]
#[ignore = "runs QEMU 7.2, QEMU 10 and makedumpfile (scripts/test-real.sh)"]
fn regenerated_firmware_dumps_equal_the_committed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-real-dumps.sh");
    let mut command = Command::new("bash");
    command.arg(script).arg(dir.path()).arg("firmware");
    run_with_limit(command, None, Duration::from_secs(300));
    for name in [
        "fw-q72.kdump-zlib.flat",
        "fw-q10.kdump-zlib.flat",
        "fw-q10.kdump-raw-zlib",
        "fw-mdf-lzo-d1",
        "fw-mdf-lzo-d1.flat",
        "fw-mdf-split-d1.1",
        "fw-mdf-split-d1.2",
        "fw-mdf-elf-d1.flat",
        "fw-mdf-zstd-d1.flat",
    ] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        assert!(
            fresh == read_corpus(name),
            "{name} differs from the committed file"
        );
    }
    for name in ["fw-q72.elf", "fw-q10.elf"] {
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        assert!(
            fresh == gunzip_corpus(&format!("{name}.gz")),
            "{name} differs from the committed file"
        );
    }
}
