//! Printing results on stdout: as text for people, or as one JSON document for programs.
//! Each verb defines the typed document it prints with `--output json` (its `*Output` type,
//! next to the verb); the schemas of those documents are in [`crate::schemas`]. This module
//! knows nothing of the verbs, so that they can all use it.

use clap::ValueEnum;
use serde::Serialize;

/// `--output`: how results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
}

/// Prints a verb's document as pretty JSON. It goes through [`serde_json::Value`] so that
/// object keys come out sorted, whatever order the types declare them in: the output stays
/// the same when a field is added in the middle of a type.
pub fn print_json<T: Serialize + ?Sized>(document: &T) {
    let text = serde_json::to_value(document).and_then(|v| serde_json::to_string_pretty(&v));
    match text {
        Ok(text) => crate::outln!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// "R read requests, W write requests": what a run asked of Optimizely.
pub fn requests(reads: u64, writes: u64) -> String {
    format!(
        "{}, {}",
        count(reads, "read request"),
        count(writes, "write request")
    )
}

pub use optisync_engine::plan_text::{count, thousands};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_999_800), "1,999,800");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}
