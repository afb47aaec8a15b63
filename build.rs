//! Refuses to build with a zlib that libz-sys compiled itself.
//!
//! flate2's `zlib` backend (libz-sys) links the system's zlib when it finds it (pkg-config and
//! zlib1g-dev on Debian); otherwise it silently compiles its own copy, whose deflate output may differ from
//! the zlib QEMU and makedumpfile use, and the byte-for-byte comparisons of zlib pages with QEMU's (the
//! model's oracle tests, `from-elf`) would then fail for a reason that has nothing to do with this code.
//! libz-sys says it built zlib by setting `DEP_Z_ROOT` for the crates that depend on it directly.

fn main() {
    println!("cargo:rerun-if-env-changed=KDUMP_FLAT_ALLOW_BUNDLED_ZLIB");
    let bundled = std::env::var_os("DEP_Z_ROOT").is_some();
    let allowed = std::env::var_os("KDUMP_FLAT_ALLOW_BUNDLED_ZLIB").is_some_and(|v| v == "1");
    if bundled && !allowed {
        eprintln!(
            "error: libz-sys compiled its own zlib because the system's was not found.\n\
             Install the system zlib and pkg-config (Debian/Ubuntu: apt-get install zlib1g-dev \
             pkg-config), then `cargo clean -p libz-sys` and build again.\n\
             Byte identity with QEMU's and makedumpfile's zlib pages needs the system zlib; to build \
             anyway (those comparisons may fail), set KDUMP_FLAT_ALLOW_BUNDLED_ZLIB=1."
        );
        std::process::exit(1);
    }
}
