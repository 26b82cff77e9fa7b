//! Standard output that can be closed under us. `optisync plan | head` closes the pipe after
//! ten lines, `> /dev/full` refuses every write, and `sync | true` closes it before the first
//! line. None of that may stop a run half-way: a sync's work does not depend on anyone reading
//! its report. So every result line goes through `outln!` / `out!`, which never panic
//! (`println!` does on a write error): the first failed write closes our side of the output
//! and later lines are dropped, while the verb goes on to its end.
//!
//! At the end, [`finish`] decides what the failure means: a reader that went away (broken
//! pipe) is the reader's choice and ends quietly, like other Unix tools; any other write error
//! (a full disk) means the report was lost, which the user must learn, so it is said on stderr
//! and the exit code becomes at least 1.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

use crate::exit::{Exit, worst};

/// What happened to standard output.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    /// The reader went away (EPIPE).
    ReaderGone,
    /// Another write error, with its text.
    Failed(String),
}

static STATE: Mutex<State> = Mutex::new(State::Open);

/// Writes formatted text to standard output unless it failed before. Used by `out!` and
/// `outln!`; call those instead.
pub fn write(args: fmt::Arguments<'_>) {
    let mut state = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *state != State::Open {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(err) = stdout.write_fmt(args) {
        *state = classify(&err);
    }
}

/// Flushes what is buffered; a failure is recorded like a failed write.
pub fn flush() {
    let mut state = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *state != State::Open {
        return;
    }
    if let Err(err) = io::stdout().lock().flush() {
        *state = classify(&err);
    }
}

fn classify(err: &io::Error) -> State {
    if err.kind() == io::ErrorKind::BrokenPipe {
        State::ReaderGone
    } else {
        State::Failed(err.to_string())
    }
}

/// The exit code once the verb is done: unchanged when the output was written or its reader
/// left; at least [`Exit::Internal`] when the report could not be written, with a line on
/// stderr saying so.
pub fn finish(exit: Exit) -> Exit {
    flush();
    let state = STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match &*state {
        State::Open | State::ReaderGone => exit,
        State::Failed(reason) => {
            let _ = writeln!(
                io::stderr(),
                "error: the report could not be written to standard output ({reason}); the \
                 run itself went on to its end: see `optisync runs` for its outcome"
            );
            worst(exit, Exit::Internal)
        }
    }
}

/// Like `print!`, but a closed or failing standard output never panics (see the module docs).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!($($arg)*))
    };
}

/// Like `println!`, but a closed or failing standard output never panics (see the module docs).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::stdout::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}
