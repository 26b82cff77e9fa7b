//! Printing results on stdout, as text for people or as one JSON document for programs.

use crate::check::{CheckReport, Level};
use crate::cli::OutputFormat;

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
