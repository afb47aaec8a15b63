//! Split sets read as one dump ([`KdumpSet`]) against real makedumpfile output: the two files of
//! `makedumpfile --split -d 1 -l` (corpus/real/fw-mdf-split-d1.*) must read, pfn by pfn, exactly like the
//! single file `makedumpfile --reassemble` makes of them at test time (and like fw-mdf-lzo-d1, written by
//! makedumpfile from the same ELF without --split). Needs makedumpfile (scripts/install-test-tools.sh).

use std::process::Command;

use assert_cmd::Command as Cli;
use kdump_flat::kdump::{KInvariant, KdumpError, KdumpFile, KdumpSet, PageContent};

fn corpus(name: &str) -> String {
    format!("{}/corpus/real/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn open(name: &str) -> KdumpFile<Vec<u8>> {
    KdumpFile::open(std::fs::read(corpus(name)).unwrap()).unwrap()
}

/// The single dump `makedumpfile --reassemble` makes of the split set.
fn makedumpfile_reassembled(dir: &std::path::Path) -> Vec<u8> {
    let out = dir.join("joined");
    let status = Command::new("makedumpfile")
        .arg("--reassemble")
        .arg(corpus("fw-mdf-split-d1.1"))
        .arg(corpus("fw-mdf-split-d1.2"))
        .arg(&out)
        .output()
        .expect("makedumpfile must be installed (scripts/install-test-tools.sh)");
    assert!(status.status.success(), "makedumpfile --reassemble failed");
    std::fs::read(out).unwrap()
}

#[test]
fn a_split_set_reads_like_makedumpfiles_reassembled_file() {
    let dir = tempfile::tempdir().unwrap();
    let joined = KdumpFile::open(makedumpfile_reassembled(dir.path())).unwrap();
    let unsplit = open("fw-mdf-lzo-d1");
    // the parts in either order
    for names in [
        ["fw-mdf-split-d1.1", "fw-mdf-split-d1.2"],
        ["fw-mdf-split-d1.2", "fw-mdf-split-d1.1"],
    ] {
        let set = KdumpSet::new(names.iter().map(|n| open(n)).collect()).unwrap();
        assert_eq!(set.max_pfn(), joined.max_pfn());
        let mut from_second_part = 0;
        let mut dumped = 0;
        for pfn in 0..joined.max_pfn() {
            let ours = set.read_page(pfn).unwrap();
            assert_eq!(ours, joined.read_page(pfn).unwrap(), "pfn {pfn:#x}");
            assert_eq!(ours, unsplit.read_page(pfn).unwrap(), "pfn {pfn:#x}");
            if let PageContent::Data(_) = ours {
                dumped += 1;
                if pfn >= set.parts()[1].pfn_range().0 {
                    from_second_part += 1;
                }
            }
        }
        assert_eq!(dumped, 4128, "every page of the guest");
        assert!(from_second_part > 0, "pages come from both parts");
        // a guest-physical read across the boundary of the two parts' ranges
        let boundary = set.parts()[1].pfn_range().0 * set.page_size();
        let mut ours = vec![0u8; 8192];
        let mut theirs = vec![0u8; 8192];
        set.read_phys(boundary - 4096, &mut ours, true).unwrap();
        joined
            .read_phys(boundary - 4096, &mut theirs, true)
            .unwrap();
        assert_eq!(ours, theirs);
    }
}

#[test]
fn an_incomplete_or_mixed_set_is_a_k18_error() {
    let k18 = |result: Result<KdumpSet<Vec<u8>>, KdumpError>| match result {
        Err(e @ KdumpError::Invalid { .. }) => {
            assert!(
                matches!(
                    e,
                    KdumpError::Invalid {
                        invariant: KInvariant::K18,
                        ..
                    }
                ),
                "{e}"
            );
            e.to_string()
        }
        Err(e) => panic!("not a K18 error: {e}"),
        Ok(_) => panic!("accepted"),
    };
    // the first part twice: the second half of the pfns is missing, the first half twice
    let twice = k18(KdumpSet::new(vec![
        open("fw-mdf-split-d1.1"),
        open("fw-mdf-split-d1.1"),
    ]));
    insta::assert_snapshot!("kdump_set_first_part_twice", twice);
    // parts of two different dumps
    let mixed = k18(KdumpSet::new(vec![
        open("fw-mdf-split-d1.1"),
        open("mdf-split-d31.2"),
    ]));
    insta::assert_snapshot!("kdump_set_parts_of_two_dumps", mixed);
    // a file that is not split, given with a part
    let unsplit = k18(KdumpSet::new(vec![
        open("fw-mdf-lzo-d1"),
        open("fw-mdf-split-d1.2"),
    ]));
    insta::assert_snapshot!("kdump_set_not_split", unsplit);
}

#[test]
fn read_takes_every_file_of_a_split_set() {
    let dir = tempfile::tempdir().unwrap();
    let joined_path = dir.path().join("joined");
    std::fs::write(&joined_path, makedumpfile_reassembled(dir.path())).unwrap();
    let read = |args: &[&str]| {
        let output = Cli::cargo_bin("kdump-flat")
            .unwrap()
            .arg("read")
            .args(args)
            .output()
            .unwrap();
        (output.status.code(), output.stdout, output.stderr)
    };
    let part1 = corpus("fw-mdf-split-d1.1");
    let part2 = corpus("fw-mdf-split-d1.2");
    let joined = joined_path.to_str().unwrap();
    // 2 MiB from 1 MiB below the start of the second part's range, zeros for pages not dumped
    let phys = [
        "--phys",
        "0x3ff00000",
        "--len",
        "0x200000",
        "--zero-excluded",
    ];
    let (code, ours, _) = read(&[&part2, &part1, phys[0], phys[1], phys[2], phys[3], phys[4]]);
    assert_eq!(code, Some(0));
    let (_, theirs, _) = read(&[joined, phys[0], phys[1], phys[2], phys[3], phys[4]]);
    assert_eq!(ours.len(), 0x200000);
    assert_eq!(ours, theirs);
    // one part alone cannot serve the other part's pages
    let (code, _, stderr) = read(&[&part1, "--pfn", "0xfffc0"]);
    assert_eq!(code, Some(1), "{}", String::from_utf8_lossy(&stderr));
    // --offset reads one file
    let (code, _, stderr) = read(&[&part1, &part2, "--offset", "0", "--len", "8"]);
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(
        "kdump_set_read_offset_of_two_files",
        String::from_utf8_lossy(&stderr)
    );
}
