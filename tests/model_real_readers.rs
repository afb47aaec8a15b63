//! Real readers on model output. Needs makedumpfile and python3-libkdumpfile (installed by CI; these
//! tests fail, not skip, when they are missing).
//!
//! - libkdumpfile 0.5.1 opens generated raw dumps and every page it reads equals the model's page; pages
//!   the model says are excluded or not in memory raise `NoDataException`.
//! - `makedumpfile -R` of generated flattened dumps gives exactly our raw output.

use std::io::Write;
use std::process::{Command, Stdio};

use kdump_flat::harness::write_case;
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::model::{ExpectedPage, Layout, Machine};

/// Compares libkdumpfile's reading of every pfn of `raw` with the model; returns the first mismatch.
fn libkdumpfile_agrees(layout: &Layout, raw: &[u8]) -> Result<(), String> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(raw).unwrap();
    let output = Command::new("timeout")
        .args([
            "60",
            "/usr/bin/python3",
            "tests/support/libkdumpfile_pages.py",
        ])
        .arg(file.path())
        .arg(layout.page_bytes().to_string())
        .arg(layout.max_mapnr().to_string())
        .output()
        .expect("cannot run /usr/bin/python3 (python3-libkdumpfile is required)");
    if !output.status.success() {
        return Err(format!(
            "libkdumpfile failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default().to_string();
    let mut seen = 0;
    for line in lines {
        let mut parts = line.split(' ');
        let pfn: u64 = parts.next().unwrap().parse().unwrap();
        let state = parts.next().unwrap();
        let expected = layout.expected_page(pfn);
        let agrees = match (state, &expected) {
            ("data", ExpectedPage::Data(bytes)) => {
                let hex = parts.next().unwrap();
                hex.len() == 2 * bytes.len()
                    && bytes
                        .iter()
                        .enumerate()
                        .all(|(i, b)| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16) == Ok(*b))
            }
            ("nodata", ExpectedPage::Excluded | ExpectedPage::NotInMemory) => true,
            _ => false,
        };
        if !agrees {
            let model = match expected {
                ExpectedPage::Data(_) => "data",
                ExpectedPage::Excluded => "excluded",
                ExpectedPage::NotInMemory => "not in memory",
            };
            return Err(format!(
                "pfn {pfn}: libkdumpfile reads {state}, the model says {model} ({header})"
            ));
        }
        seen += 1;
    }
    if seen != layout.max_mapnr() {
        return Err(format!(
            "libkdumpfile listed {seen} pfns of {}",
            layout.max_mapnr()
        ));
    }
    Ok(())
}

/// A random layout made readable by libkdumpfile 0.5.1 on `machine`: the `NT_PRSTATUS` notes get the
/// machine's real `elf_prstatus` size (0.5.1 crashes on a ppc64 dump with a shorter one).
fn layout_for(seed: u64, machine: Machine) -> Layout {
    let mut layout = layout_from_seed(seed, SizeClass::Small);
    layout.machine = machine;
    layout.notes.prstatus_size = match machine {
        Machine::X86_64 | Machine::S390x => 336,
        Machine::Aarch64 => 392,
        Machine::Ppc64 | Machine::Ppc64le => 504,
        Machine::I386 | Machine::Arm | Machine::Ppc => 144,
    };
    layout
}

fn check_libkdumpfile(machine: Machine, seeds: std::ops::Range<u64>) {
    let mut failures = Vec::new();
    for seed in seeds {
        let layout = layout_for(seed, machine);
        let output = write_case(&layout).unwrap();
        if let Err(e) = libkdumpfile_agrees(&layout, &output.raw) {
            failures.push(format!("seed {seed} ({}): {e}", layout.summary()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn libkdumpfile_reads_every_page_as_the_model_says_x86_64() {
    check_libkdumpfile(Machine::X86_64, 0..40);
}

#[test]
fn libkdumpfile_reads_every_page_as_the_model_says_other_machines() {
    for machine in [
        Machine::Aarch64,
        Machine::S390x,
        Machine::Ppc64,
        Machine::Ppc64le,
        Machine::I386,
    ] {
        check_libkdumpfile(machine, 100..110);
    }
}

#[test]
fn makedumpfile_r_of_model_flattened_dumps_equals_our_raw_output() {
    let mut failures = Vec::new();
    for seed in 0..40 {
        let size = if seed % 8 == 0 {
            SizeClass::Medium
        } else {
            SizeClass::Small
        };
        let layout = layout_from_seed(seed, size);
        let output = write_case(&layout).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join("raw");
        let mut child = Command::new("timeout")
            .args(["60", "makedumpfile", "-R"])
            .arg(&out_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run makedumpfile (it is required)");
        child.stdin.take().unwrap().write_all(&output.flat).unwrap();
        let result = child.wait_with_output().unwrap();
        if !result.status.success() {
            failures.push(format!(
                "seed {seed}: makedumpfile -R failed ({}): {}",
                result.status,
                String::from_utf8_lossy(&result.stderr)
            ));
            continue;
        }
        let theirs = std::fs::read(&out_path).unwrap();
        if theirs != output.raw {
            let at = theirs.iter().zip(&output.raw).position(|(a, b)| a != b);
            failures.push(format!(
                "seed {seed}: makedumpfile -R gives {} bytes, ours {} (first difference {at:?})",
                theirs.len(),
                output.raw.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Known to fail with libkdumpfile 0.5.1 (Debian 12): it reads every 32-bit sub-header with the packed
/// i386 layout, so makedumpfile's padded arm/ppc sub-header gives it max_pfn 0 and no page at all.
/// Current libkdumpfile has `kdump_sub_header_32pad` for these machines; run this with a newer one.
#[test]
#[ignore = "libkdumpfile 0.5.1 does not know the padded 32-bit sub-header (arm, ppc)"]
fn libkdumpfile_reads_padded_32bit_makedumpfile_dumps() {
    for machine in [Machine::Arm, Machine::Ppc] {
        check_libkdumpfile(machine, 100..104);
    }
}
