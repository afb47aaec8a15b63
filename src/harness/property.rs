//! The properties by id ([`Property`]) and how one fails ([`PropertyFailure`]).

use std::fmt;

use serde::Serialize;

/// The properties, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Property {
    /// Reassembled flattened bytes == raw bytes.
    P1,
    /// Raw length, written ranges and holes are what the layout implies.
    P2,
    /// Headers, notes, eraseinfo and every pfn read back as the model says, over raw and flattened.
    P3,
    /// `check` passes.
    P4,
    /// Single-byte corruption is detected (a rate).
    P5,
    /// QEMU's ELF form of the layout holds the same memory and notes; from-elf and to-elf convert between
    /// it and the raw file byte for byte ([`super::p6_elf`]).
    P6,
}

impl Property {
    /// Every property, in order.
    pub const ALL: [Property; 6] = [
        Property::P1,
        Property::P2,
        Property::P3,
        Property::P4,
        Property::P5,
        Property::P6,
    ];

    /// A short name that says what the property is about (selftest's JSON carries it).
    pub fn name(self) -> &'static str {
        match self {
            Property::P1 => "flat-reassembles-to-raw",
            Property::P2 => "raw-extents-match-layout",
            Property::P3 => "pages-read-back",
            Property::P4 => "check-passes",
            Property::P5 => "corruption-detected",
            Property::P6 => "elf-raw-flat-agree",
        }
    }

    /// One-line description.
    pub fn description(self) -> &'static str {
        match self {
            Property::P1 => "reassembled flattened == raw",
            Property::P2 => "raw length, written ranges and holes match the layout",
            Property::P3 => "headers, notes and every pfn read back as the model says",
            Property::P4 => "check finds the dump valid",
            Property::P5 => "single-byte corruption detected by check or read-back",
            Property::P6 => {
                "QEMU's ELF form holds the same memory and notes; from-elf(ELF) == raw; to-elf(raw) == ELF"
            }
        }
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A property that did not hold, with what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyFailure {
    /// Which property.
    pub property: Property,
    /// What went wrong, with offsets / pfns.
    pub detail: String,
}

impl fmt::Display for PropertyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.property, self.detail)
    }
}

impl std::error::Error for PropertyFailure {}

/// A failure of `property` with `detail`.
pub(super) fn fail(property: Property, detail: impl Into<String>) -> PropertyFailure {
    PropertyFailure {
        property,
        detail: detail.into(),
    }
}
