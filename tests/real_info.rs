//! `kdump-flat info` on every kdump-compressed dump of corpus/real (raw, flattened, split members), under an
//! insta snapshot: a change in what we report about real QEMU and makedumpfile files shows up in review.

use assert_cmd::Command;

const FILES: [&str; 9] = [
    "fw-q72.kdump-zlib.flat",
    "fw-q10.kdump-zlib.flat",
    "fw-q10.kdump-raw-zlib",
    "fw-mdf-lzo-d1",
    "fw-mdf-lzo-d1.flat",
    "fw-mdf-zstd-d1.flat",
    "fw-mdf-split-d1.1",
    "fw-mdf-split-d1.2",
    "mdf-split-d31.2",
];

#[test]
fn info_of_every_real_dump() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let mut text = String::new();
    for name in FILES {
        let output = Command::cargo_bin("kdump-flat")
            .unwrap()
            .current_dir(&dir)
            .args(["info", name])
            .assert()
            .success()
            .get_output()
            .clone();
        text.push_str(&format!(
            "$ kdump-flat info {name}\n{}\n",
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn info_json_of_the_booted_guest_member() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/real");
    let output = Command::cargo_bin("kdump-flat")
        .unwrap()
        .current_dir(&dir)
        .args(["info", "--json", FILES[8]])
        .assert()
        .success()
        .get_output()
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    insta::assert_json_snapshot!(value);
}
