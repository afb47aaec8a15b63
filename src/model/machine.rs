//! The dumped machine and the dump's fixed parameters: which writer, which machine (word size, byte order,
//! `utsname.machine`), which page size.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which program's write sequence produces the dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "lowercase")]
pub enum WriterKind {
    /// QEMU's `create_kdump_vmcore` (`dump-guest-memory -z`, `kdump-zlib`, `kdump-raw-zlib`, …).
    Qemu,
    /// makedumpfile's kdump-compressed writer (`makedumpfile -c/-l/-p/-z [-F]`).
    Makedumpfile,
}

impl fmt::Display for WriterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriterKind::Qemu => "qemu",
            WriterKind::Makedumpfile => "makedumpfile",
        })
    }
}

/// The dumped machine: fixes the ELF class (32/64-bit `long`), the byte order, the `utsname.machine`
/// string and, for 32-bit machines, the layout of `kdump_sub_header`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "lowercase")]
pub enum Machine {
    /// 64-bit little-endian x86.
    X86_64,
    /// 32-bit little-endian x86: 64-bit fields are 4-byte aligned (80-byte sub-header).
    I386,
    /// 64-bit little-endian ARM.
    Aarch64,
    /// 64-bit big-endian POWER.
    Ppc64,
    /// 64-bit little-endian POWER.
    Ppc64le,
    /// 64-bit big-endian IBM Z.
    S390x,
    /// 32-bit little-endian ARM: 64-bit fields are 8-byte aligned (96-byte sub-header in makedumpfile).
    Arm,
    /// 32-bit big-endian POWER: 64-bit fields are 8-byte aligned.
    Ppc,
}

/// Byte order of the dumped machine, as the model states it. Deliberately the model's own type, not the
/// kdump reader's [`crate::kdump::ByteOrder`] (nor the ELF reader's [`crate::elf::ElfByteOrder`]): the model
/// encodes independently of the readers it checks (see [`crate::model::encode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

/// Every machine, for generators and loops.
pub const ALL_MACHINES: [Machine; 8] = [
    Machine::X86_64,
    Machine::I386,
    Machine::Aarch64,
    Machine::Ppc64,
    Machine::Ppc64le,
    Machine::S390x,
    Machine::Arm,
    Machine::Ppc,
];

impl Machine {
    /// True for machines with a 64-bit `long`.
    pub fn is_64bit(self) -> bool {
        !matches!(self, Machine::I386 | Machine::Arm | Machine::Ppc)
    }

    /// The machine's byte order.
    pub fn endian(self) -> Endian {
        match self {
            Machine::Ppc64 | Machine::S390x | Machine::Ppc => Endian::Big,
            _ => Endian::Little,
        }
    }

    /// The `utsname.machine` string Linux reports (and makedumpfile copies into the header).
    pub fn uname(self) -> &'static str {
        match self {
            Machine::X86_64 => "x86_64",
            Machine::I386 => "i686",
            Machine::Aarch64 => "aarch64",
            Machine::Ppc64 => "ppc64",
            Machine::Ppc64le => "ppc64le",
            Machine::S390x => "s390x",
            Machine::Arm => "armv7l",
            Machine::Ppc => "ppc",
        }
    }

    /// True when the C ABI aligns 64-bit integers to 4 bytes (i386), which makes makedumpfile's 32-bit
    /// `kdump_sub_header` 80 bytes with no padding instead of 96.
    pub fn packs_u64_to_4(self) -> bool {
        matches!(self, Machine::I386)
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uname())
    }
}

/// A page (= block) size the model covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "harness", derive(arbitrary::Arbitrary))]
pub enum PageSize {
    /// 4 KiB (x86, most others).
    #[serde(rename = "4k")]
    K4,
    /// 16 KiB (arm64 16K kernels).
    #[serde(rename = "16k")]
    K16,
    /// 64 KiB (ppc64, arm64 64K kernels).
    #[serde(rename = "64k")]
    K64,
}

impl PageSize {
    /// Size in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            PageSize::K4 => 4096,
            PageSize::K16 => 16384,
            PageSize::K64 => 65536,
        }
    }
}
