//! Guest-physical reads from an ELF dump: the bytes stay in the source, found through the `PT_LOAD`
//! segments.

use super::dump::ElfDump;
use super::error::ElfError;
use crate::readat::ReadAt;

/// Reads `buf.len()` guest-physical bytes at `phys_addr` from an ELF dump. The range may span adjacent
/// blocks; bytes past a block's `p_filesz` (within `p_memsz`) read as zeros. Fails with
/// [`ElfError::NotInDump`] naming the first address no block covers.
pub fn guest_phys_read<R: ReadAt + ?Sized>(
    dump: &ElfDump,
    source: &R,
    phys_addr: u64,
    buf: &mut [u8],
) -> Result<(), ElfError> {
    let mut done = 0usize;
    while done < buf.len() {
        let addr = phys_addr
            .checked_add(done as u64)
            .ok_or(ElfError::NotInDump {
                phys_addr: u64::MAX,
            })?;
        let block = dump
            .blocks
            .iter()
            .find(|b| b.phys_addr <= addr && addr < b.phys_end())
            .ok_or(ElfError::NotInDump { phys_addr: addr })?;
        let within = addr - block.phys_addr;
        let n = ((block.mem_size - within).min((buf.len() - done) as u64)) as usize;
        let chunk = &mut buf[done..done + n];
        if within < block.file_size {
            let in_file = ((block.file_size - within) as usize).min(n);
            let offset = block.file_offset + within;
            source
                .read_exact_at(offset, &mut chunk[..in_file])
                .map_err(|source| ElfError::Io {
                    what: "PT_LOAD data",
                    offset,
                    source,
                })?;
            chunk[in_file..].fill(0);
        } else {
            chunk.fill(0);
        }
        done += n;
    }
    Ok(())
}
