//! Printing results on stdout, as text for people or as one JSON document for programs.

use crate::cli::OutputFormat;
use crate::commands::check::{CheckReport, Level};
use crate::commands::validate::ValidationReport;

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
                crate::outln!("{tag}: {}", finding.message);
            }
            let problems = report
                .findings
                .iter()
                .filter(|f| f.level == Level::Problem)
                .count();
            if problems == 0 {
                crate::outln!("check passed");
            } else {
                crate::outln!("check failed: {problems} problem(s)");
            }
        }
    }
}

/// Prints any serializable value as pretty JSON.
pub fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => crate::outln!("{text}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Prints the files `init` wrote.
pub fn print_written(files: &[String], format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({ "written": files })),
        OutputFormat::Text => {
            for file in files {
                crate::outln!("wrote {file}");
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
                    crate::outln!(
                        "ok: sync {}: model returns {}",
                        sync.sync,
                        columns.join(", ")
                    );
                }
                for problem in &sync.problems {
                    crate::outln!("problem: {problem}");
                }
            }
            if report.passed() {
                crate::outln!("config is valid");
            } else {
                let n: usize = report.syncs.iter().map(|s| s.problems.len()).sum();
                crate::outln!("config is invalid: {n} problem(s)");
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

/// `n` with a comma between each group of three digits: `1,999,800`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

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
