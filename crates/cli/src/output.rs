//! Printing results on stdout, as text for people or as one JSON document for programs.

use crate::check::{CheckReport, Level};
use crate::cli::OutputFormat;
use crate::validate::ValidationReport;

/// Prints the `check` report: one line per finding.
pub fn print_check(report: &CheckReport, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({
            "passed": report.passed(),
            "product": report.product,
            "findings": report.findings,
        })),
        OutputFormat::Text => {
            for finding in &report.findings {
                let tag = match finding.level {
                    Level::Ok => "ok",
                    Level::Warning => "warning",
                    Level::Problem => "problem",
                };
                println!("{tag}: {}", finding.message);
            }
            let problems = report
                .findings
                .iter()
                .filter(|f| f.level == Level::Problem)
                .count();
            if problems == 0 {
                println!("check passed");
            } else {
                println!("check failed: {problems} problem(s)");
            }
        }
    }
}

/// Prints any serializable value as pretty JSON.
pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Prints the files `init` wrote.
pub fn print_written(files: &[String], format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({ "written": files })),
        OutputFormat::Text => {
            for file in files {
                println!("wrote {file}");
            }
        }
    }
}

/// Prints the `validate` report: the columns each model returns, then one line per problem.
pub fn print_validation(report: &ValidationReport, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({
            "passed": report.passed(),
            "syncs": report.syncs,
        })),
        OutputFormat::Text => {
            for sync in &report.syncs {
                let columns: Vec<String> = sync
                    .columns
                    .iter()
                    .map(|(name, ty)| format!("{name} {ty}"))
                    .collect();
                if sync.problems.is_empty() {
                    println!(
                        "ok: sync {}: model returns {}",
                        sync.sync,
                        columns.join(", ")
                    );
                }
                for problem in &sync.problems {
                    println!("problem: {problem}");
                }
            }
            if report.passed() {
                println!("config is valid");
            } else {
                let n: usize = report.syncs.iter().map(|s| s.problems.len()).sum();
                println!("config is invalid: {n} problem(s)");
            }
        }
    }
}

/// `n` and the noun, singular for one: `1 row`, `2 rows`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
