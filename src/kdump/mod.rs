//! The kdump-compressed ("diskdump") format: a header, a sub-header with ELF notes, two page bitmaps, one
//! descriptor per dumped page and the (compressed) page data. See docs/FORMATS.md §2.
//!
//! [`KdumpFile`] reads one file through any [`ReadAt`](crate::readat::ReadAt) (a raw file, a byte slice, a flattened file's
//! in-place index); [`check::check`] validates a file or a split set against every invariant K1–K18.
//!
//! ```no_run
//! use kdump_flat::kdump::{KdumpFile, PageContent};
//!
//! let file = std::fs::File::open("vmcore").unwrap();
//! let dump = KdumpFile::open(file).unwrap();
//! match dump.read_page(0x100).unwrap() {
//!     PageContent::Data(bytes) => assert_eq!(bytes.len() as u64, dump.page_size()),
//!     PageContent::Excluded => println!("left out by the dump level"),
//!     PageContent::NotInMemory => println!("not RAM"),
//! }
//! ```

pub mod bitmap;
pub mod check;
pub mod descriptor;
pub mod error;
mod file;
pub mod header;
mod headers;
pub mod join;
pub mod notes;
mod page;
pub mod set;
pub mod subheader;
pub mod walk;

pub use self::bitmap::{Bitmaps, Which};
pub use self::descriptor::{validate_descriptor, PageDesc, PAGE_DESC_SIZE};
pub use self::error::{KInvariant, KdumpError, NotesProblem, ALL_INVARIANTS};
pub use self::file::KdumpFile;
pub use self::header::{ByteOrder, Class, DiskDumpHeader, Signature, Utsname};
pub use self::headers::{Headers, MAX_NOTES_SIZE};
pub use self::join::{join, join_with_progress, JoinError, JoinSummary};
pub use self::notes::{Note, Notes, Vmcoreinfo};
pub use self::page::{decompress_page, PageContent, PageState};
pub(crate) use self::page::{read_phys_from, with_pfn, PageReader};
pub use self::set::{split_set_problems, KdumpSet};
pub use self::subheader::{KdumpSubHeader, SubHeaderLayout};
