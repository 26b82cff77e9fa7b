//! The process exit codes, in one place. They are part of the command-line contract
//! (docs/PRODUCT-RULES.md#exit-codes, ADR 0002): scripts and schedulers branch on them.

use std::io::Write;

/// Why the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, or no changes.
    Success = 0,
    /// A bug or an unexpected condition in optisync itself.
    Internal = 1,
    /// `plan --detailed-exitcode` found changes.
    ChangesPresent = 2,
    /// The configuration is invalid.
    InvalidConfig = 3,
    /// `check` found a problem.
    CheckFailed = 4,
    /// The run finished, but some rows were rejected.
    RejectedRows = 5,
    /// Another run holds the sync's lock.
    Locked = 6,
    /// A guardrail blocked the run, or it was refused before any request.
    Guardrail = 7,
    /// The command line is wrong: an unknown flag, a missing argument, an id that names
    /// nothing, or `--yes` missing where no one can answer (64, `EX_USAGE` of sysexits.h; not
    /// clap's 2, which `plan --detailed-exitcode` uses for "changes present").
    Usage = 64,
    /// SIGINT (Ctrl-C) stopped the run at a safe point (128 + 2, as shells report it).
    Interrupted = 130,
    /// SIGTERM stopped the run at a safe point (128 + 15).
    Terminated = 143,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Ends the process with `exit`'s code, once everything the verb did is done: its state is
/// closed (the store's last connection checkpoints its log into the file) and its report is
/// written. What is still buffered on standard output and standard error is flushed first.
///
/// The process ends at once, without the exit handlers a normal return from `main` runs: they
/// would only free what the process gives back anyway (DuckDB's C++ statics: its compiled
/// grammar and keyword tables), which took some 3 ms of every run, a tenth of a
/// no-op's (ADR 0014). Nothing optisync writes depends on them: files are closed by their
/// owners' drops before this point, and a DuckDB database left open is one with nothing to
/// write (`DuckDbSource::leave_to_exit`).
pub fn now(exit: Exit) -> ! {
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().flush();
    signal_hook::low_level::exit(i32::from(exit.code()))
}

/// The more serious of two outcomes, for verbs that handle several syncs: a stop by a signal
/// (which ends everything), internal errors, usage errors, then config problems, locks, guardrails, rejected
/// rows and changes.
pub fn worst(a: Exit, b: Exit) -> Exit {
    fn rank(e: Exit) -> u8 {
        match e {
            Exit::Success => 0,
            Exit::ChangesPresent => 1,
            Exit::RejectedRows => 2,
            Exit::CheckFailed => 3,
            Exit::Guardrail => 4,
            Exit::Locked => 5,
            Exit::InvalidConfig => 6,
            Exit::Usage => 7,
            Exit::Internal => 8,
            Exit::Interrupted | Exit::Terminated => 9,
        }
    }
    if rank(b) > rank(a) { b } else { a }
}
