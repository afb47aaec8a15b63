//! Replays every committed fuzz input through its target's logic (`kdump_flat::fuzzing`): the seed corpora
//! under `corpus/<target>/`, the inputs of crashes found by fuzzing under `corpus/regressions/<target>/`,
//! and (for the flattened-format targets) `corpus/flat/`. Each target's own `smoke` test, in its module,
//! runs it on ~100 generated inputs.
//!
//! `cargo test --test all -- --ignored fuzz_corpus::generate_seed_corpora` rewrites the generated seeds (from
//! `corpus/real/` and the model); the committed seeds are its output.

use std::fs;
use std::path::{Path, PathBuf};

use kdump_flat::compress::{compress, Compression, ALL_COMPRESSIONS};
use kdump_flat::fuzzing::smoke::{behind_flat_header, random_bytes, SmokeLoop};
use kdump_flat::fuzzing::TARGETS;
use kdump_flat::harness::write_case;
use kdump_flat::kdump::{KdumpFile, PageContent};
use kdump_flat::model::gen::{layout_from_seed, SizeClass};
use kdump_flat::readat::ReadAt;
use kdump_flat::sink::{DumpSink, FlatSink};

fn corpus_dir(parts: &[&str]) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for part in parts {
        dir.push(part);
    }
    dir
}

/// The files of `dir` (none if it does not exist), sorted, README and scripts left out.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            !name.ends_with(".md") && !name.ends_with(".py") && !name.ends_with(".sh")
        })
        .collect();
    files.sort();
    files
}

/// The directories replayed through `target`.
fn replay_dirs(target: &str) -> Vec<PathBuf> {
    let mut dirs = vec![corpus_dir(&[target]), corpus_dir(&["regressions", target])];
    if ["parse_flat", "index_vs_replay", "reassemble"].contains(&target) {
        dirs.push(corpus_dir(&["flat"]));
    }
    dirs
}

#[test]
fn every_seed_and_regression_input_passes_its_target() {
    let mut replayed = 0;
    for (target, run) in TARGETS {
        let mut own_seeds = 0;
        for dir in replay_dirs(target) {
            for file in inputs(&dir) {
                let data = fs::read(&file).expect("reading a corpus file");
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target} fails on {}", file.display());
                replayed += 1;
                if dir == corpus_dir(&[target]) {
                    own_seeds += 1;
                }
            }
        }
        assert!(own_seeds > 0, "no seed under corpus/{target}/");
    }
    println!("replayed {replayed} inputs");
}

/// Every target on 100 generated inputs: random bytes, and random bytes behind a valid flattened header (so
/// that the flattened parsers get past it). The targets' own `smoke` tests add inputs shaped for each.
#[test]
fn every_target_survives_generated_inputs() {
    for (target, run) in TARGETS {
        let smoke = SmokeLoop {
            target,
            seed: 23,
            rounds: 100,
        };
        smoke.run(run, |rng, round| {
            let data = random_bytes(rng, 1024);
            if round % 2 == 1 {
                vec![behind_flat_header(&data)]
            } else {
                vec![data]
            }
        });
    }
}

#[test]
fn the_seed_corpora_stay_small() {
    let mut total = 0;
    for (target, _) in TARGETS {
        for file in inputs(&corpus_dir(&[target])) {
            total += fs::metadata(file).unwrap().len();
        }
    }
    assert!(total < 5 << 20, "seed corpora take {total} bytes");
}

/// Writes the generated seed corpora. Run by hand when the generators change; the output is committed.
#[test]
#[ignore]
fn generate_seed_corpora() {
    let real = |name: &str| fs::read(corpus_dir(&["real", name])).expect(name);
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = corpus_dir(&[target]);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    };
    let real_flat = [
        "fw-q72.kdump-zlib.flat",
        "fw-q10.kdump-zlib.flat",
        "fw-mdf-lzo-d1.flat",
        "fw-mdf-zstd-d1.flat",
        "fw-mdf-elf-d1.flat",
    ];
    let real_raw = [
        "fw-q10.kdump-raw-zlib",
        "fw-mdf-lzo-d1",
        "fw-mdf-split-d1.1",
        "fw-mdf-split-d1.2",
        "mdf-split-d31.2",
    ];

    // Flattened targets: the first records of each real flattened dump, closed by an end marker (valid
    // streams with the real tools' record patterns), at most 64 KiB of payload each.
    for name in real_flat {
        let bytes = real(name);
        let prefix = first_records(&bytes, 24, 64 << 10);
        for target in ["parse_flat", "index_vs_replay", "reassemble"] {
            write(target, &format!("{name}.first-records"), &prefix);
        }
    }

    // parse_kdump: the first 8 KiB of each real raw dump (header, sub-header, notes), the same bytes as a
    // flattened file, and whole small dumps written by the model (both writers, every machine and codec).
    for name in real_raw {
        let bytes = real(name);
        let head = &bytes[..bytes.len().min(8192)];
        write("parse_kdump", &format!("{name}.head"), head);
        write("parse_kdump", &format!("{name}.head.flat"), &flatten(head));
    }
    for seed in 0..24u64 {
        let layout = layout_from_seed(seed, SizeClass::Small);
        let output = write_case(&layout).expect("the model writes its own layouts");
        if output.raw.len() > 96 << 10 {
            continue;
        }
        let name = format!(
            "model-{seed}-{}-{}-{}",
            layout.writer, layout.machine, layout.compression
        )
        .replace(' ', "_");
        write("parse_kdump", &name, &output.raw);
        if seed % 4 == 0 {
            write("parse_kdump", &format!("{name}.flat"), &output.flat);
        }
    }

    // decompress: real compressed pages (zlib from QEMU, lzo and zstd from makedumpfile) and snappy
    // pages, behind the selector byte 0 (a 4 KiB page).
    let mut seeds_per_method = std::collections::BTreeMap::<String, u32>::new();
    for name in ["fw-q10.kdump-raw-zlib", "fw-mdf-lzo-d1"] {
        collect_pages(&real(name), &mut |method, packed| {
            let count = seeds_per_method.entry(method.to_string()).or_default();
            if *count < 4 {
                *count += 1;
                let mut seed = vec![0u8];
                seed.extend_from_slice(packed);
                write("decompress", &format!("{name}.{method}.{count}"), &seed);
            }
        });
    }
    let zstd_flat = real("fw-mdf-zstd-d1.flat");
    let zstd_raw =
        kdump_flat::harness::reassemble_bytes(&zstd_flat).expect("reassembling a real dump");
    collect_pages(&zstd_raw, &mut |method, packed| {
        let count = seeds_per_method.entry(method.to_string()).or_default();
        if *count < 4 {
            *count += 1;
            let mut seed = vec![0u8];
            seed.extend_from_slice(packed);
            write(
                "decompress",
                &format!("fw-mdf-zstd-d1.{method}.{count}"),
                &seed,
            );
        }
    });
    let page: Vec<u8> = (0..4096u32).map(|i| (i / 13) as u8).collect();
    for method in ALL_COMPRESSIONS {
        let mut seed = vec![0u8];
        seed.extend_from_slice(&compress(method, &page));
        write("decompress", &format!("generated.{method}"), &seed);
    }

    // model_roundtrip: bytes that `arbitrary_layout` turns into layouts (as `layout_from_seed` does).
    use rand::{RngCore, SeedableRng};
    for seed in 0..8u64 {
        let mut bytes = vec![0u8; 512];
        rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
        write("model_roundtrip", &format!("chacha-{seed}"), &bytes);
    }
    write("model_roundtrip", "zeros", &[0u8; 256]);
    write("model_roundtrip", "ones", &[0xffu8; 256]);
}

/// The flattened header, the first `max_records` records of `flat` (at most `max_payload` payload bytes
/// in all) and an end marker.
fn first_records(flat: &[u8], max_records: usize, max_payload: usize) -> Vec<u8> {
    let mut out = flat[..4096].to_vec();
    let mut position = 4096;
    let mut payload = 0;
    for _ in 0..max_records {
        let offset = i64::from_be_bytes(flat[position..position + 8].try_into().unwrap());
        let size = i64::from_be_bytes(flat[position + 8..position + 16].try_into().unwrap());
        if offset < 0 || payload + size as usize > max_payload {
            break;
        }
        let end = position + 16 + size as usize;
        out.extend_from_slice(&flat[position..end]);
        payload += size as usize;
        position = end;
    }
    out.extend_from_slice(&[0xff; 16]);
    out
}

/// `bytes` as a flattened file of one record.
fn flatten(bytes: &[u8]) -> Vec<u8> {
    let mut sink = FlatSink::new(Vec::new());
    sink.write_at(0, bytes).unwrap();
    sink.finish().unwrap();
    sink.into_inner()
}

/// Calls `visit` with the stored bytes of every compressed page of the raw dump `bytes`.
fn collect_pages(bytes: &[u8], visit: &mut dyn FnMut(Compression, &[u8])) {
    let dump = KdumpFile::open(bytes).expect("a real dump opens");
    let (start, end) = dump.pfn_range();
    for pfn in start..end {
        if !matches!(dump.read_page(pfn), Ok(PageContent::Data(_))) {
            continue;
        }
        let desc = dump.descriptor(pfn).expect("descriptor of a dumped page");
        if let Some(method) = desc.compression().filter(|m| *m != Compression::None) {
            let mut packed = vec![0u8; desc.size as usize];
            ReadAt::read_exact_at(&bytes, desc.offset as u64, &mut packed).unwrap();
            visit(method, &packed);
        }
    }
}
