//! `kdump-flat selftest [--cases N] [--seed S] [--size small|medium|large]`: runs the harness properties
//! P1–P5 on N random layouts (QEMU's and makedumpfile's writers; makedumpfile's in its non-cyclic and
//! cyclic modes, with `--num-threads`, `-b` and `--split` sets, and other writers' layouts), prints a
//! per-property summary, how many cases used each writer, mode and other writer's layout, the P5 detection
//! rates (split sets apart) and, on a failure, the seed,
//! the shrunk layout and a reproducer file.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use super::count;
use crate::harness::{
    panic_message, run_case, CaseOptions, CaseReport, InjectedFault, Outcome, Property,
};
use crate::model::edges::{boundaries_of, Boundary, ALL_BOUNDARIES};
use crate::model::gen::{layout_from_seed, shrink_layout, SizeClass};
use crate::model::makedumpfile::{layout_cyclic_buffer, layout_split_ranges};
use crate::model::{CyclicMode, Layout, MakedumpfileMode, WriterKind};
use crate::output::AtomicOutput;

use super::{CliResult, Failure};

/// Arguments of `selftest`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  kdump-flat selftest                               300 small random layouts
  kdump-flat selftest --cases 2000 --size medium --seed 42
  kdump-flat selftest --layout selftest-failure-seed-42.json   rerun a reproducer

Exit status: 0 every property holds, 1 a property failed (a reproducer is written), 2 usage or I/O error.")]
pub struct Args {
    /// Number of random layouts.
    #[arg(long, default_value_t = 300)]
    pub cases: u64,
    /// Seed of the first case (case i uses seed S + i); random if not given.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Size class of the layouts.
    #[arg(long, value_enum, default_value_t = SizeClass::Small)]
    pub size: SizeClass,
    /// Run one case from a layout file (a reproducer) instead of random ones.
    #[arg(long, conflicts_with_all = ["cases", "seed"])]
    pub layout: Option<PathBuf>,
    /// Single-byte corruptions tried per structure per case (P5); 0 skips P5.
    #[arg(long, default_value_t = 2)]
    pub corruptions: u32,
    /// Directory for reproducer files of failing cases.
    #[arg(long, default_value = ".")]
    pub reproducer_dir: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Test hook: inject a fault into every case (the tests of selftest's failure reports use it).
    #[arg(long, value_enum, hide = true)]
    pub inject_fault: Option<InjectedFault>,
}

/// What selftest cannot see, and which tests cover it: (class of bug, why P1–P5 miss it, covering tests).
pub const BLIND_SPOTS: [(&str, &str, &str); 3] = [
    (
        "write order",
        "P1-P5 compare the finished files, not the order or size of the writes (e.g. a changed cache flush order)",
        "model_snapshots:: (write sequences under insta snapshots), model_qemu_oracle:: and model_makedumpfile_oracle:: (real QEMU and makedumpfile)",
    ),
    (
        "agreement with real tools",
        "the model and the reader are both this crate's: a shared misreading of the format passes",
        "model_real_readers::, kdump_oracle::, real_dumps:: (libkdumpfile, makedumpfile -R, QEMU dumps)",
    ),
    (
        "input arrival and I/O faults",
        "cases are written and read in memory, in one piece",
        "flat_io_faults::, flat_reader:: (short reads, late trailing bytes, short writes, EINTR)",
    ),
];

/// Counts of one property over all cases.
#[derive(Debug, Clone, Serialize)]
struct PropertyTally {
    /// What the property is about, in a few words (`Property::name`).
    name: &'static str,
    /// What it checks (`Property::description`).
    description: &'static str,
    pass: u64,
    fail: u64,
    not_wired: u64,
    not_wired_reason: Option<&'static str>,
}

/// One failing case.
#[derive(Debug, Clone, Serialize)]
struct CaseFailure {
    seed: Option<u64>,
    property: Property,
    detail: String,
}

/// How many cases used each writer and each of makedumpfile's write modes.
#[derive(Debug, Default, Clone, Serialize)]
struct ModeCounts {
    /// Cases written by QEMU's sequence.
    qemu: u64,
    /// Cases written by makedumpfile's sequence.
    makedumpfile: u64,
    /// makedumpfile cases by bitmap mode as written: non-cyclic.
    non_cyclic: u64,
    /// makedumpfile cases written cyclic in one cycle.
    cyclic_one_cycle: u64,
    /// makedumpfile cases written cyclic in several cycles.
    cyclic_several_cycles: u64,
    /// makedumpfile cases whose buffer makedumpfile chose itself (no `--cyclic-buffer`).
    automatic_buffer: u64,
    /// makedumpfile cases with an explicit cyclic buffer.
    explicit_buffer: u64,
    /// makedumpfile cases with `--num-threads`.
    num_threads: u64,
    /// makedumpfile cases with `-b` other than 4.
    block_order: u64,
    /// makedumpfile cases written with `--split`.
    split_sets: u64,
    /// Files of those sets.
    split_files: u64,
    /// Files of those sets without any page of their own.
    split_files_without_pages: u64,
    /// makedumpfile cases laid out as another writer does, per variant (`Deviations::names`).
    other_writers: BTreeMap<&'static str, u64>,
}

impl ModeCounts {
    fn add(&mut self, layout: &Layout) {
        if layout.writer == WriterKind::Qemu {
            self.qemu += 1;
            return;
        }
        self.makedumpfile += 1;
        for name in layout.deviations.names() {
            *self.other_writers.entry(name).or_default() += 1;
        }
        match layout_cyclic_buffer(layout) {
            None => self.non_cyclic += 1,
            Some(bytes) if layout.max_mapnr() <= bytes.saturating_mul(8) => {
                self.cyclic_one_cycle += 1
            }
            Some(_) => self.cyclic_several_cycles += 1,
        }
        match layout.mode.cyclic {
            CyclicMode::NonCyclic => {}
            CyclicMode::Automatic { .. } => self.automatic_buffer += 1,
            CyclicMode::Buffer { .. } => self.explicit_buffer += 1,
        }
        self.num_threads += u64::from(layout.mode.num_threads > 0);
        self.block_order +=
            u64::from(layout.mode.block_order != MakedumpfileMode::default().block_order);
        if let Some(ranges) = layout_split_ranges(layout) {
            self.split_sets += 1;
            self.split_files += ranges.len() as u64;
            self.split_files_without_pages += ranges
                .iter()
                .filter(|&&(start, end)| {
                    !layout.dumped_pfns().any(|pfn| (start..end).contains(&pfn))
                })
                .count() as u64;
        }
    }
}

/// The whole run, for `--json`.
#[derive(Debug, Serialize)]
struct Summary {
    cases: u64,
    size: SizeClass,
    seed: Option<u64>,
    modes: ModeCounts,
    /// Cases sitting on each boundary the generator draws on purpose (a case may sit on several).
    boundaries: BTreeMap<Boundary, u64>,
    properties: BTreeMap<Property, PropertyTally>,
    corruption: BTreeMap<String, (u64, u64)>,
    /// Up to 50 undetected corruptions: (seed, structure, byte offset).
    undetected: Vec<(Option<u64>, String, u64)>,
    failures: Vec<CaseFailure>,
    shrunk_layout: Option<Layout>,
    reproducer: Option<PathBuf>,
    /// What selftest cannot see: (class, why, covering tests), as [`BLIND_SPOTS`].
    not_seen: Vec<(&'static str, &'static str, &'static str)>,
    ok: bool,
}

/// Runs `selftest`.
pub fn run(args: Args) -> CliResult {
    let started = Instant::now();
    let options = CaseOptions {
        corruption_seed: 0,
        corruption_trials: args.corruptions,
        fault: args.inject_fault,
    };
    let (cases, base_seed) = choose_cases(&args)?;
    let mut stdout = io::stdout();
    if !args.json {
        writeln!(
            stdout,
            "kdump-flat selftest: {}, size {}, {}",
            count(cases.len() as u64, "case"),
            args.size
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_string()),
            match base_seed {
                Some(seed) => format!("seed {seed}"),
                None => "layout from file".into(),
            }
        )?;
    }
    let reports = run_cases(&cases, &options);
    let mut tally = Tally::of(&reports);
    let (shrunk_layout, reproducer) = match tally.failures.first().cloned() {
        Some(first) => {
            let (layout, path, problems) =
                shrink_and_save(&cases, &first, &options, &args.reproducer_dir);
            tally.failures.extend(problems);
            (Some(layout), path)
        }
        None => (None, None),
    };
    let ok = tally.failures.is_empty();
    let mut modes = ModeCounts::default();
    let mut boundaries: BTreeMap<Boundary, u64> = ALL_BOUNDARIES.iter().map(|&b| (b, 0)).collect();
    for (_, layout) in &cases {
        modes.add(layout);
        for boundary in boundaries_of(layout) {
            *boundaries.entry(boundary).or_default() += 1;
        }
    }
    let summary = Summary {
        cases: reports.len() as u64,
        size: args.size,
        seed: base_seed,
        modes,
        boundaries,
        properties: tally.properties,
        corruption: tally.corruption,
        undetected: tally.undetected,
        failures: tally.failures,
        shrunk_layout,
        reproducer,
        not_seen: BLIND_SPOTS.to_vec(),
        ok,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &summary).map_err(|e| Failure::Io(e.into()))?;
        writeln!(stdout)?;
    } else {
        print_summary(&mut stdout, &summary, started.elapsed().as_secs_f64())?;
    }
    if ok {
        Ok(())
    } else {
        Err(Failure::Invalid(anyhow::anyhow!(
            "{} property failure(s); reproducer: {}",
            summary.failures.len(),
            summary
                .reproducer
                .as_ref()
                .map_or("-".into(), |p| p.display().to_string())
        )))
    }
}

/// One case to run: its seed (`None` for a layout from a file) and its layout.
type Case = (Option<u64>, Layout);

/// The cases the arguments ask for and the base seed (`None` for a layout from a file).
fn choose_cases(args: &Args) -> Result<(Vec<Case>, Option<u64>), Failure> {
    Ok(match &args.layout {
        Some(path) => (vec![(None, super::gen::read_layout(path)?)], None),
        None => {
            let base = args
                .seed
                .unwrap_or_else(|| u64::from(rand::random::<u32>()));
            (
                (0..args.cases)
                    .map(|i| {
                        let seed = base.wrapping_add(i);
                        (Some(seed), layout_from_seed(seed, args.size))
                    })
                    .collect(),
                Some(base),
            )
        }
    })
}

/// Runs every case in parallel with a progress bar (P5 seeded by the case's seed).
fn run_cases(cases: &[Case], options: &CaseOptions) -> Vec<(Option<u64>, CaseReport)> {
    let progress = ProgressBar::new(cases.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let failed = AtomicU64::new(0);
    let reports = cases
        .par_iter()
        .map(|(seed, layout)| {
            let case_options = CaseOptions {
                corruption_seed: seed.unwrap_or(0) ^ 0x5eed,
                ..*options
            };
            let report = run_case(layout, &case_options);
            if report.first_failure().is_some() {
                let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
                progress.set_message(format!("{n} failing"));
            }
            progress.inc(1);
            (*seed, report)
        })
        .collect();
    progress.finish_and_clear();
    reports
}

/// The cases' outcomes added up.
#[derive(Default)]
struct Tally {
    properties: BTreeMap<Property, PropertyTally>,
    corruption: BTreeMap<String, (u64, u64)>,
    /// Up to 50 undetected corruptions: (seed, structure, byte offset).
    undetected: Vec<(Option<u64>, String, u64)>,
    failures: Vec<CaseFailure>,
}

impl Tally {
    fn of(reports: &[(Option<u64>, CaseReport)]) -> Self {
        let mut tally = Tally::default();
        for (seed, report) in reports {
            for (structure, at) in &report.undetected {
                if tally.undetected.len() < 50 {
                    tally.undetected.push((*seed, structure.clone(), *at));
                }
            }
            for (property, outcome) in &report.outcomes {
                tally.add_outcome(*seed, *property, outcome);
            }
            for (structure, (detected, tried)) in &report.corruption {
                let entry = tally.corruption.entry(structure.clone()).or_default();
                entry.0 += detected;
                entry.1 += tried;
            }
        }
        tally
    }

    fn add_outcome(&mut self, seed: Option<u64>, property: Property, outcome: &Outcome) {
        let counts = self
            .properties
            .entry(property)
            .or_insert_with(|| PropertyTally {
                name: property.name(),
                description: property.description(),
                pass: 0,
                fail: 0,
                not_wired: 0,
                not_wired_reason: None,
            });
        match outcome {
            Outcome::Pass => counts.pass += 1,
            Outcome::Fail(detail) => {
                counts.fail += 1;
                self.failures.push(CaseFailure {
                    seed,
                    property,
                    detail: detail.clone(),
                });
            }
            Outcome::NotWired(reason) => {
                counts.not_wired += 1;
                counts.not_wired_reason = Some(reason);
            }
        }
    }
}

/// Shrinks the first failing case and saves the result as the reproducer: (the layout saved, its path,
/// failures of this step). A panic while shrinking is itself a failure, and the unshrunk layout is saved
/// instead; a reproducer that cannot be saved is a failure too, and the run still reports.
fn shrink_and_save(
    cases: &[Case],
    first: &CaseFailure,
    options: &CaseOptions,
    dir: &Path,
) -> (Layout, Option<PathBuf>, Vec<CaseFailure>) {
    let original = cases
        .iter()
        .find(|(seed, _)| *seed == first.seed)
        .map(|(_, l)| l.clone())
        .expect("the failing case is one of the cases");
    let (seed, property) = (first.seed, first.property);
    let mut problems = Vec::new();
    let shrunk = catch_unwind(AssertUnwindSafe(|| {
        shrink_layout(&original, 400, |candidate| {
            if options.fault == Some(InjectedFault::PanicWhileShrinking) {
                panic!("injected panic while shrinking (test hook)");
            }
            run_case(candidate, options)
                .outcomes
                .get(&property)
                .is_some_and(|o| matches!(o, Outcome::Fail(_)))
        })
    }))
    .unwrap_or_else(|panic| {
        problems.push(CaseFailure {
            seed,
            property,
            detail: format!(
                "shrinking panicked: {}; the reproducer is the unshrunk layout",
                panic_message(panic.as_ref())
            ),
        });
        original.clone()
    });
    let name = match seed {
        Some(seed) => format!("selftest-failure-seed-{seed}.json"),
        None => "selftest-failure-layout.json".into(),
    };
    let path = dir.join(name);
    // a panicking property here is already a failure (run_case guards each one)
    let shrunk_failure = run_case(&shrunk, options)
        .outcomes
        .get(&property)
        .and_then(|outcome| match outcome {
            Outcome::Fail(detail) => Some(detail.clone()),
            _ => None,
        });
    let saved = match save_reproducer(&path, &shrunk, property, shrunk_failure.as_deref()) {
        Ok(()) => Some(path),
        Err(error) => {
            problems.push(CaseFailure {
                seed,
                property,
                detail: format!("cannot save the reproducer {}: {error:#}", path.display()),
            });
            None
        }
    };
    (shrunk, saved, problems)
}

/// Writes the reproducer of `layout` to `path` (replacing an older one of the same name).
fn save_reproducer(
    path: &Path,
    layout: &Layout,
    property: Property,
    detail: Option<&str>,
) -> anyhow::Result<()> {
    let json = reproducer_json(layout, property, detail)?;
    let mut out = AtomicOutput::create(path, true)?;
    std::io::Write::write_all(out.file(), json.as_bytes())?;
    out.commit()?;
    Ok(())
}

/// The reproducer file: the shrunk layout (what `selftest --layout` and `gen --layout` read), with a note
/// of how it fails: the property and its detail, which for a comparison of two dumps holds their
/// structural diff (`kdump-flat diff`). The note is ignored when the file is read back as a layout.
fn reproducer_json(
    layout: &Layout,
    property: Property,
    detail: Option<&str>,
) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(layout)?;
    if let serde_json::Value::Object(fields) = &mut value {
        let lines: Vec<&str> = detail.map_or(Vec::new(), |d| d.lines().collect());
        fields.insert(
            "failure".into(),
            serde_json::json!({"property": property, "detail": lines}),
        );
    }
    serde_json::to_string_pretty(&value)
}

fn print_summary(out: &mut dyn Write, summary: &Summary, seconds: f64) -> io::Result<()> {
    let m = &summary.modes;
    writeln!(
        out,
        "  writers: qemu {}, makedumpfile {} (non-cyclic {}, cyclic in one cycle {}, in several cycles {}; \
         automatic buffer {}, explicit {}; --num-threads {}; -b other than 4 {}; --split {} sets of {} files, \
         {} without pages)",
        m.qemu,
        m.makedumpfile,
        m.non_cyclic,
        m.cyclic_one_cycle,
        m.cyclic_several_cycles,
        m.automatic_buffer,
        m.explicit_buffer,
        m.num_threads,
        m.block_order,
        m.split_sets,
        m.split_files,
        m.split_files_without_pages
    )?;
    let variants: Vec<String> = [
        "notes-after-data",
        "data-reversed",
        "data-shuffled",
        "sub-hdr-size-0",
        "split-timestamps",
        "split-gaps",
    ]
    .iter()
    .map(|name| format!("{name} {}", m.other_writers.get(name).copied().unwrap_or(0)))
    .collect();
    writeln!(
        out,
        "  other writers' layouts (makedumpfile cases): {}",
        variants.join(", ")
    )?;
    let on_boundary: Vec<String> = summary
        .boundaries
        .iter()
        .map(|(boundary, cases)| format!("{boundary:?} {cases}"))
        .collect();
    writeln!(out, "  cases on boundaries: {}", on_boundary.join(", "))?;
    for property in Property::ALL {
        let Some(tally) = summary.properties.get(&property) else {
            continue;
        };
        let mut line = format!(
            "  {property} {:<58} {:>5} pass {:>4} fail",
            property.description(),
            tally.pass,
            tally.fail
        );
        if tally.not_wired > 0 {
            line.push_str(&format!(
                "  {} not wired ({})",
                tally.not_wired,
                tally.not_wired_reason.unwrap_or("")
            ));
        }
        writeln!(out, "{line}")?;
    }
    if !summary.corruption.is_empty() {
        writeln!(out, "  P5 detection rate per structure (detected/tried):")?;
        for (structure, (detected, tried)) in &summary.corruption {
            writeln!(
                out,
                "     {structure:<26} {detected:>6}/{tried:<6} {:>5.1}%",
                100.0 * *detected as f64 / (*tried).max(1) as f64
            )?;
        }
    }
    for failure in summary.failures.iter().take(10) {
        writeln!(
            out,
            "  FAIL {} seed {}: {}",
            failure.property,
            failure.seed.map_or("-".into(), |s| s.to_string()),
            failure.detail
        )?;
    }
    if let (Some(layout), Some(path)) = (&summary.shrunk_layout, &summary.reproducer) {
        writeln!(out, "  shrunk layout: {}", layout.summary())?;
        writeln!(
        out,
            "  reproducer: {}  (rerun: kdump-flat selftest --layout {0}; dump it: kdump-flat gen --layout {0} OUT)",
            path.display()
        )?;
    }
    writeln!(out, "  not seen by selftest (covered by other tests):")?;
    for (class, why, tests) in BLIND_SPOTS {
        writeln!(out, "     {class}: {why}; see {tests}")?;
    }
    writeln!(
        out,
        "result: {} ({} in {seconds:.1} s)",
        if summary.ok { "ok" } else { "FAILED" },
        count(summary.cases, "case")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reproducer_notes_the_failure_and_reads_back_as_the_layout() {
        let layout = layout_from_seed(3, SizeClass::Small);
        let detail = "first difference at offset 0x1cc; structural diff (kdump-flat diff reassembled raw):\n    header: 1 difference\n      nr_cpus: A 1 | B 2";
        let json = reproducer_json(&layout, Property::P1, Some(detail)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["failure"]["property"], "P1");
        assert_eq!(value["failure"]["detail"][2], "      nr_cpus: A 1 | B 2");
        let read_back: Layout = serde_json::from_str(&json).unwrap();
        assert_eq!(read_back, layout);
    }
}
