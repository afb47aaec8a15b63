use super::*;
use std::io::Write;

#[test]
fn dropped_output_leaves_nothing_and_existing_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    {
        let mut out = AtomicOutput::create(&target, false).unwrap();
        out.file().write_all(b"partial").unwrap();
        assert!(lock_registry()
            .iter()
            .any(|p| Some(p.as_path()) == out.temporary_path()));
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let mut out = AtomicOutput::create(&target, false).unwrap();
    out.file().write_all(b"done").unwrap();
    let temp = out.temporary_path().unwrap().to_path_buf();
    out.commit().unwrap();
    assert!(
        !lock_registry().contains(&temp),
        "a committed file stays registered"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"done");
    let err = AtomicOutput::create(&target, false).err().unwrap();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(AtomicOutput::create(&target, true).is_ok());
}

#[test]
fn a_name_of_255_bytes_gets_a_temporary_name_of_at_most_255() {
    let dir = tempfile::tempdir().unwrap();
    for len in [1, 243, 244, 255] {
        let target = dir.path().join("n".repeat(len));
        let mut out = AtomicOutput::create(&target, false).unwrap();
        let temp_name_len = out.temporary_path().unwrap().file_name().unwrap().len();
        assert!(temp_name_len <= NAME_MAX, "{len}: {temp_name_len}");
        out.file().write_all(b"x").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
    }
}

#[test]
fn forcing_a_symlink_replaces_the_file_it_names_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let link = dir.path().join("link");
    std::fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(
        AtomicOutput::create(&link, false).unwrap_err().kind(),
        io::ErrorKind::AlreadyExists
    );
    let mut out = AtomicOutput::create(&link, true).unwrap();
    out.file().write_all(b"new").unwrap();
    out.commit().unwrap();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), b"new");

    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
    let err = AtomicOutput::create(&dangling, true).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn special_files_are_written_into_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = AtomicOutput::create_stream(Path::new("/dev/null"), false).unwrap();
    assert!(out.temporary_path().is_none());
    out.file().write_all(b"discarded").unwrap();
    out.commit().unwrap();
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());

    let err = AtomicOutput::create(Path::new("/dev/null"), true).unwrap_err();
    assert!(err.to_string().contains("is a character device"), "{err}");
    let err = AtomicOutput::create_stream(dir.path(), true).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn write_errors_name_the_output_and_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = AtomicOutput::create(&dir.path().join("out"), false).unwrap();
    let error = out.write_error(io::Error::from_raw_os_error(libc::ENOSPC));
    let text = error.to_string();
    assert!(text.starts_with("cannot write "), "{text}");
    assert!(text.contains("out (temporary file "), "{text}");
    assert!(text.contains("No space left on device"), "{text}");
}
