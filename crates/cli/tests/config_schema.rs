//! `docs/config.schema.json` is generated from the config types; this test fails when the
//! committed file drifts from them. Regenerate with
//! `UPDATE_SCHEMA=1 cargo test -p optisync --test config_schema`.

#[test]
fn committed_schema_matches_the_config_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.schema.json");
    let want =
        serde_json::to_string_pretty(&optisync::config::json_schema()).expect("schema") + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &want).expect("write schema");
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/config.schema.json is out of date; run UPDATE_SCHEMA=1 cargo test -p optisync --test config_schema"
    );
}
