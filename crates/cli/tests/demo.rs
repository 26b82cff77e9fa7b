//! The README's first command: `optisync demo` runs everything with no setup (a sample
//! DuckDB warehouse, the fake Optimizely in-process) and its second run sends nothing.

#![allow(clippy::unwrap_used)]

#[test]
fn the_demo_runs_with_no_setup_and_its_second_run_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
        .arg("demo")
        .arg("--dir")
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("second run: 0 write requests reached the fake"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ODP segment beta_users asked for user-005010 by an FX SDK: qualified"),
        "{stdout}"
    );
    for object in [
        "list_attribute mirror",
        "audience upsert",
        "attribute insert",
        "custom_event upsert",
        "odp_attribute mirror",
    ] {
        assert!(stdout.contains(object), "the demo skipped {object}");
    }
}
