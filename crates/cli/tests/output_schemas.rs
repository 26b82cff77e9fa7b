//! `docs/output-schemas/*.schema.json` are generated from the types each verb prints with
//! `--output json`; this test fails when a committed file drifts from them, or when a file
//! there no longer belongs to any verb. Regenerate with
//! `UPDATE_SCHEMA=1 cargo test -p optisync --test output_schemas`.

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn committed_output_schemas_match_the_output_types() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/output-schemas"
    ));
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    let schemas = optisync::schemas::output_schemas();
    let mut stale = Vec::new();
    for (name, schema) in &schemas {
        let path = dir.join(name);
        let want = serde_json::to_string_pretty(schema).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        if std::fs::read_to_string(&path).unwrap_or_default() != want {
            stale.push(*name);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date in docs/output-schemas: {stale:?}; run UPDATE_SCHEMA=1 cargo test -p optisync --test output_schemas"
    );
    let known: Vec<&str> = schemas.iter().map(|(name, _)| *name).collect();
    let mut extra = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".schema.json") && !known.contains(&name.as_str()) {
            extra.push(name);
        }
    }
    assert!(
        extra.is_empty(),
        "docs/output-schemas holds schemas of no verb: {extra:?}; delete them"
    );
}

/// Every schema describes one object document whose top-level keys are the ones the verb
/// prints: a renamed field shows up here as well as in the diff of the committed file.
#[test]
fn each_schema_is_an_object_with_described_properties() {
    for (name, schema) in optisync::schemas::output_schemas() {
        assert_eq!(schema["type"], "object", "{name}");
        let properties = schema["properties"].as_object().unwrap();
        assert!(!properties.is_empty(), "{name}");
        for (key, property) in properties {
            let described = property.get("description").is_some()
                || property.get("$ref").is_some()
                || property.get("allOf").is_some();
            assert!(described, "{name}: property {key} has no description");
        }
    }
}
