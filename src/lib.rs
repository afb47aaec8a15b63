//! # kdump-flat
//!
//! A toolkit and verification harness for the two on-disk forms of Linux kdump-compressed crash dumps:
//! makedumpfile's **flattened** stream ("seek to OFFSET, write these SIZE bytes" records after a 4096-byte
//! header) and the **raw** kdump-compressed ("diskdump") file.
//!
//! Two abstractions carry everything:
//! - [`sink::DumpSink`]: "write these bytes at this offset". Writers send one write sequence down both the
//!   flattened path ([`sink::FlatSink`]) and the raw path ([`sink::RawSink`]).
//! - [`readat::ReadAt`]: "give me the bytes at this offset". Readers work on raw files, byte slices and
//!   flattened files read in place.
//!
//! ```
//! use kdump_flat::sink::{DumpSink, FlatSink, RawSink};
//!
//! let writes: &[(u64, &[u8])] = &[(8, b"world"), (0, b"hello")];
//! let mut flat = FlatSink::new(Vec::new());
//! let mut raw = RawSink::in_memory();
//! for (offset, bytes) in writes {
//!     flat.write_at(*offset, bytes).unwrap();
//!     raw.write_at(*offset, bytes).unwrap();
//! }
//! flat.finish().unwrap();
//! raw.finish().unwrap();
//! assert_eq!(raw.into_bytes(), b"hello\0\0\0world");
//! assert_eq!(flat.into_inner().len(), 4096 + (16 + 5) * 2 + 16);
//! ```

#![warn(missing_docs)]

pub mod compress;
pub mod diff;
pub mod elf;
pub mod flat;
pub mod from_elf;
#[cfg(feature = "harness")]
pub mod fuzzing;
#[cfg(feature = "harness")]
pub mod harness;
pub mod kdump;
pub mod model;
pub mod output;
pub mod readat;
pub mod sink;
pub mod source;
pub mod to_elf;

#[cfg(feature = "harness")]
#[doc(hidden)]
pub mod cli;
