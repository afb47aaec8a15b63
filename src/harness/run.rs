//! Running every property on one layout ([`run_case`]) and the case's report.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::Serialize;

use crate::model::Layout;

use super::case::write_case;
use super::p1_reassembly::{p1_flat_reassembles_to_raw, p1_set_joins_to_one_file};
use super::p2_extents::p2_raw_extent_matches_layout;
use super::p3_read_back::p3_pages_read_back;
use super::p4_check::p4_check_passes;
use super::p5_corruption::p5_corruption_is_detected;
use super::p6_elf::p6_elf_agrees_with_raw_and_flat;
use super::property::{fail, Property, PropertyFailure};

/// The outcome of one property on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The property held.
    Pass,
    /// It did not.
    Fail(String),
    /// The property needs a part of the crate that is not there yet.
    NotWired(&'static str),
}

/// The results of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The outcome per property.
    pub outcomes: BTreeMap<Property, Outcome>,
    /// P5 trials per structure: (detected, tried).
    pub corruption: BTreeMap<String, (u64, u64)>,
    /// P5 corruptions nobody noticed: (structure, byte offset in the raw or flattened file).
    pub undetected: Vec<(String, u64)>,
}

impl CaseReport {
    /// The first failure, if any.
    pub fn first_failure(&self) -> Option<PropertyFailure> {
        self.outcomes.iter().find_map(|(p, o)| match o {
            Outcome::Fail(detail) => Some(fail(*p, detail.clone())),
            _ => None,
        })
    }
}

/// Options of [`run_case`].
#[derive(Debug, Clone, Copy)]
pub struct CaseOptions {
    /// Seed for P5's choice of bytes.
    pub corruption_seed: u64,
    /// Corruption trials per structure (0 skips P5).
    pub corruption_trials: u32,
    /// A fault to inject, for the tests of selftest's own failure handling; `None` in every real run.
    pub fault: Option<InjectedFault>,
}

/// A fault the harness injects on purpose (`selftest --inject-fault`, hidden): the tests use it to check
/// that a failing property, a panicking property and a panic while shrinking are all reported with the
/// seed and a reproducer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum InjectedFault {
    /// P3 fails on every layout.
    FailP3,
    /// P5 panics on every layout (as an out-of-bounds index in a corruption step would).
    PanicInP5,
    /// P3 fails on every layout, and checking a shrink candidate panics.
    PanicWhileShrinking,
}

impl Default for CaseOptions {
    fn default() -> Self {
        CaseOptions {
            corruption_seed: 0,
            corruption_trials: 2,
            fault: None,
        }
    }
}

/// Runs every property on one layout.
pub fn run_case(layout: &Layout, options: &CaseOptions) -> CaseReport {
    let mut outcomes = BTreeMap::new();
    let mut corruption = BTreeMap::new();
    let mut undetected = Vec::new();
    let output = match guarded(|| write_case(layout)) {
        Ok(o) => o,
        Err(detail) => {
            outcomes.insert(Property::P1, Outcome::Fail(detail));
            return CaseReport {
                outcomes,
                corruption,
                undetected,
            };
        }
    };
    // each property runs guarded: a panic is that property's failure, never the end of the run
    let judge = |check: &dyn Fn() -> Result<(), PropertyFailure>| match guarded(check) {
        Ok(()) => Outcome::Pass,
        Err(detail) => Outcome::Fail(detail),
    };
    outcomes.insert(
        Property::P1,
        judge(&|| {
            p1_flat_reassembles_to_raw(&output)
                .and_then(|()| p1_set_joins_to_one_file(layout, &output))
        }),
    );
    outcomes.insert(
        Property::P2,
        judge(&|| p2_raw_extent_matches_layout(layout, &output)),
    );
    let injected_p3_failure = matches!(
        options.fault,
        Some(InjectedFault::FailP3 | InjectedFault::PanicWhileShrinking)
    );
    outcomes.insert(
        Property::P3,
        judge(&|| {
            if injected_p3_failure {
                return Err(fail(Property::P3, "injected failure (test hook)"));
            }
            p3_pages_read_back(layout, &output)
        }),
    );
    outcomes.insert(Property::P4, judge(&|| p4_check_passes(layout, &output)));
    outcomes.insert(
        Property::P6,
        judge(&|| p6_elf_agrees_with_raw_and_flat(layout, &output)),
    );
    if options.corruption_trials > 0 {
        match guarded(|| {
            if options.fault == Some(InjectedFault::PanicInP5) {
                panic!("injected panic (test hook)");
            }
            p5_corruption_is_detected(
                layout,
                &output,
                options.corruption_seed,
                options.corruption_trials,
            )
        }) {
            Ok(stats) => {
                corruption = stats.per_structure;
                undetected = stats.undetected;
                outcomes.insert(Property::P5, Outcome::Pass);
            }
            Err(detail) => {
                outcomes.insert(Property::P5, Outcome::Fail(detail));
            }
        }
    }
    CaseReport {
        outcomes,
        corruption,
        undetected,
    }
}

/// Runs one step of a case; a failure gives its detail, a panic becomes a failure that says so (a bug in a
/// writer or reader must be reported with its seed, never end the run).
fn guarded<T>(step: impl FnOnce() -> Result<T, PropertyFailure>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(step)) {
        Ok(result) => result.map_err(|e| e.detail),
        Err(panic) => Err(format!("panicked: {}", panic_message(panic.as_ref()))),
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".into())
}
